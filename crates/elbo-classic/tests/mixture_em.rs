//! Maximum-likelihood EM for Gaussian mixtures (PRML §9.2): the
//! log-likelihood never decreases, it meets scikit-learn's optimum on Old
//! Faithful, the singularity of PRML §9.2.1 is reported (and the covariance
//! floor avoids it), and bad inputs are typed errors.

use elbo_classic::Error;
use elbo_classic::mixture::{CovarianceType, EmGmm, Vgmm, blobs};
use elbo_core::data::{Standardizer, builtin};
use ndarray::{Array2, array, s};

fn faithful() -> Array2<f64> {
    let raw = builtin("faithful", 0).unwrap();
    Standardizer::fit(raw.x.view())
        .unwrap()
        .transform(raw.x.view())
}

/// scikit-learn 1.9.1 GaussianMixture(2, reg_covar=0, tol=1e-12, 20 starts) on
/// standardised Old Faithful: `scripts/vgmm_reference_sklearn.py`.
const SKLEARN_FAITHFUL_LOGLIK_PER_POINT: f64 = -1.4171349104;

#[test]
fn log_likelihood_never_decreases() {
    let (blob, _) = blobs(800, 3, 5, 2.0, 1);
    for x in [faithful(), blob] {
        for cov in [CovarianceType::Full, CovarianceType::Diag] {
            for reg in [0.0, 1e-3] {
                for seed in 0..3 {
                    let fit = EmGmm::params(3)
                        .with_covariance(cov)
                        .with_reg_covar(reg)
                        .with_seed(seed)
                        .with_tol(0.0)
                        .with_max_iter(80)
                        .fit(x.view())
                        .unwrap();
                    assert_eq!(fit.n_iter(), 80);
                    for (i, w) in fit.loglik_trace().windows(2).enumerate() {
                        assert!(
                            w[1] >= w[0] - 1e-9 * w[0].abs(),
                            "{cov} reg {reg}: iteration {i}: {} -> {}",
                            w[0],
                            w[1]
                        );
                    }
                    assert!(
                        fit.objective()
                            >= *fit.loglik_trace().last().unwrap() - 1e-9 * fit.objective().abs()
                    );
                }
            }
        }
    }
}

#[test]
fn old_faithful_matches_scikit_learn() {
    let x = faithful();
    let fit = EmGmm::params(2).with_n_init(3).fit(x.view()).unwrap();
    let ll = fit.heldout_loglik_per_point(x.view()).unwrap();
    assert!(
        (ll - SKLEARN_FAITHFUL_LOGLIK_PER_POINT).abs() < 1e-8,
        "{ll}"
    );
    assert!((fit.objective() / 272.0 - ll).abs() < 1e-10);
    let mut w = fit.weights().to_vec();
    w.sort_by(f64::total_cmp);
    assert!((w[0] - 0.35587286).abs() < 1e-6, "{w:?}");
    for row in fit.r_nk().outer_iter() {
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    assert!(fit.converged());
}

fn with_duplicates() -> Array2<f64> {
    // 300 blob points and the point (1, 2) repeated 40 times.
    let (mut x, _) = blobs(340, 2, 2, 1.0, 5);
    for mut row in x.slice_mut(s![..40, ..]).outer_iter_mut() {
        row.assign(&array![1.0, 2.0]);
    }
    x
}

#[test]
fn duplicated_points_make_em_collapse_and_that_is_reported() {
    let x = with_duplicates();
    // Some start puts a component on the repeated point: its covariance
    // goes to 0 and the likelihood to infinity (PRML §9.2.1).
    let errs: Vec<Error> = (0..10)
        .filter_map(|seed| EmGmm::params(4).with_seed(seed).fit(x.view()).err())
        .collect();
    assert!(!errs.is_empty(), "no start collapsed");
    for e in &errs {
        assert!(matches!(e, Error::Numerical { .. }), "{e:?}");
        let m = e.to_string();
        assert!(
            m.contains("collapsed onto a single point")
                && m.contains("with_reg_covar")
                && m.contains("Vgmm"),
            "{m}"
        );
    }
    // With the covariance floor every start fits, with finite values.
    for seed in 0..10 {
        let fit = EmGmm::params(4)
            .with_seed(seed)
            .with_reg_covar(1e-6)
            .fit(x.view())
            .unwrap();
        assert!(fit.objective().is_finite() && fit.covariances().iter().all(|v| v.is_finite()));
    }
    // The variational mixture needs no floor.
    for seed in 0..10 {
        let fit = Vgmm::params(4).with_seed(seed).fit(x.view()).unwrap();
        assert!(fit.elbo().is_finite());
    }
}

#[test]
fn bad_k_is_a_typed_error() {
    let x = faithful();
    let e = EmGmm::params(0).fit(x.view()).unwrap_err().to_string();
    assert!(e.contains("`k` must be at least 1"), "{e}");
    let e = EmGmm::params(300).fit(x.view()).unwrap_err().to_string();
    assert!(e.contains("at most the number of points N"), "{e}");
    let e = EmGmm::params(2)
        .with_reg_covar(-1.0)
        .fit(x.view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("reg_covar"), "{e}");
}

#[test]
fn dimension_mismatch_between_train_and_test_is_a_typed_error() {
    let fit = EmGmm::params(2).fit(faithful().view()).unwrap();
    let e = fit
        .log_density(Array2::zeros((3, 1)).view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("fitted on 2 columns but the data have 1"), "{e}");
}

#[test]
fn constant_column_is_a_typed_error_unless_floored() {
    let mut x = faithful();
    x.column_mut(0).fill(-2.0);
    let e = EmGmm::params(2).fit(x.view()).unwrap_err().to_string();
    assert!(
        e.contains("column 1 is constant (value -2)") && e.contains("with_reg_covar"),
        "{e}"
    );
    let fit = EmGmm::params(2).with_reg_covar(1e-6).fit(x.view()).unwrap();
    assert!(fit.objective().is_finite());
}

#[test]
fn values_at_1e6_scale_fit_like_the_unscaled_data() {
    let (x, _) = blobs(900, 2, 3, 1.0, 2);
    let base = EmGmm::params(3).fit(x.view()).unwrap();
    let shifted = EmGmm::params(3).fit((&x + 1e6).view()).unwrap();
    assert!((shifted.objective() - base.objective()).abs() < 1e-6 * base.objective().abs());
    let scaled = EmGmm::params(3).fit((&x * 1e6).view()).unwrap();
    let want = base.objective() - 900.0 * 2.0 * 1e6f64.ln();
    assert!(
        (scaled.objective() - want).abs() < 1e-6 * want.abs(),
        "{} vs {want}",
        scaled.objective()
    );
}

/// `fit_with` reports the log-likelihood after every iteration; the best
/// restart's reports are its trace, and they never decrease.
#[test]
fn fit_with_reports_the_log_likelihood_trace() {
    let raw = elbo_core::data::builtin("faithful", 0).unwrap();
    let x = elbo_core::data::Standardizer::fit(raw.x.view())
        .unwrap()
        .transform(raw.x.view());
    let params = elbo_classic::mixture::EmGmm::params(2).with_reg_covar(1e-6);
    let mut seen: Vec<f64> = Vec::new();
    let fit = params.fit_with(x.view(), |_, _, ll| seen.push(ll)).unwrap();
    assert_eq!(seen.as_slice(), fit.elbo_trace());
    assert!(
        seen.windows(2)
            .all(|w| w[1] >= w[0] - 1e-9 * w[0].abs().max(1.0))
    );
}
