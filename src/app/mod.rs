//! One file per command. This is the only layer that writes to stdout and stderr: everything
//! below it returns plain data.

pub mod revert;
pub mod scan;

use std::io::Write;

use crate::cli::{Cli, Command};
use crate::config::{Env, ScanConfig, WriteMode};
use crate::exit_codes::ExitCode;
use crate::settings::write::WriteError;
use crate::text::escape_control;

/// Runs a parsed command line. Warnings go to `err`, the report to `out`.
pub fn run(cli: Cli, env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => {
            let config = match ScanConfig::from_cli(&args, env) {
                Ok(c) => c,
                Err(e) => {
                    writeln!(err, "ccdoctor: error: {e}")?;
                    return Ok(ExitCode::Usage);
                }
            };
            if let Some((path, named)) = &config.models {
                match crate::models::load_user_file(path) {
                    Ok(table) => crate::models::install(table),
                    Err(e) if *named => {
                        writeln!(err, "ccdoctor: error: {}", escape_control(&e.to_string()))?;
                        return Ok(ExitCode::Usage);
                    }
                    Err(e) => writeln!(
                        err,
                        "ccdoctor: warning: {}; the built-in model table is used",
                        escape_control(&e.to_string())
                    )?,
                }
            }
            match &config.write {
                Some(w) if w.mode == WriteMode::Revert => revert::run(&config, &w.target, out, err),
                Some(w) => match crate::settings::write::check(&w.target) {
                    // Refused before a long scan, not after it.
                    Err(e) => write_failed(&e, err),
                    Ok(()) => scan::run(&config, out, err),
                },
                None => scan::run(&config, out, err),
            }
        }
    }
}

/// Reports a settings write that could not be done, and the exit status it means.
fn write_failed(e: &WriteError, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    writeln!(err, "ccdoctor: error: {}", escape_control(&e.to_string()))?;
    Ok(if e.is_usage() { ExitCode::Usage } else { ExitCode::Failure })
}

/// Prints the report of a run; when the run changed a settings file, a report that cannot be
/// printed (a full disk, a closed pipe) is a warning: the change is done, and its exit
/// status says so.
fn print_report(
    changed: Option<&crate::settings::write::WriteOutcome>,
    err: &mut dyn Write,
    render: impl FnOnce() -> std::io::Result<()>,
) -> anyhow::Result<ExitCode> {
    let printed = render();
    match (printed, changed) {
        (Ok(()), None) => Ok(ExitCode::Success),
        (Ok(()), Some(_)) => Ok(ExitCode::Changed),
        (Err(e), Some(o)) => {
            let _ = writeln!(
                err,
                "ccdoctor: warning: the report could not be printed ({e}); {} was changed all the same{}",
                o.path,
                o.undo.as_deref().map_or(String::new(), |u| format!(" (undo: {u})"))
            );
            Ok(ExitCode::Changed)
        }
        (Err(e), None) => Err(anyhow::Error::new(e).context("writing the report")),
    }
}

/// The UTC time stamp of backups made now.
fn stamp() -> String {
    crate::time::compact_stamp(crate::time::now())
}
