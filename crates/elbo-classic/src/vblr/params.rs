//! Hyper-parameters of variational linear regression: the builder
//! [`VblrParams`] and its checked form [`VblrValidParams`].

use serde::Serialize;

use crate::Result;
use elbo_core::Error as CoreError;

/// The observation noise t_n ~ N(wᵀφ_n, β⁻¹): its precision β is either
/// known, or unknown with a Gamma prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// β is known: the model of PRML §10.3, p(t | w) = Π N(t_n | wᵀφ_n, β⁻¹)
    /// (PRML 10.87), with q(w) q(α).
    Known(f64),
    /// β is unknown with the prior Gam(β | c0, d0) (rate d0) and the
    /// weights' prior scaled by it, p(w | β, α) = N(w | 0, (βα)⁻¹ I): the
    /// normal-Gamma model of Drugowitsch (2013), §2, with q(w, β) q(α).
    /// (Drugowitsch calls these a0, b0; here a0, b0 stay PRML's prior on α.)
    Gamma {
        /// Shape c0 ≥ 0 of the prior on β (0 with d0 = 0: the improper limit).
        c0: f64,
        /// Rate d0 ≥ 0 of the prior on β.
        d0: f64,
    },
}

impl Default for Noise {
    /// Unknown noise with the broad prior Gam(β | 1e-6, 1e-6), the same
    /// numbers as scikit-learn's `BayesianRidge` (`alpha_1`, `alpha_2`).
    fn default() -> Self {
        Noise::Gamma { c0: 1e-6, d0: 1e-6 }
    }
}

/// The builder of [`Vblr`](super::Vblr)'s hyper-parameters; every `with_*`
/// returns the updated builder, [`check`](Self::check) validates it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VblrParams {
    pub(crate) a0: f64,
    pub(crate) b0: f64,
    pub(crate) noise: Noise,
    pub(crate) ard: bool,
    pub(crate) fixed_alpha: Option<f64>,
    pub(crate) alpha_init: f64,
    pub(crate) tol: f64,
    pub(crate) max_iter: usize,
    pub(crate) prune_threshold: f64,
}

/// Hyper-parameters that passed [`VblrParams::check`]; the fitted model
/// records the ones it used (serialisable for `metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VblrValidParams(pub(crate) VblrParams);

impl Default for VblrParams {
    fn default() -> Self {
        Self {
            a0: 1e-6,
            b0: 1e-6,
            noise: Noise::default(),
            ard: false,
            fixed_alpha: None,
            alpha_init: 1.0,
            tol: 1e-8,
            max_iter: 1000,
            prune_threshold: 0.1,
        }
    }
}

impl VblrParams {
    /// The defaults: a0 = b0 = 1e-6, unknown noise with Gam(β | 1e-6, 1e-6),
    /// one shared α, initial E[α] = 1, tol = 1e-8, max_iter = 1000.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shape a0 ≥ 0 of the prior Gam(α | a0, b0) on the weights' precision,
    /// PRML (10.89). a0 = b0 = 0 is the improper limit p(α) ∝ 1/α of PRML
    /// Fig 10.9 (see [`VblrFit::log_evidence`](super::VblrFit::log_evidence)).
    pub fn with_a0(mut self, a0: f64) -> Self {
        self.a0 = a0;
        self
    }

    /// Rate b0 ≥ 0 of the prior Gam(α | a0, b0), PRML (10.89).
    pub fn with_b0(mut self, b0: f64) -> Self {
        self.b0 = b0;
        self
    }

    /// The noise model: known β (PRML 10.87) or a Gamma prior on it.
    pub fn with_noise(mut self, noise: Noise) -> Self {
        self.noise = noise;
        self
    }

    /// Automatic relevance determination: one precision α_i per weight,
    /// p(w | α) = Π_i N(w_i | 0, α_i⁻¹), each with the prior Gam(α_i | a0, b0)
    /// (Bishop & Tipping 2000; Drugowitsch 2013, ARD section).
    pub fn with_ard(mut self, ard: bool) -> Self {
        self.ard = ard;
        self
    }

