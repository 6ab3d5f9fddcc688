//! What the three mixture commands (`vgmm`, `em-gmm`, `svi-gmm`) share: the
//! data flags, the rows they fit and score (a seeded hold-out or a `--test`
//! file), the preprocessing, the prior flags, and the figures (data with
//! component ellipses, weights).
//!
//! Preprocessing, decided on the training rows only and applied to the test
//! rows: a `--label` column is left out; a column that is constant on the
//! training rows is an error naming it, or is dropped with
//! `--drop-constant`; the columns are standardised (zero mean, unit
//! population variance, as PRML Fig 10.6 and scikit-learn's
//! `StandardScaler`) unless `--no-standardize`. Densities and bounds are in
//! the fitted (standardised) units; `metrics.json` also gives the held-out
//! log-likelihood in the data's own units (the log-Jacobian −Σ_j ln s_j
//! added).

use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use clap::ValueEnum;
use elbo_classic::mixture::{CovarianceType, Prior, VgmmParams};
use elbo_core::data::{Standardizer, shuffled_indices};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use serde::Serialize;
use serde_json::{Value, json};

use super::{FigureFile, check_range, fmt_num};
use crate::cli::CommonArgs;
use crate::dataset;
use crate::plot::{self, Figure, Layer, colour};
use crate::split::Split;

/// Data set used when `--data` is not given (PRML Fig 10.6).
pub const DEFAULT_DATA: &str = "faithful";
/// A component "keeps weight" when E[π_k] exceeds this (PRML Fig 10.6).
pub const EFFECTIVE_WEIGHT: f64 = 0.01;
/// Lloyd iterations after k-means++ seeding (every mixture command).
pub const INIT_ITER: usize = 10;
/// Points drawn in a scatter plot at most (a deterministic stride beyond).
const MAX_PLOTTED: usize = 2000;
/// Components named in a legend at most.
const MAX_LEGEND: usize = 6;
/// Vertices of an ellipse.
const ELLIPSE_POINTS: usize = 72;

/// `--covariance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Covariance {
    /// A full D × D covariance (precision) per component.
    Full,
    /// A diagonal covariance per component.
    Diag,
}

impl From<Covariance> for CovarianceType {
    fn from(c: Covariance) -> Self {
        match c {
            Covariance::Full => CovarianceType::Full,
            Covariance::Diag => CovarianceType::Diag,
        }
    }
}

/// `--prior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorKind {
    /// A symmetric Dirichlet Dir(π | α₀) on the weights (PRML 10.39).
    Dirichlet,
    /// A truncated stick-breaking Dirichlet process (Blei & Jordan 2006).
    Dp,
}

/// The data flags every mixture command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Number of components K ≥ 1 (at most the number of training points)
    /// [default: 6 for vgmm and svi-gmm, 2 for em-gmm].
    #[arg(long, value_name = "K")]
    pub k: Option<usize>,
    /// Covariance of each component [default: full].
    #[arg(long, value_enum)]
    pub covariance: Option<Covariance>,
    /// A column to leave out of the fit, e.g. a class label (name, 0-based
    /// index, or -1 for the last); built-in data sets leave theirs out.
    #[arg(long, value_name = "COL", allow_hyphen_values = true)]
    pub label: Option<String>,
    /// Score the held-out log-likelihood per point on this CSV file (the
    /// same columns as the training data).
    #[arg(long, value_name = "PATH", conflicts_with = "test_fraction")]
    pub test: Option<PathBuf>,
    /// Hold out this fraction of the rows (seeded) and score them
    /// [default: 0].
    #[arg(long, value_name = "F")]
    pub test_fraction: Option<f64>,
    /// Drop the columns that are constant on the training rows (otherwise
    /// such a column is an error).
    #[arg(long)]
    pub drop_constant: bool,
    /// Fit the data in their own units instead of standardising each column.
    #[arg(long)]
    pub no_standardize: bool,
}

