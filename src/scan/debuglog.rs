//! Debug-log lines: `<ISO timestamp> [LEVEL] message`.
//!
//! Two kinds of line matter: failed attempts, `[ERROR] API error (attempt k/n): <status> …`
//! (the status is often printed twice), and `Capped from X to Y`, which shows that a max
//! output setting was clamped.

use std::sync::LazyLock;

use regex::Regex;

use super::classify::{ErrorKind, classify};

static ATTEMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\S+) \[[A-Z]+\] API error \(attempt (\d+)/(\d+)\): (\d{3})\b(.*)$").expect("valid regex")
});

static CAPPED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\S+) \[[A-Z]+\] .*Capped from (\d+) to (\d+)").expect("valid regex"));

#[derive(Debug, PartialEq, Eq)]
pub enum DebugRecord<'a> {
    /// `attempt` of `of`: the last one (`attempt == of`) was not retried: the request failed.
    FailedAttempt {
        timestamp: &'a str,
        attempt: u64,
        of: u64,
        status: u16,
        kind: ErrorKind,
    },
    Capped {
        timestamp: &'a str,
        from: u64,
        to: u64,
    },
    Other,
}

/// Parses one debug-log line (already known to be UTF-8, without its line ending).
pub fn parse(line: &str) -> DebugRecord<'_> {
    if line.contains("API error (attempt ") {
        if let Some(c) = ATTEMPT.captures(line) {
            let (Some(ts), Some(attempt), Some(of), Some(status), Some(rest)) =
                (c.get(1), c.get(2), c.get(3), c.get(4), c.get(5))
            else {
                return DebugRecord::Other;
            };
            let (Ok(attempt), Ok(of), Ok(status)) =
                (attempt.as_str().parse(), of.as_str().parse(), status.as_str().parse())
            else {
                return DebugRecord::Other;
            };
            let Some(kind) = classify(rest.as_str(), Some(status), None) else { return DebugRecord::Other };
            return DebugRecord::FailedAttempt { timestamp: ts.as_str(), attempt, of, status, kind };
        }
    } else if line.contains("Capped from ")
        && let Some(c) = CAPPED.captures(line)
        && let (Some(ts), Ok(from), Ok(to)) = (c.get(1), c[2].parse(), c[3].parse())
    {
        return DebugRecord::Capped { timestamp: ts.as_str(), from, to };
    }
    DebugRecord::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempt_with_doubled_status() {
        let l = r#"2026-03-02T10:00:01.250Z [ERROR] API error (attempt 3/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#;
        assert_eq!(
            parse(l),
            DebugRecord::FailedAttempt {
                timestamp: "2026-03-02T10:00:01.250Z",
                attempt: 3,
                of: 11,
                status: 429,
                kind: ErrorKind::RateLimit
            }
        );
    }

    #[test]
    fn bedrock_and_overloaded_attempts() {
        let l = "2026-03-02T10:00:01Z [ERROR] API error (attempt 1/11): 429 Too many tokens, please wait before trying again.";
        assert!(matches!(parse(l), DebugRecord::FailedAttempt { kind: ErrorKind::RateLimit, .. }));
        let l = "2026-03-02T10:00:01Z [ERROR] API error (attempt 1/11): 429 Too many tokens per day, please wait before trying again.";
        assert!(matches!(parse(l), DebugRecord::FailedAttempt { kind: ErrorKind::PerDayQuota, .. }));
        let l = r#"2026-03-02T10:00:01Z [ERROR] API error (attempt 2/11): 529 {"type":"error","error":{"type":"overloaded_error"}}"#;
        assert!(matches!(parse(l), DebugRecord::FailedAttempt { status: 529, kind: ErrorKind::Overloaded, .. }));
        // A 429 whose text names no cause is not throttling.
        let l = r#"2026-03-02T10:00:01Z [ERROR] API error (attempt 1/11): 429 429 {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#;
        assert!(matches!(parse(l), DebugRecord::FailedAttempt { kind: ErrorKind::Unclassified429, .. }));
    }

    #[test]
    fn capped_line() {
        let l = "2026-03-02T10:00:00.000Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from 200000 to 64000";
        assert_eq!(parse(l), DebugRecord::Capped { timestamp: "2026-03-02T10:00:00.000Z", from: 200_000, to: 64_000 });
    }

    #[test]
    fn other_lines() {
        assert_eq!(parse("2026-03-02T10:00:00Z [DEBUG] Stream started"), DebugRecord::Other);
        assert_eq!(parse("user pasted: API error (attempt 1/11): 429"), DebugRecord::Other);
        assert_eq!(parse(""), DebugRecord::Other);
    }
}
