//! Classifies the text of an API error record into the kinds the report counts.
//!
//! Only text that comes from an error record (an `isApiErrorMessage` line, a `system`
//! `api_error` line, a debug-log `API error` line or a telemetry `api_error` event) is ever
//! passed here; the caller decides that. The kind is read from what the text says, matched
//! case-insensitively on the text with its whitespace collapsed (a pasted or logged text may
//! be wrapped anywhere), never from its status alone: a 429 is a plan's usage limit, a spend
//! cap, the server shedding load or throttling, and only the last is cured by a lower max
//! output. The wordings are those of real reports, old ones too
//! (`testdata/error-texts/corpus.jsonl`, checked by `tests/error_texts.rs`).

use std::sync::LazyLock;

use regex::Regex;

/// What an error record means for the user: one kind per cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The provider throttled: a 429 whose text names a per-minute quota or a concurrency
    /// limit (`Too many tokens`, `… input tokens per minute`, `ThrottlingException`, `Rate
    /// limited`): the only kind a lower max output can cure.
    RateLimit,
    /// A 429 whose text says neither throttling nor a usage limit or spend cap (`API Error:
    /// Rate limit reached`, the raw `rate_limit_error` "would exceed your account's rate limit"
    /// a subscriber gets behind a plan limit, a bare 429): counted apart and never as
    /// throttling, so that it cannot move the fit of the quota.
    Unclassified429,
    /// The server shedding load (`Server is temporarily limiting requests (not your usage
    /// limit)`, a gateway's model capacity), a 429 neither the user's quota nor max output
    /// causes.
    ServerLimiting,
    /// A per-day tokens quota (`Too many tokens per day`): a lower max output does not help.
    PerDayQuota,
    /// A plan's usage limit (session, 5-hour, weekly, model, extra usage or usage credits;
    /// also a gateway's plan; usually a 429).
    UsageLimit,
    /// A spend cap or no credit left (`Credit balance is too low`, a monthly spend limit,
    /// usage credits required for 1M context, a gateway's budget).
    SpendCap,
    /// `Claude's response exceeded the N output token maximum`, with N.
    OutputTokenMaximum(u64),
    /// A 400 for asking more output than the model allows (`max_tokens: X > Y`, Bedrock's
    /// `maximum tokens you requested exceeds the model limit`): the setting and the thinking
    /// budget conflict.
    OverCap,
    /// The context window is full (some versions give it the `max_output_tokens` code; it is
    /// not a cut response).
    ContextWindow,
    /// 529 overloaded.
    Overloaded,
    /// Anything else, server errors included: a 500, 502, 503 or 504, a timeout or a dropped
    /// connection says nothing about load or quota, and max output neither causes nor cures
    /// it, so a kind of their own would add a row that changes no advice.
    Other,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A reset time as the texts write one (`resets 1:40pm (Europe/Paris)`, `resets Oct 9,
/// 10am`, `resets 00:00 UTC`), each part in a closed shape: a month name and day, an hour,
/// minutes, am or pm, a zone (UTC, GMT, or an IANA name of letters); the 1.0.x `usage limit
/// reached|<epoch seconds>`. What follows the time must not run on as a word, so nothing
/// after it is read.
static RESET: LazyLock<Regex> = LazyLock::new(|| {
    const ZONE: &str = r"UTC|GMT|(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific)(?:/[A-Za-z_-]{2,30}){1,2}";
    let pattern = [
        r"resets\s+(?:at\s+)?",
        r"(?:(?i:(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))[a-z]*\.?\s+(?P<day>\d{1,2}),?\s*(?:at\s+)?)?",
        r"(?:(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s?(?P<half>(?i:am|pm))?)?",
        &format!(r"(?:\s+(?P<zone>{ZONE})|\s*\((?P<pzone>{ZONE})\))?"),
        r"(?:$|[^\w:/@.+-]|[.](?:$|\s))",
        r"|usage limit reached\|(?P<epoch>\d{9,11})",
    ]
    .concat();
    Regex::new(&pattern).expect("valid regex")
});

