//! The typed configuration a run works from. The command line is translated into it once
//! (`Config::from_cli`); nothing below this module sees clap types.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use crate::cli::{ColorChoice, Format, ProviderArg, ReadingArg, ScanArgs};
use crate::reading::{READINGS, Reading};
pub use crate::scan::root::{Root, RootKind};
use crate::settings::{Provider, SHELL_KEYS, SettingsSources};
use crate::time::{EpochMs, day_start, parse_date};

/// Which events count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Inclusive start (start of the `--since` day, UTC).
    pub since: Option<EpochMs>,
    /// Exclusive end (start of the day after `--until`, UTC).
    pub until: Option<EpochMs>,
    pub project: Option<String>,
    pub model: Option<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Whether an event at `time` passes the date filters. Undated events pass only when no
    /// date filter is set.
    pub fn time_ok(&self, time: Option<EpochMs>) -> bool {
        match time {
            Some(t) => self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u),
            None => self.since.is_none() && self.until.is_none(),
        }
    }

    pub fn project_ok(&self, project: &str, cwd: Option<&str>) -> bool {
        self.project.as_deref().is_none_or(|p| project.contains(p) || cwd.is_some_and(|c| c.contains(p)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Markdown,
}

/// The share of demand a value should cover, in percent.
pub const DEFAULT_PERCENTILE: f64 = 99.0;
/// The share of the quota planned for.
pub const DEFAULT_HEADROOM: f64 = 0.9;

/// What the recommendation is computed for; `None` means "infer it".
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendConfig {
    pub quota_tpm: Option<u64>,
    /// Bedrock Mantle's output quota (`--output-quota-tpm`).
    pub output_quota_tpm: Option<u64>,
    pub parallel: Option<u64>,
    pub burndown: Option<f64>,
    pub provider: Option<Provider>,
    pub percentile: f64,
    pub headroom: f64,
    /// `--headroom` was given (else the default).
    pub headroom_given: bool,
    /// The readings of the reservation at admission the fit may choose from (`--reading`,
    /// `--cache-reads-reserved`); all four by default.
    pub readings: Vec<Reading>,
    /// The max output the history ran at where its records do not show it (`--ran-at`):
    /// sessions with no record of their own limit, undated by any backup of `apply`. `None`:
    /// a guess on the cautious side ([`crate::analysis::limits`]).
    pub ran_at: Option<u64>,
}

/// What to do to a settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Write the recommended value.
    Write,
    /// Say what `Write` would do.
    DryRun,
    /// Put the newest backup back; no scan.
    Revert,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteConfig {
    pub mode: WriteMode,
    /// The settings file as named (a symlink stays a link).
    pub target: PathBuf,
    /// `--force`: change a file that is read-only or someone else's.
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct ScanConfig {
    pub roots: Vec<Root>,
    pub filters: Filters,
    pub format: OutputFormat,
    pub color: bool,
    /// Columns the table is laid out in: `COLUMNS`, else the terminal's, else 80.
    pub width: u16,
    pub threads: usize,
    /// Parse every line (`--full-parse`, hidden): the reference the fast path is checked against.
    pub full_parse: bool,
    /// Show a progress bar on stderr (a terminal) when the scan takes a while.
    pub progress: bool,
    pub recommend: RecommendConfig,
    pub settings: SettingsSources,
    /// `--write`, `--dry-run` or `--revert`.
    pub write: Option<WriteConfig>,
    /// The models file to apply to the model table, and whether it was named (`--models`)
    /// rather than found at the default location.
    pub models: Option<(PathBuf, bool)>,
    /// What the translation noticed and skipped (a `CLAUDE_CONFIG_DIR` entry naming nothing),
    /// for the caller to print as warnings.
    pub warnings: Vec<String>,
    pub team: TeamConfig,
}

/// `--otel`, `--shared-quota`, `--show-users`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamConfig {
    pub otel: Vec<PathBuf>,
    /// `--otel-where KEY=VALUE`: every pair must hold for an event to be read.
    pub otel_where: Vec<(String, String)>,
    /// Each home is another person on the same quota.
    pub shared_quota: bool,
    pub show_users: bool,
}

/// A command-line value that does not make sense (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}: no such file or folder")]
    Missing(PathBuf),
    #[error("--{flag} takes a day of the calendar as YYYY-MM-DD (2026-03-01), not {value:?}")]
    BadDate { flag: &'static str, value: String },
    #[error("--otel-where takes KEY=VALUE (e.g. aws.account=123456789012), not {0:?}")]
    BadWhere(String),
    #[error("--since {since} is after --until {until}")]
    EmptyRange { since: String, until: String },
    #[error(
        "no Claude Code config home found: CLAUDE_CONFIG_DIR is not set and neither ~/.claude nor ~/.config/claude exists; name one after the command (ccdoctor scan PATH, ccdoctor check PATH)"
    )]
    NoHome,
    #[error("CLAUDE_CONFIG_DIR names no existing folder ({0})")]
    NoConfigDir(String),
    #[error("--settings names the file that --write, --dry-run or --revert change; add one of them")]
    SettingsAlone,
    #[error("--force changes what --write, --dry-run or --revert may do; add one of them")]
    ForceAlone,
    #[error("which settings file? {0}; name it with --settings PATH")]
    NoWriteTarget(&'static str),
    #[error(
        "{} is a Claude Code settings file, not a history: scan the config home that holds it (ccdoctor scan {})",
        .0.display(),
        holding_folder(.0)
    )]
    SettingsFile(PathBuf),
    #[error("--{flag} {value} is out of range: {expected}")]
    OutOfRange { flag: &'static str, value: String, expected: &'static str },
}

