//! Every sentence the report says, built from the report's own numbers (the same ones its
//! tables and JSON show): the verdict, the recommendation's headline, reasons and advice, and
//! the rows of its inputs table. Shared by the table, Markdown and JSON renderers.

use crate::analysis::advice::{Advice, Assumed, AtDefault, Evidence, FigureSource, Origin, RanAbove, Row};
use crate::analysis::choose::{Action, Basis, MAX_THROTTLED_SHARE, MIN_RESPONSES};
use crate::analysis::fit::Standing;
use crate::analysis::limits::ClampBy;
use crate::analysis::replay::Outcome;
use crate::analysis::select::ModelMatch;
use crate::render::readings;
use crate::report::{Recommendation, Report};
use crate::settings::Provider;
use crate::text::{count_of, percent, thousands};

/// One line that says what happened, most important first.
pub fn verdict(report: &Report) -> String {
    let e = &report.errors;
    let mut parts = Vec::new();
    let attempts = e.throttled();
    if attempts > 0 {
        // Attempts and requests are told apart: one request retried ten times is eleven
        // attempts, not eleven requests.
        let failed = e.rate_limit.final_;
        let days = count_of(report.throttled_days, "day", "days");
        let throttled = count_of(attempts, "throttled attempt", "throttled attempts");
        parts.push(if failed > 0 {
            format!("{throttled} (429) on {days}; {} failed for good", count_of(failed, "request", "requests"))
        } else {
            format!("{throttled} (429) on {days}, each retried until it got through")
        });
    }
    if e.unclassified_429 > 0 {
        parts.push(format!(
            "429s whose text names no cause: {} (not counted as throttling)",
            thousands(e.unclassified_429)
        ));
    }
    if e.rate_limit.per_day_quota > 0 {
        parts.push(count_of(e.rate_limit.per_day_quota, "per-day quota error", "per-day quota errors"));
    }
    if e.usage_limit > 0 {
        parts.push(count_of(e.usage_limit, "subscription usage limit", "subscription usage limits"));
    }
    if e.spend_cap > 0 {
        parts.push(count_of(e.spend_cap, "spend cap or credit error", "spend cap or credit errors"));
    }
    let cuts = &report.cuts;
    if cuts.responses > 0 {
        let at: Vec<String> =
            cuts.by_limit.iter().map(|c| format!("{} at {}", thousands(c.responses), thousands(c.limit))).collect();
        parts.push(format!(
            "{} at the output limit ({})",
            count_of(cuts.responses, "response cut", "responses cut"),
            at.join(", ")
        ));
    }
    if e.server_limiting > 0 {
        parts.push(count_of(
            e.server_limiting,
            "server load-shedding 429 (not your quota)",
            "server load-shedding 429s (not your quota)",
        ));
    }
    if e.overloaded > 0 {
        parts.push(count_of(e.overloaded, "overloaded error (529)", "overloaded errors (529)"));
    }
    if e.over_cap > 0 {
        parts.push(count_of(
            e.over_cap,
            "request refused for asking over the model's maximum (400)",
            "requests refused for asking over the model's maximum (400)",
        ));
    }
    if parts.is_empty() {
        if report.responses.count == 0 {
            // With --model, the history may hold responses of other models.
            return match report.scan.filters.model.as_deref() {
                Some(q) => format!("No responses of --model {q}."),
                // The days asked for, so that a filter that left every response out is seen.
                None => match (&report.scan.filters.since, &report.scan.filters.until) {
                    (Some(s), Some(u)) => format!("No responses found from {s} to {u} (--since, --until)."),
                    (Some(s), None) => format!("No responses found from {s} on (--since)."),
                    (None, Some(u)) => format!("No responses found up to {u} (--until)."),
                    (None, None) => "No responses found.".to_string(),
                },
            };
        }
        return format!(
            "No throttling or output-limit errors in {}.",
            count_of(report.responses.count, "response", "responses")
        );
    }
    let mut s = parts.join("; ");
    s.push('.');
    let first = s.remove(0).to_ascii_uppercase();
    s.insert(0, first);
    s
}

/// Models listed in a sentence: at most ten, then how many more.
const MODELS_LISTED: usize = 10;

/// Why `--model` gave no advice: it named several models of the history, or none. `None`
/// when it named one.
pub fn model_unmatched(query: &str, m: &ModelMatch) -> Option<String> {
    let list = |names: &[String]| {
        let shown = names[..names.len().min(MODELS_LISTED)].join(", ");
        match names.len().saturating_sub(MODELS_LISTED) {
            0 => shown,
            more => format!("{shown} and {} more", thousands(more as u64)),
        }
    };
    match m {
        ModelMatch::One(_) => None,
        ModelMatch::Ambiguous(names) => Some(format!(
            "--model {query} matches several models: {}; no advice until it names one (a name such as \"{}\", or an id)",
            list(names),
            names[0]
        )),
        ModelMatch::Nothing(names) if names.is_empty() => {
            Some(format!("--model {query} matches no model; the history has no response (no advice)"))
        }
        ModelMatch::Nothing(names) => {
            Some(format!("--model {query} matches no model; the history has: {} (no advice)", list(names)))
        }
    }
}

/// The recommendation section's text when there is no recommendation.
pub fn no_recommendation(report: &Report) -> String {
    let unmatched = report.scan.filters.model.as_deref().zip(report.model_match.as_ref());
    match unmatched.and_then(|(q, m)| model_unmatched(q, m)) {
        Some(why) => format!("{why}."),
        None => "No request of any model to measure, so no recommendation.".to_string(),
    }
}

/// A `Capped from X to Y` line of the debug logs, as a sentence.
pub fn capped(c: &crate::report::CappedRow) -> String {
    format!(
        "Claude Code capped a max output setting from {} to {} ({}).",
        thousands(c.from),
        thousands(c.to),
        count_of(c.count, "time", "times")
    )
}

/// The recommendation's first line.
pub fn headline(a: &Advice) -> String {
    let c = &a.choice;
    match (c.value, c.action) {
        (Some(_), Action::Keep) if a.escalation.is_some() => {
            "Set no value: keep Claude Code's capped default and its escalation".to_string()
        }
        (Some(v), Action::Keep) => format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}  (keep)"),
        (Some(v), Action::Lower | Action::Raise) if a.people_differ() => {
            format!(
                "CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}  (for everyone; people's values differ, most requests ran at {})",
                thousands(a.current)
            )
        }
        (Some(v), Action::Lower) => format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}  (lower from {})", thousands(a.current)),
        (Some(v), Action::Raise) => format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}  (raise from {})", thousands(a.current)),
        // No quota model of the history's own load reproduces its 429s: a quota given would
        // not change that.
        _ if c.basis == Basis::QuotaUnknown && a.calibration.as_ref().is_some_and(|cal| cal.unreproduced()) => {
            "No max output value is shown: no model of the quota reproduces your 429s (see why below).".to_string()
        }
        _ if c.basis == Basis::QuotaUnknown
            && a.quota.as_ref().is_some_and(|q| q.reference.as_ref().is_some_and(|r| r.origin == Origin::Flag)) =>
        {
            "No value: your history does not fit the quota you gave (--quota-tpm).".to_string()
        }
        // Claude Code gives up on responses at the values the history shows the quota holds,
        // and nothing shows whether it holds a larger one.
        _ if c.basis == Basis::QuotaUnknown || (c.basis == Basis::ResponsesFail && a.quota_unknown) => {
            "No value yet: your quota is needed (--quota-tpm).".to_string()
        }
        // The replay does not reproduce the history's throttling.
        _ if c.basis == Basis::HistoryThrottles => {
            "No max output value is shown to avoid your 429s: see why below.".to_string()
        }
        // The values safe for the quota cut responses Claude Code then gives up on.
        _ if c.basis == Basis::ResponsesFail => {
            "No max output value both avoids the 429s and lets every response finish: see the advice.".to_string()
        }
        _ => "No max output value avoids the 429s: see the advice.".to_string(),
    }
}

/// The values of the table's `rows` from `floor` up to below `upto` whose replay is not safe:
/// not every value below the largest safe one need be safe. Values up to `proven_up_to` (the
/// value the history ran at without a 429, where the advice takes that as safe) are not.
fn unsafe_below(rows: &[Row], floor: u64, upto: u64, proven_up_to: Option<u64>) -> Vec<u64> {
    rows.iter()
        .filter(|r| (floor..upto).contains(&r.value) && !crate::analysis::choose::is_safe(&r.outcome))
        .filter(|r| proven_up_to.is_none_or(|p| r.value > p))
        .map(|r| r.value)
        .collect()
}

/// `4,000` or `4,000 (in effect)`.
fn value_in_effect(a: &Advice, v: u64) -> String {
    match &a.escalation {
        Some(e) if v == a.current => {
            format!("{} (reached by Claude Code's escalation from {})", thousands(v), thousands(e.capped))
        }
        _ if v == a.current && a.current_is_most_requests() => {
            format!("{} (the value most requests ran at)", thousands(v))
        }
        _ if v == a.current => format!("{} (the value in effect)", thousands(v)),
        _ => thousands(v),
    }
}

fn row(a: &Advice, value: u64) -> Option<&Row> {
    a.rows.iter().find(|r| r.value == value)
}

