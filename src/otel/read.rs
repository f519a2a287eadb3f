//! Reading telemetry files: OTLP JSON lines as the OpenTelemetry Collector's file exporter
//! writes them, or the flat form a warehouse query returns (JSON lines or CSV with the
//! attribute names as columns); each plain or gzip-compressed. One pass, one line in memory
//! at a time: what is kept is the compact records of `record`.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::fields::{Export, Fields, FlatObject, Nanos, Val};
use super::record::{ErrorRec, Kind, RequestRec, Tables, kind_named, kind_of, names, time_of};
use crate::scan::Progress;
pub use crate::scan::data::OtelStats;
use crate::text::count_of;
use crate::time::EpochMs;
use crate::warning::Warning;

/// Malformed lines named by a warning per file; the rest are counted.
const NAMED_BAD_LINES: u64 = 3;
/// The longest line (or CSV row) read: an OTLP export batches a few seconds of one process,
/// far less than this; a longer line is skipped, so that memory stays bounded whatever the
/// input (a gzip stream of one endless line, a device).
pub const MAX_LINE: usize = 64 << 20;
/// A request longer than a day is a corrupt duration (Claude Code times a request out after
/// minutes).
const MAX_DURATION_MS: u64 = 86_400_000;
/// Times before 2020-01-01 or from 2100-01-01 on are not a Claude Code event's (as in
/// transcripts).
const PLAUSIBLE_MS: std::ops::Range<EpochMs> = crate::time::PLAUSIBLE;

/// What the files hold.
#[derive(Debug, Default)]
pub struct Collected {
    pub tables: Tables,
    pub requests: Vec<RequestRec>,
    pub errors: Vec<ErrorRec>,
    pub stats: OtelStats,
    pub warnings: Vec<Warning>,
    /// The file being read: why its events could not be used, told once at its end.
    file: FileNotes,
    /// `--otel-where`: attribute values every event read must have.
    pub only: Vec<(String, String)>,
}

/// Per file: events left out, by why, and lines of another OpenTelemetry signal.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FileNotes {
    no_name: u64,
    no_time: u64,
    bad_count: u64,
    other_signal: u64,
}

impl FileNotes {
    /// The notes of two parts of one file.
    pub(super) fn add(&mut self, other: FileNotes) {
        self.no_name += other.no_name;
        self.no_time += other.no_time;
        self.bad_count += other.bad_count;
        self.other_signal += other.other_signal;
    }
}

/// What reading a file's JSON lines found that its warnings tell once it is read.
#[derive(Debug, Default)]
pub(super) struct Lines {
    /// Lines read.
    read: u64,
    /// The lines a warning names, by number, in order: every one too long, the first
    /// [`NAMED_BAD_LINES`] malformed.
    named: Vec<(u64, Named)>,
    /// Malformed lines.
    bad: u64,
    /// The first two bytes of the first line that is not blank.
    first: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Named {
    Long,
    Bad(String),
}

impl Lines {
    /// What the lines read after these found, as if read on: numbered after them, the
    /// malformed ones named while fewer than [`NAMED_BAD_LINES`] are.
    pub(super) fn then(&mut self, next: Lines) {
        let mut named_bad = self.named.iter().filter(|n| matches!(n.1, Named::Bad(_))).count() as u64;
        for (number, named) in next.named {
            if matches!(named, Named::Bad(_)) {
                if named_bad == NAMED_BAD_LINES {
                    continue;
                }
                named_bad += 1;
            }
            self.named.push((self.read + number, named));
        }
        self.read += next.read;
        self.bad += next.bad;
        self.first = self.first.take().or(next.first);
    }
}

/// Counts read from an `api_request`: a value present but not a non-negative whole number
/// makes the event unusable rather than a response of 0 tokens; so does one of 2^32 or more,
/// which no request carries and a record could only hold clamped (a corrupt count kept as
/// a different one).
const COUNTS: [&str; 5] = [names::INPUT, names::OUTPUT, names::CACHE_READ, names::CACHE_CREATION, names::DURATION];

/// The largest count a request record holds (32 bits).
const MAX_COUNT: u64 = u32::MAX as u64;

/// The files of `paths`: a file as given; a folder's files (recursively) whose names end in
/// `.json`, `.jsonl`, `.ndjson` or `.csv`, each optionally `.gz`, in path order.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Warning>, u64) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    // Paths that could not even be looked at (counted as unreadable files).
    let mut failed = 0u64;
    let not_regular =
        |p: &Path| Warning::new(p.to_path_buf(), None, "not a regular file (a FIFO or a device?): skipped".into());
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found: Vec<PathBuf> = Vec::new();
                // Links inside are not followed into folders (no loops); a link to a file is read.
                for entry in walkdir::WalkDir::new(p).follow_links(false) {
                    let entry = match entry {
                        Ok(e) => e,
                        Err(e) => {
                            let at = e.path().unwrap_or(p).to_path_buf();
                            let why = e.io_error().map_or_else(|| e.to_string(), ToString::to_string);
                            warnings.push(Warning::new(at, None, format!("cannot read: {why}")));
                            failed += 1;
                            continue;
                        }
                    };
                    if !is_telemetry_name(entry.path()) || entry.file_type().is_dir() {
                        continue;
                    }
                    match std::fs::metadata(entry.path()) {
                        Ok(m) if m.is_file() => found.push(entry.into_path()),
                        Ok(_) => warnings.push(not_regular(entry.path())),
                        Err(e) => {
                            warnings.push(Warning::new(entry.into_path(), None, format!("cannot read: {e}")));
                            failed += 1;
                        }
                    }
                }
                found.sort();
                if found.is_empty() {
                    warnings.push(Warning::new(
                        p.clone(),
                        None,
                        "no telemetry files (*.json, *.jsonl, *.csv, optionally .gz) in this folder".into(),
                    ));
                }
                files.extend(found);
            }
            Ok(m) if m.is_file() => files.push(p.clone()),
            Ok(_) => warnings.push(not_regular(p)),
            Err(e) => {
                warnings.push(Warning::new(p.clone(), None, format!("cannot read: {e}")));
                failed += 1;
            }
        }
    }
    (files, warnings, failed)
}

