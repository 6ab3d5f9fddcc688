//! The dense linear algebra of the linear models, on faer: the Gram matrix
//! ΦᵀΦ (the only O(N·D²) step), and a Gaussian from its precision matrix by
//! Cholesky (the O(D³) step of each iteration).

use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::linalg::solvers::{DenseSolveCore, Llt, Solve};
use faer::{Accum, Mat, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::Result;
use elbo_core::Error as CoreError;

/// Call `f` with a faer view of `x`: no copy when `x` is contiguous in
/// either order (ndarray's default row-major, or column-major), one copy
/// into row-major order otherwise.
pub(crate) fn with_faer<R>(x: ArrayView2<'_, f64>, f: impl FnOnce(MatRef<'_, f64>) -> R) -> R {
    let (n, d) = x.dim();
    if let Some(s) = x.as_slice() {
        f(MatRef::from_row_major_slice(s, n, d))
    } else if let Some(s) = x.t().as_slice() {
        f(MatRef::from_column_major_slice(s, n, d))
    } else {
        let copy: Vec<f64> = x.iter().copied().collect();
        f(MatRef::from_row_major_slice(&copy, n, d))
    }
}

/// ΦᵀΦ, the D × D Gram matrix: faer's triangular matrix product computes
/// the lower half only (N·D·(D+1) flops instead of 2·N·D²), on rayon's
/// threads, and the upper half is mirrored from it.
pub(crate) fn gram(x: MatRef<'_, f64>) -> Array2<f64> {
    let d = x.ncols();
    let mut g = Mat::<f64>::zeros(d, d);
    triangular_matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        x.transpose(),
        BlockStructure::Rectangular,
        x,
        BlockStructure::Rectangular,
        1.0,
        Par::rayon(0),
    );
    Array2::from_shape_fn((d, d), |(i, j)| if i >= j { g[(i, j)] } else { g[(j, i)] })
}

/// Φᵀt.
pub(crate) fn xt_t(x: MatRef<'_, f64>, t: ArrayView1<'_, f64>) -> Array1<f64> {
    let n = x.nrows();
    let tv: Vec<f64>;
    let ts: &[f64] = match t.as_slice() {
        Some(s) => s,
        None => {
            tv = t.iter().copied().collect();
            &tv
        }
    };
    let tm = MatRef::from_column_major_slice(ts, n, 1);
    let mut out = Mat::<f64>::zeros(x.ncols(), 1);
    faer::linalg::matmul::matmul(
        out.as_mut(),
        Accum::Replace,
        x.transpose(),
        tm,
        1.0,
        Par::rayon(0),
    );
    Array1::from_shape_fn(x.ncols(), |i| out[(i, 0)])
}

/// N(w | μ, Σ) given its precision Σ⁻¹ = P and the linear coefficient
/// h = Σ⁻¹μ: μ = P⁻¹h, Σ = P⁻¹ and ln |Σ| (PRML 2.116-style completion of
/// the square, e.g. 10.100–10.101).
#[derive(Debug, Clone)]
pub(crate) struct GaussianFromPrecision {
    /// μ = P⁻¹ h.
    pub mean: Array1<f64>,
    /// Σ = P⁻¹.
    pub cov: Array2<f64>,
    /// ln |Σ| = −ln |P|.
    pub ln_det_cov: f64,
}

/// Cholesky of P after a symmetric diagonal (Jacobi) scaling
/// P = D^{1/2} P̃ D^{1/2}, D = diag(P): P̃ has a unit diagonal, which keeps
/// the factorisation accurate when the features' scales differ by orders of
/// magnitude (the powers x⁰ … x⁸ of PRML Fig 10.9 on (−5, 5)); then
/// P⁻¹ = D^{−1/2} P̃⁻¹ D^{−1/2} and ln |P| = ln |P̃| + Σ ln P_ii.
/// A matrix that is not positive definite is a typed error naming `what`.
pub(crate) fn gaussian_from_precision(
    p: &Array2<f64>,
    h: ArrayView1<'_, f64>,
    what: &'static str,
) -> Result<GaussianFromPrecision> {
    let d = p.nrows();
    let not_pd = || CoreError::NotPositiveDefinite {
        what,
        hint: "the data may contain (nearly) collinear columns; standardise the inputs, \
               remove duplicated columns or raise the prior precision (a0/b0, alpha)",
    };
    let scale: Vec<f64> = (0..d).map(|i| p[[i, i]].sqrt()).collect();
    if scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(not_pd().into());
    }
    let pt = Mat::<f64>::from_fn(d, d, |i, j| p[[i, j]] / (scale[i] * scale[j]));
    let llt = Llt::new(pt.as_ref(), Side::Lower).map_err(|_| not_pd())?;
    let l = llt.L();
    let ln_det_p: f64 = (0..d)
        .map(|i| 2.0 * l[(i, i)].ln() + 2.0 * scale[i].ln())
        .sum();
    let inv = llt.inverse();
    let cov = Array2::from_shape_fn((d, d), |(i, j)| inv[(i, j)] / (scale[i] * scale[j]));
    let mut rhs = Mat::<f64>::from_fn(d, 1, |i, _| h[i] / scale[i]);
    llt.solve_in_place(rhs.as_mut());
    let mean = Array1::from_shape_fn(d, |i| rhs[(i, 0)] / scale[i]);
    if !(ln_det_p.is_finite() && mean.iter().all(|v| v.is_finite())) {
        return Err(not_pd().into());
    }
    Ok(GaussianFromPrecision {
        mean,
        cov,
        ln_det_cov: -ln_det_p,
    })
}

