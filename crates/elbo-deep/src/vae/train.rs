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
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::config::{Estimator, Likelihood, Objective, TrainConfig, VaeConfig};
use super::model::{Batch, Noise, Step, Vae};
use crate::data::ImageSet;
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
        let mut pixels = vec![0.0f32; b * d];
        for s in 0..steps {
            for (row, &i) in order[s * b..(s + 1) * b].iter().enumerate() {
                let dst = &mut pixels[row * d..(row + 1) * d];
                let src = data.image(i);
                if cfg.binarize {
                    for (o, &p) in dst.iter_mut().zip(src) {
                        *o = if rand::Rng::random::<f32>(&mut rng) < p {
                            1.0
                        } else {
                            0.0
                        };
                    }
                } else {
                    dst.copy_from_slice(src);
                }
            }
            let batch = Batch::new(&pixels, b, d, cfg.k, likelihood, &self.device);
            let noise = Noise::draw(&mut rng, cfg.k * b, l, &self.device);
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
            let report = step.report()?;
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
            model = self.optim.step(cfg.lr, model, grads);
            on_step(s + 1, sum_bound / (s + 1) as f64);
        }
        self.model = Some(model);
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
