//! The load AWS asks for in a quota-increase request, from the history's timeline: steady
//! (median) and peak tokens a minute (output at the burndown rate) and requests a minute,
//! average input and output per request, per model.
//!
//! A request's tokens count in the minute it ended (when Bedrock settles its charge), the
//! request in the minute it was sent. Medians are over the minutes with any tokens (or
//! requests): the steady rate while working, not over idle nights.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use super::chains::{Chain, Ended};
use crate::time::EpochMs;

/// One model's load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelLoad {
    pub model: String,
    /// Quota tokens a minute: input + cache-write + burndown × output.
    pub tpm_p50: u64,
    pub tpm_peak: u64,
    pub rpm_p50: u64,
    pub rpm_peak: u64,
    /// Input and cache-write tokens, and output tokens, per answered request (a response: a
    /// request that failed carried no figure), so that the output is the output table's mean.
    pub input_mean: f64,
    pub output_mean: f64,
    /// The burndown the token figures use.
    pub burndown: f64,
    pub requests: u64,
}

/// Per model name (as `name_of` names a model id), busiest first.
pub fn per_model(
    chains: &[&Chain<'_>],
    name_of: &dyn Fn(&str) -> String,
    burndown_of: &dyn Fn(&str) -> f64,
) -> Vec<ModelLoad> {
    #[derive(Default)]
    struct Acc {
        /// (minute it ended, charge) of each answered request, and the minute each was sent
        /// (in 32 bits: [`minute`]).
        tokens: Vec<(i64, f64)>,
        sent: Vec<i32>,
        input: u128,
        output: u128,
        answered: u64,
        burndown: f64,
        /// Requests, and answered ones, counted before the lists are made.
        counted: (usize, usize),
    }
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    // Names are worked out once per model id; a chain's requests mostly share one id string.
    let mut names: HashMap<&str, String> = HashMap::new();
    // A request that no response named (failed before one did) is the only model's, if
    // there is only one.
    let ids: foldhash::HashSet<&str> = chains.iter().flat_map(|c| &c.requests).filter_map(|r| r.model()).collect();
    let only = if ids.iter().map(|id| name_of(id)).collect::<foldhash::HashSet<_>>().len() == 1 {
        ids.iter().next().copied()
    } else {
        None
    };
    // Each run of a chain's requests to one model id, with the id.
    let runs = || {
        chains
            .iter()
            .flat_map(|c| c.requests.chunk_by(|a, b| a.model().zip(b.model()).is_some_and(|(x, y)| std::ptr::eq(x, y))))
    };
    // Counted first, so that each list is made at its size: grown by doubling, a list leaves
    // its smaller copies behind beside the advice's own lists, at the run's peak.
    for run in runs() {
        let Some(model) = run[0].model().or(only) else { continue };
        let name = names.entry(model).or_insert_with(|| name_of(model));
        if !by.contains_key(name.as_str()) {
            by.insert(name.clone(), Acc { burndown: burndown_of(model), ..Acc::default() });
        }
        let acc = by.get_mut(name.as_str()).expect("inserted above");
        acc.counted.0 += run.len();
        acc.counted.1 += run.iter().filter(|r| r.ended == Ended::Response).count();
    }
    for acc in by.values_mut() {
        acc.sent = Vec::with_capacity(acc.counted.0);
        acc.tokens = Vec::with_capacity(acc.counted.1);
    }
    for run in runs() {
        let Some(model) = run[0].model().or(only) else { continue };
        let acc = by.get_mut(names[model].as_str()).expect("counted above");
        for r in run {
            acc.sent.push(minute_32(r.start));
            if r.ended == Ended::Response {
                acc.tokens.push((minute(r.end), r.input() as f64 + acc.burndown * r.output() as f64));
                acc.input += u128::from(r.input());
                acc.output += u128::from(r.output());
                acc.answered += 1;
            }
        }
    }
    let mut out: Vec<ModelLoad> = by
        .into_iter()
        .map(|(model, mut a)| {
            a.tokens.sort_unstable_by_key(|t| t.0);
            a.sent.sort_unstable();
            let mut tpm: Vec<u64> = a
                .tokens
                .chunk_by(|x, y| x.0 == y.0)
                .map(|m| m.iter().map(|t| t.1).sum::<f64>().round() as u64)
                .collect();
            let mut rpm: Vec<u64> = a.sent.chunk_by(|x, y| x == y).map(|m| m.len() as u64).collect();
            let requests = a.sent.len() as u64;
            let n = a.answered.max(1) as f64;
            ModelLoad {
                model,
                tpm_p50: median(&mut tpm),
                tpm_peak: tpm.iter().copied().max().unwrap_or(0),
                rpm_p50: median(&mut rpm),
                rpm_peak: rpm.iter().copied().max().unwrap_or(0),
                input_mean: a.input as f64 / n,
                output_mean: a.output as f64 / n,
                burndown: a.burndown,
                requests,
            }
        })
        .collect();
    out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.model.cmp(&b.model)));
    out
}

