//! `elbo vime`: exploration by variational information maximisation
//! (Houthooft et al. 2016) on a sparse-reward task, against the same policy
//! optimiser without the bonus (the paper's Figs. 1–3).
//!
//! Each of `--seeds` seeds runs TRPO (or PPO) twice on the same environment
//! seeds: once with the reward r + η KL/median (`elbo_rl::vime`), once with
//! r alone (skipped by `--no-vime`, which runs only the baseline). A seed
//! *succeeds* when any training episode reaches the sparse reward.
//!
//! `metrics.json`: `return_curve` (per arm, per seed, per iteration: the
//! mean environment return of the episodes that ended in that iteration's
//! batch), `success_fraction` per arm, `first_success_iteration`, `steps`
//! (environment steps after each iteration), `elbo_trace` (the dynamics
//! BNN's per-transition bound per iteration, mean over seeds, from the
//! first iteration it trains), the VIME diagnostics (mean KL, bonus) and
//! the timing (wall time per run, the BNN's share).
//!
//! Checkpoints: after each finished (arm, seed) run its results (return
//! curve, steps, dynamics bound, diagnostics, visit counts, wall time; the
//! floats as their exact bits) are written atomically to
//! `DIR.ckpt/<arm>-seed<seed>.json` beside the output directory `DIR`.
//! `--resume` reuses every run found there that was made with the same
//! settings (all of `config` but the seed list), so a killed multi-seed run
//! continues with the first unfinished (arm, seed) and its metrics equal an
//! unbroken run's. A run killed part-way restarts from its first iteration.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use elbo_rl::env::{AnyEnv, Env};
use elbo_rl::pg::{Batch, PpoConfig, TrainLog, TrpoConfig};
use elbo_rl::vime::{Rescaled, VimeConfig, VimeIter, train_ppo, train_trpo};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, fmt_num};
use crate::cli::CommonArgs;
use crate::metrics::{Metrics, config_value};
use crate::output::RunId;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// The command's name in `metrics.json` and directory names.
pub const MODEL: &str = "vime";

/// Flags of `elbo vime`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags (`--data` is not used: the data are the agent's own).
    #[command(flatten)]
    pub common: CommonArgs,
    /// The environment (`elbo_rl::env::AnyEnv` names, e.g.
    /// mountaincar-sparse, cartpole-swingup-sparse, acrobot-sparse).
    #[arg(long, value_name = "NAME", default_value = "mountaincar-sparse")]
    pub env: String,
    /// The policy optimiser: trpo or ppo.
    #[arg(long, value_name = "ALGO", default_value = "trpo")]
    pub algo: String,
    /// Run only the baseline (no information-gain bonus).
    #[arg(long)]
    pub no_vime: bool,
    /// Number of seeds, seed..seed+N−1 [default: 5; 2 with --quick].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub seeds: Option<i64>,
    /// Policy iterations per run [default: 50; 3 with --quick].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub iterations: Option<i64>,
    /// Environment steps per iteration [default: 5000, the paper's; 1600
    /// with --quick].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub batch_size: Option<i64>,
    /// η, the weight of the bonus [default: the paper's per task: 1e-3 for
    /// MountainCar, 1e-4 otherwise].
    #[arg(long, value_name = "ETA", allow_hyphen_values = true)]
    pub eta: Option<f64>,
    /// BNN updates (batch 10) per iteration [default: 500; 20 with --quick].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub bnn_updates: Option<i64>,
    /// Episode step limit [default: the environment's (MountainCar 200)].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_steps: Option<i64>,
    /// Observation scaling: auto (MountainCar's box to about [−1, 1]²) or
    /// none.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub obs_scale: String,
    /// Continue an interrupted run: reuse the finished (arm, seed) runs
    /// saved in DIR.ckpt/ beside the output directory DIR (one file per
    /// run, written when the run finishes) and run only the others. The
    /// granularity is a whole (arm, seed) run: one killed part-way
    /// restarts from its first iteration. The settings must be the same
    /// (the seed count may grow); an existing DIR still needs --force.
    #[arg(long)]
    pub resume: bool,
}

