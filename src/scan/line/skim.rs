//! A hand-written reader of the common transcript line, for the fast path: the same
//! [`RawLine`] serde_json would build, with the quotes, backslashes and control bytes of 64
//! bytes found at once (SSE2 masks; the bytes each backslash escapes from the masks too)
//! instead of serde_json's 8-byte steps, and without unescaping or copying the content it
//! only measures. The same cursor reads a flat telemetry event, every member
//! ([`flat_object`], for `otel/`).
//!
//! It reads the well-formed lines Claude Code writes and gives up (`None`) on anything else:
//! an escape in a key or a `\u` escape of a surrogate, a number other than a plain
//! non-negative integer where a count is read, a value of an unexpected type, nesting deeper
//! than [`MAX_DEPTH`], any syntax error. The caller then parses the line with serde_json, so
//! every line gets serde_json's verdict: when this reader gives a `RawLine`, serde_json accepts
//! the line and builds an equal one (checked by the tests below, `tests/line_paths.rs` and the
//! `line` fuzz target). A key written twice takes its last value, as in Claude Code's
//! JSON.parse and in the serde reading (`super::last_wins`).

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::{Count, RawCacheCreation, RawLine, RawMessage, RawOutputDetails, RawUsage};
use crate::estimate::ContentSize;
use crate::scan::content::{BlockFields, Content, Field, add_block, chars};
use crate::scan::toplevel::Escapes;

/// Containers nested deeper than this are left to serde_json (whose limit is 128).
pub const MAX_DEPTH: u32 = 64;

/// Reads a line already known to be UTF-8 and trimmed into `raw` (a default one: the fields
/// are filled in place, not moved); `None` when it is not the plain kind, and `raw` is then
/// to be thrown away.
pub fn read_into<'a>(line: &'a str, raw: &mut RawLine<'a>) -> Option<()> {
    let mut c = Cursor { s: line, b: line.as_bytes(), i: 0, depth: 0 };
    c.top(raw)?;
    c.ws();
    (c.i == c.b.len()).then_some(())
}

/// A member's value in a flat object, as [`flat_object`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// A string, unescaped (borrowed when it has no escape, as serde_json does).
    Str(Cow<'a, str>),
    /// A plain non-negative integer that fits in a u64.
    Count(u64),
    /// Any other number, as written: for serde_json to read, so that it gets its value.
    Number(&'a str),
    Bool(bool),
    /// `null`, an array or an object (validated, not read).
    Other,
}

/// Reads a line already known to be UTF-8 that holds one JSON object (whitespace around it
/// allowed), telling `member` each key and value in the order written. `None` where the line
/// is not the plain kind (as for a transcript line: an escaped key, a `\u` escape of a
/// surrogate, nesting deeper than 64, any syntax error) or `member` says `None`: the caller
/// then reads the line with serde_json, and every line gets its verdict.
pub fn flat_object<'a>(line: &'a str, mut member: impl FnMut(&'a str, Scalar<'a>) -> Option<()>) -> Option<()> {
    let mut c = Cursor { s: line, b: line.as_bytes(), i: 0, depth: 0 };
    c.container(b'{', b'}', |c| {
        let key = c.key_str()?;
        let value = match c.peek()? {
            b'"' => Scalar::Str(c.string_value()?),
            b'-' | b'0'..=b'9' => {
                let start = c.i;
                match c.number()? {
                    Some(n) => Scalar::Count(n),
                    None => Scalar::Number(&c.s[start..c.i]),
                }
            }
            b't' => c.literal(b"true").map(|()| Scalar::Bool(true))?,
            b'f' => c.literal(b"false").map(|()| Scalar::Bool(false))?,
            _ => c.skip().map(|()| Scalar::Other)?,
        };
        member(key, value)
    })?;
    c.ws();
    (c.i == c.b.len()).then_some(())
}

/// A JSON string's raw text between its quotes.
#[derive(Clone, Copy)]
struct JStr<'a> {
    raw: &'a str,
    /// Characters the escapes take beyond the one each stands for (0: no escape).
    extra: u64,
    escaped: bool,
}

