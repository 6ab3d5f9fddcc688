//! Basis functions φ(x) for the linear models (PRML §3.1, eq. 3.2:
//! y(x, w) = Σ_j w_j φ_j(x) with φ_0(x) = 1, the bias).
//!
//! Each function returns the design matrix Φ of PRML (3.16), one row
//! φ(x_n)ᵀ per observation.

use ndarray::{Array2, ArrayView1, ArrayView2, s};

/// The polynomial design matrix of PRML (1.1) / (3.16): row n is
/// (1, x_n, x_n², …, x_n^degree), so Φ is N × (degree + 1).
///
/// Powers are formed by repeated multiplication, x^j = x^{j−1} · x, which is
/// exact for the first power and accurate to a few ulps for the rest.
/// Values are not checked here: the models' `fit` rejects NaN and ±∞.
pub fn polynomial(x: ArrayView1<f64>, degree: usize) -> Array2<f64> {
    let mut phi = Array2::<f64>::ones((x.len(), degree + 1));
    for j in 1..=degree {
        let (previous, mut rest) = phi.multi_slice_mut((s![.., j - 1], s![.., j..=j]));
        let mut current = rest.column_mut(0);
        ndarray::Zip::from(&mut current)
            .and(&previous)
            .and(&x)
            .for_each(|c, &p, &xi| *c = p * xi);
    }
    phi
}

/// Prepend a column of ones, the bias basis function φ_0(x) = 1 of PRML
/// (3.3): an N × D input becomes the N × (D + 1) design matrix (1, x).
pub fn with_bias(x: ArrayView2<f64>) -> Array2<f64> {
    let mut phi = Array2::<f64>::ones((x.nrows(), x.ncols() + 1));
    phi.slice_mut(s![.., 1..]).assign(&x);
    phi
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn polynomial_has_the_powers_as_columns() {
        let x = array![2.0, -0.5, 0.0];
        let phi = polynomial(x.view(), 3);
        assert_eq!(
            phi,
            array![
                [1.0, 2.0, 4.0, 8.0],
                [1.0, -0.5, 0.25, -0.125],
                [1.0, 0.0, 0.0, 0.0]
            ]
        );
        // degree 0 is the bias alone
        assert_eq!(polynomial(x.view(), 0), array![[1.0], [1.0], [1.0]]);
        // no rows stays no rows
        assert_eq!(
            polynomial(ndarray::Array1::zeros(0).view(), 2).dim(),
            (0, 3)
        );
    }

    #[test]
    fn with_bias_prepends_ones() {
        let x = array![[3.0, 4.0], [5.0, 6.0]];
        assert_eq!(
            with_bias(x.view()),
            array![[1.0, 3.0, 4.0], [1.0, 5.0, 6.0]]
        );
        // also for a column-major (transposed) view
        let xt = x.t();
        assert_eq!(with_bias(xt), array![[1.0, 3.0, 5.0], [1.0, 4.0, 6.0]]);
    }
}
