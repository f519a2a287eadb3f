//! Reads one file, line by line, into the facts it holds (not yet deduplicated across files).

use std::os::unix::fs::FileExt;

use super::bytes::LineFacts;
use super::data::{Capped, Origin, Place};
use super::debuglog::{self, DebugRecord};
use super::discover::{FileKind, Input};
use super::key::{Key, KeyMap, Name, Names, key};
use super::line::{self, Envelope, LineError, Record, ResponseLine, Usage};
use super::prefilter::{self, Streaming};
use super::reader::{self, Line};
use crate::estimate::ContentSize;
use crate::scan::classify::{ErrorKind, Wording};
use crate::time::{EpochMs, parse_timestamp};
use crate::warning::Warning;

/// Malformed lines named one by one per file; the rest are summed up in one warning (and so
/// are lines left out for their time).
const MALFORMED_NAMED_PER_FILE: u64 = 3;

/// The lines of one response found in one file.
#[derive(Debug, Clone)]
pub struct GroupPart {
    /// `message.id` and `requestId`.
    pub key: Key,
    pub model: Option<Name>,
    pub origin: Origin,
    /// The time of its last line.
    pub end: crate::time::MaybeMs,
    pub sidechain: bool,
    /// `message.id` alone (64 bits of its key): a `/btw` side question replays parent
    /// messages in a sidechain with the same id and another `requestId`.
    pub message: u64,
    /// `requestId` alone (its 64-bit hash, 0 when none): telemetry names requests by it.
    pub request: u64,
    /// The effort level it was asked at, when written.
    pub effort: Option<Name>,
    /// The largest usable `output_tokens` of its lines; `None` where no line has one.
    pub recorded_output: Option<u64>,
    pub usage: Usage,
    pub max_tokens_stop: bool,
    /// Content of each distinct line, keyed by a hash of the line's `uuid`, so that a line
    /// copied into a resumed session is not counted twice.
    pub lines: Vec<(u64, ContentSize)>,
}

/// An event with the key that identifies it across files.
#[derive(Debug, Clone)]
pub struct KeyedEvent<T> {
    pub key: Key,
    pub origin: Origin,
    pub what: T,
}

/// A request that failed for good, as a transcript records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalEvent {
    pub kind: ErrorKind,
    /// When a usage limit or spend cap resets, as its text says.
    pub reset: Option<Box<str>>,
    /// Whose words its text is in, for a throttling 429.
    pub wording: Option<Wording>,
}

/// A retry recorded in a transcript or a debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub kind: ErrorKind,
    pub attempt: Option<u64>,
    pub retry_in_ms: Option<u64>,
    /// A debug log's last attempt (`k/k`): not retried, so the request failed.
    pub last: bool,
    /// Whose words its text is in, for a throttling 429.
    pub wording: Option<Wording>,
}

#[derive(Debug, Default)]
pub struct FileResult {
    pub bytes: u64,
    pub lines: u64,
    pub malformed: u64,
    /// Records left out because their time is one no Claude Code event has
    /// ([`crate::time::PLAUSIBLE`]).
    pub implausible_times: u64,
    /// Lines too long to parse that could have held a response or an error.
    pub long_lines_skipped: u64,
    /// The file could not be opened or read to the end.
    pub unreadable: bool,
    pub warnings: Vec<Warning>,
    pub groups: Vec<GroupPart>,
    pub finals: Vec<KeyedEvent<FinalEvent>>,
    pub retries: Vec<KeyedEvent<Attempt>>,
    pub recoveries: Vec<KeyedEvent<()>>,
    pub debug_attempts: Vec<KeyedEvent<Attempt>>,
    pub capped: Vec<Capped>,
}

/// What a reader thread reuses from file to file.
#[derive(Default)]
pub struct Buffers {
    read: reader::Buffer,
    /// A line longer than the read buffer, read again whole to be parsed.
    line: Vec<u8>,
}

