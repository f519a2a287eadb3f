//! From telemetry records to the responses and events every other step reads.
//!
//! Telemetry logs a request when it ends (`api_request`, with its `duration_ms`) and each
//! failed attempt (`api_error`, with its `attempt`), but names no request stream: a session's
//! main thread and its subagents share one `session.id`. Streams are rebuilt here: by the
//! session and its `query_source`, and within that, requests that overlap in time are put on
//! separate lanes (interval partitioning: the fewest lanes that hold them, as many as were in
//! flight at the peak). An error followed, in its stream and prompt, by a request that started
//! after it was a retried attempt of that request; the last of a run of errors no request
//! follows ended its request for good.

use std::collections::HashMap;

use super::read::Collected;
use super::record::{ErrorRec, NONE, RequestRec};
pub use crate::scan::data::Dedup;
use crate::scan::data::{Count, Named, Tokens};
use crate::scan::data::{Event, EventKind, Origin, People, Place, Response};
use crate::scan::key::Name;
use crate::time::EpochMs;

/// An error and the request after it belong together when the request started this soon
/// after it (ten retries back off about three minutes in all).
const NEAR_RETRY_MS: i64 = 5 * 60_000;
/// Requests after an error looked at for the one it was an attempt of.
const RETRY_CANDIDATES: usize = 64;
/// A telemetry error and a transcript's record of it are the same attempt when this close.
const SAME_ATTEMPT_MS: i64 = 60_000;

/// The model of responses past the 65,535th model name: the report's row of the models it
/// does not show one by one.
pub const OTHER_MODELS: &str = crate::models::OTHER_MODELS;

/// The project telemetry records are filed under (telemetry names no folder).
pub const PROJECT: &str = "(telemetry)";

/// What the transcripts already hold, so that telemetry adds only what they lack.
#[derive(Debug, Default)]
pub struct Known<'a> {
    pub request_ids: Option<&'a foldhash::HashSet<u64>>,
    pub events: &'a [Event],
}

#[derive(Debug, Default)]
pub struct Converted {
    pub responses: Vec<Response>,
    pub events: Vec<Event>,
    pub people: People,
    pub dedup: Dedup,
}

/// One request (with the errors before it) or one failed request, placed in time.
struct Unit {
    start: EpochMs,
    end: EpochMs,
    request: Option<usize>,
    errors: Vec<usize>,
}

