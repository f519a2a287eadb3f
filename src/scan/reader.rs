//! Splits a file into lines with bounded memory.
//!
//! Lines are found with `memchr` in one reusable read buffer and handed out in place. A line
//! longer than the buffer is assembled in a second buffer up to [`MAX_PARSE_LINE`]; beyond
//! that it is never held whole: its chunks go to [`Streaming`], which gathers what the
//! report needs to know about such a line. Memory per reader is therefore at most about
//! `READ_BUFFER + MAX_PARSE_LINE`, whatever the size of the file or its longest line.
//!
//! Files are read with `read`, not mapped: Claude Code may truncate a transcript while it is
//! being scanned, which would kill a process reading a mapping (SIGBUS).

use std::io::{self, Read};

use super::prefilter::Streaming;

/// The read buffer: small enough to stay in a core's L2 cache while its lines are checked.
pub const READ_BUFFER: usize = 256 * 1024;
/// Lines up to this size are held whole and may be parsed; longer ones are streamed.
pub const MAX_PARSE_LINE: usize = 8 * 1024 * 1024;

/// One line, without its `\n`.
pub enum Line<'a> {
    Whole(&'a [u8]),
    /// Longer than [`MAX_PARSE_LINE`]: only what [`Streaming`] gathered.
    TooLong(Streaming),
}

/// A read error after `line` complete lines.
#[derive(Debug)]
pub struct ReadError {
    pub line: u64,
    pub error: io::Error,
}

/// Where the line being assembled lives when it outgrows the read buffer.
enum Spill {
    None,
    Held(Vec<u8>),
    Streamed(Streaming),
}

impl Spill {
    fn push(&mut self, bytes: &[u8], held: &mut Vec<u8>) {
        match self {
            Spill::None => {
                held.clear();
                held.extend_from_slice(bytes);
                *self = Spill::Held(std::mem::take(held));
            }
            Spill::Held(v) if v.len() + bytes.len() > MAX_PARSE_LINE => {
                let mut s = Streaming::default();
                s.feed(v);
                s.feed(bytes);
                *self = Spill::Streamed(s);
            }
            Spill::Held(v) => v.extend_from_slice(bytes),
            Spill::Streamed(s) => s.feed(bytes),
        }
    }
}

/// Calls `on_line(number, line)` for every line of `src` (the last one may lack its `\n`) and
/// `progress(bytes)` after every read. Returns the bytes read.
pub fn for_each_line(
    mut src: impl Read,
    mut progress: impl FnMut(u64),
    mut on_line: impl FnMut(u64, Line<'_>),
) -> Result<u64, ReadError> {
    let mut buf = vec![0u8; READ_BUFFER];
    // Reused for lines longer than the buffer.
    let mut held: Vec<u8> = Vec::new();
    let mut spill = Spill::None;
    let (mut start, mut end, mut scanned) = (0usize, 0usize, 0usize);
    let mut line_no = 0u64;
    let mut total = 0u64;
    loop {
        if let Some(i) = memchr::memchr(b'\n', &buf[scanned..end]) {
            let nl = scanned + i;
            line_no += 1;
            emit(&mut spill, &mut held, &buf[start..nl], line_no, &mut on_line);
            start = nl + 1;
            scanned = start;
            continue;
        }
        // No newline in buf[start..end]: keep the partial line and read more.
        if start == end {
            (start, end) = (0, 0);
        } else if !matches!(spill, Spill::None) || (start == 0 && end == buf.len()) {
            spill.push(&buf[start..end], &mut held);
            (start, end) = (0, 0);
        } else if end == buf.len() {
            buf.copy_within(start..end, 0);
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
            if start < end || !matches!(spill, Spill::None) {
                line_no += 1;
                emit(&mut spill, &mut held, &buf[start..end], line_no, &mut on_line);
            }
            return Ok(total);
        }
        total += n as u64;
        progress(n as u64);
        end += n;
    }
}

fn emit(spill: &mut Spill, held: &mut Vec<u8>, rest: &[u8], line_no: u64, on_line: &mut impl FnMut(u64, Line<'_>)) {
    match std::mem::replace(spill, Spill::None) {
        Spill::None => on_line(line_no, Line::Whole(rest)),
        mut s => {
            s.push(rest, held);
            match s {
                Spill::Held(v) => {
                    on_line(line_no, Line::Whole(&v));
                    // Kept for the next long line (at most MAX_PARSE_LINE).
                    *held = v;
                }
                Spill::Streamed(st) => on_line(line_no, Line::TooLong(st)),
                Spill::None => unreachable!("push never leaves None"),
            }
        }
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

    fn lines(data: &[u8], step: usize) -> Vec<(u64, Result<Vec<u8>, u64>)> {
        let mut v = Vec::new();
        let total = for_each_line(
            Trickle(data, step),
            |_| {},
            |n, l| {
                v.push((
                    n,
                    match l {
                        Line::Whole(b) => Ok(b.to_vec()),
                        Line::TooLong(s) => Err(s.bytes),
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
    fn lines_longer_than_the_buffer_are_assembled() {
        let long = vec![b'x'; READ_BUFFER * 3 + 17];
        let mut data = b"{}\n".to_vec();
        data.extend_from_slice(&long);
        data.extend_from_slice(b"\n{\"c\":3}\n");
        for step in [READ_BUFFER, 4096, READ_BUFFER + 1] {
            let got = lines(&data, step);
            assert_eq!(got.len(), 3);
            assert_eq!(got[1], (2, Ok(long.clone())), "step {step}");
            assert_eq!(got[2], (3, Ok(b"{\"c\":3}".to_vec())));
        }
    }

    #[test]
    fn lines_above_the_parse_limit_are_streamed_not_held() {
        let mut data = vec![b'{'; MAX_PARSE_LINE + 5];
        data.extend_from_slice(b"\n{}");
        let got = lines(&data, READ_BUFFER);
        assert_eq!(got, vec![(1, Err(MAX_PARSE_LINE as u64 + 5)), (2, Ok(b"{}".to_vec()))]);
        // Without a final newline too.
        let got = lines(&data[..MAX_PARSE_LINE + 5], 100_000);
        assert_eq!(got, vec![(1, Err(MAX_PARSE_LINE as u64 + 5))]);
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
        let e = for_each_line(Fails(2), |_| {}, |_, _| {}).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
