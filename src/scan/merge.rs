//! Merges per-file results so that each response and each event counts once across files
//! (resumed and branched sessions copy their history into new files).

use std::collections::{HashMap, HashSet};

use super::data::{Count, Event, EventKind, Named, Place, Response, ScanData};
use super::file::{Attempt, FileResult, GroupPart, KeyedEvent, merge_group};
use super::key::{Key, KeyMap, Name};
use crate::estimate::{ContentSize, measured_output};

// `finish_into` turns the groups into responses in the groups' own memory, which the
// standard library does only when the alignments match (see `Response`).
const _: () = assert!(std::mem::align_of::<Response>() == std::mem::align_of::<GroupPart>());

/// A debug-log attempt and a transcript `api_error` line are the same failure when they are
/// for the same session and attempt number and this close in time.
const SAME_ATTEMPT_WINDOW_MS: i64 = 60_000;
/// A debug-log attempt of no known session belongs to the request of a transcript retry this
/// close to it (ten retries back off about three minutes in all).
const NEAR_RETRY_MS: i64 = 5 * 60_000;

#[derive(Default)]
pub struct Merger {
    groups: Vec<GroupPart>,
    group_index: KeyMap<usize>,
    events: Vec<Event>,
    /// Event kind (0 final, 1 recovery, 2 retry) and key.
    event_keys: HashSet<(u8, Key)>,
    retries: Vec<KeyedEvent<Attempt>>,
    debug_attempts: Vec<KeyedEvent<Attempt>>,
    capped: Vec<super::data::Capped>,
    pub keep_request_ids: bool,
}

impl Merger {
    pub fn add(&mut self, r: FileResult) {
        for g in r.groups {
            match self.group_index.get(&g.key) {
                Some(&i) => merge_group(&mut self.groups[i], g),
                None => {
                    self.group_index.insert(g.key, self.groups.len());
                    self.groups.push(g);
                }
            }
        }
        for e in r.finals {
            if self.event_keys.insert((0, e.key)) {
                self.events.push(Event {
                    origin: e.origin,
                    kind: EventKind::Final(e.what.kind),
                    attempt: None,
                    retry_in_ms: None,
                    reset: e.what.reset,
                    wording: e.what.wording,
                });
            }
        }
        for e in r.recoveries {
            if self.event_keys.insert((1, e.key)) {
                self.events.push(Event {
                    origin: e.origin,
                    kind: EventKind::RecoveryPrompt,
                    attempt: None,
                    retry_in_ms: None,
                    reset: None,
                    wording: None,
                });
            }
        }
        for e in r.retries {
            if self.event_keys.insert((2, e.key)) {
                self.retries.push(e);
            }
        }
        self.debug_attempts.extend(r.debug_attempts);
        self.capped.extend(r.capped);
    }

