//! End-to-end tests of `elbo vime`: a quick run writes the metrics
//! contract (return curves per arm and seed, success fractions, steps, the
//! dynamics bound) and the figures, reproducibly from the seed; a run
//! resumed from the checkpoints of a shorter one equals an unbroken run;
//! bad flags give one error line and exit 2 with no output directory.

mod common;

use common::{elbo, metrics};
use serde_json::Value;

/// Exit 2, one `elbo:` line mentioning `needle`, no output directory.
fn fails(args: &[&str], needle: &str) {
    common::fails(&["vime", "--quick"], args, needle);
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

/// `metrics.json` without what measures the clock (wall times, timing).
fn without_clock(mut m: Value) -> Value {
    let o = m.as_object_mut().expect("metrics is an object");
    o.remove("wall_seconds");
    o.remove("timing");
    m
}

#[test]
fn resume_reuses_finished_seeds_and_equals_an_unbroken_run() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let small = [
        "--iterations",
        "2",
        "--bnn-updates",
        "5",
        "--batch-size",
        "1600",
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["vime", "--quick", "--seed", "5"];
        args.extend_from_slice(&small);
        args.extend_from_slice(extra);
        let o = elbo(dir.path(), &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // The "killed" run: only seed 5 finished (both arms).
    run(&["--seeds", "1", "--out", "r"]);
    let ck = dir.path().join("r.ckpt");
    for f in ["vime-seed5.json", "baseline-seed5.json"] {
        assert!(ck.join(f).is_file(), "{f}");
    }
    let first = metrics(dir.path(), "r");
    // Mark the saved seed-5 VIME run so that reuse (not a rerun) shows.
    let saved = std::fs::read_to_string(ck.join("vime-seed5.json")).expect("checkpoint");
    let mut v: Value = serde_json::from_str(&saved).expect("JSON");
    v["wall"] = serde_json::json!(1e6_f64.to_bits());
    std::fs::write(ck.join("vime-seed5.json"), v.to_string()).expect("write");
    // Resumed with two seeds into the same directory, and unbroken.
    run(&["--seeds", "2", "--resume", "--force", "--out", "r"]);
    run(&["--seeds", "2", "--out", "u"]);
    let resumed = metrics(dir.path(), "r");
    let unbroken = metrics(dir.path(), "u");
    assert!(ck.join("vime-seed6.json").is_file());
    // Seed 5 came from the checkpoint: its (marked) wall time is in the
    // mean per VIME run, (1e6 + t₆)/2.
    let per_run = resumed["timing"]["vime_run_seconds"]
        .as_f64()
        .expect("timing");
    assert!(per_run > 4e5, "seed 5 was rerun: {per_run}");
    // Everything but the clock equals the unbroken run, bit for bit.
    assert_eq!(without_clock(resumed.clone()), without_clock(unbroken));
    // And seed 5's curves are the first run's.
    for arm in ["vime", "baseline"] {
        assert_eq!(
            resumed["return_curve"][arm][0], first["return_curve"][arm][0],
            "{arm}"
        );
    }
    assert_eq!(resumed["vime"]["mean_kl"][0], first["vime"]["mean_kl"][0]);
    // Other settings: --resume refuses the checkpoints.
    let mut args = vec!["vime", "--quick", "--seed", "5", "--seeds", "2"];
    args.extend_from_slice(&small);
    args.extend_from_slice(&["--eta", "0.5", "--resume", "--force", "--out", "r"]);
    let o = elbo(dir.path(), &args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("other settings"), "{stderr}");
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