/// What the process environment offers; passed in so tests need not touch the real one.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    /// `CLAUDE_CONFIG_DIR` as the process got it: a path need not be UTF-8.
    pub claude_config_dir: Option<OsString>,
    /// `CLAUDE_CODE_DEBUG_LOGS_DIR`: despite its name, the file Claude Code writes its debug
    /// log to.
    pub debug_logs_file: Option<PathBuf>,
    pub no_color: bool,
    pub stdout_is_terminal: bool,
    pub stderr_is_terminal: bool,
    /// `COLUMNS`, as the shell set it.
    pub columns: Option<String>,
    /// The width of the terminal standard output is, if it is one.
    pub terminal_width: Option<u16>,
    pub cwd: Option<PathBuf>,
    /// Where managed settings live (`/etc/claude-code` on Linux).
    pub managed_dir: PathBuf,
    /// The shell's values of the variables Claude Code's settings resolution reads.
    pub shell: HashMap<String, String>,
}

/// Columns the report for people is laid out in when neither `COLUMNS` nor a terminal says.
pub const DEFAULT_WIDTH: u16 = 80;

/// The width of the terminal standard output is, if it is one (the kernel's window size).
fn terminal_width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ fills the winsize it is given, on the descriptor of standard output.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(ws.ws_col)
}

/// Managed settings folder of this platform.
pub fn default_managed_dir() -> PathBuf {
    crate::settings::managed_settings_file().parent().map(PathBuf::from).unwrap_or_default()
}

impl Env {
    pub fn from_process() -> Self {
        use std::io::IsTerminal;
        Self {
            home: std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
            xdg_config_home: std::env::var_os("XDG_CONFIG_HOME").filter(|h| !h.is_empty()).map(PathBuf::from),
            claude_config_dir: std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !trim(v).is_empty()),
            debug_logs_file: std::env::var_os("CLAUDE_CODE_DEBUG_LOGS_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            stderr_is_terminal: std::io::stderr().is_terminal(),
            columns: std::env::var("COLUMNS").ok(),
            terminal_width: terminal_width(),
            cwd: std::env::current_dir().ok(),
            // For tests and unusual installs; Claude Code itself reads the platform folder.
            managed_dir: std::env::var_os("CCDOCTOR_MANAGED_SETTINGS_DIR")
                .map_or_else(default_managed_dir, PathBuf::from),
            // Of the AWS API key only whether it is set is kept: it is a secret.
            shell: SHELL_KEYS
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
                .map(|(k, v)| if k == crate::settings::AWS_API_KEY { (k, "set".to_string()) } else { (k, v) })
                .collect(),
        }
    }
}

