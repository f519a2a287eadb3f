//! Backups of a settings file, beside the path the user named:
//! `settings.json.ccdoctor-20261125T101500.123456.bak` (UTC, to the microsecond).
//! `--revert` takes the newest; before it replaces a file that differs from the backup, the
//! file is kept as `…ccdoctor-<time>.pre-revert`, which `--revert` never picks.
//!
//! Names are made while the settings file's lock is held ([`super::lock`]), with the time
//! read under it, each one sorting after every backup already there (a clock behind them
//! moves the new name just past the newest), so the newest by name is the last made. A name
//! is not used again once its backup is gone: the next one is made at a later microsecond,
//! unless the clock is set back. Names of earlier versions (`…-20261125T101500.bak`,
//! `…-20261125T101500-2.bak`) are still read, and sort before any newer name of their second.
//!
//! A backup is written as the settings file is (a temporary file, synced, then given its name),
//! so a full disk or a kill never leaves one empty or cut short under a backup's name. It has
//! the file's owner and mode, so the file's owner can read it and revert. And since anyone who
//! can write the folder can put a file of that name there, `--revert` restores only what
//! ccdoctor could have made ([`load`]).

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::atomic::{self, FileError, MAX_BYTES, Snapshot};

const TAG: &str = ".ccdoctor-";

/// The extension of the note `apply` leaves beside a file it creates (`…ccdoctor-<time>.created`):
/// the bytes it created, so that `revert` removes the file only while it holds exactly them. A
/// file that merely looks like one `apply` writes is someone's, and is never removed.
pub const CREATED: &str = "created";

/// The extension of the note `apply --ran-at N` leaves beside the backup of its write
/// (`…ccdoctor-<time>.ran-at`, holding `N`): the history before that time ran at N where its
/// records show nothing else, as the user said. The next runs read it ([`ran_at_notes`]).
pub const RAN_AT: &str = "ran-at";

/// The most a note of [`RAN_AT`] holds: a count and a newline.
const RAN_AT_BYTES: u64 = 32;

/// The note of [`RAN_AT`] made with the write that `saved` (its backup, or the note of its
/// creation) was made for: the same name but for its extension. `revert` removes it with the
/// write it undoes.
pub fn ran_at_of(saved: &Path) -> Option<PathBuf> {
    let file = saved.file_name()?.to_str()?;
    let (stem, _) = file.rsplit_once('.')?;
    Some(saved.with_file_name(format!("{stem}.{RAN_AT}")))
}

/// The time in the name of a backup or note (`20261125T101500.123456`), as [`create`] takes it.
pub fn stamp_of(saved: &Path) -> Option<String> {
    let file = saved.file_name()?.to_str()?;
    let (_, rest) = file.rsplit_once(TAG)?;
    rest.rsplit_once('.').map(|(stamp, _)| stamp.to_string())
}

/// Leaves a note of [`RAN_AT`] beside `path` (its owner and mode are `like`'s), dated `now`.
pub fn note_ran_at(path: &Path, value: u64, like: &Snapshot, now: &str) -> Result<PathBuf, FileError> {
    create(path, format!("{value}\n").as_bytes(), like, now, RAN_AT)
}

/// The notes of [`RAN_AT`] beside `path` that ccdoctor could have made (regular files of
/// `owner`'s holding a count), with their times, oldest first: `(time, value)`.
pub fn ran_at_notes(path: &Path, owner: u32) -> Vec<(crate::time::EpochMs, u64)> {
    let read = |p: &Path| -> Option<u64> {
        let f = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(p).ok()?;
        let meta = f.metadata().ok()?;
        if !meta.is_file() || meta.uid() != owner || meta.len() > RAN_AT_BYTES {
            return None;
        }
        let mut text = String::new();
        f.take(RAN_AT_BYTES).read_to_string(&mut text).ok()?;
        text.trim().parse().ok().filter(|v| (1..=crate::models::MAX_OUTPUT_LIMIT).contains(v))
    };
    dated_of(path, RAN_AT).into_iter().filter_map(|(t, p)| Some((t, read(&p)?))).collect()
}

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Where a backup's name puts it: (the second, the microsecond, the sequence of an older
/// name). Names sort by it.
type Key = (String, u32, u32);

