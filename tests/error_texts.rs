//! The classifier against real error texts: every line of `testdata/error-texts/corpus.jsonl`
//! (texts people pasted into public bug reports, or that other projects recorded from real
//! sessions, each with its source) must get the corpus's kind, read the ways ccdoctor meets an
//! error text: alone, as a transcript's `isApiErrorMessage` line (through the fast path and
//! the full parse), as a transcript's `system`/`api_error` retry line, and as a debug log's
//! failed attempt.
//!
//! The corpus's kinds as ccdoctor's (also in `testdata/error-texts/README.md`):
//!
//! | corpus | ccdoctor |
//! | --- | --- |
//! | `throttled` | `RateLimit` (`rate_limit.final` / `retries`) |
//! | `per_day_quota` | `PerDayQuota` |
//! | `unclassified_429` | `Unclassified429` |
//! | `usage_limit` | `UsageLimit` |
//! | `spend_cap` | `SpendCap` |
//! | `server_limiting` | `ServerLimiting` |
//! | `overloaded` | `Overloaded` |
//! | `context_window` | `ContextWindow` |
//! | `output_token_maximum` | `OutputTokenMaximum(N)`, N the number the text names |
//! | `over_cap` | `OverCap` |
//! | `server_error` | `Other`: a server error says nothing about load or quota |
//! | `other` | `Other` |
//! | `notice` | not an error: the record is not counted at all |

mod common;

use std::sync::LazyLock;

use ccdoctor::scan::classify::{ErrorKind, classify};
use ccdoctor::scan::{debuglog, line};
use regex::Regex;
use serde_json::{Value, json};

const CORPUS: &str = include_str!("../testdata/error-texts/corpus.jsonl");

/// One text of the corpus.
struct Case {
    /// Its line in the corpus (from 1).
    line: usize,
    text: String,
    kind: String,
    status: Option<u16>,
    source: String,
}

fn cases() -> Vec<Case> {
    CORPUS
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1));
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("corpus line {}: no {k}", i + 1)).to_string();
            Case {
                line: i + 1,
                text: field("text"),
                kind: field("kind"),
                status: v["status"].as_u64().map(|s| u16::try_from(s).expect("an HTTP status")),
                source: field("source"),
            }
        })
        .collect()
}

static LIMIT_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"exceeded the (\d+) output token maximum").expect("valid regex"));

/// The corpus's kind as ccdoctor's; `None` for a notice, which is no error.
fn expected(case: &Case) -> Option<ErrorKind> {
    Some(match case.kind.as_str() {
        "throttled" => ErrorKind::RateLimit,
        "per_day_quota" => ErrorKind::PerDayQuota,
        "unclassified_429" => ErrorKind::Unclassified429,
        "usage_limit" => ErrorKind::UsageLimit,
        "spend_cap" => ErrorKind::SpendCap,
        "server_limiting" => ErrorKind::ServerLimiting,
        "overloaded" => ErrorKind::Overloaded,
        "context_window" => ErrorKind::ContextWindow,
        "output_token_maximum" => {
            let n = LIMIT_IN_TEXT.captures(&case.text).unwrap_or_else(|| panic!("line {}: no N", case.line))[1]
                .parse()
                .expect("a number");
            ErrorKind::OutputTokenMaximum(n)
        }
        "over_cap" => ErrorKind::OverCap,
        "server_error" | "other" => ErrorKind::Other,
        "notice" => return None,
        other => panic!("corpus line {}: unknown kind {other:?}", case.line),
    })
}

/// The kind a parsed transcript line counts, `None` when it counts nothing.
fn counted(record: &line::Record<'_>) -> Option<ErrorKind> {
    match record {
        line::Record::FinalError(_, e) => Some(e.kind),
        line::Record::Retry(_, r) => Some(r.kind),
        _ => None,
    }
}

