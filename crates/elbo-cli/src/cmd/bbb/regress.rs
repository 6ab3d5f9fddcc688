//! `elbo bbb regress`: the regression curve of Blundell et al. (2015)
//! Fig. 5, y = x + 0.3 sin(2π(x+ε)) + 0.3 sin(4π(x+ε)) + ε, ε ~ N(0, 0.02²),
//! trained on x ∈ [0, 0.5]; the predictive median, interquartile and 95 %
//! bands of f(x; w), w ~ q, on [−0.2, 1.2] beside a plain network.

use std::time::Instant;

use elbo_deep::bayes::train::{FitConfig, Trainer, matrix, predict_samples};
use elbo_deep::bayes::{Likelihood, Prior, Sampling};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use serde::Serialize;

use super::common::{self, Checkpoint};
use super::{Args, PriorKind};
use crate::cmd::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::distributed::Comm;
use crate::metrics::Metrics;
use crate::plot::{Figure, Layer, bound_trace, colour};
use crate::progress::Progress;

/// The noise standard deviation of the curve (and of the likelihood).
const NOISE: f64 = 0.02;
/// Grid points of the predictive curve.
const GRID: usize = 150;

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Training points.
    pub n: usize,
    /// Noise sd of the data and the likelihood.
    pub noise: f64,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Passes over the data (full batch unless --batch-size).
    pub epochs: usize,
    /// Prior.
    pub prior: serde_json::Value,
    /// BBB fit.
    pub fit: FitConfig,
    /// Weight draws for the bands.
    pub test_samples: usize,
}

/// A validated `bbb regress` run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    prior: Prior,
    run: RunMeta,
    args: Args,
}

/// Validate the flags.
pub fn prepare(args: Args) -> anyhow::Result<Plan> {
    let quick = args.common.quick;
    anyhow::ensure!(
        args.common.data.is_none(),
        "bbb regress generates its data; --data is not used"
    );
    let n = if quick { 40 } else { 100 };
    let (prior, pv) = common::prior(&args, PriorKind::Gaussian)?;
    let config = Config {
        n,
        noise: NOISE,
        hidden: common::count("hidden", args.hidden, if quick { 32 } else { 64 })?,
        layers: common::count("layers", args.layers, 2)?,
        epochs: common::count("epochs", args.epochs, if quick { 150 } else { 2000 })?,
        prior: pv,
        fit: common::fit_config(&args, n, 1e-2)?,
        test_samples: common::count(
            "test-samples",
            args.test_samples,
            if quick { 50 } else { 200 },
        )?,
    };
    let run = common::run_meta(&args, "curve", &config)?;
    Ok(Plan {
        config,
        prior,
        run,
        args,
    })
}

