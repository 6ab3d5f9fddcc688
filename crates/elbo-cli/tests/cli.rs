//! End-to-end tests of the `elbo` binary: each runs the built binary in a
//! fresh temporary directory and checks exit codes, stderr and the files
//! written (ripgrep's `tests/util.rs` pattern).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A fresh working directory and a way to run `elbo` in it.
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

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).expect("write test file");
        name.to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run elbo")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_elbo"));
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_BACKTRACE");
        c
    }

    fn json(&self, file: &str) -> Value {
        let text = std::fs::read_to_string(self.path(file)).expect(file);
        serde_json::from_str(&text).expect("valid JSON")
    }

    /// Run and require success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "elbo {args:?} failed ({:?})\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run and require the error contract: exit 2, exactly one stderr line
    /// `elbo: …` containing `needle`, no panic; returns that line.
    fn fails(&self, args: &[&str], needle: &str) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "elbo {args:?}: stderr {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "elbo {args:?}: expected one stderr line, got {stderr:?}"
        );
        assert!(lines[0].starts_with("elbo: "), "{stderr}");
        assert!(
            lines[0].contains(needle),
            "elbo {args:?}: `{}` does not mention `{needle}`",
            lines[0]
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        lines[0].to_string()
    }

    fn metrics(&self, dir: &str) -> Value {
        let text =
            std::fs::read_to_string(self.path(dir).join("metrics.json")).expect("metrics.json");
        serde_json::from_str(&text).expect("valid JSON")
    }

    /// Every file under `dir`, relative path → bytes.
    fn snapshot(&self, dir: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(root: &Path, p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for e in std::fs::read_dir(p).expect("read_dir") {
                let e = e.expect("entry");
                let path = e.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.insert(
                        path.strip_prefix(root).expect("prefix").to_path_buf(),
                        std::fs::read(&path).expect("read"),
                    );
                }
            }
        }
        let mut out = BTreeMap::new();
        let root = self.path(dir);
        walk(&root, &root, &mut out);
        out
    }

    /// Names in the working directory (and in `out/`, if present).
    fn entries(&self) -> Vec<String> {
        let mut v = Vec::new();
        for d in [self.dir.path().to_path_buf(), self.path("out")] {
            if let Ok(rd) = std::fs::read_dir(&d) {
                v.extend(rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()));
            }
        }
        v.sort();
        v
    }
}

const REQUIRED: [&str; 6] = [
    "model",
    "dataset",
    "seed",
    "config",
    "wall_seconds",
    "elbo_trace",
];

fn assert_required(m: &Value, model: &str) {
    for k in REQUIRED {
        assert!(m.get(k).is_some(), "metrics.json lacks `{k}`: {m}");
    }
    assert_eq!(m["model"], model);
    assert!(m["wall_seconds"].as_f64().is_some_and(|s| s >= 0.0));
    assert!(m["config"].is_object());
}

/// The bound of a CAVI fit never goes down.
fn assert_monotone(trace: &Value) {
    let t: Vec<f64> = trace
        .as_array()
        .expect("trace")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect();
    assert!(!t.is_empty());
    for w in t.windows(2) {
        assert!(
            w[1] >= w[0] - 1e-9 * w[0].abs().max(1.0),
            "bound decreased: {w:?}"
        );
    }
}

/// A JSON array of row indices.
fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("index list")
        .iter()
        .map(|i| i.as_u64().expect("index") as usize)
        .collect()
}

/// `train` and `test` partition 0..n.
fn assert_partition(train: &[usize], test: &[usize], n: usize) {
    let mut all: Vec<usize> = train.iter().chain(test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..n).collect::<Vec<_>>(), "not a partition of 0..{n}");
}

/// A CSV with a header, as numbers (the last column is the target).
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse().expect("number")).collect())
        .collect();
    (header, rows)
}

fn without_wall(mut m: Value) -> Value {
    m.as_object_mut().expect("object").remove("wall_seconds");
    m
}

/// A small logistic data set: y = 1 when x0 + 0.5 x1 + noise > 0.
fn logistic_csv() -> String {
    let mut s = String::from("x0,x1,x2,y\n");
    let mut state: u64 = 12345;
    let mut u = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for _ in 0..90 {
        let (a, b, c, e) = (u() * 4.0, u() * 4.0, u() * 4.0, u());
        let y = if a + 0.5 * b + e > 0.0 { 1 } else { 0 };
        s.push_str(&format!("{a:.4},{b:.4},{c:.4},{y}\n"));
    }
    s
}

// ---------------------------------------------------------------- vblr ---

#[test]
fn vblr_default_is_prml_fig_10_9_and_picks_degree_3() {
    let e = Elbo::new();
    let stdout = e.ok(&["vblr", "--quick"]);
    assert!(stdout.contains("best degree 3"), "{stdout}");
    assert!(stdout.lines().count() <= 5, "{stdout}");
    let m = e.metrics("out/vblr-cubic-0");
    assert_required(&m, "vblr");
    assert_eq!(
        (m["dataset"].as_str(), m["seed"].as_u64()),
        (Some("cubic"), Some(0))
    );
    assert_eq!(m["best_degree"], 3);
    let by_degree = m["log_evidence_by_degree"].as_object().expect("object");
    assert_eq!(by_degree.len(), 9);
    let best = by_degree
        .values()
        .map(|v| v.as_f64().expect("number"))
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(m["log_evidence"].as_f64(), Some(best));
    for k in ["alpha_mean", "beta_mean", "rmse"] {
        assert!(
            m[k].as_f64().is_some_and(|v| v.is_finite() && v > 0.0),
            "{k}: {}",
            m[k]
        );
    }
    assert!(m["rmse"].as_f64().is_some_and(|r| r < 0.5));
    assert_monotone(&m["elbo_trace"]);
    // The full configuration, defaults included, and the scaler.
    let c = &m["config"];
    for k in [
        "a0",
        "b0",
        "c0",
        "d0",
        "noise",
        "degrees",
        "tol",
        "max_iter",
        "ard",
        "test_fraction",
    ] {
        assert!(c.get(k).is_some(), "config lacks {k}: {c}");
    }
    assert_eq!(c["degrees"].as_array().map(Vec::len), Some(9));
    assert!(m["scaler"]["mean"].is_array() && m["scaler"]["std"].is_array());
    for f in ["fit.svg", "bound_by_degree.svg", "bound_trace.svg"] {
        let svg = std::fs::read_to_string(e.path("out/vblr-cubic-0").join(f)).expect(f);
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f}"
        );
    }
    // Nothing but the run directory is left behind.
    assert_eq!(e.entries(), vec!["out", "vblr-cubic-0"]);
}

