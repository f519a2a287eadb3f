//! Pure statistics over output-token counts.
//!
//! Percentiles are nearest-rank: the q-th percentile is the smallest value `v` such that at
//! least q% of the values are `<= v`. They are always one of the observed values, so anyone
//! can check them by hand against a sorted list. (statrs' quantiles interpolate between
//! values, which is why they are not used here.)

use serde::Serialize;

/// Summary of a distribution of token counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

/// Nearest-rank percentile of an ascending slice; `None` when empty.
///
/// `q` is in percent (0 < q <= 100). The rank is `ceil(q/100 * n)`, computed in integer
/// arithmetic on hundredths of a percent so that `q = 99` over 100 values is exactly rank 99.
pub fn percentile<T: Copy + Into<u64>>(sorted: &[T], q: f64) -> Option<u64> {
    (!sorted.is_empty()).then(|| sorted[rank(sorted.len(), q) - 1].into())
}

/// [`percentile`] of values in any order, which it reorders (in linear time, without sorting).
pub fn percentile_of(values: &mut [u64], q: f64) -> Option<u64> {
    (!values.is_empty()).then(|| *values.select_nth_unstable(rank(values.len(), q) - 1).1)
}

/// The value of rank `n` (from 0) among the values `values()` yields, as if they were sorted:
/// what `sorted[n]` is, `None` when there are `n` or fewer. No list of the values is made:
/// each pass counts, by 16 bits of the value at a time (from the highest), the values that
/// share the bits found so far, until those are few enough to be listed and the rank found
/// among them. `values` is called once a pass (at most five), and must yield the same values
/// every time.
pub fn nth_smallest<I: Iterator<Item = u64>>(n: usize, values: impl Fn() -> I) -> Option<u64> {
    rank_among(n, values().count(), values)
}

/// The upper median of the values `values()` yields (the value of rank `count / 2`, as a
/// sorted list holds it at `len / 2`), as [`nth_smallest`] finds it; `None` where there is
/// none.
pub fn median_by<I: Iterator<Item = u64>>(values: impl Fn() -> I) -> Option<u64> {
    let count = values().count();
    rank_among(count / 2, count, values)
}

/// [`nth_smallest`] of `count` values, their count known.
fn rank_among<I: Iterator<Item = u64>>(n: usize, count: usize, values: impl Fn() -> I) -> Option<u64> {
    /// Values sharing the bits found so far are listed once they are at most this many.
    const LISTED: usize = 1 << 16;
    // The bits found so far (`prefix`, the highest `known` bits of the value), and the rank
    // still sought among the values that have them.
    let (mut prefix, mut known, mut n, mut count) = (0u64, 0u32, n, count);
    let shares = |v: u64, prefix: u64, known: u32| known == 0 || v >> (64 - known) == prefix;
    loop {
        if n >= count {
            return None;
        }
        if count <= LISTED || known == 64 {
            let mut listed: Vec<u64> = values().filter(|&v| shares(v, prefix, known)).collect();
            return Some(*listed.select_nth_unstable(n).1);
        }
        let mut counts = vec![0usize; 1 << 16];
        for v in values().filter(|&v| shares(v, prefix, known)) {
            counts[((v << known) >> 48) as usize] += 1;
        }
        // The bucket of the next 16 bits where rank `n` falls, and the rank within it.
        let mut below = 0;
        let (digit, size) = counts
            .iter()
            .enumerate()
            .find(|&(_, &c)| {
                below += c;
                below > n
            })
            .map(|(d, &c)| (d as u64, c))
            .expect("n < count: some bucket holds rank n");
        n -= below - size;
        prefix = (prefix << 16) | digit;
        known += 16;
        count = size;
    }
}

