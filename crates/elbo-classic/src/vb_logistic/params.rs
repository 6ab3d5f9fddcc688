//! Hyper-parameters of [`VbLogistic`](super::VbLogistic): the builder, its
//! validation, and the validated parameters that fit.

use elbo_core::Error as CoreError;
use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::fit::{VbLogisticFit, fit_impl};
use crate::Result;

/// Default shape a₀ of the Gamma hyper-prior on α: Drugowitsch's default
/// in `vb_logit_fit.m` (arXiv:1310.5438), a weak prior.
pub const DEFAULT_A0: f64 = 1e-2;
/// Default rate b₀ of the Gamma hyper-prior on α (prior mean a₀/b₀ = 100,
/// prior variance a₀/b₀² = 10⁶): Drugowitsch's default.
pub const DEFAULT_B0: f64 = 1e-4;
/// Default relative tolerance on the bound (see `elbo_core::BoundMonitor`).
pub const DEFAULT_TOL: f64 = 1e-8;
/// Default iteration budget.
pub const DEFAULT_MAX_ITER: usize = 1000;

/// Hyper-parameters of variational Bayesian logistic regression (PRML
/// §10.6): the builder returned by [`VbLogistic::params`](super::VbLogistic::params).
///
/// The model is p(t_n = 1 | w) = σ(wᵀφ_n) (PRML 4.87) with the isotropic
/// prior p(w | α) = N(w | 0, α⁻¹ I) (PRML 10.165) and either α known
/// (§10.6.1–10.6.2, [`with_fixed_alpha`](Self::with_fixed_alpha)) or the
/// hyper-prior p(α) = Gam(α | a₀, b₀) (PRML 10.166, §10.6.3; the default).
///
/// **Intercept.** With [`with_intercept(true)`](Self::with_intercept) (the
/// default) φ_n = (1, x_n): the intercept w₀ is one more weight, under the
/// same prior N(0, α⁻¹) and the same α as the others, exactly as in PRML
/// (10.165) and Drugowitsch (2013). Unlike scikit-learn, which leaves its
/// intercept unpenalised, the intercept is therefore shrunk towards 0 (a
/// prior class probability of ½); with the learnt α of the default this
/// shrinkage is weak, and M in a_N = a₀ + M/2 (10.178) counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VbLogisticParams {
    a0: f64,
    b0: f64,
    fixed_alpha: Option<f64>,
    intercept: bool,
    tol: f64,
    max_iter: usize,
}

impl Default for VbLogisticParams {
    fn default() -> Self {
        Self {
            a0: DEFAULT_A0,
            b0: DEFAULT_B0,
            fixed_alpha: None,
            intercept: true,
            tol: DEFAULT_TOL,
            max_iter: DEFAULT_MAX_ITER,
        }
    }
}

impl VbLogisticParams {
    /// The defaults: hyper-prior Gam(α | 10⁻², 10⁻⁴), intercept on,
    /// tol 10⁻⁸, at most 1000 iterations.
    pub fn new() -> Self {
        Self::default()
    }

    /// PRML (10.166): the shape a₀ > 0 of the Gamma hyper-prior on α.
    pub fn with_a0(mut self, a0: f64) -> Self {
        self.a0 = a0;
        self
    }

    /// PRML (10.166): the rate b₀ > 0 of the Gamma hyper-prior on α.
    pub fn with_b0(mut self, b0: f64) -> Self {
        self.b0 = b0;
        self
    }

    /// PRML (10.165) with α known (§10.6.1–10.6.2): `Some(α)`, α > 0, fixes
    /// the prior precision of the weights and drops the hyper-prior; `None`
    /// (the default) learns q(α) (§10.6.3).
    pub fn with_fixed_alpha(mut self, alpha: Option<f64>) -> Self {
        self.fixed_alpha = alpha;
        self
    }

    /// Whether to prepend a column of ones to x (φ_n = (1, x_n)); the
    /// intercept has the same prior N(0, α⁻¹) as every weight (PRML 10.165).
    pub fn with_intercept(mut self, intercept: bool) -> Self {
        self.intercept = intercept;
        self
    }

    /// Relative change of the bound below which the fit has converged:
    /// |L_t − L_{t−1}| ≤ tol · max(1, |L_t|) (`elbo_core::BoundMonitor`).
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// The iteration budget (≥ 1); not converging within it is reported by
    /// [`VbLogisticFit::converged`], not an error.
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Validate every hyper-parameter: a₀ > 0, b₀ > 0 (PRML 10.166 is a
    /// proper Gamma only then), fixed α > 0, finite tol ≥ 0, max_iter ≥ 1.
    pub fn check(&self) -> Result<VbLogisticValidParams> {
        let positive = |name: &'static str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(CoreError::invalid(name, v, "finite and greater than 0"))
            }
        };
        positive("a0", self.a0)?;
        positive("b0", self.b0)?;
        if let Some(alpha) = self.fixed_alpha {
            positive("alpha", alpha)?;
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(CoreError::invalid("tol", self.tol, "finite and >= 0").into());
        }
        if self.max_iter == 0 {
            return Err(CoreError::invalid("max_iter", self.max_iter, "at least 1").into());
        }
        Ok(VbLogisticValidParams(self.clone()))
    }

    /// Validate the parameters ([`check`](Self::check)) and fit; see
    /// [`VbLogisticValidParams::fit`].
    pub fn fit(&self, x: ArrayView2<f64>, t: ArrayView1<f64>) -> Result<VbLogisticFit> {
        self.check()?.fit(x, t)
    }

    /// Validate the parameters and fit, calling `on_iter(iteration, bound)`
    /// once per iteration; see [`VbLogisticValidParams::fit_with`].
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        t: ArrayView1<f64>,
        on_iter: impl FnMut(usize, f64),
    ) -> Result<VbLogisticFit> {
        self.check()?.fit_with(x, t, on_iter)
    }

    /// The shape a₀ of the hyper-prior (PRML 10.166).
    pub fn a0(&self) -> f64 {
        self.a0
    }

    /// The rate b₀ of the hyper-prior (PRML 10.166).
    pub fn b0(&self) -> f64 {
        self.b0
    }

    /// α when it is known (PRML 10.165), `None` when it is learnt.
    pub fn fixed_alpha(&self) -> Option<f64> {
        self.fixed_alpha
    }

    /// Whether a column of ones is prepended.
    pub fn intercept(&self) -> bool {
        self.intercept
    }

    /// The relative tolerance on the bound.
    pub fn tol(&self) -> f64 {
        self.tol
    }

    /// The iteration budget.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
}

