//! One large file of JSON lines read by several threads at once: cut into pieces at line
//! starts, each piece read on its own thread, the pieces put back together in order, so that
//! what comes out is what one thread reading the whole file makes. A team's export is often
//! one file of gigabytes, which one thread alone would read while the others wait.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::read::{Collected, Counting, FileNotes, Lines, is_csv};
use crate::scan::Progress;

/// Files from this size on are read in pieces: below it, a thread's start and the pieces'
/// joining cost more than they save.
pub const PIECES_FROM: u64 = 32 << 20;

/// How far past a cut a line start is looked for: a line this long is skipped anyway
/// ([`super::read::MAX_LINE`]); past it the cut is dropped (one piece fewer).
const LOOK_FOR_START: u64 = super::read::MAX_LINE as u64 + 1;

/// The file read on `threads` threads, as [`Collected::read_file`] reads it, when it is a
/// plain (not gzip) file of JSON lines of at least [`PIECES_FROM`] bytes that can be cut;
/// `None` for any other (read it whole).
pub fn read(path: &Path, threads: usize, only: &[(String, String)], progress: &dyn Progress) -> Option<Collected> {
    read_from(PIECES_FROM, path, threads, only, progress)
}

/// [`read`], for files of at least `from` bytes.
fn read_from(
    from: u64,
    path: &Path,
    threads: usize,
    only: &[(String, String)],
    progress: &dyn Progress,
) -> Option<Collected> {
    if threads < 2 || is_csv(path) {
        return None;
    }
    let mut file = crate::open::regular(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len < from || is_gzip(&file) {
        return None;
    }
    let starts = line_starts(&mut file, len, threads).ok()?;
    if starts.len() < 2 {
        return None;
    }
    // Every piece reads the file opened here: one renamed or deleted meanwhile is still the
    // one cut.
    let file = &file;
    let pieces: Vec<Piece> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(k, &from)| {
                let to = starts.get(k + 1).copied().unwrap_or(u64::MAX);
                crate::par::spawn(scope, move || Piece::read(file, from, to, only, progress))
            })
            .collect();
        handles.into_iter().map(crate::par::Handle::join).collect()
    });
    // A piece past the 65,535th model or effort name holds its own numbering's overflow, not
    // the file's (the names past it are counted as one): such a file is read whole.
    let overflows = |c: &Collected| {
        let most = usize::from(u16::MAX);
        c.tables.models.names.len() >= most || c.tables.efforts.names.len() >= most
    };
    if pieces.iter().any(|p| overflows(&p.collected)) {
        return None;
    }
    Some(joined(path, pieces))
}

/// A file's bytes from `pos` to `end`, each read at its offset: the pieces share one open
/// file.
struct At<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let room = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX).min(buf.len());
        if room == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..room], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Whether the file starts as gzip does.
fn is_gzip(file: &File) -> bool {
    let mut magic = [0u8; 2];
    file.read_exact_at(&mut magic, 0).is_ok() && magic == [0x1f, 0x8b]
}

/// Where the pieces start: 0, then the first line start at or after each of `n - 1` even
/// cuts of `len` bytes (a position right after a line break), each after the one before.
fn line_starts(file: &mut File, len: u64, n: usize) -> std::io::Result<Vec<u64>> {
    let mut starts = vec![0];
    for k in 1..n as u64 {
        let cut = len / n as u64 * k;
        let last = *starts.last().expect("0 is in");
        if cut <= last {
            continue;
        }
        match start_after(file, cut, len)? {
            Some(s) if s > last && s < len => starts.push(s),
            _ => {}
        }
    }
    Ok(starts)
}

/// The first line start at or after `at` (> 0): right after the first line break from
/// `at - 1` on, looked for over at most [`LOOK_FOR_START`] bytes and not past `len`.
fn start_after(file: &mut File, at: u64, len: u64) -> std::io::Result<Option<u64>> {
    file.seek(SeekFrom::Start(at - 1))?;
    let mut window = file.take(LOOK_FOR_START.min(len - (at - 1)));
    let mut buf = vec![0u8; 1 << 16];
    let mut pos = at - 1;
    loop {
        let n = match window.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(pos + i as u64 + 1));
        }
        pos += n as u64;
    }
}

/// What one thread read of its piece.
struct Piece {
    collected: Collected,
    lines: Lines,
    notes: FileNotes,
    result: std::io::Result<()>,
    /// It ended before its last byte: the file shrank while it was read.
    short: bool,
}

