//! `elbo vblr`: variational Bayesian linear regression (PRML §10.3).
//!
//! Inputs are standardised with the training rows' statistics (recorded as
//! `scaler`) and the target is centred (its training mean is recorded as
//! `target_mean`, as scikit-learn's `BayesianRidge` centres it); precisions
//! (β, α) keep the target's units. A 1-D input is expanded in a polynomial
//! basis: `--degrees A-B` fits every order and keeps the one with the
//! highest bound (PRML Fig 10.9), recording `log_evidence_by_degree`. A
//! multi-column input is used linearly with a bias, optionally with one
//! precision per weight (`--ard`).
//!
//! `--compare-evidence` also fits the evidence approximation (type-II
//! maximum likelihood, PRML §3.5) to the same design matrix: there α and β
//! are *parameters* set to the values that maximise p(t | α, β), whereas VB
//! treats them as latent variables with posteriors q(α), q(β).

use std::time::Instant;

use anyhow::{Context, bail, ensure};
use clap::ValueEnum;
use elbo_classic::basis::{polynomial, with_bias};
use elbo_classic::vblr::{EvidenceRegression, Noise, Predictive, Vblr, VblrFit, VblrValidParams};
use elbo_core::data::{Dataset, Standardizer, shuffled_indices};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::Serialize;

use super::{FigureFile, ModelRun, Prepared, RunMeta, check_range, fmt_num};
use crate::cli::CommonArgs;
use crate::dataset;
use crate::metrics::{Metrics, config_value};
use crate::output::RunId;
use crate::plot::{self, Figure, Layer, colour};
use crate::progress::Progress;
use crate::split::Split;

/// The model's name in `metrics.json` and directory names.
pub const MODEL: &str = "vblr";
/// Data set used when `--data` is not given (PRML Fig 10.9).
pub const DEFAULT_DATA: &str = "cubic";
/// Degrees swept for a 1-D input when neither `--degree` nor `--degrees`
/// is given.
const DEFAULT_DEGREES: (usize, usize) = (0, 8);
/// The highest polynomial degree accepted.
pub const MAX_DEGREE: usize = 20;
/// Iteration budget under `--quick` (unless `--max-iter`).
const QUICK_MAX_ITER: usize = 200;
/// Points of the predictive curve.
const GRID: usize = 200;

/// The noise model on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseKind {
    /// β known (`--beta`), PRML §10.3.
    Known,
    /// β unknown with a Gamma prior (`--c0`, `--d0`).
    Gamma,
}

/// Flags of `elbo vblr`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// For a CSV file: the target column (name, 0-based index, or -1 for the
    /// last).
    #[arg(long, value_name = "COL", allow_hyphen_values = true)]
    pub target: Option<String>,
    /// Polynomial degrees to sweep, keeping the highest bound (1-D inputs
    /// only) [default for 1-D inputs: 0-8].
    #[arg(long, value_name = "A-B", overrides_with = "degree")]
    pub degrees: Option<String>,
    /// One polynomial degree (1-D inputs only).
    #[arg(long, value_name = "N", overrides_with = "degrees")]
    pub degree: Option<usize>,
    /// Automatic relevance determination: one precision α_i per weight.
    #[arg(long)]
    pub ard: bool,
    /// Noise precision β: `known` (give --beta) or `gamma` (learnt)
    /// [default: gamma, or known when --beta is given].
    #[arg(long, value_enum)]
    pub noise: Option<NoiseKind>,
    /// Known noise precision β > 0 (implies --noise known).
    #[arg(long, value_name = "B")]
    pub beta: Option<f64>,
    /// Shape c0 ≥ 0 of the Gamma prior on β [default: 1e-6].
    #[arg(long, value_name = "C")]
    pub c0: Option<f64>,
    /// Rate d0 ≥ 0 of the Gamma prior on β [default: 1e-6].
    #[arg(long, value_name = "D")]
    pub d0: Option<f64>,
    /// Shape a0 ≥ 0 of the Gamma prior on α (PRML 10.89) [default: 1e-6].
    #[arg(long, value_name = "A")]
    pub a0: Option<f64>,
    /// Rate b0 ≥ 0 of the Gamma prior on α [default: 1e-6].
    #[arg(long, value_name = "B")]
    pub b0: Option<f64>,
    /// Fix α > 0 instead of learning q(α).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// ARD: a weight is pruned when its well-determinedness γ_i = 1 − E[α_i]
    /// Σ_ii falls below this value in (0, 1) [default: 0.1].
    #[arg(long, value_name = "G")]
    pub prune_threshold: Option<f64>,
    /// Relative change of the bound that counts as converged [default: 1e-8].
    #[arg(long, value_name = "T")]
    pub tol: Option<f64>,
    /// Iteration budget per fit [default: 1000; 200 with --quick].
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,
    /// Hold out this fraction of the rows (seeded) for a test RMSE
    /// [default: 0].
    #[arg(long, value_name = "F")]
    pub test_fraction: Option<f64>,
    /// Also fit the evidence approximation (type-II ML, PRML §3.5) and
    /// report it beside VB.
    #[arg(long)]
    pub compare_evidence: bool,
}

