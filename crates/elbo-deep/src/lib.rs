//! # elbo-deep: stochastic variational inference on burn
//!
//! The deep half of elbo. Where elbo-classic updates each factor in closed
//! form, here the bound is maximised by stochastic gradients:
//!
//! - [`estimators`]: gradient estimators of E_q[f] — pathwise
//!   (reparameterisation), score function with and without control variates,
//!   and the importance-weighted bound — and their measured variance
//!   (Mohamed et al. 2020).
//! - [`vae`]: the variational auto-encoder and IWAE (Kingma & Welling 2014,
//!   Burda et al. 2016), likelihood evaluation by importance sampling and the
//!   amortisation gap (Cremer et al. 2018).
//! - [`bayes`]: Bayes by Backprop (Blundell et al. 2015): Bayesian layers
//!   with Gaussian or scale-mixture priors, local reparameterisation, and the
//!   posterior-as-prior update VIME builds on.
//! - [`data`]: image data sets (MNIST, Fashion-MNIST, the embedded 8×8
//!   digits) as f32 matrices ready for tensors.
//! - [`grads`]: a module's gradients as one flat buffer, for data-parallel
//!   training (an allreduce per step).
//! - [`parallel`]: data-parallel training: replicas, shares of a global
//!   batch, gradient allreduce, identical starting weights.
//! - [`device`]: the burn device by name (`cpu`, and `cuda` / `wgpu` when
//!   built with those features).
//!
//! Tensors live on a runtime [`burn::tensor::Device`] (burn 0.22): one code
//! path serves every backend.

pub mod bayes;
pub mod checkpoint;
pub mod data;
pub mod device;
pub mod error;
pub mod estimators;
pub mod grads;
pub mod parallel;
pub mod vae;

pub use error::{Error, Result};
