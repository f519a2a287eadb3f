//! From an event's fields to the compact records kept for the replay.
//!
//! A request is kept in 48 bytes (checked below), so that ten million of them fit in under
//! half a GiB: strings (sessions, prompts, models, query sources) are interned once and
//! referred to by number, the request id by its 64-bit hash.

use foldhash::HashMap;

use super::fields::Fields;
use crate::scan::classify::{self, ErrorKind};
use crate::time::EpochMs;

/// Names of the events and attributes read (Claude Code's telemetry, "Events").
pub mod names {
    pub const API_REQUEST: &str = "api_request";
    pub const API_ERROR: &str = "api_error";
    pub const EVENT_NAME: &str = "event.name";
    pub const TIMESTAMP: &str = "event.timestamp";
    pub const SESSION: &str = "session.id";
    pub const ACCOUNT: &str = "user.account_uuid";
    pub const EMAIL: &str = "user.email";
    pub const ORGANIZATION: &str = "organization.id";
    pub const PROMPT: &str = "prompt.id";
    pub const VERSION: &str = "service.version";
    pub const MODEL: &str = "model";
    pub const INPUT: &str = "input_tokens";
    pub const OUTPUT: &str = "output_tokens";
    pub const CACHE_READ: &str = "cache_read_tokens";
    pub const CACHE_CREATION: &str = "cache_creation_tokens";
    pub const DURATION: &str = "duration_ms";
    pub const REQUEST_ID: &str = "request_id";
    pub const QUERY_SOURCE: &str = "query_source";
    pub const EFFORT: &str = "effort";
    pub const SPEED: &str = "speed";
    pub const ERROR: &str = "error";
    pub const STATUS: &str = "status_code";
    pub const ATTEMPT: &str = "attempt";
}

/// "None" for an interned id.
pub const NONE: u32 = u32::MAX;

/// One `claude_code.api_request`: a request that got a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRec {
    /// When it was logged: the response's end.
    pub time: EpochMs,
    /// The request id's hash (0 when none was written).
    pub id: u64,
    pub duration_ms: u32,
    /// Its session and query source (main thread, a subagent, compaction): see
    /// [`Tables::group`].
    pub group: u32,
    pub prompt: u32,
    pub model: u16,
    pub effort: u16,
    pub input: u32,
    pub output: u32,
    pub cache_read: u32,
    pub cache_creation: u32,
}

const _: () = assert!(std::mem::size_of::<RequestRec>() <= 48);

/// One `claude_code.api_error`: a refused or failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRec {
    pub time: EpochMs,
    pub duration_ms: u32,
    pub group: u32,
    pub prompt: u32,
    pub model: u16,
    pub attempt: Option<u32>,
    pub kind: ErrorKind,
    /// Whose words its text is in, for a throttling one.
    pub wording: Option<classify::Wording>,
}

/// Strings seen once, referred to by number.
#[derive(Debug, Default)]
pub struct Interner {
    map: HashMap<Box<str>, u32>,
    pub names: Vec<Box<str>>,
}

impl Interner {
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(NONE - 1);
        self.map.insert(s.into(), i);
        self.names.push(s.into());
        i
    }

    pub fn get(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(|s| &**s)
    }

    /// Adds another interner's strings: the id each of its ids has here.
    pub fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        other.names.iter().map(|n| self.id(n)).collect()
    }
}

/// Who a session belongs to: the account id and the e-mail, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub account: Option<Box<str>>,
    pub email: Option<Box<str>>,
    pub organization: Option<Box<str>>,
}

impl Person {
    /// The identity people are told apart by (the account, else the e-mail).
    pub fn key(&self) -> Option<&str> {
        self.account.as_deref().or(self.email.as_deref())
    }
}

/// What an event is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'f> {
    Request,
    Error,
    /// Another event (`user_prompt`, `tool_result`, …): counted and skipped.
    Other(&'f str),
    /// No event name at all.
    Unnamed,
}

/// The event's name without the `claude_code.` prefix, from `event.name` or the log body.
pub fn kind_of<'f>(fields: &'f Fields, body: Option<&'f str>) -> Kind<'f> {
    fields.str(names::EVENT_NAME).or(body).map_or(Kind::Unnamed, kind_named)
}

/// What an event name (with or without the `claude_code.` prefix) stands for.
pub fn kind_named(name: &str) -> Kind<'_> {
    match name.strip_prefix("claude_code.").unwrap_or(name) {
        names::API_REQUEST => Kind::Request,
        names::API_ERROR => Kind::Error,
        _ => Kind::Other(name),
    }
}

/// When an event was logged: `event.timestamp` as a date and time, else the log record's
/// time, else a warehouse table's own time column (the Collector's ClickHouse `otel_logs`),
/// else `event.timestamp` as a number since the epoch.
pub fn time_of(fields: &Fields, record_ms: Option<EpochMs>) -> Option<EpochMs> {
    fields
        .str(names::TIMESTAMP)
        .and_then(loose_timestamp)
        .or(record_ms)
        .or_else(|| ["Timestamp", "timestamp"].iter().find_map(|k| fields.str(k).and_then(loose_timestamp)))
        .or_else(|| fields.get(names::TIMESTAMP).and_then(epoch_number))
}

