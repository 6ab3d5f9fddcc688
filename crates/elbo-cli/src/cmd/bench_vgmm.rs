//! `elbo bench vgmm`: our variational Gaussian mixture beside
//! scikit-learn's `BayesianGaussianMixture`, on the same data, from the same
//! start, for the same number of iterations.
//!
//! The data are seeded blobs (`elbo_classic::mixture::blobs`, as
//! scikit-learn's `make_blobs`: K centres uniform in [−10, 10]^D, sd 1),
//! N training rows and `--n-test` more for the held-out score, written as
//! little-endian f64 files that numpy reads with `fromfile`. Both sides fit
//! K full-covariance components with the same prior (Dirichlet α₀ = 1/K,
//! β₀ = 1, ν₀ = D, m₀ and W₀ as our fit used them, passed explicitly),
//! exactly `--iters` iterations (tol = 0, max_iter = iters, n_init = 1,
//! reg_covar = 0) from the same start: our seeded k-means++ labels, passed
//! as scikit-learn's initial responsibilities (its `_initialize_parameters`
//! is overridden; `BayesianGaussianMixture` has no `means_init`). Our time
//! is the whole `fit` (k-means++ and its Lloyd iterations included);
//! scikit-learn's is its `fit` from the given labels (no k-means): the
//! comparison favours scikit-learn.
//!
//! Scores, both sides the same way: the bound per point on the training
//! rows with every constant (PRML 10.70) at q(Z) optimal for the final
//! global factors (scikit-learn's is computed by the script from its
//! posterior: Σ_n ln Σ_k ρ_nk − KL(q(π,μ,Λ) ‖ p(π,μ,Λ))), and the held-out
//! log-likelihood per point with the Student-t predictive of PRML 10.81
//! (scikit-learn's from its posterior; its own `score()`, ln Σ_k ρ_nk, is
//! reported too). `--scaling` also times our fit at N/16 … N (linear in N).

use std::io::Write;
use std::process::Command as Process;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use elbo_classic::mixture::{Vgmm, VgmmFit, blobs};
use ndarray::{ArrayView2, s};
use serde::Serialize;
use serde_json::{Value, json};

use super::bench::{BenchCommon, probe_sklearn, write_f64};
use super::fmt_num;
use super::gmm::{INIT_ITER, init_labels};
use crate::metrics::{Metrics, config_value};
use crate::output::RunDir;
use crate::plot::{Figure, Layer, colour};

/// Flags of `elbo bench vgmm`.
#[derive(Debug, Clone, clap::Args)]
pub struct VgmmBench {
    /// Training rows [default: 1000000; 2000 with --quick].
    #[arg(long, value_name = "N")]
    pub n: Option<usize>,
    /// Dimensions [default: 2].
    #[arg(long, value_name = "D")]
    pub d: Option<usize>,
    /// Components, and blobs in the data [default: 10].
    #[arg(long, value_name = "K")]
    pub k: Option<usize>,
    /// CAVI iterations, exactly (tol = 0) [default: 100; 20 with --quick].
    #[arg(long, value_name = "N")]
    pub iters: Option<usize>,
    /// Held-out rows [default: N/10, at most 100000].
    #[arg(long, value_name = "N")]
    pub n_test: Option<usize>,
    /// Also time our fit at N/16, N/8, N/4, N/2 and N (scaling.svg).
    #[arg(long)]
    pub scaling: bool,
    /// Seed, output directory, --quick, --force, --python.
    #[command(flatten)]
    pub common: BenchCommon,
}

/// The resolved configuration (`metrics.json` `config`).
#[derive(Debug, Clone, Serialize)]
struct Config {
    n: usize,
    d: usize,
    k: usize,
    iters: usize,
    n_test: usize,
    blob_sd: f64,
    alpha0: f64,
    beta0: f64,
    nu0: f64,
    init_iter: usize,
    scaling: bool,
    ours: &'static str,
    peer: &'static str,
    quick: bool,
}

/// The scikit-learn side: read the data and our start, fit, score, print
/// one JSON line.
const SKLEARN_SCRIPT: &str = r#"
import json, sys, time, warnings
import numpy as np
import sklearn
from scipy.special import digamma, gammaln, logsumexp, multigammaln
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

