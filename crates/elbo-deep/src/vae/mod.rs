//! The variational auto-encoder and the importance-weighted auto-encoder.
//!
//! From per-datapoint variational EM to amortised inference: instead of one
//! q_i(z) per data point, an encoder network outputs the parameters of
//! q_φ(z|x) = N(μ_φ(x), diag σ²_φ(x)) for any x, and encoder and decoder
//! p_θ(x|z) are trained together on the evidence lower bound by stochastic
//! gradients.
//!
//! - [`config`]: the network ([`VaeConfig`], presets `iwae` and `pytorch`)
//!   and the run ([`TrainConfig`]: objective, k, estimator, warm-up, free
//!   bits).
//! - [`model`]: encoder, decoder, Bernoulli and Gaussian likelihoods, the
//!   ELBO with pathwise or score-function gradients, the IWAE bound, the
//!   closed-form Gaussian KL.
//! - [`train`]: the loop with Adam and checkpoints ([`Trainer`]).
//! - [`eval`]: importance-sampled log-likelihood, test ELBO, active units,
//!   KL per dimension, and the approximation / amortisation gaps.
//!
//! References: Kingma & Welling (2014), *Auto-Encoding Variational Bayes*;
//! Burda, Grosse & Salakhutdinov (2016), *Importance Weighted
//! Autoencoders*; Cremer, Li & Duvenaud (2018), *Inference Suboptimality
//! in Variational Autoencoders*; Kingma et al. (2016) (free bits);
//! Sønderby et al. (2016) (KL warm-up).

pub mod config;
pub mod eval;
pub mod model;
pub mod train;

pub use config::{Activation, Estimator, Likelihood, Objective, TrainConfig, VaeConfig};
pub use eval::{ElboStats, GapOptions, Gaps, WeightStats};
pub use model::{Batch, Noise, Step, StepReport, Vae, kl_elementwise, kl_gaussian, to_vec};
pub use train::{EpochReport, TrainState, Trainer};

#[cfg(test)]
mod tests;