/// The prior flags of the Bayesian commands (`vgmm`, `svi-gmm`).
#[derive(Debug, Clone, clap::Args)]
pub struct PriorArgs {
    /// The prior on the mixing weights: a Dirichlet (PRML 10.39) or a
    /// truncated stick-breaking Dirichlet process [default: dirichlet, or dp
    /// when --gamma is given].
    #[arg(long, value_enum)]
    pub prior: Option<PriorKind>,
    /// Concentration α₀ > 0 of the Dirichlet prior (PRML 10.39); small values
    /// (1e-3, PRML Fig 10.6) empty the components the data do not need
    /// [default: 1/K, as scikit-learn; 1 with --k-sweep].
    #[arg(long, value_name = "A")]
    pub alpha0: Option<f64>,
    /// Concentration γ > 0 of the Dirichlet process (implies --prior dp)
    /// [default: 1].
    #[arg(long, value_name = "G")]
    pub gamma: Option<f64>,
    /// Precision scale β₀ > 0 of the prior on the means (PRML 10.40)
    /// [default: 1].
    #[arg(long, value_name = "B")]
    pub beta0: Option<f64>,
    /// Degrees of freedom ν₀ of the Wishart prior, > D − 1 (PRML 10.40)
    /// [default: D]. m₀ is the mean of the training rows and W₀⁻¹ their
    /// covariance, as scikit-learn.
    #[arg(long, value_name = "NU")]
    pub nu0: Option<f64>,
}

/// The iteration flags of the batch commands (`vgmm`, `em-gmm`).
#[derive(Debug, Clone, clap::Args)]
pub struct FitArgs {
    /// Relative change of the bound (EM: the log-likelihood) that counts as
    /// converged; 0 runs exactly --max-iter iterations [default: 1e-8].
    #[arg(long, value_name = "T")]
    pub tol: Option<f64>,
    /// Iteration budget per restart [default: 500; 100 with --quick].
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,
    /// Restarts from different k-means++ seeds, keeping the best
    /// [default: 1; 10 per K with --k-sweep].
    #[arg(long, value_name = "N")]
    pub n_init: Option<usize>,
}

/// Default tolerance, budget and budget under `--quick`.
pub const DEFAULT_TOL: f64 = 1e-8;
/// Default iteration budget.
pub const DEFAULT_MAX_ITER: usize = 500;
/// Iteration budget under `--quick`.
pub const QUICK_MAX_ITER: usize = 100;

/// The resolved iteration flags.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FitChoice {
    /// Relative tolerance.
    pub tol: f64,
    /// Budget per restart.
    pub max_iter: usize,
    /// Restarts.
    pub n_init: usize,
}

impl FitChoice {
    /// Record the choice in a run's `config` (`tol`, `max_iter`, `n_init`).
    pub fn record(&self, config: &mut serde_json::Map<String, serde_json::Value>) {
        config.insert("tol".into(), serde_json::json!(self.tol));
        config.insert("max_iter".into(), serde_json::json!(self.max_iter));
        config.insert("n_init".into(), serde_json::json!(self.n_init));
    }
}

impl FitArgs {
    /// Check and fill in the defaults (`n_init_default` is the command's).
    pub fn resolve(&self, quick: bool, n_init_default: usize) -> anyhow::Result<FitChoice> {
        let tol = self.tol.unwrap_or(DEFAULT_TOL);
        check_range("tol", tol, |v| v >= 0.0, "finite and >= 0")?;
        let max_iter = self.max_iter.unwrap_or(if quick {
            QUICK_MAX_ITER
        } else {
            DEFAULT_MAX_ITER
        });
        ensure!(
            max_iter >= 1,
            "--max-iter must be at least 1, got {max_iter}"
        );
        let n_init = self.n_init.unwrap_or(n_init_default);
        ensure!(n_init >= 1, "--n-init must be at least 1, got {n_init}");
        Ok(FitChoice {
            tol,
            max_iter,
            n_init,
        })
    }
}

/// ln K!, the correction for the K! equivalent labellings (PRML §10.2.4).
pub fn ln_factorial(k: usize) -> f64 {
    (1..=k).map(|i| (i as f64).ln()).sum()
}

/// The k-means labels that start restart `restart` of a mixture fit seeded
/// with `seed`: the library seeds restart r with `seed + r` and runs
/// k-means++ then [`INIT_ITER`] Lloyd iterations (`VgmmState::new`,
/// `EmGmm`). Written as `init.json` so that a peer can start from the same
/// point.
pub fn init_labels(
    x: ArrayView2<f64>,
    k: usize,
    seed: u64,
    restart: u64,
) -> anyhow::Result<Vec<usize>> {
    let mut rng = elbo_core::rng::seeded(seed.wrapping_add(restart));
    let km = elbo_classic::kmeans::kmeans(x, k, INIT_ITER, &mut rng)?;
    Ok(km.labels.to_vec())
}

