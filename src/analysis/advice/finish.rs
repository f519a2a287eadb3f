//! The plan made of the chains, its replays under each reading that fits, the choice and
//! the table's rows: the advice completed.

use super::prepare::{Pending, Prepared};
use super::{Advice, Assumed, AtDefault, Calibration, RanAbove, ReadingView, Row, SHOWN_VALUES};
use crate::analysis::ceiling::Budget;
use crate::analysis::chains::Chain;
use crate::analysis::choose::{self, Action, Basis, Choice, Setup};
use crate::analysis::fit::{self, Standing};
use crate::analysis::limits::Unit;
use crate::analysis::origin::Origin;
use crate::analysis::quota::{self, Needed, QuotaPlan, Side};
use crate::analysis::replay::{Limit, Plan, Reading, Schedule};
use crate::analysis::values::Values;
use crate::config::RecommendConfig;
use crate::settings::Provider;

/// The advice with its plan made, up to its replays: it borrows nothing, so that what the
/// chains borrowed their names from can be given back before the replays.
pub struct Planned {
    plan: Plan,
    pending: Pending,
}

impl Prepared {
    /// The plan, made from `chains` and `units` (the ones [`super::prepare`] read), which are freed
    /// as it is made.
    pub fn plan(self, chains: Vec<Chain<'_>>, units: Vec<Unit>) -> Planned {
        let Prepared { kept, estimate, mut pending } = self;
        // What the steps before (and the load's thread beside them) freed is given back
        // first, then the plan's temporaries, the chains and the units.
        crate::memory::give_back();
        let mut plan = Plan::new(chains, &units, &kept, &estimate);
        crate::memory::step("plan");
        drop((kept, units));
        crate::memory::give_back();
        plan.retry = pending.advice.retry;
        pending.advice.demand.asked = plan.len() as u64;
        Planned { plan, pending }
    }
}

impl Planned {
    /// The replays, and the advice with what they decide.
    pub fn finish(self, cfg: &RecommendConfig) -> Advice {
        let Planned {
            mut plan,
            pending: Pending { side, setup, seen_setup, parallel_seen, common_limit, alone, mut advice },
        } = self;
        // Input per request without and with cache reads (p90), and the most sent at once.
        let inputs = (advice.input_set, advice.input_reserved, advice.sent_at_once);
        let observed = advice.throttled_seen;
        let outcome = if advice.demand.responses == 0 {
            // No response measured at all (every request throttled): the ceiling alone, at the
            // reference quota; refused throughout, the quota is in doubt unless it was given.
            let quota = side.as_ref().and_then(|s| reference_plan(s, cfg, parallel_seen));
            let ceiling = quota.as_ref().map(|q| budget(q, inputs));
            let refused = (observed > 0).then_some(
                if advice.provider != Provider::Anthropic && quota.as_ref().is_none_or(|q| q.tpm_origin != Origin::Flag)
                {
                    Basis::QuotaUnknown
                } else {
                    Basis::NoValueIsSafe
                },
            );
            Outcomes {
                choice: choose::from_ceiling(ceiling.as_ref(), &setup, refused),
                quota,
                rows: Vec::new(),
                calibration: None,
                needed: None,
                cut_share: 0.0,
                from_ceiling_only: true,
            }
        } else {
            let target = advice.demand.target;
            let run = |plan: &Plan, setups: [&Setup; 2], common: u64| {
                replayed(cfg, plan, side.as_ref(), setups, (common, &alone), (parallel_seen, target))
            };
            let first = run(&plan, [&setup, &seen_setup], common_limit);
            // Requests only known to have run at least what their sessions wrote are taken at
            // the least round value that allows it, the cautious guess. Where no reading of the quota reproduces the
            // history's 429s at that guess, the history rules it out: the next is Claude Code's
            // default, and the advice is that guess's if the history does not rule it out too.
            // Else the advice at the default is said beside it (`--ran-at` takes it).
            let unexplained = |o: &Outcomes| matches!(o.choice.basis, Basis::QuotaUnknown | Basis::HistoryThrottles);
            match advice.ran_above {
                Some(r) if advice.default > r.taken_at && plan.take_bounded_at(advice.default) => {
                    let moved = |v: u64| if v == r.taken_at { advice.default } else { v };
                    let [set, seen] =
                        [setup, seen_setup].map(|s| Setup { disproven_at: s.disproven_at.map(moved), ..s });
                    let again = run(&plan, [&set, &seen], moved(common_limit));
                    if unexplained(&again) {
                        first
                    } else if !unexplained(&first) {
                        advice.ran_above = Some(RanAbove { at_default: Some(AtDefault::of(&again.choice)), ..r });
                        first
                    } else {
                        advice.ran_above =
                            Some(RanAbove { taken_at: advice.default, ruled_out: Some(r.taken_at), ..r });
                        advice.at_ran.value = moved(advice.at_ran.value);
                        again
                    }
                }
                // A value set now, undated, below the default: what the default would advise.
                None if advice.assumed.is_some_and(|x| x.value.is_some_and(|v| v < advice.default))
                    && plan.take_guessed_at(advice.default) =>
                {
                    let again = run(&plan, [&setup, &seen_setup], common_limit);
                    if !unexplained(&first) && !unexplained(&again) {
                        let at_default = Some(AtDefault::of(&again.choice));
                        advice.assumed = advice.assumed.map(|x| Assumed { at_default, ..x });
                    }
                    first
                }
                _ => first,
            }
        };
        let ceiling = outcome.quota.as_ref().map(|q| budget(q, inputs));
        Advice {
            quota: outcome.quota,
            ceiling,
            choice: outcome.choice,
            rows: outcome.rows,
            calibration: outcome.calibration,
            needed: outcome.needed,
            cut_share: outcome.cut_share,
            from_ceiling_only: outcome.from_ceiling_only,
            ..advice
        }
    }
}

