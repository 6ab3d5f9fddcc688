//! The variational lower bound, term by term, with every constant kept.
//!
//! Known β: L = E[ln p(t|w)] + E[ln p(w|α)] + E[ln p(α)] − E[ln q(w)] −
//! E[ln q(α)], PRML (10.107), its terms (10.108)–(10.112).
//!
//! Unknown β (Drugowitsch 2013, §2): q(w, β) = N(w | m, β⁻¹V) Gam(β | c, d)
//! and p(w | β, α) = N(w | 0, (βα)⁻¹I), so L = E[ln p(t|w,β)] +
//! E[ln p(w|β,α)] + E[ln p(β)] + E[ln p(α)] − E[ln q(w,β)] − E[ln q(α)].
//!
//! Under ARD the α-terms are sums over one Gamma factor per weight.
//! Expectations under Gam(x | a, b) (rate b): E[x] = a/b (PRML B.27),
//! E[ln x] = ψ(a) − ln b (B.30), entropy (B.31).

use serde::Serialize;

use elbo_core::special::{digamma, ln_gamma};

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// The bound's terms at one point (q(w[,β]), q(α)); [`total`](Self::total)
/// is L. Terms that a model does not have are 0 (no q(α) when α is fixed,
/// no p(β) when β is known).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundTerms {
    /// E[ln p(t | w[, β])]: PRML (10.108), or (Drugowitsch) its normal-Gamma form.
    pub ln_likelihood: f64,
    /// E[ln p(w | α[, β])]: PRML (10.109).
    pub ln_prior_w: f64,
    /// E[ln p(α)]: PRML (10.110), summed over the α_i under ARD.
    pub ln_prior_alpha: f64,
    /// E[ln p(β)] (unknown noise only).
    pub ln_prior_beta: f64,
    /// −E[ln q(w)] (PRML 10.111), or −E[ln q(w, β)] under unknown noise.
    pub entropy_w: f64,
    /// −E[ln q(α)]: PRML (10.112), summed under ARD.
    pub entropy_alpha: f64,
}

impl BoundTerms {
    /// L(q), PRML (10.107): the sum of the terms.
    pub fn total(&self) -> f64 {
        self.ln_likelihood
            + self.ln_prior_w
            + self.ln_prior_alpha
            + self.ln_prior_beta
            + self.entropy_w
            + self.entropy_alpha
    }
}

/// PRML (B.30): E[ln x] = ψ(a) − ln b under Gam(x | a, b).
pub(crate) fn gamma_mean_ln(a: f64, b: f64) -> f64 {
    digamma(a) - b.ln()
}

/// PRML (B.31) / (10.112): the entropy of Gam(a, b),
/// H = ln Γ(a) − (a − 1) ψ(a) − ln b + a.
pub(crate) fn gamma_entropy(a: f64, b: f64) -> f64 {
    ln_gamma(a) - (a - 1.0) * digamma(a) - b.ln() + a
}

/// PRML (B.26): the log normaliser a0 ln b0 − ln Γ(a0) of Gam(a0, b0), or 0
/// for the improper limit a0 = 0 or b0 = 0 (where it is −∞).
///
/// **The improper prior.** PRML Fig 10.9 uses a0 = b0 = 0, p(α) ∝ 1/α. Its
/// normaliser diverges, but it is a constant: it depends on neither the
/// data nor q, and with one shared α (or one β) it is the same for every
/// model order. We drop it, so that L is the a0, b0 → 0 limit of the bound
/// shifted by a model-independent constant, and bounds of different model
/// orders still compare exactly as PRML's figure does. (With ARD the number
/// of dropped normalisers equals the number of weights: bounds of models with
/// different numbers of weights are then not comparable — use a0, b0 > 0.)
pub(crate) fn gamma_ln_normaliser(a0: f64, b0: f64) -> f64 {
    if a0 > 0.0 && b0 > 0.0 {
        a0 * b0.ln() - ln_gamma(a0)
    } else {
        0.0
    }
}

/// PRML (10.110): E[ln Gam(x | a0, b0)] under q(x) with the given E[x],
/// E[ln x]: a0 ln b0 − ln Γ(a0) + (a0 − 1) E[ln x] − b0 E[x].
///
/// Departure from the printed book: the first printing of (10.110) ends in
/// −ln Γ(a_N); the prior's normaliser is −ln Γ(a0) (PRML errata). The
/// normaliser is dropped for an improper prior, see [`gamma_ln_normaliser`].
pub(crate) fn expected_ln_gamma_prior(a0: f64, b0: f64, mean: f64, mean_ln: f64) -> f64 {
    gamma_ln_normaliser(a0, b0) + (a0 - 1.0) * mean_ln - b0 * mean
}

/// PRML (10.108): E_w[ln p(t | w)] for known β and q(w) = N(m, S),
/// = N/2 ln(β / 2π) − β/2 tᵀt + β mᵀΦᵀt − β/2 Tr[ΦᵀΦ (m mᵀ + S)],
/// given tᵀt, mᵀΦᵀt, mᵀΦᵀΦm and Tr(ΦᵀΦ S).
pub(crate) fn expected_ln_likelihood_known(
    n: usize,
    beta: f64,
    ttt: f64,
    m_xtt: f64,
    m_xtx_m: f64,
    tr_xtx_s: f64,
) -> f64 {
    0.5 * n as f64 * (beta.ln() - LN_2PI) - 0.5 * beta * ttt + beta * m_xtt
        - 0.5 * beta * (m_xtx_m + tr_xtx_s)
}