impl ScanConfig {
    pub fn from_cli(args: &ScanArgs, env: &Env) -> Result<Self, ConfigError> {
        let revert_only = args.revert && args.settings.is_some() && args.report.paths.is_empty();
        let mut warnings = Vec::new();
        let otel: Vec<PathBuf> = args.report.otel.iter().map(|p| expand_tilde(p, env)).collect();
        // Only what is not there is a usage error; what cannot be read is a warning of the scan.
        let missing =
            |p: &&PathBuf| std::fs::symlink_metadata(p).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if let Some(missing) = otel.iter().find(missing) {
            return Err(ConfigError::Missing(missing.clone()));
        }
        // Telemetry alone: no home is scanned, but the settings in effect are still this
        // user's (and the default file to write).
        let telemetry_only = !otel.is_empty() && args.report.paths.is_empty();
        let roots = if revert_only {
            Vec::new()
        } else if telemetry_only {
            default_roots(env, &mut Vec::new()).unwrap_or_default()
        } else if args.report.paths.is_empty() {
            default_roots(env, &mut warnings)?
        } else {
            args.report.paths.iter().map(|p| classify_root(&expand_tilde(p, env))).collect::<Result<_, _>>()?
        };
        // A folder reached twice (~/.config/claude linked to ~/.claude) is one home.
        let mut seen = std::collections::HashSet::new();
        let mut roots: Vec<Root> = roots
            .into_iter()
            .filter(|r| seen.insert(std::fs::canonicalize(&r.path).unwrap_or(r.path.clone())))
            .collect();
        for f in &args.report.debug_files {
            let path = expand_tilde(f, env);
            match std::fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConfigError::Missing(path)),
                // A folder or a FIFO is there, and is no debug log: said, and the scan goes on
                // (reading a FIFO would wait for a writer).
                Ok(m) if m.is_dir() => warnings.push(format!(
                    "--debug-file {}: a folder, not a debug log; skipped (a config home is named without the flag)",
                    path.display()
                )),
                Ok(m) if !m.is_file() => {
                    warnings.push(format!("--debug-file {}: not a regular file, skipped", path.display()))
                }
                // A file, or one whose kind cannot be read: its reader says what it could not read.
                _ => roots.push(Root { path, kind: RootKind::DebugLog }),
            }
        }
        // Claude Code's own debug-log file, when its variable names one and no PATH was given.
        if args.report.paths.is_empty()
            && let Some(f) = env.debug_logs_file.as_ref().map(|f| expand_tilde(f, env)).filter(|f| f.is_file())
        {
            roots.push(Root { path: f, kind: RootKind::DebugLog });
        }
        let since = args.report.since.as_deref().map(|s| date("since", s)).transpose()?;
        let until = args.report.until.as_deref().map(|s| date("until", s)).transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(ConfigError::EmptyRange {
                since: args.report.since.clone().unwrap_or_default(),
                until: args.report.until.clone().unwrap_or_default(),
            });
        }
        let filters = Filters {
            since: since.map(day_start),
            until: until.map(|d| day_start(d + 1)),
            project: args.report.project.clone(),
            model: args.report.model.clone(),
        };
        let format = match (args.report.json, args.report.format) {
            (true, _) => OutputFormat::Json,
            (false, Format::Table) => OutputFormat::Table,
            (false, Format::Json) => OutputFormat::Json,
            (false, Format::Markdown) => OutputFormat::Markdown,
        };
        let color = match args.report.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env.stdout_is_terminal && !env.no_color,
        } && format == OutputFormat::Table;
        let width = env
            .columns
            .as_deref()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|&c| c > 0)
            .or(env.terminal_width.filter(|_| env.stdout_is_terminal))
            .unwrap_or(DEFAULT_WIDTH);
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let recommend = recommend_config(args)?;
        let homes: Vec<PathBuf> = roots.iter().filter(|r| r.kind == RootKind::Home).map(|r| r.path.clone()).collect();
        if telemetry_only {
            roots.clear();
        }
        let settings = SettingsSources {
            show_env: args.report.show_env,
            ..SettingsSources::standard(&env.managed_dir, env.cwd.as_deref(), &homes, env.shell.clone())
        };
        let write = write_config(args, env, &homes)?;
        let progress = env.stderr_is_terminal;
        let models = match &args.report.models {
            Some(p) => Some((expand_tilde(p, env), true)),
            None => crate::models::default_user_file(env.xdg_config_home.as_deref(), env.home.as_deref())
                .filter(|p| p.is_file())
                .map(|p| (p, false)),
        };
        Ok(Self {
            roots,
            filters,
            format,
            color,
            width,
            threads,
            full_parse: args.report.full_parse,
            progress,
            recommend,
            settings,
            write,
            models,
            warnings,
            team: TeamConfig {
                otel,
                otel_where: args
                    .report
                    .otel_where
                    .iter()
                    .map(|w| match w.split_once('=') {
                        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
                        _ => Err(ConfigError::BadWhere(w.clone())),
                    })
                    .collect::<Result<_, _>>()?,
                shared_quota: args.report.shared_quota,
                show_users: args.report.show_users,
            },
        })
    }

    /// Files last modified before this instant cannot hold an event inside the filters.
    pub fn modified_since(&self) -> Option<SystemTime> {
        let since = self.filters.since?;
        let ms = u64::try_from(since).ok()?;
        UNIX_EPOCH.checked_add(Duration::from_millis(ms))
    }
}