/// "12 of 1,000 attempts throttled (1.2%) and 3 failed requests".
fn throttling(o: &Outcome) -> String {
    let mut s = format!(
        "{} of {} throttled ({})",
        thousands(o.throttled_attempts),
        count_of(o.attempts, "attempt", "attempts"),
        percent(o.throttled_share())
    );
    s.push_str(&if o.failed == 0 {
        ", no failed request".to_string()
    } else {
        format!(", {} failed for good", count_of(o.failed, "request", "requests"))
    });
    s
}

/// What the replays were run against.
fn against(a: &Advice) -> String {
    let Some(q) = &a.quota else { return String::new() };
    let mut s = format!("{} of {} TPM", percent(q.headroom), thousands(q.tpm));
    if let Some(p) = q.parallel {
        s.push_str(&format!(
            ", scaled for {} in flight instead of the {} seen",
            count_of(p, "request", "requests"),
            thousands(q.parallel_seen)
        ));
    }
    s
}

/// "3 of 330 responses (0.9%)".
fn share_of(n: u64, of: u64, what: (&str, &str)) -> String {
    let pct = if of == 0 { 0.0 } else { n as f64 / of as f64 };
    format!("{} of {} ({})", thousands(n), count_of(of, what.0, what.1), percent(pct))
}

/// The replay's responses: every one the history asked for, those that failed included.
const RESPONSES: (&str, &str) = ("response asked for", "responses asked for");

/// What demand's `known_up_to` is: the highest limit in effect, or, where a cut response and
/// its continuations wrote more, the most the history shows one wanted (a trial read
/// "65,500, the highest limit in effect" beside 64,000 in effect).
fn known_name(a: &Advice) -> &'static str {
    if a.demand.known_up_to > a.demand.highest_limit {
        "the most your history shows a response wanted"
    } else if a.demand.known_up_to < a.demand.highest_limit {
        "the limit the cut responses ran at (no response was seen above it)"
    } else {
        "the highest limit in effect"
    }
}

/// The requests whose limit is only a guess (`current` the value in effect; Claude Code's
/// `default` without one).
pub fn assumed(x: Assumed, current: u64, default: u64, advised: Option<u64>) -> String {
    let (its, is, them, they) = if x.units == 1 { ("its", "is", "it", "it") } else { ("their", "are", "them", "they") };
    let which = requests_show(x.all, x.units);
    // Above the default, the guess is the default; below it, the value itself (a person's,
    // in a team whose values differ).
    let raised = x.value == Some(default) && current > default;
    let own = x.value == Some(current);
    let set = if own || raised {
        format!("the {} in effect now", thousands(current))
    } else {
        "the values in effect now".to_string()
    };
    let at = match x.value {
        _ if raised => format!("Claude Code's default of {}", thousands(default)),
        _ if own => "it".to_string(),
        Some(v) => format!("{}, the value their person set", thousands(v)),
        None => format!("the smaller of each person's value and Claude Code's default of {}", thousands(default)),
    };
    let after =
        "`ccdoctor apply` keeps a dated backup of each value it writes, and the next scan reads it as set then.";
    // What the default would advise, where worked out.
    let there = match x.at_default {
        Some(d) if d.value == advised => ", where the advice is the same".to_string(),
        Some(d) => format!(", where the advice would be {}", would_be(d)),
        None => String::new(),
    };
    let then = if raised {
        format!("If {they} ran at {}, the guess is on the low side; {after}", thousands(current))
    } else {
        format!(
            "If it was set after {them}, {they} ran at the value before it (with none set, Claude Code's default of {}{there}), and `--ran-at` says which; {after}",
            thousands(default)
        )
    };
    format!(
        "{which} no limit of {its} own, and nothing dates {set}: {they} {is} taken to have run at {at}, the cautious guess. {then}"
    )
}

/// "All 43 requests show", "2 requests show": `n` requests, `all` of the model's or not.
fn requests_show(all: bool, n: u64) -> String {
    match (all, n) {
        (true, 1) => "The one request shows".to_string(),
        (true, 2) => "Both requests show".to_string(),
        (true, n) => format!("All {} requests show", thousands(n)),
        (false, n) => count_of(n, "request shows", "requests show"),
    }
}

/// The advice at another guess, as a sentence ends it: "to keep 7,000", "no value".
fn would_be(d: AtDefault) -> String {
    match (d.action, d.value) {
        (Action::Keep, Some(v)) => format!("to keep {}", thousands(v)),
        (Action::Raise, Some(v)) => format!("to raise it to {}", thousands(v)),
        (_, Some(v)) => format!("to lower it to {}", thousands(v)),
        (_, None) => "no value".to_string(),
    }
}

/// The requests whose limit is only known to be at least the longest response they wrote
/// (`r`), of the advice `a`.
pub fn ran_above(r: RanAbove, a: &Advice) -> String {
    let (default, given) = (a.default, a.ran_at_given);
    // The value they wrote more than: the one set for their time (now, or before an `apply`).
    let (than, it) = match r.set_then {
        Some(v) if v == a.current => (format!("more than the {} in effect now allows", thousands(v)), "it was"),
        Some(v) => (format!("more than the {} set then allows", thousands(v)), "it was"),
        None => ("more than the values set now allow".to_string(), "those were"),
    };
    // Where max output counts against no quota, the guess moves no fit.
    let why = if a.quota.is_some() && a.provider != Provider::Anthropic {
        " (a smaller limit reserves less, so the fit finds a smaller quota)"
    } else {
        ""
    };
    let (its, they) = if r.requests == 1 { ("its", "it") } else { ("their", "they") };
    let which = requests_show(r.all, r.requests);
    let (they_cap, are) = if r.requests == 1 { ("It", "is") } else { ("They", "are") };
    let taken = match r.ruled_out {
        // The cautious guess, ruled out by the history's 429s: the next, the default.
        Some(first) => format!(
            "{they_cap} {are} taken to have run at Claude Code's default of {}: at {}, the least round value that allows it, no reading of how the quota is counted reproduces your history's 429s.",
            thousands(r.taken_at),
            thousands(first)
        ),
        None => {
            let higher = match r.at_default {
                // What the default would advise, and the flag that takes it.
                Some(d) if d.value == a.choice.value => format!(
                    "If {they} ran at Claude Code's default of {} (nothing set then), the advice is the same.",
                    thousands(default)
                ),
                Some(d) => {
                    let would = would_be(d);
                    format!(
                        "If {they} ran at Claude Code's default of {} (nothing set then), the advice would be {would}: `--ran-at {default}` says so (or `--ran-at` the value set then).",
                        thousands(default)
                    )
                }
                None if r.taken_at < default => format!(
                    "If {they} ran higher (with none set, at Claude Code's default of {}), your quota is larger than the fit finds and the advice on the low side.",
                    thousands(default)
                ),
                None => format!(
                    "If {they} ran higher, your quota is larger than the fit finds and the advice on the low side."
                ),
            };
            // A response longer than the model's upper limit allows (a count it cannot have).
            let value =
                if r.taken_at < r.longest { "the model's upper limit" } else { "the least round value that allows it" };
            // People's own sessions are taken each at their own (the most is said).
            let at = match r.set_then {
                Some(_) => format!("{}, {value}", thousands(r.taken_at)),
                None => format!(
                    "the least round value that allows each person's longest (at most {})",
                    thousands(r.taken_at)
                ),
            };
            format!("{they_cap} {are} taken to have run at {at}, the cautious guess{why}. {higher}")
        }
    };
    // A value given that is not above what they wrote is no value they ran at.
    let not_given = match (given, a.ran_at_kept) {
        (Some(v), _) if v < r.longest => format!(" (--ran-at {} is below that)", thousands(v)),
        (None, Some(v)) if v < r.longest => format!(" (the {} `apply --ran-at` kept is below that)", thousands(v)),
        _ => String::new(),
    };
    format!(
        "{which} no limit of {its} own and wrote up to {} tokens{not_given}, {than}: {they} ran before {it} set, at a value nothing dates. {taken}",
        thousands(r.longest),
    )
}

