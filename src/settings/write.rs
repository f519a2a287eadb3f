//! `--write`, `--dry-run` and `--revert`: put a value into a settings file's `env`, or put
//! the newest backup back, as carefully as a package manager edits a config.
//!
//! A write reads the file, edits the text ([`super::edit`]), stages the result beside
//! it, backs up the exact bytes it read, then checks that the file still holds those bytes
//! before renaming over it. If something (Claude Code itself) changed the file meanwhile, the
//! change is redone on the new contents, a few times, and then given up rather than clobbered.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::atomic::{self, FileError, Snapshot};
use super::edit::{self, EditError};
use super::{MAX_OUTPUT, MAX_THINKING, SettingsSources, as_count, read_file};

/// Attempts before a file that keeps changing is given up on.
pub const ATTEMPTS: u32 = 5;
/// Claude Code ignores a settings file larger than this, so a write that would leave one
/// this large is refused: the value would never take effect.
pub const CLAUDE_CODE_MAX_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {source}; not changed")]
    Edit { path: PathBuf, source: EditError },
    #[error("{path} changed {attempts} times while being written; not changed (try again when Claude Code is idle)")]
    Busy { path: PathBuf, attempts: u32 },
    #[error("{0}: no ccdoctor backup beside it to revert to")]
    NoBackup(PathBuf),
    #[error(
        "{0}: the file is empty (Claude Code may be writing it); not changed: run again, or delete the file to have it created"
    )]
    Empty(PathBuf),
    #[error("nothing written: the recommendation has no value to set (see its advice)")]
    NoValue,
    #[error(
        "{path}: would be {len} bytes; Claude Code refuses settings files over 2 MiB, so the value would not take effect; not changed"
    )]
    TooLargeForClaude { path: PathBuf, len: u64 },
}

impl WriteError {
    /// Whether the problem is the file's content or kind (exit 2) rather than a failure
    /// while doing the work (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            // A file ccdoctor may not read or write is one it cannot use; other I/O errors are
            // failures while working.
            WriteError::File(FileError::Io { source, .. }) => source.kind() == std::io::ErrorKind::PermissionDenied,
            WriteError::Busy { .. } | WriteError::NoValue => false,
            WriteError::File(_)
            | WriteError::Edit { .. }
            | WriteError::NoBackup(_)
            | WriteError::Empty(_)
            | WriteError::TooLargeForClaude { .. } => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The value was written over an existing file.
    Written,
    /// The file did not exist and was created.
    Created,
    /// The file already held the value.
    Unchanged,
    /// `--dry-run`: what a write would do; nothing written.
    DryRun,
    /// `--revert`: the newest backup was put back.
    Reverted,
}

/// What a write, dry run or revert did: plain data for the renderers. Paths and values are
/// kept as they are (the JSON output writes them as JSON strings); the table and Markdown
/// renderers escape them for the terminal. Values are shown only as [`crate::redact`] allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    pub action: Action,
    /// The settings file as named.
    pub path: String,
    /// The file written, when `path` is a symlink.
    pub link_target: Option<String>,
    pub key: &'static str,
    /// The old value's JSON text (`null`: the key was not there), or `<redacted>` when it is
    /// not a count (and no `--show-env`).
    pub old: Option<String>,
    /// The new value's JSON text.
    pub new: Option<String>,
    /// The backup of the replaced bytes.
    pub backup: Option<String>,
    /// Things that stop the value from taking effect, or that it affects.
    pub notes: Vec<String>,
    /// The command that undoes the write.
    pub undo: Option<String>,
}

impl WriteOutcome {
    /// An outcome for `path` (which resolves to `real`) with nothing recorded yet.
    fn new(action: Action, path: &Path, real: &Path) -> Self {
        Self {
            action,
            path: display(path),
            link_target: (real != path).then(|| display(real)),
            key: MAX_OUTPUT,
            old: None,
            new: None,
            backup: None,
            notes: Vec::new(),
            undo: None,
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// A `CLAUDE_CODE_MAX_OUTPUT_TOKENS` value's JSON text for a message: `<redacted>` unless it
/// may be shown ([`crate::redact`]), at most 60 characters.
fn shown(raw: &str, show_env: bool) -> String {
    short(crate::redact::shown_json(MAX_OUTPUT, raw, show_env))
}

/// At most 60 characters of `s`.
fn short(s: String) -> String {
    if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s }
}

/// `path` quoted for a POSIX shell when it needs it.
fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b)) {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn revert_command(path: &Path) -> String {
    format!("ccdoctor scan --revert --settings {}", shell_quote(path))
}

/// Checks before a long scan that `path` can take the write: a missing file, or a regular
/// file holding a JSON object whose `env` (if any) is an object.
pub fn check(path: &Path) -> Result<(), WriteError> {
    let real = atomic::real_path(path)?;
    let snap = atomic::read(&real)?;
    usable(path, &snap, snap.text(&real)?).map(|_| ())
}

/// Refuses an existing file that is blank (it may be half-written) or not a settings object.
fn usable(path: &Path, snap: &Snapshot, text: &str) -> Result<(), WriteError> {
    if snap.bytes.is_some() && text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(WriteError::Empty(path.to_path_buf()));
    }
    fits(path, text.len())?;
    edit::parse(text).map(|_| ()).map_err(|source| WriteError::Edit { path: path.to_path_buf(), source })
}

