//! `elbo data list | info NAME|PATH`: what data sets there are and what is
//! in one.

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;
use elbo_core::data::BUILTINS;

use crate::dataset;

/// Flags of `elbo data`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List the built-in and synthetic data sets.
    List,
    /// Describe a data set: size, columns, ranges, target.
    Info {
        /// A built-in data set or a CSV / IDX file.
        #[arg(value_name = "NAME|PATH")]
        data: String,
        /// For a CSV file: the target column (name, 0-based index, or -1 for
        /// the last).
        #[arg(long, value_name = "COL", allow_hyphen_values = true)]
        target: Option<String>,
        /// Seed for synthetic data sets.
        #[arg(long, value_name = "N", default_value_t = 0)]
        seed: u64,
    },
}

/// Run `elbo data`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match args.command {
        DataCommand::List => list(&mut out),
        DataCommand::Info { data, target, seed } => info(&mut out, &data, target.as_deref(), seed),
    }
    .context("writing to stdout")
}

fn list(out: &mut impl Write) -> anyhow::Result<()> {
    let width = BUILTINS
        .iter()
        .map(|b| b.name.len())
        .chain(dataset::SYNTHETIC.iter().map(|s| s.0.len()))
        .max()
        .unwrap_or(8);
    for b in BUILTINS {
        writeln!(out, "{:width$}  {:38}  {}", b.name, b.shape, b.description)?;
    }
    for (name, description) in dataset::SYNTHETIC {
        writeln!(out, "{name:width$}  {:38}  {description}", "")?;
    }
    writeln!(
        out,
        "\nAny CSV file (header optional; --target COL) or IDX file is accepted as --data PATH."
    )?;
    Ok(())
}

fn info(out: &mut impl Write, spec: &str, target: Option<&str>, seed: u64) -> anyhow::Result<()> {
    let d = dataset::load(spec, target, seed)?;
    writeln!(
        out,
        "{}: {} rows x {} input columns",
        d.name,
        d.n_samples(),
        d.n_features()
    )?;
    if let Some(b) = BUILTINS.iter().find(|b| b.name == spec) {
        writeln!(out, "{}", b.description)?;
        writeln!(out, "source: {}; licence: {}", b.source, b.licence)?;
    }
    let stats = |v: ndarray::ArrayView1<f64>| {
        let mean = v.mean().unwrap_or(f64::NAN);
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, v.std(0.0), min, max)
    };
    let width = d
        .feature_names
        .iter()
        .chain(d.target_name.iter())
        .map(String::len)
        .max()
        .unwrap_or(4)
        .max(6);
    writeln!(
        out,
        "{:width$}  {:>12} {:>12} {:>12} {:>12}",
        "column", "mean", "sd", "min", "max"
    )?;
    // Long lists (digits, images) are cut after 40 columns.
    for (j, name) in d.feature_names.iter().enumerate().take(40) {
        let (m, s, lo, hi) = stats(d.x.column(j));
        writeln!(
            out,
            "{name:width$}  {m:>12.5} {s:>12.5} {lo:>12.5} {hi:>12.5}"
        )?;
    }
    if d.n_features() > 40 {
        writeln!(out, "… and {} more columns", d.n_features() - 40)?;
    }
    match (&d.y, &d.target_name) {
        (Some(y), Some(name)) => {
            let (m, s, lo, hi) = stats(y.view());
            writeln!(
                out,
                "target:\n{name:width$}  {m:>12.5} {s:>12.5} {lo:>12.5} {hi:>12.5}"
            )?;
            let mut distinct: Vec<f64> = y.to_vec();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() <= 10 {
                let counts: Vec<String> = distinct
                    .iter()
                    .map(|v| format!("{v}: {}", y.iter().filter(|&&t| t == *v).count()))
                    .collect();
                writeln!(out, "classes: {}", counts.join(", "))?;
            }
        }
        _ => writeln!(out, "no target column")?,
    }
    Ok(())
}
