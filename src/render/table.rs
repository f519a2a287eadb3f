//! The report for people: a verdict line, then tables, fitting an 80-column terminal.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::recommendation as rec;
use super::{bin_label, error_rows, quality_line};
use crate::recommend::Recommendation;
use crate::report::{ErrorCounts, Report};
use crate::settings::write::WriteOutcome;
use crate::stats::Bin;
use crate::text::{count_of, escape_control, percent, thousands, wrap};

const WIDTH: u16 = 80;
const BAR_WIDTH: usize = 40;
/// Rows of the per-project table; the rest are summed in one line.
const PROJECT_ROWS: usize = 10;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn heading(&self, s: &str) -> String {
        self.paint("1", s)
    }
}

/// A table whose columns listed in `right` are right-aligned (numbers).
fn table(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(header.iter().map(Cell::new));
    for (i, col) in t.column_iter_mut().enumerate() {
        if right.contains(&i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

pub fn render(report: &Report, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let st = Style { color };
    let problems = report.errors.total() > 0;
    for line in wrap(&escape_control(&report.verdict), WIDTH as usize) {
        writeln!(out, "{}", if problems { st.paint("1;33", &line) } else { st.paint("1;32", &line) })?;
    }
    writeln!(out)?;

    writeln!(out, "{}", st.heading("Errors"))?;
    let mut t = table(&["Kind", "Count", "Meaning"], &[1]);
    for (label, n, note) in error_rows(&report.errors) {
        t.add_row(vec![Cell::new(label), Cell::new(thousands(n)), Cell::new(note)]);
    }
    writeln!(out, "{t}")?;
    writeln!(out)?;

    writeln!(out, "{}", st.heading("Output tokens per response"))?;
    if report.responses.count == 0 {
        writeln!(out, "No responses.")?;
    } else {
        let mut t = table(&["Model", "Responses", "Est.", "Mean", "p50", "p90", "p99", "Max"], &[1, 2, 3, 4, 5, 6, 7]);
        for m in &report.by_model {
            t.add_row(vec![
                Cell::new(escape_control(&m.model)),
                Cell::new(thousands(m.summary.count)),
                Cell::new(thousands(m.estimated)),
                Cell::new(thousands(m.summary.mean.round() as u64)),
                Cell::new(thousands(m.summary.p50)),
                Cell::new(thousands(m.summary.p90)),
                Cell::new(thousands(m.summary.p99)),
                Cell::new(thousands(m.summary.max)),
            ]);
        }
        if report.by_model.len() > 1 {
            let o = &report.output_tokens;
            t.add_row(vec![
                Cell::new("all models"),
                Cell::new(thousands(o.count)),
                Cell::new(thousands(report.responses.estimated)),
                Cell::new(thousands(o.mean.round() as u64)),
                Cell::new(thousands(o.p50)),
                Cell::new(thousands(o.p90)),
                Cell::new(thousands(o.p99)),
                Cell::new(thousands(o.max)),
            ]);
        }
        writeln!(out, "{t}")?;
        writeln!(out)?;
        for m in &report.by_model {
            writeln!(out, "{}", st.heading(&format!("Response sizes, {} (output tokens)", escape_control(&m.model))))?;
            histogram(&m.histogram, &st, out)?;
            writeln!(out)?;
        }
    }

    let error_days: Vec<_> = report.by_day.iter().filter(|d| d.errors.total() > 0).collect();
    if !error_days.is_empty() {
        writeln!(out, "{}", st.heading("Errors by day (UTC)"))?;
        let mut t = table(&["Day", "429", "Cut", "Usage lim.", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for d in error_days {
            t.add_row(count_cells(&d.day, &d.errors, d.responses));
        }
        writeln!(out, "{t}")?;
        writeln!(out)?;
    }

    let mut projects: Vec<_> = report.by_project.iter().filter(|p| p.errors.total() > 0).collect();
    if !projects.is_empty() {
        projects.sort_by(|a, b| b.errors.total().cmp(&a.errors.total()).then_with(|| a.project.cmp(&b.project)));
        writeln!(out, "{}", st.heading("Errors by project"))?;
        let mut t = table(&["Project", "429", "Cut", "Usage lim.", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for p in projects.iter().take(PROJECT_ROWS) {
            let name = p.cwd.as_deref().unwrap_or(&p.project);
            t.add_row(count_cells(&escape_control(name), &p.errors, p.responses));
        }
        writeln!(out, "{t}")?;
        if projects.len() > PROJECT_ROWS {
            writeln!(out, "… and {} more projects with errors (see --format json).", projects.len() - PROJECT_ROWS)?;
        }
        writeln!(out)?;
    }

    if let Some(r) = &report.recommendation {
        recommendation(report, r, &st, out)?;
    } else {
        writeln!(out, "{}", st.heading("Recommendation"))?;
        writeln!(out, "No responses to measure, so no recommendation.")?;
        writeln!(out)?;
    }

    if !report.settings.env.is_empty() {
        writeln!(out, "{}", st.heading("Settings env (as Claude Code merges it; secrets redacted)"))?;
        let mut t = table(&["Variable", "Value", "Set in"], &[]);
        for e in &report.settings.env {
            t.add_row(vec![escape_control(&e.name), escape_control(&e.value), escape_control(&e.source)]);
        }
        writeln!(out, "{t}\n")?;
    }

    for c in &report.capped {
        writeln!(
            out,
            "Claude Code capped a max output setting from {} to {} ({}).",
            thousands(c.from),
            thousands(c.to),
            count_of(c.count, "time", "times")
        )?;
    }
    for line in wrap(&quality_line(report), WIDTH as usize) {
        writeln!(out, "{}", st.paint("2", &line))?;
    }
    if let Some(w) = &report.write {
        writeln!(out)?;
        write_outcome(w, color, out)?;
    }
    Ok(())
}

/// The "Settings file" section: what was written where, and how to undo it.
pub fn write_outcome(w: &WriteOutcome, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let st = Style { color };
    writeln!(out, "{}", st.heading("Settings file"))?;
    // Not wrapped: paths and the undo command must survive copy and paste.
    for line in super::write::lines(w) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn recommendation(report: &Report, r: &Recommendation, st: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", st.heading("Recommendation"))?;
    writeln!(out, "{}", st.paint("1;36", &rec::headline(r)))?;
    bullets(&r.reasons, out)?;
    writeln!(out)?;
    let mut t = table(&["Input", "Value", "Source"], &[1]);
    for (label, value, source) in rec::input_rows(report, r) {
        t.add_row(vec![Cell::new(label), Cell::new(escape_control(&value)), Cell::new(escape_control(&source))]);
    }
    writeln!(out, "{t}")?;
    writeln!(out)?;
    writeln!(out, "{}", st.heading("What if"))?;
    let mut t = table(&["Max output", "Responses cut", "Worst-case charge", "Fit in quota"], &[0, 1, 2, 3]);
    for w in &r.what_if {
        let value = match w.label {
            Some(l) => format!("{} ({l})", thousands(w.value)),
            None => thousands(w.value),
        };
        t.add_row(vec![
            Cell::new(value),
            Cell::new(percent(w.truncated_share)),
            Cell::new(thousands(w.worst_case_charge)),
            Cell::new(w.max_parallel.map_or_else(|| "–".into(), thousands)),
        ]);
    }
    writeln!(out, "{t}")?;
    if !r.advice.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.heading("Advice"))?;
        bullets(&r.advice, out)?;
    }
    writeln!(out)?;
    Ok(())
}

/// A bulleted list, each item wrapped to the table width.
fn bullets(items: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    for item in items {
        for (k, line) in wrap(&escape_control(item), WIDTH as usize - 2).into_iter().enumerate() {
            writeln!(out, "{}{line}", if k == 0 { "- " } else { "  " })?;
        }
    }
    Ok(())
}

fn count_cells(label: &str, e: &ErrorCounts, responses: u64) -> Vec<Cell> {
    vec![
        Cell::new(label),
        Cell::new(thousands(e.throttled() + e.rate_limit.per_day_quota)),
        Cell::new(thousands(e.cut_signs())),
        Cell::new(thousands(e.usage_limit)),
        Cell::new(thousands(e.overloaded + e.other)),
        Cell::new(thousands(responses)),
    ]
}

fn histogram(bins: &[Bin], st: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    // Show the bins from the first to the last non-empty one.
    let first = bins.iter().position(|b| b.count > 0);
    let last = bins.iter().rposition(|b| b.count > 0);
    let (Some(first), Some(last)) = (first, last) else { return Ok(()) };
    let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let labels: Vec<String> = bins[first..=last].iter().map(|b| bin_label(b.from, b.to)).collect();
    let label_w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for (b, label) in bins[first..=last].iter().zip(labels) {
        // Eighths of a block for a smooth bar; a non-empty bin always shows something.
        let eighths = (b.count as u128 * (BAR_WIDTH as u128) * 8).div_ceil(max as u128) as usize;
        let mut bar = "█".repeat(eighths / 8);
        if !eighths.is_multiple_of(8) {
            bar.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
        }
        writeln!(out, "{label:>label_w$} │{} {}", st.paint("36", &bar), thousands(b.count))?;
    }
    Ok(())
}