/// The reasons, the one that decided first.
pub fn reasons(report: &Report, a: &Advice, r: &Recommendation) -> Vec<String> {
    let mut out = Vec::new();
    let c = &a.choice;
    if a.from_ceiling_only {
        out.extend(ceiling_only(a));
    } else {
        out.extend(lead(a));
    }
    // Demand.
    if a.demand.responses > 0 {
        out.push(demand_line(a, r));
    }
    // The limit the history ran at, where it is a guess from the value set now.
    if let Some(x) = a.assumed {
        out.push(assumed(x, a.current, a.default, a.choice.value));
    }
    // The limit the history ran at, where it is only known to be at least what it wrote.
    if let Some(x) = a.ran_above {
        out.push(ran_above(x, a));
    }
    if let (Some(v), Some(k)) = (c.value, Some(a.demand.known_up_to))
        && v > k
        && let Some(row) = row(a, v)
        && row.outcome.beyond > 0
    {
        out.push(format!(
            "{} wanted more than {}, {}: the history cannot tell how much more, so the replay runs them to the full {} (the safe side for the quota) and cannot tell whether {} cuts them.",
            count_of(row.outcome.beyond, "response", "responses"),
            thousands(k),
            known_name(a),
            thousands(v),
            thousands(v),
        ));
    }
    if let FigureSource::Clamp(clamp) = &a.cap_source {
        let on = clamp.time.map_or(String::new(), |t| format!(" on {}", crate::time::day_of(t)));
        let shows = match clamp.by {
            ClampBy::CappedLine => format!(
                "Your debug log shows Claude Code clamping {} at {} (Capped from {} to {})",
                a.model,
                thousands(clamp.to),
                thousands(clamp.from),
                thousands(clamp.to)
            ),
            ClampBy::Refused => format!(
                "Your records show a request of {} refused (400) for asking max_tokens {} over its maximum of {}{on}",
                a.model,
                thousands(clamp.from),
                thousands(clamp.to)
            ),
            ClampBy::ExceededError => format!(
                "Your records show a request of {} running at {} (an \"exceeded the {} output token maximum\" error{on}), so the model allows at least that",
                a.model,
                thousands(clamp.to),
                clamp.to
            ),
            ClampBy::MaxTokensStop => format!(
                "Your records show a response of {} stopping at max_tokens after {} tokens{on}, so the model allows at least that",
                a.model,
                thousands(clamp.to)
            ),
            ClampBy::Response => format!(
                "Your records show a response of {} running to {} tokens{on}, more than the {} assumed for a model not in the table, so Claude Code did not cap it there: its upper limit is taken as {}",
                a.model,
                thousands(clamp.from),
                thousands(crate::models::UNKNOWN_MODEL_CAP),
                thousands(clamp.to)
            ),
        };
        out.push(match a.family.map(|f| f.max_output_cap.value) {
            _ if clamp.by == ClampBy::Response => {
                format!("{shows} (reported for models Claude Code does not know; unverified).")
            }
            Some(table) if table == clamp.to => format!("{shows}, as the model table says."),
            Some(table) => {
                format!("{shows}: that, not the model table's {}, is its upper limit here.", thousands(table))
            }
            None => format!("{shows}: that is its upper limit here (the model is not in the table)."),
        });
    }
    if a.gave_up > 0 && c.value.is_some_and(|v| v > a.current) {
        out.push(format!(
            "{} ended in the \"exceeded\" error, which ends Claude Code's turn: the work that would have followed is not in your history, so the replay's load at a larger value is a lower bound.",
            count_of(a.gave_up, "cut response", "cut responses")
        ));
    }
    if let Some(cal) = &a.calibration
        && c.basis != Basis::QuotaUnknown
    {
        let e = &report.errors;
        out.push(readings::check(a, cal, (e.throttled(), e.rate_limit.final_)));
        if cal.reasked > 0 {
            out.push(format!(
                "{} failed for good and the next prompt in the same session asked again: at a value where it got through, the failure and the second asking are one response.",
                count_of(cal.reasked, "request", "requests")
            ));
        }
        out.extend(readings::others(a, cal));
        if !cal.readings.iter().any(|v| v.standing == Standing::Fits) {
            out.extend(readings::none_fits(a, cal));
        }
    }
    if let (Some(b), Some(q)) = (&a.ceiling, &a.quota)
        && !a.from_ceiling_only
        && c.basis != Basis::QuotaUnknown
    {
        let res = if q.reading.cache_reads_reserved { "I_res" } else { "I_set" };
        let at_once = match q.parallel {
            Some(_) => "in flight at once (planned)",
            None => "sent at once (the most your records show, waiting on the quota or running)",
        };
        // One request alone is not "all together".
        let (all, together) = if b.parallel == 1 { ("", "") } else { (" all", " together") };
        let mut s = if !b.charges_output() {
            // Mantle's input quota: output does not count against it, admission alone bounds M.
            format!(
                "Admission by hand, if {} {at_once}{all} asked{together}: P·(I_set + M) ≤ u·Q gives M ≤ {:.2}·{}/{} − {} = {}; output does not count against the input quota, so no worst case bounds M there.",
                count_of(b.parallel, "request", "requests"),
                b.headroom,
                thousands(b.quota_tpm),
                b.parallel,
                thousands(b.input_set),
                bound(b.admission_limit(), Some(b.admission_raw())),
            )
        } else {
            // Where admission reserves what the worst case charges, its rule is the same
            // inequality: its bound is not written twice.
            let admission = if b.input_reserved == b.input_set && b.reserved_burndown == b.burndown {
                "the same bound".to_string()
            } else {
                format!("M ≤ {}", bound(b.admission_limit(), Some(b.admission_raw())))
            };
            let mut s = format!(
                "Worst case by hand, if {} {at_once}{all} ran to the max output{together}: M ≤ (u·Q/P − I_set)/B = ({:.2}·{}/{} − {})/{} = {}; admission P·({res} + {}) ≤ u·Q gives {admission}",
                count_of(b.parallel, "request", "requests"),
                b.headroom,
                thousands(b.quota_tpm),
                b.parallel,
                thousands(b.input_set),
                b.burndown,
                bound(b.worst_case_limit(), b.worst_case_raw()),
                reserved_output(b),
            );
            // The inputs table's ceiling is the smaller of the two.
            match (b.worst_case_limit(), b.admission_limit()) {
                (Some(w), Some(m)) if w != m => {
                    s.push_str(&format!(": the worst-case ceiling is the smaller, {}.", thousands(w.min(m))))
                }
                _ => s.push('.'),
            }
            s
        };
        // What says the value holds where this bound does not: the replay, or the history
        // that ran at it without a 429 (the replay may throttle it: the lead says so).
        let replay_holds =
            c.value.and_then(|v| row(a, v)).is_some_and(|r| crate::analysis::choose::is_safe(&r.outcome));
        let why = match b.ceiling() {
            Some(_) => "real requests rarely all run to the limit together",
            None => "real requests rarely all ask at once with that much input",
        };
        if let Some(v) = c.value.filter(|&v| b.ceiling().is_none_or(|ceil| v > ceil)) {
            if replay_holds {
                s.push_str(&format!(" The replay finds {} safe: {why}.", thousands(v)));
            } else if a.proven && v == a.current {
                // (The history ran at the value in effect: said of that value only.)
                s.push_str(&format!(" Your history ran at {} without a 429: {why}.", thousands(v)));
            }
        }
        // The symbols, once: each figure above is in the inputs table.
        let with_cache = if q.reading.cache_reads_reserved { "; I_res: the same with cache reads" } else { "" };
        let burndown = if b.charges_output() { "; B: burndown" } else { "" };
        s.push_str(&format!(
            " (M: max output; u: headroom; Q: quota, TPM; P: requests at once; I_set: input per request, p90{with_cache}{burndown}.)"
        ));
        out.push(s);
    }
    out
}

