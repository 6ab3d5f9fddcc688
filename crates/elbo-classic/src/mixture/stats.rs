//! Sufficient statistics of a Gaussian mixture under responsibilities r_nk:
//! the one reducible type every mixture model (EM, CAVI, SVI) is updated
//! from, and that a distributed run (MPI) sums across ranks.

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::Result;
use elbo_core::Error as CoreError;

/// The sufficient statistics of a Gaussian mixture (PRML 10.51–10.53, 9.24–9.27),
/// taken about a reference point c_k per component:
///
/// - N_k = Σ_n r_nk (PRML 10.51),
/// - Σ_n r_nk (x_n − c_k),
/// - Σ_n r_nk (x_n − c_k)(x_n − c_k)ᵀ,
///
/// plus Σ_n Σ_k r_nk ln r_nk (PRML 10.75), Σ_n ln Σ_k ρ_nk (the normaliser of
/// the responsibilities, PRML 10.49; for EM the log-likelihood 9.28) and the
/// number of points. Every field is a sum over points, so the statistics of
/// disjoint parts of a data set add up: [`merge`](Self::merge) is the
/// reduction (over threads, chunks of a file, or MPI ranks).
///
/// Moments are kept about c_k (the component's current mean) rather than
/// the origin so that data far from 0 (values of 10⁶ with a spread of 1)
/// lose no precision to cancellation; [`recentered`](Self::recentered) moves
/// them exactly to another point. For diagonal covariances only the
/// diagonal of `sxx` is accumulated (the rest stays 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuffStats {
    /// PRML (10.51): N_k = Σ_n r_nk, length K.
    pub nk: Array1<f64>,
    /// The reference point c_k of each component's moments, K × D.
    pub center: Array2<f64>,
    /// Σ_n r_nk (x_n − c_k), K × D.
    pub sx: Array2<f64>,
    /// Σ_n r_nk (x_n − c_k)(x_n − c_k)ᵀ, K × D × D (symmetric).
    pub sxx: Array3<f64>,
    /// PRML (10.75): Σ_n Σ_k r_nk ln r_nk (0 for hard assignments).
    pub sum_r_ln_r: f64,
    /// Σ_n ln Σ_k ρ_nk with ln ρ_nk of PRML (10.46) (VB) or ln π_k N(x_n | μ_k, Σ_k)
    /// (EM, where the sum is the log-likelihood 9.28).
    pub log_norm: f64,
    /// The number of points summed over.
    pub n_points: f64,
}

impl SuffStats {
    /// Zero statistics about the points `center` (K × D).
    pub fn zeros(center: Array2<f64>) -> Self {
        let (k, d) = center.dim();
        Self {
            nk: Array1::zeros(k),
            center,
            sx: Array2::zeros((k, d)),
            sxx: Array3::zeros((k, d, d)),
            sum_r_ln_r: 0.0,
            log_norm: 0.0,
            n_points: 0.0,
        }
    }

    /// The number of components K.
    pub fn n_components(&self) -> usize {
        self.nk.len()
    }

    /// The dimension D.
    pub fn dim(&self) -> usize {
        self.center.ncols()
    }

