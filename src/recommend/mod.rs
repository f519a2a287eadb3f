//! The recommendation: one `CLAUDE_CODE_MAX_OUTPUT_TOKENS` from the user's own responses and
//! quota, and the arithmetic behind it. Pure: every input comes in through [`Inputs`].

use serde::Serialize;

use crate::analysis::ceiling::{self as quota, Budget};
use crate::models::Family;
use crate::settings::Provider;
use crate::stats::{percentile, share_above};
use crate::text::{percent, thousands};

/// Below this, a max output is of no use: the advice is fewer sessions or more quota.
pub const USEFUL_FLOOR: u64 = 1_000;
/// The recommendation is a multiple of this.
pub const STEP: u64 = 1_000;
/// Room the visible answer needs above the thinking budget.
pub const THINKING_ROOM: u64 = 1_000;
/// Upper limit assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_CAP: u64 = 32_000;
/// Claude Code's default max output assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_DEFAULT: u64 = 32_000;
/// Values always shown in the what-if table (where the model allows them).
pub const WHAT_IF_VALUES: [u64; 5] = [4_096, 8_192, 16_000, 32_000, 64_000];

/// Signs that responses were cut at a limit: demand above that limit, not at it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutSignals {
    /// "exceeded the N output token maximum" errors (responses that never completed).
    pub errors: u64,
    /// `stop_reason: max_tokens` responses.
    pub stops: u64,
    /// `Output token limit hit.` recovery prompts (each follows a cut response).
    pub recoveries: u64,
    /// The largest limit the cut responses hit, when known.
    pub limit: Option<u64>,
}

impl CutSignals {
    /// Cut responses: the errors plus the cut responses that were continued (a recovery
    /// prompt follows a max_tokens stop, so the larger of the two is counted, not both).
    pub fn cut(&self) -> u64 {
        self.errors + self.stops.max(self.recoveries)
    }
}

/// Where a value came from, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Given on the command line.
    Flag,
    /// Measured in the transcripts.
    Inferred,
    /// A documented default.
    Default,
}

