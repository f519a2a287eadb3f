//! The work at its own pace: every request when it asks to be sent, as if nothing were
//! throttled, counted against the quota (one schedule a max output, every quota).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;

/// One request of the work at a max output, laid out at the pace the work asks for: when,
/// and which part of which job (what it sends and writes is the job's: [`Schedule::part`]).
/// Each replaying thread holds a schedule of the whole history, so it is kept in 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scheduled {
    pub(super) start: EpochMs,
    pub(super) end: EpochMs,
    pub(super) job: u32,
    /// 0 for the job's first request, then its continuations.
    pub(super) part: u8,
}

const _: () = assert!(std::mem::size_of::<Scheduled>() <= 24);

/// What one request of a job sends and writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Part {
    pub(super) input: f64,
    pub(super) cache_read: f64,
    pub(super) written: u64,
}

/// A job's parts at a max output, one after another (a cut part is continued): each worked
/// out in this one order wherever it is needed, so that laying out and replaying see the
/// same sums.
struct Parts {
    input: f64,
    cache_read: f64,
    remaining: Draw,
    max_output: u64,
    known_up_to: u64,
}

impl Parts {
    fn of(job: &Job, max_output: u64, known_up_to: u64) -> Self {
        let (input, cache_read) = job.input();
        Parts { input, cache_read, remaining: job.demand(), max_output, known_up_to }
    }

    /// What this part writes, and whether it is cut: above what the history shows it runs to
    /// the max output, cut only where the history shows that demand is above it.
    fn written(&self) -> (u64, bool) {
        let m = self.max_output;
        match self.remaining {
            Draw::Known(d) => (d.min(m), d > m),
            Draw::Beyond => (m, m <= self.known_up_to),
        }
    }

    /// On to the continuation of this (cut) part.
    fn next(&mut self) {
        self.cache_read += self.input;
        self.input = CONTINUATION_PROMPT + self.max_output as f64;
        self.remaining = match self.remaining {
            Draw::Known(d) => Draw::Known(d.saturating_sub(self.max_output)),
            Draw::Beyond => Draw::Beyond,
        };
    }

    fn part(&self) -> Part {
        Part { input: self.input, cache_read: self.cache_read, written: self.written().0 }
    }
}

/// The history's work at one max output, at its own pace: every request when it asks to be
/// sent, as if nothing were throttled. It depends on the max output, not on the quota, so
/// one schedule serves every quota.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule<'p> {
    /// The plan it lays out (`None` only for an empty schedule not laid out yet).
    plan: Option<&'p Plan>,
    pub(super) requests: Vec<Scheduled>,
    /// The requests by end time.
    pub(super) by_end: Vec<u32>,
    /// Responses, cuts and the peak in flight, which do not depend on the quota.
    pub(super) base: Outcome,
    /// The plan's retry policy.
    pub(super) retry: retries::Policy,
    /// The max output it was laid out at: [`Schedule::max_output`].
    pub(super) limit: Limit,
}

impl<'p> Schedule<'p> {
    /// Lays out the plan's work at `limit`. Nothing slows it down, so no chain waits for
    /// another but a parent for its subagents: each chain is walked on its own, a subagent's
    /// from the end of the job that started it.
    pub fn new(plan: &'p Plan, limit: Limit) -> Self {
        let mut s = Self::default();
        s.lay_out(plan, limit);
        s
    }

