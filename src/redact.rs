//! What of a settings file's `env` may be shown. The rule is an allow-list: a value is shown
//! only when its variable is one of `SHOWN`, known to hold something harmless and useful for
//! a diagnosis (a count, a switch, a region, a model id), and the value has that shape.
//! Every other value, and any value of the wrong shape, is replaced by [`REDACTED`] when the
//! file is read, before it enters the report, so no renderer can print it. `--show-env` shows
//! every value as it is (secrets included).
//!
//! Why not a deny-list: secrets hide in variables no list of names foresees
//! (`ANTHROPIC_CUSTOM_HEADERS: Authorization: Bearer …`, `OTEL_EXPORTER_OTLP_HEADERS`, a URL
//! with `?key=…`, a helper command that echoes a token).

use serde_json::Value;

/// The placeholder of a value not shown. The JSON output carries it as it is; the Markdown
/// output writes it escaped (`&lt;redacted&gt;`), which GitHub shows as `<redacted>`.
pub const REDACTED: &str = "<redacted>";

/// What a shown variable's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A number: a JSON number, or up to 20 characters of digits, `_`, `.`, `e`, `+`, `-`.
    Count,
    /// A switch: a JSON boolean or number, or `1`, `0`, `true`, `false`, `yes`, `no`, `on`,
    /// `off` or empty.
    Flag,
    /// An effort level: `low`, `medium`, `high`, `xhigh`, `max`, `auto` or `default`, in any
    /// case (a free word may be a password).
    Effort,
    /// A cloud region: 1 to 32 lowercase ASCII letters, digits and `-` (`us-east-1`, `global`).
    Region,
    /// A model id or alias: 1 to 200 ASCII letters, digits and `. _ - : / @ [ ]`
    /// (`claude-sonnet-4-5`, `opus[1m]`, `us.anthropic.claude-…-v1:0`, Bedrock ARNs, Vertex's
    /// `…@20250929`).
    Model,
}

/// The variables whose values are shown (when of their shape): what Claude Code's max output,
/// thinking, retries, concurrency, provider, region and models are set to.
const SHOWN: [(&str, Shape); 36] = [
    // Token counts and limits.
    ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", Shape::Count),
    ("MAX_THINKING_TOKENS", Shape::Count),
    ("MAX_MCP_OUTPUT_TOKENS", Shape::Count),
    ("CLAUDE_CODE_MAX_RETRIES", Shape::Count),
    ("CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS", Shape::Count),
    ("CLAUDE_CODE_MAX_TOOL_USE_CONCURRENCY", Shape::Count),
    ("API_TIMEOUT_MS", Shape::Count),
    ("BASH_DEFAULT_TIMEOUT_MS", Shape::Count),
    ("BASH_MAX_TIMEOUT_MS", Shape::Count),
    ("BASH_MAX_OUTPUT_LENGTH", Shape::Count),
    ("MCP_TIMEOUT", Shape::Count),
    ("MCP_TOOL_TIMEOUT", Shape::Count),
    // Switches.
    ("CLAUDE_CODE_USE_BEDROCK", Shape::Flag),
    ("CLAUDE_CODE_USE_VERTEX", Shape::Flag),
    ("CLAUDE_CODE_USE_MANTLE", Shape::Flag),
    ("CLAUDE_CODE_USE_FOUNDRY", Shape::Flag),
    ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", Shape::Flag),
    ("CLAUDE_CODE_SKIP_VERTEX_AUTH", Shape::Flag),
    ("CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING", Shape::Flag),
    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", Shape::Flag),
    ("CLAUDE_CODE_ENABLE_TELEMETRY", Shape::Flag),
    ("DISABLE_PROMPT_CACHING", Shape::Flag),
    ("DISABLE_TELEMETRY", Shape::Flag),
    ("DISABLE_ERROR_REPORTING", Shape::Flag),
    ("DISABLE_AUTOUPDATER", Shape::Flag),
    // Words.
    ("CLAUDE_CODE_EFFORT_LEVEL", Shape::Effort),
    ("CLAUDE_CODE_RETRY_WATCHDOG", Shape::Flag),
    // Regions.
    ("AWS_REGION", Shape::Region),
    ("AWS_DEFAULT_REGION", Shape::Region),
    ("CLOUD_ML_REGION", Shape::Region),
    // Models.
    ("ANTHROPIC_MODEL", Shape::Model),
    ("ANTHROPIC_SMALL_FAST_MODEL", Shape::Model),
    ("ANTHROPIC_DEFAULT_OPUS_MODEL", Shape::Model),
    ("ANTHROPIC_DEFAULT_SONNET_MODEL", Shape::Model),
    ("ANTHROPIC_DEFAULT_HAIKU_MODEL", Shape::Model),
    ("CLAUDE_CODE_SUBAGENT_MODEL", Shape::Model),
];

