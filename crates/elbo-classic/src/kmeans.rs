//! Seeded k-means++ seeding followed by a few Lloyd iterations: the
//! initialisation of every mixture model in [`crate::mixture`] (as
//! scikit-learn's `init_params="kmeans"`).
//!
//! References: D. Arthur and S. Vassilvitskii, *k-means++: the advantages of
//! careful seeding*, SODA 2007; S. P. Lloyd, *Least squares quantization in
//! PCM*, IEEE Trans. Inf. Theory 28 (1982); PRML §9.1 (9.1–9.4).

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;
use rayon::prelude::*;

use crate::Result;
use elbo_core::Error as CoreError;

/// Rows per parallel block (fixed, so results do not depend on the number
/// of threads).
const BLOCK: usize = 8192;

/// The result of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// The cluster centres μ_k, K × D (PRML 9.4).
    pub centers: Array2<f64>,
    /// The index of the nearest centre of each point (PRML 9.2), length N.
    pub labels: Array1<usize>,
    /// The distortion J = Σ_n ‖x_n − μ_{label n}‖² (PRML 9.1).
    pub inertia: f64,
    /// Lloyd iterations run (≤ the budget; fewer when the labels stopped changing).
    pub n_iter: usize,
}

fn check(x: ArrayView2<f64>, k: usize) -> Result<()> {
    let (n, d) = x.dim();
    if k == 0 {
        return Err(CoreError::invalid("k", k, "at least 1").into());
    }
    if n == 0 || d == 0 {
        return Err(CoreError::Data(format!("the data are empty ({n} rows, {d} columns)")).into());
    }
    if k > n {
        return Err(CoreError::invalid("k", k, "at most the number of points N").into());
    }
    if let Some(p) = x.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::Data(format!(
            "row {}, column {} is not finite ({})",
            p / d + 1,
            p % d + 1,
            x[[p / d, p % d]]
        ))
        .into());
    }
    Ok(())
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with the greedy
/// trials of scikit-learn's `_kmeans_plusplus`): the first centre is a
/// uniformly drawn point; each next one is the best, by the resulting
/// distortion, of 2 + ⌊ln K⌋ candidates drawn with probability proportional
/// to the squared distance to the nearest centre so far. With fewer than K
/// distinct points (duplicates) the remaining centres are drawn uniformly.
///
/// # Errors
/// K = 0, K > N, empty or non-finite data.
pub fn kmeans_plus_plus<R: Rng + ?Sized>(
    x: ArrayView2<f64>,
    k: usize,
    rng: &mut R,
) -> Result<Array2<f64>> {
    check(x, k)?;
    let x = x.as_standard_layout();
    let (n, d) = x.dim();
    // Standard layout was just ensured.
    let xs = x.as_slice().expect("standard layout");
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Array2::zeros((k, d));
    let first = rng.random_range(0..n);
    centers.row_mut(0).assign(&x.row(first));
    let mut dist: Vec<f64> = vec![f64::INFINITY; n];
    update_min_dist(xs, d, &xs[first * d..(first + 1) * d], &mut dist);
    for c in 1..k {
        let total: f64 = dist.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            let pick = rng.random_range(0..n);
            centers.row_mut(c).assign(&x.row(pick));
            continue;
        }
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let pick = sample_d2(&dist, total, rng);
            let mut cand = dist.clone();
            update_min_dist(xs, d, &xs[pick * d..(pick + 1) * d], &mut cand);
            let pot: f64 = cand.iter().sum();
            if best.as_ref().is_none_or(|b| pot < b.0) {
                best = Some((pot, pick, cand));
            }
        }
        // `trials` ≥ 2, so a candidate was evaluated.
        let (_, pick, cand) = best.expect("at least one trial");
        centers.row_mut(c).assign(&x.row(pick));
        dist = cand;
    }
    Ok(centers)
}

/// dist_i ← min(dist_i, ‖x_i − c‖²), in parallel blocks.
fn update_min_dist(xs: &[f64], d: usize, c: &[f64], dist: &mut [f64]) {
    dist.par_chunks_mut(BLOCK)
        .zip(xs.par_chunks(BLOCK * d))
        .for_each(|(dc, xc)| {
            for (dv, xr) in dc.iter_mut().zip(xc.chunks_exact(d)) {
                let s = sq_dist(xr, c);
                if s < *dv {
                    *dv = s;
                }
            }
        });
}

/// A point drawn with probability dist_i / total (total > 0).
fn sample_d2<R: Rng + ?Sized>(dist: &[f64], total: f64, rng: &mut R) -> usize {
    let u = rng.random::<f64>() * total;
    let mut acc = 0.0;
    for (i, &dv) in dist.iter().enumerate() {
        acc += dv;
        if acc > u && dv > 0.0 {
            return i;
        }
    }
    // Round-off left u beyond the running sum: the last point with a
    // positive distance (one exists since total > 0).
    dist.iter()
        .rposition(|&v| v > 0.0)
        .unwrap_or(dist.len() - 1)
}

