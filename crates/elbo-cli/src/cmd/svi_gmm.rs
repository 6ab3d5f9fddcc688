//! `elbo svi-gmm`: stochastic variational inference for the Bayesian
//! Gaussian mixture (Hoffman, Blei, Wang & Paisley 2013).
//!
//! The model and priors are those of `elbo vgmm`; the global factors move
//! by natural-gradient steps on seeded minibatches (`--batch-size`) with the
//! Robbins–Monro step ρ_t = (t + τ)^(−κ) (`--tau`, `--kappa`) for
//! `--epochs` passes. `elbo_trace` holds the noisy minibatch estimates of
//! the bound, one per step; `bound_per_point` is the bound on all training
//! rows at the final globals with q(Z) at its optimum (one full E-step).
//! `--compare-batch` also fits batch CAVI (`elbo vgmm`'s fit, same prior and
//! seed) and reports the relative gap between the two bounds per point.
//!
//! `--stream` fits a CSV file larger than memory with the library's
//! `SviGmmValidParams::fit_csv`, which reads it in chunks for each epoch.
//! The CLI makes one streaming pass first (rows N, columns D, a check that
//! every value is finite and no column is constant) and hands N to the
//! library, which then skips its own counting pass. The library takes no
//! scaler, so the rows are fitted as they are, without standardisation;
//! nothing that needs all rows in memory (`--test`, `--test-fraction`,
//! `--label`, `--drop-constant`, `--compare-batch`, the bound on all rows,
//! `fit.svg`) is available.
//!
//! `--distributed` (under `mpirun -n P`, with the `mpi` feature): each
//! process reads its shard of `--data` (see [`crate::distributed`]), the
//! columns are standardised with the global moments, every process draws
//! the same permutation of the global row indices, and each step sums the
//! statistics of each process's part of the minibatch
//! (`SviGmmValidParams::fit_distributed`): the same steps as the
//! single-process run on the concatenated rows with the same seed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use elbo_classic::mixture::{CsvChunks, SviGmm, SviGmmValidParams, VgmmValidParams};
use ndarray::{Array1, Array2, Array3, Axis};
use serde_json::json;

use super::gmm::{self, DataArgs, PriorArgs, Rows};
use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, fmt_num};
use crate::dataset;
use crate::distributed::{self, Comm, DistArgs, Fault, Shard};
use crate::metrics::Metrics;
use crate::output::RunId;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "svi-gmm";
/// K when `--k` is not given.
const DEFAULT_K: usize = 6;
/// Passes over the data under `--quick` (unless `--epochs`).
const QUICK_EPOCHS: usize = 2;

/// Flags of `elbo svi-gmm`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Data and preprocessing.
    #[command(flatten)]
    pub data: DataArgs,
    /// The prior.
    #[command(flatten)]
    pub prior: PriorArgs,
    /// Points per minibatch |B| ≥ 1 [default: 1000].
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Delay τ > 0 of the step size ρ_t = (t + τ)^(−κ) [default: 1].
    #[arg(long, value_name = "TAU")]
    pub tau: Option<f64>,
    /// Forgetting rate κ ∈ (0.5, 1] of ρ_t = (t + τ)^(−κ) [default: 0.7].
    #[arg(long, value_name = "KAPPA")]
    pub kappa: Option<f64>,
    /// Passes over the training rows [default: 10; 2 with --quick].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Also fit batch CAVI (as `elbo vgmm`, same prior and seed) and report
    /// the gap between the bounds per point.
    #[arg(long)]
    pub compare_batch: bool,
    /// Read the CSV file `--data PATH` in chunks (never whole in memory)
    /// for each epoch instead of loading it. The rows are fitted as they
    /// are, not standardised (the library's streaming fit takes no scaler;
    /// standardise the file beforehand if its columns differ in scale), and
    /// should be in random order. Not with a built-in data set, --test,
    /// --test-fraction, --label, --drop-constant or --compare-batch.
    #[arg(long)]
    pub stream: bool,
    /// Several processes (MPI).
    #[command(flatten)]
    pub dist: DistArgs,
}

/// Rows per chunk of the CLI's counting pass over a `--stream` file.
const SCAN_ROWS: usize = 8192;

