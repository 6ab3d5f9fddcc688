//! `elbo vgmm`: the variational Bayesian Gaussian mixture (PRML §10.2).
//!
//! CAVI (PRML 10.46–10.83) from seeded k-means++ (`--n-init` restarts, the
//! best bound kept), with a Dirichlet (`--alpha0`) or truncated
//! stick-breaking Dirichlet-process prior (`--prior dp --gamma`), full or
//! diagonal covariances. The bound keeps every constant, so bounds compare
//! across K: `--k-sweep A-B` fits every K and keeps the highest bound + ln K!
//! (PRML §10.2.4, Fig 10.7), recording `bound_by_k`. A test set (`--test`,
//! `--test-fraction`) is scored with the Student-t predictive of PRML 10.81.
//!
//! On 2-D data the best restart is replayed one iteration at a time
//! (`VgmmValidParams::init` + `VgmmState::step`, deterministic from the
//! seed; the replay is checked against the fit's trace) to draw the
//! components at iterations 0, 15, 60, 120 and the last (PRML Fig 10.6).
//!
//! `--distributed` (under `mpirun -n P`, with the `mpi` feature): each
//! process reads its shard of `--data` (see [`crate::distributed`]), the
//! columns are standardised with the global moments, and CAVI sums the
//! sufficient statistics across processes once per iteration
//! (`VgmmValidParams::fit_distributed`); the bound trace equals that of the
//! single-process run on the concatenated rows with the same seed. Process
//! 0 writes `metrics.json`, `bound_trace.svg` and `weights.svg`.

use std::time::Instant;

use anyhow::{Context, ensure};
use elbo_classic::mixture::{VgmmFit, VgmmValidParams, WeightPosterior};
use serde_json::{Value, json};

use super::gmm::{self, DataArgs, Ellipse, FitArgs, PriorArgs, Rows};
use super::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::distributed::{self, Comm, DistArgs, Fault, Shard, Timed};
use crate::metrics::Metrics;
use crate::output::RunId;
use crate::plot::{self, Figure, Layer, colour};
use crate::progress::Progress;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "vgmm";
/// K when `--k` is not given (PRML Fig 10.6).
const DEFAULT_K: usize = 6;
/// Restarts per K under `--k-sweep` when `--n-init` is not given.
const SWEEP_N_INIT: usize = 10;
/// The iterations drawn in `iterations.svg` (PRML Fig 10.6), with the last.
const SNAPSHOTS: [usize; 4] = [0, 15, 60, 120];
/// The replay for `iterations.svg` runs on at most this many points.
const SNAPSHOT_MAX_N: usize = 50_000;
/// α₀ under `--k-sweep` when `--alpha0` is not given.
const SWEEP_ALPHA0: f64 = 1.0;
/// The largest K of a sweep.
const MAX_SWEEP_K: usize = 100;

/// Flags of `elbo vgmm`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Data and preprocessing.
    #[command(flatten)]
    pub data: DataArgs,
    /// The prior.
    #[command(flatten)]
    pub prior: PriorArgs,
    /// Iterations and restarts.
    #[command(flatten)]
    pub fit: FitArgs,
    /// Fit every K from A to B and keep the one with the highest bound +
    /// ln K! (PRML §10.2.4, Fig 10.7); records `bound_by_k` and `best_k`.
    /// The default α₀ is then 1: ln K! counts the K! relabellings of K
    /// components in use, and α₀ < 1 empties components instead.
    #[arg(long, value_name = "A-B", conflicts_with = "k")]
    pub k_sweep: Option<String>,
    /// Several processes (MPI).
    #[command(flatten)]
    pub dist: DistArgs,
}

/// A validated `vgmm` run: on one process, or one process of many.
#[derive(Debug)]
pub enum Plan {
    /// All rows in this process.
    Local(LocalPlan),
    /// This process's shard of an MPI job (`--distributed`).
    Distributed(DistPlan),
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        match self {
            Plan::Local(p) => p.run(),
            Plan::Distributed(p) => p.run(),
        }
    }
    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        match self {
            Plan::Local(p) => p.execute(progress),
            Plan::Distributed(p) => p.execute(progress),
        }
    }
    fn writes_output(&self) -> bool {
        match self {
            Plan::Local(_) => true,
            Plan::Distributed(p) => p.comm.is_root(),
        }
    }
}

