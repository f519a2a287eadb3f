//! The fit: how the quota is counted and how much of it the history ran against, from the
//! history's own 429s.
//!
//! AWS's own texts disagree on what Bedrock reserves when a request starts
//! (`quota-model.md`): max output at the burndown rate or plainly, cache reads in or out.
//! That makes four *readings*. For each, the history as it was (every request at the limit
//! in effect then, throttling delaying the work as it did: [`replay::run`]) is replayed
//! against quotas found by bisection: the throttled attempts it predicts fall as the quota
//! grows. The quotas at which they come within the noise of what the history shows
//! ([`slack`]) are the reading's *range*: narrow where the history pins the quota down, wide
//! where it cannot (at Claude Code's default on Bedrock, one request fills a 200,000 bucket
//! whatever its exact size, so the count hardly moves between 170,000 and 250,000). A history
//! with no 429 (or a handful) gives only a lower end. The reading's *effective quota* is the
//! reference quota where the range holds it, else the nearest end of the range where the
//! reference lies within [`FITS_WITHIN`] of it; without a reference, or one far above the
//! range (the history ran against less quota than it), where the replay shows exactly the
//! history's count (`effective`).
//!
//! One setting in a whole history often fits two readings equally well, each at its own
//! quota. Several settings tell them apart: each period at one limit must fit the same range.
//! A reading whose range explains the 429s overall but predicts many at one limit where the
//! history shows none (or none where it shows many) is contradicted.
//!
//! Plain data out; which readings advise is [`standing`]'s answer against the reference.

use super::replay::{self, Limit, Outcome, Plan, Quota, Reading};
pub use crate::reading::READINGS;

/// A reading fits when its range comes within this factor of the reference quota.
pub const FITS_WITHIN: f64 = 1.35;
/// Within this factor it is plausible: it advises beside those that fit.
pub const PLAUSIBLE_WITHIN: f64 = 2.0;
/// A period at one limit with fewer units of work than this is too small to contradict a
/// reading on its own.
pub const MIN_PERIOD_UNITS: u64 = 20;
/// The bisection stops when the quota is known to within this factor.
const PRECISION: f64 = 1.02;
/// The quotas the bisection searches (tokens a minute).
const LOWEST: f64 = 1_000.0;
const HIGHEST: f64 = crate::models::MAX_QUOTA_TPM as f64;

/// How far a replayed count of throttled attempts may lie from the history's `n` and still
/// agree with it: counts of the same work vary by about their square root from run to run
/// and more (retries come in runs of up to eleven), and the replay is a model of Claude Code,
/// not Claude Code: a fifth of the count besides.
pub fn slack(n: u64) -> u64 {
    5 + 2 * (n as f64).sqrt() as u64 + n / 5
}

/// What the effective quota is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The history's throttled attempts pin the quota within a range.
    Fit,
    /// The history shows no 429 (or too few to bound it from above): the quota is at least
    /// the range's lower end.
    AtLeast,
}

/// A reading's place against the reference quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Its range comes within [`FITS_WITHIN`] of the reference.
    Fits,
    /// It needs more quota than that: the quota may be larger than the reference (a raise
    /// the user does not know of, a published default below the applied one).
    Above,
    /// It needs less: at the reference it would throttle less than the history shows, so the
    /// history does not fit it there.
    Below,
    /// Its periods at different limits, or the requests it throttles, are not the
    /// history's.
    Contradicted,
}

impl Standing {
    /// Whether a reading of this standing advises: it fits, or the quota may be larger.
    pub fn advises(self) -> bool {
        matches!(self, Standing::Fits | Standing::Above)
    }
}

/// A period of the history at one limit (a setting in effect for a while).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub limit: u64,
    /// Units of work (responses and failed requests) at that limit.
    pub units: u64,
    /// Their throttled attempts in the history.
    pub throttled: u64,
}

