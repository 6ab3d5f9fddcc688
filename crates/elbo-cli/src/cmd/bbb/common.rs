//! What the `bbb` experiments share: flags → priors and fit configurations,
//! the training loop with progress, checkpoints and `--resume`, and small
//! statistics (quantiles, AUROC, entropy).

use std::path::{Path, PathBuf};

use anyhow::Context;
use elbo_deep::bayes::train::{FitConfig, Trainer};
use elbo_deep::bayes::{BayesMlp, KlWeighting, Prior, Sampling};
use elbo_deep::bayes::{Device, Tensor};
use serde::Serialize;
use serde_json::Value;

use super::{Args, KlKind, MODEL, PriorKind, SamplingKind};
use crate::cmd::{RunMeta, check_range, default_out};
use crate::distributed::Comm;
use crate::output::RunId;
use crate::progress::Progress;

/// The prior the flags describe, with `default` when `--prior` is absent.
pub fn prior(args: &Args, default: PriorKind) -> anyhow::Result<(Prior, Value)> {
    let kind = args.prior.unwrap_or(default);
    let p = match kind {
        PriorKind::Gaussian => {
            anyhow::ensure!(
                args.pi.is_none() && args.neg_log_sigma1.is_none() && args.neg_log_sigma2.is_none(),
                "--pi, --neg-log-sigma1 and --neg-log-sigma2 belong to --prior mixture"
            );
            let s = args.prior_sigma.unwrap_or(1.0);
            check_range("prior-sigma", s, |v| v > 0.0, "> 0")?;
            Prior::Gaussian { sigma: s }
        }
        PriorKind::Mixture => {
            anyhow::ensure!(
                args.prior_sigma.is_none(),
                "--prior-sigma belongs to --prior gaussian"
            );
            let pi = args.pi.unwrap_or(0.25);
            check_range("pi", pi, |v| v > 0.0 && v < 1.0, "in (0, 1)")?;
            let a = args.neg_log_sigma1.unwrap_or(0.0);
            let b = args.neg_log_sigma2.unwrap_or(6.0);
            check_range("neg-log-sigma1", a, |_| true, "finite")?;
            check_range(
                "neg-log-sigma2",
                b,
                |v| v > a,
                "greater than --neg-log-sigma1",
            )?;
            Prior::ScaleMixture {
                pi,
                sigma1: (-a).exp(),
                sigma2: (-b).exp(),
            }
        }
    };
    p.check()?;
    let v = match &p {
        Prior::Gaussian { sigma } => serde_json::json!({"kind": "gaussian", "sigma": sigma}),
        Prior::ScaleMixture { pi, sigma1, sigma2 } => serde_json::json!({
            "kind": "mixture", "pi": pi, "sigma1": sigma1, "sigma2": sigma2
        }),
        Prior::Factorised(_) => Value::Null,
    };
    Ok((p, v))
}

/// The Bayes-by-Backprop fit configuration from the flags.
pub fn fit_config(args: &Args, batch: usize, lr: f64) -> anyhow::Result<FitConfig> {
    let c = FitConfig {
        batch_size: args.batch_size.unwrap_or(batch),
        lr: args.lr.unwrap_or(lr),
        samples: args.samples.unwrap_or(1),
        sampling: match args.sampling.unwrap_or(SamplingKind::Local) {
            SamplingKind::Weights => Sampling::Weights,
            SamplingKind::Local => Sampling::Local,
        },
        kl_weighting: match args.kl_weighting.unwrap_or(KlKind::Uniform) {
            KlKind::Uniform => KlWeighting::Uniform,
            KlKind::Blundell => KlWeighting::Blundell,
        },
        bayes: true,
        dropout: None,
        seed: args.common.seed(),
    };
    anyhow::ensure!(c.batch_size >= 1, "--batch-size must be at least 1, got 0");
    anyhow::ensure!(c.samples >= 1, "--samples must be at least 1, got 0");
    check_range("lr", c.lr, |v| v > 0.0, "> 0")?;
    Ok(c)
}

/// A positive count flag, or its default.
pub fn count(name: &str, v: Option<usize>, default: usize) -> anyhow::Result<usize> {
    let v = v.unwrap_or(default);
    anyhow::ensure!(v >= 1, "--{name} must be at least 1, got {v}");
    Ok(v)
}

/// The device named by `--device`, seeded.
pub fn device(args: &Args) -> anyhow::Result<Device> {
    Ok(elbo_deep::device::by_name(
        &args.device,
        args.common.seed(),
    )?)
}

