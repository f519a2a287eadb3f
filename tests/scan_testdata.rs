//! End to end on testdata/claude-home (written by testdata/generate.py). Every expected number
//! below is derived by hand from the fixture; the derivation is in the comments.

mod common;

use common::{home, home_str, run, scan_json};
use serde_json::{Value, json};

fn full() -> Value {
    scan_json(&[&home_str()]).0
}

#[test]
fn reads_transcripts_and_debug_logs_only() {
    let v = full();
    let s = &v["scan"];
    // Transcripts: the main session, its resumed copy, the 2.0.x sibling agent file, the two
    // 2.1.x subagent files, the Bedrock session and the 1.0.x session = 7. Debug logs: 1 (the
    // `latest` link is not a .txt and points at the same file). Not read: todos/, NOTES.md,
    // settings.json, the .meta.json sidecar.
    assert_eq!(s["transcript_files"], 7);
    assert_eq!(s["debug_logs"], 1);
    assert_eq!(s["files"], 8);
    // Malformed: a cut JSON object, invalid UTF-8, a NUL-filled line, a truncated last line.
    // The blank line, the BOM and the CRLF line are fine.
    assert_eq!(s["malformed_lines"], 4);
    assert_eq!(v["schema"], 1);
}

#[test]
fn responses_are_deduplicated_and_placeholders_estimated() {
    let v = full();
    // R1..R6 in the main session (R1 split over two lines, one with placeholder usage), R7 in
    // the resumed file (whose copies of R1 and R3 do not count again), R8/R9 (2.0.x agent
    // file), R10/R11 (2.1.x subagent), R12 (compaction agent), R13/R14 (1.0.x inline
    // sidechain), R15/R16 (Bedrock). Not responses: the <synthetic> line, the error lines,
    // the progress line's embedded usage (99,999).
    assert_eq!(
        v["responses"],
        json!({"count": 16, "estimated": 2, "implausible": 0, "plausible_up_to": 128000,
               "implausible_input": 0, "plausible_input_up_to": 10_000_000})
    );
    // Estimated: R2 (1 recorded, 1,000 chars -> 400) and R11 (2 recorded, 250 chars -> 100).
    // Sorted outputs: 5 50 90 100 200 300 400 412 700 800 1500 2500 4000 6000 9000 32000.
    // Sum 58,057 / 16 = 3,628.5625. p50 = 8th = 412; p90 = ceil(14.4) = 15th = 9,000;
    // p95 = ceil(15.2) = 16th = 32,000.
    assert_eq!(
        v["output_tokens"],
        json!({"count": 16, "mean": 3628.5625, "p50": 412, "p90": 9000, "p95": 32000, "p99": 32000, "max": 32000})
    );
}