/// What rules a reading out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contradiction {
    /// A period at one limit its range does not explain: the throttled attempts the history
    /// shows there, and what the reading predicts at the end of its range nearest to
    /// agreeing.
    Period { limit: u64, observed: u64, predicted: u64 },
    /// Not even the largest quota searched brings the throttled attempts down to the
    /// history's: what it shows, and what the replay predicts there.
    Unreachable { observed: u64, predicted: u64 },
    /// Its range lies far below the reference and has no lower end (the history fits any
    /// quota down to the lowest searched: about every request refused to the end), and at the
    /// quota where its replay's count comes down to the history's it is not within the noise
    /// of it ([`slack`]): the count falls past it at once (a request refused to the end takes
    /// all its attempts with it), so no quota of it reproduces the history. What it shows, and
    /// what the replay predicts there. (A range with a lower end whose count jumps past the
    /// band is a light load's cliff, one session's requests alike: it pins the quota.)
    Unreproduced { observed: u64, predicted: u64 },
    /// The requests it throttles are not those the history shows throttled: the cache reads
    /// (the context) of a throttled attempt's request, on average, as a multiple of all the
    /// requests' average, in the history and as predicted. A reading that reserves cache
    /// reads throttles the requests with the largest context first.
    Context { observed: f64, predicted: f64 },
    /// It would have let in at once requests the history shows refused while nothing of its
    /// own ran ([`super::alone`]). No quota of it refuses them; load the history does not
    /// hold did.
    Alone(Lone),
}

/// Requests refused while nothing of the history's own ran, as they rule every reading out
/// ([`Contradiction::Alone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lone {
    pub requests: u64,
    /// Of them, refused on every attempt (the rest got through on a later one).
    pub failed: u64,
    /// When the first was sent.
    pub first: crate::time::EpochMs,
    /// The shortest time after the last of the history's own had ended that one was sent, in
    /// milliseconds.
    pub quiet_ms: u64,
}

/// One reading's fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingFit {
    pub reading: Reading,
    /// The quotas at which the history replayed as it was shows about its throttled attempts:
    /// from `low_tpm` to `high_tpm` (`None`: no upper end).
    pub low_tpm: u64,
    pub high_tpm: Option<u64>,
    /// The quota the advice under this reading uses (see the module's documentation).
    pub quota_tpm: u64,
    pub bound: Bound,
    /// The history as it was, replayed at the effective quota, and at the reference quota.
    pub at_fit: Outcome,
    pub at_reference: Option<Outcome>,
    /// What rules it out, if anything.
    pub contradiction: Option<Contradiction>,
    /// The context of the requests it throttles at the effective quota, and the history's.
    context: Context,
    seen_context: f64,
}

impl ReadingFit {
    /// How far the context of the requests it throttles lies from the history's, as a share
    /// of the average context (see [`Contradiction::Context`]).
    pub fn context_gap(&self) -> f64 {
        (self.context.ratio - self.seen_context).abs()
    }
}

/// Every reading's fit, and what the history shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub observed_throttled: u64,
    pub observed_failed: u64,
    /// The periods at one limit large enough to judge by, most units first.
    pub periods: Vec<Period>,
    pub readings: Vec<ReadingFit>,
}

