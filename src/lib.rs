//! ccdoctor: reads what Claude Code leaves on disk, counts the 429s and output-limit errors,
//! measures real response sizes, and (later) recommends a `CLAUDE_CODE_MAX_OUTPUT_TOKENS`.
//!
//! The binary is a thin shell over [`run`]; everything else is plain functions over plain
//! data: `scan` reads, `report` computes, `render` writes.

pub mod advise;
pub mod cli;
pub mod config;
pub mod estimate;
pub mod exit_codes;
pub mod models;
pub mod progress;
pub mod recommend;
pub mod redact;
pub mod render;
pub mod report;
pub mod scan;
pub mod settings;
pub mod stats;
pub mod text;
pub mod time;
pub mod warning;

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use cli::{Cli, Command};
use config::{Env, OutputFormat, ScanConfig, WriteConfig, WriteMode};
use exit_codes::ExitCode;
use report::Report;
use settings::write::WriteError;

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
            match &config.write {
                Some(w) if w.mode == WriteMode::Revert => run_revert(&config, &w.target, out, err),
                Some(w) => match settings::write::check(&w.target) {
                    // Refused before a long scan, not after it.
                    Err(e) => write_failed(&e, err),
                    Ok(()) => run_scan(&config, out, err),
                },
                None => run_scan(&config, out, err),
            }
        }
    }
}

fn write_failed(e: &WriteError, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    writeln!(err, "ccdoctor: error: {}", text::escape_control(&e.to_string()))?;
    Ok(if e.is_usage() { ExitCode::Usage } else { ExitCode::Failure })
}

fn stamp() -> String {
    time::compact_stamp(time::now())
}

fn run_revert(
    config: &ScanConfig,
    target: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let outcome = match settings::write::revert(target, &stamp()) {
        Ok(o) => o,
        Err(e) => return write_failed(&e, err),
    };
    match config.format {
        OutputFormat::Json => render::json::write_outcome(&outcome, out),
        OutputFormat::Markdown => render::markdown::write_outcome(&outcome, out),
        OutputFormat::Table => render::table::write_outcome(&outcome, config.color, out),
    }
    .context("writing the report")?;
    Ok(ExitCode::Success)
}

/// Applies `--write` / `--dry-run` with the recommended value. The error, if any, is reported
/// after the report.
fn write_step(config: &ScanConfig, w: &WriteConfig, report: &mut Report) -> Result<(), WriteError> {
    let Some(value) = report.recommendation.as_ref().and_then(|r| r.max_output_tokens) else {
        return Err(WriteError::NoValue);
    };
    let dry_run = w.mode == WriteMode::DryRun;
    report.write =
        Some(settings::write::set_max_output(&w.target, value, dry_run, &stamp(), &config.settings, &mut |_| {})?);
    Ok(())
}

fn run_scan(config: &ScanConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = scan::ScanOptions {
        modified_since: config.modified_since(),
        threads: config.threads,
        full_parse: config.full_parse,
    };
    let scanned = if config.progress {
        scan::scan(&config.roots, &options, &progress::Bar::new())
    } else {
        scan::scan(&config.roots, &options, &scan::Silent)
    };
    for w in &scanned.warnings {
        writeln!(err, "ccdoctor: warning: {w}")?;
    }
    let read = &scanned.data.read;
    if read.files == 0 || read.files == read.unreadable {
        let roots: Vec<String> = config.roots.iter().map(|r| r.path.display().to_string()).collect();
        let why = if read.files == 0 && read.older_than_since > 0 {
            "every transcript is older than --since"
        } else if read.files == 0 {
            "no transcripts (projects/**/*.jsonl) or debug logs (debug/*.txt) found"
        } else {
            "no file could be read"
        };
        writeln!(err, "ccdoctor: error: nothing to report in {}: {why}", roots.join(", "))?;
        return Ok(ExitCode::Usage);
    }
    let (settings, settings_warnings) = settings::resolve(&config.settings);
    for w in &settings_warnings {
        writeln!(err, "ccdoctor: warning: {w}")?;
    }
    let mut report = report::build(&scanned.data, &config.roots, &config.filters, &config.recommend, &settings);
    // Freeing a big scan's index takes milliseconds that the report need not wait for: it is
    // freed on another thread, which the process's exit may cut short.
    std::thread::spawn(move || drop(scanned));
    let written = match &config.write {
        Some(w) => write_step(config, w, &mut report),
        None => Ok(()),
    };
    match config.format {
        OutputFormat::Json => render::json::render(&report, out),
        OutputFormat::Markdown => render::markdown::render(&report, out),
        OutputFormat::Table => render::table::render(&report, config.color, out),
    }
    .context("writing the report")?;
    match written {
        Ok(()) => Ok(ExitCode::Success),
        Err(e) => write_failed(&e, err),
    }
}
