//! Where a line's top-level keys are, without parsing it: for the fast path's test of a line
//! ([`super::prefilter`]), which must read the line's `type` and a user line's `timestamp`
//! as JSON.parse does, the last of each at the top level, however many nested values write
//! keys of those names and wherever a key is written again.
//!
//! A key is found by searching for its quoted name (memchr's memmem), and only where that is
//! followed by a colon is its depth asked: [`Walk`] counts the brackets outside strings from
//! a point known to be at the top level, 64 bytes at a time (the quotes and backslashes of a
//! block found at once, as the hand-written reader finds them, strings told by a running
//! parity of the quotes no backslash escapes). It goes no further than the last key asked
//! about, and never over a byte twice: a line costs its length at most, whatever it holds.
//!
//! The line may be anything (it has not been parsed): on text that is not JSON the answers
//! mean nothing, but they are the same for the whole line ([`Walk`]) and for one read in
//! pieces ([`LaterType`], a byte-by-byte twin for lines too long to hold), which agree on
//! every input by construction: a backslash escapes the byte after it wherever it is, a quote
//! no backslash escapes opens or closes a string, a bracket outside a string opens or closes
//! a level.

use std::sync::LazyLock;

use memchr::memmem::Finder;

/// Marks the bytes that backslashes escape, block after block, without a loop over the
/// backslashes: the method of simdjson's `json_escape_scanner`. A backslash escapes the next
/// byte unless it is escaped itself, so in a run of backslashes every second one escapes,
/// counting from the run's start; a subtraction finds the runs' starts and their parity for
/// all runs of a block at once.
#[derive(Default, Clone, Copy)]
pub(crate) struct Escapes {
    /// 1 when the last byte of the previous block was an escaping backslash.
    pub(crate) next_is_escaped: u64,
}

impl Escapes {
    const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

    /// The escaped bytes of the block whose backslashes are `backslash`.
    pub(crate) fn next(&mut self, backslash: u64) -> u64 {
        if backslash == 0 {
            return std::mem::take(&mut self.next_is_escaped);
        }
        // A backslash escaped by the previous block's last byte starts nothing.
        let potential = backslash & !self.next_is_escaped;
        // Set on each escaping backslash and on the byte it escapes.
        let escape_and_code = (((potential << 1) | Self::ODD_BITS).wrapping_sub(potential)) ^ Self::ODD_BITS;
        let escaped = escape_and_code ^ (backslash | self.next_is_escaped);
        self.next_is_escaped = (escape_and_code & backslash) >> 63;
        escaped
    }
}

use crate::scan::bytes::BLOCK;

/// A bit per byte of a 64-byte block: quotes, backslashes, opening and closing brackets.
#[derive(Clone, Copy)]
struct Masks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

impl Masks {
    /// The masks of the first 64 bytes of `b` (bytes past its end count as none of these).
    #[inline(always)]
    fn of(b: &[u8]) -> Self {
        crate::scan::bytes::with_block(b, Self::of_block)
    }

    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    #[inline(always)]
    fn of_block(block: &[u8; BLOCK]) -> Self {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline; the four 16-byte loads lie inside the
        // 64-byte array.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            // `{` and `[` differ only in 0x20, as `}` and `]` do.
            let case = _mm_set1_epi8(0x20);
            let open = _mm_set1_epi8(b'{' as i8);
            let close = _mm_set1_epi8(b'}' as i8);
            let p = block.as_ptr().cast::<__m128i>();
            let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
            for k in 0..4 {
                let v = _mm_loadu_si128(p.add(k));
                let folded = _mm_or_si128(v, case);
                let bits = |x: __m128i| u64::from(_mm_movemask_epi8(x) as u16) << (16 * k);
                m.quote |= bits(_mm_cmpeq_epi8(v, quote));
                m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
                m.open |= bits(_mm_cmpeq_epi8(folded, open));
                m.close |= bits(_mm_cmpeq_epi8(folded, close));
            }
            m
        }
    }

    #[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
    fn of_block(block: &[u8; BLOCK]) -> Self {
        let mut m = Masks { quote: 0, backslash: 0, open: 0, close: 0 };
        for (i, &c) in block.iter().enumerate() {
            m.quote |= u64::from(c == b'"') << i;
            m.backslash |= u64::from(c == b'\\') << i;
            m.open |= u64::from(c == b'{' || c == b'[') << i;
            m.close |= u64::from(c == b'}' || c == b']') << i;
        }
        m
    }
}

