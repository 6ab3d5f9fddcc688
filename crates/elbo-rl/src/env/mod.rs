//! Classic-control environments with gymnasium's dynamics, their sparse-reward
//! variants (Houthooft et al. 2016, VIME §4), and vectorised stepping.
//!
//! | name | type | dynamics source |
//! |---|---|---|
//! | `cartpole` | [`CartPole`] | gymnasium 1.4.0 `envs/classic_control/cartpole.py` (explicit Euler) |
//! | `mountaincar`, `mountaincar-sparse` | [`MountainCar`] | gymnasium 1.4.0 `envs/classic_control/mountain_car.py` |
//! | `mountaincar-continuous`, `mountaincar-continuous-sparse` | [`ContinuousMountainCar`] | gymnasium 1.4.0 `envs/classic_control/continuous_mountain_car.py` (state rounded to f32 each step, as there) |
//! | `pendulum` | [`Pendulum`] | gymnasium 1.4.0 `envs/classic_control/pendulum.py` |
//! | `acrobot`, `acrobot-sparse` | [`Acrobot`] | gymnasium 1.4.0 `envs/classic_control/acrobot.py` (RK4, "book" dynamics) |
//! | `cartpole-swingup`, `cartpole-swingup-sparse` | [`CartPoleSwingUp`] | Florian (2007) eqs. (23)–(24), frictionless; RK4, τ = 0.02 s |
//!
//! States are f64 and every formula keeps gymnasium's order of floating-point
//! operations, so trajectories agree with gymnasium's to rounding
//! (`tests/gym_conformance.rs`). Random starts use our own seeded
//! [`EnvRng`] (ChaCha8), not numpy's PCG64: the start *distributions* are
//! gymnasium's, the draws are not.
//!
//! Two interfaces:
//! - [`Env`], ours: allocation-free, writes observations into a caller's
//!   buffer, runtime episode limits; what [`VecEnv`] and the policy-gradient
//!   code use.
//! - burn-rl 0.22.1's `Environment` trait, implemented by [`Seeded`] for every
//!   [`Env`] (burn-rl's `reset()` takes no generator, so `Seeded` carries one).

mod acrobot;
mod cartpole;
mod continuous_mountain_car;
mod mountain_car;
mod pendulum;
mod swingup;
mod vec_env;

pub use acrobot::Acrobot;
pub use cartpole::CartPole;
pub use continuous_mountain_car::ContinuousMountainCar;
pub use mountain_car::MountainCar;
pub use pendulum::Pendulum;
pub use swingup::CartPoleSwingUp;
pub use vec_env::{VecEnv, VecStep};

use crate::error::{Error, Result};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// The generator every environment draws its start states from.
pub type EnvRng = rand_chacha::ChaCha8Rng;

/// Dense (the environment's own) or sparse (VIME §4) reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RewardMode {
    /// gymnasium's reward (or, for the swing-up, cos θ per step).
    Dense,
    /// VIME's sparse reward: 1 on reaching the goal, 0 otherwise.
    Sparse,
}

/// What an environment accepts (gymnasium's `action_space`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ActionSpace {
    /// `Discrete(n)`: actions 0..n.
    Discrete(usize),
    /// `Box(low, high, (dim,))`: actions in [low, high]^dim (the environment
    /// clips, as gymnasium's do).
    Box {
        /// Number of action components.
        dim: usize,
        /// Lower bound of each component.
        low: f64,
        /// Upper bound of each component.
        high: f64,
    },
}

impl ActionSpace {
    /// Number of logits (discrete) or of Gaussian means (continuous).
    pub fn policy_outputs(&self) -> usize {
        match *self {
            ActionSpace::Discrete(n) => n,
            ActionSpace::Box { dim, .. } => dim,
        }
    }
}

/// One action, borrowed: an index or a slice of real components.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act<'a> {
    /// Index of a discrete action.
    Discrete(usize),
    /// Real components of a continuous action (clipped by the environment).
    Continuous(&'a [f64]),
}

