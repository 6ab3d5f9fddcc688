//! One module per subcommand, and the run protocol the model commands share.
//!
//! A model command is two steps (ripgrep's low/high arguments):
//! `prepare(Args)` validates the flags, loads the data and fixes the run's
//! identity (model, dataset, seed, resolved config) and output directory;
//! [`Prepared::execute`] does the work and returns a [`ModelRun`] (metrics,
//! figures, summary) without touching the disk. [`run_model`] checks the
//! output directory *before* the work, then writes everything through
//! [`RunDir`] (temporary directory, renamed on success). `reproduce` calls
//! the same two steps and writes each run into a sub-directory of its own.

pub mod bbb;
pub mod bench;
pub mod bench_vgmm;
pub mod data;
pub mod em_gmm;
pub mod gmm;
pub mod gradient_variance;
pub mod reproduce;
pub mod svi_gmm;
pub mod vae;
pub mod vb_logistic;
pub mod vblr;
pub mod vgmm;
pub mod vime;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use crate::cli::Command;
use crate::output::{self, RunDir, RunId};
use crate::progress::Progress;
use crate::split::Split;

/// A figure of a run: file name, title (for the report) and SVG text.
#[derive(Debug, Clone)]
pub struct FigureFile {
    /// File name inside the run directory (`fit.svg`).
    pub file: String,
    /// What it shows, for the report.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// What a finished model run produced. The default (no metrics, nothing
/// to write) is what a process other than 0 of a distributed run returns:
/// it took part in the work, process 0 reports.
#[derive(Debug, Clone, Default)]
pub struct ModelRun {
    /// The finished `metrics.json`.
    pub metrics: Value,
    /// Figures, in the order the report shows them.
    pub figures: Vec<FigureFile>,
    /// A few lines for stdout.
    pub summary: Vec<String>,
    /// Warnings (e.g. not converged), one line each, for stderr.
    pub warnings: Vec<String>,
    /// The rows held out, when the run holds any out: `split.json`.
    pub split: Option<Split>,
    /// The data used, when it was generated from the seed: `data.csv`.
    pub data_csv: Option<String>,
    /// Other files (name, contents), e.g. a mixture's `init.json`.
    pub extra: Vec<(String, String)>,
}

impl ModelRun {
    /// The files written besides `metrics.json`, in order.
    pub fn file_names(&self) -> Vec<&str> {
        self.figures
            .iter()
            .map(|f| f.file.as_str())
            .chain(self.split.as_ref().map(|_| "split.json"))
            .chain(self.data_csv.as_ref().map(|_| "data.csv"))
            .chain(self.extra.iter().map(|(name, _)| name.as_str()))
            .collect()
    }

    /// Write `metrics.json`, the figures, `split.json` and `data.csv` under
    /// `prefix` (`""` or `"fig10_9/seed-0/"`) inside `dir`.
    pub fn write_into(&self, dir: &RunDir, prefix: &str, seed: u64) -> anyhow::Result<()> {
        for f in &self.figures {
            dir.write(&format!("{prefix}{}", f.file), &f.svg)?;
        }
        if let Some(s) = &self.split {
            dir.write(&format!("{prefix}split.json"), s.to_json(seed))?;
        }
        if let Some(csv) = &self.data_csv {
            dir.write(&format!("{prefix}data.csv"), csv)?;
        }
        for (name, text) in &self.extra {
            dir.write(&format!("{prefix}{name}"), text)?;
        }
        // metrics.json last: a directory holding it is complete.
        dir.write_json(&format!("{prefix}metrics.json"), &self.metrics)
    }
}

/// A validated model run, ready to execute.
pub trait Prepared {
    /// Identity, destination and seed of the run.
    fn run(&self) -> &RunMeta;
    /// Do the work.
    fn execute(&self, progress: &mut Progress) -> anyhow::Result<ModelRun>;

