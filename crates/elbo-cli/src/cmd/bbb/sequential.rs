//! `elbo bbb sequential`: the seed's sequential update. The data arrive in
//! K chunks; after each, the posterior becomes the prior for the next
//! (`BayesMlp::posterior_as_prior`), p(w | D_{1:t}) ∝ p(D_t | w) p(w | D_{1:t−1}).
//! Compared with one batch fit on all the data, and both with the exact
//! posterior, on Bayesian linear regression (one `BayesLinear` layer) over
//! the standardised table (embedded diabetes by default), where the exact
//! answer is known.

use std::time::Instant;

use elbo_core::data::{Standardizer, shuffled_indices};
use elbo_deep::bayes::exact::kl_diag_to_full;
use elbo_deep::bayes::train::{FitConfig, Trainer, matrix, predict_samples};
use elbo_deep::bayes::{BayesMlp, Likelihood, Prior, Sampling};
use ndarray::{Array2, Axis};
use serde::Serialize;

use super::common;
use super::{Args, PriorKind};
use crate::cmd::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::dataset;
use crate::distributed::Comm;
use crate::metrics::Metrics;
use crate::plot::{Figure, Layer, colour};
use crate::progress::Progress;

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `--data`.
    pub data: String,
    /// Chunks.
    pub chunks: usize,
    /// Epochs per fit (per chunk, and for the batch fit).
    pub epochs: usize,
    /// Known noise sd (standardised units).
    pub noise: f64,
    /// Prior.
    pub prior: serde_json::Value,
    /// Fit.
    pub fit: FitConfig,
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    prior: Prior,
    x: Array2<f64>,
    t: Vec<f64>,
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
    let d = dataset::load(&spec, args.target.as_deref(), args.common.seed())?;
    let y = dataset::require_target(&d, &spec)?.clone();
    let chunks = common::count("chunks", args.chunks, 4)?;
    anyhow::ensure!(
        d.n_samples() >= 2 * chunks,
        "{spec}: {} rows cannot make {chunks} chunks of at least 2",
        d.n_samples()
    );
    let x = Standardizer::fit(d.x.view())?.transform(d.x.view());
    let (m, s) = (y.mean().unwrap_or(0.0), y.std(0.0).max(1e-12));
    let t: Vec<f64> = y.iter().map(|v| (v - m) / s).collect();
    let (prior, pv) = common::prior(&args, PriorKind::Gaussian)?;
    let config = Config {
        data: spec.clone(),
        chunks,
        epochs: common::count("epochs", args.epochs, if quick { 40 } else { 300 })?,
        noise: std::f64::consts::FRAC_1_SQRT_2,
        prior: pv,
        fit: FitConfig {
            samples: args.samples.unwrap_or(4),
            ..common::fit_config(&args, 64, 1e-2)?
        },
    };
    let run = common::run_meta(&args, &spec, &config)?;
    Ok(Box::new(Plan {
        config,
        prior,
        x,
        t,
        run,
        args,
    }))
}

