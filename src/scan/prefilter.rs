//! The fast path's test of a transcript line: can it hold anything the report counts?
//!
//! Only three kinds of line do: `"type":"assistant"` lines (responses and final errors),
//! `"subtype":"api_error"` lines (retries) and the meta `Output token limit hit.` prompt. A
//! line with none of those byte strings is not parsed; it is only checked, in one pass each
//! for UTF-8 and control bytes, for the ways real files break: invalid UTF-8, NUL or other
//! control bytes (a crash that left zeros), and a line that does not start with `{` and end
//! with `}` (a write cut short). A line broken only in its middle passes this check: the full
//! parse (`--full-parse`) counts it as malformed, the fast path does not. Candidate lines are
//! parsed in full either way, so the two paths count the same responses and errors.
//!
//! Very long lines (above [`MAX_PARSE_LINE`](super::reader::MAX_PARSE_LINE)) are never held
//! whole: [`Streaming`] applies the same checks chunk by chunk.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::line::{LineError, RECOVERY_PREFIX};

/// Byte strings a countable line must contain. JSON could spell them with `\u` escapes;
/// Claude Code never does.
const NEEDLES: [&str; 3] = ["\"assistant\"", "\"api_error\"", RECOVERY_PREFIX];
/// The longest needle's length, minus one: the bytes carried across chunks.
const CARRY: usize = RECOVERY_PREFIX.len() - 1;

/// One SIMD substring search (memchr's memmem) per needle. aho-corasick's Teddy, one pass for
/// all three, measured the same on the benchmark corpus and is not available everywhere.
static FINDERS: LazyLock<[Finder<'static>; 3]> = LazyLock::new(|| NEEDLES.map(Finder::new));

/// Whether the line may hold a response, an error or a recovery prompt.
pub fn is_candidate(line: &[u8]) -> bool {
    FINDERS.iter().any(|f| f.find(line).is_some())
}

/// The offset of the first invalid UTF-8 byte: `simdutf8` for the fast yes, `std` for where.
fn utf8_error(bytes: &[u8]) -> Option<std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) => None,
        Err(_) => std::str::from_utf8(bytes).err(),
    }
}

/// A control byte JSON never allows raw (tab, CR and LF may be whitespace between tokens).
fn is_bad_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r'
}

/// Index of the first bad control byte. Blocks of 64 bytes are tested for any byte below
/// 0x20 at once (SSE2 on x86-64, 8-byte words elsewhere); only a block that has one (tabs
/// included) is looked at byte by byte.
fn bad_control_at(bytes: &[u8]) -> Option<usize> {
    let exact = |b: &[u8]| b.iter().position(|&b| is_bad_control(b));
    let mut base = 0;
    while base + 64 <= bytes.len() {
        let block = &bytes[base..base + 64];
        if has_byte_below_0x20(block)
            && let Some(i) = exact(block)
        {
            return Some(base + i);
        }
        base += 64;
    }
    exact(&bytes[base..]).map(|i| base + i)
}

/// Whether a 64-byte block has a byte below 0x20.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_byte_below_0x20(block: &[u8]) -> bool {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(block.len() >= 64);
    // SAFETY: SSE2 is part of the x86-64 baseline; the four unaligned 16-byte loads stay
    // inside the 64 bytes asserted above.
    unsafe {
        let limit = _mm_set1_epi8(0x1f);
        let p = block.as_ptr().cast::<__m128i>();
        // max(x, 0x1f) == 0x1f exactly when x <= 0x1f (unsigned).
        let low = |v: __m128i| _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
        let any = _mm_or_si128(
            _mm_or_si128(low(_mm_loadu_si128(p)), low(_mm_loadu_si128(p.add(1)))),
            _mm_or_si128(low(_mm_loadu_si128(p.add(2))), low(_mm_loadu_si128(p.add(3)))),
        );
        _mm_movemask_epi8(any) != 0
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn has_byte_below_0x20(block: &[u8]) -> bool {
    const LOW: u64 = 0x2020_2020_2020_2020;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when some byte of x is below 0x20.
    let below = |x: u64| x.wrapping_sub(LOW) & !x & HIGH;
    block.chunks_exact(8).fold(0, |acc, w| acc | below(u64::from_le_bytes(w.try_into().expect("8 bytes")))) != 0
}

/// The first of an invalid-UTF-8 and a control-byte position (relative to `base`).
fn earliest(utf8: Option<usize>, control: Option<usize>, base: usize) -> Option<LineError> {
    match (utf8, control) {
        (Some(u), Some(c)) if c < u => Some(LineError::Control(base + c)),
        (Some(u), _) => Some(LineError::Utf8(base + u)),
        (None, Some(c)) => Some(LineError::Control(base + c)),
        (None, None) => None,
    }
}

/// The fast check of a line that is not a candidate (already without its line ending).
/// `Ok` means it looks like a whole JSON object (or is blank).
pub fn check(line: &[u8]) -> Result<(), LineError> {
    let utf8 = utf8_error(line).map(|e| e.valid_up_to());
    if let Some(e) = earliest(utf8, bad_control_at(line), 0) {
        return Err(e);
    }
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Ok(());
    }
    if !trimmed.starts_with(b"{") || !trimmed.ends_with(b"}") {
        return Err(LineError::Unframed);
    }
    Ok(())
}

