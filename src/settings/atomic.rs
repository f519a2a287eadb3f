//! Reading and replacing a settings file without ever leaving it half-written: a temporary
//! file in the same folder, flushed and synced, given the original's owner (where allowed) and
//! permission bits, put in place of the original, then the folder synced. Symlinks are
//! followed by hand, so a link into a dotfiles repository stays a link; and since the kernel's
//! protected-symlink rule then never gets to look, [`real_path`] applies it itself.
//!
//! Another program (Claude Code) may rewrite the file at any moment and takes no lock, so no
//! replacement can be made conditional on the file being unchanged. [`Staged::commit_if_unchanged`]
//! makes the window as small as the system allows: it compares the contents and the file's
//! identity immediately before the rename; on Linux it then swaps the files with
//! `RENAME_EXCHANGE` and checks what came out, putting back a version someone else wrote in
//! the microseconds between. RELIABILITY.md records what remains.

use std::ffi::CString;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A settings file is a few KiB; anything above this is refused rather than read.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Symlink hops followed before giving up (as the kernel's ELOOP).
const MAX_HOPS: usize = 40;
/// Mode of a file created from nothing: settings often end up holding API keys.
pub const NEW_FILE_MODE: u32 = 0o600;
/// Mode of a managed settings file created from nothing: every user's Claude Code reads it.
pub const SHARED_FILE_MODE: u32 = 0o644;
/// A temporary file this old is left over even if a process of the number in its name runs
/// (the number may have been reused); a write takes milliseconds.
const STALE_AFTER: Duration = Duration::from_secs(600);
/// Times a version someone else wrote is put back before giving up (each try needs yet another
/// write to land within microseconds).
#[cfg(all(target_os = "linux", not(feature = "portable")))]
const PUT_BACK_TRIES: usize = 16;

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
    #[error(
        "{link}: a symlink owned by uid {link_owner} to {target}, {whose} uid {target_owner}; not followed (the kernel's protected-symlink rule): name the file itself with --settings"
    )]
    LinkOwner { link: PathBuf, link_owner: u32, target: PathBuf, whose: &'static str, target_owner: u32 },
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
            | FileError::LinkOwner { link: p, .. }
            | FileError::Io { path: p, .. } => {
                full.strip_prefix(&format!("{}: ", p.display())).map_or(full.clone(), str::to_string)
            }
        }
    }
}

/// One version of a file: which file a path held and when it last changed. A program that
/// renames a new file into place changes `ino`; one that writes in place changes the times
/// (and usually the size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Version {
    fn of(m: &Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    #[cfg_attr(any(not(target_os = "linux"), feature = "portable"), allow(dead_code))]
    fn same_file(&self, other: &Version) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }

    /// The same file, not written to since. The change time is left out: a rename sets it.
    #[cfg_attr(any(not(target_os = "linux"), feature = "portable"), allow(dead_code))]
    fn same_contents(&self, other: &Version) -> bool {
        self.same_file(other) && (self.size, self.mtime) == (other.size, other.mtime)
    }
}

/// A file's extended attributes, its POSIX access list (`system.posix_acl_access`) among
/// them: read with the file and given to what replaces it (and to its backup), so that a
/// write neither widens nor narrows who may read it. Where a file has an access list, its
/// group permission bits are the list's mask: bits alone, without the list, would give the
/// file's group what the list gave one named user (Linux; elsewhere none are read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xattrs(Vec<(CString, Vec<u8>)>);

/// The access list's attribute: a write that cannot give it is not made.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
const ACCESS_LIST: &[u8] = b"system.posix_acl_access";

