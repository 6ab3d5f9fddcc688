//! Exponential-family distributions with everything variational inference
//! needs: validated constructors, log-densities, sampling, moments,
//! entropies, closed-form KL divergences KL(self ‖ other), and the
//! expectations that appear in coordinate-ascent updates.
//!
//! | type | density | expectations for CAVI |
//! |---|---|---|
//! | [`Normal`] | N(x \| μ, σ²), PRML (1.46) | E\[x²\] |
//! | [`DiagGaussian`] | Π_i N(x_i \| μ_i, σ_i²) | E\[x_i²\] |
//! | [`Gaussian`] | N(x \| μ, Σ), PRML (2.43) / (B.37) | E[x xᵀ] (2.62) |
//! | [`Gamma`] | Gam(λ \| a, b), rate b, PRML (B.26) | E\[λ\] = a/b, E[ln λ] (B.30) |
//! | [`Wishart`] | W(Λ \| W, ν), PRML (B.78) | E\[Λ\] = νW (B.80), E[ln \|Λ\|] (B.81) |
//! | [`Dirichlet`] | Dir(μ \| α), PRML (B.16) | E[ln μ_k] (B.21, 10.66) |
//! | [`Beta`] | Beta(μ \| a, b), PRML (B.6) | E[ln μ], E[ln(1 − μ)] |
//! | [`StudentT`] | St(x \| μ, λ, ν), PRML (2.159) | — (no closed-form KL) |
//! | [`MultiStudentT`] | St(x \| μ, Λ, ν), PRML (2.162) | — (no closed-form KL) |
//!
//! Conventions follow PRML throughout: Gamma's second parameter is a
//! **rate**; the Wishart's W is the scale matrix (E\[Λ\] = νW); Student-t
//! distributions are parameterised by a precision λ (or Λ), not a scale.
//!
//! Parameters are checked in `new` and give an [`crate::Error`],
//! never a panic. Methods that take a point or another distribution of a
//! different dimension panic (a caller's shape bug, as in faer); their docs
//! say so under *Panics*.
//!
//! The D×D factorisations use a small Cholesky of our own (`linalg.rs`):
//! for these small matrices it costs less than converting ndarray ↔ faer at
//! every call.
//!
//! # References
//!
//! - C. M. Bishop, *Pattern Recognition and Machine Learning* (PRML),
//!   Springer 2006: Appendix B (densities, moments, entropies), §2.3
//!   (Gaussian, Student-t), §10.2 (the Wishart and Dirichlet expectations).
//! - W. D. Penny, *KL-divergences of Normal, Gamma, Dirichlet and Wishart
//!   densities*, Wellcome Department of Cognitive Neurology, 2001 — the KL
//!   divergences.
//! - D. M. Blei and M. I. Jordan, *Variational inference for Dirichlet process
//!   mixtures*, Bayesian Analysis 1(1), 2006 — Beta expectations for
//!   stick-breaking.
//! - S. Kotz and S. Nadarajah, *Multivariate t Distributions and Their
//!   Applications*, CUP 2004 — the Student-t entropy.
//! - M. S. Bartlett, *On the theory of statistical regression*, Proc. R. Soc.
//!   Edinburgh 53, 1933 — sampling the Wishart.

mod beta;
mod dirichlet;
mod gamma;
mod gaussian;
mod linalg;
mod normal;
mod student_t;
mod wishart;

#[cfg(test)]
mod testutil;

pub use beta::Beta;
pub use dirichlet::Dirichlet;
pub use gamma::Gamma;
pub use gaussian::{DiagGaussian, Gaussian};
pub use normal::Normal;
pub use student_t::{MultiStudentT, StudentT};
pub use wishart::Wishart;

use crate::{Error, Result};

/// `v` if it is finite, else an [`Error::InvalidParam`] naming `name`.
fn finite(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::invalid(name, v, "finite"))
    }
}

/// `v` if it is finite and > 0, else an [`Error::InvalidParam`] naming `name`.
fn positive(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::invalid(name, v, "finite and greater than 0"))
    }
}

/// (a − 1) ln x with the convention 0 · ln 0 = 0 when a = 1, so that
/// densities such as Beta(1, 1) are finite at the ends of their support.
fn xlogy(a_minus_1: f64, ln_x: f64) -> f64 {
    if a_minus_1 == 0.0 {
        0.0
    } else {
        a_minus_1 * ln_x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_are_send_sync_clone_debug() {
        fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        check::<Normal>();
        check::<DiagGaussian>();
        check::<Gaussian>();
        check::<Gamma>();
        check::<Wishart>();
        check::<Dirichlet>();
        check::<Beta>();
        check::<StudentT>();
        check::<MultiStudentT>();
    }

    #[test]
    fn parameter_checks() {
        assert!(finite("x", 1.0).is_ok());
        assert!(finite("x", f64::INFINITY).is_err());
        assert!(positive("x", 0.0).is_err());
        assert!(positive("x", f64::NAN).is_err());
        assert_eq!(xlogy(0.0, f64::NEG_INFINITY), 0.0);
    }
}
