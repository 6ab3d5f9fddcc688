//! Running on several processes (MPI): the communicator, the status
//! protocol, the gradient allreduce for the deep models, and the shards of
//! data a distributed mixture command reads.
//!
//! MPI (Open MPI through the `mpi` crate, rsmpi) is behind the `mpi` cargo
//! feature. Without it [`Comm::single`] is a one-process communicator
//! (every sum the identity) and [`Comm::init`] — what `--distributed` asks
//! for — is an error saying how to build with MPI, so commands can call the
//! same code either way.
//!
//! # Contract of [`Comm`] for data-parallel training
//!
//! - Every collective ([`sum_f32`](Comm::sum_f32), [`sum_f64`](Comm::sum_f64),
//!   [`mean_f32`](Comm::mean_f32), [`mean_f64`](Comm::mean_f64),
//!   [`agree`](Comm::agree), [`broadcast_f32`](Comm::broadcast_f32)) must be
//!   called by every process, in the same order, with buffers of the same
//!   length. Sums are element-wise, in place, and every process receives
//!   the same bits (MPI's built-in sum on one kind of machine).
//! - Data-parallel SGD: each process computes the gradient of the mean loss
//!   over its part of the global batch, flattens the gradients of every
//!   parameter into one buffer, and calls `mean_f32` on it (equal parts) or
//!   `sum_f32` after weighting by its share of the batch (unequal parts);
//!   every process then takes the same optimiser step, so the replicas stay
//!   identical. Start from identical parameters: initialise from the same
//!   seed on every process, or `broadcast_f32` rank 0's.
//! - Before any collective that a process might not reach (after loading
//!   its shard, after a step that can fail), call [`agree`](Comm::agree)
//!   with the local result: if any process failed, all of them return an
//!   error (the failing one's own message, the others "process r of P
//!   failed: …"), so none waits forever for a process that gave up.
//! - Only the root ([`is_root`](Comm::is_root)) writes outputs and prints.
//! - A process that dies without an error (killed, `abort`) takes the job
//!   down: `mpirun` terminates the others and exits non-zero.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use elbo_classic::mixture::{Allreduce, Layout};
use elbo_core::data::Standardizer;
use ndarray::{Array1, Array2, Axis};

use crate::dataset;

/// Rows per chunk when every process takes every P-th chunk of one file.
pub const DEFAULT_CHUNK_ROWS: usize = 65_536;
/// Bytes of an error message passed from a failing process to the others.
const MESSAGE_BYTES: usize = 400;
/// Fault injection for the tests: `ELBO_MPI_FAULT=RANK:error` makes that
/// process fail with an error just before the fit (after loading its
/// shard), `RANK:exit` makes it die (abort, no MPI finalize) after the
/// second CAVI iteration (before the fit for SVI); in data-parallel
/// training both happen after the first epoch ([`Comm::after_epoch`]).
pub const FAULT_ENV: &str = "ELBO_MPI_FAULT";

/// The flags of a distributed mixture command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DistArgs {
    /// Run as one process of an MPI job (`mpirun -n P elbo ... --distributed`):
    /// each process reads its shard of --data (a directory of CSV/IDX files
    /// dealt round-robin in name order, a path with `{rank}`, or every P-th
    /// chunk of one file or data set) and the processes exchange sums of
    /// sufficient statistics. Needs a build with `--features mpi`.
    #[arg(long)]
    pub distributed: bool,
    /// Rows per chunk when the processes share one file or data set
    /// [default: 65536].
    #[arg(long, value_name = "N", requires = "distributed")]
    pub chunk_rows: Option<usize>,
}

/// The processes of a run: one (no MPI), or the MPI world.
pub struct Comm {
    rank: usize,
    size: usize,
    /// Seconds in `sum_f32` (the gradient allreduce, waiting for the
    /// slowest process included) and its number of calls.
    f32_sums: std::cell::Cell<(f64, usize)>,
    #[cfg(feature = "mpi")]
    world: Option<mpi::topology::SimpleCommunicator>,
}

/// The MPI environment, finalised when the process exits (see [`finalize_at_exit`]).
#[cfg(feature = "mpi")]
static UNIVERSE: std::sync::Mutex<Option<mpi::environment::Universe>> = std::sync::Mutex::new(None);

