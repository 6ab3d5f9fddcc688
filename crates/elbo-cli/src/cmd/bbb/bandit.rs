//! `elbo bbb bandit`: the wheel bandit of Riquelme et al. (2018) §4 with a
//! Bayes-by-Backprop network choosing arms by Thompson sampling (one weight
//! draw per decision, Blundell et al. 2015 §5.3) against the same network
//! fitted by maximum likelihood, acting greedily and ε-greedily.
//!
//! Context x uniform in the unit disc, five arms. Arm 0 pays N(1.2, 0.01²);
//! inside the radius δ the others pay N(1.0, 0.01²); outside it, the arm of
//! x's quadrant pays N(50, 0.01²) and the rest N(1.0, 0.01²). Regret is the
//! best arm's expected reward minus the chosen arm's.

use std::time::Instant;

use elbo_deep::bayes::train::matrix;
use elbo_deep::bayes::train::{FitConfig, Trainer};
use elbo_deep::bayes::{BayesMlp, Device, Likelihood, Prior, Sampling, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::Serialize;

use super::common;
use super::{Args, PriorKind};
use crate::cmd::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::metrics::Metrics;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// Arms.
const ARMS: usize = 5;
/// Reward noise sd.
const SD: f64 = 0.01;
/// The agents.
const AGENTS: [&str; 3] = ["thompson", "egreedy", "greedy"];

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The wheel's δ values.
    pub deltas: Vec<f64>,
    /// Decisions per run.
    pub steps: usize,
    /// Runs (seeds) per δ.
    pub runs: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Decisions between retrainings.
    pub retrain_every: usize,
    /// Minibatch steps per retraining.
    pub train_steps: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// ε of ε-greedy.
    pub epsilon: f64,
    /// Decisions at random before the first fit.
    pub warmup: usize,
    /// Prior of the BBB agent.
    pub prior: serde_json::Value,
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    prior: Prior,
    run: RunMeta,
    args: Args,
}

/// Validate the flags.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    let quick = args.common.quick;
    anyhow::ensure!(
        args.common.data.is_none(),
        "bbb bandit generates its contexts; --data is not used"
    );
    let deltas: Vec<f64> = match &args.deltas {
        Some(s) => s
            .split(',')
            .map(|t| t.trim().parse::<f64>().map_err(|_| anyhow::anyhow!("--deltas `{s}`: expected numbers in (0, 1) separated by commas, e.g. 0.5,0.7,0.9")))
            .collect::<anyhow::Result<_>>()?,
        None if quick => vec![0.7],
        None => vec![0.5, 0.7, 0.9],
    };
    for &d in &deltas {
        crate::cmd::check_range("deltas", d, |v| v > 0.0 && v < 1.0, "in (0, 1)")?;
    }
    let (prior, pv) = common::prior(&args, PriorKind::Gaussian)?;
    let steps = common::count("steps", args.steps, if quick { 150 } else { 2000 })?;
    let config = Config {
        deltas,
        steps,
        runs: common::count("runs", args.runs, if quick { 1 } else { 3 })?,
        hidden: common::count("hidden", args.hidden, 50)?,
        layers: common::count("layers", args.layers, 2)?,
        retrain_every: 20,
        train_steps: common::count("epochs", args.epochs, if quick { 10 } else { 50 })?,
        batch_size: common::count("batch-size", args.batch_size, 64)?,
        lr: args.lr.unwrap_or(5e-3),
        epsilon: 0.05,
        warmup: 20.min(steps),
        prior: pv,
    };
    crate::cmd::check_range("lr", config.lr, |v| v > 0.0, "> 0")?;
    let run = common::run_meta(&args, "wheel", &config)?;
    Ok(Box::new(Plan {
        config,
        prior,
        run,
        args,
    }))
}

/// A context uniform in the unit disc.
fn context(rng: &mut StdRng) -> [f64; 2] {
    loop {
        let x = [
            rng.random::<f64>() * 2.0 - 1.0,
            rng.random::<f64>() * 2.0 - 1.0,
        ];
        if x[0] * x[0] + x[1] * x[1] <= 1.0 {
            return x;
        }
    }
}