impl Piece {
    /// The lines from byte `from` to byte `to` (`u64::MAX` for the last piece: to the file's
    /// end, whatever it is then, as one thread reading the file would).
    fn read(file: &File, from: u64, to: u64, only: &[(String, String)], progress: &dyn Progress) -> Piece {
        let mut collected = Collected::new(only);
        let mut lines = Lines::default();
        let mut raw = BufReader::with_capacity(1 << 18, Counting::new(At { file, pos: from, end: to }, progress));
        let result = collected.lines(&mut raw, from == 0, &mut lines);
        let counted = raw.get_ref();
        collected.stats.bytes += counted.bytes;
        let short = to != u64::MAX && counted.inner().pos < to;
        let notes = collected.take_notes();
        Piece { collected, lines, notes, result, short }
    }
}

/// The pieces as one file: each piece's records after the ones before, its lines numbered
/// after theirs; a piece that stopped (a read error, or the file's end come early: it
/// shrank) ends the file there, as it would have for one thread. Then the file's warnings,
/// as [`Collected::read_file`] tells them.
fn joined(path: &Path, pieces: Vec<Piece>) -> Collected {
    let mut pieces = pieces.into_iter();
    let Piece { collected: mut all, mut lines, mut notes, mut result, mut short } =
        pieces.next().expect("one piece at least");
    for p in pieces {
        if result.is_err() || short {
            break;
        }
        all.absorb(p.collected);
        lines.then(p.lines);
        notes.add(p.notes);
        (result, short) = (p.result, p.short);
    }
    all.stats.files += 1;
    all.tell_lines(path, lines, result.is_ok());
    all.add_notes(notes);
    all.finish_file(path, false, result);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Silent;

    /// A flat event a line: requests of a few sessions and models, refused attempts, and
    /// lines a warning names or counts (malformed, blank, without a time), a byte-order mark
    /// first.
    fn export(lines: usize) -> String {
        let mut text = String::from("\u{feff}");
        for k in 0..lines {
            let (session, model, t) = (
                k % 7,
                ["claude-opus-5", "claude-sonnet-5", "claude-haiku-5"][k % 3],
                1_780_000_000_000u64 + k as u64 * 1_000,
            );
            let line = match k % 11 {
                3 => format!(
                    r#"{{"event.name":"api_error","event.timestamp":{t},"session.id":"s{session}","model":"{model}","error":"429 Too many tokens","status_code":429,"attempt":1}}"#
                ),
                5 if k % 2 == 1 => "{".to_string(),
                7 => String::new(),
                9 => format!(r#"{{"event.name":"api_request","session.id":"s{session}"}}"#),
                _ => format!(
                    r#"{{"event.name":"api_request","event.timestamp":{t},"session.id":"s{session}","user.email":"p{}@example.com","model":"{model}","output_tokens":{},"input_tokens":5,"duration_ms":900,"request_id":"req_{k}"}}"#,
                    session % 3,
                    100 + k
                ),
            };
            text.push_str(&line);
            text.push('\n');
        }
        text
    }

    /// What a reading holds, as text: its records, names, counts and warnings.
    fn held(c: &Collected) -> String {
        let persons: std::collections::BTreeMap<_, _> = c.tables.session_person.iter().collect();
        let versions: std::collections::BTreeMap<_, _> = c.tables.session_version.iter().collect();
        let t = &c.tables;
        format!(
            "{:?}\n{:?}\n{:?} {:?} {:?} {:?} {:?} {:?}\n{persons:?} {versions:?}\n{:?}\n{:?}",
            c.requests,
            c.errors,
            t.sessions.names,
            t.prompts.names,
            t.sources.names,
            t.models.names,
            t.efforts.names,
            t.groups,
            c.stats,
            c.warnings
        )
    }

    /// Read in 2 to 9 pieces, a file gives what one thread reading it whole gives: the same
    /// records in the same order, the same names and counts, the same warnings with the
    /// same line numbers.
    #[test]
    fn pieces_read_as_the_whole_file_does() {
        let dir = tempfile::tempdir().unwrap();
        for lines in [1, 2, 25, 400] {
            let p = dir.path().join(format!("e{lines}.jsonl"));
            std::fs::write(&p, export(lines)).unwrap();
            let mut whole = Collected::new(&[]);
            whole.read_file(&p, &Silent);
            // Three malformed lines named, the others counted; events without a time.
            assert!(lines < 400 || whole.warnings.len() == 5, "{:?}", whole.warnings);
            for threads in 2..10 {
                match read_from(0, &p, threads, &[], &Silent) {
                    Some(pieces) => assert_eq!(held(&pieces), held(&whole), "{lines} lines, {threads} threads"),
                    None => assert_eq!(lines, 1, "one line is not cut"),
                }
            }
        }
    }

    /// A file that shrinks after it was cut (truncated while read) ends where the first piece
    /// found its end: the pieces after it are not joined, as one thread would have stopped
    /// there. A file deleted once it is open is read all the same.
    #[test]
    fn a_file_that_shrinks_ends_at_the_first_short_piece() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.jsonl");
        std::fs::write(&p, export(400)).unwrap();
        let mut file = File::open(&p).unwrap();
        let len = file.metadata().unwrap().len();
        let starts = line_starts(&mut file, len, 3).unwrap();
        assert_eq!(starts.len(), 3);
        let read =
            |k: usize| Piece::read(&file, starts[k], starts.get(k + 1).copied().unwrap_or(u64::MAX), &[], &Silent);
        // The third piece is read whole; then the file is cut inside the second piece, which
        // comes short, and deleted.
        let third = read(2);
        let cut = (starts[1] + starts[2]) / 2;
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(cut).unwrap();
        std::fs::remove_file(&p).unwrap();
        let pieces = vec![read(0), read(1), third];
        assert_eq!(pieces.iter().map(|p| p.short).collect::<Vec<_>>(), [false, true, false]);
        assert!(!pieces[2].collected.requests.is_empty());
        let joined = joined(&p, pieces);
        // What one thread reading the shrunk file gives (its last line cut short).
        let kept = dir.path().join("kept.jsonl");
        std::fs::write(&kept, &export(400).as_bytes()[..cut as usize]).unwrap();
        let mut whole = Collected::new(&[]);
        whole.read_file(&kept, &Silent);
        assert_eq!(held(&joined).replace("kept.jsonl", "e.jsonl"), held(&whole).replace("kept.jsonl", "e.jsonl"));
    }

    /// Past the 65,535th model name a piece's numbering overflows where the file's would not
    /// (or the other way): such a file is read whole.
    #[test]
    fn a_file_of_too_many_model_names_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("models.jsonl");
        let line = |k: usize, model: &str| {
            format!(
                r#"{{"event.name":"api_request","event.timestamp":{},"session.id":"s","model":"{model}","output_tokens":5}}"#,
                1_780_000_000_000u64 + k as u64
            )
        };
        let mut text: String = (0..70_000).map(|k| line(k, "claude-sonnet-5") + "\n").collect();
        text.extend((0..66_000).map(|k| line(k, &format!("m{k}")) + "\n"));
        std::fs::write(&p, &text).unwrap();
        assert!(read_from(0, &p, 2, &[], &Silent).is_none());
        // Fewer names: read in pieces.
        std::fs::write(&p, &text[..text.len() / 2]).unwrap();
        assert!(read_from(0, &p, 2, &[], &Silent).is_some());
    }

    /// A file too small, gzip or CSV is read whole.
    #[test]
    fn small_gzip_and_csv_files_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("e.jsonl");
        std::fs::write(&plain, export(40)).unwrap();
        assert!(read_from(0, &plain, 2, &[], &Silent).is_some());
        assert!(read_from(1 << 20, &plain, 2, &[], &Silent).is_none());
        assert!(read_from(0, &plain, 1, &[], &Silent).is_none());
        let gz = dir.path().join("e.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, export(40).as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert!(read_from(0, &gz, 2, &[], &Silent).is_none());
        let csv = dir.path().join("e.csv");
        std::fs::write(&csv, "event.name,session.id\napi_request,s\n".repeat(20)).unwrap();
        assert!(read_from(0, &csv, 2, &[], &Silent).is_none());
    }

    /// The starts of the pieces of `text` cut `n` ways.
    fn starts(text: &[u8], n: usize) -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        std::fs::write(&p, text).unwrap();
        line_starts(&mut File::open(&p).unwrap(), text.len() as u64, n).unwrap()
    }

    /// Cuts fall on line starts: right after a line break at or after each even cut, none
    /// twice, none at the end; a cut inside a line moves to the next line's start.
    #[test]
    fn pieces_start_at_lines() {
        // 10 bytes a line: "aaaaaaaaa\n" …
        let text: Vec<u8> = (0..10).flat_map(|k| [vec![b'a' + k; 9], vec![b'\n']].concat()).collect();
        // Cuts at 50: the 6th line's start exactly (byte 49 is a line break).
        assert_eq!(starts(&text, 2), [0, 50]);
        // Cuts at 33 and 66: inside lines 4 and 7, moved to 40 and 70.
        assert_eq!(starts(&text, 3), [0, 40, 70]);
        // More pieces than lines: every line start at most once.
        assert_eq!(starts(&text[..20], 8), [0, 10]);
        // One line: no cut.
        assert_eq!(starts(&[b'x'; 100], 4), [0]);
        // A cut in the last line, which has no line break: no start after it; before it, its
        // start.
        assert_eq!(starts(b"ab\ncdefghijklmnop", 2), [0]);
        assert_eq!(starts(b"abcdefgh\nij", 2), [0, 9]);
    }
}