/// How Claude Code records a request that failed for good: an `isApiErrorMessage` line.
fn final_line(case: &Case) -> String {
    let mut v = json!({
        "type": "assistant", "uuid": "e1", "sessionId": "s1", "timestamp": "2026-03-01T10:00:00.000Z",
        "isApiErrorMessage": true,
        "message": {"id": "0b7c", "model": "<synthetic>", "role": "assistant",
                    "content": [{"type": "text", "text": case.text}], "usage": {"output_tokens": 0}},
    });
    if let Some(s) = case.status {
        v["apiErrorStatus"] = json!(s);
    }
    v.to_string()
}

/// How Claude Code records an attempt it retried: a `system`/`api_error` line, the error as
/// raw JSON.
fn retry_line(case: &Case) -> String {
    json!({
        "type": "system", "subtype": "api_error", "level": "error", "uuid": "y1", "sessionId": "s1",
        "timestamp": "2026-03-01T10:00:00.000Z",
        "error": {"status": case.status, "error": {"type": "error", "error": {"message": case.text}}},
        "retryAttempt": 1, "maxRetries": 10, "retryInMs": 500,
    })
    .to_string()
}

/// A debug log's failed attempt (one line: the text's line breaks become spaces); only for a
/// text whose status is known, as the log always prints one.
fn debug_line(case: &Case) -> Option<String> {
    let status = case.status?;
    let text = case.text.replace(['\n', '\r'], " ");
    Some(format!("2026-03-01T10:00:00.000Z [ERROR] API error (attempt 1/11): {status} {text}"))
}

/// Every way the text is read, and what each counts.
fn readings(case: &Case) -> Vec<(&'static str, Option<ErrorKind>)> {
    let fin = final_line(case);
    let retry = retry_line(case);
    let mut out = vec![
        ("alone", classify(&case.text, case.status, None)),
        ("final line, fast path", line::parse(fin.as_bytes()).ok().as_ref().and_then(counted)),
        ("final line, full parse", line::parse_plain(fin.as_bytes()).ok().as_ref().and_then(counted)),
        ("retry line, fast path", line::parse(retry.as_bytes()).ok().as_ref().and_then(counted)),
        ("retry line, full parse", line::parse_plain(retry.as_bytes()).ok().as_ref().and_then(counted)),
    ];
    if let Some(l) = debug_line(case) {
        let kind = match debuglog::parse(&l) {
            debuglog::DebugRecord::FailedAttempt { kind, .. } => Some(kind),
            _ => None,
        };
        out.push(("debug log attempt", kind));
    }
    out
}

