//! The variational Bayesian Gaussian mixture (PRML §10.2): monotone bound,
//! PRML Figs 10.6 and 10.7 on Old Faithful, the Student-t predictive, and
//! bad inputs (each a clear typed error or a correct fit, never NaN or a panic).

use elbo_classic::mixture::{CovarianceType, Prior, Vgmm, blobs};
use elbo_core::data::{Standardizer, builtin};
use ndarray::{Array2, Axis, array, s};

fn faithful() -> Array2<f64> {
    let raw = builtin("faithful", 0).unwrap();
    Standardizer::fit(raw.x.view())
        .unwrap()
        .transform(raw.x.view())
}

const PRIORS: [Prior; 4] = [
    Prior::Dirichlet { alpha0: 1e-3 },
    Prior::Dirichlet { alpha0: 1.0 },
    Prior::DirichletProcess { gamma: 0.1 },
    Prior::DirichletProcess { gamma: 5.0 },
];

#[test]
fn bound_never_decreases_for_every_prior_and_covariance() {
    let (blob, _) = blobs(600, 3, 4, 1.5, 7);
    for x in [faithful(), blob] {
        for prior in PRIORS {
            for cov in [CovarianceType::Full, CovarianceType::Diag] {
                let p = Vgmm::params(6)
                    .with_prior(prior)
                    .with_covariance(cov)
                    .with_tol(0.0)
                    .with_max_iter(150)
                    .check()
                    .unwrap();
                let mut st = p.init(x.view(), 0).unwrap();
                let mut prev = st.elbo();
                let mut n = 0;
                while !st.done() {
                    let b = st.step().unwrap();
                    assert!(b.is_finite());
                    assert!(
                        b >= prev - 1e-9 * prev.abs(),
                        "{prior:?} {cov}: iteration {n}: {prev} -> {b}"
                    );
                    prev = b;
                    n += 1;
                }
                assert_eq!(n, 150);
                // The fitted trace (what users see) is non-decreasing too.
                let fit = p.fit(x.view()).unwrap();
                for w in fit.elbo_trace().windows(2) {
                    assert!(w[1] >= w[0] - 1e-9 * w[0].abs());
                }
                // With q(Z) at its optimum the bound can only be higher.
                assert!(fit.elbo_on(x.view()).unwrap() >= fit.elbo() - 1e-9 * fit.elbo().abs());
            }
        }
    }
}

#[test]
fn prml_fig_10_6_old_faithful_keeps_exactly_two_components() {
    let x = faithful();
    let fit = Vgmm::params(6)
        .with_alpha0(1e-3)
        .with_max_iter(2000)
        .fit(x.view())
        .unwrap();
    let w = fit.weights();
    println!("PRML Fig 10.6: E[π] = {w:.4}, {} iterations", fit.n_iter());
    assert_eq!(fit.effective_components(0.01), 2, "E[π] = {w}");
    let mut big: Vec<f64> = w.iter().copied().filter(|&v| v > 0.01).collect();
    big.sort_by(f64::total_cmp);
    // The two eruption types of Old Faithful: about 35 % and 65 % of the points.
    assert!(
        (big[0] - 0.356).abs() < 0.01 && (big[1] - 0.644).abs() < 0.01,
        "{big:?}"
    );
    assert!(fit.converged());
    // The values used are recorded: m0 is the (zero) mean of the standardised data.
    assert!(fit.prior().m0().iter().all(|v| v.abs() < 1e-12));
    assert_eq!(fit.prior().nu0(), 2.0);
    assert_eq!(fit.alpha_k().unwrap().len(), 6);
    assert_eq!(fit.r_nk().dim(), (272, 6));
    // The stick-breaking prior prunes the same way.
    let dp = Vgmm::params(6)
        .with_prior(Prior::DirichletProcess { gamma: 1e-3 })
        .with_max_iter(2000)
        .fit(x.view())
        .unwrap();
    assert_eq!(dp.effective_components(0.01), 2, "{}", dp.weights());
}

#[test]
fn prml_fig_10_7_bound_plus_ln_k_factorial_peaks_at_two() {
    // PRML Fig 10.7 does not give α₀; with α₀ = 1 (no pruning), 5 restarts per K.
    let x = faithful();
    let bounds: Vec<f64> = (1..=6)
        .map(|k| {
            Vgmm::params(k)
                .with_alpha0(1.0)
                .with_n_init(5)
                .fit(x.view())
                .unwrap()
                .elbo_with_ln_k_factorial()
        })
        .collect();
    println!("PRML Fig 10.7: bound + ln K! for K = 1..6: {bounds:.3?}");
    let best = bounds
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0
        + 1;
    assert_eq!(best, 2, "bound + ln K! for K = 1..6: {bounds:?}");
}

#[test]
fn restarts_keep_the_best_bound() {
    let x = faithful();
    let fit = Vgmm::params(4)
        .with_alpha0(1.0)
        .with_n_init(4)
        .fit(x.view())
        .unwrap();
    assert_eq!(fit.restart_bounds().len(), 4);
    let best = fit
        .restart_bounds()
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(fit.elbo(), best);
}

