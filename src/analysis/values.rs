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
    uncut_from: Option<u64>,
    /// The memory of the two threads that replay, reused from value to value: each thread's
    /// schedule and scratch.
    memory: [std::sync::Mutex<(Schedule<'p>, Scratch)>; 2],
}

impl<'p> Values<'p> {
    /// Replays of `plan` against each of `quotas` (at least one: [`ENDLESS`] without a quota
    /// side).
    pub fn new(plan: &'p Plan, quotas: Vec<Quota>) -> Self {
        let quotas = if quotas.is_empty() { vec![ENDLESS] } else { quotas };
        Self { plan, quotas, done: HashMap::new(), uncut_from: plan.uncut_from(), memory: Default::default() }
    }

    /// A value's outcome under every quota, worked out in the memory of `slot` (one per
    /// thread).
    fn measure(&self, value: u64, slot: usize) -> Vec<Outcome> {
        let mut memory = self.memory[slot].lock().expect("replay memory");
        let (schedule, scratch) = &mut *memory;
        // A thread lays the schedule of values from `uncut_from` up out once for a run of
        // them (values come to a thread in order), and holds no third schedule beside the two
        // threads' own.
        let (limit, reserving) = self.limit_of(value);
        if !schedule.laid_out_at(limit) {
            schedule.lay_out(self.plan, limit);
        }
        replay::at_pace_each(schedule, &self.quotas, reserving, scratch)
    }

    /// One value's outcomes with both threads on it: its schedule laid out once (in the
    /// memory of the thread that holds it already, if one does), and the quotas shared out,
    /// each thread sweeping its half in its own scratch. (A value measured by one thread
    /// would leave the other idle: the searches often ask for one value, or an odd number.)
    fn measure_shared(&self, value: u64) -> Vec<Outcome> {
        if self.quotas.len() < 2 {
            return self.measure(value, 0);
        }
        let (limit, reserving) = self.limit_of(value);
        let mut slots = self.memory.each_ref().map(|m| m.lock().expect("replay memory"));
        let [first, second] = &mut slots;
        let (ours, theirs) = if second.0.laid_out_at(limit) { (second, first) } else { (first, second) };
        let (schedule, scratch) = &mut **ours;
        if !schedule.laid_out_at(limit) {
            schedule.lay_out(self.plan, limit);
        }
        let schedule = &*schedule;
        let (left, right) = self.quotas.split_at(self.quotas.len() / 2);
        let other = &mut theirs.1;
        let (right, mut all) = crate::par::join(
            || replay::at_pace_each(schedule, right, reserving, other),
            || replay::at_pace_each(schedule, left, reserving, scratch),
        );
        all.extend(right);
        all
    }

    /// The schedule a value is measured on, and what each request reserves on it when that
    /// is not the schedule's own value: values from `uncut_from` up share the schedule at it,
    /// each reserving its own value.
    fn limit_of(&self, value: u64) -> (Limit, Option<u64>) {
        match self.uncut_from {
            Some(from) if value >= from => (Limit::Fixed(from), Some(value)),
            _ => (Limit::Fixed(value), None),
        }
    }

    /// Measures the values not measured yet, on two threads: two at a time, each thread its
    /// own, and an odd one out by both (`measure_shared`).
    pub fn measure_all(&mut self, values: &[u64]) {
        let mut todo: Vec<u64> = values.iter().copied().filter(|v| !self.done.contains_key(v)).collect();
        todo.sort_unstable();
        todo.dedup();
        let odd = (todo.len() % 2 == 1).then(|| todo.pop()).flatten();
        let (a, b) = todo.split_at(todo.len() / 2);
        let this = &*self;
        let (left, right) = crate::par::join(
            || a.iter().map(|&v| (v, this.measure(v, 1))).collect::<Vec<_>>(),
            || b.iter().map(|&v| (v, this.measure(v, 0))).collect::<Vec<_>>(),
        );
        self.done.extend(left.into_iter().chain(right));
        if let Some(v) = odd {
            let outcomes = self.measure_shared(v);
            self.done.insert(v, outcomes);
        }
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
        self.values.plan.len() as u64
    }

    fn prefetch(&mut self, values: &[u64]) {
        self.values.measure_all(values);
    }
}