/// Everything that defines the run (`metrics.json` `config`).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Environment name.
    pub env: String,
    /// trpo or ppo.
    pub algo: String,
    /// Whether the VIME arm runs.
    pub vime: bool,
    /// Seeds run.
    pub seeds: Vec<u64>,
    /// Iterations per run.
    pub iterations: usize,
    /// Environment steps per iteration.
    pub batch_size: usize,
    /// Episode step limit.
    pub max_steps: usize,
    /// Observation scaling.
    pub obs_scale: String,
    /// VIME's settings (`seed` replaced per run).
    pub vime_config: VimeConfig,
    /// TRPO's settings (when algo = trpo; `seed` per run).
    pub trpo: Option<TrpoConfig>,
    /// PPO's settings (when algo = ppo; `seed` per run).
    pub ppo: Option<PpoConfig>,
    /// `--quick`.
    pub quick: bool,
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    env: AnyEnv,
    run: RunMeta,
    resume: bool,
}

fn count(name: &str, v: Option<i64>, default: usize, min: usize) -> anyhow::Result<usize> {
    match v {
        None => Ok(default),
        Some(n) if n >= min as i64 => Ok(n as usize),
        Some(n) => bail!("--{name} must be an integer >= {min}, got {n}"),
    }
}

/// Validate the flags.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    let c = &args.common;
    if let Some(d) = &c.data {
        bail!("vime learns from its own interaction with --env; --data {d} is not used");
    }
    let quick = c.quick;
    let seed = c.seed();
    let env = AnyEnv::by_name(&args.env)?;
    ensure!(
        args.algo == "trpo" || args.algo == "ppo",
        "--algo must be trpo or ppo, got `{}`",
        args.algo
    );
    ensure!(
        args.obs_scale == "auto" || args.obs_scale == "none",
        "--obs-scale must be auto or none, got `{}`",
        args.obs_scale
    );
    let n_seeds = count("seeds", args.seeds, if quick { 2 } else { 5 }, 1)?;
    let iterations = count("iterations", args.iterations, if quick { 3 } else { 50 }, 1)?;
    let batch_size = count(
        "batch-size",
        args.batch_size,
        if quick { 1600 } else { 5000 },
        32,
    )?;
    let updates = count(
        "bnn-updates",
        args.bnn_updates,
        if quick { 20 } else { 500 },
        0,
    )?;
    let max_steps = count("max-steps", args.max_steps, env.max_steps(), 1)?;
    let env = env.with_max_steps(max_steps)?;
    let eta = args.eta.unwrap_or_else(|| VimeConfig::paper_eta(&args.env));
    check_range("eta", eta, |v| v >= 0.0, ">= 0")?;
    let vime_config = VimeConfig {
        eta,
        updates,
        min_pool: if quick { 100 } else { 500 },
        ..Default::default()
    };
    vime_config.check()?;
    let num_envs = 8;
    let (trpo, ppo) = if args.algo == "trpo" {
        let t = TrpoConfig {
            batch_size,
            num_envs,
            iterations,
            ..Default::default()
        };
        t.check()?;
        (Some(t), None)
    } else {
        let p = PpoConfig {
            num_envs,
            num_steps: batch_size.div_ceil(num_envs),
            iterations,
            ..Default::default()
        };
        p.check()?;
        (None, Some(p))
    };
    let config = Config {
        env: args.env.clone(),
        algo: args.algo.clone(),
        vime: !args.no_vime,
        seeds: (0..n_seeds as u64).map(|i| seed + i).collect(),
        iterations,
        batch_size,
        max_steps,
        obs_scale: args.obs_scale.clone(),
        vime_config,
        trpo,
        ppo,
        quick,
    };
    let dataset = args.env.clone();
    let id = RunId::new(MODEL, &dataset, seed, &config_value(&config)?);
    Ok(Box::new(Plan {
        config,
        env,
        run: RunMeta {
            model: MODEL,
            dataset,
            id,
            out: c.out.clone(),
            force: c.force,
            seed,
        },
        resume: args.resume,
    }))
}

/// The bins of a visitation map over the first two observation components.
const BINS: usize = 40;

/// Counts of visited (obs₀, obs₁) in a BINS × BINS grid over fixed ranges.
#[derive(Debug, Clone)]
struct Visits {
    x: (f64, f64),
    y: (f64, f64),
    counts: Vec<u64>,
}

impl Visits {
    fn new(env: &str) -> Self {
        // MountainCar: position × velocity, the paper's Fig. 1; others: the
        // first two observation components over a generic box.
        let (x, y) = if env.starts_with("mountaincar") {
            ((-1.2, 0.6), (-0.07, 0.07))
        } else {
            ((-3.0, 3.0), (-3.0, 3.0))
        };
        Visits {
            x,
            y,
            counts: vec![0; BINS * BINS],
        }
    }

