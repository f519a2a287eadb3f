//! How Claude Code retries a refused request and continues a cut one
//! (`claude-code-data.md`, "Retries" and "From 2.1.0 a response cut at max_tokens…").

/// Retries after the first refused attempt (`maxRetries`); the attempt after the last retry
/// that is refused fails the request for good.
pub const MAX_RETRIES: u32 = 10;
/// First retry delay; each later one doubles, up to [`MAX_DELAY_MS`].
pub const FIRST_DELAY_MS: i64 = 500;
pub const MAX_DELAY_MS: i64 = 32_000;
/// Claude Code adds up to a quarter of the delay as random jitter.
pub const JITTER: f64 = 0.25;
/// Recovery prompts after a cut response before Claude Code gives up with the
/// "exceeded the N output token maximum" error.
pub const MAX_CONTINUATIONS: u32 = 3;

/// The delay before retry `attempt` (1 for the first retry), without jitter.
pub fn delay_ms(attempt: u32) -> i64 {
    let doublings = attempt.saturating_sub(1).min(16);
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_by_hand() {
        let d: Vec<i64> = (1..=MAX_RETRIES).map(delay_ms).collect();
        assert_eq!(d, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000, 32_000]);
        assert_eq!(delay_ms(0), 500);
        assert_eq!(delay_ms(60), 32_000);
    }
}
