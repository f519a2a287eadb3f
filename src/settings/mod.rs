//! The effective Claude Code settings that matter here, resolved the way Claude Code
//! resolves them: managed > local > project > user `settings.json`, each file's `env` object
//! beating the shell environment. Only the keys below are read out of a file for the
//! analysis; the `env` list the report shows has every value not on [`crate::redact`]'s
//! allow-list redacted as the file is read (unless `--show-env`), so no secret reaches any
//! output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::warning::Warning;

pub mod atomic;
pub mod backup;
pub mod edit;
pub mod lock;
pub mod team;
pub mod write;

/// Claude Code deletes transcripts older than this many days unless `cleanupPeriodDays` says
/// otherwise.
pub const DEFAULT_KEPT_DAYS: u64 = 30;

/// Where managed settings live, Linux and macOS.
pub const MANAGED_SETTINGS: [&str; 2] =
    ["/etc/claude-code/managed-settings.json", "/Library/Application Support/ClaudeCode/managed-settings.json"];

/// The name every managed settings file has.
pub const MANAGED_SETTINGS_NAME: &str = "managed-settings.json";

/// The managed settings file of this platform ([`MANAGED_SETTINGS`]).
pub fn managed_settings_file() -> &'static std::path::Path {
    std::path::Path::new(if cfg!(target_os = "macos") { MANAGED_SETTINGS[1] } else { MANAGED_SETTINGS[0] })
}

pub const MAX_OUTPUT: &str = "CLAUDE_CODE_MAX_OUTPUT_TOKENS";
pub const MAX_THINKING: &str = "MAX_THINKING_TOKENS";
pub const USE_BEDROCK: &str = "CLAUDE_CODE_USE_BEDROCK";
pub const USE_VERTEX: &str = "CLAUDE_CODE_USE_VERTEX";
pub const MODEL: &str = "ANTHROPIC_MODEL";
pub const USE_MANTLE: &str = "CLAUDE_CODE_USE_MANTLE";
/// Claude Platform on AWS: only whether it is set is ever read (it is a secret).
pub const AWS_API_KEY: &str = "ANTHROPIC_AWS_API_KEY";
pub const DISABLE_ADAPTIVE: &str = "CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING";
pub const MAX_SUBAGENTS: &str = "CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS";
pub const MAX_RETRIES: &str = "CLAUDE_CODE_MAX_RETRIES";
pub const RETRY_WATCHDOG: &str = "CLAUDE_CODE_RETRY_WATCHDOG";

/// Claude Code refuses a settings file larger than this (`Settings file exceeds the 2MiB
/// limit`): one rule for reading and writing. Such a file's values are not in effect
/// (`read_file` ignores it, with a warning), and `--write` leaves no file this large
/// ([`mod@write`]), since the value in it would never take effect.
pub const CLAUDE_CODE_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Whether Claude Code reads a settings file of `len` bytes.
pub fn claude_code_reads(len: usize) -> bool {
    len as u64 <= CLAUDE_CODE_MAX_BYTES
}

/// The shell variables this module reads.
pub const SHELL_KEYS: [&str; 11] = [
    MAX_OUTPUT,
    MAX_THINKING,
    USE_BEDROCK,
    USE_VERTEX,
    MODEL,
    USE_MANTLE,
    AWS_API_KEY,
    DISABLE_ADAPTIVE,
    MAX_SUBAGENTS,
    MAX_RETRIES,
    RETRY_WATCHDOG,
];

