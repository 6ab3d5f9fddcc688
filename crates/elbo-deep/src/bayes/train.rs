//! The training loop on in-memory data (STYLE §8: loss = −ELBO → backward →
//! `GradientsParams` → `optim.step`), and prediction by sampling weights.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::net::{BayesMlp, KlWeighting, Likelihood, Sampling};
use super::prior::{Prior, tensor_vec};
use crate::parallel::{self, Replicas, Rows, Single, share};
use crate::{Error, Result};

/// How a network is fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    /// Examples per minibatch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Weight draws per step (S in the minibatch objective).
    pub samples: usize,
    /// How weights are drawn ([`Sampling::Mean`] = a plain network).
    pub sampling: Sampling,
    /// π_i of the KL in minibatch i (ignored when `bayes` is false).
    pub kl_weighting: KlWeighting,
    /// Whether the KL term is in the objective (false: maximum likelihood).
    pub bayes: bool,
    /// Dropout probability of hidden units (plain networks only).
    pub dropout: Option<f64>,
    /// Seed of the minibatch order.
    pub seed: u64,
}

impl FitConfig {
    /// Bayes by Backprop: batch 128, lr 1e-3, one sample, local
    /// reparameterisation, uniform KL weights.
    pub fn bbb() -> Self {
        Self {
            batch_size: 128,
            lr: 1e-3,
            samples: 1,
            sampling: Sampling::Local,
            kl_weighting: KlWeighting::Uniform,
            bayes: true,
            dropout: None,
            seed: 0,
        }
    }

    /// A plain network fitted by maximum likelihood (with optional dropout).
    pub fn plain(dropout: Option<f64>) -> Self {
        Self {
            sampling: Sampling::Mean,
            bayes: false,
            dropout,
            ..Self::bbb()
        }
    }

    /// Check batch ≥ 1, samples ≥ 1, lr > 0, dropout in [0, 1).
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::invalid("batch size", 0, ">= 1"));
        }
        if self.samples == 0 {
            return Err(Error::invalid("samples", 0, ">= 1"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::invalid("learning rate", self.lr, "finite and > 0"));
        }
        if let Some(p) = self.dropout
            && !(0.0..1.0).contains(&p)
        {
            return Err(Error::invalid("dropout", p, "in [0, 1)"));
        }
        Ok(())
    }
}

/// What one epoch measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// −Σ_i F_i over the epoch's minibatches: an unbiased estimate of the
    /// bound (Blundell et al. 2015 eq. (9), Σ π_i = 1); for a plain
    /// network the log-likelihood.
    pub bound: f64,
    /// The KL at the last step.
    pub kl: f64,
    /// Mean negative log-likelihood per example.
    pub nll_per_example: f64,
}

/// A network, its optimiser and its minibatch order.
pub struct Trainer {
    /// The network being fitted (on an autodiff device).
    pub net: BayesMlp,
    /// The prior P(w).
    pub prior: Prior,
    /// The likelihood.
    pub likelihood: Likelihood,
    /// How it is fitted.
    pub config: FitConfig,
    optim: ModuleOptimizer,
    rng: StdRng,
    steps: usize,
    epochs: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("config", &self.config)
            .field("steps", &self.steps)
            .finish()
    }
}