/// Seeded k-means: [`kmeans_plus_plus`] then at most `n_lloyd` Lloyd
/// iterations (assign each point to its nearest centre, PRML 9.2; move
/// each centre to the mean of its points, 9.4). A centre that loses all its
/// points stays where it was.
///
/// # Errors
/// K = 0, K > N, empty or non-finite data.
pub fn kmeans<R: Rng + ?Sized>(
    x: ArrayView2<f64>,
    k: usize,
    n_lloyd: usize,
    rng: &mut R,
) -> Result<KMeans> {
    let mut centers = kmeans_plus_plus(x, k, rng)?;
    let x = x.as_standard_layout();
    let (n, d) = x.dim();
    let xs = x.as_slice().expect("standard layout");
    let mut labels = vec![0usize; n];
    let mut inertia = assign(xs, d, &centers, &mut labels);
    let mut n_iter = 0;
    for _ in 0..n_lloyd {
        // Update step (PRML 9.4), block sums reduced in a fixed order.
        let parts: Vec<(Vec<f64>, Vec<f64>)> = xs
            .par_chunks(BLOCK * d)
            .zip(labels.par_chunks(BLOCK))
            .map(|(xc, lc)| {
                let mut sum = vec![0.0; k * d];
                let mut cnt = vec![0.0; k];
                for (xr, &l) in xc.chunks_exact(d).zip(lc) {
                    cnt[l] += 1.0;
                    for j in 0..d {
                        sum[l * d + j] += xr[j];
                    }
                }
                (sum, cnt)
            })
            .collect();
        let mut sum = vec![0.0; k * d];
        let mut cnt = vec![0.0; k];
        for (s, c) in &parts {
            sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            cnt.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
        for c in 0..k {
            if cnt[c] > 0.0 {
                for j in 0..d {
                    centers[[c, j]] = sum[c * d + j] / cnt[c];
                }
            }
        }
        n_iter += 1;
        let before = labels.clone();
        inertia = assign(xs, d, &centers, &mut labels);
        if before == labels {
            break;
        }
    }
    Ok(KMeans {
        centers,
        labels: labels.into(),
        inertia,
        n_iter,
    })
}

/// Assignment step (PRML 9.2): the nearest centre of each point; returns J (9.1).
fn assign(xs: &[f64], d: usize, centers: &Array2<f64>, labels: &mut [usize]) -> f64 {
    let k = centers.nrows();
    let cs = centers.as_standard_layout();
    let cs = cs.as_slice().expect("standard layout");
    let parts: Vec<f64> = labels
        .par_chunks_mut(BLOCK)
        .zip(xs.par_chunks(BLOCK * d))
        .map(|(lc, xc)| {
            let mut j = 0.0;
            for (l, xr) in lc.iter_mut().zip(xc.chunks_exact(d)) {
                let mut best = (f64::INFINITY, 0);
                for c in 0..k {
                    let s = sq_dist(xr, &cs[c * d..(c + 1) * d]);
                    if s < best.0 {
                        best = (s, c);
                    }
                }
                *l = best.1;
                j += best.0;
            }
            j
        })
        .collect();
    parts.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use elbo_core::rng::seeded;
    use ndarray::array;

    #[test]
    fn finds_well_separated_clusters_and_is_reproducible() {
        let mut x = Array2::zeros((300, 2));
        for i in 0..300 {
            let c = (i % 3) as f64 * 10.0;
            x[[i, 0]] = c + ((i * 7919) % 13) as f64 * 0.01;
            x[[i, 1]] = -c + ((i * 104_729) % 17) as f64 * 0.01;
        }
        let a = kmeans(x.view(), 3, 20, &mut seeded(5)).unwrap();
        let b = kmeans(x.view(), 3, 20, &mut seeded(5)).unwrap();
        assert_eq!(a, b);
        let mut xs: Vec<f64> = a.centers.column(0).to_vec();
        xs.sort_by(f64::total_cmp);
        for (c, want) in xs.iter().zip([0.06, 10.06, 20.06]) {
            assert!((c - want).abs() < 0.1, "{xs:?}");
        }
        assert!(a.inertia < 300.0 * 0.02);
    }

    #[test]
    fn duplicates_bad_k_and_non_finite_values() {
        let x = array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]];
        let km = kmeans(x.view(), 3, 5, &mut seeded(0)).unwrap();
        assert!(km.centers.iter().all(|&v| v == 1.0));
        assert!(kmeans(x.view(), 0, 5, &mut seeded(0)).is_err());
        assert!(kmeans(x.view(), 4, 5, &mut seeded(0)).is_err());
        let y = array![[1.0, f64::NAN]];
        let e = kmeans(y.view(), 1, 5, &mut seeded(0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 1, column 2"), "{e}");
    }
}