/// `init.json`: the initial labels and where they come from.
pub fn init_json(labels: &[usize], seed: u64, restart: u64) -> String {
    let mut s = format!(
        "{{\n  \"restart\": {restart},\n  \"seed\": {},\n  \"init_iter\": {INIT_ITER},\n  \"labels\": ",
        seed.wrapping_add(restart)
    );
    s.push_str(&Value::from(labels.to_vec()).to_string());
    s.push_str("\n}\n");
    s
}

/// Default DP concentration γ.
const DEFAULT_GAMMA: f64 = 1.0;

/// The resolved prior flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorChoice {
    /// Dirichlet or DP.
    pub kind: PriorKind,
    /// α₀ when given (`None`: 1/K).
    pub alpha0: Option<f64>,
    /// γ (DP).
    pub gamma: f64,
    /// β₀.
    pub beta0: f64,
    /// ν₀ when given (`None`: D).
    pub nu0: Option<f64>,
}

impl PriorArgs {
    /// Check the flags that do not need the data.
    pub fn resolve(&self) -> anyhow::Result<PriorChoice> {
        let kind = match (self.prior, self.alpha0, self.gamma) {
            (Some(PriorKind::Dirichlet), _, Some(_)) => bail!(
                "--gamma is the Dirichlet process's concentration; it cannot be used with --prior dirichlet (give --alpha0)"
            ),
            (Some(PriorKind::Dp), Some(_), _) | (None, Some(_), Some(_)) => bail!(
                "--alpha0 is the Dirichlet prior's concentration; with the Dirichlet process (--prior dp) give --gamma"
            ),
            (Some(k), _, _) => k,
            (None, _, Some(_)) => PriorKind::Dp,
            (None, _, None) => PriorKind::Dirichlet,
        };
        if let Some(a) = self.alpha0 {
            check_range("alpha0", a, |v| v > 0.0, "finite and greater than 0")?;
        }
        let gamma = self.gamma.unwrap_or(DEFAULT_GAMMA);
        check_range("gamma", gamma, |v| v > 0.0, "finite and greater than 0")?;
        let beta0 = self.beta0.unwrap_or(1.0);
        check_range("beta0", beta0, |v| v > 0.0, "finite and greater than 0")?;
        if let Some(nu) = self.nu0 {
            check_range("nu0", nu, |v| v > 0.0, "finite and greater than D - 1")?;
        }
        Ok(PriorChoice {
            kind,
            alpha0: self.alpha0,
            gamma,
            beta0,
            nu0: self.nu0,
        })
    }
}

impl PriorChoice {
    /// The library's prior on the weights for K components.
    pub fn weights(&self, k: usize) -> Prior {
        match self.kind {
            PriorKind::Dirichlet => Prior::Dirichlet {
                alpha0: self.alpha0.unwrap_or(1.0 / k.max(1) as f64),
            },
            PriorKind::Dp => Prior::DirichletProcess { gamma: self.gamma },
        }
    }

    /// The model's hyper-parameters for K components in D dimensions
    /// (seeded; tol, budget and restarts are the caller's).
    pub fn params(&self, k: usize, d: usize, covariance: Covariance, seed: u64) -> VgmmParams {
        let nu0 = self.nu0.unwrap_or(d as f64);
        elbo_classic::mixture::Vgmm::params(k)
            .with_prior(self.weights(k))
            .with_covariance(covariance.into())
            .with_beta0(self.beta0)
            .with_nu0(nu0)
            .with_init_iter(INIT_ITER)
            .with_seed(seed)
    }

    /// ν₀ > D − 1 (full) or > 0 (diag), checked once D is known.
    pub fn check_nu0(&self, d: usize, covariance: Covariance) -> anyhow::Result<f64> {
        let nu0 = self.nu0.unwrap_or(d as f64);
        if covariance == Covariance::Full {
            ensure!(
                nu0 > d as f64 - 1.0,
                "--nu0 must be greater than D - 1 = {} for full covariances (a proper Wishart), got {nu0}",
                d - 1
            );
        }
        Ok(nu0)
    }

