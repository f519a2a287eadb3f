//! The steps of the analysis put together for one model: which model and provider, the value
//! in effect, the quota to plan against, demand, the replays, the choice, and the figures
//! behind them. Plain data out; the renderers word it.
//!
//! In the order they run: `pick` chooses the model and provider, `now` gives the value in
//! effect for each request and the settings it must leave room for, `prepare` takes what
//! the chains tell for the model up to its plan, and `finish` makes the plan, replays it
//! under each reading, chooses and fills the table's rows. This file holds what comes out.

use serde::Serialize;

use super::ceiling::Budget;
use super::chains::Chain;
use super::choose::{Action, Choice};
use super::fit::{self, Period, ReadingFit, Standing};
use super::limits::{self, Kept, UnitKind};
pub use super::origin::Origin;
use super::quota::{Needed, QuotaPlan, Reference};
use super::replay::{Outcome, Reading};
use super::retries;
use super::seen::{Crowding, QuotaCode};
use crate::models::Family;
use crate::settings::{EffectiveSettings, Provider};

mod finish;
mod now;
mod pick;
mod prepare;

pub use finish::Planned;
pub use now::{Now, cap_of, default_of};
pub use pick::{ProviderEvidence, provider_of_id};
pub use prepare::{Inputs, Prepared, prepare};

/// Values always replayed for the table, where the model allows them.
pub const SHOWN_VALUES: [u64; 4] = [4_000, 8_000, 16_000, 32_000];

/// A record that shows a limit in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub value: u64,
    pub what: &'static str,
    pub session: Option<String>,
    pub time: Option<crate::time::EpochMs>,
}

/// Claude Code's capped default on the Anthropic API, where the history shows it in force
/// (no max output set; [`limits::CAPPED_DEFAULT`]): every request asks for 8,000 and a
/// response cut there is sent again once at the escalated limit. Writing any value ends it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Escalation {
    pub capped: u64,
    /// The limit a cut response is sent again at (the model's upper limit if lower).
    pub escalated: u64,
    /// Responses that wrote more than the capped default: each was sent twice, the first
    /// attempt cut and withheld.
    pub responses: u64,
}

/// Where a model's upper limit or default comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureSource {
    /// The model table: published (verified) or assumed.
    Table { verified: bool, source: String },
    /// A `Capped from X to Y` line of the user's debug logs.
    Clamp(limits::Clamp),
    /// A model the table does not know.
    Unknown,
}

/// Demand as the history shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemandOut {
    pub estimator: &'static str,
    /// Responses measured (a cut and continued one once).
    pub responses: u64,
    /// Cut responses whose demand is only known to be above their limit.
    pub censored: u64,
    /// Responses measured by their content (placeholder usage).
    pub estimated: u64,
    /// The highest value the history can show.
    pub known_up_to: u64,
    /// The highest limit in effect (below `known_up_to` where a cut response and its
    /// continuations wrote more).
    #[serde(skip)]
    pub highest_limit: u64,
    /// The share of demand above `known_up_to`.
    pub beyond_share: f64,
    /// How `responses` relate to the output table's count of the model's responses: the
    /// response records they hold, the records that continue a cut response (one response
    /// with it), and the cut responses known only by their "exceeded" error (no record):
    /// `responses = recorded − continuations + known_by_error`.
    pub recorded: u64,
    pub continuations: u64,
    pub known_by_error: u64,
    /// The responses a replay at a value asks for: these and the requests that failed for
    /// good (where one gets through, its response is drawn from demand), less the failures
    /// the next prompt asked again (one response with it).
    pub asked: u64,
    /// The `--percentile` of demand, `None` when it lies above `known_up_to` (in JSON as the
    /// recommendation's `target`).
    #[serde(skip)]
    pub target: Option<u64>,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
}

impl DemandOut {
    /// Some cut responses are known only to want more than their limit (none was continued
    /// to its end): demand may lie above `known_up_to` ([`super::choose::Setup::beyond_known`]).
    pub fn beyond_known(&self) -> bool {
        self.censored > 0
    }
}

/// One replayed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub value: u64,
    /// Responses Claude Code gives up on at the value (cut after its last continuation) that
    /// the model's upper limit lets finish.
    pub gave_up: u64,
    /// Under the reading the advice uses, at its planning quota.
    pub outcome: Outcome,
    /// Under the next reading that fits or is plausible, at its own planning quota.
    pub other_reading: Option<(Reading, Outcome)>,
    pub current: bool,
    pub recommended: bool,
}

