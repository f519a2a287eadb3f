//! `--write`, `--dry-run` and `--revert`: put a value into a settings file's `env`, or put
//! the newest backup back, as carefully as a package manager edits a config.
//!
//! A write reads the file, edits the text ([`super::edit`]), stages the result beside
//! it, backs up the exact bytes it read, then checks that the file still holds those bytes
//! before putting the new file in its place ([`atomic::Staged::commit_if_unchanged`]). If
//! something (Claude Code itself) changed the file meanwhile, the change is redone on the new
//! contents, a few times, and then given up rather than clobbered.
//!
//! Before any of it, a file that is not the user's to change is refused unless `--force` is
//! given (`permitted`): one owned by someone else (as root, every other user's), a read-only
//! one, or files to be made in a folder of someone who is neither the user nor root.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::atomic::{self, FileError, Snapshot, folder_of};
use super::backup;
use super::edit::{self, EditError};
use super::lock;
use super::{MAX_OUTPUT, MAX_THINKING, SettingsSources, as_count, claude_code_reads, read_file};

/// Attempts before a file that keeps changing is given up on.
pub const ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: {source}; not changed")]
    Edit { path: PathBuf, source: EditError },
    #[error("{path} changed {attempts} times while being written; not changed (try again when Claude Code is idle)")]
    Busy { path: PathBuf, attempts: u32 },
    #[error(
        "{path}: another ccdoctor has been writing or reverting it for {secs} s (it holds {lock}); not changed: try again when it is done"
    )]
    Locked { path: PathBuf, lock: PathBuf, secs: u64 },
    #[error("{0}: no ccdoctor backup beside it to revert to")]
    NoBackup(PathBuf),
    #[error(
        "{0}: ccdoctor created it, and it has changed since; not removed (delete it yourself if the changes are not wanted)"
    )]
    ChangedSinceCreated(PathBuf),
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
    #[error(
        "{path}: owned by uid {owner}, not by you (uid {me}); not changed: run as its owner, or add --force to change it anyway (its owner and mode are kept)"
    )]
    NotYours { path: PathBuf, owner: u32, me: u32 },
    #[error("{path}: read-only (mode {mode:04o}); not changed: make it writable, or add --force to replace it anyway")]
    ReadOnly { path: PathBuf, mode: u32 },
    #[error(
        "{path}: its folder {folder} belongs to uid {owner}, neither you (uid {me}) nor root; not changed: add --force if you trust that folder"
    )]
    ForeignFolder { path: PathBuf, folder: PathBuf, owner: u32, me: u32 },
    #[error(
        "{path}: the new file cannot be given the owner {uid}:{gid} the file has; not changed: run as root, or add --force to let the owner change"
    )]
    OwnerNotKept { path: PathBuf, uid: u32, gid: u32 },
    #[error("{path}: {why}; not restored: remove it or move it away to revert to an older backup")]
    BadBackup { path: PathBuf, why: String },
    #[error("{path}: not permitted ({why}); not changed: {what_to_do}")]
    NotPermitted { path: PathBuf, why: &'static str, what_to_do: &'static str },
}

impl WriteError {
    /// Whether the problem is the file's content, kind or permissions (exit 2) rather than a
    /// failure while doing the work (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            // A file ccdoctor may not read or write is one it cannot use; other I/O errors are
            // failures while working.
            WriteError::File(FileError::Io { source, .. }) => not_permitted(source).is_some(),
            WriteError::Busy { .. } | WriteError::Locked { .. } | WriteError::NoValue => false,
            WriteError::File(_)
            | WriteError::Edit { .. }
            | WriteError::NoBackup(_)
            | WriteError::ChangedSinceCreated(_)
            | WriteError::Empty(_)
            | WriteError::TooLargeForClaude { .. }
            | WriteError::NotYours { .. }
            | WriteError::ReadOnly { .. }
            | WriteError::ForeignFolder { .. }
            | WriteError::OwnerNotKept { .. }
            | WriteError::BadBackup { .. }
            | WriteError::NotPermitted { .. } => true,
        }
    }

    /// An I/O error that means "not permitted" told as such, with what to do.
    fn refined(self) -> Self {
        match self {
            WriteError::File(FileError::Io { path, source }) => match not_permitted(&source) {
                Some((why, what_to_do)) => WriteError::NotPermitted { path, why, what_to_do },
                None => WriteError::File(FileError::Io { path, source }),
            },
            other => other,
        }
    }
}