/// Reads one file. Never fails: problems become warnings and counts. `full_parse` parses every
/// transcript line instead of only the candidates (see [`super::prefilter`]);
/// `progress` is told how many bytes each read brought.
pub fn read(input: &Input, full_parse: bool, buffers: &mut Buffers, progress: &dyn Fn(u64)) -> FileResult {
    let file = match crate::open::regular(&input.path) {
        Ok(f) => f,
        Err(e) => {
            let mut out = FileResult { unreadable: true, ..FileResult::default() };
            out.warnings.push(Warning::new(input.path.clone(), None, format!("cannot read: {e}")));
            return out;
        }
    };
    let mut acc = Accumulator::new(input, full_parse);
    let Buffers { read: read_buffer, line: line_buffer } = buffers;
    let read = reader::for_each_line(&file, read_buffer, progress, |line_no, line| match line {
        Line::Whole(l, facts) => acc.whole_line(line_no, l, Some(facts)),
        Line::Long { streamed, offset } => {
            // Above the parse limit, the full parse falls back to the fast path's verdict.
            if streamed.bytes > reader::MAX_PARSE_LINE as u64 {
                return if streamed.candidate() {
                    acc.too_long(line_no, &streamed)
                } else {
                    acc.streamed(line_no, streamed)
                };
            }
            if !acc.must_parse(&streamed) {
                return acc.streamed(line_no, streamed);
            }
            line_buffer.resize(streamed.bytes as usize, 0);
            match file.read_exact_at(line_buffer, offset) {
                Ok(()) => acc.whole_line(line_no, line_buffer, None),
                Err(e) => acc.changed(line_no, &e),
            }
            if line_buffer.capacity() > 4 * reader::READ_BUFFER {
                *line_buffer = Vec::new();
            }
        }
    });
    match read {
        Ok(bytes) => acc.out.bytes = bytes,
        Err(e) => {
            acc.out.unreadable = true;
            acc.out.warnings.push(Warning::new(
                input.path.clone(),
                Some(e.line + 1),
                format!("read error, rest of file skipped: {}", e.error),
            ));
        }
    }
    acc.finish()
}

struct Accumulator<'i> {
    input: &'i Input,
    full_parse: bool,
    out: FileResult,
    group_index: KeyMap<usize>,
    /// Strings shared by the file's responses and events.
    names: Names,
    project: Name,
    /// Session id of a debug log: its file stem.
    debug_session: Option<Name>,
    /// The time of the last user line read: when the next request was sent.
    last_user_time: Option<crate::time::EpochMs>,
    /// The place of the last record: the next one's, mostly.
    last_place: Option<std::sync::Arc<Place>>,
}

impl<'i> Accumulator<'i> {
    fn new(input: &'i Input, full_parse: bool) -> Self {
        let debug_session = (input.kind == FileKind::DebugLog)
            .then(|| input.path.file_stem().map(|s| Name::from(s.to_string_lossy())))
            .flatten();
        Self {
            input,
            full_parse,
            out: FileResult::default(),
            group_index: KeyMap::default(),
            names: Names::default(),
            project: Name::from(input.project.as_str()),
            debug_session,
            last_user_time: None,
            last_place: None,
        }
    }

    /// `facts`: what the reader's pass found in the line, if it went over it.
    fn line(&mut self, line_no: u64, bytes: &[u8], facts: Option<LineFacts>) {
        self.out.lines += 1;
        match self.input.kind {
            FileKind::Transcript => self.transcript_line(line_no, bytes, facts),
            FileKind::DebugLog => self.debug_line(line_no, bytes),
        }
    }

    fn malformed(&mut self, line_no: u64, e: &LineError) {
        self.out.malformed += 1;
        if self.out.malformed <= MALFORMED_NAMED_PER_FILE {
            self.out.warnings.push(Warning::new(
                self.input.path.clone(),
                Some(line_no),
                format!("malformed line skipped ({e})"),
            ));
        }
    }

    fn whole_line(&mut self, line_no: u64, mut l: &[u8], mut facts: Option<LineFacts>) {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        if line_no == 1 && l.starts_with(BOM) {
            l = &l[BOM.len()..];
            facts = facts.map(|f| f.without_prefix(BOM.len()));
        }
        // A CR is not a bad control byte: the facts hold for the line without it.
        self.line(line_no, l.strip_suffix(b"\r").unwrap_or(l), facts);
    }

    /// Whether a line longer than the read buffer must be read again and parsed.
    fn must_parse(&self, s: &Streaming) -> bool {
        self.input.kind == FileKind::DebugLog || self.full_parse || s.candidate()
    }

