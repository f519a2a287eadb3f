//! The replay: the history's chains run again against a quota at another max output.
//!
//! The quota is a token bucket (`quota-model.md`): capacity `Q` tokens, refilled continuously
//! at `Q` a minute, never above `Q`, full at the start. A request's attempt is admitted when
//! the bucket holds its reservation (input and cache-write tokens, cache reads under one
//! reading, and the max output at the burndown rate or plainly, under the other reading),
//! which is taken out; when the response ends, the charge settles at
//! `input + cache-write + burndown × output written` and the difference goes back. A refused
//! attempt takes nothing and comes back on Claude Code's retry schedule; after the last retry
//! the request fails for good. A response whose demand is above the max output is cut there
//! and continued at once, up to three times ([`retries`]).
//!
//! Each chain keeps its own rhythm: its first request at the time it was sent, each next one
//! the history's gap after the previous one ended. Throttling, durations and cuts come out of
//! the replay; the gaps (tool and user time) do not depend on max output.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::chains::{Chain, DEFAULT_FIRST_TOKEN_MS, DEFAULT_MS_PER_TOKEN};
use super::demand::{Draw, Estimate, spread};
use super::limits::{Unit, UnitKind};
use super::retries;
use crate::time::EpochMs;

/// Input tokens of a continuation request beyond the output it continues (the recovery prompt).
const CONTINUATION_PROMPT: f64 = 30.0;
/// Output speed measured on a response is kept within these bounds (ms per token).
const MS_PER_TOKEN_RANGE: (f64, f64) = (1.0, 200.0);

pub use crate::reading::Reading;

/// The max output a replay runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Each request at the limit in effect when it was sent: the history as it was.
    AsRecorded,
    /// Every request at this value.
    Fixed(u64),
}

/// The quota side of a replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Tokens a minute (the bucket's capacity and refill).
    pub tpm: f64,
    /// Quota tokens each output token burns.
    pub burndown: f64,
    pub reading: Reading,
    /// Bedrock Mantle's output quota (tokens a minute), a second bucket: output counts
    /// against it as it is written (here: when the response ends), and a request is refused
    /// while it is empty. `tpm` is then the input quota, charged nothing for output
    /// (`burndown` 0). `None`: one bucket.
    pub output_tpm: Option<f64>,
}

impl Quota {
    /// One bucket of `tpm` a minute.
    pub const fn new(tpm: f64, burndown: f64, reading: Reading) -> Self {
        Quota { tpm, burndown, reading, output_tpm: None }
    }
}

/// One unit of work as the replay runs it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Job {
    /// Time after the previous job of the chain ended (for a chain's first job: its start).
    gap: i64,
    input: f64,
    cache_read: f64,
    demand: Draw,
    first_token_ms: f64,
    ms_per_token: f64,
    /// The limit in effect in the history.
    limit_then: u64,
    /// The history's throttled attempts of this unit of work (every request of it), and
    /// whether it failed for good.
    throttled_then: u32,
    failed_then: bool,
    /// It failed for good and the user's next prompt in its chain asked again: at a value
    /// where it had succeeded neither the failure nor the second asking would exist, so
    /// replays at a value ([`Limit::Fixed`]) leave it out and send the next job in its
    /// place. The history as it was ([`Limit::AsRecorded`]) keeps it.
    reasked: bool,
    /// The subagent chains it started (`Plan::children[from..to]`).
    children: (u32, u32),
    /// When the chain's next job waited for those subagents: how long after the last of them
    /// ended it was sent.
    join: Option<i64>,
}

/// One chain of the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlanChain {
    /// When its first job was sent (a subagent's: see `anchor`).
    start: EpochMs,
    /// Its jobs: `Plan::jobs[first..end]`.
    first: usize,
    end: usize,
    /// A subagent's start: this long after the parent's job (its index in `Plan::jobs`) ended.
    anchor: Option<(usize, i64)>,
}

/// The work of one model's chains, ready to replay any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    chains: Vec<PlanChain>,
    jobs: Vec<Job>,
    /// Chains started by the subagent tool of a job (indices into `chains`).
    children: Vec<u32>,
    /// The chains that start on their own, by start time.
    roots: Vec<u32>,
    /// Above this the history cannot tell what responses wanted.
    pub known_up_to: u64,
    /// How Claude Code retries a refused request under the settings in effect.
    pub retry: retries::Policy,
}

/// What a replay counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Requests sent, every attempt counted.
    pub attempts: u64,
    /// Attempts the bucket refused.
    pub throttled_attempts: u64,
    /// Requests refused on every attempt.
    pub failed: u64,
    /// Responses asked for (a cut and continued one counts once).
    pub responses: u64,
    /// Responses cut at least once.
    pub cut: u64,
    /// Responses whose demand lies above what the history shows, run to the max output: the
    /// replay cannot tell whether they would be cut.
    pub beyond: u64,
    /// The most requests in flight at once.
    pub peak_in_flight: u64,
}

impl Outcome {
    /// Refused attempts as a share of all attempts.
    pub fn throttled_share(&self) -> f64 {
        if self.attempts == 0 { 0.0 } else { self.throttled_attempts as f64 / self.attempts as f64 }
    }
    pub fn cut_share(&self) -> f64 {
        if self.responses == 0 { 0.0 } else { self.cut as f64 / self.responses as f64 }
    }
}

