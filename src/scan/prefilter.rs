//! The fast path's test of a transcript line: can it hold anything the report counts?
//!
//! Only three kinds of line do: `"type":"assistant"` lines (responses and final errors),
//! `"subtype":"api_error"` lines (retries) and the meta `Output token limit hit.` prompt. A
//! line with none of those byte strings, or whose top-level `type` (read off its start, see
//! [`early_type`]) cannot hold the ones it has, is not parsed; it is only checked, with what
//! the reader's pass over its bytes found ([`super::bytes`]) and UTF-8 from its first
//! non-ASCII block on, for the ways real files break: invalid UTF-8, NUL or other control
//! bytes (a crash that left zeros), and a line that does not start with `{` and end with `}`
//! (a write cut short). A line broken only in its middle passes this check: the full
//! parse (`--full-parse`) counts it as malformed, the fast path does not. Candidate lines are
//! parsed in full either way, so the two paths count the same responses and errors.
//!
//! Very long lines (above [`MAX_PARSE_LINE`](super::reader::MAX_PARSE_LINE)) are never held
//! whole: [`Streaming`] applies the same checks chunk by chunk.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::bytes::{LineFacts, facts_of};
use super::line::{LineError, RECOVERY_PREFIX};
use super::toplevel::{self, LaterType};

/// Byte strings a countable line must contain. JSON could spell them with `\u` escapes;
/// Claude Code never does.
const NEEDLES: [&str; 3] = ["\"assistant\"", "\"api_error\"", RECOVERY_PREFIX];
/// The longest needle's length, minus one: the bytes carried across chunks.
const CARRY: usize = RECOVERY_PREFIX.len() - 1;

/// One SIMD substring search (memchr's memmem) per needle. aho-corasick's Teddy, one pass for
/// all three, measured the same on the benchmark corpus and is not available everywhere.
static FINDERS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| NEEDLES.map(Finder::new));

/// Whether the line may hold a response, an error or a recovery prompt.
///
/// Claude Code writes an event's scalar envelope fields (`parentUuid`, `cwd`, `sessionId`,
/// `version`, `type`, …) before its nested ones, so the top-level `type` can usually be read
/// off the line's start without parsing it: then only the needle that type can hold is
/// searched for (none for `progress` and snapshot lines, a third of real transcripts). When
/// the start does not tell, every needle is searched for.
///
/// JSON.parse takes the last of a key written twice: a line whose start tells one type and
/// that writes a `type` key again at the top level, anywhere, is parsed (such keys are found
/// with `scan::toplevel`, which goes no further into the line than a `"type"` followed by a
/// colon, so that a line costs a search for the name, and a walk only up to the nested keys
/// of that name).
pub fn is_candidate(line: &[u8]) -> bool {
    classify(line) == Class::Candidate
}

/// What the fast path does with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// It may hold a response, an error or a recovery prompt: parse it.
    Candidate,
    /// A `user` line that holds none of those (a prompt, a tool result), with its time: the
    /// value of its last top-level `timestamp`, as JSON.parse reads it (`None` when there is
    /// none, or it is not a string of a time).
    User(Option<crate::time::EpochMs>),
    /// Anything else: only checked.
    Other,
}

/// [`is_candidate`], telling the user lines apart among the rest, with their time.
pub fn classify(line: &[u8]) -> Class {
    let early = early_type_at(line);
    let search = Search::of(early.map(|(t, _, _)| t));
    match (search, early) {
        (Search::Always, _) => Class::Candidate,
        (Search::Never | Search::One(_), Some((_, at, after))) => told(line, search, at, after),
        // The start does not tell: every needle; a user line is one whose last top-level
        // type is `"user"`.
        _ if search.found(line) => Class::Candidate,
        _ => match line.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            Some(open) if line[open] == b'{' => {
                let keys = toplevel::read(line, open + 1, true, false);
                match keys.kind {
                    Some(v) if line[v..].starts_with(b"\"user\"") => {
                        Class::User(keys.timestamp.and_then(|t| time_at(line, t)))
                    }
                    _ => Class::Other,
                }
            }
            _ => Class::Other,
        },
    }
}

static TIMESTAMP_NAME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"timestamp\""));

