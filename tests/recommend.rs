//! The recommendation end to end on testdata/claude-home. The Bedrock project (`--project
//! web`) has two Sonnet 4 responses (6,000 and 9,000 output tokens), each with input 3,
//! cache-write 1,200 and cache-read 15,000: I_set = 1,203, I_res = 16,203.

mod common;

use common::{home_str, run, scan_json};
use serde_json::json;

fn rec(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--project", "web"];
    args.extend_from_slice(extra);
    let home = home_str();
    args.push(&home);
    scan_json(&args).0
}

#[test]
fn bedrock_default_quota_and_inferred_parallelism() {
    let v = rec(&[]);
    assert_eq!(v["settings"]["provider"], "bedrock");
    assert_eq!(v["settings"]["provider_source"], "inferred from model ids");
    let r = &v["recommendation"];
    // p99 of [6,000, 9,000] = 9,000. Default quota 200,000, one stream at a time:
    // (0.9·200,000/1 − 1,203)/5 = 35,759.4 -> 35,759; admission 180,000 − 16,203 = 163,797.
    assert_eq!(r["max_output_tokens"], 9000);
    assert_eq!(r["target"], 9000);
    assert_eq!(r["ceiling"], 35759);
    assert_eq!(r["conflict"], false);
    assert_eq!(r["truncated_share"], 0.0);
    assert_eq!(r["inputs"]["quota_tpm"], 200000);
    assert_eq!(r["inputs"]["quota_origin"], "default");
    assert_eq!(r["inputs"]["parallel"], 1);
    assert_eq!(r["inputs"]["parallel_origin"], "inferred");
    assert_eq!(r["inputs"]["burndown"], 5.0);
    assert_eq!((r["inputs"]["input_set"].as_u64(), r["inputs"]["input_reserved"].as_u64()), (Some(1203), Some(16203)));
    assert_eq!(r["inputs"]["model"], "Sonnet 4");
    assert_eq!(r["inputs"]["model_cap"], 64000);
    assert!(r["advice"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().contains("Service Quotas")));
}

#[test]
fn given_quota_and_parallelism() {
    let v = rec(&["--quota-tpm", "200000", "--parallel", "2"]);
    let r = &v["recommendation"];
    // (90,000 − 1,203)/5 = 17,759.4 -> 17,759.
    assert_eq!(r["ceiling"], 17759);
    assert_eq!(r["max_output_tokens"], 9000);
    assert_eq!(r["inputs"]["quota_origin"], "flag");
    // What-if 16,000: charge 1,203 + 80,000 = 81,203; 180,000 / 81,203 = 2 in flight.
    let w = r["what_if"].as_array().unwrap().iter().find(|w| w["value"] == 16000).unwrap().clone();
    assert_eq!(
        w,
        json!({"value": 16000, "truncated_share": 0.0, "worst_case_charge": 81203, "max_parallel": 2, "label": null})
    );
}

#[test]
fn conflict_gives_the_ceiling_and_the_alternatives() {
    let v = rec(&["--quota-tpm", "100000", "--parallel", "4"]);
    let r = &v["recommendation"];
    // (22,500 − 1,203)/5 = 4,259.4 -> 4,259; admission 22,500 − 16,203 = 6,297.
    assert_eq!(r["ceiling"], 4259);
    assert_eq!(r["max_output_tokens"], 4000);
    assert_eq!(r["conflict"], true);
    assert_eq!(r["truncated_share"], 1.0);
    // For 9,000: per request max(1,203 + 45,000, 16,203 + 9,000) = 46,203:
    // 90,000 / 46,203 = 1 in flight; 4 × 46,203 / 0.9 = 205,346.7 -> 205,347 TPM.
    let advice = r["advice"].to_string();
    assert!(advice.contains("at most 1 requests") || advice.contains("at most 1 request"), "{advice}");
    assert!(advice.contains("205,347 TPM"), "{advice}");
}

#[test]
fn context_alone_fills_the_quota() {
    let v = rec(&["--quota-tpm", "100000", "--parallel", "10"]);
    // 9,000 per request − 16,203 reserved < 0; without cache reads reserved:
    // (9,000 − 1,203)/5 = 1,559 and admission 7,797: a ceiling of 1,559 -> value 1,000.
    assert_eq!(v["recommendation"]["ceiling"], 1559);
    assert_eq!(v["recommendation"]["cache_read_reserved"], false);
    assert_eq!(v["recommendation"]["max_output_tokens"], 1000);
    let v = rec(&["--quota-tpm", "100000", "--parallel", "80"]);
    // 1,125 per request − 1,203 < 0 either way: no value helps.
    assert_eq!(v["recommendation"]["max_output_tokens"], serde_json::Value::Null);
    assert_eq!(v["recommendation"]["ceiling"], serde_json::Value::Null);
}

#[test]
fn anthropic_api_has_no_ceiling_and_censoring_raises() {
    // The main project: Sonnet 4.5 via the API; the settings file says 32,000. Its sessions
    // hold 3 "exceeded" errors (32,000 twice, 200 once), 1 max_tokens stop and 1 recovery
    // prompt: 3 + max(1, 1) = 4 cut of 8 + 3 = 11 (36.4%) > 1%: demand is above 32,000.
    let home = home_str();
    let (v, _) = scan_json(&["--project", "app", &home]);
    assert_eq!(v["settings"]["provider"], "anthropic");
    assert_eq!(v["settings"]["max_output_tokens"]["value"], 32000);
    assert!(v["settings"]["max_output_tokens"]["source"].as_str().unwrap().ends_with("settings.json"));
    let r = &v["recommendation"];
    assert_eq!(r["ceiling"], serde_json::Value::Null);
    assert_eq!(r["censored"], true);
    assert_eq!(r["target"], 32001);
    assert_eq!(r["max_output_tokens"], 33000);
}

#[test]
fn out_of_range_flags_are_usage_errors() {
    for args in [["--percentile", "0"], ["--headroom", "1.5"], ["--parallel", "0"], ["--burndown", "0"]] {
        let r = run(&["scan", args[0], args[1], &home_str()]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("out of range"), "{}", r.stderr);
    }
}

#[test]
fn recommendation_section_closes_the_table() {
    let r = run(&["scan", "--project", "web", &home_str()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Recommendation\nCLAUDE_CODE_MAX_OUTPUT_TOKENS=9000\n"), "{}", r.stdout);
    assert!(r.stdout.contains("What if"));
    assert!(!r.stdout.contains("FIXTURE-SECRET"));
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["settings"]["max_output_tokens"]["value"], 12000);
    assert!(v["settings"]["max_output_tokens"]["source"].as_str().unwrap().starts_with("managed: "));
    assert!(v["settings"]["provider_source"].as_str().unwrap().starts_with("managed: "));
}
