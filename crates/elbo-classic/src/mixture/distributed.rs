//! Data-parallel mixtures: each process holds a shard of the rows, and a
//! fit exchanges only sums (of sufficient statistics, moments, k-means
//! sums), one element-wise allreduce at a time.
//!
//! The library knows no transport: [`Allreduce`] is the one operation it
//! needs (the `elbo` binary implements it with MPI behind its `mpi`
//! feature; [`Local`] is the single process, and the tests use threads).
//! The single-process fits run the same code with [`Local`] and
//! [`Layout::single`], so each update exists once.
//!
//! # The protocol
//!
//! - The data set is a sequence of *segments* (files, or chunks of a file)
//!   in a fixed global order; each segment is held by one process, whose
//!   local rows are its segments concatenated in global order
//!   ([`Layout`]). A single-process fit of the concatenation in that order
//!   is the reference the distributed fit equals.
//! - CAVI: per iteration, each process runs the E-step on its rows, the
//!   [`SuffStats`] are summed (one buffer of K + K·D + K·D² + 3 numbers),
//!   and every process runs the same M-step and bound on the same sums.
//! - Initialisation: k-means++ and Lloyd's iterations over the global row
//!   order (the same random draws as the single-process
//!   [`kmeans`](crate::kmeans::kmeans); rows are fetched from their owner
//!   by a sum in which the other processes contribute zeros); the default
//!   prior (m₀, W₀) from summed moments.
//! - SVI: every process draws the same permutation of the global indices;
//!   each minibatch's statistics are the sum of each process's part of it.
//! - Status: every sum carries one extra slot, 0 or 1 per process; a
//!   process whose local step failed still takes part in the sum with 1
//!   there, so all processes leave the collective together and return an
//!   error (their own, or "another process failed"). No process waits for
//!   one that gave up.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::Rng;
use rayon::prelude::*;

use super::stats::SuffStats;
use crate::Result;
use elbo_core::Error as CoreError;

/// An element-wise sum across the processes of a distributed run (an MPI
/// `Allreduce` with `MPI_SUM`).
///
/// Contract: [`sum`](Self::sum) is collective — every process calls it,
/// in the same order, with buffers of the same length — and every process
/// receives the same result, bit for bit (true of MPI's built-in sum on
/// one kind of machine; the fits take identical decisions, such as
/// convergence, on every process only because of it).
pub trait Allreduce: std::fmt::Debug {
    /// This process's index, 0 ≤ rank < size.
    fn rank(&self) -> usize;
    /// The number of processes P ≥ 1.
    fn size(&self) -> usize;
    /// Replace `buf` by the element-wise sum over the processes of their `buf`.
    fn sum(&self, buf: &mut [f64]);
}

/// One process: every sum is the identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Local;

impl Allreduce for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum(&self, _buf: &mut [f64]) {}
}

/// The error of a process whose own step succeeded while `failed` others did not.
fn peer_failed(failed: f64, size: usize) -> crate::Error {
    CoreError::Data(format!(
        "{failed} of the {size} processes of the distributed fit failed (see their messages); stopping"
    ))
    .into()
}

/// Sum `buf` across the processes with a status slot appended: returns
/// `local`'s error on a process that failed (its `buf` is ignored by the
/// caller), an error on the others when any failed, `local` otherwise.
pub(crate) fn sum_checked<T>(
    red: &dyn Allreduce,
    buf: &mut Vec<f64>,
    local: Result<T>,
) -> Result<T> {
    if red.size() == 1 {
        return local;
    }
    buf.push(if local.is_err() { 1.0 } else { 0.0 });
    red.sum(buf);
    // The slot was pushed just above.
    let failed = buf.pop().expect("status slot");
    let v = local?;
    if failed > 0.0 {
        return Err(peer_failed(failed, red.size()));
    }
    Ok(v)
}

/// How the rows of a data set are spread over the processes: segments in
/// a fixed global order, each held by one process; a process's local rows
/// are its segments, concatenated in global order. Every process holds
/// the same layout (built collectively by [`gather`](Self::gather)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    len: Vec<usize>,
    owner: Vec<usize>,
    /// Global index of each segment's first row.
    start: Vec<usize>,
    /// Local index of each owned segment's first row (`usize::MAX` if not owned).
    local_start: Vec<usize>,
    rank: usize,
    n_local: usize,
}

