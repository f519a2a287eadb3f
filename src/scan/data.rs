//! What a scan produces: deduplicated responses and events, as plain data.

use super::key::Name;
use crate::scan::classify::{ErrorKind, Wording};
use crate::scan::line::Usage;
use crate::time::{EpochMs, MaybeMs};
use std::sync::Arc;

/// Where a record was written: what the records of one stream mostly share, held once and
/// pointed to by each of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    /// Project folder name under `projects/`.
    pub project: Name,
    /// Working directory from the line, when written.
    pub cwd: Option<Name>,
    pub session: Option<Name>,
    /// The request stream it belongs to: `agent:<id>` for a subagent, else the session id
    /// (empty when the line names neither); from telemetry, `<session>/<query_source>` with
    /// a `#n` lane after it where requests of one source overlapped ([`is_subagent`]).
    pub stream: Name,
    pub version: Option<Name>,
    /// A response's model id as recorded ([`Response::model`]; empty for other records) and
    /// the effort level it was asked at ([`Response::effort`]): a stream's responses mostly
    /// share them, so they are held here, once, not in each response.
    pub model: Name,
    pub effort: Option<Name>,
    /// A record of telemetry's (whose people's settings are not read here), not of a
    /// transcript: told by its reader, not by a name a folder could also have.
    pub telemetry: bool,
}

/// Whether a request stream is a subagent's: a transcript's `agent:<id>`, or telemetry's
/// `<session>/agent:<kind>` (a `query_source` of a subagent, lane `#n` or not). Telemetry's
/// source is what follows the last `/`: a session id may hold `/agent:` itself.
pub fn is_subagent(stream: &str) -> bool {
    stream.rsplit('/').next().is_some_and(|last| last.starts_with("agent:"))
}

impl Default for Place {
    fn default() -> Self {
        Self {
            project: Name::from(""),
            cwd: None,
            session: None,
            stream: Name::from(""),
            version: None,
            model: Name::from(""),
            effort: None,
            telemetry: false,
        }
    }
}

impl Place {
    /// `self` shared: `last` when it is the same place (the records of a stream come in runs),
    /// else a new one, which becomes `last`.
    pub fn shared(self, last: &mut Option<std::sync::Arc<Place>>) -> std::sync::Arc<Place> {
        match last {
            Some(l) if **l == self => l.clone(),
            _ => last.insert(std::sync::Arc::new(self)).clone(),
        }
    }

    /// `place` naming a response's `model` and `effort`: one `recent` made of the same place
    /// and names, else a new place, which `recent` keeps.
    pub fn naming(place: Arc<Place>, model: Name, effort: Option<Name>, recent: &mut Named) -> Arc<Place> {
        let same = |(from, named): &&(Arc<Place>, Arc<Place>)| {
            Arc::ptr_eq(from, &place) && named.model == model && named.effort == effort
        };
        if let Some((_, named)) = recent.0.iter().find(same) {
            return named.clone();
        }
        let named = Arc::new(Place { model, effort, ..(*place).clone() });
        if recent.0.len() == Named::KEPT {
            recent.0.remove(0);
        }
        recent.0.push((place, named.clone()));
        named
    }
}

/// The places [`Place::naming`] made last, each with the place it was made from: a stream's
/// responses come in runs of one place, and alternate between a few models (a main one and
/// a small one) and effort levels, so that a few places serve all of them.
#[derive(Debug, Default, Clone)]
pub struct Named(Vec<(Arc<Place>, Arc<Place>)>);

impl Named {
    const KEPT: usize = 4;
}

/// Where and when an event happened: enough to group by day, project, model and version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    time: MaybeMs,
    /// When the request it answers was sent: the time of the last user line (prompt, tool
    /// result) before it in the same file, when there is one ([`Origin::requested`]).
    requested: MaybeMs,
    pub place: std::sync::Arc<Place>,
}

const _: () = assert!(std::mem::size_of::<Origin>() == 24);

impl Origin {
    pub fn new(time: Option<EpochMs>, requested: Option<EpochMs>, place: std::sync::Arc<Place>) -> Self {
        Origin { time: time.into(), requested: requested.into(), place }
    }

    /// When it happened (a response: its first line).
    pub fn time(&self) -> Option<EpochMs> {
        self.time.get()
    }

    pub fn set_time(&mut self, t: Option<EpochMs>) {
        self.time = t.into();
    }

