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

use super::chains::{Chain, DEFAULT_FIRST_TOKEN_MS, DEFAULT_MS_PER_TOKEN, Request};
use super::demand::{Draw, Estimate, spread};
use super::limits::{Kept, Unit, UnitKind};
use super::retries;
use crate::scan::data::Count;
use crate::time::EpochMs;

/// Input tokens of a continuation request beyond the output it continues (the recovery prompt).
const CONTINUATION_PROMPT: f64 = 30.0;
/// Output speed measured on a response is kept within these bounds (ms per token).
const MS_PER_TOKEN_RANGE: (f64, f64) = (1.0, 200.0);

pub use crate::reading::Reading;

mod anchors;
mod order;
mod pace;
mod queue;

use anchors::Anchors;

pub use pace::*;
pub use queue::*;

/// The max output a replay runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Limit {
    /// Each request at the limit in effect when it was sent: the history as it was.
    #[default]
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

    /// What a request sending `input` (input and cache writes) and `cache_read` reserves
    /// when it is sent at a max output of `max_output`, as this quota's reading counts it.
    #[inline]
    pub(crate) fn reserves(&self, input: f64, cache_read: f64, max_output: u64) -> f64 {
        let m = max_output as f64;
        input
            + if self.reading.cache_reads_reserved { cache_read } else { 0.0 }
            + if self.reading.burndown_reservation { self.burndown * m } else { m }
    }

    /// What it is charged when it ends, having written `written`.
    #[inline]
    fn charges(&self, input: f64, written: u64) -> f64 {
        input + self.burndown * written as f64
    }
}

impl Limit {
    /// The max output `job` runs at under this limit.
    fn of(self, job: &Job) -> u64 {
        match self {
            Limit::Fixed(m) => m,
            Limit::AsRecorded => job.limit_then.get(),
        }
    }
}

/// One unit of work as the replay runs it (in 56 bytes: a team's plan holds one a request).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Job {
    /// Time after the previous job of the chain ended (for a chain's first job: its start).
    gap: i64,
    first_token_ms: f64,
    ms_per_token: f64,
    /// Its first request's input and cache reads ([`Job::input`]), in 32 bits as the chains
    /// hold them.
    input: Count,
    cache_read: Count,
    /// What it wants to write ([`Job::demand`]): this, unless `beyond`. A unit's output
    /// and every draw are 32-bit counts (`limits::Unit`), so it is a [`Count`] too.
    demand: Count,
    /// The limit in effect in the history (a unit's, in 32 bits).
    limit_then: Count,
    /// The history's throttled attempts of this unit of work (every request of it).
    throttled_then: u32,
    /// Its subagents and how its chain waited for them: an index into `Plan::links`, or
    /// [`Job::NO_LINK`] (most jobs start none).
    link: u32,
    beyond: bool,
    /// It failed for good.
    failed_then: bool,
    /// It failed for good and the user's next prompt in its chain asked again: at a value
    /// where it had succeeded neither the failure nor the second asking would exist, so
    /// replays at a value ([`Limit::Fixed`]) leave it out and send the next job in its
    /// place. The history as it was ([`Limit::AsRecorded`]) keeps it.
    reasked: bool,
    /// Its limit in the history is only a guess ([`Unit::limit_assumed`],
    /// [`Unit::limit_at_least`]).
    limit_assumed: bool,
    /// Its limit is only known to be at least what its session wrote ([`Unit::limit_at_least`]):
    /// [`Plan::take_bounded_at`] may take it higher.
    limit_bounded: bool,
}

const _: () = assert!(std::mem::size_of::<Job>() <= 56);

/// The subagent chains a job started (`Plan::children[from..to]`) and, when the chain's
/// next job waited for them, how long after the last of them ended it was sent: held beside
/// the jobs, as few jobs start any.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Link {
    children: (u32, u32),
    join: Option<i64>,
}

impl Job {
    /// `link` of a job that started no subagents.
    const NO_LINK: u32 = u32::MAX;

    /// Its first request's input (input and cache writes) and cache reads, as the replay
    /// sums them.
    fn input(&self) -> (f64, f64) {
        (self.input.as_f64(), self.cache_read.as_f64())
    }

