//! # elbo-classic
//!
//! Variational inference in closed form: coordinate-ascent (CAVI) updates on
//! dense linear algebra, no deep-learning framework.
//!
//! - [`vblr`]: variational Bayesian linear regression (PRML §10.3), with
//!   known or unknown noise precision and ARD priors;
//! - [`vb_logistic`]: variational Bayesian logistic regression with the
//!   Jaakkola–Jordan bound (PRML §10.6);
//! - [`basis`]: the basis functions φ(x) the linear models use.
//!
//! Every model follows one shape: `Model::params(..)` gives a builder of
//! hyper-parameters (`with_*`), `fit(x, t)` validates them and the data and
//! returns a fitted model exposing PRML's variational parameters by name
//! and the bound trace.

pub mod basis;
pub mod error;
pub mod kmeans;
pub(crate) mod linalg;
pub mod mixture;
pub mod vb_logistic;
pub mod vblr;

pub use error::{Error, Result};