/// The quotes and backslashes of a block (of [`Masks`], the half a string's inside needs).
#[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
#[inline(always)]
fn quotes_of_block(block: &[u8; BLOCK]) -> (u64, u64) {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    // SAFETY: SSE2 is part of the x86-64 baseline; the four 16-byte loads lie inside the
    // 64-byte array.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let p = block.as_ptr().cast::<__m128i>();
        let (mut q, mut b) = (0u64, 0u64);
        for k in 0..4 {
            let v = _mm_loadu_si128(p.add(k));
            q |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16) << (16 * k);
            b |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u16) << (16 * k);
        }
        (q, b)
    }
}

#[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
fn quotes_of_block(block: &[u8; BLOCK]) -> (u64, u64) {
    let m = Masks::of_block(block);
    (m.quote, m.backslash)
}

/// Each bit the parity of the bits at and below it.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// A block read: the quotes no backslash escapes, and the bytes inside strings (an opening
/// quote counts as inside, a closing one as outside).
fn strings(m: &Masks, escapes: &mut Escapes, inside_before: u64) -> (u64, u64) {
    let quotes = m.quote & !escapes.next(m.backslash);
    (quotes, prefix_xor(quotes) ^ inside_before)
}

/// The depth of a line's bytes, counted from a point at the top level (depth 1, outside a
/// string), asked at positions that only grow.
pub(crate) struct Walk<'a> {
    b: &'a [u8],
    /// The first byte not yet counted (a block's start).
    base: usize,
    /// The depth at `base`.
    depth: i64,
    /// All ones when `base` is inside a string.
    inside: u64,
    escapes: Escapes,
    /// The processor has AVX2: blocks are read 32 bytes at a time.
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    avx2: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(b: &'a [u8], from: usize) -> Self {
        Self {
            b,
            base: from,
            depth: 1,
            inside: 0,
            escapes: Escapes::default(),
            #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    /// Whether the byte at `p` is a quote that opens a string at the top level: there, a
    /// key of the line's own object. `p` must not be less than in the call before.
    pub(crate) fn opens_top_level_string(&mut self, p: usize) -> bool {
        debug_assert!(p >= self.base && p < self.b.len());
        #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
        if self.avx2 {
            // SAFETY: the processor has AVX2, checked in `new`.
            unsafe { self.advance_avx2(p) }
        } else {
            self.advance_with(p, Masks::of_block, quotes_of_block);
        }
        #[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
        self.advance_with(p, Masks::of_block, quotes_of_block);
        // The block holding `p`, read without moving on: a later `p` may lie in it too.
        let m = Masks::of(&self.b[self.base..]);
        let (quotes, inside) = strings(&m, &mut self.escapes.clone(), self.inside);
        let k = p - self.base;
        let below = (1u64 << k) - 1;
        let depth = self.depth + i64::from((m.open & !inside & below).count_ones())
            - i64::from((m.close & !inside & below).count_ones());
        quotes >> k & 1 == 1 && inside >> k & 1 == 1 && depth == 1
    }

    /// [`Self::advance_with`] compiled for AVX2.
    ///
    /// # Safety
    /// The processor must have AVX2.
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    #[target_feature(enable = "avx2")]
    unsafe fn advance_avx2(&mut self, p: usize) {
        use std::arch::x86_64::{
            __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8,
        };
        let bits = |lo: __m256i, hi: __m256i| {
            u64::from(_mm256_movemask_epi8(lo) as u32) | u64::from(_mm256_movemask_epi8(hi) as u32) << 32
        };
        self.advance_with(
            p,
            |block| {
                // SAFETY: AVX2 is enabled here; the two 32-byte loads lie inside the 64-byte
                // array.
                unsafe {
                    let ptr = block.as_ptr().cast::<__m256i>();
                    let (a, b) = (_mm256_loadu_si256(ptr), _mm256_loadu_si256(ptr.add(1)));
                    let is = |v: __m256i, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
                    // `{` and `[` differ only in 0x20, as `}` and `]` do.
                    let fold = |v: __m256i| _mm256_or_si256(v, _mm256_set1_epi8(0x20));
                    Masks {
                        quote: bits(is(a, b'"'), is(b, b'"')),
                        backslash: bits(is(a, b'\\'), is(b, b'\\')),
                        open: bits(is(fold(a), b'{'), is(fold(b), b'{')),
                        close: bits(is(fold(a), b'}'), is(fold(b), b'}')),
                    }
                }
            },
            |block| {
                // SAFETY: as above.
                unsafe {
                    let ptr = block.as_ptr().cast::<__m256i>();
                    let (a, b) = (_mm256_loadu_si256(ptr), _mm256_loadu_si256(ptr.add(1)));
                    let is = |v: __m256i, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
                    (bits(is(a, b'"'), is(b, b'"')), bits(is(a, b'\\'), is(b, b'\\')))
                }
            },
        );
    }

    /// Counts the whole blocks before the one holding `p`, with the block tests given: all of
    /// [`Masks`], and the quotes and backslashes alone.
    #[inline(always)]
    fn advance_with(
        &mut self,
        p: usize,
        masks: impl Fn(&[u8; BLOCK]) -> Masks,
        quotes: impl Fn(&[u8; BLOCK]) -> (u64, u64),
    ) {
        while p >= self.base + BLOCK {
            let block: &[u8; BLOCK] = self.b[self.base..self.base + BLOCK].try_into().expect("64 bytes");
            self.base += BLOCK;
            // Most of a long line lies inside strings: a block there whose quotes are all
            // escaped changes nothing but the escape carried into the next.
            let mut escapes = self.escapes;
            if self.inside != 0 {
                let (quote, backslash) = quotes(block);
                if quote & !escapes.next(backslash) == 0 {
                    self.escapes = escapes;
                    continue;
                }
                escapes = self.escapes;
            }
            let m = masks(block);
            let (_, inside) = strings(&m, &mut escapes, self.inside);
            self.escapes = escapes;
            self.inside = ((inside as i64) >> 63) as u64;
            self.depth += i64::from((m.open & !inside).count_ones()) - i64::from((m.close & !inside).count_ones());
        }
    }
}

const TYPE: &[u8] = b"\"type\"";
const TIMESTAMP: &[u8] = b"\"timestamp\"";
static TYPE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(TYPE));
static TIMESTAMP_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(TIMESTAMP));

