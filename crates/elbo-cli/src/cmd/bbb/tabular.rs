//! `elbo bbb tabular`: regression on a table with the standard protocol of
//! Hernández-Lobato & Adams (2015): random 90/10 splits, inputs and target
//! standardised on the training rows, one hidden layer of 50 ReLU units,
//! RMSE and test log-likelihood (original units) as mean ± standard error;
//! BBB beside the same network by maximum likelihood. Also measures the
//! cost of mean field where it is exact to measure: the linear model on the
//! same standardised data against its exact posterior
//! (`elbo_deep::bayes::exact`).

use std::time::Instant;

use elbo_core::data::{Dataset, Standardizer, shuffled_indices};
use elbo_deep::bayes::exact::compare_linear;
use elbo_deep::bayes::train::{FitConfig, Trainer, matrix, predict_samples};
use elbo_deep::bayes::{BayesMlp, Device, Likelihood, Prior, Sampling};
use ndarray::{Array1, Array2, Axis};
use serde::Serialize;

use super::common;
use super::{Args, PriorKind};
use crate::cmd::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::dataset;
use crate::distributed::Comm;
use crate::metrics::Metrics;
use crate::plot::{Figure, Layer, bound_trace, colour};
use crate::progress::Progress;

/// ½ ln 2π.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `--data`.
    pub data: String,
    /// Rows and input columns.
    pub shape: (usize, usize),
    /// Random 90/10 splits.
    pub splits: usize,
    /// Hidden units (one hidden layer unless --layers).
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Epochs per split.
    pub epochs: usize,
    /// Prior.
    pub prior: serde_json::Value,
    /// BBB fit (noise σ point-estimated).
    pub fit: FitConfig,
    /// Weight draws per test prediction.
    pub test_samples: usize,
    /// α, β of the linear mean-field measurement (standardised units).
    pub mean_field_alpha_beta: (f64, f64),
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    prior: Prior,
    data: Dataset,
    y: Array1<f64>,
    run: RunMeta,
    args: Args,
}

/// Validate the flags and load the table.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    let quick = args.common.quick;
    let spec = args
        .common
        .data
        .clone()
        .unwrap_or_else(|| "diabetes".into());
    let data = dataset::load(&spec, args.target.as_deref(), args.common.seed())?;
    let y = dataset::require_target(&data, &spec)?.clone();
    anyhow::ensure!(
        data.n_samples() >= 20,
        "{spec}: {} rows; a 90/10 split needs at least 20",
        data.n_samples()
    );
    anyhow::ensure!(
        data.x.iter().chain(y.iter()).all(|v| v.is_finite()),
        "{spec}: the table holds NaN or infinite values"
    );
    let (prior, pv) = common::prior(&args, PriorKind::Gaussian)?;
    let config = Config {
        data: spec.clone(),
        shape: (data.n_samples(), data.n_features()),
        splits: common::count("splits", args.splits, if quick { 2 } else { 20 })?,
        hidden: common::count("hidden", args.hidden, 50)?,
        layers: common::count("layers", args.layers, 1)?,
        epochs: common::count("epochs", args.epochs, if quick { 20 } else { 200 })?,
        prior: pv,
        fit: common::fit_config(&args, 32, 5e-3)?,
        test_samples: common::count("test-samples", args.test_samples, 100)?,
        mean_field_alpha_beta: (1.0, 2.0),
    };
    let run = common::run_meta(&args, &spec, &config)?;
    Ok(Box::new(Plan {
        config,
        prior,
        data,
        y,
        run,
        args,
    }))
}

