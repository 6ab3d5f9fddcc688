//! CartPole-v1, gymnasium 1.4.0 `gymnasium/envs/classic_control/cartpole.py`
//! (`CartPoleEnv.step`, explicit Euler, `kinematics_integrator = "euler"`),
//! after Barto, Sutton & Anderson (1983) with Florian's (2007) equations.

use super::{Act, ActionSpace, Env, EnvRng, StepOut, check_state, discrete, uniform};
use crate::error::Result;

const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
/// Half the pole's length.
const LENGTH: f64 = 0.5;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const X_THRESHOLD: f64 = 2.4;

/// gymnasium's `theta_threshold_radians = 12 * 2 * math.pi / 360`, same order.
fn theta_threshold() -> f64 {
    12.0 * 2.0 * std::f64::consts::PI / 360.0
}

/// One step of gymnasium's cart-pole physics from `s = [x, ẋ, θ, θ̇]` under
/// horizontal force `force`, returning `(ẍ, θ̈)`; θ = 0 is upright. Shared
/// with [`super::CartPoleSwingUp`]. Florian (2007) eqs. (23)–(24) with
/// μ_c = μ_p = 0, in gymnasium's order of operations.
pub(crate) fn accelerations(s: &[f64; 4], force: f64) -> (f64, f64) {
    let total_mass = MASSPOLE + MASSCART;
    let polemass_length = MASSPOLE * LENGTH;
    let theta_dot = s[3];
    let costheta = s[2].cos();
    let sintheta = s[2].sin();
    let temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    let thetaacc = (GRAVITY * sintheta - costheta * temp)
        / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass));
    let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    (xacc, thetaacc)
}

/// CartPole-v1: keep a pole upright by pushing the cart left (0) or right (1)
/// with 10 N. State `[x, ẋ, θ, θ̇]` (observation = state); reward 1 per step
/// including the terminating one; terminates when |x| > 2.4 or |θ| > 12°;
/// truncates at 500 steps. Start: each component U(−0.05, 0.05).
#[derive(Clone, Debug)]
pub struct CartPole {
    s: [f64; 4],
    t: usize,
    max_steps: usize,
    terminated: bool,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// CartPole-v1 at the origin (call [`Env::reset`] or [`Env::set_state`]).
    pub fn new() -> Self {
        CartPole {
            s: [0.0; 4],
            t: 0,
            max_steps: Self::DEFAULT_MAX_STEPS,
            terminated: false,
        }
    }

    /// Another step limit.
    pub fn with_max_steps(mut self, max_steps: usize) -> Self {
        self.max_steps = max_steps;
        self
    }
}

impl Env for CartPole {
    const DEFAULT_MAX_STEPS: usize = 500;
    const STATE_DIM: usize = 4;

    fn name(&self) -> &'static str {
        "cartpole"
    }
    fn obs_dim(&self) -> usize {
        4
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Discrete(2)
    }
    fn max_steps(&self) -> usize {
        self.max_steps
    }
    fn elapsed(&self) -> usize {
        self.t
    }
    fn reset(&mut self, rng: &mut EnvRng) {
        for v in &mut self.s {
            *v = uniform(rng, -0.05, 0.05);
        }
        self.t = 0;
        self.terminated = false;
    }
    fn state(&self) -> &[f64] {
        &self.s
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        check_state(self.name(), 4, state)?;
        self.s.copy_from_slice(state);
        self.t = 0;
        self.terminated = false;
        Ok(())
    }
    fn observe(&self, out: &mut [f64]) {
        out.copy_from_slice(&self.s);
    }

    /// `CartPoleEnv.step`: accelerations, then explicit Euler
    /// (x ← x + τẋ, ẋ ← ẋ + τẍ, θ ← θ + τθ̇, θ̇ ← θ̇ + τθ̈).
    fn step(&mut self, action: Act<'_>) -> StepOut {
        let a = discrete("cartpole", 2, action);
        let force = if a == 1 { FORCE_MAG } else { -FORCE_MAG };
        let (xacc, thetaacc) = accelerations(&self.s, force);
        let [x, x_dot, theta, theta_dot] = self.s;
        self.s = [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ];
        let thr = theta_threshold();
        let terminated = self.s[0] < -X_THRESHOLD
            || self.s[0] > X_THRESHOLD
            || self.s[2] < -thr
            || self.s[2] > thr;
        // gymnasium: 1 on every step up to and including the terminating one,
        // 0 for steps taken after it.
        let reward = if self.terminated { 0.0 } else { 1.0 };
        self.terminated |= terminated;
        self.t += 1;
        StepOut {
            reward,
            terminated,
            truncated: self.t >= self.max_steps,
        }
    }
}