/// Banners Claude Code shows that are no error: the warning before a plan limit
/// (`Approaching Opus usage limit`), the switch to usage credits (`You're now using usage
/// credits`). Tried after every kind that names a cause, so that an error is never taken for
/// one.
static NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"approaching [a-z0-9 ]{0,30}limit|you're now using (?:usage credits|extra usage)").expect("valid regex")
});

/// The server shedding load, Anthropic's or a gateway's model capacity: not the user's quota.
const SERVER_LIMITING: &[&str] = &["server is temporarily limiting requests", "insufficient_model_capacity"];

/// Money, not rate: a spend cap, a credit balance, a budget. Tried before the usage limits:
/// `You've hit your monthly spend limit` and `… org's monthly usage limit` are caps on
/// spending, not a plan's window.
const SPEND_CAP: &[&str] = &[
    "enforced_spend_limit_reached",
    "spend limit",
    "credit balance is too low",
    "credit balance too low",
    "specified api usage limits",
    "monthly usage limit",
    "usage credits required",
    "extra usage is required",
    "requires more credits",
    "insufficient credits",
    "insufficient_credits",
    "budget has been exceeded",
    "budget_exceeded",
];

/// A plan's usage limit, in the wordings of every version: 1.x `Claude (AI) usage limit
/// reached`, 2.0.x `Weekly limit reached · resets …`, 2.1.x `You've hit your … limit`, the
/// extra usage or usage credits running out, and gateways' plans (z.ai, Ollama).
static USAGE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"usage limit reached|you've hit your [^.]*?limit|you're out of (?:extra usage|usage credits)",
        r"|you've reached your |your org is out of usage|limit reached[^a-z0-9]{1,5}resets",
        r"|reached your (?:\w+ )?usage limit|subscription limit|limit exhausted|使用上限",
    ))
    .expect("valid regex")
});

const PER_DAY: &[&str] = &["tokens per day", "requests per day"];

/// The context window full, as the API, Bedrock, compaction and gateways' models say it.
const CONTEXT_WINDOW: &[&str] = &[
    "prompt is too long",
    "context window",
    "exceed context limit",
    "input is too long",
    "conversation too long",
    "exceeded model token limit",
    "maximum context length",
    "context size",
    "context_length_exceeded",
];

static OVER_CAP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"max_tokens: \d+ > \d+, which is the maximum allowed",
        r"|maximum tokens you requested exceeds the model limit|max_tokens is too large",
    ))
    .expect("valid regex")
});

static OVER_CAP_NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"max_tokens: (\d{1,12}) > (\d{1,12}), which is the maximum allowed number of output tokens for ([A-Za-z0-9._:@/\[\]-]{1,200})")
        .expect("valid regex")
});

/// What an over-cap 400 names ("max_tokens: 64001 > 64000, which is the maximum allowed number
/// of output tokens for claude-opus-4-8"): the max_tokens asked, the model's maximum and the
/// model id, where the text says all three.
pub fn over_cap_named(text: &str) -> Option<(u64, u64, &str)> {
    let c = OVER_CAP_NAMED.captures(text)?;
    let model = c.get(3)?.as_str().trim_end_matches(['.', ':']);
    Some((c[1].parse().ok()?, c[2].parse().ok()?, model))
}

/// Whose words a throttling 429's text is in ([`wording`]): the provider that refused it,
/// where the text says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// `Too many tokens, please wait before trying again.`, `Too many requests, please wait
    /// …`, `ThrottlingException`.
    Bedrock,
    /// `Quota exceeded for aiplatform.googleapis.com/…`.
    Vertex,
    /// `{"type":"rate_limit_error",…}`, `… would exceed your organization's rate limit`.
    Anthropic,
}

/// The provider whose words a throttling 429's `text` is in, if they are one's.
pub fn wording(text: &str) -> Option<Wording> {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["too many tokens", "too many requests, please wait", "throttlingexception"]) {
        Some(Wording::Bedrock)
    } else if has(&["aiplatform.googleapis.com"]) {
        Some(Wording::Vertex)
    } else if has(&["rate_limit_error", "organization's rate limit", "rate limit for your organization"]) {
        Some(Wording::Anthropic)
    } else {
        None
    }
}