/// The fit of the history's 429s under each reading, and what each advises.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The limit most of the model's requests ran at.
    pub value: u64,
    pub observed_throttled: u64,
    pub observed_failed: u64,
    /// Failures the user's next prompt asked again, counted once with it at a value.
    pub reasked: u64,
    pub reference: Option<Reference>,
    /// The periods at one limit the fit checks each reading against.
    pub periods: Vec<Period>,
    /// Every reading fitted, in [`crate::reading::READINGS`] order.
    pub readings: Vec<ReadingView>,
    /// The reading the advice uses.
    pub best: Reading,
}

/// Requests whose limit is only a guess ([`limits::Limits::assumed`]): no record, no session
/// of the same person and model that shows one, and no backup of `apply` that dates the
/// setting; the smaller of the value set now and Claude Code's default. The fit judges no
/// reading by their period ([`fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assumed {
    /// The units of work (responses asked for and failed requests) of the model so guessed.
    pub units: u64,
    /// The limit guessed for them; `None` where people's values differ.
    pub value: Option<u64>,
    /// They are every unit of the model's.
    pub all: bool,
    /// The advice were they taken at Claude Code's default instead (`--ran-at` takes it),
    /// where worked out: a guess below the default, the history not ruling the default out.
    pub at_default: Option<AtDefault>,
}

impl Assumed {
    /// The units of the model whose limit is a guess that says something: not one of a
    /// person with nothing set, taken to have run at Claude Code's `default`, unless the value
    /// in effect (`current`) is above it.
    fn of(units: Kept<'_>, current: u64, default: u64) -> Option<Self> {
        let mut guessed = units.iter().filter(|u| u.limit_assumed() && (u.limit() != default || current > default));
        let first = guessed.next()?.limit();
        let (mut n, mut value) = (1, Some(first));
        for u in guessed {
            n += 1;
            if u.limit() != first {
                value = None;
            }
        }
        Some(Assumed { units: n, value, all: n == units.len() as u64, at_default: None })
    }
}

/// Requests whose limit is only known to be at least a response's length
/// ([`limits::Limits::at_least`]): their sessions wrote more than the value set now, and no
/// record shows the limit they ran at, so they ran before it, at a value nothing dates. They
/// are taken at the least round value at or above the longest of them, the cautious guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RanAbove {
    /// The units of work of the model so taken.
    pub requests: u64,
    /// The longest response they wrote (measured, not estimated): their limit was at least that.
    pub longest: u64,
    /// The limit they are taken at (the most where people's differ).
    pub taken_at: u64,
    /// The least round value at or above `longest`, where no reading of the quota reproduces
    /// the history's 429s at it: they are then taken at Claude Code's default.
    pub ruled_out: Option<u64>,
    /// The advice were they taken at Claude Code's default instead (`--ran-at`), where
    /// worked out: where the default is above `taken_at`, not taken, and the history does not
    /// rule it out.
    pub at_default: Option<AtDefault>,
    /// They are every unit of the model's.
    pub all: bool,
    /// The value the settings give for their time, which they wrote more than: the value now,
    /// or before a backup of `apply`; `None` where people's settings are their own.
    pub set_then: Option<u64>,
}

/// The advice at another guess of the limit the history ran at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AtDefault {
    pub action: Action,
    /// The value; `None`: no value.
    #[serde(rename = "max_output_tokens")]
    pub value: Option<u64>,
}

impl AtDefault {
    fn of(c: &Choice) -> Self {
        AtDefault { action: c.action, value: c.value }
    }
}

impl RanAbove {
    /// Of the `units` (of `chains`), under `settings` (the model's `default` where they set
    /// none).
    fn of(units: Kept<'_>, chains: &[Chain], settings: &EffectiveSettings, default: u64) -> Option<Self> {
        let (mut requests, mut longest, mut taken_at) = (0, 0, 0);
        let mut set_then = settings.people.is_empty().then_some(0);
        // The settings' value at a chain's start, once a chain (its units are in order).
        let mut last_chain = None;
        for u in units.iter().filter(|u| u.limit_at_least()) {
            requests += 1;
            taken_at = taken_at.max(u.limit());
            if let UnitKind::Response { output, estimated: false, .. } = u.kind() {
                longest = longest.max(output);
            }
            if let Some(s) = set_then.as_mut().filter(|_| last_chain != Some(u.chain())) {
                last_chain = Some(u.chain());
                let at = chains[u.chain()].requests[0].start();
                *s = (*s).max(settings.max_output_at(at).unwrap_or(default));
            }
        }
        (longest > 0).then_some(RanAbove {
            requests,
            longest,
            taken_at,
            ruled_out: None,
            at_default: None,
            all: requests == units.len() as u64,
            set_then,
        })
    }
}