n, d, k, iters, nt = map(int, sys.argv[1:6])
X = np.fromfile(sys.argv[6], "<f8").reshape(n, d)
T = np.fromfile(sys.argv[7], "<f8").reshape(nt, d)
labels = np.fromfile(sys.argv[8], "<f8").astype(np.int64)
m0 = np.fromfile(sys.argv[9], "<f8")
W0 = np.fromfile(sys.argv[10], "<f8").reshape(d, d)
alpha0, beta0, nu0 = map(float, sys.argv[11:14])


class FromLabels(BayesianGaussianMixture):
    """Started from elbo's k-means labels (scikit-learn's first M-step on them)."""

    def _initialize_parameters(self, X, random_state, xp=None):
        resp = np.zeros((X.shape[0], self.n_components))
        resp[np.arange(X.shape[0]), labels] = 1.0
        self._initialize(X, resp)


est = FromLabels(
    n_components=k, covariance_type="full", tol=0.0, max_iter=iters, n_init=1, reg_covar=0.0,
    weight_concentration_prior_type="dirichlet_distribution", weight_concentration_prior=alpha0,
    mean_precision_prior=beta0, mean_prior=m0, degrees_of_freedom_prior=nu0,
    covariance_prior=np.linalg.inv(W0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - t0

alpha, beta, m, nu = est.weight_concentration_, est.mean_precision_, est.means_, est.degrees_of_freedom_
# scikit-learn stores covariances_ = W_k^-1 / nu_k.
W = [np.linalg.inv(est.covariances_[j] * nu[j]) for j in range(k)]


def ln_b(w, v):  # PRML (B.79): ln B(W, nu)
    return -0.5 * v * np.linalg.slogdet(w)[1] - 0.5 * v * d * np.log(2) - multigammaln(0.5 * v, d)


def e_ln_det(w, v):  # PRML (10.65)
    return sum(digamma(0.5 * (v + 1 - i)) for i in range(1, d + 1)) + d * np.log(2) + np.linalg.slogdet(w)[1]


# KL(q(pi, mu, Lambda) || p(pi, mu, Lambda)), every constant kept.
kl = (gammaln(alpha.sum()) - gammaln(alpha).sum() - gammaln(k * alpha0) + k * gammaln(alpha0)
      + ((alpha - alpha0) * (digamma(alpha) - digamma(alpha.sum()))).sum())
w0_inv = np.linalg.inv(W0)
for j in range(k):
    dm = m[j] - m0
    kl += 0.5 * (d * beta0 / beta[j] - d + d * np.log(beta[j] / beta0) + beta0 * nu[j] * dm @ W[j] @ dm)
    kl += (ln_b(W[j], nu[j]) - ln_b(W0, nu0) + 0.5 * (nu[j] - nu0) * e_ln_det(W[j], nu[j])
           - 0.5 * nu[j] * d + 0.5 * nu[j] * np.trace(w0_inv @ W[j]))
ll = logsumexp(est._estimate_weighted_log_prob(X), axis=1).sum()


def student_t(Y):  # PRML (10.81)-(10.82)
    out = np.empty((len(Y), k))
    for j in range(k):
        dof = nu[j] + 1 - d
        L = dof * beta[j] / (1 + beta[j]) * W[j]
        c = np.linalg.cholesky(L)
        maha = np.sum(((Y - m[j]) @ c) ** 2, axis=1)
        out[:, j] = (gammaln((dof + d) / 2) - gammaln(dof / 2) - d / 2 * np.log(dof * np.pi)
                     + np.sum(np.log(np.diag(c))) - (dof + d) / 2 * np.log1p(maha / dof))
    return logsumexp(out + np.log(alpha / alpha.sum()), axis=1)


print(json.dumps({
    "seconds": seconds, "version": sklearn.__version__, "numpy": np.__version__,
    "n_iter": int(est.n_iter_), "bound_per_point": float((ll - kl) / n),
    "sklearn_lower_bound": float(est.lower_bound_),
    "heldout_loglik_per_point": float(student_t(T).mean()),
    "heldout_score": float(est.score(T)), "weights": est.weights_.tolist(),
}))
"#;

/// Run `elbo bench vgmm`.
pub fn run(b: VgmmBench) -> anyhow::Result<()> {
    let n = b.n.unwrap_or(if b.common.quick { 2000 } else { 1_000_000 });
    let d = b.d.unwrap_or(2);
    let k = b.k.unwrap_or(10);
    let iters = b.iters.unwrap_or(if b.common.quick { 20 } else { 100 });
    let n_test = b.n_test.unwrap_or((n / 10).clamp(1, 100_000));
    ensure!(k >= 1, "--k must be at least 1, got {k}");
    ensure!(
        n >= k.max(2),
        "--n must be at least max(K, 2) = {}, got {n}",
        k.max(2)
    );
    ensure!(d >= 1, "--d must be at least 1, got {d}");
    ensure!(iters >= 1, "--iters must be at least 1, got {iters}");
    ensure!(n_test >= 1, "--n-test must be at least 1, got {n_test}");
    ensure!(
        (n + n_test).saturating_mul(d) <= 200_000_000,
        "(--n + --n-test) x --d = {} values is too large (at most 2e8)",
        (n + n_test).saturating_mul(d)
    );
    let config = Config {
        n,
        d,
        k,
        iters,
        n_test,
        blob_sd: crate::dataset::BLOB_SD,
        alpha0: 1.0 / k as f64,
        beta0: 1.0,
        nu0: d as f64,
        init_iter: INIT_ITER,
        scaling: b.scaling,
        ours: "elbo vgmm: full covariances, Dirichlet prior, tol 0, k-means++ start timed",
        peer: "scikit-learn BayesianGaussianMixture, same prior, tol 0, reg_covar 0, started from our k-means labels",
        quick: b.common.quick,
    };
    let dataset = format!("blobs:{n},{d},{k}");
    let (id, out) = b
        .common
        .target("bench-vgmm", &dataset, &config_value(&config)?)?;
    let start = Instant::now();

    // ---- Data: the first N rows train, the rest test.
    let (all, _) = blobs(n + n_test, d, k, crate::dataset::BLOB_SD, b.common.seed);
    let x = all.slice(s![..n, ..]);
    let t = all.slice(s![n.., ..]);

    // ---- Ours.
    let params = Vgmm::params(k)
        .with_tol(0.0)
        .with_max_iter(iters)
        .with_n_init(1)
        .with_init_iter(INIT_ITER)
        .with_seed(b.common.seed)
        .check()?;
    let t0 = Instant::now();
    let fit = params.fit(x).context("fitting our variational mixture")?;
    let ours_seconds = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let labels = init_labels(x, k, b.common.seed, 0)?;
    let init_seconds = t0.elapsed().as_secs_f64();
    let ours_bound = fit.elbo_on(x)? / n as f64;
    let ours_heldout = fit.heldout_loglik_per_point(t)?;
    let scaling = if b.scaling {
        scaling_run(&params, x)?
    } else {
        Vec::new()
    };

    // ---- scikit-learn, if present.
    let peer = sklearn(&b.common.python, x, t, &labels, &fit, &config);
    let wall = start.elapsed().as_secs_f64();

    let mut m = Metrics::new(&id);
    m.set("ours_seconds", ours_seconds)?;
    m.set("ours_init_seconds", init_seconds)?;
    m.set("ours_n_iter", fit.n_iter())?;
    m.set("ours_bound_per_point", ours_bound)?;
    m.set("ours_final_bound_per_point", fit.elbo() / n as f64)?;
    m.set("ours_heldout_loglik_per_point", ours_heldout)?;
    m.set("ours_weights", fit.weights().to_vec())?;
    m.set(
        "threads",
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1),
    )?;
    if !scaling.is_empty() {
        m.set(
            "scaling",
            scaling
                .iter()
                .map(|(n, s)| json!({"n": n, "seconds": s}))
                .collect::<Vec<_>>(),
        )?;
    }
    let mut lines = vec![format!(
        "bench vgmm: N = {n}, D = {d}, K = {k}, {iters} iterations, {n_test} held-out rows"
    )];
    lines.push(format!(
        "  elbo vgmm                       {:>9} s  (k-means++ start {} s); bound/pt {}, held-out/pt {}",
        fmt_num(ours_seconds),
        fmt_num(init_seconds),
        fmt_num(ours_bound),
        fmt_num(ours_heldout)
    ));
    match &peer {
        Ok(info) => {
            let f = |k: &str| info.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            let secs = f("seconds");
            m.set("sklearn_seconds", secs)?;
            m.set("ratio", secs / ours_seconds)?;
            m.set("sklearn_bound_per_point", f("bound_per_point"))?;
            m.set(
                "sklearn_heldout_loglik_per_point",
                f("heldout_loglik_per_point"),
            )?;
            m.set("bound_per_point_diff", ours_bound - f("bound_per_point"))?;
            m.set(
                "heldout_loglik_per_point_diff",
                ours_heldout - f("heldout_loglik_per_point"),
            )?;
            m.set("sklearn", info)?;
            lines.push(format!(
                "  sklearn BayesianGaussianMixture {:>9} s  (scikit-learn {}, our start); bound/pt {}, held-out/pt {} (its score(): {})",
                fmt_num(secs),
                info.get("version").and_then(Value::as_str).unwrap_or("?"),
                fmt_num(f("bound_per_point")),
                fmt_num(f("heldout_loglik_per_point")),
                fmt_num(f("heldout_score"))
            ));
            lines.push(format!(
                "  ratio sklearn/ours {}; ours minus sklearn: bound/pt {:e}, held-out/pt {:e}",
                fmt_num(secs / ours_seconds),
                ours_bound - f("bound_per_point"),
                ours_heldout - f("heldout_loglik_per_point")
            ));
        }
        Err(why) => {
            for key in ["sklearn_seconds", "ratio", "sklearn"] {
                m.set(key, Value::Null)?;
            }
            m.set("sklearn_missing", format!("{why:#}"))?;
            lines.push(format!("  scikit-learn not run ({why:#}); ours only"));
        }
    }
    for (sn, secs) in &scaling {
        lines.push(format!(
            "  scaling: N = {sn:>9}: {:>9} s ({} us per point)",
            fmt_num(*secs),
            fmt_num(1e6 * secs / *sn as f64)
        ));
    }
    let metrics = m.finish(wall, fit.elbo_trace());
    let dir = RunDir::create(&out, id, b.common.force)?;
    if !scaling.is_empty() {
        dir.write("scaling.svg", scaling_figure(&scaling, d, k, iters)?)?;
    }
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

/// Our fit on the first N/16, N/8, N/4, N/2 and N rows: (rows, seconds).
fn scaling_run(
    params: &elbo_classic::mixture::VgmmValidParams,
    x: ArrayView2<f64>,
) -> anyhow::Result<Vec<(usize, f64)>> {
    let n = x.nrows();
    let mut out = Vec::new();
    for div in [16, 8, 4, 2, 1] {
        let m = n / div;
        if m < params.k().max(2) {
            continue;
        }
        let t0 = Instant::now();
        params.fit(x.slice(s![..m, ..]))?;
        out.push((m, t0.elapsed().as_secs_f64()));
    }
    Ok(out)
}

/// `scaling.svg`: seconds against N, with the line through the origin and
/// the largest point.
fn scaling_figure(
    points: &[(usize, f64)],
    d: usize,
    k: usize,
    iters: usize,
) -> anyhow::Result<String> {
    let pts: Vec<(f64, f64)> = points.iter().map(|&(n, s)| (n as f64, s)).collect();
    let last = pts.last().copied().unwrap_or((1.0, 0.0));
    Figure::new(
        format!("elbo vgmm fit time against N (D = {d}, K = {k}, {iters} iterations)"),
        "N (training rows)",
        "seconds",
    )
    .layer(Layer::Line {
        points: vec![(0.0, 0.0), last],
        colour: colour::GREY,
        label: Some("linear in N".into()),
    })
    .layer(Layer::Points {
        points: pts,
        colour: colour::BLUE,
        label: Some("measured".into()),
    })
    .to_svg()
}

/// Run scikit-learn on the same data from our start; its JSON line, or why
/// it could not run.
fn sklearn(
    python: &str,
    x: ArrayView2<f64>,
    t: ArrayView2<f64>,
    labels: &[usize],
    fit: &VgmmFit,
    c: &Config,
) -> anyhow::Result<Value> {
    probe_sklearn(python)?;
    let tmp = tempfile::tempdir().context("creating a temporary directory for the data")?;
    let p = |name: &str| tmp.path().join(name);
    write_f64(&p("x.f64"), x.iter().copied())?;
    write_f64(&p("t.f64"), t.iter().copied())?;
    write_f64(&p("labels.f64"), labels.iter().map(|&l| l as f64))?;
    let prior = fit.prior();
    write_f64(&p("m0.f64"), prior.m0().iter().copied())?;
    write_f64(&p("w0.f64"), prior.w0().iter().copied())?;
    let out = Process::new(python)
        .arg("-c")
        .arg(SKLEARN_SCRIPT)
        .args([c.n, c.d, c.k, c.iters, c.n_test].map(|v| v.to_string()))
        .args(["x.f64", "t.f64", "labels.f64", "m0.f64", "w0.f64"].map(p))
        .args([c.alpha0, c.beta0, c.nu0].map(|v| format!("{v:e}")))
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
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .context("reading the scikit-learn script's output")
}