    /// The prior's part of `config`: `prior`, `alpha0` (a number, or "1/K"
    /// for a sweep with the default) or `gamma`, `beta0`, `nu0`.
    pub fn config(&self, k: Option<usize>, d: usize) -> Value {
        let mut m = json!({
            "prior": self.kind,
            "beta0": self.beta0,
            "nu0": self.nu0.unwrap_or(d as f64),
        });
        match self.kind {
            PriorKind::Dirichlet => {
                m["alpha0"] = match (self.alpha0, k) {
                    (Some(a), _) => json!(a),
                    (None, Some(k)) => json!(1.0 / k as f64),
                    (None, None) => json!("1/K"),
                };
            }
            PriorKind::Dp => m["gamma"] = json!(self.gamma),
        }
        m
    }
}

/// The prior as used by a fit (`metrics.json` `prior`): the weights' prior,
/// β₀, m₀, W₀ (rows), ν₀ and the covariance type.
pub fn prior_json(p: &elbo_classic::mixture::GmmPrior) -> Value {
    let weights = match p.weights() {
        Prior::Dirichlet { alpha0 } => json!({"kind": "dirichlet", "alpha0": alpha0}),
        Prior::DirichletProcess { gamma } => json!({"kind": "dp", "gamma": gamma}),
    };
    json!({
        "weights": weights,
        "beta0": p.beta0(),
        "m0": p.m0().to_vec(),
        "W0": rows(&p.w0().view()),
        "nu0": p.nu0(),
        "covariance": p.covariance().to_string(),
    })
}

/// A matrix as a list of rows.
pub fn rows(a: &ArrayView2<f64>) -> Vec<Vec<f64>> {
    a.rows().into_iter().map(|r| r.to_vec()).collect()
}

/// The data part of `config`.
#[derive(Debug, Clone, Serialize)]
pub struct DataConfig {
    /// `--data` as given.
    pub data: String,
    /// `--label`, or the built-in data set's own target left out.
    pub label: Option<String>,
    /// `--test`.
    pub test: Option<String>,
    /// Fraction of the rows held out.
    pub test_fraction: f64,
    /// Columns standardised with the training rows' statistics.
    pub standardize: bool,
    /// Constant columns dropped.
    pub drop_constant: bool,
    /// Components K (the best of the sweep for `--k-sweep`).
    pub k: Option<usize>,
    /// Covariance type.
    pub covariance: Covariance,
    /// Lloyd iterations after k-means++ seeding.
    pub init_iter: usize,
    /// `--quick`.
    pub quick: bool,
}

/// The rows a mixture command fits and scores, preprocessed.
#[derive(Debug, Clone)]
pub struct Rows {
    /// The training rows in the fitted space (N × D).
    pub train: Array2<f64>,
    /// The test rows in the fitted space, if any.
    pub test: Option<Array2<f64>>,
    /// Names of the columns fitted.
    pub names: Vec<String>,
    /// Names of the constant columns dropped.
    pub dropped: Vec<String>,
    /// The standardisation, if any.
    pub scaler: Option<Standardizer>,
    /// The rows held out (`--test-fraction`), for `split.json`.
    pub split: Option<Split>,
    /// The generated data, for `data.csv`.
    pub data_csv: Option<String>,
    /// The column left out (`--label`, or a built-in data set's target).
    pub label: Option<String>,
}

impl Rows {
    /// D.
    pub fn dim(&self) -> usize {
        self.train.ncols()
    }

    /// N (training rows).
    pub fn n_train(&self) -> usize {
        self.train.nrows()
    }

    /// Test rows (0 without a test set).
    pub fn n_test(&self) -> usize {
        self.test.as_ref().map_or(0, Array2::nrows)
    }

    /// ln |d z / d x| = −Σ_j ln s_j: add to a log-density in the fitted
    /// units to get it in the data's own units.
    pub fn log_jacobian(&self) -> f64 {
        self.scaler
            .as_ref()
            .map_or(0.0, |s| -s.std.iter().map(|v| v.ln()).sum::<f64>())
    }

    /// The keys every mixture run records about its rows.
    pub fn record(&self, m: &mut crate::metrics::Metrics) -> anyhow::Result<()> {
        m.set("n_train", self.n_train())?;
        m.set("n_test", self.n_test())?;
        m.set("dim", self.dim())?;
        m.set("columns", &self.names)?;
        m.set("dropped_columns", &self.dropped)?;
        m.set(
            "scaler",
            self.scaler
                .as_ref()
                .map(|s| json!({"mean": s.mean.to_vec(), "std": s.std.to_vec()})),
        )?;
        Ok(())
    }