/// Fits each of `readings` to the history of `plan` (burndown `burndown`; on Mantle the
/// output quota `output_tpm` as given), judged against the reference quota where there is one.
pub fn fit(plan: &Plan, burndown: f64, output_tpm: Option<f64>, readings: &[Reading], reference: Option<f64>) -> Fit {
    // Each pass over the history reads the plan again: a list of it would be a fit's largest
    // memory beside the plan (a team's million jobs).
    let observed_throttled = plan.history().map(|h| u64::from(h.throttled)).sum();
    let observed_failed = plan.history().filter(|h| h.failed).count() as u64;
    let periods = known_periods(plan.history());
    let cache_reads = || plan.history().map(|h| h.cache_read);
    let seen_context = context(cache_reads(), plan.history().map(|h| u64::from(h.throttled)));
    let spread = coefficient_of_variation(cache_reads());
    // Each job's period (an index into `periods`, at most 254), or `NO_PERIOD`.
    const NO_PERIOD: u8 = u8::MAX;
    let period_of: Vec<u8> = plan
        .history()
        .map(|h| {
            let period = known_limit(&h).and_then(|l| periods.iter().position(|p| p.limit == l));
            period.map_or(NO_PERIOD, |i| i as u8)
        })
        .collect();
    let one = |reading: Reading| {
        // The history as it was at `tpm`, and its throttled attempts by period.
        let eval = |tpm: f64, by_period: &mut Vec<u64>| {
            by_period.clear();
            by_period.resize(periods.len(), 0);
            replay::run_tally(plan, &Quota { tpm, burndown, reading, output_tpm }, Limit::AsRecorded, |job| {
                if let Some(n) = by_period.get_mut(usize::from(period_of[job])) {
                    *n += 1;
                }
            })
        };
        // The searches ask only whether a quota throttles at most so many attempts: each
        // replay stops once it has throttled more. The searches after the first start where
        // it ended and double or halve from there alike: a quota counted before is not
        // replayed again where what is known answers (`Known`).
        let mut known = Known::default();
        let mut count = |q: f64, most: u64| {
            known.count(q, most, |most| {
                replay::throttled_beyond(
                    plan,
                    &Quota { tpm: q, burndown, reading, output_tpm },
                    Limit::AsRecorded,
                    most,
                )
            })
        };
        // Searched from the same place whatever the reference: the replay's count is not
        // strictly monotone in the quota, and a search that started from the reference would
        // find a range that moved with it.
        let start = 200_000.0;
        let band = slack(observed_throttled);
        // Known to a few percent at best: three figures (a figure shown is the one used).
        let low = significant(crossing(observed_throttled + band, start, &mut count));
        // Above `high` the replay shows fewer than the band allows; with a band that reaches
        // 0 there is no upper end.
        // A crossing at the top of the search is none: on Mantle, an output quota that
        // throttles as much whatever the input quota.
        // The upper end is the first quota below the band. (The last quota still in it, 2%
        // lower, was tried: the replay's count can fall by many attempts across that step,
        // but in the simulated worlds the context check then let a wrong reading through more
        // often; `examples/worlds` over 20 seeds decided.)
        let high = (observed_throttled > band)
            .then(|| bracket(observed_throttled - band - 1, low, &mut count).1)
            .filter(|&h| h < HIGHEST)
            .map(|h| significant(h).max(low));
        let (quota, estimated) = effective(reference, low, high.unwrap_or(f64::INFINITY), || {
            significant(crossing(observed_throttled, low, &mut count))
        });
        // At the effective quota, the attempts each request had refused, for their context.
        let mut attempts = vec![0u32; period_of.len()];
        let at_fit =
            replay::run_tally(plan, &Quota { tpm: quota, burndown, reading, output_tpm }, Limit::AsRecorded, |job| {
                attempts[job] = attempts[job].saturating_add(1);
            });
        let context = context(cache_reads(), attempts.iter().map(|&a| u64::from(a)));
        let mut fewer = Vec::new();
        // A reference within the range is the effective quota: its replay is the one just run.
        let at_reference = reference.map(|q| if q == quota { at_fit } else { eval(q, &mut fewer) });
        let contradiction = if low >= HIGHEST {
            // Even an endless quota throttles more than the history shows (on Mantle: the
            // output quota given does).
            Some(Contradiction::Unreachable { observed: observed_throttled, predicted: at_fit.throttled_attempts })
        } else if reference.is_some()
            && estimated
            && low <= LOWEST
            && at_fit.throttled_attempts.abs_diff(observed_throttled) > band
        {
            // Far below the reference, with no lower end (the history fits any quota down to
            // nothing: about every request refused to the end), the quota is the history's own
            // and must reproduce it. With a lower end, a count that jumps past the band is a
            // light load's cliff (one session's requests alike), which pins the quota.
            Some(Contradiction::Unreproduced { observed: observed_throttled, predicted: at_fit.throttled_attempts })
        } else if periods.len() < 2 {
            None
        } else {
            // The most throttling the range allows is at its lower end, the least at its upper
            // end (none without one).
            let mut more = Vec::new();
            eval(low, &mut more);
            match high {
                Some(h) => eval(h, &mut fewer),
                // No upper end: no quota predicts fewer than none (one count a period).
                None => {
                    fewer.clear();
                    fewer.resize(periods.len(), 0);
                    Outcome::default()
                }
            };
            period_contradiction(&periods, &fewer, &more)
        };
        ReadingFit {
            reading,
            low_tpm: low.ceil() as u64,
            high_tpm: high.map(|h| h.ceil() as u64),
            quota_tpm: quota.ceil() as u64,
            bound: if high.is_some() { Bound::Fit } else { Bound::AtLeast },
            at_fit,
            at_reference,
            contradiction,
            context,
            seen_context: seen_context.ratio,
        }
    };
    // Two readings at a time, on the two cores.
    let (left, right) = readings.split_at(readings.len().div_ceil(2));
    let (theirs, mut readings) = crate::par::join(
        || right.iter().map(|&r| one(r)).collect::<Vec<_>>(),
        || left.iter().map(|&r| one(r)).collect::<Vec<ReadingFit>>(),
    );
    readings.extend(theirs);
    // The context rules a reading out only against another that explains it better.
    let best = readings.iter().map(|r| (r.context.ratio - seen_context.ratio).abs()).fold(f64::INFINITY, f64::min);
    for r in readings.iter_mut().filter(|r| r.contradiction.is_none()) {
        r.contradiction = context_contradiction(seen_context, r.context, spread, best);
    }
    Fit { observed_throttled, observed_failed, periods, readings }
}

