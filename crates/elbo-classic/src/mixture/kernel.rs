//! The E-step shared by EM, CAVI and SVI, fused with the accumulation of
//! the sufficient statistics: one pass over the data per iteration.
//!
//! Every model's responsibilities have the same form,
//!
//! ln ρ_nk = c_k − ½ ‖A_k (x_n − μ_k)‖²,  r_nk = ρ_nk / Σ_j ρ_nj  (PRML 10.46, 10.49; 9.23)
//!
//! with A_k lower triangular (a Cholesky factor of the precision, so the
//! quadratic form is a triangular product per component) or diagonal. For
//! VB, c_k = E\[ln π_k\] + ½ E\[ln |Λ_k|\] − (D/2) ln 2π − D/(2β_k) and
//! A_kᵀ A_k = ν_k W_k (PRML 10.64–10.67); for EM, c_k = ln π_k − ½ ln |Σ_k|
//! − (D/2) ln 2π and A_kᵀ A_k = Σ_k⁻¹.
//!
//! # Layout and speed
//!
//! The data are cut into blocks of [`BLOCK`] rows processed in parallel
//! (rayon) and reduced in a fixed order, so results do not depend on the
//! number of threads. Inside a block, chunks of [`CHUNK`] rows are
//! transposed to structure-of-arrays so every inner loop runs over points
//! and vectorises; temporaries are bounded by K × CHUNK and D × CHUNK
//! (never N × K × D). For D ≤ 16 a tile of points lives in registers
//! (D is a compile-time constant there); the chunk kernel is compiled twice
//! — portable, and AVX2+FMA with explicit vectors — and the best one the
//! CPU supports is picked at run time; `exp` and `ln` are branch-free
//! polynomials so that they vectorise too. (AVX-512 would gain another
//! 35–50 % on a Zen 4 but needs Rust ≥ 1.89, above the workspace's MSRV.)

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

use super::stats::SuffStats;

/// Rows per parallel block (fixed, so that the reduction order and hence
/// every bit of the result is independent of the thread count).
pub(crate) const BLOCK: usize = 4096;
/// Rows per structure-of-arrays chunk inside a block.
pub(crate) const CHUNK: usize = 512;

/// The per-component quantities of one E-step:
/// ln ρ_nk = `log_const[k]` − ½ ‖A_k (x_n − `mean[k]`)‖².
#[derive(Debug, Clone)]
pub(crate) struct Components {
    pub k: usize,
    pub d: usize,
    /// A_k diagonal (stored as K × D) instead of lower triangular (K × D × D).
    pub diag: bool,
    /// μ_k (EM) or m_k (VB), K × D row-major.
    pub mean: Vec<f64>,
    /// A_k: K × D × D row-major lower triangular, or K × D when `diag`.
    pub factor: Vec<f64>,
    /// c_k, length K (may be −∞ for a component of weight 0).
    pub log_const: Vec<f64>,
}

impl Components {
    /// ln ρ_k(x) for one point (reference implementation, used for
    /// densities of held-out points and in tests).
    pub(crate) fn log_rho(&self, x: &[f64]) -> Vec<f64> {
        let (k, d) = (self.k, self.d);
        (0..k)
            .map(|c| {
                let diff: Vec<f64> = (0..d).map(|j| x[j] - self.mean[c * d + j]).collect();
                let q: f64 = if self.diag {
                    (0..d)
                        .map(|j| (self.factor[c * d + j] * diff[j]).powi(2))
                        .sum()
                } else {
                    let a = &self.factor[c * d * d..(c + 1) * d * d];
                    (0..d)
                        .map(|i| (0..=i).map(|j| a[i * d + j] * diff[j]).sum::<f64>().powi(2))
                        .sum()
                };
                self.log_const[c] - 0.5 * q
            })
            .collect()
    }
}

/// ln Σ_k ρ_k(x_n) for every row of `x` (N × D), in parallel.
pub(crate) fn log_norm_per_point(x: ArrayView2<f64>, comp: &Components) -> ndarray::Array1<f64> {
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let v: Vec<f64> = xs
        .par_chunks(comp.d.max(1))
        .map(|xr| elbo_core::special::log_sum_exp(&comp.log_rho(xr)))
        .collect();
    v.into()
}

/// One E-step over `x` (N × D): the sufficient statistics under the
/// responsibilities (about the component means), Σ r ln r and Σ_n ln Σ_k ρ_nk;
/// when `resp` is given (N × K) the responsibilities are written there too.
///
/// # Panics
/// When the shapes disagree (a caller's bug).
#[track_caller]
pub(crate) fn e_step(
    x: ArrayView2<f64>,
    comp: &Components,
    resp: Option<ArrayViewMut2<f64>>,
) -> SuffStats {
    let (n, d) = x.dim();
    assert_eq!(d, comp.d, "data and components differ in dimension");
    let k = comp.k;
    let x = x.as_standard_layout();
    // Standard layout was just ensured, so the slice exists.
    let xs = x.as_slice().expect("standard layout");
    let center = Array2::from_shape_vec((k, d), comp.mean.clone()).expect("K×D means");
    let blocks: Vec<Acc> = match resp {
        Some(mut r) => {
            assert_eq!(r.dim(), (n, k));
            let rs = r
                .as_slice_mut()
                .expect("responsibilities in standard layout");
            xs.par_chunks(BLOCK * d)
                .zip(rs.par_chunks_mut(BLOCK * k))
                .map_init(
                    || Scratch::new(k, d),
                    |s, (xb, rb)| block_with(xb, comp, Some(rb), chunk_dispatch, s),
                )
                .collect()
        }
        None => xs
            .par_chunks(BLOCK * d)
            .map_init(
                || Scratch::new(k, d),
                |s, xb| block_with(xb, comp, None, chunk_dispatch, s),
            )
            .collect(),
    };
    let mut total = Acc::new(k, d);
    for b in &blocks {
        total.add(b);
    }
    total.into_stats(center, comp.diag)
}

