//! The variational Bayesian Gaussian mixture (PRML §10.2, 10.46–10.83).
//!
//! The model: p(X, Z, π, μ, Λ) = p(X | Z, μ, Λ) p(Z | π) p(π) p(μ | Λ) p(Λ)
//! (PRML 10.41) with the conjugate priors of (10.39)–(10.40) — or the
//! truncated stick-breaking Dirichlet process of Blei & Jordan (2006) on π —
//! and the factorisation q(Z) q(π, μ, Λ) (10.42). Coordinate ascent
//! alternates the E-step (10.46–10.49) and the M-step (10.58, 10.60–10.63);
//! the bound (10.70–10.77) is computed with every constant after each
//! iteration and never decreases.
//!
//! Departures from scikit-learn (`_bayesian_mixture.py`), on purpose: the
//! bound keeps every constant (theirs drops the ones that do not change
//! during a fit, so it cannot compare K); no `reg_covar` is added to the
//! scatter matrices (the Wishart prior regularises them, PRML §10.2.1);
//! diagonal precisions are D one-dimensional Wisharts (Gamma) each, not a
//! Wishart restricted to its diagonal; the stick-breaking truncation sets
//! v_K = 1 (Blei & Jordan 2006, §5) so the weights sum to one; and the
//! predictive density is the Student-t mixture (10.81), where scikit-learn
//! scores with ln Σ_k ρ_nk.
//!
//! One numerical convention: responsibilities below 2⁻⁶⁴ ≈ 5.4·10⁻²⁰ are
//! set to 0 in q(Z) itself (so the statistics, the entropy 10.75 and the
//! bound stay consistent with one another); their total mass over N points
//! is below the rounding error of any N_k ≥ N · 2⁻¹², and it lets the
//! E-step skip the statistics of components that are far from a group of
//! points.

mod bound;
mod fit;
mod params;
mod posterior;

pub use bound::BoundTerms;
pub use fit::{VgmmFit, VgmmState};
pub use params::{VgmmParams, VgmmValidParams};
pub use posterior::{GmmPrior, WeightPosterior};

pub(crate) use bound::kl_globals;
pub(crate) use posterior::Posterior;

/// The variational Bayesian Gaussian mixture (PRML §10.2): the entry point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vgmm;

impl Vgmm {
    /// The hyper-parameter builder for K components (see [`VgmmParams`]).
    pub fn params(k: usize) -> VgmmParams {
        VgmmParams::new(k)
    }
}
