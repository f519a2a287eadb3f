//! World simulator: Claude Code sessions and subagents running against an AWS Bedrock token
//! quota, written to disk exactly as Claude Code writes its transcripts, with the ground truth.
//!
//! It exists to test ccdoctor's replay independently of ccdoctor's code. It follows two reference
//! documents (`claude-code-data.md`: on-disk format, retries, recovery of cut responses;
//! `quota-model.md`: Bedrock's token bucket). Where they are silent, the choices are documented
//! on the items below.
//!
//! Use: build a [`World`] (plain struct with `Default`), run [`simulate`] (one max output for
//! every session) or [`simulate_as_configured`] (per-session settings history), look at the
//! [`Outcome`] counts, and lay the transcripts out with [`write_home`].
//!
//! Two phases keep runs comparable: [`script`] draws everything about the work from the seed
//! (sessions, turns, each request's demand and context, tool gaps, think times, subagents),
//! independent of max output; [`simulate_script`] executes that script against the bucket.
//! Running the same world at another max output reuses every draw; only the outcome changes.
//! Retry jitter comes from a hash of (seed, chain, request, attempt), never from a shared stream.
//!
//! Everything is deterministic; only std and serde_json are used, so this file can be included
//! anywhere with `#[path]`.
//!
//! Model choices where the references are silent:
//! - Time is epoch ms; the bucket starts full at `World::start`; at equal times a response's
//!   settlement is processed before new prompts and attempts, then in insertion order.
//! - A refusal is immediate. Attempt k refused (k ≤ 10) → retry after
//!   `min(500 × 2^(k−1), 32,000) × (1 + 0.25 u)` ms, rounded down; the 11th refusal fails the
//!   request: a main session drops the rest of that turn, a subagent ends (its parent goes on).
//! - Under the plain reading (`burndown_reservation: false`) a response may settle above its
//!   reservation; the excess is taken anyway and the level may go negative (a debt).
//! - A cut response is continued at once (no gap): the continuation asks for the rest of the
//!   demand, its cache read is the previous cache read + cache write, its cache write is what
//!   was just written, same input, ttft and speed. The 4th cut of one logical response writes
//!   the `exceeded the N output token maximum` error and ends the turn (or the subagent).
//! - Context: each chain starts at `cache_read.0`, grows by each request's cache write and
//!   falls back to `cache_read.0` past `cache_read.1` (an auto-compaction).
//! - Subagents start `spawn_gap_ms` after the Task response ends; the parent sends its next
//!   request `join_gap_ms` after the last of them ended (its tool gap is not used then). Task
//!   calls happen only on a turn's non-last step; subagents never spawn subagents.
//! - Tool calls per response: 1–3 (drawn); a Task response has one call per subagent.
#![allow(dead_code)]

pub mod worlds;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs;
use std::io;
use std::path::Path;

// ============================================================================================
// Constants (claude-code-data.md "Retries" and "From 2.1.0 a response cut at max_tokens …")
// ============================================================================================

/// Claude Code's default number of retries after a refused attempt (`maxRetries` on disk).
pub const MAX_RETRIES: u32 = 10;
/// First retry delay: 500 ms, doubling each retry.
pub const RETRY_BASE_MS: i64 = 500;
/// Cap of the doubling retry delay.
pub const RETRY_CAP_MS: i64 = 32_000;
/// The watchdog's cap of the retry delay (5 minutes).
pub const WATCHDOG_CAP_MS: i64 = 300_000;
/// Under the watchdog a request still refused after this many attempts fails (one that can
/// never fit would otherwise be retried for ever).
pub const WATCHDOG_ATTEMPTS: u32 = 1_000;
/// Jitter added to a retry delay: delay × (1 + u × 0.25), u in [0, 1).
pub const RETRY_JITTER: f64 = 0.25;
/// Continuations Claude Code sends after a response cut at max_tokens before giving up.
pub const MAX_CONTINUATIONS: u32 = 3;
/// Bedrock's throttling message (HTTP 429 ThrottlingException).
pub const THROTTLE_MESSAGE: &str = "Too many tokens, please wait before trying again.";
/// Text of the meta user line Claude Code injects after a cut response.
pub const RESUME_PROMPT: &str =
    "Output token limit hit. Resume directly from where you left off. No apology, no recap of what you were doing.";
/// Claude Code's capped default on the Anthropic API, and the limit a response cut there is
/// sent again at (see [`World::escalation`]).
pub const CAPPED_DEFAULT: u64 = 8_000;
pub const ESCALATED: u64 = 64_000;
/// Bucket units per token: with 60,000 units a token, a quota of Q tokens a minute refills
/// exactly Q units a millisecond, so the bucket needs no floating point.
const UNITS_PER_TOKEN: i128 = 60_000;

/// Text of the final error after the retries ran out.
pub fn throttle_error_text() -> String {
    format!("API Error: 429 {THROTTLE_MESSAGE}")
}

/// Text of the final error after the continuations ran out (N = the request's max_tokens).
pub fn max_output_error_text(max_output: u64) -> String {
    format!(
        "API Error: Claude's response exceeded the {max_output} output token maximum. To configure this \
         behavior, set the CLAUDE_CODE_MAX_OUTPUT_TOKENS environment variable."
    )
}

// ============================================================================================
// The world
// ============================================================================================

/// Which of AWS's contradictory readings of the start-of-request reservation to simulate
/// (quota-model.md, "AWS Bedrock").
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// Cache-read tokens count in the reservation (default false).
    pub cache_reads_reserved: bool,
    /// The reservation counts max_tokens at the burndown rate, `B × max_tokens` (default true);
    /// false: plainly, `max_tokens`.
    pub burndown_reservation: bool,
}

impl Default for Reading {
    fn default() -> Self {
        Reading { cache_reads_reserved: false, burndown_reservation: true }
    }
}

