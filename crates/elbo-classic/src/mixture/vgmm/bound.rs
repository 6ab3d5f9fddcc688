//! The variational lower bound of the Bayesian Gaussian mixture, PRML
//! (10.70)–(10.77), with every constant kept (scikit-learn drops some, which
//! makes its bound incomparable across K): each term is its own function.
//!
//! L = E\[ln p(X|Z,μ,Λ)\] + E\[ln p(Z|π)\] + E\[ln p(π)\] + E\[ln p(μ,Λ)\]
//!     − E\[ln q(Z)\] − E\[ln q(π)\] − E\[ln q(μ,Λ)\]            (PRML 10.70)
//!
//! For diagonal precisions every Wishart quantity is the sum of D
//! one-dimensional ones (block dimension 1); for the stick-breaking prior
//! the π terms are those of Blei & Jordan (2006, eq. 13 and §5).

use std::f64::consts::{LN_2, PI};

use serde::Serialize;

use super::super::Prior;
use super::super::linalg::{quad_form, trace_prod};
use super::super::stats::SuffStats;
use super::posterior::{GmmPrior, Posterior, WeightPosterior};
use elbo_core::special::{digamma, ln_gamma, ln_multi_gamma};

/// The seven terms of the bound (PRML 10.70), each an expectation under q.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BoundTerms {
    /// PRML (10.71): E\[ln p(X | Z, μ, Λ)\].
    pub ln_p_x: f64,
    /// PRML (10.72): E\[ln p(Z | π)\].
    pub ln_p_z: f64,
    /// PRML (10.73): E\[ln p(π)\] (Dirichlet) or Σ_k E\[ln p(v_k)\] (stick-breaking).
    pub ln_p_pi: f64,
    /// PRML (10.74): E\[ln p(μ, Λ)\].
    pub ln_p_mu_lambda: f64,
    /// PRML (10.75): E\[ln q(Z)\] = Σ r_nk ln r_nk.
    pub ln_q_z: f64,
    /// PRML (10.76): E\[ln q(π)\] (Dirichlet) or Σ_k E\[ln q(v_k)\].
    pub ln_q_pi: f64,
    /// PRML (10.77): E\[ln q(μ, Λ)\].
    pub ln_q_mu_lambda: f64,
}

impl BoundTerms {
    /// PRML (10.70): the lower bound L(q), the sum of the seven terms.
    pub fn total(&self) -> f64 {
        self.ln_p_x + self.ln_p_z + self.ln_p_pi + self.ln_p_mu_lambda
            - self.ln_q_z
            - self.ln_q_pi
            - self.ln_q_mu_lambda
    }

    /// KL(q(π, μ, Λ) ‖ p(π, μ, Λ)) = E\[ln q(π)\] + E\[ln q(μ,Λ)\] − E\[ln p(π)\] − E\[ln p(μ,Λ)\].
    pub fn kl_globals(&self) -> f64 {
        self.ln_q_pi + self.ln_q_mu_lambda - self.ln_p_pi - self.ln_p_mu_lambda
    }
}

/// All seven terms for the statistics of q(Z) and the posterior q(π, μ, Λ).
pub(crate) fn bound_terms(prior: &GmmPrior, post: &Posterior, st: &SuffStats) -> BoundTerms {
    let e_ln_det = post.e_ln_det_lambda(prior);
    let e_ln_pi = post.weights.e_ln_pi();
    BoundTerms {
        ln_p_x: expected_ln_p_x(prior, post, st, &e_ln_det),
        ln_p_z: expected_ln_p_z(st, &e_ln_pi),
        ln_p_pi: expected_ln_p_pi(prior, post),
        ln_p_mu_lambda: expected_ln_p_mu_lambda(prior, post, &e_ln_det),
        ln_q_z: expected_ln_q_z(st),
        ln_q_pi: expected_ln_q_pi(post),
        ln_q_mu_lambda: expected_ln_q_mu_lambda(prior, post, &e_ln_det),
    }
}

