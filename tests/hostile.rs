//! Hostile lines, names and settings: each is named in a warning (file and line), the exit
//! status is as documented, nothing panics, nothing reaches the terminal unescaped, and the
//! rest of the scan is still counted.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Run, ccdoctor};

fn response(id: &str, out: u64) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"u-{id}","sessionId":"s","timestamp":"2026-01-01T00:00:00Z","requestId":"r-{id}","message":{{"id":"m-{id}","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"hello there"}}],"usage":{{"output_tokens":{out}}}}}}}"#
    )
}

fn home(dir: &Path) -> PathBuf {
    let h = dir.join("home");
    fs::create_dir_all(h.join("projects/p")).unwrap();
    h
}

fn scan(h: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let hs = h.to_string_lossy().into_owned();
    args.push(&hs);
    let r: Run = ccdoctor(h.parent().unwrap()).args(&args).output().unwrap().into();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v = serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null);
    (r, v)
}

/// Each bad line in a file of its own, between two good responses, so that each is named.
#[test]
fn bad_lines_are_named_and_the_rest_is_counted() {
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    let deep = format!(r#"{{"type":"assistant","message":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("utf8", b"{\"type\":\"user\",\"message\":\"\xc3\x28\"}".to_vec()),
        ("nul", vec![0u8; 100]),
        ("nul-inside", b"{\"type\":\"user\",\"message\":\"a\x00b\"}".to_vec()),
        ("cut", br#"{"type":"assistant","message":{"id":"m-x","usage":{"output_tok"#.to_vec()),
        ("not-object", b"[\"assistant\"]".to_vec()),
    ];
    for (i, (name, line)) in bad.iter().enumerate() {
        let mut data = format!("{}\n", response(&format!("{name}-a"), 100 + i as u64)).into_bytes();
        data.extend_from_slice(line);
        data.extend_from_slice(format!("\n{}\n", response(&format!("{name}-b"), 200)).as_bytes());
        fs::write(h.join(format!("projects/p/{name}.jsonl")), data).unwrap();
    }
    let (r, v) = scan(&h, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["scan"]["malformed_lines"], bad.len());
    for (name, _) in &bad {
        assert!(r.stderr.contains(&format!("{name}.jsonl:2: malformed line skipped")), "{name}: {}", r.stderr);
    }
    assert_eq!(v["responses"]["count"], 2 * bad.len());
    // A key written twice is no bad line: it takes its last value, as Claude Code's JSON.parse
    // reads it (tests/odd_data.rs).

    // Valid JSON nested 100,000 deep where the message should be: read without overflowing
    // the stack (it holds nothing countable), and the lines around it still count.
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    let data = format!("{}\n{deep}\n{}\n", response("deep-a", 100), response("deep-b", 200));
    fs::write(h.join("projects/p/deep.jsonl"), data).unwrap();
    let (r, v) = scan(&h, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 2);
}

#[test]
fn odd_but_valid_lines_are_read_leniently() {
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    let lines = [
        // A BOM before the first line, CRLF endings.
        format!("\u{feff}{}\r", response("bom", 10)),
        // Token counts that overflow, are negative, fractional or strings.
        r#"{"type":"assistant","uuid":"u1","requestId":"r1","message":{"id":"m1","usage":{"output_tokens":123456789012345678901234567890}}}"#.to_string(),
        r#"{"type":"assistant","uuid":"u2","requestId":"r2","message":{"id":"m2","usage":{"output_tokens":-5}}}"#.to_string(),
        r#"{"type":"assistant","uuid":"u3","requestId":"r3","message":{"id":"m3","usage":{"output_tokens":41.9}}}"#.to_string(),
        r#"{"type":"assistant","uuid":"u4","requestId":"r4","message":{"id":"m4","usage":{"output_tokens":" 77 "}}}"#.to_string(),
        // `message` or `usage` of the wrong type, missing fields, unknown types.
        r#"{"type":"assistant","uuid":"u5","message":"text"}"#.to_string(),
        r#"{"type":"assistant","uuid":"u6","requestId":"r6","message":{"id":"m6","usage":[1,2]}}"#.to_string(),
        r#"{"type":"assistant","uuid":"u7"}"#.to_string(),
        r#"{"type":"assistant","uuid":"u8","message":{"usage":{"output_tokens":5}}}"#.to_string(),
        r#"{"type":"a-type-from-the-future","assistant":true}"#.to_string(),
        r#"{"type":42}"#.to_string(),
    ];
    fs::write(h.join("projects/p/odd.jsonl"), lines.join("\n")).unwrap();
    // An empty file, and one cut in the middle of its last line (no final newline).
    fs::write(h.join("projects/p/empty.jsonl"), "").unwrap();
    fs::write(h.join("projects/p/cut.jsonl"), format!("{}\n{{\"type\":\"assi", response("c", 500))).unwrap();
    let (r, v) = scan(&h, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // m-bom, m1 (overflow: no count), m2 (negative: none), m3 (41), m4 (77), m6 (no usage),
    // m-c. `message` as a string or without an id is not a response.
    assert_eq!(v["responses"]["count"], 7, "{}", r.stderr);
    assert_eq!(v["output_tokens"]["max"], 500);
    assert_eq!(v["scan"]["malformed_lines"], 2, "`\"type\":42` and the cut line: {}", r.stderr);
    assert!(r.stderr.contains("cut.jsonl:2: malformed line skipped"), "{}", r.stderr);
    assert_eq!(v["scan"]["files"], 3);
}

#[test]
fn logged_text_cannot_drive_the_terminal() {
    let t = tempfile::tempdir().unwrap();
    let h = t.path().join("home");
    let project = h.join("projects/-home-u-\u{1b}[31mred\u{1b}[0m");
    fs::create_dir_all(&project).unwrap();
    let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J";
    let lines = [
        response("a", 100),
        format!(
            r#"{{"type":"assistant","uuid":"e1","cwd":"/tmp/{}","isApiErrorMessage":true,"message":{{"id":"x","model":"<synthetic>","content":[{{"type":"text","text":"API Error: {} 500"}}]}}}}"#,
            evil.replace('\u{1b}', "\\u001b").replace('\u{7}', "\\u0007"),
            evil.replace('\u{1b}', "\\u001b").replace('\u{7}', "\\u0007"),
        ),
        "{\"bad\u{1b}[5m".to_string(),
        // A model id with an escape sequence and a right-to-left override.
        r#"{"type":"assistant","uuid":"m","requestId":"rm","message":{"id":"mm","model":"evil\u001b[31m\u202emodel","content":"x","usage":{"output_tokens":50}}}"#.to_string(),
    ];
    fs::write(project.join("s\u{1b}[1m.jsonl"), lines.join("\n")).unwrap();
    for format in ["table", "markdown", "json"] {
        let r: Run = ccdoctor(t.path())
            .args(["scan", "--color", "never", "--format", format, h.to_str().unwrap()])
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        for (what, s) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{format} {what} holds a raw escape:\n{s}");
            // JSON keeps text as data (serde_json escapes only control characters); the
            // formats for people also escape right-to-left overrides.
            if format != "json" || what == "stderr" {
                assert!(!s.contains('\u{202e}'), "{format} {what} holds a bidi override:\n{s}");
            }
        }
        assert!(r.stderr.contains("malformed line skipped"), "{}", r.stderr);
    }
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_read_and_named() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    let name = std::ffi::OsStr::from_bytes(b"s-\xff\xfe.jsonl");
    fs::write(h.join("projects/p").join(name), format!("{}\n{{broken\n", response("n", 300))).unwrap();
    let (r, v) = scan(&h, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 1);
    assert!(r.stderr.contains("s-\u{fffd}\u{fffd}.jsonl:2: malformed line skipped"), "{}", r.stderr);
}

#[test]
fn hostile_settings_are_named_and_never_written() {
    for (what, setup) in [("folder", 0), ("empty", 1), ("not JSON", 2), ("not an object", 3), ("huge", 4)] {
        let t = tempfile::tempdir().unwrap();
        let h = home(t.path());
        fs::write(h.join("projects/p/s.jsonl"), response("a", 4000) + "\n").unwrap();
        let path = h.join("settings.json");
        match setup {
            0 => fs::create_dir(&path).unwrap(),
            1 => fs::write(&path, "").unwrap(),
            2 => fs::write(&path, "{\"env\": {").unwrap(),
            3 => fs::write(&path, "\"env\"").unwrap(),
            _ => fs::File::create(&path).unwrap().set_len(17 * 1024 * 1024).unwrap(),
        }
        let before = fs::metadata(&path).unwrap();
        let snapshot = if before.is_file() { fs::read(&path).unwrap() } else { Vec::new() };
        // A scan warns (except for an empty file, which holds no settings) and goes on.
        let (r, v) = scan(&h, &[]);
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
        assert_eq!(v["responses"]["count"], 1);
        if setup != 1 {
            assert!(r.stderr.contains("settings.json"), "{what}: {}", r.stderr);
        }
        // --write refuses before scanning, exit 2, the file as it was.
        let (r, _) = scan(&h, &["--write"]);
        assert_eq!(r.code, 2, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{}: ", path.display())), "{what}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{what}");
        if before.is_file() {
            assert_eq!(fs::read(&path).unwrap(), snapshot, "{what}");
        } else {
            assert!(fs::metadata(&path).unwrap().is_dir());
        }
        let leftovers: Vec<_> = fs::read_dir(&h)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("ccdoctor"))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_settings_file_is_named_and_never_written() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    fs::write(h.join("projects/p/s.jsonl"), response("a", 4000) + "\n").unwrap();
    let path = h.join("settings.json");
    fs::write(&path, "{\"env\": {}}").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    // As an unprivileged user when the tests run as root, who reads through permissions.
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "json"];
        args.extend_from_slice(extra);
        let hs = h.to_string_lossy().into_owned();
        args.push(&hs);
        let r: Run = common::ccdoctor_as_user(&h, t.path()).args(&args).output().unwrap().into();
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        let v = serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null);
        (r, v)
    };
    let (r, v) = scan(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(v["responses"]["count"], 1);
    assert!(r.stderr.contains("settings.json: cannot read settings"), "{}", r.stderr);
    let (r, _) = scan(&["--write"]);
    assert_eq!(r.code, 2, "a settings file it cannot use: {}", r.stderr);
    assert!(r.stderr.contains("settings.json"), "{}", r.stderr);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"env\": {}}");
}