/// Why an I/O error means ccdoctor may not change the file, and what to do about it.
fn not_permitted(e: &std::io::Error) -> Option<(&'static str, &'static str)> {
    match e.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => {
            Some(("read-only file system", "remount it read-write, or name another file with --settings"))
        }
        std::io::ErrorKind::PermissionDenied => {
            Some(("permission denied", "run as a user who may write the file and its folder"))
        }
        // A file where its path needs a folder: no folder can be made there.
        std::io::ErrorKind::NotADirectory => {
            Some(("part of its path is a file, not a folder", "name another file with --settings"))
        }
        _ => None,
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
    /// The file is read by every user's Claude Code: managed settings, or a file named as
    /// such elsewhere (staged for a device manager to deploy).
    #[serde(skip)]
    pub for_everyone: bool,
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
            for_everyone: false,
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

/// `path` quoted for a shell when it needs it: in single quotes, or, where it holds a
/// character the terminal would be shown escaped (a line break, a control or invisible
/// character: [`crate::text::is_unsafe`]) or bytes that are not UTF-8, in ANSI-C quotes
/// (`$'…'`, which bash, zsh and ksh read) with those written as `\xHH`, so that the command
/// as printed names the same file (single quotes around a line break would be printed as
/// `\n`, which names another).
pub(crate) fn shell_quote(path: &Path) -> String {
    // A relative path starting with `-` would be read as a flag: `./` before it.
    let dotted;
    let path = if path.as_os_str().as_encoded_bytes().starts_with(b"-") {
        dotted = Path::new(".").join(path);
        dotted.as_path()
    } else {
        path
    };
    #[cfg(unix)]
    let bytes = std::borrow::Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()));
    #[cfg(not(unix))]
    let bytes = std::borrow::Cow::<[u8]>::Owned(path.display().to_string().into_bytes());
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    match std::str::from_utf8(&bytes) {
        Ok(s) if !s.chars().any(crate::text::is_unsafe) => format!("'{}'", s.replace('\'', "'\\''")),
        _ => ansi_c_quoted(&bytes),
    }
}

/// `bytes` in ANSI-C quotes (`$'…'`): a backslash and a quote escaped, a character the
/// terminal would show escaped and each byte that is not UTF-8 as `\xHH`.
fn ansi_c_quoted(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    let hex = |out: &mut String, b: &[u8]| b.iter().for_each(|b| out.push_str(&format!("\\x{b:02x}")));
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if crate::text::is_unsafe(c) => hex(&mut out, c.encode_utf8(&mut [0; 4]).as_bytes()),
                c => out.push(c),
            }
        }
        hex(&mut out, chunk.invalid());
    }
    out.push('\'');
    out
}

/// `path` for a command line, quoted (kept as data: the renderers make it terminal-safe).
fn arg(path: &Path) -> String {
    shell_quote(path)
}

fn revert_command(path: &Path, force: bool) -> String {
    let force = if force { " --force" } else { "" };
    format!("ccdoctor revert{force} --settings {}", arg(path))
}

/// Undoes the creation of `real`: the file (not a link to it, which was there before) and the
/// note of its creation, then the folders made for it, deepest first.
fn remove_command(real: &Path, note: Option<&Path>, made: &[PathBuf]) -> String {
    let mut cmd = format!("rm -- {}", arg(real));
    if let Some(note) = note {
        cmd.push_str(&format!(" {}", arg(note)));
    }
    if !made.is_empty() {
        let dirs: Vec<String> = made.iter().map(|d| arg(d)).collect();
        cmd.push_str(&format!(" && rmdir -- {}", dirs.join(" ")));
    }
    cmd
}

