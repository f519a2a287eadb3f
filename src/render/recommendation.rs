//! The "Recommendation" section, shared by the table and Markdown renderers as plain lines.

use crate::recommend::{Origin, Recommendation};
use crate::report::Report;
use crate::text::{percent, thousands};

fn origin(o: Option<Origin>) -> &'static str {
    match o {
        Some(Origin::Flag) => "given",
        Some(Origin::Inferred) => "inferred",
        Some(Origin::Default) => "default",
        None => "not set",
    }
}

/// The headline: `CLAUDE_CODE_MAX_OUTPUT_TOKENS=6000`, or why there is no number.
pub fn headline(r: &Recommendation) -> String {
    match r.max_output_tokens {
        Some(v) if r.conflict => {
            format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}  (conflict: cuts {} of responses)", percent(r.truncated_share))
        }
        Some(v) => format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={v}"),
        None => "No max output value helps here: see the advice.".to_string(),
    }
}

/// Inputs with their sources, as (label, value, source) rows.
pub fn input_rows(report: &Report, r: &Recommendation) -> Vec<(String, String, String)> {
    let i = &r.inputs;
    let s = &report.settings;
    let src = |v: &Option<String>| v.clone().unwrap_or_else(|| "not set".into());
    vec![
        ("Model".into(), i.model.clone(), s.model_source.clone()),
        ("Provider".into(), i.provider.name().into(), s.provider_source.clone()),
        (
            "Current max output".into(),
            s.max_output_tokens.value.map_or_else(|| "default".into(), thousands),
            src(&s.max_output_tokens.source),
        ),
        (
            "Thinking budget".into(),
            s.max_thinking_tokens.value.map_or_else(|| "none".into(), thousands),
            src(&s.max_thinking_tokens.source),
        ),
        ("Model's upper limit".into(), thousands(i.model_cap), "model table".into()),
        (format!("Target (p{})", r.percentile), thousands(r.target), format!("{} responses", thousands(i.responses))),
        ("Quota (TPM)".into(), i.quota_tpm.map_or_else(|| "none".into(), thousands), origin(i.quota_origin).into()),
        ("Requests in flight".into(), i.parallel.to_string(), origin(Some(i.parallel_origin)).into()),
        ("Burndown".into(), format!("{}×", i.burndown), origin(Some(i.burndown_origin)).into()),
        ("Headroom".into(), percent(i.headroom), "--headroom".into()),
        ("Input per request (I_set, p90)".into(), thousands(i.input_set), "inferred".into()),
        ("Input reserved (I_res, p90)".into(), thousands(i.input_reserved), "inferred".into()),
        ("Ceiling".into(), r.ceiling.map_or_else(|| "none".into(), thousands), "burndown-safe".into()),
    ]
}
