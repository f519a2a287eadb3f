//! The recommendation end to end, through the binary, on the bundled samples.
//!
//! testdata/bedrock-home is a simulated Bedrock history (testdata/README.md): 3 sessions of
//! Sonnet 4 at 32,000 against 200,000 TPM, 237 throttled attempts, 1 request failed for good,
//! 135 responses. Its 429s fit two readings of how Bedrock reserves quota (max output at the
//! burndown rate, with cache reads or without): 11,000 is safe under one, 7,000 under both,
//! so the advice is to lower to 7,000 (tests/replay.rs checks in the simulated world that it
//! would have worked).

mod common;

use common::{bedrock_home, home_str, run, scan_json};
use serde_json::Value;

fn bedrock(extra: &[&str]) -> Value {
    let home = bedrock_home().to_string_lossy().into_owned();
    let mut args: Vec<&str> = extra.to_vec();
    args.push(&home);
    scan_json(&args).0
}

fn row(r: &Value, value: u64) -> Value {
    r["replay"].as_array().unwrap().iter().find(|x| x["value"] == value).cloned().unwrap_or(Value::Null)
}

#[test]
fn a_throttled_bedrock_history_is_told_to_lower() {
    let v = bedrock(&[]);
    assert_eq!(v["settings"]["provider"], "bedrock");
    let r = &v["recommendation"];
    assert_eq!((r["action"].as_str(), r["basis"].as_str()), (Some("lower"), Some("throttles")));
    assert_eq!((r["max_output_tokens"].as_u64(), r["current"].as_u64()), (Some(7_000), Some(32_000)));
    // Judged against AWS's published default for Sonnet 4 (flagged as a default to check);
    // the advice uses the quota fitted under its reading, the nearest to it.
    let cal = &r["calibration"];
    assert_eq!((cal["reference_tpm"].as_u64(), cal["reference_origin"].as_str()), (Some(200_000), Some("default")));
    assert_eq!(
        (r["inputs"]["quota_tpm"].as_u64(), r["inputs"]["quota_origin"].as_str()),
        (cal["best"]["effective_quota_tpm"].as_u64(), Some("inferred"))
    );
    assert!(r["advice"].to_string().contains("Service Quotas"));
    // Both burndown readings fit and advise; the binding one is the smaller value.
    let readings = cal["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 4);
    let advising: Vec<u64> = readings.iter().filter_map(|x| x["advises"].as_u64()).collect();
    assert!(advising.contains(&7_000) && advising.iter().all(|&a| a >= 7_000), "{readings:?}");
    assert_eq!(
        (cal["best"]["burndown_reservation"].as_bool(), cal["best"]["standing"].as_str()),
        (Some(true), Some("fits"))
    );
    // What the history shows, counted as the simulator counted it; the replay at the quota
    // used comes within the noise of it.
    assert_eq!((cal["observed_throttled"].as_u64(), cal["observed_failed"].as_u64()), (Some(237), Some(1)));
    assert_eq!(cal["value"], 32_000);
    let predicted = cal["predicted_throttled"].as_u64().unwrap();
    assert!(predicted.abs_diff(237) <= ccdoctor::analysis::fit::slack(237), "{cal}");
    // The recommended row is safe, the current one is not.
    let rec = row(r, 7_000);
    assert_eq!((rec["label"].as_str(), rec["failed"].as_u64()), (Some("recommended"), Some(0)));
    assert!(rec["throttled_attempts"].as_f64().unwrap() <= 0.01 * rec["attempts"].as_f64().unwrap());
    let cur = row(r, 32_000);
    assert_eq!(cur["label"], "current");
    assert!(cur["throttled_attempts"].as_u64().unwrap() > 100);
    // Demand: 135 responses, none cut, nothing beyond what the history shows.
    assert_eq!(r["demand"]["responses"], 135);
    assert_eq!(r["demand"]["censored"], 0);
    assert_eq!(r["demand"]["estimator"], "kaplan-meier");
}

/// Every number a sentence names is a number of the tables beside it.
#[test]
fn the_sentences_quote_the_replay_rows() {
    let v = bedrock(&[]);
    let r = &v["recommendation"];
    let cur = row(r, 32_000);
    let lead = r["reasons"][0].as_str().unwrap();
    let (thr, att) = (cur["throttled_attempts"].as_u64().unwrap(), cur["attempts"].as_u64().unwrap());
    let fmt = |n: u64| ccdoctor::text::thousands(n);
    assert!(lead.contains(&format!("{} of {} attempts throttled", fmt(thr), fmt(att))), "{lead}");
    let cal = &r["calibration"];
    let check =
        r["reasons"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).find(|s| s.starts_with("Check:")).unwrap();
    assert!(
        check.contains(&format!(
            "the replay predicts {} throttled attempts and {} failed requests",
            fmt(cal["predicted_throttled"].as_u64().unwrap()),
            fmt(cal["predicted_failed"].as_u64().unwrap())
        )),
        "{check}"
    );
    assert!(check.contains("your history's 237 throttled attempts and 1 failed request fit"), "{check}");
    assert!(
        check.contains(&format!("fit {} to ", fmt(cal["best"]["effective_quota_tpm"].as_u64().unwrap()))),
        "{check}"
    );
}

#[test]
fn more_requests_in_flight_than_the_quota_fits_is_no_value() {
    let v = bedrock(&["--quota-tpm", "100000", "--parallel", "80"]);
    let r = &v["recommendation"];
    assert_eq!((r["action"].as_str(), r["max_output_tokens"].as_u64()), (Some("none"), None));
    assert_eq!((r["inputs"]["parallel"].as_u64(), r["inputs"]["parallel_origin"].as_str()), (Some(80), Some("flag")));
    let advice = r["advice"].to_string();
    assert!(advice.contains("Run at most") && advice.contains("raise the quota to"), "{advice}");
}

/// Planned for more requests at once than the history had, no value is safe: what fixes it
/// must fix it under every reading that counts, so planning for more never allows more
/// requests at once nor asks for less quota. (Taking the best fit alone, `--parallel 8` said
/// "at most 3" where `--parallel 4` said "at most 2": the reading switched to AWS's default
/// quota, under which the fitted reading's 429s were not explained.)
#[test]
fn planning_for_more_at_once_never_allows_more_nor_asks_less() {
    let number = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
    let words = regex::Regex::new(
        r"Run at most (\d+) requests? at once .*?raise the quota (?:your 429s imply \([\d,]+ TPM\) )?to ([\d,]+) TPM",
    )
    .unwrap();
    let mut last = (u64::MAX, 0);
    for p in ["3", "4", "6", "8", "16"] {
        let v = bedrock(&["--parallel", p]);
        let r = &v["recommendation"];
        assert_eq!(r["action"], "none", "--parallel {p}");
        let advice = r["advice"].to_string();
        let c = words.captures(&advice).unwrap_or_else(|| panic!("--parallel {p}: {advice}"));
        let (at_once, quota) = (number(&c[1]), number(&c[2]));
        assert!(at_once <= last.0 && quota >= last.1, "--parallel {p}: {at_once} at once, {quota} TPM after {last:?}");
        last = (at_once, quota);
    }
}

#[test]
fn the_load_of_a_quota_increase_request() {
    let v = bedrock(&[]);
    let l = &v["load"]["per_model"][0];
    assert_eq!(l["model"], "Sonnet 4");
    assert_eq!(l["burndown"], 5.0);
    assert!(l["tpm_peak"].as_u64().unwrap() >= l["tpm_p50"].as_u64().unwrap());
    assert!(l["rpm_peak"].as_u64().unwrap() >= l["rpm_p50"].as_u64().unwrap());
    // 136 requests: the 135 responses and the one that failed for good.
    assert_eq!(l["requests"], 136);
}

/// The API project of testdata/claude-home: 10 Sonnet 4.5 responses, 3 of them cut (2
/// "exceeded the 32000" errors and a cut continued after a recovery prompt), 1 cut at 200.
/// Too few responses to judge cuts by from demand alone, but these were cut at the 32,000 in
/// effect: the history's own cuts, so a value that would not have cut them is advised (on the
/// API max output costs no quota).
#[test]
fn few_responses_cut_at_the_value_in_effect_raise_it() {
    let (v, _) = scan_json(&["--project", "app", &home_str()]);
    assert_eq!(v["settings"]["provider"], "anthropic");
    let r = &v["recommendation"];
    assert_eq!((r["action"].as_str(), r["basis"].as_str()), (Some("raise"), Some("fewer_cuts")));
    assert_eq!((r["current"].as_u64(), r["max_output_tokens"].as_u64()), (Some(32_000), Some(64_000)));
    assert_eq!(r["ceiling"], Value::Null);
    assert_eq!(r["inputs"]["model"], "Sonnet 4.5");
    // Each cut response once, by the limit it was cut at (the error after a stopped response
    // is the same cut; the context-window error is not a cut).
    assert_eq!(
        v["cuts"]["by_limit"],
        serde_json::json!([{"limit": 200, "responses": 1}, {"limit": 32000, "responses": 3}])
    );
}

#[test]
fn out_of_range_flags_are_usage_errors() {
    for args in [
        ["--percentile", "0"],
        ["--headroom", "1.5"],
        ["--parallel", "0"],
        ["--parallel", "100001"],
        ["--burndown", "0"],
    ] {
        let r = run(&["scan", args[0], args[1], &home_str()]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("out of range"), "{}", r.stderr);
    }
}

#[test]
fn the_table_leads_with_the_value_and_its_action() {
    let r = run(&["scan", &bedrock_home().to_string_lossy()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("Recommendation for Sonnet 4\nCLAUDE_CODE_MAX_OUTPUT_TOKENS=7000  (lower from 32,000)\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Replay: your history at each value"));
    assert!(r.stdout.contains("Load per model"));
}

#[test]
fn managed_settings_outrank_the_user_file() {
    let tmp = tempfile::tempdir().unwrap();
    let managed = tmp.path().join("managed");
    std::fs::create_dir_all(&managed).unwrap();
    std::fs::write(
        managed.join("managed-settings.json"),
        r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"12000","CLAUDE_CODE_USE_BEDROCK":"1"}}"#,
    )
    .unwrap();
    let out = common::ccdoctor(tmp.path())
        .args(["scan", "--json", "--project", "web", &home_str()])
        .env("CCDOCTOR_MANAGED_SETTINGS_DIR", &managed)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["settings"]["max_output_tokens"]["value"], 12000);
    assert!(v["settings"]["max_output_tokens"]["source"].as_str().unwrap().starts_with("managed: "));
    assert!(v["settings"]["provider_source"].as_str().unwrap().starts_with("managed: "));
    assert_eq!(v["recommendation"]["current"], 12000);
}