impl Xattrs {
    /// The attributes of the open `file` (none where the file system keeps none).
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    pub fn of(file: &File) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let unsupported = |e: &io::Error| e.raw_os_error() == Some(libc::ENOTSUP);
        // The list of names, NUL-separated; asked again if it grew in between.
        let mut names = Vec::new();
        for _ in 0..4 {
            // SAFETY: a null buffer of size 0 asks only for the size.
            let n = unsafe { libc::flistxattr(fd, std::ptr::null_mut(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                return if unsupported(&e) { Ok(Self::default()) } else { Err(e) };
            }
            names.resize(n as usize, 0u8);
            // SAFETY: the buffer holds `names.len()` bytes.
            let got = unsafe { libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) };
            if got >= 0 {
                names.truncate(got as usize);
                break;
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ERANGE) {
                return Err(e);
            }
        }
        let mut out = Vec::new();
        for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            let name = CString::new(name).map_err(io::Error::other)?;
            // SAFETY: a null buffer of size 0 asks only for the size; `name` is NUL-terminated.
            let n = unsafe { libc::fgetxattr(fd, name.as_ptr(), std::ptr::null_mut(), 0) };
            if n < 0 {
                // Removed since the list: nothing to keep.
                continue;
            }
            let mut value = vec![0u8; n as usize];
            // SAFETY: the buffer holds `value.len()` bytes.
            let got = unsafe { libc::fgetxattr(fd, name.as_ptr(), value.as_mut_ptr().cast(), value.len()) };
            if got < 0 {
                continue;
            }
            value.truncate(got as usize);
            out.push((name, value));
        }
        Ok(Self(out))
    }

    #[cfg(any(not(target_os = "linux"), feature = "portable"))]
    pub fn of(_file: &File) -> io::Result<Self> {
        Ok(Self::default())
    }

    /// Gives them to the open `file`. Those the system does not let this user set (another
    /// namespace's, a label) are left as the new file has them; the access list must be
    /// given, or the write is not made.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    fn give(&self, file: &File) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        for (name, value) in &self.0 {
            // SAFETY: `name` is NUL-terminated and `value` holds `value.len()` bytes.
            let r = unsafe { libc::fsetxattr(file.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
            if r != 0 && name.as_bytes() == ACCESS_LIST {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("cannot give the new file the access list (ACL): {e}")));
            }
        }
        Ok(())
    }

    #[cfg(any(not(target_os = "linux"), feature = "portable"))]
    fn give(&self, _file: &File) -> io::Result<()> {
        Ok(())
    }
}

/// What a file held when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `None` when there is no file.
    pub bytes: Option<Vec<u8>>,
    pub mode: u32,
    pub owner: Option<(u32, u32)>,
    /// The file read (from the open file itself, so it is the one the bytes came from).
    pub version: Option<Version>,
    /// Its number of hard links (0: no file).
    pub links: u64,
    /// Its extended attributes, the access list among them ([`Xattrs`]).
    pub xattrs: Xattrs,
}

impl Snapshot {
    fn missing() -> Self {
        Snapshot { bytes: None, mode: NEW_FILE_MODE, owner: None, version: None, links: 0, xattrs: Xattrs::default() }
    }

    pub fn text(&self, path: &Path) -> Result<&str, FileError> {
        std::str::from_utf8(self.bytes.as_deref().unwrap_or_default()).map_err(|_| FileError::NotText(path.into()))
    }
}

/// The effective user id ccdoctor runs as: whose files are "yours".
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The folder `path` sits in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn name_of(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The nearest of `dir` and its ancestors that exists, and its owner: where a missing file
/// and its folders would be created.
pub fn existing_folder(dir: &Path) -> Option<(PathBuf, u32)> {
    dir.ancestors()
        .map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d })
        .find_map(|d| std::fs::metadata(d).ok().map(|m| (d.to_path_buf(), m.uid())))
}

