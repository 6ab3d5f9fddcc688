//! `elbo vb-logistic`: variational Bayesian logistic regression (PRML
//! §10.6), K-fold cross-validated, plus one fit on all the data for the
//! bound and E[α].
//!
//! Inputs are standardised with the training rows' mean and standard
//! deviation in each fold (and over all rows for the full fit); labels must
//! be 0 or 1. Metrics: `elbo_trace`, `log_evidence`, `alpha_mean` (full
//! fit) and the out-of-fold `accuracy`, `log_loss` and `ece` (mean over
//! folds, with `*_folds` per fold).

use std::time::Instant;

use anyhow::{Context, ensure};
use elbo_classic::vb_logistic::{VbLogistic, VbLogisticValidParams, metrics};
use elbo_core::data::{Dataset, Standardizer, kfold_indices};
use ndarray::{Array1, Axis};
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
pub const MODEL: &str = "vb-logistic";
/// Data set used when `--data` is not given.
pub const DEFAULT_DATA: &str = "breast-cancer";
/// Iteration budget under `--quick` (unless `--max-iter`).
const QUICK_MAX_ITER: usize = 200;
/// Bins of the reliability diagram and the ECE.
const ECE_BINS: usize = 10;

/// Flags of `elbo vb-logistic`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// For a CSV file: the 0/1 label column (name, 0-based index, or -1 for
    /// the last).
    #[arg(long, value_name = "COL", allow_hyphen_values = true)]
    pub target: Option<String>,
    /// Shape a0 > 0 of the Gamma prior on the weights' precision α (PRML
    /// 10.166) [default: 0.01].
    #[arg(long, value_name = "A")]
    pub a0: Option<f64>,
    /// Rate b0 > 0 of the Gamma prior on α [default: 1e-4].
    #[arg(long, value_name = "B")]
    pub b0: Option<f64>,
    /// Fix α instead of learning q(α) (PRML §10.6.1).
    #[arg(long, value_name = "A")]
    pub alpha: Option<f64>,
    /// Number of cross-validation folds (≥ 2) [default: 5].
    #[arg(long, value_name = "K")]
    pub folds: Option<usize>,
    /// Relative change of the bound that counts as converged [default: 1e-8].
    #[arg(long, value_name = "T")]
    pub tol: Option<f64>,
    /// Iteration budget per fit [default: 1000; 200 with --quick].
    #[arg(long, value_name = "N")]
    pub max_iter: Option<usize>,
}

/// Everything that defines the run, defaults resolved (`metrics.json`
/// `config`).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `--data` as given.
    pub data: String,
    /// The label column.
    pub target: String,
    /// Cross-validation folds.
    pub folds: usize,
    /// Gamma prior on α (unused when `alpha` is set).
    pub a0: f64,
    /// Gamma prior rate on α.
    pub b0: f64,
    /// Fixed α, or null when q(α) is learnt.
    pub alpha: Option<f64>,
    /// A column of ones is prepended (its weight shares the prior).
    pub intercept: bool,
    /// Convergence tolerance.
    pub tol: f64,
    /// Iteration budget.
    pub max_iter: usize,
    /// Inputs standardised per fold with the training rows' statistics.
    pub standardize_inputs: bool,
    /// Bins of the ECE and the reliability diagram.
    pub ece_bins: usize,
    /// `--quick`.
    pub quick: bool,
}

/// A validated `vb-logistic` run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    params: VbLogisticValidParams,
    data: Dataset,
    t: Array1<f64>,
    run: RunMeta,
}