/// What the fit reads: rows in memory, or a CSV file streamed in chunks.
#[derive(Debug)]
enum Input {
    /// Loaded and preprocessed rows.
    Rows(Box<Rows>),
    /// A CSV file read in chunks (`--stream`).
    Stream(Stream),
}

/// A `--stream` CSV file, as one counting pass found it.
#[derive(Debug, Clone)]
struct Stream {
    /// The file.
    path: PathBuf,
    /// Data rows N.
    n_rows: usize,
    /// Column names (the header, or `x0`, `x1`, …).
    names: Vec<String>,
}

impl Stream {
    /// D.
    fn dim(&self) -> usize {
        self.names.len()
    }
}

/// Reject what `--stream` cannot honour; `spec` is `--data`.
fn check_stream_flags(args: &Args, spec: &str) -> anyhow::Result<()> {
    let d = &args.data;
    let is_name = d.common.data.is_none()
        || dataset::is_generated(spec)
        || elbo_core::data::BUILTINS.iter().any(|b| b.name == spec);
    ensure!(
        !is_name,
        "--stream reads a CSV file given as --data PATH; `{spec}` is a built-in data set (drop --stream to fit it in memory)"
    );
    for (given, flag) in [
        (d.test_fraction.is_some(), "--test-fraction"),
        (d.test.is_some(), "--test"),
        (d.label.is_some(), "--label"),
        (d.drop_constant, "--drop-constant"),
        (args.compare_batch, "--compare-batch"),
    ] {
        ensure!(
            !given,
            "--stream cannot be used with {flag}: it needs all rows in memory (drop --stream to load {spec})"
        );
    }
    Ok(())
}

/// One streaming pass over `path`: rows, columns, every value finite and
/// no column constant (column means and variances merged chunk by chunk,
/// Chan, Golub & LeVeque 1979).
fn scan(path: &Path) -> anyhow::Result<Stream> {
    let shown = path.display();
    let mut n = 0usize;
    let mut moments: Option<(Array1<f64>, Array1<f64>)> = None;
    for chunk in CsvChunks::open(path, SCAN_ROWS)? {
        let c: Array2<f64> = chunk?;
        let nb = c.nrows();
        if nb == 0 {
            continue;
        }
        if let Some(p) = c.iter().position(|v| !v.is_finite()) {
            bail!(
                "{shown}: data row {}, column {} is not finite",
                n + p / c.ncols() + 1,
                p % c.ncols() + 1
            );
        }
        let mean_b = c.mean_axis(Axis(0)).context("an empty chunk")?;
        let m2_b = (&c - &mean_b).mapv(|v| v * v).sum_axis(Axis(0));
        moments = Some(match moments {
            None => (mean_b, m2_b),
            Some((mean, m2)) => {
                let (na, nbf) = (n as f64, nb as f64);
                let tot = na + nbf;
                let delta = &mean_b - &mean;
                let mean = &mean + &(&delta * (nbf / tot));
                let m2 = m2 + m2_b + delta.mapv(|v| v * v) * (na * nbf / tot);
                (mean, m2)
            }
        });
        n += nb;
    }
    let Some((mean, m2)) = moments else {
        bail!("{shown} has no data rows");
    };
    let names = column_names(path, mean.len())?;
    for j in 0..mean.len() {
        let sd = (m2[j] / n as f64).sqrt();
        ensure!(
            !(sd.is_nan() || sd <= 1e-12 * (1.0 + mean[j].abs())),
            "column {} (`{}`) of {shown} is constant on the {n} rows (value {}): a Gaussian \
             mixture needs every column to vary; remove it",
            j + 1,
            names[j],
            mean[j]
        );
    }
    Ok(Stream {
        path: path.to_path_buf(),
        n_rows: n,
        names,
    })
}

/// The column names of a CSV file: its first two non-empty lines parsed
/// as the whole file is (the header, or `x0`, `x1`, …).
fn column_names(path: &Path, d: usize) -> anyhow::Result<Vec<String>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut head = String::new();
    for line in BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        head.push_str(&line);
        head.push('\n');
        if head.lines().count() == 2 {
            break;
        }
    }
    let names = elbo_core::data::parse_csv(&head, path)?.column_names();
    ensure!(
        names.len() == d,
        "{}: the header has {} names for {d} columns",
        path.display(),
        names.len()
    );
    Ok(names)
}

