//! The one dense step of the updates: factor the posterior precision
//! S_N⁻¹ (PRML 10.158 / 10.176) by Cholesky with faer 0.24, and read off
//! S_N, m_N = S_N b and ln|S_N| from the factor.
//!
//! faer's `Mat::llt(Side::Lower)` reads the lower triangle only, returns
//! `Err(LltError::NonPositivePivot)` instead of panicking when the matrix is
//! not numerically positive definite, and its factor gives the
//! log-determinant as 2 Σ ln L_ii (Golub & Van Loan, *Matrix Computations*,
//! 4th ed., §4.2). The matrices here are M × M with M the number of weights
//! (31 for breast cancer with its intercept), so copying them between
//! ndarray and faer costs nothing next to forming Φᵀ Λ Φ.

use faer::Mat;
use faer::linalg::solvers::{DenseSolveCore, Solve};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::{Error, Result};

/// A symmetric positive-definite matrix P factored as P = L Lᵀ.
pub(crate) struct SpdFactor {
    llt: faer::linalg::solvers::Llt<f64>,
    n: usize,
}

impl SpdFactor {
    /// Factor `p` (only its lower triangle is read). `what` names the matrix
    /// in the error when it is not numerically positive definite.
    pub(crate) fn new(p: ArrayView2<f64>, what: &'static str) -> Result<Self> {
        let n = p.nrows();
        assert_eq!(n, p.ncols(), "SpdFactor::new: square matrix expected");
        let m = Mat::<f64>::from_fn(n, n, |i, j| p[(i, j)]);
        let llt = m.llt(faer::Side::Lower).map_err(|_| Error::Numerical {
            what,
            hint: "the posterior precision is not numerically positive definite; \
                   standardise the inputs, remove duplicated or constant columns, \
                   or raise the prior precision (with_fixed_alpha, or a0 / b0)",
        })?;
        Ok(Self { llt, n })
    }

    /// ln|P| = 2 Σ_i ln L_ii.
    pub(crate) fn ln_det(&self) -> f64 {
        let l = self.llt.L();
        (0..self.n).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0
    }

    /// P⁻¹, symmetrised (½(A + Aᵀ)) so that round-off cannot make it
    /// asymmetric.
    pub(crate) fn inverse(&self) -> Array2<f64> {
        let inv = self.llt.inverse();
        Array2::from_shape_fn((self.n, self.n), |(i, j)| 0.5 * (inv[(i, j)] + inv[(j, i)]))
    }

    /// The solution x of P x = b.
    pub(crate) fn solve(&self, b: ArrayView1<f64>) -> Array1<f64> {
        assert_eq!(b.len(), self.n, "SpdFactor::solve: length mismatch");
        let rhs = Mat::<f64>::from_fn(self.n, 1, |i, _| b[i]);
        let x = self.llt.solve(&rhs);
        Array1::from_shape_fn(self.n, |i| x[(i, 0)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn factor_inverse_solve_and_log_det_match_hand_computation() {
        // P = [[4, 2], [2, 3]]: |P| = 8, P⁻¹ = [[3, −2], [−2, 4]] / 8.
        let p = array![[4.0, 2.0], [2.0, 3.0]];
        let f = SpdFactor::new(p.view(), "P").unwrap();
        assert!((f.ln_det() - 8.0_f64.ln()).abs() < 1e-14);
        let inv = f.inverse();
        let want = array![[3.0, -2.0], [-2.0, 4.0]] / 8.0;
        assert!((&inv - &want).iter().all(|d| d.abs() < 1e-15), "{inv}");
        let x = f.solve(array![1.0, 2.0].view());
        // P x = b  ⇒  x = P⁻¹ b = [−1, 6] / 8.
        assert!(
            (x[0] + 0.125).abs() < 1e-15 && (x[1] - 0.75).abs() < 1e-15,
            "{x}"
        );
    }

    #[test]
    fn only_the_lower_triangle_is_read() {
        let p = array![[4.0, 99.0], [2.0, 3.0]];
        let f = SpdFactor::new(p.view(), "P").unwrap();
        assert!((f.ln_det() - 8.0_f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn indefinite_and_nan_matrices_are_numerical_errors_not_panics() {
        let p = array![[1.0, 2.0], [2.0, 1.0]];
        let e = SpdFactor::new(p.view(), "S_N^-1").err().unwrap();
        assert!(matches!(e, Error::Numerical { what: "S_N^-1", .. }), "{e}");
        let p = array![[f64::NAN, 0.0], [0.0, 1.0]];
        assert!(SpdFactor::new(p.view(), "P").is_err());
    }
}
