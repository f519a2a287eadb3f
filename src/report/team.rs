//! The team view of the report: the load per person on the shared quota, people named or
//! numbered.

use serde::Serialize;

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
    /// The person's config home, when the person is one: for the renderers to label its
    /// settings files by the person (not in the JSON, which names the files).
    #[serde(skip)]
    pub home: Option<std::path::PathBuf>,
}

pub use crate::settings::MANAGED_SETTINGS;

/// How a person is named: as written with `--show-users`, else by their place in the team
/// view (`person 1` had the most in flight when the quota refused requests). Not a hash of
/// the e-mail: anyone with the team's list of e-mails could recompute one.
pub fn person_label(name: &str, rank: usize, show: bool) -> String {
    if show { crate::text::escape_control(name) } else { format!("person {}", rank + 1) }
}

pub(super) fn team_section(
    team: crate::analysis::team::Team,
    people: &crate::scan::data::People,
    show: bool,
) -> TeamSection {
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
                let home = people.homes.iter().find(|(p, _)| *p == load.person).map(|(_, h)| h.clone());
                PersonRow { person: person_label(name, rank, show), load, home }
            })
            .collect(),
        managed_settings: MANAGED_SETTINGS,
    }
}
