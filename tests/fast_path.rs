//! The fast path (only candidate lines parsed, long lines streamed) must give exactly the JSON
//! report of the full parse (`--full-parse`: every line parsed) on every fixture.

mod common;

use std::path::Path;

use common::{ccdoctor, home};

fn report(path: &Path, full: bool) -> serde_json::Value {
    let mut args = vec!["scan", "--format", "json"];
    if full {
        args.push("--full-parse");
    }
    let p = path.to_string_lossy().into_owned();
    args.push(&p);
    let out = ccdoctor(path.parent().unwrap()).args(&args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_same(path: &Path) {
    let (fast, full) = (report(path, false), report(path, true));
    assert_eq!(fast, full, "fast and full parse differ on {}", path.display());
}

#[test]
fn same_report_on_the_bundled_samples() {
    assert_same(&home());
    assert_same(&common::testdata().join("late-home"));
    assert_same(&common::bedrock_home());
}

#[test]
fn same_report_on_lines_longer_than_the_buffers() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("home/projects/-p");
    std::fs::create_dir_all(&dir).unwrap();
    let big = "x".repeat(300 * 1024);
    let assistant = |id: &str, text: &str, out: u64| {
        format!(
            r#"{{"type":"assistant","uuid":"u-{id}","sessionId":"s","timestamp":"2026-03-01T10:00:00.000Z","requestId":"r-{id}","message":{{"id":"m-{id}","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"{text}"}}],"usage":{{"output_tokens":{out}}}}}}}"#
        )
    };
    let lines = [
        assistant("1", "short", 700),
        // A response longer than the read buffer: assembled, then parsed.
        assistant("2", &big, 120_000),
        // A user line longer than the buffer, mentioning every needle but in its content.
        format!(r#"{{"type":"user","message":{{"content":"{big} assistant api_error"}},"uuid":"u-3"}}"#),
        // The needle split across read boundaries does not matter: lines are whole here.
        format!(
            r#"{{"type":"user","isMeta":true,"uuid":"u-4","message":{{"content":"Output token limit hit. {big}"}}}}"#
        ),
        // Broken user lines of the kinds real files have.
        r#"{"type":"user","message":{"content":"cut"#.to_string(),
        "\u{0}\u{0}\u{0}".to_string(),
        assistant("5", "after the damage", 42),
    ];
    std::fs::write(dir.join("s.jsonl"), lines.join("\n")).unwrap();
    let home = t.path().join("home");
    assert_same(&home);
    let v = report(&home, false);
    assert_eq!(v["responses"]["count"], 3);
    assert_eq!(v["errors"]["recovery_prompts"], 1);
    assert_eq!(v["scan"]["malformed_lines"], 2);
}
