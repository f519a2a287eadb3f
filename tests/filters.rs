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

/// Days that hold no response are named in the headline, so that a filter that left every
/// response out is seen as the cause.
#[test]
fn days_without_responses_are_named() {
    for (args, headline) in [
        (&["--since", "2030-01-01"][..], "No responses found from 2030-01-01 on (--since)."),
        (&["--until", "2021-06-30"][..], "No responses found up to 2021-06-30 (--until)."),
        (
            &["--since", "2021-06-01", "--until", "2021-06-30"][..],
            "No responses found from 2021-06-01 to 2021-06-30 (--since, --until).",
        ),
    ] {
        let home = home_str();
        let r = run(&[&["scan"], args, &[home.as_str()]].concat());
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.starts_with(headline), "{args:?}: {}", r.stdout);
    }
}

#[test]
fn bad_dates_are_usage_errors() {
    let r = run(&["scan", "--since", "yesterday", &home_str()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--since takes a day of the calendar as YYYY-MM-DD"), "{}", r.stderr);
    // Shaped as a date, but no day of the calendar.
    let r = run(&["scan", "--since", "2026-13-01", &home_str()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("a day of the calendar as YYYY-MM-DD (2026-03-01), not \"2026-13-01\""), "{}", r.stderr);
    let r = run(&["scan", "--since", "2026-03-05", "--until", "2026-03-01", &home_str()]);
    assert_eq!(r.code, 2);
}

#[test]
fn since_does_not_open_files_modified_before_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("home/projects/-p");
    std::fs::create_dir_all(&dir).unwrap();
    let line = r#"{"type":"assistant","timestamp":"2026-03-05T10:00:00.000Z","message":{"id":"m1","model":"claude-sonnet-4-5","content":"hi","usage":{"output_tokens":900}}}"#;
    let new = dir.join("new.jsonl");
    std::fs::write(&new, format!("{line}\n")).unwrap();
    // An old file whose lines would be warned about if it were read.
    let old = dir.join("old.jsonl");
    std::fs::write(&old, "{broken\n{also broken\n").unwrap();
    let f = std::fs::File::options().write(true).open(&old).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)).unwrap();
    let home = t.path().join("home");
    let (v, stderr) = scan_json(&["--since", "2026-01-01", home.to_str().unwrap()]);
    assert_eq!(v["scan"]["older_than_since"], 1);
    assert_eq!(v["scan"]["files"], 1);
    assert_eq!(v["scan"]["malformed_lines"], 0);
    assert!(!stderr.contains("old.jsonl"), "{stderr}");
    assert_eq!(v["responses"]["count"], 1);
    // Without --since the old file is read, and its lines are named.
    let (v, stderr) = scan_json(&[home.to_str().unwrap()]);
    assert_eq!(v["scan"]["malformed_lines"], 2);
    assert!(stderr.contains("old.jsonl:1"), "{stderr}");
}

/// A scan with `--model`: its JSON and stderr (exit 0, as for a `--project` that matches
/// nothing).
fn with_model(model: &str, home: &std::path::Path) -> (serde_json::Value, String) {
    scan_json(&["--model", model, home.to_str().unwrap()])
}

fn late_home() -> std::path::PathBuf {
    common::testdata().join("late-home")
}

/// late-home has Opus 4.8, Opus 5 (one response) and Opus 5.5 (one response): `opus-5` is
/// Opus 5 given whole (in another punctuation), not also Opus 5.5, of which it is a part.
#[test]
fn a_model_named_whole_wins_over_a_part_of_another() {
    for name in ["opus-5", "Opus 5", "opus 5", "claude-opus-5", "CLAUDE-OPUS-5"] {
        let (v, stderr) = with_model(name, &late_home());
        assert_eq!(v["recommendation"]["inputs"]["model"], "Opus 5", "{name}");
        let models: Vec<&str> =
            v["by_model"].as_array().unwrap().iter().map(|m| m["model"].as_str().unwrap()).collect();
        assert_eq!(models, ["Opus 5"], "{name}");
        assert_eq!(v["responses"]["count"], 1, "{name}");
        assert_eq!(v["settings"]["model_source"], "flag", "{name}");
        assert!(!stderr.contains("--model"), "{name}: {stderr}");
    }
    let (v, _) = with_model("opus 5.5", &late_home());
    assert_eq!(v["recommendation"]["inputs"]["model"], "Opus 5.5");
}

/// An exact id, in any provider's spelling, names its model.
#[test]
fn an_exact_id_names_its_model() {
    let (v, _) = with_model("claude-opus-5-5", &late_home());
    assert_eq!(v["recommendation"]["inputs"]["model"], "Opus 5.5");
    let (v, _) = with_model("global.anthropic.claude-sonnet-5-v1:0", &late_home());
    assert_eq!(v["recommendation"]["inputs"]["model"], "Sonnet 5");
    // The bedrock history's own id: the same advice as without --model.
    let (plain, _) = scan_json(&[common::bedrock_home().to_str().unwrap()]);
    let (v, _) = with_model("us.anthropic.claude-sonnet-4-20250514-v1:0", &common::bedrock_home());
    assert_eq!(v["recommendation"]["inputs"]["model"], "Sonnet 4");
    assert_eq!(v["recommendation"]["max_output_tokens"], plain["recommendation"]["max_output_tokens"]);
    assert_eq!(v["responses"]["count"], plain["responses"]["count"]);
}