/// Everything that defines a simulated world. Ranges are inclusive `(low, high)`; times in ms.
#[derive(Clone, Debug)]
pub struct World {
    /// Seed of every draw.
    pub seed: u64,
    /// Number of main sessions.
    pub sessions: usize,
    /// Number of projects the sessions are spread over (session i works in project i % projects).
    pub projects: usize,
    /// Sessions start at `start + offset`, offset drawn in [0, spread_ms].
    pub spread_ms: i64,
    /// Epoch ms of the world's start; the bucket starts full at this time.
    pub start: i64,
    /// Turns (user prompts) per session.
    pub turns: (u32, u32),
    /// API requests (logical, before continuations) per turn of a main session.
    pub requests_per_turn: (u32, u32),
    /// Probability that a main-session response (not the last of its turn) calls Task.
    pub p_task: f64,
    /// A Task response spawns 1..=max_subagents subagents, run in parallel.
    pub max_subagents: u32,
    /// Requests per subagent.
    pub sub_requests: (u32, u32),
    /// Median of the log-normal output demand, tokens.
    pub demand_median: f64,
    /// Sigma of the log-normal output demand.
    pub demand_sigma: f64,
    /// Demand is clamped to [1, demand_max].
    pub demand_max: u64,
    /// Uncached input tokens per request.
    pub input: (u64, u64),
    /// Cache-write tokens per request.
    pub cache_write: (u64, u64),
    /// Context (cache-read tokens): a chain starts at the low end, grows by each request's
    /// cache write, and drops back to the low end (a compaction) when it passes the high end.
    pub cache_read: (u64, u64),
    /// Time to first token.
    pub ttft_ms: (i64, i64),
    /// Output speed, tokens a second.
    pub speed_tps: (f64, f64),
    /// Think time before a prompt (every turn but a session's first).
    pub think_ms: (i64, i64),
    /// Tool time between a response and the next request.
    pub tool_gap_ms: (i64, i64),
    /// Delay between a Task response's end and a subagent's first request.
    pub spawn_gap_ms: (i64, i64),
    /// Delay between the last subagent's end and the parent's next request.
    pub join_gap_ms: (i64, i64),
    /// Probability that a response starts with a thinking block (writing only).
    pub p_thinking: f64,
    /// Bedrock tokens-per-minute quota Q (bucket capacity; refill Q per minute).
    pub quota_tpm: u64,
    /// Output burndown B (quota tokens per output token).
    pub burndown: f64,
    /// Bedrock Mantle (`CLAUDE_CODE_USE_MANTLE`): its output tokens-per-minute quota, a
    /// second bucket; `quota_tpm` is then the input quota. A request is admitted when the
    /// input bucket holds `input + cache_write + max_output` and the output bucket is not
    /// empty; it is charged its input and cache write on the input side, and its output on
    /// the output side when it is admitted (the world knows what it will write; the replay
    /// charges output when the response ends, so the two differ). `reading` and `burndown`
    /// play no part. `None`: Bedrock's runtime endpoint, one bucket.
    pub output_quota_tpm: Option<u64>,
    /// The Anthropic API with no max output set (Claude Code 2.1.x's capped default, 2.1.88
    /// source; testdata/error-texts/FACTS.md section 1): every request asks for
    /// [`CAPPED_DEFAULT`]; a response cut there is withheld (not written) and the same request
    /// is sent again at once at [`ESCALATED`]; continuations after that ask for
    /// [`ESCALATED`] too. The sessions' max outputs are not used; the settings name none.
    pub escalation: bool,
    /// Reservation reading.
    pub reading: Reading,
    /// Retries after a refused attempt (`CLAUDE_CODE_MAX_RETRIES`, written to the settings when
    /// not the default 10).
    pub max_retries: u32,
    /// `CLAUDE_CODE_RETRY_WATCHDOG`: a refused request is retried without end (here: up to
    /// [`WATCHDOG_ATTEMPTS`]), the delay doubling up to 5 minutes.
    pub retry_watchdog: bool,
    /// Max output (`CLAUDE_CODE_MAX_OUTPUT_TOKENS`) for [`simulate_as_configured`]'s fallback.
    pub max_output: u64,
    /// Per-session max output (a settings history), used by [`simulate_as_configured`].
    pub max_output_by_session: Option<Vec<u64>>,
    /// Model id written in assistant lines.
    pub model: String,
    /// Claude Code version written on every line (2.1.97 and later write the final usage on
    /// every line of a response).
    pub version: String,
    /// Probability that the user, after a main session's request failed for good on 429s,
    /// asks again: a new prompt after `reask_ms`, and the turn goes on from the failed request
    /// (the same request again). 0: the turn is dropped, as before.
    pub p_reask: f64,
    /// The time between the failure and the user's new prompt.
    pub reask_ms: (i64, i64),
    /// At most this many re-asks in one turn; then the turn is dropped.
    pub max_reasks: u32,
    /// Others' load on the same quota, which the history does not show (a team sharing an
    /// account): every `.0` ms from the start, `.1` tokens taken from the bucket (into debt
    /// where it holds fewer), while the user's work goes on. `None`: the quota is the user's
    /// alone.
    pub others: Option<(i64, u64)>,
}

impl Default for World {
    fn default() -> Self {
        World {
            seed: 1,
            sessions: 3,
            projects: 2,
            spread_ms: 10 * 60_000,
            start: epoch_ms(2026, 11, 2, 9, 0, 0),
            turns: (3, 8),
            requests_per_turn: (2, 12),
            p_task: 0.1,
            max_subagents: 3,
            sub_requests: (3, 15),
            demand_median: 350.0,
            demand_sigma: 1.3,
            demand_max: 120_000,
            input: (1, 50),
            cache_write: (200, 5_000),
            cache_read: (15_000, 150_000),
            ttft_ms: (1_000, 3_000),
            speed_tps: (40.0, 90.0),
            think_ms: (20_000, 600_000),
            tool_gap_ms: (500, 30_000),
            spawn_gap_ms: (100, 1_000),
            join_gap_ms: (200, 2_000),
            p_thinking: 0.5,
            quota_tpm: 200_000,
            burndown: 5.0,
            output_quota_tpm: None,
            escalation: false,
            max_retries: MAX_RETRIES,
            retry_watchdog: false,
            reading: Reading::default(),
            max_output: 32_000,
            max_output_by_session: None,
            model: "us.anthropic.claude-sonnet-4-20250514-v1:0".to_string(),
            version: "2.1.280".to_string(),
            p_reask: 0.0,
            reask_ms: (5_000, 60_000),
            max_reasks: 3,
            others: None,
        }
    }
}

// ============================================================================================
// Deterministic randomness
// ============================================================================================

/// SplitMix64's finalizer: a bijective 64-bit mixer.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Order-sensitive hash of a few words.
pub fn hash64(parts: &[u64]) -> u64 {
    let mut h = 0x243f_6a88_85a3_08d3u64;
    for &p in parts {
        h = mix64(h ^ p).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    mix64(h)
}

/// A uniform number in [0, 1) from a hash.
pub fn unit_from(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// SplitMix64 pseudo-random generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        unit_from(self.next_u64())
    }

    /// Uniform integer in the inclusive range.
    pub fn range_u64(&mut self, (lo, hi): (u64, u64)) -> u64 {
        if hi <= lo { lo } else { lo + self.next_u64() % (hi - lo + 1) }
    }

    /// Uniform integer in the inclusive range.
    pub fn range_i64(&mut self, (lo, hi): (i64, i64)) -> i64 {
        if hi <= lo { lo } else { lo + (self.next_u64() % (hi - lo + 1) as u64) as i64 }
    }

    /// Uniform real in [lo, hi).
    pub fn range_f64(&mut self, (lo, hi): (f64, f64)) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// True with probability p.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// A UUID (version 4 layout) from 128 random bits.
fn uuid_from(a: u64, b: u64) -> String {
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// `n` base-62 characters from a generator.
fn base62(rng: &mut Rng, n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..n).map(|_| ALPHABET[(rng.next_u64() % 62) as usize] as char).collect()
}

// ============================================================================================
// Time
// ============================================================================================

/// Epoch milliseconds of a UTC date and time.
pub fn epoch_ms(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    let day = ccdoctor::time::parse_date(&format!("{y:04}-{mo:02}-{d:02}")).expect("a valid date");
    ((day * 24 + h) * 60 + mi) * 60_000 + s * 1000
}

/// ISO 8601 UTC with milliseconds and `Z`, as Claude Code writes `timestamp`.
pub fn iso_ms(ms: i64) -> String {
    ccdoctor::time::iso_timestamp(ms)
}

// ============================================================================================
// The script (phase 1: independent of max output)
// ============================================================================================

/// One logical request as the work defines it (before any continuation).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestScript {
    /// Uncached input tokens.
    pub input: u64,
    /// Cache-write tokens.
    pub cache_write: u64,
    /// Cache-read tokens (the context).
    pub cache_read: u64,
    /// Output tokens the model wants to write.
    pub demand: u64,
    /// Time to first token.
    pub ttft_ms: i64,
    /// Output speed, tokens a second.
    pub speed_tps: f64,
    /// Whether the response starts with a thinking block (writing only).
    pub thinking: bool,
}

impl RequestScript {
    /// Duration of a response that writes `output` tokens: ttft + output / speed.
    pub fn duration_ms(&self, output: u64) -> i64 {
        self.ttft_ms + (output as f64 * 1000.0 / self.speed_tps).round() as i64
    }

    /// The continuation sent after this request was cut at `written` tokens: it asks for the
    /// rest of the demand; the previous context plus what was written becomes its context
    /// (cache read grows by the previous cache write, cache write is what was just written).
    pub fn continuation(&self, written: u64) -> RequestScript {
        RequestScript {
            input: self.input,
            cache_write: written,
            cache_read: self.cache_read + self.cache_write,
            demand: self.demand.saturating_sub(written),
            ttft_ms: self.ttft_ms,
            speed_tps: self.speed_tps,
            thinking: false,
        }
    }
}

/// One step of a chain: a request, then tool time (or subagents) before the next step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepScript {
    /// The request.
    pub req: RequestScript,
    /// Tool time after the response, before the next request (ignored when subagents run).
    pub gap_ms: i64,
    /// Tool calls in the response (for a Task response: one per subagent).
    pub tools: u32,
    /// Subagents spawned by this response (main sessions only, never on a turn's last step).
    pub agents: Vec<AgentScript>,
    /// Delay between the last subagent's end and the next request.
    pub join_gap_ms: i64,
}

