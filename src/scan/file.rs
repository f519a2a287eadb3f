//! Reads one file, line by line, into the facts it holds (not yet deduplicated across files).

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, Hash};

use super::data::{Capped, Origin};
use super::debuglog::{self, DebugRecord};
use super::discover::{FileKind, Input};
use super::line::{self, Envelope, LineError, Record, ResponseLine, Usage};
use super::prefilter::{self, Streaming};
use super::reader::{self, Line};
use crate::estimate::ContentSize;
use crate::scan::classify::ErrorKind;
use crate::time::parse_timestamp;
use crate::warning::Warning;

/// Malformed lines named one by one per file; the rest are summed up in one warning.
const MALFORMED_NAMED_PER_FILE: u64 = 3;

/// The lines of one response found in one file.
#[derive(Debug, Clone)]
pub struct GroupPart {
    pub message_id: String,
    pub request_id: Option<String>,
    pub model: Option<String>,
    pub origin: Origin,
    pub stream: String,
    pub sidechain: bool,
    pub recorded_output: u64,
    pub usage: Usage,
    pub max_tokens_stop: bool,
    /// Content of each distinct line, keyed by a hash of the line's `uuid`, so that a line
    /// copied into a resumed session is not counted twice.
    pub lines: Vec<(u64, ContentSize)>,
}

/// An event with the key that identifies it across files.
#[derive(Debug, Clone)]
pub struct KeyedEvent<T> {
    pub key: String,
    pub origin: Origin,
    pub what: T,
}

/// A retry recorded in a transcript or a debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub kind: ErrorKind,
    pub attempt: Option<u64>,
}

#[derive(Debug, Default)]
pub struct FileResult {
    pub bytes: u64,
    pub lines: u64,
    pub malformed: u64,
    /// Lines too long to parse that could have held a response or an error.
    pub long_lines_skipped: u64,
    /// The file could not be opened or read to the end.
    pub unreadable: bool,
    pub warnings: Vec<Warning>,
    pub groups: Vec<GroupPart>,
    pub finals: Vec<KeyedEvent<ErrorKind>>,
    pub retries: Vec<KeyedEvent<Attempt>>,
    pub recoveries: Vec<KeyedEvent<()>>,
    pub debug_attempts: Vec<KeyedEvent<Attempt>>,
    pub capped: Vec<Capped>,
}

