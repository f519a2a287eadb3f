//! Demand under censoring: how many output tokens responses *wanted*, when some were cut.
//!
//! A response that completed wanted exactly what it wrote. A response cut at a limit `L`
//! wanted more than `L`: its demand is right-censored at `L`. The product-limit (Kaplan–Meier)
//! estimate of the survival function `S(t) = P(demand > t)` uses both: at each distinct
//! exact value `t_j`, `S` falls by the factor `1 − d_j / n_j`, where `d_j` responses wanted
//! exactly `t_j` and `n_j` were still "at risk" (exact values `≥ t_j`, and cut responses whose
//! limit is `≥ t_j`: a response cut at `c` wanted more than `c`, so it is at risk up to `c`).
//!
//! Above the highest value any response could show (the highest limit in effect; where the
//! largest observation is a cut one below it, that cut: nothing was at risk above it), the
//! data cannot see: a share `S(known_up_to)` of demand lies somewhere beyond, and nothing
//! here pretends to know where. Pure functions, checked by hand in the tests.

/// One response's demand as the history shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// What it wrote (exact) or the limit it was cut at (censored).
    pub value: u64,
    /// Cut: it wanted more than `value`.
    pub censored: bool,
}

impl Observation {
    /// The order the estimate reads observations in: by value, exact values before censored
    /// ones at the same value (a response cut at `c` is still at risk at `c`: it wanted more
    /// than `c`).
    pub fn order(&self) -> (u64, bool) {
        (self.value, self.censored)
    }

    pub fn exact(value: u64) -> Self {
        Self { value, censored: false }
    }
    pub fn cut_at(value: u64) -> Self {
        Self { value, censored: true }
    }
}

/// The product-limit estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// `(t_j, S(t_j))` at each distinct exact value, ascending: `S` holds from `t_j` up to
    /// the next step. Before the first step `S = 1`.
    steps: Vec<(u64, f64)>,
    /// The highest value the history could show (the highest limit in effect, or the
    /// largest observation if higher: a cut response and its continuations).
    pub known_up_to: u64,
    /// The highest limit in effect.
    pub highest_limit: u64,
    pub observations: u64,
    pub censored: u64,
}

/// Where a drawn demand lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// A value the history shows.
    Known(u64),
    /// Above [`Estimate::known_up_to`]: the history cannot tell how far.
    Beyond,
}

impl Estimate {
    /// Estimates from observations; `highest_limit` is the highest limit in effect when they
    /// were made (the data sees nothing above it).
    pub fn new(mut obs: Vec<Observation>, highest_limit: u64) -> Self {
        obs.sort_unstable_by_key(Observation::order);
        Self::of_sorted(obs.into_iter(), highest_limit)
    }

    /// [`Estimate::new`] of observations already in [`Observation::order`] (a team's
    /// history has one a response: the caller sorts what it holds, not a copy).
    pub fn of_sorted(obs: impl ExactSizeIterator<Item = Observation>, highest_limit: u64) -> Self {
        let observations = obs.len() as u64;
        let mut obs = obs.peekable();
        let mut steps = Vec::new();
        let mut s = 1.0;
        let mut at_risk = observations;
        let (mut censored, mut largest) = (0, 0);
        while let Some(first) = obs.next() {
            // The observations of this value: how many, and how many are exact.
            let t = first.value;
            let (mut same, mut events) = (0u64, 0u64);
            for o in std::iter::once(first).chain(std::iter::from_fn(|| obs.next_if(|o| o.value == t))) {
                same += 1;
                events += u64::from(!o.censored);
                censored += u64::from(o.censored);
            }
            if events > 0 {
                s *= 1.0 - events as f64 / at_risk as f64;
                steps.push((t, s));
            }
            at_risk -= same;
            largest = t;
        }
        // Where demand remains beyond the last exact value, the largest observation is a cut
        // one, and no response was at risk above it: the data sees no further, whatever
        // limit other requests ran at (a history's old subagents ran at 32,000 and wrote
        // little; responses cut at 8,000 were said to want more than 32,000). Otherwise up
        // to the highest limit in effect, or the largest observation if higher (a cut
        // response and its continuations).
        let known_up_to = if s > 0.0 && largest < highest_limit { largest } else { highest_limit.max(largest) };
        Self { steps, known_up_to, highest_limit, observations, censored }
    }