/// Validate the flags and load the data.
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    let c = &args.common;
    let spec = c.data.clone().unwrap_or_else(|| DEFAULT_DATA.to_string());
    let seed = c.seed();
    let folds = args.folds.unwrap_or(5);
    ensure!(folds >= 2, "--folds must be at least 2, got {folds}");
    if let Some(tol) = args.tol {
        check_range("tol", tol, |v| v >= 0.0, "finite and >= 0")?;
    }
    let params = VbLogistic::params()
        .with_a0(args.a0.unwrap_or(elbo_classic::vb_logistic::DEFAULT_A0))
        .with_b0(args.b0.unwrap_or(elbo_classic::vb_logistic::DEFAULT_B0))
        .with_fixed_alpha(args.alpha)
        .with_intercept(true)
        .with_tol(args.tol.unwrap_or(elbo_classic::vb_logistic::DEFAULT_TOL))
        .with_max_iter(args.max_iter.unwrap_or(if c.quick {
            QUICK_MAX_ITER
        } else {
            elbo_classic::vb_logistic::DEFAULT_MAX_ITER
        }))
        .check()?;
    let data = dataset::load(&spec, args.target.as_deref(), seed)?;
    let t = dataset::require_target(&data, &spec)?.clone();
    let target = data.target_name.clone().unwrap_or_default();
    if let Some((i, v)) = t
        .iter()
        .enumerate()
        .find(|(_, v)| !(**v == 0.0 || **v == 1.0))
    {
        anyhow::bail!(
            "{spec}: target `{target}` must hold 0/1 labels; row {} is {v}",
            i + 1
        );
    }
    let positives = t.iter().filter(|&&v| v == 1.0).count();
    ensure!(
        positives > 0 && positives < t.len(),
        "{spec}: target `{target}` holds only one class ({} rows, all {})",
        t.len(),
        if positives > 0 { 1 } else { 0 }
    );
    ensure!(
        folds <= data.n_samples(),
        "--folds must be at most the number of rows ({}), got {folds}",
        data.n_samples()
    );
    let config = Config {
        data: spec.clone(),
        target,
        folds,
        a0: params.a0(),
        b0: params.b0(),
        alpha: params.fixed_alpha(),
        intercept: params.intercept(),
        tol: params.tol(),
        max_iter: params.max_iter(),
        standardize_inputs: true,
        ece_bins: ECE_BINS,
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

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let (x, t) = (&self.data.x, &self.t);
        let n = x.nrows();
        let label = self.label();

        // ---- K-fold cross-validation.
        let folds = kfold_indices(n, self.config.folds, self.run.seed)?;
        let mut oof = Array1::<f64>::zeros(n);
        let (mut acc, mut ll, mut ece) = (Vec::new(), Vec::new(), Vec::new());
        for (k, (train, test)) in folds.iter().enumerate() {
            let k1 = k + 1;
            progress.set_label(format!("{label}: fold {k1}/{}", folds.len()));
            let (xtr, xte) = (x.select(Axis(0), train), x.select(Axis(0), test));
            let (ttr, tte) = (t.select(Axis(0), train), t.select(Axis(0), test));
            let scaler = Standardizer::fit(xtr.view())
                .with_context(|| format!("fold {k1}: standardising the inputs"))?;
            let fit = self
                .params
                .fit_with(scaler.transform(xtr.view()).view(), ttr.view(), |i, b| {
                    progress.update(i, b)
                })
                .with_context(|| format!("fold {k1}"))?;
            let p = fit.try_predict_proba(scaler.transform(xte.view()).view())?;
            let pred = p.mapv(|v| if v > 0.5 { 1.0 } else { 0.0 });
            acc.push(metrics::accuracy(pred.view(), tte.view())?);
            ll.push(metrics::log_loss(p.view(), tte.view())?);
            ece.push(metrics::expected_calibration_error(
                p.view(),
                tte.view(),
                ECE_BINS,
            )?);
            for (&i, &v) in test.iter().zip(&p) {
                oof[i] = v;
            }
        }

        // ---- One fit on all the data: the bound and E[α].
        progress.set_label(format!("{label}: all data"));
        let scaler = Standardizer::fit(x.view()).context("standardising the inputs")?;
        let fit = self
            .params
            .fit_with(scaler.transform(x.view()).view(), t.view(), |i, b| {
                progress.update(i, b)
            })?;
        let wall = start.elapsed().as_secs_f64();

        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut m = Metrics::new(&self.run.id);
        m.set("log_evidence", fit.log_evidence())?;
        m.set("alpha_mean", fit.alpha_mean())?;
        m.set("a_n", fit.a_n())?;
        m.set("b_n", fit.b_n())?;
        m.set("n_iter", fit.n_iter())?;
        m.set("converged", fit.converged())?;
        m.set("accuracy", mean(&acc))?;
        m.set("accuracy_folds", &acc)?;
        m.set("log_loss", mean(&ll))?;
        m.set("log_loss_folds", &ll)?;
        m.set("ece", mean(&ece))?;
        m.set("ece_folds", &ece)?;
        m.set("n_samples", n)?;
        m.set("n_features", x.ncols())?;
        m.set("weights_mean", fit.m_n().to_vec())?;
        m.set(
            "scaler",
            serde_json::json!({"mean": scaler.mean.to_vec(), "std": scaler.std.to_vec()}),
        )?;
        let metrics = m.finish(wall, fit.elbo_trace());

        let figures = vec![
            FigureFile {
                file: "bound_trace.svg".into(),
                title: "Bound per iteration (fit on all data)".into(),
                svg: plot::bound_trace(
                    &format!("vb-logistic on {}: bound per iteration", self.config.data),
                    fit.elbo_trace(),
                )
                .to_svg()?,
            },
            FigureFile {
                file: "reliability.svg".into(),
                title: format!(
                    "Reliability diagram ({}-fold out-of-fold predictions)",
                    self.config.folds
                ),
                svg: reliability(
                    &format!("vb-logistic on {}: reliability", self.config.data),
                    &oof,
                    t,
                )?
                .to_svg()?,
            },
        ];
        let summary = vec![
            format!(
                "{MODEL} on {} ({} x {}), seed {}: {}-fold accuracy {} (log-loss {}, ECE {})",
                self.config.data,
                n,
                x.ncols(),
                self.run.seed,
                self.config.folds,
                fmt_num(mean(&acc)),
                fmt_num(mean(&ll)),
                fmt_num(mean(&ece))
            ),
            format!(
                "full fit: bound {} after {} iterations, E[alpha] = {}",
                fmt_num(fit.log_evidence()),
                fit.n_iter(),
                fmt_num(fit.alpha_mean())
            ),
        ];
        let mut warnings = Vec::new();
        if !fit.converged() {
            warnings.push(format!(
                "the bound did not converge in {} iterations (tol {}); raise --max-iter",
                fit.n_iter(),
                self.config.tol
            ));
        }
        Ok(ModelRun {
            metrics,
            figures,
            summary,
            warnings,
            split: Some(Split::kfold(x.view(), t.view(), folds)),
            data_csv: dataset::is_generated(&self.config.data).then(|| dataset::to_csv(&self.data)),
            extra: Vec::new(),
        })
    }
}