/// Accumulators of one block (flat, upper triangle of Σ r d dᵀ).
struct Acc {
    nk: Vec<f64>,
    sx: Vec<f64>,
    sxx: Vec<f64>,
    sum_r_ln_r: f64,
    log_norm: f64,
    n: f64,
}

impl Acc {
    fn new(k: usize, d: usize) -> Self {
        Self {
            nk: vec![0.0; k],
            sx: vec![0.0; k * d],
            sxx: vec![0.0; k * d * d],
            sum_r_ln_r: 0.0,
            log_norm: 0.0,
            n: 0.0,
        }
    }

    fn add(&mut self, o: &Acc) {
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(u, v)| *u += v);
        add(&mut self.nk, &o.nk);
        add(&mut self.sx, &o.sx);
        add(&mut self.sxx, &o.sxx);
        self.sum_r_ln_r += o.sum_r_ln_r;
        self.log_norm += o.log_norm;
        self.n += o.n;
    }

    fn into_stats(self, center: Array2<f64>, diag: bool) -> SuffStats {
        let (k, d) = center.dim();
        let mut sxx = self.sxx;
        for c in 0..k {
            let m = &mut sxx[c * d * d..(c + 1) * d * d];
            for i in 0..d {
                for j in 0..i {
                    m[i * d + j] = if diag { 0.0 } else { m[j * d + i] };
                }
            }
        }
        SuffStats {
            nk: self.nk.into(),
            center,
            sx: Array2::from_shape_vec((k, d), self.sx).expect("K×D"),
            sxx: ndarray::Array3::from_shape_vec((k, d, d), sxx).expect("K×D×D"),
            sum_r_ln_r: self.sum_r_ln_r,
            log_norm: self.log_norm,
            n_points: self.n,
        }
    }
}

/// Scratch buffers of one block, structure-of-arrays (feature-major), each
/// row CHUNK long (a multiple of LANES; lanes past the chunk's last point
/// are zero and carry r = 0).
struct Scratch {
    xt: Vec<f64>,
    lr: Vec<f64>,
    r: Vec<f64>,
    mx: Vec<f64>,
    sm: Vec<f64>,
    lse: Vec<f64>,
    w: Vec<f64>,
    // Sorted path (SORT_MIN_D ≤ D ≤ MAX_TILED_D, 2 ≤ K ≤ 64): each point's
    // most responsible component and bit mask of components with r > 0,
    // the points in sorted order, each tile's mask, and per-component lane
    // accumulators [N_k | Σ r d | Σ r d dᵀ] × LANES kept for the whole block.
    arg: Vec<usize>,
    mask: Vec<u64>,
    order: Vec<usize>,
    counts: Vec<usize>,
    xs: Vec<f64>,
    tmask: Vec<u64>,
    lacc: Vec<f64>,
    // Only for the generic path (D > MAX_TILED_D).
    dv: Vec<f64>,
    q: Vec<f64>,
    y: Vec<f64>,
}

impl Scratch {
    fn new(k: usize, d: usize) -> Self {
        let v = |m: usize| vec![0.0; m * CHUNK];
        let g = if d > MAX_TILED_D { d } else { 0 };
        let sorted = sorted_path(d, k);
        Self {
            arg: vec![0; if sorted { CHUNK } else { 0 }],
            mask: vec![0; if sorted { CHUNK } else { 0 }],
            order: vec![0; if sorted { CHUNK } else { 0 }],
            counts: vec![0; k + 1],
            xs: if sorted { v(d) } else { Vec::new() },
            tmask: vec![0; if sorted { CHUNK / LANES } else { 0 }],
            lacc: if sorted {
                vec![0.0; k * (1 + d + d * d) * LANES]
            } else {
                Vec::new()
            },
            xt: v(d),
            lr: v(k),
            r: v(k),
            mx: v(1),
            sm: v(1),
            lse: v(1),
            w: v(1),
            dv: v(g),
            q: v(1),
            y: v(1),
        }
    }
}

type ChunkFn = fn(&[f64], &Components, &mut Scratch, &mut Acc, Option<&mut [f64]>);

/// Whether (D, K) takes the sorted path (see [`SORT_MIN_D`]).
fn sorted_path(d: usize, k: usize) -> bool {
    (SORT_MIN_D..=MAX_TILED_D).contains(&d) && (2..=64).contains(&k)
}

fn block_with(
    xb: &[f64],
    comp: &Components,
    mut rb: Option<&mut [f64]>,
    chunk: ChunkFn,
    s: &mut Scratch,
) -> Acc {
    let (k, d) = (comp.k, comp.d);
    let mut acc = Acc::new(k, d);
    s.lacc.fill(0.0);
    for (ci, xc) in xb.chunks(CHUNK * d).enumerate() {
        let rc = rb.as_deref_mut().map(|r| {
            let lo = ci * CHUNK * k;
            let hi = (lo + CHUNK * k).min(r.len());
            &mut r[lo..hi]
        });
        chunk(xc, comp, s, &mut acc, rc);
    }
    flush_lanes(d, k, s, &mut acc);
    acc
}

/// Add the sorted path's lane accumulators of the block into `acc`.
fn flush_lanes(d: usize, k: usize, s: &Scratch, acc: &mut Acc) {
    if s.lacc.is_empty() {
        return;
    }
    let stride = (1 + d + d * d) * LANES;
    let hsum = |v: &[f64]| ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for c in 0..k {
        let a = &s.lacc[c * stride..(c + 1) * stride];
        acc.nk[c] += hsum(&a[..LANES]);
        for p in 0..d {
            acc.sx[c * d + p] += hsum(&a[(1 + p) * LANES..(2 + p) * LANES]);
            for q in p..d {
                let o = (1 + d + p * d + q) * LANES;
                acc.sxx[c * d * d + p * d + q] += hsum(&a[o..o + LANES]);
            }
        }
    }
}