fn write_config(args: &ScanArgs, env: &Env, homes: &[PathBuf]) -> Result<Option<WriteConfig>, ConfigError> {
    let mode = match (args.write, args.dry_run, args.revert) {
        (_, true, _) => WriteMode::DryRun,
        (true, false, _) => WriteMode::Write,
        (false, false, true) => WriteMode::Revert,
        (false, false, false) if args.settings.is_some() => return Err(ConfigError::SettingsAlone),
        (false, false, false) if args.force => return Err(ConfigError::ForceAlone),
        (false, false, false) => return Ok(None),
    };
    let target = match (&args.settings, homes) {
        (Some(p), _) => expand_tilde(p, env),
        (None, [home]) => home.join("settings.json"),
        (None, []) => return Err(ConfigError::NoWriteTarget("no config home was scanned")),
        (None, _) => return Err(ConfigError::NoWriteTarget("more than one config home was scanned")),
    };
    Ok(Some(WriteConfig { mode, target, force: args.force }))
}

/// The most requests in flight at once `--parallel` plans for.
pub const MAX_PARALLEL: u64 = 100_000;

fn recommend_config(args: &ScanArgs) -> Result<RecommendConfig, ConfigError> {
    let range = |flag: &'static str, value: String, ok: bool, expected: &'static str| {
        if ok { Ok(()) } else { Err(ConfigError::OutOfRange { flag, value, expected }) }
    };
    let percentile = args.report.percentile.unwrap_or(DEFAULT_PERCENTILE);
    let headroom = args.report.headroom.unwrap_or(DEFAULT_HEADROOM);
    range("percentile", percentile.to_string(), percentile > 0.0 && percentile <= 100.0, "above 0, at most 100")?;
    range("headroom", headroom.to_string(), headroom > 0.0 && headroom <= 1.0, "above 0, at most 1")?;
    if let Some(p) = args.report.parallel {
        // More than any team runs: past it the quota per request rounds to nothing.
        range("parallel", p.to_string(), (1..=MAX_PARALLEL).contains(&p), "from 1 to 100,000")?;
    }
    // The ranges a models file's figures must be in too (`crate::models`).
    const QUOTA: &str = "from 1 to 100,000,000,000 tokens a minute";
    const BURNDOWN: &str = "from 0.01 to 100";
    if let Some(q) = args.report.quota_tpm {
        range("quota-tpm", q.to_string(), crate::models::plausible_quota(q), QUOTA)?;
    }
    if let Some(q) = args.report.output_quota_tpm {
        range("output-quota-tpm", q.to_string(), crate::models::plausible_quota(q), QUOTA)?;
    }
    if let Some(b) = args.report.burndown {
        range("burndown", b.to_string(), crate::models::plausible_burndown(b), BURNDOWN)?;
    }
    if let Some(v) = args.report.ran_at {
        let limit = crate::models::MAX_OUTPUT_LIMIT;
        range("ran-at", v.to_string(), (1..=limit).contains(&v), "from 1 to 1,000,000 tokens")?;
    }
    Ok(RecommendConfig {
        quota_tpm: args.report.quota_tpm,
        output_quota_tpm: args.report.output_quota_tpm,
        parallel: args.report.parallel,
        burndown: args.report.burndown,
        provider: args.report.provider.map(|p| match p {
            ProviderArg::Bedrock => Provider::Bedrock,
            ProviderArg::BedrockMantle => Provider::BedrockMantle,
            ProviderArg::Vertex => Provider::Vertex,
            ProviderArg::Anthropic => Provider::Anthropic,
        }),
        percentile,
        headroom,
        headroom_given: args.report.headroom.is_some(),
        readings: readings(args.report.reading, args.report.cache_reads_reserved),
        ran_at: args.report.ran_at,
    })
}

