//! The prior (as used) and the variational posterior q(π) q(μ, Λ) of the
//! Bayesian Gaussian mixture, with the M-step (PRML 10.58, 10.60–10.63)
//! and the expectations the E-step needs (10.64–10.66).

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, Axis};
use serde::Serialize;

use super::super::kernel::Components;
use super::super::linalg::{cholesky, inv_lower, ln_det_from_chol, spd_inverse_from_chol};
use super::super::stats::SuffStats;
use super::super::{CovarianceType, Prior};
use crate::{Error, Result};
use elbo_core::Error as CoreError;
use elbo_core::special::{digamma, multi_digamma_half};

/// The conjugate prior of the Bayesian mixture as used in the fit (defaults
/// taken from the data are stored here, as scikit-learn's `*_prior_`):
/// p(π) (10.39 or stick-breaking) and
/// p(μ, Λ) = Π_k N(μ_k | m₀, (β₀ Λ_k)⁻¹) W(Λ_k | W₀, ν₀) (PRML 10.40).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GmmPrior {
    weights: Prior,
    beta0: f64,
    m0: Array1<f64>,
    w0: Array2<f64>,
    nu0: f64,
    covariance: CovarianceType,
    #[serde(skip)]
    pub(crate) w0_inv: Vec<f64>,
    #[serde(skip)]
    pub(crate) ln_det_w0: f64,
}

impl GmmPrior {
    /// Validate and build: β₀ > 0, W₀ D × D symmetric positive definite
    /// (diagonal for [`CovarianceType::Diag`]), ν₀ > D − 1 (full; the
    /// Wishart is proper only then, PRML B.78) or ν₀ > 0 (diag).
    pub(crate) fn new(
        weights: Prior,
        beta0: f64,
        m0: Array1<f64>,
        w0: Array2<f64>,
        nu0: f64,
        covariance: CovarianceType,
    ) -> Result<Self> {
        let d = m0.len();
        match weights {
            Prior::Dirichlet { alpha0 } if !(alpha0 > 0.0 && alpha0.is_finite()) => {
                return Err(
                    CoreError::invalid("alpha0", alpha0, "finite and greater than 0").into(),
                );
            }
            Prior::DirichletProcess { gamma } if !(gamma > 0.0 && gamma.is_finite()) => {
                return Err(CoreError::invalid("gamma", gamma, "finite and greater than 0").into());
            }
            _ => {}
        }
        if !(beta0 > 0.0 && beta0.is_finite()) {
            return Err(CoreError::invalid("beta0", beta0, "finite and greater than 0").into());
        }
        if let Some(v) = m0.iter().find(|v| !v.is_finite()) {
            return Err(CoreError::invalid("m0", v, "finite in every coordinate").into());
        }
        if w0.dim() != (d, d) {
            return Err(CoreError::Shape(format!(
                "w0 is {}×{}, the data have D = {d}",
                w0.nrows(),
                w0.ncols()
            ))
            .into());
        }
        let (min_nu, expected) = match covariance {
            CovarianceType::Full => (
                d as f64 - 1.0,
                "greater than D - 1 (a proper Wishart, PRML B.78)",
            ),
            CovarianceType::Diag => (0.0, "greater than 0"),
        };
        if !(nu0 > min_nu && nu0.is_finite()) {
            return Err(CoreError::invalid("nu0", nu0, expected).into());
        }
        let w: Vec<f64> = w0.iter().copied().collect();
        for i in 0..d {
            for j in 0..d {
                let (a, b) = (w[i * d + j], w[j * d + i]);
                if !a.is_finite() || (a - b).abs() > 1e-12 * (a.abs() + b.abs()) {
                    return Err(CoreError::invalid(
                        "w0",
                        format!("entry ({i}, {j}) = {a}"),
                        "a finite symmetric matrix",
                    )
                    .into());
                }
                if covariance == CovarianceType::Diag && i != j && a != 0.0 {
                    return Err(CoreError::invalid(
                        "w0",
                        format!("entry ({i}, {j}) = {a}"),
                        "diagonal for covariance `diag`",
                    )
                    .into());
                }
            }
        }
        let l = cholesky(&w, d).ok_or(CoreError::NotPositiveDefinite {
            what: "w0",
            hint: "the Wishart scale W0 must be symmetric positive definite",
        })?;
        let ln_det_w0 = ln_det_from_chol(&l, d);
        let w0_inv = spd_inverse_from_chol(&l, d);
        Ok(Self {
            weights,
            beta0,
            m0,
            w0,
            nu0,
            covariance,
            w0_inv,
            ln_det_w0,
        })
    }

