//! `revert` (and `scan --revert`): put the newest backup back; no scan.

use std::io::Write;

use super::{print_report, stamp, write_failed};
use crate::config::{OutputFormat, ScanConfig, WriteConfig};
use crate::exit_codes::ExitCode;
use crate::render;
use crate::settings::write::Action;

pub fn run(config: &ScanConfig, w: &WriteConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let outcome = match crate::settings::write::revert(&w.target, &stamp, w.force) {
        Ok(o) => o,
        Err(e) => return write_failed(&e, err),
    };
    let changed = (outcome.action == Action::Reverted).then_some(&outcome);
    print_report(changed, err, || {
        match config.format {
            OutputFormat::Json => render::json::write_outcome(&outcome, out),
            OutputFormat::Markdown => render::markdown::write_outcome(&outcome, out),
            OutputFormat::Table => render::table::write_outcome(&outcome, config.color, out),
        }?;
        out.flush()
    })
}
