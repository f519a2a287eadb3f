//! The model table: every per-model figure the report and the recommendation use, as data.
//!
//! The table ccdoctor is built with is `models.json` beside this file, compiled in: one row
//! per family, each figure with its value, whether a published source states it
//! (`verified`) and that source. Where Claude Code's own default or upper limit for a model
//! is not published, the row says so, and so does the report beside the figure. A user file
//! ([`load_user_file`]) adds rows or overrides figures without a new release; the table in
//! use is installed once at start ([`install`]) and read everywhere through [`table`].

pub mod id;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

/// How a figure of the user's models file names its source.
pub const MODELS_FILE_SOURCE: &str = "your models file";

/// The largest max output limit believed when data or a file states one (a `Capped from X
/// to Y` line, an "exceeded the N output token maximum" error, a models file): 1,000,000
/// tokens. The largest limit of any model today is 128,000; the bound leaves nearly eight
/// times that for models newer than the table, and keeps out what no model allows (a
/// corrupt or hostile 99,999,999,999,999, which would otherwise become the limit in effect
/// and make the candidates of the replay without end). Larger figures are left out and
/// counted, never clamped: a clamped corrupt figure would still look like evidence.
pub const MAX_OUTPUT_LIMIT: u64 = 1_000_000;

/// Whether a max output limit read from data or a file is one some model allows.
pub fn plausible_limit(n: u64) -> bool {
    (1..=MAX_OUTPUT_LIMIT).contains(&n)
}

/// The burndown believed where a flag or a models file gives one: quota tokens each output
/// token burns, from 0.01 to 100. AWS's are 1 and 5; a figure outside (0, a negative, 1e308,
/// 1e-300) is a mistake, and would make every request or none throttle in the replay.
pub const BURNDOWN_RANGE: std::ops::RangeInclusive<f64> = 0.01..=100.0;

/// Whether a burndown is one [`BURNDOWN_RANGE`] allows.
pub fn plausible_burndown(b: f64) -> bool {
    b.is_finite() && BURNDOWN_RANGE.contains(&b)
}

/// The largest tokens-per-minute quota believed where a flag or a models file gives one:
/// 100,000,000,000, the largest quota the fit searches (`analysis::fit`). AWS's published
/// defaults are in the millions. A quota is at least 1.
pub const MAX_QUOTA_TPM: u64 = 100_000_000_000;

/// Whether a quota is one some account could have (1 to [`MAX_QUOTA_TPM`]).
pub fn plausible_quota(q: u64) -> bool {
    (1..=MAX_QUOTA_TPM).contains(&q)
}

/// The most input tokens one request is believed to carry (input, cache writes and cache
/// reads together: the prompt, which must fit the context window): 10,000,000, ten times
/// the largest context window (1,000,000). A response recording more is a corrupt count,
/// left out of every figure and counted.
pub const MAX_INPUT_TOKENS: u64 = 10_000_000;

/// The row that gathers the models the report does not show one by one.
pub const OTHER_MODELS: &str = "(other models)";

/// A figure and where it comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Figure<T> {
    pub value: T,
    /// A published source states it (else it is an assumption, and the report says
    /// "unverified").
    pub verified: bool,
    pub source: String,
}

impl<T> Figure<T> {
    fn from_user(value: T, file: &Path) -> Self {
        Self { value, verified: true, source: format!("{MODELS_FILE_SOURCE} {}", file.display()) }
    }
}

/// Service Quotas codes of a model's Bedrock tokens-per-minute quota, by endpoint type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QuotaCodes {
    pub in_region: Option<String>,
    pub cross_region: Option<String>,
    pub global: Option<String>,
}

/// One model family.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Family {
    /// Canonical id prefix (`claude-sonnet-4-5`).
    pub key: String,
    /// Display name (`Sonnet 4.5`).
    pub name: String,
    /// The Claude Code version that added it, where known.
    #[serde(default)]
    pub since: Option<String>,
    /// Claude Code's default max output tokens for the family.
    pub default_max_output: Figure<u64>,
    /// The largest max output Claude Code sends for it: larger settings are clamped to it.
    pub max_output_cap: Figure<u64>,
    /// Quota tokens each output token burns on Bedrock.
    pub bedrock_burndown: Figure<f64>,
    /// AWS's published default Bedrock tokens-per-minute quota, where there is one.
    #[serde(default)]
    pub bedrock_default_tpm: Option<Figure<u64>>,
    /// Depth of thinking follows the effort level; `MAX_THINKING_TOKENS` is ignored unless
    /// adaptive thinking is turned off.
    #[serde(default)]
    pub adaptive_thinking: bool,
    /// Vertex quota shared by a line of models (late-2026 models on global and multi-region
    /// endpoints).
    #[serde(default)]
    pub vertex_quota_line: Option<String>,
    #[serde(default)]
    pub quota_codes: QuotaCodes,
}