    /// Treat α as a known constant (`Some(α)`, α > 0) instead of giving it a
    /// Gamma prior. With β also known this is the conjugate model of
    /// PRML §3.3, whose posterior q(w) is exact (3.53)–(3.54) and whose bound
    /// is ln p(t | α, β), (3.86).
    pub fn with_fixed_alpha(mut self, alpha: Option<f64>) -> Self {
        self.fixed_alpha = alpha;
        self
    }

    /// E[α] (every E[α_i] under ARD) before the first update of q(w);
    /// > 0, default 1 (scikit-learn's `lambda_init`).
    pub fn with_alpha_init(mut self, alpha: f64) -> Self {
        self.alpha_init = alpha;
        self
    }

    /// Stop when the bound changes by at most `tol` · max(1, |L|) in one
    /// iteration ([`elbo_core::BoundMonitor`]); ≥ 0, default 1e-8.
    pub fn with_tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// At most this many iterations (≥ 1, default 1000); running out is
    /// reported by `converged() == false`, not as an error.
    pub fn with_max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Under ARD, a weight counts as pruned when its well-determinedness
    /// γ_i = 1 − E[α_i] S_ii (PRML 3.91 per weight; MacKay 1992) falls below
    /// this value in (0, 1); default 0.1. An irrelevant weight's E[α_i]
    /// grows by about β φ_iᵀφ_i per iteration without bound, so its γ_i
    /// falls like 1/(iterations): 0.1 marks the weights that kept shrinking
    /// for about ten iterations, while weights with a finite E[α_i] keep
    /// γ_i ≈ N/(N + E[α_i]) for standardised inputs. Pruning is reported by
    /// [`VblrFit::relevant`](super::VblrFit::relevant); the weights stay in the
    /// model (their means are ≈ 0), so the bound stays monotone.
    pub fn with_prune_threshold(mut self, threshold: f64) -> Self {
        self.prune_threshold = threshold;
        self
    }

    /// Validate every hyper-parameter; the error names the first bad one.
    pub fn check(&self) -> Result<VblrValidParams> {
        non_negative("a0", self.a0)?;
        non_negative("b0", self.b0)?;
        match self.noise {
            Noise::Known(beta) => positive("beta", beta)?,
            Noise::Gamma { c0, d0 } => {
                non_negative("c0", c0)?;
                non_negative("d0", d0)?;
            }
        }
        if let Some(alpha) = self.fixed_alpha {
            positive("alpha", alpha)?;
        }
        positive("alpha_init", self.alpha_init)?;
        non_negative("tol", self.tol)?;
        if self.max_iter == 0 {
            return Err(CoreError::invalid("max_iter", self.max_iter, "at least 1").into());
        }
        if !(self.prune_threshold > 0.0 && self.prune_threshold < 1.0) {
            return Err(CoreError::invalid(
                "prune_threshold",
                self.prune_threshold,
                "between 0 and 1 (exclusive)",
            )
            .into());
        }
        Ok(VblrValidParams(self.clone()))
    }
}

impl VblrValidParams {
    /// a0, the prior shape of α.
    pub fn a0(&self) -> f64 {
        self.0.a0
    }
    /// b0, the prior rate of α.
    pub fn b0(&self) -> f64 {
        self.0.b0
    }
    /// The noise model.
    pub fn noise(&self) -> Noise {
        self.0.noise
    }
    /// Whether each weight has its own α_i.
    pub fn ard(&self) -> bool {
        self.0.ard
    }
    /// The known α, if α is not inferred.
    pub fn fixed_alpha(&self) -> Option<f64> {
        self.0.fixed_alpha
    }
    /// The initial E[α].
    pub fn alpha_init(&self) -> f64 {
        self.0.alpha_init
    }
    /// The relative tolerance on the bound.
    pub fn tol(&self) -> f64 {
        self.0.tol
    }
    /// The iteration budget.
    pub fn max_iter(&self) -> usize {
        self.0.max_iter
    }
    /// The pruning threshold on γ_i.
    pub fn prune_threshold(&self) -> f64 {
        self.0.prune_threshold
    }
    /// Whether the prior on α is a proper density (a0 > 0 and b0 > 0); when
    /// it is not, the bound omits its normaliser a0 ln b0 − ln Γ(a0).
    pub fn alpha_prior_is_proper(&self) -> bool {
        self.0.a0 > 0.0 && self.0.b0 > 0.0
    }
}

