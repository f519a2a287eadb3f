//! Reading and replacing a settings file without ever leaving it half-written: a temporary
//! file in the same folder, flushed and synced, given the original's permission bits (and
//! owner, where allowed), renamed over the original, then the folder synced. Symlinks are
//! followed, so a link into a dotfiles repository stays a link.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A settings file is a few KiB; anything above this is refused rather than read.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Symlink hops followed before giving up (as the kernel's ELOOP).
const MAX_HOPS: usize = 40;
/// Mode of a file created from nothing: settings often end up holding API keys.
pub const NEW_FILE_MODE: u32 = 0o600;

/// Why a settings file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}: is a folder, not a settings file")]
    Folder(PathBuf),
    #[error("{0}: not a regular file")]
    NotRegular(PathBuf),
    #[error("{path}: {len} bytes is too large for a settings file; not read")]
    TooLarge { path: PathBuf, len: u64 },
    #[error("{0}: not UTF-8 text")]
    NotText(PathBuf),
    #[error("{0}: symlinks loop or nest too deeply")]
    LinkLoop(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl FileError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        FileError::Io { path: path.to_path_buf(), source }
    }

    /// The message without the path (for a warning that names the path itself).
    pub fn reason(&self) -> String {
        let full = self.to_string();
        match self {
            FileError::Folder(p)
            | FileError::NotRegular(p)
            | FileError::TooLarge { path: p, .. }
            | FileError::NotText(p)
            | FileError::LinkLoop(p)
            | FileError::Io { path: p, .. } => {
                full.strip_prefix(&format!("{}: ", p.display())).map_or(full.clone(), str::to_string)
            }
        }
    }
}

/// What a file held when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `None` when there is no file.
    pub bytes: Option<Vec<u8>>,
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
}

impl Snapshot {
    pub fn text(&self, path: &Path) -> Result<&str, FileError> {
        std::str::from_utf8(self.bytes.as_deref().unwrap_or_default()).map_err(|_| FileError::NotText(path.into()))
    }
}

/// The file a path ends at after following symlinks; it need not exist (a link may point to a
/// file not written yet).
pub fn real_path(path: &Path) -> Result<PathBuf, FileError> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|e| FileError::io(&p, e))?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(FileError::io(&p, e)),
        }
    }
    Err(FileError::LinkLoop(path.to_path_buf()))
}

/// Reads a file whole, refusing folders, devices, FIFOs and oversized files before opening.
pub fn read(path: &Path) -> Result<Snapshot, FileError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Snapshot { bytes: None, mode: NEW_FILE_MODE, owner: None });
        }
        Err(e) => return Err(FileError::io(path, e)),
    };
    if meta.is_dir() {
        return Err(FileError::Folder(path.into()));
    }
    if !meta.is_file() {
        return Err(FileError::NotRegular(path.into()));
    }
    if meta.len() > MAX_BYTES {
        return Err(FileError::TooLarge { path: path.into(), len: meta.len() });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The limit holds even if the file grows after the size check.
    File::open(path).and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes)).map_err(|e| FileError::io(path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FileError::TooLarge { path: path.into(), len: bytes.len() as u64 });
    }
    Ok(Snapshot { bytes: Some(bytes), mode: meta.permissions().mode() & 0o7777, owner: Some((meta.uid(), meta.gid())) })
}

/// Writes `bytes` to a new file that did not exist (`create_new`), synced, with `mode`.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let io = |e| FileError::io(path, e);
    let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(io)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)
}

/// A temporary sibling of `real`, removed on drop unless committed.
pub struct Staged {
    path: PathBuf,
    target: PathBuf,
    committed: bool,
}

/// Writes `bytes` to a temporary file beside `real`, with `like`'s mode and owner.
pub fn stage(real: &Path, bytes: &[u8], like: &Snapshot) -> Result<Staged, FileError> {
    let dir = real.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.ccdoctor-{}-{nanos}.tmp", std::process::id()));
    let staged = Staged { path: tmp.clone(), target: real.to_path_buf(), committed: false };
    write_new(&tmp, bytes, like.mode)?;
    if let Some((uid, gid)) = like.owner {
        let f = File::open(&tmp).map_err(|e| FileError::io(&tmp, e))?;
        // Keeps the owner when run as root over another user's file; otherwise a no-op or
        // refused, which is fine: the file is then ours, as it would be after any editor.
        let _ = std::os::unix::fs::fchown(&f, Some(uid), Some(gid));
    }
    Ok(staged)
}

impl Staged {
    /// Renames the staged file over the target and syncs the folder.
    pub fn commit(mut self) -> Result<(), FileError> {
        std::fs::rename(&self.path, &self.target).map_err(|e| FileError::io(&self.target, e))?;
        self.committed = true;
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename itself durable; not every file system lets a folder be synced.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_vanish_unless_committed() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        std::fs::write(&target, "old").unwrap();
        let snap = read(&target).unwrap();
        drop(stage(&target, b"new", &snap).unwrap());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        stage(&target, b"new", &snap).unwrap().commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn real_path_follows_relative_links_and_stops_loops() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir(d.join("dots")).unwrap();
        std::os::unix::fs::symlink("dots/settings.json", d.join("link.json")).unwrap();
        assert_eq!(real_path(&d.join("link.json")).unwrap(), d.join("dots/settings.json"));
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink("a", d.join("b")).unwrap();
        assert!(matches!(real_path(&d.join("a")), Err(FileError::LinkLoop(_))));
    }

    #[test]
    fn read_refuses_what_is_not_a_small_regular_file() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(read(t.path()), Err(FileError::Folder(_))));
        assert!(matches!(read(Path::new("/dev/zero")), Err(FileError::NotRegular(_))));
        assert_eq!(read(&t.path().join("none")).unwrap().bytes, None);
        let big = t.path().join("big.json");
        File::create(&big).unwrap().set_len(MAX_BYTES + 1).unwrap();
        assert!(matches!(read(&big), Err(FileError::TooLarge { .. })));
    }
}
