//! The report for people: a verdict line, then tables, fitting the terminal's width (80
//! columns when the output is not a terminal and `COLUMNS` says nothing).
//!
//! Every line goes out through `Term`, which passes its text through [`escape_control`]
//! before any colour is added, so no text from a file can drive the terminal. Table cells are
//! escaped before layout too (`cells`), so the columns keep their widths.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};

use super::sections::{self, Align, Section};
use crate::report::Report;
use crate::settings::write::WriteOutcome;
use crate::text::{escape_control, wrap};

/// Narrower than this, a table cannot show its columns: the report is laid out at it.
pub const MIN_WIDTH: u16 = 40;

/// The terminal the table is written to: every line is sanitized, then painted.
struct Term<'a> {
    out: &'a mut dyn Write,
    color: bool,
    /// Columns of the terminal.
    width: u16,
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
    /// `s` wrapped to the width, less `indent` columns.
    fn wrapped(&self, s: &str, indent: usize) -> Vec<String> {
        wrap(&escape_control(s), (self.width as usize).saturating_sub(indent))
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

/// A table `width` columns wide whose columns listed in `right` are right-aligned (numbers).
fn table(header: &[&str], right: &[usize], width: u16) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(cells(header.iter()));
    for (i, col) in t.column_iter_mut().enumerate() {
        if right.contains(&i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// The report, laid out `width` columns wide (at least [`MIN_WIDTH`]).
pub fn render(report: &Report, color: bool, width: u16, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = sections::document(report);
    let mut st = Term { out, color, width: width.max(MIN_WIDTH) };
    for line in st.wrapped(&doc.verdict, 0) {
        st.styled(if doc.problems { "1;33" } else { "1;32" }, &line)?;
    }
    // The value and its action come right after the verdict; the reasons follow below.
    if let Some((model, headline)) = &doc.headline {
        // On one line where it fits; the setting itself is never broken (it is copied).
        if model.chars().count() + 2 + headline.chars().count() <= st.width as usize {
            st.spans(&[("1", &format!("{model}:")), ("", " "), ("1;36", headline)])?;
        } else if headline.starts_with("CLAUDE_CODE_MAX_OUTPUT_TOKENS=") {
            st.styled("1", &format!("{model}:"))?;
            st.styled("1;36", headline)?;
        } else {
            // A sentence (no value to copy) wraps as one, not left as a bare "Sonnet 4:" line.
            for line in st.wrapped(&format!("{model}: {headline}"), 0) {
                st.styled("1;36", &line)?;
            }
        }
    }
    st.blank()?;
    for s in &doc.sections {
        section(s, &mut st)?;
    }
    for line in &doc.closing {
        st.line(line)?;
    }
    for line in st.wrapped(&doc.quality, 0) {
        st.styled("2", &line)?;
    }
    if let Some(w) = &report.write {
        st.blank()?;
        outcome(w, &mut st)?;
    }
    Ok(())
}

/// One section: its heading, the value it stands for, its text, bullets, table (or bars),
/// legend and notes, then a blank line.
fn section(s: &Section, st: &mut Term<'_>) -> std::io::Result<()> {
    for line in st.wrapped(&s.title, 0) {
        st.heading(&line)?;
    }
    if let Some(h) = &s.headline {
        st.styled("1;36", h)?;
    }
    for text in &s.text {
        for line in st.wrapped(text, 0) {
            st.line(&line)?;
        }
    }
    bullets(&s.bullets, st)?;
    if let Some(bars) = &s.bars {
        histogram(&s.rows, bars, st)?;
    } else if !s.columns.is_empty() {
        if !s.bullets.is_empty() {
            st.blank()?;
        }
        let header: Vec<&str> = s.columns.iter().map(|c| c.short.unwrap_or(&c.name)).collect();
        let right: Vec<usize> =
            s.columns.iter().enumerate().filter(|(_, c)| c.align == Align::Right).map(|(i, _)| i).collect();
        let mut t = table(&header, &right, st.width);
        for row in &s.rows {
            t.add_row(cells(row));
        }
        st.table(&t)?;
    }
    for file in &s.legend {
        st.line(file)?;
    }
    for note in &s.notes {
        for line in st.wrapped(note, 0) {
            st.styled("2", &line)?;
        }
    }
    st.blank()
}

/// The "Settings file" section: what was written where, and how to undo it.
pub fn write_outcome(w: &WriteOutcome, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    outcome(w, &mut Term { out, color, width: crate::config::DEFAULT_WIDTH })
}

fn outcome(w: &WriteOutcome, st: &mut Term<'_>) -> std::io::Result<()> {
    st.heading("Settings file")?;
    // Not wrapped: paths and the undo command must survive copy and paste.
    for line in super::write::lines(w) {
        st.line(&line)?;
    }
    Ok(())
}

/// A bulleted list, each item wrapped to the table width.
fn bullets(items: &[String], st: &mut Term<'_>) -> std::io::Result<()> {
    for item in items {
        for (k, line) in st.wrapped(item, 2).into_iter().enumerate() {
            st.line(&format!("{}{line}", if k == 0 { "- " } else { "  " }))?;
        }
    }
    Ok(())
}

/// A bar chart of histogram rows (label, count), one bar a row, the longest half the width.
fn histogram(rows: &[Vec<String>], counts: &[u64], st: &mut Term<'_>) -> std::io::Result<()> {
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    let label_w = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
    let count_w = rows.iter().map(|r| r[1].chars().count()).max().unwrap_or(0);
    // Half of 80 columns at 80; never so wide that a line runs over.
    let bar_width = (st.width as usize / 2).min((st.width as usize).saturating_sub(label_w + count_w + 4)).max(1);
    for (row, &count) in rows.iter().zip(counts) {
        let label = &row[0];
        // Eighths of a block for a smooth bar; a non-empty bin always shows something.
        let eighths = (count as u128 * (bar_width as u128) * 8).div_ceil(max as u128) as usize;
        let mut bar = "█".repeat(eighths / 8);
        if !eighths.is_multiple_of(8) {
            bar.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][eighths % 8 - 1]);
        }
        st.spans(&[("", &format!("{label:>label_w$} │")), ("36", &bar), ("", &format!(" {}", row[1]))])?;
    }
    Ok(())
}
