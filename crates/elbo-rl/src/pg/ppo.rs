//! PPO with the clipped surrogate (Schulman et al. 2017, "Proximal policy
//! optimization algorithms", eq. (7)), laid out as CleanRL's
//! `ppo_continuous_action.py`: rollout, GAE, then `update_epochs` passes
//! over shuffled minibatches with Adam, per-minibatch advantage
//! normalisation, gradient-norm clipping and a linearly annealed learning
//! rate. Policy and value are separate networks with separate optimisers
//! (CleanRL's agent has separate actor and critic as well; with no shared
//! parameters the summed loss of its eq. (9) splits into the two); no
//! entropy bonus (CleanRL's continuous default, `ent_coef = 0`).

use super::log::{IterLog, TrainLog};
use super::mlp::{Adam, clip_norm};
use super::rollout::{Batch, advantages, check_finite, normalize};
use crate::env::Env;
use crate::error::{Result, check};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// PPO's settings (defaults: CleanRL's `ppo_continuous_action.py`, with 8
/// copies of 256 steps instead of 1 of 2048, and VIME's 32-unit policy).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PpoConfig {
    /// Hidden layer sizes of the policy (tanh).
    pub hidden: Vec<usize>,
    /// Hidden layer sizes of the value network (tanh).
    pub value_hidden: Vec<usize>,
    /// Environment copies stepped together.
    pub num_envs: usize,
    /// Steps per copy per iteration (batch = `num_envs · num_steps`).
    pub num_steps: usize,
    /// Number of iterations.
    pub iterations: usize,
    /// Adam learning rate (policy and value).
    pub lr: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Discount γ.
    pub gamma: f64,
    /// GAE λ.
    pub lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Passes over the batch per iteration.
    pub update_epochs: usize,
    /// Clipping ε of eq. (7).
    pub clip_coef: f64,
    /// Largest gradient norm (each network separately).
    pub max_grad_norm: f64,
    /// Initial log σ of a Gaussian policy.
    pub init_log_std: f64,
    /// Seed of everything.
    pub seed: u64,
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            hidden: vec![32],
            value_hidden: vec![32, 32],
            num_envs: 8,
            num_steps: 256,
            iterations: 100,
            lr: 3e-4,
            anneal_lr: true,
            gamma: 0.99,
            lambda: 0.95,
            num_minibatches: 32,
            update_epochs: 10,
            clip_coef: 0.2,
            max_grad_norm: 0.5,
            init_log_std: 0.0,
            seed: 0,
        }
    }
}

impl PpoConfig {
    /// `Err(InvalidParam)` naming the first setting out of range.
    pub fn check(&self) -> Result<()> {
        check(self.num_envs >= 1, "num_envs", self.num_envs, "at least 1")?;
        check(
            self.num_steps >= 1,
            "num_steps",
            self.num_steps,
            "at least 1",
        )?;
        check(
            self.lr > 0.0 && self.lr.is_finite(),
            "lr",
            self.lr,
            "positive",
        )?;
        check(
            (0.0..=1.0).contains(&self.gamma),
            "gamma",
            self.gamma,
            "in [0, 1]",
        )?;
        check(
            (0.0..=1.0).contains(&self.lambda),
            "lambda",
            self.lambda,
            "in [0, 1]",
        )?;
        check(
            self.num_minibatches >= 1 && self.num_minibatches <= self.num_envs * self.num_steps,
            "num_minibatches",
            self.num_minibatches,
            "between 1 and num_envs · num_steps",
        )?;
        check(
            self.clip_coef > 0.0,
            "clip_coef",
            self.clip_coef,
            "positive",
        )?;
        check(
            self.max_grad_norm > 0.0,
            "max_grad_norm",
            self.max_grad_norm,
            "positive",
        )?;
        Ok(())
    }
}

/// Train with PPO; see [`train_with`].
pub fn train<E: Env>(env: E, cfg: &PpoConfig) -> Result<TrainLog> {
    train_with(env, cfg, &mut |_| Ok(()))
}