    fn add(&mut self, o: &[f64]) {
        if o.len() < 2 {
            return;
        }
        let bin = |v: f64, (lo, hi): (f64, f64)| {
            (((v - lo) / (hi - lo) * BINS as f64).floor().max(0.0) as usize).min(BINS - 1)
        };
        self.counts[bin(o[1], self.y) * BINS + bin(o[0], self.x)] += 1;
    }
}

/// What the metrics use of one training run (one seed, one arm).
#[derive(Debug, Clone, PartialEq)]
struct RunRecord {
    /// Environment steps after each iteration.
    steps: Vec<usize>,
    /// Mean environment return per iteration (`None`: no episode ended).
    curve: Vec<Option<f64>>,
    /// VIME arm: the dynamics bound per iteration (NaN before training).
    elbo: Vec<f64>,
    /// VIME arm: mean information gain per iteration.
    mean_kl: Vec<f64>,
    /// VIME arm: seconds training the BNN, summed over iterations.
    train_seconds: f64,
    /// VIME arm: seconds computing information gains, summed.
    kl_seconds: f64,
    /// Wall time of the run.
    wall: f64,
    /// This run's visit counts (BINS × BINS).
    visits: Vec<u64>,
}

impl RunRecord {
    fn new(log: &TrainLog, vime: &[VimeIter], wall: f64, visits: Vec<u64>) -> Self {
        RunRecord {
            steps: log.iterations.iter().map(|i| i.steps).collect(),
            curve: log.iterations.iter().map(|i| i.mean_return).collect(),
            elbo: vime.iter().map(|v| v.elbo).collect(),
            mean_kl: vime.iter().map(|v| v.mean_kl).collect(),
            train_seconds: vime.iter().map(|v| v.train_seconds).sum(),
            kl_seconds: vime.iter().map(|v| v.kl_seconds).sum(),
            wall,
            visits,
        }
    }
}

/// The checkpoint of one finished run: a [`RunRecord`] with every float as
/// its IEEE bits (so that a reloaded run is bit-identical), and the key of
/// the settings it was made with.
#[derive(Debug, Serialize, Deserialize)]
struct SavedRun {
    /// The settings (config without the seed list, plus arm and seed), as
    /// canonical JSON text.
    key: String,
    steps: Vec<usize>,
    curve: Vec<Option<u64>>,
    elbo: Vec<u64>,
    mean_kl: Vec<u64>,
    train_seconds: u64,
    kl_seconds: u64,
    wall: u64,
    visits: Vec<u64>,
}

impl SavedRun {
    fn from_record(key: String, r: &RunRecord) -> Self {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect();
        SavedRun {
            key,
            steps: r.steps.clone(),
            curve: r.curve.iter().map(|c| c.map(f64::to_bits)).collect(),
            elbo: bits(&r.elbo),
            mean_kl: bits(&r.mean_kl),
            train_seconds: r.train_seconds.to_bits(),
            kl_seconds: r.kl_seconds.to_bits(),
            wall: r.wall.to_bits(),
            visits: r.visits.clone(),
        }
    }

    fn into_record(self) -> RunRecord {
        let floats = |v: Vec<u64>| v.into_iter().map(f64::from_bits).collect();
        RunRecord {
            steps: self.steps,
            curve: self
                .curve
                .into_iter()
                .map(|c| c.map(f64::from_bits))
                .collect(),
            elbo: floats(self.elbo),
            mean_kl: floats(self.mean_kl),
            train_seconds: f64::from_bits(self.train_seconds),
            kl_seconds: f64::from_bits(self.kl_seconds),
            wall: f64::from_bits(self.wall),
            visits: self.visits,
        }
    }
}

/// Where the runs' checkpoints go: `DIR.ckpt` beside the output `DIR`.
fn checkpoint_dir(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
}