/// Hyper-parameters that passed [`VbLogisticParams::check`]; they deref to
/// the builder for reading and are stored in the fitted model as used.
/// Serialisable for `metrics.json`, but not deserialisable: the only way in
/// is `check()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VbLogisticValidParams(VbLogisticParams);

impl std::ops::Deref for VbLogisticValidParams {
    type Target = VbLogisticParams;
    fn deref(&self) -> &VbLogisticParams {
        &self.0
    }
}

impl VbLogisticValidParams {
    /// Fit q(w) (and q(α)) by coordinate ascent on the bound (PRML 10.172):
    /// ξ by (10.163), q(α) by (10.177–10.179), q(w) by (10.174–10.176).
    ///
    /// `x` is N × D (without the ones column), `t` holds N labels in {0, 1}.
    /// The data are checked before the first iteration: N ≥ 1, matching
    /// lengths, finite inputs, labels exactly 0 or 1, both classes present,
    /// at least one weight; each failure is an `elbo_core::Error`
    /// (`Data` or `Shape`) inside [`crate::Error::Core`].
    pub fn fit(&self, x: ArrayView2<f64>, t: ArrayView1<f64>) -> Result<VbLogisticFit> {
        fit_impl(self, x, t, |_, _| {})
    }

    /// [`fit`](Self::fit), calling `on_iter(iteration, bound)` once per
    /// iteration (0-based) with the bound L̃ of PRML (10.172) after that
    /// iteration, for a progress bar.
    pub fn fit_with(
        &self,
        x: ArrayView2<f64>,
        t: ArrayView1<f64>,
        on_iter: impl FnMut(usize, f64),
    ) -> Result<VbLogisticFit> {
        fit_impl(self, x, t, on_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn invalid_name(r: Result<VbLogisticValidParams>) -> &'static str {
        match r {
            Err(Error::Core(CoreError::InvalidParam { name, .. })) => name,
            other => panic!("expected InvalidParam, got {other:?}"),
        }
    }

    #[test]
    fn defaults_pass_and_are_recorded() {
        let p = VbLogisticParams::new().check().unwrap();
        assert_eq!(
            (p.a0(), p.b0(), p.fixed_alpha(), p.intercept()),
            (1e-2, 1e-4, None, true)
        );
        assert_eq!((p.tol(), p.max_iter()), (1e-8, 1000));
        let q = VbLogisticParams::new()
            .with_a0(1.0)
            .with_b0(2.0)
            .with_fixed_alpha(Some(3.0))
            .with_intercept(false)
            .with_tol(0.0)
            .with_max_iter(7)
            .check()
            .unwrap();
        assert_eq!(
            (q.a0(), q.b0(), q.fixed_alpha(), q.intercept()),
            (1.0, 2.0, Some(3.0), false)
        );
        assert_eq!((q.tol(), q.max_iter()), (0.0, 7));
    }

    #[test]
    fn negative_or_zero_a0_is_rejected() {
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_a0(-1.0).check()),
            "a0"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_a0(0.0).check()),
            "a0"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_a0(f64::NAN).check()),
            "a0"
        );
    }

    #[test]
    fn negative_or_zero_b0_is_rejected() {
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_b0(-1e-4).check()),
            "b0"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_b0(0.0).check()),
            "b0"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_b0(f64::INFINITY).check()),
            "b0"
        );
    }

    #[test]
    fn non_positive_fixed_alpha_is_rejected() {
        let p = VbLogisticParams::new().with_fixed_alpha(Some(-2.0));
        assert_eq!(invalid_name(p.check()), "alpha");
        assert_eq!(
            p.check().err().unwrap().to_string(),
            "`alpha` must be finite and greater than 0, got -2"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_fixed_alpha(Some(0.0)).check()),
            "alpha"
        );
    }

    #[test]
    fn bad_tol_is_rejected() {
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_tol(-1e-3).check()),
            "tol"
        );
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_tol(f64::NAN).check()),
            "tol"
        );
    }

    #[test]
    fn zero_max_iter_is_rejected() {
        assert_eq!(
            invalid_name(VbLogisticParams::new().with_max_iter(0).check()),
            "max_iter"
        );
    }

    #[test]
    fn fit_checks_the_parameters_first() {
        let x = ndarray::array![[0.0], [1.0]];
        let t = ndarray::array![0.0, 1.0];
        let e = VbLogisticParams::new()
            .with_b0(-1.0)
            .fit(x.view(), t.view())
            .unwrap_err();
        assert!(e.to_string().starts_with("`b0` must be"), "{e}");
    }

    #[test]
    fn params_are_send_sync_clone_and_serde() {
        fn check<T: Send + Sync + Clone + Serialize + for<'de> Deserialize<'de>>() {}
        check::<VbLogisticParams>();
        fn check_valid<T: Send + Sync + Clone + Serialize>() {}
        check_valid::<VbLogisticValidParams>();
    }
}