/// The sentences that say why this action, by its basis.
fn lead(a: &Advice) -> Vec<String> {
    let c = &a.choice;
    // Cuts at a value, as a share of the responses the replay ran.
    let cuts_at = |v: u64| {
        row(a, v).map(|r| {
            let cut = share_of(r.outcome.cut, r.outcome.responses, RESPONSES);
            if r.outcome.beyond > 0 {
                format!("{cut}, and perhaps {} more whose size the history cannot show", thousands(r.outcome.beyond))
            } else if a.demand.beyond_known() && v > a.demand.known_up_to {
                // Above what the history shows, the cut responses of unknown size count as
                // finished: say so beside the figure (a trial read "0 of 10" at 33,000).
                format!(
                    "{cut} as far as your history shows ({} known only to want more than {})",
                    count_of(a.demand.censored, "cut one", "cut ones"),
                    thousands(a.demand.known_up_to)
                )
            } else {
                cut
            }
        })
    };
    let mut out = Vec::new();
    let quota_counts = a.quota.is_some() && a.provider != Provider::Anthropic;
    // Only the floor replays safely: nothing to choose among.
    let only_floor = c.safe_up_to.is_some_and(|s| s <= a.floor);
    let safe_range = |out: &mut Vec<String>| {
        if let Some(s) = c.safe_up_to
            && quota_counts
        {
            // Safety need not run in one piece: a value below the largest safe one that the
            // table shows unsafe (one the history ran at without a 429 aside) is named, not
            // claimed.
            let proven_up_to = a.proven_as_planned.then_some(a.current);
            let holes: Vec<String> =
                unsafe_below(&a.rows, a.floor, s, proven_up_to).into_iter().map(thousands).collect();
            let which = if only_floor {
                format!("Only {} replays safely", thousands(s))
            } else if holes.is_empty() {
                format!("Every value from {} up to {} replays safely", thousands(a.floor), thousands(s))
            } else {
                format!("{} replays safely", thousands(s))
            };
            let but = match holes.as_slice() {
                [] => String::new(),
                [one] => format!("; not every value below it does: {one} does not (the replay table)"),
                more => format!("; not every value below it does: {} do not (the replay table)", more.join(", ")),
            };
            out.push(format!(
                "{which} against {} (no failed request, at most {} of attempts throttled){but}.",
                against(a),
                percent(MAX_THROTTLED_SHARE)
            ));
        }
    };
    let why_this = |out: &mut Vec<String>, v: u64| {
        let Some(from) = c.fewest_cuts_from else { return };
        let fewest = cuts_at(v).unwrap_or_default();
        let place = if v == a.default {
            format!("{} is Claude Code's default for {}", thousands(v), a.model)
        } else if Some(v) == c.safe_up_to && v < a.default {
            format!("{} is the largest, the nearest to Claude Code's default of {}", thousands(v), thousands(a.default))
        } else if v == from && v > a.default {
            format!(
                "{} is the smallest, the nearest to Claude Code's default of {}",
                thousands(v),
                thousands(a.default)
            )
        } else if v > a.default && v > a.demand.known_up_to && v > from && a.demand.beyond_known() {
            // A raise above the highest limit ever in effect goes to twice it, or the model's
            // upper limit (`choose`): not the value nearest the default, which a trial read
            // beside "every value from 33,000 up" (64,000 named the nearest to 32,000).
            let known = a.demand.known_up_to;
            let why = format!(
                "above {}, {}, your history cannot tell how much more the cut responses wanted, and a raise goes to twice that or the model's upper limit",
                thousands(known),
                known_name(a)
            );
            if v == a.cap {
                format!("{} is the model's upper limit: {why}", thousands(v))
            } else if v == known.saturating_mul(2) {
                format!("{} is twice {}: {why}", thousands(v), thousands(known))
            } else {
                format!("{} is the least such raise the quota allows: {why}", thousands(v))
            }
        } else {
            format!("{} is the nearest to Claude Code's default of {}", thousands(v), thousands(a.default))
        };
        if quota_counts && only_floor {
            out.push(format!("It cuts {fewest}."));
        } else if a.small_sample {
            // Too few responses: the choice does not weigh cuts (every safe value counts alike),
            // so no value is said to cut the fewest.
            out.push(format!(
                "With {} of {}, too few (under {MIN_RESPONSES}) to judge cuts by, every safe value counts alike: {place}; it cuts {fewest}.",
                count_of(a.demand.responses, "response", "responses"),
                a.model
            ));
        } else if quota_counts && Some(from) == c.safe_up_to {
            // The largest safe value is the only one of the range that cuts the fewest.
            out.push(format!("Of those, {} cuts the fewest responses, {fewest}; {place}.", thousands(from)));
        } else if quota_counts {
            out.push(format!(
                "Of those, every value from {} up cuts the fewest responses, {fewest}; {place}.",
                thousands(from)
            ));
        } else {
            out.push(format!("Every value from {} up cuts the fewest responses, {fewest}; {place}.", thousands(from)));
        }
    };
    match c.basis {
        Basis::HistoryThrottles => {
            let h = a.at_ran;
            let failed = if h.failed > 0 {
                format!(", {} failed for good", count_of(h.failed, "request", "requests"))
            } else {
                String::new()
            };
            let at = if h.value == a.current {
                value_in_effect(a, h.value)
            } else {
                format!("{}, the value most of your history ran at", thousands(h.value))
            };
            let replay = row(a, h.value)
                .map(|r| format!(", while its replay at its own pace against {} has {}", against(a), throttling(&r.outcome)))
                .unwrap_or_default();
            out.push(format!(
                "At {at}, {} of your history's {} were throttled ({} of {}{failed}): more than a safe value may be, beyond reasonable doubt{replay}.",
                thousands(h.throttled_requests),
                count_of(h.requests, "request", "requests"),
                thousands(h.throttled),
                count_of(h.attempts, "attempt", "attempts"),
            ));
            out.push(
                "The replay does not reproduce what throttled it (others' load on the same quota, or bursts its pace smooths over), so it advises no value, the one in effect or any other: a lower one reserves less of the quota, but nothing here shows how far lower avoids the 429s. More quota, or fewer requests on it (yours and others'), does.".to_string(),
            );
        }
        Basis::Throttles => {
            if let Some(r) = row(a, a.current) {
                // Where the replay fails requests the history at that value did not, the
                // history's own figures beside it (the replay plans below the quota, at pace).
                let h = a.at_ran;
                let seen = if h.value == a.current && h.attempts > 0 && r.outcome.failed > h.failed {
                    let failed = if h.failed == 0 {
                        "no failed request".to_string()
                    } else {
                        format!("{} failed for good", count_of(h.failed, "request", "requests"))
                    };
                    format!(
                        ", where your history at it had {} of {} throttled ({}) and {failed}: the replay plans with headroom, at the work's own pace",
                        thousands(h.throttled),
                        count_of(h.attempts, "attempt", "attempts"),
                        percent(h.throttled as f64 / h.attempts as f64),
                    )
                } else {
                    String::new()
                };
                out.push(format!(
                    "At {}, your history's work sent at its own pace (as if nothing were throttled) against {} has {}{seen}.",
                    value_in_effect(a, a.current),
                    against(a),
                    throttling(&r.outcome)
                ));
            }
            safe_range(&mut out);
            if let Some(v) = c.value {
                why_this(&mut out, v);
            }
        }
        Basis::FewerCuts => {
            if let Some(cut) = cuts_at(a.current) {
                let one = row(a, a.current).is_some_and(|r| r.outcome.cut == 1 && r.outcome.beyond == 0);
                let verb = if one { "is" } else { "are" };
                out.push(format!("At {}, {cut} {verb} cut.", value_in_effect(a, a.current)));
            }
            safe_range(&mut out);
            if let Some(v) = c.value {
                why_this(&mut out, v);
            }
        }
        Basis::NothingWouldImprove => {
            let cut = cuts_at(a.current).unwrap_or_default();
            match row(a, a.current) {
                // Kept because the history ran at it without a 429, though the replay at its
                // pace throttles it: say which weighs more, not that it replays safely.
                Some(r) if quota_counts && !crate::analysis::choose::is_safe(&r.outcome) => out.push(format!(
                    "{} ran without a 429 in your history, at its own load: that outweighs the replay of its work at its own pace against {}, which has {}; no value the replay finds safe there cuts fewer responses than its {cut}.",
                    value_in_effect(a, a.current),
                    against(a),
                    throttling(&r.outcome)
                )),
                Some(r) if quota_counts => out.push(format!(
                    "{} replays safely against {}: {}; no safe value cuts fewer responses than its {cut}.",
                    value_in_effect(a, a.current),
                    against(a),
                    throttling(&r.outcome)
                )),
                // Max output counts against a quota nobody knows: the history shows the value
                // in effect fits it, and nothing about larger values.
                _ if a.quota_unknown => {
                    let here = row(a, a.current).map(|c| c.outcome.cut);
                    let fewer = a
                        .rows
                        .iter()
                        .filter(|r| r.value > a.current && here.is_some_and(|c| r.outcome.cut < c))
                        .map(|r| r.value)
                        .min();
                    let shows = if a.proven_as_planned {
                        format!(
                            "it shows that {} fits the quota, and nothing about larger values, so it stays",
                            value_in_effect(a, a.current)
                        )
                    } else if a.proven {
                        format!(
                            "it shows that {} fits the quota at your history's load, not at the load --parallel plans for, and nothing about larger values; it stays",
                            value_in_effect(a, a.current)
                        )
                    } else {
                        format!(
                            "it ran mostly at other values, so nothing shows whether {} fits the quota; it stays until a 429 or your quota says",
                            value_in_effect(a, a.current)
                        )
                    };
                    out.push(format!(
                        "Your history has no throttled attempt and no quota is known: {shows}; it cuts {cut}{}.",
                        match fewer.and_then(|v| cuts_at(v).map(|c| (v, c))) {
                            Some((v, c)) => format!(
                                "; {} would cut {c}: pass your applied quota with --quota-tpm to judge it",
                                thousands(v)
                            ),
                            None => String::new(),
                        }
                    ))
                }
                _ => out.push(format!(
                    "{}; {} cuts {cut}, as few as any value.",
                    no_quota_side(a),
                    value_in_effect(a, a.current)
                )),
            }
        }
        Basis::SmallSample => {
            let mut s = format!(
                "Demand has only {} of {}: too few (under {}) to judge cuts by, so the value in effect, {}, stays",
                count_of(a.demand.responses, "response", "responses"),
                a.model,
                MIN_RESPONSES,
                thousands(a.current)
            );
            match row(a, a.current) {
                Some(r) if quota_counts => {
                    s.push_str(&format!("; replayed against {} it has {}.", against(a), throttling(&r.outcome)))
                }
                _ => s.push('.'),
            }
            out.push(s);
        }
        Basis::QuotaUnknown => match &a.calibration {
            // No quota reproduces the 429s from the history's own load (none_fits says how):
            // what would put the others' load in it, not the quota.
            Some(cal) if cal.unreproduced() => {
                out.extend(readings::none_fits(a, cal));
                // A team's history already holds the homes and telemetry given: the load it
                // lacks is someone else's still.
                out.push(if a.team {
                    "If others outside this history draw on the same quota, add their homes (--shared-quota) or their telemetry (--otel): their load is then in the history the replay runs.".into()
                } else {
                    "If others draw on the same quota, scan their homes with yours (--shared-quota) or the team's telemetry (--otel): their load is then in the history the replay runs.".into()
                });
            }
            Some(cal) => {
                out.push(format!(
                    "Your history shows {}, and no reading of how the quota is counted explains them at a quota near the one assumed: no value chosen against it can be trusted.",
                    count_of(a.throttled_seen, "throttled attempt", "throttled attempts")
                ));
                out.extend(readings::none_fits(a, cal));
                if cal.reference.as_ref().is_none_or(|r| r.origin != Origin::Flag) {
                    out.push("Pass your applied quota with --quota-tpm.".into());
                }
            }
            None => out.push(format!(
                "Your history shows {} and there is no quota to replay it against: pass your applied quota with --quota-tpm, and the replay chooses a value.",
                count_of(a.throttled_seen, "throttled attempt", "throttled attempts")
            )),
        },
        Basis::ResponsesFail => {
            safe_range(&mut out);
            if let (Some(s), Some(from)) = (c.safe_up_to, c.finish_from)
                && let Some(r) = row(a, s)
            {
                // Responses cut at the highest limit in effect are of a size the history cannot
                // show: whether a value gives up on them is not known.
                let unsized_ = a.rows.iter().map(|r| r.outcome.beyond).max().unwrap_or(0);
                let none = if unsized_ > 0 {
                    format!(
                        "none of those whose size the history shows (of {} more, cut at the highest limit in effect, it cannot tell)",
                        thousands(unsized_)
                    )
                } else {
                    "none of them".to_string()
                };
                // Where no quota is known, the value in effect is the most the history shows
                // the quota holds, not the most it holds.
                let fix = if a.quota_unknown {
                    format!(
                        "Your history has no throttled attempt and no quota is known, so nothing shows whether the quota holds {}: pass your applied quota with --quota-tpm to judge it.",
                        thousands(from)
                    )
                } else {
                    "No max output both fits the quota and lets those responses finish: fewer requests in flight or more quota is the fix.".to_string()
                };
                out.push(format!(
                    "But at {} Claude Code would give up on {} that a larger value lets finish: each is longer than four parts of it, and after three continuations Claude Code stops with \"exceeded the {} output token maximum\". From {} up it gives up on {none}. {fix}",
                    thousands(s),
                    count_of(r.gave_up, "of your responses", "of your responses"),
                    s,
                    thousands(from)
                ));
            }
        }
        Basis::NoValueIsSafe => {
            if let Some(r) = row(a, a.floor) {
                // Not "even the least is not safe": throttling need not fall with the value (a
                // trial read 3,000 throttling 3 of 149 attempts beside 4,000's 2 of 144).
                out.push(format!(
                    "No value is safe. At the least tried, {}, your history's work sent at its own pace against {} has {}; the replay table shows the others. No max output fixes it.",
                    thousands(a.floor),
                    against(a),
                    throttling(&r.outcome)
                ));
            }
            // The floor is the thinking budget's: smaller values were not tried.
            if let Some(t) = a.thinking.filter(|&t| !a.adaptive && crate::analysis::choose::floor_for(Some(t)) == a.floor)
            {
                // A team's floor is its largest budget: one person's, whatever their model.
                let whose = if a.thinking_of_people {
                    "the largest thinking budget of the team's people"
                } else {
                    "your thinking budget"
                };
                out.push(format!(
                    "Values below {} are not tried: max output must hold {whose} ({}, MAX_THINKING_TOKENS) and the answer. A smaller budget lets smaller values in, which reserve less of the quota.",
                    thousands(a.floor),
                    thousands(t)
                ));
            }
        }
    }
    out
}

