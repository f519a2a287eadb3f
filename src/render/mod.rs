//! Renderers: the report as a table for people, JSON for scripts, Markdown for issues.
//! Each takes the finished `Report` and writes it; none computes anything of its own.

pub mod json;
pub mod markdown;
pub mod recommendation;
pub mod table;
pub mod write;

use crate::report::{ErrorCounts, Report};

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Word-wraps `text` to lines of at most `width` characters (a longer word stands alone).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// `1 file`, `2 files`, `1,000 files`.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A share in 0..=1 as a percentage with one decimal.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Bytes in binary units, for the data-quality line.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// The label of a histogram bin.
pub fn bin_label(from: u64, to: Option<u64>) -> String {
    match to {
        Some(to) => format!("{}–{}", thousands(from), thousands(to)),
        None => format!("{}+", thousands(from)),
    }
}

/// The rows of the error summary: label, count, and a note. Shared by table and Markdown.
pub fn error_rows(e: &ErrorCounts) -> Vec<(String, u64, &'static str)> {
    let mut rows = vec![
        ("Throttled (429), failed for good".to_string(), e.rate_limit.final_, "lower max output or parallelism"),
        ("Throttled (429), retried".to_string(), e.rate_limit.retries, "each failed attempt"),
        ("Per-day tokens quota (429)".to_string(), e.rate_limit.per_day_quota, "max output does not help"),
        ("Subscription usage limit".to_string(), e.usage_limit, "not throttling"),
    ];
    if e.output_token_maximum.limits.is_empty() {
        rows.push(("Exceeded the output token max".to_string(), 0, "response cut"));
    }
    for (limit, n) in &e.output_token_maximum.limits {
        let limit = limit.parse::<u64>().map_or_else(|_| limit.clone(), thousands);
        rows.push((format!("Exceeded {limit}-token output max"), *n, "response cut"));
    }
    rows.push(("Stopped at max_tokens".to_string(), e.max_tokens_stops, "response cut"));
    rows.push(("Recovery prompts (continued)".to_string(), e.recovery_prompts, "response cut"));
    rows.push(("Overloaded (529)".to_string(), e.overloaded, "server side"));
    rows.push(("Other API errors".to_string(), e.other, ""));
    rows
}

/// The data-quality line.
pub fn quality_line(r: &Report) -> String {
    let s = &r.scan;
    let mut line = format!(
        "Read {} ({}, {}), {}, {} lines, {} malformed; {} of {} responses estimated from content (placeholder usage).",
        count_of(s.read.files, "file", "files"),
        count_of(s.read.transcript_files, "transcript", "transcripts"),
        count_of(s.read.debug_logs, "debug log", "debug logs"),
        bytes(s.read.bytes),
        thousands(s.read.lines),
        thousands(s.read.malformed_lines),
        thousands(r.responses.estimated),
        thousands(r.responses.count),
    );
    let skipped = s.read.unreadable + s.read.not_regular;
    if skipped > 0 {
        line.push_str(&format!(" {} unreadable or not regular (see warnings).", thousands(skipped)));
    }
    if s.read.older_than_since > 0 {
        line.push_str(&format!(" {} files older than --since not read.", thousands(s.read.older_than_since)));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_by_hand() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn wrap_by_hand() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("toolongword x", 4), ["toolongword", "x"]);
        assert!(wrap("", 10).is_empty());
    }

    #[test]
    fn bytes_by_hand() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(17 * 1024 * 1024), "17.0 MiB");
    }
}