    /// The prior on the weights, with its concentration.
    pub fn weights(&self) -> Prior {
        self.weights
    }
    /// PRML (10.40): β₀, the prior precision scale of the means.
    pub fn beta0(&self) -> f64 {
        self.beta0
    }
    /// PRML (10.40): m₀, the prior mean of the means.
    pub fn m0(&self) -> &Array1<f64> {
        &self.m0
    }
    /// PRML (10.40): W₀, the Wishart scale matrix (E\[Λ\] = ν₀ W₀).
    pub fn w0(&self) -> &Array2<f64> {
        &self.w0
    }
    /// PRML (10.40): ν₀, the Wishart degrees of freedom.
    pub fn nu0(&self) -> f64 {
        self.nu0
    }
    /// Full or diagonal precisions.
    pub fn covariance(&self) -> CovarianceType {
        self.covariance
    }
    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.m0.len()
    }
    /// (dimension of a Wishart block, number of blocks): (D, 1) for full
    /// precisions, (1, D) for diagonal ones (D one-dimensional Wisharts).
    pub(crate) fn blocks(&self) -> (usize, usize) {
        match self.covariance {
            CovarianceType::Full => (self.dim(), 1),
            CovarianceType::Diag => (1, self.dim()),
        }
    }
}

/// q(π), the variational posterior of the mixing weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum WeightPosterior {
    /// PRML (10.57): q(π) = Dir(π | α) with α_k = α₀ + N_k (10.58).
    Dirichlet {
        /// α_k, length K.
        alpha: Array1<f64>,
    },
    /// Blei & Jordan (2006, eqs 18–19): q(v_k) = Beta(a_k, b_k) for k < K,
    /// a_k = 1 + N_k, b_k = γ + Σ_{j>k} N_j; v_K = 1.
    StickBreaking {
        /// a_k, length K − 1.
        a: Array1<f64>,
        /// b_k, length K − 1.
        b: Array1<f64>,
    },
}

impl WeightPosterior {
    /// PRML (10.66): E\[ln π_k\] = ψ(α_k) − ψ(α̂); stick-breaking (Blei & Jordan
    /// 2006, eq. 22): E\[ln π_k\] = E\[ln v_k\] + Σ_{j<k} E\[ln(1 − v_j)\] with
    /// E\[ln v\] = ψ(a) − ψ(a + b), E\[ln(1 − v)\] = ψ(b) − ψ(a + b), E\[ln v_K\] = 0.
    pub fn e_ln_pi(&self) -> Array1<f64> {
        match self {
            WeightPosterior::Dirichlet { alpha } => {
                let psi_hat = digamma(alpha.sum());
                alpha.mapv(|a| digamma(a) - psi_hat)
            }
            WeightPosterior::StickBreaking { a, b } => {
                let k = a.len() + 1;
                let mut out = Array1::zeros(k);
                let mut rest = 0.0;
                for j in 0..k {
                    if j + 1 < k {
                        let s = digamma(a[j] + b[j]);
                        out[j] = digamma(a[j]) - s + rest;
                        rest += digamma(b[j]) - s;
                    } else {
                        out[j] = rest;
                    }
                }
                out
            }
        }
    }

