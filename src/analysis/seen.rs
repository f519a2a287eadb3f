//! What the history shows of one model's requests, beyond their sizes: how many were in
//! flight at once, who was in flight when some were throttled, how much of a cut response
//! was thinking, which Bedrock endpoint the ids name.

use super::chains::{Chain, Request};
use super::limits::{Kept, UnitKind};
use crate::models::{self, Family};
use crate::scan::data::is_subagent;
use crate::time::EpochMs;

/// Who was in flight when requests were throttled (the history as it was).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crowding {
    /// Requests that were throttled at least once.
    pub throttled_requests: u64,
    /// On average over those, the requests in flight when each was first sent.
    pub mean_in_flight: f64,
    /// Of those in flight, on average, how many were subagents'.
    pub mean_subagents: f64,
    /// The most subagent requests in flight at once at such a moment.
    pub most_subagents: u64,
}

/// Where a Bedrock quota is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCode {
    /// `in-region`, `cross-region` or `global`: the kind of inference endpoint the ids name.
    pub endpoint: &'static str,
    /// The Service Quotas code of its tokens-per-minute quota, where known.
    pub code: Option<String>,
}

/// Cut responses whose usage splits out thinking, and how many of them spent more than half
/// their limit thinking.
pub fn cut_thinking(chains: &[Chain], units: Kept<'_>) -> (u64, u64) {
    let mut with = 0;
    let mut most = 0;
    for u in units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { cut: true, .. })) {
        if let Some(t) = chains[u.chain()].requests[u.first()].thinking() {
            with += 1;
            most += u64::from(t.saturating_mul(2) > u.limit());
        }
    }
    (with, most)
}

/// Who was in flight when the model's requests were first sent, for those that were
/// throttled: a sweep over the requests' times (from getting through to the end).
pub fn crowding(chains: &[Chain], units: Kept<'_>) -> Option<Crowding> {
    let requests = || {
        units.iter().flat_map(|u| {
            let sub = is_subagent(chains[u.chain()].stream());
            chains[u.chain()].requests[u.first()..=u.last()].iter().map(move |r| (r, sub, u.kind()))
        })
    };
    match span_in_32_bits(requests().flat_map(|(r, ..)| [r.start(), r.admitted(), r.end()])) {
        Some((from, true)) => crowding_as::<u32, _>(requests, from),
        _ => crowding_as::<EpochMs, _>(requests, 0),
    }
}

/// [`crowding`], its moments held as `T`.
fn crowding_as<'c, T: Moment, I: Iterator<Item = (&'c Request<'c>, bool, UnitKind)>>(
    requests: impl Fn() -> I,
    from: EpochMs,
) -> Option<Crowding> {
    let mut asks: Vec<T> =
        requests().filter(|(r, ..)| r.throttled() > 0).map(|(r, ..)| T::of(r.start(), from)).collect();
    if asks.is_empty() {
        return None;
    }
    asks.sort_unstable();
    // In flight from getting through to the end, the main sessions' and the subagents'
    // apart (counted first, so that each list is made at its size).
    let in_flight = || requests().filter(|(r, _, kind)| r.end() > r.admitted() && *kind != UnitKind::Failed);
    let (n_subs, n_all) = in_flight().fold((0, 0), |(s, a), (_, sub, _)| (s + usize::from(sub), a + 1));
    let [mut main, mut subs] = [Open::with_capacity(n_all - n_subs), Open::with_capacity(n_subs)];
    for (r, sub, _) in in_flight() {
        (if sub { &mut subs } else { &mut main }).add(T::of(r.admitted(), from), T::of(r.end(), from));
    }
    main.sort();
    subs.sort();
    let (mut sum_all, mut sum_subs, mut most) = (0i64, 0i64, 0i64);
    for &t in &asks {
        let (m, s) = (main.at(t), subs.at(t));
        sum_all += m + s;
        sum_subs += s;
        most = most.max(s);
    }
    Some(Crowding::of_sums(asks.len(), sum_all, sum_subs, most))
}

impl Crowding {
    /// From the sums over `asks` throttled requests of those in flight and of the subagents
    /// among them, and the most subagents at once.
    fn of_sums(asks: usize, sum_all: i64, sum_subs: i64, most: i64) -> Self {
        let n = asks as f64;
        Crowding {
            throttled_requests: asks as u64,
            mean_in_flight: sum_all as f64 / n,
            mean_subagents: sum_subs as f64 / n,
            most_subagents: most.max(0) as u64,
        }
    }
}

/// The kind of Bedrock endpoint the model's ids name, and its quota's code where known.
pub fn quota_code(raw_ids: &[&str], family: Option<&Family>) -> Option<QuotaCode> {
    let endpoint = raw_ids.iter().find_map(|id| models::id::endpoint(id))?;
    let codes = family.map(|f| &f.quota_codes);
    let code = codes.and_then(|c| match endpoint {
        "global" => c.global.clone(),
        "cross-region" => c.cross_region.clone(),
        _ => c.in_region.clone(),
    });
    Some(QuotaCode { endpoint, code })
}

