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
///
/// Summed a minute at a time as the requests are read: a team's load holds a few sums a
/// minute, not a figure a request (it is worked out beside the advice's first part, at one of
/// the run's peaks).
pub fn per_model(
    chains: &[&Chain<'_>],
    name_of: &dyn Fn(&str) -> String,
    burndown_of: &dyn Fn(&str) -> f64,
) -> Vec<ModelLoad> {
    #[derive(Default)]
    struct Acc {
        /// By the minute answered requests ended: their input (and cache writes) and output.
        tokens: HashMap<i64, (u64, u64)>,
        /// By the minute requests were sent: how many.
        sent: HashMap<i64, u64>,
        requests: u64,
        input: u128,
        output: u128,
        answered: u64,
        burndown: f64,
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
    // Each run of a chain's requests to one model id.
    let runs = chains
        .iter()
        .flat_map(|c| c.requests.chunk_by(|a, b| a.model().zip(b.model()).is_some_and(|(x, y)| std::ptr::eq(x, y))));
    for run in runs {
        let Some(model) = run[0].model().or(only) else { continue };
        let name = names.entry(model).or_insert_with(|| name_of(model));
        if !by.contains_key(name.as_str()) {
            by.insert(name.clone(), Acc { burndown: burndown_of(model), ..Acc::default() });
        }
        let acc = by.get_mut(name.as_str()).expect("inserted above");
        for r in run {
            acc.requests += 1;
            *acc.sent.entry(minute(r.start())).or_default() += 1;
            if r.ended() == Ended::Response {
                let minute = acc.tokens.entry(minute(r.end())).or_default();
                minute.0 += r.input();
                minute.1 += r.output();
                acc.input += u128::from(r.input());
                acc.output += u128::from(r.output());
                acc.answered += 1;
            }
        }
    }
    let mut out: Vec<ModelLoad> = by
        .into_iter()
        .map(|(model, a)| {
            let mut tpm: Vec<u64> =
                a.tokens.values().map(|&(input, output)| charge(input, output, a.burndown)).collect();
            let mut rpm: Vec<u64> = a.sent.into_values().collect();
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
                requests: a.requests,
            }
        })
        .collect();
    out.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.model.cmp(&b.model)));
    out
}

/// Quota tokens of a minute's `input` (with cache writes) and `output`, at `burndown`.
fn charge(input: u64, output: u64, burndown: f64) -> u64 {
    (input as f64 + burndown * output as f64).round() as u64
}

/// The minute a time falls in.
fn minute(t: EpochMs) -> i64 {
    t.div_euclid(60_000)
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

    /// The load of one chain of `requests`, its model named "M", at `burndown`.
    fn of_one_chain(requests: Vec<Request<'static>>, burndown: f64) -> Vec<ModelLoad> {
        let chains = [Chain::of_test("s", "", None, false, requests)];
        per_model(&chains.iter().collect::<Vec<_>>(), &|_| "M".to_string(), &|_| burndown)
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
        let load = of_one_chain(
            vec![
                req(0, 30_000, 1_000, 200),
                req(10_000, m + 5_000, 3_000, 1_000),
                req(m + 10_000, 5 * m, 500, 100),
                req(6 * m, 7 * m, 0, 0).with(|r| r.set_ended(Ended::Throttled)),
            ],
            5.0,
        );
        assert_eq!(load.len(), 1);
        let l = &load[0];
        assert_eq!((l.tpm_p50, l.tpm_peak, l.rpm_p50, l.rpm_peak), (2_000, 8_000, 1, 2));
        assert_eq!((l.input_mean, l.output_mean, l.requests), (1_500.0, 1_300.0 / 3.0, 4));
    }

    /// A minute's charge is its sums' and rounded once: two requests ending in minute 0,
    /// each 1 input and 1 output at a burndown of 0.25 (1.25 each), make 2.5 there, shown as
    /// 3 (each rounded first would make 2); one alone in minute 1 makes 1.25, shown as 1.
    #[test]
    fn a_minute_is_rounded_once() {
        let m = 60_000;
        let load = of_one_chain(vec![req(0, 1_000, 1, 1), req(2_000, 3_000, 1, 1), req(m, m + 1_000, 1, 1)], 0.25);
        assert_eq!((load[0].tpm_peak, load[0].rpm_peak, load[0].rpm_p50), (3, 2, 1));
        assert_eq!(charge(1, 1, 0.25), 1);
    }

    /// The review's case (RELIABILITY.md): three requests ending in one minute, (input,
    /// output) (0, 24), (10, 2,632) and (10, 39) at a burndown of 4.7: 12,686.5 exactly, shown
    /// as 12,687 (each request's charge summed in floating point came to 12,686.499999999998).
    #[test]
    fn the_reviews_minute_is_rounded_from_its_sums() {
        let load =
            of_one_chain(vec![req(0, 1_000, 0, 24), req(2_000, 3_000, 10, 2_632), req(4_000, 5_000, 10, 39)], 4.7);
        assert_eq!(load[0].tpm_peak, 12_687);
    }
}
