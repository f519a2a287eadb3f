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
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    (!sorted.is_empty()).then(|| sorted[rank(sorted.len(), q) - 1])
}

/// [`percentile`] of values in any order, which it reorders (in linear time, without sorting).
pub fn percentile_of(values: &mut [u64], q: f64) -> Option<u64> {
    (!values.is_empty()).then(|| *values.select_nth_unstable(rank(values.len(), q) - 1).1)
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
pub fn summarize(sorted: &[u64]) -> Summary {
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "input must be sorted");
    if sorted.is_empty() {
        return Summary::default();
    }
    let sum: u128 = sorted.iter().map(|&v| v as u128).sum();
    let p = |q| percentile(sorted, q).unwrap_or(0);
    Summary {
        count: sorted.len() as u64,
        mean: sum as f64 / sorted.len() as f64,
        p50: p(50.0),
        p90: p(90.0),
        p95: p(95.0),
        p99: p(99.0),
        max: *sorted.last().unwrap_or(&0),
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
pub fn histogram(sorted: &[u64]) -> Vec<Bin> {
    let mut edges = vec![0u64];
    edges.extend((FIRST_EDGE_POW..=LAST_EDGE_POW).map(|p| 1u64 << p));
    let mut bins = Vec::with_capacity(edges.len());
    for (i, &from) in edges.iter().enumerate() {
        let next = edges.get(i + 1).copied();
        let lo = sorted.partition_point(|&v| v < from);
        let hi = match next {
            Some(n) => sorted.partition_point(|&v| v < n),
            None => sorted.len(),
        };
        bins.push(Bin { from, to: next.map(|n| n - 1), count: (hi - lo) as u64 });
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 1.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
    }

    #[test]
    fn summary_by_hand() {
        // Values: 100, 200, 300, 400, 10_000. Mean = 11_000 / 5 = 2_200.
        // p50: rank ceil(2.5) = 3 -> 300. p90: rank ceil(4.5) = 5 -> 10_000.
        let s = summarize(&[100, 200, 300, 400, 10_000]);
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
        assert_eq!(summarize(&[]), Summary::default());
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
        let v = [0, 63, 64, 127, 128, 5_000, 65_535, 65_536, 200_000];
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