impl Plan {
    /// The plan of `kept` (one model's units, in chain order), with demands drawn from
    /// `demand` for the units whose demand the history does not show exactly.
    pub fn new(chains: &[Chain], kept: &[&Unit], demand: &Estimate) -> Self {
        // What a unit without a response gets: the model's medians.
        let mut inputs: Vec<u64> = Vec::new();
        let mut reads: Vec<u64> = Vec::new();
        let mut speeds: Vec<f64> = Vec::new();
        for u in kept.iter().filter(|u| matches!(u.kind, UnitKind::Response { .. })) {
            let first = &chains[u.chain].requests[u.first];
            inputs.push(first.input);
            reads.push(first.cache_read);
            if let (_, Some(mpt)) = speed(chains, u) {
                speeds.push(mpt);
            }
        }
        let median_u = |v: &mut Vec<u64>| {
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0) as f64
        };
        let (input, read) = (median_u(&mut inputs), median_u(&mut reads));
        speeds.sort_by(f64::total_cmp);
        let mpt = speeds.get(speeds.len() / 2).copied().unwrap_or(DEFAULT_MS_PER_TOKEN);

        let mut plan = Plan {
            chains: Vec::new(),
            jobs: Vec::with_capacity(kept.len()),
            children: Vec::new(),
            roots: Vec::new(),
            known_up_to: demand.known_up_to,
            retry: retries::Policy::default(),
        };
        // Each job's history: its chain (in `chains`), when it was sent and when it ended.
        let mut history: Vec<(usize, EpochMs, EpochMs)> = Vec::with_capacity(kept.len());
        let mut draws = 0u64;
        let mut draw = |above: u64| {
            draws += 1;
            demand.draw_above(above, spread(draws - 1))
        };
        for (k, &u) in kept.iter().enumerate() {
            let next = kept.get(k + 1);
            let c = &chains[u.chain];
            let (start, end) = (c.requests[u.first].start, c.requests[u.last].end);
            let gap = match history.last() {
                Some(&(chain, _, prev_end)) if chain == u.chain => (start - prev_end).max(0),
                _ => {
                    let at = plan.jobs.len();
                    plan.chains.push(PlanChain { start, first: at, end: at, anchor: None });
                    start
                }
            };
            history.push((u.chain, start, end));
            let job = match u.kind {
                UnitKind::Response { output, complete, .. } => {
                    let first = &c.requests[u.first];
                    let (first_token_ms, ms_per_token) = match speed(chains, u) {
                        (ft, Some(m)) => (ft, m),
                        (ft, None) => (ft, mpt),
                    };
                    Job {
                        gap,
                        input: first.input as f64,
                        cache_read: first.cache_read as f64,
                        demand: if complete { Draw::Known(output) } else { draw(output.max(u.limit)) },
                        first_token_ms,
                        ms_per_token,
                        limit_then: u.limit,
                        throttled_then: throttled_of(c, u),
                        failed_then: false,
                        reasked: false,
                        children: (0, 0),
                        join: None,
                    }
                }
                UnitKind::Failed => Job {
                    gap,
                    input,
                    cache_read: read,
                    demand: draw(0),
                    first_token_ms: DEFAULT_FIRST_TOKEN_MS as f64,
                    ms_per_token: mpt,
                    limit_then: u.limit,
                    throttled_then: throttled_of(c, u),
                    failed_then: true,
                    // A failure the user asked again after: the chain's next unit.
                    reasked: next.is_some_and(|n| n.chain == u.chain),
                    children: (0, 0),
                    join: None,
                },
            };
            plan.jobs.push(job);
            if let Some(last) = plan.chains.last_mut() {
                last.end = plan.jobs.len();
            }
        }
        plan.anchor_subagents(chains, &history);
        plan
    }

    /// Ties each subagent's chain to the parent job that started it (the parent session's
    /// job that ended last before the subagent's first request), and the parent's next job
    /// to the subagents' ends when the history shows it waited for them. Throttling then
    /// delays a subagent with its parent, as it does in Claude Code.
    fn anchor_subagents(&mut self, chains: &[Chain], history: &[(usize, EpochMs, EpochMs)]) {
        let stream_of = |pc: &PlanChain| &chains[history[pc.first].0].stream;
        let session_of = |pc: &PlanChain| chains[history[pc.first].0].requests[0].session;
        let mut by_stream: foldhash::HashMap<&str, usize> = foldhash::HashMapExt::new();
        for (i, pc) in self.chains.iter().enumerate() {
            by_stream.insert(stream_of(pc), i);
        }
        // (parent job, child chain, offset), then grouped by parent job.
        let mut links: Vec<(usize, usize, i64)> = Vec::new();
        for (ci, pc) in self.chains.iter().enumerate() {
            if !stream_of(pc).starts_with("agent:") {
                continue;
            }
            let Some(parent) = session_of(pc).and_then(|s| by_stream.get(s).copied()) else { continue };
            let p = &self.chains[parent];
            let start = history[pc.first].1;
            // The parent's last job that ended at or before this chain's start.
            let k = history[p.first..p.end].partition_point(|h| h.2 <= start);
            if k == 0 {
                continue;
            }
            let job = p.first + k - 1;
            links.push((job, ci, start - history[job].2));
        }
        links.sort_unstable();
        let mut chain_of_job = vec![0usize; self.jobs.len()];
        for (ci, c) in self.chains.iter().enumerate() {
            chain_of_job[c.first..c.end].fill(ci);
        }
        for group in links.chunk_by(|a, b| a.0 == b.0) {
            let job = group[0].0;
            let from = self.children.len() as u32;
            let mut last_end = EpochMs::MIN;
            for &(_, child, offset) in group {
                self.chains[child].anchor = Some((job, offset));
                self.children.push(child as u32);
                let c = &self.chains[child];
                last_end = last_end.max(history[c.end - 1].2);
            }
            self.jobs[job].children = (from, self.children.len() as u32);
            // The parent's next job waited for them if it was sent after the last one ended.
            let pc = chain_of_job[job];
            if job + 1 < self.chains[pc].end && history[job + 1].1 >= last_end {
                self.jobs[job].join = Some(history[job + 1].1 - last_end);
            }
        }
        let mut roots: Vec<u32> =
            (0..self.chains.len()).filter(|&i| self.chains[i].anchor.is_none()).map(|i| i as u32).collect();
        roots.sort_by_key(|&i| self.chains[i as usize].start);
        self.roots = roots;
    }

    /// Responses a max output of `m` cuts: demand above it (a demand beyond what the history
    /// shows is cut only where the history shows that demand is above `m`). Cuts do not
    /// depend on the quota.
    pub fn cuts_at(&self, m: u64) -> u64 {
        let cut = |j: &Job| match j.demand {
            Draw::Known(d) => d > m,
            Draw::Beyond => m <= self.known_up_to,
        };
        self.asked().filter(|j| cut(j)).count() as u64
    }

    /// The jobs a replay at a value runs: every job but the failures asked again.
    fn asked(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().filter(|j| !j.reasked)
    }

    /// Whether a replay at `limit` leaves job `k` out (a failure asked again, at a value).
    fn skips(&self, k: usize, limit: Limit) -> bool {
        matches!(limit, Limit::Fixed(_)) && self.jobs[k].reasked
    }

    /// The first job from `k` on that a replay at `limit` runs (a failure asked again is
    /// never its chain's last job).
    fn next_asked(&self, mut k: usize, limit: Limit) -> usize {
        while k < self.jobs.len() && self.skips(k, limit) {
            k += 1;
        }
        k
    }

    /// The value from which no response is cut: the largest demand, when every demand is
    /// known. The work is then the same at every value from it up (only what each request
    /// reserves differs), so one schedule serves them all.
    pub fn uncut_from(&self) -> Option<u64> {
        let mut most = 0;
        for j in self.asked() {
            match j.demand {
                Draw::Known(d) => most = most.max(d),
                Draw::Beyond => return None,
            }
        }
        Some(most)
    }

    /// Responses whose demand lies beyond what the history shows.
    pub fn beyond(&self) -> u64 {
        self.asked().filter(|j| j.demand == Draw::Beyond).count() as u64
    }

    /// Responses a replay at a value asks for: the plan's jobs but the failures asked again.
    pub fn len(&self) -> usize {
        self.asked().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Failures that the user's next prompt asked again, counted once with it.
    pub fn reasked(&self) -> u64 {
        self.jobs.iter().filter(|j| j.reasked).count() as u64
    }

    /// What the history shows of each job, in the order of the jobs' indices (as a
    /// [`Schedule`]'s requests name them).
    pub fn history(&self) -> impl Iterator<Item = Then> + '_ {
        self.jobs.iter().map(|j| Then {
            limit: j.limit_then,
            throttled: j.throttled_then,
            failed: j.failed_then,
            cache_read: j.cache_read,
        })
    }
}

