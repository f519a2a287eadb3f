//! The line parser, the classifier, the fast path's checks and the line reader on arbitrary
//! bytes: no panic, and the fast path never disagrees with the parse where it must not: a
//! line the parse reads as countable is a candidate, and a user line left unparsed has the
//! time the parse reads.
#![no_main]

use std::io::Read;

use ccdoctor::scan::classify::classify;
use ccdoctor::scan::{line, prefilter, reader};
use libfuzzer_sys::fuzz_target;

/// Hands out the data in pieces of the sizes the data itself picks.
struct Pieces<'a>(&'a [u8], usize);

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(out.len()).min(1 + self.1 % 97);
        self.1 = self.1.wrapping_mul(31).wrapping_add(7);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    // The parser and the classifier take anything, and the fast path's reading of a line is
    // the plain serde_json one.
    let parsed = line::parse_plain(data);
    assert_eq!(
        format!("{:?}", line::parse(data).map_err(|e| e.to_string())),
        format!("{:?}", parsed.as_ref().map_err(|e| e.to_string())),
        "fast and plain readings differ"
    );
    let _ = classify(&String::from_utf8_lossy(data), data.first().map(|&b| u16::from(b) * 3), None);

    // A line the full parse reads must pass the fast check (the check may pass more), and a
    // line that holds something countable must be a candidate: what makes the fast path's
    // report equal to the full parse's.
    let checked = prefilter::check(data);
    if let Ok(record) = &parsed {
        assert!(checked.is_ok(), "fast check rejects a valid line: {checked:?}");
        // A user line that is not parsed has its time read as the parse reads it (the last
        // top-level `timestamp`), and a line of another class is nothing countable.
        match (record, prefilter::classify(data)) {
            (_, prefilter::Class::Candidate) | (line::Record::Other, prefilter::Class::Other) => {}
            (line::Record::User(env), prefilter::Class::User(time)) => assert_eq!(
                time,
                env.timestamp.as_deref().and_then(ccdoctor::time::parse_timestamp),
                "a user line's time"
            ),
            (record, class) => panic!("the fast path reads {class:?} where the parse reads {record:?}"),
        }
    }

    // Streaming the line in pieces gives the whole-line verdicts.
    let step = 1 + data.first().copied().unwrap_or(0) as usize;
    let mut s = prefilter::Streaming::default();
    for chunk in data.chunks(step) {
        s.feed(chunk);
    }
    assert_eq!(s.candidate(), prefilter::is_candidate(data));
    assert_eq!(s.finish().map_err(|e| e.to_string()), checked.map_err(|e| e.to_string()));

    // The reader splits any bytes, read in any pieces, into lines that join back to them, and
    // the facts its search for each line's end gathered give the whole-line check's verdict.
    let mut joined = Vec::new();
    let mut lines = 0u64;
    let total = reader::for_each_line(Pieces(data, step), &mut reader::Buffer::default(), |_| {}, |n, l| {
        lines += 1;
        assert_eq!(n, lines);
        if let reader::Line::Whole(b, facts) = l {
            assert_eq!(
                prefilter::check_scanned(b, facts).map_err(|e| e.to_string()),
                prefilter::check(b).map_err(|e| e.to_string())
            );
            joined.extend_from_slice(b);
            joined.push(b'\n');
        }
    })
    .unwrap();
    assert_eq!(total, data.len() as u64);
    if !data.is_empty() && !data.ends_with(b"\n") {
        joined.pop();
    }
    assert_eq!(joined, data);
});