/// testdata/bedrock-home's transcripts are of Claude Code 2.1.150, whose subagents send their
/// requests at the model's default whatever the setting says: the advice says how many of
/// the model's requests those are, and that the replay sends every request at the value. The
/// same history written by a Claude Code past 2.1.233, which passes the setting on, has the
/// same advice without that line.
#[test]
fn subagents_that_ignore_the_setting_are_said() {
    let v = bedrock(&[]);
    let advice = v["recommendation"]["advice"].to_string();
    let line = format!(
        "93 of the {} Sonnet 4 requests are subagents' of a Claude Code before about 2.1.233",
        v["load"]["per_model"][0]["requests"]
    );
    assert!(advice.contains(&line) && advice.contains("update Claude Code"), "{advice}");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    common::copy_tree(&bedrock_home(), &home);
    let mut rewritten = 0;
    for e in walkdir::WalkDir::new(&home).into_iter().map(Result::unwrap).filter(|e| e.file_type().is_file()) {
        let text = std::fs::read_to_string(e.path()).unwrap();
        if text.contains("\"version\":\"2.1.150\"") {
            std::fs::write(e.path(), text.replace("\"version\":\"2.1.150\"", "\"version\":\"2.1.240\"")).unwrap();
            rewritten += 1;
        }
    }
    assert!(rewritten > 0, "no transcript names 2.1.150");
    let (newer, _) = scan_json(&[home.to_str().unwrap()]);
    let advice = newer["recommendation"]["advice"].to_string();
    assert_eq!(newer["recommendation"]["action"], "lower");
    assert!(!advice.contains("subagents'"), "{advice}");
}