/// Expected rewards of the five arms at x.
fn means(x: [f64; 2], delta: f64) -> [f64; ARMS] {
    let mut m = [1.2, 1.0, 1.0, 1.0, 1.0];
    if (x[0] * x[0] + x[1] * x[1]).sqrt() > delta {
        let arm = match (x[0] > 0.0, x[1] > 0.0) {
            (true, true) => 1,
            (true, false) => 2,
            (false, true) => 3,
            (false, false) => 4,
        };
        m[arm] = 50.0;
    }
    m
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// One agent's run: cumulative regret after each decision, and the bound
/// (−F) after each retraining of the BBB agent.
fn run_agent(
    self_: &Plan,
    agent: &str,
    delta: f64,
    seed: u64,
    device: &Device,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let c = &self_.config;
    let bayes = agent == "thompson";
    let mut rng = StdRng::seed_from_u64(seed);
    device.seed(seed);
    let mut sizes = vec![2];
    sizes.extend(std::iter::repeat_n(c.hidden, c.layers));
    sizes.push(ARMS);
    let net = common::network(sizes, -5.0, device)?;
    let fit = FitConfig {
        batch_size: c.batch_size,
        lr: c.lr,
        seed,
        ..if bayes {
            FitConfig::bbb()
        } else {
            FitConfig::plain(None)
        }
    };
    let mut tr = Trainer::new(net, self_.prior.clone(), Likelihood::GaussianLearnt, fit)?;
    let ad = device.clone().autodiff();
    let (mut xs, mut arms, mut rs): (Vec<[f64; 2]>, Vec<usize>, Vec<f64>) =
        (vec![], vec![], vec![]);
    let mut regret = Vec::with_capacity(c.steps);
    let (mut total, mut bounds) = (0.0, Vec::new());
    let mut policy: Option<BayesMlp> = None;
    for t in 0..c.steps {
        let x = context(&mut rng);
        let mu = means(x, delta);
        let a = match &policy {
            None => rng.random_range(0..ARMS),
            Some(_) if agent == "egreedy" && rng.random::<f64>() < c.epsilon => {
                rng.random_range(0..ARMS)
            }
            Some(net) => {
                let xt = matrix(vec![x[0] as f32, x[1] as f32], 1, 2, device);
                let s = if bayes {
                    Sampling::Weights
                } else {
                    Sampling::Mean
                };
                let (f, _) = net.forward(xt, s, None);
                argmax(
                    &f.to_data()
                        .convert::<f32>()
                        .try_to_vec::<f32>()
                        .unwrap_or_default(),
                )
            }
        };
        let r = mu[a] + SD * rng.sample::<f64, _>(StandardNormal);
        total += mu.iter().cloned().fold(f64::MIN, f64::max) - mu[a];
        regret.push(total);
        xs.push(x);
        arms.push(a);
        rs.push(r);
        if t + 1 >= c.warmup && (t + 1) % c.retrain_every == 0 {
            let n = xs.len();
            let mut f_last = 0.0;
            for _ in 0..c.train_steps {
                let idx: Vec<usize> = (0..c.batch_size.min(n))
                    .map(|_| rng.random_range(0..n))
                    .collect();
                let xb = matrix(
                    idx.iter()
                        .flat_map(|&i| [xs[i][0] as f32, xs[i][1] as f32])
                        .collect(),
                    idx.len(),
                    2,
                    &ad,
                );
                let mut mask = vec![0f32; idx.len() * ARMS];
                let mut rb = vec![0f32; idx.len() * ARMS];
                for (j, &i) in idx.iter().enumerate() {
                    mask[j * ARMS + arms[i]] = 1.0;
                    rb[j * ARMS + arms[i]] = rs[i] as f32;
                }
                let mask = matrix(mask, idx.len(), ARMS, &ad);
                let rb = matrix(rb, idx.len(), ARMS, &ad);
                f_last = masked_step(&mut tr, xb, rb, mask, idx.len() as f64 / n as f64)?;
            }
            bounds.push(-f_last * n as f64 / c.batch_size.min(n) as f64);
            policy = Some(tr.net.inference());
        }
    }
    Ok((regret, bounds))
}

/// One step on the rewards of the chosen arms only: −ln N(r | f_a, σ²)
/// summed over the batch, plus (B/N)·KL for the Bayesian agent.
fn masked_step(
    tr: &mut Trainer,
    x: Tensor<2>,
    r: Tensor<2>,
    mask: Tensor<2>,
    kl_weight: f64,
) -> anyhow::Result<f64> {
    let sampling = if tr.config.bayes {
        Sampling::Local
    } else {
        Sampling::Mean
    };
    let (f, _) = tr.net.forward(x.clone(), sampling, None);
    let count = mask.clone().sum();
    let ln_s = tr.net.log_noise.val();
    let sq = ((f - r) * mask).square().sum();
    let nll = sq * ln_s.clone().mul_scalar(-2.0).exp().mul_scalar(0.5) + ln_s * count;
    let loss = if tr.config.bayes {
        nll + tr.net.kl(&tr.prior, &[]).mul_scalar(kl_weight)
    } else {
        nll
    };
    Ok(tr.step_loss(loss)?)
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let c = &self.config;
        let device = common::device(&self.args)?;
        let mut headline = serde_json::Map::new();
        let mut se_map = serde_json::Map::new();
        let mut figures = Vec::new();
        let mut summary = vec![format!(
            "bbb bandit (wheel, {} decisions, {} runs per δ)",
            c.steps, c.runs
        )];
        let mut trace = Vec::new();
        for (di, &delta) in c.deltas.iter().enumerate() {
            let mut fig = Figure::new(
                format!("Wheel bandit δ = {delta}: cumulative regret"),
                "decision",
                "cumulative regret",
            );
            let mut line = format!("  δ = {delta}:");
            for (ai, agent) in AGENTS.iter().enumerate() {
                let mut curves = Vec::new();
                for r in 0..c.runs {
                    progress.set_label(format!("δ = {delta}, {agent}, run {}/{}", r + 1, c.runs));
                    let seed = self
                        .run
                        .seed
                        .wrapping_mul(1000)
                        .wrapping_add((di * 100 + r) as u64);
                    let (curve, bounds) = run_agent(self, agent, delta, seed, &device)?;
                    if trace.is_empty() && *agent == "thompson" {
                        trace = bounds;
                    }
                    curves.push(curve);
                }
                let finals: Vec<f64> = curves.iter().map(|v| *v.last().unwrap_or(&0.0)).collect();
                let (m, se) = common::mean_se(&finals);
                headline
                    .entry(agent.to_string())
                    .or_insert_with(|| serde_json::json!({}))[format!("{delta}")] =
                    serde_json::json!(m);
                se_map
                    .entry(agent.to_string())
                    .or_insert_with(|| serde_json::json!({}))[format!("{delta}")] =
                    serde_json::json!(se);
                line.push_str(&format!(" {agent} {} ± {}", fmt_num(m), fmt_num(se)));
                let mean_curve: Vec<(f64, f64)> = (0..c.steps)
                    .step_by((c.steps / 200).max(1))
                    .map(|t| {
                        (
                            (t + 1) as f64,
                            curves.iter().map(|v| v[t]).sum::<f64>() / curves.len() as f64,
                        )
                    })
                    .collect();
                fig = fig.layer(Layer::Line {
                    points: mean_curve,
                    colour: colour::cycle(ai),
                    label: Some(agent.to_string()),
                });
            }
            summary.push(line);
            figures.push(FigureFile {
                file: format!("regret_delta_{delta}.svg"),
                title: format!("Cumulative regret, δ = {delta} (mean over runs)"),
                svg: fig.to_svg()?,
            });
        }
        let mut m = Metrics::new(&self.run.id);
        m.set("cumulative_regret", &headline)?;
        m.set("cumulative_regret_se", &se_map)?;
        Ok(ModelRun {
            metrics: m.finish(start.elapsed().as_secs_f64(), &trace),
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}