/// Finalise MPI at process exit, after `main` has printed its error line:
/// Open MPI's `MPI_Finalize` synchronises the processes (a fence), so no
/// process exits — and has `mpirun` kill the rest of the job for its
/// non-zero status — before every process has reported.
#[cfg(feature = "mpi")]
extern "C" fn finalize_at_exit() {
    if let Ok(mut u) = UNIVERSE.lock() {
        drop(u.take());
    }
}

#[cfg(feature = "mpi")]
unsafe extern "C" {
    /// C's `atexit` (the C library is linked by std).
    fn atexit(cb: extern "C" fn()) -> std::ffi::c_int;
}

impl std::fmt::Debug for Comm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Comm {{ rank: {}, size: {} }}", self.rank, self.size)
    }
}

impl Comm {
    /// One process: every collective is the identity.
    pub fn single() -> Self {
        Self {
            rank: 0,
            size: 1,
            f32_sums: std::cell::Cell::new((0.0, 0)),
            #[cfg(feature = "mpi")]
            world: None,
        }
    }

    /// Join the MPI job this process was started in (`mpirun -n P`;
    /// started alone it is a job of one). Call once per process; MPI is
    /// finalised when the process exits (so that every process reports its
    /// error before any exits).
    ///
    /// # Errors
    /// A build without the `mpi` feature; MPI already initialised.
    pub fn init() -> anyhow::Result<Self> {
        #[cfg(feature = "mpi")]
        {
            use mpi::traits::Communicator;
            let universe = mpi::initialize().context("MPI was already initialised")?;
            let world = universe.world();
            let comm = Self {
                rank: world.rank() as usize,
                size: world.size() as usize,
                f32_sums: std::cell::Cell::new((0.0, 0)),
                world: Some(world),
            };
            let mut slot = UNIVERSE
                .lock()
                .map_err(|_| anyhow::anyhow!("the MPI environment's lock is poisoned"))?;
            *slot = Some(universe);
            // SAFETY: registers a plain function that captures nothing; it
            // runs once, at exit, after every `Comm` use has ended.
            let registered = unsafe { atexit(finalize_at_exit) };
            ensure!(
                registered == 0,
                "could not register MPI's finalisation at exit"
            );
            Ok(comm)
        }
        #[cfg(not(feature = "mpi"))]
        {
            bail!(
                "--distributed needs MPI, and this elbo was built without it: rebuild with \
                 `cargo build --release -p elbo-cli --features mpi` (Open MPI: \
                 `apt-get install libopenmpi-dev openmpi-bin libclang-dev`) and start it with `mpirun -n P`"
            )
        }
    }