    /// When the request it answers was sent: the time of the last user line (prompt, tool
    /// result) before it in the same file, when there is one.
    pub fn requested(&self) -> Option<EpochMs> {
        self.requested.get()
    }
}

/// One real API response (all the lines that share its `message.id` + `requestId`), in 64
/// bytes: a history's responses are held until the analysis has made its chains. Its model and effort are
/// its place's ([`Response::model`]).
///
/// Aligned as the merger's groups are (their 128-bit key), so that turning the groups into
/// responses reuses their memory instead of holding both at the peak of the scan.
#[derive(Debug, Clone, PartialEq)]
#[repr(align(16))]
pub struct Response {
    pub origin: Origin,
    /// The time of its last line: when the response ended.
    pub end: MaybeMs,
    /// Output tokens used for statistics: the largest `output_tokens` recorded on its lines,
    /// or the content estimate when that is a stream-start placeholder.
    pub output: Count,
    pub estimated: bool,
    /// Its input side and its thinking (its output is `output`).
    pub usage: Tokens,
    pub max_tokens_stop: bool,
}

const _: () = assert!(std::mem::size_of::<Response>() <= 64);

impl Response {
    /// The model id as recorded (`unknown` where no line of it names one).
    pub fn model(&self) -> &Name {
        &self.origin.place.model
    }

    /// The effort level it was asked at, when written (2.1.212).
    pub fn effort(&self) -> Option<&str> {
        self.origin.place.effort.as_deref()
    }
}
// The bounds the selection keeps counts under are below what a `Count` holds.
const _: () = assert!(crate::models::MAX_INPUT_TOKENS < u32::MAX as u64);
const _: () = assert!(crate::models::MAX_OUTPUT_LIMIT < u32::MAX as u64);

/// A response's token count, in 32 bits. No response writes 2^32 tokens or more: the
/// selection leaves out any response with more input than
/// [`crate::models::MAX_INPUT_TOKENS`] or more output than a model allows, and the report
/// counts thinking up to the output. A larger count (a corrupt or hostile record) is held as
/// `u32::MAX`, which every one of those bounds still rejects, so the reports are the same.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count(u32);

impl Count {
    pub fn new(n: u64) -> Self {
        Count(u32::try_from(n).unwrap_or(u32::MAX))
    }

    pub fn get(self) -> u64 {
        u64::from(self.0)
    }

    /// The count as the replay sums it (exactly: every count is below 2^53).
    pub fn as_f64(self) -> f64 {
        f64::from(self.0)
    }
}

impl From<Count> for u64 {
    fn from(c: Count) -> u64 {
        c.get()
    }
}

impl std::fmt::Debug for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A response's usage but its output: what it was sent, and of its output, thinking (each a
/// [`Count`]).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    input: Count,
    cache_creation: Count,
    cache_read: Count,
    /// Of the output, thinking ([`Tokens::thinking`]): one more than the count, 0 where none
    /// is written, so that it takes 4 bytes, not an `Option`'s 8.
    thinking: Option<std::num::NonZeroU32>,
}

const _: () = assert!(std::mem::size_of::<Tokens>() == 16);

impl Tokens {
    pub fn new(input: u64, cache_creation: u64, cache_read: u64, thinking: Option<u64>) -> Self {
        let thinking = thinking.and_then(|t| std::num::NonZeroU32::new(Count::new(t).0.saturating_add(1)));
        Tokens {
            input: Count::new(input),
            cache_creation: Count::new(cache_creation),
            cache_read: Count::new(cache_read),
            thinking,
        }
    }

    pub fn input(&self) -> u64 {
        self.input.get()
    }

    pub fn cache_creation(&self) -> u64 {
        self.cache_creation.get()
    }

    pub fn cache_read(&self) -> u64 {
        self.cache_read.get()
    }

    /// Of the output, thinking (`output_tokens_details.thinking_tokens`), where written. A
    /// count of 2^32 - 1 or more reads back as 2^32 - 2: more than any output it is counted
    /// up to.
    pub fn thinking(&self) -> Option<u64> {
        self.thinking.map(|t| u64::from(t.get() - 1))
    }
}

/// Shown with its thinking as written, not as held.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("input", &self.input())
            .field("cache_creation", &self.cache_creation())
            .field("cache_read", &self.cache_read())
            .field("thinking", &self.thinking())
            .finish()
    }
}