#[test]
fn vblr_on_a_csv_with_a_config_file_records_the_full_config() {
    let e = Elbo::new();
    let mut csv = String::from("u,v,w,target\n");
    for i in 0..40 {
        let (u, v, w) = (i as f64 * 0.1, ((i * 7) % 11) as f64, ((i * 3) % 5) as f64);
        csv.push_str(&format!(
            "{u},{v},{w},{}\n",
            2.0 * u - 0.5 * v + 0.1 * ((i * 13) % 7) as f64
        ));
    }
    e.write("d.csv", &csv);
    e.write(
        "c.toml",
        "target = \"target\"\nmax-iter = 50\na0 = 0.001\ntest_fraction = 0.25\n",
    );
    e.ok(&[
        "vblr", "--data", "d.csv", "--config", "c.toml", "--a0", "0.01", "--out", "run", "--quick",
    ]);
    let m = e.metrics("run");
    assert_required(&m, "vblr");
    let c = &m["config"];
    assert_eq!(c["a0"], 0.01, "the command line wins");
    assert_eq!(
        c["max_iter"], 50,
        "the config file supplies what the command line does not"
    );
    assert_eq!(c["basis"], "linear");
    assert_eq!(c["target"], "target");
    assert!(m.get("log_evidence_by_degree").is_none());
    assert!(m["test_rmse"].as_f64().is_some());
    assert_eq!(m["n_test"], 10);
    assert!(e.path("run/fit.svg").exists());
}

#[test]
fn vblr_on_diabetes_compares_with_the_evidence_approximation() {
    let e = Elbo::new();
    e.ok(&[
        "vblr",
        "--data",
        "diabetes",
        "--test-fraction",
        "0.2",
        "--compare-evidence",
        "--quick",
        "--out",
        "d",
    ]);
    let m = e.metrics("d");
    assert_required(&m, "vblr");
    let (rmse, test) = (
        m["rmse"].as_f64().unwrap(),
        m["test_rmse"].as_f64().unwrap(),
    );
    assert!(
        (40.0..70.0).contains(&rmse) && (35.0..75.0).contains(&test),
        "{rmse} {test}"
    );
    let ev = &m["evidence_approximation"];
    let ev_test = ev["test_rmse"].as_f64().unwrap();
    assert!(
        (ev_test - test).abs() < 0.05 * test,
        "VB {test} vs evidence {ev_test}"
    );
    assert!(ev["alpha"].as_f64().unwrap() > 0.0 && ev["beta"].as_f64().unwrap() > 0.0);
}

#[test]
fn vblr_ard_records_one_precision_per_weight() {
    let e = Elbo::new();
    e.ok(&[
        "vblr",
        "--data",
        "sparse:80,8,2",
        "--ard",
        "--quick",
        "--out",
        "a",
    ]);
    let m = e.metrics("a");
    assert_eq!(m["alpha_mean"].as_array().map(Vec::len), Some(9));
    assert_eq!(m["relevant"].as_array().map(Vec::len), Some(9));
    let g: Vec<f64> = m["well_determined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        g[1] > 0.9 && g[2] > 0.9,
        "the two relevant weights are well determined: {g:?}"
    );
    let svg = std::fs::read_to_string(e.path("a/ard.svg")).unwrap();
    assert!(
        svg.contains("x0-x1 (relevant)") && svg.contains("irrelevant"),
        "relevant and irrelevant weights are told apart"
    );
    let r = &m["ard_recovery"];
    assert_eq!(
        (
            r["relevant_features"].as_u64(),
            r["irrelevant_features"].as_u64()
        ),
        (Some(2), Some(6))
    );
    assert!(r["alpha_ratio"].as_f64().unwrap() > 1.0, "{r}");
    // Generated data are written value for value; no rows held out, no split.
    assert!(e.path("a/data.csv").exists() && !e.path("a/split.json").exists());
}

#[test]
fn split_json_and_data_csv_are_the_rows_and_numbers_used() {
    let e = Elbo::new();
    e.ok(&[
        "vblr",
        "--data",
        "sparse:60,6,2",
        "--test-fraction",
        "0.25",
        "--seed",
        "3",
        "--quick",
        "--out",
        "h",
    ]);
    let m = e.metrics("h");
    let split = e.json("h/split.json");
    assert_eq!(split["kind"], "holdout");
    assert_eq!(
        (split["seed"].as_u64(), split["n_rows"].as_u64()),
        (Some(3), Some(60))
    );
    assert_eq!(split["fingerprint"].as_str().map(str::len), Some(16));
    let (train, test) = (indices(&split["train"]), indices(&split["test"]));
    assert_partition(&train, &test, 60);
    assert_eq!(test.len() as u64, m["n_test"].as_u64().unwrap());
    assert_eq!(train.len() as u64, m["n_train"].as_u64().unwrap());
    assert_ne!(test, (0..15).collect::<Vec<_>>(), "the split is shuffled");
    // data.csv holds the generated numbers: the training rows' target mean
    // and input means are exactly what the fit recorded.
    let (header, rows) = read_csv(&std::fs::read_to_string(e.path("h/data.csv")).unwrap());
    assert_eq!(header, ["x0", "x1", "x2", "x3", "x4", "x5", "t"]);
    assert_eq!(rows.len(), 60);
    let mean = |col: usize| train.iter().map(|&i| rows[i][col]).sum::<f64>() / train.len() as f64;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
    assert!(close(mean(6), m["target_mean"].as_f64().unwrap()));
    for j in 0..6 {
        assert!(
            close(mean(j), m["scaler"]["mean"][j].as_f64().unwrap()),
            "x{j}"
        );
    }
    // Another seed, another split.
    e.ok(&[
        "vblr",
        "--data",
        "sparse:60,6,2",
        "--test-fraction",
        "0.25",
        "--seed",
        "4",
        "--quick",
        "--out",
        "h4",
    ]);
    assert_ne!(e.json("h4/split.json")["fingerprint"], split["fingerprint"]);
    // Embedded data are not copied.
    e.ok(&[
        "vblr",
        "--data",
        "diabetes",
        "--test-fraction",
        "0.2",
        "--quick",
        "--out",
        "d",
    ]);
    assert!(e.path("d/split.json").exists() && !e.path("d/data.csv").exists());

    // K folds: each fold's test rows and the rest partition the rows, and
    // the test rows of all folds cover every row once.
    e.write("l.csv", &logistic_csv());
    e.ok(&[
        "vb-logistic",
        "--data",
        "l.csv",
        "--target",
        "-1",
        "--folds",
        "3",
        "--quick",
        "--out",
        "k",
    ]);
    let split = e.json("k/split.json");
    assert_eq!(
        (split["kind"].as_str(), split["k"].as_u64()),
        (Some("kfold"), Some(3))
    );
    let folds = split["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let mut tests = Vec::new();
    for f in folds {
        let (train, test) = (indices(&f["train"]), indices(&f["test"]));
        assert_partition(&train, &test, 90);
        assert_eq!(test.len(), 30);
        tests.extend(test);
    }
    tests.sort_unstable();
    assert_eq!(tests, (0..90).collect::<Vec<_>>());
    assert_eq!(e.metrics("k")["n_samples"], 90);
}

#[test]
fn same_seed_same_metrics_and_a_different_seed_differs() {
    let e = Elbo::new();
    let args = |out: &'static str, seed: &'static str| {
        vec![
            "vblr",
            "--data",
            "sparse:60,6,2",
            "--ard",
            "--test-fraction",
            "0.2",
            "--quick",
            "--seed",
            seed,
            "--out",
            out,
        ]
    };
    e.ok(&args("a", "7"));
    e.ok(&args("b", "7"));
    e.ok(&args("c", "8"));
    assert_eq!(without_wall(e.metrics("a")), without_wall(e.metrics("b")));
    assert_ne!(e.metrics("a")["rmse"], e.metrics("c")["rmse"]);
    let (sa, sb) = (e.snapshot("a"), e.snapshot("b"));
    assert_eq!(
        sa.get(Path::new("fit.svg")),
        sb.get(Path::new("fit.svg")),
        "figures are reproducible too"
    );
}

// --------------------------------------------------------- vb-logistic ---

#[test]
fn vb_logistic_cross_validates() {
    let e = Elbo::new();
    e.write("l.csv", &logistic_csv());
    let stdout = e.ok(&[
        "vb-logistic",
        "--data",
        "l.csv",
        "--target",
        "-1",
        "--folds",
        "3",
        "--quick",
    ]);
    assert!(stdout.contains("3-fold accuracy"), "{stdout}");
    let m = e.metrics("out/vb-logistic-l-0");
    assert_required(&m, "vb-logistic");
    assert_monotone(&m["elbo_trace"]);
    let acc = m["accuracy"].as_f64().unwrap();
    assert!((0.75..=1.0).contains(&acc), "{acc}");
    for k in ["accuracy_folds", "log_loss_folds", "ece_folds"] {
        assert_eq!(m[k].as_array().map(Vec::len), Some(3), "{k}");
    }
    assert!(m["log_loss"].as_f64().unwrap() > 0.0 && m["ece"].as_f64().unwrap() >= 0.0);
    assert!(m["alpha_mean"].as_f64().unwrap() > 0.0 && m["log_evidence"].as_f64().unwrap() < 0.0);
    for f in ["bound_trace.svg", "reliability.svg"] {
        assert!(e.path("out/vb-logistic-l-0").join(f).exists(), "{f}");
    }
}

// ------------------------------------------------- data, bench, reproduce ---

#[test]
fn data_list_and_info() {
    let e = Elbo::new();
    let list = e.ok(&["data", "list"]);
    for name in [
        "faithful",
        "digits",
        "breast-cancer",
        "diabetes",
        "cubic",
        "sparse",
    ] {
        assert!(list.contains(name), "{name} missing from\n{list}");
    }
    let info = e.ok(&["data", "info", "breast-cancer"]);
    assert!(
        info.contains("569 rows x 30 input columns") && info.contains("classes: 0: 212, 1: 357"),
        "{info}"
    );
    e.write("d.csv", "a,b\n1,2\n3,5\n");
    let info = e.ok(&["data", "info", "d.csv", "--target", "b"]);
    assert!(info.contains("2 rows x 1 input columns"), "{info}");
    e.fails(&["data", "info", "nope"], "unknown data set `nope`");
}

#[test]
fn bench_vblr_quick_without_python_reports_ours_only() {
    let e = Elbo::new();
    let stdout = e.ok(&[
        "bench",
        "vblr",
        "--quick",
        "--n",
        "500",
        "--d",
        "5",
        "--python",
        "/nonexistent/python3",
        "--out",
        "b",
    ]);
    assert!(stdout.contains("ours only"), "{stdout}");
    let m = e.metrics("b");
    assert_required(&m, "bench-vblr");
    assert!(m["ours_seconds"].as_f64().unwrap() > 0.0);
    assert!(m["sklearn_seconds"].is_null() && m["ratio"].is_null());
    assert!(m["sklearn_missing"].as_str().unwrap().contains("not found"));
}

/// The numbers of the `ours` cell of the results row whose quantity starts
/// with `quantity` (the first number).
fn row_value(summary: &Value, quantity: &str) -> f64 {
    let row = summary["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rows"].as_array().unwrap())
        .find(|r| r["quantity"].as_str().unwrap().starts_with(quantity))
        .unwrap_or_else(|| panic!("no row `{quantity}`"));
    let ours = row["ours"].as_str().unwrap();
    ours.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("`{ours}` does not start with a number"))
}