/// A validated single-process `vgmm` run.
#[derive(Debug)]
pub struct LocalPlan {
    spec: String,
    rows: Rows,
    /// (K, params) for each K fitted.
    fits: Vec<(usize, VgmmValidParams)>,
    sweep: bool,
    tol: f64,
    run: RunMeta,
}

/// Parse `A-B` (or `N`) into A..=B with 1 ≤ A ≤ B ≤ 100.
pub fn parse_k_sweep(s: &str) -> anyhow::Result<(usize, usize)> {
    let bad =
        || format!("--k-sweep `{s}`: expected A-B with 1 <= A <= B <= {MAX_SWEEP_K}, e.g. 1-6");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let a: usize = a.parse().with_context(bad)?;
    let b: usize = b.parse().with_context(bad)?;
    ensure!(1 <= a && a <= b && b <= MAX_SWEEP_K, "{}", bad());
    Ok((a, b))
}

/// Validate the flags and load the data (this process's shard with `--distributed`).
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    if args.dist.distributed {
        return Ok(Plan::Distributed(prepare_distributed(args)?));
    }
    Ok(Plan::Local(prepare_local(args)?))
}

fn prepare_local(args: Args) -> anyhow::Result<LocalPlan> {
    let c = &args.data.common;
    let seed = c.seed();
    let spec = gmm::data_spec(&args.data);
    let sweep = args.k_sweep.as_deref().map(parse_k_sweep).transpose()?;
    let ks: Vec<usize> = match sweep {
        Some((a, b)) => (a..=b).collect(),
        None => vec![gmm::check_k(args.data.k.unwrap_or(DEFAULT_K))?],
    };
    let mut prior = args.prior.resolve()?;
    if sweep.is_some() && prior.alpha0.is_none() {
        // See `Args::k_sweep`: compare K with every component in use.
        prior.alpha0 = Some(SWEEP_ALPHA0);
    }
    let fit = args
        .fit
        .resolve(c.quick, if sweep.is_some() { SWEEP_N_INIT } else { 1 })?;
    let covariance = args.data.covariance.unwrap_or(gmm::Covariance::Full);
    let k_max = ks.iter().copied().max().unwrap_or(1);
    let rows = gmm::load_rows(&args.data, k_max, seed)?;
    let d = rows.dim();
    prior.check_nu0(d, covariance)?;
    let fits = ks
        .iter()
        .map(|&k| {
            let p = prior
                .params(k, d, covariance, seed)
                .with_tol(fit.tol)
                .with_max_iter(fit.max_iter)
                .with_n_init(fit.n_init)
                .check()?;
            Ok((k, p))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let mut config = serde_json::to_value(gmm::data_config(
        &args.data,
        sweep.is_none().then(|| ks[0]),
        &rows,
    ))
    .context("recording the configuration")?;
    let extra = prior.config(sweep.is_none().then(|| ks[0]), d);
    if let (Some(o), Some(p)) = (config.as_object_mut(), extra.as_object()) {
        o.extend(p.clone());
        o.insert("k_sweep".into(), json!(sweep.map(|(a, b)| [a, b])));
        fit.record(o);
    }
    let id = RunId::new(MODEL, &spec, seed, &config);
    let dataset = spec.clone();
    Ok(LocalPlan {
        spec,
        rows,
        fits,
        sweep: sweep.is_some(),
        tol: fit.tol,
        run: RunMeta {
            model: MODEL,
            dataset,
            id,
            out: c.out.clone(),
            force: c.force,
            seed,
        },
    })
}

/// The components of a fit (or of a state) as drawn.
fn fit_ellipses(fit: &VgmmFit) -> Vec<Ellipse> {
    gmm::ellipses(fit.m_k(), &fit.covariances(), &fit.weights())
}

/// The fit's part of `metrics.json`, the same for one process and many:
/// the bound (total, per point, with ln K!, its terms), iterations,
/// restarts, the prior and the posterior parameters (`n` rows).
fn record_fit(m: &mut Metrics, fit: &VgmmFit, n: usize) -> anyhow::Result<()> {
    m.set("bound", fit.elbo())?;
    m.set("bound_per_point", fit.elbo() / n as f64)?;
    m.set("bound_with_ln_k_factorial", fit.elbo_with_ln_k_factorial())?;
    m.set("bound_terms", fit.bound_terms())?;
    m.set("n_iter", fit.n_iter())?;
    m.set("converged", fit.converged())?;
    m.set("restart_bounds", fit.restart_bounds())?;
    m.set("best_restart", best_restart(fit))?;
    m.set("prior", gmm::prior_json(fit.prior()))?;
    match fit.weight_posterior() {
        WeightPosterior::Dirichlet { alpha } => m.set("alpha_k", alpha.to_vec())?,
        WeightPosterior::StickBreaking { a, b } => {
            m.set("stick_a_k", a.to_vec())?;
            m.set("stick_b_k", b.to_vec())?;
        }
    }
    m.set("beta_k", fit.beta_k().to_vec())?;
    m.set("nu_k", fit.nu_k().to_vec())?;
    m.set("m_k", gmm::rows(&fit.m_k().view()))?;
    Ok(())
}

/// The first restart with the highest final bound: the one `fit` kept.
fn best_restart(fit: &VgmmFit) -> u64 {
    let b = fit.restart_bounds();
    let max = b.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    b.iter().position(|&v| v == max).unwrap_or(0) as u64
}

impl Prepared for LocalPlan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let x = self.rows.train.view();
        let n = self.rows.n_train();
        let label = self.label();

        // ---- Fit every K.
        let mut fits: Vec<(usize, VgmmFit)> = Vec::new();
        for (k, p) in &self.fits {
            progress.set_label(format!("{label}: K = {k}"));
            let fit = p
                .fit_with(x, |_restart, i, b| progress.update(i, b))
                .with_context(|| format!("fitting the variational mixture with K = {k}"))?;
            ensure!(
                fit.elbo().is_finite(),
                "the bound is not finite for K = {k}; standardise the data"
            );
            fits.push((*k, fit));
        }
        let best = fits
            .iter()
            .enumerate()
            .max_by(|a, b| {
                a.1.1
                    .elbo_with_ln_k_factorial()
                    .total_cmp(&b.1.1.elbo_with_ln_k_factorial())
            })
            .map(|(i, _)| i)
            .context("no model was fitted")?;
        let (k, fit) = (fits[best].0, &fits[best].1);
        let params = &self.fits[best].1;
        let weights = fit.weights();
        let n_eff = gmm::effective(&weights);
        let heldout = match &self.rows.test {
            Some(t) => Some(fit.heldout_loglik_per_point(t.view())?),
            None => None,
        };
        let collapsed = fit.elbo_on(x)?;
        let wall = start.elapsed().as_secs_f64();

        // ---- Replay the best restart for the iterations figure; the labels
        // that started it, for a peer (only when rows are held out).
        let restart = best_restart(fit);
        let mut warnings = Vec::new();
        let mut snapshots: Vec<(usize, Vec<Ellipse>)> = Vec::new();
        if self.rows.dim() == 2 && n <= SNAPSHOT_MAX_N {
            progress.set_label(format!("{label}: replaying K = {k} for the figure"));
            let mut st = params.init(x, restart)?;
            let snap = |st: &elbo_classic::mixture::VgmmState| {
                gmm::ellipses(st.m_k(), &st.covariances(), &st.weights())
            };
            snapshots.push((0, snap(&st)));
            while !st.done() {
                let b = st.step()?;
                progress.update(st.n_iter(), b);
                if SNAPSHOTS.contains(&st.n_iter()) {
                    snapshots.push((st.n_iter(), snap(&st)));
                }
            }
            if snapshots.last().is_some_and(|s| s.0 != st.n_iter()) {
                snapshots.push((st.n_iter(), snap(&st)));
            }
            if st.elbo_trace() != fit.elbo_trace() {
                warnings.push(
                    "the replayed fit for iterations.svg differs from the fit (the library's fit is \
                     not deterministic from its seed); the figure may not show this run"
                        .to_string(),
                );
            }
        }
        let mut extra = Vec::new();
        if self.rows.split.is_some() {
            let labels = gmm::init_labels(x, k, self.run.seed, restart)?;
            extra.push((
                "init.json".to_string(),
                gmm::init_json(&labels, self.run.seed, restart),
            ));
        }

        // ---- metrics.json.
        let mut m = Metrics::new(&self.run.id);
        m.set("k", k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        if let Some(h) = heldout {
            self.rows.record_heldout(&mut m, h)?;
        }
        record_fit(&mut m, fit, n)?;
        m.set("collapsed_bound_per_point", collapsed / n as f64)?;
        if self.sweep {
            let by_k: serde_json::Map<String, Value> = fits
                .iter()
                .map(|(k, f)| (k.to_string(), json!(f.elbo_with_ln_k_factorial())))
                .collect();
            let restarts: serde_json::Map<String, Value> = fits
                .iter()
                .map(|(k, f)| {
                    let c = gmm::ln_factorial(*k);
                    let v: Vec<f64> = f.restart_bounds().iter().map(|b| b + c).collect();
                    (k.to_string(), json!(v))
                })
                .collect();
            m.set("bound_by_k", by_k)?;
            m.set("bound_by_k_restarts", restarts)?;
            m.set("best_k", k)?;
        }
        if !snapshots.is_empty() {
            m.set(
                "snapshot_iterations",
                snapshots.iter().map(|s| s.0).collect::<Vec<_>>(),
            )?;
        }
        self.rows.record(&mut m)?;
        let metrics = m.finish(wall, fit.elbo_trace());

        // ---- Figures.
        let name = &self.spec;
        let mut figures = Vec::new();
        let mut notes = Vec::new();
        match gmm::fit_figure(MODEL, name, &self.rows, &fit_ellipses(fit))? {
            Ok(f) => figures.push(f),
            Err(note) => notes.push(note),
        }
        if !snapshots.is_empty() {
            let refs: Vec<&[Ellipse]> = snapshots.iter().map(|s| s.1.as_slice()).collect();
            let range = gmm::shared_range(&self.rows, &refs);
            let panels: Vec<Figure> = snapshots
                .iter()
                .map(|(it, comps)| {
                    gmm::ellipse_figure(
                        &format!(
                            "iteration {it}: {} components",
                            gmm::effective(&comps.iter().map(|c| c.weight).collect())
                        ),
                        &self.rows,
                        comps,
                        false,
                        Some(range),
                    )
                })
                .collect();
            figures.push(FigureFile {
                file: "iterations.svg".into(),
                title:
                    "Components at several iterations, ink in proportion to E[pi_k] (PRML Fig 10.6)"
                        .into(),
                svg: plot::small_multiples(
                    &format!(
                        "{MODEL} on {name}, K = {k}: 1-sd contours of components with E[pi] > 0.01"
                    ),
                    &panels,
                    3,
                )?,
            });
        }
        figures.push(FigureFile {
            file: "bound_trace.svg".into(),
            title: "Bound per iteration".into(),
            svg: plot::bound_trace(
                &format!("{MODEL} on {name}, K = {k}: bound per iteration"),
                fit.elbo_trace(),
            )
            .to_svg()?,
        });
        figures.push(gmm::weights_figure(MODEL, name, &weights)?);
        if self.sweep {
            figures.push(sweep_figure(name, &fits, k)?);
        }

        // ---- Summary.
        let mut summary = vec![format!(
            "{MODEL} on {name} ({}), seed {}: {}K = {k}, {n_eff} components with E[pi] > 0.01 ({})",
            self.rows.describe(),
            self.run.seed,
            if self.sweep { "best " } else { "" },
            gmm::fmt_weights(&weights)
        )];
        summary.push(format!(
            "bound {} ({} per point) after {} iterations{}",
            fmt_num(fit.elbo()),
            fmt_num(fit.elbo() / n as f64),
            fit.n_iter(),
            if fit.converged() || self.tol == 0.0 {
                ""
            } else {
                " (not converged)"
            }
        ));
        if self.sweep {
            let list: Vec<String> = fits
                .iter()
                .map(|(k, f)| format!("K={k}: {}", fmt_num(f.elbo_with_ln_k_factorial())))
                .collect();
            summary.push(format!("bound + ln K!: {}", list.join(", ")));
        }
        if let Some(h) = heldout {
            summary.push(format!(
                "held-out log-likelihood per point (Student-t predictive, PRML 10.81): {} ({} test rows)",
                fmt_num(h),
                self.rows.n_test()
            ));
        }
        summary.extend(notes);
        for (kk, f) in &fits {
            if !f.converged() && self.tol > 0.0 {
                warnings.push(format!(
                    "{}the bound did not converge in {} iterations (tol {:e}); raise --max-iter",
                    if self.sweep {
                        format!("K = {kk}: ")
                    } else {
                        String::new()
                    },
                    f.n_iter(),
                    self.tol
                ));
            }
        }
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings,
            split: self.rows.split.clone(),
            data_csv: self.rows.data_csv.clone(),
            extra,
        })
    }
}

