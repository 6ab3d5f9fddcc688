//! VIME: variational information maximizing exploration (R. Houthooft,
//! X. Chen, Y. Duan, J. Schulman, F. De Turck, P. Abbeel, NeurIPS 2016).
//!
//! The agent keeps a Bayesian neural network p(s_{t+1} | s_t, a_t; θ) of the
//! dynamics with a factorised Gaussian posterior q(θ; φ) (Bayes by
//! Backprop, `elbo_deep::bayes`). The information a transition carries
//! about θ, the KL between the posterior after and before it
//! (eq. (5), made tractable by eqs. (12)–(17)), is added to the reward:
//! r' = r + η KL_t / median(previous batches' mean KL) (eq. (6) and §2.5).
//!
//! - [`Dynamics`]: the BNN on burn, trained on the [`ReplayPool`]
//!   (ELBO of eq. (10) by pathwise gradients, Adam).
//! - [`HostBnn`]: the posterior copied to f64, where the per-transition
//!   gradient and the second-order KL step of eqs. (16)–(17) are computed
//!   (see `host.rs` for why), and the exact few-step KL that checks it.
//! - [`Vime`]: pool + model + the median-normalised bonus, applied to a
//!   policy-gradient [`Batch`] through `pg::trpo::train_with` /
//!   `pg::ppo::train_with` ([`train_trpo`], [`train_ppo`]).
//!
//! Model inputs are (s_t, a_t) with discrete actions one-hot; the target is
//! s_{t+1} − s_t (the model's mean of s_{t+1} is s_t plus the network's
//! output, the same p(s_{t+1} | s_t, a_t; θ)); both are normalised by the
//! pool's column means and standard deviations.

mod host;
mod pool;
mod scale;

pub use host::{HostBnn, HostLayer, sigmoid, softplus};
pub use pool::{Normaliser, ReplayPool};
pub use scale::Rescaled;

use crate::env::{ActionSpace, Env};
use crate::error::{Result, check};
use crate::pg::{Batch, PpoConfig, TrainLog, TrpoConfig};
use elbo_deep::bayes::train::{FitConfig, Trainer, matrix};
use elbo_deep::bayes::{
    BayesMlp, BayesMlpConfig, Device, KlWeighting, Likelihood, Prior, Sampling,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// VIME's settings; defaults are the paper's (Houthooft et al. 2016,
/// Appendix: BNN of one hidden layer of 32 ReLU units, prior N(0, 0.5²),
/// 10 weight samples, Adam 1e-4, replay pool 100 000 with training from
/// 500, 500 updates of batch 10 per iteration, one second-order step of
/// λ = 0.01, bonus normalised by the median of previous KLs).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VimeConfig {
    /// Hidden layer sizes of the BNN (ReLU).
    pub hidden: Vec<usize>,
    /// Prior standard deviation (prior N(0, σ²) on every weight).
    pub prior_sigma: f64,
    /// Initial posterior standard deviation of every weight (σ = softplus(ρ)).
    /// Default: the prior's (the posterior starts at the prior's width).
    pub init_sigma: f64,
    /// Standard deviation σ_y of the Gaussian likelihood on the normalised
    /// targets (not given in the paper; 0.5 here).
    pub likelihood_sigma: f64,
    /// Replay-pool capacity.
    pub pool_size: usize,
    /// Transitions the pool must hold before the BNN trains.
    pub min_pool: usize,
    /// BNN updates per iteration.
    pub updates: usize,
    /// Transitions per BNN update.
    pub batch: usize,
    /// Adam learning rate of the BNN.
    pub lr: f64,
    /// Weight samples per expectation (training and information gain).
    pub samples: usize,
    /// λ of the second-order step (eq. (17)).
    pub step_size: f64,
    /// η: weight of the bonus (eq. (6)).
    pub eta: f64,
    /// Number of previous batches whose mean KLs the median runs over.
    pub kl_history: usize,
    /// Normalise the BNN's inputs and targets by the pool's statistics.
    pub normalise: bool,
    /// Seed of the BNN (initialisation, minibatches, weight noise).
    pub seed: u64,
}