fn chunk_dispatch(
    xc: &[f64],
    comp: &Components,
    s: &mut Scratch,
    acc: &mut Acc,
    rc: Option<&mut [f64]>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { chunk_avx2(xc, comp, s, acc, rc) };
            return;
        }
    }
    chunk_body::<Plain, Plain, false>(xc, comp, s, acc, rc);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chunk_avx2(
    xc: &[f64],
    comp: &Components,
    s: &mut Scratch,
    acc: &mut Acc,
    rc: Option<&mut [f64]>,
) {
    chunk_body::<x86::Y, x86_4::Y4, true>(xc, comp, s, acc, rc);
}

/// Points per tile of the normalisation (a multiple of every `Lanes::N`).
const LANES: usize = 8;
/// From this D on, the points of a chunk are sorted by their most
/// responsible component before the statistics, so that each component's
/// statistics only visit the few tiles where it has responsibility (the
/// other tiles are all 0 and skipped); below it the copy costs more than
/// it saves.
const SORT_MIN_D: usize = 4;
/// The largest D with a register-tiled kernel of its own (larger D runs a
/// generic loop over features).
const MAX_TILED_D: usize = 16;
/// Responsibilities below 2⁻⁶⁴ ≈ 5.4e-20 are set to 0 (in q(Z) itself, so
/// every sum stays consistent): their total mass over N points is below
/// the rounding error of any N_k ≥ N · 2⁻¹², and tiles of points without a
/// responsibility left for a component skip that component's statistics.
pub(crate) const R_MIN: f64 = 5.421_010_862_427_522e-20;

/// a·b + c, fused where the target has FMA (F = true).
#[inline(always)]
fn fmadd<const F: bool>(a: f64, b: f64, c: f64) -> f64 {
    if F { a.mul_add(b, c) } else { a * b + c }
}

/// Σ_i a_i with eight independent partial sums (vectorises).
#[inline(always)]
fn sum8(a: &[f64]) -> f64 {
    let mut p = [0.0f64; 8];
    let mut it = a.chunks_exact(8);
    for c in &mut it {
        for l in 0..8 {
            p[l] += c[l];
        }
    }
    let mut s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for &v in it.remainder() {
        s += v;
    }
    s
}

/// Σ_i a_i b_i with eight independent partial sums (vectorises).
#[inline(always)]
fn dot8(a: &[f64], b: &[f64]) -> f64 {
    let mut p = [0.0f64; 8];
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ia = a.chunks_exact(8);
    let mut ib = b.chunks_exact(8);
    for (ca, cb) in (&mut ia).zip(&mut ib) {
        for l in 0..8 {
            p[l] += ca[l] * cb[l];
        }
    }
    let mut s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (&u, &v) in ia.remainder().iter().zip(ib.remainder()) {
        s += u * v;
    }
    s
}

/// e^x for x ≤ 0, branch-free so that it vectorises: Cody–Waite reduction
/// x = n ln 2 + r, |r| ≤ ln 2 / 2, a degree-13 Taylor polynomial for e^r
/// (truncation < 1e-17 relative) and 2ⁿ built from the exponent bits.
/// Relative error within a few ulp; exactly 0 below −708 (where e^x is
/// subnormal) and for −∞. `F`: fused multiply-adds in the polynomial.
#[inline(always)]
pub(crate) fn exp_nonpos<const F: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2: the high part has 32 significant bits, so
    // n · LN2_HI is exact for |n| < 2²¹.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²: rounds to an integer in the low bits
    const C: [f64; 12] = [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
    ];
    let xc = if x < -708.0 { -708.0 } else { x };
    let t = xc * LOG2E + MAGIC;
    let nf = t - MAGIC;
    let r = (xc - nf * LN2_HI) - nf * LN2_LO;
    // Horner for Σ_{i=0}^{13} rⁱ / i!
    let mut p = 1.0 / 6_227_020_800.0;
    for c in C {
        p = fmadd::<F>(p, r, c);
    }
    p = fmadd::<F>(p, r, 1.0);
    // The low bits of t hold n (two's complement); (n + 1023) << 52 is 2ⁿ,
    // a normal number for n ∈ [−1021, 0].
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    if x < -708.0 { 0.0 } else { p * scale }
}

/// ln x for 1 ≤ x < 2¹⁰²³ (the sum Σ_k exp(ln ρ_k − max) lies in [1, K]),
/// branch-free so that it vectorises: x = 2ᵉ m with m ∈ [√½, √2),
/// ln m = 2 atanh(z), z = (m − 1)/(m + 1), |z| ≤ 0.172, by its series to
/// z²³ (truncation < 3e-18).
#[inline(always)]
pub(crate) fn ln_ge1(x: f64) -> f64 {
    let bits = x.to_bits();
    let e0 = ((bits >> 52) as i64) - 1023;
    let m0 = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m0 > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m0 } else { m0 };
    let e = if big { e0 + 1 } else { e0 } as f64;
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut p = 1.0 / 23.0;
    p = p * z2 + 1.0 / 21.0;
    p = p * z2 + 1.0 / 19.0;
    p = p * z2 + 1.0 / 17.0;
    p = p * z2 + 1.0 / 15.0;
    p = p * z2 + 1.0 / 13.0;
    p = p * z2 + 1.0 / 11.0;
    p = p * z2 + 1.0 / 9.0;
    p = p * z2 + 1.0 / 7.0;
    p = p * z2 + 1.0 / 5.0;
    p = p * z2 + 1.0 / 3.0;
    p = p * z2 + 1.0;
    e * std::f64::consts::LN_2 + 2.0 * z * p
}

