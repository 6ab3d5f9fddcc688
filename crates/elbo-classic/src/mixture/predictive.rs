//! The predictive density of the variational Bayesian mixture, PRML
//! (10.78)–(10.82): a mixture of Student-t densities, not a plug-in.

use std::f64::consts::PI;

use ndarray::{Array1, ArrayView2};
use rayon::prelude::*;

use super::CovarianceType;
use super::linalg::inv_lower;
use super::vgmm::{GmmPrior, Posterior};
use elbo_core::special::{ln_gamma, log_sum_exp};

/// PRML (10.81)–(10.82): ln p(x̂ | X) ≈ ln Σ_k E\[π_k\] St(x̂ | m_k, L_k, ν_k + 1 − D),
/// L_k = ((ν_k + 1 − D) β_k / (1 + β_k)) W_k, for each row of `x`; the
/// multivariate Student-t of PRML (2.162):
/// ln St(x | μ, L, ν) = ln Γ((ν + D)/2) − ln Γ(ν/2) + ½ ln |L| − (D/2) ln(νπ)
///                     − ((ν + D)/2) ln(1 + (x − μ)ᵀ L (x − μ) / ν).
/// For diagonal precisions (independent one-dimensional Wisharts) each
/// component is the product over dimensions of (10.81) with D = 1.
pub(crate) fn log_predictive(
    prior: &GmmPrior,
    post: &Posterior,
    x: ArrayView2<f64>,
) -> Array1<f64> {
    let (k, d) = (post.n_components(), post.dim());
    let diag = prior.covariance() == CovarianceType::Diag;
    let bd = if diag { 1 } else { d };
    let ln_w = post.weights.expected().mapv(f64::ln);
    // Per component: dof, the factor A_k with AᵀA = L_k, and the constant.
    struct Comp {
        dof: f64,
        a: Vec<f64>,
        cst: f64,
    }
    let comps: Vec<Comp> = (0..k)
        .map(|c| {
            let dof = post.nu[c] + 1.0 - bd as f64;
            let ell = dof * post.beta[c] / (1.0 + post.beta[c]);
            let l = &post.chol_w_inv[c];
            let s = ell.sqrt();
            let a: Vec<f64> = if diag {
                (0..d).map(|j| s / l[j * d + j]).collect()
            } else {
                inv_lower(l, d).into_iter().map(|v| v * s).collect()
            };
            // ½ ln |L_k| = ½ (D ln ℓ + ln |W_k|); the rest of (2.162) per block.
            let nb = (d / bd) as f64;
            let bdf = bd as f64;
            let cst = ln_w[c]
                + nb * (ln_gamma(0.5 * (dof + bdf))
                    - ln_gamma(0.5 * dof)
                    - 0.5 * bdf * (dof * PI).ln())
                + 0.5 * (d as f64 * ell.ln() + post.ln_det_w[c]);
            Comp { dof, a, cst }
        })
        .collect();
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let m = &post.m;
    let out: Vec<f64> = xs
        .par_chunks(d.max(1))
        .map(|xr| {
            let mut terms = vec![0.0; k];
            let mut diff = vec![0.0; d];
            for (c, comp) in comps.iter().enumerate() {
                for (j, dj) in diff.iter_mut().enumerate() {
                    *dj = xr[j] - m[[c, j]];
                }
                let mut t = comp.cst;
                if diag {
                    for (a, dj) in comp.a.iter().zip(&diff) {
                        let y = a * dj;
                        t -= 0.5 * (comp.dof + 1.0) * (y * y / comp.dof).ln_1p();
                    }
                } else {
                    let mut q = 0.0;
                    for i in 0..d {
                        let y: f64 = (0..=i).map(|j| comp.a[i * d + j] * diff[j]).sum();
                        q += y * y;
                    }
                    t -= 0.5 * (comp.dof + d as f64) * (q / comp.dof).ln_1p();
                }
                terms[c] = t;
            }
            log_sum_exp(&terms)
        })
        .collect();
    out.into()
}
