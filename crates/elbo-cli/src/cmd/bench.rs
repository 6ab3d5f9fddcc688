//! `elbo bench vblr`: our variational linear regression beside
//! scikit-learn's `BayesianRidge` on the same seeded data. `elbo bench
//! vgmm`: our variational Gaussian mixture beside scikit-learn's
//! `BayesianGaussianMixture` (see [`vgmm`]).
//!
//! The data (X ~ N(0, 1) of N × D, w ~ N(0, 1), t = Xw + ε, ε ~ N(0, 1))
//! are written once as little-endian f64 files that numpy reads with
//! `fromfile`, so both fit exactly the same numbers. Both fit an
//! unpenalised intercept by centring (scikit-learn's `fit_intercept=True`;
//! ours centres before the fit, and the centring is timed). Each time is
//! the best of `--repeats`; the prediction difference is max |ŷ_ours −
//! ŷ_sklearn| over the training rows. Without python3 + scikit-learn only
//! our time is reported.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::Subcommand;
use elbo_classic::vblr::{SuffStats, Vblr};
use ndarray::{Array1, Array2};
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;
use serde_json::Value;

use super::bench_vgmm::{self, VgmmBench};
use super::fmt_num;
use crate::metrics::{Metrics, config_value};
use crate::output::{RunDir, RunId, check_target};

/// Flags of `elbo bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Variational linear regression vs scikit-learn's BayesianRidge.
    Vblr(VblrBench),
    /// Variational Gaussian mixture vs scikit-learn's
    /// BayesianGaussianMixture: same data, same start, same iterations.
    Vgmm(VgmmBench),
}

/// Flags of `elbo bench vblr`.
#[derive(Debug, Clone, clap::Args)]
pub struct VblrBench {
    /// Rows [default: 200000; 2000 with --quick].
    #[arg(long, value_name = "N")]
    pub n: Option<usize>,
    /// Columns [default: 100; 10 with --quick].
    #[arg(long, value_name = "D")]
    pub d: Option<usize>,
    /// Timed repetitions; the best is reported [default: 3; 1 with --quick].
    #[arg(long, value_name = "R")]
    pub repeats: Option<usize>,
    /// What every benchmark takes.
    #[command(flatten)]
    pub common: BenchCommon,
}

/// The flags every `elbo bench` command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchCommon {
    /// Seed of the data (and of the initialisation).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Output directory [default: out/bench-<model>-<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Small sizes (a smoke test).
    #[arg(long)]
    pub quick: bool,
    /// Replace DIR even if it holds a different run.
    #[arg(long)]
    pub force: bool,
    /// The Python interpreter to use.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: String,
}

impl BenchCommon {
    /// The run's identity and output directory (`--out`, or
    /// `out/<model>-<seed>`), refused when DIR holds a different run and
    /// `--force` was not given.
    pub fn target(
        &self,
        model: &str,
        dataset: &str,
        config: &Value,
    ) -> anyhow::Result<(RunId, PathBuf)> {
        let id = RunId::new(model, dataset, self.seed, config);
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("out").join(format!("{model}-{}", self.seed)));
        check_target(&out, &id, self.force)?;
        Ok((id, out))
    }
}

/// The resolved benchmark configuration (`metrics.json` `config`).
#[derive(Debug, Clone, Serialize)]
struct Config {
    n: usize,
    d: usize,
    repeats: usize,
    noise_sd: f64,
    ours: &'static str,
    peer: &'static str,
    quick: bool,
}

/// Run `elbo bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Vblr(b) => vblr(b),
        BenchCommand::Vgmm(b) => bench_vgmm::run(b),
    }
}

/// The Python side: read the same data, time `BayesianRidge().fit` (best of
/// R), write its predictions, print one JSON line.
const SKLEARN_SCRIPT: &str = r#"
import json, sys, time
import numpy as np
import sklearn
from sklearn.linear_model import BayesianRidge
n, d, r = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X = np.fromfile(sys.argv[4], dtype="<f8").reshape(n, d)
y = np.fromfile(sys.argv[5], dtype="<f8")
best = float("inf")
for _ in range(r):
    m = BayesianRidge()
    t0 = time.perf_counter()
    m.fit(X, y)
    best = min(best, time.perf_counter() - t0)
m.predict(X).astype("<f8").tofile(sys.argv[6])
print(json.dumps({"seconds": best, "version": sklearn.__version__, "numpy": np.__version__,
                  "n_iter": int(m.n_iter_), "alpha": float(m.lambda_), "beta": float(m.alpha_)}))
"#;

