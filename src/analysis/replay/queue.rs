//! The history replayed as it was: each chain's requests queued against the quota's bucket,
//! refused attempts retried on Claude Code's schedule, throttling delaying the work.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use super::*;

/// The bucket: a level refilled continuously, never above capacity.
pub(super) struct Bucket {
    level: f64,
    capacity: f64,
    per_ms: f64,
    at: EpochMs,
}

impl Bucket {
    /// A full bucket of `tpm` a minute at `at`.
    pub(super) fn full(tpm: f64, at: EpochMs) -> Self {
        Bucket { level: tpm, capacity: tpm, per_ms: tpm / 60_000.0, at }
    }

    pub(super) fn refill(&mut self, t: EpochMs) {
        if t > self.at {
            self.level = (self.level + (t - self.at) as f64 * self.per_ms).min(self.capacity);
            self.at = t;
        }
    }
}

/// The chains waiting for their next event, earliest first, a chain's place breaking ties.
///
/// An entry is its time and chain in one `u128` that orders as the pair does (the time's
/// sign bit flipped, above the chain), so that the heap compares one number. Nearly every
/// event puts the chain it happened to back in the queue, later: that entry is held beside
/// the heap, and the next pop takes it without touching the heap when it comes first, or
/// else puts it in the top's place (one sift down) instead of a pop and a push. Equal entries
/// are the same chain at the same time, so the order of events is the same as one heap's.
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<u128>>,
    held: Option<u128>,
}

impl Queue {
    fn entry(at: EpochMs, ci: usize) -> u128 {
        (u128::from(at as u64 ^ (1 << 63)) << 32) | u128::from(ci as u32)
    }

    fn time(entry: u128) -> EpochMs {
        ((entry >> 32) as u64 ^ (1 << 63)) as EpochMs
    }

    fn push(&mut self, at: EpochMs, ci: usize) {
        let entry = Self::entry(at, ci);
        match self.held {
            None => self.held = Some(entry),
            Some(_) => self.heap.push(Reverse(entry)),
        }
    }

    /// When the earliest entry is due.
    fn next_time(&self) -> Option<EpochMs> {
        let top = self.heap.peek().map(|e| e.0);
        self.held.into_iter().chain(top).min().map(Self::time)
    }

    /// The earliest entry, taken out: when it was due, and its chain.
    fn pop(&mut self) -> Option<(EpochMs, usize)> {
        let entry = match (self.held.take(), self.heap.peek_mut()) {
            (Some(h), Some(mut top)) if top.0 < h => std::mem::replace(&mut *top, Reverse(h)).0,
            (Some(h), _) => h,
            (None, Some(top)) => PeekMut::pop(top).0,
            (None, None) => return None,
        };
        Some((Self::time(entry), entry as u32 as usize))
    }
}

/// Where a chain is.
#[derive(Clone, Copy)]
pub(super) struct State {
    job: usize,
    end: usize,
    /// Attempts refused so far for the current request.
    refused: u32,
    /// Continuations sent for the current response.
    continuations: u32,
    /// The current request (a continuation has its own sizes and remaining demand).
    input: f64,
    cache_read: f64,
    remaining: Draw,
    /// Set while a response is in flight: what was reserved, what it will be charged,
    /// whether it is cut, and what it writes.
    flight: Option<(f64, f64, bool, u64)>,
    /// Subagents still running that the next job waits for.
    waiting: u32,
}

impl State {
    pub(super) fn at(plan: &Plan, job: usize, end: usize) -> Self {
        let j = plan.jobs[job];
        let (input, cache_read) = j.input();
        State {
            job,
            end,
            refused: 0,
            continuations: 0,
            input,
            cache_read,
            remaining: j.demand(),
            flight: None,
            waiting: 0,
        }
    }
}

/// The replay's clock and the chains on it.
pub(super) struct Run<'p> {
    plan: &'p Plan,
    states: Vec<State>,
    queue: Queue,
    limit: Limit,
}

