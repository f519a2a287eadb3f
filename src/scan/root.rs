//! What the scan reads: a config home, a folder of transcripts, or one file.

use std::path::PathBuf;

/// What a scan root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// A config home (`~/.claude`): `projects/` and `debug/` below it.
    Home,
    /// A folder of transcripts (a home's `projects/`, or any folder of `.jsonl` files).
    Projects,
    /// One file: a debug log if it ends in `.txt`, else a transcript.
    File,
    /// One debug log, whatever its name (`CLAUDE_CODE_DEBUG_LOGS_DIR`, which despite its
    /// name is a file, or `--debug-file`).
    DebugLog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: PathBuf,
    pub kind: RootKind,
}