#[inline(always)]
fn chunk_body<V: Lanes, Q: Lanes, const F: bool>(
    xc: &[f64],
    comp: &Components,
    s: &mut Scratch,
    acc: &mut Acc,
    rc: Option<&mut [f64]>,
) {
    macro_rules! tiled {
        ($($d:literal)*) => {
            match comp.d {
                $($d => chunk_tiled::<$d, V, Q, F>(xc, comp, s, acc, rc),)*
                _ => chunk_generic::<F>(xc, comp, s, acc, rc),
            }
        };
    }
    tiled!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// Transpose the chunk (xt[j][i] = x_ij), zero the padding lanes; returns
/// (points, points rounded up to LANES).
#[inline(always)]
fn transpose(xc: &[f64], d: usize, s: &mut Scratch) -> (usize, usize) {
    let b = xc.len() / d;
    let bp = b.div_ceil(LANES) * LANES;
    for (i, row) in xc.chunks_exact(d).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            s.xt[j * CHUNK + i] = v;
        }
    }
    for j in 0..d {
        s.xt[j * CHUNK + b..j * CHUNK + bp].fill(0.0);
    }
    (b, bp)
}

/// Eight f64 lanes: two AVX2 registers, or a plain array.
/// The tiled kernels are written once against this trait; explicit vectors
/// keep LLVM from vectorising the wrong loop.
trait Lanes: Copy {
    /// Points per vector (divides LANES).
    const N: usize;
    fn zero() -> Self;
    fn splat(v: f64) -> Self;
    /// The first N values of `a`.
    fn load(a: &[f64]) -> Self;
    /// Into the first N values of `a`.
    fn store(self, a: &mut [f64]);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// self · b + c
    fn mul_add(self, b: Self, c: Self) -> Self;
    fn hsum(self) -> f64;
    /// Whether every lane is exactly 0.
    fn is_zero(self) -> bool;
}

/// The portable lanes (any CPU; separate multiply and add).
#[derive(Clone, Copy)]
struct Plain([f64; LANES]);