pub fn convert(c: Collected, known: &Known) -> Converted {
    let Collected { mut tables, mut requests, mut errors, .. } = c;
    // From here a prompt is its id: only whether two records share one is asked
    // ([`same_prompt`]). Its name, held twice by the interner (a string a prompt: a team's
    // export names one every few requests), is given back before the responses are made.
    drop(std::mem::take(&mut tables.prompts));
    crate::memory::give_back();
    let mut dedup = Dedup::default();

    // The same request twice (by id, or as identical records) counts once; so does a request
    // a transcript holds.
    // Sorted by content and names, not by ids the reader threads gave out in the order they
    // met them: which copy of a request stays must not depend on the number of cores.
    let names = |g: u32| {
        let (session, source) = tables.group(g);
        (tables.sessions.get(session), tables.sources.get(source))
    };
    requests.sort_unstable_by(|a, b| {
        let key = |r: &RequestRec| (r.id, r.time, r.output, r.input, r.cache_read, r.cache_creation, r.duration_ms);
        key(a).cmp(&key(b)).then_with(|| names(a.group).cmp(&names(b.group)))
    });
    let before = requests.len();
    requests.dedup_by(|b, a| (a.id != 0 && a.id == b.id) || a == b);
    dedup.repeated += (before - requests.len()) as u64;
    if let Some(ids) = known.request_ids {
        let before = requests.len();
        requests.retain(|r| r.id == 0 || !ids.contains(&r.id));
        dedup.requests_in_transcripts = (before - requests.len()) as u64;
    }
    // The same attempt from two sources (a collector's files and a warehouse export, which
    // may lack `event.sequence` or `query_source`) counts once: told apart by session, time,
    // attempt and kind.
    let key = |e: &ErrorRec| (tables.group(e.group).0, e.time, e.attempt, e.kind);
    errors.sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.group.cmp(&b.group)));
    let before = errors.len();
    errors.dedup_by(|b, a| key(a) == key(b));
    dedup.repeated += (before - errors.len()) as u64;
    let recorded = transcript_attempts(known.events);
    if !recorded.is_empty() {
        let before = errors.len();
        errors.retain(|e| {
            let session = tables.sessions.get(tables.group(e.group).0).unwrap_or("");
            !recorded.get(session).is_some_and(|v| {
                v.iter().any(|&(t, a)| (t - e.time).abs() <= SAME_ATTEMPT_MS && (a.is_none() || a == e.attempt))
            })
        });
        dedup.errors_in_transcripts = (before - errors.len()) as u64;
    }

    // Each session's people, once.
    let mut people = People::default();
    let mut person_ids: HashMap<&str, u32> = HashMap::new();
    let session_names: Vec<Name> = tables.sessions.names.iter().map(|s| Name::from(&**s)).collect();
    // In the order of the sessions' names, so that people are numbered alike in every run
    // (whatever order the reader threads met them in).
    let mut sessions: Vec<(&u32, &super::record::Person)> = tables.session_person.iter().collect();
    sessions.sort_unstable_by_key(|(s, _)| &session_names[**s as usize]);
    for (&session, person) in sessions {
        if let Some(key) = person.key() {
            let next = people.names.len() as u32;
            // Told apart by account, shown (with --show-users) by e-mail where there is one.
            let shown = person.email.as_deref().unwrap_or(key);
            let id = *person_ids.entry(key).or_insert_with(|| {
                people.names.push(shown.into());
                next
            });
            people.of_session.insert(session_names[session as usize].clone(), id);
        }
    }

    // Streams: by session and query source. The errors of each, listed by place.
    let mut errors_of: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, e) in errors.iter().enumerate() {
        errors_of.entry(e.group).or_default().push(i);
    }
    // By names, not ids: the same order whatever order the files were read in.
    let mut seen = vec![false; tables.groups.len()];
    let mut keys: Vec<(u32, u32, u32)> = Vec::new();
    for g in requests.iter().map(|r| r.group).chain(errors_of.keys().copied()) {
        if !std::mem::replace(&mut seen[g as usize], true) {
            keys.push((tables.group(g).0, tables.group(g).1, g));
        }
    }
    drop(seen);
    keys.sort_unstable_by(|a, b| {
        let names = |k: &(u32, u32, u32)| (tables.sessions.get(k.0), tables.sources.get(k.1));
        names(a).cmp(&names(b))
    });
    // The requests laid out group by group in that order (each group's in the order they had),
    // so that the groups are worked from the last one and the list cut short behind them: the
    // requests (48 bytes each) and the responses made of them (64) are not all held at once.
    let ranges = by_group(&mut requests, &keys, tables.groups.len());

    let project = Name::from(PROJECT);
    // Ids past what a record holds (u16) are all "other models": no real export has 65,535
    // model names, but a hostile one must not file responses under another model.
    let mut models: Vec<Name> =
        tables.models.names.iter().take(usize::from(u16::MAX)).map(|m| Name::from(&**m)).collect();
    models.resize(usize::from(u16::MAX) + 1, Name::from(OTHER_MODELS));
    let efforts: Vec<Name> = tables.efforts.names.iter().map(|m| Name::from(&**m)).collect();
    let versions: HashMap<u32, Name> = tables.session_version.iter().map(|(&s, v)| (s, Name::from(&**v))).collect();
    // Each group's responses and events are made in order, and added to these backwards from
    // the last group; turned around at the end.
    let mut responses = Vec::with_capacity(requests.len());
    let mut events = Vec::with_capacity(errors.len());
    let (mut group_responses, mut group_events) = (Vec::new(), Vec::new());
    let mut freeing = crate::memory::Freeing::default();
    for (key, range) in keys.into_iter().zip(ranges).rev() {
        let mut rs: Vec<usize> = range.clone().collect();
        let mut es = errors_of.remove(&key.2).unwrap_or_default();
        rs.sort_unstable_by_key(|&i| (start_of(&requests[i]), requests[i].time));
        es.sort_unstable_by_key(|&i| errors[i].time);
        let units = units_of(&requests, &errors, &rs, &es);
        let lanes = lanes_of(&units);
        let session = &session_names[key.0 as usize];
        let source = tables.sources.get(key.1);
        // One place a lane (a stream of the session), shared by its records.
        let mut lane_places: Vec<std::sync::Arc<Place>> = Vec::new();
        // A lane's responses' places, naming their model and effort.
        let mut lane_named: Vec<Named> = Vec::new();
        let origin_of =
            |lane_places: &mut Vec<std::sync::Arc<Place>>, lane: usize, time: EpochMs, requested: Option<EpochMs>| {
                while lane_places.len() <= lane {
                    let n = lane_places.len();
                    let name = match (source, n) {
                        (None, 0) => session.to_string(),
                        (None, n) => format!("{session}#{}", n + 1),
                        (Some(s), 0) => format!("{session}/{s}"),
                        (Some(s), n) => format!("{session}/{s}#{}", n + 1),
                    };
                    lane_places.push(std::sync::Arc::new(Place {
                        project: project.clone(),
                        cwd: None,
                        session: Some(session.clone()),
                        stream: Name::from(name),
                        version: versions.get(&key.0).cloned(),
                        telemetry: true,
                        ..Place::default()
                    }));
                }
                Origin::new(Some(time), requested, lane_places[lane].clone())
            };
        for (unit, &lane) in units.iter().zip(&lanes) {
            let last_error = unit.errors.last().copied();
            for &ei in &unit.errors {
                let e = &errors[ei];
                let final_ = unit.request.is_none() && Some(ei) == last_error;
                group_events.push(Event {
                    origin: origin_of(&mut lane_places, lane, e.time, None),
                    kind: if final_ { EventKind::Final(e.kind) } else { EventKind::Retry(e.kind) },
                    attempt: e.attempt.map(u64::from),
                    retry_in_ms: None,
                    reset: None,
                    wording: e.wording,
                });
            }
            if let Some(ri) = unit.request {
                let r = &requests[ri];
                let start = start_of(r);
                let mut origin = origin_of(&mut lane_places, lane, start, Some(start));
                if lane_named.len() <= lane {
                    lane_named.resize(lane + 1, Named::default());
                }
                let model = models[usize::from(r.model)].clone();
                let effort = efforts.get(usize::from(r.effort)).filter(|_| r.effort != u16::MAX).cloned();
                origin.place = Place::naming(origin.place, model, effort, &mut lane_named[lane]);
                group_responses.push(Response {
                    origin,
                    end: Some(r.time).into(),
                    output: Count::new(u64::from(r.output)),
                    estimated: false,
                    usage: Tokens::new(u64::from(r.input), u64::from(r.cache_creation), u64::from(r.cache_read), None),
                    max_tokens_stop: false,
                });
            }
        }
        responses.extend(group_responses.drain(..).rev());
        events.extend(group_events.drain(..).rev());
        // The group's requests are made into responses: cut from the list.
        freeing.truncate(&mut requests, range.start);
    }
    responses.reverse();
    events.reverse();
    Converted { responses, events, people, dedup }
}

