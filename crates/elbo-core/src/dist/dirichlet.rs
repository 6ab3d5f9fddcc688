//! The Dirichlet distribution Dir(μ | α) over the probability simplex: the
//! prior and variational factor q(π) of mixing coefficients (PRML §10.2).

use ndarray::{Array1, Array2, ArrayView1};
use rand::Rng;

use super::{Gamma, positive, xlogy};
use crate::special::{digamma, ln_gamma, log_sum_exp};
use crate::{Error, Result};

/// Dir(μ | α) = C(α) Π_k μ_k^{α_k − 1}, PRML (B.16), over the simplex
/// {μ_k ≥ 0, Σ_k μ_k = 1}, with α_k > 0 and K ≥ 1 (K = 1 is the point mass
/// at μ = 1, for which every formula below still holds: entropy 0, KL 0,
/// E[ln μ₁] = 0; a one-component mixture is legitimate).
#[derive(Debug, Clone, PartialEq)]
pub struct Dirichlet {
    alpha: Array1<f64>,
    alpha_hat: f64,
    /// Gam(α_k, 1) for each k, normalised to give a draw.
    gammas: Vec<Gamma>,
}

impl Dirichlet {
    /// Dir(α) from concentrations α_k, each finite and > 0, K ≥ 1.
    pub fn new(alpha: Array1<f64>) -> Result<Self> {
        if alpha.is_empty() {
            return Err(Error::invalid(
                "alpha",
                "an empty vector",
                "of length at least 1",
            ));
        }
        let gammas = alpha
            .iter()
            .map(|&a| Gamma::new(positive("alpha", a)?, 1.0))
            .collect::<Result<Vec<_>>>()?;
        let alpha_hat = alpha.sum();
        if !alpha_hat.is_finite() {
            return Err(Error::invalid("alpha", alpha_hat, "with a finite sum"));
        }
        Ok(Self {
            alpha,
            alpha_hat,
            gammas,
        })
    }

