//! Odd but possible data (issue 14, items 1–5): wrong types in fields the counts do without,
//! impossible token counts, parse errors that must not quote the line, escaped spellings the
//! fast path must see, and ids that are not ASCII.

mod common;

use common::{Run, both_paths, ccdoctor, home_with, scan_path};
use serde_json::{Value, json};

fn line(i: usize, tweak: impl FnOnce(&mut Value)) -> String {
    let mut v = json!({
        "type": "assistant", "uuid": format!("u{i}"), "sessionId": "s1",
        "timestamp": format!("2026-11-01T10:{:02}:00.000Z", i % 60), "cwd": "/x", "isSidechain": false,
        "version": "2.1.230", "requestId": format!("req_{i}"),
        "message": {"id": format!("msg_{i}"), "model": "claude-opus-4-8", "role": "assistant",
                    "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1, "output_tokens": 500}}
    });
    tweak(&mut v);
    v.to_string()
}

#[test]
fn a_wrong_type_in_a_field_the_counts_do_without_keeps_the_line() {
    let odd: [(&str, Value); 8] = [
        ("timestamp", json!(123)),
        ("cwd", json!(5)),
        ("sessionId", json!([1])),
        ("isSidechain", json!("yes")),
        ("version", json!(2.1)),
        ("uuid", json!({})),
        ("gitBranch", json!(1)),
        ("isMeta", json!("no")),
    ];
    let lines: Vec<String> = odd.into_iter().enumerate().map(|(i, (k, v))| line(i, |l| l[k] = v)).collect();
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 8, "{}", r.stderr);
    assert_eq!(v["scan"]["malformed_lines"], 0);
}

#[test]
fn impossible_counts_are_left_out_and_counted() {
    let lines = vec![
        line(0, |_| {}),
        line(1, |l| l["message"]["usage"]["output_tokens"] = json!(u64::MAX)),
        // A placeholder count (1) from a version that wrote no final usage, over 7 MB of
        // text: estimated at ~2.9 million tokens, more than any model writes.
        line(2, |l| {
            l["version"] = json!("2.1.39");
            l["message"]["usage"]["output_tokens"] = json!(1);
            l["message"]["content"] = json!([{"type": "text", "text": "x".repeat(7_000_000)}]);
        }),
    ];
    let t = home_with(&lines);
    let (v, _) = both_paths(t.path());
    assert_eq!(
        v["responses"],
        json!({"count": 1, "estimated": 0, "implausible": 2, "plausible_up_to": 128000,
               "implausible_input": 0, "plausible_input_up_to": 10_000_000})
    );
    assert_eq!(v["output_tokens"]["max"], 500);
    let r: Run = ccdoctor(t.path()).args(["scan", t.path().to_str().unwrap()]).output().unwrap().into();
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("2 responses left out: more output tokens than any model allows (over 128,000)"), "{text}");
}

#[test]
fn parse_errors_name_the_place_never_the_data() {
    let lines = vec![
        line(0, |l| l["message"] = json!("SECRETVALUE123")),
        line(1, |l| l["message"]["usage"] = json!("SECRETVALUE456")),
        "{\"type\":\"assistant\",\"x\":\"SECRETVALUE789\"".to_string(),
    ];
    let t = home_with(&lines);
    for full in [false, true] {
        let (_, r) = scan_path(t.path(), full);
        assert!(!r.stderr.contains("SECRETVALUE"), "{}", r.stderr);
        assert!(r.stderr.contains("s.jsonl:1: malformed line skipped (invalid JSON at column"), "{}", r.stderr);
    }
}

#[test]
fn escaped_spellings_count_the_same_on_the_fast_path() {
    let lines = vec![
        line(0, |_| {}).replace("\"type\":\"assistant\"", "\"type\":\"a\\u0073sistant\""),
        // An escaped key: the early type test cannot tell; the needle is still there.
        line(1, |_| {}).replace("\"type\":\"assistant\"", "\"typ\\u0065\":\"assistant\""),
        // A retry line whose subtype is escaped.
        json!({"type": "system", "subtype": "api_error", "level": "error", "sessionId": "s1",
               "timestamp": "2026-11-01T10:05:00.000Z", "cwd": "/x", "version": "2.1.230",
               "error": {"status": 429}, "retryAttempt": 1, "maxRetries": 10, "retryInMs": 500})
        .to_string()
        .replace("\"api_error\"", "\"api\\u005ferror\""),
    ];
    assert!(lines[0].contains("a\\u0073sistant") && lines[2].contains("api\\u005ferror"));
    let t = home_with(&lines);
    let (v, _) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 2);
    // A bare 429 (no text of a cause) is counted, not as throttling.
    assert_eq!(v["errors"]["unclassified_429"], 1);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 0);
}