/// Why only cuts count: the provider, or no quota to plan against.
fn no_quota_side(a: &Advice) -> String {
    match (a.provider, &a.quota) {
        (Provider::Anthropic, _) => {
            "On the Anthropic API max output does not count against the rate limits, so only cuts matter".into()
        }
        _ => "With no quota to plan against (--quota-tpm), only cuts are judged".into(),
    }
}

/// A bound of the by-hand formulas: the value, or the negative figure and that no M fits
/// (the inputs alone exceed the share of the quota).
fn bound(limit: Option<u64>, raw: Option<f64>) -> String {
    match (limit, raw) {
        (Some(v), _) => thousands(v),
        (None, Some(r)) if r.is_finite() => format!("−{} (no M fits)", thousands((-r).round() as u64)),
        _ => "no M fits".into(),
    }
}

/// What a user with Claude Code's capped default in force gives up by writing a value.
pub fn escalation_note(e: &crate::analysis::advice::Escalation) -> String {
    let seen = if e.responses > 0 {
        format!(
            " ({} of yours did: each after a first attempt cut at {}, generated and not shown)",
            thousands(e.responses),
            thousands(e.capped)
        )
    } else {
        String::new()
    };
    format!(
        "With no max output set, Claude Code asks for {} and sends a response cut there again at {}{seen}. Writing any value ends that: every request then asks for the value, and a response above it is cut instead.",
        thousands(e.capped),
        thousands(e.escalated),
    )
}

/// The reasons when no response was measured: the worst-case bound alone.
fn ceiling_only(a: &Advice) -> Vec<String> {
    let mut out = Vec::new();
    let Some(b) = &a.ceiling else {
        out.push(format!(
            "No request of {} got a response, and there is no quota to plan against (--quota-tpm): nothing to change the value by.",
            a.model
        ));
        return out;
    };
    out.push(format!(
        "No request of {} got a response, so there is nothing to replay: the value comes from the worst-case bound with the {} seen in flight at once and the input per request unknown (taken as 0).",
        a.model,
        count_of(b.parallel, "request", "requests"),
    ));
    out.push(if b.charges_output() {
        format!(
            "M ≤ (u·Q/P − I)/B = ({:.2}·{}/{} − 0)/{} = {}; admission P·(I + {}) ≤ u·Q gives M ≤ {}.",
            b.headroom,
            thousands(b.quota_tpm),
            b.parallel,
            b.burndown,
            bound(b.worst_case_limit(), b.worst_case_raw()),
            reserved_output(b),
            bound(b.admission_limit(), Some(b.admission_raw())),
        )
    } else {
        format!(
            "Admission P·(I + M) ≤ u·Q gives M ≤ {:.2}·{}/{} − 0 = {}; output does not count against the input quota.",
            b.headroom,
            thousands(b.quota_tpm),
            b.parallel,
            bound(b.admission_limit(), Some(b.admission_raw())),
        )
    });
    if a.choice.value.is_none() && a.throttled_seen > 0 && b.ceiling().is_some_and(|c| c >= a.current) {
        out.push(format!(
            "That bound allows the {} in effect, yet {} refused: the input per request, the quota or others' load on it is not what the bound assumes, so it cannot tell a safe value.",
            thousands(a.current),
            count_of(a.throttled_seen, "attempt was", "attempts were"),
        ));
    }
    out
}

/// Max output as the reading reserves it at admission, in the worst case's formula.
fn reserved_output(b: &crate::analysis::ceiling::Budget) -> &'static str {
    if b.reserved_burndown == 1.0 { "M" } else { "B·M" }
}

/// What demand looks like.
fn demand_line(a: &Advice, r: &Recommendation) -> String {
    let d = &a.demand;
    let p = |v: Option<u64>| v.map_or_else(|| format!("above {}", thousands(d.known_up_to)), thousands);
    let mut s = format!("Demand, from {}", count_of(d.responses, "response", "responses"));
    let mut notes = Vec::new();
    if d.censored > 0 {
        notes.push(format!("{} counted as wanting more than their limit", count_of(d.censored, "cut one", "cut ones")));
    }
    if d.estimated > 0 {
        notes.push(format!("{} estimated from content", thousands(d.estimated)));
    }
    if !notes.is_empty() {
        s.push_str(&format!(" ({})", notes.join("; ")));
    }
    s.push_str(&format!(": p50 {}, p90 {}, p99 {}", p(d.p50), p(d.p90), p(d.p99)));
    if d.beyond_share > 0.0 {
        s.push_str(&format!(
            "; {} of it lies above {}, {}, where the history cannot see",
            percent(d.beyond_share),
            thousands(d.known_up_to),
            known_name(a)
        ));
    }
    // The percentile asked for, where the line has not named it already.
    if ![50.0, 90.0, 99.0].contains(&r.percentile) {
        s.push_str(&format!("; p{} {}", fmt_q(r.percentile), p(r.target)));
    }
    s.push('.');
    if let Some(made_of) = responses_made_of(a) {
        s.push(' ');
        s.push_str(&made_of);
    }
    s
}

/// How the responses of demand come from the records the output table counts, when they are
/// not simply those: a cut response and its continuations are one, and a cut response whose
/// record was not kept is known by its "exceeded" error.
fn responses_made_of(a: &Advice) -> Option<String> {
    let d = &a.demand;
    let recorded = format!(
        "{} {} {} recorded",
        thousands(d.recorded),
        a.model,
        if d.recorded == 1 { "response" } else { "responses" }
    );
    let by_error = |more: &str| match d.known_by_error {
        1 => format!("1{more} cut response is known only by its \"exceeded\" error"),
        n => format!("{}{more} cut responses are known only by their \"exceeded\" error", thousands(n)),
    };
    let continued = match d.continuations {
        0 => None,
        1 => Some("1 is a continuation, counted with the cut response it continues".to_string()),
        n => Some(format!("{} are continuations, counted with the cut responses they continue", thousands(n))),
    };
    match (continued, d.known_by_error) {
        (None, 0) => None,
        (Some(c), 0) => Some(format!("Of the {recorded}, {c}.")),
        (None, _) => Some(format!("Beside the {recorded}, {}.", by_error(""))),
        (Some(c), _) => Some(format!("Of the {recorded}, {c}; {}.", by_error(" more"))),
    }
}

