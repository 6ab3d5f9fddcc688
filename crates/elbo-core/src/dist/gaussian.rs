//! Multivariate Gaussians: full covariance ([`Gaussian`]) and diagonal
//! covariance ([`DiagGaussian`], the mean-field family of Bayes by Backprop
//! and VIME).

use ndarray::{Array1, Array2, ArrayView1};
use rand::Rng;
use rand_distr::StandardNormal;

use super::linalg::{Cholesky, trace_of_product};
use super::positive;
use crate::{Error, Result};

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Checks that `v` is non-empty with finite entries.
fn finite_vector(name: &'static str, v: &Array1<f64>) -> Result<()> {
    if v.is_empty() {
        return Err(Error::invalid(
            name,
            "an empty vector",
            "of dimension at least 1",
        ));
    }
    match v.iter().find(|x| !x.is_finite()) {
        Some(x) => Err(Error::invalid(name, x, "finite in every entry")),
        None => Ok(()),
    }
}

#[track_caller]
fn assert_dim(what: &str, got: usize, want: usize) {
    assert!(
        got == want,
        "{what} has dimension {got}, the distribution {want}"
    );
}

/// The D-dimensional Gaussian N(x | μ, Σ) with full covariance, PRML (2.43) /
/// (B.37). Both Σ and the precision Λ = Σ⁻¹ are kept, so either
/// parameterisation is free to read; PRML's posteriors (3.53–3.54, 10.97–10.98)
/// come as a precision S_N⁻¹.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    mean: Array1<f64>,
    cov: Array2<f64>,
    prec: Array2<f64>,
    /// Cholesky factor of Σ.
    chol: Cholesky,
}

impl Gaussian {
    /// N(μ, Σ) from the mean μ (finite) and a symmetric positive-definite
    /// covariance Σ of matching dimension.
    pub fn new(mean: Array1<f64>, covariance: Array2<f64>) -> Result<Self> {
        finite_vector("mean", &mean)?;
        let (cov, chol) = Cholesky::checked("covariance", covariance.view())?;
        if cov.nrows() != mean.len() {
            return Err(Error::Shape(format!(
                "`mean` has dimension {} but `covariance` is {}×{}",
                mean.len(),
                cov.nrows(),
                cov.ncols()
            )));
        }
        let prec = chol.inverse();
        Ok(Self {
            mean,
            cov,
            prec,
            chol,
        })
    }

    /// N(μ, Λ⁻¹) from the mean μ and a symmetric positive-definite precision
    /// Λ, PRML (2.68); e.g. the posterior N(w | m_N, S_N) of (3.53–3.54) from
    /// S_N⁻¹ = α I + β ΦᵀΦ.
    pub fn from_precision(mean: Array1<f64>, precision: Array2<f64>) -> Result<Self> {
        finite_vector("mean", &mean)?;
        let (prec, prec_chol) = Cholesky::checked("precision", precision.view())?;
        if prec.nrows() != mean.len() {
            return Err(Error::Shape(format!(
                "`mean` has dimension {} but `precision` is {}×{}",
                mean.len(),
                prec.nrows(),
                prec.ncols()
            )));
        }
        let cov = prec_chol.inverse();
        let chol = Cholesky::new(cov.view()).ok_or(Error::NotPositiveDefinite {
            what: "covariance (the inverse of `precision`)",
            hint: "`precision` is too ill-conditioned to invert; add a small multiple of the identity",
        })?;
        Ok(Self {
            mean,
            cov,
            prec,
            chol,
        })
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// PRML (2.59): E\[x\] = μ.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }

    /// PRML (2.64): cov\[x\] = Σ.
    pub fn covariance(&self) -> &Array2<f64> {
        &self.cov
    }

    /// The precision Λ = Σ⁻¹, PRML (2.68).
    pub fn precision(&self) -> &Array2<f64> {
        &self.prec
    }

    /// ln |Σ|, from the Cholesky factor.
    pub fn ln_det_covariance(&self) -> f64 {
        self.chol.ln_det()
    }

    /// PRML (2.62): E[x xᵀ] = μμᵀ + Σ.
    pub fn second_moment(&self) -> Array2<f64> {
        let m = self.mean.view().insert_axis(ndarray::Axis(1));
        m.dot(&m.t()) + &self.cov
    }

    /// PRML (2.43): ln N(x | μ, Σ) = −(D/2) ln 2π − ½ ln |Σ| − ½ (x − μ)ᵀ Σ⁻¹ (x − μ).
    ///
    /// # Panics
    ///
    /// If `x` does not have dimension D.
    #[track_caller]
    pub fn ln_pdf(&self, x: ArrayView1<f64>) -> f64 {
        assert_dim("x", x.len(), self.dim());
        let z = &x - &self.mean;
        -0.5 * (self.dim() as f64 * LN_2PI + self.chol.ln_det() + self.chol.inv_quad(z.view()))
    }

    /// A draw x = μ + L ε with Σ = L Lᵀ and ε ~ N(0, I) (PRML §11.1.1).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        let eps: Array1<f64> = (0..self.dim())
            .map(|_| rng.sample(StandardNormal))
            .collect();
        &self.mean + &self.chol.l().dot(&eps)
    }

