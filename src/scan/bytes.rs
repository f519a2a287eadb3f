//! One pass over a line's bytes, 64 at a time: where the line ends, its first control byte
//! JSON does not allow, and where its non-ASCII bytes start (so that UTF-8 is checked only
//! from there). The reader finds line ends with it ([`super::reader`]), and the fast path's
//! line check uses what it found ([`super::prefilter::check_scanned`]).

/// The bytes the block readers of a line take at a time ([`super::toplevel`], the string
/// scanner of `scan::line::skim`).
pub(crate) const BLOCK: usize = 64;

/// `f` of the first [`BLOCK`] bytes of `b`, the bytes past its end read as zeros (a line's
/// last, short block).
#[inline(always)]
pub(crate) fn with_block<T>(b: &[u8], f: impl FnOnce(&[u8; BLOCK]) -> T) -> T {
    if let Some(block) = b.first_chunk::<BLOCK>() {
        return f(block);
    }
    let mut padded = [0u8; BLOCK];
    padded[..b.len()].copy_from_slice(b);
    f(&padded)
}

/// What a pass over a line's bytes found, as offsets from the line's start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineFacts {
    /// The first bad control byte.
    pub control: Option<usize>,
    /// Where the UTF-8 check starts: the start of the first 64-byte block that has a non-ASCII
    /// byte (the bytes before it are ASCII, so it is a character boundary). `None` while
    /// every byte seen is ASCII.
    pub non_ascii_from: Option<usize>,
}

impl LineFacts {
    /// The facts of the line without its first `n` bytes, which hold no control byte (a
    /// byte-order mark).
    pub fn without_prefix(self, n: usize) -> Self {
        Self {
            control: self.control.map(|c| c.saturating_sub(n)),
            non_ascii_from: self.non_ascii_from.map(|a| a.saturating_sub(n)),
        }
    }
}

/// Scans `line[from..]` up to its first `\n`, adding what it passes to `facts`, and returns
/// the `\n`'s offset (`None`: not in `line`; `facts` then cover all of it).
///
/// The reader finds each line's end with it, so that finding the end and the line's check
/// are one pass over the bytes. `from` resumes a scan after more of the line was read (the
/// bytes before it were scanned into `facts`).
///
/// 64 bytes at a time, as a mask of the bytes below 0x20 (LF, tab, CR and the bad control
/// bytes) and a flag for any byte above 0x7f: with AVX2 where the processor has it, SSE2
/// otherwise (8-byte words on other processors). Only the set bits of the mask are looked at
/// one by one, and most blocks have none.
pub fn scan_line(line: &[u8], from: usize, facts: &mut LineFacts) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        return unsafe { scan_line_avx2(line, from, facts) };
    }
    scan_line_with(line, from, facts, block_masks)
}

/// The facts of all of `bytes`, newlines included (as whitespace).
pub fn facts_of(bytes: &[u8]) -> LineFacts {
    let mut facts = LineFacts::default();
    let mut from = 0;
    while let Some(nl) = scan_line(bytes, from, &mut facts) {
        from = nl + 1;
    }
    facts
}

/// [`scan_line`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
#[target_feature(enable = "avx2")]
unsafe fn scan_line_avx2(line: &[u8], from: usize, facts: &mut LineFacts) -> Option<usize> {
    scan_line_with(line, from, facts, |block| {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_max_epu8, _mm256_movemask_epi8, _mm256_or_si256,
            _mm256_set1_epi8,
        };
        assert!(block.len() >= 64);
        // SAFETY: AVX2 is enabled for this function (its caller checked the processor); the
        // two unaligned 32-byte loads stay inside the 64 bytes asserted above.
        unsafe {
            let limit = _mm256_set1_epi8(0x1f);
            let p = block.as_ptr().cast::<__m256i>();
            let (a, b) = (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)));
            // max(x, 0x1f) == 0x1f exactly when x <= 0x1f (unsigned).
            let low = |v: __m256i| _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(v, limit), limit)) as u32;
            (u64::from(low(a)) | u64::from(low(b)) << 32, _mm256_movemask_epi8(_mm256_or_si256(a, b)) != 0)
        }
    })
}

/// The loop of [`scan_line`], with the block test given: the mask of a 64-byte block's bytes
/// below 0x20, and whether it has one above 0x7f.
#[inline(always)]
fn scan_line_with(
    line: &[u8],
    from: usize,
    facts: &mut LineFacts,
    block_masks: impl Fn(&[u8]) -> (u64, bool),
) -> Option<usize> {
    // A byte below 0x20: the end, whitespace, or a bad control byte.
    // A control byte JSON never allows raw: all but tab, CR and LF (whitespace between tokens).
    let low = |i: usize, facts: &mut LineFacts| match line[i] {
        b'\n' => true,
        b'\t' | b'\r' => false,
        _ => {
            facts.control.get_or_insert(i);
            false
        }
    };
    let mut base = from;
    while base + 64 <= line.len() {
        let (mut mask, high) = block_masks(&line[base..base + 64]);
        if high && facts.non_ascii_from.is_none() {
            facts.non_ascii_from = Some(base);
        }
        while mask != 0 {
            let i = base + mask.trailing_zeros() as usize;
            if low(i, facts) {
                return Some(i);
            }
            mask &= mask - 1;
        }
        base += 64;
    }
    for (i, &b) in line.iter().enumerate().skip(base) {
        if b < 0x20 && low(i, facts) {
            return Some(i);
        }
        if b > 0x7f && facts.non_ascii_from.is_none() {
            facts.non_ascii_from = Some(i);
        }
    }
    None
}