impl Run<'_> {
    /// A job is done (answered, given up or failed) at `t`: start the subagents it started,
    /// then go on to the chain's next job (after the gap, or after its subagents).
    pub(super) fn job_done(&mut self, ci: usize, t: EpochMs) {
        let plan = self.plan;
        let link = plan.link(self.states[ci].job);
        let (from, to) = link.children;
        self.start_children(from, to, t);
        let st = &mut self.states[ci];
        if st.job + 1 >= st.end {
            self.chain_done(ci, t);
        } else if link.join.is_some() && to > from {
            st.waiting = to - from;
        } else {
            let gap = plan.jobs[st.job + 1].gap;
            self.advance(ci, t + gap);
        }
    }

    /// Starts the subagent chains `children[from..to]` of a job done (or skipped) at `t`,
    /// each its anchor's offset later.
    fn start_children(&mut self, from: u32, to: u32, t: EpochMs) {
        let plan = self.plan;
        for &child in &plan.children[from as usize..to as usize] {
            let c = plan.chains[child as usize];
            let offset = c.anchor().map_or(0, |a| a.offset);
            self.enter(child as usize, c.first(), t + offset);
        }
    }

    /// Puts chain `ci` at its first job from `k` that the replay runs, sent at `at`. The
    /// failures asked again it skips at a value start their subagents at `at` all the same:
    /// the job sent in their place stands for them, and the subagents are not lost.
    fn enter(&mut self, ci: usize, k: usize, at: EpochMs) {
        let plan = self.plan;
        let next = plan.next_asked(k, self.limit);
        self.states[ci] = State::at(plan, next, plan.chains[ci].end());
        for skipped in k..next.min(plan.chains[ci].end()) {
            let (from, to) = plan.link(skipped).children;
            self.start_children(from, to, at);
        }
        self.queue.push(at, ci);
    }

    /// Moves a chain to its next job, sent at `at` (a failure asked again is skipped at a
    /// value: the job after it is sent in its place).
    pub(super) fn advance(&mut self, ci: usize, at: EpochMs) {
        let next = self.states[ci].job + 1;
        self.enter(ci, next, at);
    }

    /// A chain has no more jobs: a parent waiting for it may go on.
    pub(super) fn chain_done(&mut self, ci: usize, t: EpochMs) {
        let Some(Anchor { job: parent_job, chain: parent, .. }) = self.plan.chains[ci].anchor() else { return };
        let st = &mut self.states[parent];
        if st.job == parent_job && st.waiting > 0 {
            st.waiting -= 1;
            if st.waiting == 0 {
                let join = self.plan.link(parent_job).join.unwrap_or(0);
                self.advance(parent, t + join);
            }
        }
    }
}

/// Runs the plan at `limit` against `quota`, throttling slowing the work down as it does in
/// Claude Code: the history as it would have happened.
pub fn run(plan: &Plan, quota: &Quota, limit: Limit) -> Outcome {
    run_recording(plan, quota, limit, None, u64::MAX, |_| {})
}

/// [`run`]'s throttled attempts, counted until there are more than `most`: the count, or a
/// count above `most` where the whole run would have had at least that many (a search that
/// asks only whether a quota throttles at most `most` attempts stops there).
pub fn throttled_beyond(plan: &Plan, quota: &Quota, limit: Limit, most: u64) -> u64 {
    run_recording(plan, quota, limit, None, most, |_| {}).throttled_attempts
}

/// [`run`], telling `refused` the job (an index into the plan's jobs, as [`Plan::history`]
/// lists them) of every refused attempt.
pub fn run_tally(plan: &Plan, quota: &Quota, limit: Limit, refused: impl FnMut(usize)) -> Outcome {
    run_recording(plan, quota, limit, None, u64::MAX, refused)
}