/// The replay's responses when they are more than demand's: the requests that failed for
/// good are responses asked for too (where one gets through, its response is drawn from
/// demand).
pub fn asked_note(a: &Advice) -> Option<String> {
    let d = &a.demand;
    let failed = d.asked.checked_sub(d.responses).filter(|&f| f > 0)?;
    // The failures asked again are not among them (each is one response with its second
    // asking): the count of all failures is said elsewhere on the page, so the part is named.
    let of_all = a
        .calibration
        .as_ref()
        .filter(|c| c.reasked > 0 && c.observed_failed == failed + c.reasked)
        .map(|c| (c.observed_failed, c.reasked));
    let failed = match (failed, of_all) {
        (1, None) => {
            "1 request that failed for good, whose response is drawn from demand where it gets through".to_string()
        }
        (n, None) => format!(
            "{} requests that failed for good, whose responses are drawn from demand where they get through",
            thousands(n)
        ),
        (n, Some((all, reasked))) => format!(
            "{} of the {} requests that failed for good, whose {} drawn from demand where {} through (the other {} asked again, and {} one response with its second asking)",
            thousands(n),
            thousands(all),
            if n == 1 { "response is" } else { "responses are" },
            if n == 1 { "it gets" } else { "they get" },
            if reasked == 1 { "1 was".to_string() } else { format!("{} were", thousands(reasked)) },
            if reasked == 1 { "is" } else { "each is" },
        ),
    };
    Some(format!(
        "Cut responses are of the {} responses asked for: the {} of demand and {failed}.",
        thousands(d.asked),
        thousands(d.responses)
    ))
}

/// What else would help, and side effects to weigh.
pub fn advice(report: &Report, a: &Advice, r: &Recommendation) -> Vec<String> {
    let mut out = Vec::new();
    let e = &report.errors;
    let quota_counts = a.quota.is_some() && a.provider != Provider::Anthropic;
    if let (Some(n), Some(q)) = (&a.needed, &a.quota)
        && let (Some(need), Some(given)) = (n.output_tpm, &q.output)
    {
        let input = if n.quota_tpm > q.tpm {
            format!(" and the input quota to {} TPM", thousands(n.quota_tpm))
        } else {
            String::new()
        };
        out.push(format!(
            "Your output quota ({} TPM) throttles at every max output: the work writes more in a minute than it allows, and max output does not change what a response writes. Raise the output quota to {} TPM{input}: then {} replays safely.",
            thousands(given.tpm),
            thousands(need),
            thousands(n.value),
        ));
    } else if let (Some(n), Some(q)) = (&a.needed, &a.quota)
        // Where the quota in use already holds the value, fewer requests or more quota is
        // not what it takes.
        && n.quota_tpm > q.tpm
    {
        let had = match q.parallel {
            Some(p) => {
                format!("you plan for {}; your history had up to {} running", thousands(p), thousands(q.parallel_seen))
            }
            None => format!("your history had up to {} running", thousands(q.parallel_seen)),
        };
        // A quota fitted to the 429s is what the history ran against, whatever quota was
        // given or published: the raise is of that one, said so.
        let raise = if q.tpm_origin == Origin::Inferred {
            format!("raise the quota your 429s imply ({} TPM) to {} TPM", thousands(q.tpm), thousands(n.quota_tpm))
        } else {
            format!("raise the quota to {} TPM", thousands(n.quota_tpm))
        };
        out.push(if n.parallel == 0 {
            format!(
                "Not even one request at a time fits the quota at {} with {} reserved at admission ({had}): {raise} for {} to replay safely.",
                thousands(n.value),
                readings::formula(q.reading, a.provider),
                thousands(n.value),
            )
        } else {
            format!(
                "Run at most {} at once ({had}), or {raise}: then {} replays safely.",
                count_of(n.parallel, "request", "requests"),
                thousands(n.value),
            )
        });
    }
    if r.conflict
        && let Some(v) = r.max_output_tokens
        && !a.small_sample
    {
        let allowed = (100.0 - r.percentile) / 100.0;
        let tail = format!(
            "{} of responses are still cut at {}, more than the {} the p{} target allows",
            crate::text::percent_beside(r.truncated_share, allowed),
            thousands(v),
            percent(allowed),
            fmt_q(r.percentile)
        );
        out.push(if quota_counts && v >= a.cap {
            // At the model's upper limit no quota allows more.
            format!("{tail}, and no value the model allows cuts fewer.")
        } else if quota_counts {
            format!(
                "{tail}; Claude Code continues a cut response with a recovery prompt, at the cost of another request. More quota or fewer requests in flight allow a larger value."
            )
        } else if a.quota_unknown {
            // A larger value is not known to fit the quota.
            format!("{tail}; whether the quota holds a larger value is not known: pass your applied quota with --quota-tpm.")
        } else {
            format!("{tail}, and no value the model allows cuts fewer.")
        });
    }
    if let Some(esc) = &a.escalation {
        out.push(escalation_note(esc));
    }
    if a.provider == Provider::Anthropic
        && a.escalation.is_none()
        && a.current == crate::analysis::limits::CAPPED_DEFAULT
        && a.current_origin == Origin::Records
    {
        out.push(format!(
            "The {} in effect is Claude Code's capped default on the Anthropic API (2.1.x with no value set), not a setting of yours; its escalation to {} did not happen for these responses. A value set replaces it.",
            thousands(crate::analysis::limits::CAPPED_DEFAULT),
            thousands(crate::analysis::limits::ESCALATED)
        ));
    }
    let failed = a.calibration.as_ref().map_or(0, |c| c.observed_failed);
    if failed > 0 && a.choice.value.is_some_and(|v| v != a.current) {
        // One request or several: "its session … after it, had it" or "their … them, had they".
        let (whose, them, they, does) =
            if failed == 1 { ("its session", "it", "it", "does") } else { ("their sessions", "them", "they", "do") };
        out.push(format!(
            "{} failed for good in your history: what {whose} would have asked after {them}, had {they} got through, is not in it, so the replay at a value where {they} {does} get through is short of that work. After a change, scan the new history again.",
            count_of(failed, "request", "requests")
        ));
    }
    if failed > 0 && !a.retry.watchdog && a.retry.retries < crate::analysis::retries::MAX_RETRIES {
        let wait = |p: &crate::analysis::retries::Policy| (1..=p.retries).map(|k| p.delay_ms(k)).sum::<i64>() / 1_000;
        out.push(format!(
            "Your settings give a refused request {} (about {} s of waiting) before it fails for good; Claude Code's default of {} waits about {} s: more retries (CLAUDE_CODE_MAX_RETRIES, or CLAUDE_CODE_RETRY_WATCHDOG for unattended sessions) turn some of your {} into waits.",
            count_of(u64::from(a.retry.retries), "retry", "retries"),
            wait(&a.retry),
            crate::analysis::retries::MAX_RETRIES,
            wait(&crate::analysis::retries::Policy::default()),
            count_of(failed, "failed request", "failed requests"),
        ));
    }
    if e.unclassified_429 > 0 {
        out.push(format!(
            "429s whose text says neither throttling nor a usage limit: {}, left out of the fit.",
            thousands(e.unclassified_429)
        ));
    }
    if e.throttled() == 0 && e.unclassified_429 == 0 && e.usage_limit + e.rate_limit.per_day_quota > 0 {
        out.push("Your 429s are all subscription usage limits or per-day quotas: lowering max output does not help; wait for the reset or raise the limit.".into());
    }
    // Fitted to the 429s where there are some; with none, the least the history's load
    // needs (a lower bound, not a fit: a trial read "fitted to your 429s" beside "your
    // history has no throttled attempt").
    let fitted = match &a.calibration {
        Some(c) if c.observed_throttled == 0 && c.observed_failed == 0 => {
            "the least your history's load needs (it has no 429)"
        }
        _ => "fitted to your 429s",
    };
    match (a.provider, &a.quota) {
        (Provider::Bedrock, Some(q)) if matches!(q.tpm_origin, Origin::Default | Origin::ModelsFile(_)) => {
            out.push(format!(
                "The quota {} TPM is {} for {}; accounts often have less. Check the applied value in Service Quotas and pass it with --quota-tpm.",
                thousands(q.tpm),
                default_named(&q.tpm_origin),
                a.model
            ))
        }
        (Provider::Bedrock, Some(q))
            if q.tpm_origin == Origin::Inferred
                && let Some(r) = q.reference.as_ref().filter(|r| matches!(r.origin, Origin::Default | Origin::ModelsFile(_))) =>
        {
            out.push(format!(
                "The quota {} TPM is {fitted}; {} for {} is {} TPM. Your applied value is in Service Quotas: pass it with --quota-tpm to judge the fit by it.",
                thousands(q.tpm),
                default_named(&r.origin),
                a.model,
                thousands(r.tpm)
            ))
        }
        (Provider::Bedrock, Some(q)) if q.tpm_origin == Origin::Inferred && q.reference.is_none() => {
            out.push(format!(
                "The quota {} TPM is {fitted}, and AWS publishes no default quota for {} to judge the fit by: every reading that fits is weighed, and the value is the smallest safe under each. Pass your applied quota with --quota-tpm: fewer readings fit it, and the value is chosen by those.",
                thousands(q.tpm),
                a.model
            ))
        }
        (Provider::Vertex, Some(q)) if q.tpm_origin == Origin::Inferred => out.push(format!(
            "Vertex quotas are per model and region and not published here: the advice takes yours as {} TPM, {fitted}; pass it with --quota-tpm to replay your history against it (Vertex is assumed to reserve max output, which its documentation does not say).",
            thousands(q.tpm),
        )),
        (Provider::Bedrock, None) => out.push(format!(
            "AWS publishes no default quota for {}: pass your applied quota with --quota-tpm to replay your history against it.",
            a.model
        )),
        (Provider::Vertex, None) => out.push(
            "Vertex quotas are per model and region and not published here: pass yours with --quota-tpm to replay your history against it (Vertex is assumed to reserve max output, which its documentation does not say).".into(),
        ),
        (Provider::Anthropic, _) if e.throttled() > 0 => out.push(
            "On the Anthropic API max_tokens does not count against the output-token limit: lowering it cannot cure these 429s; fewer requests in flight or a higher tier can.".into(),
        ),
        _ => {}
    }
    if let (Some(t), true) = (a.thinking, a.adaptive) {
        out.push(format!(
            "MAX_THINKING_TOKENS ({}) has no effect on {}: it reasons adaptively, as deep as the effort level asks (CLAUDE_CODE_EFFORT_LEVEL, effortLevel, /effort), unless CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING is set.",
            thousands(t),
            a.model
        ));
    }
    let (with, most) = a.cut_thinking;
    if with > 0 && most * 2 > with {
        let which = if with == 1 {
            "the cut response that records its thinking".to_string()
        } else {
            format!("{} of the {} cut responses that record their thinking", thousands(most), thousands(with))
        };
        out.push(format!(
            "Thinking took more than half the limit in {which}: the budget went to thinking before the answer. {} leaves room for the answer; so does a larger value.",
            if a.adaptive { "A lower effort level" } else { "A smaller MAX_THINKING_TOKENS" }
        ));
    }
    let refused = match &a.cap_source {
        FigureSource::Clamp(c) if c.by == ClampBy::Refused => Some(c),
        _ => None,
    };
    if report.errors.over_cap > 0
        && let Some(c) = refused
    {
        // The refusal named what was asked and the maximum: the advice's value is held to it.
        out.push(format!(
            "{} refused (400) for a max_tokens over the model's maximum: {} asked {} where {} allows {}. Keep CLAUDE_CODE_MAX_OUTPUT_TOKENS at or under {}{}.",
            count_of(report.errors.over_cap, "request was", "requests were"),
            if report.errors.over_cap == 1 { "it" } else { "the newest" },
            thousands(c.from),
            a.model,
            thousands(c.to),
            thousands(c.to),
            // A model that reasons adaptively takes no budget (said above).
            if a.adaptive { "" } else { ", and MAX_THINKING_TOKENS below it" },
        ));
    } else if report.errors.over_cap > 0 {
        out.push(format!(
            "{} refused (400) for a max_tokens over the model's maximum: the max output setting and the thinking budget conflict (some Claude Code versions sent the thinking budget + 1). Keep MAX_THINKING_TOKENS below CLAUDE_CODE_MAX_OUTPUT_TOKENS, and the value at or under the model's upper limit.",
            count_of(report.errors.over_cap, "request was", "requests were")
        ));
    }
    if let Some(c) = &a.crowding
        && c.mean_in_flight >= 2.0
        && c.mean_subagents * 2.0 >= c.mean_in_flight
    {
        out.push(format!(
            "When requests were throttled, {:.1} were in flight on average, {:.1} of them subagents' (up to {} at once): CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS (Claude Code 2.1.217 on, default 20{}) caps how many run together, the other lever on these 429s.",
            c.mean_in_flight,
            c.mean_subagents,
            thousands(c.most_subagents),
            a.max_subagents.map_or(String::new(), |n| format!("; yours is {}", thousands(n)))
        ));
    }
    if let Some(q) = &a.quota_code {
        out.push(match &q.code {
            Some(code) => format!(
                "Your quota is in Service Quotas (Amazon Bedrock) under code {code}: {} {} tokens per minute.",
                a.model, q.endpoint
            ),
            None => format!(
                "Your quota is in Service Quotas (Amazon Bedrock): look for the {} tokens-per-minute quota of {}.",
                q.endpoint, a.model
            ),
        });
    }
    if a.provider == Provider::BedrockMantle {
        out.push("On Bedrock's Mantle endpoint a request is admitted when your input quota (--quota-tpm) holds its input plus max output; output counts against the output quota as it is written, which max output does not change.".into());
        if a.quota.as_ref().is_some_and(|q| q.output.is_none()) && a.throttled_seen > 0 {
            out.push("Your output quota was not given, so the replay reads every 429 as the input quota's: give it with --output-quota-tpm to replay both.".into());
        }
    }
    if let Some(v) = a.choice.value
        && v > a.current
        && a.choice.action == Action::Raise
    {
        out.push(format!(
            "A larger max output reserves more of the context window for the answer: auto-compaction starts about {} tokens earlier.",
            thousands(v - a.current)
        ));
    }
    if let Some(line) = other_models(report, a) {
        out.push(line);
    }
    // Kept or changed, the value reaches them only once Claude Code is updated (a value kept
    // is replayed with them at it, as a changed one is); at the default they run at it now.
    if let Some((ignored, of)) = a.subagents_ignoring_the_value() {
        out.push(format!(
            "{}, which sends them at the model's default whatever CLAUDE_CODE_MAX_OUTPUT_TOKENS says; the replay sends every request at the value, as Claude Code does from that version on: update Claude Code for the value to reach its subagents.",
            old_subagents(ignored, of, &a.model)
        ));
    }
    out
}