/// The minute a time falls in.
fn minute(t: EpochMs) -> i64 {
    t.div_euclid(60_000)
}

/// [`minute`] in 32 bits, which holds every minute of the times the readers keep (2020 to
/// 2100, [`crate::time::PLAUSIBLE`]); one outside the range counts as the nearest it holds.
fn minute_32(t: EpochMs) -> i32 {
    minute(t).clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

/// The nearest-rank median (0 when empty).
fn median(v: &mut [u64]) -> u64 {
    crate::stats::percentile_of(v, 50.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::chains::Request;

    fn req(start: i64, end: i64, input: u64, output: u64) -> Request<'static> {
        Request::answered("m", start, end).with_tokens(input, 0, output)
    }

    /// Every minute of a time the readers keep fits 32 bits whole; beyond, the nearest.
    #[test]
    fn minutes_in_32_bits() {
        for t in [0, 59_999, 60_000, -1, -60_000, -60_001] {
            assert_eq!(i64::from(minute_32(t)), minute(t), "{t}");
        }
        let plausible = crate::time::PLAUSIBLE;
        for t in [plausible.start, plausible.end - 1] {
            assert_eq!(i64::from(minute_32(t)), t / 60_000, "{t}");
        }
        assert_eq!(minute_32(i64::MAX), i32::MAX);
        assert_eq!(minute_32(i64::MIN), i32::MIN);
    }

    /// Minute 0: two requests sent, one ends (1,000 + 5 × 200 = 2,000). Minute 1: the other
    /// ends (3,000 + 5 × 1,000 = 8,000) and one more is sent. Minute 5: it ends (500 + 5 × 100
    /// = 1,000). TPM over minutes 0, 1, 5: 2,000, 8,000, 1,000: median 2,000, peak 8,000.
    /// RPM over minutes 0 and 1: 2, 1: median 1 (nearest rank), peak 2. A fourth request,
    /// refused until it failed, is sent but has no figures: the means are of the three
    /// answered (issue 23, item 5: the output table's mean).
    #[test]
    fn load_by_hand() {
        let m = 60_000;
        let chains = [Chain {
            stream: "s",
            project: "",
            cwd: None,
            requests: vec![
                req(0, 30_000, 1_000, 200),
                req(10_000, m + 5_000, 3_000, 1_000),
                req(m + 10_000, 5 * m, 500, 100),
                req(6 * m, 7 * m, 0, 0).with(|r| r.ended = Ended::Throttled),
            ],
        }];
        let load = per_model(&chains.iter().collect::<Vec<_>>(), &|_| "M".to_string(), &|_| 5.0);
        assert_eq!(load.len(), 1);
        let l = &load[0];
        assert_eq!((l.tpm_p50, l.tpm_peak, l.rpm_p50, l.rpm_peak), (2_000, 8_000, 1, 2));
        assert_eq!((l.input_mean, l.output_mean, l.requests), (1_500.0, 1_300.0 / 3.0, 4));
    }
}