    /// Record the held-out log-likelihood per point `ll` (fitted units) and
    /// in the data's own units.
    pub fn record_heldout(&self, m: &mut crate::metrics::Metrics, ll: f64) -> anyhow::Result<()> {
        ensure!(
            ll.is_finite(),
            "the held-out log-likelihood is not finite ({ll}); the test rows may lie far outside the training data"
        );
        m.set("heldout_loglik_per_point", ll)?;
        m.set(
            "heldout_loglik_per_point_original_units",
            ll + self.log_jacobian(),
        )?;
        Ok(())
    }

    /// "272 x 2, standardised" for a summary line.
    pub fn describe(&self) -> String {
        let mut s = format!("{} x {}", self.n_train(), self.dim());
        if self.scaler.is_some() {
            s.push_str(", standardised");
        }
        if !self.dropped.is_empty() {
            s.push_str(&format!(
                ", {} constant columns dropped",
                self.dropped.len()
            ));
        }
        if self.n_test() > 0 {
            s.push_str(&format!(", {} test rows", self.n_test()));
        }
        s
    }
}

/// Load `--data` (and `--test`), split, drop constant columns, standardise;
/// check K against the training rows. `default_k` is the model's.
pub fn load_rows(args: &DataArgs, k_max: usize, seed: u64) -> anyhow::Result<Rows> {
    let spec = data_spec(args);
    let test_fraction = args.test_fraction.unwrap_or(0.0);
    check_range(
        "test-fraction",
        test_fraction,
        |v| (0.0..1.0).contains(&v),
        "in [0, 1)",
    )?;
    let label = args.label.as_deref();
    let data = dataset::load(&spec, label, seed)?;
    let test_data = match &args.test {
        Some(p) => {
            let path = p.to_string_lossy();
            let t = dataset::load(&path, label, seed).with_context(|| "--test".to_string())?;
            ensure!(
                t.n_features() == data.n_features(),
                "dimension mismatch: --test {path} has {} columns ({}), the training data {spec} have {} ({})",
                t.n_features(),
                t.feature_names.join(", "),
                data.n_features(),
                data.feature_names.join(", ")
            );
            Some(t)
        }
        None => None,
    };
    let n = data.n_samples();
    let n_test = (test_fraction * n as f64).round() as usize;
    ensure!(
        n > n_test,
        "{spec} has {n} rows: none is left to fit after holding out {n_test}"
    );
    let (train_idx, test_idx) = if n_test > 0 {
        let order = shuffled_indices(n, seed);
        let (te, tr) = order.split_at(n_test);
        (tr.to_vec(), te.to_vec())
    } else {
        ((0..n).collect(), Vec::new())
    };
    let n_train = train_idx.len();
    ensure!(
        k_max <= n_train,
        "--k {k_max} is larger than the number of training points ({n_train}{}); \
         a mixture needs at least one point per component",
        if n_test > 0 {
            format!(" after holding out {n_test}")
        } else {
            String::new()
        }
    );
    let x_train = data.x.select(Axis(0), &train_idx);
    let x_test = match &test_data {
        Some(t) => Some(t.x.clone()),
        None if n_test > 0 => Some(data.x.select(Axis(0), &test_idx)),
        None => None,
    };

    // ---- Constant columns (on the training rows).
    let mean = x_train.mean_axis(Axis(0)).context("no training rows")?;
    let sd = x_train.std_axis(Axis(0), 0.0);
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for j in 0..data.n_features() {
        let constant = sd[j].is_nan() || sd[j] <= 1e-12 * (1.0 + mean[j].abs());
        if !constant {
            kept.push(j);
            continue;
        }
        let name = data.feature_names.get(j).cloned().unwrap_or_default();
        if !args.drop_constant {
            bail!(
                "column {} (`{name}`) of {spec} is constant on the {} training rows (value {}): a Gaussian \
                 mixture needs every column to vary; remove it or pass --drop-constant",
                j + 1,
                n_train,
                mean[j]
            );
        }
        dropped.push(name);
    }
    ensure!(
        !kept.is_empty(),
        "every column of {spec} is constant on the training rows; there is nothing to fit"
    );
    let x_train = x_train.select(Axis(1), &kept);
    let x_test = x_test.map(|t| t.select(Axis(1), &kept));
    let names: Vec<String> = kept
        .iter()
        .map(|&j| data.feature_names.get(j).cloned().unwrap_or_default())
        .collect();

    // ---- Standardise.
    let (train, test, scaler) = if args.no_standardize {
        (x_train, x_test, None)
    } else {
        let s = Standardizer::fit(x_train.view()).context("standardising the columns")?;
        let z = s.transform(x_train.view());
        let zt = x_test.map(|t| s.transform(t.view()));
        (z, zt, Some(s))
    };
    for (what, a) in [("training", Some(&train)), ("test", test.as_ref())] {
        if let Some(a) = a {
            if let Some(p) = a.iter().position(|v| !v.is_finite()) {
                bail!(
                    "{what} row {}, column {} is not finite after standardising (values too large?); \
                     rescale the data or pass --no-standardize",
                    p / a.ncols() + 1,
                    p % a.ncols() + 1
                );
            }
        }
    }
    let split = (n_test > 0).then(|| Split::holdout_inputs(data.x.view(), train_idx, test_idx));
    let data_csv = dataset::is_generated(&spec).then(|| dataset::to_csv(&data));
    Ok(Rows {
        train,
        test,
        names,
        dropped,
        scaler,
        split,
        data_csv,
        label: data.target_name.clone(),
    })
}