/// What a step returns besides the new state (gymnasium's
/// `(reward, terminated, truncated)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOut {
    /// Reward of the transition.
    pub reward: f64,
    /// A terminal state was reached (gymnasium `terminated`).
    pub terminated: bool,
    /// The episode hit its step limit (gymnasium's `TimeLimit`, `truncated`).
    pub truncated: bool,
}

impl StepOut {
    /// The episode is over either way.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A classic-control environment: physical state in f64, gymnasium's step.
///
/// `step` counts steps and reports `truncated` once `elapsed() >=
/// max_steps()`, as gymnasium's `TimeLimit` wrapper does.
pub trait Env: Clone + Send + Sync + 'static {
    /// The default step limit (gymnasium's `max_episode_steps`).
    const DEFAULT_MAX_STEPS: usize;
    /// Length of the physical state (`env.unwrapped.state` in gymnasium).
    const STATE_DIM: usize;
    /// Registry name, e.g. `mountaincar-sparse`.
    fn name(&self) -> &'static str;
    /// Length of the observation a policy sees.
    fn obs_dim(&self) -> usize;
    /// The action space.
    fn action_space(&self) -> ActionSpace;
    /// The step limit in force.
    fn max_steps(&self) -> usize;
    /// Steps since the last reset.
    fn elapsed(&self) -> usize;
    /// Draw a start state from gymnasium's start distribution; `elapsed = 0`.
    fn reset(&mut self, rng: &mut EnvRng);
    /// The physical state.
    fn state(&self) -> &[f64];
    /// Set the physical state (and `elapsed = 0`); for conformance tests and
    /// for VIME's dynamics-model checks.
    fn set_state(&mut self, state: &[f64]) -> Result<()>;
    /// Write the observation into `out` (`out.len() == obs_dim()`).
    fn observe(&self, out: &mut [f64]);
    /// Advance one step. Panics (`#[track_caller]`-style assert) on an action
    /// of the wrong kind: that is a bug in the caller, not user input; use
    /// [`Env::check_action`] on untrusted actions.
    fn step(&mut self, action: Act<'_>) -> StepOut;

    /// `Ok` when `action` fits [`Env::action_space`].
    fn check_action(&self, action: Act<'_>) -> Result<()> {
        check_action(self.name(), self.action_space(), action)
    }
}

pub(crate) fn check_action(env: &'static str, space: ActionSpace, action: Act<'_>) -> Result<()> {
    match (space, action) {
        (ActionSpace::Discrete(n), Act::Discrete(a)) if a < n => Ok(()),
        (ActionSpace::Discrete(n), Act::Discrete(a)) => Err(Error::Action {
            env,
            reason: format!("index {a} not in 0..{n}"),
        }),
        (ActionSpace::Box { dim, .. }, Act::Continuous(a)) if a.len() == dim => Ok(()),
        (ActionSpace::Box { dim, .. }, Act::Continuous(a)) => Err(Error::Shape {
            what: "action",
            env,
            expected: dim,
            got: a.len(),
        }),
        (ActionSpace::Discrete(_), Act::Continuous(_)) => Err(Error::Action {
            env,
            reason: "continuous action for a discrete space".into(),
        }),
        (ActionSpace::Box { .. }, Act::Discrete(_)) => Err(Error::Action {
            env,
            reason: "discrete action for a continuous space".into(),
        }),
    }
}

pub(crate) fn check_state(env: &'static str, expected: usize, state: &[f64]) -> Result<()> {
    if state.len() != expected {
        return Err(Error::Shape {
            what: "state",
            env,
            expected,
            got: state.len(),
        });
    }
    if let Some(v) = state.iter().find(|v| !v.is_finite()) {
        return Err(Error::Action {
            env,
            reason: format!("state value {v} is not finite"),
        });
    }
    Ok(())
}

/// The discrete index of `action`, panicking on a continuous one (a caller bug).
#[track_caller]
pub(crate) fn discrete(env: &'static str, n: usize, action: Act<'_>) -> usize {
    match action {
        Act::Discrete(a) if a < n => a,
        other => panic!("{env}: expected a discrete action in 0..{n}, got {other:?}"),
    }
}

/// The first component of a continuous action, panicking otherwise (a caller bug).
#[track_caller]
pub(crate) fn continuous1(env: &'static str, action: Act<'_>) -> f64 {
    match action {
        Act::Continuous([a]) => *a,
        other => panic!("{env}: expected a continuous action of length 1, got {other:?}"),
    }
}

/// `U(low, high)` as numpy's `uniform`: `low + (high - low) * u`, u ∈ [0, 1).
pub(crate) fn uniform(rng: &mut EnvRng, low: f64, high: f64) -> f64 {
    let u: f64 = rand::Rng::random(rng);
    low + (high - low) * u
}

/// Any environment of this crate, chosen by name at run time (the CLI's
/// `--env`). Dispatch is one `match` per call.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum AnyEnv {
    /// gymnasium CartPole-v1.
    CartPole(CartPole),
    /// gymnasium MountainCar-v0 (dense or sparse).
    MountainCar(MountainCar),
    /// gymnasium MountainCarContinuous-v0 (dense or sparse).
    ContinuousMountainCar(ContinuousMountainCar),
    /// gymnasium Pendulum-v1.
    Pendulum(Pendulum),
    /// gymnasium Acrobot-v1 (dense or sparse).
    Acrobot(Acrobot),
    /// Cart-pole swing-up (dense or sparse).
    CartPoleSwingUp(CartPoleSwingUp),
}