/// The folders of `dir` (itself and its ancestors) that do not exist, deepest first: what
/// creating a file there makes, and what undoing it removes.
pub fn missing_folders(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Whether ccdoctor may create files in `dir` (or in its nearest existing ancestor): a folder
/// on a read-only file system, or one it may not write, is refused before a long scan.
pub fn writable(dir: &Path) -> io::Result<()> {
    let Some((folder, _)) = existing_folder(dir) else { return Ok(()) };
    let c = c_path(&folder)?;
    // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
    let r = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK | libc::X_OK, libc::AT_EACCESS) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// The file a path ends at after following symlinks; it need not exist (a link may point to a
/// file not written yet).
///
/// A link is followed only to something of the link's own owner (or, when the target does not
/// exist yet, into a folder of the link's owner). The kernel applies this rule (fs.protected_symlinks)
/// in world-writable sticky folders when it follows a link; following links by hand bypasses
/// it, and without it another user's link could lead ccdoctor, run as root, to create or edit
/// root's files. It is applied everywhere here, since a settings folder has no reason to hold
/// such a link.
pub fn real_path(path: &Path) -> Result<PathBuf, FileError> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|e| FileError::io(&p, e))?;
                let next = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
                same_owner(&p, m.uid(), &next)?;
                p = next;
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(FileError::io(&p, e)),
        }
    }
    Err(FileError::LinkLoop(path.to_path_buf()))
}

/// Refuses a link whose target (or, for a missing target, the folder it would be created in)
/// has another owner than the link.
fn same_owner(link: &Path, link_owner: u32, next: &Path) -> Result<(), FileError> {
    let (whose, target_owner) = match std::fs::symlink_metadata(next) {
        Ok(m) => ("owned by", m.uid()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match existing_folder(folder_of(next)) {
            Some((_, uid)) => ("which does not exist, in a folder owned by", uid),
            None => return Ok(()),
        },
        Err(e) => return Err(FileError::io(next, e)),
    };
    if target_owner == link_owner {
        return Ok(());
    }
    Err(FileError::LinkOwner { link: link.into(), link_owner, target: next.into(), whose, target_owner })
}

/// Reads a file whole, following links, refusing folders, devices, FIFOs and oversized files
/// before opening.
pub fn read(path: &Path) -> Result<Snapshot, FileError> {
    read_with(path, true)
}

/// Reads the file at `path` itself, never a link: for a path already resolved by [`real_path`],
/// where a link that appeared since could only be someone else's doing.
pub fn read_here(path: &Path) -> Result<Snapshot, FileError> {
    read_with(path, false)
}

fn read_with(path: &Path, follow: bool) -> Result<Snapshot, FileError> {
    let looked = if follow { std::fs::metadata(path) } else { std::fs::symlink_metadata(path) };
    match looked {
        Ok(m) => kind(path, &m)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Snapshot::missing()),
        Err(e) => return Err(FileError::io(path, e)),
    }
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(f) => f,
        // Gone between the look and the open: as if it had not been there.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Snapshot::missing()),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(FileError::NotRegular(path.into())),
        Err(e) => return Err(FileError::io(path, e)),
    };
    // The file opened may not be the one looked at: check it again.
    let meta = file.metadata().map_err(|e| FileError::io(path, e))?;
    kind(path, &meta)?;
    let xattrs = Xattrs::of(&file).map_err(|e| FileError::io(path, e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The limit holds even if the file grows after the size check.
    file.take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| FileError::io(path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FileError::TooLarge { path: path.into(), len: bytes.len() as u64 });
    }
    Ok(Snapshot {
        bytes: Some(bytes),
        mode: meta.permissions().mode() & 0o7777,
        owner: Some((meta.uid(), meta.gid())),
        version: Some(Version::of(&meta)),
        links: meta.nlink(),
        xattrs,
    })
}

/// Refuses what is not a small regular file.
fn kind(path: &Path, meta: &Metadata) -> Result<(), FileError> {
    if meta.is_dir() {
        return Err(FileError::Folder(path.into()));
    }
    if !meta.is_file() {
        return Err(FileError::NotRegular(path.into()));
    }
    if meta.len() > MAX_BYTES {
        return Err(FileError::TooLarge { path: path.into(), len: meta.len() });
    }
    Ok(())
}

/// The version the path holds now (`None`: nothing there), by the cheapest look there is.
fn version_at(path: &Path) -> Result<Option<Version>, FileError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(Version::of(&m))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::io(path, e)),
    }
}

