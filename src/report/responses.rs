//! What the history holds, as the report shows it: responses by model, errors, cuts, days,
//! projects and the load.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::load::ModelLoad;

use crate::scan::classify::ErrorKind;
use crate::scan::data::EventKind;
use crate::stats::{Bin, Summary};

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
    pub(super) fn add(&mut self, kind: EventKind) {
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
    pub(super) fn add_event(&mut self, e: &crate::scan::data::Event) {
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