/// The source of a value the shell's environment gives (the lowest layer).
pub const ENVIRONMENT: &str = "environment";
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Bedrock's runtime endpoint: one tokens-per-minute quota with burndown.
    Bedrock,
    /// Bedrock's Mantle endpoint (`CLAUDE_CODE_USE_MANTLE`): input and output quotas apart;
    /// admission checks input + max output against the input quota.
    BedrockMantle,
    Vertex,
    /// The Anthropic API, or Claude Platform on AWS (the same semantics).
    Anthropic,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Bedrock => "bedrock",
            Provider::BedrockMantle => "bedrock-mantle",
            Provider::Vertex => "vertex",
            Provider::Anthropic => "anthropic",
        }
    }

    /// Whether max output counts against a quota there (a reservation at admission).
    pub fn reserves_max_output(self) -> bool {
        self != Provider::Anthropic
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: Option<T>,
    pub source: Option<String>,
}

impl<T> Default for Sourced<T> {
    fn default() -> Self {
        Self { value: None, source: None }
    }
}

impl<T> Sourced<T> {
    pub fn new(value: T, source: impl Into<String>) -> Self {
        Self { value: Some(value), source: Some(source.into()) }
    }
}

/// Where settings may live, highest precedence first within each list.
#[derive(Debug, Clone, Default)]
pub struct SettingsSources {
    /// `managed-settings.json` and `managed-settings.d/*.json`.
    pub managed: Vec<PathBuf>,
    /// `<cwd>/.claude/settings.local.json`.
    pub local: Option<PathBuf>,
    /// `<cwd>/.claude/settings.json`.
    pub project: Option<PathBuf>,
    /// `<home>/settings.json` of each scanned config home.
    pub user: Vec<PathBuf>,
    /// The shell's values of [`SHELL_KEYS`].
    pub shell: HashMap<String, String>,
    /// `--show-env`: show every `env` value as it is, secrets included, instead of only the
    /// allow-listed ones ([`crate::redact`]).
    pub show_env: bool,
}

impl SettingsSources {
    /// The standard places: managed settings in `managed_dir`, project and local settings of
    /// `cwd`, user settings of each config home.
    pub fn standard(managed_dir: &Path, cwd: Option<&Path>, homes: &[PathBuf], shell: HashMap<String, String>) -> Self {
        let mut managed = Vec::new();
        // Drop-in files override the base file; later names override earlier ones.
        if let Ok(rd) = std::fs::read_dir(managed_dir.join("managed-settings.d")) {
            let mut d: Vec<PathBuf> =
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
            d.sort();
            d.reverse();
            managed.extend(d);
        }
        managed.push(managed_dir.join(MANAGED_SETTINGS_NAME));
        Self {
            managed,
            local: cwd.map(|c| c.join(".claude/settings.local.json")),
            project: cwd.map(|c| c.join(".claude/settings.json")),
            user: homes.iter().map(|h| h.join("settings.json")).collect(),
            shell,
            show_env: false,
        }
    }

    /// Every file, highest precedence first, with its scope.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        let mut v: Vec<(&'static str, &Path)> = self.managed.iter().map(|p| ("managed", p.as_path())).collect();
        v.extend(self.local.iter().map(|p| ("local", p.as_path())));
        v.extend(self.project.iter().map(|p| ("project", p.as_path())));
        v.extend(self.user.iter().map(|p| ("user", p.as_path())));
        v
    }
}