/// The readings a user allows: the one named, those with cache reads, or all.
fn readings(reading: Option<ReadingArg>, cache_reads_reserved: bool) -> Vec<Reading> {
    let one = |cache_reads_reserved, burndown_reservation| vec![Reading { cache_reads_reserved, burndown_reservation }];
    match reading {
        Some(ReadingArg::Burndown) => one(false, true),
        Some(ReadingArg::BurndownCache) => one(true, true),
        Some(ReadingArg::Plain) => one(false, false),
        Some(ReadingArg::PlainCache) => one(true, false),
        None => READINGS.iter().copied().filter(|r| !cache_reads_reserved || r.cache_reads_reserved).collect(),
    }
}

fn date(flag: &'static str, value: &str) -> Result<i64, ConfigError> {
    parse_date(value).ok_or_else(|| ConfigError::BadDate { flag, value: value.to_string() })
}

/// `~` or `~/…` made a path in `HOME`, byte for byte (a path need not be UTF-8).
fn expand_tilde(p: &Path, env: &Env) -> PathBuf {
    match (p.strip_prefix("~"), &env.home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

/// `s` without ASCII white space at either end.
fn trim(s: &OsStr) -> &OsStr {
    OsStr::from_bytes(s.as_bytes().trim_ascii())
}

/// Decides what kind of root a path is.
pub fn classify_root(path: &Path) -> Result<Root, ConfigError> {
    let meta = std::fs::metadata(path).map_err(|_| ConfigError::Missing(path.to_path_buf()))?;
    // Read as transcript lines, a settings file is line after line of broken JSON: one clear
    // error instead (the config home holding it is what was meant).
    if !meta.is_dir() && is_settings_file(path) {
        return Err(ConfigError::SettingsFile(path.to_path_buf()));
    }
    let kind = if !meta.is_dir() {
        RootKind::File
    } else if path.join("projects").is_dir()
        || path.join("debug").is_dir()
        || path.join("settings.json").is_file()
        || (path.file_name().is_some_and(|n| n != "projects")
            && std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()))
    {
        // A config home: one with history, or settings, or a new, empty one (not a folder
        // named projects), so that apply knows its settings.json.
        RootKind::Home
    } else {
        RootKind::Projects
    };
    Ok(Root { path: path.to_path_buf(), kind })
}

/// Whether a file is one of Claude Code's settings files, by its name: `settings.json`,
/// `settings.local.json`, `managed-settings.json`, or a drop-in of `managed-settings.d/`.
fn is_settings_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy());
    let drop_in = path.parent().and_then(Path::file_name).is_some_and(|d| d == "managed-settings.d");
    matches!(name.as_deref(), Some("settings.json" | "settings.local.json" | crate::settings::MANAGED_SETTINGS_NAME))
        || (drop_in && name.is_some_and(|n| n.ends_with(".json")))
}