impl Trainer {
    /// A trainer for `net` (which must live on an autodiff device).
    pub fn new(
        net: BayesMlp,
        prior: Prior,
        likelihood: Likelihood,
        config: FitConfig,
    ) -> Result<Self> {
        config.check()?;
        prior.check()?;
        let rng = StdRng::seed_from_u64(config.seed);
        Ok(Self {
            net,
            prior,
            likelihood,
            optim: AdamConfig::new().with_epsilon(1e-8).init(),
            rng,
            config,
            steps: 0,
            epochs: 0,
        })
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Epochs completed by [`Trainer::epoch`].
    pub fn epochs(&self) -> usize {
        self.epochs
    }

    /// Save the network, Adam's moments, the step and epoch counts and the
    /// caller's `state` to `path` atomically ([`crate::checkpoint::save`]).
    /// With [`Trainer::load_checkpoint`] a run continues exactly: every epoch
    /// reseeds its own randomness from (seed, epoch).
    pub fn save_checkpoint<S: Serialize>(&self, path: &std::path::Path, state: &S) -> Result<()> {
        crate::checkpoint::save(
            path,
            &self.net,
            &self.optim,
            &(self.steps, self.epochs, state),
        )
    }

    /// Restore what [`Trainer::save_checkpoint`] wrote into this trainer (a
    /// network of the same shape) and return the caller's state.
    pub fn load_checkpoint<S: serde::de::DeserializeOwned>(
        &mut self,
        path: &std::path::Path,
    ) -> Result<S> {
        let device =
            self.net.devices().into_iter().next().ok_or_else(|| {
                Error::Shape("load_checkpoint: the network has no parameters".into())
            })?;
        let optim = std::mem::replace(&mut self.optim, AdamConfig::new().with_epsilon(1e-8).init());
        let (net, optim, (steps, epochs, state)): (_, _, (usize, usize, S)) =
            crate::checkpoint::load(path, self.net.clone(), optim, &device)?;
        self.net = net;
        self.optim = optim;
        self.steps = steps;
        self.epochs = epochs;
        Ok(state)
    }

    /// One gradient step on a loss the caller built from `self.net` (a
    /// masked likelihood, VIME's few-step update on new data); returns its
    /// value.
    pub fn step_loss(&mut self, loss: Tensor<1>) -> Result<f64> {
        let v = loss.clone().into_scalar::<f32>() as f64;
        if !v.is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                value: v,
                at: format!("step {}", self.steps + 1),
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        self.net = self.optim.step(self.config.lr, self.net.clone(), grads);
        self.steps += 1;
        Ok(v)
    }

    /// One gradient step on the minibatch (x, y) with KL weight π_i; returns
    /// (F_i, KL, NLL) as numbers.
    pub fn step(&mut self, x: Tensor<2>, y: Tensor<2>, kl_weight: f64) -> Result<(f64, f64, f64)> {
        self.step_in(x, y, kl_weight, None, &Single)
    }

    /// [`Trainer::step`] as one of P data-parallel replicas: (x, y) are
    /// this replica's `rows` of the global minibatch, the KL enters its
    /// loss with weight π_i / P, the replicas' gradients are summed before
    /// the (identical) Adam step, and the numbers returned are the global
    /// minibatch's.
    pub fn step_in(
        &mut self,
        x: Tensor<2>,
        y: Tensor<2>,
        kl_weight: f64,
        rows: Option<Rows>,
        replicas: &dyn Replicas,
    ) -> Result<(f64, f64, f64)> {
        let c = &self.config;
        let p = replicas.size();
        let parts = if c.bayes {
            self.net.loss_in(
                x,
                y,
                &self.prior,
                self.likelihood,
                c.sampling,
                c.samples,
                kl_weight / p as f64,
                rows,
            )
        } else {
            let (f, _) = self.net.forward_in(x, Sampling::Mean, c.dropout, rows);
            let nll = self.net.nll(f, y, self.likelihood);
            super::net::LossParts {
                loss: nll.clone(),
                kl: nll.zeros_like(),
                nll,
            }
        };
        let mut numbers = [
            parts.loss.clone().into_scalar::<f32>() as f64,
            parts.kl.clone().detach().into_scalar::<f32>() as f64 / p as f64,
            parts.nll.clone().detach().into_scalar::<f32>() as f64,
        ];
        // Reduced before the check, so every replica sees the same verdict.
        replicas.sum_f64(&mut numbers)?;
        let [loss_v, kl_v, nll_v] = numbers;
        if !loss_v.is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                value: loss_v,
                at: format!("step {}", self.steps + 1),
            });
        }
        let device = parts.loss.device();
        let grads = GradientsParams::from_grads(parts.loss.backward(), &self.net);
        let grads = parallel::allreduce_gradients(&self.net, grads, &device, replicas, 1.0)?;
        self.net = self.optim.step(self.config.lr, self.net.clone(), grads);
        self.steps += 1;
        Ok((loss_v, kl_v, nll_v))
    }

    /// Make this replica's network replica 0's (before the first
    /// [`Trainer::epoch_on`] of a data-parallel run).
    pub fn sync(&mut self, replicas: &dyn Replicas) -> Result<()> {
        self.net = parallel::broadcast_module(self.net.clone(), replicas)?;
        Ok(())
    }

    /// One pass over (x, y) in a fresh seeded order, minibatch i weighting
    /// the KL by π_i ([`KlWeighting`]). A last partial batch is used.
    ///
    /// # Shapes
    /// x `[n, d_input]`, y `[n, d_output]`.
    pub fn epoch(&mut self, x: &Tensor<2>, y: &Tensor<2>) -> Result<EpochStats> {
        self.epoch_on(x, y, &Single)
    }

    /// [`Trainer::epoch`] as one of P data-parallel replicas holding the
    /// same (x, y): every replica draws the same order, takes its
    /// [`share`] of each global minibatch and steps with
    /// [`Trainer::step_in`]. With P > 1 a last partial minibatch of fewer
    /// than P rows joins the one before it (every replica needs a row).
    /// Equals [`Trainer::epoch`] up to the order of float additions.
    ///
    /// # Errors
    /// Besides [`Trainer::epoch`]'s: fewer examples than replicas, a failed
    /// collective, replicas whose weights differ after the epoch.
    pub fn epoch_on(
        &mut self,
        x: &Tensor<2>,
        y: &Tensor<2>,
        replicas: &dyn Replicas,
    ) -> Result<EpochStats> {
        let [n, _] = x.dims();
        let p = replicas.size();
        if n == 0 || n < p {
            return Err(Error::Shape(format!(
                "{n} training examples for {p} processes: each needs at least one"
            )));
        }
        // Each epoch draws from its own seed (order and weight noise), so a
        // run resumed from a checkpoint continues exactly.
        let epoch_seed = self
            .config
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(self.epochs as u64);
        self.rng = StdRng::seed_from_u64(epoch_seed);
        let device = x.device();
        device.seed(epoch_seed);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut self.rng);
        let b = self.config.batch_size.min(n);
        let mut chunks: Vec<&[usize]> = order.chunks(b).collect();
        if p > 1 && chunks.len() > 1 && chunks.last().is_some_and(|c| c.len() < p) {
            let k = chunks.len();
            chunks[k - 2] = &order[(k - 2) * b..];
            chunks.pop();
        }
        let m = chunks.len();
        let (mut f_sum, mut nll_sum, mut kl_last) = (0.0, 0.0, 0.0);
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mine = share(chunk.len(), replicas.rank(), p);
            let rows = (p > 1).then_some(Rows {
                start: mine.start,
                global: chunk.len(),
            });
            let idx = index_tensor(&chunk[mine], &device);
            let xb = x.clone().select(0, idx.clone());
            let yb = y.clone().select(0, idx);
            let w = self.config.kl_weighting.weight(i + 1, m);
            let (f, kl, nll) = self.step_in(xb, yb, w, rows, replicas)?;
            f_sum += f;
            nll_sum += nll;
            kl_last = kl;
        }
        parallel::check_identical(&self.net, replicas)?;
        self.epochs += 1;
        Ok(EpochStats {
            bound: -f_sum,
            kl: kl_last,
            nll_per_example: nll_sum / n as f64,
        })
    }
}