/// KL(q(π, μ, Λ) ‖ p(π, μ, Λ)): the global part of the bound. With q(Z) at
/// its optimum (PRML 10.49), L = Σ_n ln Σ_k ρ_nk − KL (the E-step's
/// normaliser minus this), which the tests use to check the seven terms.
pub(crate) fn kl_globals(prior: &GmmPrior, post: &Posterior) -> f64 {
    let e_ln_det = post.e_ln_det_lambda(prior);
    expected_ln_q_pi(post) + expected_ln_q_mu_lambda(prior, post, &e_ln_det)
        - expected_ln_p_pi(prior, post)
        - expected_ln_p_mu_lambda(prior, post, &e_ln_det)
}

/// PRML (B.79): ln B(W, ν) = −(ν/2) ln |W| − (νD/2) ln 2 − ln Γ_D(ν/2), the
/// log normaliser of the Wishart (summed over `nb` blocks of dimension `bd`).
pub(crate) fn ln_wishart_b(ln_det_w: f64, nu: f64, bd: usize, nb: usize) -> f64 {
    let d = (bd * nb) as f64;
    -0.5 * nu * ln_det_w - 0.5 * nu * d * LN_2 - nb as f64 * ln_multi_gamma(0.5 * nu, bd)
}

/// PRML (B.82): H[Λ] = −ln B(W, ν) − ((ν − D − 1)/2) E\[ln |Λ|\] + νD/2,
/// the entropy of W(Λ | W, ν) (summed over blocks, D = block dimension).
pub(crate) fn wishart_entropy(ln_det_w: f64, nu: f64, e_ln_det: f64, bd: usize, nb: usize) -> f64 {
    let d = (bd * nb) as f64;
    -ln_wishart_b(ln_det_w, nu, bd, nb) - 0.5 * (nu - bd as f64 - 1.0) * e_ln_det + 0.5 * nu * d
}

/// PRML (10.71): E\[ln p(X | Z, μ, Λ)\] =
/// ½ Σ_k N_k { ln Λ̃_k − D/β_k − ν_k Tr(S_k W_k) − ν_k (x̄_k − m_k)ᵀ W_k (x̄_k − m_k) − D ln 2π },
/// computed as ½ Σ_k { N_k (ln Λ̃_k − D/β_k − D ln 2π) − ν_k Tr(W_k Q_k) } with
/// Q_k = Σ_n r_nk (x_n − m_k)(x_n − m_k)ᵀ = N_k S_k + N_k (x̄_k − m_k)(x̄_k − m_k)ᵀ
/// (no division by N_k, so empty components are exact).
pub(crate) fn expected_ln_p_x(
    prior: &GmmPrior,
    post: &Posterior,
    st: &SuffStats,
    e_ln_det: &ndarray::Array1<f64>,
) -> f64 {
    let d = post.dim();
    let df = d as f64;
    let q = st.recentered(post.m.view());
    let mut s = 0.0;
    for c in 0..post.n_components() {
        let nk = st.nk[c];
        let qk: Vec<f64> = q
            .sxx
            .index_axis(ndarray::Axis(0), c)
            .iter()
            .copied()
            .collect();
        let wk: Vec<f64> = post
            .w
            .index_axis(ndarray::Axis(0), c)
            .iter()
            .copied()
            .collect();
        let tr = if prior.covariance() == super::super::CovarianceType::Diag {
            (0..d).map(|j| wk[j * d + j] * qk[j * d + j]).sum()
        } else {
            trace_prod(&wk, &qk, d)
        };
        s += nk * (e_ln_det[c] - df / post.beta[c] - df * (2.0 * PI).ln()) - post.nu[c] * tr;
    }
    0.5 * s
}

/// PRML (10.72): E\[ln p(Z | π)\] = Σ_n Σ_k r_nk E\[ln π_k\] = Σ_k N_k E\[ln π_k\].
pub(crate) fn expected_ln_p_z(st: &SuffStats, e_ln_pi: &ndarray::Array1<f64>) -> f64 {
    st.nk
        .iter()
        .zip(e_ln_pi)
        .map(|(&n, &e)| if n == 0.0 { 0.0 } else { n * e })
        .sum()
}