/// Where the value of a key ends its name at `at` starts: after whitespace and a colon, and
/// the whitespace after it. `None` when no colon follows (the name is a string value).
pub(crate) fn value_after(b: &[u8], mut at: usize) -> Option<usize> {
    let ws = |b: &[u8], mut i: usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
            i += 1;
        }
        i
    };
    at = ws(b, at);
    (b.get(at) == Some(&b':')).then(|| ws(b, at + 1))
}

/// What [`read`] found: where the values of the last top-level `type` and `timestamp` keys
/// start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) kind: Option<usize>,
    pub(crate) timestamp: Option<usize>,
}

/// The top-level `type` and (when `times`) `timestamp` keys of `line` from `from`, a point at
/// the top level outside a string. With `stop_at_type`, the first top-level `type` ends the
/// search (the line is then parsed).
pub(crate) fn read(line: &[u8], from: usize, times: bool, stop_at_type: bool) -> Keys {
    let mut keys = Keys::default();
    let Some(rest) = line.get(from..) else { return keys };
    let mut types = overlapping(&TYPE_KEY, rest).map(|k| from + k).peekable();
    let mut stamps = overlapping(&TIMESTAMP_KEY, if times { rest } else { &[] }).map(|k| from + k).peekable();
    let mut walk = Walk::new(line, from);
    loop {
        // The next occurrence of either name, in the line's order.
        let (at, is_type) = match (types.peek(), stamps.peek()) {
            (Some(&t), Some(&s)) if t < s => (types.next(), true),
            (Some(_), None) => (types.next(), true),
            (_, Some(_)) => (stamps.next(), false),
            (None, None) => return keys,
        };
        let at = at.expect("peeked");
        let name = if is_type { TYPE.len() } else { TIMESTAMP.len() };
        let Some(value) = value_after(line, at + name) else { continue };
        if !walk.opens_top_level_string(at) {
            continue;
        }
        if is_type {
            keys.kind = Some(value);
            if stop_at_type {
                return keys;
            }
        } else {
            keys.timestamp = Some(value);
        }
    }
}

/// Every occurrence of the finder's needle in `hay`, overlapping ones too (`"type"type"`
/// holds two: the second may open a string where the first closed one).
fn overlapping<'h>(finder: &'h Finder<'static>, hay: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + finder.find(hay.get(from..)?)?;
        from = at + 1;
        Some(at)
    })
}

