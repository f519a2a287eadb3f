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

/// The output tokens to use for a response group, and whether they are estimated.
pub fn measured_output(recorded: u64, size: ContentSize) -> (u64, bool) {
    let est = estimate_tokens(size);
    // est > 1.5 × recorded, in integers.
    if recorded <= PLACEHOLDER_MAX_OUTPUT && est.saturating_mul(2) > recorded.saturating_mul(3) {
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
        assert_eq!(measured_output(1, ContentSize { chars: 107, tool_uses: 0 }), (43, true));
        // 25 recorded for a small tool call of 47 chars: est 19 + 30 = 49 > 37.5.
        assert_eq!(measured_output(25, ContentSize { chars: 47, tool_uses: 1 }), (49, true));
        // 5 recorded for "OK." (3 chars, est 2): a real tiny response.
        assert_eq!(measured_output(5, ContentSize { chars: 3, tool_uses: 0 }), (5, false));
        // Est exactly 1.5 × recorded is not "more than": 20 recorded, 75 chars -> 30.
        assert_eq!(measured_output(20, ContentSize { chars: 75, tool_uses: 0 }), (20, false));
        // Above 30 a value is a real final figure whatever the content.
        assert_eq!(measured_output(31, ContentSize { chars: 100_000, tool_uses: 0 }), (31, false));
    }
}
