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
    /// Scan Claude Code transcripts and debug logs and report what happened.
    Scan(ScanArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Config homes (~/.claude), projects/ folders or single .jsonl files. Default: each
    /// entry of CLAUDE_CONFIG_DIR (comma-separated), else ~/.claude and ~/.config/claude.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

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

    /// Only projects whose folder name or working directory contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    pub project: Option<String>,

    /// Only responses of models whose id contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    pub model: Option<String>,
}