    /// E\[π_k\]: α_k / α̂ (PRML B.17), or E\[v_k\] Π_{j<k} (1 − E\[v_j\]) with
    /// E\[v\] = a / (a + b) (independent sticks under q).
    pub fn expected(&self) -> Array1<f64> {
        match self {
            WeightPosterior::Dirichlet { alpha } => alpha / alpha.sum(),
            WeightPosterior::StickBreaking { a, b } => {
                let k = a.len() + 1;
                let mut out = Array1::zeros(k);
                let mut rest = 1.0;
                for j in 0..k {
                    let ev = if j + 1 < k { a[j] / (a[j] + b[j]) } else { 1.0 };
                    out[j] = ev * rest;
                    rest *= 1.0 - ev;
                }
                out
            }
        }
    }
}

/// q(π) q(μ, Λ) of PRML (10.55)–(10.63).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Posterior {
    pub weights: WeightPosterior,
    /// β_k (10.60).
    pub beta: Array1<f64>,
    /// m_k (10.61), K × D.
    pub m: Array2<f64>,
    /// ν_k (10.63).
    pub nu: Array1<f64>,
    /// W_k⁻¹ (10.62), K × D × D.
    pub w_inv: Array3<f64>,
    /// W_k, K × D × D.
    pub w: Array3<f64>,
    /// Lower Cholesky factors of W_k⁻¹, row-major D × D each.
    pub chol_w_inv: Vec<Vec<f64>>,
    /// ln |W_k|.
    pub ln_det_w: Array1<f64>,
}

impl Posterior {
    /// The M-step (PRML 10.58, 10.60–10.63) from the statistics of q(Z):
    ///
    /// - α_k = α₀ + N_k (10.58), or the stick-breaking a_k, b_k;
    /// - β_k = β₀ + N_k (10.60);
    /// - m_k = (β₀ m₀ + N_k x̄_k) / β_k (10.61), with N_k x̄_k = N_k c_k + Σ r (x − c_k);
    /// - W_k⁻¹ = W₀⁻¹ + N_k S_k + β₀ N_k / (β₀ + N_k) (x̄_k − m₀)(x̄_k − m₀)ᵀ (10.62);
    /// - ν_k = ν₀ + N_k (10.63).
    ///
    /// For diagonal precisions, the diagonal of (10.62) per dimension. A
    /// component with N_k = 0 gets the prior back.
    pub fn update(prior: &GmmPrior, st: &SuffStats) -> Result<Self> {
        let (k, d) = (st.n_components(), st.dim());
        let diag = prior.covariance() == CovarianceType::Diag;
        let nk = &st.nk;
        let weights = match prior.weights() {
            Prior::Dirichlet { alpha0 } => WeightPosterior::Dirichlet {
                alpha: nk.mapv(|n| alpha0 + n),
            },
            Prior::DirichletProcess { gamma } => {
                let mut a = Array1::zeros(k - 1);
                let mut b = Array1::zeros(k - 1);
                // b_k = γ + Σ_{j>k} N_j, summed from the end (no cancellation).
                let mut tail = 0.0;
                for j in (0..k - 1).rev() {
                    tail += nk[j + 1];
                    a[j] = 1.0 + nk[j];
                    b[j] = gamma + tail;
                }
                WeightPosterior::StickBreaking { a, b }
            }
        };
        let beta0 = prior.beta0();
        let m0 = prior.m0();
        let beta = nk.mapv(|n| beta0 + n);
        let nu = nk.mapv(|n| prior.nu0() + n);
        let mut m = Array2::zeros((k, d));
        let mut w_inv = Array3::zeros((k, d, d));
        let mut w = Array3::zeros((k, d, d));
        let mut chol_w_inv = Vec::with_capacity(k);
        let mut ln_det_w = Array1::zeros(k);
        for c in 0..k {
            let n = nk[c];
            for j in 0..d {
                m[[c, j]] = (beta0 * m0[j] + n * st.center[[c, j]] + st.sx[[c, j]]) / beta[c];
            }
            let mut a = prior.w0_inv.clone();
            if n > 0.0 {
                let coef = beta0 * n / beta[c];
                let diff: Vec<f64> = (0..d)
                    .map(|j| st.center[[c, j]] + st.sx[[c, j]] / n - m0[j])
                    .collect();
                for i in 0..d {
                    for j in 0..d {
                        if diag && i != j {
                            continue;
                        }
                        let nksk = st.sxx[[c, i, j]] - st.sx[[c, i]] * st.sx[[c, j]] / n;
                        a[i * d + j] += nksk + coef * diff[i] * diff[j];
                    }
                }
            }
            let l = cholesky(&a, d).ok_or(Error::Numerical {
                what: "the Cholesky factorisation of W_k^-1 (PRML 10.62)",
                hint: "the data are nearly collinear at this scale; standardise them or give a larger W0^-1 (smaller w0)",
            })?;
            ln_det_w[c] = -ln_det_from_chol(&l, d);
            let wc = spd_inverse_from_chol(&l, d);
            for i in 0..d {
                for j in 0..d {
                    w_inv[[c, i, j]] = a[i * d + j];
                    w[[c, i, j]] = wc[i * d + j];
                }
            }
            chol_w_inv.push(l);
        }
        Ok(Self {
            weights,
            beta,
            m,
            nu,
            w_inv,
            w,
            chol_w_inv,
            ln_det_w,
        })
    }

