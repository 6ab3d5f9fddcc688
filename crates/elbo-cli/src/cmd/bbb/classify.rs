//! `elbo bbb classify` and `elbo bbb prune`: image classification with a
//! Bayesian MLP (Blundell et al. 2015 §5.1) beside the same network fitted
//! by maximum likelihood and with dropout; calibration, out-of-distribution
//! detection by predictive entropy, and pruning by |μ|/σ.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::ensure;

use elbo_classic::vb_logistic::metrics::expected_calibration_error;
use elbo_deep::bayes::train::{FitConfig, Trainer, matrix, one_hot, predictive_probs};
use elbo_deep::bayes::{BayesMlp, Device, Likelihood, Prior, Sampling, Tensor};
use elbo_deep::data::{self, ImageSet, Split};
use ndarray::Array1;
use serde::Serialize;

use super::common::{self, Checkpoint};
use super::{Args, Experiment, PriorKind};
use crate::cmd::{FigureFile, ModelRun, Prepared, RunMeta, fmt_num};
use crate::distributed::Comm;
use crate::metrics::Metrics;
use crate::plot::{Figure, Layer, bound_trace, colour};
use crate::progress::Progress;

/// Bins of the ECE and the reliability diagram.
const ECE_BINS: usize = 15;
/// Classes.
const K: usize = 10;
/// Fractions of weights removed by `prune`.
const PRUNE_FRACTIONS: [f64; 8] = [0.0, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995];

/// The resolved configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// `fashion-mnist` or the MNIST directory.
    pub data: String,
    /// Training images used.
    pub train_size: usize,
    /// Test images used.
    pub test_size: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Hidden layers.
    pub layers: usize,
    /// Epochs per network.
    pub epochs: usize,
    /// Prior of BBB.
    pub prior: serde_json::Value,
    /// BBB fit.
    pub fit: FitConfig,
    /// Weight draws per test prediction.
    pub test_samples: usize,
    /// Dropout probability of the dropout baseline.
    pub dropout: f64,
    /// The out-of-distribution set.
    pub ood_set: String,
    /// Processes training data-parallel (1 without `--distributed`).
    pub processes: usize,
}

/// A validated run.
#[derive(Debug)]
pub struct Plan {
    config: Config,
    prior: Prior,
    train: ImageSet,
    test: ImageSet,
    ood: ImageSet,
    run: RunMeta,
    args: Args,
    comm: Comm,
}

fn load(spec: Option<&str>, split: Split) -> anyhow::Result<(String, ImageSet)> {
    Ok(match spec {
        None | Some("fashion-mnist") => ("fashion-mnist".into(), data::fashion_mnist(None, split)?),
        Some(dir) => (
            dir.to_string(),
            data::mnist(std::path::Path::new(dir), split)?,
        ),
    })
}