    /// This process's index, 0 ≤ rank < size.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The number of processes P.
    pub fn size(&self) -> usize {
        self.size
    }
    /// Whether this is process 0, the one that writes outputs.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Collective: element-wise sum of `buf` over the processes, in place.
    pub fn sum_f64(&self, buf: &mut [f64]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            use mpi::collective::{CommunicatorCollectives, SystemOperation};
            let send = buf.to_vec();
            w.all_reduce_into(&send[..], buf, SystemOperation::sum());
        }
        let _ = buf;
    }

    /// Collective: element-wise sum of `buf` over the processes, in place
    /// (gradients in f32).
    pub fn sum_f32(&self, buf: &mut [f32]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            use mpi::collective::{CommunicatorCollectives, SystemOperation};
            let t = std::time::Instant::now();
            let send = buf.to_vec();
            w.all_reduce_into(&send[..], buf, SystemOperation::sum());
            let (s, n) = self.f32_sums.get();
            self.f32_sums.set((s + t.elapsed().as_secs_f64(), n + 1));
        }
        let _ = buf;
    }

    /// Seconds this process spent in [`sum_f32`](Comm::sum_f32) (the
    /// gradient allreduce, waiting for the slowest process included), and
    /// the number of calls.
    pub fn f32_sum_time(&self) -> (f64, usize) {
        self.f32_sums.get()
    }

    /// Collective, after each epoch of data-parallel training: agree that
    /// every process is still well, and inject [`FAULT_ENV`]'s fault after
    /// the first epoch (tests: `RANK:error` fails that process with an
    /// error every process reports, `RANK:exit` kills it).
    pub fn after_epoch(&self, epoch: usize) -> anyhow::Result<()> {
        let local = match self.fault() {
            Some(f) if epoch == 1 => Err(f.trigger(self.rank)),
            _ => Ok(()),
        };
        self.agree(local)
    }

    /// The summary line of a data-parallel run (None in one process).
    pub fn data_parallel_summary(&self) -> Option<String> {
        (self.size > 1).then(|| {
            let (seconds, calls) = self.f32_sum_time();
            format!(
                "data-parallel on {} processes: {} gradient allreduces, {} s in them (process 0, waiting included)",
                self.size,
                calls,
                crate::cmd::fmt_num(seconds)
            )
        })
    }

    /// The part of `metrics.json` that says how a data-parallel run was
    /// spread: processes, time in the gradient allreduce (process 0's),
    /// floats per allreduce.
    pub fn record_data_parallel(
        &self,
        m: &mut crate::metrics::Metrics,
        floats_per_step: usize,
    ) -> anyhow::Result<()> {
        let (seconds, calls) = self.f32_sum_time();
        m.set("processes", self.size)?;
        m.set("allreduce_seconds", seconds)?;
        m.set("allreduce_calls", calls)?;
        m.set("allreduce_floats", floats_per_step)?;
        Ok(())
    }

    /// Collective: the element-wise mean of `buf` over the processes.
    // For the deep commands' data-parallel training (vae, bbb), wired later.
    #[allow(dead_code)]
    pub fn mean_f64(&self, buf: &mut [f64]) {
        self.sum_f64(buf);
        if self.size > 1 {
            let p = self.size as f64;
            buf.iter_mut().for_each(|v| *v /= p);
        }
    }

    /// Collective: the element-wise mean of `buf` over the processes (data-parallel gradients).
    // For the deep commands' data-parallel training (vae, bbb), wired later.
    #[allow(dead_code)]
    pub fn mean_f32(&self, buf: &mut [f32]) {
        self.sum_f32(buf);
        if self.size > 1 {
            let p = self.size as f32;
            buf.iter_mut().for_each(|v| *v /= p);
        }
    }

    /// Collective: every process receives rank 0's `buf` (initial weights).
    pub fn broadcast_f32(&self, buf: &mut [f32]) {
        #[cfg(feature = "mpi")]
        if let Some(w) = &self.world {
            use mpi::traits::{Communicator, Root};
            w.process_at_rank(0).broadcast_into(buf);
        }
        let _ = buf;
    }

    /// Collective: agree on the outcome of a local step. Returns `local`
    /// when every process succeeded; otherwise an error on every process —
    /// its own on a process that failed, "process r of P failed: <its
    /// message>" (the lowest failing rank) on the others.
    pub fn agree<T>(&self, local: anyhow::Result<T>) -> anyhow::Result<T> {
        if self.size == 1 {
            return local;
        }
        let mut flags = vec![0.0; self.size];
        flags[self.rank] = if local.is_err() { 1.0 } else { 0.0 };
        self.sum_f64(&mut flags);
        let Some(first) = flags.iter().position(|&f| f > 0.0) else {
            return local;
        };
        // The first failing process's message, byte by byte (the others add zeros).
        let mut msg = vec![0.0; MESSAGE_BYTES];
        if first == self.rank {
            if let Err(e) = &local {
                let text = format!("{e:#}")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                for (slot, b) in msg.iter_mut().zip(text.bytes()) {
                    *slot = f64::from(b);
                }
            }
        }
        self.sum_f64(&mut msg);
        // This process's own error first; otherwise the first failure's.
        let _ = local?;
        let bytes: Vec<u8> = msg
            .iter()
            .take_while(|&&v| v > 0.0)
            .map(|&v| v as u8)
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let failed = flags.iter().filter(|&&f| f > 0.0).count();
        bail!(
            "process {first} of {} failed{}: {text}",
            self.size,
            if failed > 1 {
                format!(" (and {} more)", failed - 1)
            } else {
                String::new()
            }
        )
    }

    /// The fault this process should inject (tests; see [`FAULT_ENV`]).
    pub fn fault(&self) -> Option<Fault> {
        let v = std::env::var(FAULT_ENV).ok()?;
        let (rank, kind) = v.split_once(':')?;
        if rank.trim().parse::<usize>().ok()? != self.rank {
            return None;
        }
        match kind.trim() {
            "error" => Some(Fault::Error),
            "exit" => Some(Fault::Exit),
            _ => None,
        }
    }
}