/// [`classify`] of a line whose start told its type (not `assistant`, at `at`, its value
/// ending at `after`): what [`Search::found`] finds in it, and the top-level `type` and
/// `timestamp` keys after the one told, in one pass ([`toplevel::marks`]).
fn told(line: &[u8], search: Search, at: usize, after: usize) -> Class {
    // A system line holds `"api_error"` (system lines are few: searched apart).
    if search == Search::One(1) && FINDERS[1].find(line).is_some() {
        return Class::Candidate;
    }
    let user = search == Search::One(2);
    let mut walk = toplevel::Walk::new(line, after);
    let mut timestamp = None;
    let mut candidate = false;
    toplevel::marks(line, 0, |p, mark| {
        match mark {
            toplevel::Mark::Escape => candidate = true,
            toplevel::Mark::Recovery => candidate = user,
            // The type written again: the parse reads the last. Only a key after a comma can
            // be a top-level one (the depth walk is the cost: asked as rarely as can be), and
            // on a line of a type never countable, only a value that names a countable type
            // can change what it is read as (a line made a candidate is parsed, and the parse
            // reads the last type, whichever it is).
            toplevel::Mark::Type if p >= after && !first_key(line, p) => {
                candidate = toplevel::value_after(line, p + 6)
                    .is_some_and(|v| search != Search::Never || may_count(line, v))
                    && walk.opens_top_level_string(p);
            }
            toplevel::Mark::Timestamp if user && p >= after && !first_key(line, p) => {
                if let Some(v) = toplevel::value_after(line, p + 11)
                    && walk.opens_top_level_string(p)
                {
                    timestamp = Some(v);
                }
            }
            toplevel::Mark::Type | toplevel::Mark::Timestamp => {}
        }
        !candidate
    });
    if candidate {
        Class::Candidate
    } else if user {
        // Before the type read off the start there is no nesting: any timestamp key there is
        // a top-level one.
        Class::User(timestamp.or_else(|| last_timestamp_before(line, at)).and_then(|v| time_at(line, v)))
    } else {
        Class::Other
    }
}