/// Validate the flags and load the images.
pub fn prepare(args: Args) -> anyhow::Result<Box<dyn Prepared>> {
    let quick = args.common.quick;
    let prune = args.experiment == Experiment::Prune;
    let (name, train) = load(args.common.data.as_deref(), Split::Train)?;
    let (_, test) = load(args.common.data.as_deref(), Split::Test)?;
    let train_size = common::count(
        "train-size",
        args.train_size,
        if quick { 1000 } else { train.len() },
    )?;
    let test_size = common::count(
        "test-size",
        args.test_size,
        if quick { 500 } else { test.len() },
    )?;
    let train = train.take(train_size);
    let test = test.take(test_size);
    // The OOD set: a named MNIST directory, MNIST at a conventional path, or
    // the embedded digits in MNIST's layout.
    let mnist_dir = args
        .ood_data
        .clone()
        .or_else(|| Some(PathBuf::from("/usr/share/datasets/mnist")).filter(|p| p.is_dir()));
    let (ood_set, ood) = match mnist_dir {
        Some(d) => {
            let s = data::mnist(&d, Split::Test)?.take(test.len());
            (format!("MNIST test images ({})", d.display()), s)
        }
        None => {
            // Handwritten digits against clothes: MNIST's role, drawn from
            // the embedded UCI digits (8×8 resampled into MNIST's 28×28
            // layout).
            let s = data::digits_mnist_style()?.take(test.len());
            (
                "UCI digits resampled to MNIST's 28x28 layout (MNIST not at hand)".to_string(),
                s,
            )
        }
    };
    anyhow::ensure!(
        ood.dim() == test.dim(),
        "the OOD images are {}x{}, the test images {}x{}",
        ood.rows,
        ood.cols,
        test.rows,
        test.cols
    );
    let (prior, pv) = common::prior(&args, PriorKind::Mixture)?;
    let config = Config {
        data: name.clone(),
        train_size: train.len(),
        test_size: test.len(),
        hidden: common::count(
            "hidden",
            args.hidden,
            match (quick, prune) {
                (true, _) => 50,
                (false, true) => 100,
                _ => 400,
            },
        )?,
        layers: common::count("layers", args.layers, 2)?,
        epochs: common::count("epochs", args.epochs, if quick { 3 } else { 5 })?,
        prior: pv,
        fit: common::fit_config(&args, 128, 1e-3)?,
        test_samples: common::count("test-samples", args.test_samples, 10)?,
        dropout: 0.5,
        ood_set,
        processes: 1,
    };
    let comm = Comm::for_flag(args.distributed)?;
    ensure!(
        config.fit.batch_size >= comm.size() && config.train_size >= comm.size(),
        "--batch-size {} and {} training images cannot be shared by {} processes: each needs at least one image per minibatch",
        config.fit.batch_size,
        config.train_size,
        comm.size()
    );
    let config = Config {
        processes: comm.size(),
        ..config
    };
    let run = common::run_meta(&args, &name, &config)?;
    if let Some(out) = &run.out {
        comm.check_output(out, &run.id, run.force)?;
    }
    Ok(Box::new(Plan {
        config,
        prior,
        train,
        test,
        ood,
        run,
        args,
        comm,
    }))
}

fn tensors(s: &ImageSet, device: &Device) -> (Tensor<2>, Tensor<2>) {
    (
        matrix(s.pixels.clone(), s.len(), s.dim(), device),
        one_hot(&s.labels, K, device),
    )
}

/// Error, NLL, ECE, and the reliability bins of a set of predictive
/// probabilities.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    /// Test error (fraction).
    pub test_error: f64,
    /// Mean −ln p(true class).
    pub test_nll: f64,
    /// Top-label expected calibration error (15 bins).
    pub ece: f64,
    /// AUROC of in- vs out-of-distribution by predictive entropy.
    pub ood_auroc: f64,
    /// Mean predictive entropy on the test set.
    pub entropy_in: f64,
    /// Mean predictive entropy on the OOD set.
    pub entropy_ood: f64,
    /// Reliability bins (mean confidence, accuracy, count).
    pub reliability: Vec<(f64, f64, usize)>,
}

fn score(p: &[f32], labels: &[u8], p_ood: &[f32]) -> anyhow::Result<Scores> {
    let n = labels.len();
    let mut conf = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    let mut nll = 0.0;
    for (row, &t) in p.chunks(K).zip(labels) {
        let (arg, &best) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        conf.push((best as f64).clamp(0.0, 1.0));
        correct.push(if arg == t as usize { 1.0 } else { 0.0 });
        nll -= (row[t as usize] as f64).max(1e-12).ln();
    }
    let ece = expected_calibration_error(
        Array1::from(conf.clone()).view(),
        Array1::from(correct.clone()).view(),
        ECE_BINS,
    )?;
    let mut bins = vec![(0.0, 0.0, 0usize); ECE_BINS];
    for (&c, &k) in conf.iter().zip(&correct) {
        let b = ((c * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        bins[b].0 += c;
        bins[b].1 += k;
        bins[b].2 += 1;
    }
    let reliability = bins
        .into_iter()
        .filter(|b| b.2 > 0)
        .map(|(c, k, m)| (c / m as f64, k / m as f64, m))
        .collect();
    let (h_in, h_out) = (common::entropies(p, K), common::entropies(p_ood, K));
    Ok(Scores {
        test_error: 1.0 - correct.iter().sum::<f64>() / n as f64,
        test_nll: nll / n as f64,
        ece,
        ood_auroc: common::auroc(&h_out, &h_in),
        entropy_in: h_in.iter().sum::<f64>() / h_in.len() as f64,
        entropy_ood: h_out.iter().sum::<f64>() / h_out.len() as f64,
        reliability,
    })
}

impl Plan {
    fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.train.dim()];
        s.extend(std::iter::repeat_n(self.config.hidden, self.config.layers));
        s.push(K);
        s
    }

    fn fit(
        &self,
        name: &str,
        fit: FitConfig,
        device: &Device,
        data: &(Tensor<2>, Tensor<2>),
        progress: &mut Progress,
    ) -> anyhow::Result<(BayesMlp, Vec<f64>, f64)> {
        let net = common::network(self.sizes(), -5.0, device)?;
        let mut tr = Trainer::new(net, self.prior.clone(), Likelihood::Categorical, fit)?;
        let ck = Checkpoint {
            dir: common::checkpoint_dir(&self.out_dir()),
            name: name.into(),
            resume: self.args.resume,
        };
        let t0 = Instant::now();
        let trace = common::train_epochs(
            &mut tr,
            &data.0,
            &data.1,
            self.config.epochs,
            Some(&ck),
            progress,
            name,
            &self.comm,
        )?;
        let per_epoch = t0.elapsed().as_secs_f64() / self.config.epochs as f64;
        Ok((tr.net.inference(), trace, per_epoch))
    }
}

