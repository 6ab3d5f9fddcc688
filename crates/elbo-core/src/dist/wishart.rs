//! The Wishart distribution W(Λ | W, ν) over D×D precision matrices: the
//! conjugate prior and variational factor of a Gaussian's precision
//! (PRML §2.3.6, §10.2).

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;

use super::Gamma;
use super::linalg::{Cholesky, symmetrise, trace_of_product};
use crate::special::{ln_multi_gamma, multi_digamma_half};
use crate::{Error, Result};

const LN_2: f64 = std::f64::consts::LN_2;

/// W(Λ | W, ν) = B(W, ν) |Λ|^{(ν−D−1)/2} exp(−½ tr(W⁻¹Λ)), PRML (B.78), with
/// a symmetric positive-definite D×D scale W and ν > D − 1 degrees of freedom
/// (so E\[Λ\] = νW, (B.80)).
#[derive(Debug, Clone, PartialEq)]
pub struct Wishart {
    w: Array2<f64>,
    nu: f64,
    /// Cholesky factor of W.
    chol: Cholesky,
    w_inv: Array2<f64>,
    /// χ²_{ν−i} = Gam((ν − i)/2, ½) for i = 0 … D−1 (Bartlett's diagonal).
    chi2: Vec<Gamma>,
}

impl Wishart {
    /// W(W, ν) from a symmetric positive-definite scale `w` and finite
    /// degrees of freedom `nu` > D − 1.
    pub fn new(w: Array2<f64>, nu: f64) -> Result<Self> {
        let (w, chol) = Cholesky::checked("W", w.view())?;
        let d = w.nrows();
        if !(nu.is_finite() && nu > d as f64 - 1.0) {
            return Err(Error::invalid(
                "nu",
                nu,
                "finite and greater than D − 1 (the dimension minus one)",
            ));
        }
        let chi2 = (0..d)
            .map(|i| Gamma::new((nu - i as f64) / 2.0, 0.5))
            .collect::<Result<Vec<_>>>()?;
        let w_inv = chol.inverse();
        Ok(Self {
            w,
            nu,
            chol,
            w_inv,
            chi2,
        })
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.w.nrows()
    }

    /// The scale matrix W.
    pub fn scale(&self) -> &Array2<f64> {
        &self.w
    }

    /// W⁻¹ (PRML (10.62) updates it).
    pub fn scale_inverse(&self) -> &Array2<f64> {
        &self.w_inv
    }

    /// The degrees of freedom ν.
    pub fn dof(&self) -> f64 {
        self.nu
    }

    /// ln |W|.
    pub fn ln_det_scale(&self) -> f64 {
        self.chol.ln_det()
    }

    /// PRML (B.80): E\[Λ\] = νW.
    pub fn mean(&self) -> Array2<f64> {
        &self.w * self.nu
    }

    /// var\[Λ_ij\] = ν (W_ij² + W_ii W_jj), entry by entry (the Wishart's
    /// second moments; checked by Monte Carlo in the tests).
    pub fn variance(&self) -> Array2<f64> {
        let d = self.dim();
        Array2::from_shape_fn((d, d), |(i, j)| {
            self.nu * (self.w[(i, j)] * self.w[(i, j)] + self.w[(i, i)] * self.w[(j, j)])
        })
    }

    /// PRML (B.81) / (10.65): E[ln |Λ|] = Σ_{i=1}^{D} ψ((ν + 1 − i)/2) + D ln 2 + ln |W|.
    pub fn expected_ln_det(&self) -> f64 {
        let d = self.dim();
        multi_digamma_half(self.nu, d) + d as f64 * LN_2 + self.chol.ln_det()
    }

    /// PRML (B.79): ln B(W, ν) = −(ν/2) ln |W| − (νD/2) ln 2 − ln Γ_D(ν/2), with
    /// ln Γ_D(ν/2) = D(D−1)/4 ln π + Σ_{i=1}^{D} ln Γ((ν + 1 − i)/2).
    pub fn ln_normaliser(&self) -> f64 {
        let d = self.dim() as f64;
        -0.5 * self.nu * self.chol.ln_det()
            - 0.5 * self.nu * d * LN_2
            - ln_multi_gamma(0.5 * self.nu, self.dim())
    }

