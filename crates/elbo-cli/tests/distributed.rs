//! `elbo vgmm --distributed` and `elbo svi-gmm --distributed` under
//! `mpirun --oversubscribe -n P` (P = 1, 2, 4): the bound trace equals the
//! single-process run's on the same rows and seed, every iteration, to
//! 1e-9 relative; failures (a missing shard, shards of different
//! dimension, a process that fails or dies) give one `elbo:` line per
//! process and a non-zero exit, within a time limit (no hang).
//!
//! `elbo vae --distributed` and `elbo bbb classify --distributed`
//! (data-parallel training, one gradient allreduce per step): the training
//! bound per epoch follows the single-process run with the same global
//! batch and seed — bit for bit with one process, to 1e-5 relative with
//! two and three (the replicas draw the global batch's noise; only the
//! order of float additions differs).
//!
//! Needs Open MPI (`mpirun` on PATH) and a build with `--features mpi`.
#![cfg(feature = "mpi")]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest a run may take before the test calls it a hang.
const LIMIT: Duration = Duration::from_secs(120);
/// Rows of the test data and the cut points of its five shard files.
const N: usize = 1800;
const CUTS: [usize; 6] = [0, 500, 611, 1000, 1450, N];

fn elbo() -> &'static str {
    env!("CARGO_BIN_EXE_elbo")
}

/// Wait for `cmd` at most [`LIMIT`]; a run still going then is killed and fails the test.
fn run_limited(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starting the command");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("waiting") {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {LIMIT:?} (a hang)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// `mpirun --oversubscribe -n p elbo ARGS` (root allowed: CI containers).
fn mpirun(p: usize, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "-n", &p.to_string(), elbo()])
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    run_limited(c)
}

fn single(args: &[&str]) -> Output {
    let mut c = Command::new(elbo());
    c.args(args);
    run_limited(c)
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Four clusters in 3-D, deterministic (a small LCG), rows in random order.
fn data_rows() -> Vec<[f64; 3]> {
    let mut s: u64 = 42;
    let mut u = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64) / (1u64 << 53) as f64
    };
    let centres = [
        [0.0, 0.0, 0.0],
        [6.0, 1.0, -2.0],
        [-4.0, 5.0, 3.0],
        [2.0, -6.0, 4.0],
    ];
    (0..N)
        .map(|_| {
            let c = centres[(u() * 4.0) as usize % 4];
            // Sums of uniforms: roughly Gaussian.
            let mut r = [0.0; 3];
            for (j, v) in r.iter_mut().enumerate() {
                *v = c[j] + (u() + u() + u() - 1.5) * 1.5;
            }
            r
        })
        .collect()
}

fn csv(rows: &[[f64; 3]]) -> String {
    let mut s = String::from("a,b,c\n");
    for r in rows {
        s.push_str(&format!("{},{},{}\n", r[0], r[1], r[2]));
    }
    s
}

/// `full.csv` and `shards/part-{0..4}.csv` (the same rows, cut at [`CUTS`]).
fn write_data(dir: &Path) -> (PathBuf, PathBuf) {
    let rows = data_rows();
    let full = dir.join("full.csv");
    std::fs::write(&full, csv(&rows)).unwrap();
    let shards = dir.join("shards");
    std::fs::create_dir_all(&shards).unwrap();
    for i in 0..5 {
        std::fs::write(
            shards.join(format!("part-{i}.csv")),
            csv(&rows[CUTS[i]..CUTS[i + 1]]),
        )
        .unwrap();
    }
    (full, shards)
}

fn metrics(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("metrics.json")).expect("metrics.json");
    serde_json::from_str(&text).unwrap()
}

