//! The report for people: a verdict line, then tables, fitting an 80-column terminal.
//!
//! Every line goes out through `Term`, which passes its text through [`escape_control`]
//! before any colour is added, so no text from a file can drive the terminal. Table cells are
//! escaped before layout too (`cells`), so the columns keep their widths.

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

/// The terminal the table is written to: every line is sanitized, then painted.
struct Term<'a> {
    out: &'a mut dyn Write,
    color: bool,
}

impl Term<'_> {
    /// `s` made terminal-safe, then painted with the SGR `code` ("" for none).
    fn paint(&self, code: &str, s: &str) -> String {
        let s = escape_control(s);
        if self.color && !code.is_empty() { format!("\x1b[{code}m{s}\x1b[0m") } else { s }
    }
    /// One line of parts, each painted with its code.
    fn spans(&mut self, parts: &[(&str, &str)]) -> std::io::Result<()> {
        let line: String = parts.iter().map(|(code, s)| self.paint(code, s)).collect();
        writeln!(self.out, "{line}")
    }
    fn line(&mut self, s: &str) -> std::io::Result<()> {
        self.spans(&[("", s)])
    }
    fn styled(&mut self, code: &str, s: &str) -> std::io::Result<()> {
        self.spans(&[(code, s)])
    }
    fn heading(&mut self, s: &str) -> std::io::Result<()> {
        self.styled("1", s)
    }
    fn blank(&mut self) -> std::io::Result<()> {
        writeln!(self.out)
    }
    /// A table, line by line.
    fn table(&mut self, t: &Table) -> std::io::Result<()> {
        for line in t.lines() {
            self.line(&line)?;
        }
        Ok(())
    }
}

/// The cells of a row, each terminal-safe before the table lays it out.
fn cells<S: AsRef<str>>(texts: impl IntoIterator<Item = S>) -> Vec<Cell> {
    texts.into_iter().map(|s| Cell::new(escape_control(s.as_ref()))).collect()
}