    /// The run's identity (what `metrics.json` will say it is).
    fn id(&self) -> &RunId {
        &self.run().id
    }
    /// Where it writes: `--out`, or `out/<model>-<dataset>-<seed>`.
    fn out_dir(&self) -> PathBuf {
        let r = self.run();
        r.out
            .clone()
            .unwrap_or_else(|| default_out(r.model, &r.dataset, r.seed))
    }
    /// Whether `--force` was given.
    fn force(&self) -> bool {
        self.run().force
    }
    /// Label for the progress line.
    fn label(&self) -> String {
        format!("{} on {}", self.run().model, self.run().dataset)
    }
    /// The seed of every random draw (data generation, splits).
    fn seed(&self) -> u64 {
        self.run().seed
    }
    /// Whether this process writes the run's directory and summary (false
    /// on the processes other than 0 of a distributed run).
    fn writes_output(&self) -> bool {
        true
    }
}

/// What every prepared model run knows about itself, whatever the model.
#[derive(Debug, Clone)]
pub struct RunMeta {
    /// The model's command name (`vblr`, `vgmm`, …).
    pub model: &'static str,
    /// The data set as the user named it (`--data`).
    pub dataset: String,
    /// The run's identity (model, data set, seed, config).
    pub id: RunId,
    /// `--out`, when given.
    pub out: Option<PathBuf>,
    /// Whether `--force` was given.
    pub force: bool,
    /// The seed of every random draw.
    pub seed: u64,
}

/// The model commands' second step: validate and load. Other commands are
/// handed back unchanged. Adding a model means one arm here.
pub fn prepare_model(command: Command) -> anyhow::Result<Result<Box<dyn Prepared>, Command>> {
    Ok(match command {
        Command::Vblr(a) => Ok(Box::new(vblr::prepare(a)?)),
        Command::VbLogistic(a) => Ok(Box::new(vb_logistic::prepare(a)?)),
        Command::Vgmm(a) => Ok(Box::new(vgmm::prepare(a)?)),
        Command::EmGmm(a) => Ok(Box::new(em_gmm::prepare(a)?)),
        Command::SviGmm(a) => Ok(Box::new(svi_gmm::prepare(a)?)),
        Command::Vae(a) => Ok(vae::prepare(a)?),
        Command::Bbb(a) => Ok(bbb::prepare(a)?),
        Command::GradientVariance(a) => Ok(gradient_variance::prepare(a)?),
        Command::Vime(a) => Ok(vime::prepare(a)?),
        other => Err(other),
    })
}

/// The default output directory of a run.
pub fn default_out(model: &str, dataset: &str, seed: u64) -> PathBuf {
    PathBuf::from("out").join(format!("{model}-{}-{seed}", output::slug(dataset)))
}

/// Check the output directory, execute, write, print the summary.
pub fn run_model(prepared: &dyn Prepared) -> anyhow::Result<()> {
    if !prepared.writes_output() {
        let mut progress = Progress::new(&prepared.label());
        prepared.execute(&mut progress)?;
        return Ok(());
    }
    let out = prepared.out_dir();
    output::check_target(&out, prepared.id(), prepared.force())?;
    let run = {
        let mut progress = Progress::new(&prepared.label());
        prepared.execute(&mut progress)?
    };
    let dir = RunDir::create(&out, prepared.id().clone(), prepared.force())?;
    run.write_into(&dir, "", prepared.seed())?;
    let path = dir.commit()?;
    let mut stderr = std::io::stderr().lock();
    for w in &run.warnings {
        // Nothing sensible to do if stderr is closed.
        let _ = writeln!(stderr, "elbo: warning: {w}");
    }
    let mut stdout = std::io::stdout().lock();
    for line in &run.summary {
        writeln!(stdout, "{line}").context("writing the summary")?;
    }
    let files: Vec<&str> = std::iter::once("metrics.json")
        .chain(run.file_names())
        .collect();
    writeln!(stdout, "wrote {} ({})", path.display(), files.join(", "))
        .context("writing the summary")?;
    Ok(())
}

/// A float flag must be finite and inside `ok`; `name` is the flag.
pub fn check_range(
    name: &str,
    v: f64,
    ok: impl Fn(f64) -> bool,
    expected: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        v.is_finite() && ok(v),
        "--{name} must be {expected}, got {v}"
    );
    Ok(())
}

/// Format a float for a summary line: 4 significant digits.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if (-3..6).contains(&mag) {
        let decimals = (3 - mag).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_num(-12.3456), "-12.35");
        assert_eq!(fmt_num(0.012344), "0.01234");
        assert_eq!(fmt_num(1.5e-7), "1.500e-7");
        assert_eq!(fmt_num(123456.0), "123456");
    }
}
