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

use super::root::{Root, RootKind};
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
    pub warnings: Vec<Warning>,
    /// Files and folders that could not be read.
    pub unreadable: u64,
    /// Entries with a transcript's name that are not regular files.
    pub not_regular: u64,
    /// Files left unread because `--since` is after their last modification.
    pub older_than_since: u64,
}

/// Hands each file under `roots` to `on_file` as soon as it is found, in walk order (each
/// folder's entries by name, depth first), so that reading can start before the walk ends.
/// `modified_since` skips files whose modification time is older (they cannot hold a newer
/// event). Returns what was not handed over: warnings and counts.
pub fn discover(roots: &[Root], modified_since: Option<SystemTime>, on_file: &mut dyn FnMut(Input)) -> Discovery {
    let mut w = Walker { d: Discovery::default(), seen: HashSet::new(), modified_since, on_file };
    for root in roots {
        match root.kind {
            RootKind::Home => {
                let projects = root.path.join("projects");
                if projects.is_dir() {
                    w.walk(&projects, FileKind::Transcript, usize::MAX);
                }
                let debug = root.path.join("debug");
                if debug.is_dir() {
                    w.walk(&debug, FileKind::DebugLog, 1);
                }
            }
            RootKind::Projects => w.walk(&root.path, FileKind::Transcript, usize::MAX),
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
                w.consider(&root.path, kind, project);
            }
            RootKind::DebugLog => w.consider(&root.path, FileKind::DebugLog, String::new()),
        }
    }
    w.d
}

fn wanted(name: &OsStr, kind: FileKind) -> bool {
    let ext = match kind {
        FileKind::Transcript => "jsonl",
        FileKind::DebugLog => "txt",
    };
    Path::new(name).extension() == Some(OsStr::new(ext))
}

struct Walker<'a> {
    d: Discovery,
    /// Identities of the files found so far: a file reached twice is read once.
    seen: HashSet<(u64, u64)>,
    modified_since: Option<SystemTime>,
    on_file: &'a mut dyn FnMut(Input),
}

impl Walker<'_> {
    fn walk(&mut self, top: &Path, kind: FileKind, max_depth: usize) {
        // `<session>/tool-results/` holds spilled tool output, not transcripts.
        let walker = WalkDir::new(top)
            .follow_links(true)
            .max_depth(max_depth)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !(e.file_type().is_dir() && e.depth() > 0 && e.file_name() == "tool-results"));
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(err) => {
                    let path = err.path().map(Path::to_path_buf).unwrap_or_else(|| top.to_path_buf());
                    let message = if err.loop_ancestor().is_some() {
                        "symbolic link loop, not followed".to_string()
                    } else {
                        self.d.unreadable += 1;
                        format!("cannot read: {}", err.io_error().map_or_else(|| err.to_string(), |e| e.to_string()))
                    };
                    self.d.warnings.push(Warning::new(path, None, message));
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
            self.consider(entry.path(), kind, project);
        }
    }

    fn consider(&mut self, path: &Path, kind: FileKind, project: String) {
        let d = &mut self.d;
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
        if !self.seen.insert(file_identity(&meta, path)) {
            return;
        }
        if let (Some(since), Ok(mtime)) = (self.modified_since, meta.modified())
            && mtime < since
        {
            d.older_than_since += 1;
            return;
        }
        (self.on_file)(Input { path: path.to_path_buf(), kind, project, len: meta.len() });
    }
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
