//! The cost of the mean-field assumption, measured where the exact
//! posterior is known: Bayesian linear regression with known α and β.
//!
//! One [`BayesLinear`] layer (D → 1) with prior N(0, α⁻¹) on every weight and
//! bias and the likelihood N(t | xᵀw + b, β⁻¹) has the exact posterior
//! N(m_N, S_N), S_N⁻¹ = Λ = αI + βΦᵀΦ (PRML 3.53–3.54, computed by
//! `elbo_classic::vblr`). The best factorised Gaussian q has the exact means
//! and the variances 1/Λ_ii (PRML 10.12–10.13 for a Gaussian target): it
//! matches the diagonal of the *precision*, not of S_N, so it is
//! over-confident whenever the weights are correlated a posteriori. The
//! price, KL(q* ‖ p(w | D)) = ½ (Σ_i ln Λ_ii − ln |Λ|), is exactly the gap
//! ln p(t) − ELBO(q*) (PRML 10.2).

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Device;
use elbo_classic::vblr::{Noise, Vblr};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::Serialize;

use super::linear::BayesLinearConfig;
use super::prior::{Prior, tensor_vec};
use super::train::matrix;
use crate::{Error, Result};

/// The exact posterior beside the fitted factorised q, weights ordered
/// (bias, w_1, …, w_D).
#[derive(Debug, Clone, Serialize)]
pub struct MeanFieldComparison {
    /// Exact posterior means m_N (PRML 3.53).
    pub m_exact: Vec<f64>,
    /// Exact marginal variances diag(S_N).
    pub var_exact: Vec<f64>,
    /// The mean-field optimum's variances 1/Λ_ii.
    pub var_mean_field: Vec<f64>,
    /// Means of the fitted q.
    pub mu_fit: Vec<f64>,
    /// Variances σ² of the fitted q.
    pub var_fit: Vec<f64>,
    /// ½ (Σ_i ln Λ_ii − ln |Λ|): KL(q* ‖ p) in nats, the cost of the
    /// factorisation.
    pub kl_gap_theory: f64,
    /// KL(q_fit ‖ p) of the fitted q, nats.
    pub kl_gap_fitted: f64,
    /// ln p(t | α, β), the exact log evidence (PRML 3.86).
    pub log_evidence: f64,
    /// Mean over weights of var_mean_field / var_exact (≤ 1: over-confidence).
    pub variance_ratio: f64,
    /// Optimiser steps used.
    pub steps: usize,
}