/// Rules out every reading for the requests the history shows refused while nothing of its
/// own ran, which none of them refuses at its quota ([`Contradiction::Alone`], where `alone`
/// is some): the most direct evidence against them, it stands before what else rules one out.
pub fn rule_out_alone(fit: &mut Fit, alone: Option<super::alone::Alone>) {
    let Some(super::alone::Alone { requests, failed, first: Some(first), quiet_ms, .. }) = alone else { return };
    for r in &mut fit.readings {
        r.contradiction = Some(Contradiction::Alone(Lone { requests, failed, first, quiet_ms }));
    }
}

/// The effective quota of a range from `low` to `top`: the reference where the range holds it,
/// else the end nearest it where it lies within [`FITS_WITHIN`] of it; else `estimate()`, the
/// quota where the replay shows exactly the history's count, within the range (and `true`).
/// A reference far above the range ([`Standing::Below`]) is not the quota the history ran
/// against, and the end nearest it would be the most the noise allows: the quota is found as
/// without one.
fn effective(reference: Option<f64>, low: f64, top: f64, estimate: impl FnOnce() -> f64) -> (f64, bool) {
    match reference {
        Some(r) if r <= top * FITS_WITHIN * (1.0 + 1e-9) => (r.clamp(low, top), false),
        _ => (estimate().clamp(low, top), true),
    }
}

/// The [`periods`] of the jobs whose limit is known. A period judges readings against each
/// other, so the units whose limit is only a guess form none ([`replay::Then::limit_assumed`]):
/// a value set by hand after them would make a period of a limit they never ran at, and rule
/// out the reading that explains them.
fn known_periods(history: impl Iterator<Item = replay::Then>) -> Vec<Period> {
    periods(history.filter_map(|h| Some((known_limit(&h)?, h.throttled))))
}

/// A job's limit where it is known, not a guess: the limit of its period ([`known_periods`]).
fn known_limit(h: &replay::Then) -> Option<u64> {
    (!h.limit_assumed).then_some(h.limit)
}

/// The periods at one limit with at least [`MIN_PERIOD_UNITS`] units, most units first; at
/// most 255 (the rest are too small to matter).
fn periods(jobs: impl Iterator<Item = (u64, u32)>) -> Vec<Period> {
    let mut all: Vec<Period> = Vec::new();
    for (limit, throttled) in jobs {
        match all.iter_mut().find(|p| p.limit == limit) {
            Some(p) => {
                p.units += 1;
                p.throttled += u64::from(throttled);
            }
            None => all.push(Period { limit, units: 1, throttled: u64::from(throttled) }),
        }
        // Each limit found once a period: few distinct limits in any history.
        if all.len() > 4_096 {
            break;
        }
    }
    all.retain(|p| p.units >= MIN_PERIOD_UNITS);
    all.sort_by_key(|p| (std::cmp::Reverse(p.units), p.limit));
    all.truncate(255);
    all
}

/// The first period whose throttled attempts the range cannot explain: more than twice what
/// it shows predicted even at the range's upper end (`fewer` holds the predictions there),
/// or under half even at its lower end (`more`), beyond the [`slack`] of the period's count.
/// (Periods differ in more than their limit, and the replay is a model: only a gross
/// mismatch rules a reading out.)
fn period_contradiction(periods: &[Period], fewer: &[u64], more: &[u64]) -> Option<Contradiction> {
    periods.iter().enumerate().find_map(|(i, p)| {
        let (seen, s) = (p.throttled, slack(p.throttled));
        let period = |predicted| Some(Contradiction::Period { limit: p.limit, observed: seen, predicted });
        if fewer[i] > 2 * seen + s {
            period(fewer[i])
        } else if 2 * more[i] + s < seen {
            period(more[i])
        } else {
            None
        }
    })
}

/// The context of throttled requests: the cache reads of a throttled attempt's request, on
/// average (each attempt counted), as a multiple of the average over all requests.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Context {
    ratio: f64,
    /// Requests throttled at least once.
    requests: u64,
}

