//! The Jaakkola–Jordan local bound and the variational lower bound of
//! Bayesian logistic regression, term by term, every constant kept.
//!
//! With a = wᵀφ, the likelihood of one label t ∈ {0, 1} is
//! p(t | w) = e^{at} σ(−a) (PRML 10.148), and the Jaakkola–Jordan bound
//! (PRML 10.144, 10.149–10.151)
//!
//! ```text
//! σ(a) ≥ σ(ξ) exp{(a − ξ)/2 − λ(ξ)(a² − ξ²)},   λ(ξ) = (σ(ξ) − ½) / (2ξ)
//! ```
//!
//! turns it into h(w, ξ) (PRML 10.153), a Gaussian-shaped function of w.
//! The lower bound on ln p(t) of the model with q(w) q(α) is (PRML 10.172)
//!
//! ```text
//! L̃(q, ξ) = E[ln h(w, ξ)] + E[ln p(w | α)] + E[ln p(α)] + H[q(w)] + H[q(α)]
//! ```
//!
//! and, when α is known, the same without the two α terms and with
//! E\[α\] = α, E\[ln α\] = ln α. Each term is one function below. The bound
//! holds for every q(w) = N(m, S), q(α) = Gam(a, b) and ξ, not only at the
//! coordinate-ascent optimum: that is what makes "the bound never decreases"
//! a test of every single update. At the optimum of q(w) it collapses to
//! PRML (10.164) (α known, [`collapsed_bound_fixed_alpha`]) and to the bound
//! of Drugowitsch (2013) (α unknown, [`collapsed_bound_hyperprior`]).
//!
//! References: C. M. Bishop, PRML §10.5–10.6 and Appendix B; T. S. Jaakkola
//! and M. I. Jordan, *Bayesian parameter estimation via variational
//! methods*, Statistics and Computing 10 (2000); J. Drugowitsch,
//! *Variational Bayesian inference for linear and logistic regression*,
//! arXiv:1310.5438 (2013), the logistic model with a shared Gamma
//! hyper-prior, and its reference implementation `vb_logit_fit.m`
//! (github.com/DrugowitschLab/VBLinLogit).

use std::f64::consts::PI;

use elbo_core::special::{digamma, ln_gamma, sigmoid, softplus};

/// PRML (10.150): λ(ξ) = (σ(ξ) − ½) / (2ξ) = tanh(ξ/2) / (4ξ).
///
/// Even in ξ, decreasing in |ξ|, with λ(0) = 1/8 taken as the limit: below
/// |ξ| = 1e-4 the Taylor series 1/8 − ξ²/96 + ξ⁴/960 is used (its next
/// term, 17ξ⁶/80640, is below 1e-25 there).
pub fn lambda(xi: f64) -> f64 {
    let x = xi.abs();
    if x < 1e-4 {
        let x2 = x * x;
        0.125 - x2 / 96.0 + x2 * x2 / 960.0
    } else {
        (0.5 * x).tanh() / (4.0 * x)
    }
}

/// dλ/dξ, for the fixed-point check of PRML (10.163): from (10.150),
/// λ'(ξ) = \[σ(ξ)(1 − σ(ξ)) / 2 − λ(ξ)\] / ξ, with λ'(ξ) ≈ −ξ/48 near 0.
pub fn lambda_prime(xi: f64) -> f64 {
    if xi.abs() < 1e-4 {
        -xi / 48.0 + xi * xi * xi / 240.0
    } else {
        let s = sigmoid(xi);
        (0.5 * s * (1.0 - s) - lambda(xi)) / xi
    }
}

/// ln σ(x) = −ln(1 + e^{−x}), without overflow (PRML 4.59).
pub fn ln_sigmoid(x: f64) -> f64 {
    -softplus(-x)
}

/// PRML (10.151): the Jaakkola–Jordan lower bound on the likelihood of one
/// label, ln{e^{at} σ(ξ) exp(−(a + ξ)/2 − λ(ξ)(a² − ξ²))} ≤ ln p(t | a),
/// with equality at ξ = ±a.
pub fn ln_local_bound(t: f64, a: f64, xi: f64) -> f64 {
    ln_sigmoid(xi) + a * (t - 0.5) - 0.5 * xi - lambda(xi) * (a * a - xi * xi)
}

