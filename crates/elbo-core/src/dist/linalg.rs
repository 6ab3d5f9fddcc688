//! A small dense Cholesky factorisation for the D×D matrices of the
//! distributions (covariances, precisions, Wishart scales).
//!
//! These matrices are small (D is the data dimension, rarely above a few
//! dozen) and enter through ndarray; a 60-line factorisation here costs less
//! than converting to and from faer at every call, and is tested below
//! against hand-computed factors. Golub & Van Loan, *Matrix Computations*,
//! 4th ed., Algorithm 4.2.1 (the Cholesky–Banachiewicz order).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::{Error, Result};

/// The lower Cholesky factor L of a symmetric positive-definite A = L Lᵀ.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cholesky {
    l: Array2<f64>,
}

impl Cholesky {
    /// Factor `a`, validated as a user-supplied parameter named `name`: square,
    /// non-empty, finite, symmetric up to 1e-8 of its largest entry, positive
    /// definite. Returns the symmetrised matrix ½(A + Aᵀ) with its factor.
    pub(crate) fn checked(name: &'static str, a: ArrayView2<f64>) -> Result<(Array2<f64>, Self)> {
        let (r, c) = a.dim();
        if r != c {
            return Err(Error::Shape(format!(
                "`{name}` must be square, got {r}×{c}"
            )));
        }
        if r == 0 {
            return Err(Error::invalid(name, "a 0×0 matrix", "at least 1×1"));
        }
        if let Some(v) = a.iter().find(|v| !v.is_finite()) {
            return Err(Error::invalid(name, v, "finite in every entry"));
        }
        let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        for i in 0..r {
            for j in 0..i {
                if (a[(i, j)] - a[(j, i)]).abs() > 1e-8 * scale {
                    return Err(Error::invalid(
                        name,
                        format!(
                            "a matrix with [{i},{j}] = {} but [{j},{i}] = {}",
                            a[(i, j)],
                            a[(j, i)]
                        ),
                        "symmetric",
                    ));
                }
            }
        }
        let sym = symmetrise(a);
        let chol = Self::new(sym.view()).ok_or(Error::NotPositiveDefinite {
            what: name,
            hint: "check that it is a valid covariance / precision / scale matrix \
                   (all eigenvalues > 0), or add a small multiple of the identity",
        })?;
        Ok((sym, chol))
    }

    /// Factor a symmetric matrix (only the lower triangle is read), or `None`
    /// when it is not numerically positive definite.
    pub(crate) fn new(a: ArrayView2<f64>) -> Option<Self> {
        let n = a.nrows();
        let mut l = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            for j in 0..=i {
                let mut s = a[(i, j)];
                for k in 0..j {
                    s -= l[(i, k)] * l[(j, k)];
                }
                if i == j {
                    // Not positive (NaN included): not positive definite.
                    if s.is_nan() || s <= 0.0 {
                        return None;
                    }
                    l[(i, i)] = s.sqrt();
                } else {
                    l[(i, j)] = s / l[(j, j)];
                }
            }
        }
        Some(Self { l })
    }

    /// The factor of diag(s²) from positive `s`: L = diag(s).
    pub(crate) fn from_diag_sqrt(s: Array1<f64>) -> Self {
        Self {
            l: Array2::from_diag(&s),
        }
    }

    /// The dimension D.
    pub(crate) fn dim(&self) -> usize {
        self.l.nrows()
    }

    /// The lower factor L.
    pub(crate) fn l(&self) -> &Array2<f64> {
        &self.l
    }

    /// ln |A| = 2 Σ ln L_ii.
    pub(crate) fn ln_det(&self) -> f64 {
        2.0 * self.l.diag().iter().map(|v| v.ln()).sum::<f64>()
    }

    /// L⁻¹ b by forward substitution.
    pub(crate) fn solve_l(&self, b: ArrayView1<f64>) -> Array1<f64> {
        let n = self.dim();
        let mut y = b.to_owned();
        for i in 0..n {
            let mut s = y[i];
            for k in 0..i {
                s -= self.l[(i, k)] * y[k];
            }
            y[i] = s / self.l[(i, i)];
        }
        y
    }

    /// L⁻ᵀ b by back substitution.
    pub(crate) fn solve_lt(&self, b: ArrayView1<f64>) -> Array1<f64> {
        let n = self.dim();
        let mut y = b.to_owned();
        for i in (0..n).rev() {
            let mut s = y[i];
            for k in i + 1..n {
                s -= self.l[(k, i)] * y[k];
            }
            y[i] = s / self.l[(i, i)];
        }
        y
    }

    /// bᵀ A⁻¹ b = ‖L⁻¹ b‖².
    pub(crate) fn inv_quad(&self, b: ArrayView1<f64>) -> f64 {
        self.solve_l(b).iter().map(|v| v * v).sum()
    }

    /// A⁻¹ = L⁻ᵀ L⁻¹, exactly symmetric.
    pub(crate) fn inverse(&self) -> Array2<f64> {
        let n = self.dim();
        let mut inv = Array2::<f64>::zeros((n, n));
        let mut e = Array1::<f64>::zeros(n);
        for j in 0..n {
            e.fill(0.0);
            e[j] = 1.0;
            let col = self.solve_lt(self.solve_l(e.view()).view());
            inv.column_mut(j).assign(&col);
        }
        symmetrise(inv.view())
    }
}