/// Checks before a long scan that `path` can take the write: a missing file, or a regular
/// file holding a JSON object whose `env` (if any) is an object, that is the user's to change
/// (or `force`), and, when `writing`, in a folder ccdoctor may write.
pub fn check(path: &Path, force: bool, writing: bool) -> Result<(), WriteError> {
    let checked = || -> Result<(), WriteError> {
        let real = atomic::real_path(path)?;
        let snap = atomic::read_here(&real)?;
        usable(path, &snap, snap.text(&real)?)?;
        permitted(path, &real, &snap, force)?;
        if writing {
            for dir in [folder_of(&real), folder_of(path)] {
                atomic::writable(dir).map_err(|e| FileError::io(&real, e))?;
            }
        }
        Ok(())
    };
    checked().map_err(WriteError::refined)
}

/// Refuses an existing file that is blank (it may be half-written) or not a settings object.
fn usable(path: &Path, snap: &Snapshot, text: &str) -> Result<(), WriteError> {
    if snap.bytes.is_some() && text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(WriteError::Empty(path.to_path_buf()));
    }
    fits(path, text.len())?;
    edit::parse(text).map(|_| ()).map_err(|source| WriteError::Edit { path: path.to_path_buf(), source })
}

/// The refusals `--force` lifts. A file owned by someone else (as root, any user's file): run
/// as root, ccdoctor would otherwise edit any user's settings unasked. A file without
/// its owner's write bit: someone made it read-only, and a rename would replace it all the
/// same. A folder, where files would be created, of someone who is neither the user nor root:
/// whoever owns it can swap what is in it while ccdoctor works.
fn permitted(path: &Path, real: &Path, snap: &Snapshot, force: bool) -> Result<(), WriteError> {
    if force {
        return Ok(());
    }
    let me = atomic::euid();
    if let Some((owner, _)) = snap.owner {
        if owner != me {
            return Err(WriteError::NotYours { path: real.to_path_buf(), owner, me });
        }
        if snap.mode & 0o200 == 0 {
            return Err(WriteError::ReadOnly { path: real.to_path_buf(), mode: snap.mode });
        }
    }
    for dir in [folder_of(real), folder_of(path)] {
        if let Some((folder, owner)) = atomic::existing_folder(dir)
            && owner != me
            && owner != 0
        {
            return Err(WriteError::ForeignFolder { path: path.to_path_buf(), folder, owner, me });
        }
    }
    Ok(())
}

/// Removes what killed runs left beside the file and beside the link to it (once the file is
/// known to be the user's to change).
/// Removes the note of `--ran-at` made with the write that `saved` was made for, if a regular
/// file is there: undoing the write undoes what was said with it. What to tell.
fn ran_at_removed(saved: &Path) -> Option<String> {
    let note = backup::ran_at_of(saved)?;
    std::fs::symlink_metadata(&note).ok().filter(|m| m.file_type().is_file())?;
    std::fs::remove_file(&note).ok()?;
    Some(format!("the --ran-at kept with that write is removed too ({})", display(&note)))
}

fn clean_leftovers(path: &Path, real: &Path) {
    for p in [path, real] {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        atomic::clean_stale(folder_of(p), &name);
    }
}

/// Sets `env.CLAUDE_CODE_MAX_OUTPUT_TOKENS` to `value` (as a JSON string) in `path`. `force`
/// lifts the refusals of `permitted` and lets the owner change when it cannot be kept.
/// `clock` gives now, UTC and compact: the second (`20261125T101500`, as
/// [`crate::time::compact_stamp`]) or to the microsecond (`20261125T101500.123456`); it is
/// read once the file's lock is held, and dates the backup.
///
/// `between` runs after each attempt has read and edited the file and made its backup, and
/// before it commits; tests use it to change the file at the worst moment.
pub fn set_max_output(
    path: &Path,
    value: u64,
    dry_run: bool,
    force: bool,
    clock: &dyn Fn() -> String,
    sources: &SettingsSources,
    between: &mut dyn FnMut(u32),
) -> Result<WriteOutcome, WriteError> {
    write_value(path, value, dry_run, force, clock, sources, between).map_err(WriteError::refined)
}

