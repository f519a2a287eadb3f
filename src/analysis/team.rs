//! The team view: when the input tells people apart (telemetry's accounts, or homes read with
//! `--shared-quota`), each person's load on the shared quota, and who had the most requests in
//! flight when the quota refused one.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use serde::Serialize;

use super::chains::{Chain, Ended};
use super::load::{self, ModelLoad};
use super::seen;
use crate::scan::data::People;
use crate::time::EpochMs;

/// One person's share of the load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonLoad {
    /// Index into `People::names`.
    #[serde(skip)]
    pub person: u32,
    pub sessions: u64,
    pub requests: u64,
    /// Every attempt, refused or not.
    pub attempts: u64,
    pub throttled_attempts: u64,
    /// The most of their requests sent at once (waiting on the quota or running), as the
    /// advice's `sent_at_once_seen` counts a model's.
    pub peak_in_flight: u64,
    /// At the moments a request (anyone's) was refused: their requests in flight, on average.
    pub in_flight_at_throttle: f64,
    /// Their share of all requests in flight at those moments.
    pub share_at_throttle: f64,
    /// Their load per model (tokens a minute with burndown).
    pub models: Vec<ModelLoad>,
}

/// The load per person, and how many people and sessions it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub people: u64,
    pub sessions: u64,
    /// Requests no person could be named for (a session neither telemetry nor a home names).
    pub unattributed_requests: u64,
    /// Moments a request was refused (its first throttled attempt).
    pub throttle_moments: u64,
    /// Busiest in flight at the throttled moments first, then most requests.
    pub by_person: Vec<PersonLoad>,
}

