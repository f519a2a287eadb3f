//! One file per command. This is the only layer that writes to stdout and stderr: everything
//! below it returns plain data. Every line for stderr is made by [`message`], which passes it
//! through [`escape_control`] whole, so a path, a value or an error text cannot drive the
//! terminal.

pub mod check;
pub mod man;
pub mod revert;
pub mod scan;

use std::io::Write;

use crate::cli::{Cli, Command, ReportArgs, ScanArgs};
use crate::config::{Env, ScanConfig, WriteMode};
use crate::exit_codes::ExitCode;
use crate::settings::write::WriteError;
use crate::text::escape_control;

/// Runs a parsed command line. Warnings go to `err`, the report to `out`.
pub fn run(cli: Cli, env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan_like(&args, env, out, err),
        Command::Apply(a) if a.revert => {
            say(
                err,
                "error",
                "apply writes a value; to put back the backup it made, run `ccdoctor revert` with the same PATH or --settings",
            )?;
            Ok(ExitCode::Usage)
        }
        Command::Apply(a) => {
            let args = ScanArgs {
                report: a.report,
                write: !a.dry_run,
                dry_run: a.dry_run,
                revert: false,
                settings: a.settings,
                force: a.force,
            };
            scan_like(&args, env, out, err)
        }
        Command::Revert(r) => {
            // PATH is a config home, or the settings file itself.
            let (paths, settings) = match r.home {
                Some(p) if p.is_file() => (Vec::new(), Some(p)),
                home => (home.into_iter().collect(), r.settings),
            };
            let report = ReportArgs { paths, format: r.format, json: r.json, ..ReportArgs::default() };
            let args = ScanArgs { report, revert: true, settings, force: r.force, ..ScanArgs::default() };
            scan_like(&args, env, out, err)
        }
        Command::Check(c) => {
            let mut args = ScanArgs { report: c.report.clone(), ..ScanArgs::default() };
            let since_default = args.report.since.is_none();
            if since_default {
                // The week that ends on `--until` (the day itself and the 6 before it), else
                // today and the 6 days before it. An `--until` that is no date is left for
                // the configuration to refuse.
                let last = match args.report.until.as_deref().map(crate::time::parse_date) {
                    Some(Some(day)) => crate::time::day_start(day),
                    _ => crate::time::now(),
                };
                args.report.since = Some(check::window_from(last));
            }
            if !c.hook {
                return match configure(&args, env, err)? {
                    Ok(config) => check::run(&config, since_default, false, out, err),
                    Err(code) => Ok(code),
                };
            }
            // A hook never fails a session: an error becomes the message the session shows.
            let mut said = Vec::new();
            let code = match configure(&args, env, &mut said)? {
                // Whatever goes wrong (a print to a full disk too), the session starts.
                Ok(config) => check::run(&config, since_default, true, out, &mut said).unwrap_or(ExitCode::Failure),
                Err(code) => code,
            };
            if code != ExitCode::Success {
                let text = String::from_utf8_lossy(&said);
                // The error, not a warning told before it.
                let first = text.lines().find(|l| l.contains(": error: ")).or(text.lines().next());
                let first = first.unwrap_or("ccdoctor check failed");
                // Even a failed print does not fail the session.
                let _ = writeln!(out, "{}", check::hook_output(first)).and_then(|()| out.flush());
            }
            let _ = out.flush();
            Ok(ExitCode::Changed)
        }
        // Both written whole from memory: clap_complete panics on a failed write (`| head`).
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "ccdoctor", &mut text);
            out.write_all(&text)?;
            Ok(ExitCode::Success)
        }
        Command::Man(args) => man::run(&args, out, err),
    }
}

/// `scan`, and the commands that are a scan with a settings action (`apply`, `revert`).
fn scan_like(args: &ScanArgs, env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let config = match configure(args, env, err)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    match &config.write {
        Some(w) if w.mode == WriteMode::Revert => revert::run(&config, w, out, err),
        Some(w) => match crate::settings::write::check(&w.target, w.force, w.mode == WriteMode::Write) {
            // Refused before a long scan, not after it.
            Err(e) => write_failed(&e, err),
            Ok(()) => scan::run(&config, out, err),
        },
        None => scan::run(&config, out, err),
    }
}

