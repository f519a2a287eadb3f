//! The lines that say what `--write`, `--dry-run` or `--revert` did, shared by the table and
//! Markdown renderers. Paths and values were escaped when the outcome was made.

use crate::settings::write::{Action, WriteOutcome};

pub fn lines(o: &WriteOutcome) -> Vec<String> {
    let key = o.key;
    let new = o.new.as_deref().unwrap_or("");
    let file = match &o.link_target {
        Some(t) => format!("{} (a link to {t})", o.path),
        None => o.path.clone(),
    };
    let was = match &o.old {
        Some(old) => format!("was {old}"),
        None => "it was not set".to_string(),
    };
    let mut v = match o.action {
        Action::Written => vec![format!("Wrote \"{key}\": {new} to {file} ({was}).")],
        Action::Created => vec![format!("Created {file} holding \"{key}\": {new}.")],
        // The file's own spelling of the value, when it is not the one ccdoctor writes.
        Action::Unchanged if o.old.is_some() && o.old != o.new => {
            let old = o.old.as_deref().unwrap_or_default();
            let reads = new.trim_matches('"');
            vec![format!(
                "{file} already sets \"{key}\": {old}, which Claude Code reads as {reads}; nothing written, no backup made."
            )]
        }
        Action::Unchanged if o.new.is_some() => {
            vec![format!("{file} already sets \"{key}\": {new}; nothing written, no backup made.")]
        }
        Action::Unchanged => vec![format!("{file} was not changed.")],
        Action::DryRun => {
            let mut v = vec![format!("Dry run, nothing written. In {file}, env would change:")];
            v.push(match &o.old {
                Some(old) => format!("- \"{key}\": {old}"),
                None => "- (not set)".to_string(),
            });
            v.push(format!("+ \"{key}\": {new}"));
            v
        }
        // A file ccdoctor created, undone by removing it (no backup: there was none before).
        Action::Reverted if o.backup.is_none() => {
            vec![format!("Removed {file}: ccdoctor created it, and no file was there before.")]
        }
        Action::Reverted => {
            vec![format!("Put the backup back: {file} now holds what it held before the last write by ccdoctor.")]
        }
    };
    v.extend(o.notes.iter().map(|n| format!("Note: {n}.")));
    if let Some(b) = &o.backup {
        v.push(match o.action {
            Action::Reverted => format!("Backup used (removed): {b}"),
            Action::Unchanged => format!("Newest backup: {b}"),
            _ => format!("Backup of the replaced file: {b}"),
        });
    }
    if let Some(u) = &o.undo {
        v.push(format!("To undo: {u}"));
    }
    v
}