/// Everything that defines the run, defaults resolved (`metrics.json`
/// `config`).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `--data` as given.
    pub data: String,
    /// The target column.
    pub target: String,
    /// `polynomial` (1-D input) or `linear` (inputs plus a bias).
    pub basis: &'static str,
    /// Polynomial degrees fitted (empty for the linear basis).
    pub degrees: Vec<usize>,
    /// Inputs standardised with the training rows' statistics.
    pub standardize_inputs: bool,
    /// Target centred on its training mean.
    pub center_target: bool,
    /// Fraction of rows held out.
    pub test_fraction: f64,
    /// `known` or `gamma`.
    pub noise: NoiseKind,
    /// Known β, when `noise` is `known`.
    pub beta: Option<f64>,
    /// Gamma prior on β, when `noise` is `gamma`.
    pub c0: Option<f64>,
    /// Gamma prior rate on β, when `noise` is `gamma`.
    pub d0: Option<f64>,
    /// Gamma prior shape on α.
    pub a0: f64,
    /// Gamma prior rate on α.
    pub b0: f64,
    /// Fixed α, or null when q(α) is learnt.
    pub alpha: Option<f64>,
    /// One α per weight.
    pub ard: bool,
    /// Initial E[α].
    pub alpha_init: f64,
    /// ARD pruning threshold on γ_i.
    pub prune_threshold: f64,
    /// Convergence tolerance.
    pub tol: f64,
    /// Iteration budget.
    pub max_iter: usize,
    /// The evidence approximation is fitted too.
    pub compare_evidence: bool,
    /// `--quick`.
    pub quick: bool,
}

/// A validated `vblr` run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    params: VblrValidParams,
    data: Dataset,
    t: Array1<f64>,
    run: RunMeta,
}

