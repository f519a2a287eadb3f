//! JSON output: the report as it is (schema 1), one document on stdout, with the sentences
//! the other formats show (`verdict`, and the recommendation's `reasons` and `advice`).

use std::io::Write;

use serde::Serialize;

use super::prose;
use crate::report::{Recommendation, Report};

/// The outcome of `--revert`, which runs no scan: `{"schema": 1, "write": {...}}`.
pub fn write_outcome(w: &crate::settings::write::WriteOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "schema": crate::report::SCHEMA, "write": w }))?;
    writeln!(out)
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
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