/// The command line translated into a configuration, and the model table installed; `Err`
/// holds the exit status of a usage error (already told).
fn configure(args: &ScanArgs, env: &Env, err: &mut dyn Write) -> anyhow::Result<Result<ScanConfig, ExitCode>> {
    let config = match ScanConfig::from_cli(args, env) {
        Ok(c) => c,
        Err(e) => {
            say(err, "error", &e.to_string())?;
            return Ok(Err(ExitCode::Usage));
        }
    };
    for w in &config.warnings {
        say(err, "warning", w)?;
    }
    if let Some((path, named)) = &config.models {
        match crate::models::load_user_file(path) {
            Ok(table) => crate::models::install(table),
            Err(e) if *named => {
                say(err, "error", &e.to_string())?;
                return Ok(Err(ExitCode::Usage));
            }
            Err(e) => say(err, "warning", &format!("{e}; the built-in model table is used"))?,
        }
    }
    Ok(Ok(config))
}

/// Reports a settings write that could not be done, and the exit status it means.
fn write_failed(e: &WriteError, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    say(err, "error", &e.to_string())?;
    Ok(if e.is_usage() { ExitCode::Usage } else { ExitCode::Failure })
}

/// Prints the report of a run; when the run changed a settings file, a report that cannot be
/// printed (a full disk, a closed pipe) is a warning: the change is done, and its exit
/// status says so.
fn print_report(
    changed: Option<&crate::settings::write::WriteOutcome>,
    err: &mut dyn Write,
    render: impl FnOnce() -> std::io::Result<()>,
) -> anyhow::Result<ExitCode> {
    let printed = render();
    match (printed, changed) {
        (Ok(()), None) => Ok(ExitCode::Success),
        (Ok(()), Some(_)) => Ok(ExitCode::Changed),
        (Err(e), Some(o)) => {
            let _ = say(
                err,
                "warning",
                &format!(
                    "the report could not be printed ({e}); {} was changed all the same{}",
                    o.path,
                    o.undo.as_deref().map_or(String::new(), |u| format!(" (undo: {u})"))
                ),
            );
            Ok(ExitCode::Changed)
        }
        (Err(e), None) => Err(anyhow::Error::new(e).context("writing the report")),
    }
}

/// The line `ccdoctor: LEVEL: TEXT` for stderr, terminal-safe: control and bidirectional
/// characters anywhere in it (a path from `CLAUDE_CONFIG_DIR` or the command line, a value, a
/// file's text) are escaped, and it is one line.
pub fn message(level: &str, text: &str) -> String {
    escape_control(&format!("ccdoctor: {level}: {text}"))
}

/// `--model` named several models of the history, or none: say so, and which it has (no
/// advice follows).
fn warn_unmatched_model(
    config: &crate::config::ScanConfig,
    analysis: &crate::analysis::Analysis<'_>,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let (Some(q), Some(m)) = (&config.filters.model, &analysis.selection.model_match) else { return Ok(()) };
    match crate::render::prose::model_unmatched(q, m) {
        Some(why) => say(err, "warning", &why),
        None => Ok(()),
    }
}

/// Writes a [`message`] to stderr.
pub(crate) fn say(err: &mut dyn Write, level: &str, text: &str) -> std::io::Result<()> {
    writeln!(err, "{}", message(level, text))
}

/// Now, UTC, compact and to the microsecond (`20261125T101500.123456`), from one reading of
/// the clock: the time of a backup made now. The settings write reads it once it holds the
/// file's lock.
fn stamp() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ms = crate::time::EpochMs::try_from(d.as_millis()).unwrap_or(crate::time::EpochMs::MAX);
    format!("{}.{:06}", crate::time::compact_stamp(ms), d.subsec_micros())
}
