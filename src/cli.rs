//! Command-line definition (clap derive). Translated into `config` types once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ccdoctor",
    version,
    about = "Finds Claude Code's 429s and output-limit errors and recommends a CLAUDE_CODE_MAX_OUTPUT_TOKENS",
    long_about = None,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan Claude Code transcripts and debug logs and report what happened, with the
    /// recommended CLAUDE_CODE_MAX_OUTPUT_TOKENS and why.
    Scan(ScanArgs),
    /// Scan, then write the recommended value into a settings file (backed up first).
    Apply(ApplyArgs),
    /// Put back the newest backup `apply` made of a settings file (no scan).
    Revert(RevertArgs),
    /// A fast verdict for scripts, CI and a Claude Code SessionStart hook: exit 0 when the
    /// max output in effect is safe for the recorded load, 1 when it is not, 2 on error.
    ///
    /// It reads the last 7 days (today, UTC, and the 6 before it) unless --since or --until
    /// says otherwise.
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of ccdoctor or of one subcommand (`ccdoctor man scan >
    /// ccdoctor-scan.1`), or write every page into a folder (`--dir`).
    Man(ManArgs),
}

#[derive(Debug, Clone, Default, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (ccdoctor-SUBCOMMAND.1); without it, ccdoctor's own.
    #[arg(value_name = "SUBCOMMAND", conflicts_with = "dir")]
    pub subcommand: Option<String>,

    /// Write every page (ccdoctor.1, ccdoctor-scan.1, …) into DIR, created if missing, each
    /// file replaced whole, and list them.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// What every report reads and how it is shown: shared by `scan`, `apply` and `check`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Config homes (~/.claude), projects/ folders or single .jsonl files. Default: each
    /// entry of CLAUDE_CONFIG_DIR (comma-separated), else ~/.claude and ~/.config/claude.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A debug log to read besides the config homes' (Claude Code's --debug-file, or
    /// CLAUDE_CODE_DEBUG_LOGS_DIR, which names a file). Repeatable.
    #[arg(long = "debug-file", value_name = "FILE")]
    pub debug_files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// When to colour the table (NO_COLOR is respected in auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Only events on or after this UTC day (YYYY-MM-DD); older files are not read.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Only events on or before this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,

    /// Show the value of every settings `env` variable. THIS PRINTS SECRETS (API keys, auth
    /// headers, tokens, helper commands) into the report; without it only the values of known
    /// harmless variables (counts, switches, regions, model ids; see DESIGN.md) are shown.
    #[arg(long)]
    pub show_env: bool,

    /// Only projects whose folder name or working directory contains this text. A folder name
    /// as Claude Code spells it starts with '-' (-home-me-app): the next argument is taken as
    /// the text whatever it starts with.
    #[arg(long, value_name = "SUBSTRING", allow_hyphen_values = true)]
    pub project: Option<String>,

    /// Only responses of this model, and the model to advise for (default: the one with the
    /// most responses): an id or a name ("opus 4.6", claude-opus-4-6, a Bedrock id), or a part
    /// of one that only one model of the history has. Several or none: a warning, no advice.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Your applied tokens-per-minute quota (Bedrock: Service Quotas): 200000, 200,000, 200k
    /// or 1.5M. Your 429s weigh more: where no reading of them fits it, the advice takes the
    /// quota a reading near it needs for the replay to show your 429s, and says so. Default on
    /// Bedrock: AWS's published default for the model.
    #[arg(long, value_name = "N", value_parser = tokens_a_minute, help_heading = "Recommendation")]
    pub quota_tpm: Option<u64>,

    /// Bedrock Mantle's output tokens-per-minute quota (Mantle counts input and output
    /// against two quotas; --quota-tpm is then the input one). Default: not replayed.
    #[arg(long, value_name = "N", value_parser = tokens_a_minute, help_heading = "Recommendation")]
    pub output_quota_tpm: Option<u64>,

    /// The max output your history ran at where its records do not show it: sessions that
    /// wrote more than the value set now, or show nothing of their own, before it was set by
    /// hand (32000 where nothing was set then: Claude Code's default for most models).
    /// Default: a guess on the cautious side (the report says which, and what this changes).
    #[arg(long, value_name = "N", value_parser = max_output, help_heading = "Recommendation")]
    pub ran_at: Option<u64>,

    /// Requests in flight at once across sessions and subagents sharing the quota.
    /// Default: the most your records show running at once (the load replayed); another
    /// value replays the same work against the quota scaled to it.
    #[arg(long, value_name = "N", help_heading = "Recommendation")]
    pub parallel: Option<u64>,

    /// Quota tokens each output token burns. Default: 5 on Bedrock for Claude 3.7 and 4.x
    /// models, 1 elsewhere.
    #[arg(long, value_name = "X", help_heading = "Recommendation")]
    pub burndown: Option<f64>,

    /// The provider. Default: from the settings, else from the model ids, else from the
    /// words of the throttling 429s (Bedrock's `Too many tokens, please wait…`), else
    /// anthropic.
    #[arg(long, value_enum, help_heading = "Recommendation")]
    pub provider: Option<ProviderArg>,

    /// The share of demand the value should cover, in percent (default 99): a value that cuts
    /// more is flagged as a conflict.
    #[arg(long, value_name = "Q", help_heading = "Recommendation")]
    pub percentile: Option<f64>,

    /// Share of the quota to plan for, 0 to 1 (default 0.9).
    #[arg(long, value_name = "U", help_heading = "Recommendation")]
    pub headroom: Option<f64>,

    /// How the quota counts a request when it starts (AWS's texts disagree). Default: each
    /// reading is fitted to your history's 429s, and those that fit advise.
    #[arg(long, value_enum, value_name = "READING", help_heading = "Recommendation")]
    pub reading: Option<ReadingArg>,

    /// Only the readings in which Bedrock reserves cache-read tokens when a request starts.
    #[arg(long, conflicts_with = "reading", help_heading = "Recommendation")]
    pub cache_reads_reserved: bool,

    /// A models file adding or overriding rows of the model table (JSON; see DESIGN.md).
    /// Default: $XDG_CONFIG_HOME/ccdoctor/models.json, else ~/.config/ccdoctor/models.json,
    /// when it exists.
    #[arg(long, value_name = "FILE", help_heading = "Recommendation")]
    pub models: Option<PathBuf>,

    /// Claude Code's OpenTelemetry events: OTLP JSON files as the OpenTelemetry Collector's
    /// file exporter writes them, or a warehouse's flat export (JSON lines or CSV with the
    /// attribute names as columns), plain or .gz; a folder is searched for *.json, *.jsonl,
    /// *.ndjson and *.csv. One path a flag, repeatable (`--otel a --otel b`): a path after it
    /// is a config home, not telemetry. Without PATH, no config home is scanned.
    #[arg(long, value_name = "FILE|DIR", help_heading = "Team")]
    pub otel: Vec<PathBuf>,

    /// Only telemetry events whose attribute (of the record or its resource) KEY has the value
    /// VALUE, e.g. aws.account=123456789012 to keep one quota's events. A warehouse's column
    /// name for an attribute (user_email for user.email) names it too. Repeatable: all must
    /// hold.
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Team")]
    pub otel_where: Vec<String>,

    /// The homes and telemetry given are different people drawing on one quota (an AWS
    /// account and region): their requests are replayed together against it, one person a
    /// home, and the report shows the load per person.
    #[arg(long, help_heading = "Team")]
    pub shared_quota: bool,

    /// Name people by their e-mail, account id or home path in the team view (personal data;
    /// by default they are numbered person 1, person 2, … in the team view's order).
    #[arg(long, help_heading = "Team")]
    pub show_users: bool,

    /// Parse every transcript line with serde_json alone, instead of only those that can hold
    /// a response or an error with the fast reader (slower; for checking the fast path).
    #[arg(long, hide = true)]
    pub full_parse: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Write the recommended CLAUDE_CODE_MAX_OUTPUT_TOKENS into the settings file (the
    /// original is backed up beside it first).
    #[arg(long, help_heading = "Settings file")]
    pub write: bool,

    /// Show what --write would change, and write nothing.
    #[arg(long, help_heading = "Settings file")]
    pub dry_run: bool,

    /// Put back the newest backup that --write made (no scan is run).
    #[arg(long, conflicts_with_all = ["write", "dry_run"], help_heading = "Settings file")]
    pub revert: bool,

    /// With --write or --revert (or --dry-run, to preview): change a settings file that is
    /// read-only, owned by another user (as root: any user's), or in another user's folder; its
    /// owner and mode are kept. A symlink is still followed only to a file of the link's owner.
    #[arg(long, help_heading = "Settings file")]
    pub force: bool,

    /// The settings file for --write, --dry-run and --revert. Default: settings.json in the
    /// scanned config home.
    #[arg(long, value_name = "PATH", help_heading = "Settings file")]
    pub settings: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Show what would change, and write nothing.
    #[arg(long, help_heading = "Settings file")]
    pub dry_run: bool,

    /// The settings file to write. Default: settings.json in the scanned config home.
    #[arg(long, value_name = "PATH", help_heading = "Settings file")]
    pub settings: Option<PathBuf>,

    /// Change a settings file that is read-only, owned by another user (as root: any user's),
    /// or in another user's folder; its owner and mode are kept. A symlink is still followed
    /// only to a file of the link's owner.
    #[arg(long, help_heading = "Settings file")]
    pub force: bool,

    /// Not apply's: `ccdoctor revert` puts a backup back. Taken only to say so (clap's own
    /// error named a similar option, --provider).
    #[arg(long, hide = true)]
    pub revert: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct RevertArgs {
    /// The config home whose settings.json to put back, as `apply PATH` wrote it, or the
    /// settings file itself. Default: CLAUDE_CONFIG_DIR, else ~/.claude.
    #[arg(value_name = "PATH", conflicts_with = "settings")]
    pub home: Option<PathBuf>,

    /// The settings file to put back. Default: settings.json in the config home
    /// (PATH, else CLAUDE_CONFIG_DIR, else ~/.claude).
    #[arg(long, value_name = "PATH")]
    pub settings: Option<PathBuf>,

    /// Put back a backup of a settings file that is read-only, owned by another user, or in
    /// another user's folder.
    #[arg(long)]
    pub force: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

#[derive(Debug, Clone, Default, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub report: ReportArgs,

    /// Answer as a Claude Code SessionStart hook: a warning for the session (hook JSON on
    /// stdout) when the value is unsafe, nothing when it is safe, and always exit 0 so that
    /// a session never fails to start because of it.
    #[arg(long)]
    pub hook: bool,
}

/// What a request reserves when it starts: input and cache writes, plus…
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadingArg {
    /// max output at the burndown rate (AWS's quota script)
    Burndown,
    /// max output at the burndown rate and cache reads
    BurndownCache,
    /// max output once (AWS's prose)
    Plain,
    /// max output once and cache reads (AWS's quota guidance for agents)
    PlainCache,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    Bedrock,
    /// Bedrock's Mantle endpoint (input and output quotas apart).
    BedrockMantle,
    Vertex,
    /// The Anthropic API, or Claude Platform on AWS.
    Anthropic,
}

/// A quota as people write it: `200000`, `200,000`, `200_000`, `200k`, `1.5M`.
/// A max output: a whole number such as 32000, 32,000 or 32k.
fn max_output(s: &str) -> Result<u64, String> {
    tokens_a_minute(s)
        .map_err(|_| format!("expected a max output, a whole number such as 32000, 32,000 or 32k (not \"{s}\")"))
}

fn tokens_a_minute(s: &str) -> Result<u64, String> {
    let bad = || format!("expected tokens a minute, a whole number such as 200000, 200,000 or 200k (not \"{s}\")");
    // Separators only between groups of three digits, after one to three: `1,5M` is no 15M,
    // `1000,000` no number.
    let trimmed = s.trim();
    let whole_part = trimmed.split(['.', 'k', 'K', 'm', 'M']).next().unwrap_or_default();
    let mut groups = whole_part.split([',', '_']);
    let first = groups.next().unwrap_or_default();
    if whole_part.contains([',', '_']) && !(1..=3).contains(&first.len()) || groups.any(|g| g.len() != 3) {
        return Err(bad());
    }
    let digits: String = trimmed.chars().filter(|&c| c != ',' && c != '_').collect();
    let (number, scale) = match digits.char_indices().last() {
        Some((i, 'k' | 'K')) => (&digits[..i], 1_000u64),
        Some((i, 'm' | 'M')) => (&digits[..i], 1_000_000),
        _ => (digits.as_str(), 1),
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    // A fraction only with a suffix, and one that leaves a whole number of tokens.
    match number.split_once('.') {
        None => number.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(bad),
        Some((whole, frac)) if scale > 1 && !frac.contains('.') && frac.len() <= scale.ilog10() as usize => {
            let frac_scaled = format!("{frac:0<width$}", width = scale.ilog10() as usize);
            let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
            let frac: u64 = frac_scaled.parse().map_err(|_| bad())?;
            whole.checked_mul(scale).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::tokens_a_minute as t;

    #[test]
    fn quotas_as_people_write_them() {
        for (s, n) in [
            ("200000", 200_000),
            ("200,000", 200_000),
            ("200_000", 200_000),
            (" 200k ", 200_000),
            ("200K", 200_000),
            ("1.5M", 1_500_000),
            ("2m", 2_000_000),
            ("0.5k", 500),
            (".25M", 250_000),
            ("1.234k", 1_234),
            ("1,000,000", 1_000_000),
            ("1_500k", 1_500_000),
        ] {
            assert_eq!(t(s), Ok(n), "{s}");
        }
        // Not a whole number of tokens, not a number, a fraction without a suffix, too large.
        for s in [
            "1.2345k",
            "200x",
            "k",
            "",
            "1.5",
            "1.2.3M",
            "-5",
            "1e6",
            "99999999999999999999",
            "20000000000000M",
            // A decimal comma, or separators not between thousands.
            "1,5M",
            "20,00",
            ",200",
            "2_0000",
            "1.5,000k",
            "1000,000",
            "2000_000k",
        ] {
            let e = t(s).unwrap_err();
            assert!(e.starts_with("expected tokens a minute"), "{s}: {e}");
        }
    }
}
