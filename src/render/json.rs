//! JSON output: the report as it is (schema 1), one document on stdout, with the sentences
//! the other formats show (`verdict`, and the recommendation's `reasons` and `advice`).
//!
//! Text is written as data, unescaped by ccdoctor: serde_json escapes control characters
//! below U+0020, and [`json_escape_unsafe`] the other characters that could drive or
//! reorder a terminal (as `\uXXXX`), so the document parses to the very same strings.

use std::io::Write;

use serde::Serialize;

use super::prose;
use crate::report::{Recommendation, Report};
use crate::text::json_escape_unsafe;

/// Writes `value` as pretty JSON, terminal-safe, and a newline.
fn write_json(value: &impl Serialize, out: &mut dyn Write) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    writeln!(out, "{}", json_escape_unsafe(&text))
}

/// The outcome of `--revert`, which runs no scan: `{"schema": 1, "write": {...}}`.
pub fn write_outcome(w: &crate::settings::write::WriteOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    write_json(&serde_json::json!({ "schema": crate::report::SCHEMA, "write": w }), out)
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    report: &'a Report,
    verdict: String,
    recommendation: Option<WithSentences<'a>>,
}

#[derive(Serialize)]
struct WithSentences<'a> {
    #[serde(flatten)]
    numbers: &'a Recommendation,
    reasons: Vec<String>,
    advice: Vec<String>,
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let recommendation = report.recommendation.as_ref().zip(report.advice.as_ref()).map(|(r, a)| WithSentences {
        numbers: r,
        reasons: prose::reasons(report, a, r),
        advice: prose::advice(report, a, r),
    });
    let doc = Document { report, verdict: prose::verdict(report), recommendation };
    write_json(&doc, out)
}