impl Plan {
    /// One run (one seed, one arm).
    fn one(&self, seed: u64, vime: bool, progress: &Progress) -> anyhow::Result<RunRecord> {
        let mut visits = Visits::new(&self.config.env);
        let cfg = &self.config;
        let env = if cfg.obs_scale == "auto" {
            Rescaled::auto(self.env.clone())
        } else {
            Rescaled::identity(self.env.clone())
        };
        let unscaler = env.clone();
        let d = env.obs_dim();
        let mut iter = 0usize;
        let mut observe = |b: &Batch| {
            for o in b.obs.chunks_exact(d) {
                visits.add(&unscaler.unscale(o));
            }
            iter += 1;
            progress.update(iter, b.mean_return().unwrap_or(0.0));
        };
        let vcfg = VimeConfig {
            seed,
            eta: if vime { cfg.vime_config.eta } else { 0.0 },
            ..cfg.vime_config.clone()
        };
        let start = Instant::now();
        let (log, vime_log) = match (&cfg.trpo, &cfg.ppo, vime) {
            (Some(t), _, true) => {
                let l = train_trpo(env, &TrpoConfig { seed, ..t.clone() }, &vcfg, &mut observe)?;
                (l.train, l.vime)
            }
            (Some(t), _, false) => {
                let l = elbo_rl::pg::trpo::train_with(
                    env,
                    &TrpoConfig { seed, ..t.clone() },
                    &mut |b| {
                        observe(b);
                        Ok(())
                    },
                )?;
                (l, Vec::new())
            }
            (None, Some(p), true) => {
                let l = train_ppo(env, &PpoConfig { seed, ..p.clone() }, &vcfg, &mut observe)?;
                (l.train, l.vime)
            }
            (None, Some(p), false) => {
                let l = elbo_rl::pg::ppo::train_with(
                    env,
                    &PpoConfig { seed, ..p.clone() },
                    &mut |b| {
                        observe(b);
                        Ok(())
                    },
                )?;
                (l, Vec::new())
            }
            (None, None, _) => bail!("no policy optimiser configured"),
        };
        let wall = start.elapsed().as_secs_f64();
        Ok(RunRecord::new(&log, &vime_log, wall, visits.counts))
    }

    /// The checkpoint key of the (arm, seed) run: every setting but the
    /// seed list, plus the arm and the seed.
    fn key(&self, arm: &str, seed: u64) -> anyhow::Result<String> {
        let mut v = config_value(&self.config)?;
        if let Some(m) = v.as_object_mut() {
            m.remove("seeds");
            m.insert("arm".into(), json!(arm));
            m.insert("seed".into(), json!(seed));
        }
        Ok(serde_json::to_string(&v)?)
    }

    /// The (arm, seed) run: from its checkpoint with `--resume` when one
    /// exists, else trained and then checkpointed.
    fn one_checkpointed(
        &self,
        ckdir: &Path,
        arm: &str,
        seed: u64,
        vime: bool,
        progress: &Progress,
    ) -> anyhow::Result<RunRecord> {
        let path = ckdir.join(format!("{arm}-seed{seed}.json"));
        let key = self.key(arm, seed)?;
        if self.resume && path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the checkpoint {}", path.display()))?;
            let saved: SavedRun = serde_json::from_str(&text)
                .with_context(|| format!("reading the checkpoint {}", path.display()))?;
            ensure!(
                saved.key == key,
                "the checkpoint {} was made with other settings; run without --resume \
                 or remove {}",
                path.display(),
                ckdir.display()
            );
            let r = saved.into_record();
            progress.update(
                r.steps.len(),
                r.curve.last().copied().flatten().unwrap_or(0.0),
            );
            return Ok(r);
        }
        let r = self.one(seed, vime, progress)?;
        let text = serde_json::to_string(&SavedRun::from_record(key, &r))?;
        elbo_deep::checkpoint::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("writing the checkpoint {}", path.display()))?;
        Ok(r)
    }
}

/// Mean and standard error over seeds at each iteration (missing values —
/// no episode ended — skipped).
fn mean_se(curves: &[Vec<Option<f64>>]) -> (Vec<f64>, Vec<f64>) {
    let n_it = curves.iter().map(Vec::len).max().unwrap_or(0);
    let mut m = Vec::with_capacity(n_it);
    let mut se = Vec::with_capacity(n_it);
    for i in 0..n_it {
        let v: Vec<f64> = curves
            .iter()
            .filter_map(|c| c.get(i).copied().flatten())
            .collect();
        if v.is_empty() {
            m.push(f64::NAN);
            se.push(0.0);
            continue;
        }
        let k = v.len() as f64;
        let mean = v.iter().sum::<f64>() / k;
        let var = if v.len() > 1 {
            v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)
        } else {
            0.0
        };
        m.push(mean);
        se.push((var / k).sqrt());
    }
    (m, se)
}

