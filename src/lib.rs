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
pub mod recommend;
pub mod render;
pub mod report;
pub mod scan;
pub mod settings;
pub mod stats;
pub mod time;
pub mod warning;

use std::io::Write;

use anyhow::Context;

use cli::{Cli, Command};
use config::{Env, OutputFormat, ScanConfig};
use exit_codes::ExitCode;

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
            run_scan(&config, out, err)
        }
    }
}

fn run_scan(config: &ScanConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let scanned = scan::scan(&config.roots, config.modified_since(), config.threads);
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
    let report = report::build(&scanned.data, &config.roots, &config.filters, &config.recommend, &settings);
    match config.format {
        OutputFormat::Json => render::json::render(&report, out),
        OutputFormat::Markdown => render::markdown::render(&report, out),
        OutputFormat::Table => render::table::render(&report, config.color, out),
    }
    .context("writing the report")?;
    Ok(ExitCode::Success)
}
