//! The report: plain data built from a scan, rendered by `render::*`.
//!
//! The JSON renderer serialises these types as they are, so field names here are the JSON
//! contract (`schema` 1). Add fields freely; never rename or remove one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::analysis::advice::{Advice, FigureSource, Origin, ReadingView};
use crate::analysis::choose::{Action, Basis};
use crate::analysis::fit::{Bound, Contradiction, Standing};
use crate::analysis::load::ModelLoad;
use crate::analysis::replay::{Outcome, Reading};
use crate::analysis::select::Selection;
use crate::config::{Filters, RecommendConfig, Root, RootKind};

use crate::scan::classify::ErrorKind;
use crate::scan::data::{EventKind, ReadStats, Response, ScanData};
use crate::scan::key::Name;
use crate::settings::write::WriteOutcome;
use crate::settings::{EffectiveSettings, EnvEntry, Provider, Sourced};
use crate::stats::{Bin, Summary, histogram, summarize};
use crate::time::day_of;

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub scan: ScanSection,
    pub responses: ResponsesSection,
    pub output_tokens: Summary,
    pub by_model: Vec<ModelRow>,
    pub histogram: Vec<Bin>,
    pub errors: ErrorCounts,
    pub by_day: Vec<DayRow>,
    pub by_project: Vec<ProjectRow>,
    /// `Capped from X to Y` debug lines: a max output setting Claude Code clamped.
    pub capped: Vec<CappedRow>,
    pub settings: SettingsOut,
    /// `null` when the history has no request of the model to advise for. The JSON renderer
    /// writes it with its `reasons` and `advice` (sentences), after the top-level `verdict`.
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
    /// The figures of a quota-increase request.
    pub load: LoadSection,
    /// Responses cut at the output limit, each once (a stop, its recovery prompts and its
    /// "exceeded" error are one cut), by the limit in effect when it was cut.
    pub cuts: CutsSection,
    /// What `--write` or `--dry-run` did; absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteOutcome>,
    /// Everything the recommendation was made from, for the renderers' sentences.
    #[serde(skip)]
    pub advice: Option<Advice>,
    /// Throttling 429s that failed for good and the attempts before them, for the verdict.
    #[serde(skip)]
    pub throttled_days: u64,
    /// What `--model` named among the history's models, for the sentence that says why there
    /// is no recommendation.
    #[serde(skip)]
    pub model_match: Option<crate::analysis::select::ModelMatch>,
    /// What telemetry files gave (`--otel`); absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<crate::otel::Summary>,
    /// The load per person, when the input names people (telemetry, `--shared-quota`);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamSection>,
}

/// The team view: the load per person on the shared quota.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TeamSection {
    pub people: u64,
    pub sessions: u64,
    pub unattributed_requests: u64,
    /// Moments a request was refused (its first throttled attempt).
    pub throttle_moments: u64,
    /// People are named by e-mail, account or home path (`--show-users`), else numbered.
    pub names_shown: bool,
    pub by_person: Vec<PersonRow>,
    /// The managed settings files a value for everyone goes in (Linux, macOS).
    pub managed_settings: [&'static str; 2],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonRow {
    pub person: String,
    #[serde(flatten)]
    pub load: crate::analysis::team::PersonLoad,
}

/// What the report was asked for: what was read, the filters, the recommendation's settings,
/// and whether people are named.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub roots: &'a [Root],
    pub filters: &'a Filters,
    pub rec: &'a RecommendConfig,
    pub show_users: bool,
}

/// Where managed settings live, Linux and macOS.
pub const MANAGED_SETTINGS: [&str; 2] =
    ["/etc/claude-code/managed-settings.json", "/Library/Application Support/ClaudeCode/managed-settings.json"];

/// How a person is named: as written with `--show-users`, else by their place in the team
/// view (`person 1` had the most in flight when the quota refused requests). Not a hash of
/// the e-mail: anyone with the team's list of e-mails could recompute one.
pub fn person_label(name: &str, rank: usize, show: bool) -> String {
    if show { crate::text::escape_control(name) } else { format!("person {}", rank + 1) }
}