/// Now as the clock of a write gives it: the UTC second, compact (`20261125T101500`), and
/// the microsecond when it is given (`20261125T101500.123456`).
fn split_now(now: &str) -> (&str, Option<u32>) {
    match now.split_once('.') {
        Some((second, micros)) => (second, micros.parse().ok()),
        None => (now, None),
    }
}

/// Writes `bytes` to a new backup file beside `path`, with `like`'s owner (where permitted)
/// and mode; its path. `now` is the time of the write (`split_now`; a clock that gives
/// only the second gets the microsecond from the system clock). Call it with the settings
/// file's lock held, so that no other run names a backup meanwhile.
pub fn create(path: &Path, bytes: &[u8], like: &Snapshot, now: &str, ext: &str) -> Result<PathBuf, FileError> {
    let name = name_of(path);
    let (mut temp, _) = atomic::write_temp(atomic::folder_of(path), &name, bytes, like.mode, like.owner, &like.xattrs)?;
    let (stamp, micros) = split_now(now);
    let micros =
        micros.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_micros()));
    let mut key: Key = (stamp.to_string(), micros, 0);
    // After every name already there that is not dated in the future (a plant `--revert`
    // refuses: following it would date this one in the future too).
    if let Some((newest, _)) = keyed(path, ext).into_iter().find(|(k, _)| k.0.as_str() <= stamp)
        && key <= newest
    {
        key = (newest.0, newest.1 + 1, 0);
    }
    for _ in 0..1000 {
        let p = path.with_file_name(format!("{name}{TAG}{}.{:06}.{ext}", key.0, key.1));
        match atomic::rename_noreplace(temp.path(), &p) {
            Ok(()) => {
                temp.placed();
                atomic::sync_folder(&p);
                return Ok(p);
            }
            // Made meanwhile by a run that took no lock (an older ccdoctor): the next one.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => key.1 += 1,
            Err(e) => return Err(FileError::io(&p, e)),
        }
    }
    Err(FileError::io(path, std::io::Error::other("1,000 backups made in the same microseconds")))
}

/// The sort key of a file's name, when it is a backup of `name` with extension `ext`.
fn key_of(file: &str, name: &str, ext: &str) -> Option<Key> {
    let rest = file.strip_prefix(name)?.strip_prefix(TAG)?.strip_suffix(ext)?.strip_suffix('.')?;
    let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    let (stamp, micros, n) = match (rest.split_once('.'), rest.split_once('-')) {
        (Some((s, f)), None) if digits(f, 9) => (s, f.parse().ok()?, 0),
        (None, Some((s, n))) if digits(n, 9) => (s, 0, n.parse().ok()?),
        (None, None) => (rest, 0, 1),
        _ => return None,
    };
    let ok = stamp.len() == 15
        && stamp.bytes().enumerate().all(|(i, b)| if i == 8 { b == b'T' } else { b.is_ascii_digit() });
    ok.then(|| (stamp.to_string(), micros, n))
}

