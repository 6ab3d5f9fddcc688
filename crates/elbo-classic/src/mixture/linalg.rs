//! Small dense D×D linear algebra on row-major slices: the Cholesky
//! factorisation, triangular inverses and the products the mixture updates
//! need. D is small (≤ a few hundred) and these run once per component per
//! iteration, so a few lines of our own cost less than converting to faer
//! at every call (the same choice as `elbo_core::dist`).

/// The lower Cholesky factor L of a symmetric positive-definite `a`
/// (row-major d×d): a = L Lᵀ. `None` when a pivot is not positive and
/// finite (the matrix is not numerically positive definite).
pub(crate) fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    debug_assert_eq!(a.len(), d * d);
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for p in 0..j {
                s -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// ln |A| = 2 Σ_i ln L_ii from the Cholesky factor L of A.
pub(crate) fn ln_det_from_chol(l: &[f64], d: usize) -> f64 {
    2.0 * (0..d).map(|i| l[i * d + i].ln()).sum::<f64>()
}

/// L⁻¹ (lower triangular) of a lower-triangular L with a positive diagonal.
pub(crate) fn inv_lower(l: &[f64], d: usize) -> Vec<f64> {
    let mut x = vec![0.0; d * d];
    for c in 0..d {
        x[c * d + c] = 1.0 / l[c * d + c];
        for r in c + 1..d {
            let mut s = 0.0;
            for p in c..r {
                s -= l[r * d + p] * x[p * d + c];
            }
            x[r * d + c] = s / l[r * d + r];
        }
    }
    x
}

/// A⁻¹ = L⁻ᵀ L⁻¹ from the Cholesky factor L of A (symmetric result).
pub(crate) fn spd_inverse_from_chol(l: &[f64], d: usize) -> Vec<f64> {
    let li = inv_lower(l, d);
    let mut out = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            // (L⁻ᵀ L⁻¹)_ij = Σ_p (L⁻¹)_pi (L⁻¹)_pj, nonzero for p ≥ max(i, j) = i.
            let s: f64 = (i..d).map(|p| li[p * d + i] * li[p * d + j]).sum();
            out[i * d + j] = s;
            out[j * d + i] = s;
        }
    }
    out
}

/// vᵀ A v for a symmetric row-major A.
pub(crate) fn quad_form(a: &[f64], v: &[f64]) -> f64 {
    let d = v.len();
    let mut s = 0.0;
    for i in 0..d {
        let mut row = 0.0;
        for j in 0..d {
            row += a[i * d + j] * v[j];
        }
        s += v[i] * row;
    }
    s
}

/// Tr(A B) = Σ_ij A_ij B_ji; for symmetric A, B this is Σ_ij A_ij B_ij.
pub(crate) fn trace_prod(a: &[f64], b: &[f64], d: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..d {
        for j in 0..d {
            s += a[i * d + j] * b[j * d + i];
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_inverse_and_determinant_of_a_known_matrix() {
        // A = [[4, 2], [2, 3]]: |A| = 8, A⁻¹ = [[3, −2], [−2, 4]] / 8.
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        assert!((l[0] - 2.0).abs() < 1e-15 && (l[2] - 1.0).abs() < 1e-15);
        assert!((ln_det_from_chol(&l, 2) - 8f64.ln()).abs() < 1e-14);
        let inv = spd_inverse_from_chol(&l, 2);
        for (x, y) in inv.iter().zip([3.0 / 8.0, -0.25, -0.25, 0.5]) {
            assert!((x - y).abs() < 1e-15, "{inv:?}");
        }
        assert!((quad_form(&a, &[1.0, -1.0]) - 3.0).abs() < 1e-15);
        assert!((trace_prod(&a, &inv, 2) - 2.0).abs() < 1e-14);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
        assert!(cholesky(&[0.0], 1).is_none());
    }
}
