//! Requests refused while nothing of the history's own ran: load the history does not hold.
//!
//! Under every reading of how the quota is counted ([`Reading`]), a request is admitted when
//! the bucket holds its reservation, and the bucket, refilled at the quota a minute, holds at
//! most a minute's quota, which is at least the largest reservation ever admitted. So a
//! request sent after the history's own requests had all ended, long enough before for the
//! bucket to have refilled, meets a bucket that holds it: it is admitted at once. One that was
//! refused then, with still none of the history's own admitted until it got through on a
//! later attempt (or, one the quota holds, until it was refused for good), was refused for
//! load the history does not show: someone else's on a shared quota, another install's, or
//! sessions whose transcripts are gone.
//!
//! How long is long enough, per reading, from the history alone (each bound errs towards
//! "not alone"):
//! - the bucket refills at the reading's quota a minute: the one the fit gives it
//!   ([`Quiet::alone`]), and at least `R_max`, the largest reservation of the model's
//!   admitted requests (no smaller quota would have admitted it);
//! - a request's charge at its end (input and cache writes, and its output at the burndown
//!   rate) exceeds its reservation only where max output is reserved plainly: by at most
//!   `(B − 1) × output` (less the cache reads, where those are reserved). Those excesses are
//!   the only way the bucket goes below empty; the deficit they can leave is tracked over the
//!   history, each refilled at the least rate (`R_max` a minute: at a larger quota the deficit
//!   is only smaller);
//! - a request with reservation `R`, sent `quiet` after the last of the history's own ended,
//!   with deficit bound `D` then, meets a bucket holding at least `quiet × Q/min − D`: alone
//!   when that is at least `R`.
//!
//! Every admitted request of any model counts as the history's own load (fewer are alone), and
//! so does a record of an error that is not throttling (a request the chains do not hold: a
//! dropped stream, a timeout); a request before which the history holds none is not judged
//! (what ran before the history began is not known). A request counts only where it is alone
//! under every reading, and the readings are ruled out only by several such requests, a
//! share of those refused ([`Alone::rules_out`]): what the history does not show of the
//! user's own (a request interrupted by the user leaves no response, yet held the quota) is
//! a request here and there, not a pattern.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::chains::{Chain, Ended, Request};
use super::limits::Kept;
use super::replay::Quota;
use crate::reading::Reading;
use crate::time::EpochMs;

/// One request refused then admitted: what the test needs of it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    sent: EpochMs,
    admitted: EpochMs,
    end: EpochMs,
    input: u64,
    cache_read: u64,
    limit: u64,
    /// Refused on every attempt (`admitted` is then its last attempt, and it holds no span of
    /// the history's own).
    failed: bool,
    /// The latest end of the history's other admitted requests admitted no later than it
    /// (`EpochMs::MIN`: none).
    before: EpochMs,
    /// The deficit bound at `before`, per reading.
    deficit: [f64; 4],
}

/// The requests refused while alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Alone {
    pub requests: u64,
    /// Of them, those refused on every attempt.
    pub failed: u64,
    /// When the earliest of them was sent.
    pub first: Option<EpochMs>,
    /// The shortest quiet among them: how long after the last of the history's own had ended
    /// it was sent, in milliseconds.
    pub quiet_ms: u64,
    /// The model's requests refused at least once (admitted in the end or not): what they
    /// are weighed against.
    pub refused: u64,
}

impl Alone {
    /// At least this many requests refused alone, and ...
    pub const FEWEST: u64 = 3;
    /// ... at least this share of the requests refused, rule the readings out: a request or
    /// two whose quiet the history does not show in full (one the user interrupted, whose
    /// reservation held the quota and which leaves no response; a transcript gone) are not
    /// others' load, and a share that small is within the noise the fit allows its count.
    pub const SHARE: f64 = 0.25;

    /// Whether they rule the readings out: enough of them. Where they are every request
    /// refused, the history's own load was never refused and the 429s are all others': the
    /// readings, which fit a quota to them as the history's own, rule out as well (the trial of
    /// 2026-12-07: three requests refused to the end, alone, and a value lowered for them).
    pub fn rules_out(&self) -> bool {
        self.requests >= Self::FEWEST && self.requests as f64 >= Self::SHARE * self.refused as f64
    }
}

