//! Splits a file into lines with bounded memory.
//!
//! Lines are found in one reusable read buffer by [`bytes::scan_line`], which checks
//! their bytes on the way, and handed out in place with what it found. A line longer than the
//! buffer is never held: its chunks go through [`Streaming`], which gathers what the fast
//! path needs to know about it, and the caller gets its offset so that it can read the line
//! again in one piece if it must be parsed (a candidate up to [`MAX_PARSE_LINE`]). Memory per
//! reader is therefore the read buffer plus at most one candidate line, whatever the size of
//! the file or its longest line.
//!
//! Files are read with `read`, not mapped: Claude Code may truncate a transcript while it is
//! being scanned, which would kill a process reading a mapping (SIGBUS).

use std::io::{self, Read};

use super::bytes::{self, LineFacts};
use super::prefilter::Streaming;

/// The read buffer: small enough to stay in a core's L2 cache while its lines are checked.
pub const READ_BUFFER: usize = 256 * 1024;
/// Lines up to this size may be read again whole and parsed; longer ones are only streamed.
pub const MAX_PARSE_LINE: usize = 8 * 1024 * 1024;

/// One line, without its `\n`.
pub enum Line<'a> {
    /// The line, and what the search for its end found in it.
    Whole(&'a [u8], LineFacts),
    /// Longer than the read buffer: what [`Streaming`] gathered, and where the line starts
    /// in the file (its length is `streamed.bytes`).
    Long { streamed: Streaming, offset: u64 },
}

/// A read error after `line` complete lines.
#[derive(Debug)]
pub struct ReadError {
    pub line: u64,
    pub error: io::Error,
}

/// The read buffer, allocated once per reader thread and reused for every file.
pub struct Buffer(Vec<u8>);

impl Default for Buffer {
    fn default() -> Self {
        Self(vec![0; READ_BUFFER])
    }
}

/// Calls `on_line(number, line)` for every line of `src` (the last one may lack its `\n`) and
/// `progress(bytes)` after every read. Returns the bytes read.
pub fn for_each_line(
    mut src: impl Read,
    buffer: &mut Buffer,
    mut progress: impl FnMut(u64),
    mut on_line: impl FnMut(u64, Line<'_>),
) -> Result<u64, ReadError> {
    let buf = &mut buffer.0[..];
    // The line being streamed, and its offset, once it outgrew the buffer.
    let mut long: Option<(Streaming, u64)> = None;
    let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
    // File offset of buf[0].
    let mut base = 0u64;
    let mut line_no = 0u64;
    // What the search for the current line's end found in buf[start..scanned].
    let mut facts = LineFacts::default();
    let mut finish =
        |line_no: u64, rest: &[u8], facts: LineFacts, long: &mut Option<(Streaming, u64)>| match long.take() {
            None => on_line(line_no, Line::Whole(rest, facts)),
            Some((mut streamed, offset)) => {
                streamed.feed(rest);
                on_line(line_no, Line::Long { streamed, offset });
            }
        };
    loop {
        if let Some(i) = bytes::scan_line(&buf[start..end], scanned - start, &mut facts) {
            let nl = start + i;
            line_no += 1;
            finish(line_no, &buf[start..nl], std::mem::take(&mut facts), &mut long);
            start = nl + 1;
            scanned = start;
            continue;
        }
        // No newline in buf[start..end]: keep the partial line and read more.
        if start == end {
            base += end as u64;
            (start, end) = (0, 0);
        } else if long.is_some() || (start == 0 && end == buf.len()) {
            let (streamed, _) = long.get_or_insert_with(|| (Streaming::default(), base + start as u64));
            streamed.feed(&buf[start..end]);
            // A streamed line gets its facts from `Streaming`.
            facts = LineFacts::default();
            base += end as u64;
            (start, end) = (0, 0);
        } else if end == buf.len() {
            buf.copy_within(start..end, 0);
            base += start as u64;
            end -= start;
            start = 0;
        }
        scanned = end;
        let n = loop {
            match src.read(&mut buf[end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(ReadError { line: line_no, error }),
            }
        };
        if n == 0 {
            if start < end || long.is_some() {
                finish(line_no + 1, &buf[start..end], facts, &mut long);
            }
            return Ok(base + end as u64);
        }
        progress(n as u64);
        end += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns at most `step` bytes a call.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    type Got = Vec<(u64, Result<Vec<u8>, (u64, u64)>)>;

    fn lines(data: &[u8], step: usize) -> Got {
        let mut v = Vec::new();
        let total = for_each_line(
            Trickle(data, step),
            &mut Buffer::default(),
            |_| {},
            |n, l| {
                v.push((
                    n,
                    match l {
                        Line::Whole(b, _) => Ok(b.to_vec()),
                        Line::Long { streamed, offset } => Err((offset, streamed.bytes)),
                    },
                ))
            },
        )
        .unwrap();
        assert_eq!(total, data.len() as u64);
        v
    }

    #[test]
    fn splits_at_newlines_whatever_the_read_sizes() {
        let data = b"{\"a\":1}\n\n{\"b\":2}\r\nlast";
        let want = vec![
            (1, Ok(b"{\"a\":1}".to_vec())),
            (2, Ok(b"".to_vec())),
            (3, Ok(b"{\"b\":2}\r".to_vec())),
            (4, Ok(b"last".to_vec())),
        ];
        for step in [1, 2, 3, 7, 1000] {
            assert_eq!(lines(data, step), want, "step {step}");
        }
        assert!(lines(b"", 10).is_empty());
    }

    #[test]
    fn lines_longer_than_the_buffer_are_streamed_with_their_offset() {
        let long = vec![b'x'; READ_BUFFER * 3 + 17];
        let mut data = b"{}\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\n{\"c\":3}\n");
        for step in [READ_BUFFER, 4096, READ_BUFFER + 1, 100_000] {
            let got = lines(&data, step);
            assert_eq!(got.len(), 3);
            assert_eq!(got[1], (2, Err((3, long.len() as u64))), "step {step}");
            assert_eq!(got[2], (3, Ok(b"{\"c\":3}".to_vec())));
        }
        // A long last line without a newline.
        let got = lines(&data[..3 + long.len()], 100_000);
        assert_eq!(got[1], (2, Err((3, long.len() as u64))));
        // A line that only straddles a buffer boundary is whole.
        let mut data = vec![b'a'; READ_BUFFER - 10];
        data.push(b'\n');
        data.extend_from_slice(&[b'b'; 100]);
        data.push(b'\n');
        let got = lines(&data, READ_BUFFER);
        assert_eq!(got[1], (2, Ok(vec![b'b'; 100])));
    }

    #[test]
    fn a_read_error_names_the_line_it_stopped_after() {
        struct Fails(u8);
        impl Read for Fails {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                self.0 -= 1;
                out[..3].copy_from_slice(b"{}\n");
                Ok(3)
            }
        }
        let e = for_each_line(Fails(2), &mut Buffer::default(), |_| {}, |_, _| {}).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