impl Default for VimeConfig {
    fn default() -> Self {
        VimeConfig {
            hidden: vec![32],
            prior_sigma: 0.5,
            init_sigma: 0.5,
            likelihood_sigma: 0.5,
            pool_size: 100_000,
            min_pool: 500,
            updates: 500,
            batch: 10,
            lr: 1e-4,
            samples: 10,
            step_size: 0.01,
            eta: 1e-3,
            kl_history: 10,
            normalise: true,
            seed: 0,
        }
    }
}

impl VimeConfig {
    /// The paper's η for a task (Houthooft et al. 2016, Appendix; 1e-3 for
    /// MountainCar, 1e-4 otherwise) — the value used when `--eta` is not
    /// given. Our rewards are sparse 0/1 and advantages are standardised,
    /// so η only sets the bonus against the goal reward.
    pub fn paper_eta(env: &str) -> f64 {
        if env.starts_with("mountaincar") {
            1e-3
        } else {
            1e-4
        }
    }

    /// `Err(InvalidParam)` naming the first setting out of range.
    pub fn check(&self) -> Result<()> {
        let pos = |v: f64| v > 0.0 && v.is_finite();
        check(
            !self.hidden.is_empty() && !self.hidden.contains(&0),
            "hidden",
            format!("{:?}", self.hidden),
            "at least one layer, sizes >= 1",
        )?;
        check(
            pos(self.prior_sigma),
            "prior_sigma",
            self.prior_sigma,
            "positive",
        )?;
        check(
            pos(self.init_sigma),
            "init_sigma",
            self.init_sigma,
            "positive",
        )?;
        check(
            pos(self.likelihood_sigma),
            "likelihood_sigma",
            self.likelihood_sigma,
            "positive",
        )?;
        check(
            self.pool_size >= 1,
            "pool_size",
            self.pool_size,
            "at least 1",
        )?;
        check(self.batch >= 1, "batch", self.batch, "at least 1")?;
        check(self.samples >= 1, "samples", self.samples, "at least 1")?;
        check(pos(self.lr), "lr", self.lr, "positive")?;
        check(pos(self.step_size), "step_size", self.step_size, "positive")?;
        check(
            self.eta >= 0.0 && self.eta.is_finite(),
            "eta",
            self.eta,
            "non-negative",
        )?;
        check(
            self.kl_history >= 1,
            "kl_history",
            self.kl_history,
            "at least 1",
        )?;
        Ok(())
    }
}

/// The BNN dynamics model on burn, trained by Bayes by Backprop on the
/// replay pool: each update minimises the minibatch share of −ELBO
/// (Houthooft et al. 2016 eq. (10); Blundell et al. 2015 eq. (8)),
/// (b/N) KL(q ‖ p) − (1/S) Σ_s ln p(D_b | θ_s), N the pool size.
///
/// The S = `samples` draws are taken with the local reparameterisation
/// trick on the minibatch repeated S times (one forward pass of S·b rows
/// instead of S passes: each row then sees its own weights, the same
/// expectation with one burn graph per update).
pub struct Dynamics {
    /// The burn trainer (network on an autodiff CPU device, prior, Adam).
    pub trainer: Trainer,
    rng: ChaCha8Rng,
    samples: usize,
    batch: usize,
    likelihood_sigma: f64,
    device: Device,
}

impl std::fmt::Debug for Dynamics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dynamics")
            .field("samples", &self.samples)
            .field("batch", &self.batch)
            .finish()
    }
}

