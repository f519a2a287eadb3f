//! Secrets and markup in the input (issue 14, items 6 and 14). Settings hold secrets in
//! variables no deny-list names (auth headers, OTLP headers, a key in a URL, a helper
//! command) and an allow-listed variable with a hostile value; model ids hold HTML, a Markdown
//! image and an escape sequence; the config home's name (through `CLAUDE_CONFIG_DIR` and as a
//! path argument) holds an escape sequence and a right-to-left override. No secret may reach
//! stdout or stderr in any format; no raw ESC or bidirectional control may reach any output;
//! Markdown must render data as text; harmless values stay shown, and `--show-env` shows all.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Run, ccdoctor};

/// The secrets planted in settings.json, each in its own variable.
const SECRETS: [&str; 4] = ["PLANTED-hdr-1", "PLANTED-otel-2", "PLANTED-url-3", "PLANTED-helper-4"];
/// The hostile value of an allow-listed variable (a model id that is no model id).
const HOSTILE_ALLOWED: &str = "<img src=x onerror=alert(5)>[x](javascript:alert(6))<script>alert(7)</script>";
/// A model id with HTML, a Markdown image and an escape sequence (ids are cut at `:`).
const HOSTILE_MODEL: &str = "claude-x<img src=x onerror=alert(1)>![p](//x/y.png)<script>alert(2)</script>\u{1b}[31m";
/// Characters that must never reach an output raw.
const RAW: [char; 4] = ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'];

fn response(id: &str, out: u64) -> String {
    serde_json::json!({
        "type": "assistant", "uuid": format!("u-{id}"), "sessionId": "s",
        "timestamp": "2026-01-01T00:00:00Z", "requestId": format!("r-{id}"),
        "cwd": "/tmp/<img src=x onerror=alert(3)>",
        "message": {"id": format!("m-{id}"), "model": HOSTILE_MODEL,
                    "content": [{"type": "text", "text": "hello"}], "usage": {"output_tokens": out}}
    })
    .to_string()
}

/// A config home whose name holds an escape sequence and a right-to-left override.
fn fixture(dir: &Path) -> PathBuf {
    let home = dir.join("cfg\u{1b}[31m\u{202e}der");
    fs::create_dir_all(home.join("projects/p")).unwrap();
    let lines: Vec<String> = (0..3).map(|i| response(&i.to_string(), 100 * (i + 1))).collect();
    fs::write(home.join("projects/p/s.jsonl"), lines.join("\n") + "\n").unwrap();
    let settings = serde_json::json!({"env": {
        "ANTHROPIC_CUSTOM_HEADERS": format!("Authorization: Bearer {}", SECRETS[0]),
        "OTEL_EXPORTER_OTLP_HEADERS": format!("Authorization=Bearer%20{}", SECRETS[1]),
        "ANTHROPIC_BASE_URL": format!("https://gateway.example/v1?key={}", SECRETS[2]),
        "CLAUDE_CODE_OTEL_HEADERS_HELPER": format!("echo Bearer {}", SECRETS[3]),
        "ANTHROPIC_SMALL_FAST_MODEL": HOSTILE_ALLOWED,
        "AWS_REGION": "eu-west-1",
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "16000",
        "MAX_THINKING_TOKENS": 1024,
        "DISABLE_PROMPT_CACHING": "true",
    }});
    fs::write(home.join("settings.json"), serde_json::to_string_pretty(&settings).unwrap()).unwrap();
    home
}

/// Runs `ccdoctor scan --format FORMAT EXTRA…` on `home`, named by `CLAUDE_CONFIG_DIR` or as
/// a path argument.
fn scan(dir: &Path, home: &Path, by_env: bool, format: &str, extra: &[&str]) -> Run {
    let mut c = ccdoctor(dir);
    c.args(["scan", "--color", "never", "--format", format]).args(extra);
    if by_env {
        c.env("CLAUDE_CONFIG_DIR", home);
    } else {
        c.arg(home);
    }
    let r: Run = c.output().unwrap().into();
    assert_eq!(r.code, 0, "{format} {extra:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn assert_no_raw(what: &str, s: &str) {
    for c in RAW {
        assert!(!s.contains(c), "{what} holds a raw {c:?}:\n{s}");
    }
}

/// Markdown with data only as text: no HTML tag, link or image.
fn assert_inert_markdown(what: &str, md: &str) {
    for bad in ["<img", "<script", "](", "![", "<redacted>"] {
        assert!(!md.contains(bad), "{what}: Markdown holds {bad:?}:\n{md}");
    }
}

fn env_value<'a>(v: &'a serde_json::Value, name: &str) -> &'a str {
    v["settings"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("{name} not in {}", v["settings"]["env"]))
}

