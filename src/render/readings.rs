//! The words of the fit (`analysis::fit`): each reading's name, the Check line that says which
//! reading and quota the history's 429s fit, what the other readings would advise or why they
//! are ruled out, and what to do when none fits the reference quota.

use crate::analysis::advice::{Advice, Calibration, Origin, ReadingView};
use crate::analysis::fit::{Bound, Contradiction, FITS_WITHIN, Lone, Standing};
use crate::analysis::replay::Reading;
use crate::settings::Provider;
use crate::text::{count_of, percent, thousands};

/// A reading in a few words for a table: `5×`, `5× + cache reads`, `1×`, `1× + cache reads`.
pub fn short(r: Reading, burndown: f64, provider: Provider) -> String {
    if provider == Provider::BedrockMantle {
        return "input + max output".into();
    }
    let times = if r.burndown_reservation { burndown } else { 1.0 };
    let cache = if r.cache_reads_reserved { " + cache reads" } else { "" };
    format!("{}×{cache}", number(times))
}

/// A reading in a sentence: "max output reserved at 5×", "… at 1× and cache reads reserved".
pub fn name(r: Reading, burndown: f64, provider: Provider) -> String {
    if provider == Provider::BedrockMantle {
        return "input and max output counted against the input quota".into();
    }
    let times = if r.burndown_reservation { burndown } else { 1.0 };
    let cache = if r.cache_reads_reserved { " and cache reads reserved" } else { "" };
    format!("max output reserved at {}×{cache}", number(times))
}

/// What a request reserves under a reading, as a formula for the inputs table.
pub fn formula(r: Reading, provider: Provider) -> String {
    if provider == Provider::BedrockMantle {
        return "input + M (input quota)".into();
    }
    let cache = if r.cache_reads_reserved { " + cache" } else { "" };
    let m = if r.burndown_reservation { "B × M" } else { "M" };
    format!("input{cache} + {m}")
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x}") }
}

/// The reference quota in words: "the 200,000 TPM you gave", "AWS's published default of
/// 200,000 TPM".
fn reference(cal: &Calibration) -> Option<String> {
    let r = cal.reference.as_ref()?;
    Some(quota_named(r.tpm, &r.origin))
}

/// A quota in words by where it comes from: given, or a default (a reading's own fitted
/// quota is said by the caller, which knows the reading).
pub(super) fn quota_named(tpm: u64, origin: &Origin) -> String {
    match origin {
        Origin::Flag => format!("the {} TPM you gave", thousands(tpm)),
        o => format!("{} of {} TPM", super::prose::default_named(o), thousands(tpm)),
    }
}

/// The quotas a reading's fit allows: "166,000 to 268,000 TPM", "at least 300,000 TPM".
pub fn range(v: &ReadingView) -> String {
    match v.fit.high_tpm {
        Some(h) if h > v.fit.low_tpm => format!("{} to {} TPM", thousands(v.fit.low_tpm), thousands(h)),
        Some(_) => format!("{} TPM", thousands(v.fit.low_tpm)),
        None => format!("at least {} TPM", thousands(v.fit.low_tpm)),
    }
}

