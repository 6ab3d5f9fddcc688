//! The Beta distribution Beta(μ | a, b), the stick-breaking factor of a
//! Dirichlet-process mixture (Blei & Jordan 2006).

use rand::Rng;

use super::{Gamma, positive, xlogy};
use crate::Result;
use crate::special::{digamma, ln_gamma, sigmoid};

/// Beta(μ | a, b) = Γ(a + b) / (Γ(a) Γ(b)) μ^{a−1} (1 − μ)^{b−1}, PRML (B.6),
/// a, b > 0 — the Dirichlet with K = 2.
#[derive(Debug, Clone, PartialEq)]
pub struct Beta {
    a: f64,
    b: f64,
    /// Gam(a, 1) and Gam(b, 1), whose ratio gives a draw.
    ga: Gamma,
    gb: Gamma,
}

impl Beta {
    /// Beta(a, b); both must be finite and > 0.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        let a = positive("a", a)?;
        let b = positive("b", b)?;
        Ok(Self {
            a,
            b,
            ga: Gamma::new(a, 1.0)?,
            gb: Gamma::new(b, 1.0)?,
        })
    }

    /// The first shape a.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The second shape b.
    pub fn b(&self) -> f64 {
        self.b
    }

    /// PRML (B.7): E\[μ\] = a / (a + b).
    pub fn mean(&self) -> f64 {
        self.a / (self.a + self.b)
    }

    /// PRML (B.8): var\[μ\] = ab / ((a + b)² (a + b + 1)).
    pub fn variance(&self) -> f64 {
        let s = self.a + self.b;
        self.a * self.b / (s * s * (s + 1.0))
    }

    /// E[ln μ] = ψ(a) − ψ(a + b): PRML (B.21) with K = 2; the stick-breaking
    /// expectation of Blei & Jordan (2006), §5.
    pub fn expected_ln(&self) -> f64 {
        digamma(self.a) - digamma(self.a + self.b)
    }

    /// E[ln(1 − μ)] = ψ(b) − ψ(a + b): PRML (B.21) for the second coordinate
    /// of the K = 2 Dirichlet; Blei & Jordan (2006), §5.
    pub fn expected_ln_one_minus(&self) -> f64 {
        digamma(self.b) - digamma(self.a + self.b)
    }

    /// ln B(a, b)⁻¹ = ln Γ(a + b) − ln Γ(a) − ln Γ(b), the log normaliser of
    /// PRML (B.6).
    pub fn ln_normaliser(&self) -> f64 {
        ln_gamma(self.a + self.b) - ln_gamma(self.a) - ln_gamma(self.b)
    }

    /// PRML (B.6): ln Beta(μ | a, b) = ln Γ(a + b) − ln Γ(a) − ln Γ(b) +
    /// (a − 1) ln μ + (b − 1) ln(1 − μ); −∞ outside [0, 1].
    pub fn ln_pdf(&self, x: f64) -> f64 {
        if !(0.0..=1.0).contains(&x) {
            return f64::NEG_INFINITY;
        }
        self.ln_normaliser() + xlogy(self.a - 1.0, x.ln()) + xlogy(self.b - 1.0, (-x).ln_1p())
    }

    /// A draw μ = X / (X + Y), X ~ Gam(a, 1), Y ~ Gam(b, 1), formed as
    /// σ(ln X − ln Y) so that it stays accurate for small a, b.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        sigmoid(self.ga.sample_ln(rng) - self.gb.sample_ln(rng))
    }

    /// PRML (B.22) with K = 2: H\[μ\] = −ln Γ(a + b) + ln Γ(a) + ln Γ(b)
    /// − (a − 1) ψ(a) − (b − 1) ψ(b) + (a + b − 2) ψ(a + b).
    pub fn entropy(&self) -> f64 {
        let (a, b) = (self.a, self.b);
        -self.ln_normaliser() - (a - 1.0) * digamma(a) - (b - 1.0) * digamma(b)
            + (a + b - 2.0) * digamma(a + b)
    }

    /// KL(Beta(a₁, b₁) ‖ Beta(a₂, b₂)) = ln B(a₂, b₂) − ln B(a₁, b₁) +
    /// (a₁ − a₂) ψ(a₁) + (b₁ − b₂) ψ(b₁) + (a₂ − a₁ + b₂ − b₁) ψ(a₁ + b₁):
    /// the Dirichlet KL of Penny (2001) with K = 2.
    pub fn kl(&self, other: &Self) -> f64 {
        let (a1, b1, a2, b2) = (self.a, self.b, other.a, other.b);
        self.ln_normaliser() - other.ln_normaliser()
            + (a1 - a2) * digamma(a1)
            + (b1 - b2) * digamma(b1)
            + (a2 - a1 + b2 - b1) * digamma(a1 + b1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::dist::testutil::{assert_mc, config, integrate_01};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    #[test]
    fn uniform_known_values() {
        let u = Beta::new(1.0, 1.0).expect("valid");
        assert_relative_eq!(u.entropy(), 0.0, epsilon = 1e-13);
        for x in [0.0, 0.3, 1.0] {
            assert_relative_eq!(u.ln_pdf(x), 0.0, epsilon = 1e-13);
        }
        assert_eq!(u.ln_pdf(-0.1), f64::NEG_INFINITY);
        assert_eq!(u.ln_pdf(1.1), f64::NEG_INFINITY);
        // ψ(1) − ψ(2) = −1.
        assert_relative_eq!(u.expected_ln(), -1.0, epsilon = 1e-14);
        assert_relative_eq!(u.expected_ln_one_minus(), -1.0, epsilon = 1e-14);
        assert_eq!(u.mean(), 0.5);
        assert_relative_eq!(u.variance(), 1.0 / 12.0, epsilon = 1e-16);
    }

    #[test]
    fn known_density_and_kl() {
        // Beta(x | 2, 3) = 12 x (1 − x)²: at ½, 1.5.
        let p = Beta::new(2.0, 3.0).expect("valid");
        assert_relative_eq!(p.ln_pdf(0.5), 1.5f64.ln(), epsilon = 1e-14);
        // KL(Beta(2, 1) ‖ Beta(1, 1)) = E[ln 2x] = ln 2 + ψ(2) − ψ(3) = ln 2 − ½.
        let q = Beta::new(2.0, 1.0).expect("valid");
        let u = Beta::new(1.0, 1.0).expect("valid");
        assert_relative_eq!(q.kl(&u), 2f64.ln() - 0.5, epsilon = 1e-14);
        // H[Beta(2, 1)] = −KL(Beta(2, 1) ‖ U(0, 1)).
        assert_relative_eq!(q.entropy(), 0.5 - 2f64.ln(), epsilon = 1e-14);
    }

    #[test]
    fn rejects_bad_a() {
        for a in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Beta::new(a, 1.0),
                Err(Error::InvalidParam { name: "a", .. })
            ));
        }
    }

    #[test]
    fn rejects_bad_b() {
        for b in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Beta::new(1.0, b),
                Err(Error::InvalidParam { name: "b", .. })
            ));
        }
    }

    #[test]
    fn small_shapes_sample_inside_the_unit_interval() {
        let p = Beta::new(0.01, 0.02).expect("valid");
        let mut rng = seeded(3);
        let xs: Vec<f64> = (0..10_000).map(|_| p.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
        assert_mc("E[μ]", &xs, p.mean());
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn density_moments_and_entropy_by_quadrature(a in 0.5..20.0_f64, b in 0.5..20.0_f64) {
            let p = Beta::new(a, b).expect("valid");
            // Beta(a, b) at x equals Beta(b, a) at 1 − x: use it on [½, 1]
            // so the density is evaluated where its argument is accurate.
            let r = Beta::new(b, a).expect("valid");
            let with = |f: &dyn Fn(f64, f64) -> f64| {
                integrate_01(|x, y| {
                    let px = if x <= 0.5 { p.ln_pdf(x) } else { r.ln_pdf(y) }.exp();
                    if px == 0.0 { 0.0 } else { px * f(x, y) }
                })
            };
            prop_assert!((with(&|_, _| 1.0) - 1.0).abs() < 1e-7);
            prop_assert!((with(&|x, _| x) - p.mean()).abs() < 1e-7);
            prop_assert!((with(&|x, _| x.ln()) - p.expected_ln()).abs() < 1e-6);
            prop_assert!((with(&|_, y| y.ln()) - p.expected_ln_one_minus()).abs() < 1e-6);
            let h = with(&|x, y| -(if x <= 0.5 { p.ln_pdf(x) } else { r.ln_pdf(y) }));
            prop_assert!((h - p.entropy()).abs() < 1e-6);
        }

        #[test]
        fn kl_is_zero_on_itself_and_non_negative(
            a1 in 0.05..50.0_f64, b1 in 0.05..50.0_f64, a2 in 0.05..50.0_f64, b2 in 0.05..50.0_f64,
        ) {
            let p = Beta::new(a1, b1).expect("valid");
            let q = Beta::new(a2, b2).expect("valid");
            prop_assert!(p.kl(&p).abs() < 1e-10);
            prop_assert!(p.kl(&q) >= -1e-10);
        }

        #[test]
        fn monte_carlo_agrees(
            a1 in 0.5..10.0_f64, b1 in 0.5..10.0_f64, a2 in 0.5..10.0_f64, b2 in 0.5..10.0_f64,
            seed in any::<u64>(),
        ) {
            let p = Beta::new(a1, b1).expect("valid");
            let q = Beta::new(a2, b2).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<f64> = (0..20_000).map(|_| p.sample(&mut rng)).collect();
            assert_mc("E[μ]", &xs, p.mean());
            let sq: Vec<f64> = xs.iter().map(|x| (x - p.mean()).powi(2)).collect();
            assert_mc("var[μ]", &sq, p.variance());
            let ln: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
            assert_mc("E[ln μ]", &ln, p.expected_ln());
            let ln1m: Vec<f64> = xs.iter().map(|x| (-x).ln_1p()).collect();
            assert_mc("E[ln(1 − μ)]", &ln1m, p.expected_ln_one_minus());
            let h: Vec<f64> = xs.iter().map(|&x| -p.ln_pdf(x)).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|&x| p.ln_pdf(x) - q.ln_pdf(x)).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }
    }
}