/// testdata/unexplained-429s: at 8,000 the history was refused 16 times in 56 attempts, at
/// random (as another's load on the quota would), where its replay against the published
/// quota is refused none. A replay that does not reproduce the history's throttling advises
/// no value (before, it kept 8,000 as safe): none to write, the history's counts in the
/// sentence, and `check` calls it unsafe without naming a value that would have worked.
#[test]
fn a_replay_that_does_not_reproduce_the_historys_429s_advises_no_value() {
    let home = common::testdata().join("unexplained-429s");
    let h = home.to_str().unwrap();
    let (v, _) = scan_json(&["--since", "2026-12-01", h]);
    assert_eq!(v["errors"]["rate_limit"]["retries"], 16, "{}", v["errors"]);
    let r = &v["recommendation"];
    assert_eq!(
        (r["action"].as_str(), r["basis"].as_str(), r["current"].as_u64(), r["max_output_tokens"].as_u64()),
        (Some("none"), Some("history_throttles"), Some(8_000), None),
        "{r}"
    );
    // The replay alone would keep it: at 8,000 it is refused nothing.
    assert_eq!(row(r, 8_000)["throttled_attempts"], 0, "{r}");
    let table = run(&["scan", "--since", "2026-12-01", h]).stdout;
    let words = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("No max output value is shown to avoid your 429s"), "{table}");
    assert!(
        words.contains(
            "At 8,000 (the value in effect), 7 of your history's 40 requests were throttled (16 of 56 attempts)"
        ),
        "{table}"
    );
    let c = run(&["check", "--since", "2026-12-01", h]);
    assert_eq!(c.code, 1, "{}", c.stdout);
    assert!(c.stdout.contains("your history was throttled at it more than a safe value may be"), "{}", c.stdout);
    // Planning fewer requests at once (what the advice suggests) does not make the replay
    // reproduce the history: no value still, not a raise.
    let c = run(&["check", "--parallel", "1", "--since", "2026-12-01", h]);
    assert_eq!(c.code, 1, "{}", c.stdout);
    assert!(c.stdout.contains("your history was throttled at it"), "{}", c.stdout);
    let j = run(&["check", "--json", "--since", "2026-12-01", h]);
    let j: Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!((j["action"].as_str(), j["basis"].as_str()), (Some("none"), Some("history_throttles")), "{j}");
    assert!(!c.stdout.contains("would have worked"), "{}", c.stdout);
    // Set by hand to 25,000 since (no backup tells when): the history is taken to have run at
    // it, and a value raised past the throttled one is not called safe either.
    let (_t, copy) = {
        let t = tempfile::tempdir().unwrap();
        let copy = t.path().join("home");
        common::copy_tree(&home, &copy);
        (t, copy)
    };
    std::fs::write(copy.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"25000"}}"#).unwrap();
    let c = run(&["check", "--since", "2026-12-01", copy.to_str().unwrap()]);
    assert_eq!(c.code, 1, "{}", c.stdout);
    assert!(c.stdout.contains("25000 (Sonnet 4): your history was throttled at it"), "{}", c.stdout);
}

