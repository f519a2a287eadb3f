//! Warnings about input the scan could not use. They go to stderr, never stdout, and name
//! the file (and line) so the user can look.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl Warning {
    pub fn new(path: PathBuf, line: Option<u64>, message: String) -> Self {
        Self { path, line, message }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = escape_control(&self.path.to_string_lossy());
        match self.line {
            Some(n) => write!(f, "{path}:{n}: {}", escape_control(&self.message)),
            None => write!(f, "{path}: {}", escape_control(&self.message)),
        }
    }
}

/// Characters that drive a terminal or reorder what it shows: C0 and C1 controls (ESC, BEL,
/// CR, CSI, …) and the bidirectional overrides that can make text read other than it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Escapes control characters (ESC, BEL, CR, …) so text taken from a transcript or a file
/// name cannot drive the terminal. Other characters, including non-ASCII, pass through.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("plain é"), "plain é");
        assert_eq!(escape_control("a\u{1b}[31mred\u{7}"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(escape_control("x\ny"), "x\\ny");
        // C1 CSI and a right-to-left override.
        assert_eq!(escape_control("a\u{9b}31m b\u{202e}cba"), "a\\u{9b}31m b\\u{202e}cba");
    }

    #[test]
    fn display_names_file_and_line() {
        let w = Warning::new("/t/a.jsonl".into(), Some(7), "invalid JSON".into());
        assert_eq!(w.to_string(), "/t/a.jsonl:7: invalid JSON");
    }
}