/// The backups of `path` with extension `ext` and their keys, newest first.
fn keyed(path: &Path, ext: &str) -> Vec<(Key, PathBuf)> {
    let name = name_of(path);
    let Ok(rd) = std::fs::read_dir(atomic::folder_of(path)) else { return Vec::new() };
    let mut found: Vec<(Key, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            key_of(&file, &name, ext).map(|k| (k, e.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found
}

/// The `.bak` backups of `path` by their names, newest first. Nothing is checked yet.
pub fn candidates(path: &Path) -> Vec<PathBuf> {
    keyed(path, "bak").into_iter().map(|(_, p)| p).collect()
}

/// The `.bak` backups of `path` with the time of the write each was made for (its name's UTC
/// stamp), oldest first: each holds the file as it was before that write. Names dated in the
/// future are left out, as [`load`] refuses them.
pub fn dated(path: &Path) -> Vec<(crate::time::EpochMs, PathBuf)> {
    dated_of(path, "bak")
}

/// The notes of `path`'s creations by `apply` ([`CREATED`]) with the time of each, oldest
/// first, as [`dated`] gives backups.
pub fn created(path: &Path) -> Vec<(crate::time::EpochMs, PathBuf)> {
    dated_of(path, CREATED)
}

fn dated_of(path: &Path, ext: &str) -> Vec<(crate::time::EpochMs, PathBuf)> {
    let now = crate::time::now();
    let mut out: Vec<_> = keyed(path, ext)
        .into_iter()
        .filter_map(|((stamp, micros, _), p)| {
            // `key_of` let through only `YYYYMMDDTHHMMSS` in ASCII digits.
            let iso = format!(
                "{}-{}-{}T{}:{}:{}.{:06}Z",
                &stamp[0..4],
                &stamp[4..6],
                &stamp[6..8],
                &stamp[9..11],
                &stamp[11..13],
                &stamp[13..15],
                micros.min(999_999)
            );
            crate::time::parse_timestamp(&iso).filter(|&t| t <= now).map(|t| (t, p))
        })
        .collect();
    out.reverse();
    out
}

/// The newest `.bak` backup of `path`, if any (by name), of those not dated in the future
/// ([`load`] refuses those: a clock set back, or a plant).
pub fn newest(path: &Path) -> Option<PathBuf> {
    dated(path).pop().map(|(_, p)| p)
}

/// Whether a backup's (or note's) name is dated after `now` (a compact UTC stamp): [`load`]
/// refuses it.
pub fn dated_after(saved: &Path, now: &str) -> bool {
    let (now, _) = split_now(now);
    let file = saved.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stamp =
        file.split_once(TAG).and_then(|(name, _)| key_of(&file, name, "bak").or_else(|| key_of(&file, name, CREATED)));
    stamp.is_some_and(|(stamp, _, _)| stamp.as_str() > now)
}

/// Reads a backup if it is one ccdoctor could have made: a regular file (not a link, which
/// could lead to a file only root may read, or to nothing), owned by `owner` (the settings
/// file's), dated no later than `now` (a compact UTC stamp: a future date would win over every
/// real backup), holding a whole settings object (not one cut short). Otherwise why not.
pub fn load(backup: &Path, owner: u32, now: &str) -> Result<Snapshot, String> {
    if dated_after(backup, now) {
        let stamp = stamp_of(backup).unwrap_or_default();
        let (now, _) = split_now(now);
        return Err(format!("dated {stamp}, in the future (now {now}); not a backup ccdoctor made"));
    }
    let opened =
        OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY).open(backup);
    let f = match opened {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err("a symlink, not a backup ccdoctor made".into());
        }
        Err(e) => return Err(format!("cannot be read ({e})")),
    };
    let meta = f.metadata().map_err(|e| format!("cannot be read ({e})"))?;
    if !meta.is_file() {
        return Err("not a regular file, not a backup ccdoctor made".into());
    }
    let xattrs = atomic::Xattrs::of(&f).map_err(|e| format!("cannot be read ({e})"))?;
    if meta.uid() != owner {
        return Err(format!("owned by uid {}, not by the settings file's owner (uid {owner})", meta.uid()));
    }
    if meta.len() > MAX_BYTES {
        return Err(format!("{} bytes, too large for a settings file", meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_BYTES).read_to_end(&mut bytes).map_err(|e| format!("cannot be read ({e})"))?;
    whole(&bytes)?;
    Ok(Snapshot {
        bytes: Some(bytes),
        mode: meta.permissions().mode() & 0o7777,
        owner: Some((meta.uid(), meta.gid())),
        version: None,
        links: meta.nlink(),
        xattrs,
    })
}

/// Refuses bytes that are not a whole settings object: empty, or cut short by a full disk.
fn whole(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text, not a whole settings file".to_string())?;
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err("empty, not a whole settings file (a write that failed?)".into());
    }
    super::edit::parse(text).map(|_| ()).map_err(|e| format!("{e}, not a whole settings file (cut short?)"))
}

/// Whether `saved` (a backup or a note of a creation) is trusted ([`load`]) and holds exactly
/// `bytes`.
pub fn holds(saved: &Path, bytes: &[u8], owner: u32, now: &str) -> bool {
    load(saved, owner, now).is_ok_and(|s| s.bytes.as_deref() == Some(bytes))
}

/// The newest note of `path`'s creation by `apply` ([`CREATED`]) and its time, when it
/// [`holds`] `bytes`: the file is then as `apply` created it.
pub fn created_holding(path: &Path, bytes: &[u8], owner: u32, now: &str) -> Option<(crate::time::EpochMs, PathBuf)> {
    created(path).pop().filter(|(_, note)| holds(note, bytes, owner, now))
}

/// The newest backup of `path`, when it is trusted ([`load`]) and holds exactly `bytes`: a
/// write then needs no new backup (a run killed after its backup and before its rename leaves
/// one), and one more would hide the older backups from `--revert`.
pub fn newest_holding(path: &Path, bytes: &[u8], owner: u32, now: &str) -> Option<PathBuf> {
    newest(path).filter(|b| holds(b, bytes, owner, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like() -> Snapshot {
        Snapshot { bytes: None, mode: 0o600, owner: None, version: None, links: 0, xattrs: Default::default() }
    }

    /// A note of `--ran-at` is read back with its time; one that is no count, too long, a
    /// link, another user's or dated in the future is not.
    #[test]
    fn ran_at_notes_are_read_when_ccdoctor_could_have_made_them() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("settings.json");
        std::fs::write(&path, "{}").unwrap();
        let me = std::fs::metadata(&path).unwrap().uid();
        let made = note_ran_at(&path, 16_000, &like(), "20261125T101500.000001").unwrap();
        assert_eq!(std::fs::read_to_string(&made).unwrap(), "16000\n");
        let at = crate::time::parse_timestamp("2026-11-25T10:15:00.000Z").unwrap();
        assert_eq!(ran_at_notes(&path, me), [(at, 16_000)]);
        // Another user's is not read.
        assert!(ran_at_notes(&path, me + 1).is_empty());
        let name = |stamp: &str| t.path().join(format!("settings.json.ccdoctor-{stamp}.000000.ran-at"));
        std::fs::write(name("20261126T000000"), "sixteen thousand\n").unwrap();
        std::fs::write(name("20261127T000000"), format!("{}\n", "1".repeat(40))).unwrap();
        std::fs::write(name("20261128T000000"), "0\n").unwrap();
        std::fs::write(name("29991231T000000"), "8000\n").unwrap();
        std::os::unix::fs::symlink(&made, name("20261129T000000")).unwrap();
        assert_eq!(ran_at_notes(&path, me), [(at, 16_000)]);
    }

    fn file_names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn each_backup_sorts_after_the_ones_before_it() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("settings.json");
        assert_eq!(newest(&p), None);
        let a = create(&p, b"a", &like(), "20261125T101500", "bak").unwrap();
        let a_name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(a_name.starts_with("settings.json.ccdoctor-20261125T101500.") && a_name.ends_with(".bak"), "{a_name}");
        // Many in the same second: each the newest, by name.
        let mut made = vec![a.clone()];
        for _ in 0..20 {
            let b = create(&p, b"x", &like(), "20261125T101500", "bak").unwrap();
            assert_eq!(newest(&p).as_ref(), Some(&b));
            made.push(b);
        }
        // A clock behind the newest name (here, at the end of the same second) still makes
        // the next name sort after it.
        std::fs::write(t.path().join("settings.json.ccdoctor-20261125T101500.999999.bak"), "{}").unwrap();
        let late = create(&p, b"late", &like(), "20261125T101500", "bak").unwrap();
        assert_eq!(newest(&p).as_ref(), Some(&late));
        assert!(late.to_string_lossy().ends_with("20261125T101500.1000000.bak"), "{}", late.display());
        // Kept copies and other files' backups are not backups of this file; a planted name
        // dated in the future is not followed (that would date the next one in the future too).
        create(&p, b"d", &like(), "20261126T000000", "pre-revert").unwrap();
        std::fs::write(t.path().join("settings.json.ccdoctor-junk.bak"), "").unwrap();
        std::fs::write(t.path().join("other.json.ccdoctor-20991125T101500.bak"), "").unwrap();
        std::fs::write(t.path().join("settings.json.ccdoctor-99991231T235959.bak"), "").unwrap();
        let next = create(&p, b"next", &like(), "20261125T101501", "bak").unwrap();
        assert!(next.to_string_lossy().contains("20261125T101501."), "{}", next.display());
        assert_eq!(candidates(&p)[1], next);
        assert_eq!(std::fs::read(a).unwrap(), b"a");
        // Nothing but the backups: no temporary file is left.
        assert!(!file_names(t.path()).iter().any(|n| n.ends_with(".tmp")));
    }

    /// The newest backup removed (a revert used it), the next one made gets a new name: a
    /// name a report gave is never given again to another backup (with a clock that goes on).
    #[test]
    fn backups_are_dated_by_their_names_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        create(&p, b"a", &like(), "20261125T101500.000000", "bak").unwrap();
        create(&p, b"b", &like(), "20261125T101501.000250", "bak").unwrap();
        create(&p, b"r", &like(), "20261126T000000", "pre-revert").unwrap();
        create(&p, b"f", &like(), "29990101T000000", "bak").unwrap();
        let d = dated(&p);
        let t0 = crate::time::parse_timestamp("2026-11-25T10:15:00Z").unwrap();
        assert_eq!(d.iter().map(|(t, _)| *t).collect::<Vec<_>>(), [t0, t0 + 1_000], "{d:?}");
        assert_eq!(std::fs::read(&d[0].1).unwrap(), b"a");
    }

    #[test]
    fn a_name_is_never_used_again() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("settings.json");
        let mut seen = std::collections::HashSet::new();
        let clock = |n: u32| format!("20261125T1015{:02}.{:06}", n / 1000, n % 1000 * 7);
        let mut n = 0;
        for keep_one in [false, true] {
            if keep_one {
                create(&p, b"old", &like(), &clock(n), "bak").unwrap();
                n += 1;
            }
            for _ in 0..50 {
                let b = create(&p, b"x", &like(), &clock(n), "bak").unwrap();
                assert!(b.to_string_lossy().contains(&clock(n)), "{} at {}", b.display(), clock(n));
                assert!(seen.insert(b.clone()), "{} made twice", b.display());
                std::fs::remove_file(&b).unwrap();
                n += 1;
            }
        }
    }

    /// Names of earlier versions are read, in their order, before the newer names of their
    /// second.
    #[test]
    fn earlier_names_are_still_backups() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("settings.json");
        for n in ["20261125T101500", "20261125T101500-2", "20261125T101500-10", "20261125T101459-3"] {
            std::fs::write(t.path().join(format!("settings.json.ccdoctor-{n}.bak")), n).unwrap();
        }
        let order: Vec<String> =
            candidates(&p).iter().map(|b| b.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            order,
            [
                "settings.json.ccdoctor-20261125T101500-10.bak",
                "settings.json.ccdoctor-20261125T101500-2.bak",
                "settings.json.ccdoctor-20261125T101500.bak",
                "settings.json.ccdoctor-20261125T101459-3.bak",
            ]
        );
        let b = create(&p, b"x", &like(), "20261125T101500", "bak").unwrap();
        assert_eq!(newest(&p), Some(b));
    }

    #[test]
    fn only_what_ccdoctor_could_have_made_is_loaded() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let me = atomic::euid();
        let now = "20261125T101500";
        let good = d.join("s.json.ccdoctor-20261125T101500.bak");
        std::fs::write(&good, "{\"env\": {}}").unwrap();
        assert_eq!(load(&good, me, now).unwrap().bytes.unwrap(), b"{\"env\": {}}");
        assert!(load(&good, me + 1, now).unwrap_err().contains("owned by uid"));
        let future = d.join("s.json.ccdoctor-20261125T101501.bak");
        std::fs::copy(&good, &future).unwrap();
        assert!(load(&future, me, now).unwrap_err().contains("in the future"));
        for (text, why) in [("", "empty"), ("{\"env\": {\"A\": ", "cut short"), ("[1]", "not a JSON object")] {
            std::fs::write(&good, text).unwrap();
            assert!(load(&good, me, now).unwrap_err().contains(why), "{text:?}");
        }
        let link = d.join("s.json.ccdoctor-20261125T101400.bak");
        std::os::unix::fs::symlink(&future, &link).unwrap();
        assert!(load(&link, me, now).unwrap_err().contains("a symlink"));
        std::fs::remove_file(&future).unwrap();
        assert!(load(&link, me, now).unwrap_err().contains("a symlink"), "a dangling link too");
    }
}