    /// A long line that cannot hold anything countable: only the fast checks.
    /// Debug logs are text, not JSON: their long lines are only counted.
    fn streamed(&mut self, line_no: u64, s: Streaming) {
        self.out.lines += 1;
        if self.input.kind == FileKind::Transcript
            && let Err(e) = s.finish()
        {
            self.malformed(line_no, &e);
        }
    }

    /// A line longer than [`reader::MAX_PARSE_LINE`] that may hold something countable.
    fn too_long(&mut self, line_no: u64, s: &Streaming) {
        self.out.lines += 1;
        if self.input.kind == FileKind::DebugLog {
            return;
        }
        self.out.long_lines_skipped += 1;
        self.out.warnings.push(Warning::new(
            self.input.path.clone(),
            Some(line_no),
            format!(
                "a line of {} MiB, longer than the {} MiB a line is parsed up to, was not read; if it held a response or an error, it is not counted",
                s.bytes >> 20,
                reader::MAX_PARSE_LINE >> 20
            ),
        ));
    }

    /// A long line could not be read again (the file was truncated or replaced meanwhile).
    fn changed(&mut self, line_no: u64, e: &std::io::Error) {
        self.out.lines += 1;
        self.out.warnings.push(Warning::new(
            self.input.path.clone(),
            Some(line_no),
            format!("the file changed while it was read; line skipped ({e})"),
        ));
    }

    /// `facts` is `None` for a line longer than the read buffer, read again to be parsed: such
    /// a line's time is not taken (the fast path streams it), so both paths agree.
    fn transcript_line(&mut self, line_no: u64, bytes: &[u8], facts: Option<LineFacts>) {
        let whole = facts.is_some();
        let class = if self.full_parse { prefilter::Class::Candidate } else { prefilter::classify(bytes) };
        if class != prefilter::Class::Candidate {
            let checked = match facts {
                Some(f) => prefilter::check_scanned(bytes, f),
                None => prefilter::check(bytes),
            };
            match checked {
                Err(e) => self.malformed(line_no, &e),
                Ok(()) => {
                    if let (true, prefilter::Class::User(t)) = (whole, class)
                        && let Some(Some(t)) = self.plausible(line_no, t)
                    {
                        self.last_user_time = Some(t);
                    }
                }
            }
            return;
        }
        let parsed = if self.full_parse { line::parse_plain(bytes) } else { line::parse(bytes) };
        let record = match parsed {
            Ok(r) => r,
            Err(e) => return self.malformed(line_no, &e),
        };
        // A user line's time is read only where the fast path reads it (a whole line).
        let env = match &record {
            Record::User(_) if !whole => return,
            Record::Response(env, _)
            | Record::FinalError(env, _)
            | Record::Retry(env, _)
            | Record::RecoveryPrompt(env)
            | Record::User(env) => env,
            Record::Other => return,
        };
        let raw = env.timestamp.as_deref();
        let time = match record {
            Record::User(_) => self.plausible(line_no, raw.and_then(parse_timestamp)),
            _ => self.record_time(line_no, raw),
        };
        let Some(time) = time else { return };
        match record {
            Record::Response(env, r) => self.response(line_no, time, env, r),
            Record::FinalError(env, e) => {
                let id = env.uuid.as_deref().or(e.message_id.as_deref());
                let key = id.map_or_else(|| self.synthetic_key(line_no), |id| key(&[Some(id)]));
                let origin = self.origin(&env, time);
                // A refusal for a max_tokens over the model's maximum names that maximum.
                if e.kind == ErrorKind::OverCap
                    && let Some((asked, max, model)) = crate::scan::classify::over_cap_named(&e.text)
                {
                    let session = origin.place.session.clone();
                    let model = Some(self.names.get(model));
                    self.out.capped.push(Capped { from: asked, to: max, session, time, model });
                }
                let what = FinalEvent { kind: e.kind, reset: e.reset.map(String::into_boxed_str), wording: e.wording };
                self.out.finals.push(KeyedEvent { key, origin, what });
            }
            Record::Retry(env, r) => {
                let key = env.uuid.as_deref().map_or_else(|| self.synthetic_key(line_no), |id| key(&[Some(id)]));
                let origin = self.origin(&env, time);
                let what = Attempt {
                    kind: r.kind,
                    attempt: r.attempt,
                    retry_in_ms: r.retry_in_ms,
                    last: false,
                    wording: r.wording,
                };
                self.out.retries.push(KeyedEvent { key, origin, what });
            }
            Record::RecoveryPrompt(env) => {
                let key = env.uuid.as_deref().map_or_else(|| self.synthetic_key(line_no), |id| key(&[Some(id)]));
                let origin = self.origin(&env, time);
                self.out.recoveries.push(KeyedEvent { key, origin, what: () });
                if whole {
                    self.last_user_time = time.or(self.last_user_time);
                }
            }
            Record::User(_) => {
                if let Some(t) = time {
                    self.last_user_time = Some(t);
                }
            }
            Record::Other => {}
        }
    }