#[test]
fn predictive_density_integrates_to_one() {
    // PRML (10.81) is a proper density: its integral over a fine grid is 1.
    let x = faithful();
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let fit = Vgmm::params(3)
            .with_alpha0(1.0)
            .with_covariance(cov)
            .fit(x.view())
            .unwrap();
        let h = 0.04;
        let g: Vec<f64> = (0..400).map(|i| -8.0 + h * (i as f64 + 0.5)).collect();
        let grid = Array2::from_shape_fn((g.len() * g.len(), 2), |(i, j)| {
            if j == 0 {
                g[i / g.len()]
            } else {
                g[i % g.len()]
            }
        });
        let p = fit.log_predictive(grid.view()).unwrap();
        let mass: f64 = p.iter().map(|v| v.exp()).sum::<f64>() * h * h;
        assert!((mass - 1.0).abs() < 2e-3, "{cov}: mass {mass}");
        // Held-out log-likelihood on the training points: finite and near EM's -1.42.
        let ll = fit.heldout_loglik_per_point(x.view()).unwrap();
        assert!(ll > -1.6 && ll < -1.3, "{ll}");
    }
}

#[test]
fn bad_k_is_a_typed_error() {
    let x = faithful();
    let e = Vgmm::params(0).fit(x.view()).unwrap_err().to_string();
    assert!(e.contains("`k` must be at least 1"), "{e}");
    let e = Vgmm::params(273).fit(x.view()).unwrap_err().to_string();
    assert!(
        e.contains("`k` must be at most the number of points N"),
        "{e}"
    );
    let e = Vgmm::params(2)
        .with_alpha0(-1.0)
        .fit(x.view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("alpha0"), "{e}");
    let e = Vgmm::params(2)
        .with_nu0(0.5)
        .fit(x.view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("nu0") && e.contains("D - 1"), "{e}");
    let e = Vgmm::params(2)
        .with_prior(Prior::DirichletProcess { gamma: 0.0 })
        .fit(x.view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("gamma"), "{e}");
}

#[test]
fn dimension_mismatch_between_train_and_test_is_a_typed_error() {
    let x = faithful();
    let fit = Vgmm::params(2).fit(x.view()).unwrap();
    let test = Array2::<f64>::zeros((5, 3));
    let e = fit.log_predictive(test.view()).unwrap_err().to_string();
    assert!(e.contains("fitted on 2 columns but the data have 3"), "{e}");
    assert!(fit.heldout_loglik_per_point(test.view()).is_err());
    assert!(fit.predict(test.view()).is_err());
    let e = Vgmm::params(2)
        .with_m0(array![0.0, 0.0, 0.0])
        .fit(x.view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("m0 has 3 entries"), "{e}");
}

#[test]
fn constant_column_is_a_typed_error_unless_w0_is_given() {
    let mut x = faithful();
    x.column_mut(1).fill(3.5);
    let e = Vgmm::params(2).fit(x.view()).unwrap_err().to_string();
    assert!(
        e.contains("column 2 is constant (value 3.5)") && e.contains("with_w0"),
        "{e}"
    );
    // With W0 given the posterior is proper and the fit is fine.
    let fit = Vgmm::params(2)
        .with_w0(Array2::eye(2))
        .fit(x.view())
        .unwrap();
    assert!(fit.elbo().is_finite());
    assert!(fit.m_k().column(1).iter().all(|&m| (m - 3.5).abs() < 0.1));
}

#[test]
fn duplicated_points_give_a_correct_fit() {
    // Half the data set is one point repeated: a Gaussian component can sit
    // on it without the collapse that breaks EM (the Wishart prior keeps Λ finite).
    let (mut x, _) = blobs(200, 2, 2, 1.0, 3);
    for mut row in x.slice_mut(s![..100, ..]).outer_iter_mut() {
        row.assign(&array![1.0, 2.0]);
    }
    for cov in [CovarianceType::Full, CovarianceType::Diag] {
        let fit = Vgmm::params(3).with_covariance(cov).fit(x.view()).unwrap();
        assert!(fit.elbo().is_finite() && fit.weights().iter().all(|w| w.is_finite()));
        let lp = fit.log_predictive(x.view()).unwrap();
        assert!(lp.iter().all(|v| v.is_finite()));
        // One component holds the duplicates.
        let on_dup = fit.predict(x.slice(s![..1, ..])).unwrap()[0];
        assert!(
            (fit.m_k()[[on_dup, 0]] - 1.0).abs() < 0.1
                && (fit.m_k()[[on_dup, 1]] - 2.0).abs() < 0.1,
            "{}",
            fit.m_k()
        );
    }
    // Every point the same: one cluster, finite bound.
    let same = Array2::from_elem((50, 2), 4.0);
    let fit = Vgmm::params(2)
        .with_w0(Array2::eye(2))
        .fit(same.view())
        .unwrap();
    assert!(fit.elbo().is_finite());
}