/// Train with PPO. `bonus` may change each batch's rewards before the
/// advantages are computed (VIME); logged returns are the environment's.
pub fn train_with<E: Env>(
    env: E,
    cfg: &PpoConfig,
    bonus: &mut dyn FnMut(&mut Batch) -> Result<()>,
) -> Result<TrainLog> {
    cfg.check()?;
    // Seeding: one u64 drives the environments (streams 0..N of `seed`),
    // and the policy, value and sampling generator (`seed + 1`).
    let super::rollout::Start {
        mut rng,
        mut venv,
        policy,
        mut theta,
        mut value,
    } = super::rollout::start(
        env,
        cfg.seed,
        cfg.num_envs,
        &cfg.hidden,
        cfg.init_log_std,
        &cfg.value_hidden,
    )?;
    let mut adam = Adam::new(policy.n_params());
    let (d, ad, k) = (venv.obs_dim(), policy.act_dim(), policy.dist_dim());
    let batch_size = cfg.num_envs * cfg.num_steps;
    let minibatch = batch_size / cfg.num_minibatches;
    let start = Instant::now();
    let mut log = Vec::with_capacity(cfg.iterations);

    for iteration in 0..cfg.iterations {
        let lr = if cfg.anneal_lr {
            cfg.lr * (1.0 - iteration as f64 / cfg.iterations as f64)
        } else {
            cfg.lr
        };
        // ROLLOUT, bonus, ADVANTAGES (GAE)
        let (batch, adv, targets) = advantages(
            &mut venv,
            &policy,
            &theta,
            cfg.num_steps,
            &mut rng,
            bonus,
            &value,
            (cfg.gamma, cfg.lambda),
        )?;

        // OPTIMISE the clipped surrogate, eq. (7), on shuffled minibatches
        let mut idx: Vec<usize> = (0..batch_size).collect();
        let (mut clipped, mut seen, mut value_loss) = (0usize, 0usize, 0.0);
        let mut mb_obs = vec![0.0; minibatch * d];
        for epoch in 0..cfg.update_epochs {
            idx.shuffle(&mut rng);
            let (mut vl_sum, mut vl_n) = (0.0, 0);
            for mb in idx.chunks_exact(minibatch) {
                for (j, &r) in mb.iter().enumerate() {
                    mb_obs[j * d..(j + 1) * d].copy_from_slice(&batch.obs[r * d..(r + 1) * d]);
                }
                let mut mb_adv: Vec<f64> = mb.iter().map(|&r| adv[r]).collect();
                normalize(&mut mb_adv);
                let m = mb.len() as f64;
                let counter = std::sync::atomic::AtomicUsize::new(0);
                // Loss −mean min(ρÂ, clip(ρ, 1 ± ε)Â); its gradient is
                // −Â ρ ∇ log π where the unclipped term is the minimum, 0
                // where the clipped one is (and ρ outside [1 − ε, 1 + ε]).
                let (_, mut g) = policy.grad_batch(&theta, &mb_obs, |j, dist, ls, dd, dls| {
                    let r = mb[j];
                    let a = &batch.actions[r * ad..(r + 1) * ad];
                    let ratio = (policy.log_prob(dist, ls, a) - batch.logp[r]).exp();
                    let active = !((mb_adv[j] > 0.0 && ratio > 1.0 + cfg.clip_coef)
                        || (mb_adv[j] < 0.0 && ratio < 1.0 - cfg.clip_coef));
                    if (ratio - 1.0).abs() > cfg.clip_coef {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    let w = if active { -mb_adv[j] * ratio / m } else { 0.0 };
                    policy.grad_log_prob(dist, ls, a, w, dd, dls);
                    0.0
                });
                clip_norm(&mut g, cfg.max_grad_norm);
                adam.step(&mut theta, &g, lr);
                vl_sum += value.step(&batch.obs, &targets, mb, lr, cfg.max_grad_norm);
                vl_n += 1;
                if epoch + 1 == cfg.update_epochs {
                    clipped += counter.into_inner();
                    seen += mb.len();
                }
            }
            value_loss = vl_sum / vl_n as f64;
        }
        check_finite(&theta, iteration)?;
        // DIAGNOSTICS: exact mean KL(π_old ‖ π_new) over the batch
        let new = policy.dists(&theta, &batch.obs);
        let kl = (0..batch_size)
            .map(|r| {
                policy.kl(
                    &batch.dists[r * k..(r + 1) * k],
                    &batch.log_std,
                    &new[r * k..(r + 1) * k],
                    policy.log_std(&theta),
                )
            })
            .sum::<f64>()
            / batch_size as f64;
        log.push(IterLog {
            iteration,
            steps: (iteration + 1) * batch_size,
            mean_return: batch.mean_return(),
            episodes: batch.episodes.len(),
            kl,
            value_loss,
            backtracks: None,
            clip_fraction: Some(clipped as f64 / seen.max(1) as f64),
            wall_seconds: start.elapsed().as_secs_f64(),
        });
    }
    Ok(TrainLog {
        iterations: log,
        policy,
        theta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_settings_are_named() {
        let bad = PpoConfig {
            num_minibatches: 0,
            ..Default::default()
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("num_minibatches")
        );
        let bad = PpoConfig {
            lr: -1.0,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().to_string().contains("lr"));
    }
}