/// Prefixes of secret formats too short to look for anywhere in a value (`sk-` is in many a
/// word): a secret where a value or one of its parts starts with one. The other formats are
/// [`SECRET_MARKS`], found anywhere.
const SECRET_PREFIXES: [&str; 1] = ["sk-"];

/// Marks of well-known secret formats (Anthropic, OpenAI, GitHub, GitLab, Slack, AWS,
/// Google, JWT, PEM) found anywhere in a value (a key pasted after a model id:
/// `claude-haiku:x-sk-ant-api03-…`).
const SECRET_MARKS: [&str; 25] = [
    "sk-ant-",
    "sk-proj-",
    // Stripe's keys, Google's OAuth tokens, HTTP credentials.
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "ya29.",
    "Basic ",
    "Bearer ",
    "github_pat_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "glpat-",
    "xoxa-",
    "xoxb-",
    "xoxe",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "AKIA",
    "ASIA",
    "AIza",
    "eyJ",
    "-----BEGIN",
];

/// Whether a value looks like a secret whatever its variable: a known key format at its start
/// or the start of any of its parts (between `: / @ = . , ;` and spaces), a secret's mark
/// anywhere, or a long opaque run of key characters in any part. Checked on top of the shape.
pub fn looks_secret(value: &str) -> bool {
    let v = value.trim();
    if SECRET_MARKS.iter().any(|m| v.contains(m)) {
        return true;
    }
    let opaque = |p: &str| {
        p.len() >= 32
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b))
            && p.bytes().any(|b| b.is_ascii_digit())
            && p.bytes().any(|b| b.is_ascii_alphabetic())
    };
    opaque(v)
        || v.split([':', '/', '@', '=', '.', ',', ';', ' '])
            .any(|p| SECRET_PREFIXES.iter().any(|s| p.starts_with(s)) || opaque(p))
}

/// Whether `s` has the shape of a model id or alias (and does not look like a secret). An `@`
/// is only Vertex's version (`claude-sonnet-4@20250514`): one `@`, no colon before it (an ARN
/// has colons but no `@`) and only letters and digits after it. Anything else with an `@`
/// may be a `user:password@host` (`arn:…:pw@host`, `u@host:pw`), whatever it starts with.
pub fn is_model_id(s: &str) -> bool {
    let version_only = match s.split_once('@') {
        None => true,
        Some((head, version)) => {
            !head.is_empty()
                && !head.contains(':')
                && !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_alphanumeric())
        }
    };
    (1..=200).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:/@[]".contains(&b))
        && version_only
        && !looks_secret(s)
}