    /// A record's time, checked: `None` when it is one no Claude Code event has (year 0000
    /// or 9999: see [`crate::time::PLAUSIBLE`]), and the record is then left out, counted and
    /// named; `Some(None)` when it has none, which the counts do without.
    fn plausible(&mut self, line_no: u64, time: Option<EpochMs>) -> Option<Option<EpochMs>> {
        match time {
            Some(t) if !crate::time::PLAUSIBLE.contains(&t) => {
                self.left_out(
                    line_no,
                    format!(
                        "a time no Claude Code event has ({}: before 2020 or from 2100 on); record left out",
                        crate::time::day_of(t)
                    ),
                );
                None
            }
            t => Some(t),
        }
    }

    /// [`Self::plausible`] of a record's time as written (`raw`): one that does not parse is
    /// left out, counted and named too, as telemetry's is (a record in no day and no window
    /// would leave `--since` and `check` blind to it). A user line's time is not read here:
    /// both paths take it as the fast one does (no time where it does not parse).
    fn record_time(&mut self, line_no: u64, raw: Option<&str>) -> Option<Option<EpochMs>> {
        let Some(raw) = raw else { return Some(None) };
        match parse_timestamp(raw) {
            Some(t) => self.plausible(line_no, Some(t)),
            None => {
                self.left_out(
                    line_no,
                    format!(
                        "a time this does not read (\"{}\": not a date and time in ISO 8601 with a zone, as Claude Code writes them); record left out",
                        crate::text::one_line(raw, 40)
                    ),
                );
                None
            }
        }
    }

    /// A record left out for its time: counted, and named (the first few of a file).
    fn left_out(&mut self, line_no: u64, why: String) {
        self.out.implausible_times += 1;
        if self.out.implausible_times <= MALFORMED_NAMED_PER_FILE {
            self.out.warnings.push(Warning::new(self.input.path.clone(), Some(line_no), why));
        }
    }

    fn response(&mut self, line_no: u64, time: Option<EpochMs>, env: Envelope<'_>, r: ResponseLine<'_>) {
        let group_key = key(&[Some(&r.message_id), r.request_id.as_deref()]);
        // Lines are told apart by their uuid (64 bits are plenty within one response).
        let line_key = match env.uuid.as_deref() {
            Some(u) => key(&[Some(u)]),
            None => self.synthetic_key(line_no),
        } as u64;
        let idx = match self.group_index.get(&group_key) {
            Some(&i) => i,
            None => {
                let origin = self.origin(&env, time);
                let i = self.out.groups.len();
                self.out.groups.push(GroupPart {
                    key: group_key,
                    model: None,
                    origin,
                    end: crate::time::MaybeMs::NONE,
                    sidechain: env.is_sidechain,
                    message: key(&[Some(&r.message_id)]) as u64,
                    request: r.request_id.as_deref().map_or(0, super::key::request_hash),
                    effort: None,
                    recorded_output: None,
                    usage: Usage::default(),
                    max_tokens_stop: false,
                    lines: Vec::new(),
                });
                self.group_index.insert(group_key, i);
                i
            }
        };
        if self.out.groups[idx].model.is_none() {
            let model = r.model.as_deref().map(|m| self.names.get(m));
            self.out.groups[idx].model = model;
        }
        if self.out.groups[idx].effort.is_none() && r.effort.is_some() {
            let effort = r.effort.as_deref().map(|e| self.names.get(e));
            self.out.groups[idx].effort = effort;
        }
        let g = &mut self.out.groups[idx];
        if g.origin.time().is_none() {
            g.origin.set_time(time);
        }
        g.end = g.end.get().max(time).into();
        g.recorded_output = g.recorded_output.max(r.usage.output);
        g.usage = max_usage(g.usage, r.usage);
        g.max_tokens_stop |= r.max_tokens_stop;
        add_line(&mut g.lines, line_key, r.content);
    }