impl From<Usage> for Tokens {
    fn from(u: Usage) -> Self {
        Tokens::new(u.input, u.cache_creation, u.cache_read, u.thinking)
    }
}

/// An error-like event, counted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub origin: Origin,
    pub kind: EventKind,
    /// The attempt number of a retried attempt (`retryAttempt`, the debug log's `attempt k/n`).
    pub attempt: Option<u64>,
    /// How long Claude Code waited before the next attempt (`retryInMs`).
    pub retry_in_ms: Option<u64>,
    /// When a usage limit or spend cap resets, as its text says.
    pub reset: Option<Box<str>>,
    /// Whose words its text is in, for a throttling 429 ([`crate::scan::classify::wording`]).
    pub wording: Option<Wording>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// An `isApiErrorMessage` line: the request failed for good.
    Final(ErrorKind),
    /// One failed attempt that Claude Code retried (transcript `api_error` line or debug log).
    Retry(ErrorKind),
    /// A meta `Output token limit hit.` prompt.
    RecoveryPrompt,
    /// A response whose `stop_reason` is `max_tokens` (derived from responses by the report,
    /// so that `--model` applies to it).
    MaxTokensStop,
}

impl EventKind {
    /// A throttling 429 on an attempt, retried or the last: an attempt the quota refused.
    pub fn throttled(self) -> bool {
        matches!(self, EventKind::Retry(ErrorKind::RateLimit) | EventKind::Final(ErrorKind::RateLimit))
    }
}

/// A `Capped from X to Y` debug line: a max output setting clamped by Claude Code; or a
/// request refused (400) for asking `max_tokens` X over the model's maximum Y, which the
/// error's text names with the model (`model`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    pub from: u64,
    pub to: u64,
    /// The session of the debug log it is in (the file's stem), or of the refused request;
    /// and when.
    pub session: Option<Name>,
    pub time: Option<EpochMs>,
    /// The model id a refusal's text names; `None` for a debug line (its model is the one its
    /// session used most).
    pub model: Option<Name>,
}

/// Counts about the reading itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    pub files: u64,
    pub transcript_files: u64,
    pub debug_logs: u64,
    pub bytes: u64,
    pub lines: u64,
    pub malformed_lines: u64,
    /// Records left out because their time is one no Claude Code event has (before 2020 or
    /// from 2100 on: year 0000, 9999), as telemetry's are.
    pub implausible_times: u64,
    /// Lines too long to parse (over 8 MiB) that could have held a response or an error.
    pub long_lines_skipped: u64,
    pub unreadable: u64,
    pub not_regular: u64,
    pub older_than_since: u64,
    /// Of `files`, those that could not be read (`unreadable` also counts folders).
    #[serde(skip)]
    pub unreadable_files: u64,
}

/// Who sent the requests, where the input tells people apart: telemetry's accounts, or
/// homes read with `--shared-quota` (one person a home).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct People {
    /// Each person's identity as written (an account id, an e-mail, a home's path).
    pub names: Vec<Box<str>>,
    /// The person of each session.
    pub of_session: std::collections::HashMap<Name, u32>,
    /// The home each person is (index into `names`), for those read from a home: their own
    /// settings are that home's.
    pub homes: Vec<(u32, std::path::PathBuf)>,
}

impl ReadStats {
    /// Adds another scan's counts.
    pub fn add(&mut self, o: &ReadStats) {
        self.files += o.files;
        self.transcript_files += o.transcript_files;
        self.debug_logs += o.debug_logs;
        self.bytes += o.bytes;
        self.lines += o.lines;
        self.malformed_lines += o.malformed_lines;
        self.implausible_times += o.implausible_times;
        self.long_lines_skipped += o.long_lines_skipped;
        self.unreadable += o.unreadable;
        self.not_regular += o.not_regular;
        self.older_than_since += o.older_than_since;
        self.unreadable_files += o.unreadable_files;
    }

    /// Something could not be read and nothing else was: no file, or only unreadable ones
    /// (a `projects/` folder without permission, say).
    pub fn nothing_readable(&self) -> bool {
        self.unreadable > 0 && self.files == self.unreadable_files
    }
}