/// A moment as a sweep holds it: the time itself, or its offset in 32 bits from the
/// earliest of the sweep's times where they span at most 49 days (half the memory of a
/// team's lists, which hold one or two a request). The order is the times'.
trait Moment: Ord + Copy {
    fn of(t: EpochMs, from: EpochMs) -> Self;
}

/// The earliest of `times`, and whether they all lie within 32 bits of it (`None`: no times).
fn span_in_32_bits(times: impl Iterator<Item = EpochMs>) -> Option<(EpochMs, bool)> {
    let (lo, hi) = crate::time::span(times)?;
    Some((lo, hi.checked_sub(lo).is_some_and(|d| d <= EpochMs::from(u32::MAX))))
}

impl Moment for EpochMs {
    fn of(t: EpochMs, _: EpochMs) -> Self {
        t
    }
}

impl Moment for u32 {
    fn of(t: EpochMs, from: EpochMs) -> Self {
        u32::try_from(t - from).expect("within the span")
    }
}

/// Intervals, to count how many are open at moments taken in time order: their starts and
/// their ends sorted apart (a moment each, where a list of edges took a moment and a tag).
#[derive(Default)]
struct Open<T> {
    starts: Vec<T>,
    ends: Vec<T>,
    /// The starts and the ends at or before the last moment asked.
    started: usize,
    ended: usize,
}

impl<T: Moment> Open<T> {
    fn with_capacity(n: usize) -> Self {
        Open { starts: Vec::with_capacity(n), ends: Vec::with_capacity(n), started: 0, ended: 0 }
    }

    fn add(&mut self, from: T, to: T) {
        self.starts.push(from);
        self.ends.push(to);
    }

    fn sort(&mut self) {
        self.starts.sort_unstable();
        self.ends.sort_unstable();
    }

    /// How many started at or before `t` less how many ended at or before it (`t` no earlier
    /// than the moment asked before).
    fn at(&mut self, t: T) -> i64 {
        while self.started < self.starts.len() && self.starts[self.started] <= t {
            self.started += 1;
        }
        while self.ended < self.ends.len() && self.ends[self.ended] <= t {
            self.ended += 1;
        }
        self.started as i64 - self.ended as i64
    }
}

/// The most of the model's requests in flight at once in the history, from getting through
/// to the end. When none got through, the most retrying at once (first attempt to last).
pub fn peak_in_flight(chains: &[Chain], units: Kept<'_>) -> u64 {
    let answered = units.iter().any(|u| u.kind() != UnitKind::Failed);
    let requests = units
        .iter()
        .filter(|u| (u.kind() != UnitKind::Failed) == answered)
        .flat_map(|u| &chains[u.chain()].requests[u.first()..=u.last()]);
    most_at_once(requests.map(|r| (if answered { r.admitted() } else { r.start() }, r.end())))
}

/// The most of the model's requests sent at once in the history: from the first attempt to
/// the end, waiting on the quota or running. What the work asked to run at once, where
/// [`peak_in_flight`] counts what the quota let run.
pub fn peak_sent(chains: &[Chain], units: Kept<'_>) -> u64 {
    most_at_once(
        units.iter().flat_map(|u| &chains[u.chain()].requests[u.first()..=u.last()]).map(|r| (r.start(), r.end())),
    )
}

/// The most intervals `[from, to)` open at once (an end at the same instant as a start
/// closes first; an empty interval is never open).
///
/// An `Open` sized once (the intervals are counted first): a team's history has one
/// interval a request.
pub fn most_at_once(intervals: impl Iterator<Item = (EpochMs, EpochMs)> + Clone) -> u64 {
    let nonempty = |&(from, to): &(EpochMs, EpochMs)| to > from;
    let intervals = intervals.filter(nonempty);
    match span_in_32_bits(intervals.clone().flat_map(|(from, to)| [from, to])) {
        Some((first, true)) => most_at_once_as::<u32>(intervals, first),
        _ => most_at_once_as::<EpochMs>(intervals, 0),
    }
}

/// [`most_at_once`] of nonempty intervals, their moments held as `T`.
fn most_at_once_as<T: Moment>(intervals: impl Iterator<Item = (EpochMs, EpochMs)> + Clone, first: EpochMs) -> u64 {
    let mut open = Open::with_capacity(intervals.clone().count());
    for (from, to) in intervals {
        open.add(T::of(from, first), T::of(to, first));
    }
    open.sort();
    // The most are open at a start, the ends up to it closed first.
    (0..open.starts.len()).map(|i| open.at(open.starts[i])).max().map_or(0, |most| most as u64)
}