/// A subagent: a chain of steps started by a Task call.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentScript {
    /// Agent id (`a` + 6 hex digits), unique in the world.
    pub id: String,
    /// Index of the agent within its session (stable key for jitter hashing).
    pub index: usize,
    /// Delay between the Task response's end and this agent's first request.
    pub spawn_gap_ms: i64,
    /// Its requests.
    pub steps: Vec<StepScript>,
}

/// One user turn: a prompt after a think time, then steps.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnScript {
    /// Time between the previous turn's end and this prompt (0 for a session's first turn).
    pub think_ms: i64,
    /// The turn's steps; the last one ends the turn (`end_turn`).
    pub steps: Vec<StepScript>,
}

/// One main session.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionScript {
    /// Session id (UUID).
    pub id: String,
    /// Project name; the working directory is `/sim/<project>`.
    pub project: String,
    /// Epoch ms of the first prompt.
    pub start: i64,
    /// Its turns.
    pub turns: Vec<TurnScript>,
}

/// The whole work of a world, drawn from its seed, independent of max output.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The main sessions.
    pub sessions: Vec<SessionScript>,
}

/// Draws the world's script. Each session and each subagent has its own stream derived from
/// (seed, session, agent), so adding sessions does not change the existing ones.
pub fn script(world: &World) -> Script {
    let mut agent_ids = HashSet::new();
    let sessions = (0..world.sessions).map(|i| session_script(world, i, &mut agent_ids)).collect();
    Script { sessions }
}

/// A chain's growing context: see [`World::cache_read`].
struct Context {
    cache_read: u64,
    low: u64,
    high: u64,
}

impl Context {
    fn new(world: &World) -> Self {
        Context { cache_read: world.cache_read.0, low: world.cache_read.0, high: world.cache_read.1 }
    }

    /// Returns the current context, then grows it by `written` (compacting past the high end).
    fn take(&mut self, written: u64) -> u64 {
        let now = self.cache_read;
        self.cache_read += written;
        if self.cache_read > self.high {
            self.cache_read = self.low;
        }
        now
    }
}

fn session_script(world: &World, i: usize, agent_ids: &mut HashSet<String>) -> SessionScript {
    let mut rng = Rng::new(hash64(&[world.seed, 0x5e55, i as u64]));
    let start = world.start + rng.range_i64((0, world.spread_ms));
    let id = uuid_from(rng.next_u64(), rng.next_u64());
    let project = format!("app{}", i % world.projects.max(1));
    let mut ctx = Context::new(world);
    let mut agents_so_far = 0usize;
    let n_turns = rng.range_u64((u64::from(world.turns.0), u64::from(world.turns.1)));
    let mut turns = Vec::new();
    for t in 0..n_turns {
        let think_ms = if t == 0 { 0 } else { rng.range_i64(world.think_ms) };
        let n = rng.range_u64((u64::from(world.requests_per_turn.0.max(1)), u64::from(world.requests_per_turn.1)));
        let mut steps = Vec::new();
        for s in 0..n {
            let last = s + 1 == n;
            steps.push(main_step(world, &mut rng, &mut ctx, last, (i, &mut agents_so_far), agent_ids));
        }
        turns.push(TurnScript { think_ms, steps });
    }
    SessionScript { id, project, start, turns }
}

fn main_step(
    world: &World,
    rng: &mut Rng,
    ctx: &mut Context,
    last: bool,
    (session, agents_so_far): (usize, &mut usize),
    agent_ids: &mut HashSet<String>,
) -> StepScript {
    let mut step = plain_step(world, rng, ctx);
    if !last && rng.chance(world.p_task) {
        let k = rng.range_u64((1, u64::from(world.max_subagents.max(1))));
        for _ in 0..k {
            step.agents.push(agent_script(world, session, *agents_so_far, agent_ids));
            *agents_so_far += 1;
        }
        step.tools = k as u32;
    }
    step
}

/// A step without subagents.
fn plain_step(world: &World, rng: &mut Rng, ctx: &mut Context) -> StepScript {
    let req = request_script(world, rng, ctx);
    StepScript {
        req,
        gap_ms: rng.range_i64(world.tool_gap_ms),
        tools: rng.range_u64((1, 3)) as u32,
        agents: Vec::new(),
        join_gap_ms: rng.range_i64(world.join_gap_ms),
    }
}

fn agent_script(world: &World, session: usize, index: usize, agent_ids: &mut HashSet<String>) -> AgentScript {
    let mut rng = Rng::new(hash64(&[world.seed, 0xa6e7, session as u64, index as u64]));
    let id = loop {
        let id = format!("a{:06x}", rng.next_u64() & 0xff_ffff);
        if agent_ids.insert(id.clone()) {
            break id;
        }
    };
    let spawn_gap_ms = rng.range_i64(world.spawn_gap_ms);
    let mut ctx = Context::new(world);
    let n = rng.range_u64((u64::from(world.sub_requests.0.max(1)), u64::from(world.sub_requests.1)));
    let steps = (0..n).map(|_| plain_step(world, &mut rng, &mut ctx)).collect();
    AgentScript { id, index, spawn_gap_ms, steps }
}

fn request_script(world: &World, rng: &mut Rng, ctx: &mut Context) -> RequestScript {
    let input = rng.range_u64(world.input);
    let cache_write = rng.range_u64(world.cache_write);
    let cache_read = ctx.take(cache_write);
    let demand = draw_demand(world, rng);
    let ttft_ms = rng.range_i64(world.ttft_ms);
    let speed_tps = rng.range_f64(world.speed_tps);
    let thinking = rng.chance(world.p_thinking);
    RequestScript { input, cache_write, cache_read, demand, ttft_ms, speed_tps, thinking }
}

/// Log-normal demand: median × exp(sigma × N(0,1)), rounded, clamped to [1, demand_max].
fn draw_demand(world: &World, rng: &mut Rng) -> u64 {
    let d = world.demand_median * (world.demand_sigma * rng.normal()).exp();
    d.round().clamp(1.0, world.demand_max as f64) as u64
}

// ============================================================================================
// The quota: Bedrock runtime token bucket
// ============================================================================================

/// One Bedrock bucket (per model): capacity Q tokens, refilled continuously at Q per minute,
/// never above Q, starting full. Exact integer arithmetic (see `UNITS_PER_TOKEN`).
///
/// The level may go below zero: under the plain reading a response can settle above its
/// reservation (B × output > max_tokens); the excess is taken anyway (a debt that refill repays).
#[derive(Clone, Debug)]
pub struct Bucket {
    quota_tpm: u64,
    level: i128,
    last_ms: i64,
}

impl Bucket {
    /// A full bucket at time `t0`.
    pub fn new(quota_tpm: u64, t0: i64) -> Self {
        Bucket { quota_tpm, level: i128::from(quota_tpm) * UNITS_PER_TOKEN, last_ms: t0 }
    }

    fn capacity(&self) -> i128 {
        i128::from(self.quota_tpm) * UNITS_PER_TOKEN
    }

    /// Refills up to time `t` (never backwards).
    pub fn refill(&mut self, t: i64) {
        if t > self.last_ms {
            let add = i128::from(t - self.last_ms) * i128::from(self.quota_tpm);
            self.level = (self.level + add).min(self.capacity());
            self.last_ms = t;
        }
    }

    /// Tokens in the bucket at time `t` (after refilling).
    pub fn level_at(&mut self, t: i64) -> f64 {
        self.refill(t);
        self.level as f64 / UNITS_PER_TOKEN as f64
    }

    /// Admission at `t`: takes `tokens` if the bucket holds them; a refusal takes nothing.
    pub fn try_take(&mut self, t: i64, tokens: u64) -> bool {
        self.refill(t);
        let need = i128::from(tokens) * UNITS_PER_TOKEN;
        if self.level >= need {
            self.level -= need;
            true
        } else {
            false
        }
    }

