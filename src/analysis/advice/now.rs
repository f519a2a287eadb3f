//! The value in effect for a request: the settings' max output (a person's own, where a
//! team's people have their own), clamped to the model's upper limit, else the model's
//! default; and the settings the value must leave room for (the thinking budget).

use crate::analysis::limits::{self, Fallback};
use crate::models::{self, Family, UNKNOWN_MODEL_CAP, UNKNOWN_MODEL_DEFAULT};
use crate::settings::EffectiveSettings;
use crate::time::EpochMs;
use foldhash::HashMap;

/// The settings' max output, clamped to the model's cap, else the model's default; a
/// person's own setting for their sessions, where people have their own.
pub struct Now<'c> {
    /// The settings: their max output now and before each `apply`, and each person's own (a
    /// team's homes). Telemetry's people have none read here: theirs are taken as unset
    /// (Claude Code's default, where their records show nothing else), never a home's.
    pub settings: &'c EffectiveSettings,
    /// Upper limits the user's debug logs show, by model name: they win over the table's.
    pub learned: &'c HashMap<String, limits::Clamp>,
    /// Whose each session is (empty when no one is named).
    pub of_session: &'c std::collections::HashMap<crate::scan::key::Name, u32>,
    /// The history may be on the Anthropic API with no max output set: Claude Code's capped
    /// default and its escalation ([`limits::CAPPED_DEFAULT`]).
    pub escalates: bool,
    /// What the user says the history ran at where nothing shows it (`--ran-at`).
    pub ran_at: Option<u64>,
}

/// The person of telemetry's sessions that name no account: not on record, as every
/// telemetry person is (no home is numbered so: people are counted in 32 bits from 0).
const UNNAMED_IN_TELEMETRY: u32 = u32::MAX;

/// The settings of a person not on record: none set.
static NOT_SET: std::sync::LazyLock<EffectiveSettings> = std::sync::LazyLock::new(EffectiveSettings::default);

impl Now<'_> {
    /// The value set (not clamped) for the session's person at `at`, if any.
    pub fn set_at(&self, session: Option<&str>, telemetry: bool, at: EpochMs) -> Option<u64> {
        self.whose(self.person(session, telemetry)).max_output_at(at)
    }

    /// The settings `person` ran under: a home's person's own; the shared ones where no one
    /// is named (one home); none for a person not on record (telemetry's).
    fn whose(&self, person: Option<u32>) -> &EffectiveSettings {
        match person {
            None => self.settings,
            Some(p) => self.settings.people.iter().find(|s| s.person == p).map_or(&NOT_SET, |p| &p.settings),
        }
    }

    /// A setting clamped to the model's upper limit; none: the model's default.
    fn clamped(&self, setting: Option<u64>, model: Option<&str>) -> u64 {
        setting.unwrap_or_else(|| default_of(model.and_then(models::family_of))).min(self.cap(model))
    }
}

impl Fallback for Now<'_> {
    fn escalates(&self) -> bool {
        self.escalates
    }
    fn now(&self, model: Option<&str>, person: Option<u32>) -> u64 {
        self.clamped(self.whose(person).max_output_tokens.value, model)
    }
    fn then(&self, model: Option<&str>, person: Option<u32>, at: EpochMs) -> u64 {
        self.clamped(self.whose(person).max_output_at(at), model)
    }
    fn dated(&self, person: Option<u32>) -> bool {
        !self.whose(person).max_output_before.is_empty()
    }
    fn ran_at(&self, person: Option<u32>, at: EpochMs) -> Option<u64> {
        self.ran_at.or_else(|| self.whose(person).ran_at_at(at))
    }
    fn person(&self, session: Option<&str>, telemetry: bool) -> Option<u32> {
        let named = session.and_then(|s| self.of_session.get(s)).copied();
        named.or(telemetry.then_some(UNNAMED_IN_TELEMETRY))
    }
    fn cap(&self, model: Option<&str>) -> u64 {
        let learned =
            model.filter(|_| !self.learned.is_empty()).and_then(|m| self.learned.get(&models::display_name(m)));
        learned.map_or_else(|| cap_of(model.and_then(models::family_of)), |c| c.to)
    }
    fn default(&self, model: Option<&str>) -> u64 {
        default_of(model.and_then(models::family_of))
    }
}

pub fn cap_of(f: Option<&Family>) -> u64 {
    f.map_or(UNKNOWN_MODEL_CAP, |f| f.max_output_cap.value)
}

pub fn default_of(f: Option<&Family>) -> u64 {
    f.map_or(UNKNOWN_MODEL_DEFAULT, |f| f.default_max_output.value)
}

/// A team's people whose own settings give different max outputs (one unset among them too).
pub(super) fn people_differ(settings: &EffectiveSettings) -> bool {
    let mut values: Vec<Option<u64>> = settings.people.iter().map(|p| p.settings.max_output_tokens.value).collect();
    values.sort_unstable();
    values.dedup();
    values.len() > 1
}

/// The thinking budget the value must leave room for, and whether the model ignores every
/// budget (it reasons adaptively, unless that is turned off). For a team, a budget counts
/// where that person's Claude Code uses it, and the largest of those (the value is
/// everyone's); the model ignores budgets only when it ignores every person's.
pub(super) fn thinking_budget(settings: &EffectiveSettings, family: Option<&Family>) -> (Option<u64>, bool) {
    let adaptive_for = |s: &EffectiveSettings| {
        family.is_some_and(|f| f.adaptive_thinking) && s.adaptive_thinking_disabled.value != Some(true)
    };
    if settings.people.is_empty() {
        return (settings.max_thinking_tokens.value, adaptive_for(settings));
    }
    let people = || settings.people.iter().map(|p| &p.settings);
    if people().all(adaptive_for) {
        return (people().filter_map(|s| s.max_thinking_tokens.value).max(), true);
    }
    (people().filter(|s| !adaptive_for(s)).filter_map(|s| s.max_thinking_tokens.value).max(), false)
}
