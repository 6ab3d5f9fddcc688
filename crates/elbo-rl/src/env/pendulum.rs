//! Pendulum-v1, gymnasium 1.4.0 `gymnasium/envs/classic_control/pendulum.py`
//! (`PendulumEnv.step`, `angle_normalize`).

use super::{Act, ActionSpace, Env, EnvRng, StepOut, check_state, continuous1, uniform};
use crate::error::Result;
use std::f64::consts::PI;

const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f64 = 2.0;
const DT: f64 = 0.05;
const G: f64 = 10.0;
const M: f64 = 1.0;
const L: f64 = 1.0;

/// gymnasium's `angle_normalize(x) = ((x + π) % (2π)) − π`, with numpy's
/// floored modulo (`rem_euclid` for a positive divisor).
pub fn angle_normalize(x: f64) -> f64 {
    (x + PI).rem_euclid(2.0 * PI) - PI
}

/// Pendulum-v1: swing a pendulum up and hold it with torque u ∈ [−2, 2].
/// State `[θ, θ̇]` (θ = 0 upright); observation `[cos θ, sin θ, θ̇]`; reward
/// −(angle_normalize(θ)² + 0.1 θ̇² + 0.001 u²); never terminates; truncates
/// at 200 steps. Start: θ U(−π, π), θ̇ U(−1, 1).
#[derive(Clone, Debug)]
pub struct Pendulum {
    s: [f64; 2],
    t: usize,
    max_steps: usize,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

impl Pendulum {
    /// Pendulum-v1, g = 10 (call [`Env::reset`] first).
    pub fn new() -> Self {
        Pendulum {
            s: [PI, 0.0],
            t: 0,
            max_steps: Self::DEFAULT_MAX_STEPS,
        }
    }

    /// Another step limit.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }
}

impl Env for Pendulum {
    const DEFAULT_MAX_STEPS: usize = 200;
    const STATE_DIM: usize = 2;

    fn name(&self) -> &'static str {
        "pendulum"
    }
    fn obs_dim(&self) -> usize {
        3
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Box {
            dim: 1,
            low: -MAX_TORQUE,
            high: MAX_TORQUE,
        }
    }
    fn max_steps(&self) -> usize {
        self.max_steps
    }
    fn elapsed(&self) -> usize {
        self.t
    }
    fn reset(&mut self, rng: &mut EnvRng) {
        self.s = [uniform(rng, -PI, PI), uniform(rng, -1.0, 1.0)];
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
        out[0] = self.s[0].cos();
        out[1] = self.s[0].sin();
        out[2] = self.s[1];
    }

    /// θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(ml²) u) dt, ±8); θ' = θ + θ̇' dt
    /// (semi-implicit Euler, as gymnasium).
    fn step(&mut self, action: Act<'_>) -> StepOut {
        let u = continuous1("pendulum", action).clamp(-MAX_TORQUE, MAX_TORQUE);
        let [th, thdot] = self.s;
        let an = angle_normalize(th);
        let costs = an * an + 0.1 * (thdot * thdot) + 0.001 * (u * u);
        let mut newthdot = thdot + (3.0 * G / (2.0 * L) * th.sin() + 3.0 / (M * (L * L)) * u) * DT;
        newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.s = [newth, newthdot];
        self.t += 1;
        StepOut {
            reward: -costs,
            terminated: false,
            truncated: self.t >= self.max_steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_normalize_is_numpys_floored_modulo() {
        // Values from numpy 2.4: ((x + pi) % (2 * pi)) - pi.
        for (x, want) in [
            (0.0, 0.0),
            (PI, -PI),
            (-PI, -PI),
            (4.0, 4.0 - 2.0 * PI),
            (-4.0, 2.0 * PI - 4.0),
        ] {
            assert!((angle_normalize(x) - want).abs() < 1e-12, "{x}");
        }
    }
}
