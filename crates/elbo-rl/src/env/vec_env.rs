//! N copies of one environment stepped together, each with its own seeded
//! generator, resetting automatically — gymnasium's `SyncVectorEnv` with
//! `autoreset_mode = SAME_STEP` (the final observation is kept aside).

use super::{Act, ActionSpace, Env, EnvRng};
use crate::error::{Result, check};
use rand::SeedableRng;

/// What [`VecEnv::step`] returns for each copy.
#[derive(Clone, Debug, Default)]
pub struct VecStep {
    /// Reward per copy.
    pub reward: Vec<f64>,
    /// gymnasium `terminated` per copy.
    pub terminated: Vec<bool>,
    /// gymnasium `truncated` per copy (and not terminated).
    pub truncated: Vec<bool>,
    /// For copies whose episode ended, the observation of the last state
    /// (before the automatic reset), row-major `[n, obs_dim]`; other rows
    /// are left as they were. Needed to bootstrap the value at truncation.
    pub final_obs: Vec<f64>,
}

/// N copies of `E`. Copy i draws its start states from
/// `ChaCha8Rng::seed_from_u64(seed)` on stream i, so runs are reproducible
/// and copies independent. Stepping is sequential: one classic-control step
/// takes 10–200 ns, far below what a rayon task costs to schedule.
#[derive(Clone, Debug)]
pub struct VecEnv<E> {
    envs: Vec<E>,
    rngs: Vec<EnvRng>,
    obs: Vec<f64>,
    obs_dim: usize,
    /// Return of the episode in progress, per copy.
    ep_return: Vec<f64>,
    /// Length of the episode in progress, per copy.
    ep_len: Vec<usize>,
    /// (return, length) of every episode finished since the last
    /// [`VecEnv::take_finished`].
    finished: Vec<(f64, usize)>,
    out: VecStep,
}

impl<E: Env> VecEnv<E> {
    /// `n ≥ 1` copies of `env`, seeded from `seed`, all reset.
    pub fn new(env: E, n: usize, seed: u64) -> Result<Self> {
        check(n >= 1, "num_envs", n, "at least 1")?;
        let obs_dim = env.obs_dim();
        let mut envs = vec![env; n];
        let mut rngs = Vec::with_capacity(n);
        let mut obs = vec![0.0; n * obs_dim];
        for (i, e) in envs.iter_mut().enumerate() {
            let mut rng = EnvRng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            e.reset(&mut rng);
            e.observe(&mut obs[i * obs_dim..(i + 1) * obs_dim]);
            rngs.push(rng);
        }
        let out = VecStep {
            reward: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            final_obs: vec![0.0; n * obs_dim],
        };
        Ok(VecEnv {
            envs,
            rngs,
            obs,
            obs_dim,
            ep_return: vec![0.0; n],
            ep_len: vec![0; n],
            finished: Vec::new(),
            out,
        })
    }

    /// Number of copies.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Always false (n ≥ 1).
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// Observation length.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// The (shared) action space.
    pub fn action_space(&self) -> ActionSpace {
        self.envs[0].action_space()
    }

    /// Current observations, row-major `[n, obs_dim]`.
    pub fn observations(&self) -> &[f64] {
        &self.obs
    }

    /// The copies.
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// Step every copy: `actions` holds one index per copy (discrete) or
    /// `n × dim` components (continuous), as f64. A copy whose episode ends
    /// is reset at once; its last observation goes to
    /// [`VecStep::final_obs`].
    #[track_caller]
    pub fn step(&mut self, actions: &[f64]) -> &VecStep {
        let n = self.envs.len();
        let d = self.obs_dim;
        let space = self.action_space();
        let adim = match space {
            ActionSpace::Discrete(_) => 1,
            ActionSpace::Box { dim, .. } => dim,
        };
        assert_eq!(actions.len(), n * adim, "VecEnv::step: one action per copy");
        for i in 0..n {
            let a = &actions[i * adim..(i + 1) * adim];
            let act = match space {
                ActionSpace::Discrete(_) => Act::Discrete(a[0] as usize),
                ActionSpace::Box { .. } => Act::Continuous(a),
            };
            let env = &mut self.envs[i];
            let r = env.step(act);
            self.out.reward[i] = r.reward;
            self.out.terminated[i] = r.terminated;
            self.out.truncated[i] = r.truncated && !r.terminated;
            self.ep_return[i] += r.reward;
            self.ep_len[i] += 1;
            let row = i * d..(i + 1) * d;
            if r.done() {
                env.observe(&mut self.out.final_obs[row.clone()]);
                self.finished.push((self.ep_return[i], self.ep_len[i]));
                self.ep_return[i] = 0.0;
                self.ep_len[i] = 0;
                env.reset(&mut self.rngs[i]);
            }
            env.observe(&mut self.obs[row]);
        }
        &self.out
    }

    /// (return, length) of the episodes finished since the last call.
    pub fn take_finished(&mut self) -> Vec<(f64, usize)> {
        std::mem::take(&mut self.finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{CartPole, MountainCar, RewardMode};

    #[test]
    fn copies_are_seeded_independently_and_reproducibly() {
        let a = VecEnv::new(CartPole::new(), 4, 3).unwrap(); // n ≥ 1
        let b = VecEnv::new(CartPole::new(), 4, 3).unwrap(); // n ≥ 1
        assert_eq!(a.observations(), b.observations());
        assert_ne!(a.observations()[0..4], a.observations()[4..8]);
        let c = VecEnv::new(CartPole::new(), 4, 4).unwrap(); // n ≥ 1
        assert_ne!(a.observations(), c.observations());
        assert!(VecEnv::new(CartPole::new(), 0, 3).is_err());
    }

    #[test]
    fn auto_reset_keeps_the_final_observation() {
        let mut v =
            VecEnv::new(MountainCar::new(RewardMode::Dense).with_max_steps(5), 2, 0).unwrap(); // n ≥ 1
        for t in 0..5 {
            let out = v.step(&[2.0, 0.0]);
            assert_eq!(out.truncated[0], t == 4);
        }
        // After the reset the velocity is 0 again; the final one was not.
        assert_eq!(v.observations()[1], 0.0);
        assert_ne!(v.out.final_obs[1], 0.0);
        let eps = v.take_finished();
        assert_eq!(eps, vec![(-5.0, 5), (-5.0, 5)]);
    }
}
