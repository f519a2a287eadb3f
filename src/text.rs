//! The bottom floor: how numbers and text are written for people. Thousands separators,
//! percentages, plurals, wrapping, and escaping of text that came from files. Every renderer
//! formats through here, so a number reads the same in every format.

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

/// A duration in words, to the second below ten minutes, else to the minute: `42 s`,
/// `3 min 5 s`, `12 min`, `2 h 5 min`.
pub fn duration_words(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..600 if !s.is_multiple_of(60) => format!("{} min {} s", s / 60, s % 60),
        60..3600 => format!("{} min", s / 60),
        _ if (s / 60).is_multiple_of(60) => format!("{} h", thousands(s / 3600)),
        _ => format!("{} h {} min", thousands(s / 3600), s / 60 % 60),
    }
}

/// A share in 0..=1 as a percentage with one decimal; a share that is not none but rounds to
/// 0.0% is `<0.1%`, one that is not all but rounds to 100.0% is `>99.9%` (`19 of 57,756`
/// is not 0.0%).
pub fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p > 0.0 && p < 0.05 {
        "<0.1%".to_string()
    } else if (99.95..100.0).contains(&p) {
        ">99.9%".to_string()
    } else {
        format!("{p:.1}%")
    }
}

/// `x` as [`percent`] writes it, but where that would print it equal to `than` while it is
/// larger, with two or three decimals: 7 of 697 is "1.004%" beside a 1% limit, not "1.0%",
/// which would read as no more than it.
pub fn percent_beside(x: f64, than: f64) -> String {
    let plain = percent(x);
    if x <= than || plain != percent(than) {
        return plain;
    }
    (2..=3)
        .map(|d| (format!("{:.*}%", d, x * 100.0), format!("{:.*}%", d, than * 100.0)))
        .find(|(a, b)| a != b)
        .map_or_else(|| format!("{:.3}%", x * 100.0), |(a, _)| a)
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

/// Characters that drive a terminal or hide or reorder what it shows: C0 and C1 controls and
/// DEL (ESC, BEL, CR, CSI, …), the bidirectional marks, embeddings, overrides and isolates
/// that can make text read other than it is (U+061C, U+200E–U+200F, U+202A–U+202E,
/// U+2066–U+2069), zero-width and invisible characters (U+200B–U+200D, U+2060–U+2064,
/// U+FEFF), the line and paragraph separators (U+2028–U+2029) and the interlinear annotation
/// marks (U+FFF9–U+FFFB).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Unicode's default-ignorable code points (DerivedCoreProperties.txt): drawn as
            // nothing, they hide text (tag characters spell words no one sees), and the
            // line and paragraph separators and interlinear annotations.
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// Makes text safe for one line of a terminal: every character of `is_unsafe` is written
/// escaped (`\u{1b}`, `\n`, `\u{202e}`); other characters, non-ASCII included, pass through.
/// This is the one sanitizer for terminal output: every line ccdoctor writes to stdout (the
/// table) or stderr (warnings, errors) goes through it, whatever it holds. It is idempotent
/// (its output holds nothing it would escape), so text escaped twice reads the same.
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from data quoted in a one-line message: terminal-safe ([`escape_control`]), then cut
/// to at most `max` characters (the last one `…` when cut), so that no invisible, reordering
/// or line-breaking character reaches the reader, and one long field cannot fill the line.
pub fn one_line(s: &str, max: usize) -> String {
    let safe = escape_control(s);
    if safe.chars().count() <= max {
        return safe;
    }
    let mut out: String = safe.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// [`escape_control`] applied to each line of a text of several lines (a rendered table, a
/// clap message), keeping its line breaks.
pub fn escape_control_lines(s: &str) -> String {
    s.split('\n').map(escape_control).collect::<Vec<_>>().join("\n")
}

/// Serialized JSON made terminal-safe without changing the data: every character of
/// `is_unsafe` from DEL up (DEL, C1 controls, bidirectional and invisible characters),
/// which serde_json leaves as they are, becomes a `\uXXXX` escape. serde_json itself escapes
/// the controls below U+0020 inside strings (the line breaks between members stay). Such
/// characters occur only inside JSON strings, so the document parses to the same values.
pub fn json_escape_unsafe(json: &str) -> String {
    let escaped = |c: char| c >= '\u{7f}' && is_unsafe(c);
    if !json.chars().any(escaped) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if escaped(c) {
            // Every such character is in the Basic Multilingual Plane: one escape each.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text for Markdown (GitHub-flavoured): terminal-safe ([`escape_control`]), then every
/// character Markdown or HTML could read as syntax made literal, so data renders as the text
/// it is. `\`, `` ` ``, `*`, `_`, `[`, `]`, `(`, `)`, `!`, `#`, `|`, `{`, `}` and `~` get a
/// backslash; `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`. So `<img …>`, `<script>`,
/// `![x](…)`, `[x](javascript:…)` and `<http://…>` show as text, and `|` cannot end a table
/// cell. For table cells, list items, headings and quoted lines; not for code spans or fenced
/// blocks, where backslashes are literal.
pub fn markdown_text(s: &str) -> String {
    let safe = escape_control(s);
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '#' | '|' | '{' | '}' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        let cases = [
            (0, "0 s"),
            (999, "0 s"),
            (42_500, "42 s"),
            (60_000, "1 min"),
            (185_000, "3 min 5 s"),
            (599_000, "9 min 59 s"),
            (601_000, "10 min"),
            (725_000, "12 min"),
            (3_600_000, "1 h"),
            (7_500_000, "2 h 5 min"),
        ];
        for (ms, words) in cases {
            assert_eq!(duration_words(ms), words, "{ms}");
        }
    }

    /// The new user's trial of 2026-12-07: "1.0% of responses are still cut ..., more than
    /// the 1.0% the p99 target allows" was 7 of 697 (1.0043%).
    #[test]
    fn a_share_beside_a_limit_is_shown_apart_from_it() {
        assert_eq!(percent_beside(7.0 / 697.0, 0.01), "1.004%");
        assert_eq!(percent_beside(0.0104, 0.01), "1.04%");
        assert_eq!(percent_beside(0.012, 0.01), "1.2%");
        assert_eq!(percent_beside(0.01, 0.01), "1.0%");
        assert_eq!(percent_beside(0.005, 0.01), "0.5%");
    }

    #[test]
    fn thousands_by_hand() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    /// 19 of 57,756 is 0.033%: shown as under 0.1%, not as none; 57,737 of 57,756 as over
    /// 99.9%, not as all.
    #[test]
    fn percent_by_hand() {
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(19.0 / 57_756.0), "<0.1%");
        assert_eq!(percent(0.0006), "0.1%");
        assert_eq!(percent(0.4), "40.0%");
        assert_eq!(percent(57_737.0 / 57_756.0), ">99.9%");
        assert_eq!(percent(0.9994), "99.9%");
        assert_eq!(percent(1.0), "100.0%");
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

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("plain é"), "plain é");
        assert_eq!(escape_control("a\u{1b}[31mred\u{7}"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(escape_control("x\ny"), "x\\ny");
        // C1 CSI and a right-to-left override.
        assert_eq!(escape_control("a\u{9b}31m b\u{202e}cba"), "a\\u{9b}31m b\\u{202e}cba");
        // DEL, isolates, zero-width characters, the line separator, a BOM.
        for c in ['\u{7f}', '\u{2066}', '\u{2069}', '\u{200b}', '\u{200f}', '\u{2028}', '\u{feff}', '\u{61c}'] {
            let s = escape_control(&format!("a{c}b"));
            assert!(!s.contains(c) && s.starts_with("a\\u{"), "{c:?}: {s}");
        }
        // Characters drawn as nothing (the adversarial review of 2026-12-05): tag characters
        // spelling a hidden command, a soft hyphen, fillers, variation selectors, musical
        // formatting.
        for c in [
            '\u{e0052}',
            '\u{e0001}',
            '\u{e007f}',
            '\u{ad}',
            '\u{206a}',
            '\u{180e}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{e0100}',
            '\u{34f}',
            '\u{1d173}',
            '\u{115f}',
            '\u{ffa0}',
            '\u{1bca0}',
        ] {
            let s = escape_control(&format!("a{c}b"));
            assert!(!s.contains(c) && s.starts_with("a\\u{"), "{c:?}: {s}");
        }
        assert_eq!(escape_control("ü中😀"), "ü中😀");
        // Idempotent: escaped text is escaped no further.
        let once = escape_control("x\u{1b}[31m\u{202e}y\n");
        assert_eq!(escape_control(&once), once);
        assert_eq!(escape_control_lines("a\u{1b}\nb\u{7}"), "a\\u{1b}\nb\\u{7}");
    }

    #[test]
    fn one_line_is_safe_and_bounded() {
        assert_eq!(one_line("Sonnet 4.5", 80), "Sonnet 4.5");
        let hostile = format!("claude-x\u{202e}\n\u{200b}\u{0}{}", "A".repeat(500_000));
        let line = one_line(&hostile, 80);
        assert_eq!(line.chars().count(), 80);
        assert!(line.ends_with('…') && !line.chars().any(is_unsafe), "{line}");
        assert!(line.starts_with("claude-x\\u{202e}\\n\\u{200b}\\u{0}AAA"), "{line}");
    }

    #[test]
    fn json_keeps_its_data_and_loses_its_invisibles() {
        let v = serde_json::json!({"p": "a\u{1b}[31m\u{9b}\u{7f}\u{202e}b\u{2066}é"});
        let text = json_escape_unsafe(&serde_json::to_string_pretty(&v).unwrap());
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text}");
        assert!(text.contains("\\u202e") && text.contains("é"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }

    #[test]
    fn markdown_text_renders_as_text() {
        assert_eq!(markdown_text("Sonnet 4.5"), "Sonnet 4.5");
        assert_eq!(markdown_text("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert\\(1\\)&gt;");
        assert_eq!(markdown_text("![p](http://x/y.png)"), "\\!\\[p\\]\\(http://x/y.png\\)");
        assert_eq!(
            markdown_text("a|b *c* _d_ `e` ~f~ #g {h} &lt; \\"),
            "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\~f\\~ \\#g \\{h\\} &amp;lt; \\\\"
        );
        // Controls are escaped first, then the backslash of the escape itself.
        assert_eq!(markdown_text("a\u{1b}b"), "a\\\\u\\{1b\\}b");
        for hostile in ["<script>alert(1)</script>", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>"] {
            let m = markdown_text(hostile);
            assert!(!m.contains('<') && !m.contains("](") && !m.contains("[x]"), "{m}");
        }
    }
}