/// The curve of Fig. 5 at x with noise e.
fn curve(x: f64, e: f64) -> f64 {
    use std::f64::consts::PI;
    x + 0.3 * (2.0 * PI * (x + e)).sin() + 0.3 * (4.0 * PI * (x + e)).sin() + e
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let c = &self.config;
        let device = common::device(&self.args)?;
        let mut rng = StdRng::seed_from_u64(self.run.seed);
        let xs: Vec<f64> = (0..c.n).map(|_| rng.random::<f64>() * 0.5).collect();
        let ys: Vec<f64> = xs
            .iter()
            .map(|&x| curve(x, NOISE * rng.sample::<f64, _>(StandardNormal)))
            .collect();
        let ad = device.clone().autodiff();
        let x = matrix(xs.iter().map(|&v| v as f32).collect(), c.n, 1, &ad);
        let y = matrix(ys.iter().map(|&v| v as f32).collect(), c.n, 1, &ad);
        let mut sizes = vec![1];
        sizes.extend(std::iter::repeat_n(c.hidden, c.layers));
        sizes.push(1);
        let lik = Likelihood::Gaussian { sigma: NOISE };
        let ckdir = common::checkpoint_dir(&self.out_dir());
        let ck = |name: &str| Checkpoint {
            dir: ckdir.clone(),
            name: name.into(),
            resume: self.args.resume,
        };

        let net = common::network(sizes.clone(), -5.0, &device)?;
        let mut bbb = Trainer::new(net, self.prior.clone(), lik, c.fit.clone())?;
        let trace = common::train_epochs(
            &mut bbb,
            &x,
            &y,
            c.epochs,
            Some(&ck("bbb")),
            progress,
            "bbb",
            &Comm::single(),
        )?;
        let net = common::network(sizes, -5.0, &device)?;
        let plain_fit = FitConfig {
            lr: c.fit.lr,
            batch_size: c.fit.batch_size,
            seed: c.fit.seed,
            ..FitConfig::plain(None)
        };
        let mut plain = Trainer::new(net, self.prior.clone(), lik, plain_fit)?;
        common::train_epochs(
            &mut plain,
            &x,
            &y,
            c.epochs,
            Some(&ck("plain")),
            progress,
            "plain",
            &Comm::single(),
        )?;

        // ---- Predictive bands on a grid.
        let grid: Vec<f64> = (0..GRID)
            .map(|i| -0.2 + 1.4 * i as f64 / (GRID - 1) as f64)
            .collect();
        let g = matrix(grid.iter().map(|&v| v as f32).collect(), GRID, 1, &device);
        let samples = predict_samples(
            &bbb.net.inference(),
            &g,
            c.test_samples,
            Sampling::Weights,
            GRID,
        );
        let plain_f = &predict_samples(&plain.net.inference(), &g, 1, Sampling::Mean, GRID)[0];
        let band = |q: f64| -> Vec<f64> {
            (0..GRID)
                .map(|i| {
                    let mut v: Vec<f64> = samples.iter().map(|s| s[i] as f64).collect();
                    common::quantile(&mut v, q)
                })
                .collect()
        };
        let (q025, q25, q50, q75, q975) =
            (band(0.025), band(0.25), band(0.5), band(0.75), band(0.975));
        let width = |lo: f64, hi: f64| {
            let idx: Vec<usize> = (0..GRID)
                .filter(|&i| grid[i] >= lo && grid[i] <= hi)
                .collect();
            idx.iter().map(|&i| q975[i] - q025[i]).sum::<f64>() / idx.len().max(1) as f64
        };
        let (w_in, w_out) = (width(0.0, 0.5), width(0.8, 1.2));
        let truth: Vec<f64> = grid.iter().map(|&x| curve(x, 0.0)).collect();
        let in_idx: Vec<usize> = (0..GRID)
            .filter(|&i| grid[i] >= 0.0 && grid[i] <= 0.5)
            .collect();
        let rmse = |f: &dyn Fn(usize) -> f64| {
            (in_idx
                .iter()
                .map(|&i| (f(i) - truth[i]).powi(2))
                .sum::<f64>()
                / in_idx.len() as f64)
                .sqrt()
        };
        let rmse_bbb = rmse(&|i| q50[i]);
        let rmse_plain = rmse(&|i| plain_f[i] as f64);

        let mut m = Metrics::new(&self.run.id);
        m.set("rmse", rmse_bbb)?;
        m.set("rmse_plain", rmse_plain)?;
        m.set("band95_width_in_data", w_in)?;
        m.set("band95_width_far", w_out)?;
        m.set(
            "final_kl",
            bbb.epoch(&x, &y).map(|s| s.kl).unwrap_or(f64::NAN),
        )?;
        let metrics = m.finish(start.elapsed().as_secs_f64(), &trace);

        let pts = |v: &[f64]| {
            grid.iter()
                .copied()
                .zip(v.iter().copied())
                .collect::<Vec<_>>()
        };
        let fig = Figure::new(
            "Bayes by Backprop: regression (Blundell et al. Fig. 5)",
            "x",
            "y",
        )
        .y_range(-1.5, 2.0)
        .layer(Layer::Band {
            x: grid.clone(),
            lower: q025,
            upper: q975,
            colour: colour::SKY,
            opacity: 0.3,
            label: Some("BBB 95 %".into()),
        })
        .layer(Layer::Band {
            x: grid.clone(),
            lower: q25,
            upper: q75,
            colour: colour::BLUE,
            opacity: 0.35,
            label: Some("BBB interquartile".into()),
        })
        .layer(Layer::Line {
            points: pts(&q50),
            colour: colour::BLUE,
            label: Some("BBB median".into()),
        })
        .layer(Layer::Line {
            points: grid
                .iter()
                .zip(plain_f)
                .map(|(&a, &b)| (a, b as f64))
                .collect(),
            colour: colour::RED,
            label: Some("plain network".into()),
        })
        .layer(Layer::Line {
            points: pts(&truth),
            colour: colour::GREY,
            label: Some("noise-free curve".into()),
        })
        .layer(Layer::Points {
            points: xs.iter().copied().zip(ys.iter().copied()).collect(),
            colour: colour::BLACK,
            label: Some("training data".into()),
        });
        Ok(ModelRun {
            metrics,
            figures: vec![
                FigureFile {
                    file: "regression.svg".into(),
                    title: "Predictive bands beside a plain network".into(),
                    svg: fig.to_svg()?,
                },
                FigureFile {
                    file: "bound.svg".into(),
                    title: "Bound per epoch".into(),
                    svg: bound_trace("bbb regress: bound", &trace).to_svg()?,
                },
            ],
            summary: vec![
                format!(
                    "bbb regress: 95 % band width {} on the data, {} far from it (x in [0.8, 1.2])",
                    fmt_num(w_in),
                    fmt_num(w_out)
                ),
                format!(
                    "RMSE to the noise-free curve on [0, 0.5]: BBB median {}, plain {}",
                    fmt_num(rmse_bbb),
                    fmt_num(rmse_plain)
                ),
            ],
            warnings: vec![],
            split: None,
            data_csv: Some(
                std::iter::once("x,y".to_string())
                    .chain(xs.iter().zip(&ys).map(|(a, b)| format!("{a},{b}")))
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n",
            ),
            extra: vec![],
        })
    }
}
