//! Quick timings of the mixtures on the shapes of issue 4, beside
//! `scripts/vgmm_bench_sklearn.py` (run both on the same machine, one after
//! the other). Ignored by default; run with
//!
//! `cargo test --release -p elbo-classic --test mixture_bench -- --ignored --nocapture`
//!
//! (`ELBO_BENCH_QUICK=1` for N/10, `ELBO_BENCH_D=10` for one shape). The
//! criterion version is `benches/vgmm.rs`.

use elbo_classic::mixture::{CovarianceType, EmGmm, Vgmm, blobs};
use std::time::Instant;

#[test]
#[ignore = "timing, run explicitly in release mode"]
fn vgmm_100_iterations_on_the_issue_shapes() {
    let quick = std::env::var_os("ELBO_BENCH_QUICK").is_some();
    let shapes: &[(usize, usize, usize)] = if quick {
        &[(100_000, 2, 10), (10_000, 10, 10)]
    } else {
        &[(1_000_000, 2, 10), (100_000, 10, 10)]
    };
    println!("# threads: {}", rayon::current_num_threads());
    let only_d: Option<usize> = std::env::var("ELBO_BENCH_D")
        .ok()
        .and_then(|v| v.parse().ok());
    for &(n, d, k) in shapes.iter().filter(|s| only_d.is_none_or(|d| d == s.1)) {
        let (x, _) = blobs(n, d, k, 1.0, 0);
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let mut times = Vec::new();
            let mut bound = 0.0;
            for _ in 0..3 {
                let t = Instant::now();
                let fit = Vgmm::params(k)
                    .with_covariance(cov)
                    .with_tol(0.0)
                    .with_max_iter(100)
                    .fit(x.view())
                    .unwrap();
                times.push(t.elapsed().as_secs_f64());
                assert_eq!(fit.n_iter(), 100);
                bound = fit.elbo() / n as f64;
            }
            times.sort_by(f64::total_cmp);
            println!(
                "elbo Vgmm {n}x{d} k{k} {cov}: {:.3} s per 100 iterations (median of 3; runs {times:.3?}); bound/N {bound:.5}",
                times[1]
            );
        }
        let t = Instant::now();
        let em = EmGmm::params(k)
            .with_reg_covar(1e-6)
            .with_tol(0.0)
            .with_max_iter(100)
            .fit(x.view())
            .unwrap();
        println!(
            "elbo EmGmm {n}x{d} k{k} full: {:.3} s per 100 iterations; loglik/N {:.5}",
            t.elapsed().as_secs_f64(),
            em.objective() / n as f64
        );
    }
}