    /// The symmetric Dir(α₀, …, α₀) of K components, PRML (10.39)'s prior.
    pub fn symmetric(k: usize, alpha0: f64) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("K", k, "at least 1"));
        }
        Self::new(Array1::from_elem(k, positive("alpha0", alpha0)?))
    }

    /// The number of components K.
    pub fn dim(&self) -> usize {
        self.alpha.len()
    }

    /// The concentrations α_k.
    pub fn alpha(&self) -> &Array1<f64> {
        &self.alpha
    }

    /// α̂ = Σ_k α_k, PRML (B.20).
    pub fn alpha_hat(&self) -> f64 {
        self.alpha_hat
    }

    /// PRML (B.17): E\[μ_k\] = α_k / α̂.
    pub fn mean(&self) -> Array1<f64> {
        &self.alpha / self.alpha_hat
    }

    /// PRML (B.18): var\[μ_k\] = α_k (α̂ − α_k) / (α̂² (α̂ + 1)).
    pub fn variance(&self) -> Array1<f64> {
        let h = self.alpha_hat;
        self.alpha.mapv(|a| a * (h - a) / (h * h * (h + 1.0)))
    }

    /// PRML (B.18–B.19): cov[μ_j, μ_k] = −α_j α_k / (α̂² (α̂ + 1)) for j ≠ k,
    /// with the variances on the diagonal.
    pub fn covariance(&self) -> Array2<f64> {
        let h = self.alpha_hat;
        let c = h * h * (h + 1.0);
        let k = self.dim();
        Array2::from_shape_fn((k, k), |(i, j)| {
            if i == j {
                self.alpha[i] * (h - self.alpha[i]) / c
            } else {
                -self.alpha[i] * self.alpha[j] / c
            }
        })
    }

    /// PRML (B.21) / (10.66): E[ln μ_k] = ψ(α_k) − ψ(α̂) (ln π̃_k of 10.66).
    pub fn expected_ln(&self) -> Array1<f64> {
        let dh = digamma(self.alpha_hat);
        self.alpha.mapv(|a| digamma(a) - dh)
    }

    /// PRML (B.23): ln C(α) = ln Γ(α̂) − Σ_k ln Γ(α_k), the log normaliser
    /// (10.73, 10.76 use it for E[ln p(π)] and E[ln q(π)]).
    pub fn ln_normaliser(&self) -> f64 {
        ln_gamma(self.alpha_hat) - self.alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>()
    }

    /// PRML (B.16): ln Dir(μ | α) = ln C(α) + Σ_k (α_k − 1) ln μ_k; −∞ off the
    /// simplex (an entry < 0 or a sum further than 1e-8 from 1).
    ///
    /// # Panics
    ///
    /// If `x` does not have length K.
    #[track_caller]
    pub fn ln_pdf(&self, x: ArrayView1<f64>) -> f64 {
        assert!(
            x.len() == self.dim(),
            "x has length {}, the Dirichlet {}",
            x.len(),
            self.dim()
        );
        if x.iter().any(|v| v.is_nan() || *v < 0.0) || (x.sum() - 1.0).abs() > 1e-8 {
            return f64::NEG_INFINITY;
        }
        self.ln_normaliser()
            + x.iter()
                .zip(&self.alpha)
                .map(|(v, a)| xlogy(a - 1.0, v.ln()))
                .sum::<f64>()
    }

    /// A draw μ_k = G_k / Σ_j G_j with G_k ~ Gam(α_k, 1), normalised in log
    /// space so that small α_k do not give 0/0.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Array1<f64> {
        let ln: Vec<f64> = self.gammas.iter().map(|g| g.sample_ln(rng)).collect();
        let z = log_sum_exp(&ln);
        ln.iter().map(|l| (l - z).exp()).collect()
    }

    /// PRML (B.22): H\[μ\] = −Σ_k (α_k − 1)(ψ(α_k) − ψ(α̂)) − ln C(α).
    pub fn entropy(&self) -> f64 {
        let e = self.expected_ln();
        -self
            .alpha
            .iter()
            .zip(&e)
            .map(|(a, el)| xlogy(a - 1.0, *el))
            .sum::<f64>()
            - self.ln_normaliser()
    }

    /// KL(Dir(α) ‖ Dir(β)) = ln C(α) − ln C(β) + Σ_k (α_k − β_k)(ψ(α_k) − ψ(α̂))
    /// — Penny (2001).
    ///
    /// # Panics
    ///
    /// If the numbers of components differ.
    #[track_caller]
    pub fn kl(&self, other: &Self) -> f64 {
        assert!(
            other.dim() == self.dim(),
            "other has dimension {}, the Dirichlet {}",
            other.dim(),
            self.dim()
        );
        let e = self.expected_ln();
        self.ln_normaliser() - other.ln_normaliser()
            + self
                .alpha
                .iter()
                .zip(&other.alpha)
                .zip(&e)
                .map(|((a, b), el)| (a - b) * el)
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Beta;
    use crate::dist::testutil::{assert_mc, config, vec_in};
    use crate::rng::seeded;
    use approx::assert_relative_eq;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn uniform_known_values() {
        // Dir(1, 1, 1) is uniform on the 2-simplex, of area 1/2: density 2.
        let d = Dirichlet::new(array![1.0, 1.0, 1.0]).expect("valid");
        assert_relative_eq!(
            d.ln_pdf(array![0.2, 0.3, 0.5].view()),
            2f64.ln(),
            epsilon = 1e-14
        );
        assert_relative_eq!(d.entropy(), -(2f64.ln()), epsilon = 1e-14);
        // ψ(1) − ψ(3) = −(1 + ½).
        for v in d.expected_ln() {
            assert_relative_eq!(v, -1.5, epsilon = 1e-14);
        }
        assert_eq!(d.ln_pdf(array![0.2, 0.3, 0.6].view()), f64::NEG_INFINITY);
        assert_eq!(d.ln_pdf(array![-0.1, 0.6, 0.5].view()), f64::NEG_INFINITY);
    }

    #[test]
    fn known_kl() {
        // KL(Dir(2, 1, 1) ‖ Dir(1, 1, 1)) = ln C(2,1,1) − ln C(1,1,1) + ψ(2) − ψ(4)
        // = ln 6 − ln 2 − (½ + ⅓) = ln 3 − 5/6.
        let p = Dirichlet::new(array![2.0, 1.0, 1.0]).expect("valid");
        let q = Dirichlet::symmetric(3, 1.0).expect("valid");
        assert_relative_eq!(p.kl(&q), 3f64.ln() - 5.0 / 6.0, epsilon = 1e-14);
    }

    #[test]
    fn one_component_is_a_point_mass() {
        let d = Dirichlet::new(array![0.7]).expect("valid");
        let e = Dirichlet::new(array![3.0]).expect("valid");
        assert_eq!(d.expected_ln(), array![0.0]);
        assert_relative_eq!(d.entropy(), 0.0, epsilon = 1e-15);
        assert_relative_eq!(d.kl(&e), 0.0, epsilon = 1e-15);
        assert_relative_eq!(d.ln_pdf(array![1.0].view()), 0.0, epsilon = 1e-15);
        assert_eq!(d.sample(&mut seeded(0)), array![1.0]);
    }

    #[test]
    fn rejects_empty_alpha() {
        assert!(matches!(
            Dirichlet::new(Array1::zeros(0)),
            Err(Error::InvalidParam { name: "alpha", .. })
        ));
        assert!(matches!(
            Dirichlet::symmetric(0, 1.0),
            Err(Error::InvalidParam { name: "K", .. })
        ));
    }

    #[test]
    fn rejects_bad_alpha() {
        for a in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Dirichlet::new(array![1.0, a]),
                Err(Error::InvalidParam { name: "alpha", .. })
            ));
        }
        assert!(matches!(
            Dirichlet::symmetric(2, 0.0),
            Err(Error::InvalidParam { name: "alpha0", .. })
        ));
    }

    #[test]
    fn rejects_alpha_with_infinite_sum() {
        assert!(Dirichlet::new(array![f64::MAX, f64::MAX]).is_err());
    }

    #[test]
    fn tiny_concentrations_sample_on_the_simplex() {
        let d = Dirichlet::symmetric(5, 1e-3).expect("valid");
        let mut rng = seeded(9);
        for _ in 0..1000 {
            let x = d.sample(&mut rng);
            assert!(x.iter().all(|v| v.is_finite() && *v >= 0.0));
            assert_relative_eq!(x.sum(), 1.0, epsilon = 1e-12);
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn two_components_equal_the_beta(
            a in 0.1..20.0_f64, b in 0.1..20.0_f64, c in 0.1..20.0_f64, d in 0.1..20.0_f64,
            x in 0.001..0.999_f64,
        ) {
            let p = Dirichlet::new(array![a, b]).expect("valid");
            let q = Dirichlet::new(array![c, d]).expect("valid");
            let pb = Beta::new(a, b).expect("valid");
            let qb = Beta::new(c, d).expect("valid");
            prop_assert!((p.ln_pdf(array![x, 1.0 - x].view()) - pb.ln_pdf(x)).abs() < 1e-9);
            prop_assert!((p.entropy() - pb.entropy()).abs() < 1e-10);
            prop_assert!((p.kl(&q) - pb.kl(&qb)).abs() < 1e-9 * (1.0 + pb.kl(&qb)));
            let e = p.expected_ln();
            prop_assert!((e[0] - pb.expected_ln()).abs() < 1e-12);
            prop_assert!((e[1] - pb.expected_ln_one_minus()).abs() < 1e-12);
            prop_assert!((p.mean()[0] - pb.mean()).abs() < 1e-15);
            prop_assert!((p.variance()[0] - pb.variance()).abs() < 1e-15);
        }

        #[test]
        fn kl_is_zero_on_itself_and_non_negative(
            (a, b) in (1..=6_usize).prop_flat_map(|k| (vec_in(k, 0.05, 30.0), vec_in(k, 0.05, 30.0))),
        ) {
            let p = Dirichlet::new(a).expect("valid");
            let q = Dirichlet::new(b).expect("valid");
            prop_assert!(p.kl(&p).abs() < 1e-10);
            prop_assert!(p.kl(&q) >= -1e-10);
        }

        #[test]
        fn monte_carlo_agrees(
            (a, b, seed) in (2..=5_usize)
                .prop_flat_map(|k| (vec_in(k, 0.3, 10.0), vec_in(k, 0.3, 10.0), any::<u64>())),
        ) {
            let p = Dirichlet::new(a).expect("valid");
            let q = Dirichlet::new(b).expect("valid");
            let mut rng = seeded(seed);
            let xs: Vec<Array1<f64>> = (0..10_000).map(|_| p.sample(&mut rng)).collect();
            let (m, cov, el) = (p.mean(), p.covariance(), p.expected_ln());
            for i in 0..p.dim() {
                let xi: Vec<f64> = xs.iter().map(|x| x[i]).collect();
                assert_mc("E[μ_k]", &xi, m[i]);
                let ln: Vec<f64> = xs.iter().map(|x| x[i].ln()).collect();
                assert_mc("E[ln μ_k]", &ln, el[i]);
                for j in 0..=i {
                    let c: Vec<f64> = xs.iter().map(|x| (x[i] - m[i]) * (x[j] - m[j])).collect();
                    assert_mc("cov[μ_j, μ_k]", &c, cov[(i, j)]);
                }
            }
            let h: Vec<f64> = xs.iter().map(|x| -p.ln_pdf(x.view())).collect();
            assert_mc("entropy", &h, p.entropy());
            let kl: Vec<f64> = xs.iter().map(|x| p.ln_pdf(x.view()) - q.ln_pdf(x.view())).collect();
            assert_mc("KL", &kl, p.kl(&q));
        }
    }
}