/// An injected failure (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail the step with an error.
    Error,
    /// Die at once (abort: no exit handlers, no MPI finalize).
    Exit,
}

impl Fault {
    /// Act on the fault: exit, or return the error to report.
    pub fn trigger(self, rank: usize) -> anyhow::Error {
        if self == Fault::Exit {
            std::process::abort();
        }
        anyhow::anyhow!("injected fault on process {rank} ({FAULT_ENV})")
    }
}

impl Allreduce for Comm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sum(&self, buf: &mut [f64]) {
        self.sum_f64(buf);
    }
}

/// The MPI processes as elbo-deep's data-parallel replicas (`elbo vae
/// --distributed`, `elbo bbb classify --distributed`).
impl elbo_deep::parallel::Replicas for Comm {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sum_f32(&self, buf: &mut [f32]) -> elbo_deep::Result<()> {
        Comm::sum_f32(self, buf);
        Ok(())
    }
    fn sum_f64(&self, buf: &mut [f64]) -> elbo_deep::Result<()> {
        Comm::sum_f64(self, buf);
        Ok(())
    }
    fn broadcast_f32(&self, buf: &mut [f32]) -> elbo_deep::Result<()> {
        Comm::broadcast_f32(self, buf);
        Ok(())
    }
}

impl Comm {
    /// The communicator of a deep command: the MPI world with
    /// `--distributed`, one process otherwise.
    pub fn for_flag(distributed: bool) -> anyhow::Result<Self> {
        if distributed {
            Self::init()
        } else {
            Ok(Self::single())
        }
    }

    /// Collective: `step` runs on the root only (a write, a check of the
    /// output directory); every process learns its outcome.
    pub fn on_root(&self, step: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
        let local = if self.is_root() { step() } else { Ok(()) };
        self.agree(local)
    }

    /// Collective: the root checks that the output directory `out` may be
    /// written; every process learns the outcome.
    pub fn check_output(
        &self,
        out: &Path,
        id: &crate::output::RunId,
        force: bool,
    ) -> anyhow::Result<()> {
        self.on_root(|| crate::output::check_target(out, id, force))
    }
}

/// The identity of this process's part of a distributed run of `model` on
/// `spec` (collective: the root checks the output directory, `--out` or
/// the default, and every process learns the outcome).
pub fn run_meta(
    comm: &Comm,
    model: &'static str,
    spec: &str,
    seed: u64,
    config: &serde_json::Value,
    common: &crate::cli::CommonArgs,
) -> anyhow::Result<crate::cmd::RunMeta> {
    let run = crate::cmd::RunMeta {
        model,
        dataset: spec.to_string(),
        id: crate::output::RunId::new(model, spec, seed, config),
        out: common.out.clone(),
        force: common.force,
        seed,
    };
    let out = run
        .out
        .clone()
        .unwrap_or_else(|| crate::cmd::default_out(model, spec, seed));
    comm.check_output(&out, &run.id, run.force)?;
    Ok(run)
}

