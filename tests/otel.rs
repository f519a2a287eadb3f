//! Telemetry as input (`--otel`): the fixtures of testdata/otel/ (written by
//! testdata/generate_otel.py, whose comments say what each file holds). Every count below is
//! derived by hand from that script.

mod common;

use common::{home_str, run, scan_json, testdata};
use serde_json::Value;

fn otel() -> String {
    testdata().join("otel").to_string_lossy().into_owned()
}

fn u(v: &Value, path: &[&str]) -> u64 {
    let mut at = v;
    for p in path {
        at = &at[*p];
    }
    at.as_u64().unwrap_or_else(|| panic!("{path:?} is not a count: {at}"))
}

#[test]
fn every_form_is_read_and_counted() {
    let (v, stderr) = scan_json(&["--otel", &otel()]);
    let t = &v["telemetry"];
    // Two collector files (one gzip), a CSV and a flat JSON lines file.
    assert_eq!(u(t, &["files"]), 4);
    // 3 + 1 lines of OTLP, 3 CSV rows, 2 JSON lines.
    assert_eq!(u(t, &["lines"]), 9);
    // Events: 5 + 7 in file 0 (the cut line holds none), 4 in file 1, 3 CSV rows, 2 flat.
    assert_eq!(u(t, &["events"]), 21);
    // Requests: Alice 5 + Bob 1, then Carol 2 + Bob's again + Olga's, Dave 2, Erin 1.
    assert_eq!((u(t, &["requests"]), u(t, &["errors"]), u(t, &["other_events"])), (13, 6, 2));
    assert_eq!((u(t, &["bad_lines"]), u(t, &["repeated"])), (1, 1));
    assert_eq!((u(t, &["sessions"]), u(t, &["people"])), (6, 6));
    // The cut line is named, by file and line, without its text.
    assert!(stderr.contains("claude-code-0.jsonl:2: not an OTLP JSON export (cut short"), "{stderr}");
    assert!(!stderr.contains("timeUnixNano"), "{stderr}");
    // 13 requests, Bob's re-sent one once: 12 responses.
    assert_eq!(u(&v, &["responses", "count"]), 12);
    // Throttled: Alice's two retried attempts, Bob's three (the last failed for good), Dave's
    // one (failed for good: nothing followed it).
    let e = &v["errors"]["rate_limit"];
    assert_eq!((u(e, &["final"]), u(e, &["retries"])), (2, 4));
}

#[test]
fn integers_as_strings_or_numbers_and_gzip_give_the_same_counts() {
    // File 1 is gzip with integers as numbers, file 0 plain with integers as strings: the
    // sums of each model's output tokens are those the script wrote.
    let (v, _) = scan_json(&["--otel", &otel(), "--model", "sonnet"]);
    // Carol's two Sonnet 5 requests: 4,000 and 100 output tokens (gzip, numbers).
    assert_eq!(u(&v, &["responses", "count"]), 2);
    assert_eq!(u(&v, &["output_tokens", "max"]), 4_000);
    let (v, _) = scan_json(&["--otel", &format!("{}/collector/claude-code-0.jsonl", otel())]);
    // Alice's 300, 1,200, 2,000, 2,500, 800 and Bob's 50 (plain, strings).
    assert_eq!(u(&v, &["responses", "count"]), 6);
    assert_eq!(u(&v, &["output_tokens", "max"]), 2_500);
    assert_eq!(u(&v, &["output_tokens", "p50"]), 800);
}

#[test]
fn a_request_in_a_transcript_and_in_telemetry_counts_once() {
    let (alone, _) = scan_json(&[&home_str()]);
    let (both, _) = scan_json(&[&home_str(), "--otel", &otel()]);
    // req_o13 is in testdata/claude-home and in the gzip file: 12 telemetry responses, 11 new.
    assert_eq!(u(&both, &["telemetry", "requests_in_transcripts"]), 1);
    assert_eq!(u(&both, &["responses", "count"]), u(&alone, &["responses", "count"]) + 11);
}