/// Throttled attempts the history records for these units.
pub fn observed_throttled(chains: &[Chain], units: Kept<'_>) -> u64 {
    units.iter().flat_map(|u| &chains[u.chain()].requests[u.first()..=u.last()]).map(|r| u64::from(r.throttled())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::chains::Request;
    use crate::analysis::limits::Unit;

    /// A pseudo-random number generator for the tests (xorshift).
    fn numbers() -> impl FnMut(u64) -> i64 {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as i64
        }
    }

    /// Crowding as a sweep over one sorted list of edges (+1 at getting through, -1 at the
    /// end) finds it: the reference the two sorted lists are checked against.
    fn crowding_by_edges(chains: &[Chain], units: Kept<'_>) -> Option<Crowding> {
        let mut edges: Vec<(i64, i32, bool)> = Vec::new();
        let mut asks: Vec<i64> = Vec::new();
        for u in units {
            let sub = is_subagent(chains[u.chain()].stream());
            for r in &chains[u.chain()].requests[u.first()..=u.last()] {
                if r.throttled() > 0 {
                    asks.push(r.start());
                }
                if r.end() > r.admitted() && u.kind() != UnitKind::Failed {
                    edges.push((r.admitted(), 1, sub));
                    edges.push((r.end(), -1, sub));
                }
            }
        }
        if asks.is_empty() {
            return None;
        }
        edges.sort_unstable_by_key(|e| (e.0, e.1));
        asks.sort_unstable();
        let (mut k, mut all, mut subs, mut sum_all, mut sum_subs, mut most) = (0, 0i64, 0i64, 0i64, 0i64, 0i64);
        for &t in &asks {
            while k < edges.len() && edges[k].0 <= t {
                all += i64::from(edges[k].1);
                subs += if edges[k].2 { i64::from(edges[k].1) } else { 0 };
                k += 1;
            }
            (sum_all, sum_subs, most) = (sum_all + all, sum_subs + subs, most.max(subs));
        }
        Some(Crowding::of_sums(asks.len(), sum_all, sum_subs, most))
    }

    #[test]
    fn crowding_is_what_a_sweep_over_the_edges_finds() {
        let mut next = numbers();
        let streams = ["s1", "s2", "agent:a", "agent:b"];
        // Every other history in steps of 5·10^7 ms: its times span more than 32 bits of
        // milliseconds (each request's own span still within them), and the sweep holds
        // them whole rather than as offsets.
        for scale in [1, 50_000_000].into_iter().cycle().take(200) {
            let chains: Vec<Chain> = streams
                .iter()
                .map(|&stream| {
                    Chain::of_test(
                        stream,
                        "p",
                        None,
                        false,
                        (0..next(8))
                            .map(|_| {
                                let (start, wait, run) = (next(100) * scale, next(20) * scale, (next(30) - 5) * scale);
                                Request::answered("m", start, start + wait + run).with(|r| {
                                    r.set_times(start, start + wait, start + wait + run);
                                    r.set_throttled(u32::from(next(3) == 0));
                                })
                            })
                            .collect(),
                    )
                })
                .collect();
            let units: Vec<Unit> = chains
                .iter()
                .enumerate()
                .flat_map(|(ci, c)| (0..c.requests.len()).map(move |k| (ci, k)))
                .map(|(ci, k)| {
                    let kind = if next(5) == 0 {
                        UnitKind::Failed
                    } else {
                        UnitKind::Response { output: 1, cut: false, complete: true, estimated: false }
                    };
                    Unit::new(ci, k, k, kind, 8_000)
                })
                .collect();
            let all: Vec<u32> = (0..units.len() as u32).collect();
            let kept = Kept::new(&units, &all);
            assert_eq!(crowding(&chains, kept), crowding_by_edges(&chains, kept));
        }
    }

    /// By hand: touching intervals do not overlap, nested ones do, empty ones never count.
    #[test]
    fn most_at_once_by_hand() {
        let most = |v: &[(i64, i64)]| most_at_once(v.iter().copied());
        assert_eq!(most(&[]), 0);
        assert_eq!(most(&[(5, 5), (7, 3)]), 0);
        assert_eq!(most(&[(0, 10), (10, 20), (20, 30)]), 1);
        assert_eq!(most(&[(0, 10), (2, 4), (3, 9), (4, 5)]), 3);
        assert_eq!(most(&[(0, 10), (0, 10), (10, 11), (9, 12)]), 3);
    }

    /// What counting the intervals open at every start finds, on many pseudo-random sets
    /// with shared ends and starts.
    #[test]
    fn most_at_once_is_the_most_open_at_any_start() {
        let mut next = numbers();
        for _ in 0..300 {
            let n = next(40) as usize;
            // Lists of an odd length in steps of 10^9 ms: more than 32 bits of milliseconds.
            let scale = if n.is_multiple_of(2) { 1 } else { 1_000_000_000 };
            let v: Vec<(i64, i64)> = (0..n).map(|_| (next(50) * scale, next(50) * scale)).collect();
            let open_at = |t: i64| v.iter().filter(|&&(f, e)| f <= t && t < e).count() as u64;
            let want = v.iter().filter(|(f, e)| e > f).map(|&(f, _)| open_at(f)).max().unwrap_or(0);
            assert_eq!(most_at_once(v.iter().copied()), want, "{v:?}");
        }
    }
}