/// Cholesky L Lᵀ = A of a small SPD matrix, or `None` if A is not SPD.
fn cholesky(a: &Array2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - s;
                if d <= 0.0 {
                    return None;
                }
                l[[i, j]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    Some(l)
}

/// KL(N(μ, diag v) ‖ N(m, Λ⁻¹)) = ½[Σ Λ_ii v_i + (μ−m)ᵀΛ(μ−m) − D − ln|Λ| − Σ ln v_i].
pub fn kl_diag_to_full(mu: &[f64], v: &[f64], m: &[f64], lambda: &Array2<f64>) -> Option<f64> {
    let l = cholesky(lambda)?;
    let ln_det = 2.0 * l.diag().iter().map(|x| x.ln()).sum::<f64>();
    let d = mu.len();
    let diff = Array1::from_iter(mu.iter().zip(m).map(|(a, b)| a - b));
    let quad = diff.dot(&lambda.dot(&diff));
    let tr: f64 = (0..d).map(|i| lambda[[i, i]] * v[i]).sum();
    let ln_v: f64 = v.iter().map(|x| x.ln()).sum();
    Some(0.5 * (tr + quad - d as f64 - ln_det - ln_v))
}

/// Fit one `BayesLinear` layer (x `[N, D]` → t) by maximising the bound with
/// the expected log-likelihood in closed form through the layer's moments,
/// E_q[ln p(t | w)] = −β/2 Σ_n [(t_n − γ_n)² + δ_n] + const (Kingma et al.
/// 2015 eq. (6): the local reparameterisation's distribution, integrated
/// exactly), so that the optimum is reached without Monte-Carlo noise; then
/// compare with the exact posterior.
pub fn compare_linear(
    x: ArrayView2<'_, f64>,
    t: ArrayView1<'_, f64>,
    alpha: f64,
    beta: f64,
    steps: usize,
    device: &Device,
) -> Result<MeanFieldComparison> {
    let (n, d) = x.dim();
    if n == 0 || t.len() != n {
        return Err(Error::Shape(format!(
            "mean-field comparison: {n} rows of x but {} targets",
            t.len()
        )));
    }
    for (name, v) in [("alpha", alpha), ("beta", beta)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::invalid(
                if name == "alpha" { "alpha" } else { "beta" },
                v,
                "finite and > 0",
            ));
        }
    }
    // ---- Exact posterior (elbo-classic), design [1, x].
    let mut phi = Array2::<f64>::ones((n, d + 1));
    phi.slice_mut(ndarray::s![.., 1..]).assign(&x);
    let exact = Vblr::params()
        .with_noise(Noise::Known(beta))
        .with_fixed_alpha(Some(alpha))
        .fit(phi.view(), t)?;
    let m_exact = exact.m_n().to_vec();
    let var_exact = exact.s_n().diag().to_vec();
    let mut lambda = phi.t().dot(&phi) * beta;
    for i in 0..=d {
        lambda[[i, i]] += alpha;
    }
    let var_mean_field: Vec<f64> = lambda.diag().iter().map(|l| 1.0 / l).collect();
    let l = cholesky(&lambda)
        .ok_or_else(|| Error::Shape("the posterior precision is not positive definite".into()))?;
    let ln_det = 2.0 * l.diag().iter().map(|x| x.ln()).sum::<f64>();
    let kl_gap_theory = 0.5 * (lambda.diag().iter().map(|x| x.ln()).sum::<f64>() - ln_det);

    // ---- Bayes by Backprop on the same model, deterministic objective.
    let ad = device.clone().autodiff();
    let xs = matrix(x.iter().map(|&v| v as f32).collect(), n, d, &ad);
    let ts = matrix(t.iter().map(|&v| v as f32).collect(), n, 1, &ad);
    let mut layer = BayesLinearConfig::new(d, 1).with_rho_init(-3.0).init(&ad);
    let prior = Prior::Gaussian {
        sigma: 1.0 / alpha.sqrt(),
    };
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let n_steps = steps.max(1);
    for k in 0..n_steps {
        let (gamma, delta) = layer.moments(xs.clone());
        let ell = ((ts.clone() - gamma).square() + delta)
            .sum()
            .mul_scalar(0.5 * beta);
        // A Gaussian prior always has a closed form.
        let kl = layer
            .kl_closed_form(prior.layer(0))
            .ok_or_else(|| Error::Shape("no closed-form KL".into()))?;
        let loss = ell + kl;
        // Decay the rate over the last half for a tight optimum.
        let lr = if k < n_steps / 2 { 0.05 } else { 0.005 };
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        layer = optim.step(lr, layer, grads);
    }
    let layer = layer.valid();
    let (ws, bs) = layer.sigmas();
    let mut mu_fit = vec![tensor_vec(&layer.b_mu.val())[0] as f64];
    mu_fit.extend(tensor_vec(&layer.w_mu.val()).iter().map(|&v| v as f64));
    let mut var_fit = vec![(tensor_vec(&bs)[0] as f64).powi(2)];
    var_fit.extend(tensor_vec(&ws).iter().map(|&v| (v as f64).powi(2)));
    let kl_gap_fitted = kl_diag_to_full(&mu_fit, &var_fit, &m_exact, &lambda)
        .ok_or_else(|| Error::Shape("the posterior precision is not positive definite".into()))?;
    let variance_ratio = var_mean_field
        .iter()
        .zip(&var_exact)
        .map(|(a, b)| a / b)
        .sum::<f64>()
        / var_exact.len() as f64;
    Ok(MeanFieldComparison {
        m_exact,
        var_exact,
        var_mean_field,
        mu_fit,
        var_fit,
        kl_gap_theory,
        kl_gap_fitted,
        log_evidence: exact.log_evidence(),
        variance_ratio,
        steps: n_steps,
    })
}