/// The Check line: what the history's 429s fit, and what the replay predicts at the quota
/// the advice uses.
///
/// `all`: the history's throttled attempts and failed requests of every model (the verdict's):
/// where the model's are fewer, the sentence says whose they are.
pub fn check(a: &Advice, cal: &Calibration, all: (u64, u64)) -> String {
    let best = cal.best();
    let mut name = name(best.fit.reading, best.plan.burndown, a.provider);
    let output = best.plan.output.as_ref().filter(|_| a.provider == Provider::BedrockMantle);
    if let Some(o) = output {
        name.push_str(&format!(", output against the {} TPM output quota you gave", thousands(o.tpm)));
    }
    let p = best.fit.at_fit;
    let predicted = format!(
        "{} and {}",
        count_of(p.throttled_attempts, "throttled attempt", "throttled attempts"),
        count_of(p.failed, "failed request", "failed requests")
    );
    let used = thousands(best.plan.tpm);
    let with = match (reference(cal), &cal.reference) {
        (Some(r), Some(q)) if q.tpm == best.plan.tpm => {
            format!("this range holds {r}: there the replay predicts {predicted}")
        }
        (Some(r), Some(q)) => {
            let r = if q.origin == Origin::Flag {
                r
            } else {
                format!("{} of {}", super::prose::default_named(&q.origin), thousands(q.tpm))
            };
            // Another reading that holds the reference: this one is used because it advises
            // the smaller value.
            let holds = |v: &ReadingView| v.fit.low_tpm <= q.tpm && v.fit.high_tpm.is_none_or(|h| q.tpm <= h);
            let other = cal.readings.iter().any(|v| v.fit.reading != best.fit.reading && v.advises && holds(v));
            // Far below the reference, the quota is where the replay's count comes down to the
            // history's (`fit::effective`), not the end nearest it; where the count jumps past
            // the history's in one step (requests alike: one session's cliff), said so.
            let within = p.throttled_attempts.abs_diff(cal.observed_throttled)
                <= crate::analysis::fit::slack(cal.observed_throttled);
            let taken = match best.standing {
                Standing::Below if within => "where the replay's count comes down to your history's: there it predicts",
                Standing::Below => {
                    "where the replay's count falls past your history's in one step (requests much alike throttle together): there it predicts"
                }
                _ => "the nearest quota it fits, where the replay predicts",
            };
            format!(
                "this reading does not reach {r} (there it predicts {}), so the advice takes {used}, {taken} {predicted}{}",
                best.fit.at_reference.map_or_else(
                    || "–".into(),
                    |o| count_of(o.throttled_attempts, "throttled attempt", "throttled attempts")
                ),
                if other {
                    "; another reading that holds it advises more, and the smaller value is the one safe under both"
                } else {
                    ""
                },
            )
        }
        _ => format!("the advice takes {used}, where the replay predicts {predicted}"),
    };
    let whose = if all == (cal.observed_throttled, cal.observed_failed) {
        String::new()
    } else {
        format!(" of {} (the first line counts every model's)", a.model)
    };
    match best.fit.bound {
        Bound::Fit => format!(
            "Check: replayed as it was (most requests at {}, throttling delaying the work as it did), your history's {} and {}{whose} fit {} with {name}; {with}.",
            ran_value(a, cal.value),
            count_of(cal.observed_throttled, "throttled attempt", "throttled attempts"),
            count_of(cal.observed_failed, "failed request", "failed requests"),
            range(best),
        ),
        // The output quota throttles as much whatever the input quota.
        Bound::AtLeast if output.is_some() && cal.observed_throttled > 0 => format!(
            "Check: replayed as it was (most requests at {}, throttling delaying the work as it did), your history's {} and {} fit any input quota of {} with {name}: the output quota explains them; {with}.",
            ran_value(a, cal.value),
            count_of(cal.observed_throttled, "throttled attempt", "throttled attempts"),
            count_of(cal.observed_failed, "failed request", "failed requests"),
            range(best),
        ),
        Bound::AtLeast => {
            let against = match (reference(cal), &cal.reference) {
                (Some(r), Some(q)) if q.tpm >= best.fit.low_tpm => format!("; {r} covers that"),
                (Some(r), _) => format!(": more than {r}, so under this reading your quota is larger"),
                // No reference: the quota the advice takes is where the replay shows the
                // history's count, said with what it predicts there.
                _ if best.plan.tpm != best.fit.low_tpm => format!("; {with}"),
                _ => String::new(),
            };
            let failed = match cal.observed_failed {
                0 => String::new(),
                n => format!(" and {}", count_of(n, "failed request", "failed requests")),
            };
            format!(
                "Check: your history has {}{failed}{whose}; with {name} that takes {}{against}.",
                if cal.observed_throttled == 0 {
                    "no throttled attempt".to_string()
                } else {
                    format!("only {}", count_of(cal.observed_throttled, "throttled attempt", "throttled attempts"))
                },
                range(best),
            )
        }
    }
}