/// Parse `A-B` (or a single `N`) into the degrees A..=B.
fn parse_degrees(s: &str) -> anyhow::Result<Vec<usize>> {
    let bad =
        || format!("--degrees `{s}`: expected A-B with 0 <= A <= B <= {MAX_DEGREE}, e.g. 0-8");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (s.trim(), s.trim()),
    };
    let a: usize = a.parse().with_context(bad)?;
    let b: usize = b.parse().with_context(bad)?;
    ensure!(a <= b && b <= MAX_DEGREE, "{}", bad());
    Ok((a..=b).collect())
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    let c = &args.common;
    let spec = c.data.clone().unwrap_or_else(|| DEFAULT_DATA.to_string());
    let seed = c.seed();

    // ---- Flags that do not need the data.
    let noise_kind = match (args.noise, args.beta) {
        (Some(NoiseKind::Gamma), Some(_)) => {
            bail!("--beta sets a known noise precision; it cannot be used with --noise gamma")
        }
        (Some(NoiseKind::Known), None) => bail!("--noise known needs the noise precision --beta B"),
        (Some(k), _) => k,
        (None, Some(_)) => NoiseKind::Known,
        (None, None) => NoiseKind::Gamma,
    };
    if noise_kind == NoiseKind::Known && (args.c0.is_some() || args.d0.is_some()) {
        bail!("--c0 and --d0 are the Gamma prior on β; they cannot be used with a known --beta");
    }
    let noise = match noise_kind {
        NoiseKind::Known => Noise::Known(args.beta.unwrap_or(f64::NAN)),
        NoiseKind::Gamma => match Noise::default() {
            Noise::Gamma { c0, d0 } => Noise::Gamma {
                c0: args.c0.unwrap_or(c0),
                d0: args.d0.unwrap_or(d0),
            },
            known => known,
        },
    };
    let test_fraction = args.test_fraction.unwrap_or(0.0);
    check_range(
        "test-fraction",
        test_fraction,
        |v| (0.0..1.0).contains(&v),
        "in [0, 1)",
    )?;
    if let Some(d) = args.degree {
        ensure!(
            d <= MAX_DEGREE,
            "--degree must be between 0 and {MAX_DEGREE}, got {d}"
        );
    }
    let explicit_degrees = match (&args.degrees, args.degree) {
        (Some(s), _) => Some(parse_degrees(s)?),
        (None, Some(d)) => Some(vec![d]),
        (None, None) => None,
    };
    let mut p = Vblr::params()
        .with_noise(noise)
        .with_ard(args.ard)
        .with_fixed_alpha(args.alpha);
    if let Some(a0) = args.a0 {
        p = p.with_a0(a0);
    }
    if let Some(b0) = args.b0 {
        p = p.with_b0(b0);
    }
    if let Some(tol) = args.tol {
        p = p.with_tol(tol);
    }
    if let Some(g) = args.prune_threshold {
        p = p.with_prune_threshold(g);
    }
    p = p.with_max_iter(
        args.max_iter
            .unwrap_or(if c.quick { QUICK_MAX_ITER } else { 1000 }),
    );
    let params = p.check()?;

    // ---- The data.
    let data = dataset::load(&spec, args.target.as_deref(), seed)?;
    let t = dataset::require_target(&data, &spec)?.clone();
    let one_d = data.n_features() == 1;
    let degrees = match (one_d, explicit_degrees) {
        (true, Some(d)) => d,
        (true, None) => (DEFAULT_DEGREES.0..=DEFAULT_DEGREES.1).collect(),
        (false, Some(_)) => bail!(
            "--degree/--degrees expand a single input column in a polynomial; {spec} has {} input columns",
            data.n_features()
        ),
        (false, None) => Vec::new(),
    };
    let n_test = (test_fraction * data.n_samples() as f64).round() as usize;
    ensure!(
        data.n_samples() >= n_test + 2,
        "{spec} has {} rows: too few to fit (at least 2 training rows are needed)",
        data.n_samples()
    );

    let config = Config {
        data: spec.clone(),
        target: data.target_name.clone().unwrap_or_default(),
        basis: if one_d { "polynomial" } else { "linear" },
        degrees,
        standardize_inputs: true,
        center_target: true,
        test_fraction,
        noise: noise_kind,
        beta: match params.noise() {
            Noise::Known(b) => Some(b),
            Noise::Gamma { .. } => None,
        },
        c0: match params.noise() {
            Noise::Gamma { c0, .. } => Some(c0),
            Noise::Known(_) => None,
        },
        d0: match params.noise() {
            Noise::Gamma { d0, .. } => Some(d0),
            Noise::Known(_) => None,
        },
        a0: params.a0(),
        b0: params.b0(),
        alpha: params.fixed_alpha(),
        ard: params.ard(),
        alpha_init: params.alpha_init(),
        prune_threshold: params.prune_threshold(),
        tol: params.tol(),
        max_iter: params.max_iter(),
        compare_evidence: args.compare_evidence,
        quick: c.quick,
    };
    let id = RunId::new(MODEL, &spec, seed, &config_value(&config)?);
    let dataset = spec.clone();
    Ok(Plan {
        config,
        params,
        data,
        t,
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

/// Absolute tolerance on Σ|Δm| of the evidence approximation.
const EVIDENCE_TOL: f64 = 1e-9;

/// One shared α as a number, ARD's α_i as a list.
fn scalar_or_list(a: &Array1<f64>) -> serde_json::Value {
    match a.len() {
        1 => serde_json::Value::from(a[0]),
        _ => serde_json::Value::from(a.to_vec()),
    }
}

/// E[α] for a summary line (ARD: the range).
fn fmt_alpha(a: &Array1<f64>) -> String {
    match a.len() {
        0 => "-".into(),
        1 => fmt_num(a[0]),
        _ => {
            let lo = a.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{}..{} (ARD)", fmt_num(lo), fmt_num(hi))
        }
    }
}

/// The predictive standard deviation: √var for a Gaussian; for a
/// Student-t with dof > 2, √(var · dof / (dof − 2)) (`var` is its squared
/// scale), else the scale.
fn predictive_sd(p: &Predictive) -> Array1<f64> {
    match p.dof {
        Some(nu) if nu > 2.0 => p.var.mapv(|v| (v * nu / (nu - 2.0)).sqrt()),
        _ => p.var.mapv(f64::sqrt),
    }
}

/// Root mean squared error.
fn rmse(pred: &Array1<f64>, t: &Array1<f64>) -> f64 {
    (pred
        .iter()
        .zip(t)
        .map(|(p, y)| (p - y).powi(2))
        .sum::<f64>()
        / t.len().max(1) as f64)
        .sqrt()
}

/// What ARD found on data whose first `k` inputs are the relevant ones
/// (`sparse:N,D,K`): `metrics.json` `ard_recovery`. The bias is left out.
#[derive(Debug, Clone, Serialize)]
pub struct ArdRecovery {
    /// K: inputs x0 … x(K−1) are relevant by construction.
    pub relevant_features: usize,
    /// D − K.
    pub irrelevant_features: usize,
    /// Median E[α_i] over the relevant inputs' weights.
    pub alpha_median_relevant: f64,
    /// Median E[α_i] over the irrelevant inputs' weights.
    pub alpha_median_irrelevant: f64,
    /// alpha_median_irrelevant / alpha_median_relevant.
    pub alpha_ratio: f64,
    /// Irrelevant inputs whose weight is pruned.
    pub irrelevant_pruned: usize,
    /// Relevant inputs whose weight is kept.
    pub relevant_kept: usize,
}

/// The median of a non-empty slice (NaN when empty).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// [`ArdRecovery`] from one precision and one kept/pruned flag per input
/// (no bias), the first `k` inputs being the relevant ones. Also applied to
/// scikit-learn's `ARDRegression` (λ_i / α and `coef_ != 0`) by `reproduce`.
pub fn ard_recovery(alpha: &[f64], kept: &[bool], k: usize) -> Option<ArdRecovery> {
    if alpha.len() != kept.len() || k == 0 || k >= alpha.len() {
        return None;
    }
    let (rel, irr) = alpha.split_at(k);
    let (lo, hi) = (median(rel), median(irr));
    Some(ArdRecovery {
        relevant_features: k,
        irrelevant_features: alpha.len() - k,
        alpha_median_relevant: lo,
        alpha_median_irrelevant: hi,
        alpha_ratio: hi / lo,
        irrelevant_pruned: kept[k..].iter().filter(|&&x| !x).count(),
        relevant_kept: kept[..k].iter().filter(|&&x| x).count(),
    })
}

impl Plan {
    /// The design matrix of standardised inputs `z` for `degree` (polynomial
    /// basis) or with a bias (linear basis).
    fn design(&self, z: ArrayView2<f64>, degree: Option<usize>) -> Array2<f64> {
        match degree {
            Some(d) => polynomial(z.column(0), d),
            None => with_bias(z),
        }
    }
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let cfg = &self.config;
        let n = self.data.n_samples();

        // ---- Split, standardise, centre.
        let n_test = (cfg.test_fraction * n as f64).round() as usize;
        let order = if n_test > 0 {
            shuffled_indices(n, self.run.seed)
        } else {
            (0..n).collect()
        };
        let (test_idx, train_idx) = order.split_at(n_test);
        let x_train = self.data.x.select(Axis(0), train_idx);
        let t_train = self.t.select(Axis(0), train_idx);
        let x_test = self.data.x.select(Axis(0), test_idx);
        let t_test = self.t.select(Axis(0), test_idx);
        let scaler = Standardizer::fit(x_train.view()).context("standardising the inputs")?;
        let t_mean = t_train.mean().unwrap_or(0.0);
        let y_train = &t_train - t_mean;
        let z_train = scaler.transform(x_train.view());
        let z_test = scaler.transform(x_test.view());

        // ---- Fit every degree (or the one linear model).
        let candidates: Vec<Option<usize>> = if cfg.degrees.is_empty() {
            vec![None]
        } else {
            cfg.degrees.iter().map(|&d| Some(d)).collect()
        };
        let label = self.label();
        let mut fits: Vec<(Option<usize>, VblrFit)> = Vec::new();
        for &degree in &candidates {
            if let Some(d) = degree {
                progress.set_label(format!("{label}: degree {d}"));
            }
            let phi = self.design(z_train.view(), degree);
            let fit = self
                .params
                .fit_with(phi.view(), y_train.view(), |i, b| progress.update(i, b))
                .with_context(|| match degree {
                    Some(d) => format!("fitting degree {d}"),
                    None => "fitting".to_string(),
                })?;
            fits.push((degree, fit));
        }
        let best = fits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.log_evidence().total_cmp(&b.1.1.log_evidence()))
            .map(|(i, _)| i)
            .context("no model was fitted")?;
        let (best_degree, fit) = (&fits[best].0, &fits[best].1);

        // ---- Predictions, in the target's units.
        let phi_train = self.design(z_train.view(), *best_degree);
        let pred_train = fit.predict(phi_train.view())?;
        let mean_train = &pred_train.mean + t_mean;
        let train_rmse = rmse(&mean_train, &t_train);
        let test = if n_test > 0 {
            let phi = self.design(z_test.view(), *best_degree);
            let p = fit.predict(phi.view())?;
            Some((&p.mean + t_mean, predictive_sd(&p)))
        } else {
            None
        };

        // ---- The evidence approximation on the same design, if asked.
        let evidence = if cfg.compare_evidence {
            progress.set_label(format!("{label}: evidence approximation"));
            // Type-II maximum likelihood (PRML 3.92, 3.95), no hyper-priors,
            // with an unpenalised intercept in place of the bias column.
            let drop_bias = |phi: &Array2<f64>| phi.slice(ndarray::s![.., 1..]).to_owned();
            let ev = EvidenceRegression::params()
                .type_ii_ml()
                .with_fit_intercept(true)
                .with_tol(EVIDENCE_TOL)
                .with_max_iter(cfg.max_iter)
                .fit(drop_bias(&phi_train).view(), y_train.view())
                .context("fitting the evidence approximation")?;
            let pred = ev.predict_mean(drop_bias(&phi_train).view())? + t_mean;
            let mut e = serde_json::json!({
                "log_evidence": ev.log_evidence(),
                "alpha": ev.alpha(),
                "beta": ev.beta(),
                "rmse": rmse(&pred, &t_train),
                "n_iter": ev.n_iter(),
                "converged": ev.converged(),
            });
            if n_test > 0 {
                let phi = self.design(z_test.view(), *best_degree);
                let p = ev.predict_mean(drop_bias(&phi).view())? + t_mean;
                e["test_rmse"] = serde_json::json!(rmse(&p, &t_test));
            }
            Some(e)
        } else {
            None
        };
        let wall = start.elapsed().as_secs_f64();

        // ---- metrics.json.
        let mut m = Metrics::new(&self.run.id);
        m.set("log_evidence", fit.log_evidence())?;
        m.set("alpha_mean", scalar_or_list(&fit.alpha_mean()))?;
        m.set("beta_mean", fit.beta_mean())?;
        m.set("rmse", train_rmse)?;
        if let Some((pred, _)) = &test {
            m.set("test_rmse", rmse(pred, &t_test))?;
        }
        if !cfg.degrees.is_empty() {
            let by_degree: serde_json::Map<String, serde_json::Value> = fits
                .iter()
                .filter_map(|(d, f)| {
                    d.map(|d| (d.to_string(), serde_json::Value::from(f.log_evidence())))
                })
                .collect();
            m.set("log_evidence_by_degree", by_degree)?;
            m.set("best_degree", best_degree)?;
        }
        m.set("n_iter", fit.n_iter())?;
        m.set("converged", fit.converged())?;
        m.set("n_train", train_idx.len())?;
        m.set("n_test", n_test)?;
        m.set("weights_mean", fit.m_n().to_vec())?;
        // The weights are (bias, x0, x1, …) in the linear basis.
        let recovery = match (cfg.ard, dataset::sparse_shape(&cfg.data)) {
            (true, Some((_, _, k))) if cfg.degrees.is_empty() => ard_recovery(
                &fit.alpha_mean().to_vec()[1..],
                &fit.relevant().to_vec()[1..],
                k,
            ),
            _ => None,
        };
        if cfg.ard {
            m.set("relevant", fit.relevant().to_vec())?;
            m.set("well_determined", fit.well_determined().to_vec())?;
        }
        if let Some(r) = &recovery {
            m.set("ard_recovery", r)?;
        }
        m.set(
            "scaler",
            serde_json::json!({"mean": scaler.mean.to_vec(), "std": scaler.std.to_vec()}),
        )?;
        m.set("target_mean", t_mean)?;
        if let Some(e) = &evidence {
            m.set("evidence_approximation", e)?;
        }
        let metrics = m.finish(wall, fit.elbo_trace());

        // ---- Figures.
        let name = &cfg.data;
        let mut figures = Vec::new();
        let fit_title = match best_degree {
            Some(d) => format!("{MODEL} on {name}: predictive distribution, degree {d}"),
            None => format!("{MODEL} on {name}: predicted vs observed"),
        };
        let fit_fig = match best_degree {
            Some(d) => self.curve_figure(
                &fit_title,
                &scaler,
                t_mean,
                *d,
                fit,
                (&x_train, &t_train),
                (&x_test, &t_test),
            )?,
            None => {
                let mut f = Figure::new(&fit_title, "observed", "predicted mean ± 1 sd");
                let obs: Vec<f64> = t_train.to_vec();
                let lo = obs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = obs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                f = f.layer(Layer::Line {
                    points: vec![(lo, lo), (hi, hi)],
                    colour: colour::GREY,
                    label: Some("predicted = observed".into()),
                });
                f = f.layer(Layer::ErrorBars {
                    points: obs
                        .iter()
                        .zip(&mean_train)
                        .zip(&predictive_sd(&pred_train))
                        .map(|((&o, &p), &s)| (o, p, s))
                        .collect(),
                    colour: colour::BLUE,
                    label: Some("training rows".into()),
                });
                if let Some((pred, sd)) = &test {
                    f = f.layer(Layer::ErrorBars {
                        points: t_test
                            .iter()
                            .zip(pred)
                            .zip(sd)
                            .map(|((&o, &p), &s)| (o, p, s))
                            .collect(),
                        colour: colour::RED,
                        label: Some("test rows".into()),
                    });
                }
                f
            }
        };
        figures.push(FigureFile {
            file: "fit.svg".into(),
            title: fit_title.clone(),
            svg: fit_fig.to_svg()?,
        });
        if fits.len() > 1 {
            let pts: Vec<(f64, f64)> = fits
                .iter()
                .filter_map(|(d, f)| d.map(|d| (d as f64, f.log_evidence())))
                .collect();
            let best_pt = vec![(best_degree.unwrap_or(0) as f64, fit.log_evidence())];
            let f = Figure::new(
                format!("{MODEL} on {name}: bound against polynomial degree"),
                "degree M",
                "lower bound on ln p(t)",
            )
            .layer(Layer::Line {
                points: pts.clone(),
                colour: colour::BLUE,
                label: None,
            })
            .layer(Layer::Points {
                points: pts,
                colour: colour::BLUE,
                label: None,
            })
            .layer(Layer::Points {
                points: best_pt,
                colour: colour::RED,
                label: Some("best".into()),
            });
            figures.push(FigureFile {
                file: "bound_by_degree.svg".into(),
                title: "Bound against degree (PRML Fig 10.9)".into(),
                svg: f.to_svg()?,
            });
        }
        figures.push(FigureFile {
            file: "bound_trace.svg".into(),
            title: "Bound per iteration".into(),
            svg: plot::bound_trace(
                &format!("{MODEL} on {name}: bound per iteration"),
                fit.elbo_trace(),
            )
            .to_svg()?,
        });
        if cfg.ard {
            figures.push(FigureFile {
                file: "ard.svg".into(),
                title: "ARD: E[α_i] per weight, log scale (large = pruned)".into(),
                svg: self.ard_figure(fit)?.to_svg()?,
            });
        }

        // ---- Summary.
        let mut summary = vec![format!(
            "{MODEL} on {name} ({} x {}), seed {}: {}bound {} after {} iterations{}",
            n,
            self.data.n_features(),
            self.run.seed,
            best_degree.map_or(String::new(), |d| format!("best degree {d}, ")),
            fmt_num(fit.log_evidence()),
            fit.n_iter(),
            if fit.converged() {
                ""
            } else {
                " (not converged)"
            }
        )];
        let mut line = format!(
            "E[alpha] = {}, E[beta] = {}, train RMSE {}",
            fmt_alpha(&fit.alpha_mean()),
            fmt_num(fit.beta_mean()),
            fmt_num(train_rmse)
        );
        if let Some((pred, _)) = &test {
            line.push_str(&format!(", test RMSE {}", fmt_num(rmse(pred, &t_test))));
        }
        summary.push(line);
        if let Some(e) = &evidence {
            summary.push(format!(
                "evidence approximation: ln p(t | alpha, beta) = {}, alpha = {}, beta = {}",
                e["log_evidence"], e["alpha"], e["beta"]
            ));
        }
        if let Some(r) = &recovery {
            summary.push(format!(
                "ARD: median E[alpha_i] {} over x0-x{} vs {} over the {} irrelevant (ratio {}); \
                 {} of {} relevant kept, {} of {} irrelevant pruned",
                fmt_num(r.alpha_median_relevant),
                r.relevant_features - 1,
                fmt_num(r.alpha_median_irrelevant),
                r.irrelevant_features,
                fmt_num(r.alpha_ratio),
                r.relevant_kept,
                r.relevant_features,
                r.irrelevant_pruned,
                r.irrelevant_features
            ));
        }
        let warnings = fits
            .iter()
            .filter(|(_, f)| !f.converged())
            .map(|(d, f)| {
                format!(
                    "{}the bound did not converge in {} iterations (tol {}); raise --max-iter",
                    d.map_or(String::new(), |d| format!("degree {d}: ")),
                    f.n_iter(),
                    cfg.tol
                )
            })
            .collect();
        let split = (n_test > 0).then(|| {
            Split::holdout(
                self.data.x.view(),
                self.t.view(),
                train_idx.to_vec(),
                test_idx.to_vec(),
            )
        });
        let data_csv = dataset::is_generated(&cfg.data).then(|| dataset::to_csv(&self.data));
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings,
            split,
            data_csv,
            extra: Vec::new(),
        })
    }
}

