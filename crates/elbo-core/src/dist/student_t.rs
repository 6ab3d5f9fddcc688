//! Student's t distributions, univariate (PRML 2.159) and multivariate
//! (PRML 2.162), parameterised by a location, a precision and the degrees of
//! freedom ν: the predictive densities of VB linear regression with unknown
//! noise and of the Bayesian GMM (PRML 10.81).
//!
//! There is no closed-form KL divergence between two Student-t
//! distributions, so neither type has a `kl` method; estimate it by Monte
//! Carlo from [`StudentT::sample`] and [`StudentT::ln_pdf`] if you need it.

use ndarray::{Array1, Array2, ArrayView1};
use rand::Rng;
use rand_distr::StandardNormal;

use super::linalg::Cholesky;
use super::{Gamma, finite, positive};
use crate::special::{digamma, ln_gamma};
use crate::{Error, Result};

const LN_PI: f64 = 1.144_729_885_849_400_2;

/// ln Γ((ν + D)/2) − ln Γ(ν/2) − (D/2) ln(πν), the log normaliser of
/// PRML (2.162) without the |Λ|^{1/2} factor.
fn ln_norm(nu: f64, d: f64) -> f64 {
    ln_gamma(0.5 * (nu + d)) - ln_gamma(0.5 * nu) - 0.5 * d * (LN_PI + nu.ln())
}

/// The entropy of a standard (Λ = I) D-variate t with ν degrees of freedom:
/// −ln_norm + ((ν + D)/2)[ψ((ν + D)/2) − ψ(ν/2)] (Kotz & Nadarajah 2004, §1.10).
fn std_entropy(nu: f64, d: f64) -> f64 {
    -ln_norm(nu, d) + 0.5 * (nu + d) * (digamma(0.5 * (nu + d)) - digamma(0.5 * nu))
}

/// The univariate Student t, PRML (2.159):
/// St(x | μ, λ, ν) = Γ(ν/2 + ½)/Γ(ν/2) (λ/(πν))^{1/2} [1 + λ(x − μ)²/ν]^{−ν/2 − 1/2},
/// with location μ, precision λ > 0 and ν > 0 degrees of freedom; an infinite
/// mixture of Gaussians N(x | μ, (ηλ)⁻¹) over η ~ Gam(ν/2, ν/2), PRML (2.158).
/// Tends to N(x | μ, λ⁻¹) as ν → ∞. No closed-form KL divergence exists.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentT {
    mu: f64,
    lambda: f64,
    nu: f64,
    /// Gam(ν/2, ν/2), the mixing distribution of the precision scale η.
    mix: Gamma,
}

impl StudentT {
    /// St(μ, λ, ν): finite location `mu`, precision `lambda` > 0, degrees of
    /// freedom `nu` > 0 (all finite).
    pub fn new(mu: f64, lambda: f64, nu: f64) -> Result<Self> {
        let mu = finite("mu", mu)?;
        let lambda = positive("lambda", lambda)?;
        let nu = positive("nu", nu)?;
        Ok(Self {
            mu,
            lambda,
            nu,
            mix: Gamma::new(0.5 * nu, 0.5 * nu)?,
        })
    }

    /// The location μ.
    pub fn location(&self) -> f64 {
        self.mu
    }

    /// The precision λ.
    pub fn precision(&self) -> f64 {
        self.lambda
    }

    /// The degrees of freedom ν.
    pub fn dof(&self) -> f64 {
        self.nu
    }

    /// PRML (2.164): E\[x\] = μ for ν > 1; `None` (undefined) otherwise.
    pub fn mean(&self) -> Option<f64> {
        (self.nu > 1.0).then_some(self.mu)
    }

    /// PRML (2.164): mode\[x\] = μ.
    pub fn mode(&self) -> f64 {
        self.mu
    }

    /// PRML (2.165): var\[x\] = ν / ((ν − 2) λ) for ν > 2; `None` (infinite or
    /// undefined) otherwise.
    pub fn variance(&self) -> Option<f64> {
        (self.nu > 2.0).then(|| self.nu / ((self.nu - 2.0) * self.lambda))
    }

    /// PRML (2.159): ln St(x | μ, λ, ν) = ln Γ((ν+1)/2) − ln Γ(ν/2) + ½ ln(λ/(πν))
    /// − ((ν+1)/2) ln(1 + λ(x − μ)²/ν).
    pub fn ln_pdf(&self, x: f64) -> f64 {
        let z = x - self.mu;
        ln_norm(self.nu, 1.0) + 0.5 * self.lambda.ln()
            - 0.5 * (self.nu + 1.0) * (self.lambda * z * z / self.nu).ln_1p()
    }