/// What the readings other than the advice's say: what each that fits (or is plausible)
/// would advise, what rules others out, and why several advise one value.
pub fn others(a: &Advice, cal: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    let best = cal.best();
    let b = best.plan.burndown;
    // Other readings that agree on the advice, when the history has no 429 to tell them
    // apart by, are not worth a sentence each.
    let same = |v: &ReadingView| v.choice.is_some_and(|c| c.value == a.choice.value) && v.fit.bound == Bound::AtLeast;
    for v in cal.readings.iter().filter(|v| v.fit.reading != best.fit.reading && !same(v)) {
        let n = name(v.fit.reading, b, a.provider);
        let reference = reference(cal).unwrap_or_else(|| "the quota assumed".into());
        let advice = |c: Option<crate::analysis::choose::Choice>| match c.and_then(|c| c.value) {
            Some(x) if Some(x) == a.choice.value => format!("advises {} as well", thousands(x)),
            Some(x) => format!("would advise {}", thousands(x)),
            None => "no max output cures these 429s (more quota or fewer requests in flight does)".into(),
        };
        match (v.standing, v.choice) {
            (Standing::Contradicted, _) => match v.fit.contradiction {
                Some(Contradiction::Period { limit, observed, predicted }) => out.push(format!(
                    "Not {n}: with {} it explains the 429s overall but predicts {} at {}, where your history shows {}.",
                    range(v),
                    count_of(predicted, "throttled attempt", "throttled attempts"),
                    thousands(limit),
                    thousands(observed),
                )),
                Some(Contradiction::Context { observed, predicted }) => out.push(format!(
                    "Not {n}: the requests it throttles carry {predicted:.1} times the average context (cache reads), yours {observed:.1} times: it throttles other requests than your history shows."
                )),
                Some(Contradiction::Unreproduced { observed, predicted }) => out.push(format!(
                    "Not {n}: no quota of it ({}) reproduces your history's {}: where the replay's count comes down to them it falls to {} at once.",
                    range(v),
                    count_of(observed, "throttled attempt", "throttled attempts"),
                    thousands(predicted),
                )),
                Some(Contradiction::Unreachable { observed, predicted }) => out.push(format!(
                    "Not {n}: at any quota it predicts {}, more than your history's {}.",
                    count_of(predicted, "throttled attempt", "throttled attempts"),
                    thousands(observed)
                )),
                // Requests refused alone rule every reading out together: no value is named,
                // and these sentences are not shown.
                Some(Contradiction::Alone(_)) | None => {}
            },
            // It advises too.
            (standing, Some(c)) => out.push(format!(
                "With {n} your history fits {}{}, and {}.",
                range(v),
                if standing == Standing::Fits { " too" } else { "" },
                advice(Some(c)).replace("no max output", "then no max output")
            )),
            (Standing::Below, None) => out.push(format!(
                "With {n} it would take {}: at {reference} it predicts fewer 429s than your history shows.",
                range(v)
            )),
            // Too far above the reference to advise: by how far.
            (_, None) => out.push(match cal.reference.as_ref().filter(|q| q.tpm > 0) {
                // Three figures: just past the cut-off (twice) is not "2.0 times".
                Some(q) => {
                    let times = v.fit.low_tpm as f64 / q.tpm as f64;
                    let times = if times < 10.0 { format!("{times:.2}") } else { format!("{times:.1}") };
                    format!("With {n} it would take {}, {times} times {reference}.", range(v))
                }
                None => format!("With {n} it would take {}, more than twice {reference}.", range(v)),
            }),
        }
    }
    let safe = cal.readings.iter().filter(|v| v.advises).count();
    let differ = cal.readings.iter().any(|v| v.advises && v.choice.is_some_and(|c| c.value != a.choice.value));
    if safe > 1
        && differ
        && let Some(value) = a.choice.value
    {
        out.push(format!(
            "{} readings of how the quota is counted that fit your history advise a value: {} is the smallest, safe under each. The history at it will tell them apart (`ccdoctor check`).",
            ["Two", "Three", "Four"].get(safe - 2).copied().unwrap_or("Several"),
            thousands(value)
        ));
    }
    out
}

/// The quota given with `--quota-tpm` when no reading of the history fits it (the advice is
/// then made at the quota the 429s fit).
pub fn unfit_quota_given(cal: &Calibration) -> Option<u64> {
    let r = cal.reference.as_ref().filter(|r| r.origin == Origin::Flag)?;
    (!cal.readings.iter().any(|v| v.standing == Standing::Fits)).then_some(r.tpm)
}

