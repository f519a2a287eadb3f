use super::*;
use crate::models::family_of;

/// 100 responses: 1..=100 × 50 tokens (50, 100, …, 5,000). p99 = 99th = 4,950.
fn outputs() -> Vec<u64> {
    (1..=100).map(|i| i * 50).collect()
}

fn inputs(outputs: &[u64]) -> Inputs<'_> {
    Inputs {
        outputs,
        cut: CutSignals::default(),
        percentile: 99.0,
        model: "Sonnet 4".into(),
        family: family_of("claude-sonnet-4-20250514"),
        provider: Provider::Bedrock,
        quota_tpm: Some((200_000, Origin::Flag)),
        parallel: (2, Origin::Flag),
        burndown: (5.0, Origin::Default),
        headroom: 0.9,
        input_set: 10_000,
        input_reserved: 60_000,
        thinking: None,
        current: None,
        throttled: 3,
        not_throttling_429: 0,
    }
}

#[test]
fn rounds_the_target_up_to_a_thousand() {
    let o = outputs();
    let r = recommend(&inputs(&o)).unwrap();
    // p99 4,950 -> 5,000; ceiling (0.9·200,000/2 − 10,000)/5 = 16,000 and admission 30,000.
    assert_eq!(r.target, 4_950);
    assert_eq!(r.max_output_tokens, Some(5_000));
    assert_eq!(r.ceiling, Some(16_000));
    assert!(!r.conflict);
    assert_eq!(r.truncated_share, 0.0);
}

#[test]
fn conflict_when_the_target_is_above_the_ceiling() {
    let o = outputs();
    // 4 in flight: (180,000/4 − 10,000)/5 = 7,000; admission 45,000 − 60,000 < 0 -> no room at all.
    let mut i = inputs(&o);
    i.parallel = (4, Origin::Flag);
    let r = recommend(&i).unwrap();
    // Without cache reads in the reservation (I_res = I_set = 10,000): admission 35,000, and the
    // worst case 7,000 binds; the report says which reading it used.
    assert_eq!(r.ceiling, Some(7_000));
    assert!(!r.cache_read_reserved);
    assert_eq!(r.max_output_tokens, Some(5_000));
    // With 20 in flight even that fails: 9,000 − 10,000 < 0.
    i.parallel = (20, Origin::Flag);
    let r = recommend(&i).unwrap();
    assert_eq!(r.ceiling, None);
    assert_eq!(r.max_output_tokens, None, "context alone fills the quota");
    i.parallel = (4, Origin::Flag);
    // Smaller context: admission 45,000 − 5,000 = 40,000; worst case 7,000.
    i.input_reserved = 5_000;
    i.percentile = 100.0; // target 5,000 fits 7,000.
    assert_eq!(recommend(&i).unwrap().max_output_tokens, Some(5_000));
    // 8 in flight: (22,500 − 10,000)/5 = 2,500 -> value 2,000, conflict, cuts 60 of 100 (values > 2,000).
    i.parallel = (8, Origin::Flag);
    let r = recommend(&i).unwrap();
    assert_eq!(r.ceiling, Some(2_500));
    assert_eq!(r.max_output_tokens, Some(2_000));
    assert!(r.conflict);
    assert_eq!(r.truncated_share, 0.6);
    // The alternatives for 5,000: per request max(10,000 + 25,000, 5,000 + 5,000) = 35,000;
    // 180,000 / 35,000 = 5 in flight; 8 × 35,000 / 0.9 = 311,112 TPM.
    assert!(r.advice.iter().any(|a| a.contains("at most 5 requests") && a.contains("311,112 TPM")), "{:?}", r.advice);
}

#[test]
fn censoring_raises_the_target_above_the_limit() {
    let o = outputs();
    let mut i = inputs(&o);
    // 3 errors at 4,000 + 1 stop: 4 of 103 = 3.9% > 1%: demand is above 4,000.
    i.cut = CutSignals { errors: 3, stops: 1, recoveries: 1, limit: Some(4_000) };
    let r = recommend(&i).unwrap();
    assert!(r.censored);
    assert_eq!(r.target, 4_950); // p99 is already above 4,001
    i.cut.limit = Some(8_000);
    let r = recommend(&i).unwrap();
    assert_eq!(r.target, 8_001);
    assert_eq!(r.max_output_tokens, Some(9_000));
    // One cut in 101 (0.99%) is inside the 1% tail: not censored.
    i.cut = CutSignals { errors: 1, stops: 0, recoveries: 0, limit: Some(8_000) };
    assert!(!recommend(&i).unwrap().censored);
}