#[test]
fn reproduce_quick_writes_a_self_contained_report() {
    let e = Elbo::new();
    // --peers off never runs Python: with no PATH there is none to find.
    let out = e
        .command(&["reproduce", "--quick", "--peers", "off", "--out", "r"])
        .env("PATH", "")
        .output()
        .expect("run elbo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("wrote r"), "{stdout}");
    let html = std::fs::read_to_string(e.path("r/index.html")).unwrap();
    assert!(html.matches("<svg").count() >= 8, "figures are inlined");
    assert!(
        !html.contains("<img") && !html.contains("src="),
        "no external assets"
    );
    for key in [
        "fig10_9",
        "diabetes",
        "ard",
        "breast_cancer",
        "fig10_6",
        "fig10_7",
        "digits",
        "svi",
        "gradient_variance",
        "bbb_regress",
        "bbb_tabular",
        "bbb_sequential",
        "bbb_bandit",
        "vime",
        "vae",
    ] {
        assert!(html.contains(&format!("id=\"{key}\"")), "{key}");
    }
    let md = std::fs::read_to_string(e.path("r/results.md")).unwrap();
    assert!(md.starts_with("| experiment | quantity | ours | published | peer |"));
    let summary: Value = e.json("r/summary.json");
    assert_eq!(summary["experiments"].as_array().map(Vec::len), Some(15));
    assert_required(&e.metrics("r"), "reproduce");
    assert_eq!(e.metrics("r/fig10_9/seed-3")["best_degree"], 3);

    // Peers: recorded numbers on the same splits fill every peer cell and
    // say so; none claims to be measured in this run.
    assert!(md.contains("recorded, scikit-learn 1."), "{md}");
    assert!(
        !md.contains("measured in this run, scikit-learn") && !md.contains("not measured ("),
        "{md}"
    );
    assert!(
        md.contains("Not measured in this run (--peers off)"),
        "{md}"
    );
    assert_eq!(
        summary["peers"]["runs_without_peer"], 0,
        "{}",
        summary["peers"]
    );
    assert!(e.path("r/peers.py").exists() && e.path("r/peers.json").exists());
    assert!(
        html.contains("crates/elbo-cli/scripts/peers.py"),
        "the report names the script"
    );

    // Every run that holds rows out says which: split.json, consistent with
    // its metrics; generated data come with data.csv.
    for s in 0..5 {
        let d = format!("r/diabetes/seed-{s}");
        let split = e.json(&format!("{d}/split.json"));
        let m = e.metrics(&d);
        assert_partition(&indices(&split["train"]), &indices(&split["test"]), 442);
        assert_eq!(
            split["test"].as_array().map(Vec::len),
            m["n_test"].as_u64().map(|n| n as usize)
        );
        let bc = e.json(&format!("r/breast_cancer/seed-{s}/split.json"));
        assert_eq!(
            (bc["n_rows"].as_u64(), bc["k"].as_u64()),
            (Some(569), Some(5))
        );
        assert!(
            e.metrics(&format!("r/breast_cancer/seed-{s}"))["accuracy"]
                .as_f64()
                .unwrap()
                > 0.94
        );
        for v in ["ard", "shared"] {
            let d = format!("r/ard/seed-{s}-{v}");
            assert!(e.path(&format!("{d}/split.json")).exists(), "{d}");
            assert!(e.path(&format!("{d}/data.csv")).exists(), "{d}");
        }
        // ARD, run to convergence: the irrelevant weights' E[alpha_i] are
        // orders of magnitude above the relevant ones', x0-x4 are all kept.
        let m = e.metrics(&format!("r/ard/seed-{s}-ard"));
        assert_eq!(m["converged"], true, "seed {s}");
        let r = &m["ard_recovery"];
        assert!(r["alpha_ratio"].as_f64().unwrap() >= 100.0, "seed {s}: {r}");
        assert_eq!(r["relevant_kept"], 5, "seed {s}: {r}");
        assert!(
            r["irrelevant_pruned"].as_u64().unwrap() >= 20,
            "seed {s}: {r}"
        );
    }
    assert!(
        !e.path("r/fig10_9/seed-0/split.json").exists(),
        "no rows held out"
    );
    assert!(row_value(&summary, "ratio of the medians") >= 100.0);
    assert!(e.path("r/ard/seed-0-ard/ard.svg").exists());

    // Mixtures: PRML Fig 10.6 and 10.7, digits, SVI.
    for s in 0..5 {
        assert_eq!(
            e.metrics(&format!("r/fig10_6/seed-{s}"))["effective_components"],
            2,
            "seed {s}"
        );
    }
    assert!(e.path("r/fig10_6/seed-0/iterations.svg").exists());
    assert_eq!(e.metrics("r/fig10_7/seed-0")["best_k"], 2);
    for s in 0..3 {
        let d = format!("r/digits/seed-{s}");
        let v = e.metrics(&format!("{d}-vgmm"));
        let em = e.metrics(&format!("{d}-em-floor"));
        let (hv, he) = (
            v["heldout_loglik_per_point"].as_f64().unwrap(),
            em["heldout_loglik_per_point"].as_f64().unwrap(),
        );
        assert!(hv > he, "seed {s}: VGMM {hv} vs EM {he}");
        // A few border pixels are constant on the training rows (which
        // ones depends on the split) and are dropped.
        let dim = v["dim"].as_u64().unwrap();
        assert!((55..=61).contains(&dim), "{dim}");
        assert_eq!(
            v["dropped_columns"].as_array().map(Vec::len),
            Some(64 - dim as usize)
        );
        assert!(e.path(&format!("{d}-vgmm/init.json")).exists());
        assert!(e.path(&format!("{d}-em/split.json")).exists());
    }
    for s in 0..2 {
        let m = e.metrics(&format!("r/svi/seed-{s}"));
        let gap = m["relative_gap_to_batch"].as_f64().unwrap();
        assert!(gap.abs() < 0.01, "seed {s}: {gap}");
    }
    assert!(row_value(&summary, "SVI below CAVI").abs() < 1.0);
}

#[test]
fn reproduce_without_scikit_learn_falls_back_to_recorded_peer_numbers() {
    let e = Elbo::new();
    let out = e.run(&[
        "reproduce",
        "--quick",
        "--python",
        "/nonexistent/python3",
        "--out",
        "r",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("elbo: warning: peers: /nonexistent/python3 not found")
            && stderr.contains("showing recorded numbers"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(e.path("r/results.md")).unwrap();
    assert!(
        md.contains("recorded, scikit-learn 1.")
            && !md.contains("measured in this run, scikit-learn")
    );
    let peers = e.json("r/peers.json");
    assert_eq!(peers["status"]["mode"], "auto");
    assert!(
        peers["runs"]["diabetes/seed-0"]["source"]
            .as_str()
            .unwrap()
            .starts_with("recorded")
    );
}

#[test]
fn reproduce_measures_peers_on_the_same_rows_when_scikit_learn_is_there() {
    let has_sklearn = Command::new("python3")
        .args(["-c", "import sklearn"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sklearn {
        eprintln!("skipped: python3 with scikit-learn is not available");
        return;
    }
    let e = Elbo::new();
    e.ok(&["reproduce", "--quick", "--out", "r"]);
    let peers = e.json("r/peers.json");
    assert_eq!(peers["status"]["runs_measured"], 29, "{}", peers["status"]);
    let md = std::fs::read_to_string(e.path("r/results.md")).unwrap();
    assert!(md.contains("measured in this run, scikit-learn"), "{md}");
    // Same rows, same model: our evidence approximation and BayesianRidge
    // agree split by split.
    for s in 0..5 {
        let key = format!("diabetes/seed-{s}");
        let theirs = peers["runs"][&key]["test_rmse"].as_f64().unwrap();
        let ours = e.metrics(&format!("r/{key}"))["evidence_approximation"]["test_rmse"]
            .as_f64()
            .unwrap();
        assert!(
            (ours - theirs).abs() < 1e-4 * theirs,
            "{key}: {ours} vs {theirs}"
        );
    }
    // Mixtures from the same k-means labels: the same CAVI; the same EM up
    // to the floor's smoothing factor in our responsibilities (EmGmm), which
    // is negligible at reg_covar = 1e-6.
    for s in 0..3 {
        for (run, key, rel) in [
            ("vgmm", "heldout_loglik_per_point_t", 1e-9),
            ("em", "heldout_loglik_per_point", 1e-4),
        ] {
            let k = format!("digits/seed-{s}-{run}");
            let theirs = peers["runs"][&k]["same_init"][key].as_f64().unwrap();
            let ours = e.metrics(&format!("r/{k}"))["heldout_loglik_per_point"]
                .as_f64()
                .unwrap();
            assert!(
                (ours - theirs).abs() < rel * theirs.abs(),
                "{k}: {ours} vs {theirs}"
            );
        }
    }
}

// ------------------------------------------------------------ mixtures ---

/// Old Faithful as the repository holds it: (eruptions, waiting) rows.
fn faithful() -> Vec<(f64, f64)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/faithful.csv");
    std::fs::read_to_string(path)
        .expect("data/faithful.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let (a, b) = l.split_once(',').expect("two columns");
            (a.parse().expect("number"), b.parse().expect("number"))
        })
        .collect()
}

/// A CSV of (a, b) rows, each mapped by `f`.
fn faithful_csv(f: impl Fn(f64, f64) -> String) -> String {
    let mut s = String::from("a,b\n");
    for (a, b) in faithful() {
        s.push_str(&f(a, b));
        s.push('\n');
    }
    s
}

/// The numbers of a JSON array (every entry must be a finite number).
fn finite_numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| {
            let f = x.as_f64().unwrap_or_else(|| panic!("not a number: {x}"));
            assert!(f.is_finite(), "{f}");
            f
        })
        .collect()
}

/// The keys every mixture run writes, and its weights summing to 1.
fn assert_mixture(m: &Value, model: &str, k: usize) {
    assert_required(m, model);
    let w = finite_numbers(&m["weights"]);
    assert_eq!(w.len(), k);
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
    let eff = w.iter().filter(|&&x| x > 0.01).count();
    assert_eq!(m["effective_components"], eff);
    assert!(!finite_numbers(&m["elbo_trace"]).is_empty());
    assert_monotone(&m["elbo_trace"]);
    for key in ["n_train", "n_test", "dim", "columns", "dropped_columns"] {
        assert!(m.get(key).is_some(), "{key}");
    }
}

#[test]
fn vgmm_quick_writes_its_keys_and_figures() {
    let e = Elbo::new();
    let stdout = e.ok(&["vgmm", "--quick"]);
    assert!(stdout.contains("vgmm on faithful"), "{stdout}");
    let dir = "out/vgmm-faithful-0";
    let m = e.metrics(dir);
    assert_mixture(&m, "vgmm", 6);
    assert!(m["bound"].as_f64().unwrap().is_finite());
    assert_eq!(
        m["bound"].as_f64(),
        m["elbo_trace"].as_array().unwrap().last().unwrap().as_f64()
    );
    assert!(m.get("heldout_loglik_per_point").is_none(), "no test set");
    let p = &m["prior"];
    assert_eq!(p["weights"]["kind"], "dirichlet");
    assert_eq!(p["weights"]["alpha0"], 1.0 / 6.0);
    assert_eq!(
        (p["beta0"].as_f64(), p["nu0"].as_f64()),
        (Some(1.0), Some(2.0))
    );
    assert_eq!(p["W0"].as_array().map(Vec::len), Some(2));
    let c = &m["config"];
    for k in [
        "k",
        "covariance",
        "prior",
        "alpha0",
        "beta0",
        "nu0",
        "tol",
        "max_iter",
        "n_init",
        "init_iter",
        "standardize",
    ] {
        assert!(c.get(k).is_some(), "config lacks {k}: {c}");
    }
    assert_eq!(c["max_iter"], 100, "--quick");
    assert_eq!(m["scaler"]["mean"].as_array().map(Vec::len), Some(2));
    for f in [
        "fit.svg",
        "iterations.svg",
        "bound_trace.svg",
        "weights.svg",
    ] {
        let svg = std::fs::read_to_string(e.path(dir).join(f)).expect(f);
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f}"
        );
    }
    assert!(!e.path(dir).join("init.json").exists(), "no rows held out");
    assert_eq!(e.entries(), vec!["out", "vgmm-faithful-0"]);
}

