//! The report as GitHub-flavoured Markdown, for pasting into an issue.

use std::io::Write;

use super::recommendation as rec;
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
    writeln!(out, "**{}**\n", cell(&report.verdict))?;

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
        writeln!(out, "| Day | 429 | Cut | Usage limit | Other | Responses |\n|---|---:|---:|---:|---:|---:|")?;
        for d in days {
            let e = &d.errors;
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                d.day,
                thousands(e.throttled() + e.rate_limit.per_day_quota),
                thousands(e.cut_signs()),
                thousands(e.usage_limit),
                thousands(e.overloaded + e.other),
                thousands(d.responses)
            )?;
        }
        writeln!(out)?;
    }
    if let Some(r) = &report.recommendation {
        writeln!(out, "### Recommendation\n")?;
        writeln!(out, "`{}`\n", rec::headline(r))?;
        for reason in &r.reasons {
            writeln!(out, "- {}", cell(reason))?;
        }
        writeln!(out, "\n| Input | Value | Source |\n|---|---:|---|")?;
        for (label, value, source) in rec::input_rows(report, r) {
            writeln!(out, "| {} | {} | {} |", cell(&label), cell(&value), cell(&source))?;
        }
        writeln!(out, "\n| Max output | Responses cut | Worst-case charge | Fit in quota |\n|---:|---:|---:|---:|")?;
        for w in &r.what_if {
            writeln!(
                out,
                "| {}{} | {} | {} | {} |",
                thousands(w.value),
                w.label.map_or(String::new(), |l| format!(" ({l})")),
                percent(w.truncated_share),
                thousands(w.worst_case_charge),
                w.max_parallel.map_or_else(|| "–".into(), thousands)
            )?;
        }
        for a in &r.advice {
            writeln!(out, "\n> {}", cell(a))?;
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