/// Reads one file. Never fails: problems become warnings and counts. `full_parse` parses every
/// transcript line instead of only the candidates (see [`prefilter`](super::prefilter));
/// `progress` is told how many bytes each read brought.
pub fn read(input: &Input, full_parse: bool, progress: &dyn Fn(u64)) -> FileResult {
    let file = match File::open(&input.path) {
        Ok(f) => f,
        Err(e) => {
            let mut out = FileResult { unreadable: true, ..FileResult::default() };
            out.warnings.push(Warning::new(input.path.clone(), None, format!("cannot read: {e}")));
            return out;
        }
    };
    let mut acc = Accumulator::new(input, full_parse);
    let read = reader::for_each_line(file, progress, |line_no, line| match line {
        Line::Whole(mut l) => {
            if line_no == 1 {
                l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
            }
            acc.line(line_no, l.strip_suffix(b"\r").unwrap_or(l));
        }
        Line::TooLong(s) => acc.too_long(line_no, s),
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
    group_index: HashMap<(String, Option<String>), usize>,
    /// Session id of a debug log: its file stem.
    debug_session: Option<String>,
}

impl<'i> Accumulator<'i> {
    fn new(input: &'i Input, full_parse: bool) -> Self {
        let debug_session = (input.kind == FileKind::DebugLog)
            .then(|| input.path.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .flatten();
        Self { input, full_parse, out: FileResult::default(), group_index: HashMap::new(), debug_session }
    }

    fn line(&mut self, line_no: u64, bytes: &[u8]) {
        self.out.lines += 1;
        match self.input.kind {
            FileKind::Transcript => self.transcript_line(line_no, bytes),
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

    /// A line too long to hold: checked, and counted only as a line.
    fn too_long(&mut self, line_no: u64, s: Streaming) {
        self.out.lines += 1;
        if self.input.kind == FileKind::DebugLog {
            return;
        }
        if s.candidate() {
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
            return;
        }
        if let Err(e) = s.finish() {
            self.malformed(line_no, &e);
        }
    }

    fn transcript_line(&mut self, line_no: u64, bytes: &[u8]) {
        if !self.full_parse && !prefilter::is_candidate(bytes) {
            if let Err(e) = prefilter::check(bytes) {
                self.malformed(line_no, &e);
            }
            return;
        }
        let record = match line::parse(bytes) {
            Ok(r) => r,
            Err(e) => return self.malformed(line_no, &e),
        };
        match record {
            Record::Response(env, r) => self.response(line_no, env, r),
            Record::FinalError(env, e) => {
                let key = env.uuid.as_deref().or(e.message_id.as_deref()).map(str::to_string);
                let key = key.unwrap_or_else(|| self.synthetic_key(line_no));
                let origin = self.origin(&env);
                self.out.finals.push(KeyedEvent { key, origin, what: e.kind });
            }
            Record::Retry(env, r) => {
                let key = env.uuid.as_deref().map_or_else(|| self.synthetic_key(line_no), str::to_string);
                let origin = self.origin(&env);
                self.out.retries.push(KeyedEvent { key, origin, what: Attempt { kind: r.kind, attempt: r.attempt } });
            }
            Record::RecoveryPrompt(env) => {
                let key = env.uuid.as_deref().map_or_else(|| self.synthetic_key(line_no), str::to_string);
                let origin = self.origin(&env);
                self.out.recoveries.push(KeyedEvent { key, origin, what: () });
            }
            Record::Other => {}
        }
    }

    fn response(&mut self, line_no: u64, env: Envelope<'_>, r: ResponseLine<'_>) {
        let key = (r.message_id.into_owned(), r.request_id.map(|s| s.into_owned()));
        let line_key = match env.uuid.as_deref() {
            Some(u) => hash_str(u),
            None => hash_str(&self.synthetic_key(line_no)),
        };
        let idx = match self.group_index.get(&key) {
            Some(&i) => i,
            None => {
                let origin = self.origin(&env);
                let stream = stream_of(&env);
                let i = self.out.groups.len();
                self.out.groups.push(GroupPart {
                    message_id: key.0.clone(),
                    request_id: key.1.clone(),
                    model: None,
                    origin,
                    stream,
                    sidechain: env.is_sidechain,
                    recorded_output: 0,
                    usage: Usage::default(),
                    max_tokens_stop: false,
                    lines: Vec::new(),
                });
                self.group_index.insert(key, i);
                i
            }
        };
        let g = &mut self.out.groups[idx];
        if g.model.is_none() {
            g.model = r.model.map(|m| m.into_owned());
        }
        if g.origin.time.is_none() {
            g.origin.time = env.timestamp.as_deref().and_then(parse_timestamp);
        }
        g.recorded_output = g.recorded_output.max(r.usage.output);
        g.usage = max_usage(g.usage, r.usage);
        g.max_tokens_stop |= r.max_tokens_stop;
        if !g.lines.iter().any(|(k, _)| *k == line_key) {
            g.lines.push((line_key, r.content));
        }
    }

    fn debug_line(&mut self, line_no: u64, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        match debuglog::parse(&text) {
            DebugRecord::FailedAttempt { timestamp, attempt, status: _, kind } => {
                let origin = Origin {
                    time: parse_timestamp(timestamp),
                    session: self.debug_session.clone(),
                    ..Origin::default()
                };
                let key = self.synthetic_key(line_no);
                self.out.debug_attempts.push(KeyedEvent {
                    key,
                    origin,
                    what: Attempt { kind, attempt: Some(attempt) },
                });
            }
            DebugRecord::Capped { from, to, .. } => self.out.capped.push(Capped { from, to }),
            DebugRecord::Other => {}
        }
    }

    fn origin(&self, env: &Envelope<'_>) -> Origin {
        Origin {
            time: env.timestamp.as_deref().and_then(parse_timestamp),
            project: self.input.project.clone(),
            cwd: env.cwd.as_deref().map(str::to_string),
            session: env.session_id.as_deref().map(str::to_string),
            version: env.version.as_deref().map(str::to_string),
        }
    }

    /// A key for an event that carries no id of its own: unique to this file and line.
    fn synthetic_key(&self, line_no: u64) -> String {
        format!("{}:{line_no}", self.input.path.display())
    }

    fn finish(mut self) -> FileResult {
        if self.out.malformed > MALFORMED_NAMED_PER_FILE {
            let more = self.out.malformed - MALFORMED_NAMED_PER_FILE;
            self.out.warnings.push(Warning::new(
                self.input.path.clone(),
                None,
                format!("{more} more malformed lines skipped ({} in this file)", self.out.malformed),
            ));
        }
        self.out
    }
}

fn stream_of(env: &Envelope<'_>) -> String {
    match (&env.agent_id, &env.session_id) {
        (Some(a), _) if env.is_sidechain => format!("agent:{a}"),
        (_, Some(s)) => s.to_string(),
        (Some(a), None) => format!("agent:{a}"),
        (None, None) => String::new(),
    }
}

fn max_usage(a: Usage, b: Usage) -> Usage {
    Usage {
        input: a.input.max(b.input),
        output: a.output.max(b.output),
        cache_creation: a.cache_creation.max(b.cache_creation),
        cache_read: a.cache_read.max(b.cache_read),
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
    for (k, c) in &other.lines {
        if !into.lines.iter().any(|(k2, _)| k2 == k) {
            into.lines.push((*k, *c));
        }
    }
    // Prefer the main-session copy's attribution, and the earliest time.
    if into.sidechain && !other.sidechain {
        into.origin = other.origin.clone();
        into.stream = other.stream;
        into.sidechain = false;
    }
    into.origin.time = match (into.origin.time, other.origin.time) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

fn hash_str(s: &str) -> u64 {
    // A fixed hasher, so keys agree across threads and runs.
    let state = std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
    let mut h = state.build_hasher();
    s.hash(&mut h);
    std::hash::Hasher::finish(&h)
}

/// Lines of a file, for tests of other modules.
#[cfg(test)]
pub fn read_path(path: &std::path::Path, kind: FileKind) -> FileResult {
    read(&Input { path: path.to_path_buf(), kind, project: "p".into(), len: 0 }, false, &|_| {})
}
