//! TRPO: trust-region policy optimisation (Schulman et al. 2015, "Trust
//! region policy optimization", ICML), the practical algorithm of its §6 and
//! Appendix C, in the form rllab (which VIME used) and Spinning Up implement.
//!
//! Each iteration:
//! 1. collect a batch with π_θ_old; advantages by GAE (Schulman et al. 2016);
//! 2. g = ∇θ L(θ_old), L(θ) = mean_i π_θ(a_i|s_i)/π_old(a_i|s_i) Â_i — the
//!    surrogate of eq. (14) with importance sampling;
//! 3. s ≈ F⁻¹ g by conjugate gradient on Fisher-vector products (App. C.1);
//! 4. full step β s with β = √(2δ / sᵀFs) (the quadratic model's KL = δ);
//! 5. backtracking line search: shrink by `backtrack_ratio` until the mean
//!    KL(π_old ‖ π_θ) ≤ δ and L improved (App. C);
//! 6. fit the value baseline to the GAE targets.

use super::log::{IterLog, TrainLog};
use super::policy::Policy;
use super::rollout::{Batch, advantages, check_finite, normalize};
use crate::env::Env;
use crate::error::{Result, check};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// TRPO's settings (defaults: VIME's TRPO settings where the paper gives
/// them — step size δ = 0.01, γ = 0.99, batch 5000, policy 32 tanh units —
/// and Spinning Up's otherwise).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrpoConfig {
    /// Hidden layer sizes of the policy (tanh).
    pub hidden: Vec<usize>,
    /// Hidden layer sizes of the value baseline (tanh).
    pub value_hidden: Vec<usize>,
    /// Environment copies stepped together.
    pub num_envs: usize,
    /// Environment steps per iteration (rounded up to a multiple of `num_envs`).
    pub batch_size: usize,
    /// Number of iterations.
    pub iterations: usize,
    /// Discount γ.
    pub gamma: f64,
    /// GAE λ.
    pub lambda: f64,
    /// KL bound δ of the trust region.
    pub max_kl: f64,
    /// Conjugate-gradient iterations.
    pub cg_iters: usize,
    /// Damping added to the Fisher matrix in CG (F + c I).
    pub cg_damping: f64,
    /// Line-search shrink factor.
    pub backtrack_ratio: f64,
    /// Line-search steps before giving up (θ unchanged).
    pub max_backtracks: usize,
    /// Initial log σ of a Gaussian policy.
    pub init_log_std: f64,
    /// Adam learning rate of the value baseline.
    pub value_lr: f64,
    /// Passes over the batch per value fit.
    pub value_epochs: usize,
    /// Minibatch of the value fit.
    pub value_minibatch: usize,
    /// Seed of everything (environments, policy, value, sampling).
    pub seed: u64,
}

impl Default for TrpoConfig {
    fn default() -> Self {
        TrpoConfig {
            hidden: vec![32],
            value_hidden: vec![32, 32],
            num_envs: 8,
            batch_size: 5000,
            iterations: 100,
            gamma: 0.99,
            lambda: 0.97,
            max_kl: 0.01,
            cg_iters: 10,
            cg_damping: 0.1,
            backtrack_ratio: 0.8,
            max_backtracks: 15,
            init_log_std: 0.0,
            value_lr: 1e-3,
            value_epochs: 10,
            value_minibatch: 64,
            seed: 0,
        }
    }
}

impl TrpoConfig {
    /// `Err(InvalidParam)` naming the first setting out of range.
    pub fn check(&self) -> Result<()> {
        check(self.num_envs >= 1, "num_envs", self.num_envs, "at least 1")?;
        check(
            self.batch_size >= 1,
            "batch_size",
            self.batch_size,
            "at least 1",
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
            self.max_kl > 0.0 && self.max_kl.is_finite(),
            "max_kl",
            self.max_kl,
            "positive",
        )?;
        check(self.cg_iters >= 1, "cg_iters", self.cg_iters, "at least 1")?;
        check(
            self.cg_damping >= 0.0,
            "cg_damping",
            self.cg_damping,
            "non-negative",
        )?;
        check(
            self.backtrack_ratio > 0.0 && self.backtrack_ratio < 1.0,
            "backtrack_ratio",
            self.backtrack_ratio,
            "in (0, 1)",
        )?;
        check(self.value_lr > 0.0, "value_lr", self.value_lr, "positive")?;
        check(
            self.value_minibatch >= 1,
            "value_minibatch",
            self.value_minibatch,
            "at least 1",
        )?;
        Ok(())
    }
}

