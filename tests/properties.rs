//! Property tests (proptest) of the statistics: what must hold for any data, not only for the
//! hand-computed cases of the unit tests. The recommendation's properties are in
//! tests/replay.rs, on simulated histories.

mod common;

use ccdoctor::stats::{histogram, percentile, share_above, summarize};
use proptest::prelude::*;

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

proptest! {
    #![proptest_config(common::cases(2000))]

    #[test]
    fn percentiles_are_monotone_and_within_the_data(
        v in prop::collection::vec(0u64..1_000_000, 1..300),
        a in 0.01f64..=100.0,
        b in 0.01f64..=100.0,
    ) {
        let v = sorted(v);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (pl, ph) = (percentile(&v, lo).unwrap(), percentile(&v, hi).unwrap());
        prop_assert!(pl <= ph);
        prop_assert!(v[0] <= pl && ph <= v[v.len() - 1]);
        // Nearest rank: always one of the values.
        prop_assert!(v.binary_search(&pl).is_ok());
        prop_assert_eq!(percentile(&v, 100.0), v.last().copied());
    }

    #[test]
    fn summaries_and_histograms_agree_with_the_data(v in prop::collection::vec(0u64..200_000, 0..300)) {
        let v = sorted(v);
        let s = summarize(&v);
        prop_assert_eq!(s.count, v.len() as u64);
        if !v.is_empty() {
            prop_assert!(s.p50 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max);
            prop_assert_eq!(s.max, v[v.len() - 1]);
            prop_assert!(s.mean >= v[0] as f64 && s.mean <= s.max as f64);
        }
        prop_assert_eq!(histogram(&v).iter().map(|b| b.count).sum::<u64>(), v.len() as u64);
    }

    #[test]
    fn share_above_falls_as_the_limit_rises(v in prop::collection::vec(0u64..100_000, 1..200), a in 0u64..120_000, b in 0u64..120_000) {
        let v = sorted(v);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (sl, sh) = (share_above(&v, lo), share_above(&v, hi));
        prop_assert!((0.0..=1.0).contains(&sl) && (0.0..=1.0).contains(&sh));
        prop_assert!(sh <= sl);
    }
}

/// Text from the data in any shape: ids with multi-byte characters where a date or a version
/// would be, error texts cut anywhere.
fn odd_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("claude-opus-4-6-".to_string()),
        Just("anthropic.claude-sonnet-5".to_string()),
        Just("-v1:0".to_string()),
        Just("arn:aws:bedrock:us-east-1:1:inference-profile/".to_string()),
        Just("@".to_string()),
        Just("[1m]".to_string()),
        Just("exceeded the ".to_string()),
        Just(" output token maximum".to_string()),
        Just("resets ".to_string()),
        // Reset times, and a letter a case-insensitive match folds to `s` (U+017F).
        Just("Sep 3, 1:40pm (Europe/Paris)".to_string()),
        Just("\u{17f}ep 3, ".to_string()),
        Just("usage limit reached|".to_string()),
        Just("max_tokens: ".to_string()),
        "[0-9]{0,12}",
        "\\PC{0,6}",
        "[é€😀\u{202e}\u{0}]{1,3}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(common::cases(3000))]

    /// Naming, classifying and reading limits never panic, whatever the text.
    #[test]
    fn naming_and_classifying_take_any_text(s in odd_text(), status in proptest::option::of(0u16..1000)) {
        let _ = ccdoctor::models::display_name(&s);
        let _ = ccdoctor::models::family_of(&s);
        let _ = ccdoctor::models::id::canonical(&s);
        let _ = ccdoctor::models::id::endpoint(&s);
        let _ = ccdoctor::scan::classify::classify(&s, status, Some(&s));
        let _ = ccdoctor::scan::classify::reset_of(&s);
        let _ = ccdoctor::scan::classify::output_token_maximum(&s);
        let _ = ccdoctor::settings::as_count(&serde_json::Value::String(s.clone()));
        let _ = ccdoctor::estimate::writes_final_usage(Some(&s));
    }
}