/// What the history shows of one job of a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Then {
    /// The limit in effect.
    pub limit: u64,
    /// Throttled attempts (every request of the unit).
    pub throttled: u32,
    /// Failed for good.
    pub failed: bool,
    /// Cache-read tokens of its first request.
    pub cache_read: f64,
}

/// The throttled attempts the history records for a unit (every request of it).
fn throttled_of(c: &Chain, u: &Unit) -> u32 {
    c.requests[u.first..=u.last].iter().map(|r| r.throttled).fold(0, u32::saturating_add)
}

/// A unit's time to first token and output speed, from its parts' durations and outputs.
fn speed(chains: &[Chain], u: &Unit) -> (f64, Option<f64>) {
    let parts = &chains[u.chain].requests[u.first..=u.last];
    let duration: i64 = parts.iter().map(|p| p.duration()).sum();
    let output: u64 = parts.iter().map(|p| p.output).sum();
    let first_token = (DEFAULT_FIRST_TOKEN_MS as f64).min(duration as f64 / 2.0);
    if output == 0 || duration <= 0 {
        return (first_token, None);
    }
    let mpt = ((duration as f64 - first_token) / output as f64).clamp(MS_PER_TOKEN_RANGE.0, MS_PER_TOKEN_RANGE.1);
    (first_token, Some(mpt))
}

/// The bucket: a level refilled continuously, never above capacity.
struct Bucket {
    level: f64,
    capacity: f64,
    per_ms: f64,
    at: EpochMs,
}

impl Bucket {
    /// A full bucket of `tpm` a minute at `at`.
    fn full(tpm: f64, at: EpochMs) -> Self {
        Bucket { level: tpm, capacity: tpm, per_ms: tpm / 60_000.0, at }
    }

    fn refill(&mut self, t: EpochMs) {
        if t > self.at {
            self.level = (self.level + (t - self.at) as f64 * self.per_ms).min(self.capacity);
            self.at = t;
        }
    }
}

