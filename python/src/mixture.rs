//! The fitted Bayesian Gaussian mixture as plain arrays, and the two
//! quantities its Python estimator evaluates on new points: the
//! responsibilities (PRML 10.46–10.49) and the Student-t mixture predictive
//! density (PRML 10.81–10.82).
//!
//! elbo-classic keeps a fitted mixture (`VgmmFit`, `SviGmm`) as Rust state
//! that cannot be pickled; the Python estimators store its variational
//! parameters as numpy arrays instead (scikit-learn's fitted attributes) and
//! evaluate them here. The formulas are those of
//! `elbo_classic::mixture` (`Posterior::components`, `predictive.rs`); the
//! tests at the foot of this file check them against `VgmmFit` number for
//! number.

use std::f64::consts::{LN_2, PI};

use elbo_classic::mixture::{CovarianceType, VgmmFit};
use elbo_core::Error as CoreError;
use elbo_core::special::{ln_gamma, log_sum_exp, multi_digamma_half};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

/// q(π) q(μ, Λ) of a fitted mixture with K components in D dimensions, as
/// arrays: everything the E-step and the predictive density read.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureArrays {
    /// Full or diagonal precisions.
    pub covariance: CovarianceType,
    /// E\[ln π_k\] (PRML 10.66, or Blei & Jordan 2006 eq. 22), K.
    pub e_ln_pi: Array1<f64>,
    /// E\[π_k\] (PRML B.17), K.
    pub weights: Array1<f64>,
    /// β_k (PRML 10.60), K.
    pub beta: Array1<f64>,
    /// m_k (PRML 10.61), K × D.
    pub m: Array2<f64>,
    /// W_k (PRML 10.62), K × D × D (diagonal matrices for diagonal precisions).
    pub w: Array3<f64>,
    /// ν_k (PRML 10.63), K.
    pub nu: Array1<f64>,
}

/// Per component: the Cholesky factor of W_k (row-major lower triangle, or
/// the square roots of the diagonal) and ln |W_k|.
struct Factor {
    chol: Vec<f64>,
    ln_det: f64,
}

impl MixtureArrays {
    /// The arrays of a fitted `VgmmFit`.
    pub fn from_vgmm(fit: &VgmmFit) -> Self {
        Self {
            covariance: fit.prior().covariance(),
            e_ln_pi: fit.weight_posterior().e_ln_pi(),
            weights: fit.weights(),
            beta: fit.beta_k().clone(),
            m: fit.m_k().clone(),
            w: fit.w_k().clone(),
            nu: fit.nu_k().clone(),
        }
    }

    /// Assemble from the arrays a Python estimator stores, checking that
    /// their shapes agree (K components, D dimensions).
    pub fn from_views(
        covariance: CovarianceType,
        e_ln_pi: ArrayView1<f64>,
        weights: ArrayView1<f64>,
        beta: ArrayView1<f64>,
        m: ArrayView2<f64>,
        w: ArrayView3<f64>,
        nu: ArrayView1<f64>,
    ) -> elbo_classic::Result<Self> {
        let (k, d) = m.dim();
        let ok = e_ln_pi.len() == k
            && weights.len() == k
            && beta.len() == k
            && nu.len() == k
            && w.dim() == (k, d, d);
        if !ok {
            return Err(CoreError::Shape(format!(
                "inconsistent mixture arrays: means are {k} x {d}, precisions {:?}, \
                 {} weights, {} beta, {} nu",
                w.dim(),
                weights.len(),
                beta.len(),
                nu.len()
            ))
            .into());
        }
        Ok(Self {
            covariance,
            e_ln_pi: e_ln_pi.to_owned(),
            weights: weights.to_owned(),
            beta: beta.to_owned(),
            m: m.to_owned(),
            w: w.to_owned(),
            nu: nu.to_owned(),
        })
    }

    /// The number of components K.
    pub fn k(&self) -> usize {
        self.m.nrows()
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.m.ncols()
    }

    fn diag(&self) -> bool {
        self.covariance == CovarianceType::Diag
    }

    /// The Cholesky factors of every W_k; an error when one is not
    /// positive definite (arrays edited by hand).
    fn factors(&self) -> elbo_classic::Result<Vec<Factor>> {
        let d = self.dim();
        (0..self.k())
            .map(|c| {
                let w = self.w.index_axis(Axis(0), c);
                let chol = if self.diag() {
                    (0..d)
                        .map(|j| w[[j, j]])
                        .map(|v| if v > 0.0 { Some(v.sqrt()) } else { None })
                        .collect::<Option<Vec<f64>>>()
                } else {
                    cholesky(w)
                };
                let chol = chol.ok_or(CoreError::NotPositiveDefinite {
                    what: "a component's Wishart scale W_k",
                    hint: "the fitted arrays were changed; refit the model",
                })?;
                let ln_det = 2.0
                    * (0..d)
                        .map(|j| {
                            if self.diag() {
                                chol[j]
                            } else {
                                chol[j * d + j]
                            }
                        })
                        .map(f64::ln)
                        .sum::<f64>();
                Ok(Factor { chol, ln_det })
            })
            .collect()
    }