    pub fn n_components(&self) -> usize {
        self.beta.len()
    }

    pub fn dim(&self) -> usize {
        self.m.ncols()
    }

    /// PRML (10.65): ln Λ̃_k = E\[ln |Λ_k|\] = Σ_{i=1}^{D} ψ((ν_k + 1 − i)/2) + D ln 2 + ln |W_k|
    /// (for diagonal precisions, the sum of D one-dimensional cases).
    pub fn e_ln_det_lambda(&self, prior: &GmmPrior) -> Array1<f64> {
        let d = self.dim();
        let (bd, nb) = prior.blocks();
        Array1::from_shape_fn(self.n_components(), |c| {
            nb as f64 * multi_digamma_half(self.nu[c], bd)
                + d as f64 * std::f64::consts::LN_2
                + self.ln_det_w[c]
        })
    }

    /// The E-step quantities (PRML 10.46 with 10.64–10.66):
    /// ln ρ_nk = E\[ln π_k\] + ½ E\[ln |Λ_k|\] − (D/2) ln 2π − D/(2β_k) − (ν_k/2)(x − m_k)ᵀ W_k (x − m_k),
    /// with A_k = √ν_k · chol(W_k⁻¹)⁻¹ so that ν_k (x − m)ᵀ W_k (x − m) = ‖A_k (x − m)‖².
    pub fn components(&self, prior: &GmmPrior) -> Components {
        let (k, d) = (self.n_components(), self.dim());
        let diag = prior.covariance() == CovarianceType::Diag;
        let e_ln_pi = self.weights.e_ln_pi();
        let e_ln_det = self.e_ln_det_lambda(prior);
        let df = d as f64;
        let log_const = (0..k)
            .map(|c| {
                e_ln_pi[c] + 0.5 * e_ln_det[c]
                    - 0.5 * df * (2.0 * PI).ln()
                    - 0.5 * df / self.beta[c]
            })
            .collect();
        let mut factor = Vec::with_capacity(if diag { k * d } else { k * d * d });
        for c in 0..k {
            let s = self.nu[c].sqrt();
            if diag {
                factor.extend((0..d).map(|j| s / self.chol_w_inv[c][j * d + j]));
            } else {
                factor.extend(inv_lower(&self.chol_w_inv[c], d).into_iter().map(|v| v * s));
            }
        }
        Components {
            k,
            d,
            diag,
            mean: self.m.iter().copied().collect(),
            factor,
            log_const,
        }
    }

    /// (ν_k W_k)⁻¹ = W_k⁻¹ / ν_k: the inverse of E\[Λ_k\] (B.80), K × D × D.
    pub fn covariances(&self) -> Array3<f64> {
        let mut out = self.w_inv.clone();
        for (c, mut m) in out.axis_iter_mut(Axis(0)).enumerate() {
            m /= self.nu[c];
        }
        out
    }
}
