//! End to end on testdata/late-home (written by testdata/generate_late.py): what Claude Code
//! 2.1.2xx writes in late 2026. Every expected number is derived by hand from the fixture; the
//! derivation is in the comments.

mod common;

use std::path::PathBuf;

use common::{Run, ccdoctor, testdata};
use serde_json::{Value, json};

fn late() -> PathBuf {
    testdata().join("late-home")
}

fn debug_file() -> PathBuf {
    late().join("elsewhere/claude-debug.log")
}

fn scan(extra: &[&str]) -> (Value, Run) {
    let home = late();
    let mut args = vec!["scan", "--format", "json", home.to_str().unwrap()];
    args.extend_from_slice(extra);
    let r: Run = ccdoctor(&home).args(&args).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    (serde_json::from_str(&r.stdout).unwrap(), r)
}

fn with_debug_file() -> Value {
    scan(&["--debug-file", debug_file().to_str().unwrap()]).0
}

#[test]
fn spilled_tool_results_are_not_transcripts() {
    let (v, _) = scan(&[]);
    // L1, its /btw sidechain, L2 and L3; not tool-results/toolu_01.jsonl (whose 429 would
    // otherwise count), not elsewhere/ (a debug log only when named).
    assert_eq!(v["scan"]["transcript_files"], 4);
    assert_eq!(v["scan"]["debug_logs"], 0);
    assert_eq!(v["errors"]["rate_limit"]["final"], 2);
}

#[test]
fn the_btw_replay_is_not_a_second_response() {
    let v = with_debug_file();
    // L1: r1, r2, r3 and the aside's own answer (its replay of r1, same message id under
    // another request id, is the parent's); L2: r4, r5; L3: r6, r7 = 8.
    // Outputs: 3000 64000 1500 150 900 700 2000 2600; sum 74,850 / 8 = 9,356.25.
    assert_eq!(
        v["responses"],
        json!({"count": 8, "estimated": 0, "implausible": 0, "plausible_up_to": 128000,
               "implausible_input": 0, "plausible_input_up_to": 10_000_000})
    );
    assert_eq!(v["output_tokens"]["mean"], 9356.25);
}

#[test]
fn newer_models_by_every_spelling_longest_prefix_first() {
    let v = with_debug_file();
    let rows = v["by_model"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["model"] == name).unwrap_or_else(|| panic!("no {name}: {rows:?}"));
    // claude-opus-5-5 is Opus 5.5, not Opus 5; the Bedrock and Mantle ids are both Sonnet 5.
    assert_eq!((row("Opus 5.5")["count"].as_u64(), row("Opus 5")["count"].as_u64()), (Some(1), Some(1)));
    assert_eq!(row("Sonnet 5")["ids"], json!(["anthropic.claude-sonnet-5", "global.anthropic.claude-sonnet-5-v1:0"]));
    assert_eq!(row("Opus 4.8")["count"], 4);
    assert!(!rows.iter().any(|r| r["model"].as_str().unwrap().starts_with("claude-")), "raw ids: {rows:?}");
}

#[test]
fn thinking_and_effort_per_model() {
    let v = with_debug_file();
    let rows = v["by_model"].as_array().unwrap();
    let opus = rows.iter().find(|r| r["model"] == "Opus 4.8").unwrap();
    // r1 2,000 of 3,000, r2 60,000 of 64,000, r3 0 of 1,500 (the aside's answer records no
    // thinking): 62,000 of 68,500.
    assert_eq!(opus["thinking"]["responses"], 3);
    assert_eq!(opus["thinking"]["thinking_tokens"], 62000);
    assert_eq!(opus["thinking"]["output_tokens"], 68500);
    // Effort: r1, r2 and the aside's answer high; r3 medium.
    assert_eq!(opus["effort"], json!({"high": 3, "medium": 1}));
}