    /// ‖Lᵀ(x − m_k)‖² = (x − m_k)ᵀ W_k (x − m_k) with W_k = L Lᵀ.
    fn quad(&self, f: &Factor, c: usize, x: ArrayView1<f64>) -> f64 {
        let d = self.dim();
        if self.diag() {
            (0..d)
                .map(|j| {
                    let y = f.chol[j] * (x[j] - self.m[[c, j]]);
                    y * y
                })
                .sum()
        } else {
            // (Lᵀ δ)_j = Σ_{i ≥ j} L_ij δ_i
            (0..d)
                .map(|j| {
                    let y: f64 = (j..d)
                        .map(|i| f.chol[i * d + j] * (x[i] - self.m[[c, i]]))
                        .sum();
                    y * y
                })
                .sum()
        }
    }

    /// PRML (10.46) with (10.64)–(10.66), normalised (10.49): the
    /// responsibilities r_nk of the rows of `x` (N × D) under q,
    /// ln ρ_nk = E\[ln π_k\] + ½ E\[ln |Λ_k|\] − (D/2) ln 2π − D/(2β_k)
    ///          − (ν_k/2)(x − m_k)ᵀ W_k (x − m_k),
    /// with E\[ln |Λ_k|\] = Σ_{i=1}^{D} ψ((ν_k + 1 − i)/2) + D ln 2 + ln |W_k|
    /// (for diagonal precisions, D one-dimensional cases).
    pub fn responsibilities(&self, x: ArrayView2<f64>) -> elbo_classic::Result<Array2<f64>> {
        self.check_points(x)?;
        let (k, d) = (self.k(), self.dim());
        let df = d as f64;
        let factors = self.factors()?;
        let consts: Vec<f64> = (0..k)
            .map(|c| {
                let e_ln_det = if self.diag() {
                    df * multi_digamma_half(self.nu[c], 1)
                } else {
                    multi_digamma_half(self.nu[c], d)
                } + df * LN_2
                    + factors[c].ln_det;
                self.e_ln_pi[c] + 0.5 * e_ln_det
                    - 0.5 * df * (2.0 * PI).ln()
                    - 0.5 * df / self.beta[c]
            })
            .collect();
        let mut r = Array2::zeros((x.nrows(), k));
        let mut ln_rho = vec![0.0; k];
        for (xr, mut rr) in x.outer_iter().zip(r.outer_iter_mut()) {
            for c in 0..k {
                ln_rho[c] = consts[c] - 0.5 * self.nu[c] * self.quad(&factors[c], c, xr);
            }
            let norm = log_sum_exp(&ln_rho);
            for c in 0..k {
                rr[c] = (ln_rho[c] - norm).exp();
            }
        }
        Ok(r)
    }

    /// PRML (10.81)–(10.82): ln p(x̂ | X) ≈ ln Σ_k E\[π_k\] St(x̂ | m_k, L_k, ν_k + 1 − D)
    /// with L_k = ((ν_k + 1 − D) β_k / (1 + β_k)) W_k and the Student-t of
    /// PRML (2.162); for diagonal precisions each component is a product of
    /// D one-dimensional Student-t densities. One value per row of `x`.
    pub fn log_predictive(&self, x: ArrayView2<f64>) -> elbo_classic::Result<Array1<f64>> {
        self.check_points(x)?;
        let (k, d) = (self.k(), self.dim());
        let bd = if self.diag() { 1.0 } else { d as f64 };
        let blocks = d as f64 / bd;
        let factors = self.factors()?;
        let comps: Vec<(f64, f64, f64)> = (0..k)
            .map(|c| {
                let dof = self.nu[c] + 1.0 - bd;
                let ell = dof * self.beta[c] / (1.0 + self.beta[c]);
                let cst = self.weights[c].ln()
                    + blocks
                        * (ln_gamma(0.5 * (dof + bd))
                            - ln_gamma(0.5 * dof)
                            - 0.5 * bd * (dof * PI).ln())
                    + 0.5 * (d as f64 * ell.ln() + factors[c].ln_det);
                (dof, ell, cst)
            })
            .collect();
        let mut terms = vec![0.0; k];
        let out = x
            .outer_iter()
            .map(|xr| {
                for (c, &(dof, ell, cst)) in comps.iter().enumerate() {
                    terms[c] = if self.diag() {
                        cst - (0..d)
                            .map(|j| {
                                let y = factors[c].chol[j] * (xr[j] - self.m[[c, j]]);
                                0.5 * (dof + 1.0) * (ell * y * y / dof).ln_1p()
                            })
                            .sum::<f64>()
                    } else {
                        let q = ell * self.quad(&factors[c], c, xr);
                        cst - 0.5 * (dof + bd) * (q / dof).ln_1p()
                    };
                }
                log_sum_exp(&terms)
            })
            .collect();
        Ok(out)
    }