/// PRML (10.73): E\[ln p(π)\] = ln C(α₀) + (α₀ − 1) Σ_k E\[ln π_k\], with
/// ln C(α₀) = ln Γ(K α₀) − K ln Γ(α₀) (B.23). Stick-breaking (Blei & Jordan
/// 2006): Σ_{k<K} E\[ln Beta(v_k | 1, γ)\] = Σ_{k<K} { ln γ + (γ − 1) E\[ln(1 − v_k)\] }.
pub(crate) fn expected_ln_p_pi(prior: &GmmPrior, post: &Posterior) -> f64 {
    let k = post.n_components() as f64;
    match (prior.weights(), &post.weights) {
        (Prior::Dirichlet { alpha0 }, w @ WeightPosterior::Dirichlet { .. }) => {
            let e = w.e_ln_pi();
            ln_gamma(k * alpha0) - k * ln_gamma(alpha0) + (alpha0 - 1.0) * e.sum()
        }
        (Prior::DirichletProcess { gamma }, WeightPosterior::StickBreaking { a, b }) => a
            .iter()
            .zip(b)
            .map(|(&a, &b)| gamma.ln() + (gamma - 1.0) * (digamma(b) - digamma(a + b)))
            .sum(),
        _ => unreachable!("the posterior of the weights is built from the prior's kind"),
    }
}

/// PRML (10.74): E\[ln p(μ, Λ)\] =
/// ½ Σ_k { D ln(β₀/2π) + ln Λ̃_k − Dβ₀/β_k − β₀ ν_k (m_k − m₀)ᵀ W_k (m_k − m₀) }
/// + K ln B(W₀, ν₀) + ((ν₀ − D − 1)/2) Σ_k ln Λ̃_k − ½ Σ_k ν_k Tr(W₀⁻¹ W_k).
pub(crate) fn expected_ln_p_mu_lambda(
    prior: &GmmPrior,
    post: &Posterior,
    e_ln_det: &ndarray::Array1<f64>,
) -> f64 {
    let d = post.dim();
    let df = d as f64;
    let (bd, nb) = prior.blocks();
    let beta0 = prior.beta0();
    let k = post.n_components();
    let mut s = 0.0;
    for c in 0..k {
        let wk: Vec<f64> = post
            .w
            .index_axis(ndarray::Axis(0), c)
            .iter()
            .copied()
            .collect();
        let diff: Vec<f64> = (0..d).map(|j| post.m[[c, j]] - prior.m0()[j]).collect();
        s += 0.5
            * (df * (beta0 / (2.0 * PI)).ln() + e_ln_det[c]
                - df * beta0 / post.beta[c]
                - beta0 * post.nu[c] * quad_form(&wk, &diff));
        s += 0.5 * (prior.nu0() - bd as f64 - 1.0) * e_ln_det[c];
        s -= 0.5 * post.nu[c] * trace_prod(&prior.w0_inv, &wk, d);
    }
    s + k as f64 * ln_wishart_b(prior.ln_det_w0, prior.nu0(), bd, nb)
}

/// PRML (10.75): E\[ln q(Z)\] = Σ_n Σ_k r_nk ln r_nk.
pub(crate) fn expected_ln_q_z(st: &SuffStats) -> f64 {
    st.sum_r_ln_r
}

/// PRML (10.76): E\[ln q(π)\] = Σ_k (α_k − 1) E\[ln π_k\] + ln C(α). Stick-breaking:
/// Σ_{k<K} { ln Γ(a_k + b_k) − ln Γ(a_k) − ln Γ(b_k) + (a_k − 1) E\[ln v_k\] + (b_k − 1) E\[ln(1 − v_k)\] }.
pub(crate) fn expected_ln_q_pi(post: &Posterior) -> f64 {
    match &post.weights {
        w @ WeightPosterior::Dirichlet { alpha } => {
            let e = w.e_ln_pi();
            let ln_c = ln_gamma(alpha.sum()) - alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>();
            alpha
                .iter()
                .zip(&e)
                .map(|(&a, &e)| (a - 1.0) * e)
                .sum::<f64>()
                + ln_c
        }
        WeightPosterior::StickBreaking { a, b } => a
            .iter()
            .zip(b)
            .map(|(&a, &b)| {
                let s = digamma(a + b);
                ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b)
                    + (a - 1.0) * (digamma(a) - s)
                    + (b - 1.0) * (digamma(b) - s)
            })
            .sum(),
    }
}