impl Lanes for Plain {
    const N: usize = LANES;
    #[inline(always)]
    fn zero() -> Self {
        Plain([0.0; LANES])
    }
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Plain([v; LANES])
    }
    #[inline(always)]
    fn load(a: &[f64]) -> Self {
        let mut r = [0.0; LANES];
        r.copy_from_slice(&a[..LANES]);
        Plain(r)
    }
    #[inline(always)]
    fn store(self, a: &mut [f64]) {
        a[..LANES].copy_from_slice(&self.0);
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        let mut r = self.0;
        r.iter_mut().zip(o.0).for_each(|(a, b)| *a += b);
        Plain(r)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        let mut r = self.0;
        r.iter_mut().zip(o.0).for_each(|(a, b)| *a -= b);
        Plain(r)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let mut r = self.0;
        r.iter_mut().zip(o.0).for_each(|(a, b)| *a *= b);
        Plain(r)
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        let mut r = c.0;
        r.iter_mut()
            .zip(self.0.iter().zip(b.0))
            .for_each(|(r, (a, b))| *r += a * b);
        Plain(r)
    }
    #[inline(always)]
    fn hsum(self) -> f64 {
        let v = self.0;
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
    #[inline(always)]
    fn is_zero(self) -> bool {
        self.0.iter().all(|&v| v == 0.0)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! AVX2 lanes, eight points in two registers. SAFETY (for every `unsafe`
    //! block below): values of this type are only created and used inside
    //! `chunk_avx2`, which runs only after `is_x86_feature_detected!`
    //! confirmed AVX2 and FMA; loads and stores go through the first eight
    //! elements of slices whose length is checked first.
    use super::Lanes;
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(super) struct Y(__m256d, __m256d);

    impl Lanes for Y {
        const N: usize = 8;
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Y(_mm256_setzero_pd(), _mm256_setzero_pd()) }
        }
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Y(_mm256_set1_pd(v), _mm256_set1_pd(v)) }
        }
        #[inline(always)]
        fn load(a: &[f64]) -> Self {
            let a = &a[..8];
            unsafe {
                Y(
                    _mm256_loadu_pd(a.as_ptr()),
                    _mm256_loadu_pd(a.as_ptr().add(4)),
                )
            }
        }
        #[inline(always)]
        fn store(self, a: &mut [f64]) {
            let a = &mut a[..8];
            unsafe {
                _mm256_storeu_pd(a.as_mut_ptr(), self.0);
                _mm256_storeu_pd(a.as_mut_ptr().add(4), self.1);
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Y(_mm256_add_pd(self.0, o.0), _mm256_add_pd(self.1, o.1)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Y(_mm256_sub_pd(self.0, o.0), _mm256_sub_pd(self.1, o.1)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Y(_mm256_mul_pd(self.0, o.0), _mm256_mul_pd(self.1, o.1)) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe {
                Y(
                    _mm256_fmadd_pd(self.0, b.0, c.0),
                    _mm256_fmadd_pd(self.1, b.1, c.1),
                )
            }
        }
        #[inline(always)]
        fn hsum(self) -> f64 {
            let mut a = [0.0; 8];
            self.store(&mut a);
            ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
        }
        #[inline(always)]
        fn is_zero(self) -> bool {
            unsafe {
                let z = _mm256_setzero_pd();
                let any = _mm256_or_pd(
                    _mm256_cmp_pd::<_CMP_NEQ_UQ>(self.0, z),
                    _mm256_cmp_pd::<_CMP_NEQ_UQ>(self.1, z),
                );
                _mm256_movemask_pd(any) == 0
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_4 {
    //! AVX2 lanes, four points in one register (the quadratic form keeps D
    //! of them live, which must fit in AVX2's sixteen registers). SAFETY:
    //! as for `x86::Y` (only used inside `chunk_avx2`; slice lengths checked).
    use super::Lanes;
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(super) struct Y4(__m256d);

    impl Lanes for Y4 {
        const N: usize = 4;
        #[inline(always)]
        fn zero() -> Self {
            unsafe { Y4(_mm256_setzero_pd()) }
        }
        #[inline(always)]
        fn splat(v: f64) -> Self {
            unsafe { Y4(_mm256_set1_pd(v)) }
        }
        #[inline(always)]
        fn load(a: &[f64]) -> Self {
            let a = &a[..4];
            unsafe { Y4(_mm256_loadu_pd(a.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, a: &mut [f64]) {
            let a = &mut a[..4];
            unsafe { _mm256_storeu_pd(a.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Y4(_mm256_add_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Y4(_mm256_sub_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Y4(_mm256_mul_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul_add(self, b: Self, c: Self) -> Self {
            unsafe { Y4(_mm256_fmadd_pd(self.0, b.0, c.0)) }
        }
        #[inline(always)]
        fn hsum(self) -> f64 {
            let mut a = [0.0; 4];
            self.store(&mut a);
            (a[0] + a[2]) + (a[1] + a[3])
        }
        #[inline(always)]
        fn is_zero(self) -> bool {
            unsafe {
                _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_NEQ_UQ>(self.0, _mm256_setzero_pd())) == 0
            }
        }
    }
}

#[inline(always)]
fn tile<V: Lanes>(v: &[f64], j: usize, i: usize) -> V {
    V::load(&v[j * CHUNK + i..j * CHUNK + i + V::N])
}

/// ln ρ_nk = c_k − ½‖A_k (x_n − μ_k)‖² for the chunk, D known at compile
/// time so that a tile of LANES points lives in registers; the loops run
/// over constant ranges so they unroll, and only A's lower triangle is used.
#[inline(always)]
fn log_rho_tiled<const D: usize, V: Lanes>(
    xt: &[f64],
    bp: usize,
    comp: &Components,
    c: usize,
    out: &mut [f64],
) {
    let m = &comp.mean[c * D..(c + 1) * D];
    let cst = V::splat(comp.log_const[c]);
    let half = V::splat(-0.5);
    let mut i = 0;
    while i < bp {
        let mut dd = [V::zero(); D];
        for j in 0..D {
            dd[j] = tile::<V>(xt, j, i).sub(V::splat(m[j]));
        }
        let mut q = V::zero();
        if comp.diag {
            let a = &comp.factor[c * D..(c + 1) * D];
            for j in 0..D {
                let t = V::splat(a[j]).mul(dd[j]);
                q = t.mul_add(t, q);
            }
        } else {
            let a = &comp.factor[c * D * D..(c + 1) * D * D];
            for row in 0..D {
                let mut y = V::splat(a[row * D]).mul(dd[0]);
                for col in 1..D {
                    if col <= row {
                        y = V::splat(a[row * D + col]).mul_add(dd[col], y);
                    }
                }
                q = y.mul_add(y, q);
            }
        }
        half.mul_add(q, cst).store(&mut out[i..i + V::N]);
        i += V::N;
    }
}

/// The statistics of component `c` over the chunk (tiles whose
/// responsibilities are all 0 are skipped), D known at compile time.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // p, q index several arrays at once
fn stats_tiled<const D: usize, V: Lanes>(
    xt: &[f64],
    r: &[f64],
    bp: usize,
    comp: &Components,
    c: usize,
    acc: &mut Acc,
) {
    let m = &comp.mean[c * D..(c + 1) * D];
    let mut an = V::zero();
    let mut asx = [V::zero(); D];
    let mut asxx = [[V::zero(); D]; D];
    let mut any = false;
    let mut i = 0;
    while i < bp {
        let rv = V::load(&r[i..i + V::N]);
        if rv.is_zero() {
            i += V::N;
            continue;
        }
        any = true;
        // No closures here (`array::from_fn`): they would not inherit the
        // target features and the intrinsics would stay calls.
        let mut dd = [V::zero(); D];
        let mut wd = [V::zero(); D];
        for j in 0..D {
            dd[j] = tile::<V>(xt, j, i).sub(V::splat(m[j]));
            wd[j] = rv.mul(dd[j]);
        }
        an = an.add(rv);
        for j in 0..D {
            asx[j] = asx[j].add(wd[j]);
        }
        if comp.diag {
            for j in 0..D {
                asxx[j][j] = wd[j].mul_add(dd[j], asxx[j][j]);
            }
        } else {
            for p in 0..D {
                for q in 0..D {
                    if q >= p {
                        asxx[p][q] = wd[p].mul_add(dd[q], asxx[p][q]);
                    }
                }
            }
        }
        i += V::N;
    }
    if !any {
        return;
    }
    acc.nk[c] += an.hsum();
    for p in 0..D {
        acc.sx[c * D + p] += asx[p].hsum();
        for q in p..D {
            acc.sxx[c * D * D + p * D + q] += asxx[p][q].hsum();
        }
    }
}

/// Normalise (PRML 10.49): r_nk = exp(ln ρ_nk − ln Σ_j ρ_nj), with the
/// normaliser and Σ r ln r added to the accumulators.
#[inline(always)]
fn normalise<const F: bool>(k: usize, b: usize, bp: usize, s: &mut Scratch, acc: &mut Acc) {
    let mx = &mut s.mx[..bp];
    mx.fill(f64::NEG_INFINITY);
    let track = !s.arg.is_empty();
    for c in 0..k {
        let lr = &s.lr[c * CHUNK..c * CHUNK + bp];
        if track {
            for ((m, &l), a) in mx.iter_mut().zip(lr).zip(s.arg.iter_mut()) {
                let better = l > *m;
                *m = if better { l } else { *m };
                *a = if better { c } else { *a };
            }
        } else {
            for (m, &l) in mx.iter_mut().zip(lr) {
                *m = if l > *m { l } else { *m };
            }
        }
    }
    let sm = &mut s.sm[..bp];
    sm.fill(0.0);
    for c in 0..k {
        let lr = &s.lr[c * CHUNK..c * CHUNK + bp];
        let r = &mut s.r[c * CHUNK..c * CHUNK + bp];
        for ((ri, &l), (&m, si)) in r.iter_mut().zip(lr).zip(mx.iter().zip(sm.iter_mut())) {
            let e = exp_nonpos::<F>(l - m);
            *ri = e;
            *si += e;
        }
    }
    let lse = &mut s.lse[..bp];
    for ((l, &m), si) in lse.iter_mut().zip(mx.iter()).zip(sm.iter_mut()) {
        *l = m + ln_ge1(*si);
        *si = 1.0 / *si;
    }
    acc.log_norm += sum8(&lse[..b]);
    let mut ent = 0.0;
    for c in 0..k {
        let lr = &s.lr[c * CHUNK..c * CHUNK + bp];
        let r = &mut s.r[c * CHUNK..c * CHUNK + bp];
        let w = &mut s.w[..bp];
        for (((ri, &l), (&inv, &ls)), wi) in r
            .iter_mut()
            .zip(lr)
            .zip(sm.iter().zip(lse.iter()))
            .zip(w.iter_mut())
        {
            let rv = *ri * inv;
            let rv = if rv < R_MIN { 0.0 } else { rv };
            *ri = rv;
            // r ln r = r (ln ρ − ln Σρ), and 0 ln 0 = 0.
            *wi = if rv > 0.0 { rv * (l - ls) } else { 0.0 };
        }
        // Padding lanes carry no responsibility.
        r[b..bp].fill(0.0);
        ent += sum8(&w[..b]);
        if track {
            let bit = 1u64 << c;
            let mask = &mut s.mask[..b];
            if c == 0 {
                mask.fill(0);
            }
            for (mk, &rv) in mask.iter_mut().zip(r.iter()) {
                *mk |= if rv > 0.0 { bit } else { 0 };
            }
        }
    }
    acc.sum_r_ln_r += ent;
    acc.n += b as f64;
}

#[inline(always)]
fn write_resp(k: usize, b: usize, s: &Scratch, rc: Option<&mut [f64]>) {
    if let Some(out) = rc {
        for (i, row) in out.chunks_exact_mut(k).enumerate().take(b) {
            for (c, o) in row.iter_mut().enumerate() {
                *o = s.r[c * CHUNK + i];
            }
        }
    }
}

#[inline(always)]
fn chunk_tiled<const D: usize, V: Lanes, Q: Lanes, const F: bool>(
    xc: &[f64],
    comp: &Components,
    s: &mut Scratch,
    acc: &mut Acc,
    rc: Option<&mut [f64]>,
) {
    let k = comp.k;
    let (b, bp) = transpose(xc, D, s);
    for c in 0..k {
        log_rho_tiled::<D, Q>(&s.xt, bp, comp, c, &mut s.lr[c * CHUNK..(c + 1) * CHUNK]);
    }
    normalise::<F>(k, b, bp, s, acc);
    if sorted_path(D, k) {
        sort_by_component(D, k, b, bp, s);
        stats_sorted::<D, V>(k, b, bp, comp, s);
    } else {
        for c in 0..k {
            stats_tiled::<D, V>(&s.xt, &s.r[c * CHUNK..(c + 1) * CHUNK], bp, comp, c, acc);
        }
    }
    write_resp(k, b, s, rc);
}

/// Order the chunk's points by their most responsible component (a
/// counting sort): `order`, the points copied in that order (xt → xs,
/// padding lanes zero), and the mask of components with responsibility in
/// each tile of LANES sorted points.
#[inline(always)]
fn sort_by_component(d: usize, k: usize, b: usize, bp: usize, s: &mut Scratch) {
    let counts = &mut s.counts;
    counts.fill(0);
    for &a in &s.arg[..b] {
        counts[a + 1] += 1;
    }
    for c in 0..k {
        counts[c + 1] += counts[c];
    }
    // counts[c] is now the first slot of component c; place each point.
    for (i, &a) in s.arg[..b].iter().enumerate() {
        s.order[counts[a]] = i;
        counts[a] += 1;
    }
    for j in 0..d {
        let (src, dst) = (
            &s.xt[j * CHUNK..(j + 1) * CHUNK],
            &mut s.xs[j * CHUNK..(j + 1) * CHUNK],
        );
        for (o, &i) in dst.iter_mut().zip(&s.order[..b]) {
            *o = src[i];
        }
        dst[b..bp].fill(0.0);
    }
    for (t, tm) in s.tmask[..bp / LANES].iter_mut().enumerate() {
        let lo = t * LANES;
        let hi = (lo + LANES).min(b);
        *tm = s.order[lo..hi].iter().fold(0, |m, &i| m | s.mask[i]);
    }
}

/// The statistics of the sorted chunk: for each tile, only the components
/// with responsibility in it, into the block's lane accumulators.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // p, q index several arrays at once
fn stats_sorted<const D: usize, V: Lanes>(
    k: usize,
    b: usize,
    bp: usize,
    comp: &Components,
    s: &mut Scratch,
) {
    let stride = (1 + D + D * D) * LANES;
    let ntiles = bp / LANES;
    for t in 0..ntiles {
        let mut tm = s.tmask[t];
        let lo = t * LANES;
        while tm != 0 {
            let c = tm.trailing_zeros() as usize;
            tm &= tm - 1;
            debug_assert!(c < k);
            // Gather r_c of the tile's points (0 on padding lanes).
            let mut rg = [0.0f64; LANES];
            for (l, rv) in rg.iter_mut().enumerate() {
                if lo + l < b {
                    *rv = s.r[c * CHUNK + s.order[lo + l]];
                }
            }
            let m = &comp.mean[c * D..(c + 1) * D];
            let a = &mut s.lacc[c * stride..(c + 1) * stride];
            let mut i = 0;
            while i < LANES {
                let rv = V::load(&rg[i..]);
                let mut dd = [V::zero(); D];
                let mut wd = [V::zero(); D];
                for j in 0..D {
                    dd[j] = tile::<V>(&s.xs, j, lo + i).sub(V::splat(m[j]));
                    wd[j] = rv.mul(dd[j]);
                }
                let an = &mut a[i..i + V::N];
                V::load(an).add(rv).store(an);
                for j in 0..D {
                    let o = (1 + j) * LANES + i;
                    let sx = &mut a[o..o + V::N];
                    V::load(sx).add(wd[j]).store(sx);
                }
                for p in 0..D {
                    for q in 0..D {
                        if q >= p && (!comp.diag || q == p) {
                            let o = (1 + D + p * D + q) * LANES + i;
                            let sxx = &mut a[o..o + V::N];
                            wd[p].mul_add(dd[q], V::load(sxx)).store(sxx);
                        }
                    }
                }
                i += V::N;
            }
        }
    }
}

/// The same for any D, looping over features in passes over the points.
#[inline(always)]
fn chunk_generic<const F: bool>(
    xc: &[f64],
    comp: &Components,
    s: &mut Scratch,
    acc: &mut Acc,
    rc: Option<&mut [f64]>,
) {
    let (k, d) = (comp.k, comp.d);
    let (b, bp) = transpose(xc, d, s);
    for c in 0..k {
        diffs(s, comp, c, bp);
        let q = &mut s.q[..bp];
        q.fill(0.0);
        if comp.diag {
            for j in 0..d {
                let a = comp.factor[c * d + j];
                for (qi, &v) in q.iter_mut().zip(&s.dv[j * CHUNK..j * CHUNK + bp]) {
                    let t = a * v;
                    *qi = fmadd::<F>(t, t, *qi);
                }
            }
        } else {
            let a = &comp.factor[c * d * d..(c + 1) * d * d];
            let y = &mut s.y[..bp];
            for row in 0..d {
                let ar = a[row * d + row];
                for (yi, &v) in y.iter_mut().zip(&s.dv[row * CHUNK..row * CHUNK + bp]) {
                    *yi = ar * v;
                }
                for col in 0..row {
                    let ac = a[row * d + col];
                    for (yi, &v) in y.iter_mut().zip(&s.dv[col * CHUNK..col * CHUNK + bp]) {
                        *yi = fmadd::<F>(ac, v, *yi);
                    }
                }
                for (qi, &yi) in q.iter_mut().zip(y.iter()) {
                    *qi = fmadd::<F>(yi, yi, *qi);
                }
            }
        }
        let cst = comp.log_const[c];
        for (l, &qi) in s.lr[c * CHUNK..c * CHUNK + bp].iter_mut().zip(q.iter()) {
            *l = fmadd::<F>(-0.5, qi, cst);
        }
    }
    normalise::<F>(k, b, bp, s, acc);
    for c in 0..k {
        let nkc = sum8(&s.r[c * CHUNK..c * CHUNK + bp]);
        if nkc == 0.0 {
            continue;
        }
        acc.nk[c] += nkc;
        diffs(s, comp, c, bp);
        for i in 0..d {
            {
                let w = &s.r[c * CHUNK..c * CHUNK + bp];
                let di = &s.dv[i * CHUNK..i * CHUNK + bp];
                for ((o, &wv), &dv) in s.w[..bp].iter_mut().zip(w).zip(di) {
                    *o = wv * dv;
                }
            }
            let wd = &s.w[..bp];
            acc.sx[c * d + i] += sum8(wd);
            let hi = if comp.diag { i + 1 } else { d };
            for j in i..hi {
                acc.sxx[c * d * d + i * d + j] += dot8(wd, &s.dv[j * CHUNK..j * CHUNK + bp]);
            }
        }
    }
    write_resp(k, b, s, rc);
}

/// dv[j][i] = x_ij − μ_cj for the rows of the current chunk.
#[inline(always)]
fn diffs(s: &mut Scratch, comp: &Components, c: usize, bp: usize) {
    let d = comp.d;
    for j in 0..d {
        let m = comp.mean[c * d + j];
        let src = &s.xt[j * CHUNK..j * CHUNK + bp];
        let dst = &mut s.dv[j * CHUNK..j * CHUNK + bp];
        for (o, &v) in dst.iter_mut().zip(src) {
            *o = v - m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng;

    #[test]
    fn polynomial_exp_matches_std_to_a_few_ulp() {
        let mut rng = elbo_core::rng::seeded(1);
        let mut worst: f64 = 0.0;
        for i in 0..200_000 {
            let x = if i < 1000 {
                -(i as f64) * 0.708
            } else {
                -rng.random::<f64>() * 708.0
            };
            let (a, f, b) = (exp_nonpos::<false>(x), exp_nonpos::<true>(x), x.exp());
            worst = worst.max(((a - b) / b).abs()).max(((f - b) / b).abs());
        }
        assert!(worst < 1e-15, "worst relative error {worst}");
        assert_eq!(exp_nonpos::<false>(0.0), 1.0);
        assert!((exp_nonpos::<true>(-1.0) - (-1f64).exp()).abs() < 1e-16);
        assert_eq!(exp_nonpos::<false>(-800.0), 0.0);
        assert_eq!(exp_nonpos::<false>(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn polynomial_log_matches_std_to_a_few_ulp() {
        let mut rng = elbo_core::rng::seeded(2);
        let mut worst: f64 = 0.0;
        for i in 0..200_000 {
            let x = if i < 1000 {
                1.0 + i as f64 * 1e-3
            } else {
                1.0 + rng.random::<f64>() * 1e3
            };
            let (a, b) = (ln_ge1(x), x.ln());
            worst = worst.max(if b == 0.0 {
                a.abs()
            } else {
                ((a - b) / b).abs()
            });
        }
        assert!(worst < 1e-15, "worst relative error {worst}");
        assert_eq!(ln_ge1(1.0), 0.0);
    }

    /// The portable path, and AVX2 when the CPU has it (the dispatcher
    /// picks only the best one, so each path needs its own test).
    fn chunk_plain(
        xc: &[f64],
        comp: &Components,
        s: &mut Scratch,
        acc: &mut Acc,
        rc: Option<&mut [f64]>,
    ) {
        chunk_body::<Plain, Plain, false>(xc, comp, s, acc, rc);
    }

    fn chunk_avx2_or_plain(
        xc: &[f64],
        comp: &Components,
        s: &mut Scratch,
        acc: &mut Acc,
        rc: Option<&mut [f64]>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA were detected just above.
            unsafe { chunk_avx2(xc, comp, s, acc, rc) };
            return;
        }
        chunk_plain(xc, comp, s, acc, rc);
    }

    fn brute(x: &Array2<f64>, comp: &Components) -> (Array2<f64>, f64, f64) {
        let (n, k) = (x.nrows(), comp.k);
        let mut r = Array2::zeros((n, k));
        let (mut ln_norm, mut ent) = (0.0, 0.0);
        for i in 0..n {
            let lr = comp.log_rho(x.row(i).as_slice().unwrap());
            let lse = elbo_core::special::log_sum_exp(&lr);
            ln_norm += lse;
            for c in 0..k {
                let v = (lr[c] - lse).exp();
                r[[i, c]] = v;
                if v > 0.0 {
                    ent += v * (lr[c] - lse);
                }
            }
        }
        (r, ln_norm, ent)
    }

    #[test]
    fn fused_kernel_matches_a_direct_computation() {
        let mut rng = elbo_core::rng::seeded(3);
        for &(n, d, k, diag) in &[
            (5000usize, 3usize, 4usize, false),
            (700, 2, 3, true),
            (9000, 1, 2, false),
            (333, 17, 3, false),
            (301, 18, 2, true),
            (400, 6, 3, true),
            (257, 5, 1, false),
            (517, 10, 5, false),
        ] {
            let x = Array2::from_shape_fn((n, d), |_| rng.random::<f64>() * 4.0 - 2.0);
            let fl = if diag { k * d } else { k * d * d };
            let mut factor = vec![0.0; fl];
            for c in 0..k {
                for i in 0..d {
                    if diag {
                        factor[c * d + i] = 0.5 + rng.random::<f64>();
                    } else {
                        for j in 0..=i {
                            factor[c * d * d + i * d + j] = if i == j {
                                0.5 + rng.random::<f64>()
                            } else {
                                rng.random::<f64>() - 0.5
                            };
                        }
                    }
                }
            }
            let comp = Components {
                k,
                d,
                diag,
                mean: (0..k * d).map(|_| rng.random::<f64>() - 0.5).collect(),
                factor,
                log_const: (0..k)
                    .map(|c| {
                        if c == 1 && k > 1 {
                            f64::NEG_INFINITY
                        } else {
                            -rng.random::<f64>()
                        }
                    })
                    .collect(),
            };
            let mut r = Array2::zeros((n, k));
            let st = e_step(x.view(), &comp, Some(r.view_mut()));
            let (rb, ln_norm, ent) = brute(&x, &comp);
            for (a, b) in r.iter().zip(rb.iter()) {
                assert!((a - b).abs() < 1e-13, "{a} vs {b}");
            }
            assert!((st.log_norm - ln_norm).abs() < 1e-9 * ln_norm.abs());
            assert!((st.sum_r_ln_r - ent).abs() < 1e-9 * ent.abs().max(1.0));
            let center = Array2::from_shape_vec((k, d), comp.mean.clone()).unwrap();
            let mut want =
                SuffStats::from_responsibilities(x.view(), rb.view(), center.view()).unwrap();
            if diag {
                for c in 0..k {
                    for i in 0..d {
                        for j in 0..d {
                            if i != j {
                                want.sxx[[c, i, j]] = 0.0;
                            }
                        }
                    }
                }
            }
            for (a, b) in st.sxx.iter().zip(want.sxx.iter()) {
                assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
            for (a, b) in st.nk.iter().zip(want.nk.iter()) {
                assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
            if k > 1 {
                assert_eq!(st.nk[1], 0.0);
            }
            assert_eq!(st.n_points, n as f64);
            // Every compiled path gives the same statistics.
            let xs = x.as_slice().unwrap();
            for path in [chunk_plain as ChunkFn, chunk_avx2_or_plain] {
                let mut r2 = Array2::zeros((n, k));
                let mut scratch = Scratch::new(k, d);
                let acc = block_with(xs, &comp, r2.as_slice_mut(), path, &mut scratch);
                let st2 = acc.into_stats(center.clone(), diag);
                for (a, b) in r2.iter().zip(r.iter()) {
                    assert!((a - b).abs() < 1e-13, "{a} vs {b}");
                }
                for (a, b) in st2.sxx.iter().zip(st.sxx.iter()) {
                    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
                }
                assert!((st2.log_norm - st.log_norm).abs() < 1e-9 * st.log_norm.abs());
            }
        }
    }
}
