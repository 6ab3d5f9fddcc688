//! What the end-to-end tests of the model commands share: run the built
//! `elbo` in a directory, read a run's `metrics.json`, and check that bad
//! flags fail the way every command must (exit 2, one `elbo:` line, no
//! panic, no output directory).

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Run `elbo args…` in `dir`.
pub fn elbo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_elbo"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run elbo")
}

/// `dir/out/metrics.json`, parsed.
pub fn metrics(dir: &Path, out: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(out).join("metrics.json")).expect("metrics.json");
    serde_json::from_str(&text).expect("valid JSON")
}

/// `elbo <command…> --out o <args…>` in a fresh directory exits 2 with
/// exactly one stderr line `elbo: …` mentioning `needle`, no panic, and no
/// output directory.
pub fn fails(command: &[&str], args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut all = command.to_vec();
    all.extend_from_slice(&["--out", "o"]);
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