fn write_value(
    path: &Path,
    value: u64,
    dry_run: bool,
    force: bool,
    clock: &dyn Fn() -> String,
    sources: &SettingsSources,
    between: &mut dyn FnMut(u32),
) -> Result<WriteOutcome, WriteError> {
    let real = atomic::real_path(path)?;
    // Folders missing now are made by the first attempt; the undo removes them.
    let made_folders = atomic::missing_folders(folder_of(&real));
    let value_text = value.to_string();
    let mut outcome = WriteOutcome::new(Action::DryRun, path, &real);
    outcome.new = Some(format!("\"{value_text}\""));
    // Managed settings are read by every user's Claude Code: a new file is made readable by
    // all (0644), an existing one keeps its mode, with a note when others cannot read it.
    let managed = scope_of(path, sources) == Scope::Managed;
    // A file named as managed settings elsewhere (staged for a device manager to deploy) is
    // made for everyone too.
    let shared = managed || path.file_name().is_some_and(|n| n == super::MANAGED_SETTINGS_NAME);
    outcome.for_everyone = shared;
    // Held from the read a write is made from to its rename, so that another ccdoctor's
    // apply or revert cannot interleave (taken once the file is known to be the user's to
    // change; the file is then read again under it). The time is read under it too.
    let mut held: Option<(lock::Lock, String)> = None;
    let mut attempt = 0;
    while attempt < ATTEMPTS {
        let snap = atomic::read_here(&real)?;
        let snap =
            if shared && snap.bytes.is_none() { Snapshot { mode: atomic::SHARED_FILE_MODE, ..snap } } else { snap };
        let text = snap.text(&real)?;
        usable(path, &snap, text)?;
        permitted(path, &real, &snap, force)?;
        let edited = match &snap.bytes {
            None => edit::Edit { text: edit::new_document(MAX_OUTPUT, &value_text), old: None, changed: true },
            Some(_) => edit::set_env_string(text, MAX_OUTPUT, &value_text)
                .map_err(|source| WriteError::Edit { path: path.to_path_buf(), source })?,
        };
        fits(path, edited.text.len())?;
        outcome.old = edited.old.as_deref().map(|old| shown(old, sources.show_env));
        outcome.notes = notes(path, &edited.text, value, sources);
        if managed && snap.bytes.is_some() && snap.mode & 0o044 == 0 {
            outcome.notes.push(format!(
                "{} is readable by its owner only (mode {:04o}): other users' Claude Code cannot read these managed settings (chmod 644 lets it)",
                display(&real),
                snap.mode & 0o7777
            ));
        }
        if let Some(note) = links_note(&real, &snap) {
            outcome.notes.push(note);
        }
        // Nothing to do when the file already holds the value as Claude Code reads it
        // ("64000", "6.4e4", "64_000").
        if !edited.changed || already_reads(text, value) {
            outcome.action = Action::Unchanged;
            return Ok(outcome);
        }
        if dry_run {
            return Ok(outcome);
        }
        let Some((_, stamp)) = &held else {
            held = Some((take_lock(path, &real)?, clock()));
            continue;
        };
        if attempt == 0 {
            clean_leftovers(path, &real);
        }
        let staged = atomic::stage(&real, edited.text.as_bytes(), &snap)?;
        kept_owner(&real, &staged, &snap, force)?;
        let (backup, made) = match (&snap.bytes, snap.owner) {
            (Some(bytes), Some((owner, _))) => match backup::newest_holding(path, bytes, owner, stamp) {
                // A killed run's backup of these very bytes: another would hide the older ones.
                Some(b) => (Some(b), false),
                None => (Some(backup::create(path, bytes, &snap, stamp, "bak")?), true),
            },
            _ => (None, false),
        };
        // A file created: a note of what it holds, by which `revert` knows it for ccdoctor's.
        let note = match &snap.bytes {
            None => Some(backup::create(path, edited.text.as_bytes(), &snap, stamp, backup::CREATED)?),
            Some(_) => None,
        };
        between(attempt);
        let committed = staged.commit_if_unchanged(&snap);
        if !matches!(committed, Ok(true)) {
            // Not replaced (someone else wrote the file, or the rename failed): this backup is
            // of contents that are still there, or were never replaced by this run; the note
            // is of a file this run did not create.
            for b in backup.iter().filter(|_| made).chain(note.iter()) {
                let _ = std::fs::remove_file(b);
                atomic::sync_folder(b);
            }
        }
        if committed? {
            outcome.action = if snap.bytes.is_some() { Action::Written } else { Action::Created };
            outcome.backup = backup.as_deref().map(display);
            outcome.undo = Some(match &backup {
                Some(_) => revert_command(path, force),
                None => remove_command(&real, note.as_deref(), &made_folders),
            });
            return Ok(outcome);
        }
        attempt += 1;
    }
    Err(WriteError::Busy { path: path.to_path_buf(), attempts: ATTEMPTS })
}

