//! Collecting a batch of transitions from a [`VecEnv`], and generalised
//! advantage estimation (Schulman et al. 2016, "High-dimensional continuous
//! control using generalized advantage estimation", eqs. (11)–(16)).

use super::mlp::MlpCache;
use super::policy::Policy;
use super::value::ValueFn;
use crate::env::{Env, VecEnv};
use rand::Rng;

/// `horizon` steps of each of `n_envs` copies; row `t * n_envs + i` is step
/// t of copy i.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Copies stepped in parallel.
    pub n_envs: usize,
    /// Steps per copy.
    pub horizon: usize,
    /// Observation length.
    pub obs_dim: usize,
    /// Numbers per action.
    pub act_dim: usize,
    /// Observations s_t, `[T·N, obs_dim]`.
    pub obs: Vec<f64>,
    /// Actions a_t as sampled (Gaussian: unclipped), `[T·N, act_dim]`.
    pub actions: Vec<f64>,
    /// log π_old(a_t | s_t).
    pub logp: Vec<f64>,
    /// π_old's network outputs (logits or means), `[T·N, dist_dim]`.
    pub dists: Vec<f64>,
    /// π_old's log σ (Gaussian; empty otherwise).
    pub log_std: Vec<f64>,
    /// Rewards r_t; an exploration bonus (VIME) is added here before GAE.
    pub rewards: Vec<f64>,
    /// s_{t+1} was terminal.
    pub terminated: Vec<bool>,
    /// The episode was cut by the step limit after a_t (not terminal).
    pub truncated: Vec<bool>,
    /// s_{t+1} as observed, `[T·N, obs_dim]`: the next row's observation,
    /// or the final observation when the episode ended there.
    pub next_obs: Vec<f64>,
    /// (return, length) of the episodes that ended in this batch, with the
    /// environment's own reward.
    pub episodes: Vec<(f64, usize)>,
}

impl Batch {
    /// Number of transitions T·N.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// No transitions.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Mean return of the episodes that ended in this batch.
    pub fn mean_return(&self) -> Option<f64> {
        (!self.episodes.is_empty())
            .then(|| self.episodes.iter().map(|e| e.0).sum::<f64>() / self.episodes.len() as f64)
    }
}

/// Run π_θ for `horizon` steps in every copy of `venv`.
pub fn collect<E: Env>(
    venv: &mut VecEnv<E>,
    policy: &Policy,
    theta: &[f64],
    horizon: usize,
    rng: &mut impl Rng,
) -> Batch {
    let (n, d, ad, k) = (
        venv.len(),
        venv.obs_dim(),
        policy.act_dim(),
        policy.dist_dim(),
    );
    let rows = horizon * n;
    let mut b = Batch {
        n_envs: n,
        horizon,
        obs_dim: d,
        act_dim: ad,
        obs: Vec::with_capacity(rows * d),
        actions: vec![0.0; rows * ad],
        logp: vec![0.0; rows],
        dists: vec![0.0; rows * k],
        log_std: policy.log_std(theta).to_vec(),
        rewards: Vec::with_capacity(rows),
        terminated: Vec::with_capacity(rows),
        truncated: Vec::with_capacity(rows),
        next_obs: Vec::with_capacity(rows * d),
        episodes: Vec::new(),
    };
    let mut cache: MlpCache = policy.mlp.cache();
    for t in 0..horizon {
        let base = t * n;
        b.obs.extend_from_slice(venv.observations());
        for i in 0..n {
            let r = base + i;
            b.logp[r] = policy.sample(
                theta,
                &venv.observations()[i * d..(i + 1) * d],
                &mut cache,
                rng,
                &mut b.actions[r * ad..(r + 1) * ad],
                &mut b.dists[r * k..(r + 1) * k],
            );
        }
        let out = venv.step(&b.actions[base * ad..(base + n) * ad]);
        b.rewards.extend_from_slice(&out.reward);
        b.terminated.extend_from_slice(&out.terminated);
        b.truncated.extend_from_slice(&out.truncated);
        let (term, trunc, fin) = (
            out.terminated.clone(),
            out.truncated.clone(),
            out.final_obs.clone(),
        );
        for i in 0..n {
            let src = if term[i] || trunc[i] {
                &fin[i * d..(i + 1) * d]
            } else {
                &venv.observations()[i * d..(i + 1) * d]
            };
            b.next_obs.extend_from_slice(src);
        }
    }
    b.episodes = venv.take_finished();
    b
}