#[test]
fn secrets_in_any_variable_are_redacted_in_every_format() {
    let t = tempfile::tempdir().unwrap();
    let home = fixture(t.path());
    for by_env in [true, false] {
        for format in ["table", "json", "markdown"] {
            let r = scan(t.path(), &home, by_env, format, &[]);
            let what = format!("{format} (CLAUDE_CONFIG_DIR: {by_env})");
            for s in SECRETS {
                assert!(!r.stdout.contains(s) && !r.stderr.contains(s), "{what} printed {s}");
            }
            // The allow-listed variable with a hostile value is redacted too.
            for s in ["alert(5)", "alert(6)", "alert(7)"] {
                assert!(!r.stdout.contains(s) && !r.stderr.contains(s), "{what} printed {s}");
            }
            // Harmless values are still shown.
            for s in ["eu-west-1", "16000", "1024"] {
                assert!(r.stdout.contains(s), "{what} hides {s}:\n{}", r.stdout);
            }
            match format {
                "json" => {
                    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
                    for name in [
                        "ANTHROPIC_CUSTOM_HEADERS",
                        "OTEL_EXPORTER_OTLP_HEADERS",
                        "ANTHROPIC_BASE_URL",
                        "CLAUDE_CODE_OTEL_HEADERS_HELPER",
                        "ANTHROPIC_SMALL_FAST_MODEL",
                    ] {
                        assert_eq!(env_value(&v, name), "<redacted>", "{name}");
                    }
                    assert_eq!(env_value(&v, "AWS_REGION"), "eu-west-1");
                    assert_eq!(env_value(&v, "DISABLE_PROMPT_CACHING"), "true");
                }
                // GitHub drops `<redacted>` as an unknown HTML tag: it is written escaped.
                "markdown" => assert!(r.stdout.contains("| &lt;redacted&gt; |"), "{}", r.stdout),
                _ => assert!(r.stdout.contains("<redacted>"), "{}", r.stdout),
            }
        }
    }
}