    fn plan(&self) -> &'p Plan {
        self.plan.expect("a schedule with requests was laid out from a plan")
    }

    /// The max output request `r` was laid out at.
    pub(super) fn max_output(&self, r: &Scheduled) -> u64 {
        self.limit.of(&self.plan().jobs[r.job as usize])
    }

    /// Whether it is laid out (from its plan) at `limit`.
    pub fn laid_out_at(&self, limit: Limit) -> bool {
        self.plan.is_some() && self.limit == limit
    }

    /// What request `r` sends and writes.
    pub(super) fn part(&self, r: &Scheduled) -> Part {
        let plan = self.plan();
        let mut parts = Parts::of(&plan.jobs[r.job as usize], self.max_output(r), plan.known_up_to);
        for _ in 0..r.part {
            parts.next();
        }
        parts.part()
    }

    /// [`Schedule::new`] into this schedule, reusing its memory: the large vectors of a
    /// replay are allocated once per thread, not once per value.
    pub fn lay_out(&mut self, plan: &'p Plan, limit: Limit) {
        let mut requests = std::mem::take(&mut self.requests);
        requests.clear();
        // A request a job, and a few more for continuations (grown by an eighth at a time, not
        // doubled: a team's schedule is held by each replaying thread).
        requests.reserve_exact(plan.jobs.len());
        let mut w = Walk { plan, limit, requests, base: Outcome::default() };
        for &root in &plan.roots {
            let c = plan.chains[root as usize];
            w.chain(c.first(), c.end(), c.start);
        }
        let Walk { mut requests, mut base, .. } = w;
        // By start, then job (a job's parts start one after another): `order` sorts by buckets
        // of time, in the order a comparison sort of the pairs gives.
        order::sort_by_time(&mut requests, |r| r.start, |r| r.job);
        // By end, ties in the order of the starts.
        let mut by_end = std::mem::take(&mut self.by_end);
        order::indices_by_time(&mut by_end, requests.len(), |i| requests[i].end);
        // The most in flight at once: ends before starts at the same instant.
        let (mut e, mut now) = (0, 0u64);
        for r in &requests {
            while e < by_end.len() && requests[by_end[e] as usize].end <= r.start {
                now -= 1;
                e += 1;
            }
            now += 1;
            base.peak_in_flight = base.peak_in_flight.max(now);
        }
        base.attempts = requests.len() as u64;
        *self = Self { plan: Some(plan), requests, by_end, base, retry: plan.retry, limit };
    }

    /// The same work laid out by the replay's engine with an endless bucket (the reference
    /// the walk is tested against), and what the engine sent and wrote in each request.
    #[cfg(test)]
    pub(super) fn by_engine(plan: &'p Plan, limit: Limit) -> (Self, Vec<Part>) {
        let endless =
            Quota::new(f64::INFINITY, 1.0, Reading { cache_reads_reserved: false, burndown_reservation: false });
        let mut recorded = Vec::with_capacity(plan.jobs.len());
        let base = run_recording(plan, &endless, limit, Some(&mut recorded), u64::MAX, |_| {});
        recorded.sort_unstable_by_key(|(r, _)| (r.start, r.job));
        let (requests, parts): (Vec<Scheduled>, Vec<Part>) = recorded.into_iter().unzip();
        let mut by_end: Vec<u32> = (0..requests.len() as u32).collect();
        by_end.sort_unstable_by_key(|&i| (requests[i as usize].end, i));
        (Self { plan: Some(plan), requests, by_end, base, retry: plan.retry, limit }, parts)
    }
}

/// Lays chains out one by one for [`Schedule::new`].
pub(super) struct Walk<'p> {
    plan: &'p Plan,
    limit: Limit,
    requests: Vec<Scheduled>,
    base: Outcome,
}

impl Walk<'_> {
    /// Lays out the chain of jobs `first..end` from `start`; returns when its last job ended.
    pub(super) fn chain(&mut self, first: usize, end: usize, start: EpochMs) -> EpochMs {
        let mut t = start;
        for k in first..end {
            // A failure asked again: the next job is sent in its place, at its time; the
            // subagents tied to it start from then all the same.
            if self.plan.skips(k, self.limit) {
                self.children(k, t);
                continue;
            }
            let done = self.job(k, t);
            let link = self.plan.link(k);
            let last_child = self.children(k, done);
            let (from, to) = link.children;
            t = if k + 1 >= end {
                done
            } else if let (Some(join), true) = (link.join, to > from) {
                last_child + join
            } else {
                done + self.plan.jobs[k + 1].gap
            };
        }
        t
    }

    /// Lays out the subagent chains of job `k` done at `t` (each its anchor's offset later);
    /// returns when the last of them ended.
    fn children(&mut self, k: usize, t: EpochMs) -> EpochMs {
        let (from, to) = self.plan.link(k).children;
        let mut last_child = EpochMs::MIN;
        for &child in &self.plan.children[from as usize..to as usize] {
            let c = self.plan.chains[child as usize];
            let offset = c.anchor().map_or(0, |a| a.offset);
            last_child = last_child.max(self.chain(c.first(), c.end(), t + offset));
        }
        last_child
    }

    /// Lays out one job (and its continuations) sent at `t`; returns when it was done.
    pub(super) fn job(&mut self, k: usize, mut t: EpochMs) -> EpochMs {
        let job = self.plan.jobs[k];
        let mut parts = Parts::of(&job, self.limit.of(&job), self.plan.known_up_to);
        for part in 0..=retries::MAX_CONTINUATIONS {
            let (written, cut) = parts.written();
            if part == 0 {
                self.base.responses += 1;
                self.base.cut += u64::from(cut);
                self.base.beyond += u64::from(parts.remaining == Draw::Beyond && !cut);
            }
            let first = if part == 0 { job.first_token_ms } else { job.first_token_ms.min(1_000.0) };
            let end = t + round_ms(first + written as f64 * job.ms_per_token).max(1);
            if self.requests.len() == self.requests.capacity() {
                self.requests.reserve_exact(self.requests.len() / 8 + 64);
            }
            self.requests.push(Scheduled { start: t, end, job: k as u32, part: part as u8 });
            t = end;
            if !cut {
                break;
            }
            parts.next();
        }
        t
    }
}