/// The normal-Gamma form of (10.108) (Drugowitsch 2013, §2, the bound):
/// E[ln p(t | w, β)] under q(w, β) = N(w | m, β⁻¹V) Gam(β | c, d)
/// = N/2 (E[ln β] − ln 2π) − ½ (E[β] ‖t − Φm‖² + Tr(ΦᵀΦ V)),
/// because E[β ‖t − Φw‖²] = E[β] ‖t − Φm‖² + Tr(ΦᵀΦ V).
pub(crate) fn expected_ln_likelihood_normal_gamma(
    n: usize,
    e_beta: f64,
    e_ln_beta: f64,
    sse: f64,
    tr_xtx_v: f64,
) -> f64 {
    0.5 * n as f64 * (e_ln_beta - LN_2PI) - 0.5 * (e_beta * sse + tr_xtx_v)
}

/// PRML (10.109), one Gaussian factor per weight (ARD; the shared α is
/// the case of equal α_i): E[ln p(w | α)] =
/// Σ_i [−½ ln 2π + ½ E[ln α_i] − ½ E[α_i] (m_i² + S_ii)], where the
/// shared-α form is −M/2 ln 2π + M/2 (ψ(a_N) − ln b_N) − a_N/(2b_N)
/// (mᵀm + Tr S). Under unknown noise (Drugowitsch), p(w | β, α) =
/// N(0, (βα)⁻¹I) adds ½ E[ln β] per weight and E[w_i²] becomes
/// E[β w_i²] = E[β] m_i² + V_ii: pass `e_ln_beta` and `ew2_i` accordingly.
pub(crate) fn expected_ln_prior_w(
    e_alpha: impl Fn(usize) -> f64,
    e_ln_alpha: impl Fn(usize) -> f64,
    ew2: impl Fn(usize) -> f64,
    e_ln_beta: f64,
    m: usize,
) -> f64 {
    (0..m)
        .map(|i| -0.5 * LN_2PI + 0.5 * (e_ln_alpha(i) + e_ln_beta) - 0.5 * e_alpha(i) * ew2(i))
        .sum()
}

/// PRML (10.111): −E[ln q(w)] = ½ ln |S| + M/2 (1 + ln 2π), the entropy of
/// N(m, S).
pub(crate) fn gaussian_entropy(ln_det_s: f64, m: usize) -> f64 {
    0.5 * ln_det_s + 0.5 * m as f64 * (1.0 + LN_2PI)
}

/// −E[ln q(w, β)] for q = N(w | m, β⁻¹V) Gam(β | c, d) (Drugowitsch 2013,
/// §2): the conditional Gaussian's entropy averaged over β,
/// ½ ln |V| − M/2 E[ln β] + M/2 (1 + ln 2π), plus the Gamma's (B.31).
pub(crate) fn normal_gamma_entropy(ln_det_v: f64, m: usize, c: f64, d: f64) -> f64 {
    gaussian_entropy(ln_det_v, m) - 0.5 * m as f64 * gamma_mean_ln(c, d) + gamma_entropy(c, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vblr::testutil::{ln_gamma_pdf, mc_mean};
    use rand_distr::{Distribution, Gamma as GammaDist};

    #[test]
    fn gamma_expectations_match_monte_carlo() {
        // E[ln x], the entropy and E[ln p(x)] under Gam(a, b), by sampling.
        let (a, b) = (3.5, 2.0);
        let q = GammaDist::new(a, 1.0 / b).unwrap();
        let mut rng = elbo_core::rng::seeded(3);
        let xs: Vec<f64> = (0..200_000).map(|_| q.sample(&mut rng)).collect();
        let (m, se) = mc_mean(xs.iter().map(|x| x.ln()));
        assert!((m - gamma_mean_ln(a, b)).abs() < 4.0 * se, "{m} ± {se}");
        let (h, se) = mc_mean(xs.iter().map(|&x| -ln_gamma_pdf(x, a, b)));
        assert!((h - gamma_entropy(a, b)).abs() < 4.0 * se, "{h} ± {se}");
        let (a0, b0) = (2.0, 0.7);
        let (lp, se) = mc_mean(xs.iter().map(|&x| ln_gamma_pdf(x, a0, b0)));
        let closed = expected_ln_gamma_prior(a0, b0, a / b, gamma_mean_ln(a, b));
        assert!((lp - closed).abs() < 4.0 * se, "{lp} ± {se} vs {closed}");
    }

    #[test]
    fn improper_prior_drops_only_the_normaliser() {
        // a0 = b0 = 0 is the limit of a0 = b0 = ε minus its normaliser.
        let (mean, mean_ln) = (2.0, 0.5);
        let eps = 1e-12;
        let limit =
            expected_ln_gamma_prior(eps, eps, mean, mean_ln) - gamma_ln_normaliser(eps, eps);
        assert!((expected_ln_gamma_prior(0.0, 0.0, mean, mean_ln) - limit).abs() < 1e-10);
        assert_eq!(gamma_ln_normaliser(0.0, 1.0), 0.0);
        assert!(gamma_ln_normaliser(1e-6, 1e-6) < -10.0);
        // Gam(1, 1) is the unit exponential: normaliser 0 · ln 1 − ln Γ(1) = 0
        assert!(gamma_ln_normaliser(1.0, 1.0).abs() < 1e-14);
    }

    #[test]
    fn total_is_the_sum_of_the_terms() {
        let t = BoundTerms {
            ln_likelihood: 1.0,
            ln_prior_w: 2.0,
            ln_prior_alpha: 4.0,
            ln_prior_beta: 8.0,
            entropy_w: 16.0,
            entropy_alpha: 32.0,
        };
        assert_eq!(t.total(), 63.0);
    }
}