impl Dynamics {
    /// A fresh BNN `d_in → hidden → d_out` on burn's CPU device, seeded.
    pub fn new(d_in: usize, d_out: usize, cfg: &VimeConfig) -> Result<Self> {
        cfg.check()?;
        let device = Device::flex().autodiff();
        device.seed(cfg.seed);
        let mut sizes = vec![d_in];
        sizes.extend_from_slice(&cfg.hidden);
        sizes.push(d_out);
        // ρ with softplus(ρ) = σ_init: ρ = ln(e^σ − 1).
        let rho = cfg.init_sigma.exp_m1().ln();
        let net = BayesMlpConfig::new(sizes)
            .with_rho_init(rho)
            .init(&device)?;
        let trainer = Trainer::new(
            net,
            Prior::Gaussian {
                sigma: cfg.prior_sigma,
            },
            Likelihood::Gaussian {
                sigma: cfg.likelihood_sigma,
            },
            FitConfig {
                batch_size: cfg.batch,
                lr: cfg.lr,
                samples: 1,
                sampling: Sampling::Local,
                kl_weighting: KlWeighting::Uniform,
                bayes: true,
                dropout: None,
                seed: cfg.seed,
            },
        )?;
        Ok(Dynamics {
            trainer,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(0x5eed)),
            samples: cfg.samples,
            batch: cfg.batch,
            likelihood_sigma: cfg.likelihood_sigma,
            device,
        })
    }

    /// The network.
    pub fn net(&self) -> &BayesMlp {
        &self.trainer.net
    }

    /// The posterior in f64 for the per-transition computations.
    pub fn host(&self) -> HostBnn {
        HostBnn::from_net(&self.trainer.net, self.likelihood_sigma)
    }

    /// `updates` steps on minibatches drawn from `pool` (normalised by
    /// `norm`); returns the mean per-transition bound
    /// −(KL/N + E_q[−ln p(s′ | s, a, θ)]) over the steps (nats, normalised
    /// units), the dynamics model's ELBO per transition (eq. (10) / N).
    pub fn train(
        &mut self,
        pool: &ReplayPool,
        norm: &(Normaliser, Normaliser),
        updates: usize,
    ) -> Result<f64> {
        let (b, s) = (self.batch, self.samples);
        let n = pool.len().max(1) as f64;
        let (mut total, mut count) = (0.0, 0);
        for _ in 0..updates {
            let (x, y) = pool.sample(b, norm, &mut self.rng);
            let (d_in, d_out) = (x.len() / b, y.len() / b);
            // The minibatch repeated S times: S draws per transition.
            let xr: Vec<f32> = std::iter::repeat_n(x.iter().copied(), s)
                .flatten()
                .collect();
            let yr: Vec<f32> = std::iter::repeat_n(y.iter().copied(), s)
                .flatten()
                .collect();
            let xt = matrix(xr, s * b, d_in, &self.device);
            let yt = matrix(yr, s * b, d_out, &self.device);
            // Loss = S·[(b/N) KL + (1/S) Σ_s nll] (Adam does not see the factor S).
            let (_, kl, nll) = self.trainer.step(xt, yt, s as f64 * b as f64 / n)?;
            total += -(kl / n + nll / (s * b) as f64);
            count += 1;
        }
        Ok(if count == 0 {
            f64::NAN
        } else {
            total / count as f64
        })
    }
}

/// What VIME did in one iteration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VimeIter {
    /// Mean information gain (eq. (17)) over the batch's transitions.
    pub mean_kl: f64,
    /// The median the KLs were divided by.
    pub median: f64,
    /// Mean bonus η·KL/median added per step.
    pub mean_bonus: f64,
    /// The dynamics model's per-transition bound after this iteration's
    /// updates (NaN while the pool is below `min_pool`).
    pub elbo: f64,
    /// Transitions in the pool.
    pub pool: usize,
    /// Seconds computing the information gains.
    pub kl_seconds: f64,
    /// Seconds training the BNN.
    pub train_seconds: f64,
}