/// The model's requests refused then admitted after a quiet time, gathered from the chains
/// (which the plan then takes) to be judged against each reading's quota once it is fitted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quiet {
    /// Each reading's largest reservation of the model's admitted requests: its quota is at
    /// least that.
    most: [f64; 4],
    judged: Vec<Judged>,
    /// The model's requests refused at least once (admitted in the end or not).
    refused: u64,
}

/// One request refused then admitted, sent `quiet` ms after the last of the history's own
/// ended.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Judged {
    sent: EpochMs,
    failed: bool,
    quiet: f64,
    /// Per reading, what the bucket must have refilled by then for it to be let in at once:
    /// its reservation and the deficit bound when the last ended.
    need: [f64; 4],
    /// Per reading, its reservation where it was refused on every attempt (the quota must hold
    /// it: one that does not is never let in, alone or not); 0 where it got through.
    holds: [f64; 4],
}

impl Quiet {
    /// Whether request `j` is alone under reading `k` at a quota of `tpm` (refilling at `tpm`
    /// a minute; at least the largest reservation it admitted).
    fn alone_at(&self, j: &Judged, k: usize, tpm: f64) -> bool {
        let quota = tpm.max(self.most[k]);
        j.quiet * quota / 60_000.0 >= j.need[k] && j.holds[k] <= quota
    }

    /// The requests alone under every reading, each at its quota (`tpm[k]`, in the order
    /// [`gather`] was given the readings): no reading refuses them.
    pub fn alone(&self, tpm: &[f64]) -> Alone {
        let mut out = Alone { refused: self.refused, ..Alone::default() };
        let every = |j: &&Judged| tpm.iter().enumerate().all(|(k, &q)| self.alone_at(j, k, q));
        for j in self.judged.iter().filter(every) {
            out.requests += 1;
            out.failed += u64::from(j.failed);
            let quiet = j.quiet as u64;
            out.quiet_ms = if out.first.is_none() { quiet } else { out.quiet_ms.min(quiet) };
            out.first = Some(out.first.map_or(j.sent, |f| f.min(j.sent)));
        }
        out
    }
}