fn is_telemetry_name(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".json", ".jsonl", ".ndjson", ".csv"].iter().any(|ext| name.ends_with(ext))
}

pub(super) fn is_csv(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_suffix(".gz").unwrap_or(name).ends_with(".csv")
}

/// Counts the bytes read from the file (compressed or not), and tells the progress bar.
pub(super) struct Counting<'p, R> {
    inner: R,
    pub(super) bytes: u64,
    progress: &'p dyn Progress,
}

impl<'p, R> Counting<'p, R> {
    pub(super) fn new(inner: R, progress: &'p dyn Progress) -> Self {
        Counting { inner, bytes: 0, progress }
    }

    pub(super) fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// A reader thread's share: its bytes, and its files, each with what was read of it before
/// (a file read in pieces), else read by the thread.
type Share<'f> = (u64, Vec<(&'f PathBuf, Option<Collected>)>);

impl Collected {
    /// Reads the files on `threads` threads (largest first to the least loaded), merged in
    /// thread order so that the result does not depend on timing.
    ///
    /// A large file of JSON lines is read first, by all the threads at once
    /// (`otel::pieces`); it then takes its place among the thread's files as if that
    /// thread had read it.
    pub fn read_all(files: &[PathBuf], threads: usize, only: &[(String, String)], progress: &dyn Progress) -> Self {
        let all_threads = threads.max(1);
        let threads = all_threads.min(files.len().max(1));
        let mut sized: Vec<(u64, &PathBuf)> =
            files.iter().map(|f| (std::fs::metadata(f).map_or(0, |m| m.len()), f)).collect();
        progress.start(files.len() as u64, sized.iter().map(|s| s.0).sum());
        sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let mut shares: Vec<Share> = (0..threads).map(|_| (0, Vec::new())).collect();
        for (size, f) in sized {
            let read = if size >= super::pieces::PIECES_FROM {
                super::pieces::read(f, all_threads, only, progress)
            } else {
                None
            };
            let least = shares.iter_mut().min_by_key(|s| s.0).expect("one thread at least");
            least.0 += size;
            least.1.push((f, read));
        }
        for s in &mut shares {
            s.1.sort_by(|a, b| a.0.cmp(b.0));
        }
        let parts: Vec<Collected> = std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|(_, files)| {
                    crate::par::spawn(scope, move || {
                        let mut c = Collected::new(only);
                        for (f, read) in files {
                            match read {
                                Some(read) => c.absorb(read),
                                None => c.read_file(f, progress),
                            }
                        }
                        c
                    })
                })
                .collect();
            handles.into_iter().map(crate::par::Handle::join).collect()
        });
        progress.finish();
        let mut parts = parts.into_iter();
        let mut all = parts.next().unwrap_or_default();
        for p in parts {
            all.absorb(p);
        }
        all
    }

    /// A reader keeping only the events `only` names (`--otel-where`). A key spelled as a
    /// warehouse's column (`user_email`) names the attribute that column is read as
    /// (`user.email`), as the fields it is looked up in are.
    pub(super) fn new(only: &[(String, String)]) -> Self {
        let only = only.iter().map(|(k, v)| (canonical(k).to_string(), v.clone())).collect();
        Collected { only, ..Collected::default() }
    }

    /// Adds another reader's records, its interned ids mapped to this one's (taken as they
    /// are by a reader that has read nothing yet: the same ids).
    pub(super) fn absorb(&mut self, other: Collected) {
        let s = &self.stats;
        if (s.files, s.lines, s.bytes) == (0, 0, 0) && self.warnings.is_empty() {
            let only = std::mem::take(&mut self.only);
            *self = Collected { only, ..other };
            return;
        }
        let Collected { tables, requests, errors, stats, mut warnings, .. } = other;
        let sessions = self.tables.sessions.absorb(&tables.sessions);
        let prompts = self.tables.prompts.absorb(&tables.prompts);
        let sources = self.tables.sources.absorb(&tables.sources);
        let models = self.tables.models.absorb(&tables.models);
        let efforts = self.tables.efforts.absorb(&tables.efforts);
        let map = |ids: &[u32], id: u32| if id == super::record::NONE { id } else { ids[id as usize] };
        let groups: Vec<u32> = tables
            .groups
            .iter()
            .map(|&(s, src)| self.tables.group_id(sessions[s as usize], map(&sources, src)))
            .collect();
        for (s, p) in tables.session_person {
            let (account, email, organization) = (p.account.as_deref(), p.email.as_deref(), p.organization.as_deref());
            self.tables.add_person(sessions[s as usize], account, email, organization);
        }
        for (s, version) in tables.session_version {
            self.tables.session_version.entry(sessions[s as usize]).or_insert(version);
        }
        let narrow = |ids: &[u32], id: u16| {
            if id == u16::MAX { id } else { u16::try_from(ids[usize::from(id)]).unwrap_or(u16::MAX) }
        };
        self.requests.extend(requests.into_iter().map(|mut r| {
            r.group = groups[r.group as usize];
            r.prompt = map(&prompts, r.prompt);
            r.model = narrow(&models, r.model);
            r.effort = narrow(&efforts, r.effort);
            r
        }));
        self.errors.extend(errors.into_iter().map(|mut e| {
            e.group = groups[e.group as usize];
            e.prompt = map(&prompts, e.prompt);
            e.model = narrow(&models, e.model);
            e
        }));
        let s = &mut self.stats;
        s.files += stats.files;
        s.bytes += stats.bytes;
        s.lines += stats.lines;
        s.events += stats.events;
        s.requests += stats.requests;
        s.errors += stats.errors;
        s.other_events += stats.other_events;
        s.unusable_events += stats.unusable_events;
        s.filtered_out += stats.filtered_out;
        s.bad_lines += stats.bad_lines;
        s.long_lines += stats.long_lines;
        s.unreadable_files += stats.unreadable_files;
        s.cut_short_files += stats.cut_short_files;
        self.warnings.append(&mut warnings);
    }

    fn warn(&mut self, path: &Path, line: Option<u64>, message: String) {
        self.warnings.push(Warning::new(path.to_path_buf(), line, message));
    }

    /// Reads one file; a problem is a warning, and what was read before it is kept.
    pub fn read_file(&mut self, path: &Path, progress: &dyn Progress) {
        self.stats.files += 1;
        let file = match crate::open::regular(path) {
            Ok(f) => f,
            Err(e) => {
                self.stats.unreadable_files += 1;
                self.warn(path, None, format!("cannot read: {e}"));
                return;
            }
        };
        let mut raw = BufReader::with_capacity(1 << 18, Counting::new(file, progress));
        let gzip = matches!(raw.fill_buf(), Ok(b) if b.starts_with(&[0x1f, 0x8b]));
        let events_before = self.stats.events;
        let result = if gzip {
            let decoded = BufReader::with_capacity(1 << 18, flate2::bufread::MultiGzDecoder::new(&mut raw));
            self.read_stream(path, decoded)
        } else {
            self.read_stream(path, &mut raw)
        };
        self.stats.bytes += raw.get_ref().bytes;
        // Stopped before its first event (a broken gzip stream, a device that fails to read):
        // no more read than a file that would not open.
        if result.is_err() && self.stats.events == events_before {
            self.stats.unreadable_files += 1;
        }
        self.finish_file(path, gzip, result);
    }

    /// Ends a file's reading: why it stopped early, if it did, and why events were left out.
    pub(super) fn finish_file(&mut self, path: &Path, gzip: bool, result: std::io::Result<()>) {
        if let Err(e) = result {
            self.stats.cut_short_files += 1;
            let what = if gzip { "stopped reading (gzip)" } else { "stopped reading" };
            self.warn(path, None, format!("{what}: {e}; the events before it are kept"));
        }
        self.file_notes(path);
    }

    /// The notes of the file being read, taken (a piece's, to be told with the file's).
    pub(super) fn take_notes(&mut self) -> FileNotes {
        std::mem::take(&mut self.file)
    }

    pub(super) fn add_notes(&mut self, notes: FileNotes) {
        self.file.add(notes);
    }

    fn read_stream<R: BufRead>(&mut self, path: &Path, reader: R) -> std::io::Result<()> {
        if is_csv(path) { self.read_csv(path, reader) } else { self.read_lines(path, reader) }
    }

    fn read_lines<R: BufRead>(&mut self, path: &Path, reader: R) -> std::io::Result<()> {
        let mut found = Lines::default();
        let result = self.lines(reader, true, &mut found);
        self.tell_lines(path, found, result.is_ok());
        result
    }

    /// Reads JSON lines (`first`: from the file's start, where a byte-order mark may stand),
    /// noting in `found` what the file's warnings will tell ([`Collected::tell_lines`]).
    pub(super) fn lines<R: BufRead>(&mut self, mut reader: R, first: bool, found: &mut Lines) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        while let Some(whole) = next_line(&mut reader, &mut buf, MAX_LINE)? {
            found.read += 1;
            self.stats.lines += 1;
            if !whole {
                self.stats.long_lines += 1;
                found.named.push((found.read, Named::Long));
                continue;
            }
            let text =
                if first && found.read == 1 { buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf) } else { &buf[..] };
            let line = text.trim_ascii();
            if line.is_empty() {
                continue;
            }
            if found.first.is_none() {
                found.first = Some(line.iter().copied().take(2).collect());
            }
            if let Err(why) = self.line(line) {
                found.bad += 1;
                self.stats.bad_lines += 1;
                if found.bad <= NAMED_BAD_LINES {
                    found.named.push((found.read, Named::Bad(why)));
                }
            }
        }
        Ok(())
    }

    /// The warnings of a file's lines: those named, in order; when it was read to its end
    /// (`whole`), how many more were malformed, and whether it looks pretty-printed.
    pub(super) fn tell_lines(&mut self, path: &Path, found: Lines, whole: bool) {
        for (number, named) in found.named {
            let why = match named {
                Named::Long => format!("longer than {} MiB: skipped", MAX_LINE >> 20),
                Named::Bad(why) => why,
            };
            self.warn(path, Some(number), why);
        }
        if !whole {
            return;
        }
        let bad = found.bad;
        if bad > NAMED_BAD_LINES {
            let more = bad - NAMED_BAD_LINES;
            let what = if more == 1 { "malformed line" } else { "malformed lines" };
            self.warn(path, None, format!("{more} more {what}"));
        }
        // `{` or `[` alone on the first line: JSON laid out over many lines.
        if bad > 0 && matches!(found.first.as_deref(), Some(b"{") | Some(b"[")) {
            self.warn(
                path,
                None,
                "looks like pretty-printed JSON: one export (or event) a line is expected (`jq -c .` writes that)"
                    .into(),
            );
        }
    }

    /// Says, once a file is read, why some of its events could not be used.
    fn file_notes(&mut self, path: &Path) {
        let n = std::mem::take(&mut self.file);
        let mut why = Vec::new();
        if n.no_name > 0 {
            why.push(format!("{} without a name (event.name, or the body)", count_of(n.no_name, "event", "events")));
        }
        if n.no_time > 0 {
            why.push(format!(
                "{} without a time this reads (event.timestamp as ISO 8601 or a number since the epoch, or the record's timeUnixNano)",
                count_of(n.no_time, "event", "events")
            ));
        }
        if n.bad_count > 0 {
            why.push(format!(
                "{} with a token count or duration that is not a whole number below 2^32",
                count_of(n.bad_count, "request", "requests")
            ));
        }
        if !why.is_empty() {
            self.warn(path, None, format!("left out: {}", why.join("; ")));
        }
        if n.other_signal > 0 {
            self.warn(
                path,
                None,
                format!(
                    "{} of metrics or traces skipped: ccdoctor reads the log signal (Claude Code's events)",
                    count_of(n.other_signal, "line", "lines")
                ),
            );
        }
    }

    /// One JSON line: an OTLP export (several events) or one flat event.
    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let describe = |e: serde_json::Error, what: &str| format!("not {what} ({} at column {})", kind(&e), e.column());
        let (logs, other) = signals(line);
        if !logs && other {
            self.file.other_signal += 1;
            return Ok(());
        }
        if logs {
            let export: Export = parse(line).map_err(|e| describe(e, "an OTLP JSON export"))?;
            let mut fields = Fields::default();
            for rl in export.resource_logs {
                fields.clear();
                for kv in rl.resource.map(|r| r.attributes).unwrap_or_default() {
                    fields.push(kv.key, kv.value.unwrap_or_default().into_val());
                }
                // The resource's attributes belong to every record under it: indexed once.
                fields.share();
                for record in rl.scope_logs.into_iter().flat_map(|s| s.log_records) {
                    fields.keep_shared();
                    let body = record.body.as_ref().and_then(|b| b.string_value.as_deref());
                    // An event the body names as one not read is counted, its attributes unread.
                    if let Some(name) = body.filter(|b| b.starts_with("claude_code."))
                        && matches!(kind_named(name), Kind::Other(_))
                    {
                        self.stats.events += 1;
                        self.stats.other_events += 1;
                        continue;
                    }
                    let attributes = record.attributes().map_err(|e| describe(e, "an OTLP JSON export"))?;
                    for kv in attributes {
                        fields.push(kv.key, kv.value.unwrap_or_default().into_val());
                    }
                    let record_ms = record
                        .time_unix_nano
                        .as_ref()
                        .or(record.observed_time_unix_nano.as_ref())
                        .and_then(Nanos::millis);
                    self.event(&fields, body, record_ms);
                }
            }
            Ok(())
        } else {
            // The fast reader first; serde_json for what it leaves (and for the error).
            let skimmed = std::str::from_utf8(line).ok().and_then(FlatObject::skim);
            let FlatObject(mut fields) = match skimmed {
                Some(object) => object,
                None => parse(line).map_err(|e| describe(e, "OTLP JSON or a flat event"))?,
            };
            normalize(&mut fields);
            let body = fields.str("body").map(str::to_string);
            self.event(&fields, body.as_deref(), None);
            Ok(())
        }
    }

    fn read_csv<R: BufRead>(&mut self, path: &Path, reader: R) -> std::io::Result<()> {
        let reader = LineCapped { inner: reader, run: 0, cap: MAX_LINE };
        let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let headers: Vec<String> = match csv.headers() {
            Ok(h) => h.iter().map(|h| canonical(h.trim()).to_string()).collect(),
            Err(e) => return Err(csv_io(e)),
        };
        if headers.len() == 1 && headers[0].contains(';') {
            self.warn(
                path,
                Some(1),
                "the header is separated by semicolons: ccdoctor reads comma-separated CSV".into(),
            );
            return Ok(());
        }
        let mut record = csv::StringRecord::new();
        let mut bad = 0u64;
        // The row whose last field holds a line break, if the last row read does: a quote
        // left open runs to the end of the file.
        let mut open_quote: Option<u64> = None;
        loop {
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    self.stats.lines += 1;
                    // A quote left open mid-file swallows the rows after it into one field,
                    // up to the next quote: lines of a field shaped like rows (as many
                    // commas as the header has) are named, not read as one value silently.
                    // (One search of the row's bytes first: most rows hold no line break.)
                    let rowlike = if record.as_slice().contains('\n') {
                        record
                            .iter()
                            .filter(|f| f.contains('\n'))
                            .flat_map(|f| f.lines().skip(1))
                            .filter(|l| l.matches(',').count() + 1 >= headers.len().max(2))
                            .count()
                    } else {
                        0
                    };
                    if rowlike > 0 {
                        let line = record.position().map(csv::Position::line);
                        self.warn(
                            path,
                            line,
                            format!(
                                "a quoted field holds {} shaped like rows (a quote left open?): read as one value, not as rows",
                                crate::text::count_of(rowlike as u64, "line", "lines")
                            ),
                        );
                    }
                    open_quote = record
                        .iter()
                        .next_back()
                        .filter(|f| f.contains('\n'))
                        .and_then(|_| record.position().map(csv::Position::line));
                    let mut fields = Fields::default();
                    for (name, value) in headers.iter().zip(record.iter()) {
                        if !value.is_empty() {
                            fields.push(Cow::Borrowed(name.as_str()), Val::Str(Cow::Borrowed(value)));
                        }
                    }
                    let body = fields.str("body").map(str::to_string);
                    self.event(&fields, body.as_deref(), None);
                }
                Err(e) if e.is_io_error() => return Err(csv_io(e)),
                Err(e) => {
                    self.stats.lines += 1;
                    self.stats.bad_lines += 1;
                    bad += 1;
                    if bad <= NAMED_BAD_LINES {
                        let line = e.position().map(|p| p.line());
                        self.warn(path, line, "not a CSV row".into());
                    }
                }
            }
        }
        if bad > NAMED_BAD_LINES {
            let more = bad - NAMED_BAD_LINES;
            let what = if more == 1 { "malformed row" } else { "malformed rows" };
            self.warn(path, None, format!("{more} more {what}"));
        }
        if let Some(line) = open_quote {
            self.warn(path, Some(line), "a quoted field runs to the end of the file (a quote left open?)".into());
        }
        Ok(())
    }

    /// One event, whatever form it came in.
    fn event(&mut self, fields: &Fields, body: Option<&str>, record_ms: Option<EpochMs>) {
        self.stats.events += 1;
        if !self.only.iter().all(|(k, v)| fields.get(k).is_some_and(|f| value_is(f, v))) {
            self.stats.filtered_out += 1;
            return;
        }
        let kind = kind_of(fields, body);
        match kind {
            Kind::Other(_) => {
                self.stats.other_events += 1;
                return;
            }
            Kind::Unnamed => {
                self.file.no_name += 1;
                self.stats.unusable_events += 1;
                return;
            }
            Kind::Request | Kind::Error => {}
        }
        let Some(time) = time_of(fields, record_ms).filter(|t| PLAUSIBLE_MS.contains(t)) else {
            self.file.no_time += 1;
            self.stats.unusable_events += 1;
            return;
        };
        if kind == Kind::Request {
            let bad_count =
                COUNTS.iter().any(|c| fields.get(c).is_some_and(|v| v.as_u64().is_none_or(|n| n > MAX_COUNT)));
            if bad_count || fields.u64(names::DURATION).is_some_and(|d| d > MAX_DURATION_MS) {
                self.file.bad_count += 1;
                self.stats.unusable_events += 1;
                return;
            }
            self.stats.requests += 1;
            let r = self.tables.request(fields, time);
            self.requests.push(r);
        } else if let Some(e) = self.tables.error(fields, time) {
            self.stats.errors += 1;
            self.errors.push(e);
        } else {
            // A notice logged as an error (`Approaching Opus usage limit`) is no error.
            self.stats.other_events += 1;
        }
    }
}

