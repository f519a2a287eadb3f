//! Reading a config home: find the files, read them on every core, then merge what they
//! hold so that each response and each error event counts once.

pub mod classify;
pub mod data;
pub mod debuglog;
pub mod discover;
pub mod file;
pub mod line;
mod merge;

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

/// Scans `roots` with `threads` workers (at least one).
pub fn scan(roots: &[Root], modified_since: Option<SystemTime>, threads: usize) -> Scanned {
    let found = discover(roots, modified_since);
    let mut warnings = found.warnings;
    let inputs = found.files;

    let results = read_all(&inputs, threads.max(1));

    let mut data = ScanData::default();
    data.read.unreadable = found.unreadable;
    data.read.not_regular = found.not_regular;
    data.read.older_than_since = found.older_than_since;
    let mut merger = merge::Merger::default();
    for (input, mut result) in inputs.iter().zip(results) {
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
        merger.add(result);
    }
    merger.finish_into(&mut data);
    Scanned { data, warnings }
}

/// Reads every input, in parallel, and returns the results in input order.
fn read_all(inputs: &[discover::Input], threads: usize) -> Vec<file::FileResult> {
    let next = AtomicUsize::new(0);
    let workers = threads.min(inputs.len()).max(1);
    let mut slots: Vec<Option<file::FileResult>> = Vec::with_capacity(inputs.len());
    slots.resize_with(inputs.len(), || None);
    let chunks: Vec<Vec<(usize, file::FileResult)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        mine.push((i, file::read(input)));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a reader thread panicked")).collect()
    });
    for (i, r) in chunks.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots.into_iter().map(Option::unwrap_or_default).collect()
}
