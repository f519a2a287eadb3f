//! What of a settings file may be shown. Values of `env` variables whose name says key, token,
//! secret, password or credential, and values that look like a secret whatever their name,
//! are replaced by `<redacted>` before they enter the report, so no renderer can print them.

/// Name segments that mark a secret when they stand alone (`ANTHROPIC_API_KEY`,
/// `AWS_SESSION_TOKEN`), but not inside a longer word (`MAX_THINKING_TOKENS` is a count).
const SECRET_WORDS: [&str; 8] = ["KEY", "TOKEN", "AUTH", "AUTHORIZATION", "COOKIE", "PAT", "PASS", "PWD"];
/// Substrings that mark a secret anywhere in a name.
const SECRET_PARTS: [&str; 7] = ["SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "APIKEY", "PRIVATEKEY", "ACCESSKEY"];
/// Prefixes of well-known secret formats (Anthropic, OpenAI, GitHub, Slack, AWS, PEM).
const SECRET_PREFIXES: [&str; 9] =
    ["sk-", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA", "ASIA", "-----BEGIN"];

pub const REDACTED: &str = "<redacted>";

/// Whether an environment variable's name says it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    // Split camelCase too: `apiKey` -> `api`, `Key`.
    let mut spaced = String::with_capacity(name.len() + 8);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            spaced.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        spaced.push(c.to_ascii_uppercase());
    }
    let squashed: String = spaced.chars().filter(char::is_ascii_alphanumeric).collect();
    spaced.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| SECRET_WORDS.contains(&w))
        || SECRET_PARTS.iter().any(|p| squashed.contains(p))
}

/// Whether a value looks like a secret whatever its name: a known key format, or a long
/// opaque run of key characters with no spaces, colons or dots.
pub fn looks_secret(value: &str) -> bool {
    let v = value.trim();
    if SECRET_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    v.len() >= 32
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_alphabetic())
}

/// `scheme://user:password@host…` with the user part hidden.
fn hide_userinfo(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..end].rfind('@')?;
    Some(format!("{scheme}://{REDACTED}@{}", &rest[at + 1..]))
}

/// The value of `env[name]` as it may be shown.
pub fn shown_value(name: &str, value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if is_secret_name(name) || looks_secret(&text) {
        return REDACTED.to_string();
    }
    hide_userinfo(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_names() {
        for n in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ACCESS_KEY_ID",
            "AWS_BEARER_TOKEN_BEDROCK",
            "GITHUB_PAT",
            "DB_PASSWORD",
            "apiKey",
            "myApiKey",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "http_proxy_pass",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "MAX_THINKING_TOKENS",
            "CLAUDE_CODE_USE_BEDROCK",
            "AWS_REGION",
            "ANTHROPIC_MODEL",
            "KEYBOARD_LAYOUT",
            "MONKEY_MODE",
            "BASH_DEFAULT_TIMEOUT_MS",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn secret_values_and_urls() {
        assert_eq!(shown_value("X", &json!("sk-ant-api03-abc")), REDACTED);
        assert_eq!(shown_value("X", &json!("AKIAIOSFODNN7EXAMPLE")), REDACTED);
        assert_eq!(shown_value("X", &json!("c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZzEyMzQ1Njc4")), REDACTED);
        assert_eq!(shown_value("ANTHROPIC_API_KEY", &json!(12345)), REDACTED);
        assert_eq!(
            shown_value("ANTHROPIC_BASE_URL", &json!("https://u:p@proxy.example/v1?x=1")),
            "https://<redacted>@proxy.example/v1?x=1"
        );
        assert_eq!(shown_value("ANTHROPIC_BASE_URL", &json!("https://proxy.example/v1")), "https://proxy.example/v1");
        assert_eq!(
            shown_value("ANTHROPIC_MODEL", &json!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/x")),
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/x"
        );
        assert_eq!(shown_value("CLAUDE_CODE_MAX_OUTPUT_TOKENS", &json!("6000")), "6000");
        assert_eq!(shown_value("AWS_REGION", &json!("us-east-1")), "us-east-1");
        assert_eq!(shown_value("FLAG", &json!(true)), "true");
    }
}