impl<'a> JStr<'a> {
    /// Characters of the unescaped string.
    fn chars(self) -> u64 {
        chars(self.raw) - self.extra
    }

    /// The unescaped string: borrowed when it has no escape, as serde_json does.
    fn value(self, quoted: &'a str) -> Option<Cow<'a, str>> {
        if !self.escaped {
            return Some(Cow::Borrowed(self.raw));
        }
        serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
    }
}

/// Stores a field's value, over any the field had before: a key written twice takes its last
/// value, as in JSON.parse. `None` for a value that could not be read.
fn set<T>(slot: &mut T, value: Option<T>) -> Option<()> {
    *slot = value?;
    Some(())
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// Eats `literal` (after whitespace).
    fn literal(&mut self, literal: &[u8]) -> Option<()> {
        self.ws();
        self.b[self.i..].starts_with(literal).then(|| self.i += literal.len())
    }

    /// A string; the cursor is on its opening quote (after whitespace).
    fn string(&mut self) -> Option<JStr<'a>> {
        self.eat(b'"')?;
        let start = self.i;
        // Most strings (keys, ids, names) end within 16 bytes: one load finds their end.
        if let Some(at) = short_string_end(&self.b[start..]) {
            self.i = start + at + 1;
            return Some(JStr { raw: &self.s[start..start + at], extra: 0, escaped: false });
        }
        let (mut extra, mut escaped) = (0, false);
        let mut escapes = Escapes::default();
        let mut base = start;
        loop {
            let m = Masks::of(&self.b[base..]);
            let escaped_bytes = escapes.next(m.backslash);
            let ends = m.quote & !escaped_bytes;
            // The bytes of the string in this block: up to its closing quote, if it is here.
            let inside = if ends == 0 { u64::MAX } else { (ends & ends.wrapping_neg()) - 1 };
            if m.control & inside != 0 {
                return None;
            }
            let mut codes = escaped_bytes & inside;
            if codes != 0 {
                escaped = true;
                extra += u64::from(codes.count_ones());
                while codes != 0 {
                    let at = base + codes.trailing_zeros() as usize;
                    codes &= codes - 1;
                    match self.b[at] {
                        b'u' => {
                            let hex = self.b.get(at + 1..at + 5)?;
                            let code = hex.iter().try_fold(0u32, |n, &h| Some(n * 16 + (h as char).to_digit(16)?))?;
                            // Surrogates (paired or lone) are left to serde_json.
                            if (0xD800..=0xDFFF).contains(&code) {
                                return None;
                            }
                            extra += 4;
                        }
                        c if SHORT_ESCAPE[usize::from(c)] => {}
                        _ => return None,
                    }
                }
            }
            if ends != 0 {
                let at = base + ends.trailing_zeros() as usize;
                self.i = at + 1;
                return Some(JStr { raw: &self.s[start..at], extra, escaped });
            }
            base += BLOCK;
            if base >= self.b.len() {
                return None;
            }
        }
    }

