//! The report as GitHub-flavoured Markdown, for pasting into an issue.
//!
//! Every text cell, list item, heading text and quoted line goes through `md`
//! ([`markdown_text`]): data from files (model ids, paths, project names, settings values and
//! sources, sentences that name them) renders as the text it is, never as a link, an image or
//! HTML. Only the literal structure written here (headings, table rules, emphasis around the
//! verdict, the code span of the headline) is Markdown.

use std::io::Write;

use super::prose;
use super::{bin_label, error_rows, quality_line};
use crate::report::Report;
use crate::settings::write::WriteOutcome;
use crate::text::{escape_control, markdown_text, percent, thousands};

/// Text for Markdown: a table cell, a list item, a heading's or a quoted line's text.
fn md(s: &str) -> String {
    markdown_text(s)
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "## ccdoctor scan\n")?;
    writeln!(out, "**{}**\n", md(&prose::verdict(report)))?;
    if let Some(a) = &report.advice {
        // The headline is ccdoctor's own text (a variable name and numbers): a code span.
        writeln!(out, "{}: `{}`\n", md(&a.model), prose::headline(a))?;
    }

    writeln!(out, "### Errors\n")?;
    writeln!(out, "| Kind | Count | Meaning |\n|---|---:|---|")?;
    for (label, n, note) in error_rows(&report.errors) {
        writeln!(out, "| {} | {} | {} |", md(&label), thousands(n), md(note))?;
    }
    writeln!(out)?;

    writeln!(out, "### Output tokens per response\n")?;
    writeln!(out, "| Model | Responses | Estimated | Mean | p50 | p90 | p95 | p99 | Max |")?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for m in &report.by_model {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&m.model),
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

    // One histogram a model, as the table has.
    for m in &report.by_model {
        writeln!(out, "### Response sizes, {} (output tokens)\n", md(&m.model))?;
        writeln!(out, "| Output tokens | Responses |\n|---:|---:|")?;
        for b in m.histogram.iter().filter(|b| b.count > 0) {
            writeln!(out, "| {} | {} |", md(&bin_label(b.from, b.to)), thousands(b.count))?;
        }
        writeln!(out)?;
    }

    let days: Vec<_> = report.by_day.iter().filter(|d| d.errors.total() > 0).collect();
    if !days.is_empty() {
        writeln!(out, "### Errors by day (UTC)\n")?;
        writeln!(out, "| Day | 429 | Cut | Limits | Other | Responses |\n|---|---:|---:|---:|---:|---:|")?;
        for d in days {
            let e = &d.errors;
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md(&d.day),
                thousands(e.throttled()),
                thousands(d.cut_responses),
                thousands(e.limits()),
                thousands(e.others()),
                thousands(d.responses)
            )?;
        }
        writeln!(out, "\n{}", md(super::table::COLUMNS_NOTE))?;
        writeln!(out)?;
    }
    let mut projects: Vec<_> = report.by_project.iter().filter(|p| p.errors.total() > 0).collect();
    if !projects.is_empty() {
        projects.sort_by(|a, b| b.errors.total().cmp(&a.errors.total()).then_with(|| a.project.cmp(&b.project)));
        writeln!(out, "### Errors by project\n")?;
        writeln!(out, "| Project | 429 | Cut | Limits | Other | Responses |\n|---|---:|---:|---:|---:|---:|")?;
        for p in projects {
            let e = &p.errors;
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                md(p.cwd.as_deref().unwrap_or(&p.project)),
                thousands(e.throttled()),
                thousands(p.cut_responses),
                thousands(e.limits()),
                thousands(e.others()),
                thousands(p.responses)
            )?;
        }
        writeln!(out)?;
    }
    for c in &report.capped {
        writeln!(out, "{}\n", md(&prose::capped(c)))?;
    }
    if let (Some(r), Some(a)) = (&report.recommendation, &report.advice) {
        writeln!(out, "### Recommendation for {}\n", md(&a.model))?;
        writeln!(out, "`{}`\n", prose::headline(a))?;
        for reason in prose::reasons(report, a, r) {
            writeln!(out, "- {}", md(&reason))?;
        }
        writeln!(out, "\n| Input | Value | Source |\n|---|---:|---|")?;
        let mut legend = super::Legend::default();
        for (label, value, source) in prose::input_rows(a, r) {
            writeln!(out, "| {} | {} | {} |", md(&label), md(&value), md(&legend.label(&source)))?;
        }
        legend_lines(&legend, out)?;
        if !r.replay.is_empty() {
            writeln!(
                out,
                "\n| Max output | Throttled attempts | Failed | Cut responses | Other cache-read reading |\n|---:|---:|---:|---:|---:|"
            )?;
            for row in &r.replay {
                writeln!(
                    out,
                    "| {} | {} of {} | {} | {} ({}) | {} |",
                    md(&prose::row_value(row.value, row.label)),
                    thousands(row.throttled_attempts),
                    thousands(row.attempts),
                    thousands(row.failed),
                    thousands(row.cut),
                    percent(row.cut_share),
                    md(&row.other_reading.as_ref().map_or_else(
                        || "–".into(),
                        |o| format!("{} throttled, {} failed", thousands(o.throttled_attempts), thousands(o.failed))
                    )),
                )?;
            }
        }
        for line in prose::advice(report, a, r) {
            writeln!(out, "\n> {}", md(&line))?;
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
                md(&l.model),
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
        writeln!(
            out,
            "### Settings env\n\n_As Claude Code merges it; values redacted unless known harmless (`--show-env` shows them)._\n"
        )?;
        writeln!(out, "| Variable | Value | Set in |\n|---|---|---|")?;
        let mut legend = super::Legend::default();
        for e in &report.settings.env {
            writeln!(out, "| {} | {} | {} |", md(&e.name), md(&e.value), md(&legend.label(&e.source)))?;
        }
        legend_lines(&legend, out)?;
        writeln!(out)?;
    }
    writeln!(out, "_{}_", md(&quality_line(report)))?;
    if let Some(w) = &report.write {
        writeln!(out)?;
        write_outcome(w, out)?;
    }
    Ok(())
}

/// The files a table's short source labels stand for, below it.
fn legend_lines(legend: &super::Legend, out: &mut dyn Write) -> std::io::Result<()> {
    if !legend.lines().is_empty() {
        writeln!(out)?;
        for file in legend.lines() {
            writeln!(out, "- {}", md(file))?;
        }
    }
    Ok(())
}

/// The "Settings file" section, in a fenced block (paths and the undo command copy as they
/// are): each line terminal-safe, and no line can close the fence.
pub fn write_outcome(w: &WriteOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "### Settings file\n\n```text")?;
    for line in super::write::lines(w) {
        writeln!(out, "{}", escape_control(&line).replace("```", "` ` `"))?;
    }
    writeln!(out, "```")
}