#[test]
fn show_env_shows_every_value() {
    let t = tempfile::tempdir().unwrap();
    let home = fixture(t.path());
    let r = scan(t.path(), &home, true, "json", &["--show-env"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(env_value(&v, "ANTHROPIC_CUSTOM_HEADERS"), format!("Authorization: Bearer {}", SECRETS[0]));
    assert_eq!(env_value(&v, "ANTHROPIC_BASE_URL"), format!("https://gateway.example/v1?key={}", SECRETS[2]));
    assert_eq!(env_value(&v, "ANTHROPIC_SMALL_FAST_MODEL"), HOSTILE_ALLOWED);
    assert!(!r.stdout.contains("<redacted>"), "{}", r.stdout);
    // Shown, and still escaped for Markdown and the terminal.
    let r = scan(t.path(), &home, true, "markdown", &["--show-env"]);
    for s in SECRETS {
        assert!(r.stdout.contains(s), "{s}:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("&lt;img src=x onerror=alert\\(5\\)&gt;\\[x\\]\\(javascript:alert\\(6\\)\\)"));
    assert_inert_markdown("markdown --show-env", &r.stdout);
    assert_no_raw("markdown --show-env", &r.stdout);
    let r = scan(t.path(), &home, true, "table", &["--show-env"]);
    assert!(r.stdout.contains(SECRETS[3]), "{}", r.stdout);
    assert_no_raw("table --show-env", &r.stdout);
}

#[test]
fn nothing_raw_reaches_any_output_and_markdown_is_inert() {
    let t = tempfile::tempdir().unwrap();
    let home = fixture(t.path());
    for by_env in [true, false] {
        for format in ["table", "json", "markdown"] {
            let r = scan(t.path(), &home, by_env, format, &[]);
            let what = format!("{format} (CLAUDE_CONFIG_DIR: {by_env})");
            assert_no_raw(&format!("{what} stdout"), &r.stdout);
            assert_no_raw(&format!("{what} stderr"), &r.stderr);
            match format {
                "markdown" => {
                    assert_inert_markdown(&what, &r.stdout);
                    // The model id is there, as text.
                    assert!(
                        r.stdout.contains("claude-x&lt;img src=x onerror=alert\\(1\\)&gt;\\!\\[p\\]"),
                        "{}",
                        r.stdout
                    );
                    // The config home's name, escaped, in the settings' sources.
                    assert!(r.stdout.contains("cfg\\\\u\\{1b\\}\\[31m\\\\u\\{202e\\}der"), "{}", r.stdout);
                }
                "json" => {
                    // JSON keeps the data as it is: the escapes are JSON's own.
                    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
                    assert_eq!(v["scan"]["roots"][0]["path"], home.to_str().unwrap());
                    assert_eq!(v["by_model"][0]["ids"][0], HOSTILE_MODEL);
                    assert!(r.stdout.contains("\\u202e"), "{}", r.stdout);
                }
                _ => assert!(r.stdout.contains("claude-x<img"), "{}", r.stdout),
            }
        }
    }
}

#[test]
fn errors_quote_paths_escaped() {
    let t = tempfile::tempdir().unwrap();
    let bad = "no\u{1b}[31mpe\u{202e}\u{7}";
    let run = |c: &mut std::process::Command| -> Run { c.output().unwrap().into() };
    // CLAUDE_CONFIG_DIR naming nothing, a path argument naming nothing, a folder with nothing
    // to report, a --debug-file naming nothing, a value clap refuses.
    let empty = t.path().join("empty\u{1b}[31m\u{202e}");
    fs::create_dir_all(&empty).unwrap();
    let runs = [
        run(ccdoctor(t.path()).env("CLAUDE_CONFIG_DIR", bad).arg("scan")),
        run(ccdoctor(t.path()).args(["scan", bad])),
        run(ccdoctor(t.path()).arg("scan").arg(&empty)),
        run(ccdoctor(t.path()).args(["scan", "--debug-file", bad]).arg(&empty)),
        run(ccdoctor(t.path()).args(["scan", "--format", bad])),
        run(ccdoctor(t.path()).args(["scan", "--since", bad])),
    ];
    for (i, r) in runs.iter().enumerate() {
        assert_no_raw(&format!("run {i} stderr"), &r.stderr);
        assert_no_raw(&format!("run {i} stdout"), &r.stdout);
        if i == 2 {
            // An empty history is an answer (exit 0, an empty report), told with a note.
            assert_eq!(r.code, 0, "{i}: {}", r.stderr);
            assert!(r.stderr.contains("note: nothing to report"), "{i}: {}", r.stderr);
            continue;
        }
        assert_eq!(r.code, 2, "{i}: {}", r.stderr);
        assert!(r.stderr.contains("error"), "{i}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{i}: {}", r.stdout);
    }
    assert!(runs[0].stderr.contains("no\\u{1b}[31mpe\\u{202e}\\u{7}"), "{}", runs[0].stderr);
    assert!(runs[1].stderr.contains("no\\u{1b}[31mpe\\u{202e}\\u{7}: no such file or folder"), "{}", runs[1].stderr);
    assert!(runs[2].stderr.contains("empty\\u{1b}[31m\\u{202e}"), "{}", runs[2].stderr);
}

#[test]
fn a_write_outcome_keeps_paths_as_data_in_json_and_escapes_them_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let home = fixture(t.path());
    let r = scan(t.path(), &home, false, "json", &["--dry-run"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // Not escaped twice: the JSON string is the path itself.
    assert_eq!(v["write"]["path"], home.join("settings.json").to_str().unwrap(), "{}", v["write"]);
    assert_eq!(v["write"]["old"], "\"16000\"");
    for format in ["table", "markdown"] {
        let r = scan(t.path(), &home, false, format, &["--dry-run"]);
        assert_no_raw(format, &r.stdout);
        assert!(r.stdout.contains("cfg\\u{1b}[31m\\u{202e}der/settings.json already sets"), "{format}: {}", r.stdout);
    }
}

/// Review of issue 24, item 4 (b): a `user:password@host` where a model id should be is
/// redacted whatever it starts with (`arn:` too) and whichever side of the `@` the colon is
/// on, in every format and in a dry run.
#[test]
fn userinfo_in_a_model_variable_is_redacted_in_every_output() {
    for value in ["arn:SECRETVALUE-a:pw@host", "u@SECRETVALUE-b:pw", "arn:aws:x@SECRETVALUE-c"] {
        let t = tempfile::tempdir().unwrap();
        let home = fixture(t.path());
        let settings = serde_json::json!({"env": {"ANTHROPIC_MODEL": value, "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "16000"}});
        fs::write(home.join("settings.json"), settings.to_string()).unwrap();
        for format in ["table", "json", "markdown"] {
            for extra in [&[][..], &["--dry-run"][..]] {
                let r = scan(t.path(), &home, false, format, extra);
                assert!(
                    !r.stdout.contains("SECRETVALUE") && !r.stderr.contains("SECRETVALUE"),
                    "{value} {format} {extra:?}:\n{}\n{}",
                    r.stdout,
                    r.stderr
                );
            }
        }
        let r: Run = ccdoctor(t.path()).args(["apply", "--dry-run"]).arg(&home).output().unwrap().into();
        assert!(!r.stdout.contains("SECRETVALUE") && !r.stderr.contains("SECRETVALUE"), "{value}: {}", r.stdout);
    }
}

/// Item 4 (a): with `--show-env` the report says that it shows the values unredacted (not
/// that they are redacted), stderr warns, and the JSON says so.
#[test]
fn show_env_says_the_values_are_shown_unredacted() {
    let t = tempfile::tempdir().unwrap();
    let home = fixture(t.path());
    for format in ["table", "markdown", "json"] {
        let r = scan(t.path(), &home, false, format, &["--show-env"]);
        let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(!text.contains("values redacted"), "{format}: {}", r.stdout);
        assert!(r.stderr.contains("--show-env") && r.stderr.contains("unredacted"), "{format}: {}", r.stderr);
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
                assert_eq!(v["settings"]["env_redacted"], false);
            }
            _ => assert!(text.contains("unredacted"), "{format}: {}", r.stdout),
        }
        let r = scan(t.path(), &home, false, format, &[]);
        assert!(!r.stderr.contains("unredacted"), "{format}: {}", r.stderr);
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(v["settings"]["env_redacted"], true);
        }
    }
}