/// The model's requests (`units`, of `chains`) refused then admitted after a quiet time (no
/// admitted request running, and none of `busy` happening: the times of records that tell
/// of a request the chains do not hold, a non-throttling error of one), with what each
/// reading needs of the bucket for them (see the module's documentation; each
/// deficit bound refilled at the least rate the reading allows, so that at a larger quota it
/// is only larger than the deficit can be).
pub fn gather(
    chains: &[Chain<'_>],
    busy: impl Iterator<Item = EpochMs>,
    units: Kept<'_>,
    burndown: f64,
    readings: &[Reading],
) -> Quiet {
    let admitted = |r: &Request<'_>| r.ended() != Ended::Throttled;
    // The model's refused requests, and the largest reservation it admitted.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut most = [0.0f64; 4];
    let mut refused = 0;
    for u in units {
        for r in &chains[u.chain()].requests[u.first()..=u.last()] {
            if admitted(r) {
                for (k, reading) in readings.iter().enumerate() {
                    most[k] = most[k].max(reserves(reading, burndown, r.input(), r.cache_read(), u.limit()));
                }
            }
            if r.throttled() > 0 {
                refused += 1;
                candidates.push(Candidate {
                    sent: r.start(),
                    // Refused to the end: its last attempt.
                    admitted: if admitted(r) { r.admitted() } else { r.end() },
                    end: r.end(),
                    input: r.input(),
                    cache_read: r.cache_read(),
                    limit: u.limit(),
                    failed: !admitted(r),
                    before: EpochMs::MIN,
                    deficit: [0.0; 4],
                });
            }
        }
    }
    if candidates.is_empty() {
        return Quiet { most, judged: Vec::new(), refused };
    }
    let requests = || chains.iter().flat_map(|c| c.requests.iter()).filter(|r| admitted(r));
    // The two latest ends among the requests admitted up to each candidate (each request in
    // the slot of the first candidate admitted no earlier), then over all slots up to it: the
    // latest other than its own.
    candidates.sort_unstable_by_key(|c| c.admitted);
    let mut slots = vec![(EpochMs::MIN, EpochMs::MIN); candidates.len()];
    let push = |slot: &mut (EpochMs, EpochMs), end: EpochMs| {
        if end >= slot.0 {
            *slot = (end, slot.0);
        } else if end > slot.1 {
            slot.1 = end;
        }
    };
    // Each admitted request from its admission to its end, and each of `busy` at its time.
    for (admitted, end) in requests().map(|r| (r.admitted(), r.end())).chain(busy.map(|t| (t, t))) {
        let at = candidates.partition_point(|c| c.admitted < admitted);
        if let Some(slot) = slots.get_mut(at) {
            push(slot, end);
        }
    }
    let mut upto = (EpochMs::MIN, EpochMs::MIN);
    for (c, slot) in candidates.iter_mut().zip(&slots) {
        push(&mut upto, slot.0);
        push(&mut upto, slot.1);
        c.before = if upto.0 == c.end && !c.failed { upto.1 } else { upto.0 };
    }
    drop(slots);
    // Only those sent after the last other had ended are judged (a team's history has few).
    candidates.retain(|c| c.before != EpochMs::MIN && c.before < c.sent);
    candidates.shrink_to_fit();
    // The deficit bound at each candidate's `before`: the excesses settled in the order of
    // the requests' ends (a chain's requests run one after another, so each chain's ends are
    // in order), each refilled at the least rate. Reserving max output at the burndown rate,
    // an end charges no more than was reserved: no deficit, no pass.
    let plain = readings.iter().any(|r| !r.burndown_reservation);
    let rate: Vec<f64> = most.iter().map(|m| m / 60_000.0).collect();
    let excess = |reading: &Reading, r: &Request<'_>| {
        if reading.burndown_reservation {
            return 0.0;
        }
        let read = if reading.cache_reads_reserved { r.cache_read() as f64 } else { 0.0 };
        ((burndown - 1.0) * r.output() as f64 - read).max(0.0)
    };
    candidates.sort_unstable_by_key(|c| c.before);
    // The chains join the merge when one of them may have ended (the chains come about in the
    // order of their first records: each joins once the earliest first request of it and
    // every chain after it is past), so that the heap holds the chains running, not all.
    let mut ends: BinaryHeap<Reverse<(EpochMs, u32, u32)>> = BinaryHeap::new();
    let chains_in_pass = if plain && !candidates.is_empty() { chains.len() } else { 0 };
    let mut earliest: Vec<EpochMs> = chains[..chains_in_pass]
        .iter()
        .map(|c| c.requests.first().map_or(EpochMs::MAX, |r| r.start().min(r.end())))
        .collect();
    for i in (1..earliest.len()).rev() {
        earliest[i - 1] = earliest[i - 1].min(earliest[i]);
    }
    let next = |ends: &mut BinaryHeap<Reverse<(EpochMs, u32, u32)>>, ci: usize, from: usize| {
        if let Some(j) = chains[ci].requests[from..].iter().position(admitted) {
            let j = from + j;
            ends.push(Reverse((chains[ci].requests[j].end(), ci as u32, j as u32)));
        }
    };
    let (mut deficit, mut last, mut joined) = ([0.0f64; 4], EpochMs::MIN, 0);
    for c in candidates.iter_mut() {
        loop {
            while joined < earliest.len() && earliest[joined] <= c.before {
                next(&mut ends, joined, 0);
                joined += 1;
            }
            let Some(&Reverse((end, ci, j))) = ends.peek() else { break };
            if end > c.before {
                break;
            }
            ends.pop();
            let r = &chains[ci as usize].requests[j as usize];
            let since = if last == EpochMs::MIN { 0.0 } else { end.saturating_sub(last).max(0) as f64 };
            last = last.max(end);
            for (k, reading) in readings.iter().enumerate() {
                deficit[k] = (deficit[k] - rate[k] * since).max(0.0) + excess(reading, r);
            }
            next(&mut ends, ci as usize, j as usize + 1);
        }
        c.deficit = deficit;
    }
    drop((ends, earliest));
    let judged = candidates
        .iter()
        .map(|c| {
            let (mut need, mut holds) = ([f64::INFINITY; 4], [0.0; 4]);
            for (k, reading) in readings.iter().enumerate() {
                let r = reserves(reading, burndown, c.input, c.cache_read, c.limit);
                need[k] = r + c.deficit[k];
                holds[k] = if c.failed { r } else { 0.0 };
            }
            Judged { sent: c.sent, failed: c.failed, quiet: c.sent.saturating_sub(c.before) as f64, need, holds }
        })
        .collect();
    Quiet { most, judged, refused }
}

