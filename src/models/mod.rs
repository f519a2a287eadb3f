//! The model table: every per-model constant the report and the recommendation use, in one
//! place. To add a model, add a row to [`FAMILIES`] (longer id prefixes before shorter ones).
//!
//! Sources (see `claude-code-data.md` and `quota-model.md` in the project's reference):
//! - default and upper max output: Claude Code 2.1.88's model table;
//! - burndown: AWS Bedrock quota documentation (5× for Claude 3.7 Sonnet and every Claude 4.x
//!   model, 1× for older Claude 3 models);
//! - default Bedrock TPM quotas: AWS Service Quotas defaults (cross-region); `None` where
//!   AWS publishes none. Accounts often have lower applied values.

pub mod id;

/// One model family and its constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Canonical id prefix (`claude-sonnet-4-5`).
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Claude Code's default max output tokens for the family.
    pub default_max_output: u64,
    /// The family's upper limit: larger settings are clamped to it.
    pub max_output_cap: u64,
    /// Bedrock output burndown rate (quota tokens per output token).
    pub burndown: u64,
    /// Default Bedrock cross-region tokens-per-minute quota, where AWS publishes one.
    pub default_bedrock_tpm: Option<u64>,
}

const fn fam(
    key: &'static str,
    name: &'static str,
    default_max_output: u64,
    max_output_cap: u64,
    burndown: u64,
    default_bedrock_tpm: Option<u64>,
) -> Family {
    Family { key, name, default_max_output, max_output_cap, burndown, default_bedrock_tpm }
}

/// The table. Longer keys first: `claude-opus-4-1` must be tried before `claude-opus-4`.
pub const FAMILIES: &[Family] = &[
    // Claude Code 2.1.88: Opus 4.6 64,000 / 128,000; Bedrock 5× (all 4.x); quota not published.
    fam("claude-opus-4-6", "Opus 4.6", 64_000, 128_000, 5, None),
    // Sonnet 4.6: 32,000 / 128,000; 5×; quota not published.
    fam("claude-sonnet-4-6", "Sonnet 4.6", 32_000, 128_000, 5, None),
    // Opus 4.5: 32,000 / 64,000; 5×; quota not published.
    fam("claude-opus-4-5", "Opus 4.5", 32_000, 64_000, 5, None),
    // Sonnet 4.5: 32,000 / 64,000; 5×; reported default 5,000,000 TPM.
    fam("claude-sonnet-4-5", "Sonnet 4.5", 32_000, 64_000, 5, Some(5_000_000)),
    // Haiku 4.5: 32,000 / 64,000; 5×; reported default 5,000,000 TPM.
    fam("claude-haiku-4-5", "Haiku 4.5", 32_000, 64_000, 5, Some(5_000_000)),
    // Opus 4.1: 32,000 / 32,000; 5×; quota not found.
    fam("claude-opus-4-1", "Opus 4.1", 32_000, 32_000, 5, None),
    // Opus 4: 32,000 / 32,000; 5×; 200,000 TPM cross-region.
    fam("claude-opus-4", "Opus 4", 32_000, 32_000, 5, Some(200_000)),
    // Sonnet 4: 32,000 / 64,000; 5×; 200,000 TPM cross-region.
    fam("claude-sonnet-4", "Sonnet 4", 32_000, 64_000, 5, Some(200_000)),
    // 3.7 Sonnet: 32,000 / 64,000; 5×; 1,000,000 TPM (US; EU 100,000, other 50,000).
    fam("claude-3-7-sonnet", "Sonnet 3.7", 32_000, 64_000, 5, Some(1_000_000)),
    // 3.5 models: 8,192 / 8,192; 1× (older Claude 3 generation).
    fam("claude-3-5-sonnet", "Sonnet 3.5", 8_192, 8_192, 1, None),
    fam("claude-3-5-haiku", "Haiku 3.5", 8_192, 8_192, 1, None),
];

/// The family of a model id in any provider's spelling, if known.
pub fn family_of(raw_id: &str) -> Option<&'static Family> {
    let id = id::canonical(raw_id);
    FAMILIES.iter().find(|f| {
        let Some(rest) = id.strip_prefix(f.key) else { return false };
        // What may follow the key: nothing, `-0` (alias), or `-<8-digit date>`.
        rest.is_empty()
            || rest == "-0"
            || rest.strip_prefix('-').is_some_and(|d| d.len() >= 8 && d[..8].bytes().all(|b| b.is_ascii_digit()))
    })
}

/// The name to group and show a model under: its family's display name when known,
/// else its canonical id.
pub fn display_name(raw_id: &str) -> String {
    family_of(raw_id).map_or_else(|| id::canonical(raw_id), |f| f.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(id: &str) -> Option<&'static str> {
        family_of(id).map(|f| f.name)
    }

    #[test]
    fn families_in_every_spelling() {
        assert_eq!(name("claude-sonnet-4-20250514"), Some("Sonnet 4"));
        assert_eq!(name("claude-sonnet-4-0"), Some("Sonnet 4"));
        assert_eq!(name("us.anthropic.claude-sonnet-4-20250514-v1:0"), Some("Sonnet 4"));
        assert_eq!(name("claude-sonnet-4@20250514"), Some("Sonnet 4"));
        assert_eq!(name("claude-sonnet-4-5-20250929"), Some("Sonnet 4.5"));
        assert_eq!(name("claude-sonnet-4-5"), Some("Sonnet 4.5"));
        assert_eq!(name("global.anthropic.claude-sonnet-4-5-20250929-v1:0"), Some("Sonnet 4.5"));
        assert_eq!(name("claude-opus-4-1-20250805"), Some("Opus 4.1"));
        assert_eq!(name("claude-opus-4-20250514"), Some("Opus 4"));
        assert_eq!(name("claude-opus-4-6"), Some("Opus 4.6"));
        assert_eq!(name("claude-opus-4-5-20251101"), Some("Opus 4.5"));
        assert_eq!(name("claude-haiku-4-5-20251001"), Some("Haiku 4.5"));
        assert_eq!(name("claude-3-7-sonnet-20250219"), Some("Sonnet 3.7"));
        assert_eq!(name("claude-3-5-haiku@20241022"), Some("Haiku 3.5"));
        assert_eq!(name("gpt-4o"), None);
        assert_eq!(name("claude-opus-4-7-20270101"), None);
    }

    #[test]
    fn caps_by_family() {
        let cap = |id| family_of(id).map(|f| f.max_output_cap);
        assert_eq!(cap("claude-opus-4-1-20250805"), Some(32_000));
        assert_eq!(cap("claude-opus-4-20250514"), Some(32_000));
        assert_eq!(cap("claude-sonnet-4-20250514"), Some(64_000));
        assert_eq!(cap("claude-opus-4-6"), Some(128_000));
        assert_eq!(cap("claude-sonnet-4-6"), Some(128_000));
        assert_eq!(cap("claude-3-5-sonnet-20241022"), Some(8_192));
    }

    #[test]
    fn keys_are_ordered_longest_first_where_they_overlap() {
        for (i, a) in FAMILIES.iter().enumerate() {
            for b in &FAMILIES[i + 1..] {
                assert!(!b.key.starts_with(a.key), "{} must come after {}", a.key, b.key);
            }
        }
    }
}
