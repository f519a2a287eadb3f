//! Reading a config home: find the files, read them on every core, then merge what they
//! hold so that each response and each error event counts once.

pub mod classify;
mod content;
pub mod data;
pub mod debuglog;
pub mod discover;
pub mod file;
pub mod key;
pub mod line;
mod merge;
pub mod prefilter;
pub mod reader;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use crate::config::Root;
use crate::warning::Warning;
use data::ScanData;
use discover::{FileKind, discover};

/// A finished scan and what could not be read along the way.
#[derive(Debug)]
pub struct Scanned {
    pub data: ScanData,
    pub warnings: Vec<Warning>,
}

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Files last modified before this are not opened.
    pub modified_since: Option<SystemTime>,
    /// Reader threads (at least one is used).
    pub threads: usize,
    /// Parse every transcript line, not only the candidates of the fast path.
    pub full_parse: bool,
}

/// Told how far a scan has got (for a progress bar). Called from reader threads.
pub trait Progress: Sync {
    fn start(&self, _files: u64, _bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}

/// No progress reporting.
pub struct Silent;
impl Progress for Silent {}

/// Scans `roots`.
pub fn scan(roots: &[Root], options: &ScanOptions, progress: &dyn Progress) -> Scanned {
    let found = discover(roots, options.modified_since);
    let mut warnings = found.warnings;
    let inputs = found.files;
    progress.start(inputs.len() as u64, inputs.iter().map(|i| i.len).sum());
    let mut data = ScanData::default();
    data.read.unreadable = found.unreadable;
    data.read.not_regular = found.not_regular;
    data.read.older_than_since = found.older_than_since;
    let mut merger = merge::Merger::default();
    // Results are merged in input order (the first file to hold a response names its origin)
    // while the other files are still being read.
    read_all(&inputs, options.threads.max(1), options.full_parse, progress, |input, mut result| {
        warnings.append(&mut result.warnings);
        if result.unreadable {
            data.read.unreadable += 1;
        }
        data.read.files += 1;
        match input.kind {
            FileKind::Transcript => data.read.transcript_files += 1,
            FileKind::DebugLog => data.read.debug_logs += 1,
        }
        data.read.bytes += result.bytes;
        data.read.lines += result.lines;
        data.read.malformed_lines += result.malformed;
        data.read.long_lines_skipped += result.long_lines_skipped;
        merger.add(result);
    });
    progress.finish();
    merger.finish_into(&mut data);
    Scanned { data, warnings }
}

/// Reads every input, in parallel, and hands each result to `on_result` on the calling
/// thread, in input order, as soon as it and those before it are read.
fn read_all(
    inputs: &[discover::Input],
    threads: usize,
    full_parse: bool,
    progress: &dyn Progress,
    mut on_result: impl FnMut(&discover::Input, file::FileResult),
) {
    // Largest files first, so that a big file does not start last and leave one core idle.
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].len));
    let next = AtomicUsize::new(0);
    let workers = threads.min(inputs.len()).max(1);
    let advance = |n: u64| progress.advance(n);
    // Results that came before their turn.
    let mut waiting: Vec<Option<file::FileResult>> = Vec::with_capacity(inputs.len());
    waiting.resize_with(inputs.len(), || None);
    let mut turn = 0;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let tx = tx.clone();
            let (order, next, advance) = (&order, &next, &advance);
            s.spawn(move || {
                let mut buffers = file::Buffers::default();
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = file::read(&inputs[i], full_parse, &mut buffers, advance);
                    if tx.send((i, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Ends when every worker has finished (a panic in one is re-raised by the scope).
        for (i, result) in rx {
            waiting[i] = Some(result);
            while let Some(r) = waiting.get_mut(turn).and_then(Option::take) {
                on_result(&inputs[turn], r);
                turn += 1;
            }
        }
    });
    // Only a panicked worker leaves results missing; the scope re-raised it already.
    debug_assert_eq!(turn, inputs.len());
}
