//! The training loop: minibatches of (dynamically binarised) images, one
//! bound per step (ELBO pathwise or score function, or IWAE), Adam, and a
//! checkpoint after any epoch.
//!
//! Randomness: epoch e draws its permutation, binary pixels and every ε
//! from ChaCha8 seeded with `seed` on stream e + 1. A run resumed from the
//! checkpoint of epoch e therefore draws exactly what the uninterrupted run
//! would have drawn.

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{Estimator, Likelihood, Objective, TrainConfig, VaeConfig};
use super::model::{Batch, Noise, Step, Vae};
use crate::data::ImageSet;
use crate::parallel::{self, Replicas, Single, share};
use crate::{Error, Result, checkpoint};

/// Adam's ε: PyTorch's default (burn's is 1e-5), so that the comparison
/// with PyTorch's example runs the same optimiser.
pub const ADAM_EPSILON: f32 = 1e-8;

/// The loop's own state, saved in checkpoints beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The network trained.
    pub vae: VaeConfig,
    /// The run's configuration (its `epochs` may be raised on resume).
    pub train: TrainConfig,
    /// Epochs completed.
    pub epochs_done: usize,
    /// Mean training bound per epoch (nats per data point; the ELBO or L_k
    /// being optimised, with β = 1 whatever the warm-up).
    #[serde(with = "exact_f64s")]
    pub elbo_trace: Vec<f64>,
    /// Mean KL(q(z|x) ‖ p(z)) per epoch (ELBO objective; empty for IWAE).
    #[serde(with = "exact_f64s")]
    pub kl_trace: Vec<f64>,
    /// Seconds per epoch.
    #[serde(with = "exact_f64s")]
    pub epoch_seconds: Vec<f64>,
    /// The score-function baseline (moving average of log p(x|z)).
    #[serde(with = "exact_f64")]
    pub baseline: f64,
}

/// f64 values stored as their IEEE bits in the checkpoint's JSON: serde_json
/// may parse a 17-digit decimal one ulp off, and a resumed run must see
/// exactly the numbers it saved.
mod exact_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

/// [`exact_f64`] for vectors.
mod exact_f64s {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| x.to_bits()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

/// One finished epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training bound (nats per data point).
    pub bound: f64,
    /// Mean KL (ELBO objective).
    pub kl: Option<f64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A VAE being trained: model, Adam and loop state.
pub struct Trainer {
    model: Option<Vae>,
    optim: ModuleOptimizer,
    /// The loop's state (traces, epochs done).
    pub state: TrainState,
    device: Device,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("model", &self.model)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The RNG of epoch `epoch` (0-based) of a run seeded `seed`.
pub fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64 + 1);
    rng
}

fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(ADAM_EPSILON).init()
}

impl Trainer {
    /// A fresh network (initialised from `train.seed` through the device's
    /// generator) on `device`, which must record gradients
    /// (`device.autodiff()`).
    pub fn new(vae: VaeConfig, train: TrainConfig, device: &Device) -> Result<Self> {
        vae.check()?;
        train.check()?;
        device.seed(train.seed);
        let model = vae.init(device)?;
        Ok(Self::from_model(model, train))
    }

    /// Train an existing network (two runs from the same initial weights:
    /// pass each a [`checkpoint::fresh_copy`]).
    pub fn from_model(model: Vae, train: TrainConfig) -> Self {
        let device = model.head.weight.val().device();
        let baseline = match model.config.likelihood {
            // log p(x|z) of logits 0: every pixel has probability ½.
            Likelihood::Bernoulli => -(model.config.input() as f64) * std::f64::consts::LN_2,
            Likelihood::Gaussian => 0.0,
        };
        Self {
            state: TrainState {
                vae: model.config.clone(),
                train,
                epochs_done: 0,
                elbo_trace: Vec::new(),
                kl_trace: Vec::new(),
                epoch_seconds: Vec::new(),
                baseline,
            },
            model: Some(model),
            optim: adam(),
            device,
        }
    }