/// What the choice produced, for the advice.
struct Outcomes {
    choice: Choice,
    /// The quota the advice uses.
    quota: Option<QuotaPlan>,
    rows: Vec<Row>,
    calibration: Option<Calibration>,
    needed: Option<Needed>,
    cut_share: f64,
    from_ceiling_only: bool,
}

/// The worst-case ceiling of `quota-model.md` at a quota plan; `inputs`: input per request
/// (p90) without and with cache reads, and the most requests sent at once. A worst case is
/// every request the work sent at once running to the limit together: those that waited on
/// the quota too (a lower value lets more of them run), else the replay throttles values
/// the bound allows. (With no response, every request waited: the same count as in flight.)
fn budget(q: &QuotaPlan, (input_set, input_reserved, sent_at_once): (u64, u64, u64)) -> Budget {
    Budget {
        quota_tpm: q.tpm,
        headroom: q.headroom,
        parallel: q.parallel.unwrap_or(sent_at_once),
        burndown: q.burndown,
        input_set,
        input_reserved: if q.reading.cache_reads_reserved { input_reserved } else { input_set },
        reserved_burndown: if q.reading.burndown_reservation { q.burndown } else { 1.0 },
    }
}

/// The plan at the reference quota, under the first reading fitted.
fn reference_plan(side: &Side, cfg: &RecommendConfig, seen: u64) -> Option<QuotaPlan> {
    let r = side.reference.as_ref()?;
    Some(QuotaPlan::new(side, *side.readings.first()?, (r.tpm, r.origin.clone()), cfg, seen))
}