impl ScanData {
    /// Adds the scan of another person's home: its sessions are that person's, named by the
    /// home's path. A session a home absorbed before also holds is a copy (a home given
    /// twice, a synced or backed-up folder): its records are kept once, the first home's.
    /// Returns how many sessions were such copies.
    pub fn absorb(&mut self, mut other: ScanData, home: &std::path::Path) -> usize {
        // The sessions a scan's responses and events name.
        fn sessions(d: &ScanData) -> impl Iterator<Item = Name> + '_ {
            let of = |o: &Origin| o.place.session.clone();
            d.responses
                .iter()
                .filter_map(move |r| of(&r.origin))
                .chain(d.events.iter().filter_map(move |e| of(&e.origin)))
        }
        let copies: std::collections::HashSet<Name> =
            sessions(&other).filter(|s| self.people.of_session.contains_key(s)).collect();
        if !copies.is_empty() {
            let kept = |s: &Option<Name>| s.as_ref().is_none_or(|s| !copies.contains(s));
            other.responses.retain(|r| kept(&r.origin.place.session));
            other.events.retain(|e| kept(&e.origin.place.session));
            other.capped.retain(|c| kept(&c.session));
        }
        self.people.merge(People {
            names: vec![home.display().to_string().into()],
            of_session: sessions(&other).map(|s| (s, 0)).collect(),
            homes: vec![(0, home.to_path_buf())],
        });
        self.read.add(&other.read);
        self.responses.extend(other.responses);
        self.events.extend(other.events);
        self.capped.extend(other.capped);
        match (&mut self.request_ids, other.request_ids) {
            (Some(mine), Some(theirs)) => mine.extend(theirs),
            (mine @ None, theirs) => *mine = theirs,
            _ => {}
        }
        copies.len()
    }
}

impl People {
    /// Adds `more`'s people (a person named in both is one; a session already someone's
    /// stays theirs).
    pub fn merge(&mut self, more: People) {
        let mut known: std::collections::HashMap<Box<str>, u32> =
            self.names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        let mut ids: Vec<u32> = Vec::with_capacity(more.names.len());
        for name in more.names {
            let next = self.names.len() as u32;
            let id = *known.entry(name.clone()).or_insert_with(|| {
                self.names.push(name);
                next
            });
            ids.push(id);
        }
        for (session, id) in more.of_session {
            self.of_session.entry(session).or_insert(ids[id as usize]);
        }
        for (id, home) in more.homes {
            let id = ids[id as usize];
            if !self.homes.iter().any(|(known, _)| *known == id) {
                self.homes.push((id, home));
            }
        }
    }
}

/// Everything a scan found, before filters and statistics.
#[derive(Debug, Default)]
pub struct ScanData {
    pub read: ReadStats,
    pub responses: Vec<Response>,
    pub events: Vec<Event>,
    pub capped: Vec<Capped>,
    /// The `requestId`s of the transcripts' responses (64-bit hashes), kept when telemetry is
    /// read beside them so that a request both record counts once.
    pub request_ids: Option<foldhash::HashSet<u64>>,
    pub people: People,
    /// What telemetry files gave, when some were read.
    pub telemetry: Option<TelemetrySummary>,
}

// What the telemetry reader (`crate::otel`) counted: plain counters, kept here so that the
// data both readers write into imports neither of them.

/// What the telemetry gave, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TelemetrySummary {
    #[serde(flatten)]
    pub read: OtelStats,
    #[serde(flatten)]
    pub dedup: Dedup,
    /// Sessions and people the telemetry names.
    pub sessions: u64,
    pub people: u64,
}

/// Counts about the reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OtelStats {
    pub files: u64,
    pub bytes: u64,
    pub lines: u64,
    /// Events read (of any name).
    pub events: u64,
    pub requests: u64,
    pub errors: u64,
    /// Events of other names (`user_prompt`, `tool_result`, …), skipped.
    pub other_events: u64,
    /// Events with no time, or no name.
    pub unusable_events: u64,
    /// Events `--otel-where` left out.
    pub filtered_out: u64,
    /// Lines that are neither OTLP JSON nor a flat event.
    pub bad_lines: u64,
    /// Lines longer than [`crate::otel::read::MAX_LINE`], skipped.
    pub long_lines: u64,
    /// Files that could not be opened, or that stopped reading before their first event.
    pub unreadable_files: u64,
    /// Files read up to an error (a gzip stream cut short, as a file still being written is):
    /// the events before it count.
    pub cut_short_files: u64,
}