fn context(cache_reads: impl Iterator<Item = f64> + Clone, attempts: impl Iterator<Item = u64>) -> Context {
    let mean = cache_reads.clone().sum::<f64>() / cache_reads.clone().count().max(1) as f64;
    let (mut sum, mut n, mut requests) = (0.0, 0u64, 0u64);
    for (c, a) in cache_reads.zip(attempts) {
        sum += c * a as f64;
        n += a;
        requests += u64::from(a > 0);
    }
    let ratio = if n == 0 || mean <= 0.0 { 1.0 } else { sum / n as f64 / mean };
    Context { ratio, requests }
}

/// Whether the context of the requests a reading throttles differs from the history's by
/// more than chance allows, and by that much more than the reading that comes nearest
/// (`best`: its difference): three standard errors of a mean over the fewer of the two sets
/// of throttled requests (`spread`: the requests' cache reads' coefficient of variation), and
/// at least 0.25 of the average. Too few throttled requests (under 10) say nothing.
fn context_contradiction(seen: Context, predicted: Context, spread: f64, best: f64) -> Option<Contradiction> {
    let n = seen.requests.min(predicted.requests);
    if n < 10 {
        return None;
    }
    let allowed = (3.0 * spread / (n as f64).sqrt()).max(0.25);
    let off = (seen.ratio - predicted.ratio).abs();
    (off > allowed && off - best > allowed)
        .then_some(Contradiction::Context { observed: seen.ratio, predicted: predicted.ratio })
}

/// `x` to three significant figures.
fn significant(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    let step = 10f64.powi(x.log10().floor() as i32 - 2);
    (x / step).round() * step
}

