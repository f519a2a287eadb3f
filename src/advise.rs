//! From a scan's (filtered) responses, its error counts and the user's settings to the inputs
//! of the recommendation: which model, which provider, how many streams, how much input.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::config::RecommendConfig;
use crate::models::{self, family_of};
use crate::recommend::{self, CutSignals, Inputs, Origin, Recommendation, peak_streams};
use crate::report::{ErrorCounts, runs};
use crate::scan::classify::ErrorKind;
use crate::scan::data::{Event, EventKind, Response};
use crate::settings::{EffectiveSettings, Provider, Sourced};
use crate::stats::percentile_of;
use crate::time::minute_of;

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
    /// The settings files' `env`, merged, secrets redacted.
    pub env: Vec<crate::settings::EnvEntry>,
}

/// The provider a model id implies, if its spelling says.
fn provider_of_id(raw: &str) -> Option<Provider> {
    let l = raw.to_ascii_lowercase();
    if l.starts_with("arn:aws") || l.contains("anthropic.claude") {
        Some(Provider::Bedrock)
    } else if l.contains('@') {
        Some(Provider::Vertex)
    } else {
        None
    }
}

/// `groups`: the (filtered) responses by model name, as the report grouped them.
pub fn advise(
    groups: &BTreeMap<String, Vec<&Response>>,
    events: &[&Event],
    errors: &ErrorCounts,
    cfg: &RecommendConfig,
    settings: &EffectiveSettings,
) -> (SettingsOut, Option<Recommendation>) {
    // The model: the one with the most responses (after --model filtering), else the settings'.
    let chosen = groups.iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)));
    let (model_name, model_source, group): (Option<String>, String, Vec<&Response>) = match chosen {
        Some((name, g)) => (Some(name.clone()), "inferred: most responses".to_string(), g.clone()),
        None => match &settings.model.value {
            Some(m) => (Some(models::display_name(m)), settings.model.source.clone().unwrap_or_default(), Vec::new()),
            None => (None, "none".to_string(), Vec::new()),
        },
    };
    // The ids in order, a run of responses sharing one id string (a file's) counted once.
    let raw_ids: Vec<&str> = runs(&group, |r| Some(&r.model)).map(|r| &*r.model).collect();
    let family = raw_ids
        .iter()
        .find_map(|m| family_of(m))
        .or_else(|| settings.model.value.as_deref().and_then(family_of).filter(|_| group.is_empty()));

    let (provider, provider_source) = match (cfg.provider, settings.provider.value) {
        (Some(p), _) => (p, "--provider".to_string()),
        (None, Some(p)) => (p, settings.provider.source.clone().unwrap_or_default()),
        (None, None) => match raw_ids.iter().find_map(|m| provider_of_id(m)) {
            Some(p) => (p, "inferred from model ids".to_string()),
            None => (Provider::Anthropic, "default".to_string()),
        },
    };
    let settings_out = SettingsOut {
        max_output_tokens: settings.max_output_tokens.clone(),
        max_thinking_tokens: settings.max_thinking_tokens.clone(),
        provider,
        provider_source,
        model: model_name.clone(),
        model_source,
        env: settings.env.clone(),
    };

    let mut outputs: Vec<u64> = group.iter().map(|r| r.output).collect();
    outputs.sort_unstable();
    let p90 = |f: &dyn Fn(&Response) -> u64| {
        let mut v: Vec<u64> = group.iter().map(|r| f(r)).collect();
        percentile_of(&mut v, 90.0).unwrap_or(0)
    };
    let input_set = p90(&|r| r.usage.input + r.usage.cache_creation);
    let input_reserved = p90(&|r| r.usage.input + r.usage.cache_creation + r.usage.cache_read);

    let parallel = match cfg.parallel {
        Some(p) => (p, Origin::Flag),
        None => {
            let peak =
                peak_streams(group.iter().filter_map(|r| r.origin.time.map(|t| (minute_of(t), &*r.origin.stream))));
            (peak.max(1), Origin::Inferred)
        }
    };
    let burndown = match (cfg.burndown, provider) {
        (Some(b), _) => (b, Origin::Flag),
        (None, Provider::Bedrock) => (family.map_or(5, |f| f.burndown) as f64, Origin::Default),
        (None, _) => (1.0, Origin::Default),
    };
    let quota_tpm = match (cfg.quota_tpm, provider) {
        (Some(q), _) => Some((q, Origin::Flag)),
        (None, Provider::Bedrock) => family.and_then(|f| f.default_bedrock_tpm).map(|q| (q, Origin::Default)),
        (None, _) => None,
    };
    // Error records carry no model: a cut-response sign counts for the chosen model when its
    // session had responses of that model (all of them when only one model was used).
    let sessions: HashSet<&str> =
        runs(&group, |r| r.origin.session.as_ref()).filter_map(|r| r.origin.session.as_deref()).collect();
    let mine = |e: &&&Event| groups.len() <= 1 || e.origin.session.as_deref().is_some_and(|s| sessions.contains(s));
    let mut cut =
        CutSignals { stops: group.iter().filter(|r| r.max_tokens_stop).count() as u64, ..CutSignals::default() };
    for e in events.iter().filter(mine) {
        match e.kind {
            EventKind::Final(ErrorKind::OutputTokenMaximum(n)) => {
                cut.errors += 1;
                cut.limit = Some(cut.limit.map_or(n, |l| l.max(n)));
            }
            EventKind::RecoveryPrompt => cut.recoveries += 1,
            _ => {}
        }
    }
    let inputs = Inputs {
        outputs: &outputs,
        cut,
        percentile: cfg.percentile,
        // No name means no responses and no model in the settings.
        model: model_name.unwrap_or_else(|| "unknown".into()),
        family,
        provider,
        quota_tpm,
        parallel,
        burndown,
        headroom: cfg.headroom,
        input_set,
        input_reserved,
        thinking: settings.max_thinking_tokens.value,
        current: settings.max_output_tokens.value,
        throttled: errors.throttled(),
        not_throttling_429: errors.usage_limit + errors.rate_limit.per_day_quota,
    };
    (settings_out, recommend::recommend(&inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_from_ids() {
        assert_eq!(provider_of_id("us.anthropic.claude-sonnet-4-20250514-v1:0"), Some(Provider::Bedrock));
        assert_eq!(
            provider_of_id("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc"),
            Some(Provider::Bedrock)
        );
        assert_eq!(provider_of_id("claude-sonnet-4@20250514"), Some(Provider::Vertex));
        assert_eq!(provider_of_id("claude-sonnet-4-20250514"), None);
    }
}