/// A timestamp written as a number: seconds, milliseconds, microseconds or nanoseconds since
/// the epoch, told apart by size.
pub fn epoch_number(v: &super::fields::Val) -> Option<EpochMs> {
    let n = i64::try_from(v.as_u64()?).ok()?;
    Some(match n {
        n if n >= 100_000_000_000_000_000 => n / 1_000_000,
        n if n >= 100_000_000_000_000 => n / 1_000,
        n if n >= 100_000_000_000 => n,
        n => n * 1_000,
    })
}

/// ISO 8601 as Claude Code writes it, and as warehouses print times: a space for the `T`
/// (`2026-06-10 14:02:38.171000000`), no zone (UTC), or a ` UTC` suffix.
pub fn loose_timestamp(s: &str) -> Option<EpochMs> {
    let s = s.trim();
    if let Some(t) = crate::time::parse_timestamp(s) {
        return Some(t);
    }
    let s = s.strip_suffix(" UTC").or_else(|| s.strip_suffix("UTC")).unwrap_or(s);
    let mut t = s.replacen(' ', "T", 1);
    if t.len() < 19 || t.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    // No zone after the seconds (and fraction): UTC. (Bytes: the 19th may be inside a
    // character of a corrupt time.)
    let tail = &t.as_bytes()[19..];
    if tail.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        t.push('Z');
    }
    crate::time::parse_timestamp(&t)
}

