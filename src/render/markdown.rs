//! The report as GitHub-flavoured Markdown, for pasting into an issue.

use std::io::Write;

use super::prose;
use super::{bin_label, error_rows, quality_line};
use crate::report::Report;
use crate::settings::write::WriteOutcome;
use crate::text::{escape_control, percent, thousands};

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    escape_control(s).replace('|', "\\|")
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "## ccdoctor scan\n")?;
    writeln!(out, "**{}**\n", cell(&prose::verdict(report)))?;
    if let Some(a) = &report.advice {
        writeln!(out, "{}: `{}`\n", cell(&a.model), prose::headline(a))?;
    }

    writeln!(out, "### Errors\n")?;
    writeln!(out, "| Kind | Count | Meaning |\n|---|---:|---|")?;
    for (label, n, note) in error_rows(&report.errors) {
        writeln!(out, "| {} | {} | {} |", cell(&label), thousands(n), note)?;
    }
    writeln!(out)?;

    writeln!(out, "### Output tokens per response\n")?;
    writeln!(out, "| Model | Responses | Estimated | Mean | p50 | p90 | p95 | p99 | Max |")?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for m in &report.by_model {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&m.model),
            thousands(m.summary.count),
            thousands(m.estimated),
            thousands(m.summary.mean.round() as u64),
            thousands(m.summary.p50),
            thousands(m.summary.p90),
            thousands(m.summary.p95),
            thousands(m.summary.p99),
            thousands(m.summary.max)
        )?;
    }
    let o = &report.output_tokens;
    writeln!(
        out,
        "| **all** | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        thousands(o.count),
        thousands(report.responses.estimated),
        thousands(o.mean.round() as u64),
        thousands(o.p50),
        thousands(o.p90),
        thousands(o.p95),
        thousands(o.p99),
        thousands(o.max)
    )?;

    writeln!(out, "### Response sizes (all models)\n")?;
    writeln!(out, "| Output tokens | Responses |\n|---:|---:|")?;
    for b in report.histogram.iter().filter(|b| b.count > 0) {
        writeln!(out, "| {} | {} |", bin_label(b.from, b.to), thousands(b.count))?;
    }
    writeln!(out)?;

    let days: Vec<_> = report.by_day.iter().filter(|d| d.errors.total() > 0).collect();
    if !days.is_empty() {
        writeln!(out, "### Errors by day (UTC)\n")?;
        writeln!(out, "| Day | 429 | Cut | Limits | Other | Responses |\n|---|---:|---:|---:|---:|---:|")?;
        for d in days {
            let e = &d.errors;
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                d.day,
                thousands(e.throttled() + e.rate_limit.per_day_quota),
                thousands(d.cut_responses),
                thousands(e.limits()),
                thousands(e.others()),
                thousands(d.responses)
            )?;
        }
        writeln!(out, "\n{}", super::table::COLUMNS_NOTE)?;
        writeln!(out)?;
    }
    if let (Some(r), Some(a)) = (&report.recommendation, &report.advice) {
        writeln!(out, "### Recommendation for {}\n", cell(&a.model))?;
        writeln!(out, "`{}`\n", prose::headline(a))?;
        for reason in prose::reasons(report, a, r) {
            writeln!(out, "- {}", cell(&reason))?;
        }
        writeln!(out, "\n| Input | Value | Source |\n|---|---:|---|")?;
        for (label, value, source) in prose::input_rows(a, r) {
            writeln!(out, "| {} | {} | {} |", cell(&label), cell(&value), cell(&source))?;
        }
        if !r.replay.is_empty() {
            writeln!(
                out,
                "\n| Max output | Throttled attempts | Failed | Cut responses | Other cache-read reading |\n|---:|---:|---:|---:|---:|"
            )?;
            for row in &r.replay {
                writeln!(
                    out,
                    "| {} | {} of {} | {} | {} ({}) | {} |",
                    prose::row_value(row.value, row.label),
                    thousands(row.throttled_attempts),
                    thousands(row.attempts),
                    thousands(row.failed),
                    thousands(row.cut),
                    percent(row.cut_share),
                    row.other_reading.as_ref().map_or_else(
                        || "–".into(),
                        |o| format!("{} throttled, {} failed", thousands(o.throttled_attempts), thousands(o.failed))
                    ),
                )?;
            }
        }
        for line in prose::advice(report, a, r) {
            writeln!(out, "\n> {}", cell(&line))?;
        }
        writeln!(out)?;
    }
    if !report.load.per_model.is_empty() {
        writeln!(out, "### Load per model\n")?;
        writeln!(
            out,
            "| Model | TPM median | TPM peak | RPM median | RPM peak | Input / request | Output / request |\n|---|---:|---:|---:|---:|---:|---:|"
        )?;
        for l in &report.load.per_model {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&l.model),
                thousands(l.tpm_p50),
                thousands(l.tpm_peak),
                thousands(l.rpm_p50),
                thousands(l.rpm_peak),
                thousands(l.input_mean.round() as u64),
                thousands(l.output_mean.round() as u64)
            )?;
        }
        writeln!(out)?;
    }
    if !report.settings.env.is_empty() {
        writeln!(out, "### Settings env\n\n_As Claude Code merges it; secrets redacted._\n")?;
        writeln!(out, "| Variable | Value | Set in |\n|---|---|---|")?;
        for e in &report.settings.env {
            writeln!(out, "| {} | {} | {} |", cell(&e.name), cell(&e.value), cell(&e.source))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "_{}_", cell(&quality_line(report)))?;
    if let Some(w) = &report.write {
        writeln!(out)?;
        write_outcome(w, out)?;
    }
    Ok(())
}

/// The "Settings file" section.
pub fn write_outcome(w: &WriteOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "### Settings file\n\n```text")?;
    for line in super::write::lines(w) {
        writeln!(out, "{}", escape_control(&line).replace("```", "` ` `"))?;
    }
    writeln!(out, "```")
}