/// Every name [`AnyEnv::by_name`] accepts.
pub const ENV_NAMES: &[&str] = &[
    "cartpole",
    "mountaincar",
    "mountaincar-sparse",
    "mountaincar-continuous",
    "mountaincar-continuous-sparse",
    "pendulum",
    "acrobot",
    "acrobot-sparse",
    "cartpole-swingup",
    "cartpole-swingup-sparse",
];

impl AnyEnv {
    /// The environment called `name` (one of [`ENV_NAMES`]), with its default
    /// step limit.
    pub fn by_name(name: &str) -> Result<AnyEnv> {
        use RewardMode::{Dense, Sparse};
        Ok(match name {
            "cartpole" => AnyEnv::CartPole(CartPole::new()),
            "mountaincar" => AnyEnv::MountainCar(MountainCar::new(Dense)),
            "mountaincar-sparse" => AnyEnv::MountainCar(MountainCar::new(Sparse)),
            "mountaincar-continuous" => {
                AnyEnv::ContinuousMountainCar(ContinuousMountainCar::new(Dense))
            }
            "mountaincar-continuous-sparse" => {
                AnyEnv::ContinuousMountainCar(ContinuousMountainCar::new(Sparse))
            }
            "pendulum" => AnyEnv::Pendulum(Pendulum::new()),
            "acrobot" => AnyEnv::Acrobot(Acrobot::new(Dense)),
            "acrobot-sparse" => AnyEnv::Acrobot(Acrobot::new(Sparse)),
            "cartpole-swingup" => AnyEnv::CartPoleSwingUp(CartPoleSwingUp::new(Dense)),
            "cartpole-swingup-sparse" => AnyEnv::CartPoleSwingUp(CartPoleSwingUp::new(Sparse)),
            other => {
                return Err(Error::UnknownEnv {
                    name: other.to_string(),
                    known: ENV_NAMES.join(", "),
                });
            }
        })
    }

