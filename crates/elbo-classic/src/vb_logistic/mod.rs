//! Variational Bayesian logistic regression with the Jaakkola–Jordan local
//! bound (PRML §10.6).
//!
//! The model: labels t_n ∈ {0, 1} with p(t_n = 1 | w) = σ(wᵀφ_n) (PRML
//! 4.87), φ_n = (1, x_n) by default, and p(w | α) = N(w | 0, α⁻¹ I)
//! (PRML 10.165) with either α known (§10.6.1–10.6.2) or the hyper-prior
//! p(α) = Gam(α | a₀, b₀) (10.166, §10.6.3). Each logistic factor is bounded
//! below by a Gaussian-shaped function of w with its own local parameter ξ_n
//! (10.144, 10.150–10.153); coordinate ascent then updates ξ (10.163),
//! q(α) (10.177–10.179) and q(w) = N(m_N, S_N) (10.157–10.158,
//! 10.174–10.176) in closed form, and the bound L̃(q, ξ) (10.172; 10.164 for
//! α known) never decreases. Predictions use the probit approximation
//! σ(κ(σ_a²) μ_a) (4.155).
//!
//! ```no_run
//! # fn main() -> elbo_classic::Result<()> {
//! use elbo_classic::vb_logistic::{VbLogistic, metrics};
//! let data = elbo_core::data::builtin("breast-cancer", 0)?;
//! let t = data.y.clone().expect("breast-cancer has labels");
//! let fit = VbLogistic::params().fit(data.x.view(), t.view())?;
//! let p = fit.predict_proba(data.x.view());
//! println!("bound {:.3}, E[α] {:.3}, log-loss {:.4}",
//!          fit.log_evidence(), fit.alpha_mean(), metrics::log_loss(p.view(), t.view())?);
//! # Ok(()) }
//! ```
//!
//! References: C. M. Bishop, *Pattern Recognition and Machine Learning*,
//! §4.5, §10.5–10.6 and Appendix B; T. S. Jaakkola and M. I. Jordan,
//! *Bayesian parameter estimation via variational methods*, Statistics and
//! Computing 10 (2000); J. Drugowitsch, *Variational Bayesian inference for
//! linear and logistic regression*, arXiv:1310.5438 (2013) and
//! `vb_logit_fit.m` in github.com/DrugowitschLab/VBLinLogit. Compared in the
//! tests with scikit-learn's `LogisticRegression` (script
//! `scripts/vb_logistic_sklearn_reference.py`).

pub mod bound;
mod fit;

pub mod metrics;
mod params;

pub use fit::{VbLogisticFit, kappa, predictive};
pub use params::{
    DEFAULT_A0, DEFAULT_B0, DEFAULT_MAX_ITER, DEFAULT_TOL, VbLogisticParams, VbLogisticValidParams,
};

/// Variational Bayesian logistic regression (PRML §10.6): the entry point.
///
/// `VbLogistic::params()` returns the hyper-parameter builder; its `fit(x, t)`
/// returns a [`VbLogisticFit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct VbLogistic;

impl VbLogistic {
    /// The default hyper-parameters (PRML 10.165–10.166): hyper-prior
    /// Gam(α | 10⁻², 10⁻⁴) on the prior precision, intercept on.
    pub fn params() -> VbLogisticParams {
        VbLogisticParams::new()
    }
}