/// A heat map of visit counts (log scale), as the paper's Fig. 1: one
/// plotters rectangle per bin.
fn heat_map(title: &str, v: &Visits, x_label: &str, y_label: &str) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(v.x.0..v.x.1, v.y.0..v.y.1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 12))
            .draw()?;
        let max = v.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let (dx, dy) = ((v.x.1 - v.x.0) / BINS as f64, (v.y.1 - v.y.0) / BINS as f64);
        chart.draw_series(v.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
            |(k, &c)| {
                let (i, j) = (k % BINS, k / BINS);
                // Log scale: 1 visit is pale, the most visited bin dark blue.
                let t = (c as f64).ln_1p() / max.ln_1p();
                let shade = |lo: f64, hi: f64| (lo + (hi - lo) * t) as u8;
                let col = RGBColor(shade(235.0, 8.0), shade(242.0, 48.0), shade(250.0, 107.0));
                let x0 = v.x.0 + i as f64 * dx;
                let y0 = v.y.0 + j as f64 * dy;
                Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], col.filled())
            },
        ))?;
        root.present()?;
    }
    Ok(svg)
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let cfg = &self.config;
        let mut arms: Vec<(&str, bool)> = Vec::new();
        if cfg.vime {
            arms.push(("vime", true));
        }
        arms.push(("baseline", false));
        let label = self.label();
        let ckdir = checkpoint_dir(&self.out_dir());
        let mut m = Metrics::new(&self.run.id);
        let mut curves = serde_json::Map::new();
        let mut success = serde_json::Map::new();
        let mut firsts = serde_json::Map::new();
        let mut diagnostics = serde_json::Map::new();
        let mut summary = Vec::new();
        let mut figures = Vec::new();
        let mut curve_fig = Figure::new(
            format!(
                "{} {} on {}: mean ± s.e. over {} seeds",
                cfg.algo.to_uppercase(),
                "return",
                cfg.env,
                cfg.seeds.len()
            ),
            "environment steps",
            "mean episode return (environment reward)",
        );
        let mut elbo_trace = Vec::new();
        let mut any_finite = false;
        let mut steps: Vec<usize> = Vec::new();
        let (mut wall_vime, mut bnn_train, mut bnn_kl, mut n_vime) = (0.0, 0.0, 0.0, 0usize);
        for &(arm, with_vime) in &arms {
            let mut visits = Visits::new(&cfg.env);
            let mut arm_curves: Vec<Vec<Option<f64>>> = Vec::new();
            let mut arm_success = Vec::new();
            let mut arm_first = Vec::new();
            let mut arm_elbo: Vec<Vec<f64>> = Vec::new();
            let mut arm_kl: Vec<Vec<f64>> = Vec::new();
            for &seed in &cfg.seeds {
                progress.set_label(format!("{label}: {arm}, seed {seed}"));
                let r = self.one_checkpointed(&ckdir, arm, seed, with_vime, progress)?;
                for (total, c) in visits.counts.iter_mut().zip(&r.visits) {
                    *total += c;
                }
                let first = r.curve.iter().position(|v| v.is_some_and(|x| x > 0.0));
                arm_success.push(first.is_some());
                arm_first.push(first);
                if steps.is_empty() {
                    steps = r.steps;
                }
                arm_curves.push(r.curve);
                if with_vime {
                    wall_vime += r.wall;
                    n_vime += 1;
                    bnn_train += r.train_seconds;
                    bnn_kl += r.kl_seconds;
                    arm_elbo.push(r.elbo);
                    arm_kl.push(r.mean_kl);
                }
            }
            let frac = arm_success.iter().filter(|&&s| s).count() as f64 / cfg.seeds.len() as f64;
            summary.push(format!(
                "{arm}: reached the sparse reward on {}/{} seeds (success fraction {})",
                arm_success.iter().filter(|&&s| s).count(),
                cfg.seeds.len(),
                fmt_num(frac)
            ));
            let (mean, se) = mean_se(&arm_curves);
            let x: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
            let c = if with_vime { colour::BLUE } else { colour::RED };
            let keep: Vec<usize> = (0..mean.len()).filter(|&i| mean[i].is_finite()).collect();
            any_finite |= !keep.is_empty();
            curve_fig = curve_fig
                .layer(Layer::Band {
                    x: keep.iter().map(|&i| x[i]).collect(),
                    lower: keep.iter().map(|&i| mean[i] - se[i]).collect(),
                    upper: keep.iter().map(|&i| mean[i] + se[i]).collect(),
                    colour: c,
                    opacity: 0.2,
                    label: None,
                })
                .layer(Layer::Line {
                    points: keep.iter().map(|&i| (x[i], mean[i])).collect(),
                    colour: c,
                    label: Some(if with_vime {
                        format!("{}+VIME", cfg.algo.to_uppercase())
                    } else {
                        cfg.algo.to_uppercase()
                    }),
                });
            let (xl, yl) = if cfg.env.starts_with("mountaincar") {
                ("position", "velocity")
            } else {
                ("observation 0", "observation 1")
            };
            figures.push(FigureFile {
                file: format!("visitation_{arm}.svg"),
                title: format!("State visitation, {arm} (all seeds and iterations, log counts; Houthooft et al. 2016 Fig. 1)"),
                svg: heat_map(
                    &format!("{} visits: {}", cfg.env, if with_vime { "with VIME" } else { "without VIME" }),
                    &visits,
                    xl,
                    yl,
                )?,
            });
            if with_vime {
                // Per iteration, mean over the seeds that trained the BNN.
                let n_it = arm_elbo.iter().map(Vec::len).max().unwrap_or(0);
                for i in 0..n_it {
                    let v: Vec<f64> = arm_elbo
                        .iter()
                        .filter_map(|e| e.get(i).copied())
                        .filter(|x| x.is_finite())
                        .collect();
                    if !v.is_empty() {
                        elbo_trace.push(v.iter().sum::<f64>() / v.len() as f64);
                    }
                }
                diagnostics.insert("mean_kl".into(), json!(arm_kl));
                diagnostics.insert(
                    "dynamics_elbo".into(),
                    json!(
                        arm_elbo
                            .iter()
                            .map(|e| e
                                .iter()
                                .map(|v| v.is_finite().then_some(*v))
                                .collect::<Vec<_>>())
                            .collect::<Vec<_>>()
                    ),
                );
            }
            curves.insert(arm.into(), json!(arm_curves));
            success.insert(arm.into(), json!(frac));
            firsts.insert(arm.into(), json!(arm_first));
        }
        let wall = start.elapsed().as_secs_f64();
        m.set("return_curve", &curves)?;
        m.set("success_fraction", &success)?;
        m.set("first_success_iteration", &firsts)?;
        m.set("steps", &steps)?;
        m.set("vime", &diagnostics)?;
        if n_vime > 0 {
            let per_run = wall_vime / n_vime as f64;
            let share = (bnn_train + bnn_kl) / wall_vime.max(1e-12);
            m.set(
                "timing",
                json!({
                    "vime_run_seconds": per_run,
                    "bnn_train_seconds_per_run": bnn_train / n_vime as f64,
                    "info_gain_seconds_per_run": bnn_kl / n_vime as f64,
                    "bnn_share": share,
                    "threads": rayon_threads(),
                }),
            )?;
            summary.push(format!(
                "one VIME run: {} s, of which BNN training {} % and information gains {} %",
                fmt_num(per_run),
                fmt_num(100.0 * bnn_train / wall_vime.max(1e-12)),
                fmt_num(100.0 * bnn_kl / wall_vime.max(1e-12)),
            ));
        }
        if let Some(&last) = steps.last() {
            curve_fig = curve_fig.x_range(0.0, last as f64);
        }
        if !any_finite {
            // No episode ended in any batch (a step limit above the batch).
            curve_fig = curve_fig.y_range(0.0, 1.0);
        }
        let metrics = m.finish(wall, &elbo_trace);
        figures.insert(
            0,
            FigureFile {
                file: "returns.svg".into(),
                title: "Return curves, mean ± standard error over seeds, with and without VIME (Houthooft et al. 2016 Figs. 2–3)".into(),
                svg: curve_fig.to_svg()?,
            },
        );
        if !elbo_trace.is_empty() {
            figures.push(FigureFile {
                file: "dynamics_elbo.svg".into(),
                title: "The dynamics BNN's bound per transition (mean over seeds)".into(),
                svg: crate::plot::bound_trace("Dynamics model ELBO per transition", &elbo_trace)
                    .to_svg()?,
            });
        }
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
