//! One ccdoctor at a time on a settings file. `apply` and `revert` each read the file, look at
//! its backups, write and remove some, and replace the file; two of them interleaved could
//! lose an undo (a revert removing the backup an apply had just named as its own). Each holds
//! this lock from its first read under it to its last change, so they run one after the other.
//!
//! The lock is `.NAME.ccdoctor.lock` beside the file (the file a link leads to: every name of
//! it shares the lock), locked with `flock`, which every Unix has and the kernel releases when
//! the holder dies, so a killed run leaves no lock held. The file is removed when the lock is
//! let go; a run that locked a file removed meanwhile sees that the name now holds another
//! file (or none), and tries again. Where the file system refuses `flock` (some network and
//! FUSE file systems), whoever creates the file holds the lock (`O_EXCL`), and a lock whose
//! process is gone, or older than [`STALE_AFTER`], is removed as stale.
//!
//! Only ccdoctor takes this lock: Claude Code writes its settings without one, which is why
//! every write still checks the file just before replacing it ([`super::atomic`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::atomic::{self, FileError, folder_of};

/// How long a run waits for another to finish before giving up: a write takes milliseconds.
pub const WAIT: Duration = Duration::from_secs(10);
/// Where `flock` is refused: a lock file this old is stale whoever made it.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    File(#[from] FileError),
    /// Another run held it for all of [`WAIT`].
    #[error("{0}: held by another ccdoctor")]
    Held(PathBuf),
}

/// How the lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `flock` on the lock file, falling back to [`Method::Exclusive`] where it is refused.
    Flock,
    /// Whoever created the lock file holds it.
    Exclusive,
}

/// The lock on a settings file, let go (and its file removed) when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// Kept open: a `flock` lasts as long as its descriptor.
    _file: File,
    /// The lock file's identity, to remove only that file.
    id: (u64, u64),
}

/// The lock file of the settings file `real`.
pub fn path_of(real: &Path) -> PathBuf {
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    folder_of(real).join(format!(".{name}.ccdoctor.lock"))
}

/// Takes the lock on `real` (a settings file, links already followed), waiting up to [`WAIT`]
/// for another run to let it go. The folder must exist.
pub fn take(real: &Path) -> Result<Lock, LockError> {
    take_with(real, Method::Flock, WAIT)
}

/// [`take`], with the method and the wait given (tests try the fallback and short waits).
pub fn take_with(real: &Path, method: Method, wait: Duration) -> Result<Lock, LockError> {
    let path = path_of(real);
    let io = |e| LockError::File(FileError::io(&path, e));
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    let mut quick = 0;
    loop {
        let (file, created) = open(&path).map_err(io)?;
        let id = identity(&file).map_err(io)?;
        let flocked = match method {
            Method::Flock => try_flock(&file),
            Method::Exclusive => Err(io::Error::from_raw_os_error(libc::ENOLCK)),
        };
        // Whether to try again at once (the file changed under us) rather than after a pause.
        let at_once = match flocked {
            // Locked: still the file of that name (not one a holder removed as it let go)?
            Ok(true) if still_there(&path, id) => return Ok(Lock { path, _file: file, id }),
            Ok(true) => true,
            Ok(false) => false,
            Err(e) if unsupported(&e) => {
                if created {
                    // The content only helps tell a stale lock; a lock without it still holds.
                    let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
                    return Ok(Lock { path, _file: file, id });
                }
                stale(&file) && {
                    remove_if(&path, id);
                    true
                }
            }
            Err(e) => return Err(io(e)),
        };
        drop(file);
        // A file removed or replaced as it was locked is tried again at once, a few times.
        quick = if at_once { quick + 1 } else { 0 };
        if at_once && quick < 100 {
            continue;
        }
        if Instant::now() >= deadline {
            return Err(LockError::Held(path));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

impl Lock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held, so that no one locks a file that is about to go; the
        // lock itself goes with the descriptor.
        remove_if(&self.path, self.id);
    }
}

/// Opens the lock file, creating it if there is none; whether this call created it. Never
/// follows a link, never blocks on a FIFO, and refuses anything but a regular file.
fn open(path: &Path) -> io::Result<(File, bool)> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    loop {
        // An existing file is opened without O_CREAT: in a sticky folder (protected_regular)
        // even root may not O_CREAT-open another user's file.
        let (opened, created) = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o644)
                    .custom_flags(flags)
                    .open(path)
                {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    r => (r, true),
                }
            }
            r => (r, false),
        };
        let file = opened?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file, not ccdoctor's lock"));
        }
        if created {
            // Readable by whoever may change the settings file too, whatever the umask.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
        }
        return Ok((file, created));
    }
}