impl Layout {
    /// Every row on one process, one segment (what the single-process fits use).
    pub fn single(n: usize) -> Self {
        Self::from_parts(vec![n], vec![0], 0)
    }

    fn from_parts(len: Vec<usize>, owner: Vec<usize>, rank: usize) -> Self {
        let mut start = Vec::with_capacity(len.len());
        let mut local_start = Vec::with_capacity(len.len());
        let (mut g, mut l) = (0, 0);
        for (&n, &o) in len.iter().zip(&owner) {
            start.push(g);
            g += n;
            if o == rank {
                local_start.push(l);
                l += n;
            } else {
                local_start.push(usize::MAX);
            }
        }
        Self {
            len,
            owner,
            start,
            local_start,
            rank,
            n_local: l,
        }
    }

    /// Collective: this process holds segments `owned` (index, rows) of
    /// `n_segments`; the lengths and owners are summed so that every
    /// process learns the whole layout. Each segment must be claimed by
    /// exactly one process.
    ///
    /// # Errors
    /// A segment index ≥ `n_segments`, or a segment claimed by no process
    /// or by several (on every process).
    pub fn gather(
        red: &dyn Allreduce,
        n_segments: usize,
        owned: &[(usize, usize)],
    ) -> Result<Self> {
        let s = n_segments;
        let mut buf = vec![0.0; 3 * s];
        let local = match owned.iter().find(|(i, _)| *i >= s) {
            Some((i, _)) => {
                Err(CoreError::Shape(format!("segment {i} of a data set of {s} segments")).into())
            }
            None => Ok(()),
        };
        if local.is_ok() {
            for &(i, n) in owned {
                buf[i] += n as f64;
                buf[s + i] += red.rank() as f64;
                buf[2 * s + i] += 1.0;
            }
        }
        sum_checked(red, &mut buf, local)?;
        if let Some(i) = (0..s).find(|&i| buf[2 * s + i] != 1.0) {
            return Err(CoreError::Shape(format!(
                "segment {i} of {s} is held by {} processes (expected exactly one)",
                buf[2 * s + i]
            ))
            .into());
        }
        let len = buf[..s].iter().map(|&v| v as usize).collect();
        let owner = buf[s..2 * s].iter().map(|&v| v as usize).collect();
        Ok(Self::from_parts(len, owner, red.rank()))
    }

    /// Rows in the whole data set, N.
    pub fn n_global(&self) -> usize {
        self.len.iter().sum()
    }
    /// Rows on this process.
    pub fn n_local(&self) -> usize {
        self.n_local
    }
    /// The number of segments.
    pub fn n_segments(&self) -> usize {
        self.len.len()
    }
    /// Rows of segment `s`.
    pub fn segment_len(&self, s: usize) -> usize {
        self.len[s]
    }
    /// The process holding segment `s`.
    pub fn segment_owner(&self, s: usize) -> usize {
        self.owner[s]
    }

    /// The segment holding global row `g` (< N).
    fn segment_of(&self, g: usize) -> usize {
        // `start` is sorted; the last segment starting at or before g
        // (segments of length 0 share a start with the next one).
        let s = self.start.partition_point(|&st| st <= g) - 1;
        let mut s = s;
        while self.len[s] == 0 {
            s -= 1;
        }
        s
    }

    /// The local index of global row `g` on this process, if it holds it.
    pub fn local_index(&self, g: usize) -> Option<usize> {
        let s = self.segment_of(g);
        (self.owner[s] == self.rank).then(|| self.local_start[s] + (g - self.start[s]))
    }

    /// The global index of local row `l`.
    pub fn global_index(&self, l: usize) -> usize {
        let s = (0..self.len.len())
            .find(|&s| self.owner[s] == self.rank && l < self.local_start[s] + self.len[s])
            .unwrap_or(self.len.len() - 1);
        self.start[s] + (l - self.local_start[s])
    }
}