/// `--data`, or the default.
pub fn data_spec(args: &DataArgs) -> String {
    args.common
        .data
        .clone()
        .unwrap_or_else(|| DEFAULT_DATA.to_string())
}

/// The data part of `config`.
pub fn data_config(args: &DataArgs, k: Option<usize>, rows: &Rows) -> DataConfig {
    DataConfig {
        data: data_spec(args),
        label: rows.label.clone(),
        test: args.test.as_ref().map(|p| p.to_string_lossy().into_owned()),
        test_fraction: args.test_fraction.unwrap_or(0.0),
        standardize: !args.no_standardize,
        drop_constant: args.drop_constant,
        k,
        covariance: args.covariance.unwrap_or(Covariance::Full),
        init_iter: INIT_ITER,
        quick: args.common.quick,
    }
}

/// K must be at least 1.
pub fn check_k(k: usize) -> anyhow::Result<usize> {
    ensure!(k >= 1, "--k must be at least 1, got {k}");
    Ok(k)
}

// ------------------------------------------------------------ figures ---

/// One component as drawn: mean and covariance of the first two
/// coordinates, weight.
#[derive(Debug, Clone, Copy)]
pub struct Ellipse {
    /// (μ₀, μ₁).
    pub mean: (f64, f64),
    /// [Σ₀₀, Σ₀₁, Σ₁₁].
    pub cov: [f64; 3],
    /// E[π_k] (or π_k).
    pub weight: f64,
}

/// The components' first two coordinates: means K × D, covariances
/// K × D × D, weights K.
pub fn ellipses(means: &Array2<f64>, cov: &Array3<f64>, weights: &Array1<f64>) -> Vec<Ellipse> {
    (0..means.nrows())
        .map(|k| Ellipse {
            mean: (means[[k, 0]], means[[k, 1]]),
            cov: [cov[[k, 0, 0]], cov[[k, 0, 1]], cov[[k, 1, 1]]],
            weight: weights[k],
        })
        .collect()
}

/// The inverse of a symmetric positive definite matrix (Gauss–Jordan with
/// partial pivoting; small D only), or `None` when singular.
pub fn spd_inverse(a: &ArrayView2<f64>) -> Option<Array2<f64>> {
    let d = a.nrows();
    let mut m = a.to_owned();
    let mut inv = Array2::<f64>::eye(d);
    for c in 0..d {
        let p = (c..d).max_by(|&i, &j| m[[i, c]].abs().total_cmp(&m[[j, c]].abs()))?;
        if m[[p, c]] == 0.0 || m[[p, c]].is_nan() {
            return None;
        }
        for j in 0..d {
            m.swap([c, j], [p, j]);
            inv.swap([c, j], [p, j]);
        }
        let piv = m[[c, c]];
        for j in 0..d {
            m[[c, j]] /= piv;
            inv[[c, j]] /= piv;
        }
        for i in 0..d {
            if i != c {
                let f = m[[i, c]];
                if f != 0.0 {
                    for j in 0..d {
                        m[[i, j]] -= f * m[[c, j]];
                        inv[[i, j]] -= f * inv[[c, j]];
                    }
                }
            }
        }
    }
    inv.iter().all(|v| v.is_finite()).then_some(inv)
}

