//! Backups of a settings file, beside the path the user named:
//! `settings.json.ccdoctor-20261125T101500.bak` (UTC), `…-2.bak` when two land in one second.
//! `--revert` takes the newest; before it replaces a file that differs from the backup, the
//! file is kept as `…ccdoctor-<time>.pre-revert`, which `--revert` never picks.

use std::path::{Path, PathBuf};

use super::atomic::{FileError, write_new};

const TAG: &str = ".ccdoctor-";

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes `bytes` to a new backup file beside `path` with the given mode; its path.
pub fn create(path: &Path, bytes: &[u8], mode: u32, stamp: &str, ext: &str) -> Result<PathBuf, FileError> {
    let name = name_of(path);
    for n in 1..1000 {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let p = path.with_file_name(format!("{name}{TAG}{stamp}{suffix}.{ext}"));
        match write_new(&p, bytes, mode) {
            Err(FileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => continue,
            r => return r.map(|()| p),
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

/// The newest `.bak` backup of `path`, if any.
pub fn newest(path: &Path) -> Option<PathBuf> {
    let name = name_of(path);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            key_of(&file, &name).map(|k| (k, e.path()))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_then_sequence() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("settings.json");
        assert_eq!(newest(&p), None);
        let a = create(&p, b"a", 0o600, "20261125T101500", "bak").unwrap();
        assert_eq!(a, t.path().join("settings.json.ccdoctor-20261125T101500.bak"));
        let b = create(&p, b"b", 0o600, "20261125T101500", "bak").unwrap();
        assert_eq!(b, t.path().join("settings.json.ccdoctor-20261125T101500-2.bak"));
        assert_eq!(newest(&p), Some(b));
        for n in 3..=10 {
            create(&p, b"x", 0o600, "20261125T101500", "bak").unwrap();
            assert!(newest(&p).unwrap().to_string_lossy().ends_with(&format!("-{n}.bak")));
        }
        create(&p, b"c", 0o600, "20261125T101459", "bak").unwrap();
        create(&p, b"d", 0o600, "20261126T000000", "pre-revert").unwrap();
        std::fs::write(t.path().join("settings.json.ccdoctor-junk.bak"), "").unwrap();
        std::fs::write(t.path().join("other.json.ccdoctor-20991125T101500.bak"), "").unwrap();
        assert!(newest(&p).unwrap().to_string_lossy().ends_with("101500-10.bak"));
        assert_eq!(std::fs::read(a).unwrap(), b"a");
    }
}