/// `synthetic:N,D,K` on P processes: this process's N/P rows (one more on
/// the first N mod P) of a mixture of K unit-variance Gaussians whose
/// centres (uniform in [−10, 10]^D) come from `seed` and are shared, the
/// points drawn from a generator seeded by (`seed`, rank): data generated on
/// the fly where they are used, for the scaling benchmark.
fn synthetic(shape: &str, seed: u64, p: usize, r: usize) -> anyhow::Result<Array2<f64>> {
    use rand::Rng;
    let bad = || format!("synthetic:{shape}: expected synthetic:N,D,K with N, D, K >= 1");
    let v: Vec<usize> = shape
        .split(',')
        .map(|t| t.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(bad)?;
    ensure!(v.len() == 3 && v.iter().all(|&t| t >= 1), "{}", bad());
    let (n, d, k) = (v[0], v[1], v[2]);
    let mut rng = elbo_core::rng::seeded(seed);
    let centres: Vec<f64> = (0..k * d)
        .map(|_| rng.random::<f64>() * 20.0 - 10.0)
        .collect();
    let rows = n / p + usize::from(r < n % p);
    let mut rng =
        elbo_core::rng::seeded(seed ^ ((r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    let mut x = Array2::zeros((rows, d));
    for mut row in x.rows_mut() {
        let c = rng.random_range(0..k);
        for (j, v) in row.iter_mut().enumerate() {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            *v = centres[c * d + j] + z;
        }
    }
    Ok(x)
}

/// A communicator that also counts the time spent in its sums (waiting
/// for the slowest process included): the communication side of the
/// scaling benchmark's cost model.
#[derive(Debug)]
pub struct Timed<'a> {
    comm: &'a Comm,
    seconds: std::cell::Cell<f64>,
    calls: std::cell::Cell<usize>,
}

impl<'a> Timed<'a> {
    /// Wrap `comm`.
    pub fn new(comm: &'a Comm) -> Self {
        Self {
            comm,
            seconds: std::cell::Cell::new(0.0),
            calls: std::cell::Cell::new(0),
        }
    }
    /// Seconds spent in sums so far, and their number.
    pub fn spent(&self) -> (f64, usize) {
        (self.seconds.get(), self.calls.get())
    }
}

impl Allreduce for Timed<'_> {
    fn rank(&self) -> usize {
        self.comm.rank
    }
    fn size(&self) -> usize {
        self.comm.size
    }
    fn sum(&self, buf: &mut [f64]) {
        let t = std::time::Instant::now();
        self.comm.sum_f64(buf);
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
        self.calls.set(self.calls.get() + 1);
    }
}

/// This process's shard of a data set, in the fitted space.
#[derive(Debug)]
pub struct Shard {
    /// This process's rows (its segments in global order), standardised
    /// unless `--no-standardize`.
    pub x: Array2<f64>,
    /// Where every row is.
    pub layout: Layout,
    /// Column names.
    pub names: Vec<String>,
    /// The global standardisation, if any.
    pub scaler: Option<Standardizer>,
    /// How the data were split: `files` (a directory or `{rank}`), `chunks`
    /// or `synthetic` (generated on each process).
    pub mode: &'static str,
    /// The files this process read (empty for chunks of one data set).
    pub files: Vec<String>,
    /// Rows per chunk (chunks mode).
    pub chunk_rows: Option<usize>,
}

/// The shard files of a directory: regular files named `*.csv`, `*.gz`,
/// `*.idx*` or `*-ubyte*`, in name order.
fn shard_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let e = e.with_context(|| format!("listing {}", dir.display()))?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_lowercase();
        let ok = name.ends_with(".csv")
            || name.ends_with(".gz")
            || name.contains(".idx")
            || name.contains("-ubyte");
        if ok && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// What one process read: its parts (segments), (segment index, rows) of
/// each, the number of segments, the column names, the files, the mode.
type Read = (
    Vec<Array2<f64>>,
    Vec<(usize, usize)>,
    usize,
    Vec<String>,
    Vec<String>,
    &'static str,
);

/// Collective: read this process's shard of `spec` and check every
/// process's together: the same columns everywhere (an error naming both
/// shards otherwise), finite values, no constant column (global moments),
/// at least `k_min` rows in all; then standardise with the global means and
/// standard deviations unless `no_standardize`. Every process returns the
/// same error if any process fails.
pub fn load_shard(
    comm: &Comm,
    spec: &str,
    label: Option<&str>,
    seed: u64,
    chunk_rows: Option<usize>,
    k_min: usize,
    no_standardize: bool,
) -> anyhow::Result<Shard> {
    let (p, r) = (comm.size(), comm.rank());
    let path = Path::new(spec);
    // ---- Which segments, and this process's rows of them.
    let local: anyhow::Result<Read> = (|| {
        if let Some(shape) = spec.strip_prefix("synthetic:") {
            let x = synthetic(shape, seed, p, r)?;
            let names = (0..x.ncols()).map(|j| format!("x{j}")).collect();
            let n = x.nrows();
            return Ok((vec![x], vec![(r, n)], p, names, Vec::new(), "synthetic"));
        }
        if spec.contains("{rank}") {
            let f = spec.replace("{rank}", &r.to_string());
            ensure!(
                Path::new(&f).is_file(),
                "shard {f} of process {r} is missing (--data {spec})"
            );
            let d = dataset::load(&f, label, seed).with_context(|| format!("shard {f}"))?;
            let n = d.n_samples();
            return Ok((
                vec![d.x],
                vec![(r, n)],
                p,
                d.feature_names,
                vec![f],
                "files",
            ));
        }
        if path.is_dir() {
            let files = shard_files(path)?;
            ensure!(
                files.len() >= p,
                "{spec} holds {} shard files (*.csv, *.gz, IDX) for {p} processes: every process needs at least one (a shard is missing?)",
                files.len()
            );
            let mut parts = Vec::new();
            let mut owned = Vec::new();
            let mut names: Option<(Vec<String>, String)> = None;
            let mut read = Vec::new();
            for (i, f) in files.iter().enumerate().filter(|(i, _)| i % p == r) {
                let shown = f.display().to_string();
                let d =
                    dataset::load(&shown, label, seed).with_context(|| format!("shard {shown}"))?;
                if let Some((n0, f0)) = &names {
                    ensure!(
                        n0.len() == d.n_features(),
                        "the shards differ in dimension: {f0} has {} columns, {shown} has {}",
                        n0.len(),
                        d.n_features()
                    );
                } else {
                    names = Some((d.feature_names.clone(), shown.clone()));
                }
                owned.push((i, d.n_samples()));
                parts.push(d.x);
                read.push(shown);
            }
            let names = names.map(|n| n.0).unwrap_or_default();
            return Ok((parts, owned, files.len(), names, read, "files"));
        }
        let c = chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS);
        ensure!(c >= 1, "--chunk-rows must be at least 1, got {c}");
        let d = dataset::load(spec, label, seed)?;
        let n = d.n_samples();
        let s = n.div_ceil(c);
        let mut parts = Vec::new();
        let mut owned = Vec::new();
        for i in (0..s).filter(|i| i % p == r) {
            let (a, b) = (i * c, ((i + 1) * c).min(n));
            parts.push(d.x.slice(ndarray::s![a..b, ..]).to_owned());
            owned.push((i, b - a));
        }
        Ok((parts, owned, s, d.feature_names, Vec::new(), "chunks"))
    })();
    let (parts, owned, n_segments, names, files, mode) = comm.agree(local)?;
    // ---- The same number of columns on every process.
    let d = names.len();
    let mut dims = vec![0.0; p];
    dims[r] = d as f64;
    comm.sum_f64(&mut dims);
    if let Some(q) = (0..p).find(|&q| dims[q] != dims[0]) {
        let who = |q: usize| -> String {
            if spec.contains("{rank}") {
                format!("{} (process {q})", spec.replace("{rank}", &q.to_string()))
            } else if path.is_dir() {
                shard_files(path)
                    .ok()
                    .and_then(|f| f.get(q).map(|f| format!("{} (process {q})", f.display())))
                    .unwrap_or_else(|| format!("process {q}"))
            } else {
                format!("process {q}")
            }
        };
        bail!(
            "the shards differ in dimension: {} has {} columns, {} has {}",
            who(0),
            dims[0],
            who(q),
            dims[q]
        );
    }
    let layout = Layout::gather(comm, n_segments, &owned)?;
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    let x = if views.is_empty() {
        Array2::zeros((0, d))
    } else {
        ndarray::concatenate(Axis(0), &views).context("joining this process's shards")?
    };
    let n = layout.n_global();
    ensure!(n >= 1, "{spec}: no rows in any shard");
    ensure!(
        k_min <= n,
        "--k {k_min} is larger than the number of rows ({n}); a mixture needs at least one point per component"
    );
    let finite = match x.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(anyhow::anyhow!(
            "{}: global row {}, column {} is not finite",
            if files.is_empty() {
                spec.to_string()
            } else {
                files.join(", ")
            },
            layout.global_index(i / d) + 1,
            i % d + 1
        )),
        None => Ok(()),
    };
    comm.agree(finite)?;
    // ---- Global moments: the means, then the squares about them.
    let mut sum = x.sum_axis(Axis(0)).to_vec();
    comm.sum_f64(&mut sum);
    let mean = Array1::from(sum) / n as f64;
    let mut sq = (&x - &mean).mapv(|v| v * v).sum_axis(Axis(0)).to_vec();
    comm.sum_f64(&mut sq);
    let sd = Array1::from(sq).mapv(|v| (v / n as f64).sqrt());
    for j in 0..d {
        ensure!(
            !(sd[j].is_nan() || sd[j] <= 1e-12 * (1.0 + mean[j].abs())),
            "column {} (`{}`) of {spec} is constant on the {n} rows of all shards (value {}): a Gaussian \
             mixture needs every column to vary; remove it",
            j + 1,
            names[j],
            mean[j]
        );
    }
    let (x, scaler) = if no_standardize {
        (x, None)
    } else {
        let s = Standardizer { mean, std: sd };
        (s.transform(x.view()), Some(s))
    };
    Ok(Shard {
        x,
        layout,
        names,
        scaler,
        mode,
        files,
        chunk_rows: (mode == "chunks").then(|| chunk_rows.unwrap_or(DEFAULT_CHUNK_ROWS)),
    })
}

