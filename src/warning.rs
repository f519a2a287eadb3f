//! Warnings about input the scan could not use. They go to stderr, never stdout, and name
//! the file (and line) so the user can look.

use std::fmt;
use std::path::PathBuf;

use crate::text::escape_control;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_line() {
        let w = Warning::new("/t/a.jsonl".into(), Some(7), "invalid JSON".into());
        assert_eq!(w.to_string(), "/t/a.jsonl:7: invalid JSON");
    }
}