/// ½(A + Aᵀ).
pub(crate) fn symmetrise(a: ArrayView2<f64>) -> Array2<f64> {
    (&a + &a.t()) * 0.5
}

/// tr(A B) = Σ_ij A_ij B_ji.
pub(crate) fn trace_of_product(a: ArrayView2<f64>, b: ArrayView2<f64>) -> f64 {
    (&a * &b.t()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::array;

    #[test]
    fn factor_of_a_known_matrix() {
        // A = L Lᵀ with L = [[2,0,0],[1,3,0],[−1,2,1]].
        let l = array![[2.0, 0.0, 0.0], [1.0, 3.0, 0.0], [-1.0, 2.0, 1.0]];
        let a = l.dot(&l.t());
        let (sym, c) = Cholesky::checked("A", a.view()).expect("positive definite");
        assert_eq!(sym, a);
        for (x, y) in c.l().iter().zip(l.iter()) {
            assert_relative_eq!(*x, *y, epsilon = 1e-14);
        }
        // |A| = |L|² = (2 · 3 · 1)² = 36.
        assert_relative_eq!(c.ln_det(), 36f64.ln(), epsilon = 1e-13);
        let eye = a.dot(&c.inverse());
        for i in 0..3 {
            for j in 0..3 {
                assert_relative_eq!(eye[(i, j)], f64::from(u8::from(i == j)), epsilon = 1e-12);
            }
        }
        let b = array![1.0, -2.0, 0.5];
        let x = c.inverse().dot(&b);
        assert_relative_eq!(c.inv_quad(b.view()), b.dot(&x), epsilon = 1e-12);
        let y = c.solve_lt(c.solve_l(b.view()).view());
        for (u, v) in x.iter().zip(y.iter()) {
            assert_relative_eq!(*u, *v, epsilon = 1e-12);
        }
        assert_relative_eq!(
            trace_of_product(a.view(), c.inverse().view()),
            3.0,
            epsilon = 1e-12
        );
    }

    #[test]
    fn rejects_non_square() {
        let a = Array2::<f64>::zeros((2, 3));
        assert!(matches!(
            Cholesky::checked("A", a.view()),
            Err(Error::Shape(_))
        ));
    }

    #[test]
    fn rejects_empty() {
        let a = Array2::<f64>::zeros((0, 0));
        assert!(matches!(
            Cholesky::checked("A", a.view()),
            Err(Error::InvalidParam { .. })
        ));
    }

    #[test]
    fn rejects_non_finite() {
        let a = array![[1.0, f64::NAN], [f64::NAN, 1.0]];
        assert!(matches!(
            Cholesky::checked("A", a.view()),
            Err(Error::InvalidParam { .. })
        ));
    }

    #[test]
    fn rejects_asymmetric() {
        let a = array![[2.0, 0.5], [0.4, 2.0]];
        assert!(matches!(
            Cholesky::checked("A", a.view()),
            Err(Error::InvalidParam { .. })
        ));
    }

    #[test]
    fn rejects_indefinite_and_semidefinite() {
        for a in [
            array![[1.0, 2.0], [2.0, 1.0]],
            array![[1.0, 1.0], [1.0, 1.0]],
        ] {
            assert!(matches!(
                Cholesky::checked("A", a.view()),
                Err(Error::NotPositiveDefinite { what: "A", .. })
            ));
        }
    }
}