    /// Continue the run saved at `path`. The saved network and training
    /// configuration must equal `vae` and `train` except for `epochs`,
    /// which may be raised.
    pub fn resume(
        path: &Path,
        vae: VaeConfig,
        train: TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        train.check()?;
        let saved: TrainState = checkpoint::read_state(path)?;
        let mismatch = |what: &str| Error::Checkpoint {
            path: path.to_path_buf(),
            problem: format!(
                "it was written by a run with another {what}; resume with the same flags"
            ),
        };
        if saved.vae != vae {
            return Err(mismatch("network"));
        }
        let same_but_epochs = TrainConfig {
            epochs: train.epochs,
            ..saved.train.clone()
        };
        if same_but_epochs != train {
            return Err(mismatch("training configuration"));
        }
        let fresh = vae.init(device)?;
        let (model, optim, state): (Vae, _, TrainState) =
            checkpoint::load(path, fresh, adam(), device)?;
        let mut state = state;
        state.train.epochs = train.epochs;
        let mut model = model;
        model.config = vae;
        Ok(Self {
            model: Some(model),
            optim,
            state,
            device: device.clone(),
        })
    }

    /// Write a checkpoint (atomically) to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        checkpoint::save(path, self.model(), &self.optim, &self.state)
    }

    /// The network.
    pub fn model(&self) -> &Vae {
        // `model` is None only inside `epoch`, between taking the network
        // and handing it back; nothing can observe it there.
        self.model
            .as_ref()
            .expect("the model is present outside an optimiser step")
    }

    /// Whether every epoch asked for has run.
    pub fn finished(&self) -> bool {
        self.state.epochs_done >= self.state.train.epochs
    }

    /// One pass over `data` (`n` rows of `d` pixels in [0, 1]); `on_step`
    /// sees the step number and the running mean bound.
    pub fn epoch(
        &mut self,
        data: &ImageSet,
        on_step: &mut dyn FnMut(usize, f64),
    ) -> Result<EpochReport> {
        self.epoch_on(data, &Single, on_step)
    }

    /// Make this replica's network replica 0's (call once, before the first
    /// [`Trainer::epoch_on`] of a data-parallel run).
    pub fn sync(&mut self, replicas: &dyn Replicas) -> Result<()> {
        let model = self
            .model
            .take()
            .ok_or_else(|| Error::Shape("no model".into()))?;
        self.model = Some(parallel::broadcast_module(model, replicas)?);
        Ok(())
    }

    /// [`Trainer::epoch`] as one of P data-parallel replicas: every replica
    /// draws the whole global batch's randomness (binary pixels, ε) from the
    /// epoch's generator, keeps the rows of its [`share`], computes its
    /// gradient and the replicas sum them, weighted by their shares (one
    /// allreduce per step), before the same Adam step everywhere. The bound
    /// reported is the global batch's. Equals [`Trainer::epoch`] up to the
    /// order of floating-point additions.
    ///
    /// # Errors
    /// Besides [`Trainer::epoch`]'s: a batch smaller than P, free bits
    /// (a maximum over the global batch's mean KL) with P > 1, a failed
    /// collective, replicas whose weights differ after the epoch.
    pub fn epoch_on(
        &mut self,
        data: &ImageSet,
        replicas: &dyn Replicas,
        on_step: &mut dyn FnMut(usize, f64),
    ) -> Result<EpochReport> {
        let cfg = self.state.train.clone();
        let d = data.dim();
        if d != self.state.vae.input() {
            return Err(Error::Shape(format!(
                "{} has {} pixels per image ({}×{}) but the network's input is {}",
                data.name,
                d,
                data.rows,
                data.cols,
                self.state.vae.input()
            )));
        }
        let n = data.len();
        let b = cfg.batch.min(n);
        let steps = n / b;
        if steps == 0 {
            return Err(Error::Shape(format!(
                "{}: no images to train on",
                data.name
            )));
        }
        let p = replicas.size();
        if b < p {
            return Err(Error::Shape(format!(
                "a batch of {b} images cannot be shared by {p} processes; use --batch >= {p}"
            )));
        }
        if p > 1 && cfg.free_bits > 0.0 {
            return Err(Error::invalid(
                "free bits with several processes",
                cfg.free_bits,
                "0 (its maximum over the global batch's mean KL does not split across processes)",
            ));
        }
        let mine = share(b, replicas.rank(), p);
        let nl = mine.len();
        let weight = nl as f64 / b as f64;
        let e = self.state.epochs_done;
        let mut rng = epoch_rng(cfg.seed, e);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let l = self.state.vae.latent();
        let likelihood = self.state.vae.likelihood;
        let start = Instant::now();
        let (mut sum_bound, mut sum_kl) = (0.0, 0.0);
        let mut model = self
            .model
            .take()
            .ok_or_else(|| Error::Shape("no model".into()))?;
        let mut pixels = vec![0.0f32; nl * d];
        for s in 0..steps {
            for (row, &i) in order[s * b..(s + 1) * b].iter().enumerate() {
                let src = data.image(i);
                let local = mine.contains(&row);
                let at = if local { (row - mine.start) * d } else { 0 };
                if cfg.binarize {
                    // Every replica draws every row's pixels: the stream stays the same.
                    for (j, &p) in src.iter().enumerate() {
                        let bit = rand::Rng::random::<f32>(&mut rng) < p;
                        if local {
                            pixels[at + j] = if bit { 1.0 } else { 0.0 };
                        }
                    }
                } else if local {
                    pixels[at..at + d].copy_from_slice(src);
                }
            }
            let batch = Batch::new(&pixels, nl, d, cfg.k, likelihood, &self.device);
            let eps: Vec<f32> = (0..cfg.k * b * l)
                .map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal))
                .collect();
            let noise = if p == 1 {
                Noise::new(eps, cfg.k * b, l, &self.device)
            } else {
                // Rows are sample-major (row j·B + i is sample j of point i).
                let mut local = Vec::with_capacity(cfg.k * nl * l);
                for j in 0..cfg.k {
                    local.extend_from_slice(&eps[(j * b + mine.start) * l..(j * b + mine.end) * l]);
                }
                Noise::new(local, cfg.k * nl, l, &self.device)
            };
            let beta = cfg.beta(e as f64 + s as f64 / steps as f64);
            let step: Step = match (cfg.objective, cfg.estimator) {
                (Objective::Iwae, _) => model.iwae(&batch, &noise),
                (Objective::Elbo, Estimator::Pathwise) => {
                    model.elbo_pathwise(&batch, &noise, beta, cfg.free_bits)
                }
                (Objective::Elbo, Estimator::Score) => {
                    model.elbo_score(&batch, &noise, beta, cfg.free_bits, self.state.baseline)
                }
            };
            let mut report = step.report()?;
            if p > 1 {
                // The global batch's numbers: the shares' means, weighted.
                let mut parts = [
                    report.bound * weight,
                    report.recon.unwrap_or(0.0) * weight,
                    report.kl.unwrap_or(0.0) * weight,
                ];
                replicas.sum_f64(&mut parts)?;
                report.bound = parts[0];
                report.recon = report.recon.map(|_| parts[1]);
                report.kl = report.kl.map(|_| parts[2]);
            }
            if !report.bound.is_finite() {
                self.model = Some(model);
                return Err(Error::NonFinite {
                    what: "bound",
                    value: report.bound,
                    at: format!("epoch {}, step {}", e + 1, s + 1),
                });
            }
            if let Some(r) = report.recon {
                let a = cfg.baseline_decay;
                self.state.baseline = a * self.state.baseline + (1.0 - a) * r;
            }
            sum_bound += report.bound;
            sum_kl += report.kl.unwrap_or(0.0);
            let grads = GradientsParams::from_grads(step.loss.backward(), &model);
            let grads = match parallel::allreduce_gradients(
                &model,
                grads,
                &self.device,
                replicas,
                weight as f32,
            ) {
                Ok(g) => g,
                Err(err) => {
                    self.model = Some(model);
                    return Err(err);
                }
            };
            model = self.optim.step(cfg.lr, model, grads);
            on_step(s + 1, sum_bound / (s + 1) as f64);
        }
        let same = parallel::check_identical(&model, replicas);
        self.model = Some(model);
        same?;
        let seconds = start.elapsed().as_secs_f64();
        let bound = sum_bound / steps as f64;
        let kl = (cfg.objective == Objective::Elbo).then(|| sum_kl / steps as f64);
        self.state.epochs_done += 1;
        self.state.elbo_trace.push(bound);
        if let Some(k) = kl {
            self.state.kl_trace.push(k);
        }
        self.state.epoch_seconds.push(seconds);
        Ok(EpochReport {
            epoch: self.state.epochs_done,
            bound,
            kl,
            seconds,
        })
    }

    /// Hand back the trained network.
    pub fn into_model(self) -> Vae {
        // See `model`: present outside an optimiser step.
        self.model
            .expect("the model is present outside an optimiser step")
    }
}