/// The exploration bonus: replay pool, BNN, and the running median
/// (Houthooft et al. 2016 Algorithm 1).
#[derive(Debug)]
pub struct Vime {
    /// The settings.
    pub cfg: VimeConfig,
    /// The BNN.
    pub dynamics: Dynamics,
    /// The replay pool (raw, unnormalised rows).
    pub pool: ReplayPool,
    action_space: ActionSpace,
    obs_dim: usize,
    history: Vec<f64>,
    /// One entry per [`apply`](Self::apply).
    pub log: Vec<VimeIter>,
    calls: u64,
}

/// The median of a non-empty slice (mean of the middle two for even length).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

impl Vime {
    /// VIME for an environment with `obs_dim` observations and `action_space`.
    pub fn new(obs_dim: usize, action_space: ActionSpace, cfg: &VimeConfig) -> Result<Self> {
        cfg.check()?;
        let a = action_space.policy_outputs();
        let dynamics = Dynamics::new(obs_dim + a, obs_dim, cfg)?;
        Ok(Vime {
            cfg: cfg.clone(),
            dynamics,
            pool: ReplayPool::new(cfg.pool_size, obs_dim + a, obs_dim),
            action_space,
            obs_dim,
            history: Vec::new(),
            log: Vec::new(),
            calls: 0,
        })
    }

    /// The model input (s, a) and target s′ − s of row `r` of `batch`.
    fn row(&self, batch: &Batch, r: usize, x: &mut Vec<f64>, y: &mut Vec<f64>) {
        let d = self.obs_dim;
        let s = &batch.obs[r * d..(r + 1) * d];
        let s1 = &batch.next_obs[r * d..(r + 1) * d];
        let a = &batch.actions[r * batch.act_dim..(r + 1) * batch.act_dim];
        x.clear();
        x.extend_from_slice(s);
        match self.action_space {
            ActionSpace::Discrete(n) => {
                let k = (a[0].max(0.0) as usize).min(n - 1);
                x.extend((0..n).map(|i| f64::from(u8::from(i == k))));
            }
            ActionSpace::Box { low, high, .. } => x.extend(a.iter().map(|v| v.clamp(low, high))),
        }
        y.clear();
        y.extend(s1.iter().zip(s).map(|(p, q)| p - q));
    }