/// The resolved values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EffectiveSettings {
    pub max_output_tokens: Sourced<u64>,
    pub max_thinking_tokens: Sourced<u64>,
    pub provider: Sourced<Provider>,
    pub model: Sourced<String>,
    /// `CLAUDE_CODE_DISABLE_ADAPTIVE_THINKING`: the thinking budget applies again.
    pub adaptive_thinking_disabled: Sourced<bool>,
    /// `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`.
    pub max_subagents: Sourced<u64>,
    /// `CLAUDE_CODE_MAX_RETRIES` (0 allowed: no retry).
    pub max_retries: Sourced<u64>,
    /// `CLAUDE_CODE_RETRY_WATCHDOG`.
    pub retry_watchdog: Sourced<bool>,
    /// `cleanupPeriodDays`: how many days of transcripts Claude Code keeps.
    pub cleanup_period_days: Sourced<u64>,
    /// Every `env` variable the settings files set, as Claude Code merges them, with every
    /// value not on the allow-list already redacted (unless `--show-env`).
    pub env: Vec<EnvEntry>,
    /// Each person's own settings, when people are named by their homes (a team's: see
    /// [`team`]); empty otherwise.
    #[serde(skip)]
    pub people: Vec<team::PersonSettings>,
    /// `env`'s values are shown as written, secrets included (`--show-env`), not redacted.
    #[serde(skip)]
    pub env_unredacted: bool,
    /// The max output in effect before each write `apply` made to a settings file read here,
    /// as its backups tell (and a file it created, unchanged since, by its time): `(the
    /// write's time, the value before it)`, oldest first. The history before a write ran at
    /// the value before it, not at the value now.
    #[serde(skip)]
    pub max_output_before: Vec<(crate::time::EpochMs, Option<u64>)>,
    /// What `apply --ran-at N` said the history ran at before each write it made to a
    /// settings file read here (its notes, [`backup::RAN_AT`]): `(the write's time, N)`,
    /// oldest first.
    #[serde(skip)]
    pub ran_at_before: Vec<(crate::time::EpochMs, u64)>,
}

impl EffectiveSettings {
    /// What `apply --ran-at` said a session that started at `at` ran at: the note of a write
    /// after it ([`EffectiveSettings::ran_at_before`]), if any.
    /// The newest such note wins: the user's latest word on it.
    pub fn ran_at_at(&self, at: crate::time::EpochMs) -> Option<u64> {
        self.ran_at_before.iter().rev().find(|&&(t, _)| t > at).map(|&(_, v)| v)
    }

    /// The max output the settings gave at `at` ([`EffectiveSettings::max_output_before`]),
    /// else the value now.
    pub fn max_output_at(&self, at: crate::time::EpochMs) -> Option<u64> {
        match self.max_output_before.iter().find(|&&(t, _)| t > at) {
            Some(&(_, v)) => v,
            None => self.max_output_tokens.value,
        }
    }
}

/// Backups read per settings file, at most: the newest (a history a year long of daily
/// applies).
const MAX_BACKUPS_READ: usize = 400;

/// [`EffectiveSettings::max_output_before`]: each file's value before each write to any of
/// them, resolved through the layers as [`resolve`] does. `read`: each of `sources.files()`
/// as [`resolve`] read it (`None` where it gave nothing).
fn max_output_before(
    sources: &SettingsSources,
    read: &[Option<&FileValues>],
) -> Vec<(crate::time::EpochMs, Option<u64>)> {
    // A backup tells the value before its write only when ccdoctor could have made it: a
    // regular file that reads as settings. One cut short, a folder or a link says nothing.
    let backup_value = |path: &Path| -> Option<Option<Value>> {
        let regular = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
        match read_file(path, false) {
            Ok(values) if regular => Some(values.and_then(|v| v.env.get(MAX_OUTPUT).cloned())),
            _ => None,
        }
    };
    // Each file's value now, and before each of its writes (oldest first).
    let mut now: Vec<Option<Value>> = Vec::new();
    let mut before: Vec<Vec<(crate::time::EpochMs, Option<Value>)>> = Vec::new();
    for ((_, path), values) in sources.files().into_iter().zip(read) {
        let dated = backup::dated(path);
        let skip = dated.len().saturating_sub(MAX_BACKUPS_READ);
        let mut mine: Vec<_> =
            dated.into_iter().skip(skip).filter_map(|(t, b)| backup_value(&b).map(|v| (t, v))).collect();
        // A file `apply` created and no one changed since (the note of its creation holds its
        // very bytes, trusted as `revert` trusts it): before that time there was none. The file
        // is read again only where a note is there.
        if mine.is_empty()
            && let Some((t, note)) = backup::created(path).pop()
            && let (Ok(meta), Ok(bytes)) = (std::fs::metadata(path), std::fs::read(path))
            && backup::holds(
                &note,
                &bytes,
                std::os::unix::fs::MetadataExt::uid(&meta),
                &crate::time::compact_stamp(crate::time::now()),
            )
        {
            mine.push((t, None));
        }
        now.push(values.and_then(|v| v.env.get(MAX_OUTPUT).cloned()));
        before.push(mine);
    }
    let shell = sources.shell.get(MAX_OUTPUT).map(|v| Value::String(v.clone()));
    let mut times: Vec<crate::time::EpochMs> = before.iter().flatten().map(|&(t, _)| t).collect();
    times.sort_unstable();
    times.dedup();
    times
        .into_iter()
        .map(|t| {
            // Each file as it was just before `t`: its first backup from `t` on, else now.
            let value = (0..now.len())
                .find_map(|i| before[i].iter().find(|&&(bt, _)| bt >= t).map_or(&now[i], |(_, v)| v).clone())
                .or_else(|| shell.clone());
            (t, value.as_ref().and_then(as_count))
        })
        .collect()
}

