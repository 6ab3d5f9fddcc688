//! MountainCar-v0, gymnasium 1.4.0 `gymnasium/envs/classic_control/mountain_car.py`
//! (`MountainCarEnv.step`), after Moore (1990); the sparse variant is VIME's
//! (Houthooft et al. 2016, §4: reward only on reaching the goal).

use super::{Act, ActionSpace, Env, EnvRng, RewardMode, StepOut, check_state, discrete, uniform};
use crate::error::Result;

pub(crate) const MIN_POSITION: f64 = -1.2;
pub(crate) const MAX_POSITION: f64 = 0.6;
pub(crate) const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.5;
const GOAL_VELOCITY: f64 = 0.0;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;

/// MountainCar-v0: drive an under-powered car up the right hill. State =
/// observation = `[position, velocity]`; actions 0 (left), 1 (none), 2
/// (right); terminates at position ≥ 0.5 (velocity ≥ 0); truncates at 200
/// steps. Start: position U(−0.6, −0.4), velocity 0.
///
/// Reward: dense −1 per step (gymnasium); sparse 1 on the terminating step,
/// 0 otherwise, no action cost (VIME §4).
#[derive(Clone, Debug)]
pub struct MountainCar {
    s: [f64; 2],
    t: usize,
    max_steps: usize,
    reward: RewardMode,
}

impl MountainCar {
    /// MountainCar-v0 with the given reward (call [`Env::reset`] first).
    pub fn new(reward: RewardMode) -> Self {
        MountainCar {
            s: [-0.5, 0.0],
            t: 0,
            max_steps: Self::DEFAULT_MAX_STEPS,
            reward,
        }
    }

    /// Another step limit.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }
}

impl Env for MountainCar {
    const DEFAULT_MAX_STEPS: usize = 200;
    const STATE_DIM: usize = 2;

    fn name(&self) -> &'static str {
        match self.reward {
            RewardMode::Dense => "mountaincar",
            RewardMode::Sparse => "mountaincar-sparse",
        }
    }
    fn obs_dim(&self) -> usize {
        2
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Discrete(3)
    }
    fn max_steps(&self) -> usize {
        self.max_steps
    }
    fn elapsed(&self) -> usize {
        self.t
    }
    fn reset(&mut self, rng: &mut EnvRng) {
        self.s = [uniform(rng, -0.6, -0.4), 0.0];
        self.t = 0;
    }
    fn state(&self) -> &[f64] {
        &self.s
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        check_state(self.name(), 2, state)?;
        self.s.copy_from_slice(state);
        self.t = 0;
        Ok(())
    }
    fn observe(&self, out: &mut [f64]) {
        out.copy_from_slice(&self.s);
    }

    /// v ← clip(v + (a − 1)·0.001 + cos(3p)·(−0.0025), ±0.07);
    /// p ← clip(p + v, [−1.2, 0.6]); v ← 0 at the left wall when v < 0.
    fn step(&mut self, action: Act<'_>) -> StepOut {
        let a = discrete(self.name(), 3, action);
        let [mut position, mut velocity] = self.s;
        velocity += (a as f64 - 1.0) * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        self.s = [position, velocity];
        let reward = match self.reward {
            RewardMode::Dense => -1.0,
            RewardMode::Sparse => f64::from(u8::from(terminated)),
        };
        self.t += 1;
        StepOut {
            reward,
            terminated,
            truncated: self.t >= self.max_steps,
        }
    }
}