    /// Information gains of every transition of `batch` under the current
    /// posterior, by the second-order step (eq. (17)); `norm` normalises the
    /// inputs and targets. Parallel over chunks of transitions, each chunk
    /// with its own generator seeded from (seed, call, chunk), so the result
    /// does not depend on the number of threads.
    pub fn info_gains(&self, batch: &Batch, norm: &(Normaliser, Normaliser)) -> Vec<f64> {
        let host = self.dynamics.host();
        let h_inv = host.inverse_kl_hessian();
        let n = batch.len();
        const CHUNK: usize = 64;
        let seed = self.cfg.seed ^ (self.calls << 32) ^ 0x1a5e;
        let chunks: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(c as u64));
                let (mut x, mut y) = (Vec::new(), Vec::new());
                (c * CHUNK..((c + 1) * CHUNK).min(n))
                    .map(|r| {
                        self.row(batch, r, &mut x, &mut y);
                        if self.cfg.normalise {
                            norm.0.apply(&mut x);
                            norm.1.apply(&mut y);
                        }
                        let noise = host.draw_noise(self.cfg.samples, &mut rng);
                        host.info_gain_second_order(&x, &y, &noise, self.cfg.step_size, &h_inv)
                    })
                    .collect()
            })
            .collect();
        chunks.into_iter().flatten().collect()
    }

    /// One iteration of Algorithm 1 on a collected batch: add its
    /// transitions to the pool, compute each one's information gain KL_t
    /// under the posterior fitted to the earlier data, add
    /// η KL_t / median(mean KL of the previous `kl_history` batches) to
    /// its reward (§2.5; the current batch's mean when there is no
    /// history), then train the BNN on the pool (once it holds
    /// `min_pool`).
    pub fn apply(&mut self, batch: &mut Batch) -> Result<()> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for r in 0..batch.len() {
            self.row(batch, r, &mut x, &mut y);
            self.pool.push(&x, &y);
        }
        let norm = if self.cfg.normalise {
            self.pool.normalisers()
        } else {
            (
                Normaliser::identity(self.pool_dims().0),
                Normaliser::identity(self.pool_dims().1),
            )
        };
        let t0 = Instant::now();
        let kls = self.info_gains(batch, &norm);
        let kl_seconds = t0.elapsed().as_secs_f64();
        let mean_kl = kls.iter().sum::<f64>() / kls.len().max(1) as f64;
        if !mean_kl.is_finite() {
            return Err(crate::error::Error::NonFinite {
                what: "information gain",
                value: mean_kl,
                iteration: self.calls as usize,
            });
        }
        let med = if self.history.is_empty() {
            mean_kl
        } else {
            median(&self.history)
        };
        let scale = if med > 0.0 { self.cfg.eta / med } else { 0.0 };
        for (r, k) in batch.rewards.iter_mut().zip(&kls) {
            *r += scale * k;
        }
        self.history.push(mean_kl);
        if self.history.len() > self.cfg.kl_history {
            self.history.remove(0);
        }
        let t1 = Instant::now();
        let elbo = if self.pool.len() >= self.cfg.min_pool {
            self.dynamics.train(&self.pool, &norm, self.cfg.updates)?
        } else {
            f64::NAN
        };
        self.log.push(VimeIter {
            mean_kl,
            median: med,
            mean_bonus: scale * mean_kl,
            elbo,
            pool: self.pool.len(),
            kl_seconds,
            train_seconds: t1.elapsed().as_secs_f64(),
        });
        self.calls += 1;
        Ok(())
    }

    fn pool_dims(&self) -> (usize, usize) {
        (
            self.obs_dim + self.action_space.policy_outputs(),
            self.obs_dim,
        )
    }
}

/// A policy-gradient run with VIME: the policy's log and VIME's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VimeLog {
    /// TRPO's or PPO's per-iteration log (environment returns, no bonus).
    pub train: TrainLog,
    /// VIME's per-iteration log.
    pub vime: Vec<VimeIter>,
}

/// An algorithm's `train_with` with VIME's bonus r + η KL/median applied to
/// every batch, `observe` seeing the batch after it (visitation counts).
fn with_vime<E: Env>(
    env: E,
    vcfg: &VimeConfig,
    observe: &mut dyn FnMut(&Batch),
    train_with: impl FnOnce(E, &mut dyn FnMut(&mut Batch) -> Result<()>) -> Result<TrainLog>,
) -> Result<VimeLog> {
    let mut vime = Vime::new(env.obs_dim(), env.action_space(), vcfg)?;
    let train = train_with(env, &mut |b: &mut Batch| {
        vime.apply(b)?;
        observe(b);
        Ok(())
    })?;
    Ok(VimeLog {
        train,
        vime: vime.log,
    })
}

/// TRPO + VIME: `pg::trpo::train_with` with the bonus r + η KL/median.
/// `observe` sees every batch after the bonus (visitation counts).
pub fn train_trpo<E: Env>(
    env: E,
    cfg: &TrpoConfig,
    vcfg: &VimeConfig,
    observe: &mut dyn FnMut(&Batch),
) -> Result<VimeLog> {
    with_vime(env, vcfg, observe, |env, bonus| {
        crate::pg::trpo::train_with(env, cfg, bonus)
    })
}

/// PPO + VIME: `pg::ppo::train_with` with the bonus r + η KL/median.
pub fn train_ppo<E: Env>(
    env: E,
    cfg: &PpoConfig,
    vcfg: &VimeConfig,
    observe: &mut dyn FnMut(&Batch),
) -> Result<VimeLog> {
    with_vime(env, vcfg, observe, |env, bonus| {
        crate::pg::ppo::train_with(env, cfg, bonus)
    })
}

#[cfg(test)]
mod tests;