    /// `S(t) = P(demand > t)`. Above [`Self::known_up_to`] it is the share beyond, as at
    /// `known_up_to` (the data cannot tell more).
    pub fn survival(&self, t: u64) -> f64 {
        let t = t.min(self.known_up_to);
        match self.steps.partition_point(|&(v, _)| v <= t) {
            0 => 1.0,
            k => self.steps[k - 1].1,
        }
    }

    /// The share of demand above what the history can see.
    pub fn beyond_share(&self) -> f64 {
        if self.observations == 0 { 0.0 } else { self.survival(self.known_up_to) }
    }

    /// The smallest value `t` with `P(demand ≤ t) ≥ q/100`; `None` when that lies above what
    /// the history can see (or there is no observation).
    pub fn percentile(&self, q: f64) -> Option<u64> {
        if self.observations == 0 {
            return None;
        }
        // A hair of tolerance so that 99% of 100 exact values is the 99th, as nearest rank.
        let target = 1.0 - q / 100.0 + 1e-9;
        self.steps.iter().find(|&&(_, s)| s <= target).map(|&(t, _)| t)
    }

    /// A demand drawn from the estimate, conditional on being above `above` (a cut response's
    /// limit; 0 for a request whose response was never seen): the smallest step `t > above`
    /// with `S(t)/S(above) ≤ 1 − u`, for `u` in `[0, 1)`.
    pub fn draw_above(&self, above: u64, u: f64) -> Draw {
        let base = if above == 0 { 1.0 } else { self.survival(above) };
        if base <= 0.0 || self.observations == 0 {
            return Draw::Beyond;
        }
        let target = base * (1.0 - u);
        let from = self.steps.partition_point(|&(v, _)| v <= above);
        match self.steps[from..].iter().find(|&&(t, s)| t <= self.known_up_to && s <= target + 1e-12) {
            Some(&(t, _)) => Draw::Known(t),
            None => Draw::Beyond,
        }
    }
}

