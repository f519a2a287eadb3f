//! Trust, third round (issue 22): nothing in the data bounds ccdoctor's memory, time or
//! words but ccdoctor itself. A limit or a count no model allows is left out and counted;
//! a window of nothing but throttling is never "ok"; the hook's message is ccdoctor's own
//! words with data sanitised and cut; many model ids or reset texts cost linear time and a
//! report of bounded size; reset times are parsed, never copied; settings are read by the
//! rule they are written by; the value's owner is named.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, bedrock_copy, ccdoctor, ccdoctor_as_user};
use serde_json::{Value, json};

/// The bundled history's main session (testdata/bedrock-home), throttled at 32,000 and
/// advised 7,000 (lower).
const SESSION: &str = "06ae008a-bcff-4300-bb3f-f4e13a8f1f42";

fn run(c: &mut Command) -> Run {
    let r: Run = c.output().expect("binary runs").into();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// `ccdoctor ARGS` in the folder above `home`, with at most 1 GiB of address space: a
/// regression that sizes something by a number from the data aborts instead of filling the
/// machine.
fn bounded(home: &Path, args: &[&str]) -> Run {
    let mut c = ccdoctor(home.parent().unwrap());
    c.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 1 << 30, rlim_max: 1 << 30 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run(&mut c)
}

fn json_of(r: &Run) -> Value {
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", r.stdout, r.stderr))
}

/// An `isApiErrorMessage` line of the bundled history's day.
fn final_error(id: &str, session: &str, minute: u32, text: &str) -> String {
    json!({
        "type": "assistant", "uuid": id, "sessionId": session, "cwd": "/sim/app0", "isSidechain": false,
        "timestamp": format!("2026-11-02T10:{minute:02}:00.000Z"), "version": "2.1.150", "isApiErrorMessage": true,
        "message": {"id": format!("m-{id}"), "model": "<synthetic>", "role": "assistant",
                    "content": [{"type": "text", "text": text}], "usage": {"input_tokens": 0, "output_tokens": 0}}
    })
    .to_string()
}

/// A response line of the bundled history's day.
fn response(id: &str, session: &str, minute: u32, model: &str, input: u64, output: u64) -> String {
    json!({
        "type": "assistant", "uuid": id, "sessionId": session, "cwd": "/sim/app0", "isSidechain": false,
        "timestamp": format!("2026-11-02T10:{minute:02}:00.000Z"), "version": "2.1.150", "requestId": format!("req_{id}"),
        "message": {"id": format!("msg_{id}"), "model": model, "role": "assistant", "stop_reason": "end_turn",
                    "content": [{"type": "text", "text": "ok"}],
                    "usage": {"input_tokens": input, "output_tokens": output}}
    })
    .to_string()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn extra_transcript(home: &Path) -> PathBuf {
    home.join("projects/-sim-app0/extra.jsonl")
}

/// Item 1: a `Capped` line, an "exceeded" error in a transcript and one in a colleague's
/// telemetry, each naming 99,999,999,999,999: left out and counted, so the advice is the
/// history's own (7,000, lower from 32,000), in bounded memory. A limit some model allows,
/// however large, keeps the candidates bounded too.
#[test]
fn limits_no_model_allows_are_left_out_and_counted() {
    let (t, home) = bedrock_copy();
    let huge = "99999999999999";
    write_lines(
        &home.join(format!("debug/{SESSION}.txt")),
        &[format!(
            "2026-11-02T09:00:00.000Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from 100000000000000 to {huge}"
        )],
    );
    let exceeded = format!("API Error: Claude's response exceeded the {huge} output token maximum.");
    write_lines(&extra_transcript(&home), &[final_error("x1", "s-extra", 30, &exceeded)]);
    let csv = t.path().join("team.csv");
    std::fs::write(
        &csv,
        format!(
            "event.name,event.timestamp,session.id,model,error,status_code\napi_error,2026-11-02T10:31:00.000Z,colleague,claude-sonnet-4-20250514,{exceeded},400\n"
        ),
    )
    .unwrap();
    let h = home.to_str().unwrap();
    let c = csv.to_str().unwrap();
    let r = bounded(&home, &["scan", "--json", h, "--otel", c]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    assert_eq!(v["scan"]["implausible_limits"], 3, "{}", v["scan"]);
    assert_eq!(v["scan"]["plausible_limits_up_to"], 1_000_000);
    let rec = &v["recommendation"];
    assert_eq!((rec["max_output_tokens"].as_u64(), rec["action"].as_str()), (Some(7_000), Some("lower")), "{rec}");
    assert_eq!((rec["current"].as_u64(), rec["inputs"]["model_cap"].as_u64()), (Some(32_000), Some(64_000)));
    assert_eq!(v["capped"], json!([]));
    assert_eq!(v["errors"]["output_token_maximum"]["count"], 0);
    let r = run(ccdoctor(t.path()).args(["scan", h, "--otel", c]));
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("3 records of a max output limit no model allows (0, or over 1,000,000) left out."),
        "{text}"
    );

    let r = bounded(&home, &["check", "--hook", "--since", "2026-11-01", h, "--otel", c]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msg = json_of(&r)["systemMessage"].as_str().unwrap().to_string();
    assert!(msg.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (Sonnet 4)") && msg.contains("7000"), "{msg}");
    assert!(!msg.contains(huge), "{msg}");

    // The largest limit believed: the candidates stay at most 1,000.
    write_lines(
        &home.join(format!("debug/{SESSION}.txt")),
        &["2026-11-02T09:00:00.000Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from 2000000 to 1000000".into()],
    );
    let r = bounded(&home, &["scan", "--json", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    assert_eq!(v["recommendation"]["inputs"]["model_cap"], 1_000_000);
    assert_eq!(v["scan"]["implausible_limits"], 1, "the transcript's error");

    // A models file that states such a limit is refused, named.
    let models = t.path().join("models.json");
    std::fs::write(&models, format!(r#"{{"families": [{{"key": "claude-sonnet-4", "max_output_cap": {huge}}}]}}"#))
        .unwrap();
    let r = bounded(&home, &["scan", "--models", models.to_str().unwrap(), h]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("max_output_cap 99999999999999 is not a limit any model allows"), "{}", r.stderr);
}

/// Item 2: every request in the window refused: ten 429 attempts then a final 429, no
/// response. Never "ok": with a published quota, the quota is asked for; with one given,
/// no value is safe (the bound, with input unknown, allows the value they were refused at).
#[test]
fn a_window_of_nothing_but_throttling_is_never_ok() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    let mut lines = Vec::new();
    for r in 0..40u32 {
        for k in 1..=10u32 {
            lines.push(
                json!({
                    "type": "system", "subtype": "api_error", "level": "error", "uuid": format!("r{r}-{k}"),
                    "sessionId": "s1", "cwd": "/w", "version": "2.1.150",
                    "timestamp": format!("2026-11-02T10:{r:02}:{:02}.000Z", k * 2),
                    "error": {"status": 429, "message": "Too many tokens, please wait before trying again."},
                    "retryAttempt": k, "maxRetries": 10, "retryInMs": 500
                })
                .to_string(),
            );
        }
        let mut last =
            final_error(&format!("f{r}"), "s1", r, "API Error: 429 Too many tokens, please wait before trying again.");
        last = last.replace(&format!("10:{r:02}:00.000Z"), &format!("10:{r:02}:30.000Z"));
        lines.push(last);
    }
    write_lines(&home.join("projects/w/s1.jsonl"), &lines);
    std::fs::write(
        home.join("settings.json"),
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000", "ANTHROPIC_MODEL": "claude-sonnet-4-20250514"}}"#,
    )
    .unwrap();
    let h = home.to_str().unwrap();
    for (extra, says) in [(None, "the quota is not known"), (Some("200000"), "no max output value is safe")] {
        let mut args = vec!["check", "--since", "2026-11-01", h];
        if let Some(q) = extra {
            args.extend(["--quota-tpm", q]);
        }
        let r = run(ccdoctor(t.path()).args(&args));
        assert_eq!(r.code, 1, "{:?}: {}{}", extra, r.stdout, r.stderr);
        assert!(r.stdout.starts_with("unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000"), "{}", r.stdout);
        assert!(r.stdout.contains(says) && r.stdout.contains("440 throttled attempts"), "{}", r.stdout);
        args.push("--hook");
        let r = run(ccdoctor(t.path()).args(&args));
        assert_eq!(r.code, 0);
        assert!(json_of(&r)["systemMessage"].as_str().unwrap().contains(says), "{}", r.stdout);
    }
    let r = run(ccdoctor(t.path()).args(["scan", h, "--quota-tpm", "200000"]));
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("That bound allows the 32,000 in effect, yet 440 attempts were refused"), "{text}");
    // The inputs table claims nothing no response measured (the trial of 2026-12-07 read
    // "Demand p99: above 32,000" from 0 responses, and an input of 0 "from your records"),
    // in the words the bound uses.
    let r = run(ccdoctor(t.path()).args(["scan", h, "--quota-tpm", "200000", "--format", "markdown"]));
    assert!(r.stdout.contains("| Demand p99 | unknown | 0 responses |"), "{}", r.stdout);
    assert!(
        r.stdout.contains(r"| Input per request \(I\_set, p90\) | 0 | unknown: no response \(taken as 0\) |"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("above 32,000") && !r.stdout.contains("| your records |"), "{}", r.stdout);
}

/// Every character the terminal sanitiser escapes (controls, bidirectional and invisible
/// ones, line breaks).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Item 3: a model id from the data with U+202E, a line break, a zero-width space, NUL and
/// 500 KB: the hook's message holds none of them raw and stays short; an error (a path of
/// the command line) likewise.
#[test]
fn the_hooks_message_shows_data_sanitised_and_cut() {
    let (t, home) = bedrock_copy();
    let hostile = format!("claude-zz\u{202e}evil\n\u{200b}x\u{0}{}", "A".repeat(500_000));
    for f in walk(&home.join("projects")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let escaped = serde_json::to_string(&hostile).unwrap();
        let text = text.replace("\"us.anthropic.claude-sonnet-4-20250514-v1:0\"", &escaped);
        std::fs::write(&f, text).unwrap();
    }
    let h = home.to_str().unwrap();
    let r = run(ccdoctor(t.path()).args(["check", "--hook", "--since", "2026-11-01", h]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.len() < 1_000, "{} bytes", r.stdout.len());
    let msg = json_of(&r)["systemMessage"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("ccdoctor: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (claude-zz\\u{202e}evil\\n\\u{200b}x\\u{0}aaa"),
        "{msg}"
    );
    assert!(!msg.chars().any(unsafe_char), "{msg:?}");
    assert!(msg.chars().count() <= 600, "{}", msg.chars().count());
    // The same words on a terminal: one short line.
    let r = run(ccdoctor(t.path()).args(["check", "--since", "2026-11-01", h]));
    assert_eq!((r.code, r.stdout.lines().count()), (1, 1), "{}", r.stdout);
    assert!(r.stdout.len() < 1_000);

    let path = format!("/no/such/{}\u{202e}\n{}", "d".repeat(2_000), "e".repeat(2_000));
    let r = run(ccdoctor(t.path()).args(["check", "--hook", &path]));
    assert_eq!(r.code, 0);
    let msg = json_of(&r)["systemMessage"].as_str().unwrap().to_string();
    assert!(msg.contains("no such file or folder") || msg.ends_with('…'), "{msg}");
    assert!(!msg.chars().any(unsafe_char) && msg.chars().count() <= 600, "{msg:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Item 4: one OTLP line whose resource has 50,000 attributes over 4,000 records: read in
/// about the time of its bytes (each record searched all 50,000 for each of its lookups).
#[test]
fn telemetry_time_does_not_grow_with_records_times_resource_attributes() {
    let t = tempfile::tempdir().unwrap();
    let attributes: Vec<Value> =
        (0..50_000).map(|i| json!({"key": format!("host.label.{i}"), "value": {"stringValue": "x"}})).collect();
    let records: Vec<Value> = (0..4_000u64)
        .map(|i| {
            json!({"timeUnixNano": (1_780_000_000_000_000_000u64 + i * 1_000_000_000).to_string(),
                   "attributes": [
                       {"key": "event.name", "value": {"stringValue": "api_request"}},
                       {"key": "session.id", "value": {"stringValue": "s"}},
                       {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}},
                       {"key": "input_tokens", "value": {"intValue": "100"}},
                       {"key": "output_tokens", "value": {"intValue": "100"}},
                       {"key": "duration_ms", "value": {"intValue": "500"}}]})
        })
        .collect();
    let export = json!({"resourceLogs": [{"resource": {"attributes": attributes},
                                          "scopeLogs": [{"logRecords": records}]}]});
    let file = t.path().join("export.jsonl");
    std::fs::write(&file, export.to_string() + "\n").unwrap();
    let started = std::time::Instant::now();
    let r = run(ccdoctor(t.path()).args(["scan", "--json", "--otel", file.to_str().unwrap()]));
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r)["telemetry"]["requests"], 4_000);
    // Unoptimised, the search took about 30 s here; the index, about one.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
}

/// A managed-settings folder with `managed-settings.json` and one drop-in setting 20,000.
fn managed_with_drop_in(t: &Path) -> PathBuf {
    let managed = t.join("managed");
    std::fs::create_dir_all(managed.join("managed-settings.d")).unwrap();
    std::fs::write(managed.join("managed-settings.json"), "{\"env\": {}}\n").unwrap();
    std::fs::write(
        managed.join("managed-settings.d/50-team.json"),
        "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"20000\"}}\n",
    )
    .unwrap();
    managed
}

/// Item 5: `apply` to `managed-settings.json`, or to a drop-in that sorts before another,
/// says the drop-in above it keeps the value from taking effect.
#[test]
fn apply_to_managed_settings_names_the_drop_ins_above_it() {
    let (t, home) = bedrock_copy();
    let managed = managed_with_drop_in(t.path());
    let drop_in = managed.join("managed-settings.d/50-team.json");
    for target in [managed.join("managed-settings.json"), managed.join("managed-settings.d/10-ccdoctor.json")] {
        let r = run(ccdoctor(t.path()).env("CCDOCTOR_MANAGED_SETTINGS_DIR", &managed).args([
            "apply",
            "--json",
            "--settings",
            target.to_str().unwrap(),
            home.to_str().unwrap(),
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = json_of(&r);
        let notes: Vec<&str> = v["write"]["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        let expected = format!(
            "will not take effect: the managed settings {} set CLAUDE_CODE_MAX_OUTPUT_TOKENS = \"20000\"",
            drop_in.display()
        );
        assert!(notes.iter().any(|n| n.starts_with(&expected)), "{target:?}: {notes:?}");
        assert!(!notes.iter().any(|n| n.contains("not a file Claude Code reads")), "{notes:?}");
    }
    // A drop-in that sorts after every other outranks them all: nothing to say.
    let last = managed.join("managed-settings.d/90-ccdoctor.json");
    let r = run(ccdoctor(t.path()).env("CCDOCTOR_MANAGED_SETTINGS_DIR", &managed).args([
        "apply",
        "--json",
        "--settings",
        last.to_str().unwrap(),
        home.to_str().unwrap(),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r)["write"]["notes"], json!([]));
}

/// Item 6: a value from managed settings is not the user's to change with `apply`: `check`
/// (and the hook) say who can; a project's own settings are named for `apply`.
#[test]
fn check_says_who_can_change_the_value() {
    let (t, home) = bedrock_copy();
    let managed = t.path().join("managed");
    std::fs::create_dir_all(&managed).unwrap();
    let file = managed.join("managed-settings.json");
    std::fs::write(&file, "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"32000\"}}").unwrap();
    let h = home.to_str().unwrap();
    for hook in [false, true] {
        let mut args = vec!["check", "--since", "2026-11-01", h];
        if hook {
            args.push("--hook");
        }
        let r = run(ccdoctor(t.path()).env("CCDOCTOR_MANAGED_SETTINGS_DIR", &managed).args(&args));
        let text = if hook { json_of(&r)["systemMessage"].as_str().unwrap().to_string() } else { r.stdout.clone() };
        assert!(text.contains("it is set in managed settings, which `ccdoctor apply` cannot override"), "{text}");
        // The command repeats the check's homes and days, as `apply` needs them.
        assert!(
            text.contains(&format!("`sudo ccdoctor apply {h} --since 2026-11-01 --settings {}`", file.display())),
            "{text}"
        );
        assert!(!text.contains("run `ccdoctor apply`"), "{text}");
    }
    // The project's own settings outrank the user's: `apply` must name them.
    let project = t.path().join("app");
    let local = project.join(".claude/settings.local.json");
    std::fs::create_dir_all(local.parent().unwrap()).unwrap();
    std::fs::write(&local, "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"32000\"}}").unwrap();
    let r = run(ccdoctor(t.path()).current_dir(&project).args(["check", "--since", "2026-11-01", h]));
    // The command repeats the check's homes and days, then names the file.
    assert!(
        r.stdout.contains(&format!("run `ccdoctor apply {h} --since 2026-11-01 --settings {}`", local.display())),
        "{}",
        r.stdout
    );
}

/// Item 7: a settings file over 2 MiB, which `apply` refuses because Claude Code ignores it,
/// is not read as in effect either: Claude Code's default is.
#[test]
fn a_settings_file_claude_code_refuses_is_not_in_effect() {
    let (t, home) = bedrock_copy();
    let big = format!(
        "{{\"env\": {{\"CLAUDE_CODE_USE_BEDROCK\": \"1\", \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"11000\"}}, \"notes\": \"{}\"}}",
        "x".repeat(3 << 20)
    );
    std::fs::write(home.join("settings.json"), big).unwrap();
    let h = home.to_str().unwrap();
    let r = run(ccdoctor(t.path()).args(["scan", "--json", h]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("Claude Code refuses settings files over 2 MiB, so none of its values is in effect"));
    let v = json_of(&r);
    assert_eq!(v["settings"]["max_output_tokens"], json!({"value": null, "source": null}));
    let r = run(ccdoctor(t.path()).args(["check", "--since", "2026-11-01", h]));
    assert!(!r.stdout.contains("11000 is safe"), "{}", r.stdout);
    assert!(r.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000"), "{}", r.stdout);
    assert!(r.stderr.contains("over 2 MiB"), "{}", r.stderr);
}

/// Item 8: one response with 10^12 input tokens is left out and counted: the advice and the
/// load are the history's (7,000, lower; peak 68,856 TPM). Telemetry counts of 2^32 and
/// more are not clamped into a record: the event is left out and counted.
#[test]
fn input_counts_no_request_carries_are_left_out_and_counted() {
    let (t, home) = bedrock_copy();
    let model = "us.anthropic.claude-sonnet-4-20250514-v1:0";
    write_lines(&extra_transcript(&home), &[response("big", SESSION, 59, model, 1_000_000_000_000, 500)]);
    let r = run(ccdoctor(t.path()).args(["scan", "--json", home.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    assert_eq!((v["responses"]["implausible_input"].as_u64(), v["responses"]["count"].as_u64()), (Some(1), Some(135)));
    assert_eq!(v["responses"]["plausible_input_up_to"], 10_000_000);
    assert_eq!(v["recommendation"]["max_output_tokens"], 7_000);
    assert_eq!(v["load"]["per_model"][0]["tpm_peak"], 68_856);

    let csv = t.path().join("t.csv");
    let row = |id: &str, input: u64| {
        format!("api_request,2026-11-02T10:00:00.000Z,s9,claude-sonnet-4-5,{input},10,1000,{id}\n")
    };
    let text = "event.name,event.timestamp,session.id,model,input_tokens,output_tokens,duration_ms,request_id\n"
        .to_string()
        + &row("a", 4_294_967_296)
        + &row("b", 4_294_967_295)
        + &row("c", 100);
    std::fs::write(&csv, text).unwrap();
    let r = run(ccdoctor(t.path()).args(["scan", "--json", "--otel", csv.to_str().unwrap()]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    assert_eq!((v["telemetry"]["unusable_events"].as_u64(), v["telemetry"]["requests"].as_u64()), (Some(1), Some(2)));
    assert_eq!((v["responses"]["implausible_input"].as_u64(), v["responses"]["count"].as_u64()), (Some(1), Some(1)));
    assert!(r.stderr.contains("not a whole number below 2^32"), "{}", r.stderr);
}

/// Item 9: 3,000 distinct model ids in one transcript: the ten busiest are rows, the rest
/// one "(other models)" row, in the output sizes and the load alike; the advice is for a
/// real model.
#[test]
fn many_model_ids_give_a_report_of_bounded_size() {
    let (t, home) = bedrock_copy();
    let lines: Vec<String> =
        (0..3_000).map(|i| response(&format!("m{i}"), "s-many", 0, &format!("vendor-x-{i:04}"), 10, 20)).collect();
    write_lines(&extra_transcript(&home), &lines);
    let h = home.to_str().unwrap();
    let r = run(ccdoctor(t.path()).args(["scan", "--json", h]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json_of(&r);
    let rows = v["by_model"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    assert_eq!((rows[0]["model"].as_str(), rows[0]["count"].as_u64()), (Some("Sonnet 4"), Some(135)));
    assert_eq!((rows[10]["model"].as_str(), rows[10]["count"].as_u64()), (Some("(other models)"), Some(2_991)));
    assert!(v["load"]["per_model"].as_array().unwrap().len() <= 11);
    assert_eq!(v["recommendation"]["inputs"]["model"], "Sonnet 4");
    let r = run(ccdoctor(t.path()).args(["scan", h]));
    assert!(r.stdout.len() < 60_000, "{} bytes", r.stdout.len());
}

/// Item 11: reset times are parsed from the texts, never copied: a key, a token, a URL or an
/// address after "resets" stays out of every format.
#[test]
fn reset_times_are_parsed_never_copied() {
    let (t, home) = bedrock_copy();
    let texts = [
        "You've hit your session limit · resets 3pm AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG",
        "You've hit your session limit · resets https://x.example/?key=sk-ant-api03-PLANTED Bearer abc.def",
        "API Error: 429 spend limit reached (daily; resets when planted@example.com says so)",
        "You've hit your session limit · resets 1:40pm (Europe/Paris)",
    ];
    let lines: Vec<String> =
        texts.iter().enumerate().map(|(i, text)| final_error(&format!("u{i}"), "s-limits", i as u32, text)).collect();
    write_lines(&extra_transcript(&home), &lines);
    for format in ["json", "table", "markdown"] {
        let r = run(ccdoctor(t.path()).args(["scan", "--format", format, home.to_str().unwrap()]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        for planted in ["AKIA", "wJalr", "sk-ant", "PLANTED", "Bearer", "@example.com", "key="] {
            assert!(!r.stdout.contains(planted) && !r.stderr.contains(planted), "{format}: {planted}");
        }
        if format == "json" {
            assert_eq!(json_of(&r)["errors"]["usage_limit_resets"], json!(["3pm", "1:40pm (Europe/Paris)"]));
        }
    }
}

/// Item 12: `check --until` alone reads the week before it (there was no `--since` to be
/// after it); a `projects/` folder that cannot be read is "no file could be read", exit 2,
/// and the hook says so.
#[test]
fn check_until_alone_and_an_unreadable_history() {
    let (t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let r = run(ccdoctor(t.path()).args(["check", "--until", "2026-11-03", h]));
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("(the 7 days to 2026-11-03, since 2026-10-28:"), "{}", r.stdout);
    let r = run(ccdoctor(t.path()).args(["check", "--json", "--until", "2026-11-03", h]));
    let v = json_of(&r);
    assert_eq!((v["since"].as_str(), v["until"].as_str()), (Some("2026-10-28"), Some("2026-11-03")));
    let r = run(ccdoctor(t.path()).args(["check", "--until", "2026-10-01", h]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("ok: nothing to check (the 7 days to 2026-10-01, since 2026-09-25:"), "{}", r.stdout);

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home.join("projects"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_user = |args: &[&str]| -> Run { ccdoctor_as_user(t.path(), t.path()).args(args).output().unwrap().into() };
    for args in [vec!["check", h], vec!["scan", h]] {
        let r = as_user(&args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("no file could be read"), "{}", r.stderr);
    }
    let r = as_user(&["check", "--hook", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let msg = json_of(&r)["systemMessage"].as_str().unwrap().to_string();
    assert_eq!(msg, "ccdoctor: error: the history could not be read; run `ccdoctor check` to see why");
    std::fs::set_permissions(home.join("projects"), std::fs::Permissions::from_mode(0o755)).unwrap();
}