/// The prefix and suffix of ccdoctor's temporary files beside a file named `name`:
/// `.NAME.ccdoctor-PID-N.tmp`.
fn temp_affixes(name: &str) -> (String, &'static str) {
    (format!(".{name}.ccdoctor-"), ".tmp")
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) % 10_000;
    let (prefix, suffix) = temp_affixes(name);
    dir.join(format!("{prefix}{}-{nanos:09}{seq:04}{suffix}", std::process::id()))
}

/// A temporary file, removed when dropped unless it was put in place.
pub struct Temp {
    path: PathBuf,
    placed: bool,
}

impl Temp {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file now has another name: nothing to remove.
    pub fn placed(&mut self) {
        self.placed = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to a new temporary file in `dir`, named after `name`, synced, with `owner`
/// (where permitted), `mode` and `xattrs` (the access list, or nothing is written). Also
/// whether the owner could be given.
pub fn write_temp(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    xattrs: &Xattrs,
) -> Result<(Temp, bool), FileError> {
    let path = temp_path(dir, name);
    let io = |e| FileError::io(&path, e);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io)?;
    let temp = Temp { path: path.clone(), placed: false };
    let owner_kept = match owner {
        Some((uid, gid)) => {
            let m = f.metadata().map_err(io)?;
            // Root keeps another user's file theirs; a user keeps a group they belong to.
            (m.uid(), m.gid()) == (uid, gid) || std::os::unix::fs::fchown(&f, Some(uid), Some(gid)).is_ok()
        }
        None => true,
    };
    // After the owner, since changing the owner may clear set-id bits.
    f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io)?;
    // After the mode, which would otherwise set the access list's mask anew.
    xattrs.give(&f).map_err(io)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)?;
    Ok((temp, owner_kept))
}

/// Makes a rename or a new name durable; not every file system lets a folder be synced.
pub fn sync_folder(of: &Path) {
    if let Ok(d) = File::open(folder_of(of)) {
        let _ = d.sync_all();
    }
}

/// Removes ccdoctor's temporary files beside `name` in `dir` that a killed run left (each may
/// hold a whole settings file): those whose process is gone, or that are older than
/// `STALE_AFTER`. Another run's file in use is left alone. Returns how many were removed.
pub fn clean_stale(dir: &Path, name: &str) -> usize {
    let (prefix, suffix) = temp_affixes(name);
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix)?.strip_suffix(suffix)?.split_once('-'))
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = e.metadata() else { continue };
        let age = meta.modified().ok().and_then(|t| t.elapsed().ok()).unwrap_or_default();
        let stale = pid != std::process::id() && (!alive(pid) || age > STALE_AFTER);
        if stale && !meta.is_dir() && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this id exists (one that may not be signalled still exists).
pub(crate) fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0 && (unsafe { libc::kill(pid, 0) } == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Renames `from` to `to` unless `to` exists (then `AlreadyExists`): `RENAME_NOREPLACE` where
/// the kernel and the file system have it, else a hard link and an unlink.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    match renameat2(from, to, libc::RENAME_NOREPLACE) {
        Err(e) if unsupported(&e) => {}
        r => return r,
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // No hard links here (some FUSE and FAT file systems): look, then rename.
        Err(_) if std::fs::symlink_metadata(to).is_err() => std::fs::rename(from, to),
        Err(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
    }
}

#[cfg(all(target_os = "linux", not(feature = "portable")))]
fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    let (f, t) = (c_path(from)?, c_path(to)?);
    // SAFETY: both are valid NUL-terminated paths for the duration of the call.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), flags) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// The kernel or the file system does not offer the rename flag asked for.
#[cfg(all(target_os = "linux", not(feature = "portable")))]
fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP))
}

/// A new version of `target` written beside it, removed on drop unless put in place.
pub struct Staged {
    temp: Temp,
    target: PathBuf,
    /// The staged file itself, to recognise it after a swap.
    #[cfg_attr(any(not(target_os = "linux"), feature = "portable"), allow(dead_code))]
    ours: Version,
    /// Whether the staged file has the owner asked for (see [`write_temp`]).
    pub owner_kept: bool,
}

