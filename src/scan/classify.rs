//! Classifies the text of an API error record into the kinds the report counts.
//!
//! Only text that comes from an error record (an `isApiErrorMessage` line, a `system`
//! `api_error` line or a debug-log `API error` line) is ever passed here; the caller decides
//! that. The texts are those listed in `claude-code-data.md` ("Errors").

use std::sync::LazyLock;

use regex::Regex;

/// What an error record means for the user: one kind per cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The provider throttled (HTTP 429 from a per-minute quota: `Too many tokens`,
    /// `Request rejected (429)`, `RESOURCE_EXHAUSTED`, `rate_limit_error`): the only kind a
    /// lower max output can cure.
    RateLimit,
    /// The server shedding load (`Server is temporarily limiting requests (not your usage
    /// limit)`), a 429 neither the user's quota nor max output causes.
    ServerLimiting,
    /// A per-day tokens quota (`Too many tokens per day`): a lower max output does not help.
    PerDayQuota,
    /// A plan's usage limit (session, weekly, model, extra usage or usage credits; also 429).
    UsageLimit,
    /// A spend cap or no credit left (`enforced_spend_limit_reached`, `spend limit reached`,
    /// `Credit balance is too low`, `You have reached your specified API usage limits`).
    SpendCap,
    /// `Claude's response exceeded the N output token maximum`, with N.
    OutputTokenMaximum(u64),
    /// A 400 for asking more output than the model allows (`max_tokens: X > Y`): the setting
    /// and the thinking budget conflict.
    OverCap,
    /// The context window is full (some versions give it the `max_output_tokens` code; it is
    /// not a cut response).
    ContextWindow,
    /// 529 overloaded.
    Overloaded,
    /// Anything else.
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

static OVER_CAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"max_tokens: \d+ > \d+, which is the maximum allowed").expect("valid regex"));

const SPEND_CAP: &[&str] = &[
    "enforced_spend_limit_reached",
    "spend limit reached",
    "Credit balance is too low",
    "You have reached your specified API usage limits",
];

const SERVER_LIMITING: &str = "Server is temporarily limiting requests";

const CONTEXT_WINDOW: &[&str] =
    &["context window limit", "exceed context limit", "Prompt is too long", "prompt is too long"];

static OUTPUT_MAX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"exceeded the ([0-9][0-9,]*) output token maximum").expect("valid regex"));

static USAGE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    // `You've` is written with a straight or a typographic apostrophe.
    Regex::new(
        r"Claude AI usage limit reached|You(?:'|\u{2019})ve hit your [^.\n]*?limit|You(?:'|\u{2019})re out of (?:extra usage|usage credits)|You(?:'|\u{2019})ve reached your |Your org is out of usage",
    )
    .expect("valid regex")
});

const PER_DAY: &str = "Too many tokens per day";

const RATE_LIMIT_MARKERS: &[&str] = &[
    "rate_limit_error",
    "Too many tokens",
    "Too many requests",
    "Request rejected (429)",
    "RESOURCE_EXHAUSTED",
    "ThrottlingException",
];

const OVERLOADED_MARKERS: &[&str] = &["overloaded_error", "529 Overloaded", "529 overloaded", "Repeated 529"];

/// Classifies one error record.
///
/// `text` is the record's message (or its raw JSON); `status` the HTTP status when the
/// record states one (`apiErrorStatus`, `error.status`, the debug log's number); `code` the
/// 2.1.x `error` field of an `isApiErrorMessage` line (`rate_limit`, `max_output_tokens`, …).
pub fn classify(text: &str, status: Option<u16>, code: Option<&str>) -> ErrorKind {
    if let Some(n) = output_token_maximum(text) {
        return ErrorKind::OutputTokenMaximum(n);
    }
    if SPEND_CAP.iter().any(|m| text.contains(m)) {
        return ErrorKind::SpendCap;
    }
    if USAGE_LIMIT.is_match(text) {
        return ErrorKind::UsageLimit;
    }
    if text.contains(PER_DAY) {
        return ErrorKind::PerDayQuota;
    }
    if text.contains(SERVER_LIMITING) {
        return ErrorKind::ServerLimiting;
    }
    if RATE_LIMIT_MARKERS.iter().any(|m| text.contains(m)) {
        return ErrorKind::RateLimit;
    }
    if OVERLOADED_MARKERS.iter().any(|m| text.contains(m)) {
        return ErrorKind::Overloaded;
    }
    if OVER_CAP.is_match(text) {
        return ErrorKind::OverCap;
    }
    if CONTEXT_WINDOW.iter().any(|m| text.contains(m)) {
        return ErrorKind::ContextWindow;
    }
    let status = status.or_else(|| status_in_text(text));
    match (status, code) {
        (Some(429), _) | (_, Some("rate_limit")) => ErrorKind::RateLimit,
        (Some(529), _) => ErrorKind::Overloaded,
        _ => ErrorKind::Other,
    }
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
    let caps = OUTPUT_MAX.captures(text)?;
    caps[1].replace(',', "").parse().ok()
}

/// The status in `API Error: 429 …` (and the debug log's `): 429 …`).
fn status_in_text(text: &str) -> Option<u16> {
    let rest = text.strip_prefix("API Error: ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() == 3 { digits.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;
    use super::*;

    fn c(text: &str) -> ErrorKind {
        classify(text, None, None)
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
        assert_eq!(c("API Error: Request rejected (429) - please wait"), RateLimit);
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
        assert_eq!(classify("You've hit your session limit · resets 2pm", Some(429), Some("rate_limit")), UsageLimit);
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
            classify(
                "API Error: 400 input length and `max_tokens` exceed context limit: 188059 + 20000 > 200000, decrease input length or `max_tokens` and try again",
                Some(400),
                Some("max_output_tokens")
            ),
            ContextWindow
        );
        assert_eq!(
            classify("API Error: The model has reached its context window limit.", None, Some("max_output_tokens")),
            ContextWindow
        );
        assert_eq!(classify("Prompt is too long", None, Some("invalid_request")), ContextWindow);
    }

    #[test]
    fn every_429_by_its_cause() {
        assert_eq!(c("API Error: Server is temporarily limiting requests (not your usage limit)"), ServerLimiting);
        assert_eq!(
            classify(
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
        assert_eq!(c("You've hit your monthly spend limit"), UsageLimit);
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

    #[test]
    fn status_fallbacks() {
        assert_eq!(classify("something odd", Some(429), None), RateLimit);
        assert_eq!(classify("something odd", None, Some("rate_limit")), RateLimit);
        assert_eq!(classify("something odd", Some(529), None), Overloaded);
        assert_eq!(c("API Error: 429 (no body)"), RateLimit);
        assert_eq!(c("API Error: 500 Internal server error"), Other);
        assert_eq!(c("API Error: Connection error."), Other);
    }
}
