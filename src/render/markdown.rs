//! The report as GitHub-flavoured Markdown, for pasting into an issue: the sections of
//! [`sections::document`], the same the table shows, each a `###` heading with its
//! paragraphs, lists and table.
//!
//! Every table cell and header, list item, heading text and paragraph goes through `md`
//! ([`markdown_text`]): data from files (model ids, paths, project names, settings values and
//! sources, sentences that name them) renders as the text it is, never as a link, an image or
//! HTML. Only the literal structure written here (headings, table rules, emphasis around the
//! verdict, the code span of the headline) is Markdown.

use std::io::Write;

use super::sections::{self, Align, Section};
use crate::report::Report;
use crate::settings::write::WriteOutcome;
use crate::text::{escape_control, markdown_text};

/// Text for Markdown: a table cell, a list item, a heading's text or a paragraph.
fn md(s: &str) -> String {
    markdown_text(s)
}

/// A sentence of ccdoctor's whose commands are in backticks: each pair a code span (GitHub
/// renders nothing inside one as a link, an image or HTML, and only a backtick ends it, which
/// the split leaves out), the text between them escaped ([`crate::text::markdown_text`]). An
/// odd count of backticks (one from the data) leaves the whole sentence escaped.
pub fn md_with_code(s: &str) -> String {
    if !s.matches('`').count().is_multiple_of(2) || !s.contains('`') {
        return md(s);
    }
    s.split('`')
        .enumerate()
        .map(|(k, part)| {
            if k % 2 == 0 {
                md(part)
            } else {
                let code = escape_control(part).replace(['\n', '\r'], " ");
                format!("`{code}`")
            }
        })
        .collect()
}

/// The recommended setting as a code span (ccdoctor's own text, copied as it is), what it
/// does after it in words: `CLAUDE_CODE_MAX_OUTPUT_TOKENS=9000` (lower from 32,000).
fn setting(headline: &str) -> String {
    match headline.split_once("  (") {
        Some((set, note)) if set.starts_with("CLAUDE_CODE_") => format!("`{set}` {}", md(&format!("({note}"))),
        _ if headline.starts_with("CLAUDE_CODE_") => format!("`{headline}`"),
        _ => md(headline),
    }
}

pub fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = sections::document(report);
    writeln!(out, "## ccdoctor scan\n")?;
    writeln!(out, "**{}**\n", md(&doc.verdict))?;
    if let Some((model, headline)) = &doc.headline {
        writeln!(out, "{}: {}\n", md(model), setting(headline))?;
    }
    for s in &doc.sections {
        section(s, out)?;
    }
    for line in &doc.closing {
        writeln!(out, "{}\n", md(line))?;
    }
    writeln!(out, "_{}_", md(&doc.quality))?;
    if let Some(w) = &report.write {
        writeln!(out)?;
        write_outcome(w, out)?;
    }
    Ok(())
}

/// One section: a level-3 heading, then each part as a paragraph, a list or a table, each
/// followed by a blank line.
fn section(s: &Section, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "### {}\n", md(&s.title))?;
    if let Some(h) = &s.headline {
        writeln!(out, "{}\n", setting(h))?;
    }
    for text in &s.text {
        writeln!(out, "{}\n", md(text))?;
    }
    list(&s.bullets, out)?;
    if !s.columns.is_empty() {
        let header: Vec<String> = s.columns.iter().map(|c| md(&c.name)).collect();
        let rule: Vec<&str> = s.columns.iter().map(|c| if c.align == Align::Right { "---:" } else { "---" }).collect();
        writeln!(out, "| {} |\n|{}|", header.join(" | "), rule.join("|"))?;
        for row in &s.rows {
            let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        writeln!(out)?;
    }
    list(&s.legend, out)?;
    for note in &s.notes {
        writeln!(out, "{}\n", md(note))?;
    }
    Ok(())
}

/// A bulleted list and a blank line after it (nothing when there are no items).
fn list(items: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    for item in items {
        writeln!(out, "- {}", md_with_code(item))?;
    }
    writeln!(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// ccdoctor's commands in backticks render as code; the text between them stays text;
    /// an odd backtick (from the data) leaves the sentence escaped whole.
    #[test]
    fn code_spans_in_sentences() {
        let s = md_with_code("Run `aws x --query \"a && b\"` then [a](b) <i>");
        assert!(s.starts_with("Run `aws x --query \"a && b\"` then "), "{s}");
        assert!(!s.contains("[a](b)") && !s.contains("<i>"), "{s}");
        assert_eq!(md_with_code("a ` b"), md("a ` b"));
        // A backtick pair from the data makes a code span, inside which nothing renders.
        assert_eq!(md_with_code("x `<img src=y>` z"), format!("{}`<img src=y>`{}", md("x "), md(" z")));
    }
}
