//! End-to-end tests of `elbo vime`: a quick run writes the metrics
//! contract (return curves per arm and seed, success fractions, steps, the
//! dynamics bound) and the figures, reproducibly from the seed; bad flags
//! give one error line and exit 2 with no output directory.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn elbo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elbo"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run elbo")
}

fn metrics(dir: &Path, out: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(out).join("metrics.json")).expect("metrics.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// Exit 2, exactly one stderr line `elbo: …` mentioning `needle`, no panic,
/// and no output directory.
fn fails(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut all = vec!["vime", "--quick", "--out", "o"];
    all.extend_from_slice(args);
    let out = elbo(dir.path(), &all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr:?}");
    assert!(lines[0].starts_with("elbo: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "{args:?}: `{}` lacks `{needle}`",
        lines[0]
    );
    assert!(!stderr.contains("panicked"));
    assert!(!dir.path().join("o").exists());
}

/// Small settings so that a run takes about a second even in a debug build.
const SMALL: [&str; 8] = [
    "--iterations",
    "2",
    "--seeds",
    "2",
    "--bnn-updates",
    "5",
    "--batch-size",
    "1600",
];

#[test]
fn quick_run_writes_curves_success_fractions_and_figures_reproducibly() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for out in ["a", "b"] {
        let mut args = vec!["vime", "--quick", "--seed", "3", "--out", out];
        args.extend_from_slice(&SMALL);
        let o = elbo(dir.path(), &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("success fraction"), "{stdout}");
    }
    let m = metrics(dir.path(), "a");
    for k in [
        "model",
        "dataset",
        "seed",
        "config",
        "wall_seconds",
        "elbo_trace",
        "return_curve",
        "success_fraction",
        "steps",
        "timing",
    ] {
        assert!(m.get(k).is_some(), "missing {k}");
    }
    assert_eq!(m["model"], "vime");
    assert_eq!(m["dataset"], "mountaincar-sparse");
    for arm in ["vime", "baseline"] {
        let curves = m["return_curve"][arm].as_array().expect(arm);
        assert_eq!(curves.len(), 2, "one curve per seed");
        assert!(curves.iter().all(|c| c.as_array().map(Vec::len) == Some(2)));
        let f = m["success_fraction"][arm].as_f64().expect("a fraction");
        assert!((0.0..=1.0).contains(&f));
    }
    assert_eq!(m["steps"], serde_json::json!([1600, 3200]));
    let trace = m["elbo_trace"].as_array().expect("trace");
    assert_eq!(trace.len(), 2);
    assert!(trace.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)));
    for f in [
        "returns.svg",
        "visitation_vime.svg",
        "visitation_baseline.svg",
        "dynamics_elbo.svg",
    ] {
        let svg = std::fs::read_to_string(dir.path().join("a").join(f)).expect(f);
        assert!(svg.starts_with("<svg"), "{f}");
    }
    // Same seed, same numbers (up to the wall time).
    let b = metrics(dir.path(), "b");
    assert_eq!(m["return_curve"], b["return_curve"]);
    assert_eq!(m["elbo_trace"], b["elbo_trace"]);
    assert_eq!(m["vime"], b["vime"]);
}

#[test]
fn no_vime_runs_the_baseline_alone_with_ppo() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut args = vec![
        "vime",
        "--quick",
        "--no-vime",
        "--algo",
        "ppo",
        "--out",
        "p",
    ];
    args.extend_from_slice(&SMALL);
    let o = elbo(dir.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = metrics(dir.path(), "p");
    assert!(m["return_curve"].get("vime").is_none());
    assert_eq!(
        m["return_curve"]["baseline"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(m["elbo_trace"].as_array().map(Vec::len), Some(0));
    assert!(!dir.path().join("p").join("visitation_vime.svg").exists());
}

#[test]
fn bad_flags_are_one_clear_line() {
    fails(
        &["--env", "mountaincart"],
        "unknown environment `mountaincart`",
    );
    fails(&["--algo", "sac"], "--algo must be trpo or ppo");
    fails(&["--seeds", "0"], "--seeds must be an integer >= 1");
    fails(&["--eta", "-1"], "--eta must be >= 0");
    fails(
        &["--iterations", "-3"],
        "--iterations must be an integer >= 1",
    );
    fails(
        &["--obs-scale", "zscore"],
        "--obs-scale must be auto or none",
    );
    fails(&["--data", "faithful"], "--data faithful is not used");
}
