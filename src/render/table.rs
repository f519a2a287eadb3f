//! The report for people: a verdict line, then tables, fitting an 80-column terminal.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::prose;
use super::{bin_label, error_rows, quality_line};
use crate::analysis::advice::Advice;
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
    for line in wrap(&escape_control(&prose::verdict(report)), WIDTH as usize) {
        writeln!(out, "{}", if problems { st.paint("1;33", &line) } else { st.paint("1;32", &line) })?;
    }
    // The value and its action come right after the verdict; the reasons follow below.
    if let Some(a) = &report.advice {
        writeln!(
            out,
            "{} {}",
            st.heading(&format!("{}:", escape_control(&a.model))),
            st.paint("1;36", &prose::headline(a))
        )?;
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
        let mut t = table(&["Day", "429", "Cut", "Limits", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for d in error_days {
            t.add_row(count_cells(&d.day, &d.errors, d.cut_responses, d.responses));
        }
        writeln!(out, "{t}")?;
        for line in wrap(COLUMNS_NOTE, WIDTH as usize) {
            writeln!(out, "{}", st.paint("2", &line))?;
        }
        writeln!(out)?;
    }

    let mut projects: Vec<_> = report.by_project.iter().filter(|p| p.errors.total() > 0).collect();
    if !projects.is_empty() {
        projects.sort_by(|a, b| b.errors.total().cmp(&a.errors.total()).then_with(|| a.project.cmp(&b.project)));
        writeln!(out, "{}", st.heading("Errors by project"))?;
        let mut t = table(&["Project", "429", "Cut", "Limits", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for p in projects.iter().take(PROJECT_ROWS) {
            let name = p.cwd.as_deref().unwrap_or(&p.project);
            let name = if name.is_empty() { "(no project: a debug log's own)" } else { name };
            t.add_row(count_cells(&escape_control(name), &p.errors, p.cut_responses, p.responses));
        }
        writeln!(out, "{t}")?;
        if projects.len() > PROJECT_ROWS {
            writeln!(out, "… and {} more projects with errors (see --format json).", projects.len() - PROJECT_ROWS)?;
        }
        writeln!(out)?;
    }

    match (&report.recommendation, &report.advice) {
        (Some(r), Some(a)) => recommendation(report, a, r, &st, out)?,
        _ => {
            writeln!(out, "{}", st.heading("Recommendation"))?;
            writeln!(out, "No request of any model to measure, so no recommendation.")?;
            writeln!(out)?;
        }
    }
    load(report, &st, out)?;

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

fn recommendation(
    report: &Report,
    a: &Advice,
    r: &crate::report::Recommendation,
    st: &Style,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "{}", st.heading(&format!("Recommendation for {}", escape_control(&a.model))))?;
    writeln!(out, "{}", st.paint("1;36", &prose::headline(a)))?;
    bullets(&prose::reasons(report, a, r), out)?;
    writeln!(out)?;
    let mut t = table(&["Input", "Value", "Source"], &[1]);
    for (label, value, source) in prose::input_rows(a, r) {
        t.add_row(vec![Cell::new(label), Cell::new(escape_control(&value)), Cell::new(escape_control(&source))]);
    }
    writeln!(out, "{t}")?;
    writeln!(out)?;
    if !r.replay.is_empty() {
        let against = a.quota.as_ref().map_or_else(
            || "no quota: cuts only".to_string(),
            |q| format!("against {} TPM", thousands(q.planning_tpm.round() as u64)),
        );
        writeln!(out, "{}", st.heading(&format!("Replay: your history at each value ({against})")))?;
        let other = a.quota.as_ref().map(|q| {
            if q.reading.cache_reads_reserved {
                "Cache reads free: throttled / failed"
            } else {
                "Cache reads reserved: throttled / failed"
            }
        });
        let quota = a.quota.is_some();
        let mut header = vec!["Max output"];
        if quota {
            header.extend(["Throttled attempts", "Failed"]);
        }
        header.push("Cut responses");
        header.extend(other);
        // The other reading's cell: throttled attempts / failed requests.
        let mut t = table(&header, &[0, 1, 2, 3, 4]);
        for row in &r.replay {
            let mut cells = vec![Cell::new(prose::row_value(row.value, row.label))];
            if quota {
                cells.push(Cell::new(format!("{} of {}", thousands(row.throttled_attempts), thousands(row.attempts))));
                cells.push(Cell::new(thousands(row.failed)));
            }
            cells.push(Cell::new(format!("{} ({})", thousands(row.cut), percent(row.cut_share))));
            if other.is_some() {
                cells.push(Cell::new(row.other_reading.as_ref().map_or_else(
                    || "–".into(),
                    |o| format!("{} / {}", thousands(o.throttled_attempts), thousands(o.failed)),
                )));
            }
            t.add_row(cells);
        }
        writeln!(out, "{t}")?;
    }
    let advice = prose::advice(report, a, r);
    if !advice.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.heading("Advice"))?;
        bullets(&advice, out)?;
    }
    writeln!(out)?;
    Ok(())
}

/// The load per model: the figures of a quota-increase request.
fn load(report: &Report, st: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    let rows = &report.load.per_model;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", st.heading("Load per model (what a quota increase request asks for)"))?;
    let mut t =
        table(&["Model", "TPM p50", "TPM peak", "RPM p50", "RPM peak", "In/req", "Out/req"], &[1, 2, 3, 4, 5, 6]);
    for l in rows {
        t.add_row(vec![
            Cell::new(escape_control(&l.model)),
            Cell::new(thousands(l.tpm_p50)),
            Cell::new(thousands(l.tpm_peak)),
            Cell::new(thousands(l.rpm_p50)),
            Cell::new(thousands(l.rpm_peak)),
            Cell::new(thousands(l.input_mean.round() as u64)),
            Cell::new(thousands(l.output_mean.round() as u64)),
        ]);
    }
    writeln!(out, "{t}")?;
    let note = "Tokens a minute count output at the burndown rate, in the minute a request ends; p50s are over the minutes with any.";
    for line in wrap(note, WIDTH as usize) {
        writeln!(out, "{}", st.paint("2", &line))?;
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

/// What the columns of the by-day and by-project tables count.
pub(super) const COLUMNS_NOTE: &str = "429: throttled attempts and per-day quota refusals; Cut: responses cut at the output limit, each once; Limits: plan usage limits and spend caps; Other: overloaded, server limiting, refused (400) and other errors.";

fn count_cells(label: &str, e: &ErrorCounts, cut_responses: u64, responses: u64) -> Vec<Cell> {
    vec![
        Cell::new(label),
        Cell::new(thousands(e.throttled() + e.rate_limit.per_day_quota)),
        Cell::new(thousands(cut_responses)),
        Cell::new(thousands(e.limits())),
        Cell::new(thousands(e.others())),
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