fn identity(file: &File) -> io::Result<(u64, u64)> {
    let m = file.metadata()?;
    Ok((m.dev(), m.ino()))
}

/// Whether the name still holds the file locked.
fn still_there(path: &Path, id: (u64, u64)) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == id)
}

/// Removes the lock file if the name still holds that file.
fn remove_if(path: &Path, id: (u64, u64)) {
    if still_there(path, id) {
        let _ = std::fs::remove_file(path);
    }
}

/// `LOCK_EX | LOCK_NB`: `Ok(false)` when another holds it.
fn try_flock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor this function borrows; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EINTR) { Ok(false) } else { Err(e) }
}

/// The file system does not lock files with `flock`.
fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL))
}

/// Where `flock` is refused: a lock file whose process is gone, or older than
/// [`STALE_AFTER`]. A file not written yet (its maker is between the create and the write)
/// is judged by its age.
fn stale(file: &File) -> bool {
    let mut text = String::new();
    let _ = file.take(32).read_to_string(&mut text);
    let gone = text.trim().parse::<u32>().is_ok_and(|pid| pid != std::process::id() && !atomic::alive(pid));
    let age = file.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
    gone || age.is_some_and(|a| a > STALE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    /// Threads that each add one to a count in a file, read and write apart, under the lock:
    /// none is lost, and no lock file is left.
    fn exclusive(method: Method) {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        let count = t.path().join("count");
        std::fs::write(&count, "0").unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let inside = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (target, count, barrier, inside) = (target.clone(), count.clone(), barrier.clone(), inside.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..25 {
                        let _lock = take_with(&target, method, WAIT).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                        let n: u32 = std::fs::read_to_string(&count).unwrap().parse().unwrap();
                        std::thread::sleep(Duration::from_micros(100));
                        std::fs::write(&count, (n + 1).to_string()).unwrap();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&count).unwrap(), "100");
        assert!(!path_of(&target).exists(), "the lock file is removed when let go");
    }

    #[test]
    fn one_holder_at_a_time_with_flock() {
        exclusive(Method::Flock);
    }

    #[test]
    fn one_holder_at_a_time_where_flock_is_refused() {
        exclusive(Method::Exclusive);
    }

    #[test]
    fn a_held_lock_is_waited_for_then_given_up_on() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        for method in [Method::Flock, Method::Exclusive] {
            let held = take_with(&target, method, WAIT).unwrap();
            let started = Instant::now();
            let e = take_with(&target, method, Duration::from_millis(50)).unwrap_err();
            assert!(matches!(&e, LockError::Held(p) if *p == path_of(&target)), "{e}");
            assert!(started.elapsed() >= Duration::from_millis(50));
            drop(held);
            drop(take_with(&target, method, Duration::ZERO).unwrap());
        }
    }

    /// A killed run: with flock its lock went with it (the file left is locked again); without,
    /// a lock file naming a process that is gone, or an old one, is stale.
    #[test]
    fn a_killed_runs_lock_does_not_stop_the_next() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(path_of(&target), format!("{dead}\n")).unwrap();
        for method in [Method::Flock, Method::Exclusive] {
            drop(take_with(&target, method, Duration::ZERO).unwrap());
            std::fs::write(path_of(&target), format!("{dead}\n")).unwrap();
        }
        // A live process's lock, just made, is not stale; one an hour old is.
        let live = std::os::unix::process::parent_id();
        std::fs::write(path_of(&target), format!("{live}\n")).unwrap();
        assert!(matches!(take_with(&target, Method::Exclusive, Duration::ZERO), Err(LockError::Held(_))));
        let f = File::options().write(true).open(path_of(&target)).unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600)).unwrap();
        drop(take_with(&target, Method::Exclusive, Duration::ZERO).unwrap());
        assert!(!path_of(&target).exists());
    }

    #[test]
    fn what_is_not_a_regular_file_is_not_a_lock() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("s.json");
        std::os::unix::fs::symlink(t.path().join("elsewhere"), path_of(&target)).unwrap();
        assert!(matches!(take(&target), Err(LockError::File(_))));
        assert!(!t.path().join("elsewhere").exists(), "a link is never followed");
        std::fs::remove_file(path_of(&target)).unwrap();
        std::fs::create_dir(path_of(&target)).unwrap();
        assert!(matches!(take(&target), Err(LockError::File(_))));
    }
}