/// Whether the key whose opening quote is at `p` is the first of an object or array (the byte
/// before it, past whitespace, opens one). In JSON that parses, such a key is never a
/// top-level one after the line's first key: an unescaped `{` before a quote is outside a
/// string (inside one, the quote would end the string and the name after it break the line).
fn first_key(line: &[u8], p: usize) -> bool {
    matches!(line[..p].iter().rev().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')), Some(b'{' | b'['))
}

/// Whether a `type` value starting at `v` may name a countable type: `"assistant"`, `"user"`,
/// `"system"`, or anything but a plain string without escapes (read by the parse).
fn may_count(line: &[u8], v: usize) -> bool {
    let Some(body) = line[v..].strip_prefix(b"\"") else { return true };
    match body.iter().position(|&b| b == b'"' || b == b'\\') {
        Some(end) if body[end] == b'"' => matches!(&body[..end], b"assistant" | b"user" | b"system"),
        _ => true,
    }
}

/// Where the value of the last `"timestamp"` key before `end` starts, in a stretch of the
/// line with no nesting.
fn last_timestamp_before(line: &[u8], end: usize) -> Option<usize> {
    let (finder, name) = (&*TIMESTAMP_NAME, b"\"timestamp\"".len());
    let mut last = None;
    let mut from = 0;
    while let Some(k) = finder.find(&line[from..end]) {
        let at = from + k;
        if let Some(v) = toplevel::value_after(line, at + name) {
            last = Some(v);
        }
        from = at + 1;
    }
    last
}

/// The time a value starting at `at` holds: a string of a time, as JSON reads the string;
/// `None` for anything else.
fn time_at(line: &[u8], at: usize) -> Option<crate::time::EpochMs> {
    let value = line.get(at + 1..).filter(|_| line[at] == b'"')?;
    let end = memchr::memchr2(b'"', b'\\', &value[..value.len().min(64)])?;
    if value[end] == b'"' {
        return crate::time::parse_timestamp(std::str::from_utf8(&value[..end]).ok()?);
    }
    // An escaped value (not what Claude Code writes): JSON's reading of the string.
    let mut de = serde_json::Deserializer::from_slice(&line[at..]);
    let text = <String as serde::Deserialize>::deserialize(&mut de).ok()?;
    crate::time::parse_timestamp(&text)
}

/// The time of a user line as the fast path reads it ([`Class::User`]); `None` for a line of
/// another class.
pub fn user_timestamp(line: &[u8]) -> Option<crate::time::EpochMs> {
    match classify(line) {
        Class::User(t) => t,
        _ => None,
    }
}

/// Which needles a line can hold, from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// An assistant line: always parsed.
    Always,
    /// A line of another type that is never countable (progress, snapshots, …).
    Never,
    /// One needle: `"api_error"` for system lines, the recovery prompt for user lines.
    One(usize),
    /// The start does not tell.
    All,
}

impl Search {
    /// Decided on the type read off the line's first [`EARLY_TYPE_WINDOW`] bytes, if it was.
    /// A type written again is looked for apart ([`toplevel`], [`LaterType`]).
    fn of(early: Option<&[u8]>) -> Self {
        match early {
            Some(b"assistant") => Search::Always,
            Some(b"system") => Search::One(1),
            Some(b"user") => Search::One(2),
            Some(_) => Search::Never,
            None => Search::All,
        }
    }

    /// Whether `hay` holds a needle of the search. A `\u` escape of a printable character
    /// could spell a needle, or a key (`"t\u0079pe"`) the searches do not see: such a line is
    /// parsed, whatever its type.
    fn found(self, hay: &[u8]) -> bool {
        match self {
            Search::Always => true,
            Search::Never => ascii_escape(hay),
            Search::One(i) => FINDERS[i].find(hay).is_some() || ascii_escape(hay),
            Search::All => FINDERS.iter().any(|f| f.find(hay).is_some()) || ascii_escape(hay),
        }
    }
}

static ESCAPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\u00"));

/// Whether `hay` holds a `\u` escape of a printable ASCII character (`\u0073` for `s`), which
/// could spell a needle in a way the searches do not see. No JSON writer escapes these
/// (Claude Code escapes only control characters), so such a line is rare and simply parsed.
fn ascii_escape(hay: &[u8]) -> bool {
    let mut from = 0;
    while let Some(k) = ESCAPE.find(&hay[from..]) {
        let at = from + k + 4;
        if hay.get(at).is_some_and(|b| (b'2'..=b'7').contains(b)) {
            return true;
        }
        from = at;
    }
    false
}

/// How far into a line [`early_type`] looks.
pub const EARLY_TYPE_WINDOW: usize = 4096;

const TYPE_KEY_BYTES: &[u8; 8] = b"\"type\":\"";
static TYPE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(TYPE_KEY_BYTES));

/// The offset of the first `"type":"` in `s[from..]`, unless a `{` or `[` comes before it.
///
/// Lines are short where this looks (the key sits about 300 bytes in), and there memmem's
/// start-up and its candidate checks cost more than the search (9% of a scan's user time,
/// with the bracket search after it): on x86-64, one SSE2 pass tests 16 positions at a time
/// for the key's `"`, `y` and `:` and for the brackets, and checks the rare candidates whole.
fn type_key_before_nesting(s: &[u8], from: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        let mut i = from;
        // The loads reach 6 bytes past the 16 positions tested.
        while i + 16 + 6 <= s.len() {
            // SAFETY: SSE2 is part of the x86-64 baseline; the loads at i, i + 2 and i + 6
            // read 16 bytes each, which lie inside `s` by the loop's condition.
            let (keys, brackets) = unsafe {
                let at = |k: usize| _mm_loadu_si128(s.as_ptr().add(i + k).cast::<__m128i>());
                let is = |v: __m128i, b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
                let v = at(0);
                let keys = _mm_and_si128(_mm_and_si128(is(v, b'"'), is(at(2), b'y')), is(at(6), b':'));
                (_mm_movemask_epi8(keys) as u32, _mm_movemask_epi8(_mm_or_si128(is(v, b'{'), is(v, b'['))) as u32)
            };
            let mut keys = keys;
            while keys != 0 {
                let k = keys.trailing_zeros();
                // A bracket before this candidate: the type is not told.
                if brackets & ((1 << k) - 1) != 0 {
                    return None;
                }
                let p = i + k as usize;
                if s[p..].starts_with(TYPE_KEY_BYTES) {
                    return Some(p);
                }
                keys &= keys - 1;
            }
            if brackets != 0 {
                return None;
            }
            i += 16;
        }
        type_key_portable(s, i)
    }
    #[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
    type_key_portable(s, from)
}

/// [`type_key_before_nesting`] with memchr's searches.
fn type_key_portable(s: &[u8], from: usize) -> Option<usize> {
    let at = TYPE_KEY.find(&s[from..])? + from;
    memchr::memchr2(b'{', b'[', &s[from..at]).is_none().then_some(at)
}

/// The value of the line's top-level `type`, when the start of the line tells it cheaply:
/// the first `"type":"` within [`EARLY_TYPE_WINDOW`] bytes, right after the opening `{` or a
/// `,`, with no `{` or `[` before it (so it is a key of the top-level object: a quote inside a
/// string is escaped, so the match cannot lie inside one), and a value without escapes.
/// `None` when the start does not tell; the caller then searches for every needle.
pub fn early_type(line: &[u8]) -> Option<&[u8]> {
    early_type_at(line).map(|(t, _, _)| t)
}

/// [`early_type`], where its key starts and where its value ends.
fn early_type_at(line: &[u8]) -> Option<(&[u8], usize, usize)> {
    let s = &line[..line.len().min(EARLY_TYPE_WINDOW)];
    let open = s.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?;
    if s[open] != b'{' {
        return None;
    }
    let at = type_key_before_nesting(s, open + 1)?;
    if !matches!(s[at - 1], b'{' | b',') {
        return None;
    }
    let from = at + TYPE_KEY_BYTES.len();
    let end = memchr::memchr2(b'"', b'\\', &s[from..])?;
    (s[from + end] == b'"').then(|| (&s[from..from + end], at, from + end + 1))
}