#[test]
fn ids_that_are_not_ascii_are_named_not_a_crash() {
    // A multi-byte character across byte 8 after the family key, where a date would be.
    let ids = ["claude-opus-4-6-2026010é", "claude-opus-4-6-é", "claude-é", "é", "anthropic.claude-sonnet-4-é-v1:0"];
    let lines: Vec<String> =
        ids.iter().enumerate().map(|(i, id)| line(i, |l| l["message"]["model"] = json!(id))).collect();
    let t = home_with(&lines);
    let (v, _) = both_paths(t.path());
    assert_eq!(v["responses"]["count"], 5);
    for format in ["table", "markdown"] {
        let r: Run =
            ccdoctor(t.path()).args(["scan", "--format", format, t.path().to_str().unwrap()]).output().unwrap().into();
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
    }
}

/// A debug log's attempt k/k was not retried: its request failed. Alone it is a failed
/// request; beside a transcript's final error for it, the same failure, counted once.
#[test]
fn the_last_attempt_of_a_debug_log_is_a_failed_request() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("debug")).unwrap();
    let mut log = String::new();
    for k in 1..=11 {
        log.push_str(&format!(
            "2026-11-01T10:00:{k:02}.000Z [ERROR] API error (attempt {k}/11): 429 Too many tokens, please wait before trying again.\n"
        ));
    }
    std::fs::write(t.path().join("debug/s1.txt"), &log).unwrap();
    let (v, _) = scan_path(t.path(), false);
    assert_eq!(v["errors"]["rate_limit"], json!({"final": 1, "retries": 10, "per_day_quota": 0}));
    // With the transcript's own final error for it (same session, same moment): once.
    let dir = t.path().join("projects/p");
    std::fs::create_dir_all(&dir).unwrap();
    let final_error = json!({"type": "assistant", "uuid": "e1", "sessionId": "s1", "timestamp": "2026-11-01T10:00:11.500Z",
        "cwd": "/x", "version": "2.1.230", "isApiErrorMessage": true, "error": "rate_limit", "apiErrorStatus": 429,
        "message": {"id": "e1", "model": "<synthetic>", "role": "assistant", "usage": {"input_tokens": 0, "output_tokens": 0},
                    "content": [{"type": "text", "text": "API Error: 429 Too many tokens, please wait before trying again."}]}});
    std::fs::write(dir.join("s1.jsonl"), final_error.to_string() + "\n").unwrap();
    let (v, _) = scan_path(t.path(), false);
    assert_eq!(v["errors"]["rate_limit"], json!({"final": 1, "retries": 10, "per_day_quota": 0}));
}

/// A key written twice takes its last value, as Claude Code's JSON.parse reads the line: on
/// the fast path and in the full parse alike (issue 21). Before, such a line was dropped as
/// malformed.
#[test]
fn a_key_written_twice_takes_its_last_value_on_both_paths() {
    let lines = vec![
        // output_tokens twice: the last (1,200), not the first.
        line(0, |_| {}).replace("\"output_tokens\":500", "\"output_tokens\":3,\"output_tokens\":1200"),
        // The type twice: a user line rewritten as an assistant one is a response.
        line(1, |_| {}).replacen("\"type\":\"assistant\"", "\"type\":\"user\",\"type\":\"assistant\"", 1),
        // An assistant line rewritten as a progress line counts nothing.
        line(2, |_| {}).replacen("\"type\":\"assistant\"", "\"type\":\"assistant\",\"type\":\"progress\"", 1),
        // An error line whose text is written twice: the last text is classified.
        json!({"type": "assistant", "uuid": "e1", "sessionId": "s1", "timestamp": "2026-11-01T10:30:00.000Z",
               "cwd": "/x", "isApiErrorMessage": true,
               "message": {"id": "e1", "model": "<synthetic>", "content": [{"type": "text", "text": "X"}]}})
        .to_string()
        .replace(
            "\"text\":\"X\"",
            "\"text\":\"API Error: 529 Overloaded\",\"text\":\"You've hit your session limit · resets 2pm (UTC)\"",
        ),
        // A retry line whose subtype is written twice.
        json!({"type": "system", "subtype": "init", "sessionId": "s1", "timestamp": "2026-11-01T10:31:00.000Z",
               "cwd": "/x", "error": {"status": 429, "message": "Too many tokens, please wait before trying again."},
               "retryAttempt": 1})
        .to_string()
        .replace("\"subtype\":\"init\"", "\"subtype\":\"init\",\"subtype\":\"api_error\""),
    ];
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(v["scan"]["malformed_lines"], 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 2);
    assert_eq!(v["output_tokens"]["max"], 1200);
    assert_eq!(v["errors"]["usage_limit"], 1);
    assert_eq!(v["errors"]["overloaded"], 0);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 1);
}