/// PRML (10.153) averaged under q(w), one observation:
/// E\[ln h_n\] = ln σ(ξ_n) + (t_n − ½) E\[a_n\] − ξ_n/2 − λ(ξ_n)(E\[a_n²\] − ξ_n²),
/// with E\[a_n\] = φ_nᵀ m_N and E\[a_n²\] = φ_nᵀ(S_N + m_N m_Nᵀ)φ_n.
pub fn expected_ln_h(t: f64, mean_a: f64, second_moment_a: f64, xi: f64) -> f64 {
    ln_sigmoid(xi) + (t - 0.5) * mean_a - 0.5 * xi - lambda(xi) * (second_moment_a - xi * xi)
}

/// PRML (10.165) averaged under q(w) q(α): for p(w | α) = N(w | 0, α⁻¹ I)
/// in M dimensions,
/// E\[ln p(w | α)\] = (M/2)(E\[ln α\] − ln 2π) − (E\[α\]/2) E\[wᵀw\],
/// with E\[wᵀw\] = m_Nᵀ m_N + Tr S_N. With α known, E\[ln α\] = ln α.
pub fn expected_ln_prior_w(m: usize, e_alpha: f64, e_ln_alpha: f64, e_wtw: f64) -> f64 {
    0.5 * m as f64 * (e_ln_alpha - (2.0 * PI).ln()) - 0.5 * e_alpha * e_wtw
}

/// PRML (10.166) averaged under q(α), with (B.26):
/// E\[ln Gam(α | a₀, b₀)\] = a₀ ln b₀ − ln Γ(a₀) + (a₀ − 1) E\[ln α\] − b₀ E\[α\].
pub fn expected_ln_prior_alpha(a0: f64, b0: f64, e_alpha: f64, e_ln_alpha: f64) -> f64 {
    a0 * b0.ln() - ln_gamma(a0) + (a0 - 1.0) * e_ln_alpha - b0 * e_alpha
}

/// PRML (B.41): the entropy of q(w) = N(m_N, S_N) in M dimensions,
/// H\[q(w)\] = ½ ln|S_N| + (M/2)(1 + ln 2π).
pub fn entropy_q_w(m: usize, ln_det_s: f64) -> f64 {
    0.5 * ln_det_s + 0.5 * m as f64 * (1.0 + (2.0 * PI).ln())
}

/// PRML (B.31): the entropy of q(α) = Gam(a_N, b_N),
/// H\[q(α)\] = ln Γ(a_N) − (a_N − 1) ψ(a_N) − ln b_N + a_N.
pub fn entropy_q_alpha(a_n: f64, b_n: f64) -> f64 {
    ln_gamma(a_n) - (a_n - 1.0) * digamma(a_n) - b_n.ln() + a_n
}

/// PRML (B.27), (B.30): E\[α\] = a_N / b_N and E\[ln α\] = ψ(a_N) − ln b_N
/// under q(α) = Gam(a_N, b_N).
pub fn gamma_moments(a_n: f64, b_n: f64) -> (f64, f64) {
    (a_n / b_n, digamma(a_n) - b_n.ln())
}

/// PRML (10.164): the bound at the optimal q(w) for given ξ, prior
/// N(0, α⁻¹ I) in M dimensions (S₀ = α⁻¹ I, m₀ = 0):
///
/// ```text
/// L(ξ) = ½ ln(|S_N| / |S₀|) + ½ m_Nᵀ S_N⁻¹ m_N
///        + Σ_n { ln σ(ξ_n) − ξ_n/2 + λ(ξ_n) ξ_n² },
/// ```
///
/// with ln|S₀| = −M ln α. `mt_sinv_m` is m_Nᵀ S_N⁻¹ m_N.
pub fn collapsed_bound_fixed_alpha(
    m: usize,
    alpha: f64,
    ln_det_s: f64,
    mt_sinv_m: f64,
    xi: &[f64],
) -> f64 {
    0.5 * (ln_det_s + m as f64 * alpha.ln()) + 0.5 * mt_sinv_m + xi_terms(xi)
}