/// The replays: the fit of each reading, the choice under those that fit, the table's rows,
/// and what fixes it when no value does. `(parallel_seen, target)`: the demand percentile
/// asked for (p99 by default), the value what fixes it is sized for.
/// (`setups`: the choice's at the load planned for, and at the history's own.)
fn replayed(
    cfg: &RecommendConfig,
    plan: &Plan,
    side: Option<&Side>,
    [setup, seen_setup]: [&Setup; 2],
    (common_limit, alone): (u64, &crate::analysis::alone::Quiet),
    (parallel_seen, target): (u64, Option<u64>),
) -> Outcomes {
    let cut_share = |c: &Choice| c.value.map_or(0.0, |v| ratio(plan.cuts_at(v), plan.len() as u64));
    let Some(side) = side else {
        // No quota side: cuts alone.
        let mut values = Values::new(plan, Vec::new());
        let choice = choose::choose(setup, &mut values.under(0));
        let rows = rows(&mut values, setup, &choice, 0, None);
        let cut_share = cut_share(&choice);
        return Outcomes {
            choice,
            quota: None,
            rows,
            calibration: None,
            needed: None,
            cut_share,
            from_ceiling_only: false,
        };
    };
    let reference = side.reference.as_ref().map(|r| r.tpm as f64);
    let mut fitted = fit::fit(plan, side.burndown, side.output_tpm(), &side.readings, reference);
    // Requests refused while nothing of the history's own ran, which no reading at its quota
    // refuses, rule every reading out where there are enough of them. Each reading bounds the
    // quiet needed its own way: counted per reading, one kept for a looser bound alone (plain
    // reservations leave a deficit to refill) would advise for the load the rest show to be
    // others' (DESIGN.md, the fit).
    let tpm: Vec<f64> = fitted.readings.iter().map(|f| f.quota_tpm as f64).collect();
    let alone = Some(alone.alone(&tpm)).filter(crate::analysis::alone::Alone::rules_out);
    fit::rule_out_alone(&mut fitted, alone);
    crate::memory::step("fit");
    // The fit's replays are done: their queues given back before the values' schedules.
    crate::memory::give_back();
    let mut views: Vec<ReadingView> = fitted
        .readings
        .iter()
        .map(|f| ReadingView {
            standing: fit::standing(f, reference),
            plan: QuotaPlan::of_fit(side, f, cfg, parallel_seen),
            fit: f.clone(),
            choice: None,
            advises: false,
        })
        .collect();
    // The readings within twice the reference advise. When none is, the history implies
    // another quota: the readings that are not contradicted and lie within twice the nearest
    // one's distance from it advise (a reading that needs thirty times less quota than the
    // one given is no likelier for a larger quota given: with all of them, a larger quota
    // given let in readings of ever smaller quotas, and advised less). The best fit first: the
    // nearest the reference, then the one whose throttled requests' context is nearest the
    // history's.
    let distance = |k: usize| fit::distance(&views[k].fit, reference);
    let within = |k: usize, d: f64| distance(k) <= d * fit::PLAUSIBLE_WITHIN * (1.0 + 1e-9);
    let open = |k: usize| views[k].standing != Standing::Contradicted;
    let mut shown: Vec<usize> = (0..views.len()).filter(|&k| open(k) && within(k, 1.0)).collect();
    if shown.is_empty() {
        let nearest = (0..views.len()).filter(|&k| open(k)).map(distance).fold(f64::INFINITY, f64::min);
        shown = (0..views.len()).filter(|&k| open(k) && within(k, nearest)).collect();
    }
    shown.sort_by(|&a, &b| {
        let key = |k: usize| (fit::distance(&views[k].fit, reference), views[k].fit.context_gap());
        key(a).0.total_cmp(&key(b).0).then(key(a).1.total_cmp(&key(b).1)).then(a.cmp(&b))
    });
    let mut calibration = Calibration {
        value: common_limit,
        observed_throttled: fitted.observed_throttled,
        observed_failed: fitted.observed_failed,
        reasked: plan.reasked(),
        reference: side.reference.clone(),
        periods: fitted.periods.clone(),
        best: side.readings[0],
        readings: Vec::new(),
    };
    if shown.is_empty() {
        // No reading explains the 429s at a quota near the reference: no value.
        let quota = reference_plan(side, cfg, parallel_seen);
        let mut values = Values::new(plan, quota.iter().map(QuotaPlan::planning).collect());
        let choice = Choice {
            action: Action::None,
            basis: Basis::QuotaUnknown,
            value: None,
            safe_up_to: None,
            fewest_cuts_from: None,
            finish_from: None,
        };
        let rows = rows(&mut values, setup, &choice, 0, None);
        calibration.best = views
            .iter()
            .min_by(|a, b| fit::distance(&a.fit, reference).total_cmp(&fit::distance(&b.fit, reference)))
            .map_or(side.readings[0], |v| v.fit.reading);
        calibration.readings = views;
        return Outcomes {
            choice,
            quota,
            rows,
            calibration: Some(calibration),
            needed: None,
            cut_share: 0.0,
            from_ceiling_only: false,
        };
    }
    let mut values = choose_all(plan, setup, &mut views, &shown);
    let planned = cfg.parallel.is_some_and(|p| p != parallel_seen);
    let at_seen = choices_at_seen(plan, seen_setup, &views, &shown, planned);
    let hopeless: Vec<bool> = at_seen.iter().map(|c| c.value.is_none()).collect();
    let choices: Vec<Choice> = shown.iter().map(|&k| views[k].choice.expect("chosen")).collect();
    // A value worth having where none is safe: the demand percentile asked for (rounded up),
    // not the smallest useful one, which still cuts a tenth of the responses.
    let wanted = target.map_or(setup.current, |t| t.div_ceil(choose::STEP).saturating_mul(choose::STEP));
    let needed_value = setup.floor.max(wanted).min(setup.cap);
    let needed_under = |quota: &QuotaPlan| needed(plan, setup, quota, needed_value);
    let mut best_slot = choose::binding(&choices, &hopeless);
    let mut needed_at_best = None;
    if choices[best_slot].value.is_none() && !hopeless[0] {
        // Readings that count, none with a value at the load planned for (`--parallel`):
        // what fixes it must fix it under each, so the one that asks the most binds (the
        // fewest requests at once, then the largest raise of its own quota; the best fit
        // first on a tie). Each reading's quota is its own, so raises compare as ratios.
        let (slot, n) = (0..shown.len())
            .filter(|&s| !hopeless[s] && choices[s].value.is_none())
            .map(|s| (s, needed_under(&views[shown[s]].plan)))
            .min_by(|(a, x), (b, y)| {
                let raise = |s: usize, n: &quota::Needed| n.quota_tpm as f64 / views[shown[s]].plan.tpm.max(1) as f64;
                x.parallel.cmp(&y.parallel).then(raise(*b, y).total_cmp(&raise(*a, x))).then(a.cmp(b))
            })
            .expect("the binding reading is one");
        (best_slot, needed_at_best) = (slot, Some(n));
    }
    let best = shown[best_slot];
    for (&k, &h) in shown.iter().zip(&hopeless) {
        views[k].advises = !h && views[k].choice.is_some_and(|c| c.value.is_some());
    }
    // A replay that does not reproduce the history at its own load advises nothing at any
    // load planned for (planning fewer requests at once does not make it reproduce them).
    let choice = match at_seen[best_slot] {
        c if c.basis == Basis::HistoryThrottles => c,
        _ => views[best].choice.expect("chosen"),
    };
    views[best].choice = Some(choice);
    let other = shown.iter().position(|&k| k != best).map(|slot| (slot, views[shown[slot]].fit.reading));
    let rows = rows(&mut values, setup, &choice, best_slot, other);
    let quota = views[best].plan.clone();
    let needed = matches!(choice.basis, Basis::NoValueIsSafe | Basis::ResponsesFail)
        .then(|| needed_at_best.unwrap_or_else(|| needed_under(&quota)));
    calibration.best = views[best].fit.reading;
    calibration.readings = views;
    Outcomes {
        cut_share: cut_share(&choice),
        choice,
        quota: Some(quota),
        rows,
        calibration: Some(calibration),
        needed,
        from_ceiling_only: false,
    }
}

