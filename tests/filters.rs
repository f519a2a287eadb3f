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