/// Where a chain is.
#[derive(Clone, Copy)]
struct State {
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
    fn at(plan: &Plan, job: usize, end: usize) -> Self {
        let j = plan.jobs[job];
        State {
            job,
            end,
            refused: 0,
            continuations: 0,
            input: j.input,
            cache_read: j.cache_read,
            remaining: j.demand,
            flight: None,
            waiting: 0,
        }
    }
}

/// The replay's clock and the chains on it.
struct Run<'p> {
    plan: &'p Plan,
    states: Vec<State>,
    queue: BinaryHeap<Reverse<(EpochMs, u32)>>,
    /// The chain each job belongs to.
    chain_of_job: Vec<u32>,
    limit: Limit,
}

impl Run<'_> {
    /// A job is done (answered, given up or failed) at `t`: start the subagents it started,
    /// then go on to the chain's next job (after the gap, or after its subagents).
    fn job_done(&mut self, ci: usize, t: EpochMs) {
        let plan = self.plan;
        let job = plan.jobs[self.states[ci].job];
        let (from, to) = job.children;
        for &child in &plan.children[from as usize..to as usize] {
            let c = plan.chains[child as usize];
            let offset = c.anchor.map_or(0, |a| a.1);
            self.states[child as usize] = State::at(plan, plan.next_asked(c.first, self.limit), c.end);
            self.queue.push(Reverse((t + offset, child)));
        }
        let st = &mut self.states[ci];
        if st.job + 1 >= st.end {
            self.chain_done(ci, t);
        } else if job.join.is_some() && to > from {
            st.waiting = to - from;
        } else {
            let gap = plan.jobs[st.job + 1].gap;
            self.advance(ci, t + gap);
        }
    }

    /// Moves a chain to its next job, sent at `at` (a failure asked again is skipped at a
    /// value: the job after it is sent in its place).
    fn advance(&mut self, ci: usize, at: EpochMs) {
        let st = &mut self.states[ci];
        *st = State::at(self.plan, self.plan.next_asked(st.job + 1, self.limit), st.end);
        self.queue.push(Reverse((at, ci as u32)));
    }

    /// A chain has no more jobs: a parent waiting for it may go on.
    fn chain_done(&mut self, ci: usize, t: EpochMs) {
        let Some((parent_job, _)) = self.plan.chains[ci].anchor else { return };
        let parent = self.chain_of_job[parent_job] as usize;
        let st = &mut self.states[parent];
        if st.job == parent_job && st.waiting > 0 {
            st.waiting -= 1;
            if st.waiting == 0 {
                let join = self.plan.jobs[parent_job].join.unwrap_or(0);
                self.advance(parent, t + join);
            }
        }
    }
}

/// Runs the plan at `limit` against `quota`, throttling slowing the work down as it does in
/// Claude Code: the history as it would have happened.
pub fn run(plan: &Plan, quota: &Quota, limit: Limit) -> Outcome {
    run_recording(plan, quota, limit, None, |_| {})
}

/// [`run`], telling `refused` the job (an index into the plan's jobs, as [`Plan::history`]
/// lists them) of every refused attempt.
pub fn run_tally(plan: &Plan, quota: &Quota, limit: Limit, refused: impl FnMut(usize)) -> Outcome {
    run_recording(plan, quota, limit, None, refused)
}

/// [`run`], recording every request it admits when `record` is given.
fn run_recording(
    plan: &Plan,
    quota: &Quota,
    limit: Limit,
    mut record: Option<&mut Vec<Scheduled>>,
    mut refused: impl FnMut(usize),
) -> Outcome {
    let mut out = Outcome::default();
    let start = plan.roots.first().map_or(0, |&c| plan.chains[c as usize].start);
    let mut bucket = Bucket::full(quota.tpm, start);
    let mut output = quota.output_tpm.map(|o| Bucket::full(o, start));
    let mut chain_of_job = vec![0u32; plan.jobs.len()];
    for (ci, c) in plan.chains.iter().enumerate() {
        chain_of_job[c.first..c.end].fill(ci as u32);
    }
    let mut r = Run {
        plan,
        states: plan.chains.iter().map(|c| State::at(plan, plan.next_asked(c.first, limit), c.end)).collect(),
        queue: BinaryHeap::new(),
        chain_of_job,
        limit,
    };
    let mut next_root = 0;
    let mut in_flight = 0u64;
    loop {
        // Chains join the queue when their start comes, so that it stays short.
        let top = r.queue.peek().map(|e| e.0.0);
        if let Some(&root) = plan.roots.get(next_root)
            && top.is_none_or(|t| plan.chains[root as usize].start <= t)
        {
            r.queue.push(Reverse((plan.chains[root as usize].start, root)));
            next_root += 1;
            continue;
        }
        let Some(Reverse((t, ci))) = r.queue.pop() else { break };
        let ci = ci as usize;
        let st = &mut r.states[ci];
        let job = plan.jobs[st.job];
        let max_output = match limit {
            Limit::Fixed(m) => m,
            Limit::AsRecorded => job.limit_then,
        };
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
                r.queue.push(Reverse((t, ci as u32)));
            } else {
                r.job_done(ci, t);
            }
            continue;
        }
        // An attempt.
        out.attempts += 1;
        let out_reserved =
            if quota.reading.burndown_reservation { quota.burndown * max_output as f64 } else { max_output as f64 };
        let reservation =
            st.input + if quota.reading.cache_reads_reserved { st.cache_read } else { 0.0 } + out_reserved;
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
            let charge = st.input + quota.burndown * written as f64;
            st.flight = Some((reservation, charge, cut, written));
            st.refused = 0;
            let first = if st.continuations == 0 { job.first_token_ms } else { job.first_token_ms.min(1_000.0) };
            let duration = (first + written as f64 * job.ms_per_token).round() as i64;
            if let Some(rec) = record.as_deref_mut() {
                rec.push(Scheduled {
                    start: t,
                    end: t + duration.max(1),
                    input: st.input,
                    cache_read: st.cache_read,
                    written,
                    max_output,
                    job: st.job as u32,
                });
            }
            r.queue.push(Reverse((t + duration.max(1), ci as u32)));
            continue;
        }
        out.throttled_attempts += 1;
        refused(st.job);
        st.refused += 1;
        if st.refused <= plan.retry.retries {
            let delay = plan.retry.delay_ms(st.refused) as f64 * (1.0 + retries::JITTER * jitter(st.job, st.refused));
            r.queue.push(Reverse((t + delay.round() as i64, ci as u32)));
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

/// One request of the work at a max output, laid out at the pace the work asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scheduled {
    start: EpochMs,
    end: EpochMs,
    input: f64,
    cache_read: f64,
    written: u64,
    max_output: u64,
    job: u32,
}