impl Plan {
    /// E[α_i] per weight on a log axis. For `sparse:N,D,K` the colours say
    /// which inputs are relevant by construction (and, of the irrelevant
    /// ones, which [`VblrFit::relevant`] prunes); otherwise kept vs pruned.
    fn ard_figure(&self, fit: &VblrFit) -> anyhow::Result<Figure> {
        let alpha = fit.alpha_mean();
        let kept = fit.relevant();
        let linear = self.config.degrees.is_empty();
        let truth = dataset::sparse_shape(&self.config.data)
            .filter(|_| linear)
            .map(|(_, _, k)| k);
        let group = |label: &str, colour| Layer::Points {
            points: Vec::new(),
            colour,
            label: Some(label.to_string()),
        };
        let mut groups = match truth {
            Some(k) => vec![
                group(&format!("x0-x{} (relevant)", k - 1), colour::BLUE),
                group("irrelevant, kept", colour::ORANGE),
                group("irrelevant, pruned", colour::RED),
                group("bias", colour::GREY),
            ],
            None => vec![
                group("kept", colour::BLUE),
                group("pruned", colour::RED),
                group("bias", colour::GREY),
            ],
        };
        let last = groups.len() - 1;
        for (i, (&a, &keep)) in alpha.iter().zip(&kept).enumerate() {
            let g = match (truth, linear && i == 0) {
                (_, true) => last,
                (Some(k), false) if i <= k => 0,
                (Some(_), false) => 1 + usize::from(!keep),
                (None, false) => usize::from(!keep),
            };
            if let Layer::Points { points, .. } = &mut groups[g] {
                points.push((i as f64, a.log10()));
            }
        }
        let x_label = if linear {
            "weight (0 = bias, i = x(i-1))"
        } else {
            "weight (power of x)"
        };
        let mut f = Figure::new(
            format!("{MODEL} on {}: ARD precisions", self.config.data),
            x_label,
            "E[alpha_i] (log scale)",
        )
        .log10_y()
        .legend_lower_right();
        for g in groups {
            if matches!(&g, Layer::Points { points, .. } if !points.is_empty()) {
                f = f.layer(g);
            }
        }
        Ok(f)
    }