    /// The same environment with another step limit (≥ 1).
    pub fn with_max_steps(self, max_steps: usize) -> Result<AnyEnv> {
        crate::error::check(max_steps >= 1, "max_steps", max_steps, "at least 1")?;
        Ok(match self {
            AnyEnv::CartPole(e) => AnyEnv::CartPole(e.with_max_steps(max_steps)),
            AnyEnv::MountainCar(e) => AnyEnv::MountainCar(e.with_max_steps(max_steps)),
            AnyEnv::ContinuousMountainCar(e) => {
                AnyEnv::ContinuousMountainCar(e.with_max_steps(max_steps))
            }
            AnyEnv::Pendulum(e) => AnyEnv::Pendulum(e.with_max_steps(max_steps)),
            AnyEnv::Acrobot(e) => AnyEnv::Acrobot(e.with_max_steps(max_steps)),
            AnyEnv::CartPoleSwingUp(e) => AnyEnv::CartPoleSwingUp(e.with_max_steps(max_steps)),
        })
    }
}

macro_rules! dispatch {
    ($self:expr, $e:ident => $body:expr) => {
        match $self {
            AnyEnv::CartPole($e) => $body,
            AnyEnv::MountainCar($e) => $body,
            AnyEnv::ContinuousMountainCar($e) => $body,
            AnyEnv::Pendulum($e) => $body,
            AnyEnv::Acrobot($e) => $body,
            AnyEnv::CartPoleSwingUp($e) => $body,
        }
    };
}

impl Env for AnyEnv {
    /// Not meaningful for the union; each variant has its own
    /// ([`Env::max_steps`] is the one in force).
    const DEFAULT_MAX_STEPS: usize = 500;
    /// The largest of the variants' (4); the variant's own is `state().len()`.
    const STATE_DIM: usize = 4;
    fn name(&self) -> &'static str {
        dispatch!(self, e => e.name())
    }
    fn obs_dim(&self) -> usize {
        dispatch!(self, e => e.obs_dim())
    }
    fn action_space(&self) -> ActionSpace {
        dispatch!(self, e => e.action_space())
    }
    fn max_steps(&self) -> usize {
        dispatch!(self, e => e.max_steps())
    }
    fn elapsed(&self) -> usize {
        dispatch!(self, e => e.elapsed())
    }
    fn reset(&mut self, rng: &mut EnvRng) {
        dispatch!(self, e => e.reset(rng))
    }
    fn state(&self) -> &[f64] {
        dispatch!(self, e => e.state())
    }
    fn set_state(&mut self, state: &[f64]) -> Result<()> {
        dispatch!(self, e => e.set_state(state))
    }
    fn observe(&self, out: &mut [f64]) {
        dispatch!(self, e => e.observe(out))
    }
    fn step(&mut self, action: Act<'_>) -> StepOut {
        dispatch!(self, e => e.step(action))
    }
}

/// An owned action, for burn-rl's `Environment::Action`.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Index of a discrete action.
    Discrete(usize),
    /// Components of a continuous action.
    Continuous(Vec<f64>),
}

impl Action {
    /// Borrow as [`Act`].
    pub fn as_act(&self) -> Act<'_> {
        match self {
            Action::Discrete(a) => Act::Discrete(*a),
            Action::Continuous(a) => Act::Continuous(a),
        }
    }
}

/// An [`Env`] with its own seeded generator: what burn-rl 0.22.1's
/// `Environment` (whose `reset()` takes no generator) needs.
#[derive(Clone, Debug)]
pub struct Seeded<E> {
    /// The environment.
    pub env: E,
    rng: EnvRng,
}

impl<E: Env> Seeded<E> {
    /// Wrap `env`, seed its generator with `seed`, and reset it.
    pub fn new(mut env: E, seed: u64) -> Self {
        let mut rng = EnvRng::seed_from_u64(seed);
        env.reset(&mut rng);
        Seeded { env, rng }
    }

    /// The observation as a fresh vector.
    pub fn observation(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.env.obs_dim()];
        self.env.observe(&mut out);
        out
    }
}

