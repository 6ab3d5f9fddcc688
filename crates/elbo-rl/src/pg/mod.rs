//! Policy optimisation: policies on a hand-written f64 MLP, GAE, TRPO, PPO.

pub mod mlp;
pub mod policy;

pub use mlp::{Adam, Mlp, MlpCache};
pub use policy::{Policy, PolicyKind};
pub mod rollout;
pub mod value;

pub use rollout::{Batch, collect, gae, normalize};
pub use value::ValueFn;
pub mod log;
pub mod ppo;
pub mod trpo;

pub use log::{IterLog, TrainLog};
pub use ppo::PpoConfig;
pub use trpo::TrpoConfig;