#[test]
fn faithful_k6_alpha0_1e3_keeps_two_components_prml_fig_10_6() {
    let e = Elbo::new();
    e.ok(&[
        "vgmm", "--data", "faithful", "--k", "6", "--alpha0", "1e-3", "--out", "f",
    ]);
    let m = e.metrics("f");
    assert_mixture(&m, "vgmm", 6);
    assert_eq!(m["effective_components"], 2);
    assert_eq!(m["converged"], true);
    let mut w = finite_numbers(&m["weights"]);
    w.sort_by(|a, b| b.total_cmp(a));
    assert!(w[0] > 0.55 && w[0] < 0.75 && w[1] > 0.25, "{w:?}");
    // The iterations figure: 0, 15, 60, … and the last.
    let snaps: Vec<u64> = m["snapshot_iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(snaps[..2], [0, 15]);
    assert_eq!(snaps.last().copied(), m["n_iter"].as_u64());
    let svg = std::fs::read_to_string(e.path("f/iterations.svg")).unwrap();
    assert!(svg.contains("iteration 0") && svg.contains("iteration 15"));
}

#[test]
fn k_sweep_on_faithful_picks_two_prml_fig_10_7() {
    let e = Elbo::new();
    let stdout = e.ok(&[
        "vgmm",
        "--data",
        "faithful",
        "--k-sweep",
        "1-6",
        "--out",
        "s",
    ]);
    assert!(stdout.contains("best K = 2"), "{stdout}");
    let m = e.metrics("s");
    assert_mixture(&m, "vgmm", 2);
    assert_eq!(m["best_k"], 2);
    assert_eq!(m["k"], 2);
    let by_k = m["bound_by_k"].as_object().unwrap();
    assert_eq!(by_k.len(), 6);
    let best = by_k
        .values()
        .map(|v| v.as_f64().unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(by_k["2"].as_f64(), Some(best));
    // bound + ln K! of the kept fit.
    let ln2 = 2f64.ln();
    assert!((m["bound"].as_f64().unwrap() + ln2 - best).abs() < 1e-9);
    assert_eq!(
        m["bound_by_k_restarts"]["4"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(m["config"]["alpha0"], 1.0);
    assert_eq!(m["config"]["k_sweep"], serde_json::json!([1, 6]));
    assert!(e.path("s/bound_by_k.svg").exists());
}

#[test]
fn vgmm_held_out_rows_and_test_files_are_scored() {
    let e = Elbo::new();
    e.ok(&["vgmm", "--quick", "--test-fraction", "0.25", "--out", "h"]);
    let m = e.metrics("h");
    assert_mixture(&m, "vgmm", 6);
    assert_eq!(
        (m["n_train"].as_u64(), m["n_test"].as_u64()),
        (Some(204), Some(68))
    );
    let h = m["heldout_loglik_per_point"].as_f64().unwrap();
    assert!(h.is_finite() && h < 0.0, "{h}");
    // In the data's own units: minus the log of the scales.
    let sd = finite_numbers(&m["scaler"]["std"]);
    let orig = m["heldout_loglik_per_point_original_units"]
        .as_f64()
        .unwrap();
    assert!((orig - (h - sd.iter().map(|s| s.ln()).sum::<f64>())).abs() < 1e-9);
    let split = e.json("h/split.json");
    assert_partition(&indices(&split["train"]), &indices(&split["test"]), 272);
    let init = e.json("h/init.json");
    assert_eq!(init["labels"].as_array().map(Vec::len), Some(204));

    // A test file in the same columns.
    let rows: Vec<String> = faithful()
        .iter()
        .step_by(4)
        .map(|(a, b)| format!("{a},{b}"))
        .collect();
    e.write(
        "t.csv",
        &format!("eruptions,waiting\n{}\n", rows.join("\n")),
    );
    e.ok(&["vgmm", "--quick", "--test", "t.csv", "--out", "t"]);
    let m = e.metrics("t");
    assert_eq!(m["n_test"], 68);
    assert!(m["heldout_loglik_per_point"].as_f64().unwrap().is_finite());
    assert_eq!(m["config"]["test"], "t.csv");

    // The Dirichlet process prior.
    e.ok(&["vgmm", "--quick", "--prior", "dp", "--out", "dp"]);
    let m = e.metrics("dp");
    assert_mixture(&m, "vgmm", 6);
    assert_eq!(m["prior"]["weights"]["kind"], "dp");
    assert_eq!(m["stick_a_k"].as_array().map(Vec::len), Some(5));
    // Diagonal covariances.
    e.ok(&["vgmm", "--quick", "--covariance", "diag", "--out", "diag"]);
    assert_eq!(e.metrics("diag")["prior"]["covariance"], "diag");
}

#[test]
fn em_gmm_quick_traces_a_log_likelihood_that_never_decreases() {
    let e = Elbo::new();
    e.ok(&["em-gmm", "--quick", "--test-fraction", "0.2"]);
    let dir = "out/em-gmm-faithful-0";
    let m = e.metrics(dir);
    assert_mixture(&m, "em-gmm", 2);
    assert_eq!(m["effective_components"], 2);
    assert_eq!(m["reg_covar"], 0.0);
    let ll = m["loglik"].as_f64().unwrap();
    assert!(ll.is_finite());
    assert!(m["heldout_loglik_per_point"].as_f64().unwrap().is_finite());
    assert_eq!(m["means"].as_array().map(Vec::len), Some(2));
    for f in [
        "fit.svg",
        "bound_trace.svg",
        "weights.svg",
        "split.json",
        "init.json",
    ] {
        assert!(e.path(dir).join(f).exists(), "{f}");
    }
}

#[test]
fn svi_gmm_quick_on_blobs_compares_with_batch_cavi() {
    let e = Elbo::new();
    let stdout = e.ok(&[
        "svi-gmm",
        "--quick",
        "--data",
        "blobs:3000,2,3",
        "--k",
        "3",
        "--batch-size",
        "200",
        "--compare-batch",
        "--out",
        "s",
    ]);
    assert!(stdout.contains("batch CAVI"), "{stdout}");
    let m = e.metrics("s");
    assert_required(&m, "svi-gmm");
    let w = finite_numbers(&m["weights"]);
    assert_eq!(w.len(), 3);
    assert_eq!(m["effective_components"], 3);
    // Two epochs of 15 minibatches: one noisy estimate per step.
    assert_eq!(m["n_steps"], 30);
    assert_eq!(finite_numbers(&m["elbo_trace"]).len(), 30);
    let svi = m["bound_per_point"].as_f64().unwrap();
    let batch = m["batch"]["bound_per_point"].as_f64().unwrap();
    let gap = m["relative_gap_to_batch"].as_f64().unwrap();
    assert!((gap - (batch - svi) / batch.abs()).abs() < 1e-12);
    assert!(gap.abs() < 0.01, "SVI within 1 % of CAVI: {svi} vs {batch}");
    // Generated data are written as used; the blob is the label.
    let (header, rows) = read_csv(&std::fs::read_to_string(e.path("s/data.csv")).unwrap());
    assert_eq!(header, vec!["x0", "x1", "blob"]);
    assert_eq!(rows.len(), 3000);
    for f in ["fit.svg", "bound_trace.svg", "weights.svg"] {
        assert!(e.path("s").join(f).exists(), "{f}");
    }
    // The written data, read back with the label left out, fit the same.
    e.ok(&[
        "vgmm",
        "--data",
        "s/data.csv",
        "--label",
        "blob",
        "--k",
        "3",
        "--quick",
        "--out",
        "back",
    ]);
    assert_eq!(e.metrics("back")["effective_components"], 3);
}

/// Blob centres of [`blobs_csv`], in the file's own units.
const STREAM_CENTRES: [(f64, f64); 3] = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];

/// `n` rows (header `u,v`) drawn from three unit-variance 2-D Gaussians at
/// [`STREAM_CENTRES`], the blobs interleaved (row i from blob i mod 3):
/// a fixed xorshift generator and Box–Muller, so the file is the same on
/// every run.
fn blobs_csv(n: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut out = String::from("u,v\n");
    for i in 0..n {
        let (cx, cy) = STREAM_CENTRES[i % 3];
        let r = (-2.0 * uniform().ln()).sqrt();
        let t = std::f64::consts::TAU * uniform();
        out.push_str(&format!("{},{}\n", cx + r * t.cos(), cy + r * t.sin()));
    }
    out
}

#[test]
fn svi_gmm_stream_fits_a_csv_file_read_in_chunks() {
    let e = Elbo::new();
    e.write("blobs.csv", &blobs_csv(3000));
    let stdout = e.ok(&[
        "svi-gmm",
        "--data",
        "blobs.csv",
        "--stream",
        "--k",
        "5",
        "--quick",
        "--batch-size",
        "250",
        "--out",
        "s",
    ]);
    assert!(stdout.contains("streamed, not standardised"), "{stdout}");
    let m = e.metrics("s");
    assert_required(&m, "svi-gmm");
    assert_eq!(m["config"]["stream"], true);
    assert_eq!(m["config"]["standardize"], false);
    assert_eq!(m["config"]["k"], 5);
    assert_eq!(m["config"]["batch_size"], 250);
    assert!(m["scaler"].is_null());
    assert_eq!(m["n_rows"], 3000);
    assert_eq!(m["n_train"], 3000);
    assert_eq!(m["n_test"], 0);
    assert_eq!(m["dim"], 2);
    assert_eq!(m["columns"], serde_json::json!(["u", "v"]));
    // Two epochs of 12 minibatches: one noisy estimate per step.
    assert_eq!(m["n_steps"], 24);
    assert_eq!(finite_numbers(&m["elbo_trace"]).len(), 24);
    let w = finite_numbers(&m["weights"]);
    assert_eq!(w.len(), 5);
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
    let eff = w.iter().filter(|&&x| x > 0.01).count();
    assert_eq!(m["effective_components"], eff);
    // Two quick epochs do not prune the spare components (nor does the
    // in-memory fit): they split blobs. What is robust: every component
    // that carries weight sits on a blob, in the file's own units (no
    // standardisation), and each blob gets a third of the weight.
    assert!(eff >= 3, "{w:?}");
    let means = m["m_k"].as_array().expect("m_k");
    assert_eq!(means.len(), 5);
    let mut per_blob = [0.0; 3];
    for (mk, &wk) in means.iter().zip(&w) {
        let mk = finite_numbers(mk);
        let (b, dist) = STREAM_CENTRES
            .iter()
            .map(|&(cx, cy)| (mk[0] - cx).hypot(mk[1] - cy))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        if wk > 0.01 {
            assert!(
                dist < 2.0,
                "component at {mk:?} (weight {wk}) is on no blob"
            );
        }
        per_blob[b] += wk;
    }
    for p in per_blob {
        assert!((p - 1.0 / 3.0).abs() < 0.03, "weight per blob {per_blob:?}");
    }
    for f in ["bound_trace.svg", "weights.svg"] {
        assert!(e.path("s").join(f).exists(), "{f}");
    }
    // Nothing drawn from all rows in memory: no data figure, no data.csv.
    for f in ["fit.svg", "data.csv", "split.json"] {
        assert!(!e.path("s").join(f).exists(), "{f}");
    }
}

#[test]
fn svi_gmm_stream_refuses_what_needs_the_rows_in_memory() {
    let e = Elbo::new();
    e.write("blobs.csv", &blobs_csv(300));
    e.write("const.csv", "a,c,b\n1,7,2\n2,7,4\n3,7,7\n4,7,1\n");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--data", "faithful"],
            "--stream reads a CSV file given as --data PATH; `faithful` is a built-in data set",
        ),
        (&[], "`faithful` is a built-in data set"),
        (
            &["--data", "blobs:300,2,3"],
            "`blobs:300,2,3` is a built-in data set",
        ),
        (
            &["--data", "blobs.csv", "--test-fraction", "0.2"],
            "--stream cannot be used with --test-fraction",
        ),
        (
            &["--data", "blobs.csv", "--compare-batch"],
            "--stream cannot be used with --compare-batch",
        ),
        (
            &["--data", "blobs.csv", "--k", "301"],
            "--k 301 is larger than the number of rows of blobs.csv (300)",
        ),
        (
            &["--data", "const.csv", "--k", "2"],
            "column 2 (`c`) of const.csv is constant on the 4 rows (value 7)",
        ),
        (&["--data", "missing.csv"], "missing.csv"),
    ];
    for (extra, needle) in cases {
        let mut a = vec!["svi-gmm", "--stream"];
        a.extend_from_slice(extra);
        a.extend(["--out", "run"]);
        e.fails(&a, needle);
        assert!(!e.path("run").exists(), "{a:?} left an output directory");
    }
    assert!(e.ok(&["svi-gmm", "--help"]).contains("--stream"));
}

#[test]
fn awkward_data_give_a_correct_fit() {
    let e = Elbo::new();
    // Every point twice.
    e.write("dup.csv", &faithful_csv(|a, b| format!("{a},{b}\n{a},{b}")));
    // Values of 1e6 scale, with a large offset.
    e.write(
        "big.csv",
        &faithful_csv(|a, b| format!("{},{}", 1e6 * a + 3e7, 1e6 * b - 5e8)),
    );
    // A constant column beside the data.
    e.write(
        "const.csv",
        &faithful_csv(|a, b| format!("{a},7,{b}")).replacen("a,b", "a,c,b", 1),
    );
    let fit = |args: &[&str]| {
        let mut a = vec![
            "vgmm", "--k", "6", "--alpha0", "1e-3", "--out", "run", "--force",
        ];
        a.extend(args);
        e.ok(&a);
        e.metrics("run")
    };
    // Twice the evidence: a correct fit (not necessarily the original's two
    // components).
    let m = fit(&["--data", "dup.csv"]);
    assert_mixture(&m, "vgmm", 6);
    assert!(m["bound"].as_f64().unwrap().is_finite());
    // A pile of ten identical points, where EM collapses (see the bad-input
    // test): the Wishart prior keeps every component proper.
    let mut pile = String::from("a,b\n");
    for i in 0..30 {
        let t = i as f64;
        pile.push_str(&format!(
            "{},{}\n",
            (t * 0.7).sin() * 2.0,
            (t * 1.3).cos() * 2.0
        ));
    }
    for _ in 0..10 {
        pile.push_str("5,5\n");
    }
    e.write("pile.csv", &pile);
    let m = fit(&["--data", "pile.csv"]);
    assert_mixture(&m, "vgmm", 6);
    assert!(m["bound"].as_f64().unwrap().is_finite());
    let heaviest = finite_numbers(&m["weights"])
        .into_iter()
        .fold(0.0, f64::max);
    assert!(heaviest > 0.2, "{heaviest}");
    for extra in [&[][..], &["--no-standardize"][..]] {
        let mut args = vec!["--data", "big.csv"];
        args.extend(extra);
        let m = fit(&args);
        assert_mixture(&m, "vgmm", 6);
        assert_eq!(m["effective_components"], 2, "{extra:?}");
        assert!(m["bound"].as_f64().unwrap().is_finite());
    }
    let m = fit(&["--data", "const.csv", "--drop-constant"]);
    assert_eq!(m["dropped_columns"], serde_json::json!(["c"]));
    assert_eq!(m["columns"], serde_json::json!(["a", "b"]));
    assert_eq!(m["effective_components"], 2);
    // EM on duplicated points with a floor, and on 1e6-scale values.
    for data in ["dup.csv", "big.csv"] {
        e.ok(&["em-gmm", "--data", data, "--out", "em", "--force"]);
        let m = e.metrics("em");
        assert_mixture(&m, "em-gmm", 2);
        assert!(m["loglik"].as_f64().unwrap().is_finite());
    }
}

#[test]
fn bench_vgmm_quick_without_python_reports_ours_only() {
    let e = Elbo::new();
    let stdout = e.ok(&[
        "bench",
        "vgmm",
        "--quick",
        "--n",
        "500",
        "--k",
        "3",
        "--python",
        "/nonexistent/python3",
        "--out",
        "b",
    ]);
    assert!(stdout.contains("ours only"), "{stdout}");
    let m = e.metrics("b");
    assert_required(&m, "bench-vgmm");
    assert!(m["ours_seconds"].as_f64().unwrap() > 0.0);
    assert!(m["ours_bound_per_point"].as_f64().unwrap().is_finite());
    assert!(
        m["ours_heldout_loglik_per_point"]
            .as_f64()
            .unwrap()
            .is_finite()
    );
    assert_eq!(m["ours_n_iter"], 20);
    assert!(m["sklearn_seconds"].is_null() && m["ratio"].is_null());
}

#[test]
fn bench_vgmm_matches_scikit_learn_from_the_same_start() {
    let has_sklearn = Command::new("python3")
        .args(["-c", "import sklearn, scipy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_sklearn {
        eprintln!("skipped: python3 with scikit-learn is not available");
        return;
    }
    let e = Elbo::new();
    e.ok(&[
        "bench", "vgmm", "--quick", "--n", "1500", "--d", "3", "--k", "4", "--out", "b",
    ]);
    let m = e.metrics("b");
    assert!(m["ratio"].as_f64().unwrap() > 0.0);
    // The same CAVI from the same start: the same bound and predictive.
    let db = m["bound_per_point_diff"].as_f64().unwrap();
    let dh = m["heldout_loglik_per_point_diff"].as_f64().unwrap();
    assert!(db.abs() < 1e-9 && dh.abs() < 1e-9, "{db} {dh}");
}

// ----------------------------------------------------------- bad input ---

#[test]
fn bad_input_is_one_line_exit_2_and_leaves_no_directory() {
    let e = Elbo::new();
    e.write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    e.write("nan.csv", "a,b\n1,2\n3,NaN\n");
    e.write("text.csv", "a,b\n1,2\n3,x\n");
    e.write("empty.csv", "a,b\n");
    e.write("ok.csv", "a,b\n1,2\n2,4\n3,7\n");
    e.write("bad.toml", "colour = 3\n");
    e.write("const.csv", "a,c,b\n1,7,2\n2,7,4\n3,7,7\n4,7,1\n");
    e.write("wide.csv", "a,b,c\n1,2,3\n");
    // 30 spread points and a pile of 10 copies of one: EM collapses onto it.
    let mut pile = String::from("a,b\n");
    for i in 0..30 {
        let t = i as f64;
        pile.push_str(&format!(
            "{},{}\n",
            (t * 0.7).sin() * 2.0,
            (t * 1.3).cos() * 2.0
        ));
    }
    for _ in 0..10 {
        pile.push_str("5,5\n");
    }
    e.write("pile.csv", &pile);
    let cases: &[(&[&str], &str)] = &[
        (
            &["vblr", "--data", "missing.csv", "--target", "b"],
            "missing.csv: No such file",
        ),
        (
            &["vblr", "--data", "ragged.csv", "--target", "c"],
            "ragged.csv:3: expected 3 fields, found 2",
        ),
        (
            &["vblr", "--data", "nan.csv", "--target", "b"],
            "nan.csv:3: column 2 (`b`): `NaN` is not a finite number",
        ),
        (
            &["vblr", "--data", "text.csv", "--target", "b"],
            "`x` is not a number",
        ),
        (
            &["vblr", "--data", "empty.csv", "--target", "b"],
            "no data rows",
        ),
        (
            &["vblr", "--degree", "25"],
            "--degree must be between 0 and 20, got 25",
        ),
        (&["vblr", "--degrees", "0-30"], "--degrees `0-30`"),
        (
            &["vblr", "--a0", "-1"],
            "`a0` must be finite and >= 0, got -1",
        ),
        (
            &["vblr", "--beta", "0"],
            "`beta` must be finite and > 0, got 0",
        ),
        (&["vblr", "--tol", "-1"], "`tol`"),
        (
            &["vblr", "--max-iter", "0"],
            "`max_iter` must be at least 1",
        ),
        (
            &["vblr", "--max-iter", "abc"],
            "invalid value 'abc' for '--max-iter",
        ),
        (
            &["vblr", "--test-fraction", "1"],
            "--test-fraction must be in [0, 1)",
        ),
        (&["vblr", "--noise", "known"], "--noise known needs"),
        (&["vblr", "--data", "iris"], "unknown data set `iris`"),
        (
            &["vblr", "--data", "ok.csv", "--target", "z"],
            "unknown column `z`",
        ),
        (&["vblr", "--data", "ok.csv"], "ok.csv has no target"),
        (
            &["vblr", "--data", "diabetes", "--degree", "2"],
            "diabetes has 10 input columns",
        ),
        (&["vblr", "--config", "bad.toml"], "unknown key `colour`"),
        (
            &["vblr", "--config", "missing.toml"],
            "reading config missing.toml",
        ),
        (
            &["vblr", "--frobnicate"],
            "unexpected argument '--frobnicate'",
        ),
        (
            &["vb-logistic", "--data", "diabetes"],
            "must hold 0/1 labels",
        ),
        (
            &["vb-logistic", "--folds", "1"],
            "--folds must be at least 2",
        ),
        (
            &["vb-logistic", "--a0", "0"],
            "`a0` must be finite and greater than 0",
        ),
        (&["bench", "vblr", "--n", "1"], "--n must be at least 2"),
        (&["vgmm", "--k", "0"], "--k must be at least 1, got 0"),
        (
            &["vgmm", "--k", "300"],
            "--k 300 is larger than the number of training points (272)",
        ),
        (
            &["em-gmm", "--k", "250", "--test-fraction", "0.2"],
            "larger than the number of training points (218 after holding out 54)",
        ),
        (
            &["svi-gmm", "--data", "const.csv", "--k", "2"],
            "column 2 (`c`) of const.csv is constant on the 4 training rows (value 7)",
        ),
        (
            &["vgmm", "--test", "wide.csv"],
            "dimension mismatch: --test wide.csv has 3 columns",
        ),
        (
            &["vgmm", "--test", "missing.csv"],
            "missing.csv: No such file",
        ),
        (
            &["em-gmm", "--data", "pile.csv", "--k", "3"],
            "EM met the likelihood singularity (PRML §9.2.1)",
        ),
        (
            &["em-gmm", "--reg-covar", "-1"],
            "--reg-covar must be finite and >= 0",
        ),
        (
            &["vgmm", "--alpha0", "0"],
            "--alpha0 must be finite and greater than 0, got 0",
        ),
        (
            &["vgmm", "--prior", "dp", "--alpha0", "1"],
            "--alpha0 is the Dirichlet prior's concentration",
        ),
        (
            &["vgmm", "--nu0", "0.5"],
            "--nu0 must be greater than D - 1 = 1",
        ),
        (&["vgmm", "--k-sweep", "0-3"], "--k-sweep `0-3`"),
        (
            &["vgmm", "--k", "3", "--k-sweep", "1-4"],
            "cannot be used with",
        ),
        (
            &["vgmm", "--test", "wide.csv", "--test-fraction", "0.2"],
            "cannot be used with",
        ),
        (
            &["vgmm", "--test-fraction", "1"],
            "--test-fraction must be in [0, 1)",
        ),
        (
            &["vgmm", "--max-iter", "0"],
            "--max-iter must be at least 1",
        ),
        (
            &["vgmm", "--data", "blobs:3,2,5"],
            "K (blobs) must be at most N",
        ),
        (
            &["svi-gmm", "--kappa", "0.4"],
            "--kappa must be in (0.5, 1]",
        ),
        (
            &["svi-gmm", "--tau", "0"],
            "--tau must be finite and > 0, got 0",
        ),
        (
            &["svi-gmm", "--batch-size", "0"],
            "--batch-size must be at least 1",
        ),
        (
            &["bench", "vgmm", "--n", "1"],
            "--n must be at least max(K, 2) = 10",
        ),
        (&[], "no command given"),
    ];
    for (args, needle) in cases {
        let mut a = args.to_vec();
        if !a.is_empty() && a[0] != "bench" {
            a.extend(["--out", "run"]);
        }
        e.fails(&a, needle);
        assert!(!e.path("run").exists(), "{args:?} left an output directory");
    }
    let left: Vec<String> = e
        .entries()
        .into_iter()
        .filter(|n| !n.contains('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_different_run_is_refused_and_the_first_run_is_untouched() {
    let e = Elbo::new();
    e.ok(&["vblr", "--quick", "--out", "run"]);
    let before = e.snapshot("run");
    let line = e.fails(
        &["vblr", "--quick", "--out", "run", "--a0", "0.5"],
        "already holds a different run",
    );
    assert!(line.contains("run") && line.contains("config.a0"), "{line}");
    e.fails(
        &["vblr", "--quick", "--out", "run", "--seed", "3"],
        "differs in seed",
    );
    e.fails(
        &["vb-logistic", "--quick", "--out", "run"],
        "differs in model, dataset",
    );
    assert_eq!(before, e.snapshot("run"), "the first run's files changed");
    // The same run may be replaced; --force replaces a different one.
    e.ok(&["vblr", "--quick", "--out", "run"]);
    assert_eq!(
        without_wall(e.metrics("run")),
        without_wall(serde_json::from_slice(&before[Path::new("metrics.json")]).unwrap())
    );
    e.ok(&["vblr", "--quick", "--out", "run", "--a0", "0.5", "--force"]);
    assert_eq!(e.metrics("run")["config"]["a0"], 0.5);
    // No temporary directories are left beside it.
    assert_eq!(e.entries(), vec!["run"]);
}

#[test]
fn a_directory_that_is_not_a_run_is_refused() {
    let e = Elbo::new();
    std::fs::create_dir(e.path("mine")).unwrap();
    e.write("mine/notes.txt", "keep me");
    e.fails(&["vblr", "--quick", "--out", "mine"], "is not an elbo run");
    assert_eq!(
        std::fs::read_to_string(e.path("mine/notes.txt")).unwrap(),
        "keep me"
    );
    e.write("file", "");
    e.fails(&["vblr", "--quick", "--out", "file"], "is not a directory");
}

#[test]
fn help_and_version_exit_0() {
    let e = Elbo::new();
    assert!(e.ok(&["--help"]).contains("vb-logistic"));
    let help = e.ok(&["--help"]);
    for cmd in ["vgmm", "em-gmm", "svi-gmm"] {
        assert!(help.contains(cmd), "{help}");
    }
    assert!(e.ok(&["vgmm", "--help"]).contains("--k-sweep"));
    assert!(e.ok(&["em-gmm", "--help"]).contains("--reg-covar"));
    assert!(e.ok(&["svi-gmm", "--help"]).contains("--kappa"));
    assert!(e.ok(&["vblr", "--help"]).contains("--degrees"));
    assert!(e.ok(&["--version"]).starts_with("elbo "));
}