/// The folder a file named on the command line is in, as a PATH to give instead.
fn holding_folder(file: &Path) -> String {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => ".".into(),
    }
}

/// `CLAUDE_CONFIG_DIR` (`~` expanded), else `~/.claude` and `~/.config/claude` where they
/// exist. The variable names one folder, as Claude Code reads it; a value that names no
/// folder is read as a comma-separated list of them (ccdoctor's own extension), so a path
/// holding a comma is still one folder. The value is taken byte for byte, UTF-8 or not.
fn default_roots(env: &Env, warnings: &mut Vec<String>) -> Result<Vec<Root>, ConfigError> {
    if let Some(value) = &env.claude_config_dir {
        let whole = expand_tilde(Path::new(trim(value)), env);
        if whole.is_dir() {
            return Ok(vec![Root { path: whole, kind: RootKind::Home }]);
        }
        let roots: Vec<Root> = value
            .as_bytes()
            .split(|&b| b == b',')
            .map(|d| trim(OsStr::from_bytes(d)))
            .filter(|d| !d.is_empty())
            .filter_map(|d| {
                let p = expand_tilde(Path::new(d), env);
                if !p.is_dir() {
                    warnings.push(format!("CLAUDE_CONFIG_DIR entry {} is not a folder; skipped", p.display()));
                }
                p.is_dir().then_some(Root { path: p, kind: RootKind::Home })
            })
            .collect();
        return if roots.is_empty() {
            Err(ConfigError::NoConfigDir(value.to_string_lossy().into_owned()))
        } else {
            Ok(roots)
        };
    }
    let home = env.home.as_ref().ok_or(ConfigError::NoHome)?;
    let roots: Vec<Root> = [home.join(".claude"), home.join(".config").join("claude")]
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|path| Root { path, kind: RootKind::Home })
        .collect();
    if roots.is_empty() { Err(ConfigError::NoHome) } else { Ok(roots) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_hand() {
        let f = Filters { since: Some(100), until: Some(200), ..Filters::default() };
        assert!(f.time_ok(Some(100)));
        assert!(f.time_ok(Some(199)));
        assert!(!f.time_ok(Some(200)));
        assert!(!f.time_ok(Some(99)));
        assert!(!f.time_ok(None));
        assert!(Filters::default().time_ok(None));
        let p = Filters { project: Some("app".into()), ..Filters::default() };
        assert!(p.project_ok("-home-u-my-app", None));
        assert!(p.project_ok("-x", Some("/srv/app")));
        assert!(!p.project_ok("-x", Some("/srv/web")));
    }

    #[test]
    fn tilde_and_config_dir_list() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/projects")).unwrap();
        std::fs::create_dir_all(tmp.path().join("b")).unwrap();
        let env = Env {
            home: Some(tmp.path().to_path_buf()),
            claude_config_dir: Some("~/a, ~/b ,~/missing".into()),
            ..Env::default()
        };
        let mut warnings = Vec::new();
        let roots = default_roots(&env, &mut warnings).unwrap();
        assert_eq!(
            roots.iter().map(|r| r.path.clone()).collect::<Vec<_>>(),
            vec![tmp.path().join("a"), tmp.path().join("b")]
        );
        // The typo is not skipped silently.
        assert_eq!(
            warnings,
            [format!("CLAUDE_CONFIG_DIR entry {} is not a folder; skipped", tmp.path().join("missing").display())]
        );
    }

    /// One folder whose path holds a comma is that folder; a value naming no folder is a list.
    #[test]
    fn a_config_dir_is_one_path_before_it_is_a_list() {
        let tmp = tempfile::tempdir().unwrap();
        let comma = tmp.path().join("a,b/.claude");
        std::fs::create_dir_all(&comma).unwrap();
        std::fs::create_dir_all(tmp.path().join("a")).unwrap();
        let env = Env { claude_config_dir: Some(comma.clone().into_os_string()), ..Env::default() };
        let mut warnings = Vec::new();
        let roots = default_roots(&env, &mut warnings).unwrap();
        assert_eq!(roots.iter().map(|r| r.path.clone()).collect::<Vec<_>>(), [comma]);
        assert!(warnings.is_empty(), "{warnings:?}");
        // `…/a,…/b/.claude` with `a,b` missing and `a` there: a list of two, one of them a folder.
        std::fs::remove_dir_all(tmp.path().join("a,b")).unwrap();
        let list = format!("{},{}", tmp.path().join("a").display(), tmp.path().join("b/.claude").display());
        let env = Env { claude_config_dir: Some(list.into()), ..Env::default() };
        let roots = default_roots(&env, &mut warnings).unwrap();
        assert_eq!(roots.iter().map(|r| r.path.clone()).collect::<Vec<_>>(), [tmp.path().join("a")]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    /// A value that is not UTF-8 is a path like any other, kept byte for byte, `~` too.
    #[test]
    fn a_config_dir_need_not_be_utf8() {
        let tmp = tempfile::tempdir().unwrap();
        let odd = tmp.path().join(OsStr::from_bytes(b"cfg-\xff"));
        std::fs::create_dir_all(&odd).unwrap();
        let env = Env { claude_config_dir: Some(odd.clone().into_os_string()), ..Env::default() };
        assert_eq!(default_roots(&env, &mut Vec::new()).unwrap()[0].path, odd);
        let env = Env {
            home: Some(tmp.path().to_path_buf()),
            claude_config_dir: Some(OsStr::from_bytes(b" ~/cfg-\xff ").to_os_string()),
            ..Env::default()
        };
        assert_eq!(default_roots(&env, &mut Vec::new()).unwrap()[0].path, odd);
        let env = Env { claude_config_dir: Some(OsStr::from_bytes(b"/nowhere-\xff").to_os_string()), ..Env::default() };
        let e = default_roots(&env, &mut Vec::new()).unwrap_err();
        assert_eq!(e.to_string(), "CLAUDE_CONFIG_DIR names no existing folder (/nowhere-\u{fffd})");
    }

    #[test]
    fn no_home_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env { home: Some(tmp.path().to_path_buf()), ..Env::default() };
        assert!(matches!(default_roots(&env, &mut Vec::new()), Err(ConfigError::NoHome)));
        std::fs::create_dir_all(tmp.path().join(".config/claude")).unwrap();
        assert_eq!(default_roots(&env, &mut Vec::new()).unwrap().len(), 1);
    }

    /// ~/.config/claude linked to ~/.claude is one home: read once, and a write knows which.
    #[test]
    fn a_home_reached_twice_is_one() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(".claude/projects")).unwrap();
        std::fs::create_dir_all(tmp.path().join(".config")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join(".claude"), tmp.path().join(".config/claude")).unwrap();
        let env = Env { home: Some(tmp.path().to_path_buf()), ..Env::default() };
        let args = ScanArgs { write: true, ..ScanArgs::default() };
        let config = ScanConfig::from_cli(&args, &env).unwrap();
        assert_eq!(config.roots.len(), 1);
        assert_eq!(config.write.unwrap().target, tmp.path().join(".claude/settings.json"));
    }
}