/// The same facts as [`check`] and [`is_candidate`], gathered over a line fed in chunks.
#[derive(Debug, Default)]
pub struct Streaming {
    pub bytes: u64,
    candidate: bool,
    /// The first invalid UTF-8 or control byte's offset, once found.
    error: Option<LineError>,
    first: Option<u8>,
    last: Option<u8>,
    /// Bytes of an incomplete UTF-8 sequence at the end of the previous chunk.
    utf8_tail: Vec<u8>,
    /// The previous chunk's last bytes, so a needle split across chunks is still found.
    window: Vec<u8>,
}

impl Streaming {
    pub fn feed(&mut self, chunk: &[u8]) {
        let offset = self.bytes;
        self.bytes += chunk.len() as u64;
        if chunk.is_empty() {
            return;
        }
        if !self.candidate {
            let mut w = std::mem::take(&mut self.window);
            let take = chunk.len().min(CARRY);
            w.extend_from_slice(&chunk[..take]);
            self.candidate = is_candidate(&w) || is_candidate(chunk);
            // The last CARRY bytes seen so far.
            if chunk.len() >= CARRY {
                w.clear();
                w.extend_from_slice(&chunk[chunk.len() - CARRY..]);
            } else {
                w.drain(..w.len().saturating_sub(CARRY));
            }
            self.window = w;
        }
        if let Some(&b) = chunk.iter().find(|b| !b.is_ascii_whitespace())
            && self.first.is_none()
        {
            self.first = Some(b);
        }
        if let Some(&b) = chunk.iter().rev().find(|b| !b.is_ascii_whitespace()) {
            self.last = Some(b);
        }
        if self.error.is_some() {
            return;
        }
        // UTF-8: first complete the character the previous chunk ended inside, then the rest.
        let control = bad_control_at(chunk);
        let mut skipped = 0usize;
        if !self.utf8_tail.is_empty() {
            let had = self.utf8_tail.len();
            // The tail starts with a lead byte (std reports incomplete sequences only so).
            let width: usize = match self.utf8_tail[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = width.saturating_sub(had).min(chunk.len());
            let mut joined = std::mem::take(&mut self.utf8_tail);
            joined.extend_from_slice(&chunk[..take]);
            let tail_at = offset as usize - had;
            match std::str::from_utf8(&joined) {
                Ok(_) => skipped = take,
                // Still incomplete: the chunk was shorter than the character.
                Err(e) if e.error_len().is_none() => {
                    self.utf8_tail = joined;
                    self.error = earliest(None, control, offset as usize);
                    return;
                }
                Err(_) => {
                    self.error = Some(LineError::Utf8(tail_at));
                    return;
                }
            }
        }
        let rest = &chunk[skipped..];
        let utf8 = match utf8_error(rest) {
            None => None,
            Some(e) if e.error_len().is_none() => {
                self.utf8_tail = rest[e.valid_up_to()..].to_vec();
                None
            }
            Some(e) => Some(skipped + e.valid_up_to()),
        };
        self.error = earliest(utf8, control, offset as usize);
    }

    /// Whether the whole line may hold something countable.
    pub fn candidate(&self) -> bool {
        self.candidate
    }

    /// The verdict of [`check`] for the whole line.
    pub fn finish(self) -> Result<(), LineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.utf8_tail.is_empty() {
            return Err(LineError::Utf8((self.bytes as usize).saturating_sub(self.utf8_tail.len())));
        }
        match (self.first, self.last) {
            (None, _) => Ok(()),
            (Some(b'{'), Some(b'}')) => Ok(()),
            _ => Err(LineError::Unframed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(line: &[u8], chunk: usize) -> (bool, Result<(), LineError>) {
        let mut s = Streaming::default();
        for c in line.chunks(chunk.max(1)) {
            s.feed(c);
        }
        assert_eq!(s.bytes, line.len() as u64);
        (s.candidate(), s.finish())
    }

    #[test]
    fn candidates_are_the_three_kinds() {
        assert!(is_candidate(br#"{"type":"assistant","message":{}}"#));
        assert!(is_candidate(br#"{"type":"system","subtype":"api_error"}"#));
        assert!(is_candidate(
            br#"{"type":"user","isMeta":true,"message":{"content":"Output token limit hit. Resume"}}"#
        ));
        assert!(!is_candidate(br#"{"type":"user","message":{"role":"user","content":"assistant api_error"}}"#));
    }

    #[test]
    fn control_bytes_are_found_at_every_position() {
        for len in [0usize, 1, 31, 32, 33, 64, 100] {
            for at in 0..len {
                for bad in [0u8, 1, 0x1f] {
                    let mut v = vec![b'a'; len];
                    v[at] = bad;
                    assert_eq!(bad_control_at(&v), Some(at), "len {len} at {at} byte {bad}");
                }
                let mut v = "é\t\r\n".repeat(len).into_bytes();
                assert_eq!(bad_control_at(&v), None);
                v.push(0x7f);
                v.push(0xff);
                assert_eq!(bad_control_at(&v), None);
            }
        }
    }

    #[test]
    fn check_catches_how_files_break() {
        assert!(check(b"").is_ok());
        assert!(check(b"  \t").is_ok());
        assert!(check(br#"{"type":"user"}"#).is_ok());
        assert!(matches!(check(b"{\"a\":\"\xff\"}"), Err(LineError::Utf8(6))));
        assert!(matches!(check(&[0u8; 64]), Err(LineError::Control(0))));
        assert!(matches!(check(b"{\"a\":\"x\x00y\"}"), Err(LineError::Control(7))));
        assert!(matches!(check(br#"{"type":"user","message":{"#), Err(LineError::Unframed)));
        assert!(matches!(check(b"[1,2]"), Err(LineError::Unframed)));
        // Broken only in the middle: passes (the documented limit of the fast path).
        assert!(check(br#"{"a":1,,"b":2}"#).is_ok());
    }

    #[test]
    fn streaming_agrees_with_the_whole_line_checks_at_every_chunk_size() {
        let lines: [&[u8]; 11] = [
            br#"{"type":"user","message":{"content":"caf\xc3\xa9 \xe2\x86\x92 ok"}}"#,
            b"{\"type\":\"user\",\"message\":\"\xe2\x86\"}",
            b"{\"x\":\"\x00\"}",
            br#"{"type":"user","message":{"content":"Output token limit hit. go"}}"#,
            br#"  {"type":"system","subtype":"api_error"}  "#,
            br#"{"cut":"#,
            b"",
            b"{\"a\":\"\xf0\x9f\x98\x80\"}\xe2",
            // Found by the fuzzer: a complete character, then an incomplete one, across chunks.
            b"\n5oi\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef",
            b"\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80\xc3",
            b"ab\xe2\x86\x92\xe2\x86",
        ];
        for line in lines {
            let whole = (is_candidate(line), check(line).map_err(|e| e.to_string()));
            for chunk in 1..=line.len().max(1) {
                let (c, r) = streamed(line, chunk);
                assert_eq!(
                    (c, r.map_err(|e| e.to_string())),
                    whole,
                    "{:?} in chunks of {chunk}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }
}
