//! The settings as the report shows them: the keys ccdoctor reads and where each came from,
//! never a secret.

use serde::Serialize;

use crate::analysis::advice::{Advice, Origin};

use crate::settings::{EffectiveSettings, EnvEntry, Provider, Sourced};

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

pub(super) fn settings_out(settings: &EffectiveSettings, advice: Option<&Advice>) -> SettingsOut {
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
pub(super) fn source_text(o: &Origin, inferred_from: &str) -> String {
    match o {
        Origin::Flag => "flag".into(),
        Origin::Settings(src) => src.clone(),
        Origin::Records => "records".into(),
        Origin::Inferred => format!("inferred: {inferred_from}"),
        Origin::Default => "default".into(),
        Origin::ModelsFile(src) | Origin::MostRequests(src) => src.clone(),
    }
}