/// (means, variances) of a one-layer network, ordered (bias, w_1…w_D).
fn moments(net: &BayesMlp) -> (Vec<f64>, Vec<f64>) {
    match net.posterior_as_prior() {
        Prior::Factorised(f) => {
            let (wm, ws, bm, bs) = f[0].to_vecs();
            let mu = bm.iter().chain(&wm).map(|&v| v as f64).collect();
            let var = bs.iter().chain(&ws).map(|&v| (v as f64).powi(2)).collect();
            (mu, var)
        }
        _ => (vec![], vec![]),
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
        let ad = device.clone().autodiff();
        let (n, d) = self.x.dim();
        let order = shuffled_indices(n, self.run.seed);
        let lik = Likelihood::Gaussian { sigma: c.noise };
        let tensors = |rows: &[usize], dev| {
            let x = self.x.select(Axis(0), rows);
            (
                matrix(x.iter().map(|&v| v as f32).collect(), rows.len(), d, dev),
                matrix(
                    rows.iter().map(|&i| self.t[i] as f32).collect(),
                    rows.len(),
                    1,
                    dev,
                ),
            )
        };
        // ---- One batch fit.
        let (xa, ya) = tensors(&order, &ad);
        let mut batch = Trainer::new(
            common::network(vec![d, 1], -3.0, &device)?,
            self.prior.clone(),
            lik,
            c.fit.clone(),
        )?;
        let batch_trace = common::train_epochs(
            &mut batch,
            &xa,
            &ya,
            c.epochs,
            None,
            progress,
            "batch fit",
            &Comm::single(),
        )?;
        // ---- Sequential: each chunk's posterior is the next chunk's prior.
        let mut prior = self.prior.clone();
        let mut net = common::network(vec![d, 1], -3.0, &device)?;
        let mut trace = Vec::new();
        let chunk = n.div_ceil(c.chunks);
        for (k, rows) in order.chunks(chunk).enumerate() {
            let (xc, yc) = tensors(rows, &ad);
            let mut tr = Trainer::new(
                net,
                prior,
                lik,
                FitConfig {
                    seed: c.fit.seed + k as u64 + 1,
                    ..c.fit.clone()
                },
            )?;
            trace.extend(common::train_epochs(
                &mut tr,
                &xc,
                &yc,
                c.epochs,
                None,
                progress,
                &format!("chunk {}/{}", k + 1, c.chunks),
                &Comm::single(),
            )?);
            prior = tr.net.posterior_as_prior();
            net = tr.net;
        }
        // ---- Distances.
        let beta = 1.0 / (c.noise * c.noise);
        let alpha = match self.prior {
            Prior::Gaussian { sigma } => 1.0 / (sigma * sigma),
            _ => 1.0,
        };
        let mut phi = Array2::<f64>::ones((n, d + 1));
        phi.slice_mut(ndarray::s![.., 1..]).assign(&self.x);
        let mut lambda = phi.t().dot(&phi) * beta;
        for i in 0..=d {
            lambda[[i, i]] += alpha;
        }
        let exact_m = {
            let fit = elbo_classic::vblr::Vblr::params()
                .with_noise(elbo_classic::vblr::Noise::Known(beta))
                .with_fixed_alpha(Some(alpha))
                .fit(phi.view(), ndarray::ArrayView1::from(&self.t))?;
            fit.m_n().to_vec()
        };
        let (mb, vb) = moments(&batch.net);
        let (ms, vs) = moments(&net);
        let kl_exact =
            |m: &[f64], v: &[f64]| kl_diag_to_full(m, v, &exact_m, &lambda).unwrap_or(f64::NAN);
        let kl_seq_batch: f64 = (0..=d)
            .map(|i| 0.5 * ((vb[i] / vs[i]).ln() + (vs[i] + (ms[i] - mb[i]).powi(2)) / vb[i] - 1.0))
            .sum();
        let max_mean_diff = (0..=d).map(|i| (ms[i] - mb[i]).abs()).fold(0.0, f64::max);
        let (x_all, _) = tensors(&order, &device);
        let pb = &predict_samples(&batch.net.inference(), &x_all, 1, Sampling::Mean, n)[0];
        let ps = &predict_samples(&net.inference(), &x_all, 1, Sampling::Mean, n)[0];
        let pred_rmse = (pb
            .iter()
            .zip(ps)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            / n as f64)
            .sqrt();

        let mut m = Metrics::new(&self.run.id);
        m.set("kl_sequential_to_batch", kl_seq_batch)?;
        m.set("kl_sequential_to_exact", kl_exact(&ms, &vs))?;
        m.set("kl_batch_to_exact", kl_exact(&mb, &vb))?;
        m.set("max_mean_difference", max_mean_diff)?;
        m.set("prediction_rmse_difference", pred_rmse)?;
        m.set("batch_elbo_trace", &batch_trace)?;
        m.set(
            "means",
            serde_json::json!({"exact": exact_m, "batch": mb, "sequential": ms}),
        )?;
        m.set(
            "variances",
            serde_json::json!({"batch": vb, "sequential": vs}),
        )?;
        let bars = |v: &[f64], off: f64| -> Vec<(f64, f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(i, &s)| (i as f64 + off, i as f64 + off + 0.28, s))
                .collect()
        };
        let fig = Figure::new(
            "Posterior means: exact, batch BBB, sequential BBB",
            "weight (0 = bias)",
            "posterior mean (standardised units)",
        )
        .layer(Layer::Bars {
            bars: bars(&exact_m, 0.0),
            colour: colour::GREY,
            label: Some("exact".into()),
        })
        .layer(Layer::Bars {
            bars: bars(&mb, 0.3),
            colour: colour::BLUE,
            label: Some("batch".into()),
        })
        .layer(Layer::Bars {
            bars: bars(&ms, 0.6),
            colour: colour::ORANGE,
            label: Some(format!("sequential, {} chunks", c.chunks)),
        });
        Ok(ModelRun {
            metrics: m.finish(start.elapsed().as_secs_f64(), &trace),
            figures: vec![FigureFile {
                file: "sequential.svg".into(),
                title: "Posterior means after sequential and batch fits".into(),
                svg: fig.to_svg()?,
            }],
            summary: vec![
                format!(
                    "bbb sequential on {} ({} chunks, {} epochs each): KL(q_seq ‖ q_batch) = {} nats, max |Δμ| = {}, prediction RMSE difference {}",
                    c.data,
                    c.chunks,
                    c.epochs,
                    fmt_num(kl_seq_batch),
                    fmt_num(max_mean_diff),
                    fmt_num(pred_rmse)
                ),
                format!(
                    "KL to the exact posterior: sequential {}, batch {} nats",
                    fmt_num(kl_exact(&ms, &vs)),
                    fmt_num(kl_exact(&mb, &vb))
                ),
            ],
            ..ModelRun::default()
        })
    }
}
