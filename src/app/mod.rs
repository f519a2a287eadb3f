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
                Some(w) if w.mode == WriteMode::Revert => revert::run(&config, w, out, err),
                Some(w) => match crate::settings::write::check(&w.target, w.force, w.mode == WriteMode::Write) {
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

/// The UTC time stamp of backups made now.
fn stamp() -> String {
    crate::time::compact_stamp(crate::time::now())
}