/// The `k`-th point of a low-discrepancy sequence in `[0, 1)` (the golden-ratio additive
/// recurrence): spreads the draws of many censored responses evenly over their conditional
/// distribution, deterministically.
pub fn spread(k: u64) -> f64 {
    const PHI_INV: f64 = 0.618_033_988_749_894_9;
    (0.5 + k as f64 * PHI_INV).fract()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// 3, 4+, 5, 5, 7+, 8 (`+` cut). By hand:
    /// t = 3: 6 at risk, 1 event: S = 5/6.
    /// t = 5: at risk 5, 5, 7+, 8 = 4 (4+ left after 4), 2 events: S = 5/6 · 2/4 = 5/12.
    /// t = 8: at risk 8 = 1 (7+ left), 1 event: S = 0.
    #[test]
    fn textbook_example_by_hand() {
        let obs = [
            Observation::exact(3),
            Observation::cut_at(4),
            Observation::exact(5),
            Observation::exact(5),
            Observation::cut_at(7),
            Observation::exact(8),
        ];
        let e = Estimate::new(obs.to_vec(), 8);
        assert!(close(e.survival(2), 1.0));
        assert!(close(e.survival(3), 5.0 / 6.0));
        assert!(close(e.survival(4), 5.0 / 6.0));
        assert!(close(e.survival(5), 5.0 / 12.0));
        assert!(close(e.survival(7), 5.0 / 12.0));
        assert!(close(e.survival(8), 0.0));
        assert_eq!((e.observations, e.censored), (6, 2));
        // p50: 1 − S(3) = 1/6 < 1/2, 1 − S(5) = 7/12 ≥ 1/2.
        assert_eq!(e.percentile(50.0), Some(5));
        assert_eq!(e.percentile(10.0), Some(3));
        assert_eq!(e.percentile(99.0), Some(8));
        assert!(close(e.beyond_share(), 0.0));
    }

    /// Without censoring the estimate is the empirical distribution, and its percentiles
    /// are the nearest-rank ones.
    #[test]
    fn no_censoring_is_nearest_rank() {
        let obs: Vec<Observation> = (1..=100).map(Observation::exact).collect();
        let e = Estimate::new(obs, 32_000);
        assert_eq!(e.percentile(99.0), Some(99));
        assert_eq!(e.percentile(50.0), Some(50));
        assert_eq!(e.percentile(100.0), Some(100));
        assert!(close(e.survival(90), 0.1));
    }

    /// Requests at 8,000 and (subagents that ignore the value) at 32,000: 3 responses cut at
    /// 8,000 and 7 whole ones under 3,000. Nothing was at risk above 8,000: the 30% beyond
    /// lies above 8,000, not above 32,000.
    #[test]
    fn beyond_starts_at_the_largest_cut_when_nothing_was_at_risk_above_it() {
        let mut obs: Vec<Observation> = [200, 500, 800, 1_000, 1_200, 1_500, 2_900].map(Observation::exact).to_vec();
        obs.extend([Observation::cut_at(8_000); 3]);
        let e = Estimate::new(obs.clone(), 32_000);
        assert_eq!((e.known_up_to, e.highest_limit), (8_000, 32_000));
        assert!(close(e.beyond_share(), 0.3));
        assert_eq!(e.draw_above(8_000, 0.01), Draw::Beyond);
        // A whole response above the cuts (at 32,000, 20,000 written): seen up to the limit.
        obs.push(Observation::exact(20_000));
        let e = Estimate::new(obs, 32_000);
        assert_eq!(e.known_up_to, 32_000);
        assert!(close(e.beyond_share(), 0.0));
    }

    /// The seed story: a limit of 200, 7 responses under it and 3 cut at it. Above 200 the
    /// data sees nothing: S(200) = 3/10 is beyond, and p90 cannot be told.
    #[test]
    fn everything_above_the_limit_is_beyond() {
        let mut obs: Vec<Observation> = [20, 50, 80, 100, 120, 150, 190].map(Observation::exact).to_vec();
        obs.extend([Observation::cut_at(200); 3]);
        let e = Estimate::new(obs, 200);
        assert_eq!(e.known_up_to, 200);
        assert!(close(e.beyond_share(), 0.3));
        assert!(close(e.survival(50_000), 0.3));
        assert_eq!(e.percentile(50.0), Some(120));
        assert_eq!(e.percentile(90.0), None);
        // A cut response's demand is beyond, whatever the draw.
        assert_eq!(e.draw_above(200, 0.01), Draw::Beyond);
        // A request never seen: 70% of draws land among the exact values, the rest beyond.
        assert_eq!(e.draw_above(0, 0.05), Draw::Known(20));
        assert_eq!(e.draw_above(0, 0.65), Draw::Known(190));
        assert_eq!(e.draw_above(0, 0.75), Draw::Beyond);
    }

    /// Cuts at an old, low limit tell that demand was above it, not above today's limit.
    /// 4 exact (500, 2,000, 3,000, 9,000) and 2 cut at 1,000. By hand:
    /// t = 500: 6 at risk, S = 5/6; t = 2,000: 3 at risk (both cuts left at 1,000), S = 5/6 · 2/3
    /// = 5/9; t = 3,000: S = 5/9 · 1/2 = 5/18; t = 9,000: S = 0.
    #[test]
    fn old_low_limit_cuts_are_redistributed_above_it() {
        let obs = [
            Observation::exact(500),
            Observation::cut_at(1_000),
            Observation::cut_at(1_000),
            Observation::exact(2_000),
            Observation::exact(3_000),
            Observation::exact(9_000),
        ];
        let e = Estimate::new(obs.to_vec(), 32_000);
        assert!(close(e.survival(1_000), 5.0 / 6.0));
        assert!(close(e.survival(2_000), 5.0 / 9.0));
        assert!(close(e.survival(3_000), 5.0 / 18.0));
        assert!(close(e.survival(32_000), 0.0));
        assert!(close(e.beyond_share(), 0.0));
        // Conditional on > 1,000: S(t)/S(1,000) = 2/3 at 2,000, 1/3 at 3,000, 0 at 9,000.
        assert_eq!(e.draw_above(1_000, 0.2), Draw::Known(2_000));
        assert_eq!(e.draw_above(1_000, 0.5), Draw::Known(3_000));
        assert_eq!(e.draw_above(1_000, 0.9), Draw::Known(9_000));
    }

    #[test]
    fn empty_and_spread() {
        let e = Estimate::new(Vec::new(), 32_000);
        assert_eq!(e.percentile(50.0), None);
        assert_eq!(e.draw_above(0, 0.5), Draw::Beyond);
        assert!(close(e.beyond_share(), 0.0));
        let v: Vec<f64> = (0..1000).map(spread).collect();
        assert!(v.iter().all(|&u| (0.0..1.0).contains(&u)));
        // Evenly spread: each tenth of [0, 1) gets about a tenth of the points.
        for k in 0..10 {
            let n = v.iter().filter(|&&u| u >= k as f64 / 10.0 && u < (k + 1) as f64 / 10.0).count();
            assert!((95..=105).contains(&n), "{k}: {n}");
        }
    }
}
