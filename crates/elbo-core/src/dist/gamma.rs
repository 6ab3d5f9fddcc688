//! The Gamma distribution Gam(λ | a, b) with shape a and **rate** b (PRML's
//! convention, Appendix B).

use rand::Rng;

use super::{positive, xlogy};
use crate::special::{digamma, ln_gamma};
use crate::{Error, Result};

/// Gam(λ | a, b) = bᵃ λ^{a−1} e^{−bλ} / Γ(a), PRML (B.26): shape a > 0,
/// **rate** b > 0 (so E\[λ\] = a/b). Used for noise and weight precisions
/// (PRML §10.1.3, §10.3) and, through [`Self::expected_ln`], in every bound
/// that involves a precision.
#[derive(Debug, Clone, PartialEq)]
pub struct Gamma {
    a: f64,
    b: f64,
    /// Gam(a, 1) for a ≥ 1, Gam(a + 1, 1) for a < 1 (see [`Self::sample_ln`]).
    unit: rand_distr::Gamma<f64>,
}

impl Gamma {
    /// Gam(λ | a, b) with shape `a` and rate `b`; both must be finite and > 0.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        let a = positive("a", a)?;
        let b = positive("b", b)?;
        let shape = if a < 1.0 { a + 1.0 } else { a };
        let unit = rand_distr::Gamma::new(shape, 1.0)
            .map_err(|_| Error::invalid("a", a, "finite and greater than 0"))?;
        Ok(Self { a, b, unit })
    }

    /// The shape a.
    pub fn shape(&self) -> f64 {
        self.a
    }

    /// The rate b (the inverse of the scale).
    pub fn rate(&self) -> f64 {
        self.b
    }

    /// PRML (B.27): E\[λ\] = a / b.
    pub fn mean(&self) -> f64 {
        self.a / self.b
    }

    /// PRML (B.28): var\[λ\] = a / b².
    pub fn variance(&self) -> f64 {
        self.a / (self.b * self.b)
    }

    /// PRML (B.30): E[ln λ] = ψ(a) − ln b.
    pub fn expected_ln(&self) -> f64 {
        digamma(self.a) - self.b.ln()
    }

    /// PRML (B.26): ln Gam(λ | a, b) = a ln b − ln Γ(a) + (a − 1) ln λ − bλ;
    /// −∞ for λ < 0 (and for NaN).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        if x.is_nan() || x < 0.0 {
            return f64::NEG_INFINITY;
        }
        self.a * self.b.ln() - ln_gamma(self.a) + xlogy(self.a - 1.0, x.ln()) - self.b * x
    }

    /// A draw λ ~ Gam(a, b).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sample_ln(rng).exp()
    }

    /// The logarithm of a draw, ln λ with λ ~ Gam(a, b), accurate even when λ
    /// itself underflows (small a): for a < 1 it uses Gam(a) = Gam(a + 1) ·
    /// U^{1/a} (Marsaglia & Tsang 2000, §6) in log space. Dirichlet and Beta
    /// sampling normalise these in log space.
    pub(crate) fn sample_ln<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let g: f64 = rng.sample(self.unit);
        let mut ln = g.ln() - self.b.ln();
        if self.a < 1.0 {
            // 1 − U lies in (0, 1], so its logarithm is finite.
            let u = 1.0 - rng.random::<f64>();
            ln += u.ln() / self.a;
        }
        ln
    }

    /// PRML (B.31): H\[λ\] = ln Γ(a) − (a − 1) ψ(a) − ln b + a.
    pub fn entropy(&self) -> f64 {
        ln_gamma(self.a) - (self.a - 1.0) * digamma(self.a) - self.b.ln() + self.a
    }

    /// KL(Gam(a₁, b₁) ‖ Gam(a₂, b₂)) = (a₁ − a₂) ψ(a₁) − ln Γ(a₁) + ln Γ(a₂) +
    /// a₂ (ln b₁ − ln b₂) + a₁ (b₂ − b₁) / b₁ — Penny (2001),
    /// rewritten from his scale to PRML's rate.
    pub fn kl(&self, other: &Self) -> f64 {
        let (a1, b1, a2, b2) = (self.a, self.b, other.a, other.b);
        (a1 - a2) * digamma(a1) - ln_gamma(a1)
            + ln_gamma(a2)
            + a2 * (b1.ln() - b2.ln())
            + a1 * (b2 - b1) / b1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testutil::{assert_mc, config, integrate_0_inf};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn ln_pdf_known_value() {
        // Gam(2 | 3, 2) = 2³ · 2² e^{−4} / Γ(3) = 16 e^{−4}: ln = 4 ln 2 − 4.
        let g = Gamma::new(3.0, 2.0).expect("valid");
        assert_relative_eq!(g.ln_pdf(2.0), 4.0 * 2f64.ln() - 4.0, epsilon = 1e-13);
        assert_eq!(g.ln_pdf(-1.0), f64::NEG_INFINITY);
        assert_eq!(g.ln_pdf(0.0), f64::NEG_INFINITY);
        // The exponential Gam(1, b) has density b at 0.
        let e = Gamma::new(1.0, 3.0).expect("valid");
        assert_relative_eq!(e.ln_pdf(0.0), 3f64.ln(), epsilon = 1e-13);
    }

    #[test]
    fn known_moments_entropy_and_kl() {
        let g = Gamma::new(3.0, 2.0).expect("valid");
        assert_eq!(g.mean(), 1.5);
        assert_eq!(g.variance(), 0.75);
        // ψ(3) = 3/2 − γ.
        let euler = 0.577_215_664_901_532_9;
        assert_relative_eq!(g.expected_ln(), 1.5 - euler - 2f64.ln(), epsilon = 1e-13);
        // The exponential Exp(b) = Gam(1, b): H = 1 − ln b,
        // KL(Exp(1) ‖ Exp(2)) = ln(1/2) + 2 − 1.
        let e1 = Gamma::new(1.0, 1.0).expect("valid");
        let e2 = Gamma::new(1.0, 2.0).expect("valid");
        assert_relative_eq!(e2.entropy(), 1.0 - 2f64.ln(), epsilon = 1e-14);
        assert_relative_eq!(e1.kl(&e2), 1.0 - 2f64.ln(), epsilon = 1e-14);
        assert_relative_eq!(e1.expected_ln(), -euler, epsilon = 1e-14);
    }

    #[test]
    fn rejects_non_positive_shape() {
        assert!(matches!(
            Gamma::new(0.0, 1.0),
            Err(Error::InvalidParam { name: "a", .. })
        ));
        assert!(Gamma::new(-1.0, 1.0).is_err());
    }

    #[test]
    fn rejects_non_finite_shape() {
        assert!(Gamma::new(f64::NAN, 1.0).is_err());
        assert!(Gamma::new(f64::INFINITY, 1.0).is_err());
    }

    #[test]
    fn rejects_non_positive_rate() {
        assert!(matches!(
            Gamma::new(1.0, 0.0),
            Err(Error::InvalidParam { name: "b", .. })
        ));
        assert!(Gamma::new(1.0, -2.0).is_err());
    }

    #[test]
    fn rejects_non_finite_rate() {
        assert!(Gamma::new(1.0, f64::NAN).is_err());
        assert!(Gamma::new(1.0, f64::INFINITY).is_err());
    }

    #[test]
    fn tiny_shape_samples_stay_finite_in_log_space() {
        let g = Gamma::new(1e-3, 1.0).expect("valid");
        let mut rng = seeded(1);
        let xs: Vec<f64> = (0..10_000).map(|_| g.sample_ln(&mut rng)).collect();
        assert!(xs.iter().all(|x| x.is_finite()));
        assert_mc("E[ln λ], a = 1e-3", &xs, g.expected_ln());
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn density_moments_and_entropy_by_quadrature(a in 0.3..20.0_f64, b in 0.1..10.0_f64) {
            let g = Gamma::new(a, b).expect("valid");
            let p = |x: f64| g.ln_pdf(x).exp();
            let with = |f: &dyn Fn(f64) -> f64| {
                integrate_0_inf(|x| { let px = p(x); if px == 0.0 { 0.0 } else { px * f(x) } })
            };
            prop_assert!((with(&|_| 1.0) - 1.0).abs() < 1e-7);
            prop_assert!((with(&|x| x) - g.mean()).abs() < 1e-7 * (1.0 + g.mean()));
            prop_assert!((with(&|x| x.ln()) - g.expected_ln()).abs() < 1e-6);
            prop_assert!((with(&|x| -g.ln_pdf(x)) - g.entropy()).abs() < 1e-6);
        }

        #[test]
        fn kl_is_zero_on_itself_and_non_negative(
            a1 in 0.1..30.0_f64, b1 in 0.05..20.0_f64, a2 in 0.1..30.0_f64, b2 in 0.05..20.0_f64,
        ) {
            let p = Gamma::new(a1, b1).expect("valid");
            let q = Gamma::new(a2, b2).expect("valid");
            prop_assert!(p.kl(&p).abs() < 1e-10);
            prop_assert!(p.kl(&q) >= -1e-10);
        }

        #[test]
        fn monte_carlo_agrees(
            a1 in 0.5..10.0_f64, b1 in 0.2..5.0_f64, a2 in 0.5..10.0_f64, b2 in 0.2..5.0_f64,
            seed in any::<u64>(),
        ) {
            let p = Gamma::new(a1, b1).expect("valid");
            let q = Gamma::new(a2, b2).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<f64> = (0..20_000).map(|_| p.sample(&mut rng)).collect();
            assert_mc("E[λ]", &xs, p.mean());
            let sq: Vec<f64> = xs.iter().map(|x| (x - p.mean()).powi(2)).collect();
            assert_mc("var[λ]", &sq, p.variance());
            let ln: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
            assert_mc("E[ln λ]", &ln, p.expected_ln());
            let h: Vec<f64> = xs.iter().map(|&x| -p.ln_pdf(x)).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|&x| p.ln_pdf(x) - q.ln_pdf(x)).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }
    }
}