/// Checks the shard `x` of every process before a distributed fit: this
/// process's rows match the layout and are finite, every process has the
/// same number of columns D ≥ 1, and 1 ≤ K ≤ N (all rows). Collective.
pub fn check_shard(
    x: ArrayView2<f64>,
    k: usize,
    layout: &Layout,
    red: &dyn Allreduce,
) -> Result<()> {
    let (n, d) = x.dim();
    let local: Result<()> = (|| {
        if n != layout.n_local() {
            return Err(CoreError::Shape(format!(
                "this process holds {n} rows but its segments have {}",
                layout.n_local()
            ))
            .into());
        }
        if let Some((i, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(CoreError::Data(format!(
                "global row {}, column {} is not finite ({v})",
                layout.global_index(i / d.max(1)) + 1,
                i % d.max(1) + 1
            ))
            .into());
        }
        Ok(())
    })();
    let p = red.size();
    let mut dims = vec![0.0; p];
    dims[red.rank()] = d as f64;
    sum_checked(red, &mut dims, local)?;
    if let Some(r) = (0..p).find(|&r| dims[r] != dims[0]) {
        return Err(CoreError::Shape(format!(
            "the shards differ in dimension: process 0 has {} columns, process {r} has {}",
            dims[0], dims[r]
        ))
        .into());
    }
    let big_n = layout.n_global();
    if big_n == 0 || d == 0 {
        return Err(
            CoreError::Data(format!("the data are empty ({big_n} rows, {d} columns)")).into(),
        );
    }
    if k == 0 {
        return Err(CoreError::invalid("k", k, "at least 1").into());
    }
    if k > big_n {
        return Err(CoreError::invalid("k", k, "at most the number of points N").into());
    }
    Ok(())
}

/// Collective: the rows with global indices `rows` (in that order) on
/// every process, each fetched from its owner (a sum in which the others
/// contribute zeros).
pub fn gather_rows(
    x: ArrayView2<f64>,
    layout: &Layout,
    rows: &[usize],
    red: &dyn Allreduce,
) -> Result<Array2<f64>> {
    let d = x.ncols();
    if red.size() == 1 {
        return Ok(x.select(Axis(0), rows));
    }
    let mut buf = vec![0.0; rows.len() * d];
    for (i, &g) in rows.iter().enumerate() {
        if let Some(l) = layout.local_index(g) {
            for j in 0..d {
                buf[i * d + j] = x[[l, j]];
            }
        }
    }
    sum_checked(red, &mut buf, Ok(()))?;
    // rows.len() × d numbers were allocated above.
    Ok(Array2::from_shape_vec((rows.len(), d), buf).expect("rows × D"))
}

/// Collective: the column means, the scatter matrix Σ_n (x_n − x̄)(x_n − x̄)ᵀ
/// (D × D) and N of the whole data set (two sums: the means first, so
/// that the scatter is taken about them without cancellation).
pub(crate) fn moments(
    x: ArrayView2<f64>,
    layout: &Layout,
    red: &dyn Allreduce,
) -> Result<(Array1<f64>, Array2<f64>, usize)> {
    let d = x.ncols();
    let n = layout.n_global();
    let mut sum: Vec<f64> = x.sum_axis(Axis(0)).to_vec();
    sum_checked(red, &mut sum, Ok(()))?;
    let mean = Array1::from(sum) / n as f64;
    let xc = &x - &mean;
    let mut sc: Vec<f64> = xc.t().dot(&xc).iter().copied().collect();
    sum_checked(red, &mut sc, Ok(()))?;
    // d × d numbers by construction.
    Ok((mean, Array2::from_shape_vec((d, d), sc).expect("D×D"), n))
}

// ------------------------------------------------------------ k-means ---
//
// The same algorithm, and the same random draws, as `crate::kmeans`
// (greedy k-means++ seeding, then Lloyd), over the global row order. With
// one process it is that function bit for bit (a test checks it).

/// Rows per parallel block: `crate::kmeans`'s, so sums match it bit for bit.
const BLOCK: usize = 8192;

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
}

/// min(dist_i, ‖x_i − c‖²) summed over this process's rows, in order.
fn potential(xs: &[f64], d: usize, c: &[f64], dist: &[f64]) -> f64 {
    let mut s = 0.0;
    for (dv, xr) in dist.iter().zip(xs.chunks_exact(d.max(1))) {
        let q = sq_dist(xr, c);
        s += if q < *dv { q } else { *dv };
    }
    s
}

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