/// A model not in the table (a Bedrock application inference profile names none) is assumed
/// to stop at 32,000; responses of 40,000 tokens sent with 64,000 set show Claude Code did not
/// cap the value there. 64,000 is then the value in effect and kept: `apply` must not lower it
/// to the assumption (it wrote 32000 over the 64000 these responses ran at).
#[test]
fn an_unknown_models_long_responses_keep_the_value_they_ran_at() {
    let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6";
    let lines: Vec<String> = (0..40)
        .map(|i| {
            line(i, |l| {
                l["message"]["model"] = json!(arn);
                l["message"]["usage"]["output_tokens"] = json!(if i % 4 == 0 { 40_000 + i as u64 } else { 3_000 });
                l["timestamp"] = json!(format!("2026-11-01T{:02}:{:02}:00.000Z", 10 + i / 20, 3 * (i % 20)));
            })
        })
        .collect();
    let t = home_with(&lines);
    let settings = t.path().join("settings.json");
    let set = r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"64000"}}"#;
    std::fs::write(&settings, set).unwrap();
    let (v, r) = scan_path(t.path(), false);
    let rec = &v["recommendation"];
    assert_eq!(
        (rec["max_output_tokens"].as_u64(), rec["current"].as_u64()),
        (Some(64_000), Some(64_000)),
        "{}",
        r.stdout
    );
    assert_eq!(rec["inputs"]["model_cap"], 128_000);
    assert_eq!(rec["inputs"]["model_cap_source"], "records");
    let r: Run = ccdoctor(t.path()).args(["apply", t.path().to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), set, "{}", r.stdout);
    // With no value set, such responses say nothing of a cap (Claude Code's default for the
    // model is no better known than its limit): the assumption stands.
    std::fs::write(&settings, r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1"}}"#).unwrap();
    let (v, r) = scan_path(t.path(), false);
    let rec = &v["recommendation"];
    assert_eq!(
        (rec["inputs"]["model_cap"].as_u64(), rec["current"].as_u64()),
        (Some(32_000), Some(32_000)),
        "{}",
        r.stdout
    );
}

/// A count that is not a non-negative number reads as absent (RELIABILITY.md): the response's
/// size is then estimated from its content, on the fast path and the full parse alike, never
/// taken as a response of 0 tokens (which pulled demand's p50 to 0).
#[test]
fn an_unusable_output_count_is_estimated_from_the_content() {
    let text = "x".repeat(2_500);
    // (A string of digits or a fraction is read as the count it spells, as before.)
    let odd = [json!(-1), json!("abc"), json!(true), json!(null), json!([1]), json!({})];
    let mut lines: Vec<String> = (0..odd.len())
        .map(|i| {
            line(i, |l| {
                l["message"]["usage"]["output_tokens"] = odd[i].clone();
                l["message"]["content"] = json!([{"type": "text", "text": text}]);
            })
        })
        .collect();
    // And one with no count at all, beside two counted ones.
    lines.push(line(6, |l| {
        l["message"]["usage"].as_object_mut().unwrap().remove("output_tokens");
        l["message"]["content"] = json!([{"type": "text", "text": text}]);
    }));
    lines.push(line(7, |_| {}));
    lines.push(line(8, |_| {}));
    let t = home_with(&lines);
    let (v, r) = both_paths(t.path());
    assert_eq!(
        (v["responses"]["count"].as_u64(), v["responses"]["estimated"].as_u64()),
        (Some(9), Some(7)),
        "{}",
        r.stderr
    );
    // 2,500 characters at 2.5 a token: 1,000 each; the two counted ones 500.
    assert_eq!((v["output_tokens"]["p50"].as_u64(), v["output_tokens"]["max"].as_u64()), (Some(1_000), Some(1_000)));
}