    /// A draw through PRML (2.158): η ~ Gam(ν/2, ν/2), then x ~ N(μ, (ηλ)⁻¹).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let eta = self.mix.sample(rng);
        let eps: f64 = rng.sample(StandardNormal);
        self.mu + eps / (eta * self.lambda).sqrt()
    }

    /// H\[x\] = ((ν+1)/2)[ψ((ν+1)/2) − ψ(ν/2)] + ln(√ν B(ν/2, ½)) − ½ ln λ
    /// (Kotz & Nadarajah 2004, §1.10, with scale λ^{−1/2}).
    pub fn entropy(&self) -> f64 {
        std_entropy(self.nu, 1.0) - 0.5 * self.lambda.ln()
    }
}

/// The D-variate Student t, PRML (2.162):
/// St(x | μ, Λ, ν) = Γ(D/2 + ν/2)/Γ(ν/2) |Λ|^{1/2}/(πν)^{D/2} [1 + Δ²/ν]^{−D/2 − ν/2},
/// Δ² = (x − μ)ᵀ Λ (x − μ) (2.163), with location μ, symmetric positive-definite
/// precision Λ and ν > 0 — the Bayesian GMM's predictive density PRML (10.81)
/// is St(x | m_k, L_k, ν_k + 1 − D) with L_k of (10.82). No closed-form KL
/// divergence exists.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiStudentT {
    mu: Array1<f64>,
    prec: Array2<f64>,
    nu: f64,
    /// Cholesky factor of Λ.
    chol: Cholesky,
    /// Gam(ν/2, ν/2), the mixing distribution of the precision scale η.
    mix: Gamma,
}

impl MultiStudentT {
    /// St(μ, Λ, ν): finite location `mu`, symmetric positive-definite
    /// `precision` of matching dimension, finite `nu` > 0.
    pub fn new(mu: Array1<f64>, precision: Array2<f64>, nu: f64) -> Result<Self> {
        if mu.is_empty() {
            return Err(Error::invalid(
                "mu",
                "an empty vector",
                "of dimension at least 1",
            ));
        }
        for &m in &mu {
            finite("mu", m)?;
        }
        let (prec, chol) = Cholesky::checked("precision", precision.view())?;
        if prec.nrows() != mu.len() {
            return Err(Error::Shape(format!(
                "`mu` has dimension {} but `precision` is {}×{}",
                mu.len(),
                prec.nrows(),
                prec.ncols()
            )));
        }
        let nu = positive("nu", nu)?;
        Ok(Self {
            mu,
            prec,
            nu,
            chol,
            mix: Gamma::new(0.5 * nu, 0.5 * nu)?,
        })
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.mu.len()
    }

    /// The location μ.
    pub fn location(&self) -> &Array1<f64> {
        &self.mu
    }

    /// The precision Λ.
    pub fn precision(&self) -> &Array2<f64> {
        &self.prec
    }

    /// The degrees of freedom ν.
    pub fn dof(&self) -> f64 {
        self.nu
    }

    /// PRML (2.164): E\[x\] = μ for ν > 1; `None` otherwise.
    pub fn mean(&self) -> Option<&Array1<f64>> {
        (self.nu > 1.0).then_some(&self.mu)
    }

    /// PRML (2.164): cov\[x\] = ν/(ν − 2) Λ⁻¹ for ν > 2; `None` otherwise.
    pub fn covariance(&self) -> Option<Array2<f64>> {
        (self.nu > 2.0).then(|| self.chol.inverse() * (self.nu / (self.nu - 2.0)))
    }

    /// PRML (2.162): ln St(x | μ, Λ, ν) = ln Γ((ν+D)/2) − ln Γ(ν/2) + ½ ln |Λ|
    /// − (D/2) ln(πν) − ((ν+D)/2) ln(1 + Δ²/ν), Δ² of (2.163).
    ///
    /// # Panics
    ///
    /// If `x` does not have dimension D.
    #[track_caller]
    pub fn ln_pdf(&self, x: ArrayView1<f64>) -> f64 {
        let d = self.dim();
        assert!(
            x.len() == d,
            "x has dimension {}, the distribution {d}",
            x.len()
        );
        let z = &x - &self.mu;
        // Δ² = zᵀ Λ z = ‖Lᵀ z‖² with Λ = L Lᵀ.
        let lt_z = self.chol.l().t().dot(&z);
        let delta2 = lt_z.dot(&lt_z);
        ln_norm(self.nu, d as f64) + 0.5 * self.chol.ln_det()
            - 0.5 * (self.nu + d as f64) * (delta2 / self.nu).ln_1p()
    }

