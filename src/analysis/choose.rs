//! The choice: which max output to recommend, from replays of the history.
//!
//! A value is **safe** when its replay against the planning quota has no failed request and
//! at most 1% of attempts throttled. Safety is taken as a prefix: the values from the floor up
//! to the largest one below which every value is safe (`safe_up_to`, found by bisection).
//! Among the safe values, the fewest responses are cut at `safe_up_to` (cuts only fall as the
//! value rises); every safe value from `fewest_cuts_from` up cuts that few. Of those, the one
//! nearest Claude Code's default for the model is chosen, unless the value in effect now is
//! one of them: then nothing would improve, and it is kept.
//!
//! When max output does not count against the quota (the Anthropic API) there is no quota
//! side: only cuts matter, and the value is never lowered. When no value is safe, none is
//! recommended: fewer requests in flight or more quota, with the figures, is the advice.
//!
//! Pure: the replays come in through an [`Evaluate`] closure, so the rule is tested here
//! with made-up outcomes.

use super::ceiling::Budget;
use super::replay::Outcome;

/// The recommendation is a multiple of this.
pub const STEP: u64 = 1_000;
/// A value below this is of no use.
pub const FLOOR: u64 = 1_000;
/// Room the visible answer needs above the thinking budget.
pub const THINKING_ROOM: u64 = 1_000;
/// Safe: at most this share of attempts throttled (and no failed request).
pub const MAX_THROTTLED_SHARE: f64 = 0.01;
/// At most this share of the responses may be given up on (cut after Claude Code's last
/// continuation) beyond those the model's upper limit gives up on too.
pub const MAX_GIVEN_UP_SHARE: f64 = 0.01;
/// Fewer measured responses than this say too little about demand to change the value for
/// cuts.
pub const MIN_RESPONSES: u64 = 30;

/// What to do with the max output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Keep,
    Lower,
    Raise,
    /// No value is safe: the fix is fewer requests in flight or more quota.
    None,
}

/// Why the action was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The value in effect is safe and no safe value cuts fewer responses.
    NothingWouldImprove,
    /// The value in effect throttles (or fails requests) in the replay.
    Throttles,
    /// A safe value cuts fewer responses than the value in effect.
    FewerCuts,
    /// Too few responses to judge cuts by, and the value in effect is safe.
    SmallSample,
    /// Even the floor is not safe.
    NoValueIsSafe,
    /// The values safe for the quota are too small to finish responses the history shows:
    /// Claude Code gives up on them (cut after its last continuation), which no value above
    /// them does.
    ResponsesFail,
    /// The history shows throttling the quota assumed does not explain (a default quota
    /// that predicts far fewer 429s, or no quota at all): no value until the quota is given.
    QuotaUnknown,
    /// The history's requests at the value most of it ran at were throttled more than a safe
    /// value may be, beyond doubt, where its replay at that value is safe: the replay does not
    /// reproduce what throttled them (others' load on the quota, bursts), so it advises no
    /// value ([`Setup::disproven_at`]).
    HistoryThrottles,
}

/// What the rule works with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setup {
    /// The lowest candidate (at least [`FLOOR`], above the thinking budget).
    pub floor: u64,
    /// The model's upper limit.
    pub cap: u64,
    /// The value in effect now.
    pub current: u64,
    /// Claude Code's default for the model.
    pub default: u64,
    /// Whether max output counts against the quota (false on the Anthropic API, or without a
    /// quota to plan against).
    pub quota_counts: bool,
    /// Fewer measured responses than [`MIN_RESPONSES`], unless some were cut at the value in
    /// effect, or measured longer than it, in a history without a 429 or a failed request on
    /// a quota max output counts against (cuts the history shows there are its own, not a
    /// sample's guess).
    pub small_sample: bool,
    /// The highest limit ever in effect: the history cannot see what responses wanted above
    /// it.
    pub known_up_to: u64,
    /// Some cut responses are known only to want more than their limit (none was continued
    /// to its end), so demand may lie above `known_up_to`.
    pub beyond_known: bool,
    /// The history ran at the value in effect without a 429, at the load planned for: the
    /// value is safe whatever the replay says.
    pub proven: bool,
    /// The value most of the history ran at, where its requests there were throttled more
    /// than a safe value may be (beyond doubt: see `advice::prepare`). Where the replay at
    /// that value is safe, it does not reproduce the history, and no value is advised,
    /// whatever the value in effect now.
    pub disproven_at: Option<u64>,
    /// Max output counts against a quota nobody knows: no quota given, none published, and no
    /// 429 to fit one to (Bedrock for some models, Vertex). The history shows at most that the
    /// values it ran at fit the quota: nothing above the value in effect, or above the largest
    /// its records show it ran at without a 429 ([`Setup::ran_clean_at`]), is called safe, and
    /// cuts alone raise nothing beyond them.
    pub quota_unknown: bool,
    /// In a history with no 429 and no failure, the largest limit its records show in effect
    /// (a response cut there), at the load planned for: every value up to it fits the quota at
    /// that load.
    pub ran_clean_at: Option<u64>,
}