/// Whether a field holds `want` (a number compares as its decimal text).
fn value_is(v: &Val, want: &str) -> bool {
    match v {
        Val::Str(s) => s == want,
        Val::Int(i) => want.parse::<i64>().is_ok_and(|w| w == *i),
        Val::Bool(b) => want.parse::<bool>().is_ok_and(|w| w == *b),
        Val::Float(_) | Val::Other => false,
    }
}

fn kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "cut short",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Io => "read error",
    }
}

fn csv_io(e: csv::Error) -> std::io::Error {
    if !e.is_io_error() {
        let line = e.position().map_or(String::new(), |p| format!(" (line {})", p.line()));
        let what = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "not UTF-8 text",
            _ => "not CSV",
        };
        return std::io::Error::other(format!("{what}{line}"));
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => std::io::Error::other("a read error"),
    }
}

/// Reads the next line into `buf` without its line break, keeping at most `cap` bytes:
/// `None` at the end, else whether the line was whole (a longer one is read to its end and
/// dropped, so that memory stays bounded).
fn next_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<Option<bool>> {
    buf.clear();
    let (mut any, mut whole) = (false, true);
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(whole));
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if whole {
            if take > cap - buf.len() {
                whole = false;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Some(whole));
        }
    }
}

/// Refuses (an error) a line longer than `cap` bytes, so that a CSV row cannot grow without
/// bound; quoted line breaks start a new line.
struct LineCapped<R> {
    inner: R,
    run: usize,
    cap: usize,
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.run = match memchr::memrchr(b'\n', &buf[..n]) {
            Some(i) => n - i - 1,
            None => self.run + n,
        };
        if self.run > self.cap {
            let mib = self.cap >> 20;
            return Err(std::io::Error::other(format!("a row longer than {mib} MiB")));
        }
        Ok(n)
    }
}

