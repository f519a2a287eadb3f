//! The recommendation's numbers as the report holds them: the value, its inputs, the replay
//! rows and each reading's fit (the sentences are the renderers').

use serde::Serialize;

use crate::analysis::advice::{Advice, FigureSource, Origin, ReadingView};
use crate::analysis::choose::{Action, Basis};
use crate::analysis::fit::{Bound, Contradiction, Standing};
use crate::analysis::replay::{Outcome, Reading};
use crate::config::RecommendConfig;

use crate::settings::Provider;

/// The recommendation's numbers (schema 1; the sentences are added by the renderers).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recommendation {
    /// The value to set; `null` when no value helps (the advice says what does).
    pub max_output_tokens: Option<u64>,
    pub action: Action,
    /// Why: `throttles`, `history_throttles`, `fewer_cuts`, `nothing_would_improve`,
    /// `small_sample`, `no_value_is_safe`, `responses_fail`, `quota_unknown`.
    pub basis: Basis,
    /// The value in effect now.
    pub current: u64,
    /// Where it comes from: `settings`, `records` (a cut at it), `default`, or
    /// `most_requests` (a team whose people's values differ, or telemetry's, whose settings
    /// are not on record: the value most of the model's requests ran at).
    pub current_source: &'static str,
    /// The `--percentile` of demand; `null` when it lies above what the history can show.
    pub target: Option<u64>,
    pub percentile: f64,
    /// Some responses were cut: demand is estimated with them as "more than their limit".
    pub censored: bool,
    /// The worst-case ceiling of `quota-model.md` (every request in flight running to the
    /// max output at once): a bound to check by hand, not the choice.
    pub ceiling: Option<u64>,
    /// The reading planned with: cache-read tokens count in the reservation.
    pub cache_read_reserved: bool,
    /// The value still cuts more responses than the percentile allows.
    pub conflict: bool,
    /// Share of responses cut at the value.
    pub truncated_share: f64,
    pub inputs: InputsOut,
    pub demand: crate::analysis::advice::DemandOut,
    /// The history replayed at each value against the planning quota.
    pub replay: Vec<ReplayRow>,
    /// The history replayed as it was, against what it shows.
    pub calibration: Option<CalibrationJson>,
    /// The requests that show no limit of their own, where the value set now is not Claude
    /// Code's default and nothing dates it; `null` where there are none.
    pub assumed_limit: Option<AssumedLimitJson>,
    /// The requests whose sessions wrote more than the value set now, with no record of the
    /// limit they ran at: it was above their longest response, at a value nothing dates.
    /// `null` where there are none.
    pub limit_above: Option<LimitAboveJson>,
    /// The replay rows in the shape of earlier versions.
    pub what_if: Vec<WhatIf>,
    /// Claude Code's capped default on the Anthropic API, where the history shows it in force:
    /// `current` is then the escalated limit; writing any value ends the escalation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<crate::analysis::advice::Escalation>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputsOut {
    pub quota_tpm: Option<u64>,
    pub quota_origin: Option<&'static str>,
    /// Requests in flight planned for: `--parallel`, else the most seen at once.
    pub parallel: u64,
    pub parallel_origin: &'static str,
    pub parallel_seen: u64,
    /// The most requests sent at once (waiting on the quota or running): the worst-case
    /// ceiling's `P` without `--parallel`.
    pub sent_at_once_seen: u64,
    pub burndown: f64,
    pub burndown_origin: &'static str,
    /// Bedrock Mantle's output quota, where given (`--output-quota-tpm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_quota_tpm: Option<u64>,
    /// How Claude Code retries a refused request, as the replay does: `retries`,
    /// `max_delay_ms`, `watchdog` (`CLAUDE_CODE_MAX_RETRIES`, `CLAUDE_CODE_RETRY_WATCHDOG`).
    pub retry: crate::analysis::retries::Policy,
    /// What the history ran at where its records do not show it, as given (`--ran-at`) or as
    /// an `apply --ran-at` kept it (`ran_at_origin`: `flag` or `kept`).
    pub ran_at: Option<u64>,
    pub ran_at_origin: Option<&'static str>,
    pub input_set: u64,
    pub input_reserved: u64,
    pub headroom: f64,
    pub headroom_origin: &'static str,
    /// The bucket the replays of the choice run against.
    pub planning_tpm: Option<f64>,
    pub model: String,
    pub model_cap: u64,
    /// `table`, `table_unverified`, `debug_log` (a `Capped from X to Y` line), `records` (a
    /// request that ran above the table's limit), `unknown`.
    pub model_cap_source: &'static str,
    pub model_default: u64,
    pub model_default_source: &'static str,
    pub provider: Provider,
    pub responses: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplayRow {
    pub value: u64,
    pub attempts: u64,
    pub throttled_attempts: u64,
    pub failed: u64,
    pub cut: u64,
    pub cut_share: f64,
    /// Responses whose demand lies above what the history shows (run to the value).
    pub beyond: u64,
    /// Of the cut responses, those Claude Code gives up on (cut after its last continuation)
    /// that the model's upper limit lets finish.
    pub given_up: u64,
    pub label: Option<&'static str>,
    /// The same replay under the other cache-read reading.
    pub other_reading: Option<ReadingOutcome>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReadingOutcome {
    pub cache_reads_reserved: bool,
    pub burndown_reservation: bool,
    pub throttled_attempts: u64,
    pub failed: u64,
}

impl ReadingOutcome {
    pub(super) fn of(r: Reading, o: &Outcome) -> Self {
        Self {
            cache_reads_reserved: r.cache_reads_reserved,
            burndown_reservation: r.burndown_reservation,
            throttled_attempts: o.throttled_attempts,
            failed: o.failed,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CalibrationJson {
    /// The limit most requests ran at.
    pub value: u64,
    pub observed_throttled: u64,
    /// The reading the advice uses, at the quota the advice uses.
    pub predicted_throttled: u64,
    pub observed_failed: u64,
    pub predicted_failed: u64,
    /// Failures the user's next prompt asked again (one response with it at a value).
    pub reasked: u64,
    /// The quota the fit is judged against (`--quota-tpm`, else AWS's published default).
    pub reference_tpm: Option<u64>,
    pub reference_origin: Option<&'static str>,
    /// Every reading fitted.
    pub readings: Vec<ReadingFitJson>,
    /// The reading the advice uses.
    pub best: ReadingFitJson,
    /// The requests refused while nothing of the history's own ran, which rule every reading
    /// out (`contradiction` `alone`); `null` where they do not.
    pub refused_alone: Option<RefusedAloneJson>,
}

/// Requests whose limit is a guess ([`crate::analysis::advice::Assumed`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssumedLimitJson {
    /// Units of work (responses asked for and failed requests) of the model.
    pub requests: u64,
    /// The limit guessed for them, the smaller of the value set now and Claude Code's
    /// default; `null` where people's values differ.
    pub value: Option<u64>,
    /// The advice were they taken at Claude Code's default instead (`--ran-at` takes it):
    /// `action` and `max_output_tokens`; `null` where not worked out.
    pub if_default: Option<crate::analysis::advice::AtDefault>,
}

/// Requests whose limit is only known to be at least the longest response they wrote.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LimitAboveJson {
    /// Units of work (responses asked for and failed requests) of the model.
    pub requests: u64,
    /// The longest response they wrote (measured): their limit was at least that.
    pub longest: u64,
    /// The limit they are taken at: the least multiple of 1,000 at or above `longest` (the
    /// cautious guess: a smaller limit reserves less, so the fit finds a smaller quota), or
    /// Claude Code's default where `ruled_out`.
    pub taken_at: u64,
    /// That least multiple of 1,000, where no reading of the quota reproduces the history's
    /// 429s at it; `null` where it is `taken_at`.
    pub ruled_out: Option<u64>,
    /// The advice were they taken at Claude Code's default instead (`--ran-at` takes it):
    /// `action` and `max_output_tokens`; `null` where not worked out.
    pub if_default: Option<crate::analysis::advice::AtDefault>,
}

/// Requests refused while nothing of the history's own ran ([`Contradiction::Alone`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefusedAloneJson {
    /// How many, alone under every reading at its quota.
    pub requests: u64,
    /// Of them, refused on every attempt (the rest got through on a later one).
    pub failed: u64,
    /// When the first was sent, as the transcripts write it.
    pub first_sent: String,
    /// The shortest time between the end of the last of the history's own requests and one
    /// of them, in milliseconds.
    pub shortest_quiet_ms: u64,
}

/// One reading's fit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReadingFitJson {
    pub cache_reads_reserved: bool,
    pub burndown_reservation: bool,
    /// The quota at which the history replayed as it was shows its throttled attempts
    /// (`fit`), or the smallest at which it shows none when it has none (`at_least`).
    pub effective_quota_tpm: u64,
    pub quota_bound: Bound,
    /// The quotas at which the history replayed as it was shows about its throttled
    /// attempts (the effective quota: `fit::effective`); `quota_high_tpm` is `null` without an
    /// upper end.
    pub quota_low_tpm: u64,
    pub quota_high_tpm: Option<u64>,
    /// The history as it was at the reference quota (at the effective quota without one).
    pub throttled_attempts: u64,
    pub failed: u64,
    /// The history as it was at the effective quota (what the Check line quotes).
    pub effective_throttled_attempts: u64,
    pub effective_failed: u64,
    /// `fits`, `above`, `below` or `contradicted` (see DESIGN.md).
    pub standing: Standing,
    /// It was among the readings the advice is chosen from (within twice the reference, or
    /// all when none is).
    pub advising: bool,
    /// The value it advises there; `null` when it advises none (no value is safe under it) or
    /// is not advising.
    pub advises: Option<u64>,
    /// The limit of a period its quota does not explain.
    pub contradicted_at: Option<u64>,
    /// What rules it out: `period`, `context`, `unreachable`, `unreproduced` or `alone`; `null` when
    /// nothing does ([`Contradiction`]).
    pub contradiction: Option<&'static str>,
}