/// The rule's result.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Choice {
    pub action: Action,
    pub basis: Basis,
    /// The value to set; `None` when no value is safe.
    pub value: Option<u64>,
    /// Every candidate up to this one is safe (`None`: not even the floor).
    pub safe_up_to: Option<u64>,
    /// From this candidate up, the fewest responses are cut.
    pub fewest_cuts_from: Option<u64>,
    /// Below this candidate Claude Code gives up on responses the model's upper limit lets
    /// finish ([`Evaluate::gave_up`]); `None` where not worked out (no replay).
    pub finish_from: Option<u64>,
}

impl Choice {
    /// No candidate replays safely: no value.
    pub(super) fn no_value_is_safe() -> Self {
        Choice {
            action: Action::None,
            basis: Basis::NoValueIsSafe,
            value: None,
            safe_up_to: None,
            fewest_cuts_from: None,
            finish_from: None,
        }
    }
}

/// A replay at a value, and the responses cut there (cuts do not depend on the quota).
pub trait Evaluate {
    fn replay(&mut self, value: u64) -> Outcome;
    fn cuts(&self, value: u64) -> u64;
    /// Responses Claude Code gives up on at a value (cut after its last continuation);
    /// like cuts, they only fall as the value rises.
    fn gave_up(&self, _value: u64) -> u64 {
        0
    }
    /// The responses the replays ask for (the share of [`Evaluate::gave_up`] is of them).
    fn responses(&self) -> u64 {
        0
    }
    /// Replays that will be asked for next, which may be run together.
    fn prefetch(&mut self, _values: &[u64]) {}
}

/// Of the choices of the readings that advise (the best fit first), the one the advice takes.
/// When the best fit is `hopeless` (no value is safe under it at the history's own load), max
/// output is not the lever: it, and no value. Otherwise the smallest value of the others that
/// are not hopeless (which speak for more quota, not for a value), safe under each of them
/// (safe values run from the floor up); the first on a tie; and one of them with no safe
/// value at the load planned for (`--parallel`) is the one taken: then no value is safe.
pub fn binding(choices: &[Choice], hopeless: &[bool]) -> usize {
    if hopeless.first().is_none_or(|&h| h) {
        return 0;
    }
    let counted = || (0..choices.len()).filter(|&k| !hopeless[k]);
    if let Some(k) = counted().find(|&k| choices[k].value.is_none()) {
        return k;
    }
    counted().min_by_key(|&k| (choices[k].value, k)).unwrap_or(0)
}

/// Whether value `m` is safe: the history ran it without a 429 (and so every value below
/// it), or its replay is safe.
fn safe_at(setup: &Setup, eval: &mut dyn Evaluate, m: u64) -> bool {
    (setup.proven && m <= setup.current) || is_safe(&eval.replay(m))
}

/// Whether a replay is safe.
pub fn is_safe(o: &Outcome) -> bool {
    o.failed == 0 && o.throttled_share() <= MAX_THROTTLED_SHARE
}