#[test]
fn statistics_per_model() {
    let v = full();
    let rows = v["by_model"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    // Ordered by count: Sonnet 4.5 (8), Haiku 4.5 (4), then Opus 4.1 and Sonnet 4 (2 each, by name).
    assert_eq!(names, ["Sonnet 4.5", "Haiku 4.5", "Opus 4.1", "Sonnet 4"]);
    // Sonnet 4.5: 5 90 400 412 1500 2500 4000 32000 -> p50 4th = 412, p90 ceil(7.2) = 8th.
    assert_eq!(
        (rows[0]["count"].as_u64(), rows[0]["p50"].as_u64(), rows[0]["p90"].as_u64()),
        (Some(8), Some(412), Some(32000))
    );
    assert_eq!(rows[0]["mean"], 5113.375);
    // Haiku 4.5: 50 100 300 700 -> p50 2nd = 100, one estimated (R11).
    assert_eq!(
        (rows[1]["p50"].as_u64(), rows[1]["max"].as_u64(), rows[1]["estimated"].as_u64()),
        (Some(100), Some(700), Some(1))
    );
    // The Bedrock id is recognised as Sonnet 4 and kept as spelled in `ids`.
    assert_eq!(rows[3]["ids"], json!(["us.anthropic.claude-sonnet-4-20250514-v1:0"]));
}

#[test]
fn errors_are_classified_and_counted_once() {
    let v = full();
    // Final 429s: rate_limit_error "per-minute rate limit" (E1, also copied into the resumed
    // file), Bedrock "Too many tokens", "Too many requests", "Request rejected (429) · Too many
    // tokens", Vertex RESOURCE_EXHAUSTED "…per_minute…" = 5; none names no cause.
    // Retries: transcript y1, y2 (y1's copy in the resumed file and the debug log's attempt 1
    // are the same failure), Bedrock y4, and the debug log's attempt 3 = 4.
    // Per-day: the final E12 and the retry y5 = 2.
    // Usage limits: session limit, extra usage, 1.0.x "usage limit reached" = 3.
    // Output maximum: 32000 twice, 200 once (the context-window error is "other").
    // Overloaded: E6, E15 (final) and y3 (retried) = 3. The context-window error (E5, which
    // carries the max_output_tokens code) is its own kind, not a cut. Other: the connection
    // error. None of the traps (prompt, tool result, prose, meta local command, system line,
    // todos, NOTES.md, .meta.json) counts. Usage limits reset at the times their texts say (the
    // 1.0.x one as epoch seconds 1752573600 = 2025-07-15T10:00:00Z), in path order.
    assert_eq!(
        v["errors"],
        json!({
            "rate_limit": {"final": 5, "retries": 4, "per_day_quota": 2},
            "unclassified_429": 0,
            "usage_limit": 3,
            "usage_limit_resets": ["2025-07-15T10:00:00 UTC", "1:40pm (Europe/Paris)", "9pm (Europe/Madrid)"],
            "spend_cap": 0,
            "server_limiting": 0,
            "output_token_maximum": {"count": 3, "limits": {"200": 1, "32000": 2}},
            "max_tokens_stops": 1,
            "recovery_prompts": 1,
            "over_cap": 0,
            "context_window": 1,
            "overloaded": 3,
            "other": 1
        })
    );
}

#[test]
fn errors_by_day_and_project() {
    let v = full();
    let days = v["by_day"].as_array().unwrap();
    let day = |d: &str| days.iter().find(|r| r["day"] == d).unwrap_or_else(|| panic!("no {d}")).clone();
    // 2026-03-01: E1 final; y1, y2, debug attempt 3 retried.
    assert_eq!(day("2026-03-01")["errors"]["rate_limit"], json!({"final": 1, "retries": 3, "per_day_quota": 0}));
    // 2026-03-02: E8..E11 final, y4 retried, E12 + y5 per day.
    assert_eq!(day("2026-03-02")["errors"]["rate_limit"], json!({"final": 4, "retries": 1, "per_day_quota": 2}));
    // 2026-03-03 has only R7 (the resumed file's copies keep their original days).
    assert_eq!(day("2026-03-03")["responses"], 1);
    assert_eq!(day("2025-07-15")["errors"]["usage_limit"], 1);
    let projects = v["by_project"].as_array().unwrap();
    let web = projects.iter().find(|p| p["project"] == "-home-u-web").unwrap();
    assert_eq!(web["cwd"], "/home/u/web");
    assert_eq!(web["errors"]["usage_limit"], 2);
    let app = projects.iter().find(|p| p["project"] == "-home-u-app").unwrap();
    // The debug-log-only retry is attributed to the session's project.
    assert_eq!(app["errors"]["rate_limit"]["retries"], 3);
    assert_eq!(app["responses"], 12);
}

#[test]
fn capped_debug_line_is_reported() {
    assert_eq!(full()["capped"], json!([{"from": 100000, "to": 64000, "count": 1}]));
}

#[test]
fn verdict_comes_first_in_the_table() {
    let r = run(&["scan", &home_str()]);
    assert_eq!(r.code, 0);
    let verdict: Vec<&str> = r.stdout.lines().take_while(|l| !l.is_empty()).collect();
    let verdict = verdict.join(" ");
    // Throttled attempts: the 4 retried and the 5 refused last that failed their requests.
    assert!(
        verdict.starts_with("9 throttled attempts (429) on 2 days; 5 requests failed for good"),
        "verdict: {verdict}"
    );
    // Cut responses, each once: at 32,000 the two "exceeded" errors and the stopped response
    // continued after a recovery prompt; at 200 the third error.
    assert!(verdict.contains("4 responses cut at the output limit (1 at 200, 3 at 32,000)"), "{verdict}");
    // Not a terminal: no colour codes.
    assert!(!r.stdout.contains('\u{1b}'));
    for line in r.stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
    }
}

