//! # elbo: the command line
//!
//! One subcommand per model (`vblr`, `vb-logistic`, …), plus `data`,
//! `reproduce` and `bench`. The shape follows ripgrep: [`main`] calls
//! [`run`], which returns `anyhow::Result`; an error is printed once on
//! stderr as one line, `elbo: <cause chain>`, and the exit code is 2.
//!
//! Parsing is two steps (ripgrep's low-level → high-level arguments): clap
//! collects the raw flags (merged with `--config FILE.toml`, see
//! [`config`]), then each command validates them into the library's params
//! and the resolved configuration that goes into `metrics.json`.
//!
//! Adding a model: write `cmd/<model>.rs` with an `Args` struct (flatten
//! [`cli::CommonArgs`]) and a `run`, add a variant to [`cli::Command`] and
//! an arm to [`cmd::prepare_model`], and an [`cmd::reproduce`] experiment if it
//! reproduces a published figure.

mod cli;
mod cmd;
mod config;
mod dataset;
mod distributed;
mod image_grid;
mod metrics;
mod output;
mod plot;
mod progress;
mod report;
mod split;

use std::io::Write;
use std::process::ExitCode;

use cli::Command;

/// Exit code for an error (as ripgrep: 0 success, 2 error).
const EXIT_ERROR: u8 = 2;

/// Entry point: run, and turn an error into one stderr line and exit code 2.
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (`elbo data list | head -1`) is not an error.
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let line = one_line(&cause_chain(&err));
            // If stderr itself is gone there is nobody left to tell.
            let _ = writeln!(std::io::stderr(), "elbo: {line}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Parse the command line (with `--config` merged in) and run the command.
fn run() -> anyhow::Result<()> {
    let Some(cli) = config::parse_args(std::env::args_os().collect())? else {
        // `--help` or `--version` was printed.
        return Ok(());
    };
    dispatch(cli.command)
}

/// Run one subcommand.
fn dispatch(command: Command) -> anyhow::Result<()> {
    match cmd::prepare_model(command)? {
        Ok(model) => cmd::run_model(model.as_ref()),
        Err(Command::Data(args)) => cmd::data::run(args),
        Err(Command::Reproduce(args)) => cmd::reproduce::run(args),
        Err(Command::Bench(args)) => cmd::bench::run(args),
        Err(
            Command::Vblr(_)
            | Command::VbLogistic(_)
            | Command::Vgmm(_)
            | Command::EmGmm(_)
            | Command::SviGmm(_)
            | Command::Vae(_)
            | Command::Bbb(_)
            | Command::GradientVariance(_)
            | Command::Vime(_),
        ) => {
            anyhow::bail!("internal: a model command was not prepared")
        }
    }
}

/// Whether the root cause is a broken pipe on stdout.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The cause chain as `outer: inner: root`, like `{:#}`, except that a
/// cause whose text the message already ends with is not repeated (some
/// errors print their source in their own message).
fn cause_chain(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Collapse every run of white space (new lines included) into one space, so
/// that an error is always exactly one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line() {
        assert_eq!(one_line("a\n  |\nb  c\r\n"), "a | b c");
    }

    #[test]
    fn repeated_causes_are_dropped() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::from(io)
            .context("a.csv: entity not found")
            .context("loading");
        assert_eq!(cause_chain(&e), "loading: a.csv: entity not found");
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let e = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing the list");
        assert!(is_broken_pipe(&e));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