/// A table whose columns listed in `right` are right-aligned (numbers).
fn table(header: &[&str], right: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH)
        .set_header(cells(header.iter()));
    for (i, col) in t.column_iter_mut().enumerate() {
        if right.contains(&i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

pub fn render(report: &Report, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut st = Term { out, color };
    let problems = report.errors.total() > 0;
    for line in wrap(&escape_control(&prose::verdict(report)), WIDTH as usize) {
        st.styled(if problems { "1;33" } else { "1;32" }, &line)?;
    }
    // The value and its action come right after the verdict; the reasons follow below.
    if let Some(a) = &report.advice {
        st.spans(&[("1", &format!("{}:", a.model)), ("", " "), ("1;36", &prose::headline(a))])?;
    }
    st.blank()?;

    st.heading("Errors")?;
    let mut t = table(&["Kind", "Count", "Meaning"], &[1]);
    for (label, n, note) in error_rows(&report.errors) {
        t.add_row(cells([label, thousands(n), note.to_string()]));
    }
    st.table(&t)?;
    st.blank()?;

    st.heading("Output tokens per response")?;
    if report.responses.count == 0 {
        st.line("No responses.")?;
    } else {
        let mut t =
            table(&["Model", "Resp.", "Est.", "Mean", "p50", "p90", "p95", "p99", "Max"], &[1, 2, 3, 4, 5, 6, 7, 8]);
        for m in &report.by_model {
            t.add_row(cells([
                m.model.clone(),
                thousands(m.summary.count),
                thousands(m.estimated),
                thousands(m.summary.mean.round() as u64),
                thousands(m.summary.p50),
                thousands(m.summary.p90),
                thousands(m.summary.p95),
                thousands(m.summary.p99),
                thousands(m.summary.max),
            ]));
        }
        if report.by_model.len() > 1 {
            let o = &report.output_tokens;
            t.add_row(cells([
                "all".to_string(),
                thousands(o.count),
                thousands(report.responses.estimated),
                thousands(o.mean.round() as u64),
                thousands(o.p50),
                thousands(o.p90),
                thousands(o.p95),
                thousands(o.p99),
                thousands(o.max),
            ]));
        }
        st.table(&t)?;
        st.blank()?;
        for m in &report.by_model {
            st.heading(&format!("Response sizes, {} (output tokens)", m.model))?;
            histogram(&m.histogram, &mut st)?;
            st.blank()?;
        }
    }

    let error_days: Vec<_> = report.by_day.iter().filter(|d| d.errors.total() > 0).collect();
    if !error_days.is_empty() {
        st.heading("Errors by day (UTC)")?;
        let mut t = table(&["Day", "429", "Cut", "Limits", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for d in error_days {
            t.add_row(count_cells(&d.day, &d.errors, d.cut_responses, d.responses));
        }
        st.table(&t)?;
        for line in wrap(COLUMNS_NOTE, WIDTH as usize) {
            st.styled("2", &line)?;
        }
        st.blank()?;
    }

    let mut projects: Vec<_> = report.by_project.iter().filter(|p| p.errors.total() > 0).collect();
    if !projects.is_empty() {
        projects.sort_by(|a, b| b.errors.total().cmp(&a.errors.total()).then_with(|| a.project.cmp(&b.project)));
        st.heading("Errors by project")?;
        let mut t = table(&["Project", "429", "Cut", "Limits", "Other", "Responses"], &[1, 2, 3, 4, 5]);
        for p in projects.iter().take(PROJECT_ROWS) {
            let name = p.cwd.as_deref().unwrap_or(&p.project);
            let name = if name.is_empty() { "(no project: a debug log's own)" } else { name };
            t.add_row(count_cells(name, &p.errors, p.cut_responses, p.responses));
        }
        st.table(&t)?;
        if projects.len() > PROJECT_ROWS {
            let more = (projects.len() - PROJECT_ROWS) as u64;
            st.line(&format!(
                "… and {} with errors (see --format json).",
                count_of(more, "more project", "more projects")
            ))?;
        }
        st.blank()?;
    }

    match (&report.recommendation, &report.advice) {
        (Some(r), Some(a)) => recommendation(report, a, r, &mut st)?,
        _ => {
            st.heading("Recommendation")?;
            st.line("No request of any model to measure, so no recommendation.")?;
            st.blank()?;
        }
    }
    load(report, &mut st)?;

    if !report.settings.env.is_empty() {
        st.heading("Settings env (as Claude Code merges it; values redacted unless known harmless)")?;
        let mut t = table(&["Variable", "Value", "Set in"], &[]);
        let mut legend = super::Legend::default();
        for e in &report.settings.env {
            t.add_row(cells([e.name.clone(), e.value.clone(), legend.label(&e.source)]));
        }
        st.table(&t)?;
        for file in legend.lines() {
            st.line(file)?;
        }
        st.blank()?;
    }

    for c in &report.capped {
        st.line(&prose::capped(c))?;
    }
    for line in wrap(&escape_control(&quality_line(report)), WIDTH as usize) {
        st.styled("2", &line)?;
    }
    if let Some(w) = &report.write {
        st.blank()?;
        outcome(w, &mut st)?;
    }
    Ok(())
}

/// The "Settings file" section: what was written where, and how to undo it.
pub fn write_outcome(w: &WriteOutcome, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    outcome(w, &mut Term { out, color })
}

fn outcome(w: &WriteOutcome, st: &mut Term<'_>) -> std::io::Result<()> {
    st.heading("Settings file")?;
    // Not wrapped: paths and the undo command must survive copy and paste.
    for line in super::write::lines(w) {
        st.line(&line)?;
    }
    Ok(())
}

fn recommendation(
    report: &Report,
    a: &Advice,
    r: &crate::report::Recommendation,
    st: &mut Term<'_>,
) -> std::io::Result<()> {
    st.heading(&format!("Recommendation for {}", a.model))?;
    st.styled("1;36", &prose::headline(a))?;
    bullets(&prose::reasons(report, a, r), st)?;
    st.blank()?;
    let mut t = table(&["Input", "Value", "Source"], &[1]);
    let mut legend = super::Legend::default();
    for (label, value, source) in prose::input_rows(a, r) {
        t.add_row(cells([label, value, legend.label(&source)]));
    }
    st.table(&t)?;
    for file in legend.lines() {
        st.line(file)?;
    }
    st.blank()?;
    if !r.replay.is_empty() {
        let against = a.quota.as_ref().map_or_else(
            || "no quota: cuts only".to_string(),
            |q| format!("against {} TPM", thousands(q.planning_tpm.round() as u64)),
        );
        st.heading(&format!("Replay: your history at each value ({against})"))?;
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
            let mut texts = vec![prose::row_value(row.value, row.label)];
            if quota {
                texts.push(format!("{} of {}", thousands(row.throttled_attempts), thousands(row.attempts)));
                texts.push(thousands(row.failed));
            }
            texts.push(format!("{} ({})", thousands(row.cut), percent(row.cut_share)));
            if other.is_some() {
                texts.push(row.other_reading.as_ref().map_or_else(
                    || "–".into(),
                    |o| format!("{} / {}", thousands(o.throttled_attempts), thousands(o.failed)),
                ));
            }
            t.add_row(cells(texts));
        }
        st.table(&t)?;
    }
    let advice = prose::advice(report, a, r);
    if !advice.is_empty() {
        st.blank()?;
        st.heading("Advice")?;
        bullets(&advice, st)?;
    }
    st.blank()?;
    Ok(())
}

/// The load per model: the figures of a quota-increase request.
fn load(report: &Report, st: &mut Term<'_>) -> std::io::Result<()> {
    let rows = &report.load.per_model;
    if rows.is_empty() {
        return Ok(());
    }
    st.heading("Load per model (what a quota increase request asks for)")?;
    let mut t =
        table(&["Model", "TPM p50", "TPM peak", "RPM p50", "RPM peak", "In/req", "Out/req"], &[1, 2, 3, 4, 5, 6]);
    for l in rows {
        t.add_row(cells([
            l.model.clone(),
            thousands(l.tpm_p50),
            thousands(l.tpm_peak),
            thousands(l.rpm_p50),
            thousands(l.rpm_peak),
            thousands(l.input_mean.round() as u64),
            thousands(l.output_mean.round() as u64),
        ]));
    }
    st.table(&t)?;
    let note = "Tokens a minute count output at the burndown rate, in the minute a request ends; p50s are over the minutes with any.";
    for line in wrap(note, WIDTH as usize) {
        st.styled("2", &line)?;
    }
    st.blank()?;
    Ok(())
}

/// A bulleted list, each item wrapped to the table width.
fn bullets(items: &[String], st: &mut Term<'_>) -> std::io::Result<()> {
    for item in items {
        for (k, line) in wrap(&escape_control(item), WIDTH as usize - 2).into_iter().enumerate() {
            st.line(&format!("{}{line}", if k == 0 { "- " } else { "  " }))?;
        }
    }
    Ok(())
}

/// What the columns of the by-day and by-project tables count.
pub(super) const COLUMNS_NOTE: &str = "429: throttled attempts, retried or not (they add up to the first line's count); Cut: responses cut at the output limit, each once; Limits: per-day quota, plan usage limits and spend caps; Other: overloaded, server limiting, refused (400) and other errors.";

fn count_cells(label: &str, e: &ErrorCounts, cut_responses: u64, responses: u64) -> Vec<Cell> {
    cells([
        label.to_string(),
        thousands(e.throttled()),
        thousands(cut_responses),
        thousands(e.limits()),
        thousands(e.others()),
        thousands(responses),
    ])
}

fn histogram(bins: &[Bin], st: &mut Term<'_>) -> std::io::Result<()> {
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
        st.spans(&[("", &format!("{label:>label_w$} │")), ("36", &bar), ("", &format!(" {}", thousands(b.count)))])?;
    }
    Ok(())
}