/// [`run`], recording every request it admits when `record` is given, and stopping (the
/// outcome so far) at the first throttled attempt beyond `most_throttled`.
pub(super) fn run_recording(
    plan: &Plan,
    quota: &Quota,
    limit: Limit,
    mut record: Option<&mut Vec<(Scheduled, Part)>>,
    most_throttled: u64,
    mut refused: impl FnMut(usize),
) -> Outcome {
    let mut out = Outcome::default();
    let start = plan.roots.first().map_or(0, |&c| plan.chains[c as usize].start);
    let mut bucket = Bucket::full(quota.tpm, start);
    let mut output = quota.output_tpm.map(|o| Bucket::full(o, start));
    let mut r = Run {
        plan,
        states: plan.chains.iter().map(|c| State::at(plan, plan.next_asked(c.first(), limit), c.end())).collect(),
        queue: Queue::default(),
        limit,
    };
    let mut next_root = 0;
    let mut in_flight = 0u64;
    loop {
        // Chains join the queue when their start comes, so that it stays short.
        let top = r.queue.next_time();
        if let Some(&root) = plan.roots.get(next_root)
            && top.is_none_or(|t| plan.chains[root as usize].start <= t)
        {
            let c = plan.chains[root as usize];
            r.enter(root as usize, c.first(), c.start);
            next_root += 1;
            continue;
        }
        let Some((t, ci)) = r.queue.pop() else { break };
        let st = &mut r.states[ci];
        let job = plan.jobs[st.job];
        let max_output = limit.of(&job);
        bucket.refill(t);
        if let Some(o) = output.as_mut() {
            o.refill(t);
        }
        if let Some((reserved, charge, cut, written)) = st.flight.take() {
            // The response ends: settle, then continue it, or the job is done.
            bucket.level = (bucket.level + reserved - charge).min(bucket.capacity);
            // What it wrote counts against an output quota, which may run into debt.
            if let Some(o) = output.as_mut() {
                o.level -= written as f64;
            }
            in_flight -= 1;
            if cut && st.continuations < retries::MAX_CONTINUATIONS {
                st.continuations += 1;
                st.cache_read += st.input;
                st.input = CONTINUATION_PROMPT + max_output as f64;
                st.remaining = match st.remaining {
                    Draw::Known(d) => Draw::Known(d.saturating_sub(max_output)),
                    Draw::Beyond => Draw::Beyond,
                };
                r.queue.push(t, ci);
            } else {
                r.job_done(ci, t);
            }
            continue;
        }
        // An attempt.
        out.attempts += 1;
        let reservation = quota.reserves(st.input, st.cache_read, max_output);
        if bucket.level >= reservation && output.as_ref().is_none_or(|o| o.level > 0.0) {
            bucket.level -= reservation;
            in_flight += 1;
            out.peak_in_flight = out.peak_in_flight.max(in_flight);
            let (written, cut) = match st.remaining {
                Draw::Known(d) => (d.min(max_output), d > max_output),
                // Above what the history shows: run to the max output; cut only where the
                // history shows that demand is above it.
                Draw::Beyond => (max_output, max_output <= plan.known_up_to),
            };
            if st.continuations == 0 {
                out.responses += 1;
                out.cut += u64::from(cut);
                out.beyond += u64::from(st.remaining == Draw::Beyond && !cut);
            }
            let charge = quota.charges(st.input, written);
            st.flight = Some((reservation, charge, cut, written));
            st.refused = 0;
            let first = if st.continuations == 0 { job.first_token_ms } else { job.first_token_ms.min(1_000.0) };
            let duration = round_ms(first + written as f64 * job.ms_per_token);
            if let Some(rec) = record.as_deref_mut() {
                rec.push((
                    Scheduled { start: t, end: t + duration.max(1), job: st.job as u32, part: st.continuations as u8 },
                    Part { input: st.input, cache_read: st.cache_read, written },
                ));
            }
            r.queue.push(t + duration.max(1), ci);
            continue;
        }
        out.throttled_attempts += 1;
        refused(st.job);
        if out.throttled_attempts > most_throttled {
            break;
        }
        st.refused += 1;
        if st.refused <= plan.retry.retries {
            let delay = plan.retry.delay_ms(st.refused) as f64 * (1.0 + retries::JITTER * jitter(st.job, st.refused));
            r.queue.push(t + round_ms(delay), ci);
            continue;
        }
        out.failed += 1;
        if st.continuations == 0 {
            out.responses += 1;
        }
        r.job_done(ci, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes and pops interleaved as a replay makes them come out in the order of the pairs
    /// (time, chain), as from one heap of pairs: times of either sign and at the extremes,
    /// ties in time broken by the chain, the held entry first or not.
    #[test]
    fn the_queue_pops_in_the_order_of_time_then_chain() {
        let mut queue = Queue::default();
        let mut pairs = BinaryHeap::new();
        let times = [i64::MIN, -86_400_000, -1, 0, 1, 7, 1_765_000_000_000, i64::MAX];
        let mut popped = Vec::new();
        for step in 0..4_000usize {
            let x = jitter(step, 9);
            if x < 0.55 {
                let (at, ci) = (times[(x * 1e6) as usize % times.len()], (x * 1e9) as usize % 50);
                queue.push(at, ci);
                pairs.push(Reverse((at, ci)));
            } else {
                let want = pairs.pop().map(|Reverse(p)| p);
                assert_eq!(queue.next_time(), want.map(|p| p.0), "step {step}");
                assert_eq!(queue.pop(), want, "step {step}");
                popped.extend(want);
            }
        }
        while let Some(Reverse(want)) = pairs.pop() {
            assert_eq!(queue.pop(), Some(want));
        }
        assert_eq!((queue.pop(), queue.next_time()), (None, None));
        // The run went through every time and through ties.
        assert!(times.iter().all(|t| popped.iter().any(|p| p.0 == *t)));
        assert!(popped.windows(2).any(|w| w[0].0 == w[1].0 && w[0].1 < w[1].1));
    }
}