fn trace(m: &serde_json::Value) -> Vec<f64> {
    m["elbo_trace"]
        .as_array()
        .expect("elbo_trace")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The largest relative difference, after checking the lengths agree.
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "traces of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn vgmm_bound_equals_single_process_every_iteration_for_1_2_4_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let (full, shards) = write_data(tmp.path());
    let fit = [
        "--k",
        "5",
        "--tol",
        "0",
        "--max-iter",
        "60",
        "--seed",
        "3",
        "--n-init",
        "2",
    ];
    let reference = tmp.path().join("ref");
    let mut args = vec!["vgmm", "--data", s(&full), "--out", s(&reference)];
    args.extend(fit);
    ok(&single(&args));
    let want = trace(&metrics(&reference));
    assert_eq!(want.len(), 60);
    for p in [1, 2, 4] {
        for (data, extra) in [(s(&shards), None), (s(&full), Some("149"))] {
            let out = tmp.path().join(format!("p{p}-{}", extra.is_some()));
            let mut args = vec!["vgmm", "--distributed", "--data", data, "--out", s(&out)];
            args.extend(fit);
            if let Some(c) = extra {
                args.extend(["--chunk-rows", c]);
            }
            let o = mpirun(p, &args, &[]);
            ok(&o);
            let m = metrics(&out);
            let got = trace(&m);
            let rel = max_rel(&got, &want);
            eprintln!(
                "vgmm P = {p}, {data} chunks {extra:?}: max relative bound difference {rel:e}"
            );
            assert!(rel <= 1e-9, "P = {p}: {rel:e}");
            assert_eq!(m["processes"], p);
            let rows: usize = m["rows_per_process"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .sum();
            assert_eq!(rows, N);
            // Only process 0 prints the summary.
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert_eq!(stdout.matches("wrote ").count(), 1, "{stdout}");
        }
    }
}

#[test]
fn svi_gmm_takes_the_same_steps_as_single_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (full, shards) = write_data(tmp.path());
    let fit = [
        "--k",
        "4",
        "--batch-size",
        "200",
        "--epochs",
        "3",
        "--seed",
        "1",
    ];
    let reference = tmp.path().join("ref");
    let mut args = vec!["svi-gmm", "--data", s(&full), "--out", s(&reference)];
    args.extend(fit);
    ok(&single(&args));
    let want = trace(&metrics(&reference));
    assert_eq!(want.len(), 27);
    for p in [2, 4] {
        let out = tmp.path().join(format!("p{p}"));
        let mut args = vec![
            "svi-gmm",
            "--distributed",
            "--data",
            s(&shards),
            "--out",
            s(&out),
        ];
        args.extend(fit);
        ok(&mpirun(p, &args, &[]));
        let rel = max_rel(&trace(&metrics(&out)), &want);
        eprintln!("svi-gmm P = {p}: max relative difference of the minibatch bounds {rel:e}");
        assert!(rel <= 1e-9, "P = {p}: {rel:e}");
    }
}

/// Every process printed one `elbo:` error, and the job failed. mpirun
/// forwards each process's stderr in pieces, so two processes' lines may
/// interleave: count the `elbo: ` prefixes and return the whole stderr.
fn failed_everywhere(o: &Output, p: usize) -> String {
    assert!(!o.status.success(), "the job should fail");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        stderr.matches("elbo: ").count(),
        p,
        "one `elbo:` error per process:\n{stderr}"
    );
    stderr
}

#[test]
fn a_missing_shard_is_an_error_on_every_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, shards) = write_data(tmp.path());
    std::fs::remove_file(shards.join("part-3.csv")).unwrap();
    let template = shards.join("part-{rank}.csv");
    let o = mpirun(
        4,
        &["vgmm", "--distributed", "--data", s(&template), "--k", "3"],
        &[],
    );
    let err = failed_everywhere(&o, 4);
    assert_eq!(
        err.matches("part-3.csv of process 3 is missing").count(),
        4,
        "{err}"
    );
    assert_eq!(err.matches("process 3 of 4 failed").count(), 3, "{err}");
    // A directory with fewer shard files than processes.
    std::fs::remove_file(shards.join("part-4.csv")).unwrap();
    let o = mpirun(
        4,
        &["svi-gmm", "--distributed", "--data", s(&shards), "--k", "3"],
        &[],
    );
    let err = failed_everywhere(&o, 4);
    assert_eq!(
        err.matches("holds 3 shard files (*.csv, *.gz, IDX) for 4 processes")
            .count(),
        4,
        "{err}"
    );
}