    /// Settlement at `t`: returns `reserved − charged` (negative takes more), capped at Q.
    pub fn settle(&mut self, t: i64, reserved: u64, charged: u64) {
        self.refill(t);
        let back = (i128::from(reserved) - i128::from(charged)) * UNITS_PER_TOKEN;
        self.level = (self.level + back).min(self.capacity());
    }
}

/// Start-of-request reservation: `input + cache_write (+ cache_read) + B × max_output`
/// (or `+ max_output` under the plain reading). B × tokens is rounded to whole tokens.
pub fn reservation(world: &World, req: &RequestScript, max_output: u64) -> u64 {
    if world.output_quota_tpm.is_some() {
        return req.input + req.cache_write + max_output;
    }
    let reads = if world.reading.cache_reads_reserved { req.cache_read } else { 0 };
    let out = if world.reading.burndown_reservation { burn(world.burndown, max_output) } else { max_output };
    req.input + req.cache_write + reads + out
}

/// Settled charge: `input + cache_write + B × output` (cache reads never count).
pub fn charge(world: &World, req: &RequestScript, output: u64) -> u64 {
    if world.output_quota_tpm.is_some() {
        return req.input + req.cache_write;
    }
    req.input + req.cache_write + burn(world.burndown, output)
}

fn burn(burndown: f64, tokens: u64) -> u64 {
    (burndown * tokens as f64).round() as u64
}

/// Claude Code's delay before retry `k` (k = 1, 2, …) without jitter: 500 × 2^(k−1), capped at 32 s.
pub fn retry_base_ms(k: u32) -> i64 {
    let shift = k.saturating_sub(1).min(20);
    (RETRY_BASE_MS << shift).min(RETRY_CAP_MS)
}

/// Delay before retry `k` with jitter `u` in [0, 1): base × (1 + 0.25 u), rounded down.
pub fn retry_delay_ms(k: u32, u: f64) -> i64 {
    (retry_base_ms(k) as f64 * (1.0 + RETRY_JITTER * u)).floor() as i64
}

/// The same under the world's retry settings (the watchdog's cap is 5 minutes).
fn world_retry_delay_ms(world: &World, k: u32, u: f64) -> i64 {
    let shift = k.saturating_sub(1).min(20);
    let cap = if world.retry_watchdog { WATCHDOG_CAP_MS } else { RETRY_CAP_MS };
    ((RETRY_BASE_MS << shift).min(cap) as f64 * (1.0 + RETRY_JITTER * u)).floor() as i64
}

// ============================================================================================
// Outcome: ground truth and what the writer needs
// ============================================================================================

/// Why a response stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Cut at max_output (`stop_reason:"max_tokens"`).
    MaxTokens,
    /// The turn's (or subagent's) last response.
    EndTurn,
    /// Tool calls follow; `task` when they are Task calls spawning subagents.
    ToolUse { tools: u32, task: bool },
}

/// Something a chain wrote, in time order.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEvent {
    /// A user prompt (a main turn's start, or a subagent's Task prompt).
    Prompt { t: i64 },
    /// Tool results for every tool call of the previous response, written as the next request
    /// is sent.
    ToolResults { t: i64 },
    /// A refused attempt that will be retried (`system`/`api_error` line).
    Retry { t: i64, attempt: u32, delay_ms: i64 },
    /// A completed API response.
    Response {
        admitted: i64,
        end: i64,
        ttft_ms: i64,
        input: u64,
        cache_write: u64,
        cache_read: u64,
        output: u64,
        thinking: bool,
        stop: Stop,
    },
    /// The meta user line injected after a cut response.
    ResumeMeta { t: i64 },
    /// Retries ran out: `API Error: 429 Too many tokens …`.
    RateLimitError { t: i64 },
    /// Continuations ran out: `exceeded the N output token maximum`.
    MaxOutputError { t: i64, max_output: u64 },
}

impl LogEvent {
    /// Time of the event (a response's end).
    pub fn time(&self) -> i64 {
        match *self {
            LogEvent::Prompt { t }
            | LogEvent::ToolResults { t }
            | LogEvent::Retry { t, .. }
            | LogEvent::ResumeMeta { t }
            | LogEvent::RateLimitError { t }
            | LogEvent::MaxOutputError { t, .. } => t,
            LogEvent::Response { end, .. } => end,
        }
    }
}

/// What one chain (a main session or a subagent) wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainLog {
    /// Index into [`Outcome::sessions`].
    pub session: usize,
    /// The subagent's id, None for the main session.
    pub agent_id: Option<String>,
    /// Its events in time order.
    pub events: Vec<LogEvent>,
}

/// A main session as run.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Project name.
    pub project: String,
    /// Working directory (`/sim/<project>`).
    pub cwd: String,
    /// Epoch ms of its first prompt.
    pub start_ms: i64,
    /// Max output this session (and its subagents) ran at.
    pub max_output: u64,
}

/// One API request (a logical request's first send, or one of its continuations).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    /// Index into [`Outcome::chains`].
    pub chain: usize,
    /// Index into [`Outcome::sessions`].
    pub session: usize,
    /// Subagent id, None for a main session.
    pub agent_id: Option<String>,
    /// Turn index (0 for subagents).
    pub turn: usize,
    /// Step index in the turn (or the subagent).
    pub step: usize,
    /// 0 for the first send, 1..=3 for continuations.
    pub segment: u32,
    /// Time of the first attempt.
    pub first_attempt_ms: i64,
    /// Time of admission, None when it failed for good.
    pub admitted_ms: Option<i64>,
    /// Response end, or the time of the final refusal.
    pub end_ms: i64,
    /// Output tokens wanted by this request (the remainder for a continuation).
    pub demand: u64,
    /// Output tokens generated (0 when it failed).
    pub output: u64,
    /// Attempts made (1 = admitted at once).
    pub attempts: u32,
    /// Max output in force.
    pub max_output: u64,
    /// Tokens reserved at admission (of the admitted attempt or what each refused one needed).
    pub reserved: u64,
    /// Tokens charged at settlement (0 when it failed).
    pub charged: u64,
    /// Input tokens.
    pub input: u64,
    /// Cache-write tokens.
    pub cache_write: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Stopped at max_output.
    pub cut: bool,
    /// Failed for good after the retries.
    pub failed: bool,
}

/// Ground truth of one run, and everything [`write_home`] needs.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The world's seed (ids in the files derive from it).
    pub seed: u64,
    /// Model id written.
    pub model: String,
    /// Claude Code version written.
    pub version: String,
    /// A Mantle world (the settings name `CLAUDE_CODE_USE_MANTLE`).
    pub mantle: bool,
    /// An Anthropic API world with the capped default and its escalation (the settings name
    /// no provider and no max output).
    pub escalation: bool,
    /// The world's retry settings (see [`World::max_retries`]).
    pub max_retries: u32,
    pub retry_watchdog: bool,
    /// All API attempts, admitted or refused.
    pub attempts: u64,
    /// Refused attempts.
    pub throttled_attempts: u64,
    /// Refused attempts that were retried: the `system`/`api_error` lines written,
    /// `throttled_attempts − failed_requests` (an 11th refusal is not retried).
    pub retries: u64,
    /// Requests that failed for good (11th attempt refused).
    pub failed_requests: u64,
    /// Completed API responses, continuations included.
    pub responses: u64,
    /// Logical responses (a first send that completed; its continuations do not count again).
    pub logical_responses: u64,
    /// Logical responses cut at least once.
    pub cut_responses: u64,
    /// API responses cut at max_output (lines with `stop_reason:"max_tokens"`, counted per response).
    pub cut_api_responses: u64,
    /// Meta resume lines written (continuations sent).
    pub resume_prompts: u64,
    /// Logical responses that ran out of continuations (`exceeded the N …` errors).
    pub max_output_errors: u64,
    /// Prompts a user sent again after a request failed for good (see [`World::p_reask`]).
    pub reasks: u64,
    /// Responses cut at the capped default and sent again at the escalated limit (see
    /// [`World::escalation`]); the cut attempts are not written.
    pub escalations: u64,
    /// Most requests admitted and not yet finished at once.
    pub peak_in_flight: u32,
    /// Time of the last event.
    pub end_ms: i64,
    /// Every API request, in order of completion.
    pub requests: Vec<RequestRecord>,
    /// The main sessions.
    pub sessions: Vec<SessionInfo>,
    /// Main sessions first (index = session index), then subagents in the order they started.
    pub chains: Vec<ChainLog>,
}

