//! Policy optimisation: policies on a hand-written f64 MLP, GAE, TRPO, PPO.

pub mod mlp;
pub mod policy;

pub use mlp::{Adam, Mlp, MlpCache};
pub use policy::{Policy, PolicyKind};
