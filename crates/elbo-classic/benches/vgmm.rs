//! Benchmarks of the Gaussian mixtures on synthetic blobs, the shapes of
//! issue 4: N = 10⁶, D = 2, K = 10 and N = 10⁵, D = 10, K = 10, 100 CAVI
//! iterations (tol = 0, as scikit-learn's `tol=0, max_iter=100`), k-means++
//! initialisation included. `scripts/vgmm_bench_sklearn.py` times
//! scikit-learn's `BayesianGaussianMixture` on the same shapes.
//!
//! `cargo bench -p elbo-classic --bench vgmm` (all), or with a filter such
//! as `-- vgmm_100it/1000000x2`. Set `ELBO_BENCH_QUICK=1` for smaller N.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use elbo_classic::mixture::{CovarianceType, EmGmm, Vgmm, blobs};
use std::hint::black_box;
use std::time::Duration;

fn shapes() -> Vec<(usize, usize, usize)> {
    if std::env::var_os("ELBO_BENCH_QUICK").is_some() {
        vec![(100_000, 2, 10), (10_000, 10, 10)]
    } else {
        vec![(1_000_000, 2, 10), (100_000, 10, 10)]
    }
}

fn bench_vgmm(c: &mut Criterion) {
    let mut g = c.benchmark_group("vgmm_100it");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .warm_up_time(Duration::from_secs(1));
    for (n, d, k) in shapes() {
        let (x, _) = blobs(n, d, k, 1.0, 0);
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let params = Vgmm::params(k)
                .with_covariance(cov)
                .with_tol(0.0)
                .with_max_iter(100)
                .check()
                .unwrap();
            g.bench_with_input(
                BenchmarkId::new(format!("{cov}"), format!("{n}x{d}_k{k}")),
                &x,
                |b, x| b.iter(|| black_box(params.fit(x.view()).unwrap().elbo())),
            );
        }
    }
    g.finish();
}

fn bench_em(c: &mut Criterion) {
    let mut g = c.benchmark_group("em_gmm_100it");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(1));
    for (n, d, k) in shapes() {
        let (x, _) = blobs(n, d, k, 1.0, 0);
        let params = EmGmm::params(k)
            .with_tol(0.0)
            .with_max_iter(100)
            .with_reg_covar(1e-6)
            .check()
            .unwrap();
        g.bench_with_input(
            BenchmarkId::new("full", format!("{n}x{d}_k{k}")),
            &x,
            |b, x| b.iter(|| black_box(params.fit(x.view()).unwrap().objective())),
        );
    }
    g.finish();
}

criterion_group!(benches, bench_vgmm, bench_em);
criterion_main!(benches);