// ------------------------------------------------------- distributed ---

/// One process of a distributed `vgmm` run.
#[derive(Debug)]
pub struct DistPlan {
    comm: Comm,
    spec: String,
    shard: Shard,
    k: usize,
    params: VgmmValidParams,
    tol: f64,
    run: RunMeta,
}

/// Flags that need every row in one process.
fn reject_local_only(args: &Args) -> anyhow::Result<()> {
    let d = &args.data;
    for (given, flag) in [
        (args.k_sweep.is_some(), "--k-sweep"),
        (d.test.is_some(), "--test"),
        (d.test_fraction.is_some_and(|f| f > 0.0), "--test-fraction"),
        (d.drop_constant, "--drop-constant"),
    ] {
        ensure!(
            !given,
            "--distributed cannot be used with {flag} (not supported across processes yet)"
        );
    }
    Ok(())
}

fn prepare_distributed(args: Args) -> anyhow::Result<DistPlan> {
    reject_local_only(&args)?;
    let c = &args.data.common;
    let seed = c.seed();
    let spec = gmm::data_spec(&args.data);
    let k = gmm::check_k(args.data.k.unwrap_or(DEFAULT_K))?;
    let prior = args.prior.resolve()?;
    let fit = args.fit.resolve(c.quick, 1)?;
    let covariance = args.data.covariance.unwrap_or(gmm::Covariance::Full);
    let comm = Comm::init()?;
    let shard = distributed::load_shard(
        &comm,
        &spec,
        args.data.label.as_deref(),
        seed,
        args.dist.chunk_rows,
        k,
        args.data.no_standardize,
    )?;
    let d = shard.names.len();
    prior.check_nu0(d, covariance)?;
    let params = prior
        .params(k, d, covariance, seed)
        .with_tol(fit.tol)
        .with_max_iter(fit.max_iter)
        .with_n_init(fit.n_init)
        .check()?;
    let mut config = json!({
        "data": spec,
        "label": args.data.label,
        "standardize": !args.data.no_standardize,
        "k": k,
        "covariance": covariance,
        "init_iter": gmm::INIT_ITER,
        "quick": c.quick,
        "distributed": true,
        "processes": comm.size(),
        "chunk_rows": shard.chunk_rows,
    });
    if let (Some(o), Some(p)) = (config.as_object_mut(), prior.config(Some(k), d).as_object()) {
        o.extend(p.clone());
        fit.record(o);
    }
    Ok(DistPlan {
        run: distributed::run_meta(&comm, MODEL, &spec, seed, &config, c)?,
        spec,
        shard,
        k,
        params,
        tol: fit.tol,
        comm,
    })
}