/// [`scan_line_with`]'s block test with SSE2 (part of the x86-64 baseline).
#[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
#[inline(always)]
fn block_masks(block: &[u8]) -> (u64, bool) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    assert!(block.len() >= 64);
    // SAFETY: SSE2 is part of the x86-64 baseline; the four unaligned 16-byte loads stay
    // inside the 64 bytes asserted above.
    unsafe {
        let limit = _mm_set1_epi8(0x1f);
        let p = block.as_ptr().cast::<__m128i>();
        let (a, b, c, d) =
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)), _mm_loadu_si128(p.add(2)), _mm_loadu_si128(p.add(3)));
        // max(x, 0x1f) == 0x1f exactly when x <= 0x1f (unsigned).
        let low = |v: __m128i| u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit)) as u16);
        // The top bit of each byte, OR-ed over the four loads.
        let any_high = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
        (low(a) | low(b) << 16 | low(c) << 32 | low(d) << 48, _mm_movemask_epi8(any_high) != 0)
    }
}

#[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
fn block_masks(block: &[u8]) -> (u64, bool) {
    let mask = block.iter().enumerate().fold(0u64, |m, (i, &b)| m | u64::from(b < 0x20) << i);
    (mask, !block.is_ascii())
}

#[cfg(test)]
pub(super) fn is_bad_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r'
}

/// The end and facts of all of `v` with the SSE2 blocks, whatever the processor has.
#[cfg(test)]
pub(super) fn sse2_scan(v: &[u8]) -> (Option<usize>, LineFacts) {
    let mut facts = LineFacts::default();
    (scan_line_with(v, 0, &mut facts, block_masks), facts)
}

/// The same with the blocks [`scan_line`] chooses (AVX2 where the processor has it).
#[cfg(test)]
pub(super) fn chosen_scan(v: &[u8]) -> (Option<usize>, LineFacts) {
    let mut facts = LineFacts::default();
    (scan_line(v, 0, &mut facts), facts)
}

/// A xorshift generator of test data: the same seed, the same sequence.
#[cfg(test)]
pub(crate) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::prefilter;

    #[test]
    fn control_bytes_are_found_at_every_position() {
        for len in [0usize, 1, 31, 32, 33, 64, 100] {
            for at in 0..len {
                for bad in [0u8, 1, 0x1f] {
                    let mut v = vec![b'a'; len];
                    v[at] = bad;
                    assert_eq!(facts_of(&v).control, Some(at), "len {len} at {at} byte {bad}");
                }
                let mut v = "é\t\r\n".repeat(len).into_bytes();
                assert_eq!(facts_of(&v).control, None);
                v.push(0x7f);
                v.push(0xff);
                assert_eq!(facts_of(&v).control, None);
            }
        }
    }

    /// `scan_line` against the slow way, and resumed at every point a read could end.
    #[test]
    fn scan_line_finds_the_end_and_the_facts_before_it() {
        let len = 140;
        for nl in [None, Some(0), Some(1), Some(63), Some(64), Some(65), Some(100), Some(139)] {
            let odd_bytes = [
                (0x01u8, 5),
                (0x1f, 64),
                (b'\t', 70),
                (0xc3, 3),
                (0xc3, 66),
                (0xc3, 130),
                (0x80, 2),
                (0x80, 131),
                (b'a', 0),
            ];
            for (odd, at) in odd_bytes {
                let mut v = vec![b'a'; len];
                v[at] = odd;
                v[10] = b'\r';
                if let Some(n) = nl {
                    v[n] = b'\n';
                }
                // A second line, whose bytes must not count for the first.
                v.extend_from_slice(b"\x02\xc3\xa9\n");
                let end = v.iter().position(|&b| b == b'\n').unwrap();
                let line = &v[..end];
                let mut facts = LineFacts::default();
                assert_eq!(scan_line(&v, 0, &mut facts), Some(end), "nl {nl:?}, {odd:#x} at {at}");
                assert_eq!(facts.control, line.iter().position(|&b| is_bad_control(b)), "nl {nl:?}, {odd:#x} at {at}");
                let first_high = line.iter().position(|&b| b > 0x7f);
                match facts.non_ascii_from {
                    None => assert_eq!(first_high, None),
                    Some(k) => assert!(k <= end && line[..k].is_ascii() && first_high.is_none_or(|h| k <= h)),
                }
                let mut sse2 = LineFacts::default();
                assert_eq!(scan_line_with(&v, 0, &mut sse2, block_masks), Some(end));
                assert_eq!(sse2, facts);
                // Resumed where a read ended: the same end and verdict.
                for cut in 0..=end {
                    let mut resumed = LineFacts::default();
                    assert_eq!(scan_line(&v[..cut], 0, &mut resumed), None);
                    assert_eq!(scan_line(&v, cut, &mut resumed), Some(end));
                    assert_eq!(resumed.control, facts.control, "cut at {cut}");
                    assert_eq!(
                        prefilter::check_scanned(line, resumed).map_err(|e| e.to_string()),
                        prefilter::check(line).map_err(|e| e.to_string()),
                        "cut at {cut}"
                    );
                }
            }
        }
    }
}