    /// PRML (B.78): ln W(Λ | W, ν) = ln B(W, ν) + ((ν − D − 1)/2) ln |Λ|
    /// − ½ tr(W⁻¹ Λ); −∞ when Λ is not positive definite. Λ is symmetrised.
    ///
    /// # Panics
    ///
    /// If `lambda` is not D×D.
    #[track_caller]
    pub fn ln_pdf(&self, lambda: ArrayView2<f64>) -> f64 {
        let d = self.dim();
        assert!(
            lambda.dim() == (d, d),
            "Λ is {:?}, the Wishart {d}×{d}",
            lambda.dim()
        );
        let lambda = symmetrise(lambda);
        let Some(c) = Cholesky::new(lambda.view()) else {
            return f64::NEG_INFINITY;
        };
        self.ln_normaliser() + 0.5 * (self.nu - d as f64 - 1.0) * c.ln_det()
            - 0.5 * trace_of_product(self.w_inv.view(), lambda.view())
    }

    /// A draw by Bartlett's decomposition: Λ = (LA)(LA)ᵀ with W = LLᵀ, A lower
    /// triangular, A_ii² ~ χ²_{ν−i+1} (i = 1 … D) and A_ij ~ N(0, 1) below the
    /// diagonal (Bartlett 1933).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array2<f64> {
        let d = self.dim();
        let mut a = Array2::<f64>::zeros((d, d));
        for i in 0..d {
            a[(i, i)] = self.chi2[i].sample(rng).sqrt();
            for j in 0..i {
                a[(i, j)] = rng.sample(StandardNormal);
            }
        }
        let la = self.chol.l().dot(&a);
        symmetrise(la.dot(&la.t()).view())
    }

    /// PRML (B.82): H\[Λ\] = −ln B(W, ν) − ((ν − D − 1)/2) E[ln |Λ|] + νD/2.
    pub fn entropy(&self) -> f64 {
        let d = self.dim() as f64;
        -self.ln_normaliser() - 0.5 * (self.nu - d - 1.0) * self.expected_ln_det()
            + 0.5 * self.nu * d
    }

    /// KL(W(W₁, ν₁) ‖ W(W₂, ν₂)) = ln B(W₁, ν₁) − ln B(W₂, ν₂) +
    /// ((ν₁ − ν₂)/2) E₁[ln |Λ|] − ν₁D/2 + (ν₁/2) tr(W₂⁻¹ W₁) — Penny (2001),
    /// from (B.78), (B.80) and (B.81).
    ///
    /// # Panics
    ///
    /// If the dimensions differ.
    #[track_caller]
    pub fn kl(&self, other: &Self) -> f64 {
        assert!(
            other.dim() == self.dim(),
            "other has dimension {}, the Wishart {}",
            other.dim(),
            self.dim()
        );
        let d = self.dim() as f64;
        self.ln_normaliser() - other.ln_normaliser()
            + 0.5 * (self.nu - other.nu) * self.expected_ln_det()
            - 0.5 * self.nu * d
            + 0.5 * self.nu * trace_of_product(other.w_inv.view(), self.w.view())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testutil::{assert_mc, config, spd};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn known_expected_ln_det_and_normaliser() {
        // D = 2, W = I, ν = 3: ψ(3/2) + ψ(1) + 2 ln 2 with ψ(3/2) = 2 − γ − 2 ln 2,
        // ψ(1) = −γ.
        let euler = 0.577_215_664_901_532_9;
        let w = Wishart::new(Array2::eye(2), 3.0).expect("valid");
        assert_relative_eq!(w.expected_ln_det(), 2.0 - 2.0 * euler, epsilon = 1e-13);
        // ln B(I, 3) = −3 ln 2 − ln Γ_2(3/2), Γ_2(3/2) = π^{1/2} Γ(3/2) Γ(1) = π/2.
        let pi = std::f64::consts::PI;
        assert_relative_eq!(
            w.ln_normaliser(),
            -3.0 * LN_2 - (pi / 2.0).ln(),
            epsilon = 1e-13
        );
        assert_eq!(w.mean(), Array2::eye(2) * 3.0);
        assert_eq!(w.variance(), array![[6.0, 3.0], [3.0, 6.0]]);
        // At Λ = I: ln B + 0 − ½ tr I = ln B − 1.
        assert_relative_eq!(
            w.ln_pdf(Array2::eye(2).view()),
            w.ln_normaliser() - 1.0,
            epsilon = 1e-13
        );
        assert_eq!(
            w.ln_pdf(array![[1.0, 2.0], [2.0, 1.0]].view()),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn rejects_nu_not_above_d_minus_one() {
        for nu in [1.0, 0.5, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Wishart::new(Array2::eye(2), nu),
                Err(Error::InvalidParam { name: "nu", .. })
            ));
        }
        assert!(Wishart::new(Array2::eye(2), 1.000_001).is_ok());
    }

    #[test]
    fn rejects_non_positive_definite_scale() {
        assert!(matches!(
            Wishart::new(array![[1.0, 2.0], [2.0, 1.0]], 5.0),
            Err(Error::NotPositiveDefinite { what: "W", .. })
        ));
    }

    #[test]
    fn rejects_asymmetric_scale() {
        assert!(matches!(
            Wishart::new(array![[1.0, 0.1], [0.0, 1.0]], 5.0),
            Err(Error::InvalidParam { name: "W", .. })
        ));
    }

    #[test]
    fn rejects_non_square_scale() {
        assert!(matches!(
            Wishart::new(Array2::zeros((2, 1)), 5.0),
            Err(Error::Shape(_))
        ));
    }

    /// Two Wisharts of the same dimension 1..=3, ν in (D − 1 + `nu_lo`, D + 10),
    /// and a seed. Monte Carlo uses `nu_lo` = 1.5: with ν − D + 1 near 0 the
    /// last Bartlett factor χ²_{ν−D+1} puts mass at 0, and some draws are
    /// singular to machine precision (ln |Λ| = −∞ numerically).
    fn pair(nu_lo: f64) -> impl Strategy<Value = (Wishart, Wishart, u64)> {
        (1..=3_usize).prop_flat_map(move |d| {
            let lo = d as f64 - 1.0 + nu_lo;
            (
                spd(d..=d),
                lo..d as f64 + 10.0,
                spd(d..=d),
                lo..d as f64 + 10.0,
                any::<u64>(),
            )
                .prop_map(|(w1, n1, w2, n2, seed)| {
                    (
                        Wishart::new(w1, n1).expect("valid by construction"),
                        Wishart::new(w2, n2).expect("valid by construction"),
                        seed,
                    )
                })
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn one_dimension_is_a_gamma(w in 0.05..20.0_f64, nu in 0.05..30.0_f64, x in 0.01..50.0_f64,
                                    w2 in 0.05..20.0_f64, nu2 in 0.05..30.0_f64) {
            // W(λ | w, ν) = Gam(λ | ν/2, 1/(2w)).
            let p = Wishart::new(array![[w]], nu).expect("valid");
            let q = Wishart::new(array![[w2]], nu2).expect("valid");
            let g = Gamma::new(nu / 2.0, 0.5 / w).expect("valid");
            let h = Gamma::new(nu2 / 2.0, 0.5 / w2).expect("valid");
            prop_assert!((p.ln_pdf(array![[x]].view()) - g.ln_pdf(x)).abs() < 1e-10 * (1.0 + g.ln_pdf(x).abs()));
            prop_assert!((p.expected_ln_det() - g.expected_ln()).abs() < 1e-10);
            prop_assert!((p.mean()[(0, 0)] - g.mean()).abs() < 1e-12 * g.mean());
            prop_assert!((p.variance()[(0, 0)] - g.variance()).abs() < 1e-12 * g.variance());
            prop_assert!((p.entropy() - g.entropy()).abs() < 1e-10 * (1.0 + g.entropy().abs()));
            prop_assert!((p.kl(&q) - g.kl(&h)).abs() < 1e-9 * (1.0 + g.kl(&h)));
        }

        #[test]
        fn kl_is_zero_on_itself_and_non_negative((p, q, _) in pair(0.01)) {
            prop_assert!(p.kl(&p).abs() < 1e-9);
            prop_assert!(p.kl(&q) >= -1e-9);
        }

        #[test]
        fn monte_carlo_agrees((p, q, seed) in pair(1.5)) {
            let mut rng = seeded(seed);
            let xs: Vec<Array2<f64>> = (0..10_000).map(|_| p.sample(&mut rng)).collect();
            let (m, v) = (p.mean(), p.variance());
            let d = p.dim();
            for i in 0..d {
                for j in 0..=i {
                    let e: Vec<f64> = xs.iter().map(|x| x[(i, j)]).collect();
                    assert_mc("E[Λ_ij]", &e, m[(i, j)]);
                    let s: Vec<f64> = xs.iter().map(|x| (x[(i, j)] - m[(i, j)]).powi(2)).collect();
                    assert_mc("var[Λ_ij]", &s, v[(i, j)]);
                }
            }
            let ld: Vec<f64> = xs
                .iter()
                .map(|x| Cholesky::new(x.view()).map_or(f64::NEG_INFINITY, |c| c.ln_det()))
                .collect();
            assert_mc("E[ln |Λ|]", &ld, p.expected_ln_det());
            let h: Vec<f64> = xs.iter().map(|x| -p.ln_pdf(x.view())).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|x| p.ln_pdf(x.view()) - q.ln_pdf(x.view())).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }
    }
}