    /// PRML (B.41): H\[x\] = ½ ln |Σ| + (D/2)(1 + ln 2π).
    pub fn entropy(&self) -> f64 {
        0.5 * self.chol.ln_det() + 0.5 * self.dim() as f64 * (1.0 + LN_2PI)
    }

    /// KL(N(μ₁, Σ₁) ‖ N(μ₂, Σ₂)) = ½ [tr(Σ₂⁻¹ Σ₁) + (μ₂ − μ₁)ᵀ Σ₂⁻¹ (μ₂ − μ₁) − D +
    /// ln |Σ₂| − ln |Σ₁|] — PRML Exercise 2.13; Penny (2001).
    ///
    /// # Panics
    ///
    /// If the dimensions differ.
    #[track_caller]
    pub fn kl(&self, other: &Self) -> f64 {
        assert_dim("other", other.dim(), self.dim());
        let d = &other.mean - &self.mean;
        0.5 * (trace_of_product(other.prec.view(), self.cov.view()) + other.chol.inv_quad(d.view())
            - self.dim() as f64
            + other.chol.ln_det()
            - self.chol.ln_det())
    }
}

/// The D-dimensional Gaussian with diagonal covariance,
/// N(x | μ, diag σ²) = Π_i N(x_i | μ_i, σ_i²): the mean-field Gaussian
/// (PRML (10.5) with one factor per coordinate; Blundell et al. 2015).
#[derive(Debug, Clone, PartialEq)]
pub struct DiagGaussian {
    mean: Array1<f64>,
    var: Array1<f64>,
}

impl DiagGaussian {
    /// N(μ, diag σ²) from the mean μ (finite) and the variances σ_i² (each
    /// finite and > 0), of the same length ≥ 1.
    pub fn new(mean: Array1<f64>, variance: Array1<f64>) -> Result<Self> {
        finite_vector("mean", &mean)?;
        if variance.len() != mean.len() {
            return Err(Error::Shape(format!(
                "`mean` has dimension {} but `variance` {}",
                mean.len(),
                variance.len()
            )));
        }
        for &v in &variance {
            positive("variance", v)?;
        }
        Ok(Self {
            mean,
            var: variance,
        })
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// E\[x\] = μ.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }

    /// The variances σ_i², the diagonal of cov\[x\].
    pub fn variance(&self) -> &Array1<f64> {
        &self.var
    }

    /// The standard deviations σ_i.
    pub fn std_dev(&self) -> Array1<f64> {
        self.var.mapv(f64::sqrt)
    }

    /// PRML (1.50) per coordinate: E\[x_i²\] = μ_i² + σ_i², the diagonal of
    /// E[x xᵀ] (whose off-diagonal entries are μ_i μ_j).
    pub fn second_moment(&self) -> Array1<f64> {
        &self.mean * &self.mean + &self.var
    }

    /// The same distribution as a full-covariance [`Gaussian`].
    pub fn to_gaussian(&self) -> Gaussian {
        Gaussian {
            mean: self.mean.clone(),
            cov: Array2::from_diag(&self.var),
            prec: Array2::from_diag(&self.var.mapv(f64::recip)),
            chol: Cholesky::from_diag_sqrt(self.std_dev()),
        }
    }

    /// Σ_i ln N(x_i | μ_i, σ_i²), PRML (1.46) per coordinate.
    ///
    /// # Panics
    ///
    /// If `x` does not have dimension D.
    #[track_caller]
    pub fn ln_pdf(&self, x: ArrayView1<f64>) -> f64 {
        assert_dim("x", x.len(), self.dim());
        let mut s = 0.0;
        for ((&xi, &m), &v) in x.iter().zip(&self.mean).zip(&self.var) {
            let z = xi - m;
            s += -0.5 * (LN_2PI + v.ln()) - 0.5 * z * z / v;
        }
        s
    }

    /// A draw x_i = μ_i + σ_i ε_i, ε ~ N(0, I) (Kingma & Welling 2014).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        self.mean
            .iter()
            .zip(&self.var)
            .map(|(&m, &v)| m + v.sqrt() * rng.sample::<f64, _>(StandardNormal))
            .collect()
    }

