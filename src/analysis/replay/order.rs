//! Sorting a schedule's requests by time: first into buckets of time, then each bucket on its
//! own. A team's schedule holds a million requests and each replaying thread lays one out per
//! max output; a comparison sort of the whole list moves its 24-byte items across all of it,
//! and a sort of indices reads the list at every comparison. The buckets are small enough to
//! sort in the processor's cache, and neither sort needs memory beyond two counts a bucket
//! (BENCHMARKS.md, the fifteenth step: the values' replays, where the schedules are laid out).
//!
//! Both give exactly the order of the comparison sorts they stand for (the tests compare them).

use crate::time::{EpochMs, span};

/// How many buckets for `n` items (as bits): 128 to 256 items a bucket, from 1 to 2^16 buckets.
fn bucket_bits(n: usize) -> u32 {
    (usize::BITS - n.leading_zeros()).saturating_sub(8).min(16)
}

/// The buckets of the times `lo..=hi`, `2^bits` of them: a time's bucket is its distance from
/// `lo` shifted so that the largest distance falls in the last.
#[derive(Clone, Copy)]
struct Buckets {
    lo: EpochMs,
    shift: u32,
    count: usize,
}

impl Buckets {
    fn new(n: usize, lo: EpochMs, hi: EpochMs) -> Self {
        let bits = bucket_bits(n);
        let span_bits = u64::BITS - hi.abs_diff(lo).leading_zeros();
        Buckets { lo, shift: span_bits.saturating_sub(bits), count: 1 << bits }
    }

    fn of(&self, t: EpochMs) -> usize {
        // A shift of 64 (one bucket, times more than 2^63 apart) leaves nothing.
        t.abs_diff(self.lo).checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// Where each bucket starts in a list of the `times`, sorted by bucket; one more entry for
    /// the end.
    fn starts(&self, times: impl Iterator<Item = EpochMs>) -> Vec<usize> {
        let mut starts = vec![0usize; self.count + 1];
        for t in times {
            starts[self.of(t) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        starts
    }
}

/// Sorts `items` by `time` and then by `key` (the pair must tell any two items apart, so
/// that the order is the one `sort_unstable_by_key(|x| (time(x), key(x)))` gives), in place.
pub(super) fn sort_by_time<T: Copy, K: Ord>(items: &mut [T], time: impl Fn(&T) -> EpochMs, key: impl Fn(&T) -> K) {
    let Some((lo, hi)) = span(items.iter().map(&time)) else { return };
    let buckets = Buckets::new(items.len(), lo, hi);
    let starts = buckets.starts(items.iter().map(&time));
    // Each item is carried to the next free place of its bucket, the item there carried on
    // in turn, until one that belongs where the carrying began: every item moves once.
    let mut next = starts[..buckets.count].to_vec();
    for b in 0..buckets.count {
        while next[b] < starts[b + 1] {
            let i = next[b];
            let mut carried = items[i];
            let mut to = buckets.of(time(&carried));
            while to != b {
                std::mem::swap(&mut carried, &mut items[next[to]]);
                next[to] += 1;
                to = buckets.of(time(&carried));
            }
            items[i] = carried;
            next[b] += 1;
        }
    }
    for b in 0..buckets.count {
        items[starts[b]..starts[b + 1]].sort_unstable_by_key(|x| (time(x), key(x)));
    }
}

/// The indices `0..n` by `time` of each, equal times in the order of their indices (what
/// `sort_by_key(time)` of `0..n` gives), into `out`.
pub(super) fn indices_by_time(out: &mut Vec<u32>, n: usize, time: impl Fn(usize) -> EpochMs) {
    out.clear();
    let Some((lo, hi)) = span((0..n).map(&time)) else { return };
    let buckets = Buckets::new(n, lo, hi);
    let starts = buckets.starts((0..n).map(&time));
    // Each bucket's indices in increasing order, then each bucket by time, equal times kept
    // in that order.
    out.resize(n, 0);
    let mut next = starts[..buckets.count].to_vec();
    for i in 0..n {
        let b = buckets.of(time(i));
        out[next[b]] = u32::try_from(i).expect("under 2^32 requests");
        next[b] += 1;
    }
    for b in 0..buckets.count {
        out[starts[b]..starts[b + 1]].sort_by_key(|&i| time(i as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (seed, how many, spread) of the times each test sorts: none, one, few and many; equal
    /// (spread 1), clustered (50), over a day, and over all of `i64` (0) with one bucket and
    /// with many.
    const CASES: &[(u64, usize, u64)] = &[
        (1, 0, 10),
        (2, 1, 10),
        (3, 5, 3),
        (4, 300, 1),
        (5, 5_000, 50),
        (6, 70_000, 86_400_000),
        (7, 9_000, 0),
        (8, 100, 0),
    ];

    /// Pseudo-random times: clustered, equal, spread over all of `i64`, or none at all.
    fn times(seed: u64, n: usize, spread: u64) -> Vec<EpochMs> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| match spread {
                0 => next() as i64,
                s => 1_700_000_000_000 + (next() % s) as i64 - if next() % 7 == 0 { 500 } else { 0 },
            })
            .collect()
    }

    #[test]
    fn bucket_counts_by_hand() {
        assert_eq!(bucket_bits(0), 0);
        assert_eq!(bucket_bits(255), 0);
        assert_eq!(bucket_bits(256), 1);
        assert_eq!(bucket_bits(1 << 20), 13);
        assert_eq!(bucket_bits(usize::MAX), 16);
        // 1024 items (11 bits) in 8 buckets; times 0..=1000 (10 bits) shifted by 7.
        let b = Buckets::new(1024, 0, 1000);
        assert_eq!((b.shift, b.count), (7, 8));
        assert_eq!((b.of(0), b.of(127), b.of(128), b.of(1000)), (0, 0, 1, 7));
        // The whole of i64: the last time in the last bucket, not beyond; with one bucket, in it.
        let b = Buckets::new(1 << 20, i64::MIN, i64::MAX);
        assert_eq!((b.of(i64::MIN), b.of(i64::MAX)), (0, (1 << 13) - 1));
        let b = Buckets::new(100, i64::MIN, i64::MAX);
        assert_eq!((b.count, b.of(i64::MIN), b.of(i64::MAX)), (1, 0, 0));
    }

    #[test]
    fn items_in_the_order_of_the_comparison_sort() {
        for &(seed, n, spread) in CASES {
            let t = times(seed, n, spread);
            // (time, tie-break, payload): the tie-break tells equal times apart.
            let items: Vec<(EpochMs, u32, u64)> =
                t.iter().enumerate().map(|(i, &t)| (t, (i as u32).wrapping_mul(2_654_435_761), i as u64)).collect();
            let mut expected = items.clone();
            expected.sort_unstable_by_key(|x| (x.0, x.1));
            let mut got = items;
            sort_by_time(&mut got, |x| x.0, |x| x.1);
            assert_eq!(got, expected, "seed {seed}");
        }
    }

    #[test]
    fn indices_in_the_order_of_the_stable_sort() {
        let mut out = vec![7, 7, 7];
        for &(seed, n, spread) in CASES {
            let t = times(seed, n, spread);
            let mut expected: Vec<u32> = (0..n as u32).collect();
            expected.sort_by_key(|&i| t[i as usize]);
            indices_by_time(&mut out, n, |i| t[i]);
            assert_eq!(out, expected, "seed {seed}");
        }
    }
}
