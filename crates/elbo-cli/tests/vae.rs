//! End-to-end tests of `elbo vae` on the embedded digits with `--quick`
//! (a few seconds each): the files and keys written, resume, and one clear
//! error line for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

struct Elbo {
    dir: tempfile::TempDir,
}

impl Elbo {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_elbo"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run elbo")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "elbo {args:?} failed\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run, require failure with exit code 2 and one stderr line; return it.
    fn err(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "elbo {args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    }

    fn json(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(self.path(file)).expect(file);
        serde_json::from_str(&text).expect("valid JSON")
    }
}

#[test]
fn quick_vae_writes_metrics_and_figures() {
    let e = Elbo::new();
    let out = e.ok(&[
        "vae", "--quick", "--latent", "2", "--out", "r", "--gaps", "5",
    ]);
    assert!(out.contains("test NLL"), "{out}");
    let m = e.json("r/metrics.json");
    for key in [
        "model",
        "dataset",
        "seed",
        "config",
        "wall_seconds",
        "elbo_trace",
        "test_elbo",
        "test_nll",
        "eval_k",
        "active_units",
        "kl_per_dim",
        "gaps",
    ] {
        assert!(m.get(key).is_some(), "metrics.json lacks {key}");
    }
    assert_eq!(m["model"], "vae");
    assert_eq!(m["elbo_trace"].as_array().unwrap().len(), 3);
    assert_eq!(m["kl_per_dim"].as_array().unwrap().len(), 2);
    assert_eq!(m["eval_k"], 100);
    let (elbo, nll) = (
        m["test_elbo"].as_f64().unwrap(),
        m["test_nll"].as_f64().unwrap(),
    );
    assert!(elbo < 0.0 && nll > 0.0, "{elbo} {nll}");
    assert!(m["gaps"]["amortisation_gap"].as_f64().is_some());
    for f in [
        "vae_training.svg",
        "vae_reconstructions.svg",
        "vae_samples.svg",
        "vae_manifold.svg",
        "vae_kl_per_dim.svg",
    ] {
        let svg = std::fs::read_to_string(e.path(&format!("r/{f}"))).expect(f);
        assert!(svg.starts_with("<svg") || svg.contains("<svg"), "{f}");
    }
}

#[test]
fn iwae_and_estimator_comparison_run() {
    let e = Elbo::new();
    e.ok(&[
        "vae",
        "--quick",
        "--objective",
        "iwae",
        "--k",
        "3",
        "--out",
        "i",
    ]);
    let m = e.json("i/metrics.json");
    assert_eq!(m["config"]["train"]["objective"], "iwae");
    assert_eq!(m["config"]["train"]["k"], 3);
    e.ok(&[
        "vae",
        "--quick",
        "--compare-estimators",
        "--epochs",
        "2",
        "--out",
        "c",
    ]);
    let m = e.json("c/metrics.json");
    assert_eq!(m["score_elbo_trace"].as_array().unwrap().len(), 2);
    assert!(e.path("c/vae_estimators.svg").exists());
}

#[test]
fn resume_continues_from_the_checkpoint() {
    let e = Elbo::new();
    e.ok(&[
        "vae", "--quick", "--epochs", "3", "--out", "full", "--eval-k", "5",
    ]);
    e.ok(&[
        "vae",
        "--quick",
        "--epochs",
        "2",
        "--out",
        "part",
        "--checkpoint",
        "ck.bin",
        "--eval-k",
        "5",
    ]);
    let out = e.ok(&[
        "vae",
        "--quick",
        "--epochs",
        "3",
        "--out",
        "part",
        "--force",
        "--checkpoint",
        "ck.bin",
        "--resume",
        "--eval-k",
        "5",
    ]);
    assert!(out.contains("resumed after epoch 2"), "{out}");
    let (a, b) = (e.json("full/metrics.json"), e.json("part/metrics.json"));
    assert_eq!(a["elbo_trace"], b["elbo_trace"]);
    assert_eq!(a["test_elbo"], b["test_elbo"]);
    // Other flags than --epochs: refused with one line.
    let err = e.err(&[
        "vae",
        "--quick",
        "--epochs",
        "4",
        "--lr",
        "0.01",
        "--out",
        "x",
        "--checkpoint",
        "ck.bin",
        "--resume",
    ]);
    assert!(err.contains("another training configuration"), "{err}");
}

#[test]
fn bad_input_gives_one_clear_line() {
    let e = Elbo::new();
    let cases: [(&[&str], &str); 9] = [
        (
            &["vae", "--data", "no/such/dir"],
            "no such data set or directory",
        ),
        (&["vae", "--data", "mnist"], "MNIST is not bundled"),
        (
            &["vae", "--data", "mnist:nowhere"],
            "no such data set or directory",
        ),
        (
            &["vae", "--arch", "784-400-20"],
            "expects 784 pixels per image but digits has 64",
        ),
        (&["vae", "--arch", "64-x-2"], "arch must be"),
        (&["vae", "--k", "0"], "--k must be between 1 and 10000"),
        (&["vae", "--lr", "-1"], "--lr must be in (0, 1]"),
        (
            &["vae", "--objective", "iwae", "--estimator", "score"],
            "--estimator score is for --objective elbo",
        ),
        (&["vae", "--free-bits", "-1"], "--free-bits must be"),
    ];
    for (args, msg) in cases {
        let err = e.err(args);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    std::fs::write(e.path("file.idx"), b"x").unwrap();
    let err = e.err(&["vae", "--data", "file.idx"]);
    assert!(err.contains("expected a directory"), "{err}");
    let err = e.err(&["vae", "--device", "tpu"]);
    assert!(err.contains("--device tpu is not available"), "{err}");
}
