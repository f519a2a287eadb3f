//! The three formats of the report on the bundled samples, as insta snapshots
//! (`tests/snapshots/`): the JSON contract's key names and values, and the table and Markdown
//! a user reads, cannot change without the change showing in review. Paths are replaced by
//! `<testdata>` so the snapshots hold on any checkout. To accept an intended change:
//! `INSTA_UPDATE=always cargo test --test snapshots`, then review the diff.

mod common;

use common::{Run, ccdoctor, testdata};

fn report(sample: &str, format: &str) -> String {
    let home = testdata().join(sample);
    let r: Run = ccdoctor(&home).args(["scan", "--format", format, home.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.replace(testdata().to_str().unwrap(), "<testdata>")
}

#[test]
fn json_reports() {
    for sample in ["claude-home", "bedrock-home", "late-home"] {
        insta::assert_snapshot!(format!("{sample}.json"), report(sample, "json"));
    }
}

/// Telemetry (testdata/otel) is a sample too: its report adds the team view.
fn telemetry_report(format: &str) -> String {
    let dir = testdata().join("otel");
    let r: Run =
        ccdoctor(&dir).args(["scan", "--format", format, "--otel", dir.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.replace(testdata().to_str().unwrap(), "<testdata>")
}

#[test]
fn telemetry_reports() {
    for format in ["json", "table", "markdown"] {
        insta::assert_snapshot!(format!("otel.{format}"), telemetry_report(format));
    }
}

#[test]
fn table_and_markdown_reports() {
    for sample in ["claude-home", "bedrock-home"] {
        insta::assert_snapshot!(format!("{sample}.table"), report(sample, "table"));
        insta::assert_snapshot!(format!("{sample}.md"), report(sample, "markdown"));
    }
}

/// The section headings and row labels of a table report (coloured, so a heading is a line
/// painted bold and nothing else): headings, then the first cell of every table row after its
/// header, and the label of every histogram bar, in order.
fn table_outline(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut headings, mut labels) = (Vec::new(), Vec::new());
    let mut in_body = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("\x1b[1m").and_then(|l| l.strip_suffix("\x1b[0m")) {
            if !h.contains('\x1b') {
                headings.push(h.to_string());
            }
        } else if line.starts_with('╞') {
            in_body = true;
        } else if line.starts_with('└') {
            in_body = false;
        } else if in_body && let Some(row) = line.strip_prefix('│') {
            let cells: Vec<&str> = row.trim_end_matches('│').split('┆').map(str::trim).collect();
            let label = cells[0];
            // A line of a wrapped cell: a blank first cell is another column's; a first cell
            // alone on its line (every other cell blank) goes on the label above.
            if cells[1..].iter().all(|c| c.is_empty()) && !label.is_empty() {
                let last: &mut String = labels.last_mut().unwrap();
                last.push(' ');
                last.push_str(label);
            } else if !label.is_empty() {
                labels.push(label.to_string());
            }
        } else if let Some((label, _)) = line.split_once(" │\x1b[36m") {
            labels.push(label.trim().to_string());
        }
    }
    (headings, labels)
}

/// Markdown's escapes undone: `\(` is `(`, `&lt;` is `<`.
fn unescape_markdown(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The same outline of a Markdown report: its `###` headings, and the first cell of every
/// table row after the rule under the header.
fn markdown_outline(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut headings, mut labels) = (Vec::new(), Vec::new());
    let mut in_body = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            headings.push(unescape_markdown(h));
        } else if line.starts_with("|---") {
            in_body = true;
        } else if !line.starts_with('|') {
            in_body = false;
        } else if in_body {
            let label = line.trim_start_matches("| ").split(" | ").next().unwrap();
            labels.push(unescape_markdown(label.trim()));
        }
    }
    (headings, labels)
}

/// Both formats walk one list of sections, so they show the same sections and the same rows.
#[test]
fn table_and_markdown_show_the_same_sections_and_rows() {
    for sample in ["claude-home", "bedrock-home", "late-home", "otel"] {
        let home = testdata().join(sample);
        let path = home.to_str().unwrap();
        let input: Vec<&str> = if sample == "otel" { vec!["--otel", path] } else { vec![path] };
        let table: Run = ccdoctor(&home).args(["scan", "--color", "always"]).args(&input).output().unwrap().into();
        let markdown: Run =
            ccdoctor(&home).args(["scan", "--format", "markdown"]).args(&input).output().unwrap().into();
        assert_eq!((table.code, markdown.code), (0, 0), "{sample}: {}{}", table.stderr, markdown.stderr);
        let (t_headings, t_labels) = table_outline(&table.stdout);
        let (m_headings, m_labels) = markdown_outline(&markdown.stdout);
        // Not vacuous: the errors table and the recommendation are in every sample.
        assert!(t_headings.iter().any(|h| h == "Errors"), "{sample}: {t_headings:?}");
        assert!(t_headings.iter().any(|h| h.starts_with("Recommendation")), "{sample}: {t_headings:?}");
        assert!(t_labels.iter().any(|l| l == "Throttled (429), retried"), "{sample}: {t_labels:?}");
        assert_eq!(t_headings, m_headings, "{sample}: section titles differ");
        assert_eq!(t_labels, m_labels, "{sample}: row labels differ");
    }
}