/// The families, longest key first.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTable {
    pub families: Vec<Family>,
}

#[derive(Deserialize)]
struct TableFile {
    families: Vec<Family>,
}

/// A row of a user's models file: a key, and any figures to set (plain numbers).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRow {
    key: String,
    name: Option<String>,
    default_max_output: Option<u64>,
    max_output_cap: Option<u64>,
    bedrock_burndown: Option<f64>,
    bedrock_default_tpm: Option<u64>,
    adaptive_thinking: Option<bool>,
    vertex_quota_line: Option<String>,
}

impl UserRow {
    /// A limit no model allows, or a burndown or quota the flags would refuse, is refused
    /// with the file, not clamped: the rest of the file may be as wrong, and the user who
    /// wrote it is told ([`MAX_OUTPUT_LIMIT`], [`BURNDOWN_RANGE`], [`MAX_QUOTA_TPM`]).
    fn check_figures(&self, key: &str) -> Result<(), String> {
        for (field, value) in [("default_max_output", self.default_max_output), ("max_output_cap", self.max_output_cap)]
        {
            if let Some(v) = value.filter(|&v| !plausible_limit(v)) {
                return Err(format!(
                    "{key}: {field} {v} is not a limit any model allows (1 to {})",
                    crate::text::thousands(MAX_OUTPUT_LIMIT)
                ));
            }
        }
        if let Some(b) = self.bedrock_burndown.filter(|&b| !plausible_burndown(b)) {
            return Err(format!(
                "{key}: bedrock_burndown {b} is not a burndown (from {} to {}, as --burndown takes)",
                BURNDOWN_RANGE.start(),
                BURNDOWN_RANGE.end()
            ));
        }
        if let Some(q) = self.bedrock_default_tpm.filter(|&q| !plausible_quota(q)) {
            return Err(format!(
                "{key}: bedrock_default_tpm {q} is not a quota (1 to {} tokens a minute, as --quota-tpm takes)",
                crate::text::thousands(MAX_QUOTA_TPM)
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    #[serde(default)]
    about: Option<String>,
    families: Vec<UserRow>,
}

/// A models file read as JSON.parse reads JSON (as the settings are): a key written twice
/// takes its last value, a lone surrogate is a replacement character, a number too large
/// for a double is one (refused as a figure by the checks), deep nesting is read.
fn read_user_file(text: &str) -> Result<UserFile, serde_json::Error> {
    use crate::scan::line::last_wins;
    last_wins::from_str(text).or_else(|refused| match crate::jsparse::reading(text, Some(crate::jsparse::READ_DEPTH)) {
        Some(t) => last_wins::from_str(&t),
        None => Err(refused),
    })
}

/// Why a models file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelsFileError {
    #[error("{path}: cannot read the models file: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: not a models file (line {line}, column {column}): {what}")]
    Parse { path: PathBuf, line: usize, column: usize, what: &'static str },
    #[error("{path}: {what}")]
    Invalid { path: PathBuf, what: String },
}

impl ModelTable {
    /// The table ccdoctor is built with.
    pub fn builtin() -> Self {
        let file: TableFile = serde_json::from_str(include_str!("models.json")).expect("models.json is valid");
        Self::sorted(file.families)
    }

    fn sorted(mut families: Vec<Family>) -> Self {
        families.sort_by(|a, b| b.key.len().cmp(&a.key.len()).then_with(|| a.key.cmp(&b.key)));
        Self { families }
    }

    /// This table with a user's rows applied: a row with a known key overrides the figures it
    /// gives; a new key adds a family (which must then give name, default and cap).
    pub fn with_user_file(&self, path: &Path, text: &str) -> Result<Self, ModelsFileError> {
        let file: UserFile = read_user_file(text).map_err(|e| ModelsFileError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            // The classification only: a parse error quotes the file's text otherwise.
            what: match e.classify() {
                serde_json::error::Category::Io => "read error",
                serde_json::error::Category::Syntax => "invalid JSON",
                serde_json::error::Category::Data => "a field of the wrong type or an unknown field",
                serde_json::error::Category::Eof => "cut short",
            },
        })?;
        let _ = file.about;
        let mut families = self.families.clone();
        for row in file.families {
            let key = id::canonical(&row.key);
            if key.is_empty() || !key.starts_with("claude-") {
                return Err(ModelsFileError::Invalid {
                    path: path.to_path_buf(),
                    what: "each key must be a model id prefix such as claude-opus-5".into(),
                });
            }
            row.check_figures(&key).map_err(|what| ModelsFileError::Invalid { path: path.to_path_buf(), what })?;
            let f = match families.iter_mut().find(|f| f.key == key) {
                Some(f) => f,
                None => {
                    let (Some(name), Some(default), Some(cap)) =
                        (&row.name, row.default_max_output, row.max_output_cap)
                    else {
                        return Err(ModelsFileError::Invalid {
                            path: path.to_path_buf(),
                            what: format!(
                                "{key} is a new family: give its name, default_max_output and max_output_cap"
                            ),
                        });
                    };
                    families.push(Family {
                        key: key.clone(),
                        name: name.clone(),
                        since: None,
                        default_max_output: Figure::from_user(default, path),
                        max_output_cap: Figure::from_user(cap, path),
                        bedrock_burndown: Figure { value: 5.0, verified: false, source: "assumed 5x".into() },
                        bedrock_default_tpm: None,
                        adaptive_thinking: false,
                        vertex_quota_line: None,
                        quota_codes: QuotaCodes::default(),
                    });
                    families.last_mut().expect("pushed")
                }
            };
            if let Some(n) = row.name {
                f.name = n;
            }
            if let Some(v) = row.default_max_output {
                f.default_max_output = Figure::from_user(v, path);
            }
            if let Some(v) = row.max_output_cap {
                f.max_output_cap = Figure::from_user(v, path);
            }
            if let Some(v) = row.bedrock_burndown {
                f.bedrock_burndown = Figure::from_user(v, path);
            }
            if let Some(v) = row.bedrock_default_tpm {
                f.bedrock_default_tpm = Some(Figure::from_user(v, path));
            }
            if let Some(v) = row.adaptive_thinking {
                f.adaptive_thinking = v;
            }
            if let Some(v) = row.vertex_quota_line {
                f.vertex_quota_line = Some(v);
            }
        }
        Ok(Self::sorted(families))
    }

    /// The family of a model id in any provider's spelling, if known: the longest key that
    /// is the canonical id, or a prefix of it followed by a date or the `-0` alias.
    pub fn family_of(&self, raw_id: &str) -> Option<&Family> {
        let id = id::canonical(raw_id);
        self.families.iter().find(|f| {
            let Some(rest) = id.strip_prefix(f.key.as_str()) else { return false };
            let Some(rest) = (if rest.is_empty() { Some("") } else { rest.strip_prefix('-') }) else { return false };
            rest.is_empty()
                || rest == "0"
                || rest == "latest"
                || rest.as_bytes().get(..8).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        })
    }
}

static TABLE: OnceLock<ModelTable> = OnceLock::new();

/// Upper limit assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_CAP: u64 = 32_000;
/// The upper limit taken for a model missing from the model table once the user's records
/// show a response longer than [`UNKNOWN_MODEL_CAP`]: Claude Code did not cap it there, and
/// third-party reports say it clamps models it does not know at 128,000 (unverified).
pub const UNKNOWN_MODEL_REPORTED_CAP: u64 = 128_000;
/// Claude Code's default max output assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_DEFAULT: u64 = 32_000;
/// Burndown assumed on Bedrock for a model missing from the table (AWS: "burndown applies"
/// to Claude 4.7 and later; probably 5×, unverified).
pub const UNKNOWN_MODEL_BURNDOWN: f64 = 5.0;
/// Installs the table to use (the built-in one with a user's file applied). Only the first
/// call has effect; before any, [`table`] is the built-in table.
pub fn install(table: ModelTable) {
    let _ = TABLE.set(table);
}

/// The table in use.
pub fn table() -> &'static ModelTable {
    TABLE.get_or_init(ModelTable::builtin)
}

/// Where a user's models file is looked for when `--models` names none:
/// `$XDG_CONFIG_HOME/ccdoctor/models.json`, else `~/.config/ccdoctor/models.json`.
pub fn default_user_file(xdg_config_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    match xdg_config_home.filter(|p| p.is_absolute()) {
        Some(x) => Some(x.join("ccdoctor/models.json")),
        None => home.map(|h| h.join(".config/ccdoctor/models.json")),
    }
}

/// The largest models file read: a table of families is a few KiB.
const MAX_USER_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a user's models file and applies it to the built-in table.
pub fn load_user_file(path: &Path) -> Result<ModelTable, ModelsFileError> {
    use std::io::Read;
    // A regular file of a sane size: not a FIFO that blocks, nor /dev/zero.
    let read_err = |error| ModelsFileError::Read { path: path.to_path_buf(), error };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if !meta.is_file() || meta.len() > MAX_USER_FILE_BYTES {
        return Err(ModelsFileError::Invalid {
            path: path.to_path_buf(),
            what: format!("not a regular file of at most {} KiB", MAX_USER_FILE_BYTES / 1024),
        });
    }
    let mut text = String::new();
    crate::open::regular(path)
        .and_then(|f| f.take(MAX_USER_FILE_BYTES + 1).read_to_string(&mut text))
        .map_err(read_err)?;
    ModelTable::builtin().with_user_file(path, &text)
}

/// The family of a model id in the table in use.
pub fn family_of(raw_id: &str) -> Option<&'static Family> {
    table().family_of(raw_id)
}

/// The name to group and show a model under: its family's display name when known,
/// else its canonical id.
pub fn display_name(raw_id: &str) -> String {
    family_of(raw_id).map_or_else(|| shown_id(id::canonical(raw_id)), |f| f.name.clone())
}

/// The longest model id shown whole: real ids (Bedrock's ARNs included) are far shorter.
const MAX_SHOWN_ID: usize = 120;

/// A model id as it is shown and keyed: whole up to [`MAX_SHOWN_ID`] characters, else its
/// start, its length and a hash of the whole (two ids that share their start stay apart). A
/// record naming a model in 100,000 characters flooded the table with 13,000 lines (the
/// adversarial review of 2026-12-08).
fn shown_id(id: String) -> String {
    let n = id.chars().count();
    if n <= MAX_SHOWN_ID {
        return id;
    }
    let start: String = id.chars().take(MAX_SHOWN_ID / 2).collect();
    let hash = xxhash_rust::xxh3::xxh3_64(id.as_bytes()) & 0xff_ffff;
    format!("{start}… ({} characters, #{hash:06x})", crate::text::thousands(n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(id: &str) -> Option<String> {
        ModelTable::builtin().family_of(id).map(|f| f.name.clone())
    }

    #[test]
    fn a_long_unknown_id_is_shown_by_its_start_length_and_hash() {
        let long = |c: char| format!("claude-{}", c.to_string().repeat(100_000));
        let (a, b) = (display_name(&long('x')), display_name(&format!("{}y", long('x'))));
        assert!(a.starts_with("claude-xxx") && a.contains("… (100,007 characters, #"), "{a}");
        assert!(a.chars().count() < 100 && a != b, "{a} {b}");
        assert_eq!(display_name("claude-mythos-1"), "claude-mythos-1");
    }

    #[test]
    fn families_in_every_spelling() {
        for (id, want) in [
            ("claude-sonnet-4-20250514", Some("Sonnet 4")),
            ("claude-sonnet-4-0", Some("Sonnet 4")),
            ("us.anthropic.claude-sonnet-4-20250514-v1:0", Some("Sonnet 4")),
            ("claude-sonnet-4@20250514", Some("Sonnet 4")),
            ("claude-sonnet-4-5-20250929", Some("Sonnet 4.5")),
            ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", Some("Sonnet 4.5")),
            ("claude-opus-4-1-20250805", Some("Opus 4.1")),
            ("claude-opus-4-20250514", Some("Opus 4")),
            ("claude-opus-4-6", Some("Opus 4.6")),
            ("claude-opus-4-6[1m]", Some("Opus 4.6")),
            ("claude-haiku-4-5-20251001", Some("Haiku 4.5")),
            ("claude-3-7-sonnet-20250219", Some("Sonnet 3.7")),
            ("claude-3-5-haiku@20241022", Some("Haiku 3.5")),
            // Late 2026: ids without dates, longest key first.
            ("claude-opus-4-7", Some("Opus 4.7")),
            ("claude-opus-4-8", Some("Opus 4.8")),
            ("claude-opus-5", Some("Opus 5")),
            ("claude-opus-5-5", Some("Opus 5.5")),
            ("claude-opus-5-5[1m]", Some("Opus 5.5")),
            ("claude-sonnet-5", Some("Sonnet 5")),
            ("claude-sonnet-5-5", Some("Sonnet 5.5")),
            ("claude-haiku-5-5", Some("Haiku 5.5")),
            ("claude-fable-5", Some("Fable 5")),
            ("claude-fable-5-1", Some("Fable 5.1")),
            ("claude-fable-5-2", Some("Fable 5.2")),
            ("claude-mythos-5", Some("Mythos 5")),
            ("claude-mythos-5-1", Some("Mythos 5.1")),
            ("claude-mythos-preview", Some("Mythos preview")),
            // Bedrock with and without the version suffix, an inference-profile ARN, Mantle,
            // Vertex with a date.
            ("us.anthropic.claude-opus-5-v1:0", Some("Opus 5")),
            ("global.anthropic.claude-opus-5-5", Some("Opus 5.5")),
            (
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-5-v1:0",
                Some("Sonnet 5"),
            ),
            ("anthropic.claude-opus-4-8", Some("Opus 4.8")),
            ("claude-opus-5@20261101", Some("Opus 5")),
            // Not families: other vendors, aliases, an unknown suffix, a date cut short.
            ("gpt-4o", None),
            ("opus", None),
            ("claude-opus-5-9", None),
            ("claude-opus-4-6-2026010é", None),
        ] {
            assert_eq!(name(id).as_deref(), want, "{id}");
        }
    }

    #[test]
    fn caps_defaults_and_what_is_verified() {
        let t = ModelTable::builtin();
        let f = |id| t.family_of(id).unwrap();
        assert_eq!(f("claude-opus-4-1-20250805").max_output_cap.value, 32_000);
        assert_eq!(f("claude-sonnet-4-20250514").max_output_cap.value, 64_000);
        assert_eq!(f("claude-opus-4-6").default_max_output.value, 64_000);
        assert!(f("claude-opus-4-6").max_output_cap.verified);
        assert_eq!(f("claude-3-5-sonnet-20241022").max_output_cap.value, 8_192);
        assert_eq!(f("claude-3-5-sonnet-20241022").bedrock_burndown.value, 1.0);
        // Claude Code's figures for the late-2026 models are not published.
        for id in ["claude-opus-5", "claude-sonnet-5-5", "claude-fable-5-2", "claude-mythos-preview"] {
            assert!(!f(id).max_output_cap.verified && !f(id).default_max_output.verified, "{id}");
            assert!(f(id).adaptive_thinking, "{id}");
        }
        assert_eq!(f("claude-sonnet-4-5").quota_codes.global.as_deref(), Some("L-27C57EE8"));
    }

    #[test]
    fn keys_are_ordered_longest_first() {
        let t = ModelTable::builtin();
        for (i, a) in t.families.iter().enumerate() {
            for b in &t.families[i + 1..] {
                assert!(!b.key.starts_with(&a.key) || b.key == a.key, "{} must come after {}", a.key, b.key);
                assert_ne!(a.key, b.key);
            }
        }
    }

    #[test]
    fn a_user_file_overrides_and_adds_rows() {
        let path = Path::new("/home/u/.config/ccdoctor/models.json");
        let text = r#"{"families": [
            {"key": "claude-opus-5", "max_output_cap": 64000},
            {"key": "claude-opus-6", "name": "Opus 6", "default_max_output": 64000, "max_output_cap": 256000, "adaptive_thinking": true}
        ]}"#;
        let t = ModelTable::builtin().with_user_file(path, text).unwrap();
        let opus5 = t.family_of("claude-opus-5").unwrap();
        assert_eq!(opus5.max_output_cap.value, 64_000);
        assert!(opus5.max_output_cap.verified && opus5.max_output_cap.source.contains("your models file"));
        // Figures the file does not give stay the table's.
        assert_eq!(opus5.default_max_output.value, 64_000);
        assert_eq!(t.family_of("us.anthropic.claude-opus-6-v1:0").unwrap().name, "Opus 6");
        // And the new key does not swallow a longer known one.
        assert_eq!(t.family_of("claude-opus-5-5").unwrap().name, "Opus 5.5");
    }

    #[test]
    fn a_bad_user_file_is_named_and_its_text_not_quoted() {
        let path = Path::new("m.json");
        let bad = [
            (r#"{"families": [{"key": "claude-x", "max_output_cap": "SECRETVALUE"}]}"#, "wrong type"),
            (r#"{"families": [{"key": "claude-x", "colour": 1}]}"#, "unknown field"),
            (r#"{"families": [{"key": "claude-new"}]}"#, "new family"),
            (r#"{"families": [{"key": "sk-ant-123"}]}"#, "model id prefix"),
            (r#"{"families": "#, "cut short"),
            // A limit no model allows (it would become the upper limit of the replay).
            (r#"{"families": [{"key": "claude-opus-5", "max_output_cap": 99999999999999}]}"#, "not a limit any model"),
            (r#"{"families": [{"key": "claude-opus-5", "default_max_output": 1000001}]}"#, "1 to 1,000,000"),
            (r#"{"families": [{"key": "claude-opus-5", "max_output_cap": 0}]}"#, "not a limit any model"),
            // A burndown or a quota the flags refuse (1e400 reads as a double's largest).
            (
                r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": -1}]}"#,
                "bedrock_burndown -1 is not a burndown",
            ),
            (r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": 0}]}"#, "from 0.01 to 100"),
            (r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": 1e308}]}"#, "not a burndown"),
            (r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": 1e400}]}"#, "not a burndown"),
            (r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": 1e-300}]}"#, "not a burndown"),
            (
                r#"{"families": [{"key": "claude-opus-5", "bedrock_default_tpm": 0}]}"#,
                "bedrock_default_tpm 0 is not a quota",
            ),
            (r#"{"families": [{"key": "claude-opus-5", "bedrock_default_tpm": 100000000001}]}"#, "100,000,000,000"),
        ];
        for (text, want) in bad {
            let e = ModelTable::builtin().with_user_file(path, text).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("SECRETVALUE"), "{e}");
        }
    }

    /// A key written twice takes its last value, as JSON.parse reads it (and the settings
    /// are read); a lone surrogate in a name is read too.
    #[test]
    fn a_key_written_twice_takes_its_last_value() {
        let text = r#"{"families": [{"key": "claude-opus-5", "bedrock_burndown": 2, "max_output_cap": 1000}],
            "families": [{"key": "claude-opus-5", "bedrock_burndown": 4, "bedrock_burndown": 1.5}]}"#;
        let t = ModelTable::builtin().with_user_file(Path::new("m.json"), text).unwrap();
        let f = t.family_of("claude-opus-5").unwrap();
        // The second `families` wins whole.
        assert_eq!(f.bedrock_burndown.value, 1.5);
        assert_eq!(f.max_output_cap, ModelTable::builtin().family_of("claude-opus-5").unwrap().max_output_cap);
        let text = r#"{"families": [{"key": "claude-opus-5", "name": "Opus \ud83d", "max_output_cap": 1, "max_output_cap": 64000}]}"#;
        let t = ModelTable::builtin().with_user_file(Path::new("m.json"), text).unwrap();
        let f = t.family_of("claude-opus-5").unwrap();
        assert_eq!((f.name.as_str(), f.max_output_cap.value), ("Opus \u{fffd}", 64_000));
    }

    #[test]
    fn default_file_location() {
        assert_eq!(
            default_user_file(Some(Path::new("/x/cfg")), Some(Path::new("/home/u"))),
            Some(PathBuf::from("/x/cfg/ccdoctor/models.json"))
        );
        assert_eq!(
            default_user_file(Some(Path::new("relative")), Some(Path::new("/home/u"))),
            Some(PathBuf::from("/home/u/.config/ccdoctor/models.json"))
        );
        assert_eq!(default_user_file(None, None), None);
    }
}