#[test]
fn every_429_by_its_cause() {
    let v = with_debug_file();
    // Throttling, final: "Request rejected (429) · Rate limited" (l-e1) and the raw
    // rate_limit_error JSON (l-e2). Retried: transcript l-y1 (the debug log's attempt 1 is the
    // same failure) and the debug log's attempt 2 = 2.
    // Server load shedding: retried l-y2 and final l-e3 = 2.
    // Usage limits (L2): usage credits, weekly, Opus, org = 4; resets named by two of them and
    // by the gateway's daily spend limit, in file order.
    // Spend caps: enforced_spend_limit_reached, gateway spend limit, credit balance, API usage
    // limits = 4. Over cap (l-e4) 1. Context window (l-e5, error:"max_output_tokens") 1, not
    // a cut. r2 stopped at max_tokens and a recovery prompt followed.
    assert_eq!(
        v["errors"],
        json!({
            "rate_limit": {"final": 2, "retries": 2, "per_day_quota": 0},
            "unclassified_429": 0,
            "usage_limit": 4,
            "usage_limit_resets": ["3am (UTC)", "Dec 3, 9am (UTC)", "00:00 UTC"],
            "spend_cap": 4,
            "server_limiting": 2,
            "output_token_maximum": {"count": 0, "limits": {}},
            "max_tokens_stops": 1,
            "recovery_prompts": 1,
            "over_cap": 1,
            "context_window": 1,
            "overloaded": 0,
            "other": 0
        })
    );
    // One response cut (r2, continued as r3), counted once on its day and in its project.
    assert_eq!(v["cuts"], json!({"responses": 1, "by_limit": [{"limit": 64000, "responses": 1}]}));
    let day = v["by_day"].as_array().unwrap().iter().find(|d| d["day"] == "2026-11-20").unwrap().clone();
    assert_eq!(day["cut_responses"], 1);
}

#[test]
fn a_project_is_its_working_directory_whatever_the_folder_name() {
    let v = with_debug_file();
    let projects = v["by_project"].as_array().unwrap();
    // work-svc/ (CLAUDE_CODE_PROJECT_DIR_NAME) and -home-u-svc/ both ran in /home/u/svc; the
    // debug log's attempt 2 joins the request of the transcript retry beside it.
    assert_eq!(projects.len(), 2, "{projects:?}");
    let svc = projects.iter().find(|p| p["cwd"] == "/home/u/svc").unwrap();
    assert_eq!(svc["responses"], 6);
    assert_eq!(svc["errors"]["rate_limit"]["retries"], 2);
    assert_eq!(svc["errors"]["usage_limit_resets"], json!(["3am (UTC)", "Dec 3, 9am (UTC)", "00:00 UTC"]));
    assert_eq!(svc["cut_responses"], 1);
}

#[test]
fn the_debug_file_named_by_claude_codes_variable_is_read() {
    // No PATH: the default config home, and the debug log CLAUDE_CODE_DEBUG_LOGS_DIR names.
    let home = late();
    let r: Run = ccdoctor(&home)
        .env("CLAUDE_CONFIG_DIR", &home)
        .env("CLAUDE_CODE_DEBUG_LOGS_DIR", debug_file())
        .args(["scan", "--format", "json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["debug_logs"], 1);
    assert_eq!(v["capped"], json!([{"from": 128000, "to": 64000, "count": 1}]));
}

#[test]
fn a_capped_line_beats_the_model_table() {
    // The table says Opus 4.8 goes to 128,000 (unverified); the debug log's line, written
    // just before L1's first request, shows Claude Code clamping it to 64,000. Without the
    // line's newer rival (the 400 below), it is the upper limit.
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("late-home");
    common::copy_tree(&late(), &home);
    let with_400 = home.join("projects/work-svc/11111111-0000-4000-8000-00000000000a.jsonl");
    let kept: Vec<String> = std::fs::read_to_string(&with_400)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("which is the maximum allowed number of output tokens"))
        .map(str::to_string)
        .collect();
    std::fs::write(&with_400, kept.join("\n") + "\n").unwrap();
    let run = |extra: &[&str]| -> Value {
        let mut args = vec!["scan", "--format", "json", home.to_str().unwrap()];
        args.extend_from_slice(extra);
        let r: Run = ccdoctor(&home).args(&args).output().unwrap().into();
        serde_json::from_str(&r.stdout).unwrap()
    };
    let debug = home.join("elsewhere/claude-debug.log");
    let v = run(&["--debug-file", debug.to_str().unwrap()]);
    let inputs = &v["recommendation"]["inputs"];
    assert_eq!(inputs["model"], "Opus 4.8");
    assert_eq!(inputs["model_cap"], 64000);
    assert_eq!(inputs["model_cap_source"], "debug_log");
    assert_eq!(inputs["model_default_source"], "table_unverified");
    let reasons = v["recommendation"]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("Capped from 128,000 to 64,000): that, not the model table's 128,000")),
        "{reasons:?}"
    );
    // Without the log, the table's figure stands, marked unverified.
    let v = run(&[]);
    assert_eq!(v["recommendation"]["inputs"]["model_cap"], 128000);
    assert_eq!(v["recommendation"]["inputs"]["model_cap_source"], "table_unverified");
}