/// What starts at a position [`marks`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// `"type"`.
    Type,
    /// `"timestamp"`.
    Timestamp,
    /// A `\u00XX` escape of a printable character (`\u0073` for `s`), which could spell a
    /// needle or a key the searches do not see.
    Escape,
    /// Claude Code's recovery prompt ([`RECOVERY_PREFIX`](super::line::RECOVERY_PREFIX)).
    Recovery,
}

/// Calls `f` with each position of `hay` from `from` on where a [`Mark`] starts, in order,
/// until it returns `false`: one pass for what would be four searches. The pass looks for
/// the byte pairs they start with (`"t`, `\u`, `Ou`), 16 positions at a time, and checks
/// the rare positions found whole.
pub(crate) fn marks(hay: &[u8], from: usize, f: impl FnMut(usize, Mark) -> bool) {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        return unsafe { marks_avx2(hay, from, f) };
    }
    marks_with(hay, from, f, pairs_sse2_or_none)
}

/// [`marks`] compiled for AVX2: 32 positions at a time.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
#[target_feature(enable = "avx2")]
unsafe fn marks_avx2(hay: &[u8], from: usize, f: impl FnMut(usize, Mark) -> bool) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8,
    };
    let mut i = from;
    let mut f = f;
    // The loads reach two bytes past the 32 positions tested.
    while i + 34 <= hay.len() {
        // SAFETY: AVX2 is enabled here; the loads at i, i + 1 and i + 2 read 32 bytes each,
        // inside `hay` by the loop's condition.
        let mut found = unsafe {
            let a = _mm256_loadu_si256(hay.as_ptr().add(i).cast::<__m256i>());
            let b = _mm256_loadu_si256(hay.as_ptr().add(i + 1).cast::<__m256i>());
            let c = _mm256_loadu_si256(hay.as_ptr().add(i + 2).cast::<__m256i>());
            let is = |v: __m256i, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
            // `"ty` and `"ti` (far rarer in JSON than `"t`), `\u`, `Ou`.
            let keys =
                _mm256_and_si256(_mm256_and_si256(is(a, b'"'), is(b, b't')), _mm256_or_si256(is(c, b'y'), is(c, b'i')));
            let pairs =
                _mm256_or_si256(keys, _mm256_and_si256(_mm256_or_si256(is(a, b'\\'), is(a, b'O')), is(b, b'u')));
            _mm256_movemask_epi8(pairs) as u32
        };
        while found != 0 {
            if !check_mark(hay, i + found.trailing_zeros() as usize, &mut f) {
                return;
            }
            found &= found - 1;
        }
        i += 32;
    }
    marks_with(hay, i, f, pairs_sse2_or_none);
}

/// The mark at `p`, if one starts there (a pair of [`marks`] starts there): `f`'s answer,
/// else `true` (go on).
#[inline(always)]
fn check_mark(hay: &[u8], p: usize, f: &mut impl FnMut(usize, Mark) -> bool) -> bool {
    let rest = &hay[p..];
    let mark = match rest[0] {
        b'"' if rest.starts_with(TYPE) => Mark::Type,
        b'"' if rest.starts_with(TIMESTAMP) => Mark::Timestamp,
        b'\\' if rest.starts_with(b"\\u00") && rest.get(4).is_some_and(|c| (b'2'..=b'7').contains(c)) => Mark::Escape,
        b'O' if rest.starts_with(super::line::RECOVERY_PREFIX.as_bytes()) => Mark::Recovery,
        _ => return true,
    };
    f(p, mark)
}

/// The pairs of [`marks`] at the 16 positions from `i` (the bytes to `i + 17` must exist),
/// with SSE2; `None` where it is not built.
#[inline(always)]
fn pairs_sse2_or_none(hay: &[u8], i: usize) -> Option<u32> {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        debug_assert!(i + 17 <= hay.len());
        // SAFETY: SSE2 is part of the x86-64 baseline; the loads at i and i + 1 read 16 bytes
        // each, inside `hay` (the caller's condition).
        Some(unsafe {
            let a = _mm_loadu_si128(hay.as_ptr().add(i).cast::<__m128i>());
            let b = _mm_loadu_si128(hay.as_ptr().add(i + 1).cast::<__m128i>());
            let is = |v: __m128i, c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let pairs = _mm_or_si128(
                _mm_and_si128(is(a, b'"'), is(b, b't')),
                _mm_and_si128(_mm_or_si128(is(a, b'\\'), is(a, b'O')), is(b, b'u')),
            );
            _mm_movemask_epi8(pairs) as u32
        })
    }
    #[cfg(any(not(target_arch = "x86_64"), feature = "scalar"))]
    {
        let _ = (hay, i);
        None
    }
}

