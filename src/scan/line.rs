//! One transcript line: JSON to the few facts the report needs.
//!
//! Strings are borrowed from the line where JSON escapes allow; the bulky parts (tool
//! results, message content of user lines) are only validated, never copied.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::classify::{ErrorKind, Wording, classify};
use super::content::Content;
use crate::estimate::ContentSize;

pub(crate) mod last_wins;
mod skim;

pub use skim::{Scalar, flat_object};

/// A token count read leniently: numbers, numeric strings and fractions are accepted;
/// negative numbers, `null` and other shapes read as "not stated" rather than spoiling the
/// line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count(pub Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a token count")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
                Ok(Count(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Count, E> {
                Ok(Count((v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then_some(v as u64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Count, E> {
                Ok(Count(v.trim().parse().ok()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_none<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Count, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Count, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Count, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
        }
        d.deserialize_any(V)
    }
}

type Str<'a> = Option<Cow<'a, str>>;

/// Reads a string borrowed from the line when it holds no escape (serde's own `Option<Cow>`
/// always copies), `null` as `None`. A value of another type (a number, an object) reads as
/// "not stated": a field the counts can do without never costs the line.
fn borrowed<'de, D: de::Deserializer<'de>>(d: D) -> Result<Str<'de>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Str<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
            Ok(Some(Cow::Borrowed(s)))
        }
        fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
            Ok(Some(Cow::Owned(s.to_string())))
        }
        fn visit_none<E>(self) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Str<'de>, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Str<'de>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Str<'de>, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Str<'de>, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_option(V)
}

/// Reads `true`/`false`; `null` and values of another type read as "not stated" (skipped,
/// not built).
fn flag<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E>(self, b: bool) -> Result<Option<bool>, E> {
            Ok(Some(b))
        }
        fn visit_str<E>(self, _: &str) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<bool>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Option<bool>, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Option<bool>, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawLine<'a> {
    #[serde(rename = "type", borrow, default, deserialize_with = "borrowed")]
    kind: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    subtype: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    uuid: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    session_id: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    timestamp: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    version: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    cwd: Str<'a>,
    #[serde(default, deserialize_with = "flag")]
    is_sidechain: Option<bool>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    agent_id: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    request_id: Str<'a>,
    #[serde(default, deserialize_with = "flag")]
    is_api_error_message: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    is_meta: Option<bool>,
    #[serde(borrow, default)]
    message: Option<RawMessage<'a>>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    #[serde(default)]
    api_error_status: Count,
    #[serde(default)]
    retry_attempt: Count,
    #[serde(default)]
    retry_in_ms: Count,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    effort: Str<'a>,
}

#[derive(Deserialize, Default)]
struct RawMessage<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    id: Str<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    model: Str<'a>,
    #[serde(default)]
    content: Content,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    stop_reason: Str<'a>,
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    input_tokens: Count,
    #[serde(default)]
    output_tokens: Count,
    #[serde(default)]
    cache_creation_input_tokens: Count,
    #[serde(default)]
    cache_read_input_tokens: Count,
    #[serde(default)]
    cache_creation: Option<RawCacheCreation>,
    #[serde(default)]
    output_tokens_details: Option<RawOutputDetails>,
}

#[derive(Deserialize, Default)]
struct RawOutputDetails {
    #[serde(default)]
    thinking_tokens: Count,
}

#[derive(Deserialize, Default)]
struct RawCacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: Count,
    #[serde(default)]
    ephemeral_1h_input_tokens: Count,
}

/// A content block, for its text (error messages and recovery prompts).
#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    text: Str<'a>,
}

/// The envelope fields every event keeps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub uuid: Option<Cow<'a, str>>,
    pub session_id: Option<Cow<'a, str>>,
    pub timestamp: Option<Cow<'a, str>>,
    pub version: Option<Cow<'a, str>>,
    pub cwd: Option<Cow<'a, str>>,
    pub is_sidechain: bool,
    pub agent_id: Option<Cow<'a, str>>,
}