impl Prepared for Plan {
    fn run(&self) -> &RunMeta {
        &self.run
    }

    fn writes_output(&self) -> bool {
        self.comm.is_root()
    }

    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun> {
        let start = Instant::now();
        let c = &self.config;
        let device = common::device(&self.args)?;
        let ad = device.clone().autodiff();
        let train = tensors(&self.train, &ad);
        let (xt, _) = tensors(&self.test, &device);
        let (xo, _) = tensors(&self.ood, &device);
        let (bbb, trace, bbb_epoch_s) =
            self.fit("bbb", c.fit.clone(), &device, &train, progress)?;
        // The baselines of `classify`: the same network by maximum
        // likelihood, and with dropout.
        let base = FitConfig {
            batch_size: c.fit.batch_size,
            lr: c.fit.lr,
            seed: c.fit.seed,
            ..FitConfig::plain(None)
        };
        let baselines = if self.args.experiment == Experiment::Prune {
            None
        } else {
            let plain = self.fit("plain", base.clone(), &device, &train, progress)?;
            let drop = FitConfig {
                dropout: Some(c.dropout),
                ..base
            };
            let drop = self.fit("dropout", drop, &device, &train, progress)?;
            Some((plain, drop))
        };
        if !self.comm.is_root() {
            // Process 0 evaluates and writes; the others are done.
            return Ok(ModelRun::default());
        }
        let predict = |net: &BayesMlp, s: Sampling| -> anyhow::Result<Scores> {
            let p = predictive_probs(net, &xt, c.test_samples, s, 1000);
            let po = predictive_probs(net, &xo, c.test_samples, s, 1000);
            score(&p, &self.test.labels, &po)
        };
        let bbb_scores = predict(&bbb, Sampling::Weights)?;
        let mut m = Metrics::new(&self.run.id);
        self.comm
            .record_data_parallel(&mut m, elbo_deep::grads::num_float_params(&bbb))?;
        m.set("test_error", bbb_scores.test_error)?;
        m.set("test_nll", bbb_scores.test_nll)?;
        m.set("ece", bbb_scores.ece)?;
        m.set("ood_auroc", bbb_scores.ood_auroc)?;
        m.set("ood_set", &c.ood_set)?;
        m.set("epoch_seconds_bbb", bbb_epoch_s)?;
        let mut summary = vec![format!(
            "BBB {}x{} on {} ({} train, {} epochs): test error {}, NLL {}, ECE {}, OOD AUROC {}",
            c.layers,
            c.hidden,
            c.data,
            c.train_size,
            c.epochs,
            fmt_num(bbb_scores.test_error),
            fmt_num(bbb_scores.test_nll),
            fmt_num(bbb_scores.ece),
            fmt_num(bbb_scores.ood_auroc)
        )];
        summary.extend(self.comm.data_parallel_summary());
        let mut figures = vec![FigureFile {
            file: "bound.svg".into(),
            title: "BBB bound per epoch".into(),
            svg: bound_trace("bbb: bound per epoch", &trace).to_svg()?,
        }];

        if let Some(((plain, plain_trace, _), (drop, _, _))) = baselines {
            let plain_scores = predict(&plain, Sampling::Mean)?;
            let drop_scores = predict(&drop, Sampling::Mean)?;
            for (name, s) in [("plain", &plain_scores), ("dropout", &drop_scores)] {
                summary.push(format!(
                    "{name}: test error {}, NLL {}, ECE {}, OOD AUROC {}",
                    fmt_num(s.test_error),
                    fmt_num(s.test_nll),
                    fmt_num(s.ece),
                    fmt_num(s.ood_auroc)
                ));
            }
            m.set("methods", serde_json::json!({"bbb": &bbb_scores, "plain": &plain_scores, "dropout": &drop_scores}))?;
            m.set("plain_loglik_trace", &plain_trace)?;
            let mut fig = Figure::new(
                format!("Reliability on {} (top label)", c.data),
                "confidence",
                "accuracy",
            )
            .x_range(0.0, 1.0)
            .y_range(0.0, 1.0)
            .layer(Layer::Line {
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                colour: colour::GREY,
                label: Some("perfect calibration".into()),
            });
            for (i, (name, s)) in [
                ("BBB", &bbb_scores),
                ("plain", &plain_scores),
                ("dropout", &drop_scores),
            ]
            .iter()
            .enumerate()
            {
                let pts: Vec<(f64, f64)> = s.reliability.iter().map(|r| (r.0, r.1)).collect();
                fig = fig
                    .layer(Layer::Line {
                        points: pts.clone(),
                        colour: colour::cycle(i),
                        label: Some(format!("{name} (ECE {})", fmt_num(s.ece))),
                    })
                    .layer(Layer::Points {
                        points: pts,
                        colour: colour::cycle(i),
                        label: None,
                    });
            }
            figures.push(FigureFile {
                file: "reliability.svg".into(),
                title: "Reliability diagram".into(),
                svg: fig.legend_lower_right().to_svg()?,
            });
        } else {
            // ---- Pruning by signal-to-noise, evaluated at the means.
            let mut snr: Vec<f32> = bbb.signal_to_noise();
            snr.sort_by(f32::total_cmp);
            let mut rows = Vec::new();
            for &f in &PRUNE_FRACTIONS {
                let k = ((f * snr.len() as f64) as usize).min(snr.len() - 1);
                let net = if f == 0.0 {
                    bbb.clone()
                } else {
                    bbb.pruned(snr[k])
                };
                let p = predictive_probs(&net, &xt, 1, Sampling::Mean, 1000);
                let s = score(&p, &self.test.labels, &p)?;
                rows.push(serde_json::json!({"fraction_removed": f, "test_error": s.test_error}));
                summary.push(format!(
                    "  {:>5.1} % of weights removed: test error {}",
                    100.0 * f,
                    fmt_num(s.test_error)
                ));
            }
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .map(|r| {
                    (
                        r["fraction_removed"].as_f64().unwrap_or(0.0) * 100.0,
                        r["test_error"].as_f64().unwrap_or(0.0) * 100.0,
                    )
                })
                .collect();
            m.set("pruning", &rows)?;
            figures.push(FigureFile {
                file: "pruning.svg".into(),
                title: "Test error against the fraction of weights removed by |μ|/σ".into(),
                svg: Figure::new(
                    "Pruning by signal-to-noise |μ|/σ",
                    "weights removed (%)",
                    "test error (%)",
                )
                .layer(Layer::Line {
                    points: pts.clone(),
                    colour: colour::BLUE,
                    label: Some("BBB, pruned by |μ|/σ".into()),
                })
                .layer(Layer::Points {
                    points: pts,
                    colour: colour::BLUE,
                    label: None,
                })
                .to_svg()?,
            });
        }
        m.set("scores", &bbb_scores)?;
        Ok(ModelRun {
            metrics: m.finish(start.elapsed().as_secs_f64(), &trace),
            figures,
            summary,
            ..ModelRun::default()
        })
    }
}