    fn check_points(&self, x: ArrayView2<f64>) -> elbo_classic::Result<()> {
        let d = self.dim();
        if x.ncols() != d {
            return Err(CoreError::Shape(format!(
                "the model was fitted on {d} columns but the data have {}",
                x.ncols()
            ))
            .into());
        }
        if let Some(((i, j), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(CoreError::Data(format!(
                "row {}, column {} is not finite ({v})",
                i + 1,
                j + 1
            ))
            .into());
        }
        Ok(())
    }
}

/// The lower Cholesky factor (row-major) of a symmetric positive definite
/// D × D matrix; `None` when it is not positive definite.
fn cholesky(a: ArrayView2<f64>) -> Option<Vec<f64>> {
    let d = a.nrows();
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|p| l[i * d + p] * l[j * d + p]).sum();
            let v = a[[i, j]] - s;
            if i == j {
                if v.is_nan() || v <= 0.0 {
                    return None;
                }
                l[i * d + i] = v.sqrt();
            } else {
                l[i * d + j] = v / l[j * d + j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use elbo_classic::mixture::{Prior, Vgmm, blobs};

    fn fitted(cov: CovarianceType, prior: Prior) -> (VgmmFit, Array2<f64>) {
        let (x, _) = blobs(300, 3, 3, 1.0, 7);
        let fit = Vgmm::params(4)
            .with_prior(prior)
            .with_covariance(cov)
            .with_seed(3)
            .fit(x.view())
            .expect("a fit on well-separated blobs");
        (fit, x)
    }

    /// The arrays give the library's own responsibilities and predictive
    /// density, for both covariance types and both weight priors.
    #[test]
    fn arrays_reproduce_the_library() {
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            for prior in [
                Prior::Dirichlet { alpha0: 0.25 },
                Prior::DirichletProcess { gamma: 0.25 },
            ] {
                let (fit, x) = fitted(cov, prior);
                let arrays = MixtureArrays::from_vgmm(&fit);
                let r = arrays.responsibilities(x.view()).unwrap();
                let r_lib = fit.predict_proba(x.view()).unwrap();
                // the library zeroes responsibilities below 2^-64
                assert_abs_diff_eq!(r, r_lib, epsilon = 1e-12);
                let lp = arrays.log_predictive(x.view()).unwrap();
                let lp_lib = fit.log_predictive(x.view()).unwrap();
                assert_abs_diff_eq!(lp, lp_lib, epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn wrong_columns_and_nan_are_errors() {
        let (fit, x) = fitted(CovarianceType::Full, Prior::Dirichlet { alpha0: 1.0 });
        let arrays = MixtureArrays::from_vgmm(&fit);
        let two = x.slice(ndarray::s![.., ..2]);
        let e = arrays.responsibilities(two).unwrap_err().to_string();
        assert!(e.contains("3 columns"), "{e}");
        let mut bad = x.clone();
        bad[[4, 1]] = f64::NAN;
        let e = arrays.log_predictive(bad.view()).unwrap_err().to_string();
        assert!(e.contains("row 5, column 2"), "{e}");
    }

    #[test]
    fn inconsistent_shapes_and_indefinite_scales_are_errors() {
        let (fit, x) = fitted(CovarianceType::Full, Prior::Dirichlet { alpha0: 1.0 });
        let a = MixtureArrays::from_vgmm(&fit);
        let short = a.beta.slice(ndarray::s![..2]);
        let e = MixtureArrays::from_views(
            a.covariance,
            a.e_ln_pi.view(),
            a.weights.view(),
            short,
            a.m.view(),
            a.w.view(),
            a.nu.view(),
        );
        assert!(e.is_err());
        let mut b = a.clone();
        b.w.fill(0.0);
        assert!(b.responsibilities(x.view()).is_err());
    }

    #[test]
    fn cholesky_factors_a_known_matrix() {
        let a = ndarray::array![[4.0, 2.0], [2.0, 3.0]];
        let l = cholesky(a.view()).unwrap();
        assert_abs_diff_eq!(
            l.as_slice(),
            [2.0, 0.0, 1.0, 2f64.sqrt()].as_slice(),
            epsilon = 1e-15
        );
        assert!(cholesky(ndarray::array![[1.0, 2.0], [2.0, 1.0]].view()).is_none());
    }
}