/// Conjugate gradient for A x = b with A given as a product `avp`
/// (Schulman et al. 2015, App. C.1; Nocedal & Wright Alg. 5.2), `iters`
/// iterations from x = 0, stopping early when rᵀr < 1e-10.
pub fn conjugate_gradient(avp: impl Fn(&[f64]) -> Vec<f64>, b: &[f64], iters: usize) -> Vec<f64> {
    let mut x = vec![0.0; b.len()];
    let mut r = b.to_vec();
    let mut p = b.to_vec();
    let mut rr: f64 = dot(&r, &r);
    for _ in 0..iters {
        if rr < 1e-10 {
            break;
        }
        let ap = avp(&p);
        let alpha = rr / dot(&p, &ap);
        for k in 0..x.len() {
            x[k] += alpha * p[k];
            r[k] -= alpha * ap[k];
        }
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        for k in 0..p.len() {
            p[k] = r[k] + beta * p[k];
        }
        rr = rr_new;
    }
    x
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Surrogate L(θ) = mean ratio·Â and mean KL(π_old ‖ π_θ) over the batch.
fn surrogate_and_kl(policy: &Policy, theta: &[f64], batch: &Batch, adv: &[f64]) -> (f64, f64) {
    let dists = policy.dists(theta, &batch.obs);
    let (k, ad) = (policy.dist_dim(), policy.act_dim());
    let ls = policy.log_std(theta);
    let n = batch.len();
    let (mut l, mut kl) = (0.0, 0.0);
    for r in 0..n {
        let d = &dists[r * k..(r + 1) * k];
        let lp = policy.log_prob(d, ls, &batch.actions[r * ad..(r + 1) * ad]);
        l += (lp - batch.logp[r]).exp() * adv[r];
        kl += policy.kl(&batch.dists[r * k..(r + 1) * k], &batch.log_std, d, ls);
    }
    (l / n as f64, kl / n as f64)
}

/// Train with TRPO; see [`train_with`].
pub fn train<E: Env>(env: E, cfg: &TrpoConfig) -> Result<TrainLog> {
    train_with(env, cfg, &mut |_| Ok(()))
}

/// Train with TRPO. `bonus` may change each batch's rewards before the
/// advantages are computed (VIME adds its information gain there); the
/// logged returns are always the environment's own.
pub fn train_with<E: Env>(
    env: E,
    cfg: &TrpoConfig,
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
    let horizon = cfg.batch_size.div_ceil(cfg.num_envs);
    let start = Instant::now();
    let mut log = Vec::with_capacity(cfg.iterations);
    let ad = policy.act_dim();

    for iteration in 0..cfg.iterations {
        // ROLLOUT, bonus, ADVANTAGES (GAE)
        let (batch, mut adv, targets) = advantages(
            &mut venv,
            &policy,
            &theta,
            horizon,
            &mut rng,
            bonus,
            &value,
            (cfg.gamma, cfg.lambda),
        )?;
        normalize(&mut adv);
        let n = batch.len() as f64;

        // POLICY GRADIENT g = ∇ L(θ_old) = mean Â ∇ log π (ratio = 1 at θ_old)
        let (_, mut g) = policy.grad_batch(&theta, &batch.obs, |r, d, ls, dd, dls| {
            policy.grad_log_prob(d, ls, &batch.actions[r * ad..(r + 1) * ad], adv[r], dd, dls);
            0.0
        });
        g.iter_mut().for_each(|x| *x /= n);
        // NATURAL GRADIENT s ≈ F⁻¹ g; full step √(2δ / sᵀFs) s
        let fvp = |v: &[f64]| policy.fvp(&theta, &batch.obs, v, cfg.cg_damping);
        let s = conjugate_gradient(fvp, &g, cfg.cg_iters);
        let shs = dot(&s, &policy.fvp(&theta, &batch.obs, &s, cfg.cg_damping));
        let beta = (2.0 * cfg.max_kl / shs.max(1e-12)).sqrt();
        // LINE SEARCH under the KL constraint
        let (l_old, _) = surrogate_and_kl(&policy, &theta, &batch, &adv);
        let mut accepted = None;
        let mut kl_after = 0.0;
        for j in 0..cfg.max_backtracks {
            let frac = beta * cfg.backtrack_ratio.powi(j as i32);
            let cand: Vec<f64> = theta.iter().zip(&s).map(|(t, d)| t + frac * d).collect();
            let (l_new, kl) = surrogate_and_kl(&policy, &cand, &batch, &adv);
            if l_new.is_finite() && kl <= cfg.max_kl && l_new > l_old {
                theta = cand;
                accepted = Some(j);
                kl_after = kl;
                break;
            }
        }
        check_finite(&theta, iteration)?;
        // VALUE BASELINE
        let value_loss = value.fit(
            &batch.obs,
            &targets,
            cfg.value_epochs,
            cfg.value_minibatch,
            cfg.value_lr,
            &mut rng,
        );
        log.push(IterLog {
            iteration,
            steps: (iteration + 1) * horizon * cfg.num_envs,
            mean_return: batch.mean_return(),
            episodes: batch.episodes.len(),
            kl: kl_after,
            value_loss,
            backtracks: accepted,
            clip_fraction: None,
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

    /// CG solves a small symmetric positive-definite system.
    #[test]
    fn conjugate_gradient_solves_spd_systems() {
        let a = [[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]];
        let b = [1.0, 2.0, 3.0];
        let x = conjugate_gradient(
            |v| {
                (0..3)
                    .map(|i| (0..3).map(|j| a[i][j] * v[j]).sum())
                    .collect()
            },
            &b,
            3,
        );
        for i in 0..3 {
            let ax: f64 = (0..3).map(|j| a[i][j] * x[j]).sum();
            assert!((ax - b[i]).abs() < 1e-10);
        }
    }

    #[test]
    fn invalid_settings_are_named() {
        let bad = TrpoConfig {
            max_kl: 0.0,
            ..Default::default()
        };
        assert!(bad.check().unwrap_err().to_string().contains("max_kl"));
        let bad = TrpoConfig {
            backtrack_ratio: 1.0,
            ..Default::default()
        };
        assert!(
            bad.check()
                .unwrap_err()
                .to_string()
                .contains("backtrack_ratio")
        );
    }
}