fn team_section(team: crate::analysis::team::Team, people: &crate::scan::data::People, show: bool) -> TeamSection {
    TeamSection {
        people: team.people,
        sessions: team.sessions,
        unattributed_requests: team.unattributed_requests,
        throttle_moments: team.throttle_moments,
        names_shown: show,
        by_person: team
            .by_person
            .into_iter()
            .enumerate()
            .map(|(rank, load)| {
                let name = people.names.get(load.person as usize).map_or("", |n| &**n);
                PersonRow { person: person_label(name, rank, show), load }
            })
            .collect(),
        managed_settings: MANAGED_SETTINGS,
    }
}

/// The settings as the report shows them (only the keys ccdoctor reads; never a secret).
#[derive(Debug, Clone, Serialize)]
pub struct SettingsOut {
    pub max_output_tokens: Sourced<u64>,
    pub max_thinking_tokens: Sourced<u64>,
    pub provider: Provider,
    pub provider_source: String,
    /// The model advised for.
    pub model: Option<String>,
    pub model_source: String,
    /// The settings files' `env`, merged; every value not on the allow-list of
    /// [`crate::redact`] is `<redacted>` (unless `--show-env`). A team's people (named by
    /// their homes) each have their own: every person's entries are listed.
    pub env: Vec<EnvEntry>,
    /// Whether `env`'s values are redacted (every one not on the allow-list); `false` with
    /// `--show-env`, which shows them as written, secrets included.
    pub env_redacted: bool,
    /// The settings are each person's own (a team's homes), not one set.
    #[serde(skip)]
    pub each_persons: bool,
}

/// The recommendation's numbers (schema 1; the sentences are added by the renderers).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recommendation {
    /// The value to set; `null` when no value helps (the advice says what does).
    pub max_output_tokens: Option<u64>,
    pub action: Action,
    /// Why: `throttles`, `fewer_cuts`, `nothing_would_improve`, `small_sample`,
    /// `no_value_is_safe`, `quota_unknown`.
    pub basis: Basis,
    /// The value in effect now.
    pub current: u64,
    /// Where it comes from: `settings`, `records` (a cut at it), `default`.
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
    fn of(r: Reading, o: &Outcome) -> Self {
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
    /// attempts (the effective quota is the reference where this range holds it, else its
    /// nearest end); `quota_high_tpm` is `null` without an upper end.
    pub quota_low_tpm: u64,
    pub quota_high_tpm: Option<u64>,
    /// The history as it was at the reference quota (at the effective quota without one).
    pub throttled_attempts: u64,
    pub failed: u64,
    /// The history as it was at the effective quota (what the Check line quotes).
    pub effective_throttled_attempts: u64,
    pub effective_failed: u64,
    /// `fits`, `plausible`, `far` or `contradicted` (see DESIGN.md).
    pub standing: Standing,
    /// It was among the readings the advice is chosen from (within twice the reference, or
    /// all when none is).
    pub advising: bool,
    /// The value it advises there; `null` when it advises none (no value is safe under it) or
    /// is not advising.
    pub advises: Option<u64>,
    /// The limit of a period its quota does not explain.
    pub contradicted_at: Option<u64>,
}