/// A request refused (400) for asking `max_tokens: 64001 > 64000, which is the maximum
/// allowed number of output tokens for claude-opus-4-8` shows that model's upper limit: the
/// advice stays within it (the trial of 2026-12-08 was advised 66,000 on the table's 128,000,
/// a value every request would be refused at), and says why.
#[test]
fn a_refusal_over_the_models_maximum_is_its_upper_limit() {
    let (v, _) = scan(&[]);
    let rec = &v["recommendation"];
    assert_eq!((rec["inputs"]["model"].as_str(), rec["inputs"]["model_cap"].as_u64()), (Some("Opus 4.8"), Some(64000)));
    assert_eq!(rec["inputs"]["model_cap_source"], "refusal");
    assert!(rec["max_output_tokens"].as_u64().is_some_and(|v| v <= 64_000), "{}", rec["max_output_tokens"]);
    // The debug lines' list is the debug logs' alone.
    assert_eq!(v["capped"], json!([]));
    let advice: Vec<&str> = rec["advice"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(
        advice.iter().any(|a| a.contains(
            "it asked 64,001 where Opus 4.8 allows 64,000. Keep CLAUDE_CODE_MAX_OUTPUT_TOKENS at or under 64,000"
        )),
        "{advice:?}"
    );
    // With the debug log too (its line older than the refusal), the limit is the same.
    let v = with_debug_file();
    assert_eq!(v["recommendation"]["inputs"]["model_cap"], 64000);
    assert_eq!(v["capped"], json!([{"from": 128000, "to": 64000, "count": 1}]));
}

#[test]
fn settings_spelled_the_new_ways_and_the_history_span() {
    let v = with_debug_file();
    // "6.4e4" and "31_999" read as numbers; the history runs 2026-11-20 to 2026-11-28 (9
    // days), kept for the 45 days cleanupPeriodDays says.
    assert_eq!(v["settings"]["max_output_tokens"]["value"], 64000);
    assert_eq!(v["settings"]["max_thinking_tokens"]["value"], 31999);
    let h = &v["scan"]["history"];
    assert_eq!(
        (h["first_day"].as_str(), h["last_day"].as_str(), h["days"].as_u64()),
        (Some("2026-11-20"), Some("2026-11-28"), Some(9))
    );
    assert_eq!(h["kept_days"], 45);
}

#[test]
fn adaptive_thinking_and_thinking_dominated_cuts_are_named() {
    let v = with_debug_file();
    let advice: Vec<&str> =
        v["recommendation"]["advice"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(
        advice.iter().any(|a| a.starts_with("MAX_THINKING_TOKENS (31,999) has no effect on Opus 4.8")),
        "{advice:?}"
    );
    assert!(
        advice.iter().any(|a| a.starts_with("Thinking took more than half the limit in the cut response")),
        "{advice:?}"
    );
    assert!(advice.iter().any(|a| a.starts_with("1 request was refused (400)")), "{advice:?}");
}

#[test]
fn the_table_names_every_cause() {
    let home = late();
    let r: Run = ccdoctor(&home)
        .args(["scan", home.to_str().unwrap(), "--debug-file", debug_file().to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let verdict = r.stdout.lines().take_while(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    for part in [
        "4 throttled attempts (429) on 1 day; 2 requests failed for good",
        "4 subscription usage limits",
        "4 spend cap or credit errors",
        "1 response cut at the output limit (1 at 64,000)",
        "2 server load-shedding 429s (not your quota)",
    ] {
        assert!(verdict.contains(part), "{part}: {verdict}");
    }
    for row in ["Server limiting requests (429)", "Spend cap or no credit", "Over the model's max output (400)"] {
        assert!(r.stdout.contains(row), "{row}");
    }
    assert!(!r.stdout.contains("LATE-FIXTURE-SECRET") && !r.stderr.contains("LATE-FIXTURE-SECRET"));
}