impl Calibration {
    /// The view of the reading the advice uses.
    pub fn best(&self) -> &ReadingView {
        self.view(self.best).expect("the best reading is one of them")
    }

    pub fn view(&self, r: Reading) -> Option<&ReadingView> {
        self.readings.iter().find(|v| v.fit.reading == r)
    }

    /// Every reading is ruled out, some because no quota of it reproduces the history's count
    /// ([`fit::Contradiction::Unreproduced`]) or because it would have let in at once requests
    /// the history shows refused while nothing of its own ran ([`fit::Contradiction::Alone`]):
    /// the history's own load does not explain its 429s.
    pub fn unreproduced(&self) -> bool {
        self.readings.iter().all(|v| v.standing == Standing::Contradicted)
            && self.readings.iter().any(|v| {
                matches!(
                    v.fit.contradiction,
                    Some(fit::Contradiction::Unreproduced { .. } | fit::Contradiction::Alone(_))
                )
            })
    }

    /// The requests refused while nothing of the history's own ran, where they rule every
    /// reading out (each reading holds the same).
    pub fn refused_alone(&self) -> Option<fit::Lone> {
        self.readings.iter().find_map(|v| match v.fit.contradiction {
            Some(fit::Contradiction::Alone(lone)) => Some(lone),
            _ => None,
        })
    }
}

/// What the history's requests at one value met: their attempts (the throttled ones and every
/// request that got through), the throttled ones, the requests and those throttled at least
/// once, and the requests that failed for good.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    pub value: u64,
    pub attempts: u64,
    pub throttled: u64,
    pub requests: u64,
    pub throttled_requests: u64,
    pub failed: u64,
}

/// One reading: its fit, where it stands against the reference, the quota it plans with,
/// and (where it fits or, none fitting, is plausible) what it advises.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingView {
    pub fit: ReadingFit,
    pub standing: Standing,
    pub plan: QuotaPlan,
    /// Its choice, where it advises.
    pub choice: Option<Choice>,
    /// It advises: the value is safe under it.
    pub advises: bool,
}