/// Every `step`-th row so that at most [`MAX_PLOTTED`] are drawn.
fn thin(x: &ArrayView2<f64>) -> Vec<(f64, f64)> {
    let step = x.nrows().div_ceil(MAX_PLOTTED).max(1);
    x.rows()
        .into_iter()
        .step_by(step)
        .map(|r| (r[0], r[1]))
        .collect()
}

/// Axis labels for the first two fitted columns.
fn axis_names(rows: &Rows) -> (String, String) {
    let unit = if rows.scaler.is_some() {
        " (standardised)"
    } else {
        ""
    };
    (
        format!("{}{unit}", rows.names[0]),
        format!("{}{unit}", rows.names[1]),
    )
}

/// The data (first two coordinates) with the 1-sd contour of each component
/// with E[π_k] > 0.01, filled in proportion to its weight (PRML Fig 10.6).
pub fn ellipse_figure(
    title: &str,
    rows: &Rows,
    comps: &[Ellipse],
    colour_by_component: bool,
    range: Option<((f64, f64), (f64, f64))>,
) -> Figure {
    let (xl, yl) = axis_names(rows);
    let mut f = Figure::new(title, xl, yl);
    if let Some(((x0, x1), (y0, y1))) = range {
        f = f.x_range(x0, x1).y_range(y0, y1);
    }
    // A legend entry per component only while it stays readable.
    let legend = colour_by_component
        && comps.iter().filter(|c| c.weight > EFFECTIVE_WEIGHT).count() <= MAX_LEGEND;
    f = f.layer(Layer::Scatter {
        points: thin(&rows.train.view()),
        colour: colour::GREY,
        opacity: 0.6,
        label: legend.then(|| "training rows".to_string()),
    });
    if let Some(t) = &rows.test {
        if colour_by_component {
            f = f.layer(Layer::Scatter {
                points: thin(&t.view()),
                colour: colour::BLACK,
                opacity: 0.6,
                label: legend.then(|| "test rows".to_string()),
            });
        }
    }
    for (k, c) in comps.iter().enumerate() {
        if c.weight <= EFFECTIVE_WEIGHT {
            continue;
        }
        let Some(points) = plot::ellipse(c.mean, c.cov, 1.0, ELLIPSE_POINTS) else {
            continue;
        };
        let col = if colour_by_component {
            colour::cycle(k)
        } else {
            colour::RED
        };
        f = f.layer(Layer::Polygon {
            points,
            colour: col,
            opacity: (0.8 * c.weight).clamp(0.05, 0.8),
            label: legend.then(|| format!("k = {k}, E[pi] = {}", fmt_num(c.weight))),
        });
    }
    f
}

/// A range covering the data and every drawn ellipse of several snapshots
/// (so that small multiples share their axes).
pub fn shared_range(rows: &Rows, snaps: &[&[Ellipse]]) -> ((f64, f64), (f64, f64)) {
    let mut pts: Vec<(f64, f64)> = rows
        .train
        .rows()
        .into_iter()
        .map(|r| (r[0], r[1]))
        .collect();
    for s in snaps {
        for c in s.iter().filter(|c| c.weight > EFFECTIVE_WEIGHT) {
            if let Some(e) = plot::ellipse(c.mean, c.cov, 1.0, ELLIPSE_POINTS) {
                pts.extend(e);
            }
        }
    }
    let span = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = 0.05 * (hi - lo).max(1e-9);
        (lo - pad, hi + pad)
    };
    (
        span(pts.iter().map(|p| p.0).collect()),
        span(pts.iter().map(|p| p.1).collect()),
    )
}