/// Takes the lock of the file `real` (named as `path`), making its folder first if needed
/// (the write would make it anyway).
fn take_lock(path: &Path, real: &Path) -> Result<lock::Lock, WriteError> {
    let dir = folder_of(real);
    atomic::make_folders(dir)?;
    lock::take(real).map_err(|e| match e {
        lock::LockError::File(e) => WriteError::File(e),
        lock::LockError::Held(lock) => {
            WriteError::Locked { path: path.to_path_buf(), lock, secs: lock::WAIT.as_secs() }
        }
    })
}

/// Whether `text` sets the value, as a string, to one Claude Code reads as `value`: `"64000"`,
/// `"6.4e4"`, `"64_000"` ([`as_count`]). A number is not: it is written as a string, which
/// every Claude Code reads (2.1.94 crashed on a number).
fn already_reads(text: &str, value: u64) -> bool {
    let Ok((doc, _)) = edit::parse(text) else { return false };
    match doc.get("env").and_then(|e| e.get(MAX_OUTPUT)) {
        Some(v @ serde_json::Value::String(_)) => as_count(v) == Some(value),
        _ => false,
    }
}

/// A file with other hard links is replaced by a new file, not changed in place: the other
/// names keep the old contents. Said, never done silently.
fn links_note(real: &Path, snap: &Snapshot) -> Option<String> {
    (snap.links > 1).then(|| {
        let others = snap.links - 1;
        format!(
            "{} has {others} other hard link{}: ccdoctor puts a new file in its place, so the other name{} keep{} the old contents (Claude Code reads this one)",
            display(real),
            if others == 1 { "" } else { "s" },
            if others == 1 { "" } else { "s" },
            if others == 1 { "s" } else { "" },
        )
    })
}

/// Refuses, unless `force`, a staged file that could not be given the owner of the file it
/// replaces (a user who is not in the file's group).
fn kept_owner(real: &Path, staged: &atomic::Staged, like: &Snapshot, force: bool) -> Result<(), WriteError> {
    match like.owner {
        Some((uid, gid)) if !staged.owner_kept && !force => {
            Err(WriteError::OwnerNotKept { path: real.to_path_buf(), uid, gid })
        }
        _ => Ok(()),
    }
}

/// Refuses contents Claude Code would not read.
fn fits(path: &Path, len: usize) -> Result<(), WriteError> {
    if !claude_code_reads(len) {
        return Err(WriteError::TooLargeForClaude { path: path.to_path_buf(), len: len as u64 });
    }
    Ok(())
}

/// Whether `current` is exactly `saved` with ccdoctor's one edit: its max output value set.
fn only_our_write(saved: &[u8], current: &[u8]) -> bool {
    let (Ok(saved), Ok(now)) = (std::str::from_utf8(saved), std::str::from_utf8(current)) else { return false };
    let Ok((doc, _)) = edit::parse(now) else { return false };
    let Some(serde_json::Value::String(v)) = doc.get("env").and_then(|e| e.get(MAX_OUTPUT)) else { return false };
    edit::set_env_string(saved, MAX_OUTPUT, v).is_ok_and(|e| e.text == now)
}

