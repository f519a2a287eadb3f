//! Every file read as Claude Code's own reader (JavaScript's `JSON.parse`, per line for
//! transcripts) reads it, on the fast path and in the full parse alike: text serde_json
//! refuses but JSON.parse takes (a lone surrogate escape, a number too large for a double,
//! deep nesting), a top-level key written again after a nested value, a user line's time
//! beside nested ones, and times no Claude Code event has.

mod common;

use common::{Run, bedrock_copy, both_paths, ccdoctor, home_with};
use serde_json::{Value, json};

/// A response line of `out` output tokens (`usage` and `content` as JSON text).
fn response(i: usize, minute: u32, content: &str, usage: &str) -> String {
    format!(
        r#"{{"parentUuid":null,"isSidechain":false,"cwd":"/x","sessionId":"s1","version":"2.1.230","type":"assistant","message":{{"id":"msg_{i}","model":"claude-opus-4-8","role":"assistant","content":{content},"stop_reason":"end_turn","usage":{usage}}},"requestId":"req_{i}","uuid":"a{i}","timestamp":"2026-11-01T10:{minute:02}:30.000Z"}}"#
    )
}

fn usage(out: &str) -> String {
    format!(r#"{{"input_tokens":10,"output_tokens":{out}}}"#)
}

fn text(t: &str) -> String {
    format!(r#"[{{"type":"text","text":"{t}"}}]"#)
}

/// Item 1 (a), (b): a lone surrogate (Node's JSON.stringify writes one when a text is cut in
/// the middle of an emoji) and numbers too large for a double: JSON.parse reads the line, and
/// so does ccdoctor; an overflowing count reads as absent.
#[test]
fn lone_surrogates_and_overflowing_numbers_keep_the_line() {
    let lines = vec![
        response(0, 0, &text("ok"), &usage("100")),
        // A 900-token response whose text was cut mid-emoji.
        response(1, 1, &text(r"ok \ud83d"), &usage("900")),
        // A trailing surrogate alone, a pair broken by another escape, in the model and id too.
        response(2, 2, &text(r"\ude00 and \ud83d\n"), &usage("300")).replace("msg_2", r"msg_2\udc00"),
        // A count that overflows a double: absent, the line still counts.
        response(3, 3, &text("hi"), &usage("1e400")),
        response(4, 4, &text("hi"), r#"{"input_tokens":-1e400,"output_tokens":250,"x":1e999999}"#),
        // A throttling error line whose text ends in a lone surrogate.
        r#"{"type":"assistant","uuid":"e1","sessionId":"s1","timestamp":"2026-11-01T10:05:00.000Z","cwd":"/x","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"message":{"id":"e1","model":"<synthetic>","content":[{"type":"text","text":"API Error: 429 Too many tokens, please wait before trying again. \ud83d"}]}}"#.to_string(),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 5, "{}", r.stderr);
    assert_eq!(v["output_tokens"]["max"], 900);
    assert_eq!(v["errors"]["rate_limit"]["final"], 1);
}

/// Item 2 (b): a content block whose type, text, thinking or name is a number too large for a
/// double is a block that cannot be measured, on both paths; the line counts.
#[test]
fn overflowing_numbers_in_content_blocks_count_on_both_paths() {
    let lines = vec![
        response(0, 0, r#"[{"type":1e400}]"#, &usage("100")),
        response(1, 1, r#"[{"type":"text","text":1e400}]"#, &usage("200")),
        response(2, 2, r#"[{"type":"thinking","thinking":1e400}]"#, &usage("300")),
        response(3, 3, r#"[{"type":"tool_use","id":"t","name":1e400,"input":{"n":1e400}}]"#, &usage("400")),
        response(4, 4, r#"[{"type":"tool_use","id":"t","name":"Bash","input":{"n":-1e400}}]"#, &usage("500")),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 5, "{}", r.stderr);
    assert_eq!(v["output_tokens"]["max"], 500);
}

/// Item 2 (a): the top-level `type` written again after a nested value. JSON.parse takes the
/// last: a response, which the fast path must see too.
#[test]
fn a_type_written_again_after_a_nested_value_is_the_type() {
    let progress_then_assistant = r#"{"type":"progress","sessionId":"s1","cwd":"/x","message":{"id":"msg_9","model":"claude-opus-4-8","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":10,"output_tokens":900}},"requestId":"r9","type":"assistant","uuid":"a9","timestamp":"2026-11-01T10:09:30.000Z"}"#;
    // And the other way round: an assistant line rewritten as progress counts nothing.
    let assistant_then_progress = response(2, 2, &text("x"), &usage("700"))
        .replace(r#""requestId":"req_2","#, r#""requestId":"req_2","data":{"type":"hook"},"type":"progress","#);
    // A user line whose last type is `system` with an `api_error` subtype: a retry.
    let user_then_retry = r#"{"type":"user","sessionId":"s1","cwd":"/x","message":{"role":"user","content":[{"type":"tool_result","content":"ok"}]},"error":{"status":429,"message":"Too many tokens, please wait before trying again."},"subtype":"api_error","retryAttempt":1,"type":"system","uuid":"r1","timestamp":"2026-11-01T10:10:00.000Z"}"#;
    // Spaced, after an array, with a non-string value: JSON.parse takes each.
    let spaced = r#"{"type":"progress","data":[1,{"a":2}], "type" : "assistant","message":{"id":"msg_8","model":"claude-opus-4-8","usage":{"output_tokens":800}},"requestId":"r8","uuid":"a8"}"#;
    let numeric =
        r#"{"type":"user","message":{"role":"user","content":"hi"},"timestamp":"2026-11-01T10:11:00.000Z","type":5}"#;
    let lines = vec![
        response(0, 0, &text("ok"), &usage("100")),
        progress_then_assistant.to_string(),
        assistant_then_progress,
        user_then_retry.to_string(),
        spaced.to_string(),
        numeric.to_string(),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 3, "{}", r.stderr);
    assert_eq!(v["output_tokens"]["max"], 900);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 1);
}

/// Item 2 (c): a user line's time is its last top-level `timestamp`, as JSON.parse reads it,
/// not the first `"timestamp":"` in its text (a nested one, or one written again). Each block
/// of five minutes sends two requests in its first minute (at :10 and :30); read by the other
/// timestamps, the second would be sent a minute later, and the requests a minute would halve.
#[test]
fn a_user_lines_time_is_its_last_top_level_timestamp() {
    let at = |s: u32| format!("2026-11-01T{:02}:{:02}:{:02}.000Z", 10 + s / 3600, s / 60 % 60, s % 60);
    let user = |i: u32, s: u32, middle: &str, tail: &str| {
        format!(
            r#"{{"parentUuid":null,"isSidechain":false,"cwd":"/x","sessionId":"s1","version":"2.1.230","type":"user","message":{{"role":"user","content":[{{"tool_use_id":"t","type":"tool_result","content":"ok"}}]}}{middle},"uuid":"u{i}","timestamp":"{}"{tail}}}"#,
            at(s)
        )
    };
    let answer = |i: u32, s: u32| {
        response(i as usize, 0, &text("ok"), &usage("100")).replace("2026-11-01T10:00:30.000Z", &at(s))
    };
    let mut lines = Vec::new();
    for j in 0..16u32 {
        let base = j * 300;
        lines.push(user(2 * j, base + 10, "", ""));
        lines.push(answer(2 * j, base + 20));
        let wrong = format!("\"{}\"", at(base + 65));
        let (middle, tail) = match j % 4 {
            0 => (format!(r#","toolUseResult":{{"timestamp":{wrong}}}"#), String::new()),
            1 => (format!(r#","timestamp":{wrong}"#), String::new()),
            2 => (String::new(), format!(r#","toolUseResult":{{"stdout":"x","timestamp":{wrong}}}"#)),
            _ => (
                format!(r#","toolUseResult":{{"timestamp":{wrong},"type":"x"}}"#),
                r#","timestamp" : null"#.to_string(),
            ),
        };
        lines.push(user(2 * j + 1, base + 30, &middle, &tail));
        lines.push(answer(2 * j + 1, base + 70));
    }
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 32);
    assert_eq!(v["load"]["per_model"][0]["rpm_p50"], 2);
}

/// Item 5: times no Claude Code event has (years 0000 and 9999, before 2020 or from 2100
/// on, as the telemetry reader has it) leave their line out, counted and named; a leap
/// second is the last second of its minute.
#[test]
fn implausible_times_are_left_out_counted_and_named() {
    let lines = vec![
        response(0, 0, &text("ok"), &usage("100")),
        response(1, 1, &text("ok"), &usage("200")).replace("2026-11-01T10:01:30.000Z", "0000-01-01T00:00:00.000Z"),
        response(2, 2, &text("ok"), &usage("300")).replace("2026-11-01T10:02:30.000Z", "9999-12-31T23:59:59.000Z"),
        response(3, 3, &text("ok"), &usage("400")).replace("2026-11-01T10:03:30.000Z", "2026-11-01T23:59:60.500Z"),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 2, "{}", r.stderr);
    assert_eq!(v["scan"]["implausible_times"], 2);
    assert_eq!(v["scan"]["history"]["first_day"], "2026-11-01");
    assert_eq!(v["scan"]["history"]["last_day"], "2026-11-01", "the leap second stays on its day");
    assert!(r.stderr.contains("s.jsonl:2: a time no Claude Code event has"), "{}", r.stderr);
    assert!(r.stderr.contains("s.jsonl:3: "), "{}", r.stderr);
}

/// The adversary's trial of 2026-12-07: a response whose time does not parse (an offset of
/// +99:00, no zone, a space for `T`) was kept in no day and no window, so that `check` over
/// a history of nothing else said "ok: nothing to check". It is left out, counted and named
/// as a time no event has is, on both paths; `check` then says it checked nothing (exit 2).
#[test]
fn unreadable_times_are_left_out_counted_and_named() {
    let lines = vec![
        response(0, 0, &text("ok"), &usage("100")),
        response(1, 1, &text("ok"), &usage("200")).replace("2026-11-01T10:01:30.000Z", "2026-11-01T10:01:30.000+99:00"),
        response(2, 2, &text("ok"), &usage("300")).replace("2026-11-01T10:02:30.000Z", "2026-11-01T10:02:30.000"),
        response(3, 3, &text("ok"), &usage("400")).replace("2026-11-01T10:03:30.000Z", "2026-11-01 10:03:30.000Z"),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 1, "{}", r.stderr);
    assert_eq!(v["scan"]["implausible_times"], 3);
    assert!(
        r.stderr.contains("s.jsonl:2: a time this does not read (\"2026-11-01T10:01:30.000+99:00\": not a date"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("s.jsonl:3: ") && r.stderr.contains("s.jsonl:4: "), "{}", r.stderr);
    // Nothing but such records: not "ok".
    let t = home_with(&lines[1..]);
    let c: Run = ccdoctor(t.path())
        .args(["check", "--since", "2020-01-01", t.path().to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert_eq!(c.code, 2, "{}", c.stdout);
    assert!(c.stdout.starts_with("nothing checked: nothing to judge by but records left out"), "{}", c.stdout);
    assert!(c.stdout.contains("; 3 records left out for a time unread or no Claude Code event has, in no window)"));
    // Beside a response that stays: the verdict says what is missing (a hook shows no warning).
    let all = home_with(&lines);
    let c: Run = ccdoctor(all.path())
        .args(["check", "--since", "2020-01-01", all.path().to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert!(c.stdout.contains("1 response, ") && c.stdout.contains("; 3 records left out"), "{}", c.stdout);
}

/// Item 1: a settings file JSON.parse reads, which serde_json refused: a lone surrogate in
/// `permissions.allow`, a number too large for a double, nesting deeper than 128. Its values
/// are in effect, and `apply` edits it, every other byte kept.
#[test]
fn settings_json_parse_reads_are_read_and_edited() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for (name, extra) in [
        ("surrogate", r#""permissions": {"allow": ["Bash(echo \ud83d)"], "deny": []}"#.to_string()),
        ("overflow", r#""x": 1e400, "y": -1e400"#.to_string()),
        ("deep", format!(r#""deep": {deep}"#)),
    ] {
        let (t, home) = bedrock_copy();
        let path = home.join("settings.json");
        let before = format!(
            "{{\n  {extra},\n  \"env\": {{\"CLAUDE_CODE_USE_BEDROCK\": \"1\", \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"32000\"}}\n}}\n"
        );
        std::fs::write(&path, &before).unwrap();
        let h = home.to_str().unwrap();
        let r: Run = ccdoctor(t.path()).args(["scan", "--json", h]).output().unwrap().into();
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        assert!(!r.stderr.contains("settings.json"), "{name}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["settings"]["max_output_tokens"]["value"], 32000, "{name}");
        assert_eq!(v["settings"]["provider"], "bedrock", "{name}");
        let r: Run = ccdoctor(t.path()).args(["apply", h]).output().unwrap().into();
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(after, before.replace("\"32000\"", "\"7000\""), "{name}");
    }
}

/// Nesting far beyond any stack, in a settings file and a transcript line: read without
/// overflowing, in bounded time.
#[test]
fn nesting_millions_deep_overflows_nothing() {
    let n = 3_000_000;
    let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let t = home_with(&[
        response(0, 0, &text("ok"), &usage("100")),
        format!(r#"{{"type":"assistant","message":{{"id":"m","x":{deep}}},"uuid":"d"}}"#),
        format!(r#"{{"type":"user","toolUseResult":{deep},"timestamp":"2026-11-01T10:05:00.000Z"}}"#),
    ]);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 2, "{}", r.stderr);
    // A settings file of 6 MB is over Claude Code's 2 MiB: `apply` refuses it, named; one that
    // fits, a million deep, is read.
    let half = 1_000_000;
    let (t, home) = bedrock_copy();
    std::fs::write(
        home.join("settings.json"),
        format!(
            r#"{{"d":{}{},"env":{{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"32000"}}}}"#,
            "[".repeat(half),
            "]".repeat(half)
        ),
    )
    .unwrap();
    let r: Run = ccdoctor(t.path()).args(["scan", "--json", home.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["settings"]["max_output_tokens"],
        json!({"value": 32000, "source": format!("user: {}", home.join("settings.json").display())})
    );
}
