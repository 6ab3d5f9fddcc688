//! Acrobot-v1, gymnasium 1.4.0 `gymnasium/envs/classic_control/acrobot.py`
//! (`AcrobotEnv.step`, `_dsdt` with `book_or_nips = "book"`, `rk4`, `wrap`,
//! `bound`), after Sutton (1996) and Sutton & Barto (1998); sparse variant in
//! the spirit of VIME §4 (reward only on reaching the goal height).

use super::{Act, ActionSpace, Env, EnvRng, RewardMode, StepOut, check_state, discrete, uniform};
use crate::error::Result;
use std::f64::consts::PI;

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];

/// `_dsdt`: time derivative of `[θ1, θ2, θ̇1, θ̇2, a]` (book dynamics), in
/// gymnasium's order of operations.
fn dsdt(y: &[f64; 5]) -> [f64; 5] {
    let (m1, m2, l1, lc1, lc2, i1, i2) = (
        LINK_MASS_1,
        LINK_MASS_2,
        LINK_LENGTH_1,
        LINK_COM_POS_1,
        LINK_COM_POS_2,
        LINK_MOI,
        LINK_MOI,
    );
    let g = 9.8;
    let a = y[4];
    let (theta1, theta2, dtheta1, dtheta2) = (y[0], y[1], y[2], y[3]);
    let d1 =
        m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * theta2.sin() - phi2)
        / (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// gymnasium's `rk4(derivs, y0, [0, dt])`: one classical Runge–Kutta step.
fn rk4(y0: &[f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let add = |y: &[f64; 5], h: f64, k: &[f64; 5]| -> [f64; 5] {
        std::array::from_fn(|i| y[i] + h * k[i])
    };
    let k1 = dsdt(y0);
    let k2 = dsdt(&add(y0, dt2, &k1));
    let k3 = dsdt(&add(y0, dt2, &k2));
    let k4 = dsdt(&add(y0, dt, &k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// gymnasium's `wrap(x, m, M)`: shift by M − m until m ≤ x ≤ M.
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// Acrobot-v1: swing the tip of a two-link pendulum, torque on the elbow
/// only (−1, 0, +1), above the bar: −cos θ1 − cos(θ1 + θ2) > 1. State
/// `[θ1, θ2, θ̇1, θ̇2]`; observation `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1,
/// θ̇2]`; truncates at 500 steps. Start: each component U(−0.1, 0.1) rounded
/// to f32 (gymnasium's `.astype(np.float32)`).
///
/// Reward: dense −1 per step and 0 on the terminating one (gymnasium);
/// sparse 1 on the terminating step, 0 otherwise.
#[derive(Clone, Debug)]
pub struct Acrobot {
    s: [f64; 4],
    t: usize,
    max_steps: usize,
    reward: RewardMode,
}

impl Acrobot {
    /// Acrobot-v1 with the given reward (call [`Env::reset`] first).
    pub fn new(reward: RewardMode) -> Self {
        Acrobot {
            s: [0.0; 4],
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

impl Env for Acrobot {
    const DEFAULT_MAX_STEPS: usize = 500;
    const STATE_DIM: usize = 4;

    fn name(&self) -> &'static str {
        match self.reward {
            RewardMode::Dense => "acrobot",
            RewardMode::Sparse => "acrobot-sparse",
        }
    }
    fn obs_dim(&self) -> usize {
        6
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
        for v in &mut self.s {
            *v = uniform(rng, -0.1, 0.1) as f32 as f64;
        }
        self.t = 0;
    }
    fn state(&self) -> &[f64] {
        &self.s
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        check_state(self.name(), 4, state)?;
        self.s.copy_from_slice(state);
        self.t = 0;
        Ok(())
    }
    fn observe(&self, out: &mut [f64]) {
        let s = &self.s;
        out.copy_from_slice(&[s[0].cos(), s[0].sin(), s[1].cos(), s[1].sin(), s[2], s[3]]);
    }

    /// One RK4 step of length 0.2 with the torque held, then angles wrapped
    /// to [−π, π] and velocities clipped to ±4π, ±9π.
    fn step(&mut self, action: Act<'_>) -> StepOut {
        let torque = AVAIL_TORQUE[discrete(self.name(), 3, action)];
        let y = [self.s[0], self.s[1], self.s[2], self.s[3], torque];
        let ns = rk4(&y, DT);
        self.s = [
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            ns[2].clamp(-MAX_VEL_1, MAX_VEL_1),
            ns[3].clamp(-MAX_VEL_2, MAX_VEL_2),
        ];
        let s = &self.s;
        let terminated = -s[0].cos() - (s[1] + s[0]).cos() > 1.0;
        let reward = match (self.reward, terminated) {
            (RewardMode::Dense, false) => -1.0,
            (RewardMode::Dense, true) => 0.0,
            (RewardMode::Sparse, t) => f64::from(u8::from(t)),
        };
        self.t += 1;
        StepOut {
            reward,
            terminated,
            truncated: self.t >= self.max_steps,
        }
    }
}
