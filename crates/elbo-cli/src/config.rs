//! Parsing the command line, with `--config FILE.toml` merged in.
//!
//! A config file is a flat TOML table whose keys are the command's long
//! flags (`max-iter = 200`, `ard = true`, `degrees = "0-8"`; `max_iter` is
//! accepted too). Its entries become flags placed *before* the ones typed on
//! the command line, and every model command lets a later flag override an
//! earlier one, so the command line wins and clap validates both the same
//! way. The configuration actually used (defaults included) is what each
//! command writes to `metrics.json`, not this file.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use clap::error::ErrorKind;
use clap::{ArgAction, CommandFactory, FromArgMatches};

use crate::cli::Cli;

/// Keys a config file may not set: they say where and how to write, not
/// what to run.
const NOT_IN_CONFIG: &[&str] = &["config", "help", "force", "out"];

/// The clap command, with "a later flag overrides an earlier one" on every
/// subcommand (needed for config merging) and negative numbers accepted as
/// values (`--a0 -1` is then a range error naming `a0`, not an unknown flag).
fn command() -> clap::Command {
    Cli::command().mut_subcommands(|c| c.args_override_self(true).allow_negative_numbers(true))
}

/// Parse `argv` (program name first). `Ok(None)` when `--help` or
/// `--version` was printed.
pub fn parse_args(argv: Vec<OsString>) -> anyhow::Result<Option<Cli>> {
    let matches = match command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => return handle_clap_error(e, None),
    };
    let config = matches.subcommand().and_then(|(name, sub)| {
        Some((
            name.to_string(),
            sub.try_get_one::<std::path::PathBuf>("config")
                .ok()??
                .clone(),
        ))
    });
    let matches = match config {
        None => matches,
        Some((name, path)) => {
            let extra = config_flags(&path, &name)?;
            // The subcommand is the first argument equal to its name (only
            // --help / --version may come before it, and they exit above).
            let at = argv
                .iter()
                .skip(1)
                .position(|a| a.to_str() == Some(&name))
                .map_or(1, |i| i + 1);
            let mut merged: Vec<OsString> = argv[..=at].to_vec();
            merged.extend(extra.into_iter().map(OsString::from));
            merged.extend(argv[at + 1..].iter().cloned());
            match command().try_get_matches_from(&merged) {
                Ok(m) => m,
                Err(e) => return handle_clap_error(e, Some(&path)),
            }
        }
    };
    let cli =
        Cli::from_arg_matches(&matches).map_err(|e| anyhow!("{}", first_line(&e.to_string())))?;
    Ok(Some(cli))
}

/// Print help / version, or turn a clap error into one line.
fn handle_clap_error(e: clap::Error, config: Option<&Path>) -> anyhow::Result<Option<Cli>> {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            e.print().context("printing help")?;
            Ok(None)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            bail!("no command given; try `elbo --help`")
        }
        _ => {
            let line = first_line(&e.to_string());
            match config {
                Some(p) => bail!("{} (with the flags of config {})", line, p.display()),
                None => bail!("{line}"),
            }
        }
    }
}

/// The first non-empty line of a clap message, without its `error: `.
fn first_line(s: &str) -> String {
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s);
    line.trim_start_matches("error: ").trim().to_string()
}

/// The flags a config file stands for, for subcommand `name`.
fn config_flags(path: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| 1 + text[..s.start.min(text.len())].matches('\n').count());
        match line {
            Some(l) => anyhow!("config {}:{l}: {}", path.display(), first_line(e.message())),
            None => anyhow!("config {}: {}", path.display(), first_line(e.message())),
        }
    })?;
    let cmd = command();
    let sub = cmd
        .find_subcommand(name)
        .ok_or_else(|| anyhow!("internal: no subcommand `{name}`"))?;
    let allowed: Vec<&clap::Arg> = sub
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| !NOT_IN_CONFIG.contains(&l)))
        .collect();
    let mut flags = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let Some(arg) = allowed.iter().find(|a| a.get_long() == Some(long.as_str())) else {
            let names: Vec<&str> = allowed.iter().filter_map(|a| a.get_long()).collect();
            bail!(
                "config {}: unknown key `{key}` for `elbo {name}`; expected one of: {}",
                path.display(),
                names.join(", ")
            );
        };
        let is_switch = matches!(arg.get_action(), ArgAction::SetTrue);
        match value {
            toml::Value::Boolean(b) if is_switch => {
                if *b {
                    flags.push(format!("--{long}"));
                }
            }
            _ if is_switch => bail!(
                "config {}: `{key}` must be true or false, got {value}",
                path.display()
            ),
            toml::Value::String(s) => flags.push(format!("--{long}={s}")),
            toml::Value::Integer(i) => flags.push(format!("--{long}={i}")),
            toml::Value::Float(x) => flags.push(format!("--{long}={x}")),
            other => bail!(
                "config {}: `{key}` must be a string or a number, got {other}",
                path.display()
            ),
        }
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn clap_errors_become_one_line() {
        let e = parse_args(argv("elbo vblr --max-iter abc"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid value 'abc' for '--max-iter"), "{e}");
        assert!(!e.contains('\n'));
        let e = parse_args(argv("elbo")).unwrap_err().to_string();
        assert_eq!(e, "no command given; try `elbo --help`");
    }

    #[test]
    fn config_values_are_flags_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "max_iter = 7\na0 = 0.5\nard = true\ndata = \"diabetes\"\n",
        )
        .unwrap();
        let flags = config_flags(&p, "vblr").unwrap();
        assert!(flags.contains(&"--max-iter=7".to_string()), "{flags:?}");
        assert!(flags.contains(&"--ard".to_string()));
        let cli = parse_args(vec![
            "elbo".into(),
            "vblr".into(),
            "--config".into(),
            p.clone().into(),
            "--max-iter".into(),
            "9".into(),
        ])
        .unwrap()
        .unwrap();
        let crate::cli::Command::Vblr(a) = cli.command else {
            panic!("not vblr")
        };
        assert_eq!(a.max_iter, Some(9));
        assert_eq!(a.a0, Some(0.5));
        assert!(a.ard);
        assert_eq!(a.common.data.as_deref(), Some("diabetes"));
    }

    #[test]
    fn bad_config_files_name_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "colour = 3\n").unwrap();
        let e = config_flags(&p, "vblr").unwrap_err().to_string();
        assert!(e.contains("unknown key `colour`"), "{e}");
        std::fs::write(&p, "a0 = \n").unwrap();
        let e = config_flags(&p, "vblr").unwrap_err().to_string();
        assert!(e.starts_with(&format!("config {}:1: ", p.display())), "{e}");
        std::fs::write(&p, "ard = 1\n").unwrap();
        assert!(
            config_flags(&p, "vblr")
                .unwrap_err()
                .to_string()
                .contains("true or false")
        );
        std::fs::write(&p, "out = \"x\"\n").unwrap();
        assert!(config_flags(&p, "vblr").is_err());
    }
}