/// Every text of the corpus gets its kind, however it is read. All misreadings are listed at
/// once, each with its line, source and text.
#[test]
fn every_real_text_gets_its_kind() {
    let cases = cases();
    assert!(cases.len() >= 214, "the corpus only grows: {} lines", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let want = expected(case);
        for (how, got) in readings(case) {
            if got != want {
                wrong.push(format!(
                    "line {} ({}), {how}: {got:?}, corpus says {} ({want:?})\n    {:?}",
                    case.line, case.source, case.kind, case.text
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{} misread:\n{}", wrong.len(), wrong.join("\n"));
}

/// Every text names where it was seen, and its fields have their documented shapes.
#[test]
fn every_text_has_a_source() {
    for case in cases() {
        assert!(case.source.starts_with("https://"), "line {}: source {:?}", case.line, case.source);
        assert!(!case.text.trim().is_empty(), "line {}: empty text", case.line);
        let v: Value = serde_json::from_str(CORPUS.lines().nth(case.line - 1).unwrap()).unwrap();
        let provider = v["provider"].as_str().unwrap_or_default();
        assert!(
            ["anthropic", "bedrock", "vertex", "gateway", "unknown"].contains(&provider),
            "line {}: provider {provider:?}",
            case.line
        );
    }
}

/// The kinds that are not throttling outnumber it in real reports, old wordings included: the
/// corpus must keep covering each of them.
#[test]
fn the_corpus_covers_every_kind() {
    let cases = cases();
    for kind in [
        "throttled",
        "per_day_quota",
        "unclassified_429",
        "usage_limit",
        "spend_cap",
        "server_limiting",
        "overloaded",
        "context_window",
        "output_token_maximum",
        "over_cap",
        "server_error",
        "other",
        "notice",
    ] {
        assert!(cases.iter().any(|c| c.kind == kind), "no {kind} text");
    }
}

/// A history of Bedrock throttling, plus a session whose 429s name `text`: (guard, home).
fn bedrock_with_429s(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let (guard, home) = common::bedrock_copy();
    let envelope = |uuid: String, second: u32| {
        json!({"uuid": uuid, "sessionId": "extra", "cwd": "/sim/app0", "version": "2.1.150",
               "isSidechain": false, "timestamp": format!("2026-11-02T09:10:{second:02}.000Z")})
    };
    let mut lines = Vec::new();
    for attempt in 1..=3u32 {
        let mut v = envelope(format!("extra-y{attempt}"), attempt);
        v["type"] = json!("system");
        v["subtype"] = json!("api_error");
        v["error"] =
            json!({"status": 429, "error": {"type": "error", "error": {"type": "rate_limit_error", "message": text}}});
        v["retryAttempt"] = json!(attempt);
        v["retryInMs"] = json!(500);
        lines.push(v.to_string());
    }
    let mut v = envelope("extra-e1".into(), 30);
    v["type"] = json!("assistant");
    v["isApiErrorMessage"] = json!(true);
    v["error"] = json!("rate_limit");
    v["apiErrorStatus"] = json!(429);
    v["message"] = json!({"id": "extra-e1", "model": "<synthetic>", "role": "assistant",
                          "content": [{"type": "text", "text": format!("API Error: 429 {text}")}]});
    lines.push(v.to_string());
    std::fs::write(home.join("projects/-sim-app0/extra.jsonl"), lines.join("\n") + "\n").unwrap();
    (guard, home)
}

/// 429s whose text names no cause are counted apart, named in the advice and left out of the
/// fit: the recommendation and the fit's counts are those of the history without them. The
/// same records saying "Too many tokens" would be fitted (the control that this can fail).
#[test]
fn a_429_of_no_stated_cause_is_counted_apart_and_left_out_of_the_fit() {
    let json_of = |home: &std::path::Path| common::scan_json(&[home.to_str().unwrap()]).0;
    let plain = json_of(&common::bedrock_home());
    let (_g, home) = bedrock_with_429s("This request would exceed your account's rate limit. Please try again later.");
    let v = json_of(&home);
    assert_eq!(v["errors"]["unclassified_429"], 4);
    assert_eq!(v["errors"]["rate_limit"], plain["errors"]["rate_limit"]);
    let (cal, before) = (&v["recommendation"]["calibration"], &plain["recommendation"]["calibration"]);
    assert_eq!(
        (&cal["observed_throttled"], &cal["observed_failed"]),
        (&before["observed_throttled"], &before["observed_failed"])
    );
    assert_eq!(v["recommendation"]["max_output_tokens"], plain["recommendation"]["max_output_tokens"]);
    let advice = v["recommendation"]["advice"].as_array().unwrap();
    assert!(
        advice
            .iter()
            .any(|a| a == "429s whose text says neither throttling nor a usage limit: 4, left out of the fit."),
        "{advice:?}"
    );
    // The table and Markdown show the row.
    for format in ["table", "markdown"] {
        let r = common::run(&["scan", "--format", format, home.to_str().unwrap()]);
        assert!(r.stdout.contains("429, unclassified"), "{format}:\n{}", r.stdout);
    }

    let (_g, home) = bedrock_with_429s("Too many tokens, please wait before trying again.");
    let v = json_of(&home);
    assert_eq!(v["errors"]["unclassified_429"], 0);
    let cal = &v["recommendation"]["calibration"];
    assert_eq!(cal["observed_throttled"].as_u64(), before["observed_throttled"].as_u64().map(|n| n + 4));
}