/// The candidates: multiples of [`STEP`] from the floor to the cap (the cap itself when it
/// is not a multiple). The cap is taken at most [`crate::models::MAX_OUTPUT_LIMIT`], so that
/// there are at most 1,000 candidates whatever the input says.
pub fn candidates(floor: u64, cap: u64) -> Vec<u64> {
    let cap = cap.min(crate::models::MAX_OUTPUT_LIMIT);
    let mut v: Vec<u64> = (floor.div_ceil(STEP)..=cap / STEP).map(|k| k * STEP).filter(|&m| m >= floor).collect();
    if v.last().is_none_or(|&m| m < cap) && cap >= floor {
        v.push(cap);
    }
    v
}

/// The floor for a thinking budget: at least [`FLOOR`] and [`THINKING_ROOM`] above it.
pub fn floor_for(thinking: Option<u64>) -> u64 {
    let need = thinking.map_or(FLOOR, |t| t.saturating_add(THINKING_ROOM));
    need.div_ceil(STEP).saturating_mul(STEP).max(FLOOR)
}

/// Chooses.
pub fn choose(setup: &Setup, eval: &mut dyn Evaluate) -> Choice {
    let values = candidates(setup.floor, setup.cap);
    let Some(&top) = values.last() else { return Choice::no_value_is_safe() };
    // A model of the quota that does not reproduce the history's own throttling does not
    // advise: the value it ran at replays safely, yet the history was throttled at it.
    if let Some(ran_at) = setup.disproven_at
        && setup.quota_counts
        && !setup.quota_unknown
        && is_safe(&eval.replay(ran_at))
    {
        return Choice { basis: Basis::HistoryThrottles, ..Choice::no_value_is_safe() };
    }
    // The safe prefix.
    let safe_up_to = if setup.quota_unknown {
        // The values up to the one in effect, or up to the largest the records show the
        // history ran at without a 429 where that is larger (the floor where both are below):
        // not the larger
        // ones that let the responses Claude Code gives up on finish either, which are no
        // better known to fit the quota.
        let known = setup.current.max(setup.ran_clean_at.unwrap_or(0));
        Some(values[values.partition_point(|&m| m <= known).max(1) - 1])
    } else if !setup.quota_counts {
        Some(top)
    } else {
        eval.prefetch(&[values[0], top, setup.current.clamp(values[0], top)]);

        let safe = |eval: &mut dyn Evaluate, m: u64| safe_at(setup, eval, m);
        if !safe(eval, values[0]) {
            None
        } else if safe(eval, top) {
            Some(top)
        } else {
            // values[lo] safe, values[hi] not: two probes a round, run together.
            let (mut lo, mut hi) = (0, values.len() - 1);
            while hi - lo > 1 {
                let (a, b) = (lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3);
                let (a, b) = (a.max(lo + 1), b.max(a.max(lo + 1)).min(hi - 1));
                eval.prefetch(&[values[a], values[b]]);
                if !safe(eval, values[a]) {
                    hi = a;
                } else if !safe(eval, values[b]) {
                    lo = a;
                    hi = b;
                } else {
                    lo = b;
                }
            }
            Some(values[lo])
        }
    };
    let Some(safe_up_to) = safe_up_to else { return Choice::no_value_is_safe() };
    // A response Claude Code gives up on fails as a refused request does. Those that even the
    // upper limit gives up on are no value's doing; below `finish_from` more than
    // MAX_GIVEN_UP_SHARE of the responses fail.
    let allowed = eval.gave_up(top) + (eval.responses() as f64 * MAX_GIVEN_UP_SHARE) as u64;
    let finish_from = values[values.partition_point(|&m| eval.gave_up(m) > allowed).min(values.len() - 1)];
    if finish_from > safe_up_to {
        return Choice {
            action: Action::None,
            basis: Basis::ResponsesFail,
            value: None,
            safe_up_to: Some(safe_up_to),
            fewest_cuts_from: None,
            finish_from: Some(finish_from),
        };
    }
    let safe_values =
        &values[values.partition_point(|&m| m < finish_from)..=values.partition_point(|&m| m <= safe_up_to) - 1];
    // With too few responses, cuts decide nothing: every safe value is as good.
    let fewest = eval.cuts(safe_up_to);
    let from = if setup.small_sample {
        safe_values[0]
    } else {
        safe_values[safe_values.partition_point(|&m| eval.cuts(m) > fewest)]
    };
    let current_safe =
        !setup.quota_counts || setup.proven || (setup.current <= setup.cap && is_safe(&eval.replay(setup.current)));
    let current_best =
        setup.current >= setup.floor.max(finish_from) && (setup.small_sample || eval.cuts(setup.current) <= fewest);
    let choice = |action, basis, value| Choice {
        action,
        basis,
        value: Some(value),
        safe_up_to: Some(safe_up_to),
        fewest_cuts_from: Some(from),
        finish_from: Some(finish_from),
    };
    if current_safe && current_best {
        let basis = if setup.small_sample { Basis::SmallSample } else { Basis::NothingWouldImprove };
        return choice(Action::Keep, basis, setup.current);
    }
    // The value nearest the default among those that cut the fewest.
    let value = setup.default.clamp(from, safe_up_to);
    let value = values[values.partition_point(|&m| m < value).min(values.len() - 1)].min(safe_up_to);
    // Above the highest limit ever in effect the history cannot tell how much more the cut
    // responses wanted: a raise there goes at least to twice that limit (or the model's upper
    // limit), not a step above it, and the next history shows whether that is enough. Where
    // every cut response's size is known (continued to its end), a step past it is enough.
    let value = if setup.beyond_known && value > setup.known_up_to && value > setup.current {
        let twice = setup.known_up_to.saturating_mul(2).min(setup.cap).clamp(from, safe_up_to);
        value.max(values[values.partition_point(|&m| m <= twice) - 1])
    } else {
        value
    };
    // Never lower for cuts alone where the quota does not count.
    let value = if setup.quota_counts { value } else { value.max(setup.current.min(setup.cap)) };
    // The safe values were found as a prefix, but they need not run in one piece: a value
    // inside it can throttle in its own replay where its neighbours do not. Such a value
    // gives way to the nearest of those that cut as few and replay safely (the smaller on a
    // tie); the prefix's end is one of them.
    let value = if setup.quota_counts && !setup.quota_unknown && value != safe_up_to && !safe_at(setup, eval, value) {
        let fewest_cut = &safe_values[safe_values.partition_point(|&m| m < from)..];
        let mut others: Vec<u64> = fewest_cut.iter().copied().filter(|&m| m != value).collect();
        others.sort_by_key(|&m| (m.abs_diff(value), m));
        others.into_iter().find(|&m| safe_at(setup, eval, m)).unwrap_or(safe_up_to)
    } else {
        value
    };
    // A value in effect that throttles is never kept or raised: safe values need not run in
    // one piece (near the value in effect the replay can throttle at one and not at the
    // next), and a larger reservation is no cure for the throttling the history shows. The
    // largest value below it that replays safely, if any.
    let raised_past_throttling = !current_safe && value >= setup.current;
    let value = if raised_past_throttling {
        let below = &values[..values.partition_point(|&m| m < setup.current)];
        match below.iter().rev().find(|&&m| is_safe(&eval.replay(m))) {
            Some(&m) => m,
            None => return Choice::no_value_is_safe(),
        }
    } else {
        value
    };
    let basis = if current_safe { Basis::FewerCuts } else { Basis::Throttles };
    let action = match value.cmp(&setup.current) {
        std::cmp::Ordering::Less => Action::Lower,
        std::cmp::Ordering::Greater => Action::Raise,
        std::cmp::Ordering::Equal => Action::Keep,
    };
    let mut out = choice(action, basis, value);
    if raised_past_throttling {
        // The values up to it are what is known safe (the value in effect, above, is not).
        out.safe_up_to = Some(value);
        out.fewest_cuts_from = out.fewest_cuts_from.map(|f| f.min(value));
    }
    out
}