/// Token usage of one response line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    /// `None` where the line has no usable count (missing, or not a non-negative number): the
    /// response's size is then estimated from its content, never taken as 0.
    pub output: Option<u64>,
    pub cache_creation: u64,
    pub cache_read: u64,
    /// Of the output, thinking (`output_tokens_details.thinking_tokens`), where written.
    pub thinking: Option<u64>,
}

/// A line of a real API response (one content block of it).
#[derive(Debug, PartialEq, Eq)]
pub struct ResponseLine<'a> {
    /// The effort level it was asked at (top-level `effort`, 2.1.212).
    pub effort: Option<Cow<'a, str>>,
    pub message_id: Cow<'a, str>,
    pub request_id: Option<Cow<'a, str>>,
    pub model: Option<Cow<'a, str>>,
    pub usage: Usage,
    pub max_tokens_stop: bool,
    pub content: ContentSize,
}

/// What a line means for the report.
#[derive(Debug, PartialEq, Eq)]
pub enum Record<'a> {
    Response(Envelope<'a>, ResponseLine<'a>),
    /// An `isApiErrorMessage` line: a request that failed for good.
    FinalError(Envelope<'a>, FinalError),
    /// A `system`/`api_error` line: one retry sleep after a failed attempt.
    Retry(Envelope<'a>, Retry),
    /// The meta `Output token limit hit.` user line Claude Code injects to continue a cut
    /// response.
    RecoveryPrompt(Envelope<'a>),
    /// Any other user line (a prompt, a tool result): the moment a request is sent.
    User(Envelope<'a>),
    /// Anything else: valid, but nothing to count.
    Other,
}

fn owned(s: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
    s.map(|s| Cow::Owned(s.into_owned()))
}

impl Envelope<'_> {
    pub fn into_owned(self) -> Envelope<'static> {
        Envelope {
            uuid: owned(self.uuid),
            session_id: owned(self.session_id),
            timestamp: owned(self.timestamp),
            version: owned(self.version),
            cwd: owned(self.cwd),
            is_sidechain: self.is_sidechain,
            agent_id: owned(self.agent_id),
        }
    }
}

impl Record<'_> {
    /// The record with every string its own, not borrowed from the line.
    pub fn into_owned(self) -> Record<'static> {
        match self {
            Record::Response(env, r) => Record::Response(
                env.into_owned(),
                ResponseLine {
                    effort: owned(r.effort),
                    message_id: Cow::Owned(r.message_id.into_owned()),
                    request_id: owned(r.request_id),
                    model: owned(r.model),
                    usage: r.usage,
                    max_tokens_stop: r.max_tokens_stop,
                    content: r.content,
                },
            ),
            Record::FinalError(env, e) => Record::FinalError(env.into_owned(), e),
            Record::Retry(env, r) => Record::Retry(env.into_owned(), r),
            Record::RecoveryPrompt(env) => Record::RecoveryPrompt(env.into_owned()),
            Record::User(env) => Record::User(env.into_owned()),
            Record::Other => Record::Other,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct FinalError {
    pub kind: ErrorKind,
    /// When a usage limit or spend cap resets, as its text says.
    pub reset: Option<String>,
    /// `message.id` (a UUID on error lines), the fallback dedup key when `uuid` is missing.
    pub message_id: Option<String>,
    pub text: String,
    /// Whose words its text is in, for a throttling one.
    pub wording: Option<Wording>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Retry {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub attempt: Option<u64>,
    pub retry_in_ms: Option<u64>,
    /// Whose words its text is in, for a throttling one.
    pub wording: Option<Wording>,
}

pub const RECOVERY_PREFIX: &str = "Output token limit hit.";

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Named by its column and kind only: serde_json's own message quotes the line's data,
    /// which may be anything (a secret pasted into a prompt).
    #[error("invalid JSON at column {}: {}", .0.column(), json_kind(.0))]
    Json(#[from] serde_json::Error),
    #[error("not a JSON object")]
    NotObject,
    #[error("invalid UTF-8 at byte {0}")]
    Utf8(usize),
    #[error("control byte at byte {0} (JSON allows none)")]
    Control(usize),
    #[error("not a whole JSON object: it does not start with {{ and end with }} (cut short?)")]
    Unframed,
}

/// What kind of JSON error it is, in words that quote nothing of the data.
fn json_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Data => "a value of the wrong shape",
        serde_json::error::Category::Io => "read error",
    }
}

/// Parses one line (without its line ending). Blank lines are `Ok(Record::Other)`.
///
/// The common well-formed line is read by `skim` (the hand-written reader), the rest by
/// serde_json; the result is the same as [`parse_plain`]'s.
pub fn parse(line: &[u8]) -> Result<Record<'_>, LineError> {
    parse_with(line, true)
}