/// When no reading fits the reference: which quota each implies, and where to read the real
/// one.
pub fn none_fits(a: &Advice, cal: &Calibration) -> Vec<String> {
    let mut out = Vec::new();
    let implied: Vec<String> = cal
        .readings
        .iter()
        .filter(|v| v.standing != Standing::Contradicted)
        .map(|v| format!("{} with {}", range(v), name(v.fit.reading, v.plan.burndown, a.provider)))
        .collect();
    let unreachable = cal.readings.iter().find_map(|v| match v.fit.contradiction {
        Some(Contradiction::Unreachable { observed, predicted }) => Some((observed, predicted, v)),
        _ => None,
    });
    if let (true, Some((observed, predicted, v))) = (implied.is_empty(), unreachable) {
        out.push(match v.plan.output.as_ref().filter(|_| a.provider == Provider::BedrockMantle) {
            Some(o) => format!(
                "With the {} TPM output quota you gave, the replay throttles {} at any input quota, more than your history's {}: the output quota is larger than that, or was not what throttled you. Check --output-quota-tpm.",
                thousands(o.tpm),
                count_of(predicted, "attempt", "attempts"),
                thousands(observed)
            ),
            None => format!(
                "At any quota the replay throttles {}, more than your history's {}.",
                count_of(predicted, "attempt", "attempts"),
                thousands(observed)
            ),
        });
    } else if let (true, Some(Lone { requests, failed, first, quiet_ms })) = (implied.is_empty(), cal.refused_alone()) {
        // A team's history (homes scanned together, telemetry) is the team's, not "yours".
        let (whose, ours, history) =
            if a.team { ("the team's", "the team's", "this history") } else { ("your", "yours", "your history") };
        let refused = if requests == 1 {
            format!("1 of {whose} requests was")
        } else {
            format!("{} of {whose} requests were", thousands(requests))
        };
        let through = match (failed, requests - failed) {
            (0, _) => "then got through on a later attempt".to_string(),
            (_, 0) => "and on every later attempt, though the quota each reading fits holds them".to_string(),
            (f, t) => format!(
                "{t} of them got through on a later attempt, {f} never did though the quota each reading fits holds them"
            ),
        };
        out.push(format!(
            "{refused} refused while nothing else of {ours} was running, each sent {} or more after the last of {ours} had ended (time enough for the quota to refill), {through} (the first sent at {}). No reading of how the quota is counted, at the quota it fits, refuses such a request: one that fits a full quota is let in at once. The load that refused {} is not in {history}: others' on the same quota (an account shared with a team), another install of Claude Code, or sessions whose transcripts are gone.",
            crate::text::duration_words(quiet_ms),
            crate::time::iso_timestamp(first),
            if requests == 1 { "it" } else { "them" },
        ));
    } else if implied.is_empty() && cal.unreproduced() {
        // The count falls past the history's (below it: at the crossing, or at an end the
        // crossing was held to, the replay shows fewer than the band allows).
        let most = cal
            .readings
            .iter()
            .filter_map(|v| match v.fit.contradiction {
                Some(Contradiction::Unreproduced { predicted, .. }) => Some(predicted),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        out.push(format!(
            "No reading of how the quota is counted reproduces your history's {}: they fit any quota down to the lowest tried, and where the replay's count comes down to them it falls at once to {} or fewer (a request refused to the end takes all its attempts with it). Your own load does not explain them: others' load on the same quota (an account shared with a team), which your history does not show, is one cause; a quota so small that about every request is refused is another.",
            count_of(cal.observed_throttled, "throttled attempt", "throttled attempts"),
            thousands(most),
        ));
    } else if implied.is_empty() {
        out.push(
            "No reading of how the quota is counted explains your history's periods at different limits with one quota (did the quota, or who shared it, change?)."
                .into(),
        );
    } else {
        let within = match reference(cal) {
            Some(r) => format!(": none comes within {} of {r}", percent(FITS_WITHIN - 1.0)),
            None => String::new(),
        };
        let what = if cal.observed_throttled == 0 {
            "Your history with no throttled attempt fits".to_string()
        } else {
            let verb = if cal.observed_throttled == 1 { "fits" } else { "fit" };
            format!("Your {} {verb}", count_of(cal.observed_throttled, "throttled attempt", "throttled attempts"))
        };
        out.push(format!("{what} {}{within}.", list(&implied)));
    }
    if cal.reference.as_ref().is_some_and(|r| r.origin == Origin::Flag) {
        out.push("Your history does not fit the quota you gave: check it, and whether others draw on the same quota (their load is not in this history).".into());
    }
    if matches!(a.provider, Provider::Bedrock | Provider::BedrockMantle) {
        out.push(format!("Read your applied quota with {}.", service_quotas_command(a)));
    }
    out
}

/// The AWS CLI command that prints the applied quota.
pub fn service_quotas_command(a: &Advice) -> String {
    match a.quota_code.as_ref().and_then(|q| q.code.as_deref()) {
        Some(code) => format!("`aws service-quotas get-service-quota --service-code bedrock --quota-code {code}`"),
        None => format!(
            "`aws service-quotas list-service-quotas --service-code bedrock --query \"Quotas[?contains(QuotaName, '{}') && contains(QuotaName, 'tokens per minute')].[QuotaName,Value]\"`",
            a.model.replace(['\'', '"', '`'], "")
        ),
    }
}

/// "a, b and c".
pub(super) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The value most of the history ran at, said as a guess where it is the one guessed for
/// requests that show no limit of their own (the sentence after the Demand line says which).
fn ran_value(a: &Advice, value: u64) -> String {
    let guessed = a.ran_above.is_some_and(|r| r.taken_at == value) || a.assumed.is_some_and(|x| x.value == Some(value));
    if guessed { format!("{}, the guess above", thousands(value)) } else { thousands(value) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::READINGS;

    #[test]
    fn names_by_hand() {
        let names: Vec<String> = READINGS.iter().map(|&r| short(r, 5.0, Provider::Bedrock)).collect();
        assert_eq!(names, ["5×", "5× + cache reads", "1×", "1× + cache reads"]);
        assert_eq!(name(READINGS[3], 5.0, Provider::Bedrock), "max output reserved at 1× and cache reads reserved");
        assert_eq!(formula(READINGS[1], Provider::Bedrock), "input + cache + B × M");
        assert_eq!(short(READINGS[0], 1.0, Provider::Vertex), "1×");
        assert_eq!(list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