#[test]
fn secrets_in_settings_never_reach_any_output() {
    let t = tempfile::tempdir().unwrap();
    let h = home(t.path());
    fs::write(h.join("projects/p/s.jsonl"), response("a", 4000) + "\n").unwrap();
    let secrets = ["sk-ant-api03-PLANTED-1", "PLANTED-aws-secret-2", "PLANTED-token-3", "hunter2-PLANTED-4"];
    fs::write(
        h.join("settings.json"),
        format!(
            r#"{{"apiKeyHelper":"echo {}","env":{{"ANTHROPIC_API_KEY":"{}","AWS_SECRET_ACCESS_KEY":"{}","ANTHROPIC_AUTH_TOKEN":"{}","ANTHROPIC_BASE_URL":"https://me:{}@proxy.example/v1","AWS_REGION":"eu-west-1"}}}}"#,
            secrets[0], secrets[0], secrets[1], secrets[2], secrets[3]
        ),
    )
    .unwrap();
    let mut seen_region = false;
    for extra in [&["--format", "table"][..], &["--format", "markdown"], &["--format", "json"], &["--dry-run"]] {
        let mut args = vec!["scan"];
        args.extend_from_slice(extra);
        let hs = h.to_string_lossy().into_owned();
        args.push(&hs);
        let r: Run = ccdoctor(t.path()).args(&args).output().unwrap().into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        for s in secrets {
            assert!(!r.stdout.contains(s) && !r.stderr.contains(s), "{extra:?} printed {s}");
        }
        // Markdown escapes the placeholder, which GitHub would otherwise drop as an HTML tag.
        if extra.contains(&"markdown") {
            assert!(r.stdout.contains("&lt;redacted&gt;") && !r.stdout.contains("<redacted>"), "{}", r.stdout);
        } else {
            assert!(r.stdout.contains("<redacted>"), "{extra:?}: {}", r.stdout);
        }
        seen_region |= r.stdout.contains("eu-west-1");
    }
    assert!(seen_region, "values that are not secrets are shown");
}