impl DistPlan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let comm = &self.comm;
        let fault = comm.fault();
        comm.agree(match fault {
            Some(Fault::Error) => Err(Fault::Error.trigger(comm.rank())),
            _ => Ok(()),
        })?;
        let (k, name) = (self.k, &self.spec);
        let timed = Timed::new(comm);
        // When each CAVI iteration ended, and the time in sums by then.
        let mut stamps: Vec<(Instant, f64)> = Vec::new();
        let fit = self
            .params
            .fit_distributed(
                self.shard.x.view(),
                &self.shard.layout,
                &timed,
                |_restart, i, b| {
                    if i == 2 && fault == Some(Fault::Exit) {
                        // Exits the process; nothing to return.
                        let _ = Fault::Exit.trigger(comm.rank());
                    }
                    if i == 1 {
                        stamps.clear();
                    }
                    stamps.push((Instant::now(), timed.spent().0));
                    progress.update(i, b);
                },
            )
            .with_context(|| format!("fitting the variational mixture with K = {k}"))?;
        // Steady-state seconds per CAVI iteration, and the part in the allreduce.
        let per_iter = match (stamps.first(), stamps.last()) {
            (Some(a), Some(b)) if stamps.len() > 1 => {
                let it = (stamps.len() - 1) as f64;
                Some(((b.0 - a.0).as_secs_f64() / it, (b.1 - a.1) / it))
            }
            _ => None,
        };
        ensure!(
            fit.elbo().is_finite(),
            "the bound is not finite for K = {k}; standardise the data"
        );
        let n = self.shard.layout.n_global();
        let weights = fit.weights();
        let n_eff = gmm::effective(&weights);
        let wall = start.elapsed().as_secs_f64();

        let mut m = Metrics::new(&self.run.id);
        m.set("k", k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        record_fit(&mut m, &fit, n)?;
        self.shard.record(comm, &mut m)?;
        if let Some((it, red)) = per_iter {
            m.set("iteration_seconds", it)?;
            m.set("allreduce_seconds_per_iteration", red)?;
        }
        m.set("allreduce_calls", timed.spent().1)?;
        m.set("allreduce_seconds", timed.spent().0)?;
        let metrics = m.finish(wall, fit.elbo_trace());

        let figures = vec![
            FigureFile {
                file: "bound_trace.svg".into(),
                title: "Bound per iteration".into(),
                svg: plot::bound_trace(
                    &format!(
                        "{MODEL} on {name}, K = {k}, {} processes: bound per iteration",
                        comm.size()
                    ),
                    fit.elbo_trace(),
                )
                .to_svg()?,
            },
            gmm::weights_figure(MODEL, name, &weights)?,
        ];
        let summary = vec![
            format!(
                "{MODEL} on {name} ({n} x {}{}, {} processes, {} shard mode), seed {}: K = {k}, {n_eff} components with E[pi] > 0.01 ({})",
                self.shard.names.len(),
                if self.shard.scaler.is_some() {
                    ", standardised"
                } else {
                    ""
                },
                comm.size(),
                self.shard.mode,
                self.run.seed,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "bound {} ({} per point) after {} iterations{}",
                fmt_num(fit.elbo()),
                fmt_num(fit.elbo() / n as f64),
                fit.n_iter(),
                if fit.converged() || self.tol == 0.0 {
                    ""
                } else {
                    " (not converged)"
                }
            ),
        ];
        let mut warnings = Vec::new();
        if !fit.converged() && self.tol > 0.0 {
            warnings.push(format!(
                "the bound did not converge in {} iterations (tol {:e}); raise --max-iter",
                fit.n_iter(),
                self.tol
            ));
        }
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings,
            split: None,
            data_csv: None,
            extra: Vec::new(),
        })
    }
}

