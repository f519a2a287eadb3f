//! `scan`: read the history, build the report, apply `--write` / `--dry-run`, render.

use std::io::Write;

use anyhow::Context;

use super::{stamp, write_failed};
use crate::config::{OutputFormat, ScanConfig, WriteConfig, WriteMode};
use crate::exit_codes::ExitCode;
use crate::settings::write::{WriteError, WriteOutcome};
use crate::{progress, render, report, scan, settings};

/// Applies `--write` / `--dry-run` with the recommended value, if there is one.
fn write_step(config: &ScanConfig, w: &WriteConfig, value: Option<u64>) -> Result<WriteOutcome, WriteError> {
    let value = value.ok_or(WriteError::NoValue)?;
    let dry_run = w.mode == WriteMode::DryRun;
    settings::write::set_max_output(&w.target, value, dry_run, w.force, &stamp(), &config.settings, &mut |_| {})
}

pub fn run(config: &ScanConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
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
    let analysis = crate::analysis::analyze(&scanned.data, &config.filters, &config.recommend, &settings);
    // The write comes before the report, which tells what it did (an error is told after).
    let value = analysis.advice.as_ref().and_then(|a| a.choice.value);
    let (write, failed) = match config.write.as_ref().map(|w| write_step(config, w, value)) {
        Some(Ok(outcome)) => (Some(outcome), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let report =
        report::build(&scanned.data, &config.roots, &config.filters, &config.recommend, &settings, analysis, write);
    // Freeing a big scan's index takes milliseconds that the report need not wait for: it is
    // freed on another thread, which the process's exit may cut short.
    std::thread::spawn(move || drop(scanned));
    match config.format {
        OutputFormat::Json => render::json::render(&report, out),
        OutputFormat::Markdown => render::markdown::render(&report, out),
        OutputFormat::Table => render::table::render(&report, config.color, out),
    }
    .context("writing the report")?;
    match failed {
        None => Ok(ExitCode::Success),
        Some(e) => write_failed(&e, err),
    }
}