#[test]
fn values_at_1e6_scale_fit_like_the_unscaled_data() {
    let (x, labels) = blobs(1500, 2, 3, 1.0, 11);
    let base = Vgmm::params(3).with_alpha0(1.0).fit(x.view()).unwrap();
    // Shifted by 10⁶ (spread 1 on top of 10⁶): the same clusters, the same bound.
    let shifted = &x + 1e6;
    let fit = Vgmm::params(3)
        .with_alpha0(1.0)
        .fit(shifted.view())
        .unwrap();
    assert!(
        (fit.elbo() - base.elbo()).abs() < 1e-6 * base.elbo().abs(),
        "{} vs {}",
        fit.elbo(),
        base.elbo()
    );
    let pred = fit.predict(shifted.view()).unwrap();
    agree_with_labels(&pred.to_vec(), &labels.to_vec());
    // Scaled by 10⁶: the bound moves by exactly −N D ln 10⁶ (the Jacobian).
    let scaled = &x * 1e6;
    let fit = Vgmm::params(3).with_alpha0(1.0).fit(scaled.view()).unwrap();
    let want = base.elbo() - 1500.0 * 2.0 * 1e6f64.ln();
    assert!(
        (fit.elbo() - want).abs() < 1e-6 * want.abs(),
        "{} vs {want}",
        fit.elbo()
    );
    assert!(
        fit.log_predictive(scaled.view())
            .unwrap()
            .iter()
            .all(|v| v.is_finite())
    );
}

fn agree_with_labels(pred: &[usize], labels: &[usize]) {
    // Each true blob maps to one predicted component (up to relabelling).
    for blob in 0..3 {
        let mut counts = [0usize; 8];
        let mut total = 0;
        for (&p, &l) in pred.iter().zip(labels) {
            if l == blob {
                counts[p] += 1;
                total += 1;
            }
        }
        let top = *counts.iter().max().unwrap();
        assert!(top as f64 > 0.95 * total as f64, "blob {blob}: {counts:?}");
    }
}

#[test]
fn non_finite_and_empty_data_are_typed_errors() {
    let mut x = faithful();
    x[[5, 1]] = f64::NAN;
    let e = Vgmm::params(2).fit(x.view()).unwrap_err().to_string();
    assert!(e.contains("row 6, column 2 is not finite"), "{e}");
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(Vgmm::params(1).fit(empty.view()).is_err());
    let fit = Vgmm::params(2).fit(faithful().view()).unwrap();
    let mut t = faithful().slice(s![..3, ..]).to_owned();
    t[[0, 0]] = f64::INFINITY;
    assert!(fit.log_predictive(t.view()).is_err());
}

#[test]
fn responsibilities_sum_to_one_and_weights_match_alpha() {
    let x = faithful();
    let fit = Vgmm::params(4).with_alpha0(0.5).fit(x.view()).unwrap();
    for row in fit.r_nk().outer_iter() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    let a = fit.alpha_k().unwrap();
    let w = fit.weights();
    for k in 0..4 {
        assert!((w[k] - a[k] / a.sum()).abs() < 1e-15);
        // PRML (10.58), (10.60), (10.63): α_k − α₀ = β_k − β₀ = ν_k − ν₀ = N_k.
        let nk = a[k] - 0.5;
        assert!(
            (fit.beta_k()[k] - 1.0 - nk).abs() < 1e-9 && (fit.nu_k()[k] - 2.0 - nk).abs() < 1e-9
        );
    }
    assert_eq!(fit.covariances().len_of(Axis(0)), 4);
}

/// `fit_with` reports every iteration of every restart, and the best
/// restart's reports are exactly its bound trace.
#[test]
fn fit_with_reports_each_iteration_and_matches_the_trace() {
    let raw = elbo_core::data::builtin("faithful", 0).unwrap();
    let x = elbo_core::data::Standardizer::fit(raw.x.view())
        .unwrap()
        .transform(raw.x.view());
    let params = elbo_classic::mixture::Vgmm::params(4)
        .with_n_init(2)
        .with_seed(3);
    let mut seen: Vec<(usize, usize, f64)> = Vec::new();
    let fit = params
        .fit_with(x.view(), |r, i, b| seen.push((r, i, b)))
        .unwrap();
    let plain = params.fit(x.view()).unwrap();
    assert_eq!(fit.elbo_trace(), plain.elbo_trace());
    let per_restart =
        |r: usize| -> Vec<f64> { seen.iter().filter(|s| s.0 == r).map(|s| s.2).collect() };
    let (a, b) = (per_restart(0), per_restart(1));
    assert!(!a.is_empty() && !b.is_empty());
    let best = if a.last() >= b.last() { a } else { b };
    // The trace may start with the bound of the initial state, recorded
    // before the first step.
    let trace = fit.elbo_trace();
    assert_eq!(&trace[trace.len() - best.len()..], &best[..]);
    // iterations are numbered 1, 2, … within each restart
    assert!(
        seen.iter()
            .filter(|s| s.0 == 0)
            .enumerate()
            .all(|(j, s)| s.1 >= j)
    );
}