/// `--otel` takes one path: a config home after it is a config home, not telemetry (it once
/// read `claude-home` and its settings.json as telemetry, silently).
#[test]
fn a_home_after_otel_is_a_home() {
    let (before, _) = scan_json(&[&home_str(), "--otel", &otel()]);
    let (after, _) = scan_json(&["--otel", &otel(), &home_str()]);
    assert_eq!(u(&after, &["telemetry", "requests_in_transcripts"]), 1);
    assert_eq!(before, after);
}

/// `--otel-where` without `--otel` selects nothing: said, not silently ignored.
#[test]
fn otel_where_without_otel_is_said() {
    let r = run(&["scan", &home_str(), "--otel-where", "a=b"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("--otel-where selects telemetry events, and no --otel was given: ignored"),
        "{}",
        r.stderr
    );
}

#[test]
fn people_are_numbered_unless_asked_for() {
    for format in ["table", "json", "markdown"] {
        let r = run(&["scan", "--otel", &otel(), "--format", format]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains("example.com"), "{format} shows an e-mail:\n{}", r.stdout);
        assert!(!r.stdout.contains("acct-"), "{format} shows an account id:\n{}", r.stdout);
        assert!(r.stdout.contains("person 1"), "{format} names no person:\n{}", r.stdout);
    }
    let (v, _) = scan_json(&["--otel", &otel(), "--show-users"]);
    let names: Vec<&str> =
        v["team"]["by_person"].as_array().unwrap().iter().map(|p| p["person"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 6);
    // Told apart by account id, shown by e-mail.
    assert!(names.contains(&"alice@example.com") && names.contains(&"dave@example.com"), "{names:?}");
}

#[test]
fn the_team_view_counts_each_persons_load() {
    let (v, _) = scan_json(&["--otel", &otel(), "--show-users"]);
    let team = &v["team"];
    assert_eq!((u(team, &["people"]), u(team, &["sessions"]), u(team, &["unattributed_requests"])), (6, 6, 0));
    let person = |name: &str| {
        team["by_person"].as_array().unwrap().iter().find(|p| p["person"] == name).unwrap_or_else(|| panic!("{name}"))
    };
    let alice = person("alice@example.com");
    // Five requests, two refused attempts before the fifth; her two subagents overlapped.
    assert_eq!((u(alice, &["requests"]), u(alice, &["attempts"]), u(alice, &["throttled_attempts"])), (5, 7, 2));
    assert_eq!(u(alice, &["peak_in_flight"]), 2);
    let bob = person("bob@example.com");
    // req_b1 once, and the request refused three times.
    assert_eq!((u(bob, &["requests"]), u(bob, &["attempts"]), u(bob, &["throttled_attempts"])), (2, 4, 3));
    assert_eq!(team["managed_settings"][0], "/etc/claude-code/managed-settings.json");
}

#[test]
fn a_broken_gzip_file_keeps_what_came_before_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::read(testdata().join("otel/collector/claude-code-1.jsonl.gz")).unwrap();
    std::fs::write(dir.path().join("cut.jsonl.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(dir.path().join("not-telemetry.txt"), "ignored: not a telemetry name").unwrap();
    let plain = testdata().join("otel/warehouse/events.jsonl");
    std::fs::copy(plain, dir.path().join("events.jsonl")).unwrap();
    let (v, stderr) = scan_json(&["--otel", &dir.path().to_string_lossy()]);
    assert!(stderr.contains("cut.jsonl.gz: stopped reading (gzip)"), "{stderr}");
    assert_eq!(u(&v, &["telemetry", "files"]), 2);
    assert_eq!(u(&v, &["telemetry", "cut_short_files"]), 1);
    // Cut before its first whole event: no more read from it than from a file that would not
    // open.
    assert_eq!(u(&v, &["telemetry", "unreadable_files"]), 1);
    // Erin's request from the intact file.
    assert_eq!(u(&v, &["responses", "count"]), 1);
}

/// Issue 23, item 3: a home given beside telemetry is a person, without --shared-quota: its
/// 136 requests and 237 throttled attempts are its row, none is left out of the team.
#[test]
fn a_home_beside_telemetry_is_a_person_without_shared_quota() {
    let bedrock = common::bedrock_home();
    let (v, _) = scan_json(&[bedrock.to_str().unwrap(), "--otel", &otel()]);
    let team = &v["team"];
    assert_eq!((u(team, &["people"]), u(team, &["unattributed_requests"])), (7, 0));
    let first = &team["by_person"][0];
    assert_eq!((u(first, &["requests"]), u(first, &["throttled_attempts"])), (136, 237));
    assert!(first["share_at_throttle"].as_f64().unwrap() > 0.9, "{first}");
}

#[test]
fn a_home_beside_telemetry_is_a_person_and_its_model_setting_not_the_teams() {
    // claude-home's settings.json says "model": "sonnet": alone, that picks the model.
    let (alone, _) = scan_json(&[&home_str()]);
    assert!(alone["settings"]["model_source"].as_str().unwrap().starts_with("user:"), "{}", alone["settings"]);
    let (v, _) = scan_json(&[&home_str(), "--otel", &otel(), "--shared-quota"]);
    let team = &v["team"];
    // Five telemetry people with requests left (Olga's only request is the home's too, and
    // her session is the home's) and the home: every request has a person.
    assert_eq!((u(team, &["people"]), u(team, &["unattributed_requests"])), (6, 0));
    // One person's setting does not choose the team's model: the most responses do.
    assert!(v["settings"]["model_source"].as_str().unwrap().starts_with("inferred"), "{}", v["settings"]);
}

#[test]
fn otel_where_keeps_one_accounts_events() {
    let (v, _) = scan_json(&["--otel", &otel(), "--otel-where", "user.email=alice@example.com"]);
    // Alice's five requests and two retried attempts; the other 14 events left out.
    assert_eq!(u(&v, &["responses", "count"]), 5);
    assert_eq!(u(&v, &["errors", "rate_limit", "retries"]), 2);
    assert_eq!(u(&v, &["telemetry", "filtered_out"]), 21 - 5 - 2 - 1);
    // The warehouse's column name for the attribute selects the same events (a new user's
    // trial: `user_email=` left out every event, its column included).
    let (w, _) = scan_json(&["--otel", &otel(), "--otel-where", "user_email=alice@example.com"]);
    assert_eq!((&w["responses"], &w["errors"], &w["telemetry"]), (&v["responses"], &v["errors"], &v["telemetry"]));
    // An integer attribute compares as its decimal text; every pair must hold.
    let (v, stderr) = scan_json(&["--otel", &otel(), "--otel-where", "status_code=429", "--otel-where", "attempt=3"]);
    assert_eq!(u(&v, &["errors", "rate_limit", "final"]), 1);
    assert_eq!(u(&v, &["responses", "count"]), 0);
    // Attributes of single events make a history of refusals without their requests: said.
    assert!(stderr.contains("--otel-where kept refused attempts but no request"), "{stderr}");
    let (_, stderr) = scan_json(&["--otel", &otel(), "--otel-where", "user.email=ALICE@example.com"]);
    assert!(stderr.contains("--otel-where left out all 20 events: none has user.email=ALICE@example.com"), "{stderr}");
    let r = run(&["scan", "--otel", &otel(), "--otel-where", "aws.account"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--otel-where takes KEY=VALUE"), "{}", r.stderr);
}

/// Issue 23, item 4: for a team, pinning the value in managed settings is the point: `apply`
/// writes what the team view says to put there, even Claude Code's default.
#[test]
fn apply_writes_the_teams_value_the_team_view_names() {
    let t = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> common::Run { common::ccdoctor(t.path()).args(args).output().unwrap().into() };
    // On the Anthropic API (its 429s' words would make it Bedrock's), Opus 4.8's default,
    // kept.
    let scan = run(&["scan", "--otel", &otel(), "--provider", "anthropic"]);
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    assert!(scan.stdout.contains("(keep)"), "{}", scan.stdout);
    let said = "put CLAUDE_CODE_MAX_OUTPUT_TOKENS=64000 in managed";
    assert!(scan.stdout.split_whitespace().collect::<Vec<_>>().join(" ").contains(said), "{}", scan.stdout);
    let managed = t.path().join("no-managed-settings/managed-settings.json");
    let r = run(&["apply", "--otel", &otel(), "--provider", "anthropic", "--settings", managed.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("nothing written"), "{}", r.stderr);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&managed).unwrap()).unwrap();
    assert_eq!(written["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], "64000");
}

/// Issue 23, item 9: the README's `--otel-where` example selects the sample's collector
/// exports (tagged with the quota's account and region, as the README tells a team to tag
/// them) and leaves out the warehouse's rows, which carry no such tags.
#[test]
fn the_readmes_otel_where_example_selects_the_samples_tagged_events() {
    let readme = std::fs::read_to_string(testdata().join("../README.md")).unwrap();
    let example = "--otel-where aws.account=123456789012 --otel-where aws.region=us-east-1";
    assert!(readme.contains(example), "the README's example changed");
    let dir = otel();
    let mut args = vec!["--otel", dir.as_str()];
    args.extend(example.split(' '));
    let (v, stderr) = scan_json(&args);
    assert!(!stderr.contains("--otel-where"), "{stderr}");
    // The collector's Alice 5, Bob 1 (and his re-sent copy), Carol 2 and Olga 1 requests; not
    // Dave's and Erin's from the warehouse (3 CSV rows and 2 JSON lines).
    assert_eq!(u(&v, &["responses", "count"]), 9);
    assert_eq!(u(&v, &["telemetry", "filtered_out"]), 5);
}

#[test]
fn a_missing_telemetry_path_is_a_usage_error() {
    let r = run(&["scan", "--otel", "/nonexistent/otel"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent/otel: no such file or folder"), "{}", r.stderr);
}

#[test]
fn telemetry_alone_reads_no_config_home() {
    // HOME holds a config home with a transcript; `--otel` without PATH leaves it out.
    let home = tempfile::tempdir().unwrap();
    common::copy_tree(&common::home(), &home.path().join(".claude"));
    let out = common::ccdoctor(home.path())
        .args(["scan", "--json", "--otel", &format!("{}/warehouse/events.jsonl", otel())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u(&v, &["responses", "count"]), 1);
    assert_eq!(u(&v, &["scan", "files"]), 0);
}

/// A team's export of three people, four sessions each: every session of the first two shows
/// a response longer than 12,000 (so each ran above it: at Sonnet 4.5's default, 32,000);
/// the third person's responses are all short, so nothing of theirs shows their limit.
fn team_above_12000(dir: &std::path::Path) -> String {
    team_export(dir, 20_000)
}

/// [`team_above_12000`] with the long responses `long` tokens long.
fn team_export(dir: &std::path::Path, long: u64) -> String {
    let mut lines = String::new();
    for person in 0..3 {
        for session in 0..4 {
            for k in 0..10u64 {
                // One request every two minutes, a session an hour, a long one first in each;
                // the third person's sessions beside the first's, a minute later.
                let stamp =
                    format!("2026-11-18T{:02}:{:02}:00.000Z", 8 + (person % 2) * 4 + session, 2 * k + person / 2);
                let output = if k == 0 && person < 2 { long } else { 1_000 };
                lines.push_str(&format!(
                    "{{\"event_name\":\"api_request\",\"event_timestamp\":\"{stamp}\",\"session_id\":\"s-{person}-{session}\",\"user_account_uuid\":\"acct-{person}\",\"prompt_id\":\"p{k}\",\"model\":\"claude-sonnet-4-5-20250929\",\"input_tokens\":5,\"output_tokens\":{output},\"cache_read_tokens\":0,\"cache_creation_tokens\":0,\"duration_ms\":30000,\"request_id\":\"req-{person}-{session}-{k}\"}}\n"
                ));
            }
        }
    }
    let path = dir.join("team.jsonl");
    std::fs::write(&path, lines).unwrap();
    path.to_string_lossy().into_owned()
}

/// The settings read here (a home's, or this machine's beside telemetry alone) are not those
/// of telemetry's people: with their requests in the history, the value in effect is the one
/// most requests ran at, not the settings' 12,000 ("raise from 12,000" when the team ran at
/// 32,000 and the advice lowers it; `check` calling 12,000 the value it judged).
#[test]
fn the_settings_read_here_are_not_telemetrys_peoples() {
    let t = tempfile::tempdir().unwrap();
    let export = team_above_12000(t.path());
    let settings = r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"12000"}}"#;
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("settings.json"), settings).unwrap();
    // Telemetry alone, run by someone whose own ~/.claude says 12,000.
    let runner = t.path().join("runner");
    std::fs::create_dir_all(runner.join(".claude")).unwrap();
    std::fs::write(runner.join(".claude/settings.json"), settings).unwrap();
    let home_arg = home.to_str().unwrap();
    let beside_a_home: &[&str] = &["scan", "--json", home_arg, "--otel", &export];
    let alone: &[&str] = &["scan", "--json", "--otel", &export];
    for (what, args) in [("beside a home", beside_a_home), ("alone", alone)] {
        let out = common::ccdoctor(&runner).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rec = &v["recommendation"];
        assert_eq!(u(&v, &["responses", "count"]), 120, "{what}");
        assert_eq!(
            (rec["current"].as_u64(), rec["current_source"].as_str()),
            (Some(32_000), Some("most_requests")),
            "{what}: {rec}"
        );
    }
    // The words: the headline and `check` name the value most requests ran at.
    let r = common::ccdoctor(&runner).args(["scan", home.to_str().unwrap(), "--otel", &export]).output().unwrap();
    let text = String::from_utf8_lossy(&r.stdout);
    let head = text.lines().find(|l| l.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=")).unwrap();
    assert!(!head.contains("12,000"), "{head}");
    assert!(text.contains("Max output in effect") && text.contains("telemetry's settings"), "{text}");
    let r = common::ccdoctor(&runner)
        .args(["check", "--since", "2026-11-01", home.to_str().unwrap(), "--otel", &export])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&r.stdout);
    assert!(said.contains("=32000 (Sonnet 4.5; the value most requests ran at)"), "{said}");
}

/// A home's settings are its own person's: a home holding nothing but a settings file (12,000)
/// changes nothing of the advice for a team's export, whose third person's sessions show
/// nothing of their limit (they were taken to have run at the home's 12,000, and the fit and
/// its quota moved with them). And a transcript folder that happens to be named as
/// telemetry's project is a transcript's: its home's setting is the value in effect.
#[test]
fn a_homes_settings_are_not_telemetrys_peoples_fallback() {
    let t = tempfile::tempdir().unwrap();
    let export = team_above_12000(t.path());
    let home = t.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"12000"}}"#).unwrap();
    let runner = t.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    let advice = |args: &[&str]| {
        let out = common::ccdoctor(&runner).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = &v["recommendation"];
        let kept = ["max_output_tokens", "action", "current", "current_source", "calibration", "replay"];
        kept.map(|k| r[k].clone())
    };
    let alone = advice(&["scan", "--json", "--provider", "bedrock", "--otel", &export]);
    let beside = advice(&["scan", "--json", "--provider", "bedrock", home.to_str().unwrap(), "--otel", &export]);
    assert_eq!(alone, beside);
    // Not vacuous: the calibration is there, and the history replayed as it was needs a quota.
    assert!(alone[4]["best"]["quota_low_tpm"].as_u64().is_some_and(|q| q > 0), "{:?}", alone[4]);
    // On the Anthropic API, responses of 40,000 (above Sonnet 4.5's default, 32,000) show
    // Claude Code's escalation: neither a home's setting nor the runner's own turns it off.
    let t2 = tempfile::tempdir().unwrap();
    let escalated = team_export(t2.path(), 40_000);
    let flags = ["scan", "--json", "--provider", "anthropic"];
    let alone = advice(&[&flags[..], &["--otel", &escalated]].concat());
    let beside = advice(&[&flags[..], &[home.to_str().unwrap(), "--otel", &escalated]].concat());
    assert_eq!(alone, beside);
    assert_eq!((&alone[2], &alone[3]), (&Value::from(64_000), &Value::from("records")), "the escalation's limit");
    std::fs::create_dir_all(runner.join(".claude")).unwrap();
    std::fs::copy(home.join("settings.json"), runner.join(".claude/settings.json")).unwrap();
    assert_eq!(advice(&[&flags[..], &["--otel", &escalated]].concat()), alone);

    // A folder named "(telemetry)" in a home, no telemetry read.
    let (_c, copy) = common::bedrock_copy();
    let settings = copy.join("settings.json");
    std::fs::write(&settings, std::fs::read_to_string(&settings).unwrap().replace("32000", "12000")).unwrap();
    std::fs::rename(copy.join("projects/-sim-app0"), copy.join("projects/(telemetry)")).unwrap();
    let (v, _) = scan_json(&[copy.to_str().unwrap()]);
    let rec = &v["recommendation"];
    assert_eq!((rec["current"].as_u64(), rec["current_source"].as_str()), (Some(12_000), Some("settings")), "{rec}");
}

/// `check` judges the advised model's 429s: where other models have some, its line says how
/// many of the window's are that model's, as it does for responses.
#[test]
fn checks_counts_say_which_are_the_advised_models() {
    let bedrock = common::bedrock_home();
    let r = run(&["check", "--since", "2026-01-01", bedrock.to_str().unwrap(), "--otel", &otel()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("147 responses (135 of Sonnet 4), 243 throttled attempts (237 of Sonnet 4), 0 cut responses"),
        "{}",
        r.stdout
    );
}

/// `apply` with a team's telemetry writing one home's settings file says that the others do
/// not read it, and where the value for everyone goes; writing managed settings, it does not.
#[test]
fn apply_into_one_homes_file_says_the_team_does_not_read_it() {
    let (_t, copy) = common::bedrock_copy();
    let r = run(&["apply", "--dry-run", copy.to_str().unwrap(), "--otel", &otel()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("This file is one person's: the other 6 people of the team do not read it."), "{said}");
    let managed = copy.join("managed-settings.json");
    std::fs::write(&managed, "{}").unwrap();
    let r = run(&[
        "apply",
        "--dry-run",
        copy.to_str().unwrap(),
        "--otel",
        &otel(),
        "--settings",
        managed.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("7000") && !said.contains("one person's"), "{said}");
    // Nor into a drop-in of the managed settings' folder, whatever its name.
    let home = tempfile::tempdir().unwrap();
    let drop_in = home.path().join("no-managed-settings/managed-settings.d/50-team.json");
    let out = common::ccdoctor(home.path())
        .args(["apply", "--dry-run", copy.to_str().unwrap(), "--otel", &otel(), "--settings"])
        .arg(&drop_in)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("50-team.json") && said.contains("7000") && !said.contains("one person's"), "{said}");
}

/// The team view counts tokens as the provider does: output at the burndown rate on Bedrock,
/// every token alike where no model has a burndown (a new user's trial read Bedrock's words
/// under the Anthropic API).
#[test]
fn the_team_view_counts_tokens_as_the_provider_does() {
    let peak = |provider: &str| {
        let r = run(&["scan", "--otel", &otel(), "--provider", provider]);
        r.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert!(peak("anthropic").contains("TPM peak: the busiest minute's tokens, input, cache writes and output alike"));
    assert!(peak("bedrock").contains("TPM peak: the busiest minute's tokens, output at the burndown rate"));
}

/// A provider named against what the history shows is said, with the flag that names the
/// other (a new user's trial: `--provider anthropic` on 429s in Bedrock's words said nothing,
/// and advised as if max output did not count).
#[test]
fn a_provider_named_against_the_history_is_said() {
    let warned = |args: &[&str]| {
        let r = run(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stderr.lines().filter(|l| l.contains(", but the ")).map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(
        warned(&["scan", "--otel", &otel(), "--provider", "anthropic"]),
        [
            "ccdoctor: warning: --provider anthropic, but the throttling 429s are in Bedrock's words: the advice is for the Anthropic API; if these requests went to Bedrock, pass --provider bedrock"
        ]
    );
    let bedrock_home = common::testdata().join("bedrock-home");
    let home = bedrock_home.to_str().unwrap();
    assert_eq!(
        warned(&["scan", home, "--provider", "vertex"]),
        [
            "ccdoctor: warning: --provider vertex, but the model ids are spelled as Bedrock's: the advice is for Vertex; if these requests went to Bedrock, pass --provider bedrock"
        ]
    );
    // Bedrock's own endpoints, and the provider the history shows, say nothing.
    for provider in ["bedrock", "bedrock-mantle"] {
        assert!(warned(&["scan", home, "--provider", provider]).is_empty(), "{provider}");
    }
    assert!(warned(&["scan", "--otel", &otel(), "--provider", "bedrock"]).is_empty());
}