/// Whether `s` (of a region's characters) reads as a region: `global`, or words joined by
/// `-` ending in a number (`us-east-1`, `us-gov-west-1`, `europe-west4`), not a free word
/// (`hunter2`) or a passphrase (`correct-horse-battery-staple`), which a region variable
/// can hold too.
fn is_region(s: &str) -> bool {
    if s == "global" {
        return true;
    }
    let parts: Vec<&str> = s.split('-').collect();
    let last = parts.last().copied().unwrap_or("");
    let words = &parts[..parts.len() - 1];
    // The number ends the last part, after its letters (`west4`) or alone (`1`).
    let digits = last.trim_start_matches(|c: char| c.is_ascii_lowercase());
    !words.is_empty()
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !digits.is_empty()
        && digits.len() <= 2
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a value of a model's shape names a model, to be shown: a Claude model id or
/// alias (it names Claude, Anthropic, a family or a Claude Code alias), or an ARN; the parts
/// after a colon of anything but an ARN are a version's digits (`…-v1:0`). A model variable
/// may hold anything a user pastes (`P@ssw0rd`, `claude-opus-4-6:password123`).
fn names_a_model(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    if l.starts_with("arn:aws") {
        return true;
    }
    let mut parts = l.split(':');
    let head = parts.next().unwrap_or("");
    let versions = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let alias = head.split('[').next().unwrap_or("");
    let named = ["claude", "anthropic", "sonnet", "opus", "haiku"].iter().any(|w| head.contains(w))
        || ["best", "default", "opusplan"].contains(&alias);
    versions && named
}

/// An `env` key as it may be shown: a variable name as shells spell them, else `<redacted>`
/// (a key can hold a pasted secret too).
pub fn shown_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && !looks_secret(name);
    if plain { name.to_string() } else { REDACTED.to_string() }
}

fn fits(shape: Shape, value: &Value) -> bool {
    let s = match value {
        Value::String(s) => s.as_str(),
        Value::Number(_) => return matches!(shape, Shape::Count | Shape::Flag),
        Value::Bool(_) => return shape == Shape::Flag,
        _ => return false,
    };
    let short = |max: usize, ok: fn(u8) -> bool| (1..=max).contains(&s.len()) && s.bytes().all(ok);
    let ok = match shape {
        Shape::Count => {
            let t = s.trim();
            (1..=20).contains(&t.len())
                && t.bytes().all(|b| b.is_ascii_digit() || b"_.eE+-".contains(&b))
                && t.bytes().any(|b| b.is_ascii_digit())
        }
        Shape::Flag => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "0" | "1" | "true" | "false" | "yes" | "no" | "on" | "off"
        ),
        Shape::Effort => {
            matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "low" | "medium" | "high" | "xhigh" | "max" | "auto" | "default"
            )
        }
        Shape::Region => short(32, |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && is_region(s),
        Shape::Model => is_model_id(s) && names_a_model(s),
    };
    ok && !looks_secret(s)
}

/// A JSON value as text: a string as it is, anything else as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether the value of `env[name]` may be shown without `--show-env`.
pub fn may_show(name: &str, value: &Value) -> bool {
    SHOWN.iter().find(|(n, _)| *n == name).is_some_and(|(_, shape)| fits(*shape, value))
}

/// The value of `env[name]` as it may be shown: itself when `show_all` (`--show-env`) or when
/// [`may_show`] (an AWS account id in it masked, [`mask_account`]), else [`REDACTED`].
pub fn shown_value(name: &str, value: &Value, show_all: bool) -> String {
    match (show_all, may_show(name, value)) {
        (true, _) => text_of(value),
        (false, true) => mask_account(&text_of(value)),
        (false, false) => REDACTED.to_string(),
    }
}

/// The same for a value given as JSON text (`32000`, `"32000"`), kept as JSON text when shown.
pub fn shown_json(name: &str, json: &str, show_all: bool) -> String {
    match (show_all, serde_json::from_str::<Value>(json).is_ok_and(|v| may_show(name, &v))) {
        (true, _) => json.to_string(),
        (false, true) => mask_account(json),
        (false, false) => REDACTED.to_string(),
    }
}

/// The placeholder of an AWS account id.
pub const ACCOUNT: &str = "<account>";