impl ReadingFitJson {
    fn of(v: &ReadingView) -> Self {
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

#[derive(Debug, Clone, Serialize, Default)]
pub struct LoadSection {
    pub per_model: Vec<ModelLoad>,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct CutsSection {
    pub responses: u64,
    pub by_limit: Vec<CutLimit>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CutLimit {
    pub limit: u64,
    pub responses: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanSection {
    pub roots: Vec<RootOut>,
    /// files, transcript_files, debug_logs, bytes, lines, malformed_lines, unreadable,
    /// not_regular, older_than_since.
    #[serde(flatten)]
    pub read: ReadStats,
    pub filters: FiltersOut,
    /// The days the history covers (after the filters).
    pub history: HistoryOut,
    /// Records of a max output limit no model allows (a `Capped from X to Y` line whose Y,
    /// or an "exceeded the N output token maximum" error whose N, is 0 or above
    /// `plausible_limits_up_to`): left out of every figure.
    pub implausible_limits: u64,
    pub plausible_limits_up_to: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryOut {
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// Calendar days from the first to the last, both counted.
    pub days: u64,
    /// How many days of transcripts Claude Code keeps (`cleanupPeriodDays`, default 30).
    pub kept_days: u64,
    pub kept_days_source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootOut {
    pub path: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct FiltersOut {
    pub since: Option<String>,
    pub until: Option<String>,
    pub project: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResponsesSection {
    pub count: u64,
    /// Responses whose recorded output was a stream-start placeholder, measured by the
    /// content estimate instead.
    pub estimated: u64,
    /// Responses left out of every figure: their output (recorded or estimated) is above
    /// `plausible_up_to`, the largest limit of any model, so the count is corrupt.
    pub implausible: u64,
    pub plausible_up_to: u64,
    /// Responses left out of every figure because they record more input tokens (input,
    /// cache writes and cache reads together) than `plausible_input_up_to`, ten times the
    /// largest context window: a corrupt count.
    pub implausible_input: u64,
    pub plausible_input_up_to: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    /// The model family's name (`Sonnet 4.5`), or the canonical id of an unknown model.
    pub model: String,
    /// The ids as the transcripts spell them.
    pub ids: Vec<String>,
    pub estimated: u64,
    /// count, mean, p50, p90, p95, p99, max.
    #[serde(flatten)]
    pub summary: Summary,
    pub histogram: Vec<Bin>,
    /// Thinking against visible output, over the responses whose usage splits them
    /// (`output_tokens_details.thinking_tokens`); `null` when none does.
    pub thinking: Option<ThinkingOut>,
    /// Responses by the effort level they were asked at (2.1.212), where written.
    pub effort: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThinkingOut {
    pub responses: u64,
    pub thinking_tokens: u64,
    pub output_tokens: u64,
    /// Thinking as a share of their output.
    pub share: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RateLimitCounts {
    /// Requests that failed for good with a throttling 429.
    #[serde(rename = "final")]
    pub final_: u64,
    /// Failed attempts Claude Code retried.
    pub retries: u64,
    /// Per-day tokens quota errors (final and retried), not in the two above.
    pub per_day_quota: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutputMaxCounts {
    pub count: u64,
    /// Errors per N of "exceeded the N output token maximum", in numeric order (JSON keys
    /// are the numbers as strings).
    pub limits: BTreeMap<u64, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// The provider's throttling (the only 429 a lower max output can cure), and the per-day
    /// quota apart.
    pub rate_limit: RateLimitCounts,
    /// 429s whose text says neither throttling nor a usage limit or spend cap (final and
    /// retried): not counted as throttling, so left out of the fit.
    pub unclassified_429: u64,
    /// Plan usage limits (session, weekly, model, extra usage, usage credits).
    pub usage_limit: u64,
    /// When the usage limits reset, as times parsed from their texts (distinct, in order of
    /// appearance); never the texts themselves.
    pub usage_limit_resets: Vec<String>,
    /// The resets already listed: a set, so that many distinct ones cost linear time.
    #[serde(skip)]
    resets_seen: std::collections::HashSet<Box<str>>,
    /// Spend caps and no credit left.
    pub spend_cap: u64,
    /// The server shedding load (`Server is temporarily limiting requests`): final and retried.
    pub server_limiting: u64,
    pub output_token_maximum: OutputMaxCounts,
    pub max_tokens_stops: u64,
    pub recovery_prompts: u64,
    /// 400s for asking more output than the model allows (`max_tokens: X > Y`): the setting
    /// and the thinking budget conflict.
    pub over_cap: u64,
    /// The context window full: not a cut response.
    pub context_window: u64,
    /// 529 overloaded: final errors and retried attempts.
    pub overloaded: u64,
    /// Any other API error: final errors and retried attempts.
    pub other: u64,
}

impl ErrorCounts {
    fn add(&mut self, kind: EventKind) {
        match kind {
            EventKind::Final(k) | EventKind::Retry(k) => {
                let retry = matches!(kind, EventKind::Retry(_));
                match k {
                    ErrorKind::RateLimit if retry => self.rate_limit.retries += 1,
                    ErrorKind::RateLimit => self.rate_limit.final_ += 1,
                    ErrorKind::Unclassified429 => self.unclassified_429 += 1,
                    ErrorKind::PerDayQuota => self.rate_limit.per_day_quota += 1,
                    ErrorKind::UsageLimit => self.usage_limit += 1,
                    ErrorKind::SpendCap => self.spend_cap += 1,
                    ErrorKind::ServerLimiting => self.server_limiting += 1,
                    ErrorKind::OverCap => self.over_cap += 1,
                    ErrorKind::ContextWindow => self.context_window += 1,
                    ErrorKind::OutputTokenMaximum(n) => {
                        self.output_token_maximum.count += 1;
                        *self.output_token_maximum.limits.entry(n).or_default() += 1;
                    }
                    ErrorKind::Overloaded => self.overloaded += 1,
                    ErrorKind::Other => self.other += 1,
                }
            }
            EventKind::RecoveryPrompt => self.recovery_prompts += 1,
            EventKind::MaxTokensStop => self.max_tokens_stops += 1,
        }
    }

    /// Counts an event, and the reset time its text names (usage limits, spend caps).
    fn add_event(&mut self, e: &crate::scan::data::Event) {
        self.add(e.kind);
        if let (EventKind::Final(ErrorKind::UsageLimit | ErrorKind::SpendCap), Some(reset)) = (e.kind, &e.reset)
            && self.resets_seen.insert(reset.clone())
        {
            self.usage_limit_resets.push(reset.to_string());
        }
    }

    /// Throttling 429s, final and retried.
    pub fn throttled(&self) -> u64 {
        self.rate_limit.final_ + self.rate_limit.retries
    }

    /// Per-day quota, plan usage limits and spend caps: waits, not throttling.
    pub fn limits(&self) -> u64 {
        self.rate_limit.per_day_quota + self.usage_limit + self.spend_cap
    }

    /// Errors neither throttling, cut, nor limit: 429s of no stated cause, server side,
    /// refused requests, the rest.
    pub fn others(&self) -> u64 {
        self.unclassified_429
            + self.server_limiting
            + self.over_cap
            + self.context_window
            + self.overloaded
            + self.other
    }

    /// Every sign that a response was cut at the output limit.
    pub fn cut_signs(&self) -> u64 {
        self.output_token_maximum.count + self.max_tokens_stops + self.recovery_prompts
    }

    pub fn total(&self) -> u64 {
        self.throttled()
            + self.unclassified_429
            + self.rate_limit.per_day_quota
            + self.usage_limit
            + self.spend_cap
            + self.server_limiting
            + self.cut_signs()
            + self.over_cap
            + self.context_window
            + self.overloaded
            + self.other
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DayRow {
    pub day: String,
    pub responses: u64,
    /// Responses cut at the output limit, each once (the error counts hold every sign).
    pub cut_responses: u64,
    pub errors: ErrorCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRow {
    pub project: String,
    pub cwd: Option<String>,
    pub responses: u64,
    /// Responses cut at the output limit, each once.
    pub cut_responses: u64,
    pub errors: ErrorCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct CappedRow {
    pub from: u64,
    pub to: u64,
    pub count: u64,
}

/// Builds the report of a scan and its analysis.
pub fn build(
    data: &ScanData,
    scope: &Scope,
    settings: &EffectiveSettings,
    analysis: Analysis<'_>,
    write: Option<WriteOutcome>,
) -> Report {
    let Scope { roots, filters, rec, show_users } = *scope;
    let Analysis { selection, advice, load, team, cuts } = analysis;
    let Selection {
        responses,
        by_model: by_name,
        events,
        implausible,
        plausible_up_to,
        implausible_input,
        capped,
        implausible_limits,
        model_match,
        ..
    } = selection;
    let mut all: Vec<u64> = responses.iter().map(|r| r.output).collect();
    all.sort_unstable();

    let mut by_model: Vec<ModelRow> = by_name
        .iter()
        .map(|(model, group)| {
            let mut v: Vec<u64> = group.iter().map(|r| r.output).collect();
            v.sort_unstable();
            let ids: BTreeSet<&str> = runs(group, |r| Some(&r.model)).map(|r| &*r.model).collect();
            let split: Vec<(u64, u64)> =
                group.iter().filter_map(|r| r.usage.thinking.map(|t| (t.min(r.output), r.output))).collect();
            let thinking = (!split.is_empty()).then(|| {
                let (t, o) = split.iter().fold((0u64, 0u64), |a, b| (a.0 + b.0, a.1 + b.1));
                ThinkingOut {
                    responses: split.len() as u64,
                    thinking_tokens: t,
                    output_tokens: o,
                    share: if o == 0 { 0.0 } else { t as f64 / o as f64 },
                }
            });
            let mut efforts: BTreeMap<&str, u64> = BTreeMap::new();
            for e in group.iter().filter_map(|r| r.effort.as_deref()) {
                *efforts.entry(e).or_default() += 1;
            }
            let effort = efforts.into_iter().map(|(e, n)| (e.to_string(), n)).collect();
            ModelRow {
                model: model.clone(),
                ids: ids.into_iter().map(str::to_string).collect(),
                estimated: group.iter().filter(|r| r.estimated).count() as u64,
                summary: summarize(&v),
                histogram: histogram(&v),
                thinking,
                effort,
            }
        })
        .collect();
    // The busiest first, the other models' row last.
    let other = |m: &ModelRow| m.model == crate::models::OTHER_MODELS;
    by_model.sort_by(|a, b| (other(a), b.summary.count, &a.model).cmp(&(other(b), a.summary.count, &b.model)));

    let mut errors = ErrorCounts::default();
    let mut days: BTreeMap<DayKey, DayRow> = BTreeMap::new();
    let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
    // Consecutive responses mostly share a project (they come file by file): one row lookup
    // per run of them.
    // A project is its working directory (the folder name may be anything with
    // CLAUDE_CODE_PROJECT_DIR_NAME); records without one take their folder's.
    let mut cwd_of_folder: HashMap<&str, &str> = HashMap::new();
    for run in responses.chunk_by(|a, b| a.origin.project == b.origin.project && a.origin.cwd == b.origin.cwd) {
        let cwd = run[0].origin.cwd.as_deref().or_else(|| cwd_of_folder.get(&*run[0].origin.project).copied());
        if let Some(c) = cwd {
            cwd_of_folder.entry(&run[0].origin.project).or_insert(c);
        }
        let row = project_row(&mut projects, &run[0].origin.project, cwd);
        row.responses += run.len() as u64;
        for _ in run.iter().filter(|r| r.max_tokens_stop) {
            row.errors.add(EventKind::MaxTokensStop);
        }
    }
    for e in &events {
        let cwd = e.origin.cwd.as_deref().or_else(|| cwd_of_folder.get(&*e.origin.project).copied());
        project_row(&mut projects, &e.origin.project, cwd).errors.add_event(e);
    }
    for run in responses.chunk_by(|a, b| day_key(a.origin.time) == day_key(b.origin.time)) {
        day_row(&mut days, run[0].origin.time).responses += run.len() as u64;
    }
    for e in &events {
        day_row(&mut days, e.origin.time).errors.add_event(e);
    }
    let mut by_limit: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &cuts {
        *by_limit.entry(c.limit).or_default() += 1;
        day_row(&mut days, Some(c.time)).cut_responses += 1;
        let cwd = c.cwd.or_else(|| cwd_of_folder.get(c.project).copied());
        project_row(&mut projects, c.project, cwd).cut_responses += 1;
    }

    let mut capped_rows: HashMap<(u64, u64), u64> = HashMap::new();
    for c in &capped {
        *capped_rows.entry((c.from, c.to)).or_default() += 1;
    }
    let mut capped: Vec<CappedRow> =
        capped_rows.into_iter().map(|((from, to), count)| CappedRow { from, to, count }).collect();
    capped.sort_by_key(|c| (c.from, c.to));

    for r in responses.iter().filter(|r| r.max_tokens_stop) {
        errors.add(EventKind::MaxTokensStop);
        day_row(&mut days, r.origin.time).errors.add(EventKind::MaxTokensStop);
    }
    for e in &events {
        errors.add_event(e);
    }
    let by_day: Vec<DayRow> = days.into_values().collect();
    let estimated = responses.iter().filter(|r| r.estimated).count() as u64;
    let throttled_days = by_day.iter().filter(|d| d.errors.throttled() > 0).count() as u64;
    Report {
        schema: SCHEMA,
        scan: ScanSection {
            history: history(&responses, &events, settings),
            implausible_limits,
            ..scan_section(&data.read, roots, filters)
        },
        responses: ResponsesSection {
            count: responses.len() as u64,
            estimated,
            implausible,
            plausible_up_to,
            implausible_input,
            plausible_input_up_to: crate::models::MAX_INPUT_TOKENS,
        },
        output_tokens: summarize(&all),
        by_model,
        histogram: histogram(&all),
        errors,
        by_day,
        by_project: projects.into_values().collect(),
        capped,
        settings: settings_out(settings, advice.as_ref()),
        recommendation: advice.as_ref().map(|a| recommendation(a, rec)),
        load: LoadSection { per_model: load },
        cuts: CutsSection {
            responses: cuts.len() as u64,
            by_limit: by_limit.into_iter().map(|(limit, responses)| CutLimit { limit, responses }).collect(),
        },
        write,
        advice,
        throttled_days,
        model_match,
        telemetry: data.telemetry.clone(),
        team: team.map(|t| team_section(t, &data.people, show_users)),
    }
}

/// A figure's origin as the JSON names it.
pub fn origin_label(o: &Origin) -> &'static str {
    match o {
        Origin::Flag => "flag",
        Origin::Settings(_) => "settings",
        Origin::Records => "records",
        Origin::Inferred => "inferred",
        Origin::Default => "default",
        Origin::ModelsFile(_) => "models_file",
    }
}

fn figure_label(s: &FigureSource) -> &'static str {
    match s {
        FigureSource::Table { verified: true, .. } => "table",
        FigureSource::Table { verified: false, .. } => "table_unverified",
        FigureSource::Clamp(c) if c.by == crate::analysis::limits::ClampBy::CappedLine => "debug_log",
        FigureSource::Clamp(_) => "records",
        FigureSource::Unknown => "unknown",
    }
}

fn settings_out(settings: &EffectiveSettings, advice: Option<&Advice>) -> SettingsOut {
    let (provider, provider_source, model, model_source) = match advice {
        Some(a) => (
            a.provider,
            source_text(&a.provider_origin, "model ids"),
            Some(a.model.clone()),
            source_text(&a.model_origin, "most responses"),
        ),
        None => (
            settings.provider.value.unwrap_or(Provider::Anthropic),
            settings.provider.source.clone().unwrap_or_else(|| "default".into()),
            settings.model.value.clone(),
            settings.model.source.clone().unwrap_or_else(|| "none".into()),
        ),
    };
    SettingsOut {
        max_output_tokens: settings.max_output_tokens.clone(),
        max_thinking_tokens: settings.max_thinking_tokens.clone(),
        provider,
        provider_source,
        model,
        model_source,
        env: settings.env.clone(),
        env_redacted: !settings.env_unredacted,
        each_persons: !settings.people.is_empty(),
    }
}

/// An origin as the settings section names it: the flag, the file, or what it was inferred
/// from.
fn source_text(o: &Origin, inferred_from: &str) -> String {
    match o {
        Origin::Flag => "flag".into(),
        Origin::Settings(src) => src.clone(),
        Origin::Records => "records".into(),
        Origin::Inferred => format!("inferred: {inferred_from}"),
        Origin::Default => "default".into(),
        Origin::ModelsFile(src) => src.clone(),
    }
}

fn recommendation(a: &Advice, rec: &RecommendConfig) -> Recommendation {
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
            parallel: q.and_then(|q| q.parallel).unwrap_or(q.map_or(1, |q| q.parallel_seen)),
            parallel_origin: if q.is_some_and(|q| q.parallel.is_some()) { "flag" } else { "inferred" },
            parallel_seen: q.map_or(0, |q| q.parallel_seen),
            sent_at_once_seen: q.map_or(0, |_| a.sent_at_once),
            burndown: q.map_or(1.0, |q| q.burndown),
            burndown_origin: q.map_or("default", |q| origin_label(&q.burndown_origin)),
            output_quota_tpm: q.and_then(|q| q.output.as_ref().map(|o| o.tpm)),
            retry: a.retry,
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
        what_if,
        escalation: a.escalation,
    }
}

/// The first response of each run of responses whose `field` is the same string (the same
/// allocation: a file's responses share their names), so that per-string work is done once
/// per run instead of once per response.
pub(crate) fn runs<'a>(
    responses: &'a [&'a Response],
    field: impl Fn(&Response) -> Option<&Name> + 'a,
) -> impl Iterator<Item = &'a Response> + 'a {
    responses.iter().enumerate().filter_map(move |(i, &r)| {
        let same = i > 0
            && match (field(responses[i - 1]), field(r)) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
        (!same).then_some(r)
    })
}

/// The row of a project: its working directory when known, else its folder's name.
fn project_row<'a>(
    projects: &'a mut BTreeMap<String, ProjectRow>,
    folder: &str,
    cwd: Option<&str>,
) -> &'a mut ProjectRow {
    let key = cwd.unwrap_or(folder);
    if !projects.contains_key(key) {
        let row = ProjectRow {
            project: folder.to_string(),
            cwd: cwd.map(str::to_string),
            responses: 0,
            cut_responses: 0,
            errors: ErrorCounts::default(),
        };
        projects.insert(key.to_string(), row);
    }
    projects.get_mut(key).expect("inserted above")
}

/// Orders days as their names sort: dates, then "unknown" (no time).
type DayKey = (bool, i64);

/// The row of a time's UTC day; its name is written once per day, not per response.
fn day_key(time: Option<crate::time::EpochMs>) -> DayKey {
    time.map_or((true, 0), |t| (false, t.div_euclid(crate::time::MS_PER_DAY)))
}

fn day_row(days: &mut BTreeMap<DayKey, DayRow>, time: Option<crate::time::EpochMs>) -> &mut DayRow {
    days.entry(day_key(time)).or_insert_with(|| DayRow {
        day: time.map_or_else(|| "unknown".to_string(), day_of),
        responses: 0,
        cut_responses: 0,
        errors: ErrorCounts::default(),
    })
}

/// Claude Code deletes transcripts older than this many days unless `cleanupPeriodDays` says
/// otherwise.
pub const DEFAULT_KEPT_DAYS: u64 = 30;

fn history(responses: &[&Response], events: &[&crate::scan::data::Event], settings: &EffectiveSettings) -> HistoryOut {
    let times = responses.iter().filter_map(|r| r.origin.time).chain(events.iter().filter_map(|e| e.origin.time));
    let (lo, hi) = times.fold((None::<i64>, None::<i64>), |(lo, hi), t| {
        (Some(lo.map_or(t, |l| l.min(t))), Some(hi.map_or(t, |h| h.max(t))))
    });
    let day = |t: i64| t.div_euclid(crate::time::MS_PER_DAY);
    HistoryOut {
        first_day: lo.map(day_of),
        last_day: hi.map(day_of),
        days: lo.zip(hi).map_or(0, |(l, h)| (day(h) - day(l) + 1) as u64),
        kept_days: settings.cleanup_period_days.value.unwrap_or(DEFAULT_KEPT_DAYS),
        kept_days_source: settings.cleanup_period_days.source.clone().unwrap_or_else(|| "default".into()),
    }
}

fn scan_section(read: &ReadStats, roots: &[Root], filters: &Filters) -> ScanSection {
    ScanSection {
        roots: roots
            .iter()
            .map(|r| RootOut {
                path: r.path.to_string_lossy().into_owned(),
                kind: match r.kind {
                    RootKind::Home => "config_home",
                    RootKind::Projects => "projects",
                    RootKind::File => "file",
                    RootKind::DebugLog => "debug_log",
                },
            })
            .collect(),
        read: read.clone(),
        filters: FiltersOut {
            since: filters.since.map(day_of),
            until: filters.until.map(|u| day_of(u - 1)),
            project: filters.project.clone(),
            model: filters.model.clone(),
        },
        history: HistoryOut {
            first_day: None,
            last_day: None,
            days: 0,
            kept_days: DEFAULT_KEPT_DAYS,
            kept_days_source: "default".into(),
        },
        implausible_limits: 0,
        plausible_limits_up_to: crate::models::MAX_OUTPUT_LIMIT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 10 of issue 22: 100,000 distinct reset times are listed in linear time (each
    /// was compared with every one before it: minutes unoptimised), each once, in order.
    #[test]
    fn many_distinct_reset_times_are_listed_in_linear_time() {
        let event = |reset: String| crate::scan::data::Event {
            origin: Default::default(),
            kind: EventKind::Final(ErrorKind::UsageLimit),
            attempt: None,
            retry_in_ms: None,
            reset: Some(reset.into()),
        };
        let mut counts = ErrorCounts::default();
        let started = std::time::Instant::now();
        for i in 0..100_000u32 {
            counts.add_event(&event(format!("{}:{:02}am ({i})", i % 12 + 1, i % 60)));
        }
        counts.add_event(&event("1:00am (0)".into()));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(counts.usage_limit_resets.len(), 100_000);
        assert_eq!((counts.usage_limit_resets[0].as_str(), counts.usage_limit), ("1:00am (0)", 100_001));
    }
    use crate::scan::data::Origin;

    fn response(model: &Name, session: Option<&Name>) -> Response {
        Response {
            origin: Origin { session: session.cloned(), ..Origin::default() },
            model: model.clone(),
            end: None,
            recorded_output: 0,
            output: 0,
            estimated: false,
            usage: Default::default(),
            content: Default::default(),
            max_tokens_stop: false,
            effort: None,
        }
    }

    #[test]
    fn runs_are_of_one_string_not_of_equal_text() {
        let (a, a_again, b) = (Name::from("m"), Name::from("m"), Name::from("n"));
        let s = Name::from("s1");
        let all = [
            response(&a, Some(&s)),
            response(&a, None),
            response(&a_again, None),
            response(&b, None),
            response(&a, None),
        ];
        let refs: Vec<&Response> = all.iter().collect();
        let firsts = |field: fn(&Response) -> Option<&Name>| -> Vec<usize> {
            runs(&refs, field).map(|r| all.iter().position(|x| std::ptr::eq(x, r)).unwrap()).collect()
        };
        // Models a a | a' (equal text, another string) | b | a.
        assert_eq!(firsts(|r| Some(&r.model)), [0, 2, 3, 4]);
        // Sessions s1 | none none none none.
        assert_eq!(firsts(|r| r.origin.session.as_ref()), [0, 1]);
    }
}
