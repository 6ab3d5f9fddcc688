//! Variational Bayesian linear regression (PRML §10.3), with known or
//! unknown noise precision and automatic relevance determination, and the
//! evidence approximation it is compared with (PRML §3.5).
//!
//! The model: t_n = wᵀφ(x_n) + ε_n, ε_n ~ N(0, β⁻¹) (PRML 10.87),
//! p(w | α) = N(w | 0, α⁻¹I) (10.88), p(α) = Gam(α | a0, b0) (10.89).
//!
//! - [`Noise::Known`]: q(w) q(α), PRML (10.90)–(10.112);
//! - [`Noise::Gamma`]: β ~ Gam(c0, d0) and p(w | β, α) = N(w | 0, (βα)⁻¹I),
//!   the normal-Gamma model of Drugowitsch (2013), q(w, β) q(α), whose
//!   predictive distribution is a Student-t;
//! - [`VblrParams::with_ard`]: one α_i per weight (Bishop & Tipping 2000);
//! - [`VblrParams::with_fixed_alpha`]: α known, so with β known the model is
//!   conjugate and q(w) the exact posterior (3.49)–(3.54);
//! - [`EvidenceRegression`]: α, β as parameters maximising ln p(t | α, β)
//!   (3.86) — scikit-learn's `BayesianRidge`.
//!
//! ```no_run
//! use elbo_classic::{basis, vblr::{Noise, Vblr}};
//! # let x = ndarray::Array1::<f64>::zeros(10); let t = x.clone();
//! let phi = basis::polynomial(x.view(), 3);
//! let fit = Vblr::params()
//!     .with_a0(0.0)
//!     .with_b0(0.0)
//!     .with_noise(Noise::Known(1.0 / 0.09))
//!     .fit(phi.view(), t.view())?;
//! println!("bound {} after {} iterations", fit.log_evidence(), fit.n_iter());
//! # Ok::<(), elbo_classic::Error>(())
//! ```
//!
//! Every fit reads the data once, through [`SuffStats`] (ΦᵀΦ, Φᵀt, tᵀt):
//! one parallel N·M² product, then M × M work per iteration.
//!
//! # References
//!
//! - C. M. Bishop, *Pattern Recognition and Machine Learning* (PRML),
//!   Springer 2006: §3.3 (Bayesian linear regression), §3.5 (the evidence
//!   approximation), §10.3 (variational linear regression), Fig 10.9.
//! - J. Drugowitsch, *Variational Bayesian inference for linear and logistic
//!   regression*, arXiv:1310.5438, 2013 — the normal-Gamma q(w, β), its
//!   bound, the Student-t predictive and ARD (his τ is our β, his a0, b0 are
//!   our c0, d0 and his c0, d0 our a0, b0).
//! - C. M. Bishop and M. E. Tipping, *Variational relevance vector
//!   machines*, UAI 2000 — ARD by variational inference.
//! - M. E. Tipping, *Sparse Bayesian learning and the relevance vector
//!   machine*, JMLR 1, 2001 — the Gamma hyper-priors of `BayesianRidge`.
//! - D. J. C. MacKay, *Bayesian interpolation*, Neural Computation 4, 1992 —
//!   the evidence updates and the well-determined parameters γ.
//! - scikit-learn, `sklearn/linear_model/_bayes.py` (`BayesianRidge`).

mod bound;
mod evidence;
mod fit;

mod params;
mod stats;
#[cfg(test)]
mod testutil;

pub use bound::BoundTerms;
pub use evidence::{EvidenceFit, EvidenceParams, EvidenceRegression, EvidenceValidParams};
pub use fit::{Predictive, VblrFit};
pub use params::{Noise, VblrParams, VblrValidParams};
pub use stats::SuffStats;

/// Variational Bayesian linear regression, PRML §10.3; the entry point of
/// the builder [`VblrParams`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Vblr;

impl Vblr {
    /// The default hyper-parameters (see [`VblrParams::new`]).
    pub fn params() -> VblrParams {
        VblrParams::new()
    }
}