/// Whose words an error of `kind` is in, for a throttling one (only throttling tells the
/// provider's quota apart): what each reader keeps of the text.
pub fn throttled_wording(kind: ErrorKind, text: &str) -> Option<Wording> {
    if kind == ErrorKind::RateLimit { wording(text) } else { None }
}

/// A history's throttling 429s by whose words they are in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wordings {
    pub bedrock: u64,
    pub vertex: u64,
    pub anthropic: u64,
}

impl Wordings {
    /// Counts an error of `kind` whose text is in `wording` (only throttling counts).
    pub fn note(&mut self, kind: ErrorKind, wording: Option<Wording>) {
        match (kind, wording) {
            (ErrorKind::RateLimit, Some(Wording::Bedrock)) => self.bedrock += 1,
            (ErrorKind::RateLimit, Some(Wording::Vertex)) => self.vertex += 1,
            (ErrorKind::RateLimit, Some(Wording::Anthropic)) => self.anthropic += 1,
            _ => {}
        }
    }

    /// The provider whose words most of them are in (none on a tie or with none).
    pub fn most(&self) -> Option<Wording> {
        let all =
            [(self.bedrock, Wording::Bedrock), (self.vertex, Wording::Vertex), (self.anthropic, Wording::Anthropic)];
        let top = all.iter().map(|a| a.0).max().unwrap_or(0);
        let mut at_top = all.iter().filter(|a| a.0 == top);
        match (at_top.next(), at_top.next()) {
            (Some(&(n, w)), None) if n > 0 => Some(w),
            _ => None,
        }
    }
}

/// A request refused as invalid: whatever status a gateway wraps it in (a 429 "overloaded"
/// around an upstream 400), neither load nor a limit.
const CLIENT_ERROR: &[&str] = &["invalid_request_error", "http 400 bad request"];

/// Throttling: a per-minute quota (Anthropic's input or output tokens per minute, Bedrock's
/// `Too many tokens`, Vertex's `…_per_minute`), a concurrency limit, Claude Code's `Rate
/// limited` detail of a provider's 429.
const THROTTLED: &[&str] = &[
    "too many tokens",
    "please wait before trying again",
    "too many requests from",
    "throttl",
    "per minute",
    "per-minute",
    "per_minute",
    "organization's rate limit",
    "rate limit for your organization",
    "rate limited",
    "provider rate limit",
    "high concurrency",
    "reduce concurrency",
    "concurrency limit",
    "rate exceeded",
];

const OVERLOADED: &[&str] = &["overloaded_error", "529 overloaded", "repeated 529"];

/// A 429 by its words that says no more (`Rate limit reached`, a `rate_limit_error` with no
/// cause, Google's generic `RESOURCE_EXHAUSTED`, the status line `Too Many Requests`): tried
/// after every kind that names a cause.
const BARE_429: &[&str] =
    &["rate limit", "rate_limit", "resource_exhausted", "resource has been exhausted", "too many requests"];

static OUTPUT_MAX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"exceeded the ([0-9][0-9,]*) output token maximum").expect("valid regex"));

/// Classifies one error record; `None` for a notice that is no error (`Approaching Opus usage
/// limit`), which must not be counted at all.
///
/// `text` is the record's message (or its raw JSON); `status` the HTTP status when the
/// record states one (`apiErrorStatus`, `error.status`, the debug log's number); `code` the
/// 2.1.x `error` field of an `isApiErrorMessage` line (`rate_limit`, `max_output_tokens`, …).
/// The text decides; the status and code only where it names no cause.
pub fn classify(text: &str, status: Option<u16>, code: Option<&str>) -> Option<ErrorKind> {
    let t = normalized(text);
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    let kind = if let Some(n) = maximum_in(&t) {
        ErrorKind::OutputTokenMaximum(n)
    } else if has(SERVER_LIMITING) {
        ErrorKind::ServerLimiting
    } else if has(SPEND_CAP) {
        ErrorKind::SpendCap
    } else if USAGE_LIMIT.is_match(&t) {
        ErrorKind::UsageLimit
    } else if has(PER_DAY) {
        ErrorKind::PerDayQuota
    } else if has(CONTEXT_WINDOW) {
        ErrorKind::ContextWindow
    } else if OVER_CAP.is_match(&t) {
        ErrorKind::OverCap
    } else if has(CLIENT_ERROR) {
        ErrorKind::Other
    } else if has(THROTTLED) {
        ErrorKind::RateLimit
    } else if has(OVERLOADED) {
        ErrorKind::Overloaded
    } else if NOTICE.is_match(&t) {
        return None;
    } else if has(BARE_429) {
        ErrorKind::Unclassified429
    } else {
        by_status(status.or_else(|| status_in_text(text)), code)
    };
    Some(kind)
}

