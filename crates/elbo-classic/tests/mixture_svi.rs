//! Stochastic variational inference (Hoffman et al. 2013) for the Bayesian
//! mixture: it reaches batch CAVI's bound, streams with `partial_fit`, and
//! reads a CSV file in chunks.

use elbo_classic::mixture::{CsvChunks, Prior, SviGmm, Vgmm, blobs};
use ndarray::{Array2, s};
use std::io::Write;
use std::path::PathBuf;

fn gap_percent(cavi: f64, svi: f64) -> f64 {
    100.0 * (cavi - svi) / cavi.abs()
}

#[test]
fn svi_reaches_batch_cavi_bound_within_one_percent_at_n_1e5() {
    let n = 100_000;
    for (std, k) in [(1.0, 5), (2.5, 6)] {
        let (x, _) = blobs(n, 2, k, std, 42);
        let cavi = Vgmm::params(k).fit(x.view()).unwrap();
        let svi = SviGmm::params(k)
            .with_epochs(3)
            .with_batch_size(1000)
            .fit(x.view())
            .unwrap();
        // Both bounds with q(Z) at its optimum for the learnt globals, per point.
        let lc = cavi.elbo_on(x.view()).unwrap() / n as f64;
        let ls = svi.elbo_on(x.view()).unwrap() / n as f64;
        let gap = gap_percent(lc, ls);
        println!(
            "blobs N=1e5 D=2 K={k} std={std}: CAVI {lc:.5}/point, SVI {ls:.5}/point, gap {gap:.4} %"
        );
        assert!(gap.abs() < 1.0, "CAVI {lc} vs SVI {ls}");
        assert_eq!(svi.n_steps(), 300);
        assert_eq!(svi.elbo_trace().len(), 300);
        assert!(svi.next_step_size() < 0.02);
    }
}

#[test]
fn partial_fit_streams_minibatches() {
    let n = 30_000;
    let (x, _) = blobs(n, 3, 4, 1.0, 8);
    let p = SviGmm::params(4)
        .with_prior(Prior::DirichletProcess { gamma: 1.0 })
        .with_batch_size(500);
    // N unknown: a typed error naming the fix.
    let mut m = p.check().unwrap().start();
    let e = m
        .partial_fit(x.slice(s![..500, ..]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_total") && e.contains("with_n_total"), "{e}");
    assert!(m.weights().is_err());
    let mut m = p.clone().with_n_total(n).check().unwrap().start();
    for epoch in 0..2 {
        for b in 0..n / 500 {
            m.partial_fit(x.slice(s![b * 500..(b + 1) * 500, ..]))
                .unwrap();
        }
        assert_eq!(m.n_steps() as usize, (epoch + 1) * n / 500);
    }
    // The prior came from the first minibatch and is recorded.
    assert_eq!(m.prior().unwrap().dim(), 3);
    let cavi = Vgmm::params(4)
        .with_prior(Prior::DirichletProcess { gamma: 1.0 })
        .fit(x.view())
        .unwrap();
    let gap = gap_percent(
        cavi.elbo_on(x.view()).unwrap(),
        m.elbo_on(x.view()).unwrap(),
    );
    assert!(gap.abs() < 1.0, "gap {gap} %");
    let w = m.weights().unwrap();
    assert!((w.sum() - 1.0).abs() < 1e-12);
    // A minibatch of another dimension is a typed error.
    let e = m
        .partial_fit(Array2::zeros((10, 2)).view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("fitted on 3 columns"), "{e}");
    assert!(
        m.log_predictive(x.slice(s![..5, ..]))
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
}

fn temp_csv(name: &str, header: bool, x: &Array2<f64>) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "elbo-mixture-svi-{}-{name}.csv",
        std::process::id()
    ));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    if header {
        writeln!(f, "a,b").unwrap();
    }
    for row in x.outer_iter() {
        writeln!(f, "{},{}", row[0], row[1]).unwrap();
    }
    path
}

#[test]
fn csv_is_read_in_chunks_and_fits_like_in_memory() {
    let n = 20_000;
    let (x, _) = blobs(n, 2, 3, 1.0, 9);
    let path = temp_csv("fit", true, &x);
    // The chunks cover the file exactly, header skipped.
    let chunks: Vec<Array2<f64>> = CsvChunks::open(&path, 3000)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    assert_eq!(chunks.len(), 7);
    assert!(chunks[..6].iter().all(|c| c.nrows() == 3000) && chunks[6].nrows() == 2000);
    assert_eq!(chunks[0].row(0), x.row(0));
    assert_eq!(chunks[6].row(1999), x.row(n - 1));
    let svi = SviGmm::params(3)
        .with_epochs(2)
        .with_batch_size(1000)
        .check()
        .unwrap()
        .fit_csv(&path)
        .unwrap();
    let cavi = Vgmm::params(3).fit(x.view()).unwrap();
    let gap = gap_percent(
        cavi.elbo_on(x.view()).unwrap(),
        svi.elbo_on(x.view()).unwrap(),
    );
    assert!(gap.abs() < 1.0, "gap {gap} %");
    // Chunks of 8192 rows (8192, 8192, 3616) in minibatches of ≤ 1000: 22 steps per epoch.
    assert_eq!(svi.n_steps(), 44);
    std::fs::remove_file(&path).ok();
}

#[test]
fn csv_errors_name_the_line() {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f64);
    let path = temp_csv("bad", false, &x);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("1,oops\n");
    std::fs::write(&path, &text).unwrap();
    let results: Vec<_> = CsvChunks::open(&path, 4).unwrap().collect();
    assert_eq!(results.len(), 3);
    let e = results[2].as_ref().unwrap_err().to_string();
    assert!(e.contains(":11:"), "{e}");
    std::fs::write(&path, "1,2\n3,4,5\n").unwrap();
    let e = CsvChunks::open(&path, 1)
        .unwrap()
        .nth(1)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(e.contains(":2:") && e.contains("fields"), "{e}");
    assert!(CsvChunks::open(&path.with_extension("missing"), 4).is_err());
    std::fs::remove_file(&path).ok();
}

#[test]
fn bad_settings_are_typed_errors() {
    assert!(
        SviGmm::params(2)
            .with_kappa(0.5)
            .check()
            .unwrap_err()
            .to_string()
            .contains("kappa")
    );
    assert!(SviGmm::params(2).with_kappa(1.2).check().is_err());
    assert!(SviGmm::params(2).with_tau(-1.0).check().is_err());
    // τ = 0 would make the first step ρ_0 = 0^(−κ) infinite.
    assert!(SviGmm::params(2).with_tau(0.0).check().is_err());
    assert!(SviGmm::params(2).with_batch_size(0).check().is_err());
    assert!(SviGmm::params(0).check().is_err());
}