#[test]
fn thinking_budget_and_model_cap() {
    let o = outputs();
    let mut i = inputs(&o);
    i.thinking = Some(7_500);
    // At least 1,000 above 7,500 -> 8,500 -> 9,000.
    assert_eq!(recommend(&i).unwrap().max_output_tokens, Some(9_000));
    // Opus 4.1 caps at 32,000 whatever the target.
    let big: Vec<u64> = (1..=100).map(|i| i * 400).collect(); // p99 39,600
    let mut i = inputs(&big);
    i.family = family_of("claude-opus-4-1-20250805");
    i.quota_tpm = None;
    i.provider = Provider::Anthropic;
    let r = recommend(&i).unwrap();
    assert_eq!(r.max_output_tokens, Some(32_000));
    assert_eq!(r.inputs.model_cap, 32_000);
    assert_eq!(r.ceiling, None);
    // What-if values stop at the cap.
    assert!(r.what_if.iter().all(|w| w.value <= 32_000));
}

#[test]
fn providers_without_quota_have_no_ceiling_and_say_so() {
    let o = outputs();
    for p in [Provider::Anthropic, Provider::Vertex, Provider::Bedrock] {
        let mut i = inputs(&o);
        i.provider = p;
        i.quota_tpm = None;
        let r = recommend(&i).unwrap();
        assert_eq!(r.ceiling, None);
        assert_eq!(r.max_output_tokens, Some(5_000));
        assert!(r.advice.iter().any(|a| a.contains("--quota-tpm")), "{p:?}: {:?}", r.advice);
    }
    let mut i = inputs(&o);
    i.quota_tpm = Some((200_000, Origin::Default));
    assert!(recommend(&i).unwrap().advice.iter().any(|a| a.contains("published default")));
}

#[test]
fn usage_limits_are_not_fixed_by_max_output() {
    let o = outputs();
    let mut i = inputs(&o);
    i.throttled = 0;
    i.not_throttling_429 = 4;
    assert!(recommend(&i).unwrap().advice.iter().any(|a| a.contains("does not help")));
}

#[test]
fn what_if_rows_by_hand() {
    let o = outputs();
    let mut i = inputs(&o);
    i.current = Some(32_000);
    let r = recommend(&i).unwrap();
    let vals: Vec<(u64, Option<&str>)> = r.what_if.iter().map(|w| (w.value, w.label)).collect();
    assert_eq!(
        vals,
        [
            (4_096, None),
            (5_000, Some("recommended")),
            (8_192, None),
            (16_000, None),
            (32_000, Some("current")),
            (64_000, None)
        ]
    );
    let w = &r.what_if[0];
    // 4,096 cuts the 19 values above it (4,100..5,000); charge 10,000 + 5·4,096 = 30,480;
    // in flight: 180,000 / max(30,480, 64,096) = 2.
    assert_eq!(w.truncated_share, 0.19);
    assert_eq!(w.worst_case_charge, 30_480);
    assert_eq!(w.max_parallel, Some(2));
    // 32,000: charge 170,000 -> 1 in flight.
    assert_eq!(r.what_if[4].worst_case_charge, 170_000);
    assert_eq!(r.what_if[4].max_parallel, Some(1));
}

#[test]
fn empty_history_gives_nothing() {
    assert!(recommend(&inputs(&[])).is_none());
}

#[test]
fn peak_streams_by_hand() {
    // Minute 1: s1, s2, s1 again; minute 2: s3. Peak 2.
    assert_eq!(peak_streams([(1, "s1"), (1, "s2"), (1, "s1"), (2, "s3")]), 2);
    assert_eq!(peak_streams(std::iter::empty()), 0);
}