/// `bound_by_k.svg`: every restart's bound + ln K! (grey), the best per K
/// (blue), the chosen K (red): PRML Fig 10.7.
fn sweep_figure(name: &str, fits: &[(usize, VgmmFit)], best: usize) -> anyhow::Result<FigureFile> {
    let restarts: Vec<(f64, f64)> = fits
        .iter()
        .flat_map(|(k, f)| {
            let c = gmm::ln_factorial(*k);
            f.restart_bounds()
                .iter()
                .map(move |b| (*k as f64, b + c))
                .collect::<Vec<_>>()
        })
        .collect();
    let line: Vec<(f64, f64)> = fits
        .iter()
        .map(|(k, f)| (*k as f64, f.elbo_with_ln_k_factorial()))
        .collect();
    let chosen: Vec<(f64, f64)> = line
        .iter()
        .copied()
        .filter(|p| p.0 == best as f64)
        .collect();
    let f = Figure::new(
        format!("{MODEL} on {name}: bound + ln K! against K"),
        "K",
        "bound + ln K!",
    )
    .legend_lower_right()
    .layer(Layer::Points {
        points: restarts,
        colour: colour::GREY,
        label: Some("each restart".into()),
    })
    .layer(Layer::Line {
        points: line,
        colour: colour::BLUE,
        label: Some("best restart".into()),
    })
    .layer(Layer::Points {
        points: chosen,
        colour: colour::RED,
        label: Some(format!("best K = {best}")),
    });
    Ok(FigureFile {
        file: "bound_by_k.svg".into(),
        title: "Bound + ln K! against K (PRML Fig 10.7)".into(),
        svg: f.to_svg()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_sweeps() {
        assert_eq!(parse_k_sweep("1-6").unwrap(), (1, 6));
        assert_eq!(parse_k_sweep("3").unwrap(), (3, 3));
        for bad in ["0-3", "4-2", "1-101", "a-b", ""] {
            let e = parse_k_sweep(bad).unwrap_err().to_string();
            assert!(e.starts_with("--k-sweep"), "{e}");
        }
    }
}