#[test]
fn shards_of_different_dimension_are_an_error_on_every_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, shards) = write_data(tmp.path());
    let wide = "a,b,c,d\n1,2,3,4\n5,6,7,8\n2,2,2,1\n";
    // Within one process's files (process 1 reads part-1 and part-3).
    std::fs::write(shards.join("part-1.csv"), wide).unwrap();
    let o = mpirun(
        2,
        &["vgmm", "--distributed", "--data", s(&shards), "--k", "3"],
        &[],
    );
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("the shards differ in dimension").count(),
        2,
        "{err}"
    );
    assert_eq!(err.matches("part-1.csv has 4 columns").count(), 2, "{err}");
    // Across processes (one file each).
    let two = tmp.path().join("two");
    std::fs::create_dir_all(&two).unwrap();
    std::fs::copy(shards.join("part-0.csv"), two.join("part-0.csv")).unwrap();
    std::fs::write(two.join("part-1.csv"), wide).unwrap();
    let o = mpirun(
        2,
        &["vgmm", "--distributed", "--data", s(&two), "--k", "3"],
        &[],
    );
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("part-0.csv (process 0) has 3 columns, ")
            .count(),
        2,
        "{err}"
    );
    assert_eq!(
        err.matches("part-1.csv (process 1) has 4").count(),
        2,
        "{err}"
    );
}

#[test]
fn a_failing_or_dying_process_stops_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, shards) = write_data(tmp.path());
    let args = [
        "vgmm",
        "--distributed",
        "--data",
        s(&shards),
        "--k",
        "3",
        "--max-iter",
        "50",
    ];
    let o = mpirun(2, &args, &[("ELBO_MPI_FAULT", "1:error")]);
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("injected fault on process 1").count(),
        2,
        "{err}"
    );
    assert_eq!(
        err.matches("process 1 of 2 failed: injected fault").count(),
        1,
        "{err}"
    );
    // A process that exits mid-fit without an error: mpirun ends the job.
    let start = Instant::now();
    let o = mpirun(2, &args, &[("ELBO_MPI_FAULT", "1:exit")]);
    assert!(!o.status.success());
    eprintln!("the job ended {:?} after process 1 died", start.elapsed());
    let o = mpirun(
        2,
        &["svi-gmm", "--distributed", "--data", s(&shards), "--k", "3"],
        &[("ELBO_MPI_FAULT", "0:error")],
    );
    failed_everywhere(&o, 2);
}