/// The work of a [`Schedule`] against `quota`, at its own pace: each request takes its
/// reservation when it asks to, admitted or not, and is throttled while the bucket, less what
/// the others hold, cannot hold it; it is retried on Claude Code's schedule and fails after
/// the last retry. Throttling does not slow the work down here, so the counts are what the
/// work asks of the quota; because of that they can only fall as the quota grows.
pub fn at_pace(schedule: &Schedule, quota: &Quota) -> Outcome {
    at_pace_reserving(schedule, quota, None)
}

/// [`at_pace`], each request reserving `max_output` instead of the value it was laid out at
/// (the same work: see [`Plan::uncut_from`]).
pub fn at_pace_reserving(schedule: &Schedule, quota: &Quota, max_output: Option<u64>) -> Outcome {
    SCRATCH.with_borrow_mut(|scratch| at_pace_with(schedule, quota, max_output, scratch))
}

/// The memory [`at_pace`] works in: kept from one call to the next.
#[derive(Debug, Default)]
pub struct Scratch {
    /// For each quota swept at once, the retries due, earliest first: when, the request (its
    /// place in the schedule) and which retry. Only throttled requests have one, one at a
    /// time.
    waiting: Vec<BinaryHeap<Reverse<(EpochMs, u32, u32)>>>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// [`at_pace_reserving`] in the given memory.
pub fn at_pace_with(schedule: &Schedule, quota: &Quota, max_output: Option<u64>, scratch: &mut Scratch) -> Outcome {
    at_pace_each(schedule, std::slice::from_ref(quota), max_output, scratch)[0]
}

/// [`at_pace_reserving`] against each of `quotas`, in the given memory.
///
/// One sweep through the starts and ends in time order (ends first at equal times) takes
/// each reservation when it is asked for and gives back the difference to the charge at
/// the end. A request whose start leaves the level below zero was refused: its retries are
/// due later, each checked once the sweep has passed every start and end at or before it,
/// against the level they left, refilled since (plus what the request holds itself: its
/// reservation, or once it would have ended, its charge).
///
/// The quotas are swept side by side, each with its own level and retries: what each start
/// or end sends and writes is read from the plan once for all of them (that reading, a job
/// of a million chosen by time, is most of a sweep's cost). Each quota sees the same steps
/// in the same order as a sweep of its own.
pub fn at_pace_each(
    schedule: &Schedule,
    quotas: &[Quota],
    max_output: Option<u64>,
    scratch: &mut Scratch,
) -> Vec<Outcome> {
    let reqs = &schedule.requests;
    let ends = &schedule.by_end;
    let max_output_of = |r: &Scheduled| max_output.unwrap_or_else(|| schedule.max_output(r));
    let mut sweeps: Vec<Sweep> = quotas.iter().map(|quota| Sweep::new(schedule, quota)).collect();
    scratch.waiting.resize_with(quotas.len(), BinaryHeap::new);
    let waiting = &mut scratch.waiting[..quotas.len()];
    waiting.iter_mut().for_each(BinaryHeap::clear);
    let mut at = reqs.first().map_or(0, |r| r.start);
    let (mut si, mut ei) = (0, 0);
    while si < reqs.len() || ei < ends.len() {
        let end_first = ei < ends.len() && (si >= reqs.len() || reqs[ends[ei] as usize].end <= reqs[si].start);
        let i = if end_first { ends[ei] as usize } else { si };
        let r = &reqs[i];
        let t = if end_first { r.end } else { r.start };
        let (p, m) = (schedule.part(r), max_output_of(r));
        for (s, waiting) in sweeps.iter_mut().zip(waiting.iter_mut()) {
            // The retries due before this start or end see the level the earlier ones left.
            while let Some(&Reverse(due)) = waiting.peek()
                && due.0 < t
            {
                waiting.pop();
                s.retry(schedule, waiting, due, at, max_output_of);
            }
            s.level = (s.level + (t - at).max(0) as f64 * s.per_ms).min(s.q);
            let reserve = s.quota.reserves(p.input, p.cache_read, m);
            if end_first {
                s.level = (s.level + reserve - s.quota.charges(p.input, p.written)).min(s.q);
            } else {
                // Its first attempt: admitted when the level its reservation left is not below
                // zero (the level before, less the reservation, is at least zero exactly when
                // the level before was at least the reservation: a floating-point difference
                // is zero only for equal numbers).
                s.level -= reserve;
                s.out.attempts += 1;
                if !(s.level >= 0.0 && s.output_open(schedule, r, r.start)) {
                    s.refused(schedule, waiting, i, 1, r.start);
                }
            }
        }
        at = at.max(t);
        if end_first {
            ei += 1;
        } else {
            si += 1;
        }
    }
    // Retries due after the last end: the level only refills.
    for (s, waiting) in sweeps.iter_mut().zip(waiting.iter_mut()) {
        while let Some(Reverse(due)) = waiting.pop() {
            s.retry(schedule, waiting, due, at, max_output_of);
        }
    }
    sweeps.into_iter().map(|s| s.out).collect()
}

/// One quota's sweep in [`at_pace_each`]: its level and outcome so far.
struct Sweep<'q> {
    quota: &'q Quota,
    q: f64,
    per_ms: f64,
    /// The level the last start or end left.
    level: f64,
    out: Outcome,
    /// An output quota's level through time: what each response wrote, taken when it ended.
    output: Option<OutputLevel>,
}

