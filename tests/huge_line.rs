//! 100 MB lines: read with bounded memory, the rest of the file still counted. In a test
//! binary of its own, so that the peak memory of its child processes is this test's alone.

mod common;

use std::fs;
use std::io::Write;

use common::{Run, ccdoctor};

fn response(id: &str, out: u64) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"u-{id}","requestId":"r-{id}","message":{{"id":"m-{id}","model":"claude-sonnet-4-5","content":"hi","usage":{{"output_tokens":{out}}}}}}}"#
    )
}

/// The largest peak RSS of this process's finished children, in bytes.
fn children_peak_rss() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut u), 0);
        u.ru_maxrss as u64 * 1024
    }
}

#[test]
fn hundred_megabyte_lines_use_bounded_memory() {
    const MB: usize = 100 * 1024 * 1024;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("home/projects/p");
    fs::create_dir_all(&dir).unwrap();
    let mut f = fs::File::create(dir.join("s.jsonl")).unwrap();
    writeln!(f, "{}", response("a", 100)).unwrap();
    // A user line of 100 MB (a tool result), and an assistant line of 100 MB, written in
    // pieces: the test process itself stays small (a forked child starts with its pages).
    let piece = "x".repeat(1024 * 1024);
    let filler = |f: &mut fs::File| (0..MB / piece.len()).for_each(|_| f.write_all(piece.as_bytes()).unwrap());
    write!(f, r#"{{"type":"user","message":{{"content":""#).unwrap();
    filler(&mut f);
    writeln!(f, r#""}}}}"#).unwrap();
    write!(f, r#"{{"type":"assistant","message":{{"id":"m-big","content":""#).unwrap();
    filler(&mut f);
    writeln!(f, r#"","usage":{{"output_tokens":9}}}}}}"#).unwrap();
    writeln!(f, "{}", response("b", 200)).unwrap();
    drop(f);
    // A debug log (text, not JSON) with a 100 MB line between two attempts.
    let debug = t.path().join("home/debug");
    fs::create_dir_all(&debug).unwrap();
    let mut d = fs::File::create(debug.join("s.txt")).unwrap();
    let attempt =
        |k: u32| format!("2026-01-02T10:00:0{k}.000Z [ERROR] API error (attempt {k}/11): 429 429 Too many tokens\n");
    d.write_all(attempt(1).as_bytes()).unwrap();
    d.write_all(b"2026-01-02T10:00:02.000Z [DEBUG] ").unwrap();
    filler(&mut d);
    d.write_all(b"\n").unwrap();
    d.write_all(attempt(3).as_bytes()).unwrap();
    drop(d);

    let r: Run =
        ccdoctor(t.path()).args(["scan", "--json", t.path().join("home").to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["responses"]["count"], 2);
    assert_eq!(v["scan"]["lines"], 4 + 3);
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 2);
    assert_eq!(v["scan"]["long_lines_skipped"], 1);
    assert!(r.stderr.contains("s.jsonl:3: a line of 100 MiB"), "{}", r.stderr);
    let peak = children_peak_rss();
    eprintln!("peak RSS of the scan: {} KiB", peak >> 10);
    assert!(peak < 64 * 1024 * 1024, "peak RSS {} MiB", peak >> 20);
}
