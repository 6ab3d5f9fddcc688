use elbo_classic::mixture::*;
use std::time::Instant;

#[test]
#[ignore]
fn timing() {
    let shapes: Vec<(usize, usize, usize)> = match std::env::var("SHAPE").as_deref() {
        Ok("2") => vec![(1_000_000, 2, 10)],
        Ok("10") => vec![(100_000, 10, 10)],
        _ => vec![(1_000_000, 2, 10), (100_000, 10, 10)],
    };
    let covs: Vec<CovarianceType> = match std::env::var("COV").as_deref() {
        Ok("diag") => vec![CovarianceType::Diag],
        Ok("full") => vec![CovarianceType::Full],
        _ => vec![CovarianceType::Full, CovarianceType::Diag],
    };
    for (n, d, k) in shapes {
        let (x, _) = blobs(n, d, k, 1.0, 0);
        for &cov in &covs {
            let t = Instant::now();
            let fit = Vgmm::params(k).with_covariance(cov).with_tol(0.0).with_max_iter(100).fit(x.view()).unwrap();
            println!("{n}x{d} k{k} {cov}: {:.3}s elbo/N={:.5} iters={}", t.elapsed().as_secs_f64(), fit.elbo() / n as f64, fit.n_iter());
        }
        let t = Instant::now();
        let _ = elbo_classic::kmeans::kmeans(x.view(), k, 10, &mut elbo_core::rng::seeded(0)).unwrap();
        println!("  kmeans {:.3}s", t.elapsed().as_secs_f64());
    }
}
