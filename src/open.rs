//! Opening a file of the user's to read, without ever waiting on it.
//!
//! The walk finds a file regular when it lists it; by the time a reader opens it, something
//! may have put a FIFO or a device in its place, and `open` of a FIFO waits for a writer that
//! never comes (a `check --hook` would hang the session that started it). The file is opened
//! non-blocking (which changes nothing for a regular file's reads) and refused unless it is
//! a regular file once open.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` to read, as [`File::open`] does, but without waiting on a FIFO or a device in
/// its place: anything but a regular file is an error ("not a regular file").
pub fn regular(path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?
    };
    #[cfg(not(unix))]
    let file = File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_opens_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        std::fs::write(&p, "{}\n").unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut regular(&p).unwrap(), &mut text).unwrap();
        assert_eq!(text, "{}\n");
        assert!(regular(dir.path()).is_err(), "a folder");
    }

    /// A FIFO with no writer: `File::open` would wait for one forever.
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.jsonl");
        let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str())).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = regular(&p).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file");
    }
}