/// `text` with every AWS account id in it (twelve digits between colons, as an ARN holds
/// one: `arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/…`) replaced
/// by [`ACCOUNT`]: a model id may be an ARN, and an account id is not for a shared report.
pub fn mask_account(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' && b.len() > i + 13 && b[i + 1..i + 13].iter().all(u8::is_ascii_digit) && b[i + 13] == b':' {
            out.push_str(&text[last..=i]);
            out.push_str(ACCOUNT);
            last = i + 13;
            i += 13;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An ARN's account id is masked where a model id is shown; `--show-env` shows it.
    #[test]
    fn account_ids_in_arns_are_masked() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc1";
        let masked = "arn:aws:bedrock:us-east-1:<account>:application-inference-profile/abc1";
        assert_eq!(shown_value("ANTHROPIC_MODEL", &json!(arn), false), masked);
        assert_eq!(shown_json("ANTHROPIC_MODEL", &format!("\"{arn}\""), false), format!("\"{masked}\""));
        assert_eq!(shown_value("ANTHROPIC_MODEL", &json!(arn), true), arn);
        // Not twelve digits between colons: kept.
        for kept in ["us.anthropic.claude-opus-4-6-v1:0", "a:1234567890123:b", "a:12345678901:b", "x:123456789012"] {
            assert_eq!(mask_account(kept), kept);
        }
        assert_eq!(mask_account(":123456789012::123456789012:"), ":<account>::<account>:");
    }

    #[test]
    fn only_listed_variables_of_their_shape_are_shown() {
        for (name, v) in [
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", json!("6000")),
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", json!(6000)),
            ("MAX_THINKING_TOKENS", json!("6.4e4")),
            ("CLAUDE_CODE_USE_BEDROCK", json!("1")),
            ("CLAUDE_CODE_USE_VERTEX", json!(true)),
            ("DISABLE_PROMPT_CACHING", json!("TRUE")),
            ("CLAUDE_CODE_EFFORT_LEVEL", json!("high")),
            ("CLAUDE_CODE_EFFORT_LEVEL", json!("XHigh")),
            ("CLAUDE_CODE_RETRY_WATCHDOG", json!("1")),
            ("AWS_REGION", json!("us-east-1")),
            ("AWS_REGION", json!("us-gov-west-1")),
            ("CLOUD_ML_REGION", json!("global")),
            ("CLOUD_ML_REGION", json!("europe-west4")),
            ("CLOUD_ML_REGION", json!("asia-southeast1")),
            ("ANTHROPIC_MODEL", json!("sonnet")),
            ("ANTHROPIC_MODEL", json!("opusplan")),
            ("ANTHROPIC_MODEL", json!("claude-opus-4-8")),
            ("ANTHROPIC_MODEL", json!("opus[1m]")),
            ("ANTHROPIC_MODEL", json!("us.anthropic.claude-sonnet-4-5-20250929-v1:0")),
            ("ANTHROPIC_MODEL", json!("arn:aws:bedrock:us-east-1:inference-profile/x")),
            ("ANTHROPIC_SMALL_FAST_MODEL", json!("claude-haiku-4-5@20251001")),
        ] {
            assert_eq!(shown_value(name, &v, false), text_of(&v), "{name}");
        }
    }

    /// From the adversarial review: a key holding a secret, tokens of other shapes, a
    /// `user:password@host` where a model id should be.
    #[test]
    fn names_and_odd_tokens_are_redacted_too() {
        assert_eq!(shown_name("Bearer LEAK23"), REDACTED);
        assert_eq!(shown_name("ANTHROPIC_MODEL"), "ANTHROPIC_MODEL");
        for secret in ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "glpat-LEAK03abc", "ghs_LEAK", "AIzaSyLEAK"] {
            assert!(looks_secret(secret), "{secret}");
            assert!(!is_model_id(secret), "{secret}");
        }
        assert!(!is_model_id("hunter2:LEAK04/pass@host"));
        assert!(is_model_id("claude-sonnet-4@20250514"));
        // From the review of issue 24: userinfo behind `arn:`, or with the colon after the `@`.
        for secret in ["arn:SECRET:pw@host", "u@SECRET:pw", "arn:aws:bedrock@x", "a@b@c", "@20250514", "x@", "a@b/c"] {
            assert!(!is_model_id(secret), "{secret}");
            assert_eq!(shown_value("ANTHROPIC_MODEL", &json!(secret), false), REDACTED, "{secret}");
        }
        assert!(is_model_id("claude-opus-4-1@20250805") && is_model_id("claude-3-5-haiku@20241022"));
        assert!(is_model_id(
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-v1:0"
        ));
    }

    #[test]
    fn everything_else_is_redacted() {
        for (name, v) in [
            // Secrets under names no deny-list foresees.
            ("ANTHROPIC_CUSTOM_HEADERS", json!("Authorization: Bearer abc")),
            ("OTEL_EXPORTER_OTLP_HEADERS", json!("x-honeycomb-team=abc")),
            ("ANTHROPIC_BASE_URL", json!("https://proxy.example/v1?key=abc")),
            ("CLAUDE_CODE_OTEL_HEADERS_HELPER", json!("echo Bearer abc")),
            ("ANTHROPIC_API_KEY", json!(12345)),
            ("SOMETHING_NEW", json!(true)),
            // Listed names with values of another shape.
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", json!("Bearer abc")),
            ("CLAUDE_CODE_USE_BEDROCK", json!("yes please")),
            ("AWS_REGION", json!("EU WEST")),
            ("AWS_REGION", json!(1)),
            ("ANTHROPIC_MODEL", json!("<img src=x onerror=alert(1)>")),
            ("ANTHROPIC_MODEL", json!("sk-ant-api03-abc")),
            ("ANTHROPIC_MODEL", json!("c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZzEyMzQ1Njc4")),
            ("ANTHROPIC_MODEL", json!("x".repeat(201))),
            ("ANTHROPIC_MODEL", json!({"a": 1})),
            ("CLAUDE_CODE_EFFORT_LEVEL", json!("high\u{1b}[31m")),
            // The adversarial review of 2026-12-05: a key after a model id, a Slack refresh
            // token, a free word where an effort level or a switch goes, an opaque part.
            ("ANTHROPIC_SMALL_FAST_MODEL", json!("claude-haiku:x-sk-ant-api03-abcdefgh")),
            ("ANTHROPIC_MODEL", json!("xoxe.xoxp-1-abcdef")),
            ("ANTHROPIC_MODEL", json!("claude-haiku:c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZzEy")),
            ("ANTHROPIC_MODEL", json!("claude.AKIAIOSFODNN7EXAMPLE")),
            ("CLAUDE_CODE_EFFORT_LEVEL", json!("PLANTEDf6pass")),
            ("CLAUDE_CODE_EFFORT_LEVEL", json!(123456)),
            ("CLAUDE_CODE_RETRY_WATCHDOG", json!("PLANTEDf6pass")),
            // The adversarial review of 2026-12-08: keys of other formats, and words, where a
            // model id or a region goes.
            ("ANTHROPIC_MODEL", json!("sk_live_51Habcdefgh")),
            ("CLAUDE_CODE_SUBAGENT_MODEL", json!("ya29.a0AfH6SMBxSECRETTOKEN")),
            ("ANTHROPIC_SMALL_FAST_MODEL", json!("Basic:dXNlcjpwYXNzd29yZA")),
            ("ANTHROPIC_MODEL", json!("P@ssw0rd")),
            ("ANTHROPIC_MODEL", json!("hunter2")),
            ("ANTHROPIC_MODEL", json!("claude-opus-4-6:password123")),
            ("AWS_REGION", json!("password")),
            ("AWS_REGION", json!("hunter2")),
            ("AWS_REGION", json!("correct-horse-battery-staple")),
        ] {
            assert_eq!(shown_value(name, &v, false), REDACTED, "{name} = {v}");
            assert_eq!(shown_value(name, &v, true), text_of(&v), "--show-env shows {name}");
        }
    }

    #[test]
    fn json_text_is_kept_as_written() {
        assert_eq!(shown_json("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "32000", false), "32000");
        assert_eq!(shown_json("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "\"32000\"", false), "\"32000\"");
        assert_eq!(shown_json("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "\"sk-ant-x\"", false), REDACTED);
        assert_eq!(shown_json("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "\"sk-ant-x\"", true), "\"sk-ant-x\"");
    }
}
