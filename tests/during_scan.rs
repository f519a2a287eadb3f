//! Files that change while they are read: Claude Code appends to the transcript of a running
//! session, and a crash, a sync or a user can truncate or delete one. The reader's progress
//! hook runs after every read, which is exactly when such a change would land.

use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::path::Path;

use ccdoctor::scan::discover::{FileKind, Input};
use ccdoctor::scan::file::{Buffers, FileResult, read};

fn response(id: usize, text_len: usize) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"u-{id}","requestId":"r-{id}","message":{{"id":"m-{id}","model":"claude-sonnet-4-5","content":"{}","usage":{{"output_tokens":{id}}}}}}}"#,
        "t".repeat(text_len)
    ) + "\n"
}

/// A transcript of `n` responses of about 1 KiB each (several read buffers).
fn transcript(dir: &Path, n: usize) -> std::path::PathBuf {
    let p = dir.join("s.jsonl");
    let text: String = (0..n).map(|i| response(i, 1000)).collect();
    fs::write(&p, text).unwrap();
    p
}

/// Reads `path`, calling `change` once, after the first read.
fn read_changing(path: &Path, change: impl Fn()) -> FileResult {
    let input = Input { path: path.to_path_buf(), kind: FileKind::Transcript, project: "p".into(), len: 0 };
    let done = Cell::new(false);
    let progress = |_: u64| {
        if !done.replace(true) {
            change();
        }
    };
    read(&input, false, &mut Buffers::default(), &progress)
}

#[test]
fn lines_appended_during_the_scan_are_read() {
    let t = tempfile::tempdir().unwrap();
    let p = transcript(t.path(), 1000);
    let r = read_changing(&p, || {
        let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
        for i in 1000..1010 {
            f.write_all(response(i, 10).as_bytes()).unwrap();
        }
    });
    assert_eq!(r.groups.len(), 1010);
    assert_eq!(r.malformed, 0);
    assert!(!r.unreadable);
}

#[test]
fn a_file_truncated_during_the_scan_ends_early_and_says_so() {
    let t = tempfile::tempdir().unwrap();
    let p = transcript(t.path(), 1000);
    let r = read_changing(&p, || fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(10).unwrap());
    // What the first read brought is counted; the line it cut is named as malformed.
    assert!(r.groups.len() > 100 && r.groups.len() < 1000, "{}", r.groups.len());
    assert_eq!(r.malformed, 1);
    assert!(r.warnings[0].to_string().contains("malformed line skipped"), "{:?}", r.warnings);
}

#[test]
fn a_file_deleted_during_the_scan_is_read_to_its_end() {
    let t = tempfile::tempdir().unwrap();
    let p = transcript(t.path(), 1000);
    let r = read_changing(&p, || fs::remove_file(&p).unwrap());
    assert_eq!(r.groups.len(), 1000);
    assert_eq!(r.malformed, 0);
}

#[test]
fn a_long_line_that_vanishes_before_it_is_read_again_is_named() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("s.jsonl");
    // A response longer than the read buffer: streamed, then read again by offset to be parsed.
    fs::write(&p, response(1, 10) + &response(2, 2 * 1024 * 1024)).unwrap();
    let size = fs::metadata(&p).unwrap().len();
    let seen = Cell::new(0);
    let input = Input { path: p.clone(), kind: FileKind::Transcript, project: "p".into(), len: 0 };
    let progress = |n: u64| {
        // Once the line has been streamed whole (the last read), cut the file short.
        seen.set(seen.get() + n);
        if seen.get() == size {
            fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(100).unwrap();
        }
    };
    let r = read(&input, false, &mut Buffers::default(), &progress);
    assert_eq!(r.groups.len(), 1, "the first response only");
    assert!(r.warnings.iter().any(|w| w.to_string().contains("changed while it was read")), "{:?}", r.warnings);
}