/// Sets `env.CLAUDE_CODE_MAX_OUTPUT_TOKENS` to `value` (as a JSON string) in `path`.
///
/// `between` runs after each attempt has read and edited the file and before it commits;
/// tests use it to change the file at the worst moment.
pub fn set_max_output(
    path: &Path,
    value: u64,
    dry_run: bool,
    stamp: &str,
    sources: &SettingsSources,
    between: &mut dyn FnMut(u32),
) -> Result<WriteOutcome, WriteError> {
    let real = atomic::real_path(path)?;
    let value_text = value.to_string();
    let mut outcome = WriteOutcome::new(Action::DryRun, path, &real);
    outcome.new = Some(format!("\"{value_text}\""));
    for attempt in 0..ATTEMPTS {
        let snap = atomic::read(&real)?;
        let text = snap.text(&real)?;
        usable(path, &snap, text)?;
        let edited = match &snap.bytes {
            None => edit::Edit { text: edit::new_document(MAX_OUTPUT, &value_text), old: None, changed: true },
            Some(_) => edit::set_env_string(text, MAX_OUTPUT, &value_text)
                .map_err(|source| WriteError::Edit { path: path.to_path_buf(), source })?,
        };
        fits(path, edited.text.len())?;
        outcome.old = edited.old.as_deref().map(|old| shown(old, sources.show_env));
        outcome.notes = notes(path, &edited.text, value, sources);
        if !edited.changed {
            outcome.action = Action::Unchanged;
            return Ok(outcome);
        }
        if dry_run {
            return Ok(outcome);
        }
        let staged = atomic::stage(&real, edited.text.as_bytes(), &snap)?;
        let backup = match &snap.bytes {
            Some(bytes) => Some(super::backup::create(path, bytes, snap.mode, stamp, "bak")?),
            None => None,
        };
        between(attempt);
        if still(&real, &snap)? {
            staged.commit()?;
            outcome.action = if snap.bytes.is_some() { Action::Written } else { Action::Created };
            outcome.backup = backup.as_deref().map(display);
            outcome.undo = Some(match &backup {
                Some(_) => revert_command(path),
                None => format!("rm {}", shell_quote(path)),
            });
            return Ok(outcome);
        }
        // Someone else wrote the file: this backup is of contents that were not replaced.
        if let Some(b) = backup {
            let _ = std::fs::remove_file(b);
        }
    }
    Err(WriteError::Busy { path: path.to_path_buf(), attempts: ATTEMPTS })
}

/// Refuses contents Claude Code would not read.
fn fits(path: &Path, len: usize) -> Result<(), WriteError> {
    if len as u64 > CLAUDE_CODE_MAX_BYTES {
        return Err(WriteError::TooLargeForClaude { path: path.to_path_buf(), len: len as u64 });
    }
    Ok(())
}

/// Whether the file still holds what `snap` read.
fn still(real: &Path, snap: &Snapshot) -> Result<bool, WriteError> {
    Ok(atomic::read(real)?.bytes == snap.bytes)
}

/// Puts the newest backup of `path` back. The current contents, when they differ, are kept as
/// a `.pre-revert` file first; the backup used is then removed, so a second `--revert` goes
/// one step further back.
pub fn revert(path: &Path, stamp: &str) -> Result<WriteOutcome, WriteError> {
    let real = atomic::real_path(path)?;
    let backup = super::backup::newest(path).ok_or_else(|| WriteError::NoBackup(path.to_path_buf()))?;
    let saved = atomic::read(&backup)?;
    let bytes = saved.bytes.clone().unwrap_or_default();
    let mut outcome = WriteOutcome::new(Action::Unchanged, path, &real);
    outcome.backup = Some(display(&backup));
    let current = atomic::read(&real)?;
    if current.bytes.as_deref() == Some(&bytes[..]) {
        outcome.notes.push("the file already holds the backup's contents; nothing written".into());
        return Ok(outcome);
    }
    let like = if current.bytes.is_some() { &current } else { &saved };
    let staged = atomic::stage(&real, &bytes, like)?;
    let kept = match &current.bytes {
        Some(b) => Some(super::backup::create(path, b, current.mode, stamp, "pre-revert")?),
        None => None,
    };
    if !still(&real, &current)? {
        if let Some(k) = kept {
            let _ = std::fs::remove_file(k);
        }
        return Err(WriteError::Busy { path: path.to_path_buf(), attempts: 1 });
    }
    staged.commit()?;
    std::fs::remove_file(&backup).map_err(|e| FileError::io(&backup, e))?;
    outcome.action = Action::Reverted;
    if let Some(k) = kept {
        outcome.notes.push(format!("the contents it replaced are kept in {}", display(&k)));
    }
    Ok(outcome)
}

