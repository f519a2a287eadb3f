//! `man`: the man pages (roff, by clap_mangen), one for ccdoctor and one a subcommand
//! (`ccdoctor-scan.1`, …): one printed, or all written into a folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;

use super::say;
use crate::cli::{Cli, ManArgs};
use crate::exit_codes::ExitCode;

/// Every page: ccdoctor's own first, then one a subcommand, nested ones too, hidden ones
/// not. There is no `help` subcommand (its page would be `--help`), so no page names one.
pub fn pages() -> Vec<Man> {
    fn add(cmd: &clap::Command, pages: &mut Vec<Man>) {
        // Subcommands have no version of their own: every page names ccdoctor's.
        pages.push(Man::new(cmd.clone()).source(format!("ccdoctor {}", env!("CARGO_PKG_VERSION"))));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            add(sub, pages);
        }
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Built once, so each subcommand knows its full name (`ccdoctor-scan`).
    cmd.build();
    let mut pages = Vec::new();
    add(&cmd, &mut pages);
    pages
}

/// The subcommand a page is for: `scan` for `ccdoctor-scan.1`, `None` for ccdoctor's own.
fn subcommand_of(page: &Man) -> Option<String> {
    let file = page.get_filename();
    let stem = file.strip_suffix(".1").unwrap_or(&file);
    stem.strip_prefix("ccdoctor-").map(|s| s.replace('-', " "))
}

pub fn run(args: &ManArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let pages = pages();
    if let Some(dir) = &args.dir {
        return write_all(&pages, dir, out, err);
    }
    let page = match &args.subcommand {
        None => &pages[0],
        Some(name) => match pages.iter().find(|p| subcommand_of(p).as_deref() == Some(name.as_str())) {
            Some(p) => p,
            None => {
                let known: Vec<String> = pages.iter().filter_map(subcommand_of).collect();
                say(err, "error", &format!("no man page for {name:?}; the subcommands are: {}", known.join(", ")))?;
                return Ok(ExitCode::Usage);
            }
        },
    };
    let mut text = Vec::new();
    page.render(&mut text)?;
    out.write_all(&text)?;
    Ok(ExitCode::Success)
}

/// Writes every page into `dir` (made if missing), each through a temporary file renamed
/// over the page, so a page is never left half-written; lists the pages written. Stops at the
/// first page that cannot be written, saying which.
fn write_all(pages: &[Man], dir: &Path, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if dir.exists() && !dir.is_dir() {
        say(err, "error", &format!("--dir {}: not a folder", dir.display()))?;
        return Ok(ExitCode::Usage);
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        say(err, "error", &format!("cannot make the folder {}: {e}", dir.display()))?;
        return Ok(ExitCode::Failure);
    }
    for page in pages {
        let path = dir.join(page.get_filename());
        let mut text = Vec::new();
        page.render(&mut text)?;
        if let Err(e) = replace(&path, &text) {
            say(err, "error", &format!("cannot write {}: {e}", path.display()))?;
            return Ok(ExitCode::Failure);
        }
        writeln!(out, "{}", crate::text::escape_control(&path.display().to_string()))?;
    }
    Ok(ExitCode::Success)
}

/// Puts `bytes` at `path` whole: written to a new temporary file beside it, flushed to disk,
/// then renamed over `path` (a symlink there is replaced, not followed). The temporary file
/// is removed when anything fails.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp: PathBuf = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
