//! Fitting time of variational linear regression and of the evidence
//! approximation (scikit-learn's `BayesianRidge`) on N = 2·10⁵ seeded
//! Gaussian rows of D = 100 features.
//!
//! `cargo bench -p elbo-classic --bench vblr`; compare with
//! `python3 scripts/vblr_bench_sklearn.py`, which times `BayesianRidge.fit`
//! on data of the same shape and distribution.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use elbo_classic::vblr::{EvidenceRegression, Noise, SuffStats, Vblr};
use ndarray::{Array1, Array2};
use rand_distr::{Distribution, StandardNormal};

const N: usize = 200_000;
const D: usize = 100;

/// x ~ N(0, I), t = x w + N(0, 0.5²) with w_j ~ N(0, 1).
fn data() -> (Array2<f64>, Array1<f64>) {
    let mut rng = elbo_core::rng::seeded(2024);
    let x: Array2<f64> = Array2::from_shape_simple_fn((N, D), || StandardNormal.sample(&mut rng));
    let w: Array1<f64> = (0..D).map(|_| StandardNormal.sample(&mut rng)).collect();
    let noise: Array1<f64> = (0..N)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            0.5 * z
        })
        .collect();
    let t = x.dot(&w) + noise;
    (x, t)
}

/// The fastest of `k` runs, in seconds: robust to a busy machine, and the
/// number `scripts/vblr_bench_sklearn.py` prints too.
fn min_time(k: usize, mut f: impl FnMut()) -> f64 {
    (0..k)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn bench(c: &mut Criterion) {
    let (x, t) = data();
    let known = Vblr::params()
        .with_noise(Noise::Known(4.0))
        .check()
        .expect("valid");
    let unknown = Vblr::params().check().expect("valid");
    let evidence = EvidenceRegression::params().check().expect("valid");
    println!("fastest of 7 (s):");
    let k = 7;
    println!(
        "  sufficient statistics {:.4}",
        min_time(k, || {
            black_box(SuffStats::from_data(x.view(), t.view()).ok());
        })
    );
    println!(
        "  VB, β known           {:.4}",
        min_time(k, || {
            black_box(known.fit(x.view(), t.view()).ok());
        })
    );
    println!(
        "  VB, β ~ Gamma         {:.4}",
        min_time(k, || {
            black_box(unknown.fit(x.view(), t.view()).ok());
        })
    );
    println!(
        "  EvidenceRegression    {:.4}",
        min_time(k, || {
            black_box(evidence.fit(x.view(), t.view()).ok());
        })
    );
    let mut g = c.benchmark_group(format!("vblr N={N} D={D}"));
    g.sample_size(10);
    g.bench_function("sufficient statistics (XᵀX, Xᵀt)", |b| {
        b.iter(|| SuffStats::from_data(black_box(x.view()), black_box(t.view())))
    });
    g.bench_function("VB, shared α, β known", |b| {
        b.iter(|| known.fit(black_box(x.view()), black_box(t.view())))
    });
    g.bench_function("VB, shared α, β ~ Gamma", |b| {
        b.iter(|| unknown.fit(black_box(x.view()), black_box(t.view())))
    });
    g.bench_function("EvidenceRegression (BayesianRidge defaults)", |b| {
        b.iter(|| evidence.fit(black_box(x.view()), black_box(t.view())))
    });
    g.finish();

    // One fit of each, for the record: iterations and the answer's scale.
    if let (Ok(v), Ok(e)) = (
        unknown.fit(x.view(), t.view()),
        evidence.fit(x.view(), t.view()),
    ) {
        println!(
            "VB: {} iterations, E[β] = {:.4}; evidence: {} iterations, β = {:.4}, α = {:.4}",
            v.n_iter(),
            v.beta_mean(),
            e.n_iter(),
            e.beta(),
            e.alpha()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