/// Where a D²-weighted draw u ∈ [0, total) lands: the global row, found
/// segment by segment (totals summed per segment) and then, on the
/// segment's owner, row by row as `crate::kmeans` scans. Returns the owner's
/// local index (on the owner only) through `pick`.
struct Drawer<'a> {
    layout: &'a Layout,
    /// Σ dist over each segment (global, after the sum).
    seg_total: Vec<f64>,
}

impl Drawer<'_> {
    /// The local index of the drawn row on its owner (`None` elsewhere).
    fn locate(&self, dist: &[f64], u: f64) -> Option<usize> {
        let l = self.layout;
        let mut acc = 0.0;
        let mut chosen = None;
        for s in 0..l.n_segments() {
            if self.seg_total[s] > 0.0 {
                if acc + self.seg_total[s] > u {
                    chosen = Some((s, acc));
                    break;
                }
                acc += self.seg_total[s];
            }
        }
        // Round-off left u beyond the running sum (`chosen` is None): the
        // last row with a positive distance, as `crate::kmeans`.
        let last = (0..l.n_segments())
            .rev()
            .find(|&s| self.seg_total[s] > 0.0)?;
        let (s, start) = chosen.unwrap_or((last, f64::NAN));
        if l.owner[s] != l.rank {
            return None;
        }
        let seg = &dist[l.local_start[s]..l.local_start[s] + l.len[s]];
        if chosen.is_some() {
            let mut acc = start;
            for (i, &dv) in seg.iter().enumerate() {
                acc += dv;
                if acc > u && dv > 0.0 {
                    return Some(l.local_start[s] + i);
                }
            }
        }
        seg.iter()
            .rposition(|&v| v > 0.0)
            .map(|i| l.local_start[s] + i)
    }
}

/// Distributed seeded k-means: the centres (K × D, on every process) and
/// this process's labels. Collective; `rng` advances identically on every
/// process. See `crate::kmeans::kmeans` for the algorithm.
pub(crate) fn kmeans<R: Rng + ?Sized>(
    x: ArrayView2<f64>,
    layout: &Layout,
    k: usize,
    n_lloyd: usize,
    rng: &mut R,
    red: &dyn Allreduce,
) -> Result<(Array2<f64>, Vec<usize>)> {
    let x = x.as_standard_layout();
    let (n, d) = x.dim();
    // Standard layout was just ensured.
    let xs = x.as_slice().expect("standard layout");
    let big_n = layout.n_global();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Array2::zeros((k, d));
    let first = rng.random_range(0..big_n);
    centers
        .row_mut(0)
        .assign(&gather_rows(x.view(), layout, &[first], red)?.row(0));
    let mut dist: Vec<f64> = vec![f64::INFINITY; n];
    update_min_dist(xs, d, &centers.row(0).to_vec(), &mut dist);
    for c in 1..k {
        let mut seg_total = vec![0.0; layout.n_segments()];
        for (s, t) in seg_total.iter_mut().enumerate() {
            if layout.owner[s] == layout.rank {
                let a = layout.local_start[s];
                *t = dist[a..a + layout.len[s]].iter().sum();
            }
        }
        sum_checked(red, &mut seg_total, Ok(()))?;
        let total: f64 = seg_total.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            let pick = rng.random_range(0..big_n);
            let row = gather_rows(x.view(), layout, &[pick], red)?;
            centers.row_mut(c).assign(&row.row(0));
            continue;
        }
        // The candidates of the greedy trials, drawn in the order
        // `crate::kmeans` draws them, fetched from their owners at once.
        let drawer = Drawer { layout, seg_total };
        let mut cand = vec![0.0; trials * d];
        for t in 0..trials {
            let u = rng.random::<f64>() * total;
            if let Some(i) = drawer.locate(&dist, u) {
                cand[t * d..(t + 1) * d].copy_from_slice(&xs[i * d..(i + 1) * d]);
            }
        }
        sum_checked(red, &mut cand, Ok(()))?;
        let mut pots: Vec<f64> = (0..trials)
            .map(|t| potential(xs, d, &cand[t * d..(t + 1) * d], &dist))
            .collect();
        sum_checked(red, &mut pots, Ok(()))?;
        let mut best = 0;
        for t in 1..trials {
            if pots[t] < pots[best] {
                best = t;
            }
        }
        let row = &cand[best * d..(best + 1) * d];
        centers.row_mut(c).assign(&ndarray::ArrayView1::from(row));
        update_min_dist(xs, d, row, &mut dist);
    }
    let mut labels = vec![0usize; n];
    assign(xs, d, &centers, &mut labels);
    for _ in 0..n_lloyd {
        // PRML (9.4), block sums reduced in a fixed order, then across processes.
        let parts: Vec<Vec<f64>> = xs
            .par_chunks(BLOCK * d)
            .zip(labels.par_chunks(BLOCK))
            .map(|(xc, lc)| {
                let mut acc = vec![0.0; k * d + k];
                for (xr, &l) in xc.chunks_exact(d).zip(lc) {
                    acc[k * d + l] += 1.0;
                    for j in 0..d {
                        acc[l * d + j] += xr[j];
                    }
                }
                acc
            })
            .collect();
        let mut acc = vec![0.0; k * d + k];
        for p in &parts {
            acc.iter_mut().zip(p).for_each(|(a, b)| *a += b);
        }
        sum_checked(red, &mut acc, Ok(()))?;
        let (sum, cnt) = acc.split_at(k * d);
        for c in 0..k {
            if cnt[c] > 0.0 {
                for j in 0..d {
                    centers[[c, j]] = sum[c * d + j] / cnt[c];
                }
            }
        }
        let before = labels.clone();
        assign(xs, d, &centers, &mut labels);
        let mut changed = vec![if before == labels { 0.0 } else { 1.0 }];
        sum_checked(red, &mut changed, Ok(()))?;
        if changed[0] == 0.0 {
            break;
        }
    }
    Ok((centers, labels))
}