    /// The statistics of `x` (N × D) under responsibilities `r` (N × K),
    /// about `center` (K × D). `log_norm` is left at 0 (it needs the
    /// unnormalised ρ_nk).
    ///
    /// # Errors
    /// [`elbo_core::Error::Shape`] when the shapes do not fit together.
    pub fn from_responsibilities(
        x: ArrayView2<f64>,
        r: ArrayView2<f64>,
        center: ArrayView2<f64>,
    ) -> Result<Self> {
        let (n, d) = x.dim();
        let k = center.nrows();
        if r.dim() != (n, k) || center.ncols() != d {
            return Err(CoreError::Shape(format!(
                "x is {n}×{d}, r is {}×{}, centers are {}×{}; expected r N×K and centers K×D",
                r.nrows(),
                r.ncols(),
                center.nrows(),
                center.ncols()
            ))
            .into());
        }
        let mut s = Self::zeros(center.to_owned());
        let mut diff = vec![0.0; d];
        for (xn, rn) in x.outer_iter().zip(r.outer_iter()) {
            for (kk, &w) in rn.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                s.add_point(kk, xn, w, &mut diff);
                s.sum_r_ln_r += w * w.ln();
            }
            s.n_points += 1.0;
        }
        Ok(s)
    }

    /// The statistics of hard assignments `labels` (each in 0..K).
    ///
    /// # Panics
    /// When a label is ≥ K or the shapes differ (a caller's bug).
    #[track_caller]
    pub(crate) fn from_labels(x: ArrayView2<f64>, labels: &[usize], center: Array2<f64>) -> Self {
        assert_eq!(x.nrows(), labels.len());
        assert_eq!(x.ncols(), center.ncols());
        let mut s = Self::zeros(center);
        let mut diff = vec![0.0; x.ncols()];
        for (xn, &l) in x.outer_iter().zip(labels) {
            s.add_point(l, xn, 1.0, &mut diff);
        }
        s.n_points = x.nrows() as f64;
        s
    }

    fn add_point(&mut self, k: usize, xn: ArrayView1<f64>, w: f64, diff: &mut [f64]) {
        let d = diff.len();
        for j in 0..d {
            diff[j] = xn[j] - self.center[[k, j]];
        }
        self.nk[k] += w;
        for i in 0..d {
            self.sx[[k, i]] += w * diff[i];
            for j in 0..d {
                self.sxx[[k, i, j]] += w * diff[i] * diff[j];
            }
        }
    }

    /// Add `other` to `self`, first moving `other`'s moments to `self`'s
    /// reference points (exact: see [`recentered`](Self::recentered)).
    ///
    /// # Panics
    /// When K or D differ (a caller's bug).
    #[track_caller]
    pub fn merge(&mut self, other: &SuffStats) {
        assert_eq!(
            self.center.dim(),
            other.center.dim(),
            "merging statistics of different shapes"
        );
        let o;
        let other = if other.center == self.center {
            other
        } else {
            o = other.recentered(self.center.view());
            &o
        };
        self.nk += &other.nk;
        self.sx += &other.sx;
        self.sxx += &other.sxx;
        self.sum_r_ln_r += other.sum_r_ln_r;
        self.log_norm += other.log_norm;
        self.n_points += other.n_points;
    }

    /// Every sum multiplied by `s` (SVI scales a minibatch's statistics by
    /// N / |B|, Hoffman et al. 2013, eq. 33).
    pub fn scaled(&self, s: f64) -> Self {
        Self {
            nk: &self.nk * s,
            center: self.center.clone(),
            sx: &self.sx * s,
            sxx: &self.sxx * s,
            sum_r_ln_r: self.sum_r_ln_r * s,
            log_norm: self.log_norm * s,
            n_points: self.n_points * s,
        }
    }

    /// The same statistics about new reference points c'_k: with
    /// δ = c_k − c'_k, Σ r (x − c') = Σ r (x − c) + N_k δ and
    /// Σ r (x − c')(x − c')ᵀ = Σ r (x − c)(x − c)ᵀ + Σ r (x − c) δᵀ + δ Σ r (x − c)ᵀ + N_k δ δᵀ.
    ///
    /// # Panics
    /// When `center` is not K × D.
    #[track_caller]
    pub fn recentered(&self, center: ArrayView2<f64>) -> Self {
        assert_eq!(center.dim(), self.center.dim());
        let mut out = self.clone();
        let d = self.dim();
        for k in 0..self.n_components() {
            let nk = self.nk[k];
            let delta: Vec<f64> = (0..d)
                .map(|j| self.center[[k, j]] - center[[k, j]])
                .collect();
            for i in 0..d {
                out.sx[[k, i]] = self.sx[[k, i]] + nk * delta[i];
                for j in 0..d {
                    out.sxx[[k, i, j]] = self.sxx[[k, i, j]]
                        + self.sx[[k, i]] * delta[j]
                        + delta[i] * self.sx[[k, j]]
                        + nk * delta[i] * delta[j];
                }
            }
        }
        out.center = center.to_owned();
        out
    }

    /// The length of the flat view of K components in D dimensions:
    /// K (N_k) + K·D (Σ r (x − c)) + K·D² (Σ r (x − c)(x − c)ᵀ) + 3 scalars.
    pub fn flat_len(k: usize, d: usize) -> usize {
        k + k * d + k * d * d + 3
    }

    /// Every sum in one contiguous buffer, in the order
    /// `[N_k | Σ r (x − c) | Σ r (x − c)(x − c)ᵀ | Σ r ln r | Σ ln Σ ρ | n_points]`
    /// (row-major, length [`flat_len`](Self::flat_len)): what a distributed
    /// run sums across processes, one allreduce per iteration. The
    /// reference points c_k are not in it: every process must use the same
    /// (the current m_k, which all processes hold). Everything the M-step
    /// (PRML 10.58–10.63) and the bound (10.70–10.77) read from the data is
    /// in this buffer.
    pub fn to_flat(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(Self::flat_len(self.n_components(), self.dim()));
        v.extend(self.nk.iter());
        v.extend(self.sx.iter());
        v.extend(self.sxx.iter());
        v.extend([self.sum_r_ln_r, self.log_norm, self.n_points]);
        v
    }

    /// The statistics about `center` (K × D) from a buffer laid out as
    /// [`to_flat`](Self::to_flat) writes it (e.g. after summing the
    /// buffers of every process).
    ///
    /// # Errors
    /// [`elbo_core::Error::Shape`] when `flat` is not [`flat_len`](Self::flat_len)(K, D) long.
    pub fn from_flat(center: Array2<f64>, flat: &[f64]) -> Result<Self> {
        let (k, d) = center.dim();
        if flat.len() != Self::flat_len(k, d) {
            return Err(CoreError::Shape(format!(
                "a flat buffer of {} numbers for K = {k}, D = {d} (expected {})",
                flat.len(),
                Self::flat_len(k, d)
            ))
            .into());
        }
        let (nk, rest) = flat.split_at(k);
        let (sx, rest) = rest.split_at(k * d);
        let (sxx, rest) = rest.split_at(k * d * d);
        // The lengths were checked above, so the shapes fit.
        Ok(Self {
            nk: Array1::from(nk.to_vec()),
            sx: Array2::from_shape_vec((k, d), sx.to_vec()).expect("K×D"),
            sxx: Array3::from_shape_vec((k, d, d), sxx.to_vec()).expect("K×D×D"),
            sum_r_ln_r: rest[0],
            log_norm: rest[1],
            n_points: rest[2],
            center,
        })
    }

    /// Sum these statistics over the processes of a distributed run in
    /// place (one allreduce of [`to_flat`](Self::to_flat); nothing with one
    /// process). Every process must hold statistics about the same
    /// reference points.
    ///
    /// # Errors
    /// Another process reported a failure in the same collective (see
    /// [`Allreduce`](super::Allreduce)).
    pub fn allreduce(&mut self, red: &dyn super::Allreduce) -> Result<()> {
        if red.size() == 1 {
            return Ok(());
        }
        let mut buf = self.to_flat();
        super::distributed::sum_checked(red, &mut buf, Ok(()))?;
        *self = Self::from_flat(self.center.clone(), &buf)?;
        Ok(())
    }

    /// PRML (10.52) / (9.24): x̄_k = (1/N_k) Σ_n r_nk x_n (c_k where N_k = 0).
    pub fn means(&self) -> Array2<f64> {
        let mut m = self.center.clone();
        for (k, mut row) in m.axis_iter_mut(Axis(0)).enumerate() {
            if self.nk[k] > 0.0 {
                row.scaled_add(1.0 / self.nk[k], &self.sx.row(k));
            }
        }
        m
    }

    /// N_k S_k = Σ_n r_nk (x_n − x̄_k)(x_n − x̄_k)ᵀ (PRML 10.53 times N_k;
    /// 0 where N_k = 0), from the moments about c_k.
    pub fn scatter(&self, k: usize) -> Array2<f64> {
        let mut s = self.sxx.index_axis(Axis(0), k).to_owned();
        let nk = self.nk[k];
        if nk > 0.0 {
            let d = self.dim();
            for i in 0..d {
                for j in 0..d {
                    s[[i, j]] -= self.sx[[k, i]] * self.sx[[k, j]] / nk;
                }
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn merge_of_halves_equals_the_whole_and_recentering_is_exact() {
        let x = array![[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [1e6, 1e6 + 1.0]];
        let r = array![[0.2, 0.8], [1.0, 0.0], [0.5, 0.5], [0.1, 0.9]];
        let c0 = array![[0.0, 0.0], [1.0, 1.0]];
        let c1 = array![[2.0, -3.0], [5.0, 1.0]];
        let whole = SuffStats::from_responsibilities(x.view(), r.view(), c0.view()).unwrap();
        let mut a = SuffStats::from_responsibilities(
            x.slice(ndarray::s![..2, ..]),
            r.slice(ndarray::s![..2, ..]),
            c0.view(),
        )
        .unwrap();
        let b = SuffStats::from_responsibilities(
            x.slice(ndarray::s![2.., ..]),
            r.slice(ndarray::s![2.., ..]),
            c1.view(),
        )
        .unwrap();
        a.merge(&b);
        for (u, v) in a.sxx.iter().zip(whole.sxx.iter()) {
            assert!((u - v).abs() <= 1e-9 * v.abs().max(1.0), "{u} vs {v}");
        }
        for (u, v) in a.sx.iter().zip(whole.sx.iter()) {
            assert!((u - v).abs() <= 1e-9 * v.abs().max(1.0), "{u} vs {v}");
        }
        assert!(
            a.nk.iter()
                .zip(&whole.nk)
                .all(|(u, v)| (u - v).abs() < 1e-12)
        );
        assert!((a.sum_r_ln_r - whole.sum_r_ln_r).abs() < 1e-12);
        assert_eq!(a.n_points, 4.0);
        // Means and scatter do not depend on the reference point.
        let m = whole.means();
        let m1 = whole.recentered(c1.view()).means();
        for (u, v) in m.iter().zip(m1.iter()) {
            assert!((u - v).abs() < 1e-6, "{u} vs {v}");
        }
        let s2 = whole.recentered(whole.means().view()).scatter(0);
        let s0 = whole.scatter(0);
        for (u, v) in s0.iter().zip(s2.iter()) {
            assert!((u - v).abs() <= 1e-6 * v.abs().max(1.0), "{u} vs {v}");
        }
        assert!(SuffStats::from_responsibilities(x.view(), r.t(), c0.view()).is_err());
    }

    #[test]
    fn flat_view_round_trips_and_sums_of_flats_are_merges() {
        let x = array![[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [4.0, 1.0]];
        let r = array![[0.2, 0.8], [1.0, 0.0], [0.5, 0.5], [0.1, 0.9]];
        let c = array![[0.5, 0.0], [1.0, 1.0]];
        let whole = SuffStats::from_responsibilities(x.view(), r.view(), c.view()).unwrap();
        let flat = whole.to_flat();
        assert_eq!(flat.len(), SuffStats::flat_len(2, 2));
        assert_eq!(flat.len(), 2 + 4 + 8 + 3);
        assert_eq!(SuffStats::from_flat(c.clone(), &flat).unwrap(), whole);
        let a = SuffStats::from_responsibilities(
            x.slice(ndarray::s![..1, ..]),
            r.slice(ndarray::s![..1, ..]),
            c.view(),
        )
        .unwrap();
        let b = SuffStats::from_responsibilities(
            x.slice(ndarray::s![1.., ..]),
            r.slice(ndarray::s![1.., ..]),
            c.view(),
        )
        .unwrap();
        let summed: Vec<f64> = a
            .to_flat()
            .iter()
            .zip(b.to_flat())
            .map(|(u, v)| u + v)
            .collect();
        let s = SuffStats::from_flat(c.clone(), &summed).unwrap();
        assert_eq!(s.n_points, 4.0);
        // N_1 = 0.2 + 1 + 0.5 + 0.1; Σ r ln r of row 1 = 0.2 ln 0.2 + 0.8 ln 0.8.
        assert!((s.nk[0] - 1.8).abs() < 1e-15);
        let r_ln_r: f64 = r.iter().filter(|&&v| v > 0.0).map(|&v| v * v.ln()).sum();
        assert!((s.sum_r_ln_r - r_ln_r).abs() < 1e-12);
        for (u, v) in s.to_flat().iter().zip(&flat) {
            assert!((u - v).abs() <= 1e-12 * v.abs().max(1.0), "{u} vs {v}");
        }
        assert!(SuffStats::from_flat(c, &flat[1..]).is_err());
    }
}