fn vblr(b: VblrBench) -> anyhow::Result<()> {
    let n = b.n.unwrap_or(if b.common.quick { 2000 } else { 200_000 });
    let d = b.d.unwrap_or(if b.common.quick { 10 } else { 100 });
    let repeats = b.repeats.unwrap_or(if b.common.quick { 1 } else { 3 });
    ensure!(n >= 2, "--n must be at least 2, got {n}");
    ensure!(d >= 1, "--d must be at least 1, got {d}");
    ensure!(repeats >= 1, "--repeats must be at least 1, got {repeats}");
    ensure!(
        n.saturating_mul(d) <= 200_000_000,
        "--n x --d = {} values is too large (at most 2e8)",
        n.saturating_mul(d)
    );
    let config = Config {
        n,
        d,
        repeats,
        noise_sd: 1.0,
        ours: "elbo vblr: Gamma noise prior, a0 = b0 = c0 = d0 = 1e-6, tol 1e-8, centred X and t",
        peer: "scikit-learn BayesianRidge() defaults",
        quick: b.common.quick,
    };
    let dataset = format!("gaussian:{n},{d}");
    let (id, out) = b
        .common
        .target("bench-vblr", &dataset, &config_value(&config)?)?;

    // ---- Data.
    let mut rng = elbo_core::rng::seeded(b.common.seed);
    let x = Array2::from_shape_simple_fn((n, d), || StandardNormal.sample(&mut rng));
    let w: Array1<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
    let noise: Array1<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let t = x.dot(&w) + &noise;

    // ---- Ours: best of R, centring included.
    let start = Instant::now();
    let params = Vblr::params().check()?;
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..repeats {
        let t0 = Instant::now();
        // Centring through the sufficient statistics (ΦᵀΦ − N φ̄φ̄ᵀ, …):
        // one pass over the data, no centred copy of X.
        let (stats, x_mean, t_mean) = SuffStats::from_data(x.view(), t.view())?.centred();
        let fit = params.fit_stats(&stats)?;
        best = best.min(t0.elapsed().as_secs_f64());
        result = Some((fit, x_mean, t_mean));
    }
    let (fit, x_mean, t_mean) = result.context("no repetition ran")?;
    let ours_pred = fit.predict_mean((&x - &x_mean).view())? + t_mean;

    // ---- scikit-learn, if present.
    let peer = sklearn(&b.common.python, &x, &t, repeats);
    let wall = start.elapsed().as_secs_f64();

    let mut m = Metrics::new(&id);
    m.set("ours_seconds", best)?;
    m.set("ours_n_iter", fit.n_iter())?;
    m.set("ours_converged", fit.converged())?;
    m.set("log_evidence", fit.log_evidence())?;
    m.set("alpha_mean", fit.alpha_mean().first().copied())?;
    m.set("beta_mean", fit.beta_mean())?;
    m.set(
        "threads",
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1),
    )?;
    let mut lines = vec![format!("bench vblr: N = {n}, D = {d}, best of {repeats}")];
    lines.push(format!(
        "  elbo vblr            {:>10} s  ({} iterations)",
        fmt_num(best),
        fit.n_iter()
    ));
    match &peer {
        Ok((info, pred)) => {
            let secs = info
                .get("seconds")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN);
            let diff = ours_pred
                .iter()
                .zip(pred)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            m.set("sklearn_seconds", secs)?;
            m.set("ratio", secs / best)?;
            m.set("max_abs_pred_diff", diff)?;
            m.set("sklearn", info)?;
            lines.push(format!(
                "  sklearn BayesianRidge {:>10} s  (scikit-learn {})",
                fmt_num(secs),
                info.get("version").and_then(Value::as_str).unwrap_or("?")
            ));
            lines.push(format!(
                "  ratio sklearn/ours {}, max |prediction difference| {}",
                fmt_num(secs / best),
                fmt_num(diff)
            ));
        }
        Err(why) => {
            m.set("sklearn_seconds", Value::Null)?;
            m.set("ratio", Value::Null)?;
            m.set("max_abs_pred_diff", Value::Null)?;
            m.set("sklearn", Value::Null)?;
            m.set("sklearn_missing", format!("{why:#}"))?;
            lines.push(format!("  scikit-learn not run ({why:#}); ours only"));
        }
    }
    let metrics = m.finish(wall, fit.elbo_trace());
    let dir = RunDir::create(&out, id, b.common.force)?;
    dir.write_json("metrics.json", &metrics)?;
    let path = dir.commit()?;
    let mut stdout = std::io::stdout().lock();
    for l in lines {
        writeln!(stdout, "{l}").context("writing to stdout")?;
    }
    writeln!(stdout, "wrote {}", path.join("metrics.json").display())
        .context("writing to stdout")?;
    Ok(())
}

/// Whether `python` imports scikit-learn and numpy; why not otherwise.
pub(crate) fn probe_sklearn(python: &str) -> anyhow::Result<()> {
    match Process::new(python)
        .args(["-c", "import sklearn, numpy"])
        .output()
    {
        Err(e) => bail!("{python} not found: {e}"),
        Ok(o) if !o.status.success() => bail!(
            "`{python} -c \"import sklearn, numpy\"` failed: scikit-learn or numpy is not installed"
        ),
        Ok(_) => Ok(()),
    }
}

/// Run scikit-learn on the same data; its JSON line and predictions, or why
/// it could not run.
fn sklearn(
    python: &str,
    x: &Array2<f64>,
    t: &Array1<f64>,
    repeats: usize,
) -> anyhow::Result<(Value, Vec<f64>)> {
    probe_sklearn(python)?;
    let tmp = tempfile::tempdir().context("creating a temporary directory for the data")?;
    let (xp, tp, pp) = (
        tmp.path().join("x.f64"),
        tmp.path().join("t.f64"),
        tmp.path().join("pred.f64"),
    );
    write_f64(&xp, x.as_standard_layout().iter().copied())?;
    write_f64(&tp, t.iter().copied())?;
    let out = Process::new(python)
        .arg("-c")
        .arg(SKLEARN_SCRIPT)
        .args([
            x.nrows().to_string(),
            x.ncols().to_string(),
            repeats.to_string(),
        ])
        .args([&xp, &tp, &pp])
        .output()
        .with_context(|| format!("running {python}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "the scikit-learn script failed: {}",
            err.lines().last().unwrap_or("no message")
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let info: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .context("reading the scikit-learn script's output")?;
    let bytes = std::fs::read(&pp).context("reading scikit-learn's predictions")?;
    // chunks_exact(8) yields 8-byte slices, so the conversion cannot fail.
    let pred: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    ensure!(
        pred.len() == x.nrows(),
        "scikit-learn returned {} predictions for {} rows",
        pred.len(),
        x.nrows()
    );
    Ok((info, pred))
}

/// Write values as little-endian f64.
pub(crate) fn write_f64(path: &Path, values: impl Iterator<Item = f64>) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}
