//! Candidate values replayed under several readings at once: each value's work is laid out
//! once ([`Schedule`]) and measured at its own pace ([`replay::at_pace`], which can only
//! throttle less as the quota grows) against each reading's planning quota. The choice asks
//! for values one reading at a time ([`Values::under`]); a value measured for one is known
//! for all.

use foldhash::{HashMap, HashMapExt};

use super::choose::Evaluate;
use super::replay::{self, Limit, Outcome, Plan, Quota, Reading, Schedule, Scratch};

/// A bucket nothing ever exhausts: the work at a value without a quota side (cuts only).
pub const ENDLESS: Quota =
    Quota::new(f64::INFINITY, 1.0, Reading { cache_reads_reserved: false, burndown_reservation: false });

/// The replays of candidate values against one quota a view.
pub struct Values<'p> {
    pub(super) plan: &'p Plan,
    quotas: Vec<Quota>,
    done: HashMap<u64, Vec<Outcome>>,
    /// From this value up no response is cut, and one schedule serves every value.
    uncut: Option<(u64, std::sync::OnceLock<Schedule>)>,
    /// The memory of the two threads that replay, reused from value to value.
    memory: [std::sync::Mutex<(Schedule, Scratch)>; 2],
}

impl<'p> Values<'p> {
    /// Replays of `plan` against each of `quotas` (at least one: [`ENDLESS`] without a quota
    /// side).
    pub fn new(plan: &'p Plan, quotas: Vec<Quota>) -> Self {
        let quotas = if quotas.is_empty() { vec![ENDLESS] } else { quotas };
        let uncut = plan.uncut_from().map(|d| (d, std::sync::OnceLock::new()));
        Self { plan, quotas, done: HashMap::new(), uncut, memory: Default::default() }
    }

    /// A value's outcome under every quota, worked out in the memory of `slot` (one per
    /// thread).
    fn measure(&self, value: u64, slot: usize) -> Vec<Outcome> {
        let mut memory = self.memory[slot].lock().expect("replay memory");
        let (own, scratch) = &mut *memory;
        let (schedule, reserving) = match &self.uncut {
            Some((from, shared)) if value >= *from => {
                (shared.get_or_init(|| Schedule::new(self.plan, Limit::Fixed(*from))), Some(value))
            }
            _ => {
                own.lay_out(self.plan, Limit::Fixed(value));
                (&*own, None)
            }
        };
        self.quotas.iter().map(|q| replay::at_pace_with(schedule, q, reserving, scratch)).collect()
    }

    /// Measures the values not measured yet, on two threads.
    pub fn measure_all(&mut self, values: &[u64]) {
        let mut todo: Vec<u64> = values.iter().copied().filter(|v| !self.done.contains_key(v)).collect();
        todo.sort_unstable();
        todo.dedup();
        let (a, b) = todo.split_at(todo.len() / 2);
        let this = &*self;
        let (left, right) = crate::par::join(
            || a.iter().map(|&v| (v, this.measure(v, 1))).collect::<Vec<_>>(),
            || b.iter().map(|&v| (v, this.measure(v, 0))).collect::<Vec<_>>(),
        );
        self.done.extend(left.into_iter().chain(right));
    }

    /// A value's outcome under each quota, in the order given.
    pub fn get(&mut self, value: u64) -> &[Outcome] {
        if !self.done.contains_key(&value) {
            self.measure_all(&[value]);
        }
        &self.done[&value]
    }

    /// The replays as the choice sees them under the quota `view`.
    pub fn under(&mut self, view: usize) -> Under<'_, 'p> {
        Under { values: self, view }
    }
}

/// [`Values`] under one of its quotas.
pub struct Under<'v, 'p> {
    values: &'v mut Values<'p>,
    view: usize,
}

impl Evaluate for Under<'_, '_> {
    fn replay(&mut self, value: u64) -> Outcome {
        self.values.get(value)[self.view]
    }

    fn cuts(&self, value: u64) -> u64 {
        self.values.plan.cuts_at(value)
    }

    fn gave_up(&self, value: u64) -> u64 {
        self.values.plan.gave_up_at(value)
    }

    fn responses(&self) -> u64 {
        self.values.plan.responses_asked()
    }

    fn prefetch(&mut self, values: &[u64]) {
        self.values.measure_all(values);
    }
}
