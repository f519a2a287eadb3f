//! JSON output: the report serialised as it is (schema 1), one document on stdout.

use std::io::Write;

use crate::report::Report;

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