    /// A string's unescaped value.
    fn string_value(&mut self) -> Option<Cow<'a, str>> {
        self.ws();
        let start = self.i;
        self.string()?.value(&self.s[start..self.i])
    }

    /// An object key (without escapes) and its colon.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.key_str().map(str::as_bytes)
    }

    fn key_str(&mut self) -> Option<&'a str> {
        let k = self.string()?;
        if k.escaped {
            return None;
        }
        self.eat(b':')?;
        Some(k.raw)
    }

    /// Walks an object's members, calling `member` with each key and the cursor on its
    /// value; `member` must consume the value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.container(b'{', b'}', |c| {
            let key = c.key()?;
            member(c, key)
        })
    }

    /// Walks an array's elements the same way.
    fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.container(b'[', b']', element)
    }

    /// An object or array: `open`, items separated by commas, `close`.
    fn container(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        self.enter()?;
        if self.peek()? == close {
            self.i += 1;
        } else {
            loop {
                item(self)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    c if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Any value, validated and skipped.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => self.object(|c, _| c.skip()),
            b'[' => self.array(Self::skip),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    /// Any value's raw text, as serde_json's `RawValue` holds it.
    fn raw_value(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        self.skip()?;
        Some(&self.s[start..self.i])
    }

    /// A JSON number; its value when it is a plain non-negative integer that fits in u64.
    fn number(&mut self) -> Option<Option<u64>> {
        let negative = self.b[self.i] == b'-';
        if negative {
            self.i += 1;
        }
        let digits = |c: &mut Self| {
            let from = c.i;
            while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            c.i - from
        };
        let int_start = self.i;
        match digits(self) {
            0 => return None,
            n if n > 1 && self.b[int_start] == b'0' => return None,
            _ => {}
        }
        let int_end = self.i;
        let mut plain = !negative;
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return None;
            }
            plain = false;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return None;
            }
            plain = false;
        }
        // Exponents and fractions are numbers serde_json may read differently (or refuse as
        // out of range): a count holding one is left to it.
        Some(if plain { self.s[int_start..int_end].parse().ok() } else { None })
    }

    /// A string-or-null field (serde: `Option<Cow<str>>` read with `deserialize_str`).
    fn opt_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        if self.peek()? != b'"' {
            return None;
        }
        self.string_value().map(Some)
    }

    fn opt_bool(&mut self) -> Option<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| Some(true)),
            b'f' => self.literal(b"false").map(|()| Some(false)),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// A token count: a plain integer or `null`; anything else is left to serde_json.
    fn count(&mut self) -> Option<Count> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| Count(None)),
            b'0'..=b'9' => Some(Count(Some(self.number()??))),
            _ => None,
        }
    }

    /// `null` (as `None`) or the object `read` reads; `None` (outer) if it is neither.
    fn null_or<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null_instead_of_object()? { Some(None) } else { read(self).map(Some) }
    }

    /// Whether the value is `null` (consumed) rather than the object that follows.
    fn null_instead_of_object(&mut self) -> Option<bool> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| true),
            b'{' => Some(false),
            _ => None,
        }
    }

    fn top(&mut self, raw: &mut RawLine<'a>) -> Option<()> {
        self.object(|c, key| match key {
            b"type" => set(&mut raw.kind, c.opt_str()),
            b"subtype" => set(&mut raw.subtype, c.opt_str()),
            b"uuid" => set(&mut raw.uuid, c.opt_str()),
            b"sessionId" => set(&mut raw.session_id, c.opt_str()),
            b"timestamp" => set(&mut raw.timestamp, c.opt_str()),
            b"version" => set(&mut raw.version, c.opt_str()),
            b"cwd" => set(&mut raw.cwd, c.opt_str()),
            b"agentId" => set(&mut raw.agent_id, c.opt_str()),
            b"requestId" => set(&mut raw.request_id, c.opt_str()),
            b"isSidechain" => set(&mut raw.is_sidechain, c.opt_bool()),
            b"isApiErrorMessage" => set(&mut raw.is_api_error_message, c.opt_bool()),
            b"isMeta" => set(&mut raw.is_meta, c.opt_bool()),
            b"message" => {
                if c.null_instead_of_object()? {
                    raw.message = None;
                } else {
                    c.message(raw.message.insert(RawMessage::default()))?;
                }
                Some(())
            }
            b"error" => {
                let text = c.raw_value()?;
                // serde_json's `Option<&RawValue>` reads `null` as `None`.
                raw.error = if text == "null" { None } else { Some(serde_json::from_str::<&RawValue>(text).ok()?) };
                Some(())
            }
            b"apiErrorStatus" => set(&mut raw.api_error_status, c.count()),
            b"retryAttempt" => set(&mut raw.retry_attempt, c.count()),
            b"retryInMs" => set(&mut raw.retry_in_ms, c.count()),
            b"effort" => set(&mut raw.effort, c.opt_str()),
            _ => c.skip(),
        })
    }

    fn message(&mut self, m: &mut RawMessage<'a>) -> Option<()> {
        self.object(|c, key| match key {
            b"id" => set(&mut m.id, c.opt_str()),
            b"model" => set(&mut m.model, c.opt_str()),
            b"content" => set(&mut m.content, c.content().map(Content)),
            b"stop_reason" => set(&mut m.stop_reason, c.opt_str()),
            b"usage" => set(&mut m.usage, c.null_or(Self::usage)),
            _ => c.skip(),
        })
    }

    fn usage(&mut self) -> Option<RawUsage> {
        let mut u = RawUsage::default();
        self.object(|c, key| match key {
            b"input_tokens" => set(&mut u.input_tokens, c.count()),
            b"output_tokens" => set(&mut u.output_tokens, c.count()),
            b"cache_creation_input_tokens" => set(&mut u.cache_creation_input_tokens, c.count()),
            b"cache_read_input_tokens" => set(&mut u.cache_read_input_tokens, c.count()),
            b"cache_creation" => set(&mut u.cache_creation, c.null_or(Self::cache_creation)),
            b"output_tokens_details" => set(&mut u.output_tokens_details, c.null_or(Self::output_details)),
            _ => c.skip(),
        })?;
        Some(u)
    }

    fn output_details(&mut self) -> Option<RawOutputDetails> {
        let mut d = RawOutputDetails::default();
        self.object(|c, key| match key {
            b"thinking_tokens" => set(&mut d.thinking_tokens, c.count()),
            _ => c.skip(),
        })?;
        Some(d)
    }

    fn cache_creation(&mut self) -> Option<RawCacheCreation> {
        let mut cc = RawCacheCreation::default();
        self.object(|c, key| match key {
            b"ephemeral_5m_input_tokens" => set(&mut cc.ephemeral_5m_input_tokens, c.count()),
            b"ephemeral_1h_input_tokens" => set(&mut cc.ephemeral_1h_input_tokens, c.count()),
            _ => c.skip(),
        })?;
        Some(cc)
    }

    /// `message.content`'s size, as [`Content`] measures it: a string's characters, or the
    /// sum over an array of blocks (zero if any block cannot be measured); `null` is zero.
    fn content(&mut self) -> Option<ContentSize> {
        match self.peek()? {
            b'"' => self.string().map(|s| ContentSize { chars: s.chars(), tool_uses: 0 }),
            b'n' => self.literal(b"null").map(|()| ContentSize::default()),
            b'[' => {
                let mut total = Some(ContentSize::default());
                self.array(|c| {
                    total = add_block(total, c.block()?);
                    Some(())
                })?;
                Some(total.unwrap_or_default())
            }
            _ => None,
        }
    }

    /// One content block: `Some(None)` when it cannot be measured (as `content::Block`).
    fn block(&mut self) -> Option<Option<ContentSize>> {
        if self.peek()? != b'{' {
            return None;
        }
        let mut f = BlockFields::default();
        self.object(|c, key| {
            match key {
                b"type" => {
                    f.kind = match c.peek()? {
                        b'"' => Field::Measured(Some(c.string_value()?)),
                        b'n' => c.literal(b"null").map(|()| Field::Measured(None))?,
                        _ => c.skip().map(|()| Field::Unmeasurable)?,
                    }
                }
                b"input" => f.input = Some(chars(c.raw_value()?)),
                b"text" => f.text = c.measured_chars()?,
                b"thinking" => f.thinking = c.measured_chars()?,
                b"name" => f.name = c.measured_chars()?,
                _ => c.skip()?,
            }
            Some(())
        })?;
        Some(f.size())
    }

    /// A string field's characters, `null` as none; any other value cannot be measured.
    fn measured_chars(&mut self) -> Option<Field<u64>> {
        match self.peek()? {
            b'"' => Some(Field::Measured(self.string()?.chars())),
            b'n' => self.literal(b"null").map(|()| Field::Measured(0)),
            _ => self.skip().map(|()| Field::Unmeasurable),
        }
    }
}