/// PRML (9.2): the nearest centre of each of this process's points.
fn assign(xs: &[f64], d: usize, centers: &Array2<f64>, labels: &mut [usize]) {
    let k = centers.nrows();
    let cs = centers.as_standard_layout();
    let cs = cs.as_slice().expect("standard layout");
    labels
        .par_chunks_mut(BLOCK)
        .zip(xs.par_chunks(BLOCK * d))
        .for_each(|(lc, xc)| {
            for (l, xr) in lc.iter_mut().zip(xc.chunks_exact(d)) {
                let mut best = (f64::INFINITY, 0);
                for c in 0..k {
                    let s = sq_dist(xr, &cs[c * d..(c + 1) * d]);
                    if s < best.0 {
                        best = (s, c);
                    }
                }
                *l = best.1;
            }
        });
}

/// The statistics of hard k-means labels, summed over the processes.
pub(crate) fn label_stats(
    x: ArrayView2<f64>,
    labels: &[usize],
    centers: Array2<f64>,
    red: &dyn Allreduce,
) -> Result<SuffStats> {
    let mut st = SuffStats::from_labels(x, labels, centers);
    st.allreduce(red)?;
    Ok(st)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Barrier, Mutex};

    /// P threads standing in for P processes: a sum through a shared
    /// buffer between barriers.
    #[derive(Debug)]
    pub(crate) struct Threads {
        rank: usize,
        size: usize,
        shared: Arc<(Mutex<Vec<f64>>, Barrier)>,
    }

    impl Threads {
        /// One handle per rank.
        pub(crate) fn group(size: usize) -> Vec<Threads> {
            let shared = Arc::new((Mutex::new(Vec::new()), Barrier::new(size)));
            (0..size)
                .map(|rank| Threads {
                    rank,
                    size,
                    shared: shared.clone(),
                })
                .collect()
        }
    }

    impl Allreduce for Threads {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn sum(&self, buf: &mut [f64]) {
            let (acc, barrier) = &*self.shared;
            barrier.wait();
            if self.rank == 0 {
                *acc.lock().unwrap() = vec![0.0; buf.len()];
            }
            barrier.wait();
            {
                let mut a = acc.lock().unwrap();
                a.iter_mut().zip(buf.iter()).for_each(|(u, v)| *u += v);
            }
            barrier.wait();
            buf.copy_from_slice(&acc.lock().unwrap());
        }
    }

    /// Run `f(rank, reducer)` on P threads and collect the results by rank.
    pub(crate) fn on_threads<T: Send>(
        size: usize,
        f: impl Fn(usize, &Threads) -> T + Sync,
    ) -> Vec<T> {
        let group = Threads::group(size);
        std::thread::scope(|s| {
            let hs: Vec<_> = group
                .iter()
                .enumerate()
                .map(|(r, red)| {
                    let f = &f;
                    s.spawn(move || f(r, red))
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// Segments of the given lengths dealt round-robin to P ranks: each
    /// rank's rows (its segments in global order) and the owned list.
    pub(crate) fn shard(
        x: ArrayView2<f64>,
        lens: &[usize],
        size: usize,
        rank: usize,
    ) -> (Array2<f64>, Vec<(usize, usize)>) {
        let mut rows = Vec::new();
        let mut owned = Vec::new();
        let mut g = 0;
        for (s, &n) in lens.iter().enumerate() {
            if s % size == rank {
                rows.extend(g..g + n);
                owned.push((s, n));
            }
            g += n;
        }
        (x.select(Axis(0), &rows), owned)
    }

    #[test]
    fn one_process_kmeans_is_crate_kmeans_bit_for_bit() {
        let (x, _) = crate::mixture::blobs(3000, 3, 5, 1.5, 7);
        for seed in 0..3 {
            let want =
                crate::kmeans::kmeans(x.view(), 5, 10, &mut elbo_core::rng::seeded(seed)).unwrap();
            let (c, l) = kmeans(
                x.view(),
                &Layout::single(3000),
                5,
                10,
                &mut elbo_core::rng::seeded(seed),
                &Local,
            )
            .unwrap();
            assert_eq!(c, want.centers);
            assert_eq!(l, want.labels.to_vec());
        }
    }

    #[test]
    fn sharded_kmeans_equals_one_process() {
        let (x, _) = crate::mixture::blobs(1000, 2, 4, 1.0, 3);
        let lens = [100, 0, 333, 67, 250, 250];
        let want = crate::kmeans::kmeans(x.view(), 4, 10, &mut elbo_core::rng::seeded(11)).unwrap();
        let out = on_threads(3, |r, red| {
            let (xs, owned) = shard(x.view(), &lens, 3, r);
            let layout = Layout::gather(red, lens.len(), &owned).unwrap();
            assert_eq!(layout.n_global(), 1000);
            let (c, l) = kmeans(
                xs.view(),
                &layout,
                4,
                10,
                &mut elbo_core::rng::seeded(11),
                red,
            )
            .unwrap();
            let global: Vec<usize> = (0..l.len()).map(|i| layout.global_index(i)).collect();
            (c, l, global)
        });
        for (c, l, global) in out {
            for (u, v) in c.iter().zip(want.centers.iter()) {
                assert!((u - v).abs() < 1e-12, "{u} vs {v}");
            }
            for (li, g) in l.iter().zip(global) {
                assert_eq!(*li, want.labels[g]);
            }
        }
    }

    #[test]
    fn layouts_map_rows_both_ways_and_reject_double_claims() {
        let out = on_threads(2, |r, red| {
            // Segments 0 and 2 on rank 0, 1 on rank 1.
            let owned: Vec<(usize, usize)> = if r == 0 {
                vec![(0, 3), (2, 4)]
            } else {
                vec![(1, 2)]
            };
            Layout::gather(red, 3, &owned).unwrap()
        });
        assert_eq!(out[0].n_global(), 9);
        assert_eq!(out[0].n_local(), 7);
        assert_eq!(out[1].n_local(), 2);
        assert_eq!(out[0].local_index(4), None);
        assert_eq!(out[1].local_index(4), Some(1));
        assert_eq!(out[0].local_index(5), Some(3));
        assert_eq!(out[0].global_index(3), 5);
        assert_eq!(out[1].global_index(0), 3);
        let errs = on_threads(2, |_, red| {
            Layout::gather(red, 2, &[(0, 5)]).unwrap_err().to_string()
        });
        assert!(
            errs.iter().all(|e| e.contains("held by 2 processes")),
            "{errs:?}"
        );
    }

    #[test]
    fn a_failing_process_stops_every_process() {
        let (x, _) = crate::mixture::blobs(200, 2, 2, 1.0, 1);
        let errs = on_threads(3, |r, red| {
            let (mut xs, owned) = shard(x.view(), &[70, 70, 60], 3, r);
            if r == 2 {
                xs[[5, 1]] = f64::NAN;
            }
            let layout = Layout::gather(red, 3, &owned).unwrap();
            check_shard(xs.view(), 2, &layout, red)
                .unwrap_err()
                .to_string()
        });
        assert!(
            errs[2].contains("global row 146, column 2 is not finite"),
            "{}",
            errs[2]
        );
        for e in &errs[..2] {
            assert!(e.contains("1 of the 3 processes"), "{e}");
        }
        let errs = on_threads(2, |r, red| {
            let xs = Array2::<f64>::zeros((4, 2 + r));
            let layout = Layout::gather(red, 2, &[(r, 4)]).unwrap();
            check_shard(xs.view(), 2, &layout, red)
                .unwrap_err()
                .to_string()
        });
        for e in errs {
            assert!(
                e.contains("process 0 has 2 columns, process 1 has 3"),
                "{e}"
            );
        }
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1.0)
    }

    #[test]
    fn cavi_on_three_processes_equals_one_process_every_iteration() {
        use crate::mixture::{CovarianceType, Vgmm};
        let (x, _) = crate::mixture::blobs(1500, 3, 4, 1.0, 5);
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let p = Vgmm::params(5)
                .with_covariance(cov)
                .with_tol(0.0)
                .with_max_iter(40)
                .with_n_init(2)
                .with_seed(9)
                .check()
                .unwrap();
            let want = p.fit(x.view()).unwrap();
            let lens = [400, 123, 0, 377, 600];
            let out = on_threads(3, |r, red| {
                let (xs, owned) = shard(x.view(), &lens, 3, r);
                let layout = Layout::gather(red, lens.len(), &owned).unwrap();
                let fit = p
                    .fit_distributed(xs.view(), &layout, red, |_, _, _| {})
                    .unwrap();
                (
                    fit.elbo_trace().to_vec(),
                    fit.m_k().clone(),
                    fit.restart_bounds().to_vec(),
                )
            });
            assert_eq!(want.elbo_trace().len(), 40);
            for (trace, m, restarts) in out {
                assert_eq!(trace.len(), want.elbo_trace().len());
                for (a, b) in trace.iter().zip(want.elbo_trace()) {
                    assert!(rel(*a, *b) < 1e-12, "{cov}: {a} vs {b}");
                }
                for (a, b) in restarts.iter().zip(want.restart_bounds()) {
                    assert!(rel(*a, *b) < 1e-12, "{a} vs {b}");
                }
                for (a, b) in m.iter().zip(want.m_k().iter()) {
                    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn svi_on_two_processes_takes_the_same_steps() {
        use crate::mixture::SviGmm;
        let (x, _) = crate::mixture::blobs(1200, 2, 3, 1.0, 2);
        let p = SviGmm::params(4)
            .with_batch_size(100)
            .with_epochs(2)
            .with_seed(4)
            .check()
            .unwrap();
        let want = p.fit(x.view()).unwrap();
        let lens = [500, 300, 400];
        let out = on_threads(2, |r, red| {
            let (xs, owned) = shard(x.view(), &lens, 2, r);
            let layout = Layout::gather(red, lens.len(), &owned).unwrap();
            let m = p.fit_distributed(xs.view(), &layout, red).unwrap();
            (m.elbo_trace().to_vec(), m.m_k().unwrap().clone())
        });
        assert_eq!(want.elbo_trace().len(), 24);
        for (trace, m) in out {
            assert_eq!(trace.len(), 24);
            for (a, b) in trace.iter().zip(want.elbo_trace()) {
                assert!(rel(*a, *b) < 1e-10, "{a} vs {b}");
            }
            for (a, b) in m.iter().zip(want.m_k().unwrap().iter()) {
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }
    }
}