/// The standard deviation of `x` over its mean (0 for an empty or all-zero `x`).
fn coefficient_of_variation(x: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = x.clone().count() as f64;
    let mean = x.clone().sum::<f64>() / n.max(1.0);
    if mean <= 0.0 {
        return 0.0;
    }
    (x.map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt() / mean
}

/// What a reading's searches counted, by quota: the count (`whole`), or a count above what
/// was asked, where the replay stopped (the whole count is at least that).
#[derive(Debug, Default)]
struct Known(Vec<(f64, u64, bool)>);

impl Known {
    /// The count at `q` as a search asks for it (exact up to `most`, else any count above
    /// it): from what is known where that answers, else `replay(most)`, then known.
    fn count(&mut self, q: f64, most: u64, replay: impl FnOnce(u64) -> u64) -> u64 {
        let at = self.0.iter().position(|k| k.0 == q);
        if let Some(k) = at.map(|i| self.0[i])
            && (k.2 || k.1 > most)
        {
            return k.1;
        }
        let c = replay(most);
        let entry = (q, c, c <= most);
        match at {
            Some(i) => self.0[i] = entry,
            None => self.0.push(entry),
        }
        c
    }
}

/// The smallest quota at which `predicted` (which falls as the quota grows) is at most
/// `target`, to within `PRECISION` (a factor of 1.02), searched from `start`.
/// `predicted(q, target)` may stop counting once it is above `target`.
pub fn crossing(target: u64, start: f64, predicted: &mut impl FnMut(f64, u64) -> u64) -> f64 {
    bracket(target, start, predicted).1
}

/// The quotas either side of the crossing: `(lo, hi)`, `predicted` above `target` at `lo`
/// and at most `target` at `hi`, `hi / lo` within [`PRECISION`] (`lo == hi` at either end
/// of the search).
fn bracket(target: u64, start: f64, predicted: &mut impl FnMut(f64, u64) -> u64) -> (f64, f64) {
    let mut fits = |q: f64| predicted(q, target) <= target;
    let first = if start.is_finite() { start.clamp(LOWEST, HIGHEST) } else { 200_000.0 };
    // Bracket: `lo` does not fit, `hi` does.
    let (mut lo, mut hi) = if fits(first) {
        let mut hi = first;
        loop {
            let lo = (hi / 2.0).max(LOWEST);
            if lo == hi {
                return (LOWEST, LOWEST);
            }
            if !fits(lo) {
                break (lo, hi);
            }
            hi = lo;
        }
    } else {
        let mut lo = first;
        loop {
            let hi = (lo * 2.0).min(HIGHEST);
            if hi == lo {
                return (HIGHEST, HIGHEST);
            }
            if fits(hi) {
                break (lo, hi);
            }
            lo = hi;
        }
    };
    while hi / lo > PRECISION {
        let mid = (lo * hi).sqrt();
        if fits(mid) { hi = mid } else { lo = mid }
    }
    (lo, hi)
}

/// How far a reading's range lies from the reference, as the factor to its nearest end (1
/// when the range holds the reference, or without a reference).
pub fn distance(r: &ReadingFit, reference: Option<f64>) -> f64 {
    let Some(reference) = reference else { return 1.0 };
    let low = (r.low_tpm as f64).max(1.0);
    if reference < low {
        return low / reference;
    }
    match r.high_tpm {
        Some(h) if reference > h as f64 => reference / (h as f64).max(1.0),
        _ => 1.0,
    }
}

/// Where a reading stands against the reference (`None`: no reference, where a range
/// stands on its own and a lower bound says nothing).
pub fn standing(r: &ReadingFit, reference: Option<f64>) -> Standing {
    if r.contradiction.is_some() {
        return Standing::Contradicted;
    }
    let Some(reference) = reference else {
        return if r.bound == Bound::Fit { Standing::Fits } else { Standing::Below };
    };
    if distance(r, Some(reference)) <= FITS_WITHIN * (1.0 + 1e-9) {
        Standing::Fits
    } else if r.low_tpm as f64 > reference {
        Standing::Above
    } else {
        Standing::Below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up prediction: 1,000 throttled attempts at 100,000 TPM, halving with every 10%
    /// more quota, none from 400,000 up.
    fn curve(q: f64) -> u64 {
        if q >= 400_000.0 { 0 } else { (1_000.0 * 0.5f64.powf((q / 100_000.0).ln() / 1.1f64.ln())) as u64 }
    }

    #[test]
    fn the_crossing_is_found_from_either_side() {
        // 1,000 · 0.5^k = 250 at k = 2: 100,000 · 1.1² = 121,000.
        for start in [20_000.0, 121_000.0, 5e6] {
            let q = crossing(250, start, &mut |q, _| curve(q));
            assert!((q / 121_000.0 - 1.0).abs() < 0.021, "from {start}: {q}");
            assert!(curve(q) <= 250 && curve(q / PRECISION) > 250, "{q}");
        }
        // None at all: from where 1,000 · 0.5^k falls under 1, k ≥ 9.97: 100,000 · 1.1^9.97
        // = 258,900.
        let q = crossing(0, 200_000.0, &mut |q, _| curve(q));
        assert!(curve(q) == 0 && curve(q / PRECISION) > 0 && (q / 258_900.0 - 1.0).abs() < 0.021, "{q}");
    }

    #[test]
    fn a_count_that_stops_above_the_target_finds_the_same_crossing() {
        // Told the target, the count may stop at the first attempt above it: the search asks
        // only which side of the target a quota is on.
        for (target, start) in [(250, 20_000.0), (250, 5e6), (0, 200_000.0), (999, 121_000.0)] {
            let mut asked = Vec::new();
            let stopping = crossing(target, start, &mut |q, most| {
                asked.push(most);
                curve(q).min(most + 1)
            });
            assert_eq!(stopping, crossing(target, start, &mut |q, _| curve(q)), "{target} from {start}");
            assert!(!asked.is_empty() && asked.iter().all(|&m| m == target), "{asked:?}");
        }
    }

    /// A quota counted whole answers any later question; one whose count stopped above a
    /// target answers a lower target, not a higher one (then it is replayed again).
    #[test]
    fn a_known_count_is_not_replayed_where_it_answers() {
        let mut known = Known::default();
        let replays = std::cell::Cell::new(0);
        // The true count at 100,000 is 40; at 200,000, 7.
        let ask = |known: &mut Known, q: f64, most: u64| {
            let truth = if q == 100_000.0 { 40 } else { 7 };
            known.count(q, most, |most| {
                replays.set(replays.get() + 1);
                if truth > most { most + 1 } else { truth }
            })
        };
        assert_eq!(ask(&mut known, 100_000.0, 10), 11);
        assert_eq!(ask(&mut known, 100_000.0, 5), 11, "above 5 too: no replay");
        assert_eq!(ask(&mut known, 100_000.0, 20), 21, "above 10 is not above 20: replayed");
        assert_eq!(ask(&mut known, 200_000.0, 10), 7);
        assert_eq!(ask(&mut known, 200_000.0, 3), 7, "whole: no replay");
        assert_eq!(ask(&mut known, 100_000.0, 50), 40);
        assert_eq!(ask(&mut known, 100_000.0, 1), 40, "whole now");
        assert_eq!(replays.get(), 4);
    }

    #[test]
    fn the_crossing_stays_within_its_range() {
        assert_eq!(crossing(5, 200_000.0, &mut |_, _| 0), LOWEST);
        assert_eq!(crossing(5, 200_000.0, &mut |_, _| 10), HIGHEST);
        assert_eq!(crossing(0, f64::NAN, &mut |_, _| 0), LOWEST);
    }

    #[test]
    fn the_effective_quota_by_hand() {
        let est = |q: f64| move || q;
        // The reference in the range, or within 35% of it: the reference, or the end nearest.
        assert_eq!(effective(Some(200_000.0), 150_000.0, 250_000.0, est(170_000.0)), (200_000.0, false));
        assert_eq!(effective(Some(200_000.0), 160_000.0, 180_000.0, est(170_000.0)), (180_000.0, false));
        assert_eq!(effective(Some(200_000.0), 130_000.0, 148_149.0, est(140_000.0)), (148_149.0, false));
        assert_eq!(effective(Some(100_000.0), 150_000.0, 200_000.0, est(170_000.0)), (150_000.0, false));
        assert_eq!(effective(Some(100_000.0), 150_000.0, f64::INFINITY, est(170_000.0)), (150_000.0, false));
        // Far above the range (200,000 against 110,000: 1.82 times): the estimate, not 110,000.
        assert_eq!(effective(Some(200_000.0), 85_000.0, 110_000.0, est(91_000.0)), (91_000.0, true));
        assert_eq!(effective(Some(200_000.0), 130_000.0, 147_000.0, est(140_000.0)), (140_000.0, true));
        // An estimate outside the range is held within it.
        assert_eq!(effective(Some(200_000.0), 85_000.0, 110_000.0, est(80_000.0)), (85_000.0, true));
        assert_eq!(effective(Some(200_000.0), 85_000.0, 110_000.0, est(120_000.0)), (110_000.0, true));
        // No reference: the estimate.
        assert_eq!(effective(None, 85_000.0, 110_000.0, est(91_000.0)), (91_000.0, true));
        assert_eq!(effective(None, 85_000.0, f64::INFINITY, est(400_000.0)), (400_000.0, true));
    }

    #[test]
    fn three_figures() {
        assert_eq!(
            [significant(213_429.0), significant(166_368.0), significant(1_004.0)],
            [213_000.0, 166_000.0, 1_000.0]
        );
        assert_eq!([significant(99_950.0), significant(0.0)], [100_000.0, 0.0]);
    }

    #[test]
    fn slack_by_hand() {
        // 5 + 2·⌊√n⌋ + n/5.
        assert_eq!([slack(0), slack(10), slack(100), slack(1_553)], [5, 13, 45, 5 + 2 * 39 + 310]);
    }

    fn fitted(low_tpm: u64, high_tpm: Option<u64>) -> ReadingFit {
        ReadingFit {
            reading: READINGS[0],
            low_tpm,
            high_tpm,
            quota_tpm: low_tpm,
            bound: if high_tpm.is_some() { Bound::Fit } else { Bound::AtLeast },
            at_fit: Outcome::default(),
            at_reference: None,
            contradiction: None,
            context: Context { ratio: 1.0, requests: 0 },
            seen_context: 1.0,
        }
    }

    #[test]
    fn standing_against_the_reference() {
        let at = |lo, hi| standing(&fitted(lo, hi), Some(200_000.0));
        // A range that holds the reference, or comes within 35% of it.
        assert_eq!(at(170_000, Some(260_000)), Standing::Fits);
        assert_eq!(at(235_000, Some(300_000)), Standing::Fits);
        assert_eq!(at(270_000, Some(300_000)), Standing::Fits);
        assert_eq!(at(100_000, Some(150_000)), Standing::Fits);
        // Beyond: the quota may be larger than the reference; it cannot be smaller.
        assert_eq!(at(271_000, Some(300_000)), Standing::Above);
        assert_eq!(at(60_000, Some(148_000)), Standing::Below);
        assert_eq!(at(401_000, Some(500_000)), Standing::Above);
        // A lower bound below the reference agrees with it, however far below; above it, the
        // quota is larger than the reference.
        assert_eq!(at(10_000, None), Standing::Fits);
        assert_eq!(at(300_000, None), Standing::Above);
        assert_eq!(distance(&fitted(150_000, Some(300_000)), Some(200_000.0)), 1.0);
        assert_eq!(distance(&fitted(300_000, Some(400_000)), Some(200_000.0)), 1.5);
        assert_eq!(distance(&fitted(50_000, Some(100_000)), Some(200_000.0)), 2.0);
        // Without a reference, a range stands on its own; a lower bound says nothing.
        assert_eq!(standing(&fitted(10_000, Some(20_000)), None), Standing::Fits);
        assert_eq!(standing(&fitted(10_000, None), None), Standing::Below);
        let mut c = fitted(150_000, Some(250_000));
        c.contradiction = Some(Contradiction::Period { limit: 5_000, observed: 0, predicted: 400 });
        assert_eq!(standing(&c, Some(200_000.0)), Standing::Contradicted);
        assert!(Standing::Fits.advises() && Standing::Above.advises() && !Standing::Below.advises());
    }

    #[test]
    fn periods_and_contradictions_by_hand() {
        // 30 units at 32,000 with 3 throttled attempts each, 25 at 5,000 with none, 5 at 200.
        let jobs = (0..30).map(|_| (32_000, 3)).chain((0..25).map(|_| (5_000, 0))).chain((0..5).map(|_| (200, 0)));
        let p = periods(jobs);
        assert_eq!(
            p,
            [Period { limit: 32_000, units: 30, throttled: 90 }, Period { limit: 5_000, units: 25, throttled: 0 }]
        );
        // Slack 5 + 2·9 + 18 = 41 at 90, 5 at 0; a period is out beyond twice or half plus the
        // slack: 32,000 may be predicted 25..=221 at the range's ends, 5,000 at most 5.
        let period = |limit, observed, predicted| Some(Contradiction::Period { limit, observed, predicted });
        assert_eq!(period_contradiction(&p, &[221, 5], &[25, 9]), None);
        // 6 at 5,000 even at the upper end: more than the history's none.
        assert_eq!(period_contradiction(&p, &[80, 6], &[104, 9]), period(5_000, 0, 6));
        // 24 at 32,000 even at the lower end: under half its 90.
        assert_eq!(period_contradiction(&p, &[10, 0], &[24, 0]), period(32_000, 90, 24));
        assert_eq!(period_contradiction(&p, &[222, 0], &[300, 0]), period(32_000, 90, 222));
    }

    /// 30 units at 32,000 (a subagent's default, say) and 25 at 5,000 whose limit is only a
    /// guess from the setting now: one period, none at 5,000 to judge a reading by.
    #[test]
    fn units_at_an_assumed_limit_form_no_period() {
        let then = |limit, throttled, limit_assumed| replay::Then {
            limit,
            throttled,
            failed: false,
            cache_read: 0.0,
            limit_assumed,
        };
        let history = (0..30).map(|_| then(32_000, 3, false)).chain((0..25).map(|_| then(5_000, 2, true)));
        assert_eq!(known_periods(history.clone()), [Period { limit: 32_000, units: 30, throttled: 90 }]);
        let dated = history.map(|h| replay::Then { limit_assumed: false, ..h });
        assert_eq!(
            known_periods(dated),
            [Period { limit: 32_000, units: 30, throttled: 90 }, Period { limit: 5_000, units: 25, throttled: 50 }]
        );
    }

    #[test]
    fn the_context_of_throttled_requests_by_hand() {
        // Cache reads 10, 20, 30, 40 (mean 25); attempts refused 0, 1, 0, 3: (20 + 120) / 4 =
        // 35, 1.4 times the mean, over 2 requests.
        let reads = [10.0, 20.0, 30.0, 40.0];
        let c = context(reads.iter().copied(), [0, 1, 0, 3].into_iter());
        assert!((c.ratio - 1.4).abs() < 1e-9 && c.requests == 2, "{c:?}");
        assert_eq!(context(reads.iter().copied(), [0; 4].into_iter()).ratio, 1.0);
        // √(((−15)² + (−5)² + 5² + 15²) / 4) = √125 = 11.18: 0.447 of the mean.
        assert!((coefficient_of_variation(reads.iter().copied()) - 125f64.sqrt() / 25.0).abs() < 1e-12);
        // 3 · 0.447 / √20 = 0.30: 1.4 against 1.0 is out, 1.25 is not; 9 requests say nothing.
        let at = |ratio, requests| Context { ratio, requests };
        assert_eq!(
            context_contradiction(at(1.0, 20), at(1.4, 30), 0.447, 0.0),
            Some(Contradiction::Context { observed: 1.0, predicted: 1.4 })
        );
        assert_eq!(context_contradiction(at(1.0, 20), at(1.25, 30), 0.447, 0.0), None);
        assert_eq!(context_contradiction(at(1.0, 9), at(2.0, 30), 0.447, 0.0), None);
        // Not when the nearest reading is nearly as far off.
        assert_eq!(context_contradiction(at(1.0, 20), at(1.4, 30), 0.447, 0.2), None);
    }
}