/// That the one setting is every model's, where the history has responses of models other
/// than the one advised for and `--model` did not pick it: their requests run at the value
/// too, judged by their own history only with `--model`.
fn other_models(report: &Report, a: &Advice) -> Option<String> {
    if report.model_match.is_some() {
        return None;
    }
    let all: Vec<String> = report
        .by_model
        .iter()
        .filter(|m| m.model != a.model && m.summary.count > 0)
        .map(|m| format!("{} ({})", m.model, thousands(m.summary.count)))
        .collect();
    let mut others = all[..all.len().min(MODELS_LISTED)].to_vec();
    if all.len() > MODELS_LISTED {
        others.push(format!("{} more models", thousands((all.len() - MODELS_LISTED) as u64)));
    }
    let mine = report.by_model.iter().find(|m| m.model == a.model).map_or(0, |m| m.summary.count);
    (!others.is_empty()).then(|| {
        format!(
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS is every model's: the value is advised for {} ({}), and the requests of {} are sent with it too; `--model NAME` advises for one of those by its own history.",
            a.model,
            count_of(mine, "response", "responses"),
            super::readings::list(&others),
        )
    })
}

/// A default quota as the report names it: AWS's, or the models file's that gave it.
pub fn default_named(o: &Origin) -> String {
    match o {
        Origin::ModelsFile(src) => format!("the default {src} gives"),
        _ => "AWS's published default".to_string(),
    }
}

/// How a planning bucket is scaled from the quota for more (or fewer) requests in flight than
/// the history had: the inputs' "Planned against" row and the replay table's footnote say it
/// alike.
pub fn scaled_for(seen: u64, planned: u64) -> String {
    format!(", × {} in flight seen / {} planned", thousands(seen), thousands(planned))
}