#[test]
fn warnings_name_file_and_line_on_stderr_only() {
    let (_, stderr) = scan_json(&[&home_str()]);
    assert!(stderr.contains("cccccccc-0000-4000-8000-000000000003.jsonl:8: malformed line skipped"), "{stderr}");
    assert!(stderr.contains(".jsonl:13: malformed line skipped"), "{stderr}");
}

/// Issue 23, item 9: a settings file named as PATH is one clear error naming the config
/// home that holds it, not a warning for each of its lines read as a transcript.
#[test]
fn a_settings_file_as_path_is_one_clear_error() {
    let settings = home().join("settings.json");
    let r = run(&["scan", settings.to_str().unwrap()]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("malformed"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "is a Claude Code settings file, not a history: scan the config home that holds it (ccdoctor scan {})",
            home().display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn a_single_file_and_a_projects_folder() {
    let file = home().join("projects/-home-u-web/cccccccc-0000-4000-8000-000000000003.jsonl");
    let (v, _) = scan_json(&[file.to_str().unwrap()]);
    assert_eq!(v["scan"]["files"], 1);
    assert_eq!(v["responses"]["count"], 2);
    assert_eq!(v["errors"]["rate_limit"]["final"], 4);
    let (v, _) = scan_json(&[home().join("projects").to_str().unwrap()]);
    // No debug log when given projects/ alone: the debug-only retry is not there.
    assert_eq!(v["scan"]["debug_logs"], 0);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 3);
    assert_eq!(v["responses"]["count"], 16);
}

#[test]
fn markdown_format() {
    let r = run(&["scan", "--format", "markdown", &home_str()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("## ccdoctor scan"));
    assert!(r.stdout.contains("| Sonnet 4.5 | 8 | 1 | 5,113 | 412 |"), "{}", r.stdout);
}

#[test]
fn json_alias() {
    let a = run(&["scan", "--json", &home_str()]);
    let b = run(&["scan", "--format", "json", &home_str()]);
    assert_eq!(a.code, 0);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn color_only_when_asked_or_on_a_terminal() {
    let r = run(&["scan", "--color", "always", &home_str()]);
    assert!(r.stdout.contains("\u{1b}["));
    let r = run(&["scan", "--color", "never", &home_str()]);
    assert!(!r.stdout.contains('\u{1b}'));
    let r = run(&["scan", "--format", "json", "--color", "always", &home_str()]);
    assert!(!r.stdout.contains('\u{1b}'), "no colour inside JSON");
}

#[test]
fn settings_secrets_never_printed() {
    for format in ["table", "json", "markdown"] {
        let r = run(&["scan", "--format", format, &home_str()]);
        assert!(!r.stdout.contains("FIXTURE-SECRET") && !r.stderr.contains("FIXTURE-SECRET"), "{format}");
    }
}

/// A headline too long for one line: a value to copy keeps a line of its own under the
/// model's name; a sentence (no value) wraps after it, not leaving "Sonnet 4:" alone on a
/// line (a trial's find).
#[test]
fn a_headline_sentence_wraps_after_the_model_name() {
    let none = run(&["scan", common::testdata().join("refused-alone").to_str().unwrap()]);
    let second = none.stdout.lines().nth(1).unwrap_or_default().to_string();
    assert!(second.starts_with("Sonnet 4: No max output value is shown"), "{}", none.stdout);
    let path = common::testdata().join("one-session-cliff");
    let value = run(&["scan", path.to_str().unwrap()]);
    assert!(value.stdout.lines().nth(1).is_some_and(|l| l.starts_with("Sonnet 4: CLAUDE_CODE_MAX_OUTPUT_TOKENS=")));
}
