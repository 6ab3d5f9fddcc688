//! # elbo-core
//!
//! The mathematics every elbo model shares, with no deep-learning framework:
//!
//! - [`special`]: digamma, ln Γ, the multivariate ln Γ_D and log-sum-exp;
//! - [`dist`]: exponential-family distributions (Gaussian full and diagonal,
//!   Gamma, Wishart, Dirichlet, Beta, Student-t) with log-densities,
//!   sampling, entropies, KL divergences and the expectations that
//!   coordinate-ascent VI needs (E[ln λ], E[ln π_k], E[ln |Λ|], …);
//! - [`monitor`]: the bound trace and convergence monitor every model reports
//!   through; a CAVI bound that decreases is a bug and is reported as an error;
//! - [`data`]: CSV and IDX (plain or gzip) loaders with typed errors naming
//!   the file, the line and the problem, and the data sets embedded in elbo;
//! - [`rng`]: the one seeded random-number generator used everywhere.
//!
//! References: C. M. Bishop, *Pattern Recognition and Machine Learning*
//! (PRML), Springer 2006, chapters 2, 3 and 10.

pub mod data;
pub mod dist;
pub mod error;
pub mod monitor;
pub mod rng;
pub mod special;

pub use error::{Error, Result};
pub use monitor::{BoundMonitor, Status};