/// φ_nᵀ S φ_n for every row φ_n of `x` (the input-dependent part of the
/// predictive variance, PRML 10.106 / 3.59): (Φ S) ∘ Φ summed along rows,
/// with the N × D × D product on faer.
pub(crate) fn row_quadratic_forms(x: ArrayView2<'_, f64>, s: &Array2<f64>) -> Array1<f64> {
    let (n, d) = x.dim();
    let sm = Mat::<f64>::from_fn(d, d, |i, j| s[[i, j]]);
    with_faer(x, |xf| {
        let mut xs = Mat::<f64>::zeros(n, d);
        faer::linalg::matmul::matmul(
            xs.as_mut(),
            Accum::Replace,
            xf,
            sm.as_ref(),
            1.0,
            Par::rayon(0),
        );
        Array1::from_shape_fn(n, |r| (0..d).map(|c| xs[(r, c)] * xf[(r, c)]).sum())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Axis, ShapeBuilder, array};

    #[test]
    fn gram_and_xt_t_match_ndarray_for_every_layout() {
        let x = array![
            [1.0, 2.0, -1.0],
            [0.5, 3.0, 2.0],
            [4.0, -1.0, 0.0],
            [1.5, 1.0, 1.0]
        ];
        let t = array![1.0, -2.0, 0.5, 3.0];
        let want_g = x.t().dot(&x);
        let want_h = x.t().dot(&t);
        let mut fortran = Array2::<f64>::zeros(x.dim().f()); // column-major copy of x
        fortran.assign(&x);
        assert!(fortran.as_slice().is_none() && fortran.t().as_slice().is_some());
        let strided = {
            let mut wide = Array2::<f64>::zeros((4, 6));
            for (j, c) in x.axis_iter(Axis(1)).enumerate() {
                wide.column_mut(2 * j).assign(&c);
            }
            wide
        };
        let strided_view = strided.slice(ndarray::s![.., ..;2]);
        for view in [x.view(), fortran.view(), strided_view] {
            assert_eq!(view, x.view());
            let g = with_faer(view, gram);
            let h = with_faer(view, |xf| xt_t(xf, t.view()));
            assert!((&g - &want_g).iter().all(|e| e.abs() < 1e-12), "{g}");
            assert!((&h - &want_h).iter().all(|e| e.abs() < 1e-12), "{h}");
            assert_eq!(g, g.t());
        }
    }

    #[test]
    fn gaussian_from_precision_inverts_and_solves() {
        // badly scaled but well-conditioned after the diagonal scaling
        let p = array![[4.0e6, 1.0e3, 0.0], [1.0e3, 2.0, 0.01], [0.0, 0.01, 1.0e-4]];
        let h = array![1.0, 2.0, 3.0];
        let g = gaussian_from_precision(&p, h.view(), "P").unwrap();
        let eye = p.dot(&g.cov);
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((eye[[i, j]] - want).abs() < 1e-10, "{eye}");
            }
        }
        let back = p.dot(&g.mean);
        assert!((&back - &h).iter().all(|e| e.abs() < 1e-9), "{back}");
        // ln |P| of this matrix by cofactor expansion
        let det = p[[0, 0]] * (p[[1, 1]] * p[[2, 2]] - p[[1, 2]] * p[[2, 1]])
            - p[[0, 1]] * (p[[1, 0]] * p[[2, 2]] - p[[1, 2]] * p[[2, 0]]);
        assert!((g.ln_det_cov + det.ln()).abs() < 1e-10);
    }

    #[test]
    fn indefinite_precision_is_a_typed_error() {
        let p = array![[1.0, 2.0], [2.0, 1.0]];
        let e = gaussian_from_precision(&p, array![0.0, 0.0].view(), "P").unwrap_err();
        assert!(
            matches!(
                e,
                crate::Error::Core(CoreError::NotPositiveDefinite { what: "P", .. })
            ),
            "{e}"
        );
        let p = array![[0.0, 0.0], [0.0, 1.0]];
        assert!(gaussian_from_precision(&p, array![0.0, 0.0].view(), "P").is_err());
    }

    #[test]
    fn row_quadratic_forms_match_a_loop() {
        let x = array![[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]];
        let s = array![[2.0, 0.5], [0.5, 1.0]];
        let q = row_quadratic_forms(x.view(), &s);
        for (r, row) in x.rows().into_iter().enumerate() {
            assert!((q[r] - row.dot(&s.dot(&row))).abs() < 1e-12);
        }
    }
}