impl Shard {
    /// The part of `metrics.json` that says how the data were spread.
    pub fn record(&self, comm: &Comm, m: &mut crate::metrics::Metrics) -> anyhow::Result<()> {
        let l = &self.layout;
        let mut rows = vec![0.0; comm.size()];
        rows[comm.rank()] = l.n_local() as f64;
        comm.sum_f64(&mut rows);
        m.set("processes", comm.size())?;
        m.set(
            "rows_per_process",
            rows.iter().map(|&v| v as usize).collect::<Vec<_>>(),
        )?;
        m.set("shard_mode", self.mode)?;
        m.set("files_of_process_0", &self.files)?;
        m.set("segments", l.n_segments())?;
        m.set("n_train", l.n_global())?;
        m.set("dim", self.names.len())?;
        m.set("columns", &self.names)?;
        m.set(
            "scaler",
            self.scaler
                .as_ref()
                .map(|s| serde_json::json!({"mean": s.mean.to_vec(), "std": s.std.to_vec()})),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_process_agrees_with_itself_and_sums_are_identities() {
        let c = Comm::single();
        assert!(c.is_root());
        assert_eq!((c.rank(), c.size()), (0, 1));
        let mut g = vec![1.5f32, -2.0];
        c.mean_f32(&mut g);
        assert_eq!(g, vec![1.5, -2.0]);
        assert_eq!(c.agree(Ok(3)).unwrap(), 3);
        let e = c
            .agree::<()>(Err(anyhow::anyhow!("bad shard")))
            .unwrap_err();
        assert_eq!(e.to_string(), "bad shard");
    }

    #[test]
    fn one_process_reads_every_chunk_and_standardises_globally() {
        let s = load_shard(
            &Comm::single(),
            "blobs:300,2,3",
            None,
            1,
            Some(70),
            3,
            false,
        )
        .unwrap();
        assert_eq!(s.layout.n_segments(), 5);
        assert_eq!(s.layout.n_global(), 300);
        assert_eq!(s.x.nrows(), 300);
        let m = s.x.mean_axis(Axis(0)).unwrap();
        let v = s.x.var_axis(Axis(0), 0.0);
        for j in 0..2 {
            assert!(m[j].abs() < 1e-12 && (v[j] - 1.0).abs() < 1e-12);
        }
        let e = load_shard(&Comm::single(), "blobs:3,2,3", None, 1, None, 5, false).unwrap_err();
        assert!(e.to_string().contains("--k 5 is larger"), "{e}");
    }

    #[cfg(not(feature = "mpi"))]
    #[test]
    fn distributed_without_mpi_says_how_to_build_it() {
        let e = Comm::init().unwrap_err().to_string();
        assert!(e.contains("--features mpi"), "{e}");
    }
}