/// A part of several models' names is ambiguous: a warning naming them, and no advice.
#[test]
fn a_part_of_several_names_is_ambiguous() {
    let (v, stderr) = with_model("opus", &late_home());
    assert!(
        stderr
            .contains("--model opus matches several models: Opus 4.8, Opus 5, Opus 5.5; no advice until it names one"),
        "{stderr}"
    );
    assert_eq!(v["recommendation"], serde_json::Value::Null);
    let r = run(&["scan", "--model", "opus", late_home().to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("--model opus matches several models"), "{}", r.stdout);
    assert!(!r.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS="), "{}", r.stdout);
}

/// A model the history has no response of: a warning listing the models it has, and no
/// advice (before: advice for "the model (no response names it)", without a warning).
#[test]
fn a_model_the_history_lacks_is_said_and_not_advised_for() {
    let (v, stderr) = with_model("opus", &common::bedrock_home());
    assert!(stderr.contains("--model opus matches no model; the history has: Sonnet 4 (no advice)"), "{stderr}");
    assert_eq!(v["recommendation"], serde_json::Value::Null);
    assert_eq!(v["responses"]["count"], 0);
    let r = run(&["scan", "--model", "opus", common::bedrock_home().to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("no response names it"), "{}", r.stdout);
    assert!(r.stdout.contains("--model opus matches no model"), "{}", r.stdout);
    // check says so and checks nothing: a typo in a CI job is not "ok" (the new-user review
    // of 2026-12-05); the hook says it in its message and exits 0.
    let r = run(&["check", "--since", "2026-01-01", "--model", "opus", common::bedrock_home().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("nothing checked: --model opus matches no model; the history has: Sonnet 4"),
        "{}",
        r.stdout
    );
    let r =
        run(&["check", "--hook", "--since", "2026-01-01", "--model", "opus", common::bedrock_home().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"systemMessage\":\"ccdoctor: --model opus matches no model"), "{}", r.stdout);
}

/// A project as Claude Code names its folder starts with '-' (`-sim-app0`): `--project` takes
/// it as its value, written apart or with `=` (the adversarial review's item 6); the options
/// after it are read as before.
#[test]
fn a_project_named_as_its_folder_may_start_with_a_hyphen() {
    let bedrock = common::bedrock_home().to_string_lossy().into_owned();
    let (all, _) = scan_json(&[&bedrock]);
    let (apart, stderr) = scan_json(&["--project", "-sim-app0", &bedrock]);
    assert!(!stderr.contains("matches no project"), "{stderr}");
    let (joined, _) = scan_json(&["--project=-sim-app0", &bedrock]);
    assert_eq!(apart["responses"]["count"], joined["responses"]["count"]);
    let (other, _) = scan_json(&["--project", "-sim-app1", &bedrock]);
    let count = |v: &serde_json::Value| v["responses"]["count"].as_u64().unwrap();
    assert!(count(&apart) > 0 && count(&other) > 0);
    assert_eq!(count(&apart) + count(&other), count(&all));
    // Options after the value are options.
    let r = run(&["scan", "--project", "-sim-app0", "--format", "json", &bedrock]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(serde_json::from_str::<serde_json::Value>(&r.stdout).is_ok());
    // The other project's load is left out of the replay, and the scan says how much (a new
    // user's trial read 25,000 for one project where the home's history advised 7,000).
    let throttled = |v: &serde_json::Value| {
        v["errors"]["rate_limit"]["retries"].as_u64().unwrap() + v["errors"]["rate_limit"]["final"].as_u64().unwrap()
    };
    let note = format!(
        "--project -sim-app0 leaves out {} responses and {} throttled attempts of other projects: where they ran on the same quota, the replay does not see their load (without --project it does)",
        count(&other),
        throttled(&other)
    );
    assert!(r.stderr.contains(&note), "{}", r.stderr);
    assert!(!run(&["scan", "--format", "json", &bedrock]).stderr.contains("of other projects"));
    // With --model, the responses counted are the model's (a second trial: claude-home's 4
    // Haiku responses are all app's, yet the note counted the other projects' 4 of another
    // model); throttled attempts name no model.
    let claude = home_str();
    let r = run(&["scan", "--model", "haiku", "--project", "app", "--format", "json", &claude]);
    assert!(r.stderr.contains("--project app leaves out 5 throttled attempts of other projects:"), "{}", r.stderr);
}

/// `--project` that matches nothing says what the history has, events' projects named as
/// the report's rows name them (the working directory, not the folder); one that names a
/// project whose records the dates leave out says that; an empty history has none.
#[test]
fn a_project_that_matches_nothing_says_why() {
    let home = common::home();
    let h = home.to_str().unwrap();
    let r = run(&["scan", "--project", "nosuch", h]);
    assert!(
        r.stderr
            .contains("--project nosuch matches no project; the history has: /home/u/app, /home/u/old, /home/u/web\n"),
        "{}",
        r.stderr
    );
    let r = run(&["scan", "--project", "old", "--since", "2026-03-01", h]);
    assert!(
        r.stderr.contains("--project old matches /home/u/old, but none of its records is within --since/--until"),
        "{}",
        r.stderr
    );
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("projects")).unwrap();
    let r = run(&["scan", "--project", "x", empty.path().to_str().unwrap()]);
    assert!(r.stderr.contains("--project x matches no project; the history has none"), "{}", r.stderr);
}