/// The JSON text of `env.CLAUDE_CODE_MAX_OUTPUT_TOKENS` in a settings file's bytes, for a
/// message (`None`: not there, or not a settings object).
fn max_output_text(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (doc, _) = edit::parse(text).ok()?;
    doc.get("env")?.get(MAX_OUTPUT).map(|v| shown(&v.to_string(), false))
}

/// Puts the newest backup of `path` back. The current contents, when they differ, are kept as
/// a `.pre-revert` file first; the backup used is then removed, so a second `--revert` goes
/// one step further back. `clock` is as for [`set_max_output`].
///
/// Newer backups identical to the file (a run killed between its backup and its rename leaves
/// one) are stepped over, and removed with the one used. A backup ccdoctor could not have made
/// ([`backup::load`]: a link, another owner's file, a future date, a file cut short) is refused,
/// never stepped over silently: it is named so that the user can look at it.
pub fn revert(path: &Path, clock: &dyn Fn() -> String, force: bool) -> Result<WriteOutcome, WriteError> {
    revert_with(path, clock, force, &mut || {})
}

/// [`revert`], with `between` run just before the file is replaced (for tests, as in
/// [`set_max_output`]).
pub fn revert_with(
    path: &Path,
    clock: &dyn Fn() -> String,
    force: bool,
    between: &mut dyn FnMut(),
) -> Result<WriteOutcome, WriteError> {
    revert_to_backup(path, clock, force, between).map_err(WriteError::refined)
}

