//! The hook's message on arbitrary data: whatever text the message is given, and whatever a
//! model id in a transcript or a path on the command line holds, Claude Code gets one line
//! of JSON whose `systemMessage` holds no control, bidirectional or invisible character
//! (escaping them as `\uXXXX` would not do: Claude Code decodes them) and is at most
//! `MAX_HOOK_MESSAGE` characters.
#![no_main]

use std::path::{Path, PathBuf};

use ccdoctor::app::check::{MAX_HOOK_MESSAGE, hook_output};
use ccdoctor::cli::Cli;
use ccdoctor::config::Env;
use clap::Parser;
use libfuzzer_sys::fuzz_target;

/// What `text::escape_control` escapes (controls, bidirectional and invisible characters,
/// line and paragraph separators).
fn shown_raw(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// The hook printed nothing, or one line `{"systemMessage": …}` that is safe and bounded.
fn assert_safe(out: &[u8]) {
    if out.is_empty() {
        return;
    }
    let text = std::str::from_utf8(out).expect("UTF-8");
    let line = text.strip_suffix('\n').expect("one line");
    assert!(!line.contains('\n'), "one line: {line:?}");
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    let msg = v["systemMessage"].as_str().expect("a systemMessage string");
    assert!(msg.chars().count() <= MAX_HOOK_MESSAGE, "{} characters", msg.chars().count());
    assert!(!msg.chars().any(shown_raw), "{msg:?}");
}

/// A throttled Bedrock history (429 retries before each response) of `model`.
fn throttled_home(dir: &Path, model: &str) -> PathBuf {
    let home = dir.join("home");
    let projects = home.join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    let mut lines = Vec::new();
    for i in 0..3u32 {
        lines.push(
            serde_json::json!({"type": "system", "subtype": "api_error", "sessionId": "s", "uuid": format!("r{i}"),
                "timestamp": format!("2026-11-02T10:0{i}:00.000Z"), "retryAttempt": 1, "retryInMs": 500,
                "error": {"status": 429, "message": "Too many tokens, please wait before trying again."}})
            .to_string(),
        );
        lines.push(
            serde_json::json!({"type": "assistant", "sessionId": "s", "uuid": format!("a{i}"), "requestId": format!("q{i}"),
                "timestamp": format!("2026-11-02T10:0{i}:30.000Z"),
                "message": {"id": format!("m{i}"), "model": model, "content": "ok",
                            "usage": {"input_tokens": 100, "output_tokens": 500}}})
            .to_string(),
        );
    }
    std::fs::write(projects.join("s.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(
        home.join("settings.json"),
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000"}}"#,
    )
    .unwrap();
    home
}

fn hook(args: &[&str], env: &Env) -> Vec<u8> {
    let mut all = vec!["ccdoctor", "check", "--hook"];
    all.extend_from_slice(args);
    let Ok(cli) = Cli::try_parse_from(all) else { return Vec::new() };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ccdoctor::run(cli, env, &mut out, &mut err).expect("the hook answers");
    assert_eq!(code, ccdoctor::exit_codes::ExitCode::Changed, "a hook never fails a session");
    out
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut out = hook_output(&text).into_bytes();
    out.push(b'\n');
    assert_safe(&out);

    let dir = tempfile::tempdir().expect("a temporary folder");
    let env = Env {
        home: Some(dir.path().to_path_buf()),
        managed_dir: PathBuf::from("/nonexistent-managed-settings"),
        ..Env::default()
    };
    // The data as a model id (an unknown one is named by its id) and as a path.
    let home = throttled_home(dir.path(), &text);
    assert_safe(&hook(&["--since", "2026-11-01", home.to_str().unwrap()], &env));
    let missing = dir.path().join(text.replace('\0', "")).join("nowhere");
    assert_safe(&hook(&[missing.to_str().unwrap()], &env));
});