/// [`EffectiveSettings::ran_at_before`]: the notes beside every settings file read here, owned
/// by the file's owner, oldest first.
fn ran_at_before(sources: &SettingsSources) -> Vec<(crate::time::EpochMs, u64)> {
    let mut out: Vec<(crate::time::EpochMs, u64)> = Vec::new();
    for (_, path) in sources.files() {
        if let Ok(meta) = std::fs::metadata(path) {
            out.extend(backup::ran_at_notes(path, std::os::unix::fs::MetadataExt::uid(&meta)));
        }
    }
    out.sort_unstable();
    out
}

/// One `env` variable of the settings, safe to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvEntry {
    pub name: String,
    /// The value, or `<redacted>` ([`crate::redact::REDACTED`]).
    pub value: String,
    pub source: String,
}

/// One settings file's `env` values of interest and its `model`.
#[derive(Debug, Default)]
struct FileValues {
    env: HashMap<&'static str, Value>,
    model: Option<String>,
    cleanup_period_days: Option<u64>,
    /// Every `env` name with its value as it may be shown.
    shown: Vec<(String, String)>,
    /// Bytes that are not UTF-8 were read replaced, as Claude Code reads them.
    not_utf8: bool,
}

/// Reads one settings file. A missing or blank file is `Ok(None)`; anything unusable is an
/// error message for a warning, which names the problem (and a JSON error's line and column)
/// but never quotes the file. `show_env`: keep every `env` value to show (`--show-env`).
fn read_file(path: &Path, show_env: bool) -> Result<Option<FileValues>, String> {
    let snap = atomic::read(path).map_err(|e| match e {
        atomic::FileError::Io { .. } => format!("cannot read settings: {}", e.reason()),
        other => other.reason(),
    })?;
    if snap.bytes.is_none() {
        return Ok(None);
    }
    // Claude Code (Node) reads the file as UTF-8 with each bad byte replaced (U+FFFD), and
    // its values stay in effect: read it so too (`apply` still refuses to edit it).
    let lossy = String::from_utf8_lossy(snap.bytes.as_deref().unwrap_or_default());
    let not_utf8 = matches!(lossy, std::borrow::Cow::Owned(_));
    let text: &str = &lossy;
    if text.trim().is_empty() {
        return Ok(None);
    }
    if !claude_code_reads(text.len()) {
        return Err(format!(
            "{} bytes: Claude Code refuses settings files over 2 MiB, so none of its values is in effect; ignored",
            text.len()
        ));
    }
    let (obj, _) = edit::parse(text).map_err(|e| format!("{e}; ignored"))?;
    let mut out = FileValues {
        not_utf8,
        model: obj.get("model").and_then(Value::as_str).map(str::to_string),
        cleanup_period_days: obj.get("cleanupPeriodDays").and_then(as_count),
        ..FileValues::default()
    };
    if let Some(Value::Object(env)) = obj.get("env") {
        for key in SHELL_KEYS {
            if let Some(v) = env.get(key) {
                out.env.insert(key, v.clone());
            }
        }
        out.shown = env
            .iter()
            .map(|(k, v)| {
                let name = if show_env { k.clone() } else { crate::redact::shown_name(k) };
                (name, crate::redact::shown_value(k, v, show_env))
            })
            .collect();
    }
    Ok(Some(out))
}