/// The choice when no response was measured: the worst-case ceiling of `quota-model.md`
/// (every request in flight running to the max output at once), or none.
///
/// `refused` (the basis to give) when the history shows throttled attempts: then the value
/// in effect is never kept. The ceiling takes input as 0 (no response says what it was),
/// so a ceiling that allows the value in effect does not explain why every request was
/// refused: the input, the quota or others' load on it is not what was assumed.
pub fn from_ceiling(ceiling: Option<&Budget>, setup: &Setup, refused: Option<Basis>) -> Choice {
    let none = |action, basis, value| Choice {
        action,
        basis,
        value,
        safe_up_to: None,
        fewest_cuts_from: None,
        finish_from: None,
    };
    let Some(budget) = ceiling else {
        // Nothing to plan against and nothing measured: nothing to change, unless refused.
        return match refused {
            Some(basis) => none(Action::None, basis, None),
            None => none(Action::Keep, Basis::SmallSample, Some(setup.current)),
        };
    };
    let safe = budget.ceiling().map(|c| c / STEP * STEP).filter(|&v| v >= setup.floor);
    let Some(safe) = safe.map(|v| v.min(setup.cap)) else {
        return none(Action::None, Basis::NoValueIsSafe, None);
    };
    if let Some(basis) = refused.filter(|_| setup.current <= safe) {
        return none(Action::None, basis, None);
    }
    let (action, basis, value) = if setup.current <= safe {
        (Action::Keep, Basis::SmallSample, setup.current)
    } else {
        (Action::Lower, Basis::Throttles, safe)
    };
    Choice { action, basis, value: Some(value), safe_up_to: Some(safe), fewest_cuts_from: None, finish_from: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made-up replays: throttled attempts rise past `knee` (and at the values of `holes`),
    /// cuts fall until `enough`; of 1,000 responses, `given_up` are given up on below
    /// `finish`.
    struct Curve {
        knee: u64,
        holes: Vec<u64>,
        fail_from: u64,
        enough: u64,
        replays: Vec<u64>,
        finish: u64,
        given_up: u64,
    }

    impl Evaluate for Curve {
        fn replay(&mut self, m: u64) -> Outcome {
            self.replays.push(m);
            let throttled = if m > self.knee || self.holes.contains(&m) { 50 } else { 0 };
            Outcome {
                attempts: 1_000,
                throttled_attempts: throttled,
                failed: u64::from(m >= self.fail_from),
                ..Outcome::default()
            }
        }
        fn cuts(&self, m: u64) -> u64 {
            self.enough.saturating_sub(m) / 1_000
        }
        fn gave_up(&self, m: u64) -> u64 {
            if m < self.finish { self.given_up } else { 0 }
        }
        fn responses(&self) -> u64 {
            1_000
        }
    }

    fn setup(current: u64) -> Setup {
        Setup {
            floor: 1_000,
            cap: 64_000,
            current,
            default: 32_000,
            quota_counts: true,
            small_sample: false,
            known_up_to: 64_000,
            beyond_known: true,
            proven: false,
            disproven_at: None,
            quota_unknown: false,
            ran_clean_at: None,
        }
    }

    fn curve(knee: u64, enough: u64) -> Curve {
        Curve { knee, holes: Vec::new(), fail_from: u64::MAX, enough, replays: Vec::new(), finish: 0, given_up: 20 }
    }

    /// The review of 2026-12-05: a quota safe only at 1,000, where 2% of the responses die
    /// after their last continuation, is no value; values it advised before are kept above
    /// the ones that fail responses.
    #[test]
    fn values_that_give_up_on_responses_are_not_advised() {
        let mut c = Curve { finish: 3_000, ..curve(2_000, 20_000) };
        let got = choose(&setup(8_000), &mut c);
        assert_eq!(
            (got.action, got.basis, got.value, got.safe_up_to, got.finish_from),
            (Action::None, Basis::ResponsesFail, None, Some(2_000), Some(3_000))
        );
        // The value in effect gives up on them: not kept, though it cuts no more.
        let mut c = Curve { finish: 3_000, ..curve(10_000, 1_500) };
        let got = choose(&setup(2_000), &mut c);
        assert_eq!((got.action, got.value, got.finish_from), (Action::Raise, Some(10_000), Some(3_000)));
        // At most 1% given up on is tolerated, as throttling is.
        let mut c = Curve { finish: 3_000, given_up: 10, ..curve(2_000, 20_000) };
        assert_eq!(choose(&setup(8_000), &mut c).value, Some(2_000));
    }

    /// Safe values need not run in one piece: here 16,000 throttles and every other value up
    /// to 40,000 is safe, so the bisection's safe range takes 16,000 in, and the value nearest
    /// the default 32,000 is above it. A value in effect that throttles is never raised: the
    /// largest safe value below it, and the range said safe ends there.
    #[test]
    fn a_value_in_effect_that_throttles_is_never_raised() {
        struct Holed {
            hole: u64,
            knee: u64,
        }
        impl Evaluate for Holed {
            fn replay(&mut self, m: u64) -> Outcome {
                let throttled = if m == self.hole || m > self.knee { 50 } else { 0 };
                Outcome { attempts: 1_000, throttled_attempts: throttled, ..Outcome::default() }
            }
            fn cuts(&self, m: u64) -> u64 {
                40_000u64.saturating_sub(m) / 1_000
            }
        }
        let got = choose(&setup(16_000), &mut Holed { hole: 16_000, knee: 40_000 });
        assert_eq!(
            (got.action, got.basis, got.value, got.safe_up_to),
            (Action::Lower, Basis::Throttles, Some(15_000), Some(15_000))
        );
    }

    #[test]
    fn candidates_and_floor() {
        assert_eq!(candidates(1_000, 4_000), [1_000, 2_000, 3_000, 4_000]);
        assert_eq!(candidates(1_000, 8_192), [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 8_192]);
        assert!(candidates(5_000, 4_000).is_empty());
        // Bounded whatever the cap says (a limit from data no model allows).
        assert_eq!(candidates(1_000, 99_999_999_999_999).len(), 1_000);
        assert_eq!(floor_for(None), 1_000);
        assert_eq!(floor_for(Some(31_999)), 33_000);
        assert_eq!(floor_for(Some(200)), 2_000);
    }

    /// Throttling from 12,000 up, cuts gone from 5,000: the current 32,000 throttles; safe up
    /// to 11,000, fewest cuts from 5,000: the value nearest the default 32,000 is 11,000.
    #[test]
    fn lowers_to_the_safe_value_nearest_the_default() {
        let mut c = curve(11_500, 5_000);
        let ch = choose(&setup(32_000), &mut c);
        assert_eq!(
            ch,
            Choice {
                action: Action::Lower,
                basis: Basis::Throttles,
                value: Some(11_000),
                safe_up_to: Some(11_000),
                fewest_cuts_from: Some(5_000),
                finish_from: Some(1_000),
            }
        );
        // Bisection: a handful of replays, not one per candidate.
        assert!(c.replays.len() <= 10, "{:?}", c.replays);
    }

    /// A value inside the safe prefix that throttles in its own replay (safety need not run
    /// in one piece) is not advised: the nearest that cuts as few and replays safely is, the
    /// smaller on a tie.
    #[test]
    fn a_value_that_throttles_inside_the_safe_prefix_gives_way_to_its_nearest_safe_one() {
        for (holes, want) in [(vec![32_000], 31_000), (vec![31_000, 32_000], 33_000), (vec![], 32_000)] {
            let mut c = Curve { holes: holes.clone(), ..curve(40_000, 5_000) };
            let ch = choose(&setup(64_000), &mut c);
            assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::Lower, Some(want), Some(40_000)), "{holes:?}");
            assert!(is_safe(&c.replay(want)), "{holes:?}");
        }
        // A value the history ran at without a 429 is kept on that evidence whatever its
        // replay (the sentence beside it says which weighs more).
        let mut c = Curve { holes: vec![20_000], ..curve(40_000, 5_000) };
        let ch = choose(&Setup { proven: true, ..setup(20_000) }, &mut c);
        assert_eq!((ch.action, ch.value), (Action::Keep, Some(20_000)));
    }

    #[test]
    fn keeps_a_safe_value_that_cuts_no_more_than_any() {
        let ch = choose(&setup(32_000), &mut curve(40_000, 5_000));
        assert_eq!((ch.action, ch.basis, ch.value), (Action::Keep, Basis::NothingWouldImprove, Some(32_000)));
    }

    #[test]
    fn raises_a_value_that_cuts_when_a_safe_one_does_not() {
        // Set to 2,000; cuts until 9,000; safe up to 20,000: raise to 20,000 (nearest 32,000).
        let ch = choose(&setup(2_000), &mut curve(20_000, 9_000));
        assert_eq!((ch.action, ch.basis, ch.value), (Action::Raise, Basis::FewerCuts, Some(20_000)));
        // The seed story: set to 200, below the floor; safe up to 11,000: one step to 11,000.
        let ch = choose(&setup(200), &mut curve(11_000, 64_000));
        assert_eq!((ch.action, ch.value), (Action::Raise, Some(11_000)));
    }

    /// A value the history ran at without a 429 is kept, even where the replay would throttle,
    /// and so are the values below it.
    #[test]
    fn a_proven_value_is_kept() {
        let s = Setup { proven: true, ..setup(32_000) };
        let ch = choose(&s, &mut curve(11_500, 5_000));
        assert_eq!((ch.action, ch.basis, ch.value), (Action::Keep, Basis::NothingWouldImprove, Some(32_000)));
        // Even where the replay throttles at every value.
        let ch = choose(&s, &mut curve(0, 5_000));
        assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::Keep, Some(32_000), Some(32_000)));
    }

    /// The new user's trial of 2026-12-07: where the history was throttled at the value it
    /// ran at and its replay is not, the replay does not reproduce the history, and no value
    /// is advised (none to write, none called safe), whatever the value set since.
    #[test]
    fn a_replay_that_does_not_reproduce_the_historys_throttling_advises_nothing() {
        // Ran at 12,000; the replay safe up to 20,000.
        let s = Setup { disproven_at: Some(12_000), ..setup(12_000) };
        let ch = choose(&s, &mut curve(20_000, 5_000));
        assert_eq!((ch.action, ch.basis, ch.value, ch.safe_up_to), (Action::None, Basis::HistoryThrottles, None, None));
        // Set to 4,000 or 25,000 since: the same.
        for current in [4_000, 25_000] {
            let ch = choose(&Setup { current, ..s }, &mut curve(20_000, 5_000));
            assert_eq!((ch.action, ch.basis, ch.value), (Action::None, Basis::HistoryThrottles, None), "{current}");
        }
        // Where its replay throttles too, it reproduces the history: the choice as before.
        let ch = choose(&s, &mut curve(8_000, 5_000));
        assert_eq!((ch.action, ch.basis, ch.value), (Action::Lower, Basis::Throttles, Some(8_000)));
        // Without the history's word, the replay's value is kept.
        let ch = choose(&setup(12_000), &mut curve(20_000, 5_000));
        assert_eq!((ch.action, ch.value), (Action::Keep, Some(12_000)));
        // Where max output does not count against the quota, nothing changes.
        let ch = choose(&Setup { quota_counts: false, ..s }, &mut curve(20_000, 5_000));
        assert_eq!((ch.action, ch.value), (Action::Keep, Some(12_000)));
    }

    /// A raise above the highest limit ever in effect goes at least to twice that limit, not a
    /// step above it: the history cannot see how much more the cut responses wanted.
    #[test]
    fn a_raise_above_what_the_history_sees_doubles() {
        // At 64,000 (Claude Code's default here), one response wanted "more than 64,000": the
        // fewest cuts from 65,000; twice 64,000 is the upper limit, 128,000.
        let s = Setup { known_up_to: 64_000, cap: 128_000, default: 64_000, ..setup(64_000) };
        let ch = choose(&s, &mut curve(200_000, 65_000));
        assert_eq!((ch.action, ch.value), (Action::Raise, Some(128_000)));
        // Not above what is safe.
        assert_eq!(choose(&s, &mut curve(100_500, 65_000)).value, Some(100_000));
        // Where the cut response's size is known (continued to its end, 65,000 in all), a
        // step past it: 65,000 (a trial of 2026-12-07 read late-home raised to 128,000).
        let known = Setup { beyond_known: false, ..s };
        assert_eq!(choose(&known, &mut curve(200_000, 65_000)).value, Some(65_000));
        // The value nearest the default, when that is more: at 8,000, cuts until 9,000, the
        // default 32,000 is safe and above twice 8,000.
        let s = Setup { known_up_to: 8_000, ..setup(8_000) };
        assert_eq!(choose(&s, &mut curve(40_000, 9_000)).value, Some(32_000));
    }

    #[test]
    fn the_binding_choice_is_the_smallest_value() {
        let c = |value| Choice {
            action: Action::Lower,
            basis: Basis::Throttles,
            value,
            safe_up_to: value,
            fewest_cuts_from: None,
            finish_from: None,
        };
        assert_eq!(
            binding(&[c(Some(9_000)), c(Some(7_000)), c(None), c(Some(7_000))], &[false, false, true, false]),
            1
        );
        assert_eq!(binding(&[c(None), c(None)], &[true, true]), 0);
        // The best fit hopeless: max output is not the lever, whatever the others say.
        assert_eq!(binding(&[c(None), c(Some(3_000))], &[true, false]), 0);
        // Another hopeless reading does not hold the value down.
        assert_eq!(binding(&[c(Some(9_000)), c(None)], &[false, true]), 0);
        // A reading that counts and has no value at the load planned for: no value.
        assert_eq!(binding(&[c(Some(9_000)), c(None)], &[false, false]), 1);
    }

    #[test]
    fn no_safe_value_is_none() {
        let mut c = Curve { knee: 0, fail_from: 0, given_up: 0, ..curve(0, 5_000) };
        let ch = choose(&setup(32_000), &mut c);
        assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::None, None, None));
    }

    #[test]
    fn small_samples_do_not_move_a_safe_value() {
        let s = Setup { small_sample: true, ..setup(4_000) };
        let ch = choose(&s, &mut curve(20_000, 9_000));
        assert_eq!((ch.action, ch.basis), (Action::Keep, Basis::SmallSample));
        // But a value that throttles is still lowered.
        let s = Setup { small_sample: true, ..setup(32_000) };
        assert_eq!(choose(&s, &mut curve(20_000, 9_000)).value, Some(20_000));
    }

    /// Where max output does not count against the quota: never lower, raise for cuts.
    #[test]
    fn without_a_quota_only_cuts_count() {
        let s = Setup { quota_counts: false, ..setup(6_000) };
        let mut c = curve(0, 5_000);
        let ch = choose(&s, &mut c);
        assert_eq!((ch.action, ch.value), (Action::Keep, Some(6_000)));
        assert!(c.replays.is_empty());
        // Cuts until 40,000: raise to 40,000 (the default 32,000 cuts more).
        let ch = choose(&Setup { quota_counts: false, ..setup(6_000) }, &mut curve(0, 40_000));
        assert_eq!((ch.action, ch.value), (Action::Raise, Some(40_000)));
    }

    /// Where max output counts against a quota nobody knows (no quota given or published, no
    /// 429): cuts until 40,000, but nothing shows the quota holds more than 6,000, which
    /// stays; nothing above it is called safe, and nothing is replayed. Below the floor, the
    /// floor. Up to a value the history's records show it ran at without a 429, where larger.
    #[test]
    fn an_unknown_quota_raises_no_further_than_the_value_in_effect() {
        let unknown = |current| Setup { quota_counts: false, quota_unknown: true, ..setup(current) };
        let mut c = curve(0, 40_000);
        let ch = choose(&unknown(6_000), &mut c);
        assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::Keep, Some(6_000), Some(6_000)));
        assert!(c.replays.is_empty());
        let ch = choose(&unknown(500), &mut curve(0, 40_000));
        assert_eq!((ch.action, ch.value), (Action::Raise, Some(1_000)));
        // The history ran at 16,000 without a 429 (its cuts there show it; a value set by hand
        // since, say): every value up to 16,000 fits, and the fewest cuts among them is there.
        let clean = |current| Setup { ran_clean_at: Some(16_000), ..unknown(current) };
        let mut c = curve(0, 40_000);
        let ch = choose(&clean(6_000), &mut c);
        assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::Raise, Some(16_000), Some(16_000)));
        assert!(c.replays.is_empty());
        // Below the value in effect, it raises nothing.
        let ch = choose(&Setup { ran_clean_at: Some(4_000), ..unknown(6_000) }, &mut curve(0, 40_000));
        assert_eq!((ch.action, ch.value, ch.safe_up_to), (Action::Keep, Some(6_000), Some(6_000)));
    }
}