    fn demand(&self) -> Draw {
        if self.beyond { Draw::Beyond } else { Draw::Known(self.demand.get()) }
    }
}

/// A draw as a job holds it: the value, and whether it lies beyond what the history shows.
fn pack(d: Draw) -> (u64, bool) {
    match d {
        Draw::Known(v) => (v, false),
        Draw::Beyond => (0, true),
    }
}

/// One chain of the plan, in 32 bytes: a team's plan has one a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlanChain {
    /// When its first job was sent (a subagent's: see [`PlanChain::anchor`]).
    start: EpochMs,
    /// Its jobs: `Plan::jobs[first..end]` ([`PlanChain::first`], [`PlanChain::end`]).
    first: u32,
    end: u32,
    /// A subagent's start, this long after its parent's job ended.
    offset: i64,
    /// That job (an index into `Plan::jobs`; `NO_JOB` for a chain that is no subagent's),
    /// and the parent's chain.
    parent_job: u32,
    parent: u32,
}

const _: () = assert!(std::mem::size_of::<PlanChain>() == 32);

/// Where a subagent's chain starts: `offset` after job `job` (an index into `Plan::jobs`) of
/// its parent's chain `chain` ended.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    job: usize,
    chain: usize,
    offset: i64,
}

impl PlanChain {
    const NO_JOB: u32 = u32::MAX;

    /// The chain of jobs `first..end`, its first sent at `start`, no subagent's.
    fn new(start: EpochMs, first: usize, end: usize) -> Self {
        let (first, end) = (job_index(first), job_index(end));
        PlanChain { start, first, end, offset: 0, parent_job: Self::NO_JOB, parent: 0 }
    }

    fn first(&self) -> usize {
        self.first as usize
    }

    fn end(&self) -> usize {
        self.end as usize
    }

    /// A subagent's tie to its parent; `None` for a chain that starts on its own.
    fn anchor(&self) -> Option<Anchor> {
        (self.parent_job != Self::NO_JOB).then_some(Anchor {
            job: self.parent_job as usize,
            chain: self.parent as usize,
            offset: self.offset,
        })
    }

    fn anchored(self, a: Anchor) -> Self {
        PlanChain { parent_job: job_index(a.job), parent: chain_index(a.chain), offset: a.offset, ..self }
    }
}

/// A job's index (or the end of a range of them) in 32 bits, below `PlanChain::NO_JOB`.
fn job_index(k: usize) -> u32 {
    u32::try_from(k).ok().filter(|&k| k != PlanChain::NO_JOB).expect("under 2^32 - 1 jobs")
}

fn chain_index(c: usize) -> u32 {
    u32::try_from(c).expect("under 2^32 chains")
}