/// Lays `requests` out by group, the groups in the order of `keys` (each group's requests in
/// the order they had), in place; each key's range of places in it.
fn by_group(requests: &mut [RequestRec], keys: &[(u32, u32, u32)], groups: usize) -> Vec<std::ops::Range<usize>> {
    // Every request's group has a rank; the others none.
    const UNRANKED: u32 = u32::MAX;
    let mut rank = vec![UNRANKED; groups];
    for (k, key) in keys.iter().enumerate() {
        rank[key.2 as usize] = k as u32;
    }
    // Where each group starts: counted, then summed.
    let mut start = vec![0usize; keys.len() + 1];
    for r in requests.iter() {
        start[rank[r.group as usize] as usize + 1] += 1;
    }
    for k in 0..keys.len() {
        start[k + 1] += start[k];
    }
    let ranges = (0..keys.len()).map(|k| start[k]..start[k + 1]).collect();
    let mut from = vec![0u32; requests.len()];
    for (i, r) in requests.iter().enumerate() {
        let at = &mut start[rank[r.group as usize] as usize];
        from[*at] = index(i);
        *at += 1;
    }
    crate::memory::permute(requests, from);
    ranges
}

/// A request's place in 32 bits: 2^32 requests would be 5 TB of telemetry, and 192 GiB of
/// records in memory before this step.
fn index(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 requests")
}