/// bedrock-home ran at 32,000 and is advised 7,000. A user sets that by hand (no backup of
/// `apply` dates the change) and scans again. The main sessions show no limit of their own
/// (no cut, no response longer than the setting: the 11,731-token response is a subagent's,
/// which ran at the default whatever the setting), so they are taken to have run at the value
/// now, and their 429s form a period at a limit the history never ran at. That period must
/// not rule out the reading the history fits. Before, 7,000 set by hand was advised 6,000,
/// 6,000 "no value is safe" and 5,000 "7,000". Now every value set by hand is advised a value,
/// and following the advice settles. A value set above the default is not taken as the one the
/// history ran at either: the guess is the smaller of it and the default.
#[test]
fn a_value_set_by_hand_is_advised_on_and_settles() {
    let (_guard, home) = common::bedrock_copy();
    let h = home.to_str().unwrap().to_string();
    let set = |v: u64| {
        let text =
            format!("{{\"env\":{{\"CLAUDE_CODE_USE_BEDROCK\":\"1\",\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{v}\"}}}}\n");
        std::fs::write(home.join("settings.json"), text).unwrap();
    };
    let advised = |v: u64| {
        set(v);
        let (json, _) = scan_json(&[&h]);
        let r = &json["recommendation"];
        assert_eq!(r["current"], v, "{r}");
        let value = r["max_output_tokens"].as_u64();
        (value.unwrap_or_else(|| panic!("set by hand at {v}: no value ({})", r["basis"])), r["basis"].clone())
    };
    let mut value = advised(32_000).0;
    assert_eq!(value, 7_000);
    // The requests taken to have run at a guessed limit are said, in the text and the JSON
    // (the guess, and a sentence of the reasons), where the value set now is not the default.
    let said = |guess: u64, sentence: &str| {
        let (json, _) = scan_json(&[&h]);
        let assumed = &json["recommendation"]["assumed_limit"];
        assert_eq!((assumed["requests"].as_u64(), assumed["value"].as_u64()), (Some(43), Some(guess)), "{assumed}");
        let reasons = common::words(&json["recommendation"]["reasons"].to_string());
        assert!(reasons.contains(sentence), "{reasons}");
        reasons
    };
    let (json, _) = scan_json(&[&h]);
    assert_eq!(json["recommendation"]["assumed_limit"], Value::Null);
    set(7_000);
    let reasons = said(
        7_000,
        "43 requests show no limit of their own, and nothing dates the 7,000 in effect now: they are taken to have run at it, the cautious guess.",
    );
    // What the history's real limit, the default, would advise is said, and in the JSON.
    let would = "(with none set, Claude Code's default of 32,000, where the advice would be to keep 7,000), and `--ran-at` says which";
    assert!(reasons.contains(would), "{reasons}");
    let (json, _) = scan_json(&[&h]);
    let d = &json["recommendation"]["assumed_limit"]["if_default"];
    assert_eq!((d["action"].as_str(), d["max_output_tokens"].as_u64()), (Some("keep"), Some(7_000)), "{d}");
    assert!(!reasons.contains("where your history shows"), "a period of assumed limits rules a reading out: {reasons}");
    // `check`'s verdict leans on the same guess, and says so.
    let r = common::run(&["check", "--since", "2026-10-01", &h]);
    assert!(r.stdout.contains("; the limit of 43 requests is a guess, 7,000, see `ccdoctor scan`)"), "{}", r.stdout);
    let mut seen = vec![value];
    for _ in 0..4 {
        let next = advised(value).0;
        seen.push(next);
        if next == value {
            break;
        }
        value = next;
    }
    assert_eq!(seen[seen.len() - 2], seen[seen.len() - 1], "following the advice by hand never settles: {seen:?}");
    for v in [6_000, 5_000] {
        let (next, basis) = advised(v);
        assert!(next >= 3_000, "set by hand at {v}: {next} ({basis})");
    }
    // Set above the default by hand, the guess is the default, the cautious side: the history
    // is judged as it ran (before, 64,000 made the fitted quota 355,000 and advised 16,000,
    // which the history at 32,000 shows throttled 158 of 294 attempts).
    assert_eq!(advised(64_000).0, 7_000);
    said(
        32_000,
        "nothing dates the 64,000 in effect now: they are taken to have run at Claude Code's default of 32,000, the cautious guess.",
    );
}