impl<'q> Sweep<'q> {
    fn new(schedule: &Schedule, quota: &'q Quota) -> Self {
        let out = Outcome { attempts: 0, ..schedule.base };
        let output = quota.output_tpm.map(|o| OutputLevel::new(schedule, o));
        Sweep { quota, q: quota.tpm, per_ms: quota.tpm / 60_000.0, level: quota.tpm, out, output }
    }

    /// Whether the output quota lets request `r` in at `t` (what it wrote itself, if it ended
    /// by then, given back).
    fn output_open(&self, schedule: &Schedule, r: &Scheduled, t: EpochMs) -> bool {
        self.output
            .as_ref()
            .is_none_or(|o| o.at(t) + if t >= r.end { schedule.part(r).written as f64 } else { 0.0 } > 0.0)
    }

    /// A refused attempt `k` of request `i` at `t`: the retry after it is due, or the request
    /// fails for good.
    fn refused(
        &mut self,
        schedule: &Schedule,
        waiting: &mut BinaryHeap<Reverse<(EpochMs, u32, u32)>>,
        i: usize,
        k: u32,
        t: EpochMs,
    ) {
        self.out.throttled_attempts += 1;
        if k > schedule.retry.retries {
            self.out.failed += 1;
            return;
        }
        let job = schedule.requests[i].job as usize;
        let delay = schedule.retry.delay_ms(k) as f64 * (1.0 + retries::JITTER * jitter(job, k));
        waiting.push(Reverse((t + round_ms(delay), i as u32, k)));
    }

    /// Retry `k` of request `i` at `t`, against the level the last start or end at or before
    /// `t` left (at `at`).
    fn retry(
        &mut self,
        schedule: &Schedule,
        waiting: &mut BinaryHeap<Reverse<(EpochMs, u32, u32)>>,
        (t, i, k): (EpochMs, u32, u32),
        at: EpochMs,
        max_output_of: impl Fn(&Scheduled) -> u64,
    ) {
        let r = &schedule.requests[i as usize];
        self.out.attempts += 1;
        let p = schedule.part(r);
        let need = self.quota.reserves(p.input, p.cache_read, max_output_of(r));
        let holds = if t < r.end { need } else { self.quota.charges(p.input, p.written) };
        let level_then = (self.level + (t - at) as f64 * self.per_ms).min(self.q);
        if !((level_then + holds).min(self.q) >= need && self.output_open(schedule, r, t)) {
            self.refused(schedule, waiting, i as usize, k + 1, t);
        }
    }
}

/// The level of an output quota through a schedule: full at the first request, each
/// response's output taken when it ends (it may run into debt), refilled in between.
pub(super) struct OutputLevel {
    marks: Vec<(EpochMs, f64)>,
    capacity: f64,
    per_ms: f64,
}

impl OutputLevel {
    pub(super) fn new(schedule: &Schedule, tpm: f64) -> Self {
        let per_ms = tpm / 60_000.0;
        let mut at = schedule.requests.first().map_or(0, |r| r.start);
        let mut level = tpm;
        let mut marks = vec![(at, level)];
        for &e in &schedule.by_end {
            let r = &schedule.requests[e as usize];
            level = (level + (r.end - at).max(0) as f64 * per_ms).min(tpm) - schedule.part(r).written as f64;
            at = at.max(r.end);
            marks.push((at, level));
        }
        OutputLevel { marks, capacity: tpm, per_ms }
    }

    /// The level at `t`: the last mark at or before it, refilled since.
    pub(super) fn at(&self, t: EpochMs) -> f64 {
        let k = self.marks.partition_point(|m| m.0 <= t);
        let (at, level) = self.marks[k.saturating_sub(1)];
        (level + (t - at).max(0) as f64 * self.per_ms).min(self.capacity)
    }
}
