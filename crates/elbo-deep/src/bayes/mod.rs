//! Bayes by Backprop (Blundell et al. 2015): Bayesian layers with a
//! factorised Gaussian posterior q(w | θ) = Π N(w_j | μ_j, softplus(ρ_j)²),
//! fitted by pathwise gradients on minibatches.
//!
//! - [`BayesLinear`]: the layer; one weight draw ([`BayesLinear::forward_sample`]),
//!   the local reparameterisation trick ([`BayesLinear::forward_local`],
//!   Kingma et al. 2015), the KL in closed form or by Monte Carlo, and the
//!   KL's diagonal Hessian in (μ, ρ) for VIME's second-order step.
//! - [`Prior`]: Gaussian, the scale mixture (eq. (7)), or a per-weight
//!   factorised Gaussian — a previous posterior ([`BayesMlp::posterior_as_prior`]).
//! - [`BayesMlp`]: the network and the minibatch objective (eq. (8)–(9))
//!   with [`KlWeighting`].
//! - [`train`]: the training loop on in-memory data, prediction by sampling.
//!
//! References: C. Blundell, J. Cornebise, K. Kavukcuoglu, D. Wierstra,
//! *Weight Uncertainty in Neural Networks*, ICML 2015; D. P. Kingma,
//! T. Salimans, M. Welling, *Variational Dropout and the Local
//! Reparameterization Trick*, NeurIPS 2015; R. Houthooft et al., *VIME*,
//! NeurIPS 2016.

pub mod exact;
mod linear;
mod net;
mod prior;
pub mod train;

/// burn's tensor and device types, for callers without a burn dependency.
pub use burn::tensor::{Device, Tensor};
pub use linear::{BayesLinear, BayesLinearConfig, LayerDiag, WeightSample, softplus};
pub use net::{BayesMlp, BayesMlpConfig, KlWeighting, Likelihood, LossParts, Sampling};
pub use prior::{GaussianFactors, LayerPrior, Prior, ln_normal0, ln_scale_mixture};

#[cfg(test)]
mod tests;