/// burn-rl 0.22.1 `environment/base.rs`: `state()` is the observation,
/// `StepResult::done` is gymnasium's `terminated`.
impl<E: Env> burn_rl::Environment for Seeded<E> {
    type State = Vec<f64>;
    type Action = Action;
    const MAX_STEPS: usize = E::DEFAULT_MAX_STEPS;

    fn state(&self) -> Vec<f64> {
        self.observation()
    }

    fn step(&mut self, action: Action) -> burn_rl::StepResult<Vec<f64>> {
        let out = self.env.step(action.as_act());
        burn_rl::StepResult {
            next_state: self.observation(),
            reward: out.reward,
            done: out.terminated,
            truncated: out.truncated,
        }
    }

    fn reset(&mut self) {
        self.env.reset(&mut self.rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_and_steps() {
        let mut rng = EnvRng::seed_from_u64(0);
        for name in ENV_NAMES {
            let mut env = AnyEnv::by_name(name).unwrap(); // every listed name is matched above
            assert_eq!(env.name(), *name);
            env.reset(&mut rng);
            let mut obs = vec![0.0; env.obs_dim()];
            env.observe(&mut obs);
            assert!(obs.iter().all(|v| v.is_finite()));
            let out = match env.action_space() {
                ActionSpace::Discrete(_) => env.step(Act::Discrete(0)),
                ActionSpace::Box { dim, .. } => env.step(Act::Continuous(&vec![0.5; dim])),
            };
            assert!(out.reward.is_finite(), "{name}");
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = AnyEnv::by_name("mountaincart").unwrap_err().to_string();
        assert!(
            err.contains("mountaincart") && err.contains("cartpole-swingup-sparse"),
            "{err}"
        );
    }

    #[test]
    fn bad_actions_and_states_are_errors() {
        let env = AnyEnv::by_name("cartpole").unwrap(); // a listed name
        assert!(env.check_action(Act::Discrete(2)).is_err());
        assert!(env.check_action(Act::Continuous(&[0.0])).is_err());
        assert!(env.check_action(Act::Discrete(1)).is_ok());
        let mut env = AnyEnv::by_name("pendulum").unwrap(); // a listed name
        assert!(env.check_action(Act::Continuous(&[0.0, 1.0])).is_err());
        assert!(env.set_state(&[0.0]).is_err());
        assert!(env.set_state(&[f64::NAN, 0.0]).is_err());
        assert!(env.set_state(&[0.1, 0.0]).is_ok());
    }

    #[test]
    fn truncation_at_the_step_limit() {
        let mut env = AnyEnv::by_name("pendulum")
            .unwrap()
            .with_max_steps(3)
            .unwrap(); // listed; 3 ≥ 1
        env.set_state(&[0.0, 0.0]).unwrap(); // finite, length 2
        let t: Vec<bool> = (0..3)
            .map(|_| env.step(Act::Continuous(&[0.0])).truncated)
            .collect();
        assert_eq!(t, [false, false, true]);
        assert!(
            AnyEnv::by_name("pendulum")
                .unwrap()
                .with_max_steps(0)
                .is_err()
        ); // listed
    }

    #[test]
    fn burn_rl_environment_resets_and_steps() {
        use burn_rl::Environment;
        let mut env = Seeded::new(MountainCar::new(RewardMode::Sparse), 7);
        let s0 = env.state();
        assert_eq!(s0.len(), 2);
        assert!((-0.6..-0.4).contains(&s0[0]) && s0[1] == 0.0);
        let r = env.step(Action::Discrete(2));
        assert_eq!(r.reward, 0.0);
        assert!(!r.done && !r.truncated);
        env.reset();
        assert_ne!(env.state(), s0);
        assert_eq!(<Seeded<MountainCar> as Environment>::MAX_STEPS, 200);
    }

    #[test]
    fn auto_traits() {
        fn is<T: Send + Sync>() {}
        is::<AnyEnv>();
        is::<VecEnv<AnyEnv>>();
        is::<Error>();
    }
}