impl Outcome {
    /// A one-line summary: attempts, throttled, failed, cut, ….
    pub fn summary(&self) -> String {
        format!(
            "attempts {} throttled {} retries {} failed {} responses {} logical {} cut {} (api {}) \
             max_output_errors {} peak_in_flight {} reasks {}",
            self.attempts,
            self.throttled_attempts,
            self.retries,
            self.failed_requests,
            self.responses,
            self.logical_responses,
            self.cut_responses,
            self.cut_api_responses,
            self.max_output_errors,
            self.peak_in_flight,
            self.reasks
        )
    }
}

// ============================================================================================
// Execution (phase 2)
// ============================================================================================

/// Runs the world with one max output for every session and subagent.
pub fn simulate(world: &World, max_output: u64) -> Outcome {
    let s = script(world);
    let per_session = vec![max_output; s.sessions.len()];
    simulate_script(world, &s, &per_session)
}

/// Runs the world with each session's configured max output
/// (`max_output_by_session[i]`, falling back to `max_output`).
pub fn simulate_as_configured(world: &World) -> Outcome {
    let s = script(world);
    let by = world.max_output_by_session.as_deref().unwrap_or(&[]);
    let per_session: Vec<u64> = (0..s.sessions.len()).map(|i| by.get(i).copied().unwrap_or(world.max_output)).collect();
    simulate_script(world, &s, &per_session)
}

/// Runs a given script (`max_output_by_session[i]` for session i and its subagents).
pub fn simulate_script(world: &World, script: &Script, max_output_by_session: &[u64]) -> Outcome {
    let mut sim = Sim::new(world, script, max_output_by_session);
    sim.run();
    sim.into_outcome()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum EvKind {
    /// Others take their tokens ([`World::others`]), before anything of the user's at the
    /// same time.
    Others,
    /// A response ends (settles first at equal times).
    Finish,
    /// A turn (main) or a subagent starts with its prompt.
    Start,
    /// The user asks again after a request failed: a prompt, then the same request.
    Reask,
    /// An attempt is sent; `results` writes the previous response's tool results first.
    Send { results: bool },
}

/// Queue entry, ordered by time, then kind (settlements before admissions), then insertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    t: i64,
    kind: EvKind,
    seq: u64,
    chain: usize,
}

/// Runtime state of one chain.
struct Chain {
    session: usize,
    /// (turn, step, k) of the Task call that spawned this subagent.
    agent: Option<(usize, usize, usize)>,
    parent: Option<usize>,
    max_output: u64,
    jitter_id: u64,
    turn: usize,
    step: usize,
    seg: u32,
    req: RequestScript,
    attempt: u32,
    first_attempt_at: i64,
    admitted_at: i64,
    reserved: u64,
    output: u64,
    cut_seen: bool,
    /// The current logical response was escalated (see [`World::escalation`]).
    escalated: bool,
    waiting: usize,
    /// Re-asks in the current turn.
    reasks: u32,
    log: Vec<LogEvent>,
}

impl Chain {
    fn new(session: usize, max_output: u64, jitter_id: u64) -> Self {
        Chain {
            session,
            agent: None,
            parent: None,
            max_output,
            jitter_id,
            turn: 0,
            step: 0,
            seg: 0,
            req: RequestScript::default(),
            attempt: 0,
            first_attempt_at: 0,
            admitted_at: 0,
            reserved: 0,
            output: 0,
            cut_seen: false,
            escalated: false,
            waiting: 0,
            reasks: 0,
            log: Vec::new(),
        }
    }

    /// The max output the current request asks for.
    fn limit(&self) -> u64 {
        if self.escalated { ESCALATED } else { self.max_output }
    }

    /// Stable index of the current API request in its chain, for jitter hashing.
    fn request_index(&self) -> u64 {
        ((self.turn as u64) << 24) | ((self.step as u64) << 4) | u64::from(self.seg)
    }
}

struct Sim<'a> {
    world: &'a World,
    script: &'a Script,
    bucket: Bucket,
    /// Mantle's output bucket.
    output: Option<Bucket>,
    chains: Vec<Chain>,
    queue: BinaryHeap<Reverse<Event>>,
    seq: u64,
    in_flight: u32,
    now: i64,
    out: Outcome,
}