    /// A draw through the Gaussian scale mixture PRML (2.161): η ~ Gam(ν/2, ν/2),
    /// x = μ + L⁻ᵀ ε / √η with Λ = L Lᵀ, ε ~ N(0, I).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        let eta = self.mix.sample(rng);
        let eps: Array1<f64> = (0..self.dim())
            .map(|_| rng.sample(StandardNormal))
            .collect();
        &self.mu + &(self.chol.solve_lt(eps.view()) / eta.sqrt())
    }

    /// H\[x\] = ln Γ(ν/2) − ln Γ((ν+D)/2) + (D/2) ln(πν) − ½ ln |Λ| +
    /// ((ν+D)/2)[ψ((ν+D)/2) − ψ(ν/2)] (Kotz & Nadarajah 2004, §1.10).
    pub fn entropy(&self) -> f64 {
        std_entropy(self.nu, self.dim() as f64) - 0.5 * self.chol.ln_det()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Normal;
    use crate::dist::testutil::{assert_mc, config, integrate_real, spd, vec_in};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn cauchy_known_values() {
        // ν = 1, λ = 1 is the standard Cauchy: p(0) = 1/π, H = ln 4π.
        let c = StudentT::new(0.0, 1.0, 1.0).expect("valid");
        let pi = std::f64::consts::PI;
        assert_relative_eq!(c.ln_pdf(0.0), -pi.ln(), epsilon = 1e-14);
        assert_relative_eq!(c.ln_pdf(1.0), -(2.0 * pi).ln(), epsilon = 1e-14);
        assert_relative_eq!(c.entropy(), (4.0 * pi).ln(), epsilon = 1e-13);
        assert_eq!(c.mean(), None);
        assert_eq!(c.variance(), None);
        assert_eq!(c.mode(), 0.0);
        let t = StudentT::new(1.0, 2.0, 4.0).expect("valid");
        assert_eq!(t.mean(), Some(1.0));
        assert_eq!(t.variance(), Some(1.0));
    }

    #[test]
    fn large_nu_tends_to_the_gaussian() {
        let t = StudentT::new(0.7, 2.5, 1e8).expect("valid");
        let n = Normal::from_precision(0.7, 2.5).expect("valid");
        for x in [-3.0, 0.0, 0.7, 2.0, 5.0] {
            assert_relative_eq!(t.ln_pdf(x), n.ln_pdf(x), epsilon = 1e-5);
        }
        assert_relative_eq!(t.entropy(), n.entropy(), epsilon = 1e-5);
        let mt = MultiStudentT::new(array![0.7, -1.0], array![[2.0, 0.5], [0.5, 1.0]], 1e8)
            .expect("valid");
        let g = crate::dist::Gaussian::from_precision(
            array![0.7, -1.0],
            array![[2.0, 0.5], [0.5, 1.0]],
        )
        .expect("valid");
        for x in [array![0.0, 0.0], array![1.5, -2.0]] {
            assert_relative_eq!(mt.ln_pdf(x.view()), g.ln_pdf(x.view()), epsilon = 1e-5);
        }
        assert_relative_eq!(mt.entropy(), g.entropy(), epsilon = 1e-5);
    }

    #[test]
    fn rejects_bad_location() {
        assert!(matches!(
            StudentT::new(f64::NAN, 1.0, 1.0),
            Err(Error::InvalidParam { name: "mu", .. })
        ));
        assert!(matches!(
            MultiStudentT::new(array![0.0, f64::INFINITY], Array2::eye(2), 1.0),
            Err(Error::InvalidParam { name: "mu", .. })
        ));
        assert!(matches!(
            MultiStudentT::new(Array1::zeros(0), Array2::eye(0), 1.0),
            Err(Error::InvalidParam { name: "mu", .. })
        ));
    }

    #[test]
    fn rejects_bad_precision() {
        for l in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                StudentT::new(0.0, l, 1.0),
                Err(Error::InvalidParam { name: "lambda", .. })
            ));
        }
        assert!(matches!(
            MultiStudentT::new(array![0.0, 0.0], array![[1.0, 2.0], [2.0, 1.0]], 1.0),
            Err(Error::NotPositiveDefinite {
                what: "precision",
                ..
            })
        ));
    }

    #[test]
    fn rejects_bad_nu() {
        for nu in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                StudentT::new(0.0, 1.0, nu),
                Err(Error::InvalidParam { name: "nu", .. })
            ));
            assert!(matches!(
                MultiStudentT::new(array![0.0], array![[1.0]], nu),
                Err(Error::InvalidParam { name: "nu", .. })
            ));
        }
    }

    #[test]
    fn rejects_dimension_mismatch() {
        assert!(matches!(
            MultiStudentT::new(array![0.0], Array2::eye(2), 3.0),
            Err(Error::Shape(_))
        ));
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn normalises_and_entropy_by_quadrature(
            mu in -5.0..5.0_f64, lambda in 0.05..20.0_f64, nu in 0.5..50.0_f64,
        ) {
            let t = StudentT::new(mu, lambda, nu).expect("valid");
            let s = 1.0 / lambda.sqrt();
            let with = |f: &dyn Fn(f64) -> f64| integrate_real(mu, s, |x| {
                let p = t.ln_pdf(x).exp();
                if p == 0.0 { 0.0 } else { p * f(x) }
            });
            prop_assert!((with(&|_| 1.0) - 1.0).abs() < 1e-6);
            prop_assert!((with(&|x| -t.ln_pdf(x)) - t.entropy()).abs() < 1e-5);
            if let Some(v) = t.variance() {
                if nu > 3.0 {
                    prop_assert!((with(&|x| (x - mu).powi(2)) - v).abs() < 1e-5 * v);
                }
            }
        }

        #[test]
        fn one_dimension_agrees_with_univariate(
            mu in -5.0..5.0_f64, lambda in 0.05..20.0_f64, nu in 0.1..50.0_f64, x in -20.0..20.0_f64,
        ) {
            let t = StudentT::new(mu, lambda, nu).expect("valid");
            let m = MultiStudentT::new(array![mu], array![[lambda]], nu).expect("valid");
            prop_assert!((t.ln_pdf(x) - m.ln_pdf(array![x].view())).abs() < 1e-12);
            prop_assert!((t.entropy() - m.entropy()).abs() < 1e-12);
            prop_assert_eq!(t.mean(), m.mean().map(|v| v[0]));
            if let (Some(v), Some(c)) = (t.variance(), m.covariance()) {
                prop_assert!((v - c[(0, 0)]).abs() < 1e-12 * v);
            }
        }

        #[test]
        fn univariate_monte_carlo_agrees(
            mu in -5.0..5.0_f64, lambda in 0.1..10.0_f64, nu in 4.5..30.0_f64, seed in any::<u64>(),
        ) {
            let t = StudentT::new(mu, lambda, nu).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<f64> = (0..20_000).map(|_| t.sample(&mut rng)).collect();
            assert_mc("E[x]", &xs, mu);
            let sq: Vec<f64> = xs.iter().map(|x| (x - mu).powi(2)).collect();
            assert_mc("var[x]", &sq, t.variance().expect("ν > 2"));
            let h: Vec<f64> = xs.iter().map(|&x| -t.ln_pdf(x)).collect();
            assert_mc("entropy", &h, t.entropy());
        }

        #[test]
        fn multivariate_monte_carlo_agrees(
            (mu, prec, nu, seed) in (1..=3_usize).prop_flat_map(|d| (
                vec_in(d, -3.0, 3.0), spd(d..=d), 4.5..30.0_f64, any::<u64>(),
            )),
        ) {
            let t = MultiStudentT::new(mu, prec, nu).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<Array1<f64>> = (0..10_000).map(|_| t.sample(&mut rng)).collect();
            let m = t.location();
            let c = t.covariance().expect("ν > 2");
            for i in 0..t.dim() {
                let xi: Vec<f64> = xs.iter().map(|x| x[i]).collect();
                assert_mc("E[x_i]", &xi, m[i]);
                for j in 0..=i {
                    let s: Vec<f64> = xs.iter().map(|x| (x[i] - m[i]) * (x[j] - m[j])).collect();
                    assert_mc("cov[x_i, x_j]", &s, c[(i, j)]);
                }
            }
            let h: Vec<f64> = xs.iter().map(|x| -t.ln_pdf(x.view())).collect();
            assert_mc("entropy", &h, t.entropy());
        }

        #[test]
        fn heavy_tailed_entropy_by_monte_carlo(
            nu in 0.3..4.0_f64, lambda in 0.1..10.0_f64, seed in any::<u64>(),
        ) {
            let t = MultiStudentT::new(array![0.5, -0.5], array![[lambda, 0.0], [0.0, 2.0]], nu)
                .expect("valid");
            let mut rng = seeded(seed);
            let h: Vec<f64> = (0..10_000).map(|_| -t.ln_pdf(t.sample(&mut rng).view())).collect();
            assert_mc("entropy", &h, t.entropy());
        }
    }
}