/// The bound trace of `key` in `dir`'s metrics.json.
fn trace_of(dir: &Path, key: &str) -> Vec<f64> {
    metrics(dir)[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {}", dir.display()))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// One trace per requested key.
type Traces = Vec<Vec<f64>>;

/// `args` in one process (no `--distributed`) and under `mpirun -n P
/// --distributed` for each P: the traces under `keys`, per run.
fn single_and_distributed(
    args: &[&str],
    ps: &[usize],
    keys: &[&str],
) -> (Traces, Vec<(usize, Traces)>) {
    let tmp = tempfile::tempdir().unwrap();
    let read = |dir: &Path| keys.iter().map(|k| trace_of(dir, k)).collect::<Vec<_>>();
    let one = tmp.path().join("single");
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--out", s(&one)]);
    ok(&single(&a));
    let base = read(&one);
    let mut runs = Vec::new();
    for &p in ps {
        let dir = tmp.path().join(format!("p{p}"));
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--distributed", "--out", s(&dir)]);
        let o = mpirun(p, &a, &[]);
        ok(&o);
        // Only process 0 writes: one summary.
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(stdout.matches("wrote ").count(), 1, "{stdout}");
        if p > 1 {
            assert!(
                stdout.contains(&format!("data-parallel on {p} processes")),
                "{stdout}"
            );
        }
        assert_eq!(metrics(&dir)["config"]["processes"], p, "{}", dir.display());
        runs.push((p, read(&dir)));
    }
    (base, runs)
}

#[test]
fn vae_training_curve_follows_the_single_process_run() {
    let args = [
        "vae",
        "--data",
        "digits",
        "--arch",
        "64-32-4",
        "--epochs",
        "3",
        "--batch",
        "100",
        "--lr",
        "3e-3",
        "--estimator",
        "score",
        "--eval-k",
        "5",
        "--eval-n",
        "20",
        "--seed",
        "3",
    ];
    let (base, runs) = single_and_distributed(&args, &[1, 2, 3], &["elbo_trace", "kl_trace"]);
    assert_eq!(base[0].len(), 3);
    for (p, r) in &runs {
        for (t, b) in r.iter().zip(&base) {
            if *p == 1 {
                assert_eq!(t, b, "one process takes the single-process steps exactly");
            } else {
                let d = max_rel(t, b);
                assert!(d < 1e-5, "P = {p}: {t:?} vs {b:?} ({d:e})");
            }
        }
    }
    // The comparison can fail: another seed moves the curve by far more.
    let mut other = args.to_vec();
    if let Some(seed) = other.last_mut() {
        *seed = "4";
    }
    let (b2, _) = single_and_distributed(&other, &[], &["elbo_trace"]);
    assert!(max_rel(&b2[0], &base[0]) > 1e-3);
}

#[test]
fn bbb_classify_training_curve_follows_the_single_process_run() {
    // Local reparameterisation (per-row noise), the scale-mixture prior
    // (Monte-Carlo KL), and the plain and dropout baselines.
    let args = [
        "bbb",
        "classify",
        "--train-size",
        "600",
        "--test-size",
        "100",
        "--hidden",
        "32",
        "--epochs",
        "2",
        "--batch-size",
        "100",
        "--test-samples",
        "2",
        "--seed",
        "5",
    ];
    let (base, runs) =
        single_and_distributed(&args, &[2, 3], &["elbo_trace", "plain_loglik_trace"]);
    assert_eq!(base[0].len(), 2);
    for (p, r) in &runs {
        for (t, b) in r.iter().zip(&base) {
            let d = max_rel(t, b);
            assert!(d < 1e-5, "P = {p}: {t:?} vs {b:?} ({d:e})");
        }
    }
}

#[test]
fn deep_flags_that_do_not_split_are_errors_on_every_process() {
    let o = mpirun(
        2,
        &[
            "vae",
            "--data",
            "digits",
            "--distributed",
            "--free-bits",
            "0.5",
        ],
        &[],
    );
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("cannot be used with --free-bits").count(),
        2,
        "{err}"
    );
    let o = mpirun(2, &["bbb", "regress", "--distributed"], &[]);
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("--distributed is for `elbo bbb classify`")
            .count(),
        2,
        "{err}"
    );
    let o = mpirun(
        3,
        &[
            "vae",
            "--data",
            "digits",
            "--distributed",
            "--batch",
            "2",
            "--epochs",
            "1",
        ],
        &[],
    );
    let err = failed_everywhere(&o, 3);
    assert_eq!(
        err.matches("cannot be shared by 3 processes").count(),
        3,
        "{err}"
    );
}

#[test]
fn a_process_failing_or_dying_in_data_parallel_training_stops_the_job() {
    let args = [
        "vae",
        "--data",
        "digits",
        "--arch",
        "64-16-2",
        "--epochs",
        "3",
        "--distributed",
        "--eval-k",
        "5",
        "--eval-n",
        "10",
    ];
    let o = mpirun(2, &args, &[("ELBO_MPI_FAULT", "1:error")]);
    let err = failed_everywhere(&o, 2);
    assert_eq!(
        err.matches("process 1 of 2 failed: injected fault").count(),
        1,
        "{err}"
    );
    let start = Instant::now();
    let o = mpirun(2, &args, &[("ELBO_MPI_FAULT", "0:exit")]);
    assert!(!o.status.success());
    eprintln!("the job ended {:?} after process 0 died", start.elapsed());
    let bbb = [
        "bbb",
        "classify",
        "--train-size",
        "300",
        "--test-size",
        "50",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--distributed",
    ];
    let o = mpirun(3, &bbb, &[("ELBO_MPI_FAULT", "2:error")]);
    let err = failed_everywhere(&o, 3);
    assert_eq!(
        err.matches("process 2 of 3 failed: injected fault").count(),
        2,
        "{err}"
    );
}