#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// Output tokens of the chosen model's responses, ascending.
    pub outputs: &'a [u64],
    pub cut: CutSignals,
    pub percentile: f64,
    pub model: String,
    pub family: Option<&'static Family>,
    pub provider: Provider,
    pub quota_tpm: Option<(u64, Origin)>,
    pub parallel: (u64, Origin),
    pub burndown: (f64, Origin),
    pub headroom: f64,
    pub input_set: u64,
    pub input_reserved: u64,
    pub thinking: Option<u64>,
    pub current: Option<u64>,
    /// Throttling 429s (final and retried), and 429s that a max output cannot fix.
    pub throttled: u64,
    pub not_throttling_429: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputsOut {
    pub quota_tpm: Option<u64>,
    pub quota_origin: Option<Origin>,
    pub parallel: u64,
    pub parallel_origin: Origin,
    pub burndown: f64,
    pub burndown_origin: Origin,
    pub input_set: u64,
    pub input_reserved: u64,
    pub headroom: f64,
    pub model: String,
    pub model_cap: u64,
    pub provider: Provider,
    pub responses: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WhatIf {
    pub value: u64,
    pub truncated_share: f64,
    pub worst_case_charge: u64,
    /// Requests in flight that fit the quota; `null` without a quota.
    pub max_parallel: Option<u64>,
    pub label: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recommendation {
    /// The value to set; `null` when no value helps (the advice says what does).
    pub max_output_tokens: Option<u64>,
    pub target: u64,
    pub percentile: f64,
    /// More responses were cut at a limit than the percentile leaves out: demand is above it.
    pub censored: bool,
    pub ceiling: Option<u64>,
    /// Whether the ceiling counts cache-read tokens in the start-of-request reservation (the
    /// conservative reading); false when only the other reading leaves a useful value.
    pub cache_read_reserved: bool,
    pub conflict: bool,
    pub truncated_share: f64,
    pub inputs: InputsOut,
    /// The one-line reason first, then the arithmetic.
    pub reasons: Vec<String>,
    /// What else would help, and side effects to weigh.
    pub advice: Vec<String>,
    pub what_if: Vec<WhatIf>,
}

fn up_to_step(n: u64) -> u64 {
    n.div_ceil(STEP).saturating_mul(STEP)
}

fn down_to_step(n: u64) -> u64 {
    n / STEP * STEP
}

/// Computes the recommendation. `None` when there is no response to measure.
pub fn recommend(i: &Inputs<'_>) -> Option<Recommendation> {
    let n = i.outputs.len() as u64;
    let p = percentile(i.outputs, i.percentile)?;
    let cap = i.family.map_or(UNKNOWN_MODEL_CAP, |f| f.max_output_cap);
    let mut reasons: Vec<String> = Vec::new();
    let mut advice: Vec<String> = Vec::new();

    // 1. Target, with censoring: cut responses are demand above the limit they hit.
    let cut = i.cut.cut();
    let tail = (100.0 - i.percentile) / 100.0;
    let cut_share = cut as f64 / (n + i.cut.errors) as f64;
    let censored = cut > 0 && cut_share > tail;
    let mut target = p;
    if censored {
        let limit = i.cut.limit.or(i.current).unwrap_or(p);
        target = target.max(limit + 1);
        reasons.push(format!(
            "{} of responses ({} of {}) were cut at the output limit{}, more than the {} the p{} target leaves out: real demand is above that limit, so raise it",
            percent(cut_share),
            thousands(cut),
            thousands(n + i.cut.errors),
            i.cut.limit.map_or(String::new(), |l| format!(" of {}", thousands(l))),
            percent(tail),
            fmt_q(i.percentile),
        ));
    }

    // 2. Ceiling.
    let budget = i.quota_tpm.map(|(q, _)| Budget {
        quota_tpm: q,
        headroom: i.headroom,
        parallel: i.parallel.0,
        burndown: i.burndown.0,
        input_set: i.input_set,
        input_reserved: i.input_reserved,
    });
    // AWS's material disagrees on whether cache reads count in the start-of-request
    // reservation: plan for the conservative case (they do), and fall back to the other only
    // when the conservative one leaves no useful value, saying so.
    let useful = |b: &Budget| b.ceiling().is_some_and(|c| c >= USEFUL_FLOOR);
    let (budget, cache_read_reserved) = match budget {
        Some(b) if !useful(&b) && useful(&b.without_cache_reads()) => {
            reasons.push(format!(
                "If Bedrock reserves cache-read tokens at the start of a request ({} per request here), {} requests in flight fill the quota before any output; AWS's own material disagrees on it, so this ceiling assumes it does not",
                thousands(b.input_reserved),
                b.parallel
            ));
            advice.push(format!(
                "If 429s go on at this value, cache reads are being reserved: run at most {} requests at once.",
                b.max_parallel(USEFUL_FLOOR).max(1)
            ));
            (Some(b.without_cache_reads()), false)
        }
        other => (other, true),
    };
    let ceiling = budget.and_then(|b| b.ceiling());

    // 3. Value.
    let mut value = up_to_step(target);
    if let Some(t) = i.thinking {
        value = value.max(up_to_step(t + THINKING_ROOM));
    }
    if value > cap {
        reasons.push(format!("{} allows at most {} output tokens", i.model, thousands(cap)));
        value = cap;
    }
    let mut conflict = false;
    let mut max_output = Some(value);
    match (budget, ceiling) {
        (Some(b), c) if c.is_none_or(|c| c < USEFUL_FLOOR) => {
            max_output = None;
            reasons.push(format!(
                "{} requests in flight with {} tokens of context each already fill {} of the {} TPM quota: no max output setting fixes that",
                b.parallel,
                thousands(b.input_reserved.max(b.input_set)),
                percent(b.headroom),
                thousands(b.quota_tpm)
            ));
            advice.push(format!(
                "Run at most {} requests at once, or raise the quota to {} TPM.",
                b.max_parallel(USEFUL_FLOOR).max(1),
                thousands(b.quota_needed(up_to_step(target).min(cap)))
            ));
        }
        (Some(b), Some(c)) if value > c => {
            conflict = true;
            let wanted = value;
            value = down_to_step(c);
            max_output = Some(value);
            reasons.push(format!(
                "The target {} is above the burndown-safe ceiling of {} ({} TPM, {} requests in flight): using {}, which would cut {} of your responses",
                thousands(wanted),
                thousands(c),
                thousands(b.quota_tpm),
                b.parallel,
                thousands(value),
                percent(share_above(i.outputs, value))
            ));
            advice.push(format!(
                "To fit {} instead: run at most {} requests at once, or raise the quota to {} TPM.",
                thousands(wanted),
                b.max_parallel(wanted),
                thousands(b.quota_needed(wanted))
            ));
            advice.push(
                "Or accept some cut responses: Claude Code continues a cut response with a recovery prompt, at the cost of another request.".into(),
            );
        }
        _ => {}
    }
    if let Some(v) = max_output {
        let mut line = format!(
            "p{} of {} {} responses is {} tokens; {} covers it",
            fmt_q(i.percentile),
            thousands(n),
            i.model,
            thousands(p),
            thousands(v)
        );
        if let Some(c) = ceiling {
            line.push_str(&format!(" and stays under the burndown-safe ceiling of {}", thousands(c)));
        }
        line.push('.');
        if !conflict && !censored {
            reasons.insert(0, line);
        } else {
            reasons.push(line);
        }
    }
    if let Some(b) = budget {
        reasons.push(format!(
            "Ceiling: worst-case minute M ≤ (u·Q/P − I_set)/B = ({:.2}·{}/{} − {})/{} = {}; admission P·(I_res + M) ≤ u·Q gives M ≤ {}.",
            b.headroom,
            thousands(b.quota_tpm),
            b.parallel,
            thousands(b.input_set),
            b.burndown,
            b.worst_case_limit().map_or("none".into(), thousands),
            b.admission_limit().map_or("none".into(), thousands),
        ));
    }

    // 4. When max output is not the problem, or not the whole story.
    if i.throttled == 0 && i.not_throttling_429 > 0 {
        advice.push("Your 429s are all subscription usage limits or per-day quotas: lowering max output does not help; wait for the reset or raise the limit.".into());
    }
    match (i.provider, i.quota_tpm) {
        (Provider::Bedrock, Some((q, Origin::Default))) => advice.push(format!(
            "The quota {} TPM is AWS's published default for {}; accounts often have less. Check the applied value in Service Quotas and pass it with --quota-tpm.",
            thousands(q),
            i.model
        )),
        (Provider::Bedrock, None) => advice.push(format!(
            "AWS publishes no default quota for {}: pass your applied quota with --quota-tpm to get a burndown-safe ceiling.",
            i.model
        )),
        (Provider::Vertex, None) => advice.push(
            "Vertex quotas are per model and region and not published here: pass yours with --quota-tpm to get a ceiling.".into(),
        ),
        (Provider::Anthropic, None) => advice.push(
            "On the Anthropic API max_tokens does not count against the output-token limit (current rules), so no ceiling applies; pass --quota-tpm to plan against one anyway.".into(),
        ),
        _ => {}
    }

    // 5. Side effects.
    if let (Some(t), Some(v)) = (i.thinking, max_output)
        && t + THINKING_ROOM > v
    {
        advice.push(format!(
            "MAX_THINKING_TOKENS {} leaves less than {} tokens of {} for the visible answer: lower the thinking budget.",
            thousands(t),
            thousands(THINKING_ROOM),
            thousands(v)
        ));
    }
    let in_force = i.current.unwrap_or(i.family.map_or(UNKNOWN_MODEL_DEFAULT, |f| f.default_max_output));
    if let Some(v) = max_output
        && v > in_force
    {
        advice.push(format!(
            "A larger max output reserves more of the context window for the answer: auto-compaction starts about {} tokens earlier.",
            thousands(v - in_force)
        ));
    }

    let mut values: Vec<(u64, Option<&'static str>)> =
        WHAT_IF_VALUES.iter().filter(|&&v| v <= cap).map(|&v| (v, None)).collect();
    if let Some(c) = i.current {
        values.push((c.min(cap), Some("current")));
    }
    if let Some(v) = max_output {
        values.push((v, Some("recommended")));
    }
    values.sort_by_key(|(v, l)| (*v, l.is_none()));
    values.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 = a.1.or(b.1);
            true
        } else {
            false
        }
    });
    let what_if = values
        .into_iter()
        .map(|(v, label)| WhatIf {
            value: v,
            truncated_share: share_above(i.outputs, v),
            worst_case_charge: quota::worst_case_charge(i.input_set, i.burndown.0, v),
            max_parallel: budget.map(|b| b.max_parallel(v)),
            label,
        })
        .collect();

    Some(Recommendation {
        max_output_tokens: max_output,
        target,
        percentile: i.percentile,
        censored,
        ceiling,
        cache_read_reserved,
        conflict,
        truncated_share: max_output.map_or(0.0, |v| share_above(i.outputs, v)),
        inputs: InputsOut {
            quota_tpm: i.quota_tpm.map(|q| q.0),
            quota_origin: i.quota_tpm.map(|q| q.1),
            parallel: i.parallel.0,
            parallel_origin: i.parallel.1,
            burndown: i.burndown.0,
            burndown_origin: i.burndown.1,
            input_set: i.input_set,
            input_reserved: i.input_reserved,
            headroom: i.headroom,
            model: i.model.clone(),
            model_cap: cap,
            provider: i.provider,
            responses: n,
        },
        reasons,
        advice,
        what_if,
    })
}

fn fmt_q(q: f64) -> String {
    if q.fract() == 0.0 { format!("{q:.0}") } else { format!("{q}") }
}

/// The peak number of request streams with a response in the same minute.
pub fn peak_streams<'a>(events: impl IntoIterator<Item = (i64, &'a str)>) -> u64 {
    let mut pairs: Vec<(i64, &str)> = Vec::new();
    // Consecutive responses are mostly of one stream and minute: drop those repeats before
    // the sort.
    for p in events {
        if pairs.last() != Some(&p) {
            pairs.push(p);
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs.chunk_by(|a, b| a.0 == b.0).map(|minute| minute.len() as u64).max().unwrap_or(0)
}

#[cfg(test)]
mod tests;
