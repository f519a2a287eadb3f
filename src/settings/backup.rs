//! Backups of a settings file, beside the path the user named:
//! `settings.json.ccdoctor-20261125T101500.bak` (UTC), `…-2.bak` when two land in one second.
//! `--revert` takes the newest; before it replaces a file that differs from the backup, the
//! file is kept as `…ccdoctor-<time>.pre-revert`, which `--revert` never picks.
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

use super::atomic::{self, FileError, MAX_BYTES, Snapshot};

const TAG: &str = ".ccdoctor-";

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes `bytes` to a new backup file beside `path`, with `like`'s owner (where permitted)
/// and mode; its path.
pub fn create(path: &Path, bytes: &[u8], like: &Snapshot, stamp: &str, ext: &str) -> Result<PathBuf, FileError> {
    let name = name_of(path);
    let (mut temp, _) = atomic::write_temp(atomic::folder_of(path), &name, bytes, like.mode, like.owner)?;
    for n in 1..1000 {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let p = path.with_file_name(format!("{name}{TAG}{stamp}{suffix}.{ext}"));
        match atomic::rename_noreplace(temp.path(), &p) {
            Ok(()) => {
                temp.placed();
                atomic::sync_folder(&p);
                return Ok(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(FileError::io(&p, e)),
        }
    }
    Err(FileError::io(path, std::io::Error::other("1,000 backups in one second")))
}

/// The sort key of a backup's file name: (stamp, sequence).
fn key_of(file: &str, name: &str) -> Option<(String, u32)> {
    let rest = file.strip_prefix(name)?.strip_prefix(TAG)?.strip_suffix(".bak")?;
    let (stamp, n) = match rest.split_once('-') {
        Some((s, n)) => (s, n.parse().ok()?),
        None => (rest, 1),
    };
    let ok = stamp.len() == 15
        && stamp.bytes().enumerate().all(|(i, b)| if i == 8 { b == b'T' } else { b.is_ascii_digit() });
    ok.then(|| (stamp.to_string(), n))
}

/// The `.bak` backups of `path` by their names, newest first. Nothing is checked yet.
pub fn candidates(path: &Path) -> Vec<PathBuf> {
    let name = name_of(path);
    let Ok(rd) = std::fs::read_dir(atomic::folder_of(path)) else { return Vec::new() };
    let mut found: Vec<((String, u32), PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            key_of(&file, &name).map(|k| (k, e.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The newest `.bak` backup of `path`, if any (by name; see [`load`]).
pub fn newest(path: &Path) -> Option<PathBuf> {
    candidates(path).into_iter().next()
}

/// Reads a backup if it is one ccdoctor could have made: a regular file (not a link, which
/// could lead to a file only root may read, or to nothing), owned by `owner` (the settings
/// file's), dated no later than `now` (a compact UTC stamp: a future date would win over every
/// real backup), holding a whole settings object (not one cut short). Otherwise why not.
pub fn load(backup: &Path, owner: u32, now: &str) -> Result<Snapshot, String> {
    let file = backup.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some((stamp, _)) = file.split_once(TAG).and_then(|(name, _)| key_of(&file, name))
        && stamp.as_str() > now
    {
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

/// The newest backup of `path`, when it is trusted ([`load`]) and holds exactly `bytes`: a
/// write then needs no new backup (a run killed after its backup and before its rename leaves
/// one), and one more would hide the older backups from `--revert`.
pub fn newest_holding(path: &Path, bytes: &[u8], owner: u32, now: &str) -> Option<PathBuf> {
    let b = newest(path)?;
    let saved = load(&b, owner, now).ok()?;
    (saved.bytes.as_deref() == Some(bytes)).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like() -> Snapshot {
        Snapshot { bytes: None, mode: 0o600, owner: None, version: None }
    }

    #[test]
    fn names_sort_by_time_then_sequence() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("settings.json");
        assert_eq!(newest(&p), None);
        let a = create(&p, b"a", &like(), "20261125T101500", "bak").unwrap();
        assert_eq!(a, t.path().join("settings.json.ccdoctor-20261125T101500.bak"));
        let b = create(&p, b"b", &like(), "20261125T101500", "bak").unwrap();
        assert_eq!(b, t.path().join("settings.json.ccdoctor-20261125T101500-2.bak"));
        assert_eq!(newest(&p), Some(b));
        for n in 3..=10 {
            create(&p, b"x", &like(), "20261125T101500", "bak").unwrap();
            assert!(newest(&p).unwrap().to_string_lossy().ends_with(&format!("-{n}.bak")));
        }
        create(&p, b"c", &like(), "20261125T101459", "bak").unwrap();
        create(&p, b"d", &like(), "20261126T000000", "pre-revert").unwrap();
        std::fs::write(t.path().join("settings.json.ccdoctor-junk.bak"), "").unwrap();
        std::fs::write(t.path().join("other.json.ccdoctor-20991125T101500.bak"), "").unwrap();
        assert!(newest(&p).unwrap().to_string_lossy().ends_with("101500-10.bak"));
        assert_eq!(std::fs::read(a).unwrap(), b"a");
        // Nothing but the backups: no temporary file is left.
        let names: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
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