    fn debug_line(&mut self, line_no: u64, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        match debuglog::parse(&text) {
            DebugRecord::FailedAttempt { timestamp, attempt, of, status: _, kind } => {
                let Some(time) = self.record_time(line_no, Some(timestamp)) else { return };
                let place = Place {
                    session: self.debug_session.clone(),
                    stream: self.debug_session.clone().unwrap_or_else(|| Name::from("")),
                    ..Place::default()
                };
                let origin = Origin::new(time, None, place.shared(&mut self.last_place));
                let key = self.synthetic_key(line_no);
                self.out.debug_attempts.push(KeyedEvent {
                    key,
                    origin,
                    what: Attempt {
                        kind,
                        attempt: Some(attempt),
                        retry_in_ms: None,
                        last: attempt >= of,
                        wording: None,
                    },
                });
            }
            DebugRecord::Capped { timestamp, from, to } => {
                let Some(time) = self.record_time(line_no, Some(timestamp)) else { return };
                self.out.capped.push(Capped { from, to, session: self.debug_session.clone(), time, model: None });
            }
            DebugRecord::Other => {}
        }
    }

    fn origin(&mut self, env: &Envelope<'_>, time: Option<EpochMs>) -> Origin {
        let place = Place {
            project: self.project.clone(),
            cwd: env.cwd.as_deref().map(|s| self.names.get(s)),
            session: env.session_id.as_deref().map(|s| self.names.get(s)),
            stream: self.stream_of(env),
            version: env.version.as_deref().map(|s| self.names.get(s)),
            ..Place::default()
        };
        Origin::new(time, self.last_user_time, place.shared(&mut self.last_place))
    }

    /// A key for an event that carries no id of its own: unique to this file and line.
    fn synthetic_key(&self, line_no: u64) -> Key {
        key(&[Some(&self.input.path.to_string_lossy()), Some(&line_no.to_string())])
    }

    /// The request stream of a line: the subagent, else the session.
    fn stream_of(&mut self, env: &Envelope<'_>) -> Name {
        match (&env.agent_id, &env.session_id) {
            (Some(a), _) if env.is_sidechain => self.names.get(&format!("agent:{a}")),
            (_, Some(s)) => self.names.get(s),
            (Some(a), None) => self.names.get(&format!("agent:{a}")),
            (None, None) => self.names.get(""),
        }
    }

    fn finish(mut self) -> FileResult {
        if self.out.malformed > MALFORMED_NAMED_PER_FILE {
            let more = self.out.malformed - MALFORMED_NAMED_PER_FILE;
            self.out.warnings.push(Warning::new(
                self.input.path.clone(),
                None,
                format!(
                    "{} skipped ({} in this file)",
                    crate::text::count_of(more, "more malformed line", "more malformed lines"),
                    self.out.malformed
                ),
            ));
        }
        if self.out.implausible_times > MALFORMED_NAMED_PER_FILE {
            let more = self.out.implausible_times - MALFORMED_NAMED_PER_FILE;
            self.out.warnings.push(Warning::new(
                self.input.path.clone(),
                None,
                format!(
                    "{} left out ({} in this file)",
                    crate::text::count_of(
                        more,
                        "more record with a time unread or no Claude Code event has",
                        "more records with a time unread or no Claude Code event has"
                    ),
                    self.out.implausible_times
                ),
            ));
        }
        self.out
    }
}

fn max_usage(a: Usage, b: Usage) -> Usage {
    Usage {
        input: a.input.max(b.input),
        output: a.output.max(b.output),
        cache_creation: a.cache_creation.max(b.cache_creation),
        cache_read: a.cache_read.max(b.cache_read),
        thinking: a.thinking.max(b.thinking),
    }
}