/// A positive whole number as Claude Code reads one (2.1.211): `64000`, `"64000"`, `"64_000"`,
/// `"6.4e4"`, `"1e6"`; fractions and values ≤ 0 are not.
pub fn as_count(v: &Value) -> Option<u64> {
    let whole = |x: f64| (x.is_finite() && x >= 1.0 && x.fract() == 0.0 && x < 1e15).then_some(x as u64);
    match v {
        Value::Number(n) => n.as_u64().filter(|&n| n > 0).or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim().replace('_', "");
            s.parse::<u64>().ok().filter(|&n| n > 0).or_else(|| s.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"),
        _ => false,
    }
}

/// Resolves the effective values. Problems with a file become warnings; the file is skipped.
pub fn resolve(sources: &SettingsSources) -> (EffectiveSettings, Vec<Warning>) {
    let mut warnings = Vec::new();
    let mut layers: Vec<(String, FileValues)> = Vec::new();
    // Which of `sources.files()` each layer is (for the history of the max output).
    let mut layer_of_file: Vec<Option<usize>> = Vec::new();
    for (scope, path) in sources.files() {
        layer_of_file.push(None);
        match read_file(path, sources.show_env) {
            Ok(Some(values)) => {
                *layer_of_file.last_mut().expect("pushed") = Some(layers.len());
                if values.not_utf8 {
                    warnings.push(Warning::new(
                        path.to_path_buf(),
                        None,
                        "holds bytes that are not UTF-8 text: read with them replaced, as Claude Code reads it (ccdoctor apply does not edit such a file)".to_string(),
                    ));
                }
                layers.push((format!("{scope}: {}", path.display()), values))
            }
            Ok(None) => {}
            Err(msg) => warnings.push(Warning::new(path.to_path_buf(), None, msg)),
        }
    }
    // The shell environment is the lowest layer.
    let shell = FileValues {
        env: SHELL_KEYS.iter().filter_map(|k| sources.shell.get(*k).map(|v| (*k, Value::String(v.clone())))).collect(),
        ..FileValues::default()
    };
    layers.push((ENVIRONMENT.to_string(), shell));

    let first = |key: &str| layers.iter().find_map(|(src, l)| l.env.get(key).map(|v| (src.clone(), v.clone())));
    let count = |key: &str, warnings: &mut Vec<Warning>| -> Sourced<u64> {
        match first(key) {
            Some((src, v)) => match as_count(&v) {
                Some(n) => Sourced::new(n, src),
                None => {
                    // The value as the report would show it: a secret put here by mistake
                    // stays hidden.
                    let message = match crate::redact::shown_value(key, &v, sources.show_env) {
                        s if s == crate::redact::REDACTED => format!(
                            "{key} is not a positive whole number (its value is not shown; --show-env shows it); Claude Code ignores it"
                        ),
                        s => format!("{key} = {s} is not a positive whole number; Claude Code ignores it"),
                    };
                    warnings.push(Warning::new(PathBuf::from(&src), None, message));
                    Sourced::default()
                }
            },
            None => Sourced::default(),
        }
    };
    let mut env: Vec<EnvEntry> = Vec::new();
    for (src, l) in &layers {
        for (name, value) in &l.shown {
            if !env.iter().any(|e| &e.name == name) {
                env.push(EnvEntry { name: name.clone(), value: value.clone(), source: src.clone() });
            }
        }
    }
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let mut eff = EffectiveSettings {
        env,
        env_unredacted: sources.show_env,
        max_output_tokens: count(MAX_OUTPUT, &mut warnings),
        max_thinking_tokens: count(MAX_THINKING, &mut warnings),
        ..EffectiveSettings::default()
    };
    // Bedrock is checked before Vertex, as Claude Code does; Mantle is Bedrock's other
    // endpoint; an AWS API key means Claude Platform on AWS, the Anthropic API's semantics.
    for (key, provider) in [
        (USE_MANTLE, Provider::BedrockMantle),
        (USE_BEDROCK, Provider::Bedrock),
        (USE_VERTEX, Provider::Vertex),
        (AWS_API_KEY, Provider::Anthropic),
    ] {
        if let Some((src, v)) = first(key)
            && (if key == AWS_API_KEY { v.as_str().is_some_and(|s| !s.trim().is_empty()) } else { truthy(&v) })
        {
            let src =
                if key == AWS_API_KEY { format!("{src} ({AWS_API_KEY} is set: Claude Platform on AWS)") } else { src };
            eff.provider = Sourced::new(provider, src);
            break;
        }
    }
    if let Some((src, v)) = first(DISABLE_ADAPTIVE)
        && truthy(&v)
    {
        eff.adaptive_thinking_disabled = Sourced::new(true, src);
    }
    eff.max_subagents = count(MAX_SUBAGENTS, &mut warnings);
    // 0 retries is a setting too; anything else that is not a count is ignored, as the
    // other counts are.
    eff.max_retries = match first(MAX_RETRIES) {
        Some((src, v))
            if as_count(&v).is_none() && (v == serde_json::json!(0) || v.as_str().is_some_and(|s| s.trim() == "0")) =>
        {
            Sourced::new(0, src)
        }
        Some(_) => count(MAX_RETRIES, &mut warnings),
        None => Sourced::default(),
    };
    if let Some((src, v)) = first(RETRY_WATCHDOG)
        && truthy(&v)
    {
        eff.retry_watchdog = Sourced::new(true, src);
    }
    if let Some((src, days)) = layers.iter().find_map(|(src, l)| l.cleanup_period_days.map(|d| (src.clone(), d))) {
        eff.cleanup_period_days = Sourced::new(days, src);
    }
    eff.model = match first(MODEL).and_then(|(src, v)| v.as_str().map(|m| (src, m.to_string()))) {
        Some((src, m)) if !m.trim().is_empty() => Sourced::new(m, src),
        _ => layers
            .iter()
            .find_map(|(src, l)| l.model.clone().map(|m| Sourced::new(m, format!("{src} (model)"))))
            .unwrap_or_default(),
    };
    // A model that is no model id (markup, a pasted secret) is not used, nor shown.
    if let (Some(m), Some(src)) = (&eff.model.value, &eff.model.source)
        && !crate::redact::is_model_id(m.trim())
    {
        let what = if src.ends_with(" (model)") { "`model`" } else { MODEL };
        warnings.push(Warning::new(
            PathBuf::from(src),
            None,
            format!("{what} does not look like a model id (its value is not shown); not used"),
        ));
        eff.model = Sourced::default();
    }
    let read: Vec<Option<&FileValues>> = layer_of_file.iter().map(|l| l.map(|i| &layers[i].1)).collect();
    eff.max_output_before = max_output_before(sources, &read);
    eff.ran_at_before = ran_at_before(sources);
    (eff, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn precedence_managed_local_project_user_shell() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(
            d,
            "home/settings.json",
            r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"4000","MAX_THINKING_TOKENS":1024,"ANTHROPIC_API_KEY":"sk-secret"}}"#,
        );
        write(d, "proj/.claude/settings.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":6000}}"#);
        let shell =
            HashMap::from([(MAX_OUTPUT.to_string(), "9000".to_string()), (USE_BEDROCK.to_string(), "1".to_string())]);
        let s = SettingsSources::standard(&d.join("etc"), Some(&d.join("proj")), &[d.join("home")], shell);
        let (eff, w) = resolve(&s);
        assert!(w.is_empty(), "{w:?}");
        // Project beats user beats the shell.
        assert_eq!(eff.max_output_tokens.value, Some(6000));
        assert!(eff.max_output_tokens.source.as_deref().unwrap().starts_with("project: "));
        assert_eq!(eff.max_thinking_tokens.value, Some(1024));
        assert_eq!(eff.provider.value, Some(Provider::Bedrock));
        assert_eq!(eff.provider.source.as_deref(), Some("environment"));

        write(d, "proj/.claude/settings.local.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"7000"}}"#);
        assert_eq!(resolve(&s).0.max_output_tokens.value, Some(7000));
        write(d, "etc/managed-settings.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"8000"}}"#);
        let s = SettingsSources::standard(&d.join("etc"), Some(&d.join("proj")), &[d.join("home")], HashMap::new());
        let (eff, _) = resolve(&s);
        assert_eq!(eff.max_output_tokens.value, Some(8000));
        assert!(eff.max_output_tokens.source.as_deref().unwrap().starts_with("managed: "));
        // No secret in anything resolved.
        assert!(!format!("{eff:?}").contains("sk-secret"));
    }

    #[test]
    fn the_value_before_each_apply_is_read_from_its_backups_through_the_layers() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(d, "home/settings.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"13000"}}"#);
        write(
            d,
            "home/settings.json.ccdoctor-20261101T000000.000000.bak",
            r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"32000"}}"#,
        );
        write(d, "proj/.claude/settings.local.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"7000"}}"#);
        write(d, "proj/.claude/settings.local.json.ccdoctor-20261110T000000.000000.bak", "{}");
        // Neither a revert's copy, a file named in the future, one cut short nor a link is a
        // write's backup.
        write(d, "home/settings.json.ccdoctor-20261102T000000.000000.bak", r#"{"env":"#);
        std::os::unix::fs::symlink("/etc/passwd", d.join("home/settings.json.ccdoctor-20261103T000000.000000.bak"))
            .unwrap();
        write(
            d,
            "home/settings.json.ccdoctor-20261105T000000.000000.pre-revert",
            r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"1"}}"#,
        );
        write(
            d,
            "home/settings.json.ccdoctor-29990101T000000.000000.bak",
            r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"2"}}"#,
        );
        let s = SettingsSources::standard(&d.join("etc"), Some(&d.join("proj")), &[d.join("home")], HashMap::new());
        let (eff, w) = resolve(&s);
        assert!(w.is_empty(), "{w:?}");
        let at = |s: &str| crate::time::parse_timestamp(s).unwrap();
        let (t1, t2) = (at("2026-11-01T00:00:00Z"), at("2026-11-10T00:00:00Z"));
        assert_eq!(eff.max_output_before, [(t1, Some(32000)), (t2, Some(13000))]);
        assert_eq!(eff.max_output_at(t1 - 1), Some(32000));
        assert_eq!(eff.max_output_at(t1), Some(13000));
        assert_eq!(eff.max_output_at(t2 - 1), Some(13000));
        assert_eq!(eff.max_output_at(t2), Some(7000));
        assert_eq!(eff.max_output_tokens.value, Some(7000));
    }

    #[test]
    fn model_from_env_beats_settings_model() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(d, "home/settings.json", r#"{"model":"opus","env":{"CLAUDE_CODE_USE_VERTEX":"true"}}"#);
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("home")], HashMap::new());
        let (eff, _) = resolve(&s);
        assert_eq!(eff.model.value.as_deref(), Some("opus"));
        assert_eq!(eff.provider.value, Some(Provider::Vertex));
        let shell = HashMap::from([(MODEL.to_string(), "claude-sonnet-4-5".to_string())]);
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("home")], shell);
        assert_eq!(resolve(&s).0.model.value.as_deref(), Some("claude-sonnet-4-5"));
    }

    #[test]
    fn bad_files_warn_and_are_skipped() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        for (name, text, msg) in [
            ("a", "{not json", "not valid JSON"),
            ("b", "[1,2]", "not a JSON object"),
            ("c", r#"{"env":"x"}"#, "`env` is not an object"),
        ] {
            write(d, &format!("{name}/settings.json"), text);
            let s = SettingsSources::standard(&d.join("etc"), None, &[d.join(name)], HashMap::new());
            let (eff, w) = resolve(&s);
            assert_eq!(eff, EffectiveSettings::default());
            assert!(w[0].message.contains(msg), "{name}: {w:?}");
        }
        std::fs::create_dir_all(d.join("dir/settings.json")).unwrap();
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("dir")], HashMap::new());
        assert!(resolve(&s).1[0].message.contains("is a folder"));
        write(d, "empty/settings.json", "");
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("empty")], HashMap::new());
        assert!(resolve(&s).1.is_empty());
        // A byte that is not UTF-8 (in a command, say): Claude Code reads the file with it
        // replaced, so its values are in effect (the adversarial review of 2026-12-05).
        let f = d.join("latin/settings.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(
            &f,
            b"{\"statusLine\":{\"command\":\"caf\xe9\"},\"env\":{\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"16000\"}}",
        )
        .unwrap();
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("latin")], HashMap::new());
        let (eff, w) = resolve(&s);
        assert_eq!(eff.max_output_tokens.value, Some(16000));
        assert!(w.len() == 1 && w[0].message.contains("not UTF-8 text: read with them replaced"), "{w:?}");
    }

    #[test]
    fn invalid_values_are_ignored_like_claude_code() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(d, "h/settings.json", r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"lots","MAX_THINKING_TOKENS":0}}"#);
        let s = SettingsSources::standard(&d.join("etc"), None, &[d.join("h")], HashMap::new());
        let (eff, w) = resolve(&s);
        assert_eq!(eff.max_output_tokens.value, None);
        assert_eq!(eff.max_thinking_tokens.value, None);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn env_values_are_shown_only_when_allowed_and_warnings_quote_none() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        write(
            d,
            "h/settings.json",
            r#"{"model":"<img src=x onerror=alert(1)>","env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"Bearer PLANTED-1","AWS_REGION":"eu-west-1","ANTHROPIC_CUSTOM_HEADERS":"Authorization: Bearer PLANTED-2"}}"#,
        );
        let mut s = SettingsSources::standard(&d.join("etc"), None, &[d.join("h")], HashMap::new());
        let (eff, w) = resolve(&s);
        let env: HashMap<&str, &str> = eff.env.iter().map(|e| (e.name.as_str(), e.value.as_str())).collect();
        assert_eq!(env["AWS_REGION"], "eu-west-1");
        assert_eq!(env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], crate::redact::REDACTED);
        assert_eq!(env["ANTHROPIC_CUSTOM_HEADERS"], crate::redact::REDACTED);
        // A model that is no model id is not used; neither warning quotes a value.
        assert_eq!(eff.model, Sourced::default());
        assert_eq!(w.len(), 2, "{w:?}");
        for w in &w {
            assert!(!w.message.contains("PLANTED") && !w.message.contains("<img"), "{w:?}");
        }
        assert!(w.iter().any(|w| w.message.contains("`model` does not look like a model id")), "{w:?}");
        s.show_env = true;
        let (eff, w) = resolve(&s);
        assert!(eff.env.iter().any(|e| e.value == "Authorization: Bearer PLANTED-2"));
        assert!(w.iter().any(|w| w.message.contains("= Bearer PLANTED-1 is not a positive whole number")), "{w:?}");
    }
}