/// Drugowitsch (2013, arXiv:1310.5438, the variational bound of logistic
/// regression with the shared hyper-prior Gam(α | a₀, b₀); the same
/// expression ends `vb_logit_fit.m`): at the optimal q(w) for given ξ and
/// q(α) = Gam(a_N, b_N) with a_N = a₀ + M/2 (PRML 10.178),
///
/// ```text
/// L = ½ m_Nᵀ S_N⁻¹ m_N + ½ ln|S_N| + Σ_n { ln σ(ξ_n) − ξ_n/2 + λ(ξ_n) ξ_n² }
///     − ln Γ(a₀) + a₀ ln b₀ − b₀ a_N/b_N − a_N ln b_N + ln Γ(a_N) + a_N.
/// ```
///
/// It equals the full bound (PRML 10.172) of [`BoundTerms`] whenever q(w)
/// is the update (10.174–10.176) for the current ξ and E\[α\]; b_N need not
/// be at its optimum (10.179).
pub fn collapsed_bound_hyperprior(
    a0: f64,
    b0: f64,
    a_n: f64,
    b_n: f64,
    ln_det_s: f64,
    mt_sinv_m: f64,
    xi: &[f64],
) -> f64 {
    0.5 * mt_sinv_m + 0.5 * ln_det_s + xi_terms(xi) - ln_gamma(a0) + a0 * b0.ln()
        - b0 * a_n / b_n
        - a_n * b_n.ln()
        + ln_gamma(a_n)
        + a_n
}

/// Σ_n { ln σ(ξ_n) − ξ_n/2 + λ(ξ_n) ξ_n² }, the ξ-only part of (10.164).
fn xi_terms(xi: &[f64]) -> f64 {
    xi.iter()
        .map(|&x| ln_sigmoid(x) - 0.5 * x + lambda(x) * x * x)
        .sum()
}

/// The variational lower bound of PRML (10.172), term by term. With α
/// known, the two α terms are zero and E\[ln p(w | α)\] uses the fixed α.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoundTerms {
    /// Σ_n E\[ln h_n(w, ξ_n)\] ([`expected_ln_h`], PRML 10.153).
    pub expected_ln_h: f64,
    /// E\[ln p(w | α)\] ([`expected_ln_prior_w`], PRML 10.165).
    pub expected_ln_prior_w: f64,
    /// E\[ln p(α)\] ([`expected_ln_prior_alpha`], PRML 10.166); 0 with α known.
    pub expected_ln_prior_alpha: f64,
    /// H\[q(w)\] ([`entropy_q_w`], PRML B.41).
    pub entropy_q_w: f64,
    /// H\[q(α)\] ([`entropy_q_alpha`], PRML B.31); 0 with α known.
    pub entropy_q_alpha: f64,
}

