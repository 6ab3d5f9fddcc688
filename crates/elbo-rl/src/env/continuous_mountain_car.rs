//! MountainCarContinuous-v0, gymnasium 1.4.0
//! `gymnasium/envs/classic_control/continuous_mountain_car.py`
//! (`Continuous_MountainCarEnv.step`); sparse variant as VIME §4.

use super::mountain_car::{MAX_POSITION, MAX_SPEED, MIN_POSITION};
use super::{
    Act, ActionSpace, Env, EnvRng, RewardMode, StepOut, check_state, continuous1, uniform,
};
use crate::error::Result;

const GOAL_POSITION: f64 = 0.45;
const GOAL_VELOCITY: f64 = 0.0;
const POWER: f64 = 0.0015;

/// MountainCarContinuous-v0: force a ∈ [−1, 1] (clipped) times 0.0015.
/// State = observation = `[position, velocity]`; terminates at position ≥
/// 0.45; truncates at 999 steps. Start: position U(−0.6, −0.4), velocity 0.
///
/// gymnasium stores the state as `np.float32` after every step; so do we
/// (the arithmetic itself is f64, as gymnasium's is for f64 actions).
///
/// Reward: dense 100 on reaching the goal minus 0.1·a² (unclipped a) per step;
/// sparse 1 on the terminating step, 0 otherwise, no action cost (VIME §4).
#[derive(Clone, Debug)]
pub struct ContinuousMountainCar {
    s: [f64; 2],
    t: usize,
    max_steps: usize,
    reward: RewardMode,
    /// The state holds f32 values (after a step), as gymnasium's
    /// `np.float32` array does; then `3 * position` is an f32 product.
    f32_state: bool,
}

impl ContinuousMountainCar {
    /// MountainCarContinuous-v0 with the given reward (call [`Env::reset`] first).
    pub fn new(reward: RewardMode) -> Self {
        ContinuousMountainCar {
            s: [-0.5, 0.0],
            t: 0,
            max_steps: Self::DEFAULT_MAX_STEPS,
            reward,
            f32_state: false,
        }
    }

    /// Another step limit.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }
}

impl Env for ContinuousMountainCar {
    const DEFAULT_MAX_STEPS: usize = 999;
    const STATE_DIM: usize = 2;

    fn name(&self) -> &'static str {
        match self.reward {
            RewardMode::Dense => "mountaincar-continuous",
            RewardMode::Sparse => "mountaincar-continuous-sparse",
        }
    }
    fn obs_dim(&self) -> usize {
        2
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Box {
            dim: 1,
            low: -1.0,
            high: 1.0,
        }
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
        self.f32_state = false;
    }
    fn state(&self) -> &[f64] {
        &self.s
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        check_state(self.name(), 2, state)?;
        self.s.copy_from_slice(state);
        self.t = 0;
        self.f32_state = false;
        Ok(())
    }
    fn observe(&self, out: &mut [f64]) {
        out.copy_from_slice(&self.s);
    }

    /// v ← clip(v + a·0.0015 − 0.0025·cos(3p), ±0.07); p ← clip(p + v);
    /// v ← 0 at the left wall when v < 0; state rounded to f32.
    ///
    /// gymnasium's state is an `np.float32` array, and under numpy 2's
    /// promotion rules (NEP 50) an `np.float32` meets a Python float in
    /// f32 arithmetic but an `np.float64` in f64. Which one it meets depends
    /// on the branch taken: the clipped force `min(max(a, −1.0), 1.0)` is a
    /// Python float when clipping happened and `np.float64` otherwise; the
    /// clipped velocity is a Python float. We follow each case (see
    /// [`Num`]), so trajectories agree bit for bit (f64 actions).
    fn step(&mut self, action: Act<'_>) -> StepOut {
        let a = continuous1(self.name(), action);
        let [p0, v0] = self.s;
        // The kind of `position`/`velocity` as read from the state array.
        let state = if self.f32_state { Num::F32 } else { Num::F64 };
        let force_kind = if (-1.0..=1.0).contains(&a) {
            Num::F64
        } else {
            Num::Py
        };
        let force = a.clamp(-1.0, 1.0);
        let three_p = if self.f32_state {
            f64::from(3.0f32 * p0 as f32)
        } else {
            3.0 * p0
        };
        let dv = force * POWER - 0.0025 * three_p.cos();
        let (mut velocity, mut v_kind) = Num::add(v0, state, dv, force_kind);
        if velocity > MAX_SPEED {
            (velocity, v_kind) = (MAX_SPEED, Num::Py);
        }
        if velocity < -MAX_SPEED {
            (velocity, v_kind) = (-MAX_SPEED, Num::Py);
        }
        let (position, _) = Num::add(p0, state, velocity, v_kind);
        let position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
        let reward = match self.reward {
            RewardMode::Dense => {
                let bonus = if terminated { 100.0 } else { 0.0 };
                bonus - a.powi(2) * 0.1
            }
            RewardMode::Sparse => f64::from(u8::from(terminated)),
        };
        // `self.state = np.array([position, velocity], dtype=np.float32)`.
        self.s = [position as f32 as f64, velocity as f32 as f64];
        self.f32_state = true;
        self.t += 1;
        StepOut {
            reward,
            terminated,
            truncated: self.t >= self.max_steps,
        }
    }
}

/// The numpy type a value has in gymnasium's `step`: `np.float32`,
/// `np.float64`, or a Python float (which takes the other operand's type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Num {
    F32,
    F64,
    Py,
}

impl Num {
    /// `x + y` with numpy 2's promotion: f32 arithmetic when one side is
    /// `np.float32` and the other is not `np.float64`.
    fn add(x: f64, kx: Num, y: f64, ky: Num) -> (f64, Num) {
        match (kx, ky) {
            (Num::F32, Num::F32 | Num::Py) | (Num::Py, Num::F32) => {
                (f64::from(x as f32 + y as f32), Num::F32)
            }
            (Num::Py, Num::Py) => (x + y, Num::Py),
            _ => (x + y, Num::F64),
        }
    }
}
