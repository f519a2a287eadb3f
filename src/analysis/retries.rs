//! How Claude Code retries a refused request and continues a cut one
//! (`claude-code-data.md`, "Retries" and "From 2.1.0 a response cut at max_tokens…"), from the
//! settings in effect (`testdata/error-texts/FACTS.md`, section 3): `CLAUDE_CODE_MAX_RETRIES`
//! (default 10, capped at 15 since 2.1.186) and `CLAUDE_CODE_RETRY_WATCHDOG` (2.1.186: 429s
//! retried without end, backing off up to 5 minutes).

use serde::Serialize;

/// Retries after the first refused attempt by default (`maxRetries`); the attempt after the
/// last retry that is refused fails the request for good.
pub const MAX_RETRIES: u32 = 10;
/// The most retries `CLAUDE_CODE_MAX_RETRIES` gives (since 2.1.186).
pub const RETRIES_CAP: u32 = 15;
/// First retry delay; each later one doubles, up to [`MAX_DELAY_MS`].
pub const FIRST_DELAY_MS: i64 = 500;
pub const MAX_DELAY_MS: i64 = 32_000;
/// The watchdog's longest delay between attempts (5 minutes).
pub const WATCHDOG_MAX_DELAY_MS: i64 = 300_000;
/// The watchdog retries a 429 without end; the replay gives up after this many retries (more
/// than a day at 5 minutes each), where a request that can never fit would otherwise loop.
pub const WATCHDOG_RETRIES: u32 = 300;
/// Claude Code adds up to a quarter of the delay as random jitter.
pub const JITTER: f64 = 0.25;
/// Recovery prompts after a cut response before Claude Code gives up with the
/// "exceeded the N output token maximum" error.
pub const MAX_CONTINUATIONS: u32 = 3;

/// How a refused request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Retries after the first refused attempt.
    pub retries: u32,
    /// The longest delay between two attempts, ms.
    pub max_delay_ms: i64,
    /// `CLAUDE_CODE_RETRY_WATCHDOG`: a refused request waits, it does not fail (the replay
    /// gives up after [`WATCHDOG_RETRIES`]).
    pub watchdog: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { retries: MAX_RETRIES, max_delay_ms: MAX_DELAY_MS, watchdog: false }
    }
}

impl Policy {
    /// The policy of the settings: the watchdog wins over `CLAUDE_CODE_MAX_RETRIES`, which is
    /// capped at [`RETRIES_CAP`].
    pub fn of(max_retries: Option<u64>, watchdog: bool) -> Self {
        if watchdog {
            return Policy { retries: WATCHDOG_RETRIES, max_delay_ms: WATCHDOG_MAX_DELAY_MS, watchdog: true };
        }
        let retries = max_retries.map_or(MAX_RETRIES, |n| n.min(u64::from(RETRIES_CAP)) as u32);
        Policy { retries, ..Policy::default() }
    }

    /// The delay before retry `attempt` (1 for the first retry), without jitter.
    pub fn delay_ms(&self, attempt: u32) -> i64 {
        let doublings = attempt.saturating_sub(1).min(20);
        (FIRST_DELAY_MS << doublings).min(self.max_delay_ms)
    }
}

/// The delay before retry `attempt` under the default policy, without jitter.
pub fn delay_ms(attempt: u32) -> i64 {
    Policy::default().delay_ms(attempt)
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

    #[test]
    fn policies_of_the_settings() {
        assert_eq!(Policy::of(None, false), Policy::default());
        assert_eq!(Policy::of(Some(3), false).retries, 3);
        assert_eq!(Policy::of(Some(0), false).retries, 0);
        // Capped at 15 since 2.1.186.
        assert_eq!(Policy::of(Some(100), false).retries, 15);
        // The watchdog: 500 ms doubling up to 5 minutes (500 × 2^10 = 512,000 > 300,000).
        let w = Policy::of(Some(3), true);
        assert!(w.watchdog);
        assert_eq!(w.retries, WATCHDOG_RETRIES);
        let d: Vec<i64> = (9..=12).map(|k| w.delay_ms(k)).collect();
        assert_eq!(d, [128_000, 256_000, 300_000, 300_000]);
    }
}