impl ReadingFitJson {
    pub(super) fn of(v: &ReadingView) -> Self {
        let o = v.fit.at_reference.unwrap_or(v.fit.at_fit);
        Self {
            cache_reads_reserved: v.fit.reading.cache_reads_reserved,
            burndown_reservation: v.fit.reading.burndown_reservation,
            effective_quota_tpm: v.fit.quota_tpm,
            quota_bound: v.fit.bound,
            quota_low_tpm: v.fit.low_tpm,
            quota_high_tpm: v.fit.high_tpm,
            throttled_attempts: o.throttled_attempts,
            failed: o.failed,
            effective_throttled_attempts: v.fit.at_fit.throttled_attempts,
            effective_failed: v.fit.at_fit.failed,
            standing: v.standing,
            advising: v.choice.is_some(),
            advises: v.choice.and_then(|c| c.value),
            contradicted_at: match v.fit.contradiction {
                Some(Contradiction::Period { limit, .. }) => Some(limit),
                _ => None,
            },
            contradiction: v.fit.contradiction.map(|c| match c {
                Contradiction::Period { .. } => "period",
                Contradiction::Context { .. } => "context",
                Contradiction::Unreachable { .. } => "unreachable",
                Contradiction::Unreproduced { .. } => "unreproduced",
                Contradiction::Alone(_) => "alone",
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhatIf {
    pub value: u64,
    pub truncated_share: f64,
    pub worst_case_charge: u64,
    /// Requests in flight that fit the quota by the worst-case bound; `null` without a quota.
    pub max_parallel: Option<u64>,
    pub label: Option<&'static str>,
}

/// A figure's origin as the JSON names it.
pub fn origin_label(o: &Origin) -> &'static str {
    match o {
        Origin::Flag => "flag",
        Origin::Settings(src) if src == crate::settings::ENVIRONMENT => "environment",
        Origin::Settings(_) => "settings",
        Origin::Records => "records",
        Origin::Inferred => "inferred",
        Origin::Default => "default",
        Origin::ModelsFile(_) => "models_file",
        Origin::MostRequests(_) => "most_requests",
    }
}

pub(super) fn figure_label(s: &FigureSource) -> &'static str {
    match s {
        FigureSource::Table { verified: true, .. } => "table",
        FigureSource::Table { verified: false, .. } => "table_unverified",
        FigureSource::Clamp(c) if c.by == crate::analysis::limits::ClampBy::CappedLine => "debug_log",
        FigureSource::Clamp(c) if c.by == crate::analysis::limits::ClampBy::Refused => "refusal",
        FigureSource::Clamp(_) => "records",
        FigureSource::Unknown => "unknown",
    }
}

pub(super) fn recommendation(a: &Advice, rec: &RecommendConfig) -> Recommendation {
    let tail = (100.0 - rec.percentile) / 100.0;
    let q = a.quota.as_ref();
    let budget = a.ceiling.as_ref();
    let row_label = |current: bool, recommended: bool| match (recommended, current) {
        (true, _) => Some("recommended"),
        (false, true) => Some("current"),
        _ => None,
    };
    let replay: Vec<ReplayRow> = a
        .rows
        .iter()
        .map(|r| ReplayRow {
            value: r.value,
            attempts: r.outcome.attempts,
            throttled_attempts: r.outcome.throttled_attempts,
            failed: r.outcome.failed,
            cut: r.outcome.cut,
            cut_share: r.outcome.cut_share(),
            beyond: r.outcome.beyond,
            given_up: r.gave_up,
            label: row_label(r.current, r.recommended),
            other_reading: r.other_reading.as_ref().map(|(reading, o)| ReadingOutcome::of(*reading, o)),
        })
        .collect();
    let what_if = a
        .rows
        .iter()
        .map(|r| WhatIf {
            value: r.value,
            truncated_share: r.outcome.cut_share(),
            worst_case_charge: crate::analysis::ceiling::worst_case_charge(
                a.input_set,
                q.map_or(1.0, |q| q.burndown),
                r.value,
            ),
            max_parallel: budget.map(|b| b.max_parallel(r.value)),
            label: row_label(r.current, r.recommended),
        })
        .collect();
    let calibration = a.calibration.as_ref().map(|c| {
        let best = c.best();
        CalibrationJson {
            value: c.value,
            observed_throttled: c.observed_throttled,
            predicted_throttled: best.fit.at_fit.throttled_attempts,
            observed_failed: c.observed_failed,
            predicted_failed: best.fit.at_fit.failed,
            reasked: c.reasked,
            reference_tpm: c.reference.as_ref().map(|r| r.tpm),
            reference_origin: c.reference.as_ref().map(|r| origin_label(&r.origin)),
            readings: c.readings.iter().map(ReadingFitJson::of).collect(),
            best: ReadingFitJson::of(best),
            refused_alone: c.refused_alone().map(|l| RefusedAloneJson {
                requests: l.requests,
                failed: l.failed,
                first_sent: crate::time::iso_timestamp(l.first),
                shortest_quiet_ms: l.quiet_ms,
            }),
        }
    });
    Recommendation {
        max_output_tokens: a.choice.value,
        action: a.choice.action,
        basis: a.choice.basis,
        current: a.current,
        current_source: origin_label(&a.current_origin),
        target: a.demand.target,
        percentile: rec.percentile,
        censored: a.demand.censored > 0,
        ceiling: budget.and_then(|b| b.ceiling()),
        cache_read_reserved: q.is_some_and(|q| q.reading.cache_reads_reserved),
        conflict: a.choice.value.is_some() && a.cut_share > tail + 1e-12,
        truncated_share: a.cut_share,
        inputs: InputsOut {
            quota_tpm: q.map(|q| q.tpm),
            quota_origin: q.map(|q| origin_label(&q.tpm_origin)),
            // The history's figures with or without a quota (without one they read 1 planned,
            // 0 seen: a trial's find).
            parallel: rec.parallel.unwrap_or(a.parallel_seen),
            parallel_origin: if rec.parallel.is_some() { "flag" } else { "inferred" },
            parallel_seen: a.parallel_seen,
            sent_at_once_seen: a.sent_at_once,
            burndown: q.map_or(1.0, |q| q.burndown),
            burndown_origin: q.map_or("default", |q| origin_label(&q.burndown_origin)),
            output_quota_tpm: q.and_then(|q| q.output.as_ref().map(|o| o.tpm)),
            retry: a.retry,
            ran_at: a.ran_at_given.or(a.ran_at_kept),
            ran_at_origin: match (a.ran_at_given, a.ran_at_kept) {
                (Some(_), _) => Some("flag"),
                (None, Some(_)) => Some("kept"),
                (None, None) => None,
            },
            input_set: a.input_set,
            input_reserved: a.input_reserved,
            headroom: rec.headroom,
            headroom_origin: if rec.headroom_given { "flag" } else { "default" },
            planning_tpm: q.map(|q| q.planning_tpm),
            model: a.model.clone(),
            model_cap: a.cap,
            model_cap_source: figure_label(&a.cap_source),
            model_default: a.default,
            model_default_source: figure_label(&a.default_source),
            provider: a.provider,
            responses: a.demand.responses,
        },
        demand: a.demand.clone(),
        replay,
        calibration,
        assumed_limit: a.assumed.map(|x| AssumedLimitJson {
            requests: x.units,
            value: x.value,
            if_default: x.at_default,
        }),
        limit_above: a.ran_above.map(|r| LimitAboveJson {
            requests: r.requests,
            longest: r.longest,
            taken_at: r.taken_at,
            ruled_out: r.ruled_out,
            if_default: r.at_default,
        }),
        what_if,
        escalation: a.escalation,
    }
}