/// Warehouses often turn `session.id` into `session_id`: the usual spellings are read as the
/// attribute they stand for.
fn canonical(name: &str) -> &str {
    renamed(name).unwrap_or(name)
}

/// The attribute name a warehouse's column name stands for, where it is another.
fn renamed(name: &str) -> Option<&'static str> {
    Some(match name {
        "event_name" => names::EVENT_NAME,
        "event_timestamp" => names::TIMESTAMP,
        "session_id" => names::SESSION,
        "user_account_uuid" => names::ACCOUNT,
        "user_email" => names::EMAIL,
        "organization_id" => names::ORGANIZATION,
        "prompt_id" => names::PROMPT,
        "service_version" => names::VERSION,
        _ => return None,
    })
}

fn normalize(fields: &mut Fields) {
    fields.rename_keys(renamed);
}

/// Whether a line names the log signal (`"resourceLogs"`) and another (`"resourceMetrics"`,
/// `"resourceSpans"`) anywhere: one pass for `"resource` with a searcher made once, where
/// three searches (each making its searcher) cost a flat event's line more than its parse.
fn signals(line: &[u8]) -> (bool, bool) {
    static RESOURCE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"resource"));
    let (mut logs, mut other) = (false, false);
    for at in RESOURCE.find_iter(line) {
        let rest = &line[at + RESOURCE.needle().len()..];
        logs |= rest.starts_with(b"Logs\"");
        other |= rest.starts_with(b"Metrics\"") || rest.starts_with(b"Spans\"");
    }
    (logs, other)
}