/// RMSE and mean test log-likelihood in original units, from predictive
/// draws f_s (standardised) and the noise σ: ln (1/S) Σ_s N(y | f_s, σ²).
fn evaluate(draws: &[Vec<f32>], sigma: f64, y: &[f64], y_mean: f64, y_std: f64) -> (f64, f64) {
    let s = draws.len() as f64;
    let (mut se, mut ll) = (0.0, 0.0);
    for (i, &yi) in y.iter().enumerate() {
        let z = (yi - y_mean) / y_std;
        let mean = draws.iter().map(|d| d[i] as f64).sum::<f64>() / s;
        se += ((mean - z) * y_std).powi(2);
        let lps: Vec<f64> = draws
            .iter()
            .map(|d| -0.5 * ((z - d[i] as f64) / sigma).powi(2) - sigma.ln() - HALF_LN_2PI)
            .collect();
        let mx = lps.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        ll += mx + (lps.iter().map(|l| (l - mx).exp()).sum::<f64>() / s).ln() - y_std.ln();
    }
    let n = y.len() as f64;
    ((se / n).sqrt(), ll / n)
}

impl Plan {
    fn fit_split(
        &self,
        split: usize,
        device: &Device,
        progress: &mut Progress,
    ) -> anyhow::Result<[(f64, f64); 2]> {
        let c = &self.config;
        let n = self.data.n_samples();
        let idx = shuffled_indices(n, self.run.seed.wrapping_add(split as u64));
        let n_test = (n / 10).max(1);
        let (test, train) = idx.split_at(n_test);
        let xs = |rows: &[usize]| self.data.x.select(Axis(0), rows);
        let (x_tr, x_te) = (xs(train), xs(test));
        let sc = Standardizer::fit(x_tr.view())?;
        let (z_tr, z_te) = (sc.transform(x_tr.view()), sc.transform(x_te.view()));
        let y_tr: Vec<f64> = train.iter().map(|&i| self.y[i]).collect();
        let y_te: Vec<f64> = test.iter().map(|&i| self.y[i]).collect();
        let y_mean = y_tr.iter().sum::<f64>() / y_tr.len() as f64;
        let y_std = (y_tr.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / y_tr.len() as f64)
            .sqrt()
            .max(1e-12);
        let d = self.data.n_features();
        let ad = device.clone().autodiff();
        let f32s = |a: &Array2<f64>| a.iter().map(|&v| v as f32).collect::<Vec<_>>();
        let x = matrix(f32s(&z_tr), train.len(), d, &ad);
        let y = matrix(
            y_tr.iter().map(|v| ((v - y_mean) / y_std) as f32).collect(),
            train.len(),
            1,
            &ad,
        );
        let xt = matrix(f32s(&z_te), test.len(), d, device);
        let mut sizes = vec![d];
        sizes.extend(std::iter::repeat_n(c.hidden, c.layers));
        sizes.push(1);
        let fit = FitConfig {
            seed: c.fit.seed.wrapping_add(split as u64),
            ..c.fit.clone()
        };
        let plain_fit = FitConfig {
            lr: fit.lr,
            batch_size: fit.batch_size,
            seed: fit.seed,
            ..FitConfig::plain(None)
        };
        let mut out = [(0.0, 0.0); 2];
        for (k, (f, sampling, s)) in [
            (fit, Sampling::Weights, c.test_samples),
            (plain_fit, Sampling::Mean, 1),
        ]
        .into_iter()
        .enumerate()
        {
            let net = common::network(sizes.clone(), -5.0, device)?;
            let mut tr = Trainer::new(net, self.prior.clone(), Likelihood::GaussianLearnt, f)?;
            let label = format!(
                "split {}/{} {}",
                split + 1,
                c.splits,
                if k == 0 { "bbb" } else { "plain" }
            );
            common::train_epochs(
                &mut tr,
                &x,
                &y,
                c.epochs,
                None,
                progress,
                &label,
                &Comm::single(),
            )?;
            let net: BayesMlp = tr.net.inference();
            let draws = predict_samples(&net, &xt, s, sampling, 10_000);
            out[k] = evaluate(&draws, net.noise_sigma(), &y_te, y_mean, y_std);
        }
        Ok(out)
    }
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let c = &self.config;
        let device = common::device(&self.args)?;
        let mut res = Vec::new();
        for s in 0..c.splits {
            res.push(self.fit_split(s, &device, progress)?);
        }
        let col = |k: usize, j: usize| -> Vec<f64> {
            res.iter()
                .map(|r| if j == 0 { r[k].0 } else { r[k].1 })
                .collect()
        };
        let (rmse, rmse_se) = common::mean_se(&col(0, 0));
        let (ll, ll_se) = common::mean_se(&col(0, 1));
        let (prmse, prmse_se) = common::mean_se(&col(1, 0));
        let (pll, pll_se) = common::mean_se(&col(1, 1));