impl<'a> Sim<'a> {
    fn new(world: &'a World, script: &'a Script, max_output_by_session: &'a [u64]) -> Self {
        let sessions = script
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| SessionInfo {
                id: s.id.clone(),
                project: s.project.clone(),
                cwd: format!("/sim/{}", s.project),
                start_ms: s.start,
                max_output: if world.escalation {
                    CAPPED_DEFAULT
                } else {
                    max_output_by_session.get(i).copied().unwrap_or(world.max_output)
                },
            })
            .collect();
        let out = Outcome {
            seed: world.seed,
            model: world.model.clone(),
            version: world.version.clone(),
            mantle: world.output_quota_tpm.is_some(),
            escalation: world.escalation,
            max_retries: world.max_retries,
            retry_watchdog: world.retry_watchdog,
            end_ms: world.start,
            sessions,
            ..Outcome::default()
        };
        let mut sim = Sim {
            world,
            script,
            bucket: Bucket::new(world.quota_tpm, world.start),
            output: world.output_quota_tpm.map(|o| Bucket::new(o, world.start)),
            chains: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            in_flight: 0,
            now: world.start,
            out,
        };
        sim.start_sessions();
        if let Some((every, _)) = world.others {
            sim.push(world.start + every.max(1), EvKind::Others, 0);
        }
        sim
    }

    /// One main chain per session (chain index = session index), its first turn queued.
    fn start_sessions(&mut self) {
        for (i, s) in self.script.sessions.iter().enumerate() {
            let m = self.out.sessions[i].max_output;
            self.chains.push(Chain::new(i, m, hash64(&[i as u64, 0])));
            if !s.turns.is_empty() {
                self.push(s.start, EvKind::Start, i);
            }
        }
    }

    fn push(&mut self, t: i64, kind: EvKind, chain: usize) {
        self.seq += 1;
        self.queue.push(Reverse(Event { t, kind, seq: self.seq, chain }));
    }

    fn run(&mut self) {
        while let Some(Reverse(ev)) = self.queue.pop() {
            if ev.kind == EvKind::Others {
                // Not the user's: the world's time is not moved by it.
                self.on_others(ev.t);
                continue;
            }
            self.now = ev.t;
            match ev.kind {
                EvKind::Others => unreachable!("handled above"),
                EvKind::Start => self.on_start(ev.chain, ev.t),
                EvKind::Reask => self.on_reask(ev.chain, ev.t),
                EvKind::Send { results } => self.on_send(ev.chain, ev.t, results),
                EvKind::Finish => self.on_finish(ev.chain, ev.t),
            }
        }
        self.out.end_ms = self.now;
    }

    fn into_outcome(mut self) -> Outcome {
        self.out.retries = self.out.throttled_attempts - self.out.failed_requests;
        let chains = std::mem::take(&mut self.chains);
        self.out.chains = chains
            .into_iter()
            .map(|c| {
                let agent_id = c.agent.map(|a| self.agent_script(c.session, a).id.clone());
                ChainLog { session: c.session, agent_id, events: c.log }
            })
            .collect();
        self.out
    }

    // ---- script lookups -------------------------------------------------------------------

    fn agent_script(&self, session: usize, (turn, step, k): (usize, usize, usize)) -> &'a AgentScript {
        &self.script.sessions[session].turns[turn].steps[step].agents[k]
    }

    /// The steps of chain `c`'s current turn (main) or of the subagent.
    fn steps(&self, c: usize) -> &'a [StepScript] {
        let ch = &self.chains[c];
        match ch.agent {
            Some(a) => &self.agent_script(ch.session, a).steps,
            None => &self.script.sessions[ch.session].turns[ch.turn].steps,
        }
    }

    /// Makes step `step` the chain's current logical request.
    fn begin_step(&mut self, c: usize, step: usize) {
        let req = self.steps(c)[step].req.clone();
        let ch = &mut self.chains[c];
        ch.step = step;
        ch.seg = 0;
        ch.req = req;
        ch.attempt = 0;
        ch.cut_seen = false;
        ch.escalated = false;
    }

    // ---- events ---------------------------------------------------------------------------

    /// A main turn's prompt or a subagent's start: the prompt line, then the first request.
    fn on_start(&mut self, c: usize, t: i64) {
        self.begin_step(c, 0);
        self.chains[c].log.push(LogEvent::Prompt { t });
        self.push(t, EvKind::Send { results: false }, c);
    }

    /// The user's new prompt after a failure: the prompt line, then the failed request again.
    fn on_reask(&mut self, c: usize, t: i64) {
        let ch = &mut self.chains[c];
        ch.attempt = 0;
        ch.log.push(LogEvent::Prompt { t });
        self.push(t, EvKind::Send { results: false }, c);
    }

    /// One attempt: admitted (the response is queued to finish) or refused (retry or fail).
    fn on_send(&mut self, c: usize, t: i64, results: bool) {
        let ch = &mut self.chains[c];
        if results {
            ch.log.push(LogEvent::ToolResults { t });
        }
        if ch.attempt == 0 {
            ch.first_attempt_at = t;
        }
        ch.attempt += 1;
        self.out.attempts += 1;
        let reserved = reservation(self.world, &ch.req, ch.limit());
        let output_open = self.output.as_mut().is_none_or(|o| o.level_at(t) > 0.0);
        if output_open && self.bucket.try_take(t, reserved) {
            self.admit(c, t, reserved);
        } else {
            self.refuse(c, t, reserved);
        }
    }

    fn admit(&mut self, c: usize, t: i64, reserved: u64) {
        let ch = &mut self.chains[c];
        ch.admitted_at = t;
        ch.reserved = reserved;
        ch.output = ch.req.demand.min(ch.limit());
        if let Some(o) = self.output.as_mut() {
            o.settle(t, 0, ch.output);
        }
        let end = t + ch.req.duration_ms(ch.output);
        self.in_flight += 1;
        self.out.peak_in_flight = self.out.peak_in_flight.max(self.in_flight);
        self.push(end, EvKind::Finish, c);
    }

    fn refuse(&mut self, c: usize, t: i64, reserved: u64) {
        self.out.throttled_attempts += 1;
        let seed = self.world.seed;
        let ch = &mut self.chains[c];
        let retries = if self.world.retry_watchdog { WATCHDOG_ATTEMPTS } else { self.world.max_retries };
        if ch.attempt <= retries {
            let u = unit_from(hash64(&[seed, 0x717e, ch.jitter_id, ch.request_index(), u64::from(ch.attempt)]));
            let delay_ms = world_retry_delay_ms(self.world, ch.attempt, u);
            ch.log.push(LogEvent::Retry { t, attempt: ch.attempt, delay_ms });
            self.push(t + delay_ms, EvKind::Send { results: false }, c);
        } else {
            self.out.failed_requests += 1;
            ch.log.push(LogEvent::RateLimitError { t });
            ch.reserved = reserved;
            self.record(c, None, t, 0, false, true);
            match self.reask_delay(c) {
                Some(delay) => {
                    self.chains[c].reasks += 1;
                    self.out.reasks += 1;
                    self.push(t + delay, EvKind::Reask, c);
                }
                None => self.stop_chain_unit(c, t),
            }
        }
    }

    /// Whether the user of main chain `c` asks again after its request failed, and after how
    /// long (drawn from a hash, like the retry jitter).
    fn reask_delay(&self, c: usize) -> Option<i64> {
        let ch = &self.chains[c];
        let w = self.world;
        if ch.agent.is_some() || ch.reasks >= w.max_reasks || w.p_reask <= 0.0 {
            return None;
        }
        let h = |k: u64| hash64(&[w.seed, 0x4ea5, ch.jitter_id, ch.request_index(), u64::from(ch.reasks), k]);
        (unit_from(h(0)) < w.p_reask).then(|| {
            let (lo, hi) = w.reask_ms;
            lo + (unit_from(h(1)) * (hi - lo).max(0) as f64) as i64
        })
    }

    /// A response ends: settle, log it, then continue (cut) or move on.
    /// Others take their tokens, and come again while the user's work goes on.
    fn on_others(&mut self, t: i64) {
        let Some((every, tokens)) = self.world.others else { return };
        self.bucket.settle(t, 0, tokens);
        if !self.queue.is_empty() {
            self.push(t + every.max(1), EvKind::Others, 0);
        }
    }

    fn on_finish(&mut self, c: usize, t: i64) {
        let ch = &self.chains[c];
        let charged = charge(self.world, &ch.req, ch.output);
        self.bucket.settle(t, ch.reserved, charged);
        self.in_flight -= 1;
        let cut = ch.req.demand > ch.output;
        if self.world.escalation && cut && !ch.escalated && ch.seg == 0 {
            // Cut at the capped default: withheld, and sent again at once at the escalated limit.
            self.out.escalations += 1;
            let ch = &mut self.chains[c];
            ch.escalated = true;
            ch.attempt = 0;
            self.push(t, EvKind::Send { results: false }, c);
            return;
        }
        self.out.responses += 1;
        if ch.seg == 0 {
            self.out.logical_responses += 1;
        }
        let stop = self.stop_of(c, cut);
        let ch = &self.chains[c];
        let response = LogEvent::Response {
            admitted: ch.admitted_at,
            end: t,
            ttft_ms: ch.req.ttft_ms,
            input: ch.req.input,
            cache_write: ch.req.cache_write,
            cache_read: ch.req.cache_read,
            output: ch.output,
            thinking: ch.req.thinking,
            stop,
        };
        self.chains[c].log.push(response);
        self.record(c, Some(self.chains[c].admitted_at), t, charged, cut, false);
        if cut {
            self.after_cut(c, t);
        } else {
            self.advance(c, t);
        }
    }

    /// How the current response stops (for writing).
    fn stop_of(&self, c: usize, cut: bool) -> Stop {
        if cut {
            return Stop::MaxTokens;
        }
        let steps = self.steps(c);
        let step = &steps[self.chains[c].step];
        if self.chains[c].step + 1 == steps.len() {
            Stop::EndTurn
        } else {
            Stop::ToolUse { tools: step.tools, task: !step.agents.is_empty() }
        }
    }

    /// A cut response: continue at once (meta line) or, after 3 continuations, give up.
    fn after_cut(&mut self, c: usize, t: i64) {
        self.out.cut_api_responses += 1;
        let ch = &mut self.chains[c];
        if !ch.cut_seen {
            ch.cut_seen = true;
            self.out.cut_responses += 1;
        }
        if ch.seg < MAX_CONTINUATIONS {
            ch.log.push(LogEvent::ResumeMeta { t });
            ch.req = ch.req.continuation(ch.output);
            ch.seg += 1;
            ch.attempt = 0;
            self.out.resume_prompts += 1;
            self.push(t, EvKind::Send { results: false }, c);
        } else {
            ch.log.push(LogEvent::MaxOutputError { t, max_output: ch.limit() });
            self.out.max_output_errors += 1;
            self.stop_chain_unit(c, t);
        }
    }

    /// After a complete response: subagents, the next step after tool time, or the end.
    fn advance(&mut self, c: usize, t: i64) {
        let steps = self.steps(c);
        let cur = self.chains[c].step;
        let step = &steps[cur];
        if cur + 1 == steps.len() {
            self.stop_chain_unit(c, t);
        } else if !step.agents.is_empty() {
            self.spawn_agents(c, t, step.agents.len());
        } else {
            self.begin_step(c, cur + 1);
            self.push(t + step.gap_ms, EvKind::Send { results: true }, c);
        }
    }

    /// Starts the subagents of chain `c`'s current step; the parent waits for all of them.
    fn spawn_agents(&mut self, c: usize, t: i64, n: usize) {
        let (session, turn, step, m) = {
            let ch = &self.chains[c];
            (ch.session, ch.turn, ch.step, ch.max_output)
        };
        self.chains[c].waiting = n;
        for k in 0..n {
            let agent = self.agent_script(session, (turn, step, k));
            let mut chain = Chain::new(session, m, hash64(&[session as u64, 1 + agent.index as u64]));
            chain.agent = Some((turn, step, k));
            chain.parent = Some(c);
            self.chains.push(chain);
            let idx = self.chains.len() - 1;
            self.push(t + agent.spawn_gap_ms, EvKind::Start, idx);
        }
    }

    /// The current unit of work ends (normally or not): a main chain's turn, or a subagent.
    fn stop_chain_unit(&mut self, c: usize, t: i64) {
        match self.chains[c].parent {
            Some(p) => self.agent_done(p, t),
            None if self.chains[c].agent.is_none() => self.end_turn(c, t),
            None => {}
        }
    }

    /// A subagent of `p` finished; the last one lets the parent send its next request.
    fn agent_done(&mut self, p: usize, t: i64) {
        self.chains[p].waiting -= 1;
        if self.chains[p].waiting == 0 {
            let cur = self.chains[p].step;
            let join = self.steps(p)[cur].join_gap_ms;
            self.begin_step(p, cur + 1);
            self.push(t + join, EvKind::Send { results: true }, p);
        }
    }

    /// A main turn ends; the next prompt comes after its think time.
    fn end_turn(&mut self, c: usize, t: i64) {
        let session = &self.script.sessions[self.chains[c].session];
        let next = self.chains[c].turn + 1;
        self.chains[c].reasks = 0;
        if next < session.turns.len() {
            self.chains[c].turn = next;
            self.push(t + session.turns[next].think_ms, EvKind::Start, c);
        }
    }

    fn record(&mut self, c: usize, admitted_ms: Option<i64>, end_ms: i64, charged: u64, cut: bool, failed: bool) {
        let ch = &self.chains[c];
        let agent_id = ch.agent.map(|a| self.agent_script(ch.session, a).id.clone());
        self.out.requests.push(RequestRecord {
            chain: c,
            session: ch.session,
            agent_id,
            turn: if ch.agent.is_some() { 0 } else { ch.turn },
            step: ch.step,
            segment: ch.seg,
            first_attempt_ms: ch.first_attempt_at,
            admitted_ms,
            end_ms,
            demand: ch.req.demand,
            output: if failed { 0 } else { ch.output },
            attempts: ch.attempt,
            max_output: ch.limit(),
            reserved: ch.reserved,
            charged,
            input: ch.req.input,
            cache_write: ch.req.cache_write,
            cache_read: ch.req.cache_read,
            cut,
            failed,
        });
    }
}