/// The kind of a text that names no cause, by its status or 2.1.x code. A 429 (or the
/// `rate_limit` code, which Claude Code also writes for plan limits) is not known to be
/// throttling. Server errors (500, 502, 503, 504) stay `Other`: see [`ErrorKind::Other`].
fn by_status(status: Option<u16>, code: Option<&str>) -> ErrorKind {
    match (status, code) {
        (Some(529), _) => ErrorKind::Overloaded,
        (Some(429), _) | (_, Some("rate_limit")) => ErrorKind::Unclassified429,
        _ => ErrorKind::Other,
    }
}

/// The text as it is matched: lower-case, with typographic apostrophes straightened and every
/// run of whitespace one space. JSON's `\n`, `\r` and `\t` escapes count as whitespace too (a
/// retry line's error is its raw JSON).
fn normalized(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut space = false;
    while let Some(c) = chars.next() {
        let escape = c == '\\' && matches!(chars.peek(), Some('n' | 'r' | 't'));
        if escape {
            chars.next();
        }
        if escape || c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        match c {
            '\u{2019}' | '\u{2018}' => out.push('\''),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// When a usage limit resets, as its text says (`1:40pm (Europe/Paris)`, `Oct 9, 10am`,
/// `00:00 UTC`), or the UTC time of the 1.0.x `usage limit reached|<epoch seconds>`.
///
/// Parsed, then written anew from the parts: never text copied from the error, which may be
/// anything (an access key, a URL with `?key=`, an e-mail address after "resets"). `None`
/// when no time of that shape follows.
pub fn reset_of(text: &str) -> Option<String> {
    let caps = RESET.captures(text)?;
    if let Some(epoch) = caps.name("epoch") {
        let secs: i64 = epoch.as_str().parse().ok()?;
        return Some(format!("{} UTC", crate::time::iso_timestamp(secs.checked_mul(1000)?).trim_end_matches(".000Z")));
    }
    let num = |name: &str| caps.name(name).and_then(|m| m.as_str().parse::<u32>().ok());
    let (hour, minute, day) = (num("hour"), num("minute"), num("day"));
    let half = caps.name("half").map(|m| m.as_str().to_ascii_lowercase());
    let mut out = String::new();
    if let (Some(month), Some(day)) = (caps.name("month"), day) {
        // Written as the list spells it; a case-insensitive match may be another letter
        // folding to an ASCII one (`ſ` to `s`).
        let name = MONTHS.iter().find(|m| m.eq_ignore_ascii_case(month.as_str()))?;
        if !(1..=31).contains(&day) {
            return None;
        }
        out.push_str(&format!("{name} {day}"));
    }
    // A bare number is no time (`resets 3 days`): minutes or am/pm make it one.
    match (hour, minute, &half) {
        (Some(h), m, Some(half)) if (1..=12).contains(&h) && m.is_none_or(|m| m < 60) => {
            let minutes = m.map_or(String::new(), |m| format!(":{m:02}"));
            out.push_str(&format!("{}{h}{minutes}{half}", if out.is_empty() { "" } else { ", " }));
        }
        (Some(h), Some(m), None) if h < 24 && m < 60 => {
            out.push_str(&format!("{}{h:02}:{m:02}", if out.is_empty() { "" } else { ", " }));
        }
        (None, None, None) if !out.is_empty() => {}
        _ => return None,
    }
    if let Some(zone) = caps.name("zone") {
        out.push_str(&format!(" {}", zone.as_str()));
    } else if let Some(zone) = caps.name("pzone") {
        out.push_str(&format!(" ({})", zone.as_str()));
    }
    Some(out)
}

/// The N of `exceeded the N output token maximum`, when the text says so.
pub fn output_token_maximum(text: &str) -> Option<u64> {
    maximum_in(&normalized(text))
}

/// [`output_token_maximum`] of a text already normalized.
fn maximum_in(t: &str) -> Option<u64> {
    let caps = OUTPUT_MAX.captures(t)?;
    caps[1].replace(',', "").parse().ok()
}

/// The status a text opens with: `API Error: 429 …`, `API Error (429 …`, `Error: 429 …`, or
/// 2.1.x's `API Error: Request rejected (429) · …`.
fn status_in_text(text: &str) -> Option<u16> {
    STATUS.captures(text)?.iter().skip(1).flatten().next()?.as_str().parse().ok()
}

static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:API Error: (?:Request rejected \((\d{3})\)|(\d{3})\b)|API Error \((\d{3})\b|Error: (\d{3})\b)")
        .expect("valid regex")
});

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;
    use super::*;

    /// Whose words a throttling 429 is in: Bedrock's, Vertex's, the API's, or no one's.
    #[test]
    fn throttling_words_name_their_provider() {
        for (text, want) in [
            ("API Error: 429 Too many tokens, please wait before trying again.", Some(Wording::Bedrock)),
            (
                "API Error: Request rejected (429) · Too many requests, please wait before trying again.",
                Some(Wording::Bedrock),
            ),
            ("ThrottlingException: Rate exceeded", Some(Wording::Bedrock)),
            (
                "429 RESOURCE_EXHAUSTED Quota exceeded for aiplatform.googleapis.com/online_prediction_input_tokens_per_minute_per_base_model",
                Some(Wording::Vertex),
            ),
            (
                r#"API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
                Some(Wording::Anthropic),
            ),
            (
                "API Error: Request rejected (429) · This request would exceed your organization's rate limit of 30,000 input tokens per minute.",
                Some(Wording::Anthropic),
            ),
            ("API Error: Request rejected (429) · Rate limited. Please try again later.", None),
            // A gateway's own words are no provider's, however like Bedrock's they read.
            (r#"{"error":{"message":"Rate limit exceeded. Please wait before trying again."}}"#, None),
            ("429 RESOURCE_EXHAUSTED Resource has been exhausted (e.g. check quota).", None),
        ] {
            assert_eq!(wording(text), want, "{text}");
        }
    }

    /// Only throttling counts; the provider most are worded as wins, none on a tie.
    #[test]
    fn the_most_common_wording() {
        let mut w = Wordings::default();
        assert_eq!(w.most(), None);
        w.note(ErrorKind::Unclassified429, Some(Wording::Anthropic));
        w.note(ErrorKind::RateLimit, Some(Wording::Bedrock));
        w.note(ErrorKind::RateLimit, None);
        assert_eq!((w, w.most()), (Wordings { bedrock: 1, vertex: 0, anthropic: 0 }, Some(Wording::Bedrock)));
        w.note(ErrorKind::RateLimit, Some(Wording::Anthropic));
        assert_eq!(w.most(), None, "a tie names no one");
        w.note(ErrorKind::RateLimit, Some(Wording::Anthropic));
        assert_eq!(w.most(), Some(Wording::Anthropic));
    }

    fn c(text: &str) -> ErrorKind {
        classify(text, None, None).expect("an error, not a notice")
    }

    fn k(text: &str, status: Option<u16>, code: Option<&str>) -> ErrorKind {
        classify(text, status, code).expect("an error, not a notice")
    }

    #[test]
    fn anthropic_rate_limit_error() {
        assert_eq!(
            c(
                r#"API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#
            ),
            RateLimit
        );
    }

    #[test]
    fn bedrock_throttling_texts() {
        assert_eq!(c("API Error: 429 Too many tokens, please wait before trying again."), RateLimit);
        assert_eq!(c("API Error: 429 Too many requests, please wait before trying again."), RateLimit);
        assert_eq!(
            c("API Error: Request rejected (429) · Too many tokens, please wait before trying again."),
            RateLimit
        );
        // "Request rejected (429)" names the status, not the cause.
        assert_eq!(c("API Error: Request rejected (429) - please wait"), Unclassified429);
    }

    #[test]
    fn per_day_quota_is_apart() {
        assert_eq!(c("API Error: 429 Too many tokens per day, please wait before trying again."), PerDayQuota);
    }

    #[test]
    fn vertex_resource_exhausted() {
        assert_eq!(
            c(
                r#"API Error: 429 {"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_tokens_per_minute","status":"RESOURCE_EXHAUSTED"}}"#
            ),
            RateLimit
        );
    }

    #[test]
    fn usage_limits_are_not_throttling() {
        assert_eq!(c("Claude AI usage limit reached|1760000000"), UsageLimit);
        assert_eq!(c("You've hit your session limit · resets 1:40pm (Europe/Paris)"), UsageLimit);
        assert_eq!(c("You\u{2019}ve hit your weekly limit · resets Oct 9, 10am"), UsageLimit);
        assert_eq!(c("You're out of extra usage · resets 9pm (Europe/Madrid)"), UsageLimit);
        // The 2.1.x fields say rate_limit/429 too; the text decides.
        assert_eq!(k("You've hit your session limit · resets 2pm", Some(429), Some("rate_limit")), UsageLimit);
    }

    #[test]
    fn output_token_maximum_parses_n() {
        let t = "API Error: Claude's response exceeded the 32000 output token maximum. To configure this behavior, set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable.";
        assert_eq!(c(t), OutputTokenMaximum(32_000));
        assert_eq!(c("API Error: Claude's response exceeded the 200 output token maximum."), OutputTokenMaximum(200));
        assert_eq!(c("Claude's response exceeded the 21333 output token maximum"), OutputTokenMaximum(21_333));
    }

    #[test]
    fn context_window_error_is_not_output_maximum() {
        // Shares the max_output_tokens code in some versions; it is not a cut response.
        assert_eq!(
            k(
                "API Error: 400 input length and `max_tokens` exceed context limit: 188059 + 20000 > 200000, decrease input length or `max_tokens` and try again",
                Some(400),
                Some("max_output_tokens")
            ),
            ContextWindow
        );
        assert_eq!(
            k("API Error: The model has reached its context window limit.", None, Some("max_output_tokens")),
            ContextWindow
        );
        assert_eq!(k("Prompt is too long", None, Some("invalid_request")), ContextWindow);
    }

    #[test]
    fn every_429_by_its_cause() {
        assert_eq!(c("API Error: Server is temporarily limiting requests (not your usage limit)"), ServerLimiting);
        assert_eq!(
            k(
                "API Error: Server is temporarily limiting requests (not your usage limit)",
                Some(429),
                Some("rate_limit")
            ),
            ServerLimiting
        );
        assert_eq!(
            c(
                r#"API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"enforced_spend_limit_reached"}}"#
            ),
            SpendCap
        );
        assert_eq!(c("API Error: 429 spend limit reached (daily; resets 00:00 UTC)"), SpendCap);
        assert_eq!(c("Credit balance is too low"), SpendCap);
        assert_eq!(c("API Error: 400 You have reached your specified API usage limits."), SpendCap);
        assert_eq!(c("You're out of usage credits · resets 9pm (Europe/Madrid)"), UsageLimit);
        assert_eq!(c("You've hit your Opus limit · resets 3am"), UsageLimit);
        assert_eq!(c("You've hit your monthly spend limit"), SpendCap);
        assert_eq!(c("You've reached your weekly usage"), UsageLimit);
        assert_eq!(c("Your org is out of usage"), UsageLimit);
        assert_eq!(
            c(
                "API Error: 400 max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-opus-4-5-20251101"
            ),
            OverCap
        );
    }

    #[test]
    fn an_over_cap_400_names_what_was_asked_the_maximum_and_the_model() {
        let text = r#"API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-opus-4-8"}}"#;
        assert_eq!(over_cap_named(text), Some((64_001, 64_000, "claude-opus-4-8")));
        let escaped = r#"API Error: 400 {\"message\":\"max_tokens: 128000 > 32000, which is the maximum allowed number of output tokens for us.anthropic.claude-opus-4-20250514-v1:0\"}"#;
        assert_eq!(over_cap_named(escaped), Some((128_000, 32_000, "us.anthropic.claude-opus-4-20250514-v1:0")));
        // Other over-cap wordings name no numbers: nothing is learned from them.
        assert_eq!(over_cap_named("max_tokens is too large: 200000"), None);
        assert_eq!(
            over_cap_named(
                "max_tokens: 99999999999999999999 > 64000, which is the maximum allowed number of output tokens for m"
            ),
            None
        );
    }

    #[test]
    fn reset_times() {
        assert_eq!(
            reset_of("You've hit your session limit · resets 1:40pm (Europe/Paris)").as_deref(),
            Some("1:40pm (Europe/Paris)")
        );
        assert_eq!(reset_of("spend limit reached (daily; resets 00:00 UTC)").as_deref(), Some("00:00 UTC"));
        assert_eq!(reset_of("Claude AI usage limit reached|1752573600").as_deref(), Some("2025-07-15T10:00:00 UTC"));
        assert_eq!(reset_of("You've hit your weekly limit"), None);
        assert_eq!(reset_of("You've hit your weekly limit · resets Oct 9, 10am").as_deref(), Some("Oct 9, 10am"));
        assert_eq!(
            reset_of("You're out of extra usage · resets 9pm (Europe/Madrid)").as_deref(),
            Some("9pm (Europe/Madrid)")
        );
        assert_eq!(reset_of("resets 3am (UTC)").as_deref(), Some("3am (UTC)"));
        assert_eq!(reset_of("resets Dec 3, 9am (UTC)").as_deref(), Some("Dec 3, 9am (UTC)"));
        assert_eq!(reset_of("resets 3pm. Upgrade for more").as_deref(), Some("3pm"));
        assert_eq!(reset_of("resets 3 days from now"), None);
        assert_eq!(reset_of("resets 25:00"), None);
        assert_eq!(reset_of("resets SEP 3, 1AM").as_deref(), Some("Sep 3, 1am"));
        // A letter that folds to an ASCII one is not that letter (nor a reason to panic).
        assert_eq!(reset_of("resets \u{17f}ep 3, 1am"), None);
    }

    /// Whatever follows "resets" in an error text, only a time parsed from it is kept: no
    /// key, token, URL or address, and nothing longer than a time and a zone.
    #[test]
    fn reset_times_never_copy_the_text() {
        for (text, want) in [
            ("You've hit your session limit · resets 3pm AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG", Some("3pm")),
            ("You've hit your session limit · resets https://x.example/?key=sk-ant-api03-SECRET", None),
            ("You've hit your session limit · resets 3pm?key=sk-ant-api03-SECRET", Some("3pm")),
            ("spend limit reached (daily; resets when bob@example.com says so)", None),
            ("You've hit your limit · resets Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", None),
            ("You've hit your limit · resets 4pm (Europe/AKIAIOSFODNN7EXAMPLE)", Some("4pm")),
            (
                "You've hit your limit · resets 1:40pm (Europe/Paris) for user bob@example.com",
                Some("1:40pm (Europe/Paris)"),
            ),
            ("You've hit your limit · resets 10am bob@example.com", Some("10am")),
            ("You've hit your limit · resets 10:00 sk-ant-api03-SECRET", Some("10:00")),
        ] {
            assert_eq!(reset_of(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn overloaded_variants() {
        assert_eq!(
            c(r#"API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            Overloaded
        );
        assert_eq!(c("API Error: 529 Overloaded. This is a server-side issue, usually temporary"), Overloaded);
        assert_eq!(c("API Error: Repeated 529 Overloaded errors"), Overloaded);
    }

    /// A 429 whose text names no cause is not throttling: Claude Code writes the same status
    /// and `rate_limit` code for a subscriber's plan limit.
    #[test]
    fn status_fallbacks() {
        assert_eq!(k("something odd", Some(429), None), Unclassified429);
        assert_eq!(k("something odd", None, Some("rate_limit")), Unclassified429);
        assert_eq!(k("something odd", Some(529), None), Overloaded);
        assert_eq!(c("API Error: 429 (no body)"), Unclassified429);
        assert_eq!(
            k(
                r#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit. Please try again later."}}"#,
                Some(429),
                Some("rate_limit")
            ),
            Unclassified429
        );
        // Claude Code's hint for a 429 it cannot explain says "may be": no cause either.
        assert_eq!(
            c(
                "API Error: Request rejected (429) · this may be a temporary capacity issue. If it persists, check status.claude.com"
            ),
            Unclassified429
        );
        // Server errors say nothing about load or quota: they stay Other (see ErrorKind::Other).
        assert_eq!(c("API Error: 500 Internal server error"), Other);
        assert_eq!(k("API Error: 503 no healthy upstream", Some(503), None), Other);
        assert_eq!(c("API Error: Connection error."), Other);
    }

    /// Matching survives case, terminal wraps, typographic apostrophes and a raw JSON body's
    /// escaped line breaks.
    #[test]
    fn wording_is_matched_loosely() {
        assert_eq!(c("API Error: 400 You\n    have reached your specified API usage\n limits"), SpendCap);
        assert_eq!(c(r#"{"status":400,"message":"You\n    have reached your specified API usage limits"}"#), SpendCap);
        assert_eq!(c("Your CREDIT BALANCE is too low"), SpendCap);
        assert_eq!(c("You\u{2019}re out of usage credits · resets 3am (UTC)"), UsageLimit);
        assert_eq!(
            c("API Error: Claude's response exceeded the 32000 output token\n     maximum."),
            OutputTokenMaximum(32_000)
        );
    }

    /// What the issue quoted: usage limits behind `Request rejected (429)`, and the wordings
    /// that were read as "other".
    #[test]
    fn usage_limits_behind_a_429_are_not_throttling() {
        for text in [
            "API Error: Request rejected (429) · you have reached your session usage limit",
            "API Error: Request rejected (429) · Subscription limit exceeded",
            "API Error: Request rejected (429) · Weekly/Monthly Limit Exhausted. Your limit will reset at 2026-09-22 14:43:53",
            "Claude usage limit reached. Your limit will reset at 5pm (Europe/Warsaw).",
            "Opus weekly limit reached ∙ resets Oct 31, 9am",
            "5-hour limit reached ∙ resets 2am",
            "Limit reached · resets 11:30am (Asia/Calcutta) · /upgrade to Max or turn on /extra-usage",
        ] {
            assert_eq!(k(text, Some(429), Some("rate_limit")), UsageLimit, "{text}");
        }
        for text in [
            "Credit balance too low · Add funds:",
            "API Error: Usage credits required for 1M context · run /usage-credits to turn them on",
            "You've hit your org's monthly usage limit",
            "Budget has been exceeded! Current cost: 111.29, Max budget: 100.0",
        ] {
            assert_eq!(k(text, Some(429), None), SpendCap, "{text}");
        }
        for text in [
            "API Error: 400 Input is too long for requested model.",
            "API Error: 400 Invalid request: Your request exceeded model token limit: 262144 (requested: 275363)",
            "Error: Error during compaction: Error: Conversation too long. Press esc twice to go up a few messages and try again.",
        ] {
            assert_eq!(c(text), ContextWindow, "{text}");
        }
    }

    /// Banners that are no error are not counted at all.
    #[test]
    fn notices_are_not_errors() {
        assert_eq!(classify("Approaching Opus usage limit · /model to use best available model", None, None), None);
        assert_eq!(classify("You're now using usage credits · Your session limit resets 3pm", None, None), None);
        // The limit itself is an error.
        assert_eq!(c("You've hit your Opus limit · resets 3am"), UsageLimit);
    }
}