/// [`marks`] from `i`: 16 positions at a time where `pairs` tests them, then one by one.
#[inline(always)]
fn marks_with(
    hay: &[u8],
    from: usize,
    mut f: impl FnMut(usize, Mark) -> bool,
    pairs: impl Fn(&[u8], usize) -> Option<u32>,
) {
    let mut i = from;
    while i + 17 <= hay.len() {
        let Some(mut found) = pairs(hay, i) else { break };
        while found != 0 {
            if !check_mark(hay, i + found.trailing_zeros() as usize, &mut f) {
                return;
            }
            found &= found - 1;
        }
        i += 16;
    }
    while i < hay.len() {
        if matches!((hay[i], hay.get(i + 1)), (b'"', Some(b't')) | (b'\\' | b'O', Some(b'u')))
            && !check_mark(hay, i, &mut f)
        {
            return;
        }
        i += 1;
    }
}

/// [`read`]'s `type` for a line read in pieces (one too long to hold): whether a top-level
/// `type` key comes after the point it starts from, byte by byte, strings skipped with
/// memchr.
#[derive(Debug, Default, Clone)]
pub struct LaterType {
    depth: i64,
    inside: bool,
    escaped: bool,
    key: KeyMatch,
    pub found: bool,
}

#[derive(Debug, Default, Clone, Copy)]
enum KeyMatch {
    #[default]
    None,
    /// Inside a top-level string that opened at a quote: this many bytes of `type"` matched.
    Name(usize),
    /// After `"type"`: whitespace, then a colon.
    Colon,
}