/// An order-keeping key of a float: `a.total_cmp(&b)` is the order of `key(a)` and `key(b)`,
/// so that [`nth_smallest`] finds a float's rank ([`from_ordered_bits`] turns it back).
pub fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The float an [`ordered_bits`] key was made from.
pub fn from_ordered_bits(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// [`percentile`] of the values `values()` yields, in any order, without a list of them
/// ([`nth_smallest`]: `values` is called a few times and must yield the same values each).
pub fn percentile_by<I: Iterator<Item = u64>>(q: f64, values: impl Fn() -> I) -> Option<u64> {
    let n = values().count();
    if n == 0 {
        return None;
    }
    rank_among(rank(n, q) - 1, n, values)
}

/// The lower end of the Wilson score interval (95%, z = 1.96) of a share seen as `k` of `n`:
/// the least share the count allows beyond reasonable doubt (0 where `n` is 0). 1 of 61 is
/// at least 0.29%; 16 of 56 at least 18.4%.
pub fn wilson_lower(k: u64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    const Z: f64 = 1.96;
    let (k, n) = (k.min(n) as f64, n as f64);
    let p = k / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
}

/// The nearest rank, `ceil(q/100 * n)` and at least 1, of `n` values (n > 0).
fn rank(n: usize, q: f64) -> usize {
    let q_hundredths = (q.clamp(0.0, 100.0) * 100.0).round() as u128;
    (q_hundredths * n as u128).div_ceil(10_000).max(1) as usize
}

/// Share of values strictly greater than `limit` (the responses a max-output setting of
/// `limit` would cut), in 0..=1. Empty input gives 0.
pub fn share_above(sorted: &[u64], limit: u64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at_or_below = sorted.partition_point(|&v| v <= limit);
    (sorted.len() - at_or_below) as f64 / sorted.len() as f64
}

/// Summarises an ascending slice. An empty slice gives an all-zero summary.
pub fn summarize<T: Copy + Ord + Into<u64>>(sorted: &[T]) -> Summary {
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "input must be sorted");
    if sorted.is_empty() {
        return Summary::default();
    }
    let sum: u128 = sorted.iter().map(|&v| u128::from(v.into())).sum();
    let p = |q| percentile(sorted, q).unwrap_or(0);
    Summary {
        count: sorted.len() as u64,
        mean: sum as f64 / sorted.len() as f64,
        p50: p(50.0),
        p90: p(90.0),
        p95: p(95.0),
        p99: p(99.0),
        max: sorted.last().map_or(0, |&v| v.into()),
    }
}

/// One bin of the log-scale histogram: values in `from..=to` (`to` is `None` for the last,
/// open-ended bin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bin {
    pub from: u64,
    pub to: Option<u64>,
    pub count: u64,
}

/// Bin edges of the histogram: 0–63, then one bin per power of two up to 65,535, then
/// 65,536 and above. Powers of two keep a log scale with edges a reader recognises.
const FIRST_EDGE_POW: u32 = 6; // 64
const LAST_EDGE_POW: u32 = 16; // 65,536