/// The advice for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub model: String,
    pub model_origin: Origin,
    pub family: Option<&'static Family>,
    pub provider: Provider,
    pub provider_origin: Origin,
    /// Where `--provider` or the settings named the provider and the history says another:
    /// that one, and what says so.
    pub provider_doubt: Option<(Provider, ProviderEvidence)>,
    pub current: u64,
    pub current_origin: Origin,
    /// The value the settings set when it is above the model's upper limit, where Claude Code
    /// caps it (`current` is the cap).
    pub current_set_above_cap: Option<u64>,
    /// The record that shows the value in effect, when no setting does.
    pub current_evidence: Option<Evidence>,
    /// Where the upper limit and the default come from.
    pub cap_source: FigureSource,
    pub default_source: FigureSource,
    pub cap: u64,
    pub default: u64,
    pub thinking: Option<u64>,
    /// The thinking budget is the largest of several people's own (a team's homes).
    pub thinking_of_people: bool,
    /// The history is several people's (homes scanned together, or telemetry).
    pub team: bool,
    pub floor: u64,
    pub quota: Option<QuotaPlan>,
    pub demand: DemandOut,
    /// Input per request (p90 of input + cache write) and the same plus cache reads.
    pub input_set: u64,
    pub input_reserved: u64,
    /// The worst-case ceiling of `quota-model.md` at the planning figures.
    pub ceiling: Option<Budget>,
    pub choice: Choice,
    pub rows: Vec<Row>,
    pub calibration: Option<Calibration>,
    pub needed: Option<Needed>,
    /// Cut share at the recommended value (from the demand draws).
    pub cut_share: f64,
    /// No response of the model was measured: the value comes from the ceiling alone.
    pub from_ceiling_only: bool,
    /// Cut responses Claude Code gave up on (the "exceeded" error): each ended its turn, so
    /// the work after it is missing from the history.
    pub gave_up: u64,
    /// The model reasons adaptively (its depth follows the effort level): the thinking
    /// budget is ignored.
    pub adaptive: bool,
    /// Cut responses whose usage splits out thinking, and of those, how many spent more than
    /// half their limit thinking.
    pub cut_thinking: (u64, u64),
    /// Who was in flight when requests were throttled.
    pub crowding: Option<Crowding>,
    /// The most of the model's requests sent at once (waiting on the quota or running), the
    /// worst case's `P`; [`Advice::parallel_seen`] counts those running.
    pub sent_at_once: u64,
    /// The most of the model's requests running at once (at least 1), as the quota's plan
    /// takes it ([`QuotaPlan::parallel_seen`]); the history's, with or without a quota.
    pub parallel_seen: u64,
    /// The Service Quotas code to look the quota up by, where the endpoint type is known.
    pub quota_code: Option<QuotaCode>,
    /// `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`, where set.
    pub max_subagents: Option<u64>,
    /// Throttled attempts the history records for the model.
    pub throttled_seen: u64,
    /// What the model's requests met at the value most of the history ran at (see
    /// [`Attempts`]).
    pub at_ran: Attempts,
    /// The history ran at the value in effect (most of its units) without a 429 or a failed
    /// request.
    pub proven: bool,
    /// And so at the load planned for: not where `--parallel` plans for more than it had.
    pub proven_as_planned: bool,
    /// Max output counts against a quota nobody knows ([`super::choose::Setup::quota_unknown`]).
    pub quota_unknown: bool,
    /// Too few responses to judge cuts by ([`super::choose::Setup::small_sample`]: unless some were
    /// cut at the value in effect, or measured longer than it, in a history no quota
    /// throttled).
    pub small_sample: bool,
    /// Claude Code's capped default and its escalation, where the history shows them in
    /// force; `current` is then the escalated limit (what a response can reach).
    pub escalation: Option<Escalation>,
    /// How Claude Code retries a refused request (the replay's schedule), and which setting
    /// says so.
    pub retry: retries::Policy,
    pub retry_origin: Origin,
    /// `--reading` (or `--cache-reads-reserved`) narrowed the readings fitted.
    pub readings_given: bool,
    /// Of the model's requests, those a subagent of a Claude Code before
    /// [`limits::SUBAGENTS_FOLLOW_SETTING_SINCE`] sent (at the model's default, whatever the
    /// setting), and all of them: the replay sends every one at the value it replays.
    pub setting_ignored: (u64, u64),
    /// The requests whose limit is only a guess from a value set now that is not Claude
    /// Code's default; `None` where there are none.
    pub assumed: Option<Assumed>,
    /// Requests whose limit is only known to be at least a response's length.
    pub ran_above: Option<RanAbove>,
    /// What the user says the history ran at where nothing shows it (`--ran-at`).
    pub ran_at_given: Option<u64>,
    /// Else what an `apply --ran-at` kept, the newest ([`crate::settings::backup::RAN_AT`]).
    pub ran_at_kept: Option<u64>,
}

/// The name of a model no record names (every request failed before a response said which).
pub const UNKNOWN_MODEL: &str = "the model (no response names it)";

/// Where the value in effect comes from when a team's people set different ones.
pub const EACH_PERSONS_OWN: &str = "people: each person's own; the value most requests ran at";

/// Where the value in effect comes from when some of the model's requests are telemetry's:
/// the settings read here are not those people's.
pub const NOT_ON_RECORD: &str = "people: telemetry's settings are not on record; the value most requests ran at";

impl Advice {
    /// Whether the value in effect is the one most requests ran at, not one setting (people's
    /// differ, or telemetry's are not on record).
    pub fn current_is_most_requests(&self) -> bool {
        matches!(self.current_origin, Origin::MostRequests(_))
    }

    /// The requests of subagents of a Claude Code that ignores the value, and all of the
    /// model's ([`Advice::setting_ignored`]), where that matters: a value is advised (kept or
    /// changed) and it is not Claude Code's default, which they run at whatever it is.
    pub fn subagents_ignoring_the_value(&self) -> Option<(u64, u64)> {
        let (ignored, of) = self.setting_ignored;
        (ignored > 0 && self.choice.value.is_some_and(|v| v != self.default)).then_some((ignored, of))
    }

    /// Whether people's own settings give different values (a team's homes).
    pub fn people_differ(&self) -> bool {
        matches!(&self.current_origin, Origin::MostRequests(why) if why == EACH_PERSONS_OWN)
    }
}