/// What fixes it under `quota` where no value is safe (or the chosen one still cuts): the
/// quota at which `value` is safe and the requests at once the quota fits. An output quota
/// that throttles at every value: what it takes at the value in effect, since max output is
/// not the lever there.
fn needed(plan: &Plan, setup: &Setup, quota: &QuotaPlan, value: u64) -> quota::Needed {
    let n = quota::needed(&Schedule::new(plan, Limit::Fixed(value)), quota, value);
    match n.output_tpm {
        Some(_) if setup.current != value && setup.current <= setup.cap => {
            quota::needed(&Schedule::new(plan, Limit::Fixed(setup.current)), quota, setup.current)
        }
        _ => n,
    }
}

/// For each shown reading, its choice at its quota for the history's own load: where it has
/// no value, the reading speaks for more quota or fewer requests in flight, not for a value.
/// With `--parallel` (`planned`), judged without it, so that planning for more requests in
/// flight can take a reading's value away but never make the reading stop counting.
fn choices_at_seen(plan: &Plan, seen: &Setup, views: &[ReadingView], shown: &[usize], planned: bool) -> Vec<Choice> {
    if !planned {
        return shown.iter().map(|&k| views[k].choice.expect("chosen")).collect();
    }
    let mut at_seen = views.to_vec();
    for &k in shown {
        at_seen[k].plan = at_seen[k].plan.at_parallel_seen();
    }
    choose_all(plan, seen, &mut at_seen, shown);
    shown.iter().map(|&k| at_seen[k].choice.expect("chosen")).collect()
}

/// Each shown reading's choice, at its plan; the replays they share.
fn choose_all<'p>(plan: &'p Plan, setup: &Setup, views: &mut [ReadingView], shown: &[usize]) -> Values<'p> {
    let mut values = Values::new(plan, shown.iter().map(|&k| views[k].plan.planning()).collect());
    for (slot, &k) in shown.iter().enumerate() {
        views[k].choice = Some(choose::choose(setup, &mut values.under(slot)));
    }
    values
}

/// The rows of the replay table: the value in effect, the recommended one, the largest safe
/// one, and the usual values the model allows; each under the quota `slot` of `values`, and
/// the `other` reading's beside it.
fn rows(
    values: &mut Values<'_>,
    setup: &Setup,
    choice: &Choice,
    slot: usize,
    other: Option<(usize, Reading)>,
) -> Vec<Row> {
    let mut shown: Vec<u64> = SHOWN_VALUES.iter().copied().filter(|&v| v >= setup.floor && v <= setup.cap).collect();
    shown.push(setup.current);
    shown.push(setup.default.min(setup.cap));
    shown.extend(choice.value);
    shown.extend(choice.safe_up_to);
    // Where no value is safe, the reasons say so of the floor, by its row.
    if choice.basis == Basis::NoValueIsSafe {
        shown.push(setup.floor);
    }
    shown.sort_unstable();
    shown.dedup();
    values.measure_all(&shown);
    let plan = values.plan;
    let given_up_anyway = plan.gave_up_at(setup.cap);
    shown
        .into_iter()
        .map(|value| {
            let outcomes = values.get(value);
            Row {
                value,
                gave_up: plan.gave_up_at(value).saturating_sub(given_up_anyway),
                outcome: outcomes[slot],
                other_reading: other.map(|(k, r)| (r, outcomes[k])),
                current: value == setup.current,
                recommended: choice.value == Some(value),
            }
        })
        .collect()
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