/// `fit.svg` when D ≥ 2 (first two coordinates), or a note why not.
pub fn fit_figure(
    model: &str,
    data: &str,
    rows: &Rows,
    comps: &[Ellipse],
) -> anyhow::Result<Result<FigureFile, String>> {
    if rows.dim() < 2 {
        return Ok(Err(
            "fit.svg not drawn: the data have one column (no ellipses to draw)".into(),
        ));
    }
    let n_eff = comps.iter().filter(|c| c.weight > EFFECTIVE_WEIGHT).count();
    let mut title = format!(
        "{model} on {data}: K = {}, {n_eff} with E[pi] > 0.01",
        comps.len()
    );
    if rows.dim() > 2 {
        title.push_str(&format!(" (first 2 of {} columns)", rows.dim()));
    }
    let f = ellipse_figure(&title, rows, comps, true, None);
    Ok(Ok(FigureFile {
        file: "fit.svg".into(),
        title: if rows.dim() > 2 {
            "Data and components (1-sd contours), first two columns".into()
        } else {
            "Data and components (1-sd contours)".into()
        },
        svg: f.to_svg()?,
    }))
}

/// `weights.svg`: E[π_k] per component, with the 0.01 line.
pub fn weights_figure(
    model: &str,
    data: &str,
    weights: &Array1<f64>,
) -> anyhow::Result<FigureFile> {
    let k = weights.len();
    let f = Figure::new(
        format!("{model} on {data}: mixing weights"),
        "component k",
        "E[pi_k]",
    )
    .y_range(
        0.0,
        weights.iter().copied().fold(0.0, f64::max).max(0.05) * 1.1,
    )
    .layer(Layer::Bars {
        bars: weights
            .iter()
            .enumerate()
            .map(|(i, &w)| (i as f64 - 0.4, i as f64 + 0.4, w))
            .collect(),
        colour: colour::BLUE,
        label: None,
    })
    .layer(Layer::Line {
        points: vec![(-0.6, EFFECTIVE_WEIGHT), (k as f64 - 0.4, EFFECTIVE_WEIGHT)],
        colour: colour::RED,
        label: Some("E[pi] = 0.01".into()),
    });
    Ok(FigureFile {
        file: "weights.svg".into(),
        title: "Mixing weights E[pi_k]".into(),
        svg: f.to_svg()?,
    })
}

/// The weights above 0.01, largest first, for a summary line.
pub fn fmt_weights(w: &Array1<f64>) -> String {
    let mut v: Vec<f64> = w
        .iter()
        .copied()
        .filter(|&x| x > EFFECTIVE_WEIGHT)
        .collect();
    v.sort_by(|a, b| b.total_cmp(a));
    v.iter().map(|&x| fmt_num(x)).collect::<Vec<_>>().join(", ")
}

/// The number of components with weight above 0.01.
pub fn effective(w: &Array1<f64>) -> usize {
    w.iter().filter(|&&x| x > EFFECTIVE_WEIGHT).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn inverse_of_a_small_spd_matrix() {
        let a = array![[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let inv = spd_inverse(&a.view()).unwrap();
        let eye = a.dot(&inv);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((eye[[i, j]] - want).abs() < 1e-12, "{eye}");
            }
        }
        assert!(spd_inverse(&array![[1.0, 1.0], [1.0, 1.0]].view()).is_none());
    }

    #[test]
    fn prior_flags() {
        let p = |prior, alpha0, gamma| PriorArgs {
            prior,
            alpha0,
            gamma,
            beta0: None,
            nu0: None,
        };
        assert_eq!(
            p(None, None, Some(2.0)).resolve().unwrap().kind,
            PriorKind::Dp
        );
        assert!(
            p(Some(PriorKind::Dirichlet), None, Some(2.0))
                .resolve()
                .is_err()
        );
        assert!(p(Some(PriorKind::Dp), Some(1.0), None).resolve().is_err());
        let e = p(None, Some(0.0), None).resolve().unwrap_err().to_string();
        assert!(
            e.contains("--alpha0 must be finite and greater than 0"),
            "{e}"
        );
        let c = p(None, None, None).resolve().unwrap();
        assert_eq!(c.weights(4), Prior::Dirichlet { alpha0: 0.25 });
        assert_eq!(c.config(None, 2)["alpha0"], "1/K");
        assert_eq!(c.config(Some(5), 2)["alpha0"], 0.2);
        assert!(c.check_nu0(3, Covariance::Full).is_ok());
        let c = PriorChoice {
            nu0: Some(1.5),
            ..c
        };
        assert!(c.check_nu0(3, Covariance::Full).is_err());
        assert!(c.check_nu0(3, Covariance::Diag).is_ok());
    }
}