/// The inputs table: label, value, where it came from.
pub fn input_rows(a: &Advice, r: &Recommendation) -> Vec<(String, String, String)> {
    let origin = |o: &Origin| match o {
        Origin::Flag => "flag".to_string(),
        Origin::Settings(src) => src.clone(),
        Origin::Records => "your records".to_string(),
        Origin::Inferred => "inferred".to_string(),
        Origin::Default => "default".to_string(),
        Origin::ModelsFile(src) | Origin::MostRequests(src) => src.clone(),
    };
    // No response measured (every request refused to the end): nothing was, neither the
    // model, nor the demand, nor the input a request carries (the worst-case bound takes it
    // as 0, and says so).
    let measured = a.demand.responses > 0;
    let model_from = match &a.model_origin {
        Origin::Inferred if a.model == crate::analysis::advice::UNKNOWN_MODEL => "no response names one".to_string(),
        Origin::Inferred => "most responses".to_string(),
        o => origin(o),
    };
    let mut rows = vec![
        ("Model".into(), a.model.clone(), model_from),
        (
            "Provider".into(),
            a.provider.name().into(),
            match &a.provider_origin {
                Origin::Inferred => "model ids".to_string(),
                Origin::Records => "your 429s' texts".to_string(),
                o => origin(o),
            },
        ),
        (
            "Max output in effect".into(),
            thousands(a.current),
            match (&a.current_evidence, a.current_set_above_cap) {
                (Some(e), _) => evidence_text(e),
                (None, Some(set)) => format!(
                    "{} ({} set: Claude Code caps it at the model's upper limit)",
                    origin(&a.current_origin),
                    thousands(set)
                ),
                (None, None) => origin(&a.current_origin),
            },
        ),
    ];
    let stated = a.ran_at_given.map(|v| (v, "flag (--ran-at")).or(a.ran_at_kept.map(|v| (v, "kept (apply --ran-at")));
    if let Some((v, from)) = stated {
        // Within the model's upper limit; not taken for sessions that wrote more than it.
        let taken = v.min(a.cap);
        let capped =
            if taken < v { format!(", {} capped at the model's upper limit", thousands(v)) } else { String::new() };
        let source = match a.ran_above {
            Some(r) => {
                format!("{from}{capped}): not for the {} that wrote more", count_of(r.requests, "request", "requests"))
            }
            None => format!("{from}{capped}): where no record shows the limit"),
        };
        rows.push(("Ran at before it".into(), thousands(taken), source));
    }
    rows.extend([
        match &a.escalation {
            Some(e) => (
                "Claude Code's default".into(),
                format!("{} → {}", thousands(e.capped), thousands(e.escalated)),
                "capped default, escalated when cut (Anthropic API, 2.1.x)".into(),
            ),
            None => ("Claude Code's default".into(), thousands(a.default), figure_source(&a.default_source)),
        },
        ("Model's upper limit".into(), thousands(a.cap), figure_source(&a.cap_source)),
        (
            "Thinking budget".into(),
            a.thinking.map_or_else(|| "none".into(), thousands),
            match (a.thinking, a.thinking_of_people) {
                (None, _) => "not set".into(),
                (Some(_), false) => "settings".into(),
                (Some(_), true) => "the largest person's settings".into(),
            },
        ),
        (
            format!("Demand p{}", fmt_q(r.percentile)),
            match r.target {
                Some(t) => thousands(t),
                None if measured => format!("above {}", thousands(a.demand.known_up_to)),
                None => "unknown".into(),
            },
            count_of(a.demand.responses, "response", "responses"),
        ),
    ]);
    if let Some(q) = &a.quota {
        let fitted = |what: &str| match &q.reference {
            Some(r) => format!("{what} (reference {}, {})", thousands(r.tpm), origin(&r.origin)),
            None => what.to_string(),
        };
        let quota_from = match &q.tpm_origin {
            Origin::Inferred if a.calibration.as_ref().is_some_and(|c| c.observed_throttled == 0) => {
                fitted("the least your history needs (no 429)")
            }
            Origin::Inferred => fitted("fitted to your 429s"),
            o => origin(o),
        };
        let mantle = a.provider == Provider::BedrockMantle;
        rows.push((if mantle { "Input quota (TPM)" } else { "Quota (TPM)" }.into(), thousands(q.tpm), quota_from));
        if mantle {
            rows.push(match &q.output {
                Some(o) => ("Output quota (TPM)".into(), thousands(o.tpm), origin(&o.origin)),
                None => ("Output quota (TPM)".into(), "not replayed".into(), "--output-quota-tpm".into()),
            });
        }
        rows.push((
            "Planned against".into(),
            thousands(q.planning_tpm.round() as u64),
            format!(
                "{} headroom ({}){}",
                percent(q.headroom),
                if r.inputs.headroom_origin == "flag" { "flag" } else { "default" },
                match q.parallel.filter(|_| r.inputs.parallel_origin == "flag") {
                    // The same work planned for another load: the bucket scaled to match.
                    Some(p) => format!("{} (--parallel)", scaled_for(q.parallel_seen, p)),
                    None => String::new(),
                }
            ),
        ));
        // Every request refused to the end: none ran, and the plan takes 1 (a trial read "1 —
        // your records: running" beside no response).
        let running = if measured { "your records: running" } else { "none ran (taken as 1)" };
        rows.push(("In flight at once (most seen)".into(), thousands(q.parallel_seen), running.into()));
        rows.push((
            "Sent at once (most seen)".into(),
            thousands(a.sent_at_once),
            "your records: running or waiting on the quota".into(),
        ));
        if let Some(p) = q.parallel {
            rows.push(("In flight at once (planned)".into(), thousands(p), "flag".into()));
        }
        if !mantle {
            rows.push(("Burndown".into(), format!("{}×", q.burndown), origin(&q.burndown_origin)));
        }
        rows.push((
            "Retries when refused".into(),
            if a.retry.watchdog { "without end".into() } else { thousands(u64::from(a.retry.retries)) },
            format!(
                "{}, up to {} apart",
                origin(&a.retry_origin),
                if a.retry.max_delay_ms >= 60_000 {
                    format!("{} min", a.retry.max_delay_ms / 60_000)
                } else {
                    format!("{} s", a.retry.max_delay_ms / 1_000)
                }
            ),
        ));
        let several = a.calibration.as_ref().is_some_and(|c| c.readings.len() > 1);
        // With no 429 in the history, each reading's fit is only a lower bound: the reading
        // is one the quota allows, not one the 429s told.
        let throttled = a.calibration.as_ref().is_some_and(|c| c.observed_throttled > 0);
        // Where every reading is ruled out, the one shown is not fitted: it is the first of them
        // (the trial of 2026-12-07 read "fitted to your 429s" beside "no model of the quota
        // reproduces your 429s").
        let none_fits =
            a.calibration.as_ref().is_some_and(|c| c.readings.iter().all(|v| v.standing == Standing::Contradicted));
        rows.push((
            "Reserved at admission".into(),
            readings::formula(q.reading, a.provider),
            if several && none_fits {
                "every reading ruled out".into()
            } else if several && throttled {
                "fitted to your 429s".into()
            } else if several {
                "fits a history with no 429".into()
            } else if a.provider == Provider::BedrockMantle {
                "Mantle".into()
            } else if a.readings_given {
                "--reading".into()
            } else if q.burndown == 1.0 {
                "burndown 1: one reading".into()
            } else {
                "assumed (no replay to fit it)".into()
            },
        ));
    }
    let input_from = || if measured { "your records" } else { "unknown: no response (taken as 0)" }.to_string();
    rows.push(("Input per request (I_set, p90)".into(), thousands(a.input_set), input_from()));
    rows.push(("With cache reads (I_res, p90)".into(), thousands(a.input_reserved), input_from()));
    if let Some(c) = r.ceiling {
        // Where the formula allows more than the model does (input taken as 0, where no
        // response was measured), the row beside the upper limit says so (a trial read
        // 36,000 two rows under an upper limit of 32,000).
        let source = if c > a.cap {
            format!("formula; above the model's upper limit, {}", thousands(a.cap))
        } else {
            "formula".into()
        };
        rows.push(("Worst-case ceiling".into(), thousands(c), source));
    }
    rows
}

/// "N of the M MODEL requests are subagents' of a Claude Code before about 2.1.233": the
/// requests sent at the model's default whatever the value (`Advice::setting_ignored`), as
/// the advice and `check` name them.
pub fn old_subagents(ignored: u64, of: u64, model: &str) -> String {
    let (major, minor, patch) = crate::analysis::limits::SUBAGENTS_FOLLOW_SETTING_SINCE;
    format!(
        "{} of the {} {model} requests {} of a Claude Code before about {major}.{minor}.{patch}",
        thousands(ignored),
        thousands(of),
        if ignored == 1 { "is a subagent's" } else { "are subagents'" }
    )
}

/// Where a model figure comes from, for the inputs table.
pub fn figure_source(s: &FigureSource) -> String {
    match s {
        FigureSource::Table { verified: true, .. } => "model table".into(),
        FigureSource::Table { verified: false, source } => format!("model table, unverified ({source})"),
        FigureSource::Clamp(c) => {
            let on = c.time.map_or(String::new(), |t| format!(" on {}", crate::time::day_of(t)));
            match c.by {
                ClampBy::CappedLine => {
                    format!("your debug log: Capped from {} to {}{on}", thousands(c.from), thousands(c.to))
                }
                ClampBy::Refused => {
                    format!("your records: refused (400), max_tokens {} > {}{on}", thousands(c.from), thousands(c.to))
                }
                ClampBy::ExceededError => format!("your records: exceeded the {} output token maximum{on}", c.to),
                ClampBy::MaxTokensStop => format!("your records: stopped at max_tokens after {}{on}", thousands(c.to)),
                ClampBy::Response => format!(
                    "your records: a response of {}{on}, above the {} assumed; reported for unknown models",
                    thousands(c.from),
                    thousands(crate::models::UNKNOWN_MODEL_CAP)
                ),
            }
        }
        FigureSource::Unknown => "not in the model table: assumed".into(),
    }
}

/// A record that shows a limit, for the inputs table.
pub fn evidence_text(e: &Evidence) -> String {
    format!("your records: {}{}", e.what, e.time.map_or(String::new(), |t| format!(" on {}", crate::time::day_of(t))))
}

/// A percentile as written after `p`: `99`, `99.5`.
pub fn fmt_q(q: f64) -> String {
    if q.fract() == 0.0 { format!("{q:.0}") } else { format!("{q}") }
}

/// A replay row's value label: `32,000 (current)`.
pub fn row_value(value: u64, label: Option<&str>) -> String {
    match label {
        Some(l) => format!("{} ({l})", thousands(value)),
        None => thousands(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows by hand: a value below the largest safe one that throttles more than 1%, or fails
    /// a request, is named; the floor's and the largest safe value's rows, rows outside, and
    /// rows the history's own evidence covers are not.
    #[test]
    fn unsafe_rows_below_the_safe_range_by_hand() {
        let row = |value, throttled_attempts, failed| Row {
            value,
            gave_up: 0,
            outcome: Outcome { attempts: 1_000, throttled_attempts, failed, ..Outcome::default() },
            other_reading: None,
            current: false,
            recommended: false,
        };
        // 11 of 1,000 is over 1%; 10 is not.
        let rows = [
            row(1_000, 11, 0),
            row(2_000, 10, 0),
            row(4_000, 11, 0),
            row(8_000, 0, 1),
            row(12_000, 50, 0),
            row(16_000, 50, 0),
        ];
        assert_eq!(unsafe_below(&rows, 2_000, 12_000, None), [4_000, 8_000]);
        assert_eq!(unsafe_below(&rows, 1_000, 12_000, None), [1_000, 4_000, 8_000]);
        assert_eq!(unsafe_below(&rows, 2_000, 12_000, Some(4_000)), [8_000]);
        assert_eq!(unsafe_below(&rows, 2_000, 4_000, None), Vec::<u64>::new());
    }
}