/// Adds a line's content to a response unless a line with its key is there. The list grows
/// by exactly one: most responses have one to three lines, and a doubling list would
/// allocate room for four for every one of the tens of thousands kept.
fn add_line(lines: &mut Vec<(u64, ContentSize)>, key: u64, content: ContentSize) {
    if !lines.iter().any(|&(k, _)| k == key) {
        lines.reserve_exact(1);
        lines.push((key, content));
    }
}

/// Merges another copy of the same response (from another file) into `into`.
pub fn merge_group(into: &mut GroupPart, other: GroupPart) {
    into.recorded_output = into.recorded_output.max(other.recorded_output);
    into.usage = max_usage(into.usage, other.usage);
    into.max_tokens_stop |= other.max_tokens_stop;
    if into.model.is_none() {
        into.model = other.model.clone();
    }
    if into.effort.is_none() {
        into.effort = other.effort.clone();
    }
    for &(k, c) in &other.lines {
        add_line(&mut into.lines, k, c);
    }
    // Prefer the main-session copy's attribution, and the earliest time.
    if into.sidechain && !other.sidechain {
        into.origin = other.origin.clone();
        into.end = other.end;
        into.sidechain = false;
    }
    into.end = into.end.get().max(other.end.get()).into();
    into.origin.set_time(match (into.origin.time(), other.origin.time()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    });
}

/// Lines of a file, for tests of other modules.
#[cfg(test)]
pub fn read_path(path: &std::path::Path, kind: FileKind) -> FileResult {
    read(
        &Input { path: path.to_path_buf(), kind, project: "p".into(), len: 0 },
        false,
        &mut Buffers::default(),
        &|_| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response's request time is the last user line before its first line; its end is its
    /// last line; an error line gets the request time too.
    #[test]
    fn requests_are_timed_by_the_user_line_before_them() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("s.jsonl");
        let lines = [
            r#"{"type":"user","sessionId":"s","message":{"role":"user","content":"go"},"uuid":"u1","timestamp":"2026-03-01T10:00:00.000Z"}"#,
            r#"{"type":"progress","sessionId":"s","data":{},"uuid":"p1","timestamp":"2026-03-01T10:00:01.000Z"}"#,
            r#"{"sessionId":"s","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"a"}],"usage":{"output_tokens":5}},"requestId":"r1","type":"assistant","uuid":"a1","timestamp":"2026-03-01T10:00:03.000Z"}"#,
            r#"{"type":"user","sessionId":"s","message":{"role":"user","content":[{"type":"tool_result","content":"x"}]},"uuid":"u2","timestamp":"2026-03-01T10:00:04.000Z"}"#,
            r#"{"sessionId":"s","message":{"id":"m1","model":"claude-sonnet-4-5","content":[{"type":"text","text":"b"}],"usage":{"output_tokens":9}},"requestId":"r1","type":"assistant","uuid":"a2","timestamp":"2026-03-01T10:00:06.000Z"}"#,
            r#"{"type":"system","subtype":"api_error","sessionId":"s","error":{"status":429},"retryAttempt":1,"retryInMs":500,"uuid":"y1","timestamp":"2026-03-01T10:00:07.000Z"}"#,
            r#"{"type":"assistant","sessionId":"s","isApiErrorMessage":true,"message":{"id":"e","model":"<synthetic>","content":[{"type":"text","text":"API Error: 429 Too many tokens"}]},"uuid":"e1","timestamp":"2026-03-01T10:00:09.000Z"}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let at = |s: &str| crate::time::parse_timestamp(s);
        for full in [false, true] {
            let r = read(
                &Input { path: path.clone(), kind: FileKind::Transcript, project: "p".into(), len: 0 },
                full,
                &mut Buffers::default(),
                &|_| {},
            );
            assert_eq!(r.groups.len(), 1);
            let g = &r.groups[0];
            assert_eq!(g.origin.requested(), at("2026-03-01T10:00:00.000Z"), "full parse: {full}");
            assert_eq!(g.origin.time(), at("2026-03-01T10:00:03.000Z"));
            assert_eq!(g.end.get(), at("2026-03-01T10:00:06.000Z"));
            assert_eq!(&*g.origin.place.stream, "s");
            assert_eq!(r.retries[0].what.retry_in_ms, Some(500));
            assert_eq!(r.finals[0].origin.requested(), at("2026-03-01T10:00:04.000Z"));
        }
    }
}