/// The team view of the chains, or `None` when no person is named.
pub fn team(
    chains: &[Chain<'_>],
    people: &People,
    name_of: &dyn Fn(&str) -> String,
    burndown_of: &dyn Fn(&str) -> f64,
) -> Option<Team> {
    if people.names.is_empty() {
        return None;
    }
    let person_of =
        |c: &Chain| c.requests.iter().find_map(|r| r.session()).and_then(|s| people.of_session.get(s)).copied();
    let mut by: HashMap<u32, Vec<&Chain>> = HashMap::new();
    let mut unattributed = 0u64;
    let mut all_sessions: HashSet<&str> = HashSet::new();
    for c in chains {
        all_sessions.extend(c.requests.iter().filter_map(|r| r.session()));
        match person_of(c) {
            Some(p) => by.entry(p).or_default().push(c),
            None => unattributed += c.requests.len() as u64,
        }
    }
    // The moments a request was refused, anyone's.
    let mut moments: Vec<EpochMs> =
        chains.iter().flat_map(|c| &c.requests).filter(|r| r.throttled() > 0).map(|r| r.start()).collect();
    moments.sort_unstable();
    // A request is in flight at a moment `t` when `start <= t < end`: summed over a person's
    // requests, the moments inside each one (two binary searches a request, whatever the
    // number of people).
    let moments_in = |start: EpochMs, end: EpochMs| {
        (moments.partition_point(|&m| m < end.max(start)) - moments.partition_point(|&m| m < start)) as u64
    };
    let at: HashMap<u32, u64> = by
        .iter()
        .map(|(&p, cs)| (p, cs.iter().flat_map(|c| &c.requests).map(|r| moments_in(r.start(), r.end())).sum()))
        .collect();
    let total_at: u64 = at.values().sum();
    let mut rows: Vec<PersonLoad> = by
        .iter()
        .map(|(&p, cs)| {
            let requests: Vec<_> = cs.iter().flat_map(|c| &c.requests).collect();
            let throttled: u64 = requests.iter().map(|r| u64::from(r.throttled())).sum();
            let answered = requests.iter().filter(|r| r.ended() != Ended::Throttled).count() as u64;
            let sessions: HashSet<&str> = requests.iter().filter_map(|r| r.session()).collect();
            let mine = at.get(&p).copied().unwrap_or(0);
            PersonLoad {
                person: p,
                sessions: sessions.len() as u64,
                requests: requests.len() as u64,
                attempts: throttled + answered,
                throttled_attempts: throttled,
                peak_in_flight: seen::most_at_once(requests.iter().map(|r| (r.start(), r.end()))),
                in_flight_at_throttle: if moments.is_empty() { 0.0 } else { mine as f64 / moments.len() as f64 },
                share_at_throttle: if total_at == 0 { 0.0 } else { mine as f64 / total_at as f64 },
                models: load::per_model(cs, name_of, burndown_of),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.in_flight_at_throttle
            .total_cmp(&a.in_flight_at_throttle)
            .then(b.requests.cmp(&a.requests))
            .then(a.person.cmp(&b.person))
    });
    Some(Team {
        people: by.len() as u64,
        sessions: all_sessions.len() as u64,
        unattributed_requests: unattributed,
        throttle_moments: moments.len() as u64,
        by_person: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::chains::Request;
    use crate::scan::key::Name;

    fn req(session: &'static str, start: i64, end: i64, throttled: u32) -> Request<'static> {
        Request::answered("claude-sonnet-5", start, end)
            .with_tokens(100, 0, 50)
            .with(|r| r.set_throttled(throttled))
            .with_session(Some(session))
    }

    fn chain(stream: &'static str, requests: Vec<Request<'static>>) -> Chain<'static> {
        Chain::of_test(stream, "", None, false, requests)
    }

    #[test]
    fn peak_counts_what_is_open_at_once() {
        let most = |v: &[(i64, i64)]| seen::most_at_once(v.iter().copied());
        assert_eq!(most(&[(0, 3), (1, 4), (2, 5)]), 3);
        assert_eq!(most(&[(0, 5), (5, 9)]), 1);
        assert_eq!(most(&[]), 0);
        // A request that ended as it was sent is never open (it once took the count below 0).
        assert_eq!(most(&[(0, 3), (5, 5)]), 1);
    }

    #[test]
    fn who_had_most_in_flight_when_the_quota_refused() {
        // Alice: three streams of one session overlapping 0–10 s; Bob: one request 5–20 s,
        // refused once at 5 s. At 5 s Alice has 3 in flight, Bob 1 (his own).
        let chains = vec![
            chain("a1", vec![req("sa", 0, 10_000, 0)]),
            chain("a2", vec![req("sa", 1_000, 10_000, 0)]),
            chain("a3", vec![req("sa", 2_000, 10_000, 0)]),
            chain("b", vec![req("sb", 5_000, 20_000, 1)]),
            chain("x", vec![req("nobody", 0, 1, 0)]),
        ];
        let mut people =
            People { names: vec!["alice@example.com".into(), "bob@example.com".into()], ..People::default() };
        people.of_session.insert(Name::from("sa"), 0);
        people.of_session.insert(Name::from("sb"), 1);
        let t = team(&chains, &people, &|m| m.to_string(), &|_| 5.0).unwrap();
        assert_eq!((t.people, t.sessions, t.unattributed_requests, t.throttle_moments), (2, 3, 1, 1));
        let alice = &t.by_person[0];
        assert_eq!((alice.person, alice.peak_in_flight, alice.requests), (0, 3, 3));
        assert_eq!((alice.in_flight_at_throttle, alice.share_at_throttle), (3.0, 0.75));
        let bob = &t.by_person[1];
        assert_eq!((bob.attempts, bob.throttled_attempts, bob.share_at_throttle), (2, 1, 0.25));
        // Tokens with burndown: Bob's one request is 100 + 5 × 50 in its minute.
        assert_eq!(bob.models[0].tpm_peak, 350);
    }

    #[test]
    fn no_people_no_team() {
        assert!(team(&[], &People::default(), &|m| m.to_string(), &|_| 1.0).is_none());
    }
}
