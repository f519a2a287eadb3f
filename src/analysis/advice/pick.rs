//! Which model to advise for and which provider it runs on: the flags, the settings, the
//! model ids' spelling, the words of the throttling 429s.

use super::{Inputs, UNKNOWN_MODEL};
use crate::analysis::origin::Origin;
use crate::analysis::select::ModelMatch;
use crate::models;
use crate::settings::Provider;

/// What in the history names a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderEvidence {
    /// The model ids' spelling.
    ModelIds,
    /// The words of the throttling 429s.
    Words,
}

/// The model to advise for: `--model`, else the settings' model (an alias picks the matching
/// model with the most responses), else the model with the most responses. A `--model` that
/// names no model of the history, or several, advises for none.
pub(super) fn pick_model(i: &Inputs<'_>) -> Option<(String, Origin)> {
    let most = |want: &dyn Fn(&str) -> bool| {
        i.responses_by_model.iter().filter(|(n, _)| want(n)).max_by_key(|(_, c)| *c).map(|(n, _)| n.clone())
    };
    match i.model_match {
        Some(ModelMatch::One(m)) => return Some((m.clone(), Origin::Flag)),
        Some(ModelMatch::Ambiguous(_) | ModelMatch::Nothing(_)) => return None,
        None => {}
    }
    if let (Some(m), Some(src)) = (&i.settings.model.value, &i.settings.model.source) {
        let origin = Origin::Settings(src.clone());
        let id = models::id::canonical(m);
        let name = models::display_name(m);
        if models::family_of(m).is_some() {
            return Some((name, origin));
        }
        // An alias (`sonnet`, `opus[1m]`): the model of that name used most.
        let alias = id.split('[').next().unwrap_or("").trim().to_string();
        if !alias.is_empty()
            && !alias.contains('-')
            && let Some(n) = most(&|n| n.to_lowercase().contains(&alias))
        {
            return Some((n, origin));
        }
    }
    most(&|_| true).map(|m| (m, Origin::Inferred)).or_else(|| {
        // No response at all: the settings' model, else one no record names.
        match (&i.settings.model.value, &i.settings.model.source) {
            (Some(m), Some(src)) => Some((models::display_name(m), Origin::Settings(src.clone()))),
            _ => (!i.units.is_empty()).then(|| (UNKNOWN_MODEL.to_string(), Origin::Inferred)),
        }
    })
}

/// The provider: `--provider`, the settings, the model ids' spelling, the words of the
/// throttling 429s (`Records`), else the Anthropic API.
pub(super) fn pick_provider(i: &Inputs<'_>, raw_ids: &[&str]) -> (Provider, Origin) {
    if let Some(p) = i.cfg.provider {
        return (p, Origin::Flag);
    }
    if let (Some(p), Some(src)) = (i.settings.provider.value, &i.settings.provider.source) {
        return (p, Origin::Settings(src.clone()));
    }
    match history_names(i, raw_ids) {
        Some((p, ProviderEvidence::ModelIds)) => (p, Origin::Inferred),
        Some((p, ProviderEvidence::Words)) => (p, Origin::Records),
        None => (Provider::Anthropic, Origin::Default),
    }
}

/// The provider the history names, if one: the model ids' spelling, else the words of the
/// throttling 429s.
fn history_names(i: &Inputs<'_>, raw_ids: &[&str]) -> Option<(Provider, ProviderEvidence)> {
    raw_ids
        .iter()
        .find_map(|m| provider_of_id(m))
        .map(|p| (p, ProviderEvidence::ModelIds))
        .or(i.worded.map(|p| (p, ProviderEvidence::Words)))
}

/// Where the flag or the settings named the provider: the provider the history names
/// instead ([`history_names`]), if another. Bedrock's runtime and Mantle are one provider
/// here.
pub(super) fn provider_doubt(
    origin: &Origin,
    provider: Provider,
    i: &Inputs<'_>,
    raw_ids: &[&str],
) -> Option<(Provider, ProviderEvidence)> {
    if !matches!(origin, Origin::Flag | Origin::Settings(_)) {
        return None;
    }
    let named = history_names(i, raw_ids)?;
    let family = |p: Provider| if p == Provider::BedrockMantle { Provider::Bedrock } else { p };
    (family(named.0) != family(provider)).then_some(named)
}

/// The provider a model id implies, if its spelling says.
pub fn provider_of_id(raw: &str) -> Option<Provider> {
    let l = raw.to_ascii_lowercase();
    if l.starts_with("arn:aws") || l.contains("anthropic.claude") {
        Some(Provider::Bedrock)
    } else if l.contains('@') {
        Some(Provider::Vertex)
    } else {
        None
    }
}