/// Reliability diagram: per equal-width bin of p(t = 1), the observed
/// frequency of t = 1 against the mean predicted probability.
fn reliability(title: &str, p: &Array1<f64>, t: &Array1<f64>) -> anyhow::Result<Figure> {
    let mut count = [0usize; ECE_BINS];
    let mut sum_p = [0.0; ECE_BINS];
    let mut sum_t = [0.0; ECE_BINS];
    for (&pi, &ti) in p.iter().zip(t) {
        let b = ((pi.clamp(0.0, 1.0) * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        count[b] += 1;
        sum_p[b] += pi;
        sum_t[b] += ti;
    }
    let w = 1.0 / ECE_BINS as f64;
    let bars: Vec<(f64, f64, f64)> = (0..ECE_BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| (b as f64 * w, (b + 1) as f64 * w, sum_t[b] / count[b] as f64))
        .collect();
    let points: Vec<(f64, f64)> = (0..ECE_BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_p[b] / count[b] as f64, sum_t[b] / count[b] as f64))
        .collect();
    Ok(
        Figure::new(title, "predicted p(t = 1)", "observed frequency of t = 1")
            .x_range(0.0, 1.0)
            .y_range(0.0, 1.0)
            .layer(Layer::Bars {
                bars,
                colour: colour::BLUE,
                label: Some("observed, per bin".into()),
            })
            .layer(Layer::Line {
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                colour: colour::GREY,
                label: Some("perfect calibration".into()),
            })
            .layer(Layer::Points {
                points,
                colour: colour::RED,
                label: Some("bin mean".into()),
            }),
    )
}
