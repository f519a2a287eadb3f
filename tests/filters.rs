//! --since / --until / --project / --model on testdata/claude-home.

mod common;

use common::{home_str, run, scan_json};

#[test]
fn since_keeps_later_days() {
    let (v, _) = scan_json(&["--since", "2026-03-02", &home_str()]);
    // R15, R16 (2026-03-02) and R7 (2026-03-03).
    assert_eq!(v["responses"]["count"], 3);
    assert_eq!(v["errors"]["rate_limit"]["final"], 4);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 1);
    assert_eq!(v["errors"]["rate_limit"]["per_day_quota"], 2);
    assert_eq!(v["scan"]["filters"]["since"], "2026-03-02");
}

#[test]
fn until_is_inclusive() {
    let (v, _) = scan_json(&["--until", "2026-03-01", &home_str()]);
    // 2025-07-15: R13, R14; 2026-03-01: R1..R6, R8..R12 = 11.
    assert_eq!(v["responses"]["count"], 13);
    assert_eq!(v["errors"]["usage_limit"], 1);
    assert_eq!(v["scan"]["filters"]["until"], "2026-03-01");
}

#[test]
fn project_and_model() {
    let (v, _) = scan_json(&["--project", "web", &home_str()]);
    assert_eq!(v["responses"]["count"], 2);
    assert_eq!(v["errors"]["usage_limit"], 2);
    assert_eq!(v["errors"]["max_tokens_stops"], 0);
    let (v, _) = scan_json(&["--model", "haiku", &home_str()]);
    assert_eq!(v["responses"]["count"], 4);
    // The max_tokens stop belongs to a Sonnet 4.5 response.
    assert_eq!(v["errors"]["max_tokens_stops"], 0);
    let (v, _) = scan_json(&["--model", "Sonnet 4.5", &home_str()]);
    assert_eq!(v["responses"]["count"], 8);
    assert_eq!(v["errors"]["max_tokens_stops"], 1);
}

#[test]
fn bad_dates_are_usage_errors() {
    let r = run(&["scan", "--since", "yesterday", &home_str()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--since takes a date as YYYY-MM-DD"), "{}", r.stderr);
    let r = run(&["scan", "--since", "2026-03-05", "--until", "2026-03-01", &home_str()]);
    assert_eq!(r.code, 2);
}

#[test]
fn since_does_not_open_files_modified_before_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("home/projects/-p");
    std::fs::create_dir_all(&dir).unwrap();
    let line = r#"{"type":"assistant","timestamp":"2026-03-05T10:00:00.000Z","message":{"id":"m1","model":"claude-sonnet-4-5","content":"hi","usage":{"output_tokens":900}}}"#;
    let new = dir.join("new.jsonl");
    std::fs::write(&new, format!("{line}\n")).unwrap();
    // An old file whose lines would be warned about if it were read.
    let old = dir.join("old.jsonl");
    std::fs::write(&old, "{broken\n{also broken\n").unwrap();
    let f = std::fs::File::options().write(true).open(&old).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)).unwrap();
    let home = t.path().join("home");
    let (v, stderr) = scan_json(&["--since", "2026-01-01", home.to_str().unwrap()]);
    assert_eq!(v["scan"]["older_than_since"], 1);
    assert_eq!(v["scan"]["files"], 1);
    assert_eq!(v["scan"]["malformed_lines"], 0);
    assert!(!stderr.contains("old.jsonl"), "{stderr}");
    assert_eq!(v["responses"]["count"], 1);
    // Without --since the old file is read, and its lines are named.
    let (v, stderr) = scan_json(&[home.to_str().unwrap()]);
    assert_eq!(v["scan"]["malformed_lines"], 2);
    assert!(stderr.contains("old.jsonl:1"), "{stderr}");
}
