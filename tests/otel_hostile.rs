//! Telemetry input that is broken or hostile: each case gets a warning naming the file, the
//! rest of the input is read, and nothing hangs or grows without bound.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, scan_json};
use serde_json::Value;

const ERIN: &str = r#"{"event.name":"api_request","event.timestamp":"2026-11-20T10:10:00Z","session.id":"e","output_tokens":3500,"duration_ms":4000,"request_id":"r1"}"#;

fn gzip(path: &Path, parts: &[&[u8]]) {
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    for p in parts {
        e.write_all(p).unwrap();
    }
    e.finish().unwrap();
}

/// Runs ccdoctor, killing it (and failing) if it takes longer than `limit`.
fn run_within(args: &[&str], limit: Duration) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut child =
        common::ccdoctor(home.path()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("ccdoctor {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap().into()
}

/// Scans a folder of telemetry files (name, contents) as one `--otel` path.
fn scan_folder(files: &[(&str, String)]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    scan_json(&["--otel", dir.path().to_str().unwrap()])
}

fn responses(v: &Value) -> u64 {
    v["responses"]["count"].as_u64().unwrap()
}

#[test]
fn an_endless_line_is_skipped_and_the_next_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl.gz");
    // 65 MiB without a line break (a few hundred KiB compressed), then a good event.
    let chunk = vec![b'x'; 1 << 20];
    let mut parts: Vec<&[u8]> = vec![chunk.as_slice(); 65];
    let tail = format!("\n{ERIN}\n");
    parts.push(tail.as_bytes());
    gzip(&path, &parts);
    let (v, stderr) = scan_json(&["--otel", path.to_str().unwrap()]);
    assert!(stderr.contains("long.jsonl.gz:1: longer than 64 MiB: skipped"), "{stderr}");
    assert_eq!(responses(&v), 1);
    assert_eq!(v["telemetry"]["long_lines"], 1);
}

#[test]
fn a_fifo_or_a_device_is_skipped_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, format!("{ERIN}\n")).unwrap();
    for bad in [fifo.to_str().unwrap(), "/dev/zero"] {
        let r =
            run_within(&["scan", "--json", "--otel", bad, "--otel", good.to_str().unwrap()], Duration::from_secs(20));
        assert_eq!(r.code, 0, "{bad}: {}", r.stderr);
        assert!(r.stderr.contains("not a regular file"), "{bad}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(responses(&v), 1, "{bad}");
    }
    // The same FIFO inside a folder.
    let r = run_within(&["scan", "--json", "--otel", dir.path().to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("fifo.jsonl: not a regular file"), "{}", r.stderr);
}

#[test]
fn a_gzip_cut_short_or_followed_by_junk_keeps_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl.gz");
    gzip(&path, &[format!("{ERIN}\n").as_bytes()]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad]);
    std::fs::write(&path, &bytes).unwrap();
    let (v, stderr) = scan_json(&["--otel", path.to_str().unwrap()]);
    assert!(stderr.contains("stopped reading (gzip)"), "{stderr}");
    assert_eq!(responses(&v), 1);
    assert_eq!(
        (v["telemetry"]["cut_short_files"].as_u64(), v["telemetry"]["unreadable_files"].as_u64()),
        (Some(1), Some(0))
    );
}

/// The adversary's trial of 2026-12-07: a gzip stream broken before its first event was read
/// as an empty export, and `check` said "ok" (exit 0). A file that stops before its first
/// event is one that could not be read: alone, nothing to report (exit 2); beside a good one,
/// a warning, and the good one's events.
#[test]
fn a_file_that_stops_before_its_first_event_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl.gz");
    std::fs::write(&bad, [0x1f, 0x8b, 0x08, 0x00, b'g', b'a', b'r', b'b', b'a', b'g', b'e']).unwrap();
    let bad = bad.to_str().unwrap();
    for command in ["scan", "check"] {
        let r = common::run(&[command, "--otel", bad]);
        assert_eq!(r.code, 2, "{command}: {} {}", r.stdout, r.stderr);
        assert!(r.stderr.contains("no telemetry file could be read"), "{command}: {}", r.stderr);
    }
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, format!("{ERIN}\n")).unwrap();
    let (v, stderr) = scan_json(&["--otel", bad, "--otel", good.to_str().unwrap()]);
    assert!(stderr.contains("bad.jsonl.gz: stopped reading (gzip)"), "{stderr}");
    assert_eq!(responses(&v), 1);
    assert_eq!(v["telemetry"]["unreadable_files"], 1);
}