/// The offset of the first invalid UTF-8 byte: `simdutf8` for the fast yes, `std` for where.
fn utf8_error(bytes: &[u8]) -> Option<std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) => None,
        Err(_) => std::str::from_utf8(bytes).err(),
    }
}

/// The first of an invalid-UTF-8 and a control-byte position (relative to `base`).
fn earliest(utf8: Option<usize>, control: Option<usize>, base: usize) -> Option<LineError> {
    match (utf8, control) {
        (Some(u), Some(c)) if c < u => Some(LineError::Control(base + c)),
        (Some(u), _) => Some(LineError::Utf8(base + u)),
        (None, Some(c)) => Some(LineError::Control(base + c)),
        (None, None) => None,
    }
}

/// The fast check of a line that is not a candidate (already without its line ending).
/// `Ok` means it looks like a whole JSON object (or is blank).
pub fn check(line: &[u8]) -> Result<(), LineError> {
    check_scanned(line, facts_of(line))
}

/// [`check`] of a line whose bytes [`scan_line`](super::bytes::scan_line) already went over
/// (the reader's pass).
pub fn check_scanned(line: &[u8], facts: LineFacts) -> Result<(), LineError> {
    // The UTF-8 check only from the first non-ASCII block on, and not at all if a control
    // byte comes first.
    let LineFacts { control, non_ascii_from } = facts;
    let k = non_ascii_from.unwrap_or(line.len()).min(line.len());
    let utf8 = if control.is_some_and(|c| c <= k) { None } else { utf8_error(&line[k..]).map(|e| k + e.valid_up_to()) };
    if let Some(e) = earliest(utf8, control, 0) {
        return Err(e);
    }
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Ok(());
    }
    if !trimmed.starts_with(b"{") || !trimmed.ends_with(b"}") {
        return Err(LineError::Unframed);
    }
    Ok(())
}

/// The same facts as [`check`] and [`is_candidate`], gathered over a line fed in chunks.
#[derive(Debug, Default)]
pub struct Streaming {
    pub bytes: u64,
    candidate: bool,
    /// The first invalid UTF-8 or control byte's offset, once found.
    error: Option<LineError>,
    first: Option<u8>,
    last: Option<u8>,
    /// Bytes of an incomplete UTF-8 sequence at the end of the previous chunk.
    utf8_tail: Vec<u8>,
    /// The previous chunk's last bytes, so a needle split across chunks is still found.
    window: Vec<u8>,
    /// The line's first bytes, until the needles to look for are decided on them.
    head: Vec<u8>,
    search: Option<Search>,
    /// After a type read off the start (not `assistant`), the search for a top-level `type`
    /// key written again. Coarser than the whole line's ([`told`]): any top-level `type`
    /// written again makes the line a candidate, whatever its value. Such a line is too long
    /// to parse either way; it is then counted among the long lines skipped.
    later: Option<LaterType>,
}