/// [`parse`] with serde_json alone: the reference (`--full-parse`).
pub fn parse_plain(line: &[u8]) -> Result<Record<'_>, LineError> {
    parse_with(line, false)
}

/// `fast`: try [`skim`] before serde_json.
fn parse_with(line: &[u8], fast: bool) -> Result<Record<'_>, LineError> {
    // The whole line must be UTF-8, including parts the scan would skip.
    let Ok(line) = simdutf8::basic::from_utf8(line) else {
        return Err(LineError::Utf8(std::str::from_utf8(line).err().map_or(0, |e| e.valid_up_to())));
    };
    // JSON's whitespace only: a form feed is not blank, it makes the line malformed.
    let trimmed = line.trim_matches([' ', '\t', '\n', '\r']);
    if trimmed.is_empty() {
        return Ok(Record::Other);
    }
    if !trimmed.starts_with('{') {
        // Still a JSON error if it is not JSON at all; a valid non-object is just odd.
        serde_json::from_str::<IgnoredAny>(trimmed)?;
        return Err(LineError::NotObject);
    }
    if fast {
        let mut raw = RawLine::default();
        if skim::read_into(trimmed, &mut raw).is_some() {
            return Ok(interpret(raw, trimmed));
        }
    }
    // As Claude Code's JSON.parse: a key written twice takes its last value.
    let refused = match last_wins::from_str::<RawLine<'_>>(trimmed) {
        Ok(raw) => return Ok(interpret(raw, trimmed)),
        Err(e) => e,
    };
    // What else JSON.parse takes (a lone surrogate, a number too large for a double), in
    // a text of the same length: serde_json's verdict on it names the same column.
    let Some(text) = crate::jsparse::reading(trimmed, None) else { return Err(refused.into()) };
    let raw: RawLine<'_> = last_wins::from_str(&text)?;
    Ok(interpret(raw, &text).into_owned())
}

fn interpret<'a>(raw: RawLine<'a>, line: &'a str) -> Record<'a> {
    let env = Envelope {
        uuid: raw.uuid,
        session_id: raw.session_id,
        timestamp: raw.timestamp,
        version: raw.version,
        cwd: raw.cwd,
        is_sidechain: raw.is_sidechain.unwrap_or(false),
        agent_id: raw.agent_id,
    };
    match raw.kind.as_deref() {
        Some("assistant") => {
            let Some(msg) = raw.message else { return Record::Other };
            let is_error = raw.is_api_error_message == Some(true);
            let synthetic = msg.model.as_deref() == Some("<synthetic>");
            if is_error {
                let text = content_text(line).unwrap_or_default();
                let code = raw.error.and_then(|e| serde_json::from_str::<String>(e.get()).ok());
                let status = raw.api_error_status.0.and_then(|s| u16::try_from(s).ok());
                // A notice written as an error line (`Approaching Opus usage limit`) is no error.
                let Some(kind) = classify(&text, status, code.as_deref()) else { return Record::Other };
                let reset = matches!(kind, ErrorKind::UsageLimit | ErrorKind::SpendCap)
                    .then(|| super::classify::reset_of(&text))
                    .flatten();
                let wording = super::classify::throttled_wording(kind, &text);
                return Record::FinalError(
                    env,
                    FinalError { kind, reset, message_id: msg.id.map(Cow::into_owned), text, wording },
                );
            }
            if synthetic {
                return Record::Other;
            }
            let Some(message_id) = msg.id else { return Record::Other };
            let usage = msg.usage.map(usage_of).unwrap_or_default();
            Record::Response(
                env,
                ResponseLine {
                    effort: raw.effort,
                    message_id,
                    request_id: raw.request_id,
                    model: msg.model,
                    usage,
                    max_tokens_stop: msg.stop_reason.as_deref() == Some("max_tokens"),
                    content: msg.content.0,
                },
            )
        }
        Some("system") if raw.subtype.as_deref() == Some("api_error") => {
            let text = raw.error.map(RawValue::get).unwrap_or("");
            let status = raw.error.and_then(status_of);
            let Some(kind) = classify(text, status, None) else { return Record::Other };
            let wording = super::classify::throttled_wording(kind, text);
            Record::Retry(
                env,
                Retry { kind, status, attempt: raw.retry_attempt.0, retry_in_ms: raw.retry_in_ms.0, wording },
            )
        }
        Some("user") => {
            let recovery = raw.is_meta == Some(true)
                && content_text(line).is_some_and(|t| t.trim_start().starts_with(RECOVERY_PREFIX));
            if recovery { Record::RecoveryPrompt(env) } else { Record::User(env) }
        }
        _ => Record::Other,
    }
}

