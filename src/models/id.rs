//! Model ids as providers spell them, reduced to one canonical API id.
//!
//! - API: `claude-sonnet-4-20250514`, aliases `claude-sonnet-4-0`, `claude-sonnet-4-5`;
//! - Bedrock: `anthropic.claude-sonnet-4-20250514-v1:0`, behind a region prefix (`us.`, `eu.`,
//!   `apac.`, `jp.`, `au.`, `us-gov.`, `global.`) or inside an ARN
//!   (`arn:aws:bedrock:…:inference-profile/us.anthropic.…`);
//! - Vertex: `claude-sonnet-4@20250514`.

/// The canonical form of a model id: the API spelling, lower-case, with provider wrapping
/// removed. `us.anthropic.claude-sonnet-4-20250514-v1:0` → `claude-sonnet-4-20250514`;
/// `claude-sonnet-4@20250514` → `claude-sonnet-4-20250514`. Unknown shapes come back trimmed.
pub fn canonical(raw: &str) -> String {
    let mut s = raw.trim().to_ascii_lowercase();
    // `claude-opus-4-6[1m]`: the 1M-context variant of the same model.
    if s.ends_with(']')
        && let Some(at) = s.rfind('[')
    {
        s.truncate(at);
    }
    // ARN: keep what follows the last '/'.
    if s.starts_with("arn:")
        && let Some((_, tail)) = s.rsplit_once('/')
    {
        s = tail.to_string();
    }
    // Region prefix and the `anthropic.` vendor prefix.
    if let Some(pos) = s.find("anthropic.") {
        s = s[pos + "anthropic.".len()..].to_string();
    }
    // Bedrock version suffix `-v1:0`, `-v2:0`, or a bare `:0`.
    if let Some(pos) = s.rfind("-v")
        && s[pos + 2..].split(':').next().is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
    {
        s.truncate(pos);
    }
    if let Some(pos) = s.find(':') {
        s.truncate(pos);
    }
    // Vertex `@date`.
    if let Some((head, date)) = s.split_once('@') {
        s = if date.is_empty() || date == "default" { head.to_string() } else { format!("{head}-{date}") };
    }
    s
}

/// The kind of Bedrock inference endpoint a model id names: `global` (`global.anthropic.…`),
/// `cross-region` (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `us-gov.` before `anthropic.`) or
/// `in-region` (`anthropic.…` alone); `None` for an id that is not Bedrock's (or an
/// application inference profile, which hides it).
pub fn endpoint(raw: &str) -> Option<&'static str> {
    let s = raw.trim().to_ascii_lowercase();
    let s = match s.rsplit_once('/') {
        Some((_, tail)) if s.starts_with("arn:") => tail.to_string(),
        _ => s,
    };
    let at = s.find("anthropic.claude")?;
    Some(match &s[..at] {
        "" => "in-region",
        "global." => "global",
        _ => "cross-region",
    })
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn bedrock_ids() {
        assert_eq!(canonical("anthropic.claude-sonnet-4-20250514-v1:0"), "claude-sonnet-4-20250514");
        for region in ["us", "eu", "apac", "jp", "au", "us-gov", "global"] {
            assert_eq!(
                canonical(&format!("{region}.anthropic.claude-sonnet-4-20250514-v1:0")),
                "claude-sonnet-4-20250514",
                "{region}"
            );
        }
        assert_eq!(canonical("us.anthropic.claude-3-7-sonnet-20250219-v1:0"), "claude-3-7-sonnet-20250219");
    }

    #[test]
    fn bedrock_arns() {
        assert_eq!(
            canonical(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0"
            ),
            "claude-opus-4-1-20250805"
        );
        assert_eq!(
            canonical("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"),
            "claude-sonnet-4-5-20250929"
        );
        // An application inference profile hides the model: the id stays as it is.
        assert_eq!(
            canonical("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5"),
            "a1b2c3d4e5"
        );
    }

    #[test]
    fn endpoints() {
        use super::endpoint;
        assert_eq!(endpoint("us.anthropic.claude-sonnet-4-5-20250929-v1:0"), Some("cross-region"));
        assert_eq!(endpoint("global.anthropic.claude-sonnet-4-5-20250929-v1:0"), Some("global"));
        assert_eq!(endpoint("anthropic.claude-opus-5"), Some("in-region"));
        assert_eq!(
            endpoint("arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-opus-5-v1:0"),
            Some("cross-region")
        );
        assert_eq!(endpoint("claude-opus-5"), None);
        assert_eq!(endpoint("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc"), None);
    }

    #[test]
    fn vertex_and_api_ids() {
        assert_eq!(canonical("claude-sonnet-4@20250514"), "claude-sonnet-4-20250514");
        assert_eq!(canonical("claude-opus-4-1@20250805"), "claude-opus-4-1-20250805");
        assert_eq!(canonical("claude-3-5-haiku@20241022"), "claude-3-5-haiku-20241022");
        assert_eq!(canonical("claude-sonnet-4-20250514"), "claude-sonnet-4-20250514");
        assert_eq!(canonical("Claude-Opus-4-6"), "claude-opus-4-6");
        assert_eq!(canonical(" claude-sonnet-4-0 "), "claude-sonnet-4-0");
    }
}