fn clamp32(n: Option<u64>) -> u32 {
    n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

pub use crate::scan::key::request_hash;

/// Interned ids of the strings a record refers to.
#[derive(Debug, Default)]
pub struct Tables {
    pub sessions: Interner,
    pub prompts: Interner,
    pub sources: Interner,
    pub models: Interner,
    pub efforts: Interner,
    /// Each session's person and Claude Code version (the first seen).
    pub session_person: HashMap<u32, Person>,
    pub session_version: HashMap<u32, Box<str>>,
    /// (session, query source) pairs, by number.
    group_ids: HashMap<(u32, u32), u32>,
    pub groups: Vec<(u32, u32)>,
}

impl Tables {
    fn opt(interner: &mut Interner, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| interner.id(s))
    }

    /// The session and query source of a group.
    pub fn group(&self, id: u32) -> (u32, u32) {
        self.groups[id as usize]
    }

    /// The id of a (session, query source) pair.
    pub fn group_id(&mut self, session: u32, source: u32) -> u32 {
        let next = self.groups.len() as u32;
        let group = *self.group_ids.entry((session, source)).or_insert(next);
        if group == next {
            self.groups.push((session, source));
        }
        group
    }

    /// What a record tells of a session's person. Records that disagree (they should not)
    /// settle on the least value, whatever order they were read in.
    pub fn add_person(&mut self, session: u32, account: Option<&str>, email: Option<&str>, organization: Option<&str>) {
        let person = self.session_person.entry(session).or_default();
        for (field, value) in
            [(&mut person.account, account), (&mut person.email, email), (&mut person.organization, organization)]
        {
            if let Some(v) = value
                && field.as_deref().is_none_or(|f| v < f)
            {
                *field = Some(v.into());
            }
        }
    }

    fn common(&mut self, f: &Fields) -> (u32, u32, u16) {
        let session = self.sessions.id(f.str(names::SESSION).unwrap_or(""));
        self.add_person(session, f.str(names::ACCOUNT), f.str(names::EMAIL), f.str(names::ORGANIZATION));
        if let Some(v) = f.str(names::VERSION) {
            self.session_version.entry(session).or_insert_with(|| v.into());
        }
        let prompt = Self::opt(&mut self.prompts, f.str(names::PROMPT));
        let source = Self::opt(&mut self.sources, f.str(names::QUERY_SOURCE));
        let group = self.group_id(session, source);
        let model = self.models.id(f.str(names::MODEL).unwrap_or("unknown"));
        (group, prompt, u16::try_from(model).unwrap_or(u16::MAX))
    }

    /// A request's record, or why it cannot be used.
    pub fn request(&mut self, f: &Fields, time: EpochMs) -> RequestRec {
        let (group, prompt, model) = self.common(f);
        let effort = f.str(names::EFFORT).map_or(u16::MAX, |e| u16::try_from(self.efforts.id(e)).unwrap_or(u16::MAX));
        RequestRec {
            time,
            id: f.str(names::REQUEST_ID).map_or(0, request_hash),
            duration_ms: clamp32(f.u64(names::DURATION)),
            group,
            prompt,
            model,
            effort,
            input: clamp32(f.u64(names::INPUT)),
            output: clamp32(f.u64(names::OUTPUT)),
            cache_read: clamp32(f.u64(names::CACHE_READ)),
            cache_creation: clamp32(f.u64(names::CACHE_CREATION)),
        }
    }

    /// An error's record; `None` when its text is a notice, no error (see [`classify::classify`]).
    pub fn error(&mut self, f: &Fields, time: EpochMs) -> Option<ErrorRec> {
        let status = f.u64(names::STATUS).and_then(|s| u16::try_from(s).ok());
        let text = f.str(names::ERROR).unwrap_or("");
        let kind = classify::classify(text, status, None)?;
        let wording = classify::throttled_wording(kind, text);
        let (group, prompt, model) = self.common(f);
        Some(ErrorRec {
            time,
            duration_ms: clamp32(f.u64(names::DURATION)),
            group,
            prompt,
            model,
            attempt: f.u64(names::ATTEMPT).and_then(|a| u32::try_from(a).ok()),
            kind,
            wording,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otel::fields::Val;
    use std::borrow::Cow;

    fn fields(pairs: &[(&'static str, Val<'static>)]) -> Fields<'static> {
        let mut f = Fields::default();
        for (k, v) in pairs {
            f.push(Cow::Borrowed(k), v.clone());
        }
        f
    }

    #[test]
    fn a_request_record_takes_every_count() {
        let f = fields(&[
            ("event.name", Val::Str("api_request".into())),
            ("session.id", Val::Str("s1".into())),
            ("model", Val::Str("claude-opus-4-8".into())),
            ("input_tokens", Val::Str("1200".into())),
            ("output_tokens", Val::Int(340)),
            ("cache_read_tokens", Val::Int(50_000)),
            ("cache_creation_tokens", Val::Float(700.0)),
            ("duration_ms", Val::Str("8123".into())),
            ("request_id", Val::Str("req_1".into())),
        ]);
        assert_eq!(kind_of(&f, None), Kind::Request);
        let mut t = Tables::default();
        let r = t.request(&f, 1_000);
        assert_eq!((r.input, r.output, r.cache_read, r.cache_creation, r.duration_ms), (1200, 340, 50_000, 700, 8123));
        assert_eq!(r.id, request_hash("req_1"));
        assert_eq!(t.models.get(u32::from(r.model)), Some("claude-opus-4-8"));
        assert_eq!((r.prompt, t.group(r.group).1), (NONE, NONE));
    }

    #[test]
    fn event_names_with_or_without_the_prefix_and_from_the_body() {
        let named = |n: &'static str| fields(&[("event.name", Val::Str(n.into()))]);
        assert_eq!(kind_of(&named("claude_code.api_error"), None), Kind::Error);
        assert_eq!(kind_of(&named("tool_result"), None), Kind::Other("tool_result"));
        assert_eq!(kind_of(&Fields::default(), Some("claude_code.api_request")), Kind::Request);
        assert_eq!(kind_of(&Fields::default(), None), Kind::Unnamed);
    }

    #[test]
    fn warehouse_timestamps() {
        let z = crate::time::parse_timestamp("2026-06-10T14:02:38.171Z");
        for s in [
            "2026-06-10T14:02:38.171Z",
            "2026-06-10 14:02:38.171000000",
            "2026-06-10 14:02:38.171",
            "2026-06-10T14:02:38.171",
            "2026-06-10 14:02:38.171 UTC",
            "2026-06-10T16:02:38.171+02:00",
        ] {
            assert_eq!(loose_timestamp(s), z, "{s}");
        }
        assert_eq!(loose_timestamp("2026-06-10 14:02:38"), crate::time::parse_timestamp("2026-06-10T14:02:38Z"));
        // A character across the seconds' end (found by a review's fuzzing: it panicked).
        for bad in ["", "yesterday", "2026-06-10", "2026-06-10 14:02", "2026-13-10 14:02:38", "2026-05-28T21:38:1éZ"] {
            assert_eq!(loose_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_error_is_classified_by_text_and_status() {
        let f = fields(&[
            ("error", Val::Str("429 Too many tokens, please wait before trying again.".into())),
            ("status_code", Val::Str("429".into())),
            ("attempt", Val::Int(3)),
        ]);
        let e = Tables::default().error(&f, 5).expect("an error");
        assert_eq!((e.kind, e.attempt), (ErrorKind::RateLimit, Some(3)));
        let cut = fields(&[("error", Val::Str("Claude's response exceeded the 8000 output token maximum.".into()))]);
        assert_eq!(Tables::default().error(&cut, 5).map(|e| e.kind), Some(ErrorKind::OutputTokenMaximum(8000)));
        // A bare 429 is not throttling; a notice is no error.
        let bare = fields(&[("error", Val::Str("Rate limit reached".into())), ("status_code", Val::Int(429))]);
        assert_eq!(Tables::default().error(&bare, 5).map(|e| e.kind), Some(ErrorKind::Unclassified429));
        let notice = fields(&[("error", Val::Str("Approaching Opus usage limit".into()))]);
        assert_eq!(Tables::default().error(&notice, 5), None);
    }
}
