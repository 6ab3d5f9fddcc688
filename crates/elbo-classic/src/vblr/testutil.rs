//! Test helpers: independent reference computations on small matrices
//! (a plain Cholesky, log-densities) and seeded data.

use ndarray::{Array1, Array2};
use rand_distr::{Distribution, StandardNormal};

use elbo_core::special::ln_gamma;

pub const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// ln Gam(x | a, b), rate b (PRML B.26).
pub fn ln_gamma_pdf(x: f64, a: f64, b: f64) -> f64 {
    a * b.ln() - ln_gamma(a) + (a - 1.0) * x.ln() - b * x
}

/// The mean of `xs` and its standard error.
pub fn mc_mean(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = xs.collect();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// The lower Cholesky factor of a symmetric positive-definite matrix, by
/// the textbook algorithm (independent of faer).
pub fn cholesky(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let s: f64 = (0..j).map(|k| l[[j, k]] * l[[j, k]]).sum();
        let d = a[[j, j]] - s;
        assert!(d > 0.0, "not positive definite");
        l[[j, j]] = d.sqrt();
        for i in j + 1..n {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
        }
    }
    l
}

/// A⁻¹b for symmetric positive-definite A.
pub fn spd_solve(a: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let l = cholesky(a);
    let n = b.len();
    let mut y = Array1::<f64>::zeros(n);
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[[i, k]] * y[k]).sum::<f64>()) / l[[i, i]];
    }
    let mut x = Array1::<f64>::zeros(n);
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
    }
    x
}

/// A⁻¹ for symmetric positive-definite A, column by column.
pub fn spd_inverse(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut inv = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut e = Array1::<f64>::zeros(n);
        e[j] = 1.0;
        inv.column_mut(j).assign(&spd_solve(a, &e));
    }
    inv
}

/// ln |A| for symmetric positive-definite A.
pub fn spd_ln_det(a: &Array2<f64>) -> f64 {
    let l = cholesky(a);
    (0..a.nrows()).map(|i| 2.0 * l[[i, i]].ln()).sum()
}

/// ln N(x | μ, Σ) (PRML 2.43).
pub fn ln_mvn(x: &Array1<f64>, mu: &Array1<f64>, cov: &Array2<f64>) -> f64 {
    let r = x - mu;
    let d = x.len() as f64;
    -0.5 * (d * LN_2PI + spd_ln_det(cov) + r.dot(&spd_solve(cov, &r)))
}

/// A draw from N(μ, Σ).
pub fn sample_mvn(rng: &mut impl rand::Rng, mu: &Array1<f64>, chol: &Array2<f64>) -> Array1<f64> {
    let z: Array1<f64> = (0..mu.len()).map(|_| StandardNormal.sample(rng)).collect();
    mu + &chol.dot(&z)
}

/// Seeded Gaussian inputs (N × D) and t = x w + N(0, σ²) noise.
pub fn linear_data(n: usize, w: &Array1<f64>, sigma: f64, seed: u64) -> (Array2<f64>, Array1<f64>) {
    let mut rng = elbo_core::rng::seeded(seed);
    let d = w.len();
    let x: Array2<f64> = Array2::from_shape_simple_fn((n, d), || StandardNormal.sample(&mut rng));
    let noise: Array1<f64> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            sigma * z
        })
        .collect();
    let t = x.dot(w) + noise;
    (x, t)
}