/// The history's work at one max output, at its own pace: every request when it asks to be
/// sent, as if nothing were throttled. It depends on the max output, not on the quota, so
/// one schedule serves every quota.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    requests: Vec<Scheduled>,
    /// The requests by end time.
    by_end: Vec<u32>,
    /// Responses, cuts and the peak in flight, which do not depend on the quota.
    base: Outcome,
    /// The plan's retry policy.
    retry: retries::Policy,
}

impl Schedule {
    /// Lays out the plan's work at `limit`. Nothing slows it down, so no chain waits for
    /// another but a parent for its subagents: each chain is walked on its own, a subagent's
    /// from the end of the job that started it.
    pub fn new(plan: &Plan, limit: Limit) -> Self {
        let mut s = Self::default();
        s.lay_out(plan, limit);
        s
    }

    /// [`Schedule::new`] into this schedule, reusing its memory: the large vectors of a
    /// replay are allocated once per thread, not once per value.
    pub fn lay_out(&mut self, plan: &Plan, limit: Limit) {
        let mut requests = std::mem::take(&mut self.requests);
        requests.clear();
        let mut w = Walk { plan, limit, requests, base: Outcome::default() };
        for &root in &plan.roots {
            let c = plan.chains[root as usize];
            w.chain(c.first, c.end, c.start);
        }
        let Walk { mut requests, mut base, .. } = w;
        requests.sort_unstable_by_key(|r| (r.start, r.job));
        let mut by_end = std::mem::take(&mut self.by_end);
        by_end.clear();
        by_end.extend(0..requests.len() as u32);
        by_end.sort_unstable_by_key(|&i| (requests[i as usize].end, i));
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
        *self = Self { requests, by_end, base, retry: plan.retry };
    }

    /// The same work laid out by the replay's engine with an endless bucket (the reference
    /// the walk is tested against).
    #[cfg(test)]
    fn by_engine(plan: &Plan, limit: Limit) -> Self {
        let endless =
            Quota::new(f64::INFINITY, 1.0, Reading { cache_reads_reserved: false, burndown_reservation: false });
        let mut requests = Vec::with_capacity(plan.jobs.len());
        let base = run_recording(plan, &endless, limit, Some(&mut requests), |_| {});
        requests.sort_unstable_by_key(|r| (r.start, r.job));
        let mut by_end: Vec<u32> = (0..requests.len() as u32).collect();
        by_end.sort_unstable_by_key(|&i| (requests[i as usize].end, i));
        Self { requests, by_end, base, retry: plan.retry }
    }
}

/// Lays chains out one by one for [`Schedule::new`].
struct Walk<'p> {
    plan: &'p Plan,
    limit: Limit,
    requests: Vec<Scheduled>,
    base: Outcome,
}