fn usage_of(u: RawUsage) -> Usage {
    let flat = u.cache_creation_input_tokens.0;
    // Since 2.1.152 the nested pair is authoritative when both are present.
    let nested = u.cache_creation.and_then(|c| match (c.ephemeral_5m_input_tokens.0, c.ephemeral_1h_input_tokens.0) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    });
    Usage {
        input: u.input_tokens.0.unwrap_or(0),
        output: u.output_tokens.0,
        cache_creation: nested.or(flat).unwrap_or(0),
        cache_read: u.cache_read_input_tokens.0.unwrap_or(0),
        thinking: u.output_tokens_details.and_then(|d| d.thinking_tokens.0),
    }
}

/// `error.status` of a `system`/`api_error` line.
fn status_of(error: &RawValue) -> Option<u16> {
    #[derive(Deserialize)]
    struct S {
        #[serde(default)]
        status: Count,
    }
    let s: S = last_wins::from_str(error.get()).ok()?;
    s.status.0.and_then(|v| u16::try_from(v).ok())
}

/// The text of a line's `message.content`: a plain string, or the `text` of its text blocks
/// joined. Read again from the line, only for the rare lines that need it (errors and
/// recovery prompts), so that the common parse keeps no text.
fn content_text(line: &str) -> Option<String> {
    // The fast path hands over a line serde_json may refuse where JSON.parse does not (a
    // number too large for a double): read it as the full parse reads it.
    content_text_of(line).or_else(|| content_text_of(&crate::jsparse::reading(line, None)?))
}

