//! Claude Code's OpenTelemetry events as a second input beside the transcripts: the
//! `api_request` and `api_error` events of a whole team, read from the OpenTelemetry
//! Collector's files (OTLP JSON) or a warehouse's flat export, turned into the same responses
//! and events a scan of `~/.claude` gives.

pub mod convert;
pub mod fields;
mod pieces;
pub mod read;
pub mod record;

use std::path::PathBuf;

use crate::scan::data::ScanData;
pub use crate::scan::data::TelemetrySummary as Summary;
use crate::warning::Warning;

/// Reads the telemetry files of `paths` into `data`, beside what the transcripts gave:
/// requests and attempts the transcripts already hold count once. Returns the warnings.
pub fn read_into(
    paths: &[PathBuf],
    only: &[(String, String)],
    threads: usize,
    progress: &dyn crate::scan::Progress,
    data: &mut ScanData,
) -> Vec<Warning> {
    let (files, mut warnings, failed) = read::discover(paths);
    let mut collected = read::Collected::read_all(&files, threads, only, progress);
    collected.stats.files += failed;
    collected.stats.unreadable_files += failed;
    warnings.append(&mut collected.warnings);
    let s = &collected.stats;
    let first = || paths.first().cloned().unwrap_or_default();
    if !only.is_empty() && s.filtered_out > 0 && s.requests + s.errors == 0 {
        let wanted: Vec<String> = only.iter().map(|(k, v)| format!("{k}={v}")).collect();
        warnings.push(Warning::new(
            first(),
            None,
            format!(
                "--otel-where left out all {} events: none has {} (names and values must match exactly)",
                crate::text::thousands(s.filtered_out),
                wanted.join(" and ")
            ),
        ));
    } else if !only.is_empty() && s.requests == 0 && s.errors > 0 {
        warnings.push(Warning::new(
            first(),
            None,
            "--otel-where kept refused attempts but no request: it should pick whole accounts or sessions (aws.account, user.email, session.id), not attributes of single events (status_code, attempt, event.name)".into(),
        ));
    }
    if collected.tables.models.names.len() >= usize::from(u16::MAX) {
        let first = files.first().cloned().unwrap_or_default();
        warnings.push(Warning::new(
            first,
            None,
            format!(
                "{} model names: those past the first 65,535 are counted as {}",
                crate::text::thousands(collected.tables.models.names.len() as u64),
                convert::OTHER_MODELS
            ),
        ));
    }
    let stats = collected.stats.clone();
    let sessions = collected.tables.sessions.names.len() as u64;
    let known = convert::Known { request_ids: data.request_ids.as_ref(), events: &data.events };
    crate::memory::step("telemetry read");
    let converted = convert::convert(collected, &known);
    crate::memory::step("telemetry converted");
    let summary =
        Summary { read: stats, dedup: converted.dedup, sessions, people: converted.people.names.len() as u64 };
    // Telemetry alone: the responses move, rather than being copied beside themselves.
    if data.responses.is_empty() {
        data.responses = converted.responses;
    } else {
        data.responses.extend(converted.responses);
    }
    if data.events.is_empty() {
        data.events = converted.events;
    } else {
        data.events.extend(converted.events);
    }
    data.people.merge(converted.people);
    data.telemetry = Some(summary);
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader threads split the files by size and merge in thread order; the result must
    /// not depend on how many there are.
    #[test]
    fn the_same_result_on_any_number_of_threads() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/otel");
        let (files, warnings, _) = read::discover(&[dir]);
        assert!(warnings.is_empty() && files.len() == 4, "{files:?} {warnings:?}");
        let outcome = |threads: usize| {
            let c = read::Collected::read_all(&files, threads, &[], &crate::scan::Silent);
            let stats = c.stats.clone();
            let out = convert::convert(c, &convert::Known::default());
            let mut sessions: Vec<_> = out.people.of_session.iter().map(|(s, p)| (s.clone(), *p)).collect();
            sessions.sort();
            let text = format!("{stats:?} {:?} {:?} {:?} {sessions:?}", out.responses, out.events, out.people.names);
            (text, out.responses.len(), out.events.len())
        };
        let one = outcome(1);
        // Not vacuous: the fixtures' 12 responses and 6 attempts are there to compare.
        assert_eq!((one.1, one.2), (12, 6));
        for threads in [2, 3, 8] {
            assert_eq!(outcome(threads), one, "{threads} threads");
        }
    }
}