fn non_negative(name: &'static str, v: f64) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(CoreError::invalid(name, v, "finite and >= 0").into())
    }
}

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(CoreError::invalid(name, v, "finite and > 0").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn invalid_name(p: VblrParams) -> &'static str {
        match p.check() {
            Err(Error::Core(CoreError::InvalidParam { name, .. })) => name,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid_and_recorded() {
        let v = VblrParams::new().check().unwrap();
        assert_eq!(
            (v.a0(), v.b0(), v.tol(), v.max_iter()),
            (1e-6, 1e-6, 1e-8, 1000)
        );
        assert_eq!(v.noise(), Noise::Gamma { c0: 1e-6, d0: 1e-6 });
        assert!(v.alpha_prior_is_proper());
        // the improper limit a0 = b0 = 0 is allowed
        let v = VblrParams::new().with_a0(0.0).with_b0(0.0).check().unwrap();
        assert!(!v.alpha_prior_is_proper());
    }

    #[test]
    fn negative_a0_is_rejected() {
        assert_eq!(invalid_name(VblrParams::new().with_a0(-1.0)), "a0");
        assert_eq!(invalid_name(VblrParams::new().with_a0(f64::NAN)), "a0");
    }

    #[test]
    fn negative_b0_is_rejected() {
        assert_eq!(invalid_name(VblrParams::new().with_b0(-1e-3)), "b0");
        assert_eq!(invalid_name(VblrParams::new().with_b0(f64::INFINITY)), "b0");
    }

    #[test]
    fn negative_c0_is_rejected() {
        let p = VblrParams::new().with_noise(Noise::Gamma { c0: -1.0, d0: 1.0 });
        assert_eq!(invalid_name(p), "c0");
    }

    #[test]
    fn negative_d0_is_rejected() {
        let p = VblrParams::new().with_noise(Noise::Gamma { c0: 1.0, d0: -2.0 });
        assert_eq!(invalid_name(p), "d0");
    }

    #[test]
    fn non_positive_beta_is_rejected() {
        assert_eq!(
            invalid_name(VblrParams::new().with_noise(Noise::Known(0.0))),
            "beta"
        );
        assert_eq!(
            invalid_name(VblrParams::new().with_noise(Noise::Known(-3.0))),
            "beta"
        );
    }

    #[test]
    fn non_positive_fixed_alpha_is_rejected() {
        assert_eq!(
            invalid_name(VblrParams::new().with_fixed_alpha(Some(0.0))),
            "alpha"
        );
    }

    #[test]
    fn non_positive_alpha_init_is_rejected() {
        assert_eq!(
            invalid_name(VblrParams::new().with_alpha_init(-1.0)),
            "alpha_init"
        );
    }

    #[test]
    fn negative_tol_is_rejected() {
        assert_eq!(invalid_name(VblrParams::new().with_tol(-1e-9)), "tol");
    }

    #[test]
    fn zero_max_iter_is_rejected() {
        assert_eq!(invalid_name(VblrParams::new().with_max_iter(0)), "max_iter");
    }

    #[test]
    fn prune_threshold_outside_the_unit_interval_is_rejected() {
        assert_eq!(
            invalid_name(VblrParams::new().with_prune_threshold(1.0)),
            "prune_threshold"
        );
        assert_eq!(
            invalid_name(VblrParams::new().with_prune_threshold(0.0)),
            "prune_threshold"
        );
    }

    #[test]
    fn debug_output_names_the_noise() {
        let v = VblrParams::new()
            .with_noise(Noise::Known(2.0))
            .check()
            .unwrap();
        let s = format!("{v:?}");
        assert!(s.contains("Known(2.0)"), "{s}");
    }
}