/// Where a string that closes within the first 16 bytes of `b` without an escape or a control
/// byte ends (the index of its closing quote); `None` otherwise, or where 16 bytes do not
/// remain.
#[inline(always)]
fn short_string_end(b: &[u8]) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    if let Some(chunk) = b.get(..16) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the 16 bytes of `chunk`.
        let (quote, other) = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>());
            let limit = _mm_set1_epi8(0x1f);
            let quote = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)));
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
            let other = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)), control));
            (quote as u32, other as u32)
        };
        let first = quote & quote.wrapping_neg();
        // The first quote comes before any other special byte.
        return (first != 0 && (first - 1) & other == 0).then(|| first.trailing_zeros() as usize);
    }
    let _ = b;
    None
}

/// Bytes a [`Masks`] covers.
use crate::scan::bytes::BLOCK;

/// The bytes that may follow a backslash in a two-byte JSON escape.
static SHORT_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let chars = b"\"\\/bfnrt";
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    t
};

/// A bit per byte of a block of [`BLOCK`] bytes, for each kind of byte that ends a string's
/// plain run.
struct Masks {
    quote: u64,
    backslash: u64,
    /// Bytes below 0x20, which JSON does not allow raw in a string.
    control: u64,
}

impl Masks {
    /// The masks of the first [`BLOCK`] bytes of `b`; past its end, bytes read as control
    /// bytes (a string still open there is not closed on the line).
    #[inline(always)]
    fn of(b: &[u8]) -> Self {
        crate::scan::bytes::with_block(b, Self::of_block)
    }

    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    #[inline(always)]
    fn of_block(block: &[u8; BLOCK]) -> Self {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the four 16-byte loads lie inside the
        // 64-byte array.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let limit = _mm_set1_epi8(0x1f);
            let p = block.as_ptr().cast::<__m128i>();
            let mut m = Masks { quote: 0, backslash: 0, control: 0 };
            for k in 0..4 {
                let v = _mm_loadu_si128(p.add(k));
                let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
                m.quote |= bits(_mm_cmpeq_epi8(v, quote));
                m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
                // max(x, 0x1f) == 0x1f exactly when x <= 0x1f (unsigned).
                m.control |= bits(_mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit));
            }
            m
        }
    }

    #[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
    fn of_block(block: &[u8; BLOCK]) -> Self {
        let mut m = Masks { quote: 0, backslash: 0, control: 0 };
        for (i, &c) in block.iter().enumerate() {
            m.quote |= u64::from(c == b'"') << i;
            m.backslash |= u64::from(c == b'\\') << i;
            m.control |= u64::from(c < 0x20) << i;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Record, parse, parse_plain};
    use super::*;

    /// What serde_json makes of the line, through the same interpretation.
    fn plain(line: &str) -> String {
        format!("{:?}", parse_plain(line.as_bytes()).map_err(|e| e.to_string()))
    }

    /// The line is read here (not left to serde_json) and the result is serde_json's.
    fn skims(line: &str) {
        let mut raw = RawLine::default();
        read_into(line, &mut raw).unwrap_or_else(|| panic!("left to serde_json: {line}"));
        assert_eq!(format!("{:?}", Ok::<_, String>(super::super::interpret(raw, line))), plain(line), "{line}");
    }

    /// The line is left to serde_json.
    fn leaves(line: &str) {
        assert!(read_into(line, &mut RawLine::default()).is_none(), "read by skim: {line}");
    }

    fn response(line: &str) -> crate::scan::line::ResponseLine<'_> {
        match parse(line.as_bytes()) {
            Ok(Record::Response(_, r)) => r,
            other => panic!("not a response: {other:?}"),
        }
    }

    const REAL: &str = r#"{"parentUuid":"p","isSidechain":false,"userType":"external","cwd":"/home/u/p","sessionId":"s1","version":"2.1.39","message":{"model":"claude-opus-4-6","id":"msg_1","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Edit","input":{"file_path":"/a.ex","old_string":"  a\n  b","new_string":"x\"y\""},"caller":{"type":"direct"}}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1,"cache_creation_input_tokens":210,"cache_read_input_tokens":51799,"output_tokens":1493,"server_tool_use":{"web_search_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":210,"ephemeral_5m_input_tokens":0},"inference_geo":"","iterations":[]}},"requestId":"req_1","type":"assistant","uuid":"a1","timestamp":"2026-02-11T20:37:46.513Z"}"#;

    #[test]
    fn reads_a_real_line_as_serde_does() {
        skims(REAL);
        let r = response(REAL);
        // name "Edit" 4 + the input's raw text as written, escapes included: 1 + 11 + 1 + 7 + 1
        // + 12 + 1 + 10 + 1 + 12 + 1 + 8 + 1 = 67 characters.
        let input = r#"{"file_path":"/a.ex","old_string":"  a\n  b","new_string":"x\"y\""}"#;
        assert_eq!(input.chars().count(), 67);
        assert_eq!(r.content, ContentSize { chars: 4 + 67, tool_uses: 1 });
        assert_eq!(r.usage.output, Some(1493));
        assert_eq!(r.usage.cache_creation, 210);
    }

    #[test]
    fn counts_characters_after_unescaping() {
        // "a\nb\u00e9\"\\/" unescapes to a, LF, b, é, ", \, / : 7 characters; "ü€😀" to 3.
        let line = r#"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"a\nb\u00e9\"\\\/"},{"type":"thinking","thinking":"ü€😀","signature":"c2ln"}]}}"#;
        skims(line);
        assert_eq!(response(line).content, ContentSize { chars: 10, tool_uses: 0 });
        let line = r#"{"type":"assistant","message":{"id":"m","content":"t\tab"}}"#;
        skims(line);
        assert_eq!(response(line).content.chars, 4);
    }

    #[test]
    fn escaped_values_are_unescaped() {
        let line = r#"{"type":"assistant","cwd":"C:\\Users\\u","message":{"id":"m\u0031","model":"claude-opus-4-6"}}"#;
        skims(line);
        let Ok(Record::Response(env, r)) = parse(line.as_bytes()) else { panic!() };
        assert_eq!(env.cwd.as_deref(), Some(r"C:\Users\u"));
        assert_eq!(r.message_id, "m1");
    }

    #[test]
    fn escape_masks_match_a_byte_by_byte_walk() {
        // Three blocks of backslashes and other bytes, backslashes one byte in 3, 2 and 4
        // in 3 (long runs), from a fixed xorshift sequence.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..30_000 {
            let den = [3, 2, 4][round % 3];
            let num = [1, 1, 3][round % 3];
            let bytes: Vec<u8> = (0..3 * BLOCK).map(|_| if next() % den < num { b'\\' } else { b'a' }).collect();
            // The plain walk: a backslash escapes the next byte, which starts nothing.
            let mut want = vec![false; bytes.len() + 1];
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' {
                    want[i + 1] = true;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            let mut escapes = Escapes::default();
            for (b, block) in bytes.chunks(BLOCK).enumerate() {
                let backslash = block.iter().enumerate().fold(0u64, |m, (j, &c)| m | u64::from(c == b'\\') << j);
                let got = escapes.next(backslash);
                for j in 0..BLOCK {
                    assert_eq!(got >> j & 1 == 1, want[b * BLOCK + j], "round {round}, byte {}", b * BLOCK + j);
                }
            }
            assert_eq!(escapes.next_is_escaped == 1, want[bytes.len()], "round {round}, carry out");
        }
    }

    #[test]
    fn strings_across_blocks() {
        // Escapes and the closing quote on both sides of the 64-byte blocks.
        for n in 55..75 {
            let text = format!("{}\\n\\\"{}", "x".repeat(n), "y".repeat(n));
            let line = format!(
                r#"{{"type":"assistant","message":{{"id":"m","content":[{{"type":"text","text":"{text}"}}]}}}}"#
            );
            skims(&line);
            assert_eq!(response(&line).content.chars, 2 * n as u64 + 2);
        }
    }

    #[test]
    fn unusual_lines_are_left_to_serde() {
        let m = |inner: &str| format!(r#"{{"type":"assistant","message":{{"id":"m",{inner}}}}}"#);
        for line in [
            // Surrogate escapes, paired or not.
            m(r#""content":"\ud83d\ude00""#),
            m(r#""content":"\udc00""#),
            // An escaped key (serde_json unescapes it and may match a field).
            m(r#""c\u006fntent":"x""#),
            // Counts that are not plain integers.
            m(r#""usage":{"output_tokens":1.5}"#),
            m(r#""usage":{"output_tokens":-1}"#),
            m(r#""usage":{"output_tokens":"12"}"#),
            m(r#""usage":{"output_tokens":99999999999999999999}"#),
            // Values of types serde's derive reads differently.
            m(r#""usage":[1,2]"#),
            m(r#""content":{"text":"x"}"#),
            m(r#""content":["x"]"#),
            m(r#""id":5"#),
            // Broken JSON.
            m(r#""content":"a\qb""#),
            m(r#""content":"a\u12g4""#),
            m(r#""content":"tab	raw""#),
            m(r#""x":01"#),
            m(r#""x":1."#),
            m(r#""x":[1,]"#),
            m(r#""x":tru"#),
            format!("{}x", m(r#""x":1"#)),
            r#"{"type":"assistant","message":{"id":"m""#.to_string(),
            // Deeper than MAX_DEPTH.
            m(&format!(r#""x":{}{}"#, "[".repeat(70), "]".repeat(70))),
        ] {
            leaves(&line);
        }
    }

    #[test]
    fn odd_but_valid_values_are_read_as_serde_does() {
        let m = |inner: &str| format!(r#"{{"type":"assistant", "message" : {{ "id" : "m" , {inner} }} }}"#);
        for line in [
            m(r#""content":null,"usage":null,"model":null"#),
            m(r#""content":[{"type":"text","text":null},{"type":5,"text":"x"}]"#),
            m(r#""content":[{"type":"text","text":"a","text":"b"}]"#),
            m(r#""content":[{"type":"tool_use","name":"n","input":[1, 2 ,{"a":"\u00e9"}]}]"#),
            m(r#""usage":{"output_tokens":0,"cache_creation":null,"x":{"y":[1e5,-2.5E-3,true,false,null]}}"#),
            m(r#""stop_reason":"max_tokens","extra":"a","extra":"b""#),
            // Keys written twice: the last value wins, at every depth.
            m(r#""model":"a","model":"b""#),
            m(r#""usage":{"output_tokens":5,"output_tokens":700},"usage":{"output_tokens":9,"input_tokens":3,"output_tokens":800}"#),
            m(r#""usage":{"output_tokens":5},"usage":null"#),
            m(r#""content":[{"type":"text","text":"a","text":"bcd"}],"stop_reason":null,"stop_reason":"max_tokens""#),
            r#"{"type":"user","type":"assistant","isSidechain":true,"isSidechain":false,"message":{"id":"m1","id":"m2"}}"#.to_string(),
            r#"{"type":"assistant","type":"user","message":{"id":"m"}}"#.to_string(),
            r#"{"type":"assistant","error":"x","error":null,"isApiErrorMessage":true,"message":{"id":"e","content":"API Error: 429 Too many tokens"},"message":{"id":"e","content":[{"type":"text","text":"Rate limit reached"}]},"apiErrorStatus":529,"apiErrorStatus":429}"#.to_string(),
            r#"{"type":"system","subtype":"init","subtype":"api_error","error":{"status":429},"retryAttempt":1,"retryAttempt":2}"#.to_string(),
            r#"{"type":"system","subtype":"api_error","error":{"status":429},"retryAttempt":2}"#.to_string(),
            r#"{"type":"assistant","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"message":{"id":"e","model":"<synthetic>","content":[{"type":"text","text":"API Error: 429 Too many tokens"}]}}"#.to_string(),
            r#"{"type":"user","isMeta":true,"message":{"role":"user","content":[{"type":"text","text":"Output token limit hit. Resume"}]}}"#.to_string(),
            r#"{"type":null,"error":null,"isSidechain":null}"#.to_string(),
            m(&format!(r#""x":{}{}"#, "[".repeat(60), "]".repeat(60))),
        ] {
            skims(&line);
        }
    }
}