/// How many telemetry records were left out as already counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dedup {
    /// Requests and errors the telemetry holds more than once (a collector that re-sent).
    pub repeated: u64,
    /// Requests whose `request_id` a transcript holds.
    pub requests_in_transcripts: u64,
    /// Errors a transcript records (same session, attempt and minute).
    pub errors_in_transcripts: u64,
}

#[cfg(test)]
mod tests {
    use super::{Arc, Count, Name, Named, Place, Tokens, is_subagent};

    /// A transcript's subagent stream, and telemetry's by its `query_source` (any lane);
    /// a main session's, a telemetry main thread's and an empty one are not.
    #[test]
    fn subagent_streams() {
        for s in ["agent:a1b2", "S/agent:custom", "S/agent:custom#3", "0f1e/agent:builtin:explore"] {
            assert!(is_subagent(s), "{s}");
        }
        for s in [
            "S",
            "S/repl_main_thread",
            "S/repl_main_thread#2",
            "",
            "S/compact",
            "agent",
            "S/agent",
            // A session id holding `/agent:`, its main thread's stream.
            "X/agent:main/repl_main_thread",
        ] {
            assert!(!is_subagent(s), "{s}");
        }
    }

    /// Responses alternating between a few models share a place each; every place names
    /// what it was asked for, beyond the few kept too.
    #[test]
    fn places_naming_models_are_shared_while_few() {
        let base = Arc::new(Place { stream: Name::from("s"), ..Place::default() });
        let other = Arc::new(Place { stream: Name::from("t"), ..Place::default() });
        let (a, b) = (Name::from("opus"), Name::from("haiku"));
        let high = Some(Name::from("high"));
        let mut recent = Named::default();
        let mut name =
            |p: &Arc<Place>, m: &Name, e: &Option<Name>| Place::naming(p.clone(), m.clone(), e.clone(), &mut recent);
        let first = name(&base, &a, &None);
        let small = name(&base, &b, &None);
        assert!(Arc::ptr_eq(&first, &name(&base, &a, &None)) && Arc::ptr_eq(&small, &name(&base, &b, &None)));
        assert!(!Arc::ptr_eq(&first, &small));
        let (effort, elsewhere) = (name(&base, &a, &high), name(&other, &a, &None));
        assert!(!Arc::ptr_eq(&first, &effort) && !Arc::ptr_eq(&first, &elsewhere));
        for (p, m, e) in [(&first, &a, &None), (&small, &b, &None), (&effort, &a, &high), (&elsewhere, &a, &None)] {
            assert_eq!((&p.model, &p.effort), (m, e));
        }
        assert_eq!((&*elsewhere.stream, &*first.stream), ("t", "s"));
        // A fifth combination: the oldest is made again when asked, naming the same.
        let fifth = name(&other, &b, &high);
        assert_eq!((&*fifth.model, fifth.effort.as_deref(), &*fifth.stream), ("haiku", Some("high"), "t"));
        let again = name(&base, &a, &None);
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(*again, *first);
    }

    /// Counts read back as written up to 2^32 - 2 (thinking) and 2^32 - 1 (the others);
    /// larger ones as the largest held, still above every bound the selection applies.
    #[test]
    fn counts_read_back_as_written_up_to_32_bits_and_larger_ones_as_the_largest() {
        let most = u64::from(u32::MAX);
        for t in [None, Some(0), Some(1), Some(31_999), Some(most - 1)] {
            assert_eq!(Tokens::new(1, 2, 3, t).thinking(), t);
        }
        for t in [most, most + 1, u64::MAX] {
            assert_eq!(Tokens::new(1, 2, 3, Some(t)).thinking(), Some(most - 1));
        }
        let t = Tokens::new(1, 2, 3, Some(4));
        assert_eq!((t.input(), t.cache_creation(), t.cache_read()), (1, 2, 3));
        assert_eq!(format!("{t:?}"), "Tokens { input: 1, cache_creation: 2, cache_read: 3, thinking: Some(4) }");
        let big = Tokens::new(most, most + 1, u64::MAX, None);
        assert_eq!((big.input(), big.cache_creation(), big.cache_read()), (most, most, most));
        assert_eq!([Count::new(0).get(), Count::new(most).get(), Count::new(1 << 40).get()], [0, most, most]);
    }
}
