//! Finds the files a scan reads: transcripts under `projects/`, debug logs under `debug/`.
//!
//! Only regular files are read (a FIFO or device named `x.jsonl` would hang a reader);
//! symbolic links are followed, loops are reported, and a file reached twice (through a link,
//! or because two roots overlap) is read once.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use walkdir::WalkDir;

use crate::config::{Root, RootKind};
use crate::warning::Warning;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Transcript,
    DebugLog,
}

/// One file to read.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    pub kind: FileKind,
    /// The project folder name (`-home-u-my-app`) the transcript sits in; empty for debug logs.
    pub project: String,
    pub len: u64,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub files: Vec<Input>,
    pub warnings: Vec<Warning>,
    /// Files and folders that could not be read.
    pub unreadable: u64,
    /// Entries with a transcript's name that are not regular files.
    pub not_regular: u64,
    /// Files left unread because `--since` is after their last modification.
    pub older_than_since: u64,
}

/// Lists the files under `roots`, sorted by path. `modified_since` skips files whose
/// modification time is older (they cannot hold a newer event).
pub fn discover(roots: &[Root], modified_since: Option<SystemTime>) -> Discovery {
    let mut d = Discovery::default();
    let mut seen = HashSet::new();
    for root in roots {
        match root.kind {
            RootKind::Home => {
                let projects = root.path.join("projects");
                if projects.is_dir() {
                    walk(&mut d, &mut seen, &projects, FileKind::Transcript, usize::MAX, modified_since);
                }
                let debug = root.path.join("debug");
                if debug.is_dir() {
                    walk(&mut d, &mut seen, &debug, FileKind::DebugLog, 1, modified_since);
                }
            }
            RootKind::Projects => walk(&mut d, &mut seen, &root.path, FileKind::Transcript, usize::MAX, modified_since),
            RootKind::File => {
                let project = root
                    .path
                    .parent()
                    .and_then(Path::file_name)
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let kind = if root.path.extension() == Some(OsStr::new("txt")) {
                    FileKind::DebugLog
                } else {
                    FileKind::Transcript
                };
                consider(&mut d, &mut seen, &root.path, kind, project, modified_since);
            }
        }
    }
    d.files.sort_by(|a, b| a.path.cmp(&b.path));
    d
}

fn wanted(name: &OsStr, kind: FileKind) -> bool {
    let ext = match kind {
        FileKind::Transcript => "jsonl",
        FileKind::DebugLog => "txt",
    };
    Path::new(name).extension() == Some(OsStr::new(ext))
}

fn walk(
    d: &mut Discovery,
    seen: &mut HashSet<(u64, u64)>,
    top: &Path,
    kind: FileKind,
    max_depth: usize,
    modified_since: Option<SystemTime>,
) {
    let walker = WalkDir::new(top).follow_links(true).max_depth(max_depth).sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err.path().map(Path::to_path_buf).unwrap_or_else(|| top.to_path_buf());
                let message = if err.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else {
                    d.unreadable += 1;
                    format!("cannot read: {}", err.io_error().map_or_else(|| err.to_string(), |e| e.to_string()))
                };
                d.warnings.push(Warning::new(path, None, message));
                continue;
            }
        };
        if entry.file_type().is_dir() || !wanted(entry.file_name(), kind) {
            continue;
        }
        let project = match kind {
            FileKind::Transcript => entry
                .path()
                .strip_prefix(top)
                .ok()
                .and_then(|rel| {
                    let mut comps = rel.components();
                    let first = comps.next()?;
                    // A file directly in the folder belongs to the folder itself.
                    comps.next().map(|_| first.as_os_str().to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| top.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()),
            FileKind::DebugLog => String::new(),
        };
        consider(d, seen, entry.path(), kind, project, modified_since);
    }
}

fn consider(
    d: &mut Discovery,
    seen: &mut HashSet<(u64, u64)>,
    path: &Path,
    kind: FileKind,
    project: String,
    modified_since: Option<SystemTime>,
) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            d.unreadable += 1;
            d.warnings.push(Warning::new(path.to_path_buf(), None, format!("cannot read: {e}")));
            return;
        }
    };
    if !meta.is_file() {
        if !meta.is_dir() {
            d.not_regular += 1;
            d.warnings.push(Warning::new(path.to_path_buf(), None, "not a regular file, skipped".to_string()));
        }
        return;
    }
    if !seen.insert(file_identity(&meta, path)) {
        return;
    }
    if let (Some(since), Ok(mtime)) = (modified_since, meta.modified())
        && mtime < since
    {
        d.older_than_since += 1;
        return;
    }
    d.files.push(Input { path: path.to_path_buf(), kind, project, len: meta.len() });
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata, _path: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata, path: &Path) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf()).hash(&mut h);
    (0, h.finish())
}