/// one-session-cliff ran at 16,000 against an 80,000 TPM quota nobody states, throttled 313
/// times. Its user then sets 6,000 by hand (no backup of `apply` dates it). The session wrote
/// a 7,613-token response and shows no limit of its own: it ran before the setting, at a value
/// only known to be at least 7,613. At 623dfc0 it was taken at Claude Code's default: the fit
/// found 202,000 TPM and advised raising to 28,000, five times the reservation the world's
/// quota throttled at 16,000. It is now taken at 8,000, the least round value above, the
/// cautious guess: the advice may be no larger than the largest value the same history calls
/// safe with its limit known, and the guess is said in the JSON, the reasons and `check`.
#[test]
fn a_history_that_wrote_more_than_a_value_set_by_hand_is_taken_just_above_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("cliff");
    common::copy_tree(&common::testdata().join("one-session-cliff"), &home);
    let h = home.to_str().unwrap().to_string();
    let (json, _) = scan_json(&[&h]);
    let known = &json["recommendation"];
    assert_eq!((known["current"].as_u64(), known["limit_above"].clone()), (Some(16_000), Value::Null), "{known}");
    let safe_when_known = known["replay"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["failed"] == 0 && r["throttled_attempts"].as_f64().unwrap() <= 0.01 * r["attempts"].as_f64().unwrap()
        })
        .map(|r| r["value"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(safe_when_known < 16_000, "{safe_when_known}");
    std::fs::write(
        home.join("settings.json"),
        "{\"env\":{\"CLAUDE_CODE_USE_BEDROCK\":\"1\",\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"6000\"}}\n",
    )
    .unwrap();
    let (json, _) = scan_json(&[&h]);
    let r = &json["recommendation"];
    let above = &r["limit_above"];
    assert_eq!(
        (above["requests"].as_u64(), above["longest"].as_u64(), above["taken_at"].as_u64()),
        (Some(60), Some(7_613), Some(8_000)),
        "{above}"
    );
    let value = r["max_output_tokens"].as_u64().unwrap_or_else(|| panic!("no value: {}", r["basis"]));
    assert!(value <= safe_when_known, "6,000 set by hand: advised {value}, above {safe_when_known}");
    // What the default would advise (the fit then finds about 200,000 TPM) is said beside it,
    // with the flag that takes it: the user who knows better says so.
    let would = above["if_default"]["max_output_tokens"].as_u64().unwrap();
    assert!(would > safe_when_known && above["if_default"]["action"] == "raise", "{above}");
    let reasons = common::words(&r["reasons"].to_string());
    assert!(
        reasons.contains(
            "All 60 requests show no limit of their own and wrote up to 7,613 tokens, more than the 6,000 in effect now allows: they ran before it was set, at a value nothing dates. They are taken to have run at 8,000, the least round value that allows it, the cautious guess"
        ) && reasons.contains(&format!(
            "If they ran at Claude Code's default of 32,000 (nothing set then), the advice would be to raise it to {}: `--ran-at 32000` says so (or `--ran-at` the value set then).",
            ccdoctor::text::thousands(would)
        )),
        "{reasons}"
    );
    let check = common::run(&["check", "--since", "2026-12-01", &h]);
    assert!(
        check.stdout.contains(
            "; the limit of 60 requests is a guess, 8,000 (they wrote up to 7,613 tokens), see `ccdoctor scan`)"
        ),
        "{}",
        check.stdout
    );
    // A value below what the sessions wrote is none they ran at: the guess stands, and says so.
    let (low, _) = scan_json(&[&h, "--ran-at", "5000"]);
    let reasons = common::words(&low["recommendation"]["reasons"].to_string());
    assert_eq!(low["recommendation"]["limit_above"]["taken_at"], 8_000, "{}", low["recommendation"]);
    assert!(reasons.contains("wrote up to 7,613 tokens (--ran-at 5,000 is below that)"), "{reasons}");
    // The user who knows what it ran at says so, and is advised as if the history said it.
    let (stated, _) = scan_json(&[&h, "--ran-at", "16k"]);
    let s = &stated["recommendation"];
    assert_eq!(
        (s["max_output_tokens"].clone(), s["limit_above"].clone(), s["inputs"]["ran_at"].as_u64()),
        (known["max_output_tokens"].clone(), Value::Null, Some(16_000)),
        "{s}"
    );
}