        // ---- The cost of mean field, on the linear model of the same data.
        let sc = Standardizer::fit(self.data.x.view())?;
        let z = sc.transform(self.data.x.view());
        let ym = self.y.mean().unwrap_or(0.0);
        let ys = self.y.std(0.0).max(1e-12);
        let t = self.y.mapv(|v| (v - ym) / ys);
        let (alpha, beta) = c.mean_field_alpha_beta;
        let mf = compare_linear(z.view(), t.view(), alpha, beta, 1500, &device)?;

        let mut m = Metrics::new(&self.run.id);
        m.set("rmse", rmse)?;
        m.set("rmse_se", rmse_se)?;
        m.set("test_loglik", ll)?;
        m.set("test_loglik_se", ll_se)?;
        m.set("plain", serde_json::json!({"rmse": prmse, "rmse_se": prmse_se, "test_loglik": pll, "test_loglik_se": pll_se}))?;
        m.set("per_split", &res)?;
        m.set("mean_field", &mf)?;
        let trace: Vec<f64> = vec![];
        let names: Vec<String> = std::iter::once("bias".to_string())
            .chain(self.data.feature_names.iter().cloned())
            .collect();
        let bars = |v: &[f64], off: f64| -> Vec<(f64, f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, &s)| (i as f64 + off, i as f64 + off + 0.4, s.sqrt()))
                .collect()
        };
        let fig = Figure::new(
            format!(
                "Mean field vs exact posterior sd ({}; KL gap {} nats)",
                c.data,
                fmt_num(mf.kl_gap_theory)
            ),
            "weight (0 = bias, then the inputs in order)",
            "posterior standard deviation",
        )
        .layer(Layer::Bars {
            bars: bars(&mf.var_exact, 0.0),
            colour: colour::GREY,
            label: Some("exact sqrt(S_N ii)".into()),
        })
        .layer(Layer::Bars {
            bars: bars(&mf.var_fit, 0.45),
            colour: colour::BLUE,
            label: Some("BBB mean field σ".into()),
        });
        Ok(ModelRun {
            metrics: m.finish(start.elapsed().as_secs_f64(), &trace),
            figures: vec![
                FigureFile {
                    file: "mean_field.svg".into(),
                    title: format!(
                        "Posterior sd of the linear model's weights ({})",
                        names.join(", ")
                    ),
                    svg: fig.to_svg()?,
                },
                FigureFile {
                    file: "splits.svg".into(),
                    title: "Test RMSE per split".into(),
                    svg: bound_trace("test RMSE per split (BBB)", &col(0, 0)).to_svg()?,
                },
            ],
            summary: vec![
                format!(
                    "bbb tabular on {} ({} splits, {} epochs): RMSE {} ± {}, test log-likelihood {} ± {}",
                    c.data,
                    c.splits,
                    c.epochs,
                    fmt_num(rmse),
                    fmt_num(rmse_se),
                    fmt_num(ll),
                    fmt_num(ll_se)
                ),
                format!(
                    "plain network: RMSE {} ± {}, test log-likelihood {} ± {}",
                    fmt_num(prmse),
                    fmt_num(prmse_se),
                    fmt_num(pll),
                    fmt_num(pll_se)
                ),
                format!(
                    "mean field on the linear model: KL(q*‖p) = {} nats (fitted {}), variance ratio 1/Λii ÷ S_N,ii = {}",
                    fmt_num(mf.kl_gap_theory),
                    fmt_num(mf.kl_gap_fitted),
                    fmt_num(mf.variance_ratio)
                ),
            ],
            ..ModelRun::default()
        })
    }
}
