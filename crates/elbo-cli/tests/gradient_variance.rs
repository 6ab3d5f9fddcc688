//! End-to-end tests of `elbo gradient-variance`: a quick run writes the
//! metrics contract, figures and the tables; bad flags give one error line
//! and exit 2.

mod common;

use common::{elbo, metrics};
use serde_json::Value;

/// Exit 2, one `elbo:` line mentioning `needle`, no output directory.
fn fails(args: &[&str], needle: &str) {
    common::fails(&["gradient-variance", "--quick"], args, needle);
}

#[test]
fn quick_run_writes_the_variance_tables_figures_and_iwae_bound() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = elbo(
        dir.path(),
        &["gradient-variance", "--quick", "--seed", "3", "--out", "a"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("IWAE: L_1"), "{stdout}");
    let m = metrics(dir.path(), "a");
    for k in [
        "model",
        "dataset",
        "seed",
        "config",
        "wall_seconds",
        "elbo_trace",
    ] {
        assert!(m.get(k).is_some(), "missing {k}");
    }
    assert_eq!(m["model"], "gradient-variance");
    assert_eq!(m["seed"], 3);
    // Nothing is optimised: the trace is empty by design.
    assert_eq!(m["elbo_trace"].as_array().map(Vec::len), Some(0));
    for sweep in ["vs_k", "vs_samples", "vs_mu", "vs_sigma"] {
        let rows = m["variance"][sweep].as_array().expect(sweep);
        assert!(!rows.is_empty(), "{sweep}");
        for row in rows {
            for e in ["score", "score_moving_average", "score_optimal", "pathwise"] {
                for p in ["mu", "sigma"] {
                    let v = row["estimators"][e]["variance"][p]
                        .as_f64()
                        .expect("number");
                    let x = row["estimators"][e]["exact_variance"][p]
                        .as_f64()
                        .expect("number");
                    assert!(v.is_finite() && v >= 0.0 && x >= 0.0, "{sweep} {e} {p}");
                }
            }
        }
    }
    // Quadratic f at μ = σ = 1: pathwise is far below the plain score function.
    let head = m["headline"].as_array().expect("headline");
    let square = head
        .iter()
        .find(|r| r["function"] == "square")
        .expect("square");
    let var = |e: &str| {
        square["estimators"][e]["variance"]["mu"]
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    assert!(var("pathwise") < var("score"));
    // L_1 ≤ … ≤ L_100 ≤ ln p(x) (up to Monte-Carlo error).
    let log_px = m["iwae"]["log_evidence"].as_f64().expect("log_evidence");
    let bounds = m["iwae"]["bounds"].as_array().expect("bounds");
    let l: Vec<f64> = bounds
        .iter()
        .map(|b| b["bound"].as_f64().unwrap_or(f64::NAN))
        .collect();
    let se: Vec<f64> = bounds
        .iter()
        .map(|b| b["std_error"].as_f64().unwrap_or(f64::NAN))
        .collect();
    assert!(l[0] < l[l.len() - 1]);
    for i in 0..l.len() {
        assert!(l[i] <= log_px + 4.0 * se[i], "L[{i}] = {} > {log_px}", l[i]);
    }
    for f in [
        "variance_vs_k.svg",
        "variance_vs_samples.svg",
        "variance_vs_mu.svg",
        "variance_vs_sigma.svg",
        "iwae_bound.svg",
    ] {
        let svg = std::fs::read_to_string(dir.path().join("a").join(f)).expect(f);
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{f}");
    }
    // Same seed, same numbers (up to wall_seconds).
    let out = elbo(
        dir.path(),
        &["gradient-variance", "--quick", "--seed", "3", "--out", "b"],
    );
    assert!(out.status.success());
    let mut a = m;
    let mut b = metrics(dir.path(), "b");
    a["wall_seconds"] = Value::Null;
    b["wall_seconds"] = Value::Null;
    assert_eq!(a, b);
}

#[test]
fn flags_choose_functions_and_samples() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = elbo(
        dir.path(),
        &[
            "gradient-variance",
            "--quick",
            "--out",
            "o",
            "--functions",
            "cos",
            "--k",
            "3",
            "--samples",
            "4",
            "--sample-sweep",
            "2,8",
            "--repeats",
            "50",
            "--optimal-from",
            "loo",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = metrics(dir.path(), "o");
    assert_eq!(m["config"]["functions"], serde_json::json!(["cos"]));
    assert_eq!(m["config"]["optimal_from"], "leave_one_out");
    let ns: Vec<u64> = m["variance"]["vs_samples"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["samples"].as_u64())
        .collect();
    assert_eq!(ns, vec![2, 8]);
}

#[test]
fn bad_flags_give_one_error_line_and_exit_2() {
    fails(&["--samples", "0"], "--samples must be an integer >= 1");
    fails(&["--samples", "-3"], "--samples must be an integer >= 1");
    fails(&["--sigma", "0"], "--sigma must be > 0");
    fails(&["--sigma", "-1"], "--sigma must be > 0");
    fails(&["--functions", "square,sine"], "unknown function `sine`");
    fails(&["--functions", "exp", "--k", "-1"], "k must be >= 0");
    fails(&["--repeats", "1"], "--repeats must be an integer >= 2");
    fails(&["--sample-sweep", "4,0"], "--sample-sweep");
    fails(&["--decay", "1"], "--decay must be in [0, 1)");
    fails(
        &["--optimal-from", "future"],
        "--optimal-from must be past, loo or separate",
    );
    fails(
        &["--optimal-from", "loo", "--sample-sweep", "1,4"],
        "at least 2 samples",
    );
    fails(&["--data", "faithful"], "--data faithful is not used");
}
