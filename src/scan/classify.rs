//! Classifies the text of an API error record into the kinds the report counts.
//!
//! Only text that comes from an error record (an `isApiErrorMessage` line, a `system`
//! `api_error` line or a debug-log `API error` line) is ever passed here; the caller decides
//! that. The texts are those listed in `claude-code-data.md` ("Errors").

use std::sync::LazyLock;

use regex::Regex;

/// What an error record means for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// Throttling (HTTP 429 from a per-minute quota): what a lower max output can fix.
    RateLimit,
    /// A per-day tokens quota (`Too many tokens per day`): a lower max output does not help.
    PerDayQuota,
    /// A subscription usage limit (also 429, not throttling).
    UsageLimit,
    /// `Claude's response exceeded the N output token maximum`, with N.
    OutputTokenMaximum(u64),
    /// 529 overloaded.
    Overloaded,
    /// Anything else (including the context-window error).
    Other,
}

static OUTPUT_MAX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"exceeded the ([0-9][0-9,]*) output token maximum").expect("valid regex"));

static USAGE_LIMIT: LazyLock<Regex> = LazyLock::new(|| {
    // `You've` is written with a straight or a typographic apostrophe.
    Regex::new(
        r"Claude AI usage limit reached|You(?:'|\u{2019})ve hit your [^.\n]*?limit|You(?:'|\u{2019})re out of extra usage",
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
    if USAGE_LIMIT.is_match(text) {
        return ErrorKind::UsageLimit;
    }
    if text.contains(PER_DAY) {
        return ErrorKind::PerDayQuota;
    }
    if RATE_LIMIT_MARKERS.iter().any(|m| text.contains(m)) {
        return ErrorKind::RateLimit;
    }
    if OVERLOADED_MARKERS.iter().any(|m| text.contains(m)) {
        return ErrorKind::Overloaded;
    }
    let status = status.or_else(|| status_in_text(text));
    match (status, code) {
        (Some(429), _) | (_, Some("rate_limit")) => ErrorKind::RateLimit,
        (Some(529), _) => ErrorKind::Overloaded,
        _ => ErrorKind::Other,
    }
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
            Other
        );
        assert_eq!(classify("Prompt is too long", None, Some("invalid_request")), Other);
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