/// The new user's trial of 2026-12-07: events whose times do not parse were left out with a
/// warning and `check` said "ok: nothing to check"; over nothing else it checks nothing (exit
/// 2), as over transcripts.
#[test]
fn check_over_events_of_no_readable_time_checks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    let text = "event.name,event.timestamp,session.id,model,output_tokens\n\
                api_request,2026-11-40T10:00:00Z,s,claude-opus-4-8,10\n\
                api_request,2026-11-40T10:01:00Z,s,claude-opus-4-8,20\n";
    std::fs::write(&path, text).unwrap();
    let r = common::run(&["check", "--since", "2026-11-01", "--otel", path.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("nothing checked: nothing to judge by but records left out"), "{}", r.stdout);
    assert!(r.stdout.contains("; 2 records left out for a time unread"), "{}", r.stdout);
}

#[test]
fn a_quote_left_open_in_a_csv_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.csv");
    let text = "event.name,event.timestamp,session.id,model,output_tokens\n\
                api_request,2026-11-20T10:00:00Z,s,claude-opus-4-8,10\n\
                api_request,2026-11-20T10:01:00Z,s,\"claude-opus-4-8,20\n\
                api_request,2026-11-20T10:02:00Z,s,claude-opus-4-8,30\n";
    std::fs::write(&path, text).unwrap();
    let (v, stderr) = scan_json(&["--otel", path.to_str().unwrap()]);
    assert!(stderr.contains("events.csv:3: a quoted field runs to the end of the file"), "{stderr}");
    assert!(responses(&v) >= 1);
}

#[test]
fn a_byte_order_mark_and_impossible_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.jsonl");
    let old = ERIN.replace("2026-11-20", "1969-07-20").replace("r1", "r2");
    let far = ERIN.replace("2026-11-20", "9999-01-01").replace("r1", "r3");
    std::fs::write(&path, format!("\u{feff}{ERIN}\n{old}\n{far}\n")).unwrap();
    let (v, stderr) = scan_json(&["--otel", path.to_str().unwrap()]);
    assert_eq!(responses(&v), 1, "{stderr}");
    assert!(stderr.contains("left out: 2 events without a time this reads"), "{stderr}");
    assert_eq!(v["scan"]["history"]["first_day"], "2026-11-20");
}

/// A time with a character across the seconds' end (found by fuzzing: the reader panicked
/// and the scan ended with exit 101) is left out and named, in a flat line and in a CSV row.
#[test]
fn a_time_cut_inside_a_character_is_left_out() {
    let odd = ERIN.replace("2026-11-20T10:10:00Z", "2026-11-20T10:10:1\u{e9}Z").replace("r1", "r2");
    let (v, stderr) = scan_folder(&[
        ("flat.jsonl", format!("{ERIN}\n{odd}\n")),
        (
            "rows.csv",
            "event.name,event.timestamp,session.id,output_tokens\napi_request,2026-11-20 10:11:1\u{e9},f,5\n".into(),
        ),
    ]);
    assert_eq!(responses(&v), 1, "{stderr}");
    assert!(stderr.contains("flat.jsonl: left out: 1 event without a time this reads"), "{stderr}");
    assert!(stderr.contains("rows.csv: left out: 1 event without a time this reads"), "{stderr}");
}

#[test]
fn a_day_long_request_and_a_semicolon_csv() {
    let long = ERIN.replace("\"duration_ms\":4000", "\"duration_ms\":9e15");
    let (v, stderr) = scan_folder(&[
        ("long.jsonl", format!("{long}\n")),
        ("semi.csv", "event.name;event.timestamp;output_tokens\napi_request;2026-11-20T10:00:00Z;5\n".into()),
    ]);
    assert_eq!(responses(&v), 0, "{stderr}");
    assert!(stderr.contains("1 request with a token count or duration that is not a whole number"), "{stderr}");
    assert!(stderr.contains("semi.csv:1: the header is separated by semicolons"), "{stderr}");
}

#[test]
fn a_link_loop_named_on_the_command_line_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let good = dir.path().join("good.ndjson");
    std::fs::write(&good, format!("{ERIN}\n")).unwrap();
    let (v, stderr) = scan_json(&["--otel", a.to_str().unwrap(), "--otel", good.to_str().unwrap()]);
    assert!(stderr.contains("a.jsonl: cannot read"), "{stderr}");
    assert_eq!(responses(&v), 1);
    // Alone, nothing could be read: an error, as for transcripts.
    let r = common::run(&["scan", "--otel", a.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no telemetry file could be read"), "{}", r.stderr);
}