/// Makes `dir` and the folders above it that are missing, none of them writable by group or
/// others whatever the umask (at most `rwxr-xr-x`; a umask may take more away): a settings
/// file holds `env` and hooks, and a folder anyone may write to lets anyone replace it.
pub fn make_folders(dir: &Path) -> Result<(), FileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o755);
    builder.create(dir).map_err(|e| FileError::io(dir, e))
}

/// Writes `bytes` to a temporary file beside `real`, with `like`'s owner and mode, creating the
/// folders it needs.
pub fn stage(real: &Path, bytes: &[u8], like: &Snapshot) -> Result<Staged, FileError> {
    let dir = folder_of(real);
    make_folders(dir)?;
    let (temp, owner_kept) = write_temp(dir, &name_of(real), bytes, like.mode, like.owner, &like.xattrs)?;
    let ours = version_at(temp.path())?.ok_or_else(|| FileError::io(temp.path(), io::ErrorKind::NotFound.into()))?;
    Ok(Staged { temp, target: real.to_path_buf(), ours, owner_kept })
}

impl Staged {
    /// Puts the staged file in place of the target if the target still holds what `was` read,
    /// and syncs the folder. `false`: the target changed, and is as the other program left it.
    pub fn commit_if_unchanged(mut self, was: &Snapshot) -> Result<bool, FileError> {
        if !unchanged(&self.target, was)? {
            return Ok(false);
        }
        let done = match &was.version {
            None => self.create()?,
            Some(v) => self.replace(was, *v)?,
        };
        if done {
            sync_folder(&self.target);
        }
        Ok(done)
    }

    /// The target did not exist: create it, unless someone else just did.
    fn create(&mut self) -> Result<bool, FileError> {
        match rename_noreplace(&self.temp.path, &self.target) {
            Ok(()) => {
                self.temp.placed();
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(FileError::io(&self.target, e)),
        }
    }

    /// Swaps the staged file with the target and checks that what came out is the version
    /// read; if someone replaced the file between the last look and the swap, theirs is put
    /// back. The old file, now under the temporary name, is removed on drop.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    fn replace(&mut self, was: &Snapshot, read: Version) -> Result<bool, FileError> {
        match renameat2(&self.temp.path, &self.target, libc::RENAME_EXCHANGE) {
            Ok(()) => {}
            Err(e) if unsupported(&e) => return self.rename_over(),
            // Removed since the look: read again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(FileError::io(&self.target, e)),
        }
        // A link or folder put there meanwhile cannot be read as a file: it is not the version read.
        let out = read_here(&self.temp.path).ok();
        if out.as_ref().is_some_and(|o| o.version.is_some_and(|v| v.same_contents(&read)) && o.bytes == was.bytes) {
            return Ok(true);
        }
        self.put_back()?;
        Ok(false)
    }

    #[cfg(any(not(target_os = "linux"), feature = "portable"))]
    fn replace(&mut self, _was: &Snapshot, _read: Version) -> Result<bool, FileError> {
        self.rename_over()
    }

    /// A plain rename: what the target held between the last look and now is lost.
    fn rename_over(&mut self) -> Result<bool, FileError> {
        std::fs::rename(&self.temp.path, &self.target).map_err(|e| FileError::io(&self.target, e))?;
        self.temp.placed();
        Ok(true)
    }

    /// After a swap took out a version someone else had just written: swaps it back in, unless
    /// an even newer one has replaced ours meanwhile (what is held is then obsolete). Each
    /// swap is checked by what it takes out, so a write landing between the look and the swap
    /// is put back in turn.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    fn put_back(&mut self) -> Result<(), FileError> {
        let mut placed = self.ours;
        for _ in 0..PUT_BACK_TRIES {
            if !version_at(&self.target)?.is_some_and(|v| v.same_file(&placed)) {
                return Ok(());
            }
            let Some(held) = version_at(&self.temp.path)? else { return Ok(()) };
            renameat2(&self.temp.path, &self.target, libc::RENAME_EXCHANGE)
                .map_err(|e| FileError::io(&self.target, e))?;
            if version_at(&self.temp.path)?.is_some_and(|v| v.same_file(&placed)) {
                return Ok(());
            }
            // Another version landed between the look and the swap; the one just put back is
            // older than it.
            placed = held;
        }
        Err(FileError::io(&self.target, io::Error::other("kept changing while a concurrent change was put back")))
    }
}

