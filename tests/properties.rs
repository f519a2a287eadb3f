//! Property tests (proptest) of the statistics and the recommendation: what must hold for any
//! data, not only for the hand-computed cases of the unit tests.

use ccdoctor::models::family_of;
use ccdoctor::recommend::{CutSignals, Inputs, Origin, STEP, THINKING_ROOM, recommend};
use ccdoctor::settings::Provider;
use ccdoctor::stats::{histogram, percentile, share_above, summarize};
use proptest::prelude::*;

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

const MODELS: [&str; 6] = [
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-haiku-4-5-20251001",
    "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-3-7-sonnet-20250219",
    "a-model-nobody-knows",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

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

    #[test]
    fn the_recommendation_respects_cap_ceiling_and_thinking(
        outputs in prop::collection::vec(0u64..150_000, 1..200),
        model in 0usize..MODELS.len(),
        provider in 0usize..3,
        quota in prop::option::of(1u64..5_000_000),
        parallel in 1u64..64,
        burndown in 1.0f64..=5.0,
        headroom in 0.05f64..=1.0,
        input_set in 0u64..300_000,
        extra_reserved in 0u64..300_000,
        thinking in prop::option::of(1u64..100_000),
        cut in (0u64..50, 0u64..50, 0u64..50, prop::option::of(1u64..100_000)),
        percentile_q in 50.0f64..=100.0,
    ) {
        let outputs = sorted(outputs);
        let family = family_of(MODELS[model]);
        let inputs = Inputs {
            outputs: &outputs,
            cut: CutSignals { errors: cut.0, stops: cut.1, recoveries: cut.2, limit: cut.3 },
            percentile: percentile_q,
            model: MODELS[model].to_string(),
            family,
            provider: [Provider::Bedrock, Provider::Vertex, Provider::Anthropic][provider],
            quota_tpm: quota.map(|q| (q, Origin::Flag)),
            parallel: (parallel, Origin::Flag),
            burndown: (burndown, Origin::Flag),
            headroom,
            input_set,
            input_reserved: input_set + extra_reserved,
            thinking,
            current: None,
            throttled: 0,
            not_throttling_429: 0,
        };
        let r = recommend(&inputs).expect("there are responses");
        let cap = family.map_or(32_000, |f| f.max_output_cap);
        if let Some(v) = r.max_output_tokens {
            prop_assert!(v <= cap, "{} above the cap {}", v, cap);
            if let Some(c) = r.ceiling {
                prop_assert!(v <= c, "{} above the ceiling {}", v, c);
            }
            prop_assert!(v >= STEP.min(cap));
            // Above the thinking budget whenever the cap and the ceiling leave room for it.
            if let Some(t) = thinking {
                let room = (t + THINKING_ROOM).div_ceil(STEP) * STEP;
                if room <= cap && r.ceiling.is_none_or(|c| room <= c / STEP * STEP) {
                    prop_assert!(v > t, "{} not above the thinking budget {}", v, t);
                }
            }
        }
        prop_assert!(r.what_if.iter().all(|w| (0.0..=1.0).contains(&w.truncated_share)));
    }
}