/// Log-scale histogram of an ascending slice. Always returns the same bins, so two reports
/// can be compared line by line.
pub fn histogram<T: Copy + Into<u64>>(sorted: &[T]) -> Vec<Bin> {
    let mut edges = vec![0u64];
    edges.extend((FIRST_EDGE_POW..=LAST_EDGE_POW).map(|p| 1u64 << p));
    let mut bins = Vec::with_capacity(edges.len());
    for (i, &from) in edges.iter().enumerate() {
        let next = edges.get(i + 1).copied();
        let lo = sorted.partition_point(|&v| v.into() < from);
        let hi = match next {
            Some(n) => sorted.partition_point(|&v| v.into() < n),
            None => sorted.len(),
        };
        bins.push(Bin { from, to: next.map(|n| n - 1), count: (hi - lo) as u64 });
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rank 2 of [5, 1, 4, 1, 3] is what the sorted list [1, 1, 3, 4, 5] holds at 2: 3; rank
    /// 0 the first 1, rank 4 the 5, and there is no rank 5.
    #[test]
    fn nth_smallest_is_the_sorted_lists_value() {
        let v = [5u64, 1, 4, 1, 3];
        let at = |n| nth_smallest(n, || v.iter().copied());
        assert_eq!((at(0), at(1), at(2), at(3), at(4), at(5)), (Some(1), Some(1), Some(3), Some(4), Some(5), None));
        assert_eq!(nth_smallest(0, std::iter::empty::<u64>), None);
        // The upper median: what a sorted list holds at len / 2.
        assert_eq!((median_by(|| v.iter().copied()), median_by(|| [1u64, 2].into_iter())), (Some(3), Some(2)));
        assert_eq!(median_by(std::iter::empty::<u64>), None);
    }

    /// Past the values listed at once: 200,000 values whose highest 32 bits are all alike
    /// (the passes must go down to the low bits), in a scrambled order, against a sort.
    #[test]
    fn nth_smallest_goes_down_the_bits_of_many_values() {
        let value = |i: u64| (7u64 << 40) | (i.wrapping_mul(2_654_435_761) % 100_003);
        let values = || (0..200_000u64).map(value);
        let mut sorted: Vec<u64> = values().collect();
        sorted.sort_unstable();
        for n in [0, 1, 99_999, 100_000, 150_001, 199_999] {
            assert_eq!(nth_smallest(n, values), Some(sorted[n]), "rank {n}");
        }
        assert_eq!(nth_smallest(200_000, values), None);
        // All equal: every rank is that value.
        assert_eq!(nth_smallest(123_456, || std::iter::repeat_n(u64::MAX, 200_000)), Some(u64::MAX));
    }

    /// The 90th percentile of 1..=10 is 9 (rank ceil(9) = 9); of [7] it is 7; of nothing,
    /// none. Over many values, in a scrambled order, it is `percentile` of them sorted.
    #[test]
    fn percentile_by_is_percentile_of_the_sorted_values() {
        assert_eq!(percentile_by(90.0, || (1..=10u64).rev()), Some(9));
        assert_eq!(percentile_by(90.0, || std::iter::once(7u64)), Some(7));
        assert_eq!(percentile_by(90.0, std::iter::empty::<u64>), None);
        let values = || (0..150_001u64).map(|i| i.wrapping_mul(2_654_435_761) % 1_000_003);
        let mut sorted: Vec<u64> = values().collect();
        sorted.sort_unstable();
        for q in [1.0, 50.0, 90.0, 99.0, 100.0] {
            assert_eq!(percentile_by(q, values), percentile(&sorted, q), "q {q}");
        }
    }

    /// By hand (the formula's terms for 1 of 61: p = 1/61, z^2 / 2n = 3.8416 / 122 = 0.031489,
    /// the root's terms p(1 - p)/n = 0.000264 and z^2 / 4n^2 = 0.000258, the divisor 1 +
    /// 3.8416 / 61 = 1.062977): 1 of 61 is at least 0.29%, 16 of 56 at least 18.42%; 0 of
    /// anything, and nothing seen, 0.
    #[test]
    fn wilson_lower_by_hand() {
        let close = |a: f64, b: f64| (a - b).abs() < 5e-6;
        assert!(close(wilson_lower(1, 61), 0.002_900), "{}", wilson_lower(1, 61));
        assert!(close(wilson_lower(16, 56), 0.184_186), "{}", wilson_lower(16, 56));
        assert_eq!((wilson_lower(0, 100), wilson_lower(0, 0)), (0.0, 0.0));
        // More of the same share, a tighter bound.
        assert!(wilson_lower(80, 4_000) > wilson_lower(8, 400));
    }

    /// A float's key keeps `total_cmp`'s order (negatives below zero below positives) and
    /// turns back into the float.
    #[test]
    fn ordered_bits_keep_the_order_of_floats() {
        let xs = [-3.5, -0.0, 0.0, 1e-300, 2.0, 16.0, f64::MAX];
        for w in xs.windows(2) {
            assert!(ordered_bits(w[0]) < ordered_bits(w[1]), "{} < {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_ordered_bits(ordered_bits(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn nearest_rank_by_hand() {
        // 1..=10: p50 is the 5th value, p90 the 9th, p95 and p99 round up to the 10th.
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&v, 91.0), Some(10));
        assert_eq!(percentile(&v, 95.0), Some(10));
        assert_eq!(percentile(&v, 10.0), Some(1));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 100.0), Some(10));
    }

    #[test]
    fn percentile_of_100_values_is_exact_rank() {
        // 100 values 10, 20, ..., 1000: p99 is rank 99 = 990, not 1000.
        let v: Vec<u64> = (1..=100).map(|i| i * 10).collect();
        assert_eq!(percentile(&v, 99.0), Some(990));
        assert_eq!(percentile(&v, 99.5), Some(1000));
        assert_eq!(percentile(&v, 1.0), Some(10));
    }

    #[test]
    fn percentile_of_unsorted_values_picks_the_same_rank() {
        // 1..=10 shuffled: the 90th percentile is rank 9 = 9, the 91st rank ceil(9.1) = 10.
        let shuffled = [7, 3, 10, 1, 9, 2, 8, 5, 4, 6];
        for (q, want) in [(90.0, 9), (91.0, 10), (50.0, 5), (0.0, 1), (100.0, 10)] {
            assert_eq!(percentile_of(&mut shuffled.clone(), q), Some(want), "q {q}");
        }
        // Repeated values: 5 5 5 9 -> p50 rank 2 = 5, p75 rank 3 = 5, p76 rank ceil(3.04) = 9.
        assert_eq!(percentile_of(&mut [9, 5, 5, 5], 75.0), Some(5));
        assert_eq!(percentile_of(&mut [9, 5, 5, 5], 76.0), Some(9));
        assert_eq!(percentile_of(&mut [], 50.0), None);
    }

    #[test]
    fn percentile_single_and_empty() {
        assert_eq!(percentile::<u64>(&[], 50.0), None);
        assert_eq!(percentile(&[7u64], 1.0), Some(7));
        assert_eq!(percentile(&[7u64], 99.0), Some(7));
    }

    #[test]
    fn summary_by_hand() {
        // Values: 100, 200, 300, 400, 10_000. Mean = 11_000 / 5 = 2_200.
        // p50: rank ceil(2.5) = 3 -> 300. p90: rank ceil(4.5) = 5 -> 10_000.
        let s = summarize(&[100u64, 200, 300, 400, 10_000]);
        assert_eq!(s.count, 5);
        assert_eq!(s.mean, 2_200.0);
        assert_eq!(s.p50, 300);
        assert_eq!(s.p90, 10_000);
        assert_eq!(s.p95, 10_000);
        assert_eq!(s.p99, 10_000);
        assert_eq!(s.max, 10_000);
    }

    #[test]
    fn summary_empty_is_zero() {
        assert_eq!(summarize::<u64>(&[]), Summary::default());
    }

    #[test]
    fn share_above_counts_strictly_greater() {
        let v = [10, 20, 30, 40];
        assert_eq!(share_above(&v, 30), 0.25);
        assert_eq!(share_above(&v, 29), 0.5);
        assert_eq!(share_above(&v, 40), 0.0);
        assert_eq!(share_above(&v, 0), 1.0);
        assert_eq!(share_above(&[], 5), 0.0);
    }

    #[test]
    fn histogram_bins_by_hand() {
        let v = [0u64, 63, 64, 127, 128, 5_000, 65_535, 65_536, 200_000];
        let h = histogram(&v);
        assert_eq!(h.len(), 12);
        assert_eq!(h[0], Bin { from: 0, to: Some(63), count: 2 });
        assert_eq!(h[1], Bin { from: 64, to: Some(127), count: 2 });
        assert_eq!(h[2], Bin { from: 128, to: Some(255), count: 1 });
        // 5,000 falls in 4,096..=8,191.
        assert_eq!(h[7], Bin { from: 4_096, to: Some(8_191), count: 1 });
        assert_eq!(h[10], Bin { from: 32_768, to: Some(65_535), count: 1 });
        assert_eq!(h[11], Bin { from: 65_536, to: None, count: 2 });
        assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), v.len() as u64);
    }
}
