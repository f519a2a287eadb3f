//! JSON output: the report serialised as it is (schema 1), one document on stdout.

use std::io::Write;

use crate::report::Report;

/// The outcome of `--revert`, which runs no scan: `{"schema": 1, "write": {...}}`.
pub fn write_outcome(w: &crate::settings::write::WriteOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "schema": crate::report::SCHEMA, "write": w }))?;
    writeln!(out)
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
