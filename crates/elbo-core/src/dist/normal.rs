//! The univariate Gaussian N(x | μ, σ²).

use rand::Rng;
use rand_distr::StandardNormal;

use super::{finite, positive};
use crate::Result;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The univariate Gaussian N(x | μ, σ²), PRML (1.46), parameterised by its
/// mean μ and variance σ² (or precision β = 1/σ², PRML (1.47)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    mean: f64,
    var: f64,
}

impl Normal {
    /// N(μ, σ²) from the mean μ (finite) and the variance σ² (finite, > 0).
    pub fn new(mean: f64, variance: f64) -> Result<Self> {
        Ok(Self {
            mean: finite("mean", mean)?,
            var: positive("variance", variance)?,
        })
    }

    /// N(μ, β⁻¹) from the mean μ and the precision β (finite, > 0, and with
    /// 1/β finite), PRML (1.47).
    pub fn from_precision(mean: f64, precision: f64) -> Result<Self> {
        let beta = positive("precision", precision)?;
        Self::new(mean, 1.0 / beta).map_err(|_| {
            crate::Error::invalid("precision", beta, "large enough that 1/precision is finite")
        })
    }

    /// The standard normal N(0, 1).
    pub fn standard() -> Self {
        Self {
            mean: 0.0,
            var: 1.0,
        }
    }

    /// PRML (1.49): E\[x\] = μ.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// PRML (1.51): var\[x\] = σ².
    pub fn variance(&self) -> f64 {
        self.var
    }

    /// The standard deviation σ.
    pub fn std_dev(&self) -> f64 {
        self.var.sqrt()
    }

    /// The precision β = 1/σ², PRML (1.47).
    pub fn precision(&self) -> f64 {
        1.0 / self.var
    }

    /// PRML (1.50): E\[x²\] = μ² + σ².
    pub fn second_moment(&self) -> f64 {
        self.mean * self.mean + self.var
    }

    /// PRML (1.46): ln N(x | μ, σ²) = −½ ln(2πσ²) − (x − μ)² / (2σ²).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let z = x - self.mean;
        -0.5 * (LN_2PI + self.var.ln()) - 0.5 * z * z / self.var
    }

    /// A draw x = μ + σ ε, ε ~ N(0, 1) (the reparameterisation of
    /// Kingma & Welling 2014).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let eps: f64 = rng.sample(StandardNormal);
        self.mean + self.std_dev() * eps
    }

    /// PRML (1.110): H\[x\] = ½ (1 + ln(2πσ²)).
    pub fn entropy(&self) -> f64 {
        0.5 * (1.0 + LN_2PI + self.var.ln())
    }

    /// KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = ½ [σ₁²/σ₂² + (μ₁ − μ₂)²/σ₂² − 1 + ln(σ₂²/σ₁²)]
    /// — PRML Exercise 2.13 / Penny (2001), with D = 1.
    pub fn kl(&self, other: &Self) -> f64 {
        let d = self.mean - other.mean;
        0.5 * (self.var / other.var + d * d / other.var - 1.0 + (other.var / self.var).ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::dist::testutil::{assert_mc, config, integrate_real};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn standard_normal_known_values() {
        let n = Normal::standard();
        let two_pi_e = 2.0 * std::f64::consts::PI * std::f64::consts::E;
        assert_relative_eq!(n.entropy(), 0.5 * two_pi_e.ln(), epsilon = 1e-15);
        assert_relative_eq!(n.ln_pdf(0.0), -0.918_938_533_204_672_8, epsilon = 1e-15);
        assert_relative_eq!(
            n.ln_pdf(2.0),
            -0.918_938_533_204_672_8 - 2.0,
            epsilon = 1e-15
        );
        assert_eq!(n.second_moment(), 1.0);
    }

    #[test]
    fn kl_by_hand() {
        // KL(N(1, 4) ‖ N(0, 1)) = ½ (4 + 1 − 1 − ln 4) = 2 − ln 2.
        let p = Normal::new(1.0, 4.0).expect("valid");
        let q = Normal::standard();
        assert_relative_eq!(p.kl(&q), 2.0 - 2f64.ln(), epsilon = 1e-15);
        // KL(N(0, 1) ‖ N(1, 4)) = ½ (1/4 + 1/4 − 1 + ln 4) = ln 2 − 1/4.
        assert_relative_eq!(q.kl(&p), 2f64.ln() - 0.25, epsilon = 1e-15);
    }

    #[test]
    fn precision_constructor_inverts() {
        let n = Normal::from_precision(2.0, 4.0).expect("valid");
        assert_eq!(n.variance(), 0.25);
        assert_eq!(n.precision(), 4.0);
        assert_eq!(n.std_dev(), 0.5);
    }

    #[test]
    fn rejects_non_finite_mean() {
        assert!(matches!(
            Normal::new(f64::NAN, 1.0),
            Err(Error::InvalidParam { name: "mean", .. })
        ));
    }

    #[test]
    fn rejects_non_positive_variance() {
        assert!(matches!(
            Normal::new(0.0, 0.0),
            Err(Error::InvalidParam {
                name: "variance",
                ..
            })
        ));
        assert!(Normal::new(0.0, -1.0).is_err());
        assert!(Normal::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn rejects_bad_precision() {
        assert!(Normal::from_precision(0.0, 0.0).is_err());
        assert!(Normal::from_precision(0.0, f64::NAN).is_err());
        // 1 / 1e-310 overflows to +∞.
        assert!(Normal::from_precision(0.0, 1e-310).is_err());
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn normalises_by_quadrature(mu in -10.0..10.0_f64, var in 0.01..100.0_f64) {
            let n = Normal::new(mu, var).expect("valid");
            let z = integrate_real(mu, n.std_dev(), |x| n.ln_pdf(x).exp());
            prop_assert!((z - 1.0).abs() < 1e-9);
        }

        #[test]
        fn kl_is_zero_on_itself_and_non_negative(
            m1 in -10.0..10.0_f64, v1 in 0.01..100.0_f64, m2 in -10.0..10.0_f64, v2 in 0.01..100.0_f64,
        ) {
            let p = Normal::new(m1, v1).expect("valid");
            let q = Normal::new(m2, v2).expect("valid");
            prop_assert!(p.kl(&p).abs() < 1e-12);
            prop_assert!(p.kl(&q) >= -1e-12);
        }

        #[test]
        fn monte_carlo_agrees(
            m1 in -5.0..5.0_f64, v1 in 0.1..10.0_f64, m2 in -5.0..5.0_f64, v2 in 0.1..10.0_f64,
            seed in any::<u64>(),
        ) {
            let p = Normal::new(m1, v1).expect("valid");
            let q = Normal::new(m2, v2).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<f64> = (0..20_000).map(|_| p.sample(&mut rng)).collect();
            assert_mc("E[x]", &xs, m1);
            let sq: Vec<f64> = xs.iter().map(|x| (x - m1).powi(2)).collect();
            assert_mc("var[x]", &sq, v1);
            let h: Vec<f64> = xs.iter().map(|&x| -p.ln_pdf(x)).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|&x| p.ln_pdf(x) - q.ln_pdf(x)).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }
    }
}