/// When a request's answered attempt started.
fn start_of(r: &RequestRec) -> EpochMs {
    r.time - i64::from(r.duration_ms)
}

/// Same prompt, where both name one.
fn same_prompt(a: u32, b: u32) -> bool {
    a == NONE || b == NONE || a == b
}

/// The errors before each request, and the failed requests: runs of errors no request
/// follows.
fn units_of(requests: &[RequestRec], errors: &[ErrorRec], rs: &[usize], es: &[usize]) -> Vec<Unit> {
    let mut units: Vec<Unit> = rs
        .iter()
        .map(|&i| Unit { start: start_of(&requests[i]), end: requests[i].time, request: Some(i), errors: Vec::new() })
        .collect();
    let mut loose: Vec<usize> = Vec::new();
    for &ei in es {
        let e = &errors[ei];
        // The first request (by start) that started after the error, soon enough, in its prompt.
        let from = units.partition_point(|u| u.request.is_some() && u.start < e.time);
        // Looking at a bounded number of requests, so that many errors among many requests
        // of other prompts cost linear time.
        let next = units[from..]
            .iter_mut()
            .take(RETRY_CANDIDATES)
            .take_while(|u| u.start - e.time <= NEAR_RETRY_MS)
            .find(|u| u.request.is_some_and(|r| same_prompt(requests[r].prompt, e.prompt)));
        match next {
            Some(u) => u.errors.push(ei),
            None => loose.push(ei),
        }
    }
    for u in &mut units {
        if let Some(&first) = u.errors.first() {
            u.start = u.start.min(errors[first].time - i64::from(errors[first].duration_ms));
        }
    }
    // Runs of loose errors: a failed request each.
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, units: &mut Vec<Unit>| {
        if let (Some(&first), Some(&last)) = (run.first(), run.last()) {
            let start = errors[first].time - i64::from(errors[first].duration_ms);
            units.push(Unit { start, end: errors[last].time, request: None, errors: std::mem::take(run) });
        }
    };
    for ei in loose {
        let e = &errors[ei];
        let joins = run.last().is_some_and(|&p| {
            let prev = &errors[p];
            same_prompt(prev.prompt, e.prompt) && e.time - prev.time <= NEAR_RETRY_MS
        });
        if !joins {
            flush(&mut run, &mut units);
        }
        run.push(ei);
    }
    flush(&mut run, &mut units);
    units.sort_by_key(|u| (u.start, u.end));
    units
}

/// The lane of each unit (sorted by start): the lowest-numbered lane free at its start, else
/// a new one (interval partitioning: as many lanes as units in flight at the peak; a
/// session's main thread keeps the first lane).
fn lanes_of(units: &[Unit]) -> Vec<usize> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // (end, lane) of the lanes in use, the earliest end on top; the free lanes, lowest on top.
    let mut busy: BinaryHeap<Reverse<(EpochMs, usize)>> = BinaryHeap::new();
    let mut free: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    let mut lanes = 0;
    units
        .iter()
        .map(|u| {
            while let Some(&Reverse((end, lane))) = busy.peek()
                && end <= u.start
            {
                busy.pop();
                free.push(Reverse(lane));
            }
            let lane = match free.pop() {
                Some(Reverse(lane)) => lane,
                None => {
                    lanes += 1;
                    lanes - 1
                }
            };
            busy.push(Reverse((u.end.max(u.start), lane)));
            lane
        })
        .collect()
}

