//! Reading a config home: find the files and read them on every core, merging what they
//! hold so that each response and each error event counts once.

pub mod bytes;
pub mod classify;
mod content;
pub mod data;
pub mod debuglog;
pub mod discover;
pub mod file;
pub mod key;
pub mod line;
mod merge;
mod pipeline;
pub mod prefilter;
pub mod reader;
pub mod root;
pub(crate) mod toplevel;

use std::time::SystemTime;

use crate::warning::Warning;
use data::ScanData;
use discover::FileKind;
use root::Root;

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
    /// Keep the responses' `requestId`s (`ScanData::request_ids`).
    pub keep_request_ids: bool,
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

/// How often, in bytes read, the scan gives the memory its readers freed back.
const GIVE_BACK_EVERY: u64 = 64 << 20;

/// Scans `roots`.
pub fn scan(roots: &[Root], options: &ScanOptions, progress: &dyn Progress) -> Scanned {
    let mut data = ScanData::default();
    let mut file_warnings = Vec::new();
    let mut merger = merge::Merger::default();
    merger.keep_request_ids = options.keep_request_ids;
    let pipeline = pipeline::Pipeline {
        roots,
        modified_since: options.modified_since,
        threads: options.threads,
        full_parse: options.full_parse,
        progress,
    };
    // Results are merged in path order (the first file to hold a response names its origin)
    // while the other files are still being read.
    let found = pipeline.run(|input, mut result| {
        file_warnings.append(&mut result.warnings);
        if result.unreadable {
            data.read.unreadable += 1;
            data.read.unreadable_files += 1;
        }
        data.read.files += 1;
        match input.kind {
            FileKind::Transcript => data.read.transcript_files += 1,
            FileKind::DebugLog => data.read.debug_logs += 1,
        }
        data.read.bytes += result.bytes;
        data.read.lines += result.lines;
        data.read.malformed_lines += result.malformed;
        data.read.implausible_times += result.implausible_times;
        data.read.long_lines_skipped += result.long_lines_skipped;
        let bytes = result.bytes;
        merger.add(result);
        // What the reader threads freed in every GIVE_BACK_EVERY bytes read, given back: the
        // merger keeps a fraction of what they allocate.
        if data.read.bytes / GIVE_BACK_EVERY != (data.read.bytes - bytes) / GIVE_BACK_EVERY {
            crate::memory::give_back();
        }
    });
    progress.finish();
    data.read.unreadable += found.unreadable;
    data.read.not_regular = found.not_regular;
    data.read.older_than_since = found.older_than_since;
    merger.finish_into(&mut data);
    let mut warnings = found.warnings;
    warnings.append(&mut file_warnings);
    Scanned { data, warnings }
}

#[cfg(test)]
mod tests {
    use super::root::RootKind;
    use super::*;

    fn assistant(id: &str, session: &str, output: u64, padding: usize) -> String {
        format!(
            concat!(
                r#"{{"sessionId":"{s}","uuid":"u-{id}","timestamp":"2025-09-01T10:00:00.000Z","#,
                r#""message":{{"model":"claude-sonnet-4-5-20250929","id":"msg_{id}","type":"message","#,
                r#""role":"assistant","content":[{{"type":"text","text":"{pad}"}}],"#,
                r#""usage":{{"input_tokens":3,"output_tokens":{output}}}}},"#,
                r#""requestId":"req_{id}","type":"assistant"}}"#,
                "\n"
            ),
            s = session,
            id = id,
            pad = "x".repeat(padding),
            output = output
        )
    }

    /// Each response names the first file (in path order) that holds it, whatever order the
    /// files are read and finished in: largest first, on any number of threads.
    #[test]
    fn results_merge_in_path_order_whatever_the_threads() {
        let home = tempfile::tempdir().unwrap();
        let write = |project: &str, file: &str, body: &str| {
            let dir = home.path().join("projects").join(project);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(file), body).unwrap();
        };
        // The shared response is in a small file that sorts first and in a big one that is read
        // first (largest first) and so finishes first.
        write("a-first", "s1.jsonl", &assistant("shared", "s1", 10, 10));
        write("z-last", "s2.jsonl", &(assistant("shared", "s2", 10, 10) + &assistant("big", "s2", 20, 200_000)));
        for i in 0..40 {
            let body: String =
                (0..i % 7 + 1).map(|j| assistant(&format!("r{i}-{j}"), "m", 5, 1000 * (i % 5))).collect();
            write(&format!("m-{i:02}"), "s.jsonl", &body);
        }
        let roots = [Root { path: home.path().to_path_buf(), kind: RootKind::Home }];
        let reports: Vec<String> = [1, 2, 3, 8]
            .into_iter()
            .map(|threads| {
                let options = ScanOptions { threads, ..ScanOptions::default() };
                let scanned = scan(&roots, &options, &Silent);
                assert!(scanned.warnings.is_empty(), "{:?}", scanned.warnings);
                let shared: Vec<_> = scanned.data.responses.iter().filter(|r| r.output.get() == 10).collect();
                assert_eq!(shared.len(), 1, "threads {threads}");
                assert_eq!(&*shared[0].origin.place.project, "a-first", "threads {threads}");
                format!("{:?}", scanned.data)
            })
            .collect();
        assert!(reports.iter().all(|r| *r == reports[0]));
        // The many small files' responses are all there (and so compared above).
        assert!(reports[0].matches("Response {").count() > 150);
    }
}