    /// Predictive mean with ±1 and ±2 sd bands over a grid, with the data
    /// (and, for `cubic`, the true function).
    #[allow(clippy::too_many_arguments)]
    fn curve_figure(
        &self,
        title: &str,
        scaler: &Standardizer,
        t_mean: f64,
        degree: usize,
        fit: &VblrFit,
        train: (&Array2<f64>, &Array1<f64>),
        test: (&Array2<f64>, &Array1<f64>),
    ) -> anyhow::Result<Figure> {
        let xs = self.data.x.column(0);
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let pad = 0.05 * (hi - lo).max(1e-12);
        let grid: Array1<f64> = Array1::linspace(lo - pad, hi + pad, GRID);
        let z = scaler.transform(grid.view().insert_axis(Axis(1)));
        let p = fit.predict(polynomial(z.column(0), degree).view())?;
        let mean = &p.mean + t_mean;
        let sd = predictive_sd(&p);
        let g = grid.to_vec();
        let band = |k: f64, c, o, l: &str| Layer::Band {
            x: g.clone(),
            lower: mean.iter().zip(&sd).map(|(m, s)| m - k * s).collect(),
            upper: mean.iter().zip(&sd).map(|(m, s)| m + k * s).collect(),
            colour: c,
            opacity: o,
            label: Some(l.to_string()),
        };
        let target = &self.config.target;
        let mut f = Figure::new(
            title,
            self.data.feature_names.first().cloned().unwrap_or_default(),
            target.clone(),
        )
        .layer(band(2.0, colour::BLUE, 0.15, "±2 sd"))
        .layer(band(1.0, colour::BLUE, 0.25, "±1 sd"))
        .layer(Layer::Line {
            points: g.iter().copied().zip(mean.iter().copied()).collect(),
            colour: colour::BLUE,
            label: Some("predictive mean".into()),
        });
        if self.config.data == "cubic" {
            f = f.layer(Layer::Line {
                points: g
                    .iter()
                    .map(|&x| (x, elbo_core::data::synthetic::cubic_mean(x)))
                    .collect(),
                colour: colour::GREEN,
                label: Some("true cubic".into()),
            });
        }
        f = f.layer(Layer::Points {
            points: train
                .0
                .column(0)
                .iter()
                .copied()
                .zip(train.1.iter().copied())
                .collect(),
            colour: colour::BLACK,
            label: Some("training data".into()),
        });
        if !test.1.is_empty() {
            f = f.layer(Layer::Points {
                points: test
                    .0
                    .column(0)
                    .iter()
                    .copied()
                    .zip(test.1.iter().copied())
                    .collect(),
                colour: colour::RED,
                label: Some("test data".into()),
            });
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degree_ranges() {
        assert_eq!(parse_degrees("0-3").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_degrees("4").unwrap(), vec![4]);
        assert!(parse_degrees("3-1").is_err());
        assert!(
            parse_degrees("0-21")
                .unwrap_err()
                .to_string()
                .contains("B <= 20")
        );
        assert!(parse_degrees("a-b").is_err());
    }
}