impl BoundTerms {
    /// PRML (10.172): L̃(q, ξ), the sum of the five terms; a lower bound on
    /// ln p(t) for every q(w), q(α) and ξ.
    pub fn total(&self) -> f64 {
        self.expected_ln_h
            + self.expected_ln_prior_w
            + self.expected_ln_prior_alpha
            + self.entropy_q_w
            + self.entropy_q_alpha
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_is_one_eighth_at_zero_continuous_and_matches_both_forms() {
        assert_eq!(lambda(0.0), 0.125);
        // Series branch against the closed form just outside it.
        for &x in &[0.99e-4, 1.01e-4, 1e-3, 0.1] {
            let direct = (sigmoid(x) - 0.5) / (2.0 * x);
            assert!((lambda(x) - direct).abs() < 1e-12, "x = {x}");
        }
        for &x in &[0.5, 1.0, 3.0, 10.0, 40.0, 1e3] {
            let direct = (sigmoid(x) - 0.5) / (2.0 * x);
            assert!((lambda(x) - direct).abs() <= 1e-12 * direct, "x = {x}");
            assert_eq!(lambda(-x), lambda(x));
        }
        // Decreasing in |ξ|.
        let xs: Vec<f64> = (0..200).map(|i| i as f64 * 0.05).collect();
        assert!(xs.windows(2).all(|w| lambda(w[1]) < lambda(w[0])));
    }

    #[test]
    fn lambda_prime_matches_finite_differences() {
        for &x in &[-3.0, -0.2, -5e-5, 0.0, 5e-5, 1e-3, 0.3, 1.0, 7.0] {
            let h = 1e-5;
            let fd = (lambda(x + h) - lambda(x - h)) / (2.0 * h);
            assert!(
                (lambda_prime(x) - fd).abs() < 1e-9,
                "x = {x}: {} vs {fd}",
                lambda_prime(x)
            );
        }
    }

    #[test]
    fn jaakkola_jordan_bound_holds_and_is_tight_at_xi_equal_a() {
        // ln p(t | a) = a t + ln σ(−a) (PRML 10.148).
        for &t in &[0.0, 1.0] {
            for i in -40..=40 {
                let a = i as f64 * 0.25;
                let exact = a * t + ln_sigmoid(-a);
                for j in 0..=40 {
                    let xi = j as f64 * 0.25;
                    let b = ln_local_bound(t, a, xi);
                    assert!(b <= exact + 1e-12, "t={t} a={a} xi={xi}: {b} > {exact}");
                }
                assert!((ln_local_bound(t, a, a.abs()) - exact).abs() < 1e-12);
                assert!((ln_local_bound(t, a, -a) - exact).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn expected_ln_h_is_the_average_of_the_local_bound() {
        // E over a ~ N(μ, s²) by Gauss–Hermite-free brute force quadrature.
        let (t, mu, s2, xi) = (1.0, 0.7, 0.5_f64, 1.3);
        let (n, lo, hi) = (20_001, mu - 12.0 * s2.sqrt(), mu + 12.0 * s2.sqrt());
        let h = (hi - lo) / (n - 1) as f64;
        let mut acc = 0.0;
        for k in 0..n {
            let a = lo + k as f64 * h;
            let w = if k == 0 || k == n - 1 { 0.5 } else { 1.0 };
            let dens = (-(a - mu) * (a - mu) / (2.0 * s2)).exp() / (2.0 * PI * s2).sqrt();
            acc += w * h * dens * ln_local_bound(t, a, xi);
        }
        let closed = expected_ln_h(t, mu, s2 + mu * mu, xi);
        assert!((acc - closed).abs() < 1e-9, "{acc} vs {closed}");
    }

    #[test]
    fn entropies_and_expectations_match_known_values() {
        // Gam(1, 1) is the unit exponential: entropy 1.
        assert!((entropy_q_alpha(1.0, 1.0) - 1.0).abs() < 1e-14);
        // Gam(1, b): entropy 1 − ln b.
        assert!((entropy_q_alpha(1.0, 4.0) - (1.0 - 4.0_f64.ln())).abs() < 1e-14);
        // 1-D Gaussian: ½ ln(2πe s²).
        let s2: f64 = 0.3;
        assert!(
            (entropy_q_w(1, s2.ln()) - 0.5 * (2.0 * PI * std::f64::consts::E * s2).ln()).abs()
                < 1e-14
        );
        // E[ln α] under Gam(1, 1) is −γ (Euler–Mascheroni).
        let (e, el) = gamma_moments(1.0, 1.0);
        assert_eq!(e, 1.0);
        assert!((el + 0.577_215_664_901_532_9).abs() < 1e-12);
        // E[ln p(w | α)] with α known, q(w) = δ(w − 0) in 1-D: ln N(0 | 0, 1/α).
        let alpha: f64 = 2.0;
        let want = 0.5 * (alpha / (2.0 * PI)).ln();
        assert!((expected_ln_prior_w(1, alpha, alpha.ln(), 0.0) - want).abs() < 1e-14);
        // E[ln p(α)] with q(α) = δ(α − 1): ln Gam(1 | a0, b0) = a0 ln b0 − ln Γ(a0) − b0.
        let (a0, b0): (f64, f64) = (2.0, 3.0);
        let want = a0 * b0.ln() - ln_gamma(a0) - b0;
        assert!((expected_ln_prior_alpha(a0, b0, 1.0, 0.0) - want).abs() < 1e-14);
    }

    #[test]
    fn bound_terms_total_is_their_sum() {
        let t = BoundTerms {
            expected_ln_h: -1.0,
            expected_ln_prior_w: -2.0,
            expected_ln_prior_alpha: -4.0,
            entropy_q_w: 8.0,
            entropy_q_alpha: 16.0,
        };
        assert_eq!(t.total(), 17.0);
    }
}