/// Row indices as an Int tensor.
pub fn index_tensor(idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [idx.len()]), device)
}

/// A row-major f32 matrix as a tensor.
///
/// # Panics
/// When `data.len() != rows·cols` (a caller bug).
#[track_caller]
pub fn matrix(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    assert_eq!(
        data.len(),
        rows * cols,
        "matrix: {rows}x{cols} needs {} values",
        rows * cols
    );
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// One-hot rows for class labels `0..k`.
pub fn one_hot(labels: &[u8], k: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; labels.len() * k];
    for (i, &c) in labels.iter().enumerate() {
        v[i * k + (c as usize).min(k - 1)] = 1.0;
    }
    matrix(v, labels.len(), k, device)
}

/// `n` forward passes of `net` (use `net.valid()` for no autodiff) on x,
/// each with fresh weights (or the means, for [`Sampling::Mean`]), as host
/// row-major `[batch·d_output]` vectors; x is processed in chunks of
/// `chunk` rows.
pub fn predict_samples(
    net: &BayesMlp,
    x: &Tensor<2>,
    n: usize,
    sampling: Sampling,
    chunk: usize,
) -> Vec<Vec<f32>> {
    let [rows, _] = x.dims();
    let chunk = chunk.max(1);
    (0..n.max(1))
        .map(|_| {
            let mut out = Vec::new();
            let mut start = 0;
            while start < rows {
                let end = (start + chunk).min(rows);
                let xb = x.clone().slice(start..end);
                let (f, _) = net.forward(xb, sampling, None);
                out.extend(tensor_vec(&f));
                start = end;
            }
            out
        })
        .collect()
}

/// The predictive class probabilities (1/S) Σ_s softmax f(x; w⁽ˢ⁾)
/// (Blundell et al. 2015 eq. (4), by Monte Carlo), `[batch·k]` row-major.
pub fn predictive_probs(
    net: &BayesMlp,
    x: &Tensor<2>,
    samples: usize,
    sampling: Sampling,
    chunk: usize,
) -> Vec<f32> {
    let [rows, _] = x.dims();
    let chunk = chunk.max(1);
    let s = if sampling == Sampling::Mean {
        1
    } else {
        samples.max(1)
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let end = (start + chunk).min(rows);
        let xb = x.clone().slice(start..end);
        let mut acc: Option<Tensor<2>> = None;
        for _ in 0..s {
            let (f, _) = net.forward(xb.clone(), sampling, None);
            let p = burn::tensor::activation::softmax(f, 1);
            acc = Some(match acc {
                Some(a) => a + p,
                None => p,
            });
        }
        if let Some(a) = acc {
            out.extend(tensor_vec(&a.div_scalar(s as f64)));
        }
        start = end;
    }
    out
}

/// Save a network's parameters (burnpack) to `path`.
pub fn save(net: &BayesMlp, path: &std::path::Path) -> Result<()> {
    net.clone().save_file(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        problem: format!("{e:?}"),
    })
}

/// Load parameters saved by [`save`] into a network of the same shape.
pub fn load(net: BayesMlp, path: &std::path::Path) -> Result<BayesMlp> {
    net.try_load_file(path).map_err(|e| Error::Checkpoint {
        path: path.to_path_buf(),
        problem: format!("{e:?}"),
    })
}