// ============================================================================================
// Writing the transcripts
// ============================================================================================

/// Lays out a config home in `dir` (which should be empty):
/// `projects/-sim-<project>/<sessionId>.jsonl` per session,
/// `projects/-sim-<project>/<sessionId>/subagents/agent-<agentId>.jsonl` per subagent, and
/// `settings.json` with Bedrock on and the newest session's max output.
pub fn write_home(outcome: &Outcome, dir: &Path) -> io::Result<()> {
    write_homes(outcome, &[dir], |_| 0)
}

/// Lays out the sessions of one world in several config homes: session `i` (and its
/// subagents) in `dirs[home_of(i)]`, each home with the settings file. People who shared one
/// quota, each with a home of their own.
pub fn write_homes(outcome: &Outcome, dirs: &[&Path], home_of: impl Fn(usize) -> usize) -> io::Result<()> {
    let mut ids = Ids::new(outcome.seed);
    for chain in &outcome.chains {
        let session = &outcome.sessions[chain.session];
        let dir = dirs[home_of(chain.session)];
        let project_dir = dir.join("projects").join(sanitize_path(&session.cwd));
        let path = match &chain.agent_id {
            None => project_dir.join(format!("{}.jsonl", session.id)),
            Some(a) => project_dir.join(&session.id).join("subagents").join(format!("agent-{a}.jsonl")),
        };
        if chain.events.is_empty() {
            continue;
        }
        let lines = chain_lines(outcome, chain, &mut ids);
        fs::create_dir_all(path.parent().expect("file has a parent"))?;
        let mut text = String::new();
        for (_, line) in &lines {
            text.push_str(line);
            text.push('\n');
        }
        fs::write(&path, text)?;
    }
    for dir in dirs {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("settings.json"), settings_json(outcome))?;
    }
    Ok(())
}

/// `{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"<newest>"}}`
/// (`CLAUDE_CODE_USE_MANTLE` in a Mantle world; the retry settings where not the default).
pub fn settings_json(outcome: &Outcome) -> String {
    let newest = outcome.sessions.iter().max_by_key(|s| s.start_ms).map(|s| s.max_output).unwrap_or(32_000);
    if outcome.escalation {
        return "{\"env\":{}}\n".to_string();
    }
    let provider = if outcome.mantle { "CLAUDE_CODE_USE_MANTLE" } else { "CLAUDE_CODE_USE_BEDROCK" };
    let mut retries = String::new();
    if outcome.max_retries != MAX_RETRIES {
        retries.push_str(&format!(",\"CLAUDE_CODE_MAX_RETRIES\":\"{}\"", outcome.max_retries));
    }
    if outcome.retry_watchdog {
        retries.push_str(",\"CLAUDE_CODE_RETRY_WATCHDOG\":\"1\"");
    }
    format!("{{\"env\":{{\"{provider}\":\"1\",\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{newest}\"{retries}}}}}\n")
}

/// Claude Code's project folder name: every non-alphanumeric character becomes `-`.
pub fn sanitize_path(cwd: &str) -> String {
    cwd.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// Unique ids for the files (uuids, msg_, req_, toolu_), deterministic from the seed.
struct Ids {
    rng: Rng,
    seen: HashSet<String>,
}

impl Ids {
    fn new(seed: u64) -> Self {
        Ids { rng: Rng::new(hash64(&[seed, 0x1d5])), seen: HashSet::new() }
    }

    fn unique(&mut self, make: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let id = make(&mut self.rng);
            if self.seen.insert(id.clone()) {
                return id;
            }
        }
    }

    fn uuid(&mut self) -> String {
        self.unique(|r| uuid_from(r.next_u64(), r.next_u64()))
    }

    fn prefixed(&mut self, prefix: &str) -> String {
        self.unique(|r| format!("{prefix}01{}", base62(r, 22)))
    }
}

/// JSON string literal.
fn js(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Writes one chain's lines, keeping the `parentUuid` chain and pending tool calls.
struct LineWriter<'a> {
    outcome: &'a Outcome,
    ids: &'a mut Ids,
    /// The envelope after `parentUuid` (isSidechain … gitBranch [, agentId]).
    envelope: String,
    parent: Option<String>,
    /// Tool calls of the last response awaiting their results: (tool_use id, is Task).
    pending: Vec<(String, bool)>,
    lines: Vec<(i64, String)>,
}

fn chain_lines(outcome: &Outcome, chain: &ChainLog, ids: &mut Ids) -> Vec<(i64, String)> {
    let session = &outcome.sessions[chain.session];
    let mut envelope = format!(
        "\"isSidechain\":{},\"userType\":\"external\",\"cwd\":{},\"sessionId\":{},\"version\":{},\"gitBranch\":\"main\"",
        chain.agent_id.is_some(),
        js(&session.cwd),
        js(&session.id),
        js(&outcome.version)
    );
    if let Some(a) = &chain.agent_id {
        envelope.push_str(&format!(",\"agentId\":{}", js(a)));
    }
    let mut w = LineWriter { outcome, ids, envelope, parent: None, pending: Vec::new(), lines: Vec::new() };
    let mut turn = 0usize;
    for ev in &chain.events {
        w.event(ev, chain, &mut turn);
    }
    let mut lines = w.lines;
    lines.sort_by_key(|(t, _)| *t); // stable: equal times keep their order
    lines
}

