//! The burndown-safe ceiling of `quota-model.md`, as pure functions: the worst-case bound a user
//! can check by hand, and the fallback where the history is too thin to replay.
//!
//! Names follow the reference: quota `Q` (tokens per minute), burndown `B`, `P` requests in
//! flight, `I_set` input charged per request (input + cache-write), `I_res` input reserved at
//! the start (conservatively plus cache-read), headroom `u`, max output `M`.

/// Worst-case quota charge of one request that runs to `m`: `I_set + B × m`.
pub fn worst_case_charge(input_set: u64, burndown: f64, m: u64) -> u64 {
    (input_set as f64 + burndown * m as f64).ceil() as u64
}

/// The quota-side inputs of one computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub quota_tpm: u64,
    pub headroom: f64,
    pub parallel: u64,
    pub burndown: f64,
    pub input_set: u64,
    pub input_reserved: u64,
    /// What max output counts for in the reservation at admission: the burndown under a
    /// reading that reserves it at the burndown rate, 1 under one that reserves it once.
    pub reserved_burndown: f64,
}

impl Budget {
    /// `u × Q`, the part of the quota planned for.
    pub fn usable(&self) -> f64 {
        self.headroom * self.quota_tpm as f64
    }

    /// Whether output counts against this quota at all (not Mantle's input quota, burndown 0).
    pub fn charges_output(&self) -> bool {
        self.burndown > 0.0
    }

    /// Worst-case minute: `P × (I_set + B × M) ≤ u × Q` → `M ≤ (u × Q / P − I_set) / B`.
    /// `None` when even `M = 0` does not fit, or when output does not count against the
    /// quota ([`Budget::charges_output`]): then this rule does not bound `M`.
    pub fn worst_case_limit(&self) -> Option<u64> {
        let room = self.usable() / self.parallel.max(1) as f64 - self.input_set as f64;
        (room >= 0.0 && self.charges_output()).then(|| (room / self.burndown).floor() as u64)
    }

    /// The worst-case bound before it is checked: `(u × Q / P − I_set) / B`, negative when
    /// the inputs alone exceed the share (`None` where output does not count).
    pub fn worst_case_raw(&self) -> Option<f64> {
        let room = self.usable() / self.parallel.max(1) as f64 - self.input_set as f64;
        self.charges_output().then(|| room / self.burndown)
    }

    /// The admission bound before it is checked: `(u × Q / P − I_res) / k`.
    pub fn admission_raw(&self) -> f64 {
        let room = self.usable() / self.parallel.max(1) as f64 - self.input_reserved as f64;
        room / self.reserved_burndown.max(f64::MIN_POSITIVE)
    }

    /// Admission: `P × (I_res + k × M) ≤ u × Q` → `M ≤ (u × Q / P − I_res) / k`, where `k` is
    /// what max output counts for in the reservation (`B` or 1, by the reading).
    pub fn admission_limit(&self) -> Option<u64> {
        let room = self.usable() / self.parallel.max(1) as f64 - self.input_reserved as f64;
        (room >= 0.0).then(|| (room / self.reserved_burndown.max(f64::MIN_POSITIVE)).floor() as u64)
    }

    /// The reservation at admission of one request with max output `m`: `I_res + k × m`.
    fn reservation(&self, m: u64) -> f64 {
        self.input_reserved as f64 + self.reserved_burndown * m as f64
    }

    /// The ceiling: the largest `M` both rules allow (admission alone where output does not
    /// count against the quota).
    pub fn ceiling(&self) -> Option<u64> {
        let admission = self.admission_limit()?;
        if !self.charges_output() {
            return Some(admission);
        }
        Some(self.worst_case_limit()?.min(admission))
    }

    /// Worst-case quota charge of one request that runs to `m`.
    pub fn worst_case_charge(&self, m: u64) -> u64 {
        worst_case_charge(self.input_set, self.burndown, m)
    }

    /// The same budget under the reading that cache reads are not reserved at the start of a
    /// request (`I_res = I_set`).
    pub fn without_cache_reads(&self) -> Self {
        Self { input_reserved: self.input_set, ..*self }
    }

    /// How many requests in flight fit with max output `m` (both rules).
    pub fn max_parallel(&self, m: u64) -> u64 {
        let per_request = (self.worst_case_charge(m) as f64).max(self.reservation(m)).max(1.0);
        (self.usable() / per_request).floor() as u64
    }

