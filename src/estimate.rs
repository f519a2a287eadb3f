//! Content-based estimate of a response's output tokens, for responses whose recorded usage
//! is a stream-start placeholder.
//!
//! Some Claude Code versions write each content block as it starts, with the usage of the
//! stream's first event (`output_tokens` 1–30), and never write the final figure (headless
//! 2.1.14, subagents of 2.1.39). Such a group is not a measurement.
//!
//! The estimate, calibrated on the MIT transcripts of Claude Code 2.1.38/39 (the 530
//! responses there whose final usage was written):
//! - text, thinking, and tool-use name plus JSON input run about 2.5 characters per output
//!   token (aggregate 2.56 over those responses);
//! - each tool call costs about 30 tokens beyond its characters (the wrapper the model emits;
//!   the median excess there was 45, the lower quartile 14: 30 errs low).
//!
//! `estimate = ceil(chars / 2.5) + 30 × tool_calls`
//!
//! A group is a placeholder when its largest recorded `output_tokens` is at most 30 and the
//! estimate is more than 1.5 times the recorded value: more content than that many tokens
//! could hold. Its output is then measured by the estimate, and the report counts it as
//! estimated.

/// Recorded values above this are never taken for stream-start placeholders.
pub const PLACEHOLDER_MAX_OUTPUT: u64 = 30;
/// Characters of content per output token, tenths (2.5).
pub const CHARS_PER_TOKEN_TENTHS: u64 = 25;
/// Output tokens a tool call costs beyond its name and input characters.
pub const TOOL_USE_OVERHEAD: u64 = 30;

/// Characters of model output in a response (or one line of it) and its tool calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ContentSize {
    pub chars: u64,
    pub tool_uses: u64,
}

impl std::ops::AddAssign for ContentSize {
    fn add_assign(&mut self, o: Self) {
        self.chars = self.chars.saturating_add(o.chars);
        self.tool_uses = self.tool_uses.saturating_add(o.tool_uses);
    }
}

/// Estimated output tokens for content of this size.
pub fn estimate_tokens(size: ContentSize) -> u64 {
    (size.chars.saturating_mul(10))
        .div_ceil(CHARS_PER_TOKEN_TENTHS)
        .saturating_add(size.tool_uses.saturating_mul(TOOL_USE_OVERHEAD))
}

/// The first Claude Code version that writes the final usage on every line of a response: a
/// small recorded value from it on is a real small response, never a placeholder.
pub const FINAL_USAGE_SINCE: (u64, u64, u64) = (2, 1, 97);

/// A Claude Code version as `(major, minor, patch)` (`2.1.97`, `2.1.97-beta`); `None` when
/// it is not one.
pub fn version_triple(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.trim().split('.').map(|p| {
        let digits = p.bytes().take_while(u8::is_ascii_digit).count();
        p[..digits].parse::<u64>().ok()
    });
    match (parts.next().flatten(), parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        _ => None,
    }
}

/// Whether lines written by this Claude Code `version` carry the final usage (unknown or
/// unreadable versions: no).
pub fn writes_final_usage(version: Option<&str>) -> bool {
    version.and_then(version_triple).is_some_and(|v| v >= FINAL_USAGE_SINCE)
}

/// The output tokens to use for a response group, and whether they are estimated. `version`
/// is the Claude Code version that wrote it. With no usable count recorded (`None`: missing,
/// or not a non-negative number), the size is estimated from the content, whatever the
/// version: a count nobody wrote is not a response of 0 tokens.
pub fn measured_output(recorded: Option<u64>, size: ContentSize, version: Option<&str>) -> (u64, bool) {
    let est = estimate_tokens(size);
    let Some(recorded) = recorded else { return (est, true) };
    // est > 1.5 × recorded, in integers.
    if recorded <= PLACEHOLDER_MAX_OUTPUT
        && est.saturating_mul(2) > recorded.saturating_mul(3)
        && !writes_final_usage(version)
    {
        (est, true)
    } else {
        (recorded, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_by_hand() {
        // 100 chars / 2.5 = 40; 101 chars -> 40.4 -> 41; plus 30 per tool call.
        assert_eq!(estimate_tokens(ContentSize { chars: 100, tool_uses: 0 }), 40);
        assert_eq!(estimate_tokens(ContentSize { chars: 101, tool_uses: 0 }), 41);
        assert_eq!(estimate_tokens(ContentSize { chars: 100, tool_uses: 2 }), 100);
        assert_eq!(estimate_tokens(ContentSize::default()), 0);
    }

    #[test]
    fn placeholder_rule() {
        // 1 token recorded for 107 chars of prose (headless 2.1.14): est 43 -> estimated.
        assert_eq!(measured_output(Some(1), ContentSize { chars: 107, tool_uses: 0 }, Some("2.1.14")), (43, true));
        // 25 recorded for a small tool call of 47 chars: est 19 + 30 = 49 > 37.5.
        assert_eq!(measured_output(Some(25), ContentSize { chars: 47, tool_uses: 1 }, None), (49, true));
        // 5 recorded for "OK." (3 chars, est 2): a real tiny response.
        assert_eq!(measured_output(Some(5), ContentSize { chars: 3, tool_uses: 0 }, None), (5, false));
        // Est exactly 1.5 × recorded is not "more than": 20 recorded, 75 chars -> 30.
        assert_eq!(measured_output(Some(20), ContentSize { chars: 75, tool_uses: 0 }, None), (20, false));
        // Above 30 a value is a real final figure whatever the content.
        assert_eq!(measured_output(Some(31), ContentSize { chars: 100_000, tool_uses: 0 }, None), (31, false));
        // From 2.1.97 every line carries the final usage: 1 token is 1 token.
        assert_eq!(measured_output(Some(1), ContentSize { chars: 107, tool_uses: 0 }, Some("2.1.97")), (1, false));
        assert_eq!(measured_output(Some(1), ContentSize { chars: 107, tool_uses: 0 }, Some("2.1.96")), (43, true));
        // No usable count: the content's estimate, even where the version writes final usage.
        assert_eq!(measured_output(None, ContentSize { chars: 107, tool_uses: 0 }, Some("2.1.97")), (43, true));
        assert_eq!(measured_output(Some(0), ContentSize { chars: 107, tool_uses: 0 }, Some("2.1.97")), (0, false));
    }

    #[test]
    fn versions_that_write_the_final_usage() {
        for (v, yes) in [
            ("2.1.97", true),
            ("2.1.150", true),
            ("2.2.0", true),
            ("3.0.1-beta", true),
            ("2.1.96", false),
            ("2.0.150", false),
            ("1.0.30", false),
            ("", false),
            ("2.1", false),
            ("x.y.z", false),
        ] {
            assert_eq!(writes_final_usage(Some(v)), yes, "{v}");
        }
        assert!(!writes_final_usage(None));
    }
}