fn content_text_of(line: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Line<'a> {
        #[serde(borrow)]
        message: Option<Message<'a>>,
    }
    #[derive(Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        content: Option<&'a RawValue>,
    }
    let raw = last_wins::from_str::<Line<'_>>(line).ok()?.message?.content?.get();
    if raw.starts_with('"') {
        return serde_json::from_str::<String>(raw).ok();
    }
    let blocks: Vec<RawBlock<'_>> = last_wins::from_str(raw).ok()?;
    let texts: Vec<Cow<'_, str>> = blocks.into_iter().filter_map(|b| b.text).collect();
    Some(texts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Record<'_> {
        parse(s.as_bytes()).expect("parses")
    }

    #[test]
    fn assistant_line_with_spaces_and_split_usage() {
        let line = r#"{"type": "assistant", "uuid": "u1", "sessionId": "s1", "requestId": "req_1",
            "message": {"id": "msg_1", "model": "claude-opus-4-6", "content": [{"type": "text", "text": "héllo"}],
            "stop_reason": "max_tokens", "usage": {"input_tokens": 3, "output_tokens": "120",
            "cache_creation_input_tokens": 50, "cache_read_input_tokens": 7.0,
            "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 30}}}}"#;
        let line = line.replace('\n', " ");
        let Record::Response(env, r) = p(&line) else { panic!("not a response") };
        assert_eq!(env.uuid.as_deref(), Some("u1"));
        assert_eq!(r.message_id, "msg_1");
        assert_eq!(r.request_id.as_deref(), Some("req_1"));
        assert_eq!(r.usage, Usage { input: 3, output: Some(120), cache_creation: 40, cache_read: 7, thinking: None });
        assert!(r.max_tokens_stop);
        assert_eq!(r.content, ContentSize { chars: 5, tool_uses: 0 });
    }

    #[test]
    fn tool_use_content_counts_name_and_input() {
        let line = r#"{"type":"assistant","message":{"id":"m","content":[{"type":"thinking","thinking":"abc","signature":"zzzzzzzz"},{"type":"tool_use","id":"t","name":"Bash","input":{"a":1}}],"usage":{"output_tokens":1}}}"#;
        let Record::Response(_, r) = p(line) else { panic!() };
        // thinking 3 + name 4 + `{"a":1}` 7; the signature is not output text.
        assert_eq!(r.content, ContentSize { chars: 14, tool_uses: 1 });
    }

    #[test]
    fn negative_and_odd_counts_read_as_absent() {
        let line = r#"{"type":"assistant","message":{"id":"m","usage":{"output_tokens":-5,"input_tokens":{"x":1},"cache_read_input_tokens":[1]}}}"#;
        let Record::Response(_, r) = p(line) else { panic!() };
        assert_eq!(r.usage, Usage::default());
    }

    #[test]
    fn synthetic_and_error_lines_are_not_responses() {
        let err = r#"{"type":"assistant","uuid":"e1","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"message":{"id":"0b7c","model":"<synthetic>","content":[{"type":"text","text":"API Error: 429 Too many tokens, please wait before trying again."}],"usage":{"output_tokens":0}}}"#;
        let Record::FinalError(env, e) = p(err) else { panic!() };
        assert_eq!(env.uuid.as_deref(), Some("e1"));
        assert_eq!((e.kind, e.wording), (ErrorKind::RateLimit, Some(Wording::Bedrock)));
        assert_eq!(e.message_id.as_deref(), Some("0b7c"));
        let synthetic = r#"{"type":"assistant","message":{"id":"x","model":"<synthetic>","content":[{"type":"text","text":"No response requested."}]}}"#;
        assert_eq!(p(synthetic), Record::Other);
    }

    #[test]
    fn retry_line() {
        let line = r#"{"type":"system","subtype":"api_error","level":"error","uuid":"r1","error":{"status":429,"error":{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}},"retryAttempt":2,"maxRetries":10,"retryInMs":1000}"#;
        let Record::Retry(_, r) = p(line) else { panic!() };
        assert_eq!(
            r,
            Retry {
                kind: ErrorKind::RateLimit,
                status: Some(429),
                attempt: Some(2),
                retry_in_ms: Some(1000),
                wording: Some(Wording::Anthropic)
            }
        );
        // A 429 that names no cause is not throttling (and its words are not counted).
        let bare = r#"{"type":"system","subtype":"api_error","error":{"status":429,"error":{"type":"error","error":{"type":"rate_limit_error"}}},"retryAttempt":1}"#;
        let Record::Retry(_, r) = p(bare) else { panic!() };
        assert_eq!((r.kind, r.wording), (ErrorKind::Unclassified429, None));
    }

    #[test]
    fn recovery_prompt_only_when_meta() {
        let meta = r#"{"type":"user","isMeta":true,"uuid":"m1","message":{"role":"user","content":[{"type":"text","text":"Output token limit hit. Resume directly from where you left off."}]}}"#;
        assert!(matches!(p(meta), Record::RecoveryPrompt(_)));
        let typed = r#"{"type":"user","uuid":"m2","message":{"role":"user","content":"Output token limit hit. Resume directly"}}"#;
        assert!(matches!(p(typed), Record::User(_)));
    }

    #[test]
    fn error_text_beside_a_number_too_large_reads_as_the_full_parse() {
        // Found by tests/line_paths.rs: a block's `text` of -9.9e999 (JSON.parse: -Infinity)
        // left the fast path's error text empty while the full parse read the next block's.
        let line = r#"{"isApiErrorMessage":true,"type":"assistant","message":{"id":"w","content":[{"text": -9.9e999},{"type":"text","text":"API Error: 429 Too many tokens"}]}}"#;
        for r in [parse(line.as_bytes()), parse_plain(line.as_bytes())] {
            let Ok(Record::FinalError(_, e)) = r else { panic!("an error line: {r:?}") };
            assert_eq!(e.text, "API Error: 429 Too many tokens");
        }
    }

    #[test]
    fn quoted_error_text_in_prompts_is_not_an_error() {
        let prompt = r#"{"type":"user","message":{"role":"user","content":"why do I get API Error: 429 Too many tokens, please wait before trying again."}}"#;
        assert!(matches!(p(prompt), Record::User(_)));
        let prose = r#"{"type":"assistant","message":{"id":"m9","model":"claude-sonnet-4-5","content":[{"type":"text","text":"The error `Claude's response exceeded the 32000 output token maximum` means..."}],"usage":{"output_tokens":40}}}"#;
        assert!(matches!(p(prose), Record::Response(..)));
    }

    /// A key written twice takes its last value, as Claude Code's JSON.parse reads it, on the
    /// fast path and in the full parse alike.
    #[test]
    fn a_key_written_twice_takes_its_last_value() {
        fn both(line: &str) -> Record<'_> {
            let (fast, plain) =
                (parse(line.as_bytes()).expect("parses"), parse_plain(line.as_bytes()).expect("parses"));
            assert_eq!(fast, plain, "{line}");
            fast
        }
        let line = r#"{"type":"assistant","uuid":"u1","requestId":"req_1","message":{"id":"msg_1","model":"claude-opus-4-6","usage":{"input_tokens":3,"output_tokens":1,"output_tokens":1200}}}"#;
        let Record::Response(_, r) = both(line) else { panic!("not a response") };
        assert_eq!((r.usage.output, r.usage.input), (Some(1200), 3));
        // The type decides what the line is: the last one.
        assert!(matches!(both(r#"{"type":"assistant","type":"user","uuid":"u2"}"#), Record::User(_)));
        let line = r#"{"type":"user","type":"assistant","message":{"id":"m","model":"claude-opus-4-6","usage":{"output_tokens":7}}}"#;
        assert!(matches!(both(line), Record::Response(..)));
        // An error line's text and status: the last ones.
        let line = r#"{"type":"assistant","isApiErrorMessage":true,"apiErrorStatus":529,"apiErrorStatus":429,"message":{"id":"e","model":"<synthetic>","content":[{"type":"text","text":"API Error: 529 Overloaded","text":"API Error: Rate limit reached"}]}}"#;
        let Record::FinalError(_, e) = both(line) else { panic!("not an error") };
        assert_eq!(e.kind, ErrorKind::Unclassified429);
        assert_eq!(e.text, "API Error: Rate limit reached");
        let line = r#"{"type":"system","subtype":"api_error","error":{"status":529,"status":429,"error":{"message":"Too many tokens"}},"retryAttempt":1}"#;
        let Record::Retry(_, r) = both(line) else { panic!("not a retry") };
        assert_eq!((r.kind, r.status), (ErrorKind::RateLimit, Some(429)));
        // A line broken otherwise is still refused, in serde_json's words.
        assert!(parse(br#"{"type":"assistant","type":"assistant""#).is_err());
    }

    #[test]
    fn progress_lines_do_not_count() {
        let line = r#"{"type":"progress","data":{"type":"agent_progress","message":{"type":"assistant","message":{"id":"m","usage":{"output_tokens":999}}}}}"#;
        assert_eq!(p(line), Record::Other);
    }

    #[test]
    fn bad_lines_are_errors_blank_is_fine() {
        assert!(parse(b"{\"type\":\"assistant\"").is_err());
        assert!(parse(b"\0\0\0\0").is_err());
        assert!(parse(b"[1,2]").is_err());
        assert!(parse(b"{\"text\":\"\xff\"}").is_err());
        assert_eq!(parse(b"   ").unwrap(), Record::Other);
        assert_eq!(parse(b"{\"type\":\"mystery-new-type\"}").unwrap(), Record::Other);
    }
}