/// PRML (10.77): E\[ln q(μ, Λ)\] = Σ_k { ½ ln Λ̃_k + (D/2) ln(β_k/2π) − D/2 − H[q(Λ_k)] },
/// with the Wishart entropy H of (B.82).
pub(crate) fn expected_ln_q_mu_lambda(
    prior: &GmmPrior,
    post: &Posterior,
    e_ln_det: &ndarray::Array1<f64>,
) -> f64 {
    let df = post.dim() as f64;
    let (bd, nb) = prior.blocks();
    (0..post.n_components())
        .map(|c| {
            0.5 * e_ln_det[c] + 0.5 * df * (post.beta[c] / (2.0 * PI)).ln()
                - 0.5 * df
                - wishart_entropy(post.ln_det_w[c], post.nu[c], e_ln_det[c], bd, nb)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    //! Each term against a Monte-Carlo estimate of its expectation under q
    //! (tolerance: 5 standard errors), and the sum against the collapsed
    //! identity L = Σ_n ln Σ_k ρ_nk − KL(q(θ) ‖ p(θ)) at the optimal q(Z).
    use super::*;
    use crate::mixture::kernel::e_step;
    use crate::mixture::linalg::{cholesky, ln_det_from_chol};
    use crate::mixture::{CovarianceType, Prior};
    use ndarray::{Array1, Array2};
    use rand::Rng;
    use rand_distr::{Beta, ChiSquared, Distribution, Gamma, StandardNormal};

    const S: usize = 40_000;

    fn setup(
        prior_kind: Prior,
        cov: CovarianceType,
    ) -> (Array2<f64>, GmmPrior, Posterior, SuffStats) {
        let mut rng = elbo_core::rng::seeded(11);
        let (n, d, k) = (40, 2, 3);
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            (i % 3) as f64 * 2.0 + rng.random::<f64>() + j as f64 * 0.3
        });
        let mut r = Array2::from_shape_fn((n, k), |_| rng.random::<f64>() + 0.05);
        for mut row in r.outer_iter_mut() {
            let s = row.sum();
            row /= s;
        }
        let w0 = if cov == CovarianceType::Full {
            ndarray::array![[2.0, 0.3], [0.3, 1.0]]
        } else {
            ndarray::array![[2.0, 0.0], [0.0, 1.0]]
        };
        let prior =
            GmmPrior::new(prior_kind, 0.7, ndarray::array![0.5, 1.0], w0, 3.5, cov).unwrap();
        let center = Array2::from_shape_fn((k, d), |(c, j)| c as f64 + j as f64);
        let st = SuffStats::from_responsibilities(x.view(), r.view(), center.view()).unwrap();
        let post = Posterior::update(&prior, &st).unwrap();
        // Statistics of q(Z) that are not the ones the posterior was built
        // from, so that every term is checked away from the optimum too.
        let r2 = r.mapv(|v| v.powf(1.5));
        let mut r2 = r2;
        for mut row in r2.outer_iter_mut() {
            let s = row.sum();
            row /= s;
        }
        let st2 = SuffStats::from_responsibilities(x.view(), r2.view(), center.view()).unwrap();
        let _ = st;
        (x, prior, post, st2)
    }

    /// Λ ~ W(W, ν) by Bartlett's decomposition (full), or independent
    /// Gam(ν/2, rate 1/(2 w_jj)) on the diagonal.
    fn sample_lambda<R: Rng>(rng: &mut R, w: &[f64], nu: f64, d: usize, diag: bool) -> Vec<f64> {
        let mut lam = vec![0.0; d * d];
        if diag {
            for j in 0..d {
                lam[j * d + j] = Gamma::new(nu / 2.0, 2.0 * w[j * d + j])
                    .unwrap()
                    .sample(rng);
            }
            return lam;
        }
        let l = cholesky(w, d).unwrap();
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            a[i * d + i] = ChiSquared::new(nu - i as f64).unwrap().sample(rng).sqrt();
            for j in 0..i {
                a[i * d + j] = StandardNormal.sample(rng);
            }
        }
        // B = L A; Λ = B Bᵀ
        let mut b = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                b[i * d + j] = (0..d).map(|p| l[i * d + p] * a[p * d + j]).sum();
            }
        }
        for i in 0..d {
            for j in 0..d {
                lam[i * d + j] = (0..d).map(|p| b[i * d + p] * b[j * d + p]).sum();
            }
        }
        lam
    }

    fn sample_mu<R: Rng>(rng: &mut R, m: &[f64], beta: f64, lam: &[f64], d: usize) -> Vec<f64> {
        // μ = m + (β Λ)^{-1/2} z: solve Lᵀ y = z with β Λ = L Lᵀ.
        let bl: Vec<f64> = lam.iter().map(|v| v * beta).collect();
        let l = cholesky(&bl, d).unwrap();
        let z: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
        let mut y = vec![0.0; d];
        for i in (0..d).rev() {
            let s: f64 = (i + 1..d).map(|p| l[p * d + i] * y[p]).sum();
            y[i] = (z[i] - s) / l[i * d + i];
        }
        (0..d).map(|j| m[j] + y[j]).collect()
    }

    fn ln_normal_prec(x: &[f64], mu: &[f64], prec: &[f64], d: usize) -> f64 {
        let l = cholesky(prec, d).unwrap();
        let diff: Vec<f64> = (0..d).map(|j| x[j] - mu[j]).collect();
        0.5 * ln_det_from_chol(&l, d)
            - 0.5 * d as f64 * (2.0 * PI).ln()
            - 0.5 * quad_form(prec, &diff)
    }

    fn ln_wishart(lam: &[f64], w: &[f64], nu: f64, d: usize, diag: bool) -> f64 {
        if diag {
            return (0..d)
                .map(|j| {
                    let (l, wj) = (lam[j * d + j], w[j * d + j]);
                    ln_wishart_b(wj.ln(), nu, 1, 1) + 0.5 * (nu - 2.0) * l.ln() - 0.5 * l / wj
                })
                .sum();
        }
        let lw = cholesky(w, d).unwrap();
        let w_inv = crate::mixture::linalg::spd_inverse_from_chol(&lw, d);
        let ll = cholesky(lam, d).unwrap();
        ln_wishart_b(ln_det_from_chol(&lw, d), nu, d, 1)
            + 0.5 * (nu - d as f64 - 1.0) * ln_det_from_chol(&ll, d)
            - 0.5 * trace_prod(&w_inv, lam, d)
    }

    fn mean_se(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (m, (var / n).sqrt())
    }

    fn assert_mc(name: &str, exact: f64, samples: &[f64]) {
        let (m, se) = mean_se(samples);
        assert!(
            (m - exact).abs() < 5.0 * se + 1e-9 * exact.abs().max(1.0),
            "{name}: exact {exact}, Monte Carlo {m} ± {se}"
        );
    }

    fn sample_pi<R: Rng>(rng: &mut R, w: &WeightPosterior) -> Vec<f64> {
        match w {
            WeightPosterior::Dirichlet { alpha } => {
                let g: Vec<f64> = alpha
                    .iter()
                    .map(|&a| Gamma::new(a, 1.0).unwrap().sample(rng))
                    .collect();
                let s: f64 = g.iter().sum();
                g.iter().map(|v| v / s).collect()
            }
            WeightPosterior::StickBreaking { a, b } => {
                let v: Vec<f64> = a
                    .iter()
                    .zip(b)
                    .map(|(&a, &b)| Beta::new(a, b).unwrap().sample(rng))
                    .collect();
                stick(&v)
            }
        }
    }

    fn stick(v: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(v.len() + 1);
        let mut rest = 1.0;
        for &vk in v {
            out.push(vk * rest);
            rest *= 1.0 - vk;
        }
        out.push(rest);
        out
    }

    fn check_all(prior_kind: Prior, cov: CovarianceType) {
        let (x, prior, post, st) = setup(prior_kind, cov);
        let diag = cov == CovarianceType::Diag;
        let (k, d) = (post.n_components(), post.dim());
        let terms = bound_terms(&prior, &post, &st);
        let mut rng = elbo_core::rng::seeded(99);
        // r_nk for 10.71: rebuild from the statistics' source (same seed path).
        let w0: Vec<f64> = prior.w0().iter().copied().collect();
        let (mut s71, mut s72, mut s73, mut s74, mut s76, mut s77) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        // The responsibilities themselves are needed for 10.71: recover them
        // by re-running setup's construction.
        let r = responsibilities(&x, k);
        for _ in 0..S {
            let pi = sample_pi(&mut rng, &post.weights);
            let mut l71 = 0.0;
            let mut l74 = 0.0;
            let mut l77 = 0.0;
            for c in 0..k {
                let wk: Vec<f64> = post
                    .w
                    .index_axis(ndarray::Axis(0), c)
                    .iter()
                    .copied()
                    .collect();
                let lam = sample_lambda(&mut rng, &wk, post.nu[c], d, diag);
                let mk: Vec<f64> = post.m.row(c).to_vec();
                let mu = sample_mu(&mut rng, &mk, post.beta[c], &lam, d);
                for (n, xn) in x.outer_iter().enumerate() {
                    l71 += r[[n, c]] * ln_normal_prec(xn.as_slice().unwrap(), &mu, &lam, d);
                }
                let b0lam: Vec<f64> = lam.iter().map(|v| v * prior.beta0()).collect();
                l74 += ln_normal_prec(&mu, prior.m0().as_slice().unwrap(), &b0lam, d)
                    + ln_wishart(&lam, &w0, prior.nu0(), d, diag);
                let bklam: Vec<f64> = lam.iter().map(|v| v * post.beta[c]).collect();
                l77 += ln_normal_prec(&mu, &mk, &bklam, d)
                    + ln_wishart(&lam, &wk, post.nu[c], d, diag);
            }
            s71.push(l71);
            s72.push((0..k).map(|c| st.nk[c] * pi[c].ln()).sum());
            s74.push(l74);
            s77.push(l77);
            match (&prior.weights(), &post.weights) {
                (Prior::Dirichlet { alpha0 }, WeightPosterior::Dirichlet { alpha }) => {
                    let a0 = *alpha0;
                    let kf = k as f64;
                    s73.push(
                        ln_gamma(kf * a0) - kf * ln_gamma(a0)
                            + (a0 - 1.0) * pi.iter().map(|p| p.ln()).sum::<f64>(),
                    );
                    let ln_c =
                        ln_gamma(alpha.sum()) - alpha.iter().map(|&a| ln_gamma(a)).sum::<f64>();
                    s76.push(
                        ln_c + alpha
                            .iter()
                            .zip(&pi)
                            .map(|(&a, p)| (a - 1.0) * p.ln())
                            .sum::<f64>(),
                    );
                }
                (Prior::DirichletProcess { gamma }, WeightPosterior::StickBreaking { a, b }) => {
                    // Recover v from π: v_k = π_k / (1 − Σ_{j<k} π_j).
                    let mut rest = 1.0;
                    let mut lp = 0.0;
                    let mut lq = 0.0;
                    for j in 0..k - 1 {
                        let v = pi[j] / rest;
                        rest -= pi[j];
                        lp += gamma.ln() + (gamma - 1.0) * (1.0 - v).ln();
                        lq += ln_gamma(a[j] + b[j]) - ln_gamma(a[j]) - ln_gamma(b[j])
                            + (a[j] - 1.0) * v.ln()
                            + (b[j] - 1.0) * (1.0 - v).ln();
                    }
                    s73.push(lp);
                    s76.push(lq);
                }
                _ => unreachable!(),
            }
        }
        assert_mc("(10.71)", terms.ln_p_x, &s71);
        assert_mc("(10.72)", terms.ln_p_z, &s72);
        assert_mc("(10.73)", terms.ln_p_pi, &s73);
        assert_mc("(10.74)", terms.ln_p_mu_lambda, &s74);
        assert_mc("(10.76)", terms.ln_q_pi, &s76);
        assert_mc("(10.77)", terms.ln_q_mu_lambda, &s77);
        // (10.75) is a plain sum.
        let direct: f64 = r.iter().map(|&v| v * v.ln()).sum();
        assert!((terms.ln_q_z - direct).abs() < 1e-12 * direct.abs());

        // The whole bound at the optimal q(Z): term by term = collapsed form.
        let opt = e_step(x.view(), &post.components(&prior), None);
        let l_terms = bound_terms(&prior, &post, &opt).total();
        let l_collapsed = opt.log_norm - kl_globals(&prior, &post);
        assert!(
            (l_terms - l_collapsed).abs() < 1e-10 * l_terms.abs(),
            "{l_terms} vs {l_collapsed}"
        );
        // ... and any other q(Z) gives a lower bound.
        assert!(terms.total() < l_collapsed);
    }

    /// The responsibilities `setup` builds its statistics from (r^1.5, renormalised).
    fn responsibilities(x: &Array2<f64>, k: usize) -> Array2<f64> {
        let mut rng = elbo_core::rng::seeded(11);
        let n = x.nrows();
        for _ in 0..n * x.ncols() {
            let _: f64 = rng.random();
        }
        let mut r = Array2::from_shape_fn((n, k), |_| rng.random::<f64>() + 0.05);
        for mut row in r.outer_iter_mut() {
            let s = row.sum();
            row /= s;
        }
        let mut r2 = r.mapv(|v| v.powf(1.5));
        for mut row in r2.outer_iter_mut() {
            let s = row.sum();
            row /= s;
        }
        r2
    }

    #[test]
    fn every_term_matches_monte_carlo_dirichlet_full() {
        check_all(Prior::Dirichlet { alpha0: 0.3 }, CovarianceType::Full);
    }

    #[test]
    fn every_term_matches_monte_carlo_dirichlet_diag() {
        check_all(Prior::Dirichlet { alpha0: 2.0 }, CovarianceType::Diag);
    }

    #[test]
    fn every_term_matches_monte_carlo_stick_breaking_full() {
        check_all(Prior::DirichletProcess { gamma: 1.5 }, CovarianceType::Full);
    }

    #[test]
    fn every_term_matches_monte_carlo_stick_breaking_diag() {
        check_all(Prior::DirichletProcess { gamma: 0.5 }, CovarianceType::Diag);
    }

    #[test]
    fn wishart_normaliser_and_entropy_in_one_dimension_are_the_gamma_ones() {
        // W(λ | w, ν) = Gam(λ | ν/2, 1/(2w)): ln B = −(ν/2) ln(2w) − ln Γ(ν/2),
        // H = ν/2 − ln(1/(2w)) + ln Γ(ν/2) + (1 − ν/2) ψ(ν/2).
        let (w, nu): (f64, f64) = (0.7, 3.3);
        let want_b = -(nu / 2.0) * (2.0 * w).ln() - ln_gamma(nu / 2.0);
        assert!((ln_wishart_b(w.ln(), nu, 1, 1) - want_b).abs() < 1e-13);
        let e_ln = digamma(nu / 2.0) + (2.0 * w).ln();
        let want_h =
            nu / 2.0 + (2.0 * w).ln() + ln_gamma(nu / 2.0) + (1.0 - nu / 2.0) * digamma(nu / 2.0);
        assert!((wishart_entropy(w.ln(), nu, e_ln, 1, 1) - want_h).abs() < 1e-12);
        let _ = Array1::<f64>::zeros(1);
    }
}