/// What a request reserves under `reading`, as the replay's quota reserves it.
fn reserves(reading: &Reading, burndown: f64, input: u64, cache_read: u64, limit: u64) -> f64 {
    Quota::new(0.0, burndown, *reading).reserves(input as f64, cache_read as f64, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::limits::{Unit, UnitKind};

    /// For each of `readings` (at most four), the model's requests (`units`, of `chains`) refused
    /// then admitted while alone under it at the least quota it can have (see the module's
    /// documentation), at burndown `burndown`.
    fn refused_alone(chains: &[Chain<'_>], units: Kept<'_>, burndown: f64, readings: &[Reading]) -> Vec<Alone> {
        let quiet = gather(chains, std::iter::empty(), units, burndown, readings);
        (0..readings.len())
            .map(|k| {
                let mut tpm = vec![f64::INFINITY; readings.len()];
                tpm[k] = 0.0;
                // Under reading `k` at its least quota, every other at an endless one.
                quiet.alone(&tpm)
            })
            .collect()
    }

    const FIVE: Reading = Reading { cache_reads_reserved: false, burndown_reservation: true };
    const ONE: Reading = Reading { cache_reads_reserved: false, burndown_reservation: false };
    const ONE_READS: Reading = Reading { cache_reads_reserved: true, burndown_reservation: false };

    /// A request sent at `sent` s, admitted at `admitted` s after `throttled` refusals, ended
    /// at `end` s: 1,000 input, `read` cache reads, `output` written.
    fn req(sent: i64, admitted: i64, end: i64, throttled: u32, output: u64, read: u64) -> Request<'static> {
        Request::answered("m", sent * 1000, end * 1000)
            .with(|r| {
                r.set_times(sent * 1000, admitted * 1000, end * 1000);
                r.set_throttled(throttled);
            })
            .with_tokens(1_000, read, output)
    }

    /// Each request its own unit, at `limit`.
    fn units_of(chains: &[Chain<'_>], limit: u64) -> Vec<Unit> {
        let response = UnitKind::Response { output: 0, cut: false, complete: true, estimated: false };
        chains
            .iter()
            .enumerate()
            .flat_map(|(c, ch)| (0..ch.requests.len()).map(move |j| Unit::new(c, j, j, response, limit)))
            .collect()
    }

    fn run(chains: &[Chain<'_>], readings: &[Reading]) -> Vec<u64> {
        let units = units_of(chains, 8_000);
        let kept: Vec<u32> = (0..units.len() as u32).collect();
        refused_alone(chains, Kept::new(&units, &kept), 5.0, readings).iter().map(|a| a.requests).collect()
    }

    fn chain(requests: Vec<Request<'static>>) -> Chain<'static> {
        Chain::of_test("s", "p", None, false, requests)
    }

    /// One request of 1,000 input written 1,000 in 10 s; the next sent 70 s after it ended,
    /// refused once, admitted 2 s later. At 5× the largest reservation is 1,000 + 5 × 8,000 =
    /// 41,000, refilled in 70 s to 70/60 × 41,000 = 47,833 ≥ 41,000: alone. Reserved plainly,
    /// 1,000 + 8,000 = 9,000 a minute, the first's end charged (5 − 1) × 1,000 = 4,000 beyond:
    /// 70/60 × 9,000 − 4,000 = 6,500 < 9,000, not alone; 90 s after it, 13,500 − 4,000 = 9,500:
    /// alone.
    #[test]
    fn the_quiet_needed_is_each_readings_own() {
        let at = |gap: i64| vec![chain(vec![req(0, 0, 10, 0, 1_000, 0), req(10 + gap, 12 + gap, 20 + gap, 1, 500, 0)])];
        assert_eq!(run(&at(70), &[FIVE, ONE]), [1, 0]);
        assert_eq!(run(&at(90), &[FIVE, ONE]), [1, 1]);
        // 86 s: 12,900 − 4,000 = 8,900 < 9,000; 87 s: 13,050 − 4,000 = 9,050.
        assert_eq!(run(&at(86), &[ONE]), [0]);
        assert_eq!(run(&at(87), &[ONE]), [1]);
        // Under a minute, not even at 5×: 59/60 × 41,000 = 40,317 < 41,000.
        assert_eq!(run(&at(59), &[FIVE]), [0]);
    }

    /// Cache reads reserved count in the largest reservation and the request's, and are taken
    /// off the end's excess: 1,000 + 2,000 + 8,000 = 11,000 a minute, the excess 4,000 − 2,000
    /// = 2,000; the second reserves 1,000 + 2,000 + 8,000 = 11,000 too. 70 s: 12,833 − 2,000
    /// = 10,833 < 11,000; 72 s: 13,200 − 2,000 = 11,200.
    #[test]
    fn cache_reads_reserved_count_both_ways() {
        let at = |gap: i64| {
            vec![chain(vec![req(0, 0, 10, 0, 1_000, 2_000), req(10 + gap, 12 + gap, 20 + gap, 1, 500, 2_000)])]
        };
        assert_eq!(run(&at(70), &[ONE_READS]), [0]);
        assert_eq!(run(&at(72), &[ONE_READS]), [1]);
    }

    /// Another request running at any time from the quiet before it to its admission, of any
    /// chain, makes it not alone; one admitted after it does not.
    #[test]
    fn anything_running_beside_it_is_load_of_the_history() {
        let alone = chain(vec![req(0, 0, 10, 0, 1_000, 0), req(200, 202, 210, 1, 500, 0)]);
        for (other, expected) in [
            (req(150, 150, 195, 0, 10, 0), 0), // ended 5 s before it was sent
            (req(190, 190, 201, 0, 10, 0), 0), // running when it was sent
            (req(201, 201, 230, 0, 10, 0), 0), // admitted between its refusal and admission
            (req(203, 203, 230, 0, 10, 0), 1), // admitted after it: not in its way
            (req(20, 20, 30, 0, 10, 0), 1),    // long before
        ] {
            let chains = [alone.clone(), chain(vec![other.clone()])];
            assert_eq!(run(&chains, &[FIVE]), [expected], "{other:?}");
        }
        // A request refused for good was never admitted: it takes nothing.
        let failed = req(190, 240, 240, 11, 0, 0).with(|r| r.set_ended(Ended::Throttled));
        assert_eq!(run(&[alone.clone(), chain(vec![failed])], &[FIVE]), [1]);
    }

    /// At a reading's fitted quota the bucket refills faster than at the least it can have: 45 s
    /// after the first ended, 45/60 × 41,000 = 30,750 < 41,000 at 5×, not alone; at a fitted
    /// 60,000, 45,000 ≥ 41,000, alone. A quota below the largest reservation refills at that.
    /// Under two readings, a request is alone only where it is under each. A record of an error
    /// that is not throttling (`busy`) between makes it not alone.
    #[test]
    fn judged_at_the_fitted_quota_under_every_reading() {
        let chains = [chain(vec![req(0, 0, 10, 0, 1_000, 0), req(55, 57, 60, 1, 500, 0)])];
        let units = units_of(&chains, 8_000);
        let kept: Vec<u32> = (0..units.len() as u32).collect();
        let quiet = gather(&chains, std::iter::empty(), Kept::new(&units, &kept), 5.0, &[FIVE, ONE]);
        // Plainly reserved: 9,000 a minute, the first's excess 4,000: 45/60 × q − 4,000 ≥ 9,000
        // from q = 17,334.
        assert_eq!(quiet.alone(&[0.0, 1e9]).requests, 0);
        assert_eq!(quiet.alone(&[40_000.0, 1e9]).requests, 0);
        let a = quiet.alone(&[60_000.0, 1e9]);
        assert_eq!((a.requests, a.first, a.quiet_ms, a.refused), (1, Some(55_000), 45_000, 1));
        assert_eq!(quiet.alone(&[60_000.0, 17_000.0]).requests, 0);
        assert_eq!(quiet.alone(&[60_000.0, 17_400.0]).requests, 1);
        // An error of another kind 30 s before it was sent.
        let quiet = gather(&chains, [25_000].into_iter(), Kept::new(&units, &kept), 5.0, &[FIVE]);
        assert_eq!(quiet.alone(&[60_000.0]).requests, 0);
        assert_eq!(quiet.alone(&[100_000.0]).requests, 1, "30/60 × 100,000 = 50,000 ≥ 41,000");
    }

    /// Three or more requests alone, a quarter or more of those refused, rule the readings out,
    /// all of them too; a request or two do not.
    #[test]
    fn three_alone_and_a_quarter_rule_out() {
        let of = |requests, refused| Alone { requests, failed: 0, first: Some(0), quiet_ms: 60_000, refused };
        assert!(of(3, 12).rules_out());
        assert!(!of(2, 3).rules_out(), "too few");
        assert!(!of(3, 13).rules_out(), "under a quarter");
        assert!(of(5, 5).rules_out(), "every refused request alone");
        assert!(!of(1, 1).rules_out(), "one stray 429");
        assert!(!Alone::default().rules_out());
    }

    /// A request refused on every attempt counts where the quota holds it, not where it is
    /// larger than the quota (never let in, alone or not).
    #[test]
    fn refused_to_the_end_counts_where_the_quota_holds_it() {
        let failed = req(100, 130, 130, 11, 0, 0).with(|r| r.set_ended(Ended::Throttled));
        let chains = [chain(vec![req(0, 0, 10, 0, 1_000, 0), failed])];
        let units = units_of(&chains, 8_000);
        let kept: Vec<u32> = (0..units.len() as u32).collect();
        let quiet = gather(&chains, std::iter::empty(), Kept::new(&units, &kept), 5.0, &[FIVE]);
        // It reserves 41,000, as the first did: 90 s of quiet holds it from 27,334 a minute.
        assert_eq!(quiet.alone(&[0.0]).requests, 1);
        // Made to reserve more than any quota the reading gives.
        let big = req(100, 130, 130, 11, 0, 0).with(|r| r.set_ended(Ended::Throttled)).with_tokens(500_000, 0, 0);
        let chains = [chain(vec![req(0, 0, 10, 0, 1_000, 0), big])];
        let quiet = gather(&chains, std::iter::empty(), Kept::new(&units, &kept), 5.0, &[FIVE]);
        assert_eq!(quiet.alone(&[200_000.0]).requests, 0);
        assert_eq!(quiet.alone(&[600_000.0]).requests, 1);
    }

    /// What ran before the history began is not known: its first request is not judged, nor
    /// is one never refused.
    #[test]
    fn the_first_request_and_the_unrefused_are_not_judged() {
        assert_eq!(run(&[chain(vec![req(0, 5, 10, 1, 1_000, 0)])], &[FIVE]), [0]);
        assert_eq!(run(&[chain(vec![req(0, 0, 10, 0, 1_000, 0), req(500, 500, 510, 0, 9, 0)])], &[FIVE]), [0]);
    }

    /// The count, and the first, against a plain search of every pair on made-up histories:
    /// each chain's requests one after another, some refused, some failed for good.
    #[test]
    fn matches_a_plain_search() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as i64
        };
        let readings = [FIVE, ONE, ONE_READS, Reading { cache_reads_reserved: true, burndown_reservation: true }];
        // Requests found alone under each reading, over all the histories.
        let mut found = [0u64; 4];
        for _ in 0..200 {
            let mut chains = Vec::new();
            for _ in 0..1 + next(4) {
                let mut t = next(3_000);
                let mut requests = Vec::new();
                for _ in 0..1 + next(6) {
                    let refused = next(3) == 0;
                    let wait = if refused { 1 + next(20) } else { 0 };
                    let end = t + wait + 1 + next(60);
                    let mut r = req(t, t + wait, end, u32::from(refused), next(8_000) as u64, next(20_000) as u64);
                    if refused && next(5) == 0 {
                        // Refused to the end: its last attempt is its end.
                        r.set_times(r.start(), end, end);
                        r.set_ended(Ended::Throttled);
                    }
                    requests.push(r);
                    t = end + next(400);
                }
                chains.push(chain(requests));
            }
            let units = units_of(&chains, 8_000);
            let kept: Vec<u32> = (0..units.len() as u32).collect();
            let got = refused_alone(&chains, Kept::new(&units, &kept), 5.0, &readings);
            let pairs = |a: &[Alone]| a.iter().map(|a| (a.requests, a.first)).collect::<Vec<_>>();
            assert_eq!(pairs(&got), pairs(&plain(&chains, 8_000, 5.0, &readings)), "{chains:?}");
            for (f, a) in found.iter_mut().zip(&got) {
                *f += a.requests;
            }
        }
        // The histories hold requests alone under every reading, more where less quiet is
        // needed (at 5×, no excess to refill).
        assert!(found.iter().all(|&f| f > 10), "{found:?}");
        assert!(found[0] > found[1], "{found:?}");
    }

    /// [`refused_alone`] by a search over every pair of requests.
    fn plain(chains: &[Chain<'_>], limit: u64, b: f64, readings: &[Reading]) -> Vec<Alone> {
        let all: Vec<&Request> =
            chains.iter().flat_map(|c| &c.requests).filter(|r| r.ended() != Ended::Throttled).collect();
        let failed: Vec<&Request> =
            chains.iter().flat_map(|c| &c.requests).filter(|r| r.ended() == Ended::Throttled).collect();
        let mut by_end = all.clone();
        by_end.sort_by_key(|r| r.end());
        readings
            .iter()
            .map(|reading| {
                let most =
                    all.iter().map(|r| reserves(reading, b, r.input(), r.cache_read(), limit)).fold(0.0, f64::max);
                let rate = most / 60_000.0;
                let mut out = Alone::default();
                // Each refused request: its place in `all` (none when refused to the end).
                let refused = (all.iter().enumerate().map(|(i, r)| (Some(i), *r)))
                    .chain(failed.iter().map(|r| (None, *r)))
                    .filter(|(_, r)| r.throttled() > 0);
                for (i, r) in refused {
                    let before = all
                        .iter()
                        .enumerate()
                        .filter(|&(j, o)| Some(j) != i && o.admitted() <= r.admitted())
                        .map(|(_, o)| o.end())
                        .max();
                    if i.is_none() && reserves(reading, b, r.input(), r.cache_read(), limit) > most {
                        continue;
                    }
                    let Some(before) = before.filter(|&e| e < r.start()) else { continue };
                    let (mut d, mut last) = (0.0f64, None::<i64>);
                    for o in by_end.iter().filter(|o| o.end() <= before) {
                        let since = last.map_or(0.0, |l| (o.end() - l) as f64);
                        let x = if reading.burndown_reservation {
                            0.0
                        } else {
                            let read = if reading.cache_reads_reserved { o.cache_read() as f64 } else { 0.0 };
                            ((b - 1.0) * o.output() as f64 - read).max(0.0)
                        };
                        d = (d - rate * since).max(0.0) + x;
                        last = Some(o.end());
                    }
                    if (r.start() - before) as f64 * rate - d >= reserves(reading, b, r.input(), r.cache_read(), limit)
                    {
                        out.requests += 1;
                        out.first = Some(out.first.map_or(r.start(), |f| f.min(r.start())));
                    }
                }
                out
            })
            .collect()
    }
}