/// Generalised advantage estimates and value targets.
///
/// `values[r] = V(s_t)` and `next_values[r] = V(s_{t+1})` for every row
/// (with s_{t+1} from [`Batch::next_obs`], so a truncated episode is
/// bootstrapped from its last state). Schulman et al. 2016 eq. (11):
/// δ_t = r_t + γ V(s_{t+1}) (1 − terminal) − V(s_t); eq. (16):
/// Â_t = Σ_l (γλ)^l δ_{t+l}, the sum stopping where an episode ends.
/// Returns (Â, Â + V), the second being the value targets (TD(λ) returns).
pub fn gae(
    batch: &Batch,
    values: &[f64],
    next_values: &[f64],
    gamma: f64,
    lambda: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (n, t_max) = (batch.n_envs, batch.horizon);
    let mut adv = vec![0.0; n * t_max];
    for i in 0..n {
        let mut acc = 0.0;
        for t in (0..t_max).rev() {
            let r = t * n + i;
            let done = batch.terminated[r] || batch.truncated[r];
            let boot = if batch.terminated[r] {
                0.0
            } else {
                gamma * next_values[r]
            };
            let delta = batch.rewards[r] + boot - values[r];
            // The last row of the batch continues into the unseen future:
            // its δ already bootstraps from V(s_T), so the sum starts there.
            let carry = if done || t + 1 == t_max { 0.0 } else { acc };
            acc = delta + gamma * lambda * carry;
            adv[r] = acc;
        }
    }
    let ret = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, ret)
}

/// Standardise to mean 0, standard deviation 1 (Schulman et al. 2017, §6.1,
/// as PPO and TRPO implementations do).
pub fn normalize(x: &mut [f64]) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let sd = var.sqrt() + 1e-8;
    x.iter_mut().for_each(|v| *v = (*v - mean) / sd);
}

/// What TRPO and PPO start from: the generator of the policy, value and
/// sampling (`seed + 1`), the environments (streams 0..N of `seed`), the
/// policy with its initial parameters θ, and the value function — drawn in
/// that order, so both algorithms start identically from one seed.
pub(crate) struct Start<E: Env> {
    pub rng: rand_chacha::ChaCha8Rng,
    pub venv: VecEnv<E>,
    pub policy: Policy,
    pub theta: Vec<f64>,
    pub value: ValueFn,
}

/// Build the [`Start`] of a policy-gradient run.
pub(crate) fn start<E: Env>(
    env: E,
    seed: u64,
    num_envs: usize,
    hidden: &[usize],
    init_log_std: f64,
    value_hidden: &[usize],
) -> crate::error::Result<Start<E>> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(1));
    let venv = VecEnv::new(env, num_envs, seed)?;
    let policy = Policy::new(venv.obs_dim(), venv.action_space(), hidden);
    let theta = policy.init(&mut rng, init_log_std);
    let value = ValueFn::new(venv.obs_dim(), value_hidden, &mut rng);
    Ok(Start {
        rng,
        venv,
        policy,
        theta,
        value,
    })
}

