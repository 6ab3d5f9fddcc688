//! End-to-end tests of `elbo bbb`: every experiment with `--quick` in a
//! fresh temporary directory, the metrics each promises, `--resume`, and
//! one-line errors for bad input.

use std::path::Path;

mod common;

use common::{elbo, metrics};
use serde_json::Value;

fn ok(dir: &Path, args: &[&str]) -> Value {
    let o = elbo(dir, args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = args
        .iter()
        .position(|a| *a == "--out")
        .map(|i| args[i + 1])
        .expect("tests pass --out");
    metrics(dir, out)
}

fn err(dir: &Path, args: &[&str]) -> String {
    let o = elbo(dir, args);
    assert!(!o.status.success(), "{args:?} should fail");
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    assert!(!e.contains("panicked"), "{e}");
    e
}

fn finite(m: &Value, key: &str) -> f64 {
    let v = m[key].as_f64().unwrap_or(f64::NAN);
    assert!(v.is_finite(), "{key} = {}", m[key]);
    v
}

#[test]
fn regress_quick_writes_bands_wider_away_from_the_data() {
    let t = tempfile::tempdir().unwrap();
    let m = ok(t.path(), &["bbb", "regress", "--quick", "--out", "r"]);
    assert_eq!(m["model"], "bbb");
    assert!(finite(&m, "band95_width_far") > finite(&m, "band95_width_in_data"));
    assert!(!m["elbo_trace"].as_array().unwrap().is_empty());
    assert!(t.path().join("r/regression.svg").exists());
}

#[test]
fn classify_and_prune_quick_report_their_headline_figures() {
    if !Path::new(elbo_deep::data::FASHION_MNIST_DIR).is_dir() {
        eprintln!("skipped: Fashion-MNIST is not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let m = ok(t.path(), &["bbb", "classify", "--quick", "--out", "c"]);
    for k in ["test_error", "test_nll", "ece", "ood_auroc"] {
        finite(&m, k);
    }
    assert!(finite(&m, "test_error") < 0.6, "{}", m["test_error"]);
    assert!(m["methods"]["dropout"]["ece"].is_number());
    assert!(t.path().join("c/reliability.svg").exists());
    let p = ok(t.path(), &["bbb", "prune", "--quick", "--out", "p"]);
    assert_eq!(p["pruning"].as_array().unwrap().len(), 8);
}

#[test]
fn resume_continues_from_the_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    let a = ok(
        t.path(),
        &["bbb", "regress", "--quick", "--epochs", "20", "--out", "a"],
    );
    assert!(t.path().join("a.ckpt/bbb.ckpt").exists());
    // Same flags, more epochs, resumed: the first 20 bounds are kept.
    let b = ok(
        t.path(),
        &[
            "bbb", "regress", "--quick", "--epochs", "30", "--out", "a", "--resume", "--force",
        ],
    );
    let (ta, tb) = (
        a["elbo_trace"].as_array().unwrap(),
        b["elbo_trace"].as_array().unwrap(),
    );
    assert_eq!(tb.len(), 30);
    assert_eq!(&tb[..20], &ta[..]);
    // And the resumed run is the run that never stopped (weights, Adam's
    // moments and each epoch's noise all continue).
    let c = ok(
        t.path(),
        &["bbb", "regress", "--quick", "--epochs", "30", "--out", "c"],
    );
    let tc = c["elbo_trace"].as_array().unwrap();
    for (x, y) in tb.iter().zip(tc) {
        let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
        assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn tabular_bandit_and_sequential_quick() {
    let t = tempfile::tempdir().unwrap();
    let m = ok(t.path(), &["bbb", "tabular", "--quick", "--out", "t"]);
    finite(&m, "rmse");
    finite(&m, "test_loglik");
    assert!(m["mean_field"]["kl_gap_theory"].as_f64().unwrap() > 0.0);
    let m = ok(t.path(), &["bbb", "bandit", "--quick", "--out", "b"]);
    assert!(m["cumulative_regret"]["thompson"]["0.7"].is_number());
    let m = ok(t.path(), &["bbb", "sequential", "--quick", "--out", "s"]);
    finite(&m, "kl_sequential_to_batch");
    finite(&m, "prediction_rmse_difference");
}

#[test]
fn bad_input_gives_one_line_errors() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    assert!(
        err(
            d,
            &[
                "bbb", "regress", "--quick", "--pi", "2", "--prior", "mixture"
            ]
        )
        .contains("--pi must be in (0, 1)")
    );
    assert!(err(d, &["bbb", "regress", "--quick", "--lr", "-1"]).contains("--lr"));
    assert!(err(d, &["bbb", "bandit", "--quick", "--deltas", "0.5,x"]).contains("--deltas"));
    assert!(
        err(d, &["bbb", "bandit", "--quick", "--deltas", "1.5"])
            .contains("--deltas must be in (0, 1)")
    );
    assert!(
        err(d, &["bbb", "tabular", "--quick", "--data", "missing.csv"]).contains("missing.csv")
    );
    assert!(
        err(
            d,
            &["bbb", "classify", "--quick", "--data", "/nonexistent-dir"]
        )
        .contains("nonexistent")
    );
    assert!(
        err(d, &["bbb", "regress", "--quick", "--hidden", "0"])
            .contains("--hidden must be at least 1")
    );
    assert!(
        err(
            d,
            &[
                "bbb",
                "regress",
                "--quick",
                "--prior-sigma",
                "1",
                "--prior",
                "mixture"
            ]
        )
        .contains("--prior-sigma")
    );
}