/// Where a settings file sits in Claude Code's precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Managed,
    /// `<project>/.claude/settings.local.json`.
    Local(PathBuf),
    /// `<project>/.claude/settings.json`.
    Project(PathBuf),
    User,
    /// A file Claude Code reads only when given `--settings`.
    Other,
}

/// Two paths name the same file (following links; a missing file compares by its path).
fn same_file(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| std::fs::canonicalize(p).ok().or_else(|| atomic::real_path(p).ok());
    a == b || (norm(a).is_some() && norm(a) == norm(b))
}

fn scope_of(target: &Path, sources: &SettingsSources) -> Scope {
    let is = |p: &Option<PathBuf>| p.as_deref().is_some_and(|p| same_file(p, target));
    if sources.managed.iter().any(|p| same_file(p, target)) {
        return Scope::Managed;
    }
    if sources.user.iter().any(|p| same_file(p, target)) {
        return Scope::User;
    }
    let project_of =
        |p: &Option<PathBuf>| p.as_deref().and_then(Path::parent).and_then(Path::parent).map(Path::to_path_buf);
    if is(&sources.local) {
        return Scope::Local(project_of(&sources.local).unwrap_or_default());
    }
    if is(&sources.project) {
        return Scope::Project(project_of(&sources.project).unwrap_or_default());
    }
    let dir = target.parent();
    let in_dot_claude = dir.and_then(Path::file_name).is_some_and(|n| n == ".claude");
    let project = dir.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    match target.file_name().and_then(|n| n.to_str()) {
        Some("settings.local.json") if in_dot_claude => Scope::Local(project),
        Some("settings.json") if in_dot_claude => Scope::Project(project),
        _ => Scope::Other,
    }
}

/// What keeps the written value from taking effect, and what it collides with.
fn notes(target: &Path, new_text: &str, value: u64, sources: &SettingsSources) -> Vec<String> {
    let mut notes = Vec::new();
    let scope = scope_of(target, sources);
    let mut above: Vec<(String, PathBuf)> =
        sources.managed.iter().map(|p| ("managed".to_string(), p.clone())).collect();
    match &scope {
        Scope::Managed => above.clear(),
        Scope::Local(_) | Scope::Other => {}
        Scope::Project(p) => above.push(("local".into(), p.join(".claude/settings.local.json"))),
        Scope::User => {
            let cwd = sources.local.as_deref().and_then(Path::parent).and_then(Path::parent);
            let when = cwd.map(|c| format!(" (when Claude Code runs in {})", display(c))).unwrap_or_default();
            above.extend(sources.local.iter().map(|p| (format!("local{when}"), p.clone())));
            above.extend(sources.project.iter().map(|p| (format!("project{when}"), p.clone())));
        }
    }
    if scope == Scope::Other {
        notes.push(format!(
            "{} is not a file Claude Code reads by itself; it takes effect only as `claude --settings {}`",
            display(target),
            shell_quote(target)
        ));
    }
    for (label, path) in above {
        if same_file(&path, target) {
            continue;
        }
        match read_file(&path, sources.show_env) {
            Ok(Some(v)) => {
                if let Some(other) = v.env.get(MAX_OUTPUT)
                    && as_count(other) != Some(value)
                {
                    notes.push(format!(
                        "will not take effect: the {label} settings {} set {MAX_OUTPUT} = {}, which outranks {}",
                        display(&path),
                        shown(&other.to_string(), sources.show_env),
                        display(target)
                    ));
                }
            }
            Ok(None) => {}
            Err(msg) => notes.push(format!("could not check {} ({msg})", display(&path))),
        }
    }
    if let Some(shell) = sources.shell.get(MAX_OUTPUT)
        && shell.trim().parse::<u64>().ok() != Some(value)
    {
        notes.push(format!(
            "the shell sets {MAX_OUTPUT}={}; Claude Code 2.0.1 and later let the settings file's `env` override it (older versions keep the shell's value)",
            short(crate::redact::shown_value(MAX_OUTPUT, &serde_json::Value::String(shell.clone()), sources.show_env))
        ));
    }
    let thinking = edit::parse(new_text)
        .ok()
        .and_then(|(doc, _)| doc.get("env").and_then(|e| e.get(MAX_THINKING)).and_then(as_count));
    if let Some(t) = thinking
        && t >= value
    {
        notes.push(format!(
            "{MAX_THINKING} = {t} in this file is at or above the new maximum of {value}: thinking could use the whole response and leave no room for the answer; lower it below {value} yourself (ccdoctor leaves it alone)"
        ));
    }
    notes
}