/// One iteration's data for TRPO and PPO: roll out π_θ for `horizon` steps
/// in every copy, let `bonus` change the rewards (VIME's information gain),
/// then the GAE advantages and value targets ([`gae`]) under `value`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn advantages<E: Env>(
    venv: &mut VecEnv<E>,
    policy: &Policy,
    theta: &[f64],
    horizon: usize,
    rng: &mut impl Rng,
    bonus: &mut dyn FnMut(&mut Batch) -> crate::error::Result<()>,
    value: &ValueFn,
    (gamma, lambda): (f64, f64),
) -> crate::error::Result<(Batch, Vec<f64>, Vec<f64>)> {
    let mut batch = collect(venv, policy, theta, horizon, rng);
    bonus(&mut batch)?;
    let values = value.predict(&batch.obs);
    let next_values = value.predict(&batch.next_obs);
    let (adv, targets) = gae(&batch, &values, &next_values, gamma, lambda);
    Ok((batch, adv, targets))
}

/// An error naming the first policy parameter that is not finite (an
/// update that diverged at `iteration`).
pub(crate) fn check_finite(theta: &[f64], iteration: usize) -> crate::error::Result<()> {
    match theta.iter().find(|t| !t.is_finite()) {
        Some(bad) => Err(crate::error::Error::NonFinite {
            what: "policy parameter",
            value: *bad,
            iteration,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(rewards: Vec<f64>, terminated: Vec<bool>, truncated: Vec<bool>) -> Batch {
        Batch {
            n_envs: 1,
            horizon: rewards.len(),
            rewards,
            terminated,
            truncated,
            ..Default::default()
        }
    }

    /// With λ = 1 and V = 0, Â_t is the discounted return to the episode's end.
    #[test]
    fn gae_with_lambda_one_is_the_discounted_return() {
        let b = batch(
            vec![1.0, 2.0, 3.0, 4.0],
            vec![false, true, false, false],
            vec![false; 4],
        );
        let z = vec![0.0; 4];
        let (adv, _) = gae(&b, &z, &z, 0.5, 1.0);
        assert_eq!(adv, vec![1.0 + 0.5 * 2.0, 2.0, 3.0 + 0.5 * 4.0, 4.0]);
    }

    /// With λ = 0, Â_t = δ_t; truncation bootstraps from V(s_{t+1}),
    /// termination does not.
    #[test]
    fn gae_with_lambda_zero_is_the_td_error() {
        let b = batch(
            vec![1.0, 1.0, 1.0],
            vec![true, false, false],
            vec![false, true, false],
        );
        let v = vec![0.5, 0.25, 2.0];
        let nv = vec![9.0, 4.0, 3.0];
        let (adv, ret) = gae(&b, &v, &nv, 0.9, 0.0);
        let want = [1.0 - 0.5, 1.0 + 0.9 * 4.0 - 0.25, 1.0 + 0.9 * 3.0 - 2.0];
        for (a, w) in adv.iter().zip(want) {
            assert!((a - w).abs() < 1e-15);
        }
        assert!((ret[1] - (1.0 + 0.9 * 4.0)).abs() < 1e-15);
    }

    /// General λ against the direct sum Σ (γλ)^l δ_{t+l} (eq. 16).
    #[test]
    #[allow(clippy::needless_range_loop)] // t indexes several arrays
    fn gae_is_the_exponentially_weighted_sum_of_td_errors() {
        let b = batch(
            vec![0.3, -1.0, 2.0, 0.7, 1.1],
            vec![false, false, true, false, false],
            vec![false; 5],
        );
        let v = vec![0.1, 0.2, 0.3, 0.4, 0.5];
        let nv = vec![0.2, 0.3, 7.0, 0.5, 0.6];
        let (g, l) = (0.9, 0.8);
        let (adv, _) = gae(&b, &v, &nv, g, l);
        let delta: Vec<f64> = (0..5)
            .map(|t| b.rewards[t] + if b.terminated[t] { 0.0 } else { g * nv[t] } - v[t])
            .collect();
        let ends = [2usize, 4];
        for t in 0..5 {
            let end = *ends.iter().find(|&&e| e >= t).unwrap(); // every t ≤ 4 = the last end
            let direct: f64 = (t..=end)
                .map(|s| (g * l).powi((s - t) as i32) * delta[s])
                .sum();
            assert!(
                (adv[t] - direct).abs() < 1e-12,
                "t={t}: {} vs {direct}",
                adv[t]
            );
        }
    }
}