/// The work of one model's chains, ready to replay any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    chains: Vec<PlanChain>,
    jobs: Vec<Job>,
    /// Chains started by the subagent tool of a job (indices into `chains`).
    children: Vec<u32>,
    /// The jobs' subagents and joins ([`Job::link`]).
    links: Vec<Link>,
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
    /// The plan of the `units` `kept` names (one model's, in chain order), with demands drawn
    /// from `demand` for the units whose demand the history does not show exactly.
    ///
    /// It takes the chains and frees each one's requests once its jobs are made, giving the
    /// memory back every few MiB: a team's plan then grows as its chains shrink, where both
    /// together were the run's peak.
    pub fn new(mut chains: Vec<Chain<'_>>, units: &[Unit], kept: &[u32], demand: &Estimate) -> Self {
        // What a unit without a response gets: the model's medians (of 32-bit counts, as the
        // chains hold them), each found without a list of the values (a team's would be a few
        // MiB beside the chains at the plan's peak).
        let kept = Kept::new(units, kept);
        let answered = || kept.iter().filter(|u| matches!(u.kind(), UnitKind::Response { .. }));
        let first_input = |u: &Unit| chains[u.chain()].requests[u.first()].input_counts();
        let median_of = |of: &dyn Fn(&Unit) -> Count| {
            crate::stats::median_by(|| answered().map(|u| of(u).get())).map(Count::new).unwrap_or_default()
        };
        let input = median_of(&|u| first_input(u).0);
        let read = median_of(&|u| first_input(u).1);
        let speeds = || answered().filter_map(|u| speed(&chains, u).1).map(crate::stats::ordered_bits);
        let mpt = crate::stats::median_by(speeds).map_or(DEFAULT_MS_PER_TOKEN, crate::stats::from_ordered_bits);

        // The plan's chains and how subagents tie to their parents, from the history's times
        // while the chains hold them: the jobs then need no list of those times.
        let (chains_of_plan, anchors) = {
            // Made at its size: grown by doubling, it would hold up to twice its chains at the
            // peak of a team's plan.
            let n = (0..kept.len()).filter(|&k| k == 0 || kept.get(k - 1).chain() != kept.get(k).chain()).count();
            let mut of_plan: Vec<PlanChain> = Vec::with_capacity(n);
            for k in 0..kept.len() {
                let u = kept.get(k);
                if k == 0 || kept.get(k - 1).chain() != u.chain() {
                    let c = &chains[u.chain()];
                    of_plan.push(PlanChain::new(c.requests[u.first()].start(), k, k));
                }
                of_plan.last_mut().expect("pushed above").end = job_index(k + 1);
            }
            // A plan chain's stream and the session of its first request, read from its chain
            // when asked (not listed: 32 bytes a chain).
            let head = |ci: usize| {
                let c = &chains[kept.get(of_plan[ci].first()).chain()];
                (c.stream(), c.requests[0].session())
            };
            let sent = |k: usize| chains[kept.get(k).chain()].requests[kept.get(k).first()].start();
            let ended = |k: usize| chains[kept.get(k).chain()].requests[kept.get(k).last()].end();
            let anchors = Anchors::of(&of_plan, head, sent, ended);
            (of_plan, anchors)
        };

        // The temporaries given back before the jobs are made.
        crate::memory::give_back();
        let mut plan = Plan {
            chains: chains_of_plan,
            jobs: Vec::with_capacity(kept.len()),
            children: Vec::new(),
            links: Vec::new(),
            roots: Vec::new(),
            known_up_to: demand.known_up_to,
            retry: retries::Policy::default(),
        };
        // The chains before this one are done with (when the units come in chain order, as
        // `limits::units` makes them; else none is freed before the end).
        let in_order = kept.iter().is_sorted_by_key(|u| u.chain());
        let (mut done_before, mut freeing) = (0, crate::memory::Freeing::default());
        let mut draws = 0u64;
        let mut draw = |above: u64| {
            draws += 1;
            demand.draw_above(above, spread(draws - 1))
        };
        // The previous unit's end in the history.
        let mut prev_end: EpochMs = 0;
        for k in 0..kept.len() {
            let u = kept.get(k);
            if in_order {
                for c in &mut chains[done_before..u.chain()] {
                    let bytes = c.requests.capacity() * std::mem::size_of::<Request>();
                    c.requests = Vec::new();
                    freeing.freed(bytes);
                }
                done_before = u.chain();
            }
            let next = (k + 1 < kept.len()).then(|| kept.get(k + 1));
            let c = &chains[u.chain()];
            let (start, end) = (c.requests[u.first()].start(), c.requests[u.last()].end());
            let gap = if k > 0 && kept.get(k - 1).chain() == u.chain() { (start - prev_end).max(0) } else { start };
            prev_end = end;
            let job = match u.kind() {
                UnitKind::Response { output, complete, .. } => {
                    let (input, cache_read) = c.requests[u.first()].input_counts();
                    let (first_token_ms, ms_per_token) = match speed(&chains, u) {
                        (ft, Some(m)) => (ft, m),
                        (ft, None) => (ft, mpt),
                    };
                    let (demand, beyond) =
                        pack(if complete { Draw::Known(output) } else { draw(output.max(u.limit())) });
                    Job {
                        gap,
                        first_token_ms,
                        ms_per_token,
                        input,
                        cache_read,
                        demand: Count::new(demand),
                        limit_then: Count::new(u.limit()),
                        throttled_then: throttled_of(c, u),
                        link: Job::NO_LINK,
                        beyond,
                        failed_then: false,
                        reasked: false,
                        limit_assumed: u.limit_assumed() || u.limit_at_least(),
                        limit_bounded: u.limit_at_least(),
                    }
                }
                UnitKind::Failed => {
                    let (demand, beyond) = pack(draw(0));
                    Job {
                        gap,
                        first_token_ms: DEFAULT_FIRST_TOKEN_MS as f64,
                        ms_per_token: mpt,
                        input,
                        cache_read: read,
                        demand: Count::new(demand),
                        limit_then: Count::new(u.limit()),
                        throttled_then: throttled_of(c, u),
                        link: Job::NO_LINK,
                        beyond,
                        failed_then: true,
                        // A failure the user asked again after: the chain's next unit.
                        reasked: next.is_some_and(|n| n.chain() == u.chain()),
                        limit_assumed: u.limit_assumed() || u.limit_at_least(),
                        limit_bounded: u.limit_at_least(),
                    }
                }
            };
            plan.jobs.push(job);
        }
        drop(chains);
        plan.anchor(anchors);
        plan
    }

    /// The subagents job `k` started and its join ([`Link`]): none for most.
    fn link(&self, k: usize) -> Link {
        self.links.get(self.jobs[k].link as usize).copied().unwrap_or_default()
    }

    /// Job `k`'s link, made if it has none yet.
    fn link_mut(&mut self, k: usize) -> &mut Link {
        if self.jobs[k].link == Job::NO_LINK {
            self.jobs[k].link = u32::try_from(self.links.len()).expect("under 2^32 - 1 jobs");
            self.links.push(Link::default());
        }
        &mut self.links[self.jobs[k].link as usize]
    }

    /// Ties each subagent's chain to the parent job that started it, and the parent's next
    /// job to the subagents' ends where it waited for them ([`Anchors`]).
    fn anchor(&mut self, anchors: Anchors) {
        debug_assert!(self.chains.is_sorted_by_key(|c| c.first), "chains in the order of their jobs");
        for group in anchors.links.chunk_by(|a, b| a.0 == b.0) {
            let job = group[0].0;
            // The parent's chain: the last that starts at or before its job (the chains are in
            // the order of their jobs).
            let chain = self.chains.partition_point(|c| c.first() <= job) - 1;
            let from = self.children.len() as u32;
            for &(_, child, offset) in group {
                self.chains[child] = self.chains[child].anchored(Anchor { job, chain, offset });
                self.children.push(child as u32);
            }
            self.link_mut(job).children = (from, self.children.len() as u32);
        }
        for (job, join) in anchors.joins {
            self.link_mut(job).join = Some(join);
        }
        let mut roots: Vec<u32> =
            (0..self.chains.len()).filter(|&i| self.chains[i].anchor().is_none()).map(|i| i as u32).collect();
        roots.sort_by_key(|&i| self.chains[i as usize].start);
        self.roots = roots;
    }

    /// Responses a max output of `m` cuts: demand above it (a demand beyond what the history
    /// shows is cut only where the history shows that demand is above `m`). Cuts do not
    /// depend on the quota.
    pub fn cuts_at(&self, m: u64) -> u64 {
        let cut = |j: &Job| match j.demand() {
            Draw::Known(d) => d > m,
            Draw::Beyond => m <= self.known_up_to,
        };
        self.asked().filter(|j| cut(j)).count() as u64
    }

    /// Responses Claude Code gives up on at a max output of `m`: still cut after its last
    /// continuation (demand above four parts of `m`), the response dies with "exceeded the
    /// `m` output token maximum". A demand beyond what the history shows counts where it is
    /// known to be that large. Like cuts, they do not depend on the quota.
    pub fn gave_up_at(&self, m: u64) -> u64 {
        let parts = m.saturating_mul(u64::from(retries::MAX_CONTINUATIONS) + 1);
        let gives_up = |j: &Job| match j.demand() {
            Draw::Known(d) => d > parts,
            Draw::Beyond => parts <= self.known_up_to,
        };
        self.asked().filter(|j| gives_up(j)).count() as u64
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
            match j.demand() {
                Draw::Known(d) => most = most.max(d),
                Draw::Beyond => return None,
            }
        }
        Some(most)
    }

    /// Responses whose demand lies beyond what the history shows.
    pub fn beyond(&self) -> u64 {
        self.asked().filter(|j| j.demand() == Draw::Beyond).count() as u64
    }

    /// Takes the jobs whose limit is only known to be at least what their session wrote
    /// ([`Unit::limit_at_least`]) to have run at `limit` where that is higher: the next guess,
    /// where no reading explains the history at the first. Whether any was.
    pub fn take_bounded_at(&mut self, limit: u64) -> bool {
        self.take_at(limit, |j| j.limit_bounded)
    }

    /// Takes every job whose limit is a guess ([`Unit::limit_assumed`],
    /// [`Unit::limit_at_least`]) to have run at `limit` where that is higher: what the advice
    /// would be at Claude Code's default. Whether any was.
    pub fn take_guessed_at(&mut self, limit: u64) -> bool {
        self.take_at(limit, |j| j.limit_assumed)
    }

    /// Takes the jobs `which` picks to have run at `limit` where that is higher. Whether any
    /// was.
    fn take_at(&mut self, limit: u64, which: impl Fn(&Job) -> bool) -> bool {
        let mut any = false;
        for j in self.jobs.iter_mut().filter(|j| which(j) && j.limit_then.get() < limit) {
            j.limit_then = Count::new(limit);
            any = true;
        }
        any
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
    pub fn history(&self) -> impl Iterator<Item = Then> + Clone + '_ {
        self.jobs.iter().map(|j| Then {
            limit: j.limit_then.get(),
            throttled: j.throttled_then,
            failed: j.failed_then,
            cache_read: j.input().1,
            limit_assumed: j.limit_assumed,
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
    /// Its limit is only a guess: from the setting now, where no record, no session of the
    /// same person and model, and no backup of `apply` shows it
    /// ([`super::limits::Limits::assumed`]); or the least round value that allows what its
    /// session wrote, more than the setting now allows ([`super::limits::Limits::at_least`]).
    pub limit_assumed: bool,
}

/// The throttled attempts the history records for a unit (every request of it).
fn throttled_of(c: &Chain, u: &Unit) -> u32 {
    c.requests[u.first()..=u.last()].iter().map(|r| r.throttled()).fold(0, u32::saturating_add)
}

/// A unit's time to first token and output speed, from its parts' durations and outputs.
fn speed(chains: &[Chain], u: &Unit) -> (f64, Option<f64>) {
    let parts = &chains[u.chain()].requests[u.first()..=u.last()];
    let duration: i64 = parts.iter().map(|p| p.duration()).sum();
    let output: u64 = parts.iter().map(|p| p.output()).sum();
    let first_token = (DEFAULT_FIRST_TOKEN_MS as f64).min(duration as f64 / 2.0);
    if output == 0 || duration <= 0 {
        return (first_token, None);
    }
    let mpt = ((duration as f64 - first_token) / output as f64).clamp(MS_PER_TOKEN_RANGE.0, MS_PER_TOKEN_RANGE.1);
    (first_token, Some(mpt))
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

/// `x.round() as i64` (halves away from zero, saturating), without the call to the C
/// library's `round` that the baseline x86-64 target makes for it (SSE4.1 rounds in one
/// instruction, but is not assumed): the replays round a duration or a delay on every
/// attempt. Below 2^52 in size, `x` less its integer part is exact, so comparing it with a
/// half decides as `round` does; from there on every `f64` is a whole number or a half.
#[inline]
fn round_ms(x: f64) -> i64 {
    let whole = x as i64;
    let rest = x - whole as f64;
    if rest >= 0.5 {
        whole.saturating_add(1)
    } else if rest <= -0.5 {
        whole.saturating_sub(1)
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BURNDOWN: Reading = Reading { cache_reads_reserved: false, burndown_reservation: true };

    fn job(gap: i64, demand: u64) -> Job {
        Job {
            gap,
            first_token_ms: 1_000.0,
            ms_per_token: 10.0,
            input: Count::new(1_000),
            cache_read: Count::new(50_000),
            demand: Count::new(demand),
            limit_then: Count::new(32_000),
            throttled_then: 0,
            link: Job::NO_LINK,
            beyond: false,
            failed_then: false,
            reasked: false,
            limit_assumed: false,
            limit_bounded: false,
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
            links: Vec::new(),
            roots: Vec::new(),
            known_up_to,
            retry: retries::Policy::default(),
        };
        for jobs in chains {
            let from = p.jobs.len();
            p.chains.push(PlanChain::new(jobs[0].gap, from, from + jobs.len()));
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

    /// Counting stops at the first throttled attempt above `most`: the same count where the
    /// run has at most that many, one more than `most` where it has more. Two chains of 500
    /// each at 200,000 (the one above: 4 throttled), ten at 300,000 (each reserves 161,000:
    /// one at a time, many refused).
    #[test]
    fn counting_throttled_attempts_stops_above_the_most_asked() {
        let two = plan(vec![vec![job(0, 500)], vec![job(0, 500)]], 32_000);
        let ten = plan((0..10).map(|_| vec![job(0, 500)]).collect(), 32_000);
        for (p, tpm) in [(&two, 200_000.0), (&ten, 300_000.0)] {
            let all = run(p, &quota(tpm), Limit::Fixed(32_000)).throttled_attempts;
            assert!(all >= 4, "{all}");
            for most in [0, 1, all - 1, all, all + 5, u64::MAX] {
                let counted = throttled_beyond(p, &quota(tpm), Limit::Fixed(32_000), most);
                assert_eq!(counted, if all > most { most + 1 } else { all }, "{all} at most {most}");
            }
        }
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
        assert_eq!((p.gave_up_at(2_000), p.gave_up_at(2_249), p.gave_up_at(2_250)), (1, 1, 0));
        // A demand beyond a history at 8,000: given up on where four parts are no more.
        let mut j = job(0, 0);
        j.beyond = true;
        let p = plan(vec![vec![j]], 8_000);
        assert_eq!((p.gave_up_at(2_000), p.gave_up_at(2_001)), (1, 0));
    }

    #[test]
    fn demand_beyond_the_history_is_cut_below_it_and_unknown_above() {
        let mut j = job(0, 0);
        j.beyond = true;
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
        p.chains.push(PlanChain::new(0, sub, sub + 2).anchored(Anchor { job: 0, chain: 0, offset: 300 }));
        p.children.push(2);
        p.link_mut(0).children = (0, 1);
        p.link_mut(0).join = Some(700);
        // A failure asked again in the second chain, and one that starts a chain of its own.
        p.jobs.insert(4, reasked(3_000));
        p.chains[1].end += 1;
        p.chains[2].first += 1;
        p.chains[2].end += 1;
        let lone = p.jobs.len();
        p.jobs.extend([reasked(0), job(40_000, 900)]);
        p.chains.push(PlanChain::new(500, lone, lone + 2));
        p.roots.push(3);
        for limit in [Limit::Fixed(1_000), Limit::Fixed(4_000), Limit::Fixed(32_000), Limit::AsRecorded] {
            let (walk, (engine, sent)) = (Schedule::new(&p, limit), Schedule::by_engine(&p, limit));
            assert_eq!(walk.requests, engine.requests, "at {limit:?}");
            assert_eq!(walk.base, engine.base, "at {limit:?}");
            // What each request sends and writes, worked out from its job and part, is what
            // the engine sent and wrote.
            let parts: Vec<_> = walk.requests.iter().map(|r| walk.part(r)).collect();
            assert_eq!(parts, sent, "at {limit:?}");
        }
    }

    /// The subagents tied to a failure asked again are not lost at a value, where the failure
    /// is left out: they start when the job sent in its place does, in the walk and in the
    /// replay alike (before, neither ran them).
    #[test]
    fn subagents_of_a_failure_asked_again_still_run() {
        // Chain 0: a job, a failure asked again with a subagent (chain 2) 200 ms after it,
        // the re-ask. Chain 1, from 500 ms: a failure asked again first, with a subagent
        // (chain 3) 50 ms after it, then the re-ask.
        let mut p = plan(
            vec![vec![job(0, 500), reasked(1_000), job(30_000, 800)], vec![reasked(500), job(10_000, 300)]],
            32_000,
        );
        let sub = p.jobs.len();
        p.jobs.extend([job(0, 200), job(0, 100)]);
        p.chains.push(PlanChain::new(0, sub, sub + 1).anchored(Anchor { job: 1, chain: 0, offset: 200 }));
        p.chains.push(PlanChain::new(0, sub + 1, sub + 2).anchored(Anchor { job: 3, chain: 1, offset: 50 }));
        p.children.extend([2, 3]);
        p.link_mut(1).children = (0, 1);
        p.link_mut(3).children = (1, 2);
        for limit in [Limit::Fixed(4_000), Limit::Fixed(32_000), Limit::AsRecorded] {
            let (walk, (engine, _)) = (Schedule::new(&p, limit), Schedule::by_engine(&p, limit));
            assert_eq!(walk.requests, engine.requests, "at {limit:?}");
            // Every job the replay runs is asked, the two subagents' among them.
            let asked = if limit == Limit::AsRecorded { p.jobs.len() } else { p.len() };
            assert_eq!(walk.base.responses as usize, asked, "at {limit:?}");
            assert_eq!(run(&p, &quota(1e9), limit).responses as usize, asked, "at {limit:?}");
        }
        // At a value: chain 0's first job ends at 1 s + 5 s = 6 s, the re-ask is sent 1 s
        // later, at 7 s, where the failure was, and its subagent 200 ms after that; chain 1's
        // re-ask at its start, 500 ms, and its subagent 50 ms after.
        let at = Schedule::new(&p, Limit::Fixed(32_000));
        let start_of = |k: usize| at.requests.iter().find(|r| r.job as usize == k).map(|r| r.start);
        assert_eq!((start_of(2), start_of(sub)), (Some(7_000), Some(7_200)));
        assert_eq!((start_of(4), start_of(sub + 1)), (Some(500), Some(550)));
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

    /// The pace's one sweep, its retries checked as the sweep passes them, counts what a plain
    /// reading of its definition counts: the level after every start and end (in the sweep's
    /// order) listed first, a request's first attempt admitted where the level after its start
    /// is not below zero, each retry against the level the last start or end at or before it
    /// left, refilled since. Random plans (chains of jobs with cuts and long responses),
    /// every reading, tight and loose quotas, reserving another value, an output quota,
    /// retries that fail for good.
    #[test]
    fn the_pace_counts_as_its_definition_does() {
        fn by_definition(s: &Schedule, q: &Quota, max_output: Option<u64>) -> Outcome {
            let (reqs, ends) = (&s.requests, &s.by_end);
            let reserve = |r: &Scheduled, p: &Part| {
                q.reserves(p.input, p.cache_read, max_output.unwrap_or_else(|| s.max_output(r)))
            };
            let charge = |p: &Part| q.charges(p.input, p.written);
            // (time, level after) for every start and end, ends first at equal times.
            let (mut marks, mut after_start) = (Vec::new(), vec![0; reqs.len()]);
            let (mut level, mut at, mut si, mut ei) = (q.tpm, reqs.first().map_or(0, |r| r.start), 0, 0);
            while si < reqs.len() || ei < ends.len() {
                let end_first = ei < ends.len() && (si >= reqs.len() || reqs[ends[ei] as usize].end <= reqs[si].start);
                let t = if end_first { reqs[ends[ei] as usize].end } else { reqs[si].start };
                level = (level + (t - at).max(0) as f64 * q.tpm / 60_000.0).min(q.tpm);
                at = at.max(t);
                if end_first {
                    let p = s.part(&reqs[ends[ei] as usize]);
                    level = (level + reserve(&reqs[ends[ei] as usize], &p) - charge(&p)).min(q.tpm);
                    ei += 1;
                } else {
                    level -= reserve(&reqs[si], &s.part(&reqs[si]));
                    after_start[si] = marks.len();
                    si += 1;
                }
                marks.push((t, level));
            }
            let level_at = |t: EpochMs| {
                let (when, level) = marks[marks.partition_point(|m| m.0 <= t) - 1];
                (level + (t - when) as f64 * q.tpm / 60_000.0).min(q.tpm)
            };
            let output = q.output_tpm.map(|o| OutputLevel::new(s, o));
            let open = |r: &Scheduled, t: EpochMs| {
                output.as_ref().is_none_or(|o| o.at(t) + if t >= r.end { s.part(r).written as f64 } else { 0.0 } > 0.0)
            };
            let mut out = Outcome { attempts: 0, ..s.base };
            for (i, r) in reqs.iter().enumerate() {
                out.attempts += 1;
                if marks[after_start[i]].1 >= 0.0 && open(r, r.start) {
                    continue;
                }
                let p = s.part(r);
                let need = reserve(r, &p);
                let (mut t, mut admitted) = (r.start, false);
                for k in 1..=s.retry.retries {
                    out.throttled_attempts += 1;
                    out.attempts += 1;
                    t += round_ms(s.retry.delay_ms(k) as f64 * (1.0 + retries::JITTER * jitter(r.job as usize, k)));
                    let holds = if t < r.end { need } else { charge(&p) };
                    if (level_at(t) + holds).min(q.tpm) >= need && open(r, t) {
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
        let mut throttled = 0;
        let mut scratch = Scratch::default();
        for seed in 0..60usize {
            let x = |k: usize| jitter(seed * 1_000 + k, 7);
            let chains = (0..1 + (x(0) * 6.0) as usize)
                .map(|c| {
                    (0..1 + (x(10 + c) * 8.0) as usize)
                        .map(|j| {
                            let (a, b) = (x(100 + 10 * c + j), x(500 + 10 * c + j));
                            let mut one = job((a * 20_000.0) as i64, (b * b * 40_000.0) as u64);
                            one.beyond = b > 0.95;
                            one
                        })
                        .collect()
                })
                .collect();
            let p = plan(chains, 32_000);
            for limit in [2_000, 8_000, 32_000] {
                let s = Schedule::new(&p, Limit::Fixed(limit));
                for (tpm, burndown) in [(20_000.0, 5.0), (60_000.0, 5.0), (200_000.0, 1.0), (1e6, 5.0)] {
                    for reading in crate::reading::READINGS {
                        let q = Quota { tpm, burndown, reading, output_tpm: None };
                        for max_output in [None, Some(64_000)] {
                            let paced = at_pace_reserving(&s, &q, max_output);
                            assert_eq!(paced, by_definition(&s, &q, max_output), "seed {seed} at {limit}, {q:?}");
                            throttled += paced.throttled_attempts;
                        }
                    }
                }
                let mantle = Quota { output_tpm: Some(6_000.0), ..Quota::new(f64::INFINITY, 0.0, BURNDOWN) };
                assert_eq!(at_pace(&s, &mantle), by_definition(&s, &mantle, None), "seed {seed} at {limit}, Mantle");
                // Swept side by side (in memory one sweep after another leaves), each quota
                // is measured as on its own.
                let side_by_side = [(20_000.0, 5.0), (200_000.0, 1.0), (60_000.0, 5.0)]
                    .map(|(tpm, burndown)| Quota::new(tpm, burndown, crate::reading::READINGS[seed % 4]));
                let quotas = [&side_by_side[..], &[mantle]].concat();
                for max_output in [None, Some(64_000)] {
                    for (q, paced) in quotas.iter().zip(at_pace_each(&s, &quotas, max_output, &mut scratch)) {
                        assert_eq!(
                            paced,
                            by_definition(&s, q, max_output),
                            "seed {seed} at {limit}, {q:?} beside others"
                        );
                    }
                }
            }
        }
        // The plans were throttled, some to failure.
        assert!(throttled > 1_000, "{throttled}");
    }

    /// The rounding of durations and delays is `f64::round`'s: halves away from zero, the
    /// largest `f64` below a half down, whole numbers and halves past 2^52, saturation and
    /// NaN as `as i64` casts them.
    #[test]
    fn round_ms_rounds_as_round_does() {
        let below_half = 0.5f64.next_down();
        let big = (1u64 << 52) as f64;
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            below_half,
            -below_half,
            1.0 + below_half,
            big - 0.5,
            big + 0.5,
            big + 1.0,
            2.0 * big + 2.0,
            i64::MAX as f64,
            i64::MIN as f64,
            1e300,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Durations and delays as the replays make them.
        xs.extend((0..100_000).map(|i| i as f64 * 0.37 + jitter(i, 1) * 1_000.0));
        for x in xs {
            assert_eq!(round_ms(x), x.round() as i64, "{x:e}");
        }
        assert_eq!((round_ms(2.5), round_ms(-2.5), round_ms(below_half)), (3, -3, 0));
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