impl LaterType {
    /// A search from a point at the top level outside a string.
    pub fn new() -> Self {
        Self { depth: 1, ..Self::default() }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() && !self.found {
            if self.inside && matches!(self.key, KeyMatch::None) {
                // Nothing in a string matters but the quote that ends it: what comes before
                // it, 64 bytes at a time, changes only whether the next byte is escaped.
                if let Some(block) = bytes.get(i..i + BLOCK) {
                    let (quote, backslash) = quotes_of_block(block.try_into().expect("64 bytes"));
                    let mut escapes = Escapes { next_is_escaped: u64::from(self.escaped) };
                    let escaped = escapes.next(backslash);
                    let ends = quote & !escaped;
                    if ends == 0 {
                        self.escaped = escapes.next_is_escaped == 1;
                        i += BLOCK;
                        continue;
                    }
                    // Up to the quote: its byte is not escaped.
                    let k = ends.trailing_zeros() as usize;
                    self.escaped = false;
                    i += k;
                } else if !self.escaped {
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(k) => i += k,
                        None => return,
                    }
                }
            }
            self.step(bytes[i]);
            i += 1;
        }
    }

    fn step(&mut self, b: u8) {
        let escaped = self.escaped;
        self.escaped = !escaped && b == b'\\';
        self.key = match self.key {
            KeyMatch::Name(k) if b == TYPE[1 + k] => {
                if 1 + k + 1 == TYPE.len() {
                    KeyMatch::Colon
                } else {
                    KeyMatch::Name(k + 1)
                }
            }
            KeyMatch::Colon if matches!(b, b' ' | b'\t' | b'\n' | b'\r') => KeyMatch::Colon,
            KeyMatch::Colon if b == b':' => {
                self.found = true;
                KeyMatch::None
            }
            _ => KeyMatch::None,
        };
        if b == b'"' && !escaped {
            self.inside = !self.inside;
            if self.inside && self.depth == 1 {
                self.key = KeyMatch::Name(0);
            }
        } else if !self.inside {
            match b {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The depth of every position the slow way: a byte at a time.
    fn slow(b: &[u8], from: usize) -> Vec<bool> {
        let (mut depth, mut inside, mut escaped) = (1i64, false, false);
        let mut opens = vec![false; b.len()];
        for (i, &c) in b.iter().enumerate().skip(from) {
            let e = escaped;
            escaped = !e && c == b'\\';
            if c == b'"' && !e {
                inside = !inside;
                opens[i] = inside && depth == 1;
            } else if !inside {
                match c {
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth -= 1,
                    _ => {}
                }
            }
        }
        opens
    }

    fn random_lines(n: usize, mut f: impl FnMut(&[u8])) {
        // Long stretches without a quote, and with escaped ones and brackets, cross blocks.
        let long = [b'x'; 70];
        let escaped = b"ab\\\"cd\\\\ef\\n{[}]".repeat(8);
        let pieces: [&[u8]; 16] = [
            &long,
            &escaped,
            b"\"type\"",
            b"\"type\" :",
            b":",
            b"\"",
            b"\\",
            b"\\\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b"abcdefgh",
            b" ",
            b",",
            b"\"t",
        ];
        let mut next = crate::scan::bytes::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..n {
            let mut line = Vec::new();
            for _ in 0..(next() % 60) {
                line.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            f(&line);
        }
    }

    /// The walk 64 bytes at a time agrees with a byte-by-byte one at every position, from any
    /// start, across blocks.
    #[test]
    fn the_walk_agrees_with_the_slow_way() {
        random_lines(5_000, |line| {
            for from in [0, 1, 7] {
                if from >= line.len() {
                    continue;
                }
                let want = slow(line, from);
                // AVX2 where the processor has it, and the SSE2 blocks (x86-64's fallback).
                for avx2 in [true, false] {
                    let mut walk = Walk::new(line, from);
                    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
                    {
                        walk.avx2 &= avx2;
                    }
                    for (p, &want) in want.iter().enumerate().skip(from) {
                        assert_eq!(
                            walk.opens_top_level_string(p),
                            want,
                            "{:?} at {p} from {from}, avx2 {avx2}",
                            String::from_utf8_lossy(line)
                        );
                    }
                }
            }
        });
    }

    /// The whole-line search and the one fed in pieces find the same later `type` key.
    #[test]
    fn later_type_in_pieces_agrees_with_the_whole_line() {
        random_lines(5_000, |line| {
            let whole = read(line, 0, false, true).kind.is_some();
            for chunk in [1, 3, 64, 65, 100, line.len().max(1)] {
                let mut m = LaterType::new();
                for c in line.chunks(chunk) {
                    m.feed(c);
                }
                assert_eq!(m.found, whole, "{:?} in chunks of {chunk}", String::from_utf8_lossy(line));
            }
        });
    }

    /// The one pass finds what the four searches find.
    #[test]
    fn marks_are_what_the_searches_find() {
        let pieces: [&[u8]; 12] = [
            b"\"type\"",
            b"\"timestamp\"",
            b"\\u0073",
            b"\\u001b",
            b"Output token limit hit.",
            b"Output",
            b"\"t",
            b"\\u",
            b"O",
            b"u",
            b"abcdefghijklmno",
            b"\"",
        ];
        let mut next = crate::scan::bytes::xorshift(0x2545_f491_4f6c_dd1du64);
        for _ in 0..5_000 {
            let mut line = Vec::new();
            for _ in 0..(next() % 30) {
                line.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let from = (next() % 3) as usize;
            let mut want = Vec::new();
            for p in from..line.len() {
                let r = &line[p..];
                if r.starts_with(TYPE) {
                    want.push((p, Mark::Type));
                } else if r.starts_with(TIMESTAMP) {
                    want.push((p, Mark::Timestamp));
                } else if r.starts_with(b"\\u00") && r.get(4).is_some_and(|c| (b'2'..=b'7').contains(c)) {
                    want.push((p, Mark::Escape));
                } else if r.starts_with(super::super::line::RECOVERY_PREFIX.as_bytes()) {
                    want.push((p, Mark::Recovery));
                }
            }
            let mut got = Vec::new();
            marks(&line, from.min(line.len()), |p, m| {
                got.push((p, m));
                true
            });
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&line));
            // The SSE2 blocks too (x86-64's fallback where AVX2 is used).
            let mut sse2 = Vec::new();
            let push = |p, m| {
                sse2.push((p, m));
                true
            };
            marks_with(&line, from.min(line.len()), push, pairs_sse2_or_none);
            assert_eq!(sse2, want, "{:?}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn top_level_keys_are_told_from_nested_ones() {
        let line = br#"{"type":"user","message":{"type":"x","timestamp":"n"},"timestamp":"a","x":["type",{"timestamp":1}],"timestamp" : "b","t":"\"type\":1"}"#;
        let keys = read(line, 15, true, false);
        assert_eq!(keys.kind, None);
        assert_eq!(&line[keys.timestamp.unwrap()..keys.timestamp.unwrap() + 3], br#""b""#);
        let again = br#"{"type":"progress","data":{"type":"hook"},"type" :"assistant"}"#;
        assert!(read(again, 18, false, true).kind.is_some());
        assert!(read(br#"{"type":"progress","data":{"type":"hook"}}"#, 18, false, true).kind.is_none());
    }
}