/// A validated `svi-gmm` run: on one process, or one process of many.
#[derive(Debug)]
pub enum Plan {
    /// All rows in this process (or streamed).
    Local(LocalPlan),
    /// This process's shard of an MPI job (`--distributed`).
    Distributed(DistPlan),
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        match self {
            Plan::Local(p) => p.run(),
            Plan::Distributed(p) => &p.run,
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

/// A validated single-process `svi-gmm` run.
#[derive(Debug)]
pub struct LocalPlan {
    spec: String,
    input: Input,
    k: usize,
    params: SviGmmValidParams,
    batch: Option<VgmmValidParams>,
    run: RunMeta,
}

/// Validate the flags and load the data (this process's shard with `--distributed`).
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    if args.dist.distributed {
        return Ok(Plan::Distributed(prepare_distributed(args)?));
    }
    Ok(Plan::Local(prepare_local(args)?))
}

/// The step schedule of SVI: minibatch size, ρ_t = (t + τ)^(−κ), epochs.
struct Schedule {
    batch_size: usize,
    tau: f64,
    kappa: f64,
    epochs: usize,
}

/// Resolve and check the schedule flags (defaults: batch 1000, τ = 1,
/// κ = 0.7, 10 epochs or [`QUICK_EPOCHS`] with `--quick`).
fn schedule(args: &Args, quick: bool) -> anyhow::Result<Schedule> {
    let batch_size = args.batch_size.unwrap_or(1000);
    ensure!(
        batch_size >= 1,
        "--batch-size must be at least 1, got {batch_size}"
    );
    let tau = args.tau.unwrap_or(1.0);
    // τ = 0 would make the first step ρ_0 = 0^(−κ) infinite.
    check_range("tau", tau, |v| v > 0.0, "finite and > 0")?;
    let kappa = args.kappa.unwrap_or(0.7);
    check_range(
        "kappa",
        kappa,
        |v| v > 0.5 && v <= 1.0,
        "in (0.5, 1] (Robbins-Monro)",
    )?;
    let epochs = args.epochs.unwrap_or(if quick { QUICK_EPOCHS } else { 10 });
    ensure!(epochs >= 1, "--epochs must be at least 1, got {epochs}");
    Ok(Schedule {
        batch_size,
        tau,
        kappa,
        epochs,
    })
}

fn prepare_local(args: Args) -> anyhow::Result<LocalPlan> {
    let c = &args.data.common;
    let seed = c.seed();
    let spec = gmm::data_spec(&args.data);
    let k = gmm::check_k(args.data.k.unwrap_or(DEFAULT_K))?;
    let prior = args.prior.resolve()?;
    let Schedule {
        batch_size,
        tau,
        kappa,
        epochs,
    } = schedule(&args, c.quick)?;
    let covariance = args.data.covariance.unwrap_or(gmm::Covariance::Full);
    let input = if args.stream {
        check_stream_flags(&args, &spec)?;
        let s = scan(Path::new(&spec))?;
        ensure!(
            k <= s.n_rows,
            "--k {k} is larger than the number of rows of {spec} ({}); \
             a mixture needs at least one point per component",
            s.n_rows
        );
        Input::Stream(s)
    } else {
        Input::Rows(Box::new(gmm::load_rows(&args.data, k, seed)?))
    };
    let d = match &input {
        Input::Rows(r) => r.dim(),
        Input::Stream(s) => s.dim(),
    };
    prior.check_nu0(d, covariance)?;
    let model = prior.params(k, d, covariance, seed);
    let mut params = SviGmm::params(k)
        .with_model(model.clone())
        .with_batch_size(batch_size)
        .with_tau(tau)
        .with_kappa(kappa)
        .with_epochs(epochs);
    if let Input::Stream(s) = &input {
        // Counted above: `fit_csv` skips its own counting pass.
        params = params.with_n_total(s.n_rows);
    }
    let params = params.check()?;
    let batch = if args.compare_batch {
        Some(
            model
                .with_tol(gmm::DEFAULT_TOL)
                .with_max_iter(gmm::DEFAULT_MAX_ITER)
                .check()?,
        )
    } else {
        None
    };
    let data_config = match &input {
        Input::Rows(rows) => gmm::data_config(&args.data, Some(k), rows),
        Input::Stream(_) => gmm::DataConfig {
            data: spec.clone(),
            label: None,
            test: None,
            test_fraction: 0.0,
            standardize: false,
            drop_constant: false,
            k: Some(k),
            covariance,
            init_iter: gmm::INIT_ITER,
            quick: c.quick,
        },
    };
    let mut config = serde_json::to_value(data_config).context("recording the configuration")?;
    let extra = prior.config(Some(k), d);
    if let (Some(o), Some(p)) = (config.as_object_mut(), extra.as_object()) {
        o.extend(p.clone());
        o.insert("batch_size".into(), json!(batch_size));
        o.insert("tau".into(), json!(tau));
        o.insert("kappa".into(), json!(kappa));
        o.insert("epochs".into(), json!(epochs));
        o.insert("compare_batch".into(), json!(args.compare_batch));
        if args.compare_batch {
            o.insert("batch_tol".into(), json!(gmm::DEFAULT_TOL));
            o.insert("batch_max_iter".into(), json!(gmm::DEFAULT_MAX_ITER));
        }
        // Only when streaming, so that in-memory runs keep their identity.
        if args.stream {
            o.insert("stream".into(), json!(true));
        }
    }
    let id = RunId::new(MODEL, &spec, seed, &config);
    let dataset = spec.clone();
    Ok(LocalPlan {
        spec,
        input,
        k,
        params,
        batch,
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

/// The mean of the last `w` values at each position (fewer at the start).
fn running_mean(v: &[f64], w: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for (i, &x) in v.iter().enumerate() {
        sum += x;
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// The covariances (ν_k W_k)⁻¹ of the current globals, K × D × D.
fn covariances(m: &SviGmm) -> anyhow::Result<Array3<f64>> {
    let (w, nu) = (m.w_k()?, m.nu_k()?);
    let (k, d) = (w.len_of(Axis(0)), w.len_of(Axis(1)));
    let mut out = Array3::zeros((k, d, d));
    for c in 0..k {
        let prec = w.index_axis(Axis(0), c).mapv(|v| v * nu[c]);
        let inv = gmm::spd_inverse(&prec.view())
            .with_context(|| format!("component {c}: E[Lambda] is singular"))?;
        out.index_axis_mut(Axis(0), c).assign(&inv);
    }
    Ok(out)
}

/// `bound_trace.svg`: the minibatch estimates of the bound per point (N
/// rows), their running mean and, if given, batch CAVI's converged bound.
fn trace_figure(
    name: &str,
    trace: &[f64],
    n: f64,
    batch: Option<f64>,
) -> anyhow::Result<FigureFile> {
    let mut f = Figure::new(
        format!("{MODEL} on {name}: minibatch estimates of the bound per point"),
        "step",
        "bound per point (estimate)",
    )
    .legend_lower_right()
    .layer(Layer::Line {
        points: trace
            .iter()
            .enumerate()
            .map(|(i, &b)| ((i + 1) as f64, b / n))
            .collect(),
        colour: colour::SKY,
        label: Some("SVI, minibatch estimate".into()),
    })
    .layer(Layer::Line {
        points: running_mean(trace, (trace.len() / 50).max(1))
            .into_iter()
            .enumerate()
            .map(|(i, b)| ((i + 1) as f64, b / n))
            .collect(),
        colour: colour::BLUE,
        label: Some("running mean".into()),
    });
    if let Some(collapsed) = batch {
        f = f.layer(Layer::Line {
            points: vec![(1.0, collapsed), (trace.len().max(2) as f64, collapsed)],
            colour: colour::RED,
            label: Some("batch CAVI, converged".into()),
        });
    }
    // The first steps start far below; show the second half's scale.
    let tail: Vec<f64> = trace[trace.len() / 10..].iter().map(|b| b / n).collect();
    let lo = tail.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = tail
        .iter()
        .copied()
        .chain(batch)
        .fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi.is_finite() && hi > lo {
        let pad = 0.1 * (hi - lo);
        f = f.y_range(lo - pad, hi + pad);
    }
    Ok(FigureFile {
        file: "bound_trace.svg".into(),
        title: "Minibatch estimates of the bound per point, per step".into(),
        svg: f.to_svg()?,
    })
}

impl LocalPlan {
    /// `--stream`: fit the file chunk by chunk with `fit_csv`; the keys of
    /// the in-memory run that need no pass over all rows in memory.
    fn execute_stream(&self, s: &Stream, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let n = s.n_rows as f64;
        progress.set_label(format!("{}: K = {}, streaming", self.label(), self.k));
        let model = self.params.fit_csv(&s.path).context(
            "fitting the mixture by stochastic variational inference on the streamed file",
        )?;
        let svi_seconds = start.elapsed().as_secs_f64();
        let trace = model.elbo_trace();
        ensure!(
            trace.last().is_some_and(|b| b.is_finite()),
            "the bound is not finite after SVI; lower --kappa's step sizes or standardise the file (--stream fits the rows as they are)"
        );
        let weights: Array1<f64> = model.weights()?;
        let n_eff = gmm::effective(&weights);
        let wall = start.elapsed().as_secs_f64();

        // ---- metrics.json.
        let mut m = Metrics::new(&self.run.id);
        m.set("k", self.k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        m.set("n_steps", model.n_steps())?;
        m.set("next_step_size", model.next_step_size())?;
        m.set("svi_seconds", svi_seconds)?;
        m.set("prior", gmm::prior_json(model.prior()?))?;
        m.set("beta_k", model.beta_k()?.to_vec())?;
        m.set("nu_k", model.nu_k()?.to_vec())?;
        m.set("m_k", gmm::rows(&model.m_k()?.view()))?;
        m.set("n_rows", s.n_rows)?;
        m.set("n_train", s.n_rows)?;
        m.set("n_test", 0)?;
        m.set("dim", s.dim())?;
        m.set("columns", &s.names)?;
        m.set("dropped_columns", Vec::<String>::new())?;
        m.set("scaler", serde_json::Value::Null)?;
        let metrics = m.finish(wall, trace);

        // ---- Figures.
        let name = &self.spec;
        let figures = vec![
            trace_figure(name, trace, n, None)?,
            gmm::weights_figure(MODEL, name, &weights)?,
        ];

        // ---- Summary.
        let summary = vec![
            format!(
                "{MODEL} on {name} ({} x {}, streamed, not standardised), seed {}: K = {}, {n_eff} components with E[pi] > 0.01 ({})",
                s.n_rows,
                s.dim(),
                self.run.seed,
                self.k,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "{} steps in {} s; last minibatch estimate of the bound {} per point",
                model.n_steps(),
                fmt_num(svi_seconds),
                fmt_num(trace.last().copied().unwrap_or(f64::NAN) / n)
            ),
        ];
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}

impl Prepared for LocalPlan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let rows = match &self.input {
            Input::Rows(r) => r,
            Input::Stream(s) => return self.execute_stream(s, progress),
        };
        let start = Instant::now();
        let x = rows.train.view();
        let n = rows.n_train() as f64;
        progress.set_label(format!("{}: K = {}", self.label(), self.k));
        let model = self
            .params
            .fit(x)
            .context("fitting the mixture by stochastic variational inference")?;
        let svi_seconds = start.elapsed().as_secs_f64();
        let bound = model.elbo_on(x)?;
        ensure!(
            bound.is_finite(),
            "the bound is not finite after SVI ({bound}); lower --kappa's step sizes or standardise the data"
        );
        let weights: Array1<f64> = model.weights()?;
        let n_eff = gmm::effective(&weights);
        let heldout = match &rows.test {
            Some(t) => Some(model.heldout_loglik_per_point(t.view())?),
            None => None,
        };
        // ---- Batch CAVI on the same rows, if asked.
        let batch = match &self.batch {
            Some(p) => {
                progress.set_label(format!("{}: batch CAVI for comparison", self.label()));
                let t0 = Instant::now();
                let fit = p.fit(x).context("fitting batch CAVI for --compare-batch")?;
                let secs = t0.elapsed().as_secs_f64();
                let collapsed = fit.elbo_on(x)? / n;
                let mut b = json!({
                    "bound_per_point": collapsed,
                    "final_bound_per_point": fit.elbo() / n,
                    "n_iter": fit.n_iter(),
                    "converged": fit.converged(),
                    "seconds": secs,
                    "weights": fit.weights().to_vec(),
                    "effective_components": fit.effective_components(gmm::EFFECTIVE_WEIGHT),
                });
                if let Some(t) = &rows.test {
                    b["heldout_loglik_per_point"] = json!(fit.heldout_loglik_per_point(t.view())?);
                }
                Some((b, collapsed, fit))
            }
            None => None,
        };
        let wall = start.elapsed().as_secs_f64();

        // ---- metrics.json.
        let mut m = Metrics::new(&self.run.id);
        m.set("k", self.k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        if let Some(h) = heldout {
            rows.record_heldout(&mut m, h)?;
        }
        m.set("bound", bound)?;
        m.set("bound_per_point", bound / n)?;
        m.set("n_steps", model.n_steps())?;
        m.set("next_step_size", model.next_step_size())?;
        m.set("svi_seconds", svi_seconds)?;
        m.set("prior", gmm::prior_json(model.prior()?))?;
        m.set("beta_k", model.beta_k()?.to_vec())?;
        m.set("nu_k", model.nu_k()?.to_vec())?;
        m.set("m_k", gmm::rows(&model.m_k()?.view()))?;
        if let Some((b, collapsed, _)) = &batch {
            m.set("batch", b)?;
            m.set(
                "relative_gap_to_batch",
                (collapsed - bound / n) / collapsed.abs(),
            )?;
        }
        rows.record(&mut m)?;
        let metrics = m.finish(wall, model.elbo_trace());

        // ---- Figures.
        let name = &self.spec;
        let mut figures = Vec::new();
        let mut notes = Vec::new();
        let comps = gmm::ellipses(model.m_k()?, &covariances(&model)?, &weights);
        match gmm::fit_figure(MODEL, name, rows, &comps)? {
            Ok(f) => figures.push(f),
            Err(note) => notes.push(note),
        }
        figures.push(trace_figure(
            name,
            model.elbo_trace(),
            n,
            batch.as_ref().map(|b| b.1),
        )?);
        figures.push(gmm::weights_figure(MODEL, name, &weights)?);

        // ---- Summary.
        let mut summary = vec![
            format!(
                "{MODEL} on {name} ({}), seed {}: K = {}, {n_eff} components with E[pi] > 0.01 ({})",
                rows.describe(),
                self.run.seed,
                self.k,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "bound {} ({} per point) after {} steps in {} s",
                fmt_num(bound),
                fmt_num(bound / n),
                model.n_steps(),
                fmt_num(svi_seconds)
            ),
        ];
        if let Some((b, collapsed, fit)) = &batch {
            summary.push(format!(
                "batch CAVI: {} per point after {} iterations in {} s; SVI is {} % below",
                fmt_num(*collapsed),
                fit.n_iter(),
                fmt_num(b["seconds"].as_f64().unwrap_or(f64::NAN)),
                fmt_num(100.0 * (collapsed - bound / n) / collapsed.abs())
            ));
        }
        if let Some(h) = heldout {
            summary.push(format!(
                "held-out log-likelihood per point (Student-t predictive, PRML 10.81): {} ({} test rows)",
                fmt_num(h),
                rows.n_test()
            ));
        }
        summary.extend(notes);
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings: Vec::new(),
            split: rows.split.clone(),
            data_csv: rows.data_csv.clone(),
            extra: Vec::new(),
        })
    }
}

// ------------------------------------------------------- distributed ---

/// One process of a distributed `svi-gmm` run.
#[derive(Debug)]
pub struct DistPlan {
    comm: Comm,
    spec: String,
    shard: Shard,
    k: usize,
    params: SviGmmValidParams,
    run: RunMeta,
}

fn prepare_distributed(args: Args) -> anyhow::Result<DistPlan> {
    let d = &args.data;
    for (given, flag) in [
        (args.stream, "--stream"),
        (args.compare_batch, "--compare-batch"),
        (d.test.is_some(), "--test"),
        (d.test_fraction.is_some_and(|f| f > 0.0), "--test-fraction"),
        (d.drop_constant, "--drop-constant"),
    ] {
        ensure!(
            !given,
            "--distributed cannot be used with {flag} (not supported across processes yet)"
        );
    }
    let c = &d.common;
    let seed = c.seed();
    let spec = gmm::data_spec(d);
    let k = gmm::check_k(d.k.unwrap_or(DEFAULT_K))?;
    let prior = args.prior.resolve()?;
    let Schedule {
        batch_size,
        tau,
        kappa,
        epochs,
    } = schedule(&args, c.quick)?;
    let covariance = d.covariance.unwrap_or(gmm::Covariance::Full);
    let comm = Comm::init()?;
    let shard = distributed::load_shard(
        &comm,
        &spec,
        d.label.as_deref(),
        seed,
        args.dist.chunk_rows,
        k,
        d.no_standardize,
    )?;
    let dim = shard.names.len();
    prior.check_nu0(dim, covariance)?;
    let params = SviGmm::params(k)
        .with_model(prior.params(k, dim, covariance, seed))
        .with_batch_size(batch_size)
        .with_tau(tau)
        .with_kappa(kappa)
        .with_epochs(epochs)
        .check()?;
    let mut config = json!({
        "data": spec,
        "label": d.label,
        "standardize": !d.no_standardize,
        "k": k,
        "covariance": covariance,
        "init_iter": gmm::INIT_ITER,
        "quick": c.quick,
        "batch_size": batch_size,
        "tau": tau,
        "kappa": kappa,
        "epochs": epochs,
        "distributed": true,
        "processes": comm.size(),
        "chunk_rows": shard.chunk_rows,
    });
    if let (Some(o), Some(p)) = (
        config.as_object_mut(),
        prior.config(Some(k), dim).as_object(),
    ) {
        o.extend(p.clone());
    }
    Ok(DistPlan {
        run: distributed::run_meta(&comm, MODEL, &spec, seed, &config, c)?,
        spec,
        shard,
        k,
        params,
        comm,
    })
}

impl DistPlan {
    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let comm = &self.comm;
        match comm.fault() {
            Some(f @ Fault::Exit) => {
                // Exits the process; nothing to return.
                let _ = f.trigger(comm.rank());
            }
            Some(f @ Fault::Error) => {
                comm.agree::<()>(Err(f.trigger(comm.rank())))?;
            }
            None => comm.agree(Ok(()))?,
        }
        progress.set_label(format!(
            "{MODEL} on {}: K = {}, {} processes",
            self.spec,
            self.k,
            comm.size()
        ));
        let model = self
            .params
            .fit_distributed(self.shard.x.view(), &self.shard.layout, comm)
            .context("fitting the mixture by stochastic variational inference")?;
        let svi_seconds = start.elapsed().as_secs_f64();
        let trace = model.elbo_trace();
        ensure!(
            trace.last().is_some_and(|b| b.is_finite()),
            "the bound is not finite after SVI; lower --kappa's step sizes or standardise the data"
        );
        let n = self.shard.layout.n_global() as f64;
        let weights: Array1<f64> = model.weights()?;
        let n_eff = gmm::effective(&weights);
        let wall = start.elapsed().as_secs_f64();
        let mut m = Metrics::new(&self.run.id);
        m.set("k", self.k)?;
        m.set("weights", weights.to_vec())?;
        m.set("effective_components", n_eff)?;
        m.set("n_steps", model.n_steps())?;
        m.set("next_step_size", model.next_step_size())?;
        m.set("svi_seconds", svi_seconds)?;
        m.set("prior", gmm::prior_json(model.prior()?))?;
        m.set("beta_k", model.beta_k()?.to_vec())?;
        m.set("nu_k", model.nu_k()?.to_vec())?;
        m.set("m_k", gmm::rows(&model.m_k()?.view()))?;
        self.shard.record(comm, &mut m)?;
        let metrics = m.finish(wall, trace);
        let name = &self.spec;
        let figures = vec![
            trace_figure(name, trace, n, None)?,
            gmm::weights_figure(MODEL, name, &weights)?,
        ];
        let summary = vec![
            format!(
                "{MODEL} on {name} ({n} x {}, {} processes), seed {}: K = {}, {n_eff} components with E[pi] > 0.01 ({})",
                self.shard.names.len(),
                comm.size(),
                self.run.seed,
                self.k,
                gmm::fmt_weights(&weights)
            ),
            format!(
                "{} steps in {} s; last minibatch estimate of the bound {} per point",
                model.n_steps(),
                fmt_num(svi_seconds),
                fmt_num(trace.last().copied().unwrap_or(f64::NAN) / n)
            ),
        ];
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_means() {
        assert_eq!(
            running_mean(&[1.0, 3.0, 5.0, 7.0], 2),
            vec![1.0, 2.0, 4.0, 6.0]
        );
        assert_eq!(running_mean(&[2.0], 5), vec![2.0]);
    }
}
