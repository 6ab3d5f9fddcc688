//! Cart-pole swing-up with analytic dynamics: the frictionless cart-pole of
//! Florian (2007), "Correct equations for the dynamics of the cart-pole
//! system", eqs. (23)–(24) with μ_c = μ_p = 0 — the equations gymnasium's
//! CartPole integrates (see [`super::cartpole`]) — started hanging down, with
//! continuous force, no angle limit, and VIME's sparse reward (Houthooft et
//! al. 2016, §4: "+1 when cos(β) > 0.8").

use super::cartpole::accelerations;
use super::{
    Act, ActionSpace, Env, EnvRng, RewardMode, StepOut, check_state, continuous1, uniform,
};
use crate::error::Result;
use std::f64::consts::PI;

const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const X_THRESHOLD: f64 = 2.4;

/// Time derivative of `[x, ẋ, θ, θ̇]` under force `force`.
fn deriv(s: &[f64; 4], force: f64) -> [f64; 4] {
    let (xacc, thetaacc) = accelerations(s, force);
    [s[1], xacc, s[3], thetaacc]
}

/// One RK4 step of length `h` with the force held.
fn rk4(s: &[f64; 4], force: f64, h: f64) -> [f64; 4] {
    let add = |k: &[f64; 4], c: f64| -> [f64; 4] { std::array::from_fn(|i| s[i] + c * k[i]) };
    let k1 = deriv(s, force);
    let k2 = deriv(&add(&k1, h / 2.0), force);
    let k3 = deriv(&add(&k2, h / 2.0), force);
    let k4 = deriv(&add(&k3, h), force);
    std::array::from_fn(|i| s[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Cart-pole swing-up. State `[x, ẋ, θ, θ̇]` with θ = 0 upright and θ = π
/// hanging; the cart (1 kg) and pole (0.1 kg, half-length 0.5 m, g = 9.8)
/// are gymnasium CartPole's. Action a ∈ [−1, 1] (clipped), force F = 10a N:
///
/// θ̈ = (g sin θ − cos θ · T) / (l (4/3 − m_p cos²θ / (m_c + m_p))),
/// ẍ = T − m_p l θ̈ cos θ / (m_c + m_p), T = (F + m_p l θ̇² sin θ) / (m_c + m_p),
///
/// integrated with one classical Runge–Kutta (RK4) step per τ = 0.02 s. Not
/// gymnasium CartPole's Euler: over the whole swings of a swing-up episode
/// Euler (explicit or semi-implicit) gains or loses several per cent of the
/// energy; RK4 keeps it to 1e-4 (test below).
///
/// Observation `[x, ẋ, cos θ, sin θ, θ̇]`. Terminates when |x| > 2.4 (the
/// cart leaves the track); truncates at 500 steps. Start: θ = π + U(−0.05,
/// 0.05), the others U(−0.05, 0.05).
///
/// Reward: dense cos θ per step (1 upright, −1 hanging) and 0 on leaving
/// the track; sparse 1 when cos θ > 0.8 and |x| ≤ 2.4, else 0.
#[derive(Clone, Debug)]
pub struct CartPoleSwingUp {
    s: [f64; 4],
    t: usize,
    max_steps: usize,
    reward: RewardMode,
}

impl CartPoleSwingUp {
    /// The swing-up with the given reward (call [`Env::reset`] first).
    pub fn new(reward: RewardMode) -> Self {
        CartPoleSwingUp {
            s: [0.0, 0.0, PI, 0.0],
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

impl Env for CartPoleSwingUp {
    const DEFAULT_MAX_STEPS: usize = 500;
    const STATE_DIM: usize = 4;

    fn name(&self) -> &'static str {
        match self.reward {
            RewardMode::Dense => "cartpole-swingup",
            RewardMode::Sparse => "cartpole-swingup-sparse",
        }
    }
    fn obs_dim(&self) -> usize {
        5
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
        self.s = [
            uniform(rng, -0.05, 0.05),
            uniform(rng, -0.05, 0.05),
            PI + uniform(rng, -0.05, 0.05),
            uniform(rng, -0.05, 0.05),
        ];
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
        out.copy_from_slice(&[s[0], s[1], s[2].cos(), s[2].sin(), s[3]]);
    }

    fn step(&mut self, action: Act<'_>) -> StepOut {
        let force = FORCE_MAG * continuous1(self.name(), action).clamp(-1.0, 1.0);
        self.s = rk4(&self.s, force, TAU);
        let in_bounds = self.s[0].abs() <= X_THRESHOLD;
        let c = self.s[2].cos();
        let reward = match (self.reward, in_bounds) {
            (_, false) => 0.0,
            (RewardMode::Dense, true) => c,
            (RewardMode::Sparse, true) => f64::from(u8::from(c > 0.8)),
        };
        self.t += 1;
        StepOut {
            reward,
            terminated: !in_bounds,
            truncated: self.t >= self.max_steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without force or friction the total energy is conserved by the
    /// continuous dynamics; RK4 keeps it within 1e-4 of the pole's energy
    /// range 2 m_p g l over 5000 steps (ten episodes) of full swings.
    #[test]
    fn energy_is_nearly_conserved_without_force() {
        let mut env = CartPoleSwingUp::new(RewardMode::Dense);
        env.set_state(&[0.0, 0.0, 1.5, 0.0]).unwrap(); // finite, length 4
        // Energy of the pole relative to the cart's frame is not conserved
        // when the cart moves; the total mechanical energy is:
        // E = ½(m_c+m_p)ẋ² + m_p l ẋ θ̇ cos θ + ½ (4/3) m_p l² θ̇² + m_p g l cos θ.
        let energy = |s: &[f64]| {
            let (mc, mp, l, g) = (1.0, 0.1, 0.5, 9.8);
            0.5 * (mc + mp) * s[1] * s[1]
                + mp * l * s[1] * s[3] * s[2].cos()
                + 0.5 * (4.0 / 3.0) * mp * l * l * s[3] * s[3]
                + mp * g * l * s[2].cos()
        };
        let e0 = energy(env.state());
        let mut max_dev: f64 = 0.0;
        for _ in 0..5000 {
            env.step(Act::Continuous(&[0.0]));
            max_dev = max_dev.max((energy(env.state()) - e0).abs());
        }
        assert!(
            max_dev < 1e-4 * (2.0 * 0.1 * 9.8 * 0.5),
            "energy drift {max_dev}"
        );
    }

    #[test]
    fn sparse_reward_only_near_upright() {
        let mut env = CartPoleSwingUp::new(RewardMode::Sparse);
        env.set_state(&[0.0, 0.0, PI, 0.0]).unwrap(); // finite, length 4
        assert_eq!(env.step(Act::Continuous(&[0.0])).reward, 0.0);
        env.set_state(&[0.0, 0.0, 0.1, 0.0]).unwrap(); // finite, length 4
        assert_eq!(env.step(Act::Continuous(&[0.0])).reward, 1.0);
        env.set_state(&[2.39, 5.0, 0.0, 0.0]).unwrap(); // finite, length 4
        let out = env.step(Act::Continuous(&[1.0]));
        assert!(out.terminated && out.reward == 0.0);
    }
}