    /// PRML (B.41) with a diagonal Σ: H\[x\] = ½ Σ_i ln σ_i² + (D/2)(1 + ln 2π).
    pub fn entropy(&self) -> f64 {
        0.5 * self.var.iter().map(|v| v.ln()).sum::<f64>()
            + 0.5 * self.dim() as f64 * (1.0 + LN_2PI)
    }

    /// KL = ½ Σ_i [σ₁ᵢ²/σ₂ᵢ² + (μ₁ᵢ − μ₂ᵢ)²/σ₂ᵢ² − 1 + ln(σ₂ᵢ²/σ₁ᵢ²)], the
    /// diagonal case of Penny (2001) — Blundell et al. (2015) and
    /// VIME's information gain (Houthooft et al. 2016).
    ///
    /// # Panics
    ///
    /// If the dimensions differ.
    #[track_caller]
    pub fn kl(&self, other: &Self) -> f64 {
        assert_dim("other", other.dim(), self.dim());
        let mut s = 0.0;
        for i in 0..self.dim() {
            let (v1, v2) = (self.var[i], other.var[i]);
            let d = self.mean[i] - other.mean[i];
            s += v1 / v2 + d * d / v2 - 1.0 + (v2 / v1).ln();
        }
        0.5 * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Normal;
    use crate::dist::testutil::{assert_mc, config, spd, vec_in};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn standard_2d_known_values() {
        let g = Gaussian::new(array![0.0, 0.0], Array2::eye(2)).expect("valid");
        let ln_2pi = (2.0 * std::f64::consts::PI).ln();
        assert_relative_eq!(g.entropy(), 1.0 + ln_2pi, epsilon = 1e-14);
        assert_relative_eq!(g.ln_pdf(array![0.0, 0.0].view()), -ln_2pi, epsilon = 1e-14);
        let g = Gaussian::new(array![1.0, 2.0], array![[1.0, 0.0], [0.0, 4.0]]).expect("valid");
        // At x = (2, 0): −ln 2π − ½ ln 4 − ½ (1 + 4/4).
        assert_relative_eq!(
            g.ln_pdf(array![2.0, 0.0].view()),
            -ln_2pi - 2f64.ln() - 1.0,
            epsilon = 1e-14
        );
        assert_relative_eq!(g.ln_det_covariance(), 4f64.ln(), epsilon = 1e-14);
        assert_eq!(g.second_moment(), array![[2.0, 2.0], [2.0, 8.0]]);
    }

    #[test]
    fn kl_by_hand() {
        // KL(N(0, I) ‖ N((1, 0), 2I)) = ½ (1 + ½ − 2 + ln 4) = ln 2 − ¼.
        let p = Gaussian::new(array![0.0, 0.0], Array2::eye(2)).expect("valid");
        let q = Gaussian::new(array![1.0, 0.0], Array2::eye(2) * 2.0).expect("valid");
        assert_relative_eq!(p.kl(&q), 2f64.ln() - 0.25, epsilon = 1e-14);
        // One dimension agrees with Normal: KL(N(1, 4) ‖ N(0, 1)) = 2 − ln 2.
        let p = Gaussian::new(array![1.0], array![[4.0]]).expect("valid");
        let q = Gaussian::new(array![0.0], array![[1.0]]).expect("valid");
        assert_relative_eq!(p.kl(&q), 2.0 - 2f64.ln(), epsilon = 1e-14);
        let np = Normal::new(1.0, 4.0).expect("valid");
        assert_relative_eq!(p.kl(&q), np.kl(&Normal::standard()), epsilon = 1e-14);
        let d = DiagGaussian::new(array![1.0], array![4.0]).expect("valid");
        let e = DiagGaussian::new(array![0.0], array![1.0]).expect("valid");
        assert_relative_eq!(d.kl(&e), 2.0 - 2f64.ln(), epsilon = 1e-14);
    }

    #[test]
    fn correlated_kl_by_hand() {
        // Σ₁ = [[2, 1], [1, 2]], Σ₂ = I, μ₂ − μ₁ = (1, 1):
        // ½ (tr Σ₁ + 2 − 2 + 0 − ln 3) = ½ (4 − ln 3).
        let p = Gaussian::new(array![0.0, 0.0], array![[2.0, 1.0], [1.0, 2.0]]).expect("valid");
        let q = Gaussian::new(array![1.0, 1.0], Array2::eye(2)).expect("valid");
        assert_relative_eq!(p.kl(&q), 0.5 * (4.0 - 3f64.ln()), epsilon = 1e-14);
    }

    #[test]
    #[should_panic(expected = "dimension")]
    fn ln_pdf_of_wrong_dimension_panics() {
        let g = Gaussian::new(array![0.0, 0.0], Array2::eye(2)).expect("valid");
        let _ = g.ln_pdf(array![0.0].view());
    }

    #[test]
    fn rejects_non_finite_mean() {
        let r = Gaussian::new(array![0.0, f64::NAN], Array2::eye(2));
        assert!(matches!(r, Err(Error::InvalidParam { name: "mean", .. })));
        let r = DiagGaussian::new(array![f64::INFINITY], array![1.0]);
        assert!(matches!(r, Err(Error::InvalidParam { name: "mean", .. })));
    }

    #[test]
    fn rejects_empty_mean() {
        let r = Gaussian::new(Array1::zeros(0), Array2::zeros((0, 0)));
        assert!(matches!(r, Err(Error::InvalidParam { name: "mean", .. })));
        let r = DiagGaussian::new(Array1::zeros(0), Array1::zeros(0));
        assert!(matches!(r, Err(Error::InvalidParam { name: "mean", .. })));
    }

    #[test]
    fn rejects_dimension_mismatch() {
        let r = Gaussian::new(array![0.0, 0.0, 0.0], Array2::eye(2));
        assert!(matches!(r, Err(Error::Shape(_))));
        let r = Gaussian::from_precision(array![0.0], Array2::eye(2));
        assert!(matches!(r, Err(Error::Shape(_))));
        let r = DiagGaussian::new(array![0.0], array![1.0, 1.0]);
        assert!(matches!(r, Err(Error::Shape(_))));
    }

    #[test]
    fn rejects_non_square_covariance() {
        let r = Gaussian::new(array![0.0, 0.0], Array2::zeros((2, 3)));
        assert!(matches!(r, Err(Error::Shape(_))));
    }

    #[test]
    fn rejects_asymmetric_covariance() {
        let r = Gaussian::new(array![0.0, 0.0], array![[1.0, 0.5], [0.0, 1.0]]);
        assert!(matches!(
            r,
            Err(Error::InvalidParam {
                name: "covariance",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_positive_definite_covariance() {
        let r = Gaussian::new(array![0.0, 0.0], array![[1.0, 2.0], [2.0, 1.0]]);
        assert!(matches!(
            r,
            Err(Error::NotPositiveDefinite {
                what: "covariance",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_positive_definite_precision() {
        let r = Gaussian::from_precision(array![0.0, 0.0], array![[0.0, 0.0], [0.0, 1.0]]);
        assert!(matches!(
            r,
            Err(Error::NotPositiveDefinite {
                what: "precision",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_finite_covariance() {
        let r = Gaussian::new(array![0.0], array![[f64::INFINITY]]);
        assert!(matches!(
            r,
            Err(Error::InvalidParam {
                name: "covariance",
                ..
            })
        ));
    }

    #[test]
    fn rejects_non_positive_variance() {
        for v in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = DiagGaussian::new(array![0.0, 0.0], array![1.0, v]);
            assert!(matches!(
                r,
                Err(Error::InvalidParam {
                    name: "variance",
                    ..
                })
            ));
        }
    }

    /// Two Gaussians of the same random dimension 1..=3 and a seed.
    fn pair() -> impl Strategy<Value = (Gaussian, Gaussian, u64)> {
        (1..=3_usize).prop_flat_map(|d| {
            (
                vec_in(d, -3.0, 3.0),
                spd(d..=d),
                vec_in(d, -3.0, 3.0),
                spd(d..=d),
                any::<u64>(),
            )
                .prop_map(|(m1, s1, m2, s2, seed)| {
                    (
                        Gaussian::new(m1, s1).expect("SPD by construction"),
                        Gaussian::new(m2, s2).expect("SPD by construction"),
                        seed,
                    )
                })
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn kl_is_zero_on_itself_and_non_negative((p, q, _) in pair()) {
            prop_assert!(p.kl(&p).abs() < 1e-10);
            prop_assert!(p.kl(&q) >= -1e-10);
        }

        #[test]
        fn precision_constructor_agrees((p, _, _) in pair(), x in vec_in(3, -3.0, 3.0)) {
            let q = Gaussian::from_precision(p.mean().clone(), p.precision().clone()).expect("valid");
            let x = x.slice(ndarray::s![..p.dim()]).to_owned();
            prop_assert!((p.ln_pdf(x.view()) - q.ln_pdf(x.view())).abs() < 1e-9);
            prop_assert!(p.kl(&q).abs() < 1e-9);
            for (a, b) in p.covariance().iter().zip(q.covariance()) {
                prop_assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()));
            }
        }

        #[test]
        fn monte_carlo_agrees((p, q, seed) in pair()) {
            let mut rng = seeded(seed);
            let xs: Vec<Array1<f64>> = (0..10_000).map(|_| p.sample(&mut rng)).collect();
            let d = p.dim();
            let m2 = p.second_moment();
            for i in 0..d {
                let xi: Vec<f64> = xs.iter().map(|x| x[i]).collect();
                assert_mc("E[x_i]", &xi, p.mean()[i]);
                for j in 0..=i {
                    let c: Vec<f64> = xs
                        .iter()
                        .map(|x| (x[i] - p.mean()[i]) * (x[j] - p.mean()[j]))
                        .collect();
                    assert_mc("cov[x_i, x_j]", &c, p.covariance()[(i, j)]);
                    let s: Vec<f64> = xs.iter().map(|x| x[i] * x[j]).collect();
                    assert_mc("E[x_i x_j]", &s, m2[(i, j)]);
                }
            }
            let h: Vec<f64> = xs.iter().map(|x| -p.ln_pdf(x.view())).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|x| p.ln_pdf(x.view()) - q.ln_pdf(x.view())).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }

        #[test]
        fn diagonal_agrees_with_full(
            (m1, v1, m2, v2, x) in (1..=4_usize).prop_flat_map(|d| (
                vec_in(d, -3.0, 3.0), vec_in(d, 0.05, 5.0),
                vec_in(d, -3.0, 3.0), vec_in(d, 0.05, 5.0), vec_in(d, -5.0, 5.0),
            )),
        ) {
            let p = DiagGaussian::new(m1.clone(), v1.clone()).expect("valid");
            let q = DiagGaussian::new(m2.clone(), v2.clone()).expect("valid");
            let pf = Gaussian::new(m1, Array2::from_diag(&v1)).expect("valid");
            let qf = Gaussian::new(m2, Array2::from_diag(&v2)).expect("valid");
            prop_assert!((p.ln_pdf(x.view()) - pf.ln_pdf(x.view())).abs() < 1e-10);
            prop_assert!((p.entropy() - pf.entropy()).abs() < 1e-10);
            prop_assert!((p.kl(&q) - pf.kl(&qf)).abs() < 1e-9 * (1.0 + p.kl(&q)));
            prop_assert!(p.kl(&p).abs() < 1e-12 && p.kl(&q) >= 0.0);
            let pc = p.to_gaussian();
            prop_assert!((pc.kl(&pf)).abs() < 1e-10);
            prop_assert!((pc.ln_pdf(x.view()) - pf.ln_pdf(x.view())).abs() < 1e-10);
            for (a, b) in p.second_moment().iter().zip(pf.second_moment().diag()) {
                prop_assert!((a - b).abs() < 1e-12);
            }
        }

        #[test]
        fn diagonal_monte_carlo_agrees(
            (m, v, seed) in (1..=3_usize).prop_flat_map(|d| (
                vec_in(d, -3.0, 3.0), vec_in(d, 0.05, 5.0), any::<u64>(),
            )),
        ) {
            let p = DiagGaussian::new(m, v).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<Array1<f64>> = (0..10_000).map(|_| p.sample(&mut rng)).collect();
            for i in 0..p.dim() {
                let xi: Vec<f64> = xs.iter().map(|x| x[i]).collect();
                assert_mc("E[x_i]", &xi, p.mean()[i]);
                let sq: Vec<f64> = xs.iter().map(|x| x[i] * x[i]).collect();
                assert_mc("E[x_i²]", &sq, p.second_moment()[i]);
            }
            let h: Vec<f64> = xs.iter().map(|x| -p.ln_pdf(x.view())).collect();
            assert_mc("entropy", &h, p.entropy());
        }
    }
}
