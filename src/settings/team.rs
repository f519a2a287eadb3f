//! A team's settings: when people are named by their homes (`--shared-quota`, or homes beside
//! telemetry), each person's Claude Code read its own `settings.json` under the files they
//! share (managed, the project's, the shell's). Each person keeps their own values, and the
//! team's set (what the report shows and the advice starts from) is built from all of them
//! alike, so that it does not depend on the order the homes were given.

use std::path::PathBuf;

use super::{EffectiveSettings, EnvEntry, Provider, SettingsSources, Sourced, resolve};

/// The source named for a value every person's settings give alike, from different files.
pub const EVERY_PERSON: &str = "people: the same in each person's settings";

/// One person's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSettings {
    /// Index into `People::names`.
    pub person: u32,
    pub settings: EffectiveSettings,
}

/// The settings of each person with a home (`homes`: index into `People::names`, home), and
/// the team's: see [`combine`]. Without people, `None`.
pub fn resolve_team(sources: &SettingsSources, homes: &[(u32, PathBuf)]) -> Option<EffectiveSettings> {
    if homes.is_empty() {
        return None;
    }
    let people: Vec<PersonSettings> = homes
        .iter()
        .map(|(person, home)| {
            let own = SettingsSources { user: vec![home.join("settings.json")], ..sources.clone() };
            // Warnings are the shared resolution's, which reads every file once.
            PersonSettings { person: *person, settings: resolve(&own).0 }
        })
        .collect();
    Some(combine(people))
}

/// The team's settings: a value every person has alike is that value (from the one file they
/// share, else [`EVERY_PERSON`]); values that differ are none here (each person keeps theirs
/// in `people`). The thinking budget is the largest person's; the days of history kept, the
/// fewest; `env` lists every person's entries. No team-wide `model`: the model is the one
/// with the most responses.
pub fn combine(mut people: Vec<PersonSettings>) -> EffectiveSettings {
    people.sort_by_key(|p| p.person);
    let all: Vec<&EffectiveSettings> = people.iter().map(|p| &p.settings).collect();
    let mut env: Vec<EnvEntry> = all.iter().flat_map(|s| s.env.iter().cloned()).collect();
    env.sort_by(|a, b| (&a.name, &a.source, &a.value).cmp(&(&b.name, &b.source, &b.value)));
    env.dedup();
    EffectiveSettings {
        max_output_tokens: shared(&all, |s| &s.max_output_tokens),
        max_thinking_tokens: largest(&all),
        provider: team_provider(&all),
        model: Sourced::default(),
        adaptive_thinking_disabled: shared(&all, |s| &s.adaptive_thinking_disabled),
        max_subagents: shared(&all, |s| &s.max_subagents),
        max_retries: shared(&all, |s| &s.max_retries),
        retry_watchdog: shared(&all, |s| &s.retry_watchdog),
        cleanup_period_days: fewest_days(&all),
        env,
        env_unredacted: all.iter().any(|s| s.env_unredacted),
        // Each person's own history is theirs (in `people`).
        max_output_before: Vec::new(),
        ran_at_before: Vec::new(),
        people,
    }
}

/// The team's provider: the one every person's settings name alike; where they differ (or
/// some name none), the one whose quota max output counts against, Mantle, then Bedrock,
/// then Vertex: the homes were given as sharing one quota, and a person who names none may
/// still be on it (their shell may set it). None when no home names one.
fn team_provider(all: &[&EffectiveSettings]) -> Sourced<Provider> {
    let alike = shared(all, |s| &s.provider);
    if alike.value.is_some() {
        return alike;
    }
    for p in [Provider::BedrockMantle, Provider::Bedrock, Provider::Vertex] {
        let k = all.iter().filter(|s| s.provider.value == Some(p)).count();
        if k > 0 {
            return Sourced::new(
                p,
                format!("people: {k} of {} homes name it, and the quota they share is its", all.len()),
            );
        }
    }
    Sourced::default()
}

/// A value every person has alike; none when they differ.
fn shared<T: Clone + PartialEq>(
    all: &[&EffectiveSettings],
    of: impl Fn(&EffectiveSettings) -> &Sourced<T>,
) -> Sourced<T> {
    let Some(first) = all.first().map(|s| of(s)) else { return Sourced::default() };
    if all.iter().all(|s| of(s) == first) {
        return first.clone();
    }
    match &first.value {
        Some(v) if all.iter().all(|s| of(s).value.as_ref() == Some(v)) => Sourced::new(v.clone(), EVERY_PERSON),
        _ => Sourced::default(),
    }
}

/// The largest thinking budget any person has (the first file naming it, by name, on a tie).
fn largest(all: &[&EffectiveSettings]) -> Sourced<u64> {
    all.iter()
        .map(|s| &s.max_thinking_tokens)
        .filter(|t| t.value.is_some())
        .max_by(|a, b| a.value.cmp(&b.value).then_with(|| b.source.cmp(&a.source)))
        .cloned()
        .unwrap_or_default()
}

/// The fewest days of history any person's Claude Code keeps (the team's history is whole
/// only that far back); a person without the setting keeps the default.
fn fewest_days(all: &[&EffectiveSettings]) -> Sourced<u64> {
    let days = |s: &Sourced<u64>| s.value.unwrap_or(super::DEFAULT_KEPT_DAYS);
    all.iter()
        .map(|s| &s.cleanup_period_days)
        .min_by(|a, b| days(a).cmp(&days(b)).then_with(|| a.source.cmp(&b.source)))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(person: u32, max_output: Option<(u64, &str)>, thinking: Option<(u64, &str)>) -> PersonSettings {
        let sourced = |v: Option<(u64, &str)>| v.map_or_else(Sourced::default, |(n, s)| Sourced::new(n, s));
        PersonSettings {
            person,
            settings: EffectiveSettings {
                max_output_tokens: sourced(max_output),
                max_thinking_tokens: sourced(thinking),
                ..EffectiveSettings::default()
            },
        }
    }

    /// Issue 23, item 2: the team's set is the same whatever the order of its people; values
    /// that differ are no one's; the thinking budget is the largest person's.
    #[test]
    fn the_teams_settings_do_not_depend_on_order() {
        let a = person(0, Some((32_000, "user: /a/settings.json")), None);
        let b = person(1, Some((64_000, "user: /b/settings.json")), Some((31_999, "user: /b/settings.json")));
        let one = combine(vec![a.clone(), b.clone()]);
        assert_eq!(combine(vec![b.clone(), a.clone()]), one);
        assert_eq!(one.max_output_tokens, Sourced::default());
        assert_eq!(one.max_thinking_tokens, Sourced::new(31_999, "user: /b/settings.json"));
        assert_eq!(one.people.len(), 2);
        // Alike from two files: the value, named as every person's.
        let c = person(2, Some((32_000, "user: /c/settings.json")), None);
        assert_eq!(combine(vec![a.clone(), c]).max_output_tokens, Sourced::new(32_000, EVERY_PERSON));
        // Alike from one file (managed settings): that file.
        let managed = |p| person(p, Some((8_000, "managed: /etc/claude-code/managed-settings.json")), None);
        assert_eq!(combine(vec![managed(0), managed(1)]).max_output_tokens, managed(0).settings.max_output_tokens);
    }
}