impl LineWriter<'_> {
    fn event(&mut self, ev: &LogEvent, chain: &ChainLog, turn: &mut usize) {
        match *ev {
            LogEvent::Prompt { t } => {
                *turn += 1;
                let text = match &chain.agent_id {
                    None => format!("Simulated request {turn}: please continue with the next part of the work."),
                    Some(_) => "Explore a part.".to_string(),
                };
                self.user(t, &js(&text), false);
            }
            LogEvent::ToolResults { t } => self.tool_results(t),
            LogEvent::Retry { t, attempt, delay_ms } => self.retry(t, attempt, delay_ms),
            LogEvent::Response { .. } => self.response(ev),
            LogEvent::ResumeMeta { t } => self.user(t, &js(RESUME_PROMPT), true),
            LogEvent::RateLimitError { t } => self.api_error(t, &throttle_error_text(), "rate_limit", Some(429)),
            LogEvent::MaxOutputError { t, max_output } => {
                self.api_error(t, &max_output_error_text(max_output), "max_output_tokens", None)
            }
        }
    }

    /// Starts a line: `{"parentUuid":…,<envelope>,` and moves the parent pointer to a new uuid.
    fn open(&mut self) -> (String, String) {
        let uuid = self.ids.uuid();
        let parent = self.parent.as_deref().map(js).unwrap_or_else(|| "null".to_string());
        self.parent = Some(uuid.clone());
        (format!("{{\"parentUuid\":{parent},{},", self.envelope), uuid)
    }

    fn push(&mut self, t: i64, line: String) {
        self.lines.push((t, line));
    }

    /// A user line; `content` is raw JSON (a string literal or an array).
    fn user(&mut self, t: i64, content: &str, meta: bool) {
        let (head, uuid) = self.open();
        let meta = if meta { ",\"isMeta\":true" } else { "" };
        let line = format!(
            "{head}\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":{content}}}{meta},\"uuid\":{},\"timestamp\":{}}}",
            js(&uuid),
            js(&iso_ms(t))
        );
        self.push(t, line);
    }

    /// One tool-result user line per pending tool call.
    fn tool_results(&mut self, t: i64) {
        for (id, task) in std::mem::take(&mut self.pending) {
            let text = if task { "Subagent finished its task (simulated)." } else { "ok (simulated tool output)" };
            let content =
                format!("[{{\"tool_use_id\":{},\"type\":\"tool_result\",\"content\":{}}}]", js(&id), js(text));
            self.user(t, &content, false);
        }
    }

    /// A `system`/`api_error` line for a refused attempt that will be retried.
    fn retry(&mut self, t: i64, attempt: u32, delay_ms: i64) {
        let (head, uuid) = self.open();
        let line = format!(
            "{head}\"type\":\"system\",\"subtype\":\"api_error\",\"level\":\"error\",\"error\":{{\"status\":429,\
             \"headers\":{{}},\"requestID\":null,\"error\":{{\"message\":{}}}}},\"retryInMs\":{delay_ms},\
             \"retryAttempt\":{attempt},\"maxRetries\":{},\"timestamp\":{},\"uuid\":{}}}",
            js(THROTTLE_MESSAGE),
            self.outcome.max_retries,
            js(&iso_ms(t)),
            js(&uuid)
        );
        self.push(t, line);
    }

    /// A final error: synthetic assistant line with `isApiErrorMessage`.
    fn api_error(&mut self, t: i64, text: &str, error: &str, status: Option<u32>) {
        let (head, uuid) = self.open();
        let msg_id = self.ids.uuid();
        let status = status.map(|s| format!(",\"apiErrorStatus\":{s}")).unwrap_or_default();
        let line = format!(
            "{head}\"message\":{{\"model\":\"<synthetic>\",\"id\":{},\"type\":\"message\",\"role\":\"assistant\",\
             \"content\":[{{\"type\":\"text\",\"text\":{}}}],\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"\",\
             \"usage\":{}}},\"type\":\"assistant\",\"uuid\":{},\"timestamp\":{},\"error\":{},\
             \"isApiErrorMessage\":true{status}}}",
            js(&msg_id),
            js(text),
            ZERO_USAGE,
            js(&uuid),
            js(&iso_ms(t)),
            js(error)
        );
        self.push(t, line);
    }

    /// A response: one line per content block, same message id and request id, final usage on
    /// every line, stop_reason on the last line only, times spread from first token to the end.
    fn response(&mut self, ev: &LogEvent) {
        let LogEvent::Response { admitted, end, ttft_ms, input, cache_write, cache_read, output, thinking, stop } = *ev
        else {
            return;
        };
        let msg_id = self.ids.prefixed("msg_");
        let req_id = self.ids.prefixed("req_");
        let blocks = self.blocks(thinking, output, stop);
        let usage = format!(
            "{{\"input_tokens\":{input},\"cache_creation_input_tokens\":{cache_write},\"cache_read_input_tokens\":\
             {cache_read},\"cache_creation\":{{\"ephemeral_5m_input_tokens\":{cache_write},\
             \"ephemeral_1h_input_tokens\":0}},\"output_tokens\":{output},\"service_tier\":\"standard\"}}"
        );
        let stop_reason = match stop {
            Stop::MaxTokens => "max_tokens",
            Stop::EndTurn => "end_turn",
            Stop::ToolUse { .. } => "tool_use",
        };
        let first = (admitted + ttft_ms).min(end);
        let n = blocks.len() as i64;
        for (i, block) in blocks.iter().enumerate() {
            let i = i as i64;
            let t = if n == 1 { end } else { first + (end - first) * i / (n - 1) };
            let reason = if i == n - 1 { js(stop_reason) } else { "null".to_string() };
            let (head, uuid) = self.open();
            let line = format!(
                "{head}\"message\":{{\"model\":{},\"id\":{},\"type\":\"message\",\"role\":\"assistant\",\
                 \"content\":[{block}],\"stop_reason\":{reason},\"stop_sequence\":null,\"usage\":{usage}}},\
                 \"requestId\":{},\"type\":\"assistant\",\"uuid\":{},\"timestamp\":{}}}",
                js(&self.outcome.model),
                js(&msg_id),
                js(&req_id),
                js(&uuid),
                js(&iso_ms(t))
            );
            self.push(t, line);
        }
    }

    /// Content blocks of a response (raw JSON each); registers its tool calls as pending.
    /// Content stays short and in proportion to the output (about 2 characters a token, at
    /// most 200), so a small response never looks like a stream-start placeholder.
    fn blocks(&mut self, thinking: bool, output: u64, stop: Stop) -> Vec<String> {
        let mut blocks = Vec::new();
        if thinking && output >= 200 {
            blocks.push(
                "{\"type\":\"thinking\",\"thinking\":\"Considering the next step.\",\"signature\":\"c2lt\"}"
                    .to_string(),
            );
        }
        let text = match stop {
            Stop::MaxTokens => format!("Cut at {output} output tokens. "),
            _ => format!("Simulated answer of {output} output tokens. "),
        };
        let len = (2 * output).clamp(2, 200) as usize;
        let text: String = text.chars().cycle().take(len).collect();
        blocks.push(format!("{{\"type\":\"text\",\"text\":{}}}", js(&text)));
        if let Stop::ToolUse { tools, task } = stop {
            for _ in 0..tools {
                let id = self.ids.prefixed("toolu_");
                blocks.push(tool_use_block(&id, task));
                self.pending.push((id, task));
            }
        }
        blocks
    }
}

const ZERO_USAGE: &str = "{\"input_tokens\":0,\"output_tokens\":0,\"cache_creation_input_tokens\":0,\
\"cache_read_input_tokens\":0,\"server_tool_use\":{\"web_search_requests\":0,\"web_fetch_requests\":0},\
\"service_tier\":null,\"cache_creation\":{\"ephemeral_1h_input_tokens\":0,\"ephemeral_5m_input_tokens\":0}}";

fn tool_use_block(id: &str, task: bool) -> String {
    let (name, input) = if task {
        ("Task", "{\"description\":\"Explore\",\"prompt\":\"Explore a part.\",\"subagent_type\":\"general-purpose\"}")
    } else {
        ("Bash", "{\"command\":\"ls\"}")
    };
    format!("{{\"type\":\"tool_use\",\"id\":{},\"name\":\"{name}\",\"input\":{input}}}", js(id))
}