/// Whether `path` still holds what `was` read: the same contents from the same file, and then,
/// as the last thing before the rename, the same file with the same times at the path.
fn unchanged(path: &Path, was: &Snapshot) -> Result<bool, FileError> {
    let now = read_here(path)?;
    if now.bytes != was.bytes || now.version != was.version {
        return Ok(false);
    }
    Ok(version_at(path)? == was.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The adversarial review of 2026-12-08: a settings file readable by one named user
    /// (and not by its group) through an access list came out of `apply` with the list's
    /// mask as its group's permission and no list, readable by the group. The list, and the
    /// other attributes, now go with the contents.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    #[test]
    fn a_write_keeps_the_files_access_list_and_attributes() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("settings.json");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        // user_obj rw, user 4242 r, group_obj none, mask r, other none.
        let entry =
            |tag: u16, perm: u16, id: u32| [&tag.to_le_bytes()[..], &perm.to_le_bytes(), &id.to_le_bytes()].concat();
        let acl = [
            &2u32.to_le_bytes()[..],
            &entry(1, 6, u32::MAX),
            &entry(2, 4, 4242),
            &entry(4, 0, u32::MAX),
            &entry(0x10, 4, u32::MAX),
            &entry(0x20, 0, u32::MAX),
        ]
        .concat();
        let set = |name: &str, value: &[u8]| {
            let f = File::open(&target).unwrap();
            let name = CString::new(name).unwrap();
            // SAFETY: a NUL-terminated name and a buffer of `value.len()` bytes.
            let r = unsafe { libc::fsetxattr(f.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
            assert_eq!(r, 0, "{name:?}: {}", io::Error::last_os_error());
        };
        set("system.posix_acl_access", &acl);
        set("user.note", b"kept");
        let snap = read(&target).unwrap();
        assert_eq!(snap.mode & 0o070, 0o040, "the group bits are the list's mask");
        assert!(stage(&target, b"new", &snap).unwrap().commit_if_unchanged(&snap).unwrap());
        let after = read(&target).unwrap();
        assert_eq!(after.bytes.as_deref(), Some(&b"new"[..]));
        assert_eq!(after.xattrs, snap.xattrs);
        assert_eq!(after.mode, snap.mode);
        let names: Vec<&[u8]> = after.xattrs.0.iter().map(|(n, _)| n.as_bytes()).collect();
        assert!(names.contains(&&b"system.posix_acl_access"[..]) && names.contains(&&b"user.note"[..]), "{names:?}");
        // A backup made of it carries them too.
        let b = crate::settings::backup::create(&target, b"old", &after, "20261208T000000.000001", "bak").unwrap();
        let f = File::open(&b).unwrap();
        assert_eq!(Xattrs::of(&f).unwrap(), snap.xattrs);
    }

    #[test]
    fn staged_files_vanish_unless_committed() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        std::fs::write(&target, "old").unwrap();
        let snap = read(&target).unwrap();
        drop(stage(&target, b"new", &snap).unwrap());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(stage(&target, b"new", &snap).unwrap().commit_if_unchanged(&snap).unwrap());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_changed_or_created_since_the_read_is_not_replaced() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        std::fs::write(&target, "old").unwrap();
        let snap = read_here(&target).unwrap();
        let staged = stage(&target, b"new", &snap).unwrap();
        // Rewritten in place with the same length: the contents tell.
        std::fs::write(&target, "odd").unwrap();
        assert!(!staged.commit_if_unchanged(&snap).unwrap());
        assert_eq!(std::fs::read(&target).unwrap(), b"odd");
        // Replaced by another file with the same contents: the identity tells.
        let snap = read_here(&target).unwrap();
        let staged = stage(&target, b"new", &snap).unwrap();
        std::fs::write(t.path().join("other"), "odd").unwrap();
        std::fs::rename(t.path().join("other"), &target).unwrap();
        assert!(!staged.commit_if_unchanged(&snap).unwrap());
        // Created by someone else after it was found missing.
        let fresh = t.path().join("new.json");
        let missing = read_here(&fresh).unwrap();
        let staged = stage(&fresh, b"ours", &missing).unwrap();
        std::fs::write(&fresh, "theirs").unwrap();
        assert!(!staged.commit_if_unchanged(&missing).unwrap());
        assert_eq!(std::fs::read(&fresh).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 2, "no temporary file left");
    }

    /// What the swap does when another program renames its file in after the last look: the
    /// swap takes theirs out, sees it is not the version read, and puts it back.
    #[cfg(all(target_os = "linux", not(feature = "portable")))]
    #[test]
    fn a_version_swapped_out_by_mistake_is_put_back() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        std::fs::write(&target, "old").unwrap();
        let snap = read_here(&target).unwrap();
        let mut staged = stage(&target, b"new", &snap).unwrap();
        std::fs::write(t.path().join("theirs"), "theirs").unwrap();
        std::fs::rename(t.path().join("theirs"), &target).unwrap();
        // As if the look had come just before their rename.
        assert!(!staged.replace(&snap, snap.version.unwrap()).unwrap());
        drop(staged);
        assert_eq!(std::fs::read(&target).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1, "ours removed");
    }

    #[test]
    fn stale_temporary_files_are_removed_and_live_ones_kept() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::os::unix::process::parent_id();
        for name in [
            format!(".s.json.ccdoctor-{dead}-123.tmp"),
            format!(".s.json.ccdoctor-{live}-456.tmp"),
            format!(".s.json.ccdoctor-{dead}-x.tmp"),
            format!(".other.json.ccdoctor-{dead}-1.tmp"),
        ] {
            std::fs::write(d.join(name), "{}").unwrap();
        }
        assert_eq!(clean_stale(d, "s.json"), 1);
        let mut left: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        let mut expected = [
            format!(".other.json.ccdoctor-{dead}-1.tmp"),
            format!(".s.json.ccdoctor-{dead}-x.tmp"),
            format!(".s.json.ccdoctor-{live}-456.tmp"),
        ];
        left.sort();
        expected.sort();
        assert_eq!(left, expected);
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

    /// Needs root to give the link another owner (`.ci/run` runs it).
    #[test]
    #[ignore = "needs root: gives a link another owner (.ci/run runs it)"]
    fn a_link_to_another_owners_file_or_folder_is_not_followed() {
        assert_eq!(
            euid(),
            0,
            "this test must run as root to give a link another owner; it cannot check anything otherwise"
        );
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("roots.json"), "{}").unwrap();
        std::os::unix::fs::symlink("roots.json", d.join("link.json")).unwrap();
        std::os::unix::fs::lchown(d.join("link.json"), Some(1000), Some(1000)).unwrap();
        let e = real_path(&d.join("link.json")).unwrap_err();
        assert!(matches!(e, FileError::LinkOwner { link_owner: 1000, target_owner: 0, .. }), "{e}");
        assert!(e.to_string().contains("not followed"), "{e}");
        // A link to a file not made yet: the folder it would be made in counts.
        std::os::unix::fs::symlink("new.json", d.join("new-link.json")).unwrap();
        std::os::unix::fs::lchown(d.join("new-link.json"), Some(1000), Some(1000)).unwrap();
        assert!(matches!(real_path(&d.join("new-link.json")), Err(FileError::LinkOwner { .. })));
        // The same owner on both sides: followed.
        std::os::unix::fs::chown(d.join("roots.json"), Some(1000), Some(1000)).unwrap();
        assert_eq!(real_path(&d.join("link.json")).unwrap(), d.join("roots.json"));
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