impl Streaming {
    pub fn feed(&mut self, chunk: &[u8]) {
        let offset = self.bytes;
        self.bytes += chunk.len() as u64;
        if chunk.is_empty() {
            return;
        }
        let mut rest = chunk;
        if self.search.is_none() {
            let take = rest.len().min(EARLY_TYPE_WINDOW - self.head.len());
            self.head.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.head.len() == EARLY_TYPE_WINDOW {
                self.decide();
            }
        }
        if let Some(later) = &mut self.later
            && !self.candidate
        {
            later.feed(rest);
            self.candidate = later.found;
        }
        if let Some(search) = self.search
            && !self.candidate
            && !rest.is_empty()
        {
            let mut w = std::mem::take(&mut self.window);
            let take = rest.len().min(CARRY);
            w.extend_from_slice(&rest[..take]);
            self.candidate = search.found(&w) || search.found(rest);
            // The last CARRY bytes seen so far.
            if rest.len() >= CARRY {
                w.clear();
                w.extend_from_slice(&rest[rest.len() - CARRY..]);
            } else {
                w.drain(..w.len().saturating_sub(CARRY));
            }
            self.window = w;
        }
        if let Some(&b) = chunk.iter().find(|b| !b.is_ascii_whitespace())
            && self.first.is_none()
        {
            self.first = Some(b);
        }
        if let Some(&b) = chunk.iter().rev().find(|b| !b.is_ascii_whitespace()) {
            self.last = Some(b);
        }
        if self.error.is_some() {
            return;
        }
        // UTF-8: first complete the character the previous chunk ended inside, then the rest.
        let control = facts_of(chunk).control;
        let mut skipped = 0usize;
        if !self.utf8_tail.is_empty() {
            let had = self.utf8_tail.len();
            // The tail starts with a lead byte (std reports incomplete sequences only so).
            let width: usize = match self.utf8_tail[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = width.saturating_sub(had).min(chunk.len());
            let mut joined = std::mem::take(&mut self.utf8_tail);
            joined.extend_from_slice(&chunk[..take]);
            let tail_at = offset as usize - had;
            match std::str::from_utf8(&joined) {
                Ok(_) => skipped = take,
                // Still incomplete: the chunk was shorter than the character.
                Err(e) if e.error_len().is_none() => {
                    self.utf8_tail = joined;
                    self.error = earliest(None, control, offset as usize);
                    return;
                }
                Err(_) => {
                    self.error = Some(LineError::Utf8(tail_at));
                    return;
                }
            }
        }
        let rest = &chunk[skipped..];
        let utf8 = match utf8_error(rest) {
            None => None,
            Some(e) if e.error_len().is_none() => {
                self.utf8_tail = rest[e.valid_up_to()..].to_vec();
                None
            }
            Some(e) => Some(skipped + e.valid_up_to()),
        };
        self.error = earliest(utf8, control, offset as usize);
    }

    /// Chooses the needles on the line's start and searches that start.
    fn decide(&mut self) {
        let early = early_type_at(&self.head);
        let search = Search::of(early.map(|(t, _, _)| t));
        self.search = Some(search);
        self.candidate = search.found(&self.head);
        if let (Search::Never | Search::One(_), Some((_, _, after))) = (search, early) {
            let mut later = LaterType::new();
            later.feed(&self.head[after..]);
            self.candidate |= later.found;
            self.later = Some(later);
        }
        self.window = self.head[self.head.len().saturating_sub(CARRY)..].to_vec();
    }

    /// Whether the whole line may hold something countable (as [`is_candidate`] of the line).
    pub fn candidate(&self) -> bool {
        match self.search {
            Some(_) => self.candidate,
            // A line shorter than the decision window: the window is the whole line.
            None => is_candidate(&self.head),
        }
    }

    /// The verdict of [`check`] for the whole line.
    pub fn finish(self) -> Result<(), LineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.utf8_tail.is_empty() {
            return Err(LineError::Utf8((self.bytes as usize).saturating_sub(self.utf8_tail.len())));
        }
        match (self.first, self.last) {
            (None, _) => Ok(()),
            (Some(b'{'), Some(b'}')) => Ok(()),
            _ => Err(LineError::Unframed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::bytes;

    fn streamed(line: &[u8], chunk: usize) -> (bool, Result<(), LineError>) {
        let mut s = Streaming::default();
        for c in line.chunks(chunk.max(1)) {
            s.feed(c);
        }
        assert_eq!(s.bytes, line.len() as u64);
        (s.candidate(), s.finish())
    }

    #[test]
    fn the_type_is_read_off_the_start_when_it_can_be() {
        let t = |l: &str| early_type(l.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
        assert_eq!(
            t(r#"{"parentUuid":null,"isSidechain":false,"n":-1.5e3,"cwd":"C:\\x","type":"progress","data":{}}"#)
                .as_deref(),
            Some("progress")
        );
        assert_eq!(t(r#" {"type":"user"}"#).as_deref(), Some("user"));
        // Spaced JSON (not what Claude Code writes) is not told.
        assert_eq!(t(r#"{ "type" : "user" }"#), None);
        // `"type":"` as a value, or after a nested value: not told.
        assert_eq!(t(r#"{"a":"type","b":"type\":\"x"}"#), None);
        assert_eq!(t(r#"{"a":[1],"type":"user"}"#), None);
        // A nested value first, an escaped key or value, a non-string type: not told.
        assert_eq!(t(r#"{"message":{"type":"assistant"},"type":"user"}"#), None);
        assert_eq!(t(r#"{"\u0074ype":"assistant"}"#), None);
        assert_eq!(t(r#"{"type":"\u0061ssistant"}"#), None);
        assert_eq!(t(r#"{"type":42}"#), None);
        assert_eq!(t(r#"{"a":1}"#), None);
        assert_eq!(t("[1]"), None);
        assert_eq!(t(r#"{"a":"unterminated"#), None);
    }

    /// The SSE2 search against memchr's, on lines built of the bytes that matter at every
    /// length and alignment (a fixed pseudo-random sequence).
    #[test]
    fn the_type_key_search_agrees_with_memmem() {
        let pieces: [&[u8]; 12] = [
            b"\"type\":\"",
            b"\"type\":",
            b"\"ty",
            b"\"",
            b"y",
            b":",
            b"{",
            b"[",
            b",",
            b"abcdefgh",
            b"\\",
            b"\"typ\":\"",
        ];
        let mut next = crate::scan::bytes::xorshift(0x2545_f491_4f6c_dd1du64);
        let mut found = 0;
        for _ in 0..20_000 {
            let mut line = Vec::new();
            let len = (next() % 24) as usize;
            for _ in 0..len {
                line.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            for from in [0, 1, 5] {
                let from = from.min(line.len());
                let want = type_key_portable(&line, from);
                assert_eq!(
                    type_key_before_nesting(&line, from),
                    want,
                    "{:?} from {from}",
                    String::from_utf8_lossy(&line)
                );
                found += usize::from(want.is_some());
            }
        }
        // Both outcomes are well exercised.
        assert!(found > 5_000 && found < 55_000, "{found}");
    }

    /// The depth walk is asked only where a key written again can change the reading: not for
    /// a key first in its object, and on a line never countable, not for a value that names
    /// no countable type. Where it can, it is still asked (and the parse reads the last type).
    #[test]
    fn keys_written_again_are_walked_only_where_they_can_change_the_reading() {
        let progress = |tail: &str| format!(r#"{{"type":"progress","sessionId":"s","data":{{"a":1}}{tail}}}"#);
        // Nested keys: first in their object, or a value no countable type has.
        for tail in [r#","x":{"type":"assistant"}"#, r#","x":{"k":1,"type":"text"}"#, r#","type":"text""#] {
            assert_eq!(classify(progress(tail).as_bytes()), Class::Other, "{tail}");
        }
        // A top-level type that names a countable one: parsed.
        for tail in [r#","type":"assistant""#, r#", "type" : "user""#, r#","type":7"#, r#","type":"sys\u0074em""#] {
            assert_eq!(classify(progress(tail).as_bytes()), Class::Candidate, "{tail}");
        }
        // On a user line every top-level type written again is (whatever its value), and a
        // nested timestamp first in its object is not its time.
        let user = r#"{"type":"user","timestamp":"2026-03-01T10:00:00Z","m":{"timestamp":"2026-03-01T09:00:00Z"},"type":"text"}"#;
        assert_eq!(classify(user.as_bytes()), Class::Candidate);
        let user = r#"{"type":"user","timestamp":"2026-03-01T10:00:00Z","m":{"timestamp":"2026-03-01T09:00:00Z"}}"#;
        assert_eq!(classify(user.as_bytes()), Class::User(crate::time::parse_timestamp("2026-03-01T10:00:00Z")));
    }

    #[test]
    fn streaming_decides_on_the_same_start_as_the_whole_line() {
        let pad = "x".repeat(2 * EARLY_TYPE_WINDOW);
        let lines = [
            format!(r#"{{"type":"progress","data":"{pad}","m":{{"type":"assistant"}}}}"#),
            format!(r#"{{"type":"user","isMeta":true,"c":"{pad} Output token limit hit."}}"#),
            format!(r#"{{"type":"user","c":"{pad}","r":"assistant"}}"#),
            format!(r#"{{"m":{{"c":"{pad}"}},"type":"user","r":"assistant"}}"#),
            format!(r#"{{"type":"system","c":"{pad}","subtype":"api_error"}}"#),
            // The type written again, past the decision window.
            format!(r#"{{"type":"progress","data":{{"c":"{pad}","type":"x"}},"type":"assistant"}}"#),
            format!(r#"{{"type":"progress","data":{{"c":"{pad}"}},"type" : "user"}}"#),
            format!(r#"{{"type":"progress","data":{{"c":"{pad}","type":"x"}}}}"#),
        ];
        for line in &lines {
            let whole = is_candidate(line.as_bytes());
            for chunk in [1, 7, 100, 4095, 4096, 4097, 5000, line.len()] {
                let (c, _) = streamed(line.as_bytes(), chunk);
                assert_eq!(c, whole, "{} in chunks of {chunk}", &line[..40]);
            }
        }
        assert_eq!(
            lines.iter().map(|l| is_candidate(l.as_bytes())).collect::<Vec<_>>(),
            [false, true, false, true, true, true, true, false]
        );
    }

    #[test]
    fn candidates_by_type() {
        // A progress line is never countable, whatever it quotes.
        assert!(!is_candidate(br#"{"type":"progress","data":{"message":{"type":"assistant"}}}"#));
        // A user line only through the recovery prompt; a system line only as api_error.
        assert!(!is_candidate(br#"{"type":"user","message":{"content":[{"type":"tool_result","role":"assistant"}]}}"#));
        assert!(is_candidate(br#"{"type":"user","isMeta":true,"message":{"content":"Output token limit hit. Go"}}"#));
        assert!(!is_candidate(br#"{"type":"system","subtype":"local_command","content":"assistant"}"#));
        assert!(is_candidate(br#"{"type":"system","subtype":"api_error"}"#));
        // Type after a nested value: every needle.
        assert!(is_candidate(br#"{"message":{"id":"m"},"type":"assistant"}"#));
        // Type written twice before a nested value: parsed, which reads the last.
        assert!(is_candidate(br#"{"type":"progress","type":"assistant","message":{"id":"m"}}"#));
        assert!(is_candidate(br#"{"type":"progress","type":"user","message":{"content":"hi"}}"#));
        assert!(is_candidate(br#"{"type":"user","type":"progress","data":{}}"#));
        assert!(!is_candidate(br#"{"type":"user","message":{"type":"assistant"}}"#));
        // Written again after a nested value, spaced, of another kind of value: parsed too
        // (issue 24, item 2 a).
        assert!(is_candidate(br#"{"type":"progress","message":{"id":"m"},"requestId":"r","type":"assistant"}"#));
        assert!(is_candidate(br#"{"type":"progress","data":[1,{"a":"}"}], "type" : "assistant"}"#));
        assert!(is_candidate(br#"{"type":"user","message":{"content":"x"},"type":5}"#));
        assert!(is_candidate(br#"{"type":"system","data":{"a":1},"t\u0079pe":"assistant"}"#));
        // Nested, in a string, a value: not a type written again.
        assert!(!is_candidate(br#"{"type":"progress","data":{"type":"hook","m":{"type":"assistant"}}}"#));
        assert!(!is_candidate(br#"{"type":"progress","data":["type",{"x":"\"type\":1"}],"k":"type"}"#));
        assert!(!is_candidate(br#"{"type":"user","message":{"content":[{"tool_use_id":"t","type":"tool_result"}]}}"#));
    }

    #[test]
    fn candidates_are_the_three_kinds() {
        assert!(is_candidate(br#"{"type":"assistant","message":{}}"#));
        assert!(is_candidate(br#"{"type":"system","subtype":"api_error"}"#));
        assert!(is_candidate(
            br#"{"type":"user","isMeta":true,"message":{"content":"Output token limit hit. Resume"}}"#
        ));
        assert!(!is_candidate(br#"{"type":"user","message":{"role":"user","content":"assistant api_error"}}"#));
    }

    /// `check`'s verdict the slow way: std's UTF-8 check and a byte-by-byte control search.
    fn reference(line: &[u8]) -> Option<String> {
        let utf8 = std::str::from_utf8(line).err().map(|e| e.valid_up_to());
        let control = line.iter().position(|&b| bytes::is_bad_control(b));
        earliest(utf8, control, 0).map(|e| e.to_string())
    }

    #[test]
    fn one_pass_check_matches_the_slow_way_wherever_the_odd_bytes_are() {
        // A non-ASCII character, an invalid byte and a control byte, each at every position
        // (or absent) of a line spanning several 64-byte blocks.
        let len = 150;
        for (odd, what) in [(&b"\xc3\xa9"[..], "é"), (b"\xff", "invalid"), (b"\xe2\x86", "cut")] {
            for at in (0..len).chain([usize::MAX]) {
                for control in
                    [None, Some(0), Some(63), Some(64), Some(at.saturating_add(1)), Some(at.wrapping_sub(1)), Some(149)]
                {
                    let mut v = vec![b'a'; len];
                    if let Some(c) = control.filter(|&c| c < len) {
                        v[c] = 0x01;
                    }
                    if at < len {
                        v.splice(at..at, odd.iter().copied());
                    }
                    // Framed as an object, so that only the bytes decide.
                    v.insert(0, b'{');
                    v.push(b'}');
                    // The SSE2 blocks (also the fallback where AVX2 is used) find the same.
                    assert_eq!(bytes::sse2_scan(&v), bytes::chosen_scan(&v), "{what} at {at}, control at {control:?}");
                    let got = check(&v).err().map(|e| e.to_string());
                    assert_eq!(got, reference(&v), "{what} at {at}, control at {control:?}");
                }
            }
        }
    }

    #[test]
    fn check_catches_how_files_break() {
        assert!(check(b"").is_ok());
        assert!(check(b"  \t").is_ok());
        assert!(check(br#"{"type":"user"}"#).is_ok());
        assert!(matches!(check(b"{\"a\":\"\xff\"}"), Err(LineError::Utf8(6))));
        assert!(matches!(check(&[0u8; 64]), Err(LineError::Control(0))));
        assert!(matches!(check(b"{\"a\":\"x\x00y\"}"), Err(LineError::Control(7))));
        assert!(matches!(check(br#"{"type":"user","message":{"#), Err(LineError::Unframed)));
        assert!(matches!(check(b"[1,2]"), Err(LineError::Unframed)));
        // Broken only in the middle: passes (the documented limit of the fast path).
        assert!(check(br#"{"a":1,,"b":2}"#).is_ok());
    }

    #[test]
    fn streaming_agrees_with_the_whole_line_checks_at_every_chunk_size() {
        let lines: [&[u8]; 11] = [
            br#"{"type":"user","message":{"content":"caf\xc3\xa9 \xe2\x86\x92 ok"}}"#,
            b"{\"type\":\"user\",\"message\":\"\xe2\x86\"}",
            b"{\"x\":\"\x00\"}",
            br#"{"type":"user","message":{"content":"Output token limit hit. go"}}"#,
            br#"  {"type":"system","subtype":"api_error"}  "#,
            br#"{"cut":"#,
            b"",
            b"{\"a\":\"\xf0\x9f\x98\x80\"}\xe2",
            // Found by the fuzzer: a complete character, then an incomplete one, across chunks.
            b"\n5oi\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef",
            b"\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80\xc3",
            b"ab\xe2\x86\x92\xe2\x86",
        ];
        for line in lines {
            let whole = (is_candidate(line), check(line).map_err(|e| e.to_string()));
            for chunk in 1..=line.len().max(1) {
                let (c, r) = streamed(line, chunk);
                assert_eq!(
                    (c, r.map_err(|e| e.to_string())),
                    whole,
                    "{:?} in chunks of {chunk}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }

    #[test]
    fn user_lines_are_told_apart_and_their_time_read() {
        let tool_result = br#"{"parentUuid":"p","isSidechain":false,"type":"user","message":{"role":"user","content":[{"tool_use_id":"t","type":"tool_result","content":"{\"timestamp\":\"1999-01-01T00:00:00.000Z\"}"}]},"uuid":"u","timestamp":"2026-03-01T10:00:02.500Z","toolUseResult":{"timestamp":"2000-01-01T00:00:00.000Z"}}"#;
        // The quoted key inside the tool output is escaped; the nested key is not the line's.
        assert_eq!(classify(tool_result), Class::User(crate::time::parse_timestamp("2026-03-01T10:00:02.500Z")));
        assert_eq!(classify(br#"{"type":"progress","timestamp":"2026-03-01T10:00:00Z"}"#), Class::Other);
        assert_eq!(
            classify(br#"{"type":"user","isMeta":true,"message":{"content":"Output token limit hit."}}"#),
            Class::Candidate
        );
        assert_eq!(classify(br#"{"type":"assistant"}"#), Class::Candidate);
        // An escape of a printable character: the line is parsed, which reads the time as JSON
        // reads it; a time holding any other escape is none.
        let escaped = br#"{"type":"user","timestamp":"2026-03-01T10:00:02\u002e500Z"}"#;
        assert_eq!(classify(escaped), Class::Candidate);
        assert_eq!(user_timestamp(br#"{"type":"user","timestamp":"2026-03-01T10:00:02\n"}"#), None);
        assert_eq!(user_timestamp(br#"{"type":"user","timestamp":"yesterday"}"#), None);
        assert_eq!(user_timestamp(br#"{"type":"user"}"#), None);
        // The last top-level one, as JSON.parse reads it (issue 24, item 2 c): not a nested one
        // before it, nor the first of two; one that is no string means none.
        let t = |s: &str| crate::time::parse_timestamp(s);
        for (line, want) in [
            (&br#"{"type":"user","toolUseResult":{"timestamp":"2026-03-01T09:00:00Z"},"timestamp":"2026-03-01T10:00:00Z"}"#[..], t("2026-03-01T10:00:00Z")),
            (br#"{"type":"user","timestamp":"2026-03-01T09:00:00Z","timestamp":"2026-03-01T10:00:00Z"}"#, t("2026-03-01T10:00:00Z")),
            (br#"{"timestamp":"2026-03-01T08:00:00Z","type":"user","x":[{"timestamp":"2026-03-01T09:00:00Z"}]}"#, t("2026-03-01T08:00:00Z")),
            (br#"{"type":"user","timestamp":"2026-03-01T10:00:00Z","m":{},"timestamp" : null}"#, None),
            (br#"{"type":"user","x":{"timestamp":"2026-03-01T10:00:00Z"}}"#, None),
            // The type not told by the line's start: its last top-level type is `user`.
            (br#"{"message":{"type":"x"},"type":"user","timestamp":"2026-03-01T10:00:00Z"}"#, t("2026-03-01T10:00:00Z")),
        ] {
            assert!(matches!(classify(line), Class::User(_)), "{}", String::from_utf8_lossy(line));
            assert_eq!(user_timestamp(line), want, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(
            classify(br#"{"message":{"type":"user"},"type":"progress","timestamp":"2026-03-01T10:00:00Z"}"#),
            Class::Other
        );
    }
}