/// The run's identity; the default directory is
/// `out/bbb-<experiment>-<dataset>-<seed>`.
pub fn run_meta(args: &Args, dataset: &str, config: &impl Serialize) -> anyhow::Result<RunMeta> {
    let mut v = serde_json::to_value(config).context("recording the configuration")?;
    if let Value::Object(m) = &mut v {
        m.insert("experiment".into(), Value::from(args.experiment.name()));
        m.insert("device".into(), Value::from(args.device.clone()));
        m.insert("quick".into(), Value::from(args.common.quick));
    }
    let seed = args.common.seed();
    let ds = format!("{}:{dataset}", args.experiment.name());
    Ok(RunMeta {
        model: MODEL,
        dataset: ds.clone(),
        id: RunId::new(MODEL, &ds, seed, &v),
        out: Some(
            args.common
                .out
                .clone()
                .unwrap_or_else(|| default_out(MODEL, &ds, seed)),
        ),
        force: args.common.force,
        seed,
    })
}

/// Where an experiment keeps its checkpoints: `DIR.ckpt` beside `DIR`.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".ckpt");
    PathBuf::from(s)
}

/// Checkpoints of one network: `<dir>/<name>.ckpt`, holding its
/// parameters, Adam's moments and the bound trace, written atomically
/// ([`elbo_deep::checkpoint`]); a resumed run continues exactly.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The directory.
    pub dir: PathBuf,
    /// The network's name (`bbb`, `plain`, …).
    pub name: String,
    /// Whether to load an existing checkpoint.
    pub resume: bool,
}

/// Train for `epochs` epochs, saving after each and (with `--resume`)
/// starting from the saved state. Returns the bound trace (one per epoch).
#[allow(clippy::too_many_arguments)]
pub fn train_epochs(
    trainer: &mut Trainer,
    x: &Tensor<2>,
    y: &Tensor<2>,
    epochs: usize,
    ckpt: Option<&Checkpoint>,
    progress: &mut Progress,
    label: &str,
    comm: &Comm,
) -> anyhow::Result<Vec<f64>> {
    let mut trace: Vec<f64> = Vec::new();
    let path = ckpt.map(|c| c.dir.join(format!("{}.ckpt", c.name)));
    if let (Some(c), Some(path)) = (ckpt, &path) {
        // Process 0 writes checkpoints; every process reads them (a shared
        // file system) and learns whether any could not.
        let loaded = (|| -> anyhow::Result<()> {
            if comm.is_root() {
                std::fs::create_dir_all(&c.dir).with_context(|| {
                    format!("creating the checkpoint directory {}", c.dir.display())
                })?;
            }
            if c.resume && path.exists() {
                trace = trainer.load_checkpoint(path)?;
            }
            Ok(())
        })();
        comm.agree(loaded)?;
    }
    trainer.sync(comm)?;
    for e in trainer.epochs().min(epochs)..epochs {
        progress.set_label(format!("{label}: epoch {}/{epochs}", e + 1));
        let s = trainer.epoch_on(x, y, comm)?;
        comm.after_epoch(e + 1)?;
        trace.push(s.bound);
        progress.update(e + 1, s.bound);
        if let Some(path) = &path {
            comm.on_root(|| Ok(trainer.save_checkpoint(path, &trace)?))?;
        }
    }
    trace.truncate(epochs);
    Ok(trace)
}

/// A fresh network on the autodiff version of `device`.
pub fn network(sizes: Vec<usize>, rho_init: f64, device: &Device) -> anyhow::Result<BayesMlp> {
    Ok(elbo_deep::bayes::BayesMlpConfig::new(sizes)
        .with_rho_init(rho_init)
        .init(&device.clone().autodiff())?)
}

/// The q-quantile (linear interpolation) of `v` (sorted in place).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Mean and standard error.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (m, 0.0);
    }
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// Area under the ROC curve for scores of positives against negatives
/// (the Mann–Whitney statistic, ties counted half).
pub fn auroc(pos: &[f64], neg: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        rank_sum += avg * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// Entropy −Σ p ln p of each row of `k` probabilities.
pub fn entropies(p: &[f32], k: usize) -> Vec<f64> {
    p.chunks(k)
        .map(|r| {
            -r.iter()
                .map(|&q| q as f64)
                .filter(|&q| q > 0.0)
                .map(|q| q * q.ln())
                .sum::<f64>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_separated_and_identical_scores() {
        assert_eq!(auroc(&[2.0, 3.0], &[0.0, 1.0]), 1.0);
        assert_eq!(auroc(&[0.0], &[1.0]), 0.0);
        assert_eq!(auroc(&[1.0, 1.0], &[1.0, 1.0]), 0.5);
    }

    #[test]
    fn quantiles_interpolate() {
        let mut v = vec![3.0, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), 2.5);
        assert_eq!(quantile(&mut v, 0.0), 1.0);
    }
}
