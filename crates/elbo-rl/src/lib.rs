//! # elbo-rl: environments, policy gradients, and (next) VIME
//!
//! - [`env`]: MountainCar (discrete and continuous), CartPole, Acrobot and
//!   Pendulum with gymnasium 1.4.0's dynamics, checked step by step against
//!   gymnasium (`tests/gym_conformance.rs`); the cart-pole swing-up; VIME's
//!   sparse-reward variants (Houthooft et al. 2016); vectorised stepping;
//!   burn-rl 0.22.1's `Environment` trait.
//! - [`pg`]: policy optimisation on a small hand-written f64 MLP with exact
//!   backpropagation: Gaussian and categorical policies, a value baseline,
//!   GAE (Schulman et al. 2016), TRPO (Schulman et al. 2015) and PPO
//!   (Schulman et al. 2017).
//!
//! Why not burn for the policy: a 32-unit policy does a few thousand
//! floating-point operations per sample, so a tensor framework's per-op
//! overhead (graph building, dispatch, allocation) would dominate. Plain f64
//! loops are faster here and exact to the last bit, which lets the tests
//! compare gradients with finite differences and Fisher-vector products with
//! an explicit Fisher matrix at tight tolerances.

pub mod env;
pub mod error;
pub mod pg;
pub mod vime;

pub use error::{Error, Result};