    /// The quota that would let `parallel` requests run to `m`: the smallest `Q` with
    /// `P × max(I_set + B·m, I_res + k·m) ≤ u × Q`.
    pub fn quota_needed(&self, m: u64) -> u64 {
        let per_request = (self.worst_case_charge(m) as f64).max(self.reservation(m));
        (self.parallel.max(1) as f64 * per_request / self.headroom).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(q: u64, p: u64, i_set: u64, i_res: u64) -> Budget {
        Budget {
            quota_tpm: q,
            headroom: 1.0,
            parallel: p,
            burndown: 5.0,
            input_set: i_set,
            input_reserved: i_res,
            reserved_burndown: 1.0,
        }
    }

    /// Issue 23, item 5: under a reading that reserves max output at the burndown rate, the
    /// admission rule does too, as the inputs table's "Reserved at admission" says.
    #[test]
    fn admission_follows_the_reading() {
        // u = 0.9, Q = 213,000, P = 4: 47,925 a request; I_res 46,636 leaves 1,289, or 257
        // once max output counts 5×.
        let b = Budget { headroom: 0.9, ..budget(213_000, 4, 4_678, 46_636) };
        assert_eq!(b.admission_limit(), Some(1_289));
        let b = Budget { reserved_burndown: 5.0, ..b };
        assert_eq!(b.admission_limit(), Some(257));
        assert_eq!(b.ceiling(), Some(257));
        // 191,700 over 46,636 + 5 × 7,000 = 81,636: 2 requests fit.
        assert_eq!(b.max_parallel(7_000), 2);
    }

    #[test]
    fn seed_article_arithmetic() {
        // Quota 100,000 TPM at 5× burndown: 10,000 output tokens burn 50,000, 20,000 burn it all.
        let b = budget(100_000, 1, 0, 0);
        assert_eq!(b.worst_case_charge(10_000), 50_000);
        assert_eq!(b.worst_case_charge(20_000), 100_000);
        assert_eq!(b.worst_case_limit(), Some(20_000));
        // Claude Code's default 32,000 can be charged 160,000 in the worst case.
        assert_eq!(b.worst_case_charge(32_000), 160_000);
    }

    #[test]
    fn worst_case_by_hand() {
        // u = 0.9, Q = 200,000, P = 2, I_set = 10,000, B = 5:
        // (0.9 × 200,000 / 2 − 10,000) / 5 = (90,000 − 10,000) / 5 = 16,000.
        let b = Budget { headroom: 0.9, ..budget(200_000, 2, 10_000, 60_000) };
        assert_eq!(b.worst_case_limit(), Some(16_000));
        // Admission: 90,000 − 60,000 = 30,000; the ceiling is the smaller, 16,000.
        assert_eq!(b.admission_limit(), Some(30_000));
        assert_eq!(b.ceiling(), Some(16_000));
        // Check: 2 × (10,000 + 5 × 16,000) = 180,000 = 0.9 × 200,000.
        assert_eq!(2 * b.worst_case_charge(16_000), 180_000);
    }

    #[test]
    fn admission_binds_with_big_context() {
        // Q = 200,000, P = 3, u = 1: per request 66,666.67. I_set 1,000 -> (66,666.67-1,000)/5 = 13,133.
        // I_res 60,000 -> admission 6,666. Ceiling 6,666.
        let b = budget(200_000, 3, 1_000, 60_000);
        assert_eq!(b.worst_case_limit(), Some(13_133));
        assert_eq!(b.admission_limit(), Some(6_666));
        assert_eq!(b.ceiling(), Some(6_666));
    }

    #[test]
    fn context_alone_fills_the_quota() {
        // 4 requests of 60,000 reserved each exceed 200,000 before any output.
        let b = budget(200_000, 4, 10_000, 60_000);
        assert_eq!(b.admission_limit(), None);
        assert_eq!(b.ceiling(), None);
    }

    #[test]
    fn mantle_input_quota_is_admission_alone() {
        // Mantle: output not charged to the input quota (B = 0). Q 400,000, u 0.9, P 6,
        // I_set 4,479: the worst-case rule does not bound M; admission gives
        // 0.9 × 400,000 / 6 − 4,479 = 60,000 − 4,479 = 55,521.
        let b = Budget { headroom: 0.9, burndown: 0.0, ..budget(400_000, 6, 4_479, 4_479) };
        assert!(!b.charges_output());
        assert_eq!(b.worst_case_limit(), None);
        assert_eq!(b.admission_limit(), Some(55_521));
        assert_eq!(b.ceiling(), Some(55_521));
        // Not even M = 0 fits when the inputs alone exceed the quota.
        let full = Budget { input_set: 70_000, input_reserved: 70_000, ..b };
        assert_eq!(full.ceiling(), None);
    }

    #[test]
    fn parallel_and_quota_needed() {
        // Q 200,000, u 1: with M = 8,000, I_set 10,000: charge 50,000 -> 4 in flight;
        // reservation I_res 20,000 + 8,000 = 28,000 is smaller.
        let b = budget(200_000, 6, 10_000, 20_000);
        assert_eq!(b.max_parallel(8_000), 4);
        // 6 in flight at 50,000 each need 300,000.
        assert_eq!(b.quota_needed(8_000), 300_000);
        // With headroom 0.9: 300,000 / 0.9 = 333,333.3 -> 333,334.
        assert_eq!(Budget { headroom: 0.9, ..b }.quota_needed(8_000), 333_334);
    }
}