impl Walk<'_> {
    /// Lays out the chain of jobs `first..end` from `start`; returns when its last job ended.
    fn chain(&mut self, first: usize, end: usize, start: EpochMs) -> EpochMs {
        let mut t = start;
        for k in first..end {
            // A failure asked again: the next job is sent in its place, at its time.
            if self.plan.skips(k, self.limit) {
                continue;
            }
            let done = self.job(k, t);
            let job = self.plan.jobs[k];
            let (from, to) = job.children;
            let mut last_child = EpochMs::MIN;
            for &child in &self.plan.children[from as usize..to as usize] {
                let c = self.plan.chains[child as usize];
                let offset = c.anchor.map_or(0, |a| a.1);
                last_child = last_child.max(self.chain(c.first, c.end, done + offset));
            }
            t = if k + 1 >= end {
                done
            } else if let (Some(join), true) = (job.join, to > from) {
                last_child + join
            } else {
                done + self.plan.jobs[k + 1].gap
            };
        }
        t
    }

    /// Lays out one job (and its continuations) sent at `t`; returns when it was done.
    fn job(&mut self, k: usize, mut t: EpochMs) -> EpochMs {
        let job = self.plan.jobs[k];
        let max_output = match self.limit {
            Limit::Fixed(m) => m,
            Limit::AsRecorded => job.limit_then,
        };
        let (mut input, mut cache_read, mut remaining) = (job.input, job.cache_read, job.demand);
        for part in 0..=retries::MAX_CONTINUATIONS {
            let (written, cut) = match remaining {
                Draw::Known(d) => (d.min(max_output), d > max_output),
                Draw::Beyond => (max_output, max_output <= self.plan.known_up_to),
            };
            if part == 0 {
                self.base.responses += 1;
                self.base.cut += u64::from(cut);
                self.base.beyond += u64::from(remaining == Draw::Beyond && !cut);
            }
            let first = if part == 0 { job.first_token_ms } else { job.first_token_ms.min(1_000.0) };
            let end = t + ((first + written as f64 * job.ms_per_token).round() as i64).max(1);
            self.requests.push(Scheduled { start: t, end, input, cache_read, written, max_output, job: k as u32 });
            t = end;
            if !cut {
                break;
            }
            cache_read += input;
            input = CONTINUATION_PROMPT + max_output as f64;
            remaining = match remaining {
                Draw::Known(d) => Draw::Known(d.saturating_sub(max_output)),
                Draw::Beyond => Draw::Beyond,
            };
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

/// The memory [`at_pace`] works in: kept from one call to the next, so that the replays of
/// many values do not each touch fresh pages.
#[derive(Debug, Default)]
pub struct Scratch {
    before: Vec<f64>,
    mark_of: Vec<u32>,
    marks: Vec<(EpochMs, f64)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// [`at_pace_reserving`] in the given memory.
pub fn at_pace_with(schedule: &Schedule, quota: &Quota, max_output: Option<u64>, scratch: &mut Scratch) -> Outcome {
    let q = quota.tpm;
    let per_ms = q / 60_000.0;
    let reserve = |r: &Scheduled| {
        let m = max_output.unwrap_or(r.max_output) as f64;
        r.input
            + if quota.reading.cache_reads_reserved { r.cache_read } else { 0.0 }
            + if quota.reading.burndown_reservation { quota.burndown * m } else { m }
    };
    let charge = |r: &Scheduled| r.input + quota.burndown * r.written as f64;
    let reqs = &schedule.requests;
    let Scratch { before, mark_of, marks } = scratch;
    before.clear();
    before.resize(reqs.len(), 0.0);
    // Where each request's start is among the marks, to look ahead from there.
    mark_of.clear();
    mark_of.resize(reqs.len(), 0);
    marks.clear();
    // The level through time, every reservation taken when asked for: starts in order, ends
    // sorted; at equal times ends first.
    let ends = &schedule.by_end;
    let mut level = q;
    let mut at = reqs.first().map_or(0, |r| r.start);
    let (mut si, mut ei) = (0, 0);
    while si < reqs.len() || ei < ends.len() {
        let end_first = ei < ends.len() && (si >= reqs.len() || reqs[ends[ei] as usize].end <= reqs[si].start);
        let t = if end_first { reqs[ends[ei] as usize].end } else { reqs[si].start };
        level = (level + (t - at).max(0) as f64 * per_ms).min(q);
        at = at.max(t);
        if end_first {
            let r = &reqs[ends[ei] as usize];
            level = (level + reserve(r) - charge(r)).min(q);
            ei += 1;
        } else {
            before[si] = level;
            level -= reserve(&reqs[si]);
            mark_of[si] = marks.len() as u32;
            si += 1;
        }
        marks.push((t, level));
    }
    // The level at `t`, at or after the mark `from`: the last mark at or before `t`, found by
    // galloping ahead (retries come within minutes of their request).
    let level_at = |from: usize, t: EpochMs| {
        let mut step = 1;
        let mut hi = from;
        while hi < marks.len() && marks[hi].0 <= t {
            hi = from + step;
            step *= 2;
        }
        let lo = from + step / 4;
        let hi = hi.min(marks.len());
        let k = lo.min(hi) + marks[lo.min(hi)..hi].partition_point(|m| m.0 <= t);
        let m = marks[k - 1];
        (m.1 + (t - m.0) as f64 * per_ms).min(q)
    };
    // An output quota's level through time: what each response wrote, taken when it ended.
    let output = quota.output_tpm.map(|o| OutputLevel::new(schedule, o));
    // Whether the output quota lets request `r` in at `t` (what it wrote itself, if it ended
    // by then, given back).
    let output_open = |r: &Scheduled, t: EpochMs| {
        output.as_ref().is_none_or(|o| o.at(t) + if t >= r.end { r.written as f64 } else { 0.0 } > 0.0)
    };
    let mut out = schedule.base;
    out.attempts = 0;
    for (i, r) in reqs.iter().enumerate() {
        let need = reserve(r);
        out.attempts += 1;
        if before[i] >= need && output_open(r, r.start) {
            continue;
        }
        // What the bucket holds for it at a later attempt: the level plus what it holds itself.
        let mut t = r.start;
        let mut admitted = false;
        for k in 1..=schedule.retry.retries {
            out.throttled_attempts += 1;
            out.attempts += 1;
            let delay = schedule.retry.delay_ms(k) as f64 * (1.0 + retries::JITTER * jitter(r.job as usize, k));
            t += delay.round() as i64;
            let holds = if t < r.end { need } else { charge(r) };
            if (level_at(mark_of[i] as usize, t) + holds).min(q) >= need && output_open(r, t) {
                admitted = true;
                break;
            }
        }
        if !admitted {
            out.throttled_attempts += 1;
            out.failed += 1;
        }
    }
    out
}

/// The level of an output quota through a schedule: full at the first request, each
/// response's output taken when it ends (it may run into debt), refilled in between.
struct OutputLevel {
    marks: Vec<(EpochMs, f64)>,
    capacity: f64,
    per_ms: f64,
}

impl OutputLevel {
    fn new(schedule: &Schedule, tpm: f64) -> Self {
        let per_ms = tpm / 60_000.0;
        let mut at = schedule.requests.first().map_or(0, |r| r.start);
        let mut level = tpm;
        let mut marks = vec![(at, level)];
        for &e in &schedule.by_end {
            let r = &schedule.requests[e as usize];
            level = (level + (r.end - at).max(0) as f64 * per_ms).min(tpm) - r.written as f64;
            at = at.max(r.end);
            marks.push((at, level));
        }
        OutputLevel { marks, capacity: tpm, per_ms }
    }

    /// The level at `t`: the last mark at or before it, refilled since.
    fn at(&self, t: EpochMs) -> f64 {
        let k = self.marks.partition_point(|m| m.0 <= t);
        let (at, level) = self.marks[k.saturating_sub(1)];
        (level + (t - at).max(0) as f64 * self.per_ms).min(self.capacity)
    }
}

/// A fixed pseudo-random share in `[0, 1)` for a job's attempt (SplitMix64's finaliser), so
/// that retries are spread as Claude Code's jitter spreads them, the same in every run.
fn jitter(job: usize, attempt: u32) -> f64 {
    let mut z =
        (job as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURNDOWN: Reading = Reading { cache_reads_reserved: false, burndown_reservation: true };

    fn job(gap: i64, demand: u64) -> Job {
        Job {
            gap,
            input: 1_000.0,
            cache_read: 50_000.0,
            demand: Draw::Known(demand),
            first_token_ms: 1_000.0,
            ms_per_token: 10.0,
            limit_then: 32_000,
            throttled_then: 0,
            failed_then: false,
            reasked: false,
            children: (0, 0),
            join: None,
        }
    }

    /// A request that failed for good and that the user asked again.
    fn reasked(gap: i64) -> Job {
        Job { throttled_then: 11, failed_then: true, reasked: true, ..job(gap, 700) }
    }

    fn plan(chains: Vec<Vec<Job>>, known_up_to: u64) -> Plan {
        let mut p = Plan {
            chains: Vec::new(),
            jobs: Vec::new(),
            children: Vec::new(),
            roots: Vec::new(),
            known_up_to,
            retry: retries::Policy::default(),
        };
        for jobs in chains {
            let from = p.jobs.len();
            p.chains.push(PlanChain { start: jobs[0].gap, first: from, end: from + jobs.len(), anchor: None });
            p.roots.push(p.chains.len() as u32 - 1);
            p.jobs.extend(jobs);
        }
        p
    }

    fn quota(tpm: f64) -> Quota {
        Quota::new(tpm, 5.0, BURNDOWN)
    }

    /// One request alone: reserved 1,000 + 5 × 32,000 = 161,000 of a 200,000 bucket: admitted.
    /// At 120,000 it never fits: 11 refused attempts, failed.
    #[test]
    fn a_reservation_above_the_bucket_never_fits() {
        let p = plan(vec![vec![job(0, 500)]], 32_000);
        let ok = run(&p, &quota(200_000.0), Limit::Fixed(32_000));
        assert_eq!((ok.attempts, ok.throttled_attempts, ok.failed, ok.cut), (1, 0, 0, 0));
        let bad = run(&p, &quota(120_000.0), Limit::Fixed(32_000));
        assert_eq!((bad.attempts, bad.throttled_attempts, bad.failed, bad.responses), (11, 11, 1, 1));
        // With cache reads reserved, 50,000 more: 211,000 > 200,000.
        let q = Quota { reading: Reading { cache_reads_reserved: true, ..BURNDOWN }, ..quota(200_000.0) };
        assert_eq!(run(&p, &q, Limit::Fixed(32_000)).failed, 1);
        // The plain reading reserves 1,000 + 32,000 = 33,000.
        let q = Quota { reading: Reading { burndown_reservation: false, ..BURNDOWN }, ..quota(120_000.0) };
        assert_eq!(run(&p, &q, Limit::Fixed(32_000)).failed, 0);
    }

    /// Two chains start together; each reserves 161,000 of 200,000: the second waits.
    /// The first writes 500 tokens in 1 s + 5 s = 6 s, then settles at 1,000 + 2,500 = 3,500:
    /// the bucket is at 200,000 − 161,000 + 157,500 = 196,500 plus the refill. The second's
    /// retries come at 0.5 s, 1.5 s, 3.5 s (each plus up to a quarter), 7.5 s…: at the fourth
    /// (about 7.5–9.4 s) the first has ended and it fits.
    #[test]
    fn the_second_of_two_waits_for_the_first_to_settle() {
        let p = plan(vec![vec![job(0, 500)], vec![job(0, 500)]], 32_000);
        let o = run(&p, &quota(200_000.0), Limit::Fixed(32_000));
        assert_eq!((o.failed, o.throttled_attempts, o.attempts, o.peak_in_flight), (0, 4, 6, 1));
        // At 16,000 both fit at once: 2 × 81,000.
        let o = run(&p, &quota(200_000.0), Limit::Fixed(16_000));
        assert_eq!((o.throttled_attempts, o.peak_in_flight), (0, 2));
    }

    /// A demand of 5,000 at a max output of 2,000: cut, continued with 3,000, cut again,
    /// continued with 1,000: one response cut, three requests.
    #[test]
    fn cuts_are_continued_and_counted_once() {
        let p = plan(vec![vec![job(0, 5_000), job(10_000, 100)]], 32_000);
        let o = run(&p, &quota(1e9), Limit::Fixed(2_000));
        assert_eq!((o.responses, o.cut, o.attempts), (2, 1, 4));
        // 9,000 needs four parts of 2,000: three continuations, then Claude Code gives up.
        let p = plan(vec![vec![job(0, 9_000)]], 32_000);
        assert_eq!(run(&p, &quota(1e9), Limit::Fixed(2_000)).attempts, 4);
    }

    #[test]
    fn demand_beyond_the_history_is_cut_below_it_and_unknown_above() {
        let mut j = job(0, 0);
        j.demand = Draw::Beyond;
        let p = plan(vec![vec![j]], 200);
        let low = run(&p, &quota(1e9), Limit::Fixed(200));
        assert_eq!((low.cut, low.beyond), (1, 0));
        let high = run(&p, &quota(1e9), Limit::Fixed(11_000));
        assert_eq!((high.cut, high.beyond), (0, 1));
    }

    /// The walk lays the work out as the engine does with an endless bucket: subagents after
    /// the job that started them, the parent after them, continuations at once.
    #[test]
    fn the_walk_is_the_engine_without_a_bucket() {
        let mut p = plan(
            vec![vec![job(0, 500), job(2_000, 9_000), job(1_000, 300)], vec![job(100, 40_000), job(5_000, 20)]],
            32_000,
        );
        // A subagent chain of two jobs started by the parent's first job, 300 ms after it ended;
        // the parent's second job waits for it and goes 700 ms after it ended.
        let sub = p.jobs.len();
        p.jobs.extend([job(0, 1_200), job(400, 64)]);
        p.chains.push(PlanChain { start: 0, first: sub, end: sub + 2, anchor: Some((0, 300)) });
        p.children.push(2);
        p.jobs[0].children = (0, 1);
        p.jobs[0].join = Some(700);
        // A failure asked again in the second chain, and one that starts a chain of its own.
        p.jobs.insert(4, reasked(3_000));
        p.chains[1].end += 1;
        p.chains[2].first += 1;
        p.chains[2].end += 1;
        let lone = p.jobs.len();
        p.jobs.extend([reasked(0), job(40_000, 900)]);
        p.chains.push(PlanChain { start: 500, first: lone, end: lone + 2, anchor: None });
        p.roots.push(3);
        for limit in [Limit::Fixed(1_000), Limit::Fixed(4_000), Limit::Fixed(32_000), Limit::AsRecorded] {
            let (walk, engine) = (Schedule::new(&p, limit), Schedule::by_engine(&p, limit));
            assert_eq!(walk.requests, engine.requests, "at {limit:?}");
            assert_eq!(walk.base, engine.base, "at {limit:?}");
        }
    }

    /// At a value, a failure the user asked again is left out and the job after it is sent at
    /// its time; the history as it was keeps it.
    #[test]
    fn a_failure_asked_again_is_one_demand_at_a_value() {
        let p = plan(vec![vec![job(0, 500), reasked(5_000), job(60_000, 800), job(2_000, 100)]], 32_000);
        let at = Schedule::new(&p, Limit::Fixed(32_000));
        // 500 tokens at 10 ms: the first ends at 1 s + 5 s = 6 s; the re-ask is sent 5 s later,
        // at 11 s (where the failed request was sent), not 60 s after the failure.
        let starts: Vec<EpochMs> = at.requests.iter().map(|r| r.start).collect();
        assert_eq!(starts, [0, 11_000, 11_000 + 9_000 + 2_000]);
        assert_eq!((at.base.responses, p.len(), p.cuts_at(600)), (3, 3, 1));
        let then = Schedule::new(&p, Limit::AsRecorded);
        assert_eq!((then.requests.len(), then.base.responses), (4, 4));
        assert_eq!(p.reasked(), 1);
    }

    /// Mantle: an output quota of 6,000 a minute (100 a second), the input quota endless. The
    /// first response writes 10,000 tokens in 1 s + 100 s, taken when it ends: 6,000 − 10,000
    /// = −4,000. The next, sent at once, waits 40 s for the level to come back above 0; its
    /// first attempt is refused, its retries come at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (at most
    /// 39.4 s with the jitter), then 63.5 s: seven attempts refused, the seventh retry
    /// admitted (nine attempts in all). The replay and the pace agree.
    #[test]
    fn an_output_quota_refuses_while_it_is_in_debt() {
        let p = plan(vec![vec![job(0, 10_000), job(0, 100)]], 32_000);
        let q = Quota { output_tpm: Some(6_000.0), ..Quota::new(f64::INFINITY, 0.0, BURNDOWN) };
        let o = run(&p, &q, Limit::Fixed(32_000));
        assert_eq!((o.throttled_attempts, o.failed, o.attempts), (7, 0, 9));
        let paced = at_pace(&Schedule::new(&p, Limit::Fixed(32_000)), &q);
        assert_eq!((paced.throttled_attempts, paced.failed, paced.attempts), (7, 0, 9));
        // Without the output quota nothing waits.
        assert_eq!(run(&p, &Quota { output_tpm: None, ..q }, Limit::Fixed(32_000)).throttled_attempts, 0);
    }

    #[test]
    fn jitter_is_fixed_and_in_range() {
        let v: Vec<f64> = (0..1000).map(|j| jitter(j, 3)).collect();
        assert!(v.iter().all(|&x| (0.0..1.0).contains(&x)));
        assert_eq!(jitter(7, 2), jitter(7, 2));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }
}