    pub fn finish_into(self, data: &mut ScanData) {
        let Merger { groups, mut events, retries, debug_attempts, capped, keep_request_ids, .. } = self;
        if keep_request_ids {
            data.request_ids = Some(groups.iter().map(|g| g.request).filter(|&r| r != 0).collect());
        }

        // A sidechain copy of a message a main session also holds (a `/btw` side question
        // replays parent messages under another requestId) is not a new response.
        let mut groups = groups;
        if groups.iter().any(|g| g.sidechain) {
            let main: foldhash::HashSet<u64> = groups.iter().filter(|g| !g.sidechain).map(|g| g.message).collect();
            groups.retain(|g| !g.sidechain || !main.contains(&g.message));
        }
        let mut session_project: HashMap<Name, Name> = HashMap::new();
        let mut last_session: Option<Name> = None;
        // One map-and-collect, so that the responses reuse the groups' allocation.
        let unknown = Name::from("unknown");
        let mut named = Named::default();
        let responses: Vec<Response> = groups
            .into_iter()
            .map(|g| {
                let content = g.lines.iter().fold(ContentSize::default(), |mut acc, (_, c)| {
                    acc += *c;
                    acc
                });
                let (output, estimated) =
                    measured_output(g.recorded_output, content, g.origin.place.version.as_deref());
                // A file's responses share one session string: one lookup per run of them.
                if let Some(s) = &g.origin.place.session
                    && !last_session.as_ref().is_some_and(|l| Name::ptr_eq(l, s))
                {
                    session_project.entry(s.clone()).or_insert_with(|| g.origin.place.project.clone());
                    last_session = Some(s.clone());
                }
                let model = g.model.unwrap_or_else(|| unknown.clone());
                let mut origin = g.origin;
                origin.place = Place::naming(origin.place, model, g.effort, &mut named);
                Response {
                    end: g.end,
                    output: Count::new(output),
                    estimated,
                    usage: g.usage.into(),
                    max_tokens_stop: g.max_tokens_stop,
                    origin,
                }
            })
            .collect();

        // Debug-log attempts that a transcript already recorded count once.
        let mut used = vec![false; retries.len()];
        let mut by_session: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, r) in retries.iter().enumerate() {
            if let Some(s) = &r.origin.place.session {
                by_session.entry(&**s).or_default().push(i);
            }
        }
        // A log not named after a session (`--debug-file`): its attempts are matched by time.
        let unnamed =
            |d: &KeyedEvent<Attempt>| d.origin.place.session.as_deref().is_none_or(|s| !by_session.contains_key(s));
        let mut by_time: Vec<(crate::time::EpochMs, usize)> = Vec::new();
        if debug_attempts.iter().any(unnamed) {
            by_time = retries.iter().enumerate().filter_map(|(i, r)| Some((r.origin.time()?, i))).collect();
            by_time.sort_unstable();
        }
        let mut extra = Vec::new();
        for d in &debug_attempts {
            let twin = if unnamed(d) {
                d.origin.time().and_then(|t| {
                    let from = by_time.partition_point(|&(at, _)| at < t - SAME_ATTEMPT_WINDOW_MS);
                    by_time[from..]
                        .iter()
                        .take_while(|&&(at, _)| at <= t + SAME_ATTEMPT_WINDOW_MS)
                        .map(|&(_, i)| i)
                        .find(|&i| !used[i] && same_attempt(&retries[i], d))
                })
            } else {
                d.origin
                    .place
                    .session
                    .as_deref()
                    .and_then(|s| by_session.get(s))
                    .and_then(|cands| cands.iter().copied().find(|&i| !used[i] && same_attempt(&retries[i], d)))
            };
            match twin {
                Some(i) => used[i] = true,
                None if unnamed(d) => {
                    // Its request is the one a transcript retry near it belongs to, if any.
                    let mut d = d.clone();
                    let near = d.origin.time().and_then(|t| crate::time::nearest(&by_time, t, NEAR_RETRY_MS));
                    if let Some(&i) = near {
                        let o = &retries[i].origin;
                        d.origin = crate::scan::data::Origin::new(d.origin.time(), None, o.place.clone());
                    }
                    extra.push(d);
                }
                None => extra.push(d.clone()),
            }
        }
        // A debug log's last attempt (`k/k`) was not retried: the request failed. A transcript
        // records that as its final error; where none is near, the attempt is the final error.
        let finals: Vec<(Option<&str>, crate::time::EpochMs)> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Final(_)))
            .filter_map(|e| Some((e.origin.place.session.as_deref(), e.origin.time()?)))
            .collect();
        let recorded = |d: &KeyedEvent<Attempt>| {
            d.origin.time().is_some_and(|t| {
                finals.iter().any(|&(s, at)| {
                    (s == d.origin.place.session.as_deref() || unnamed(d)) && (at - t).abs() <= SAME_ATTEMPT_WINDOW_MS
                })
            })
        };
        let extra: Vec<KeyedEvent<Attempt>> = extra.into_iter().filter(|d| !d.what.last || !recorded(d)).collect();
        for mut r in retries.into_iter().chain(extra) {
            if r.origin.place.project.is_empty()
                && let Some(p) = r.origin.place.session.as_ref().and_then(|s| session_project.get(s))
            {
                std::sync::Arc::make_mut(&mut r.origin.place).project = p.clone();
            }
            events.push(Event {
                origin: r.origin,
                kind: if r.what.last { EventKind::Final(r.what.kind) } else { EventKind::Retry(r.what.kind) },
                attempt: r.what.attempt,
                retry_in_ms: r.what.retry_in_ms,
                reset: None,
                wording: r.what.wording,
            });
        }

        // The in-place collect keeps the groups' allocation: its bytes, at the groups' larger
        // size and doubled capacity. Give the rest back (shrinking a large allocation in place
        // copies nothing).
        let mut responses = responses;
        responses.shrink_to_fit();
        events.shrink_to_fit();
        data.responses = responses;
        data.events = events;
        data.capped = capped;
    }
}

fn same_attempt(t: &KeyedEvent<Attempt>, d: &KeyedEvent<Attempt>) -> bool {
    let close = |window: i64| match (t.origin.time(), d.origin.time()) {
        (Some(a), Some(b)) => (a - b).abs() <= window,
        _ => false,
    };
    match (t.what.attempt, d.what.attempt) {
        (Some(a), Some(b)) => a == b && close(SAME_ATTEMPT_WINDOW_MS),
        _ => close(1_000),
    }
}