/// The attempts a transcript (or debug log) records, by session: time and attempt number.
fn transcript_attempts(events: &[Event]) -> HashMap<&str, Vec<(EpochMs, Option<u32>)>> {
    let mut by: HashMap<&str, Vec<(EpochMs, Option<u32>)>> = HashMap::new();
    for e in events {
        if let (Some(s), Some(t), EventKind::Retry(_) | EventKind::Final(_)) =
            (e.origin.place.session.as_deref(), e.origin.time(), e.kind)
        {
            by.entry(s).or_default().push((t, e.attempt.and_then(|a| u32::try_from(a).ok())));
        }
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otel::fields::{Fields, Val};
    use crate::scan::classify::ErrorKind;
    use std::borrow::Cow;

    const T0: EpochMs = 1_780_000_000_000;

    /// Builds a collection from (name, session, prompt, end time, duration, output, attempt).
    fn collected(events: &[(&str, &str, &str, i64, u64, u64, u64)]) -> Collected {
        let mut c = Collected::default();
        for &(name, session, prompt, t, duration, output, attempt) in events {
            let mut f = Fields::default();
            f.push(Cow::Borrowed("session.id"), Val::Str(session.to_string().into()));
            f.push(Cow::Borrowed("prompt.id"), Val::Str(prompt.to_string().into()));
            f.push(Cow::Borrowed("model"), Val::Str("claude-sonnet-5".into()));
            f.push(Cow::Borrowed("duration_ms"), Val::Int(duration as i64));
            f.push(Cow::Borrowed("user.email"), Val::Str(format!("{session}@example.com").into()));
            if name == "api_request" {
                f.push(Cow::Borrowed("output_tokens"), Val::Int(output as i64));
                f.push(Cow::Borrowed("request_id"), Val::Str(format!("req-{session}-{t}").into()));
                let r = c.tables.request(&f, T0 + t);
                c.requests.push(r);
            } else {
                f.push(Cow::Borrowed("error"), Val::Str("429 Too many tokens".into()));
                f.push(Cow::Borrowed("attempt"), Val::Int(attempt as i64));
                c.errors.extend(c.tables.error(&f, T0 + t));
            }
        }
        c
    }

    #[test]
    fn overlapping_requests_of_a_session_go_on_separate_lanes() {
        // Main thread: 0–10 s, 12–20 s. Two subagents in parallel: 3–9 s and 4–15 s.
        let c = collected(&[
            ("api_request", "s", "p", 10_000, 10_000, 100, 0),
            ("api_request", "s", "p", 20_000, 8_000, 100, 0),
            ("api_request", "s", "p", 9_000, 6_000, 100, 0),
            ("api_request", "s", "p", 15_000, 11_000, 100, 0),
        ]);
        let out = convert(c, &Known::default());
        let mut streams: Vec<&str> = out.responses.iter().map(|r| &*r.origin.place.stream).collect();
        streams.sort_unstable();
        streams.dedup();
        // Three were in flight at 4–9 s: three lanes.
        assert_eq!(streams, ["s", "s#2", "s#3"]);
        let r = out.responses.iter().find(|r| r.end.get() == Some(T0 + 20_000)).unwrap();
        // The request that started at 12 s reuses the first lane free then.
        assert_eq!((&*r.origin.place.stream, r.origin.requested()), ("s", Some(T0 + 12_000)));
        assert_eq!(out.people.names.len(), 1);
    }

    #[test]
    fn errors_before_a_request_are_its_retries_and_a_run_with_none_after_fails() {
        let c = collected(&[
            ("api_error", "s", "p1", 1_000, 200, 0, 1),
            ("api_error", "s", "p1", 2_000, 200, 0, 2),
            ("api_request", "s", "p1", 10_000, 5_000, 300, 0),
            ("api_error", "s", "p2", 60_000, 200, 0, 1),
            ("api_error", "s", "p2", 61_000, 200, 0, 2),
        ]);
        let out = convert(c, &Known::default());
        let kinds: Vec<(i64, EventKind)> = out.events.iter().map(|e| (e.origin.time().unwrap() - T0, e.kind)).collect();
        let retry = EventKind::Retry(ErrorKind::RateLimit);
        let last = EventKind::Final(ErrorKind::RateLimit);
        assert_eq!(kinds, [(1_000, retry), (2_000, retry), (60_000, retry), (61_000, last)]);
        // All in one stream: nothing overlapped.
        assert!(out.events.iter().all(|e| &*e.origin.place.stream == "s"));
        let (responses, events): (Vec<_>, Vec<_>) = (out.responses.iter().collect(), out.events.iter().collect());
        let places = crate::analysis::chains::Places::of(&responses, &events);
        let chains =
            crate::analysis::chains::build(crate::analysis::chains::Stock::Borrowed(responses), &events, &places);
        let r = &chains[0].requests;
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].start() - T0, r[0].admitted() - T0, r[0].end() - T0, r[0].throttled()),
            (1_000, 5_000, 10_000, 2)
        );
        assert_eq!((r[1].ended(), r[1].throttled()), (crate::analysis::chains::Ended::Throttled, 2));
    }

    #[test]
    fn past_the_record_s_model_ids_every_model_is_other_models() {
        let mut c = Collected::default();
        let n = usize::from(u16::MAX) + 2;
        for i in 0..n {
            let mut f = Fields::default();
            f.push(Cow::Borrowed("session.id"), Val::Str("s".into()));
            f.push(Cow::Borrowed("model"), Val::Str(format!("m{i}").into()));
            let r = c.tables.request(&f, T0 + i as i64 * 1_000);
            c.requests.push(r);
        }
        let out = convert(c, &Known::default());
        let model_of =
            |i: i64| out.responses.iter().find(|r| r.end.get() == Some(T0 + i * 1_000)).unwrap().model().to_string();
        assert_eq!(model_of(0), "m0");
        assert_eq!(model_of(65_534), "m65534");
        // The 65,536th and 65,537th names are not filed under another model.
        assert_eq!(model_of(65_535), OTHER_MODELS);
        assert_eq!(model_of(65_536), OTHER_MODELS);
    }

    #[test]
    fn as_many_lanes_as_were_in_flight_at_the_peak() {
        // 500 requests each lasting 100 s, one sent every 10 s: ten in flight at the peak.
        let events: Vec<(&str, &str, &str, i64, u64, u64, u64)> =
            (0..500).map(|i| ("api_request", "s", "p", i * 10_000 + 100_000, 100_000, 1, 0)).collect();
        let out = convert(collected(&events), &Known::default());
        let mut lanes: Vec<&str> = out.responses.iter().map(|r| &*r.origin.place.stream).collect();
        lanes.sort_unstable();
        lanes.dedup();
        assert_eq!(lanes.len(), 10);
    }

    #[test]
    fn repeats_and_what_transcripts_hold_count_once() {
        let mut c = collected(&[
            ("api_request", "s", "p", 10_000, 1_000, 100, 0),
            ("api_request", "s", "p", 20_000, 1_000, 100, 0),
            ("api_error", "s", "p", 30_000, 100, 0, 1),
        ]);
        c.requests.push(c.requests[0]);
        c.errors.push(c.errors[0].clone());
        let in_transcript: foldhash::HashSet<u64> =
            [super::super::record::request_hash("req-s-20000")].into_iter().collect();
        let transcript_event = Event {
            origin: Origin::new(
                Some(T0 + 30_500),
                None,
                std::sync::Arc::new(Place { session: Some(Name::from("s")), ..Place::default() }),
            ),
            kind: EventKind::Retry(ErrorKind::RateLimit),
            attempt: Some(1),
            retry_in_ms: Some(500),
            reset: None,
            wording: None,
        };
        let events = [transcript_event];
        let out = convert(c, &Known { request_ids: Some(&in_transcript), events: &events });
        assert_eq!(out.responses.len(), 1);
        assert!(out.events.is_empty());
        assert_eq!(out.dedup, Dedup { repeated: 2, requests_in_transcripts: 1, errors_in_transcripts: 1 });
    }
}