fn revert_to_backup(
    path: &Path,
    clock: &dyn Fn() -> String,
    force: bool,
    between: &mut dyn FnMut(),
) -> Result<WriteOutcome, WriteError> {
    let real = atomic::real_path(path)?;
    let first = atomic::read_here(&real)?;
    permitted(path, &real, &first, force)?;
    // Held to the end, with the file read again under it (see `write_value`). With no folder
    // there is no file, and a file put back is created only if none has been meanwhile.
    let lock = if folder_of(&real).is_dir() { Some(take_lock(path, &real)?) } else { None };
    let current = if lock.is_some() {
        let again = atomic::read_here(&real)?;
        permitted(path, &real, &again, force)?;
        again
    } else {
        first
    };
    let stamp = clock();
    clean_leftovers(path, &real);
    // Whose backups to trust: the file's owner's, or, with no file, the folder's owner's.
    let owner = current
        .owner
        .map(|(uid, _)| uid)
        .or_else(|| atomic::existing_folder(folder_of(path)).map(|(_, uid)| uid))
        .unwrap_or_else(atomic::euid);
    let mut outcome = WriteOutcome::new(Action::Unchanged, path, &real);
    let mut same = Vec::new();
    let mut chosen = None;
    for b in backup::candidates(path) {
        // Dated in the future (a clock set back since, or a plant): not restored, and no
        // reason to refuse the backups before it (the write just made among them).
        if backup::dated_after(&b, &stamp) {
            outcome.notes.push(format!(
                "{} is dated in the future; not restored, left in place",
                b.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ));
            continue;
        }
        let saved = backup::load(&b, owner, &stamp).map_err(|why| WriteError::BadBackup { path: b.clone(), why })?;
        if saved.bytes == current.bytes {
            same.push(b);
            continue;
        }
        chosen = Some((b, saved));
        break;
    }
    let Some((backup, saved)) = chosen else {
        // No backup: a file `apply` created, unchanged since (its note holds its very bytes),
        // is undone by removing it, and the note with it.
        if same.is_empty()
            && let Some(bytes) = current.bytes.as_deref()
            && let Some((_, note)) = backup::created_holding(path, bytes, owner, &stamp)
            && let Some(value) = max_output_text(bytes)
        {
            std::fs::remove_file(&real).map_err(|e| FileError::io(&real, e))?;
            let _ = std::fs::remove_file(&note);
            outcome.notes.extend(ran_at_removed(&note));
            atomic::sync_folder(&real);
            outcome.action = Action::Reverted;
            outcome.old = Some(value);
            return Ok(outcome);
        }
        // A note of its creation that no longer holds its bytes: someone changed the file since.
        let created = !backup::created(path).is_empty();
        let newest = same.first().ok_or_else(|| {
            if created && current.bytes.is_some() {
                WriteError::ChangedSinceCreated(path.to_path_buf())
            } else {
                WriteError::NoBackup(path.to_path_buf())
            }
        })?;
        outcome.backup = Some(display(newest));
        outcome.notes.push("the file already holds the backup's contents; nothing written".into());
        return Ok(outcome);
    };
    outcome.backup = Some(display(&backup));
    let bytes = saved.bytes.clone().unwrap_or_default();
    let like = if current.bytes.is_some() { &current } else { &saved };
    let staged = atomic::stage(&real, &bytes, like)?;
    kept_owner(&real, &staged, like, force)?;
    // The current contents are kept only when they are more than ccdoctor's own write of
    // the backup (someone changed the file since): otherwise the backup holds all of them.
    let kept = match &current.bytes {
        Some(b) if !only_our_write(&bytes, b) => Some(backup::create(path, b, &current, &stamp, "pre-revert")?),
        _ => None,
    };
    between();
    let committed = staged.commit_if_unchanged(&current);
    if !matches!(committed, Ok(true)) {
        // Not replaced: the copy of what is still there is not needed.
        if let Some(k) = &kept {
            let _ = std::fs::remove_file(k);
            atomic::sync_folder(k);
        }
    }
    if !committed? {
        return Err(WriteError::Busy { path: path.to_path_buf(), attempts: 1 });
    }
    outcome.action = Action::Reverted;
    match std::fs::remove_file(&backup) {
        Ok(()) => {}
        // Removed by someone else meanwhile (not by ccdoctor, which holds the lock).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => outcome.notes.push(format!(
            "the backup used could not be removed ({e}); it now equals the file, and the next revert steps over it"
        )),
    }
    for s in &same {
        let _ = std::fs::remove_file(s);
    }
    outcome.notes.extend(ran_at_removed(&backup));
    atomic::sync_folder(&backup);
    // The value the revert put back and the one it replaced, as a write names them.
    outcome.old = current.bytes.as_deref().and_then(max_output_text);
    outcome.new = max_output_text(&bytes);
    if !same.is_empty() {
        outcome.notes.push(format!(
            "stepped over {} newer backup(s) identical to the file (left by an interrupted --write), now removed",
            same.len()
        ));
    }
    if let Some(k) = kept {
        outcome.notes.push(format!("the contents it replaced are kept in {}", display(&k)));
    }
    if let Some(note) = links_note(&real, &current) {
        outcome.notes.push(note);
    }
    drop(lock);
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
    if sources.managed.iter().any(|p| same_file(p, target)) || is_new_drop_in(target, sources) {
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

/// The managed-settings drop-in folder (`managed-settings.d/` beside
/// `managed-settings.json`), where the sources name one.
fn drop_in_folder(sources: &SettingsSources) -> Option<PathBuf> {
    let base = sources.managed.last().filter(|p| p.file_name().is_some_and(|n| n == super::MANAGED_SETTINGS_NAME))?;
    Some(folder_of(base).join("managed-settings.d"))
}

/// A `*.json` file to be made in the managed-settings drop-in folder: managed settings too.
fn is_new_drop_in(target: &Path, sources: &SettingsSources) -> bool {
    let in_folder = drop_in_folder(sources).is_some_and(|d| same_file(folder_of(target), &d));
    in_folder && target.extension().is_some_and(|e| e == "json")
}

/// The managed files that outrank `target`, itself managed: the drop-ins of
/// `managed-settings.d/` outrank `managed-settings.json`, and among them a later name an
/// earlier one (Claude Code's precedence, as [`SettingsSources::standard`] resolves it).
fn managed_above(target: &Path, sources: &SettingsSources) -> Vec<PathBuf> {
    let Some(folder) = drop_in_folder(sources) else { return Vec::new() };
    // The drop-ins, highest first, then the base file.
    let drop_ins = &sources.managed[..sources.managed.len() - 1];
    if !same_file(folder_of(target), &folder) {
        return drop_ins.to_vec();
    }
    let name = target.file_name();
    drop_ins.iter().filter(|p| p.file_name() > name).cloned().collect()
}

/// What keeps the written value from taking effect, and what it collides with.
fn notes(target: &Path, new_text: &str, value: u64, sources: &SettingsSources) -> Vec<String> {
    let mut notes = Vec::new();
    let scope = scope_of(target, sources);
    let mut above: Vec<(String, PathBuf)> =
        sources.managed.iter().map(|p| ("managed".to_string(), p.clone())).collect();
    match &scope {
        Scope::Managed => {
            above = managed_above(target, sources).into_iter().map(|p| ("managed".to_string(), p)).collect();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The adversary's trial of 2026-12-07: a path with a line break was quoted in single
    /// quotes, printed with the break as `\n`, and the printed undo removed another file.
    #[test]
    fn shell_quote_keeps_the_path_a_shell_reads() {
        let q = |s: &str| shell_quote(Path::new(s));
        assert_eq!(q("/home/u/.claude/settings.json"), "/home/u/.claude/settings.json");
        assert_eq!(q("/a b/it's.json"), "'/a b/it'\\''s.json'");
        assert_eq!(q("d\nx/s.json"), "$'d\\x0ax/s.json'");
        assert_eq!(q("a\\b\t'c"), "$'a\\\\b\\x09\\'c'");
        // Not read as a flag.
        assert_eq!(q("-x/settings.json"), "./-x/settings.json");
        assert_eq!(q("-a b"), "'./-a b'");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = Path::new(std::ffi::OsStr::from_bytes(b"bad\xffdir/s.json"));
            assert_eq!(shell_quote(odd), "$'bad\\xffdir/s.json'");
        }
    }

    /// A read-only file system, a denied write or a file where a folder must be is "not
    /// permitted" (exit 2), told as such; other I/O errors are failures while working (exit 1).
    #[test]
    fn io_errors_that_mean_not_permitted_are_usage_errors() {
        let p = Path::new("/x/settings.json");
        for (kind, why) in [
            (std::io::ErrorKind::ReadOnlyFilesystem, "not permitted (read-only file system)"),
            (std::io::ErrorKind::PermissionDenied, "not permitted (permission denied)"),
            (std::io::ErrorKind::NotADirectory, "not permitted (part of its path is a file, not a folder)"),
        ] {
            let e = WriteError::File(FileError::io(p, kind.into())).refined();
            assert!(e.is_usage(), "{e}");
            assert!(e.to_string().starts_with(&format!("/x/settings.json: {why}; not changed: ")), "{e}");
        }
        let e = WriteError::File(FileError::io(p, std::io::ErrorKind::StorageFull.into())).refined();
        assert!(!e.is_usage(), "{e}");
    }

    #[test]
    fn the_undo_of_a_created_file_names_the_file_and_the_folders_made() {
        let made = [PathBuf::from("/d/a b/c"), PathBuf::from("/d/a b")];
        let note = Path::new("/d/a b/c/s.json.ccdoctor-20261207T010000.000000.created");
        assert_eq!(
            remove_command(Path::new("/d/a b/c/s.json"), Some(note), &made),
            "rm -- '/d/a b/c/s.json' '/d/a b/c/s.json.ccdoctor-20261207T010000.000000.created' && rmdir -- '/d/a b/c' '/d/a b'"
        );
        assert_eq!(remove_command(Path::new("/d/s.json"), None, &[]), "rm -- /d/s.json");
        assert_eq!(revert_command(Path::new("/d/s.json"), true), "ccdoctor revert --force --settings /d/s.json");
    }
}
