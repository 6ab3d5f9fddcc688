use elbo_classic::mixture::*;
use std::time::Instant;

#[test]
#[ignore]
fn timing() {
    for (n, d, k) in [(1_000_000usize, 2usize, 10usize), (100_000, 10, 10)] {
        let (x, _) = blobs(n, d, k, 1.0, 0);
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            let t = Instant::now();
            let fit = Vgmm::params(k).with_covariance(cov).with_tol(0.0).with_max_iter(100).fit(x.view()).unwrap();
            println!("{n}x{d} k{k} {cov}: {:.3}s elbo/N={:.5} iters={}", t.elapsed().as_secs_f64(), fit.elbo() / n as f64, fit.n_iter());
        }
        let t = Instant::now();
        let _ = elbo_classic::kmeans::kmeans(x.view(), k, 10, &mut elbo_core::rng::seeded(0)).unwrap();
        println!("  kmeans {:.3}s", t.elapsed().as_secs_f64());
    }
}