/// A JSON line parsed: a line that is UTF-8 (all but a corrupt one) is checked once, not
/// string by string as `from_slice` does; any other gets `from_slice`'s error, as before.
/// (serde_json reads a `&str` with the same reader as a slice, less the checks.)
fn parse<'a, T: serde::Deserialize<'a>>(line: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_the_keys_a_line_names_anywhere() {
        let cases: [(&[u8], (bool, bool)); 8] = [
            (br#"{"body":"claude_code.api_request","attributes":{}}"#, (false, false)),
            (br#"{"resourceLogs":[]}"#, (true, false)),
            (br#"{"resourceMetrics":[]}"#, (false, true)),
            (br#"{"resourceSpans":[]}"#, (false, true)),
            (br#"{"resourceMetrics":[],"x":{"resourceLogs":[]}}"#, (true, true)),
            (br#"{"resource":{},"resourceLogsX":1,"resourceSpan":2}"#, (false, false)),
            // A key's name inside a string is escaped: not a key.
            (br#"{"body":"say \"resourceLogs\""}"#, (false, false)),
            (br#""resource"resourceLogs""#, (true, false)),
        ];
        for (line, want) in cases {
            assert_eq!(signals(line), want, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn a_line_parses_as_from_slice_would_whatever_its_bytes() {
        let lines: [&[u8]; 4] = [br#"{"a":"b","c":[1,2]}"#, br#"{"a":"b""#, b"{\"a\":\"\xff\"}", b"{\"\xc3\xa9\":1,}"];
        for line in lines {
            let ours: serde_json::Result<serde_json::Value> = parse(line);
            let theirs: serde_json::Result<serde_json::Value> = serde_json::from_slice(line);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!((a.to_string(), a.column()), (b.to_string(), b.column())),
                (a, b) => panic!("{a:?} against {b:?}"),
            }
        }
    }

    fn collect(text: &str) -> Collected {
        let mut c = Collected::default();
        c.read_lines(Path::new("t.jsonl"), text.as_bytes()).unwrap();
        c
    }

    const OTLP: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.version","value":{"stringValue":"2.1.240"}},{"key":"user.email","value":{"stringValue":"a@example.com"}}]},"scopeLogs":[{"scope":{"name":"com.anthropic.claude_code.events"},"logRecords":[
        {"timeUnixNano":"1780000005000000000","body":{"stringValue":"claude_code.api_request"},"attributes":[{"key":"event.name","value":{"stringValue":"api_request"}},{"key":"session.id","value":{"stringValue":"s1"}},{"key":"model","value":{"stringValue":"claude-sonnet-5"}},{"key":"output_tokens","value":{"intValue":"300"}},{"key":"input_tokens","value":{"intValue":12}},{"key":"duration_ms","value":{"intValue":"4000"}}]},
        {"timeUnixNano":"1780000006000000000","attributes":[{"key":"event.name","value":{"stringValue":"tool_result"}}]},
        {"attributes":[{"key":"event.name","value":{"stringValue":"api_error"}},{"key":"event.timestamp","value":{"stringValue":"2026-05-28T20:26:50.000Z"}},{"key":"error","value":{"stringValue":"429 Too many tokens"}},{"key":"status_code","value":{"stringValue":"429"}},{"key":"attempt","value":{"intValue":"1"}}]}
    ]}]}]}"#;

    #[test]
    fn an_otlp_line_gives_its_requests_and_errors() {
        let c = collect(&OTLP.replace('\n', ""));
        assert_eq!((c.stats.events, c.stats.requests, c.stats.errors, c.stats.other_events), (3, 1, 1, 1));
        let r = c.requests[0];
        assert_eq!((r.time, r.output, r.input, r.duration_ms), (1_780_000_005_000, 300, 12, 4000));
        assert_eq!(c.errors[0].time, crate::time::parse_timestamp("2026-05-28T20:26:50.000Z").unwrap());
        // The resource's attributes belong to every record under it.
        let session = c.tables.group(r.group).0;
        let p = &c.tables.session_person[&session];
        assert_eq!(p.email.as_deref(), Some("a@example.com"));
        assert_eq!(c.tables.session_version[&session].as_ref(), "2.1.240");
    }

    #[test]
    fn bad_lines_are_counted_and_named_and_the_rest_is_read() {
        let good = OTLP.replace('\n', "");
        let text = format!("{good}\n{{\"resourceLogs\":[{{\n\nnot json\n{good}\n[1,2]\n\"x\"\n");
        let c = collect(&text);
        assert_eq!((c.stats.bad_lines, c.stats.requests), (4, 2));
        assert_eq!(c.warnings.len(), 4, "{:?}", c.warnings);
        assert_eq!(c.warnings[0].line, Some(2));
        assert!(c.warnings[0].message.contains("not an OTLP JSON export (cut short"), "{}", c.warnings[0]);
        assert_eq!(c.warnings[3].message, "1 more malformed line");
    }

    #[test]
    fn a_quote_left_open_mid_file_names_the_rows_it_swallows() {
        let mut c = Collected::default();
        let csv = "event.name,event.timestamp,session.id,output_tokens\napi_request,1780000000000,s,10\n\"unterminated,x\napi_request,1780000001000,s,20\napi_error,1780000002000,s,\"\napi_request,1780000003000,s,30\n";
        c.read_csv(Path::new("t.csv"), csv.as_bytes()).unwrap();
        let said: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            said.iter().any(|w| w.contains("a quoted field holds 2 lines shaped like rows (a quote left open?)")),
            "{said:?}"
        );
        // A prompt over several lines is no such thing.
        let mut c = Collected::default();
        let csv = "event.name,event.timestamp,session.id,prompt\nuser_prompt,1780000000000,s,\"fix this\nand that, please\nthanks\"\napi_request,1780000001000,s,\n";
        c.read_csv(Path::new("t.csv"), csv.as_bytes()).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn flat_json_and_csv_with_warehouse_column_names() {
        let json = r#"{"event_name":"api_request","event_timestamp":"2026-05-28T20:26:50Z","session_id":"s","output_tokens":"9","duration_ms":100}"#;
        let c = collect(json);
        assert_eq!((c.stats.requests, c.requests[0].output), (1, 9));
        let csv = "event.name,event.timestamp,session.id,output_tokens,input_tokens\napi_request,1780000000000,s,10,5\napi_error,2026-05-28T20:26:50Z,s,,\n";
        let mut c = Collected::default();
        c.read_csv(Path::new("t.csv"), csv.as_bytes()).unwrap();
        assert_eq!((c.stats.requests, c.stats.errors), (1, 1));
        assert_eq!((c.requests[0].time, c.requests[0].output, c.requests[0].input), (1_780_000_000_000, 10, 5));
    }

    proptest::proptest! {
        /// Any damage to an export (bytes dropped, changed or added anywhere) is a counted
        /// bad line or events counted one way or another: never a panic, and every event is
        /// accounted for.
        #[test]
        fn damaged_exports_are_counted_never_fatal(
            cuts in proptest::collection::vec((0usize..4000, 0u8..=255, 0u8..3), 0..6)
        ) {
            let mut line = OTLP.replace('\n', "").into_bytes();
            for (at, byte, how) in cuts {
                let at = at % (line.len() + 1);
                match how {
                    0 if at < line.len() => { line.remove(at); }
                    1 if at < line.len() => line[at] = byte,
                    _ => line.insert(at, byte),
                }
            }
            let mut text = line.clone();
            text.push(b'\n');
            text.extend_from_slice(OTLP.replace('\n', "").as_bytes());
            let mut c = Collected::default();
            c.read_lines(Path::new("t.jsonl"), &text[..]).unwrap();
            let s = &c.stats;
            proptest::prop_assert_eq!(s.events, s.requests + s.errors + s.other_events + s.unusable_events + s.filtered_out);
            // The intact line after the damaged one (which a new line break may split) is read.
            let c2 = {
                let mut c2 = Collected::default();
                c2.read_lines(Path::new("t.jsonl"), &line[..]).unwrap();
                c2
            };
            proptest::prop_assert_eq!(s.requests, c2.stats.requests + 1);
            proptest::prop_assert!(s.lines > c2.stats.lines);
            proptest::prop_assert!(s.bad_lines <= c2.stats.lines);
        }
    }

    #[test]
    fn numeric_timestamps_in_any_unit() {
        use crate::otel::record::epoch_number;
        let ms = 1_780_000_000_123;
        for n in [ms / 1000 * 1000 / 1000, ms, ms * 1000, ms * 1_000_000] {
            let got = epoch_number(&Val::Int(n)).unwrap();
            assert!((got - ms).abs() < 1000, "{n} → {got}");
        }
    }
}
