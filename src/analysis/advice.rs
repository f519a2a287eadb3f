//! The steps of the analysis put together for one model: which model and provider, the value
//! in effect, the quota to plan against, demand, the replays, the choice, and the figures
//! behind them. Plain data out; the renderers word it.

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use super::ceiling::Budget;
use super::chains::{Chain, Ended, Request};
use super::choose::{self, Action, Basis, Choice, Setup};
use super::demand::Estimate;
use super::fit::{self, Period, ReadingFit, Standing};
use super::limits::{self, Fallback, Kept, Unit, UnitKind};
pub use super::origin::Origin;
use super::quota::{self, Needed, QuotaPlan, Reference, Side};
use super::replay::{Limit, Outcome, Plan, Reading, Schedule};
use super::retries;
use super::seen::{self, Crowding, QuotaCode};
use super::select::ModelMatch;
use super::values::Values;
use crate::config::RecommendConfig;
use crate::models::{self, Family, UNKNOWN_MODEL_CAP, UNKNOWN_MODEL_DEFAULT};
use crate::settings::{EffectiveSettings, Provider};
use crate::stats::percentile_by;
use crate::time::EpochMs;

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
    /// to its end): demand may lie above `known_up_to` ([`choose::Setup::beyond_known`]).
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
    /// Max output counts against a quota nobody knows ([`choose::Setup::quota_unknown`]).
    pub quota_unknown: bool,
    /// Too few responses to judge cuts by ([`choose::Setup::small_sample`]: unless some were
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

/// Everything the advice is made from.
pub struct Inputs<'a> {
    pub chains: &'a [Chain<'a>],
    pub units: &'a [Unit],
    /// Response counts per model name (after the filters).
    pub responses_by_model: &'a [(String, u64)],
    /// What `--model` named (`None` without it).
    pub model_match: Option<&'a ModelMatch>,
    /// Upper limits the user's debug logs show, by model name.
    pub learned_caps: &'a HashMap<String, limits::Clamp>,
    pub cfg: &'a RecommendConfig,
    pub settings: &'a EffectiveSettings,
    /// The provider whose words most throttling 429s are in, if one's (read whatever names
    /// the provider).
    pub worded: Option<Provider>,
    /// The chains hold every request the history has in its days (no project left out): what
    /// ran beside a request is known, and a request refused while nothing else did tells of
    /// load the history does not hold ([`super::alone`]).
    pub whole: bool,
    /// The history's events in scope (every model's).
    pub events: &'a [&'a crate::scan::data::Event],
}

/// What in the history names a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderEvidence {
    /// The model ids' spelling.
    ModelIds,
    /// The words of the throttling 429s.
    Words,
}

/// The settings' max output, clamped to the model's cap, else the model's default; a
/// person's own setting for their sessions, where people have their own.
pub struct Now<'c> {
    /// The settings: their max output now and before each `apply`, and each person's own (a
    /// team's homes). Telemetry's people have none read here: theirs are taken as unset
    /// (Claude Code's default, where their records show nothing else), never a home's.
    pub settings: &'c EffectiveSettings,
    /// Upper limits the user's debug logs show, by model name: they win over the table's.
    pub learned: &'c HashMap<String, limits::Clamp>,
    /// Whose each session is (empty when no one is named).
    pub of_session: &'c std::collections::HashMap<crate::scan::key::Name, u32>,
    /// The history may be on the Anthropic API with no max output set: Claude Code's capped
    /// default and its escalation ([`limits::CAPPED_DEFAULT`]).
    pub escalates: bool,
    /// What the user says the history ran at where nothing shows it (`--ran-at`).
    pub ran_at: Option<u64>,
}

/// The person of telemetry's sessions that name no account: not on record, as every
/// telemetry person is (no home is numbered so: people are counted in 32 bits from 0).
const UNNAMED_IN_TELEMETRY: u32 = u32::MAX;

/// The settings of a person not on record: none set.
static NOT_SET: std::sync::LazyLock<EffectiveSettings> = std::sync::LazyLock::new(EffectiveSettings::default);

impl Now<'_> {
    /// The value set (not clamped) for the session's person at `at`, if any.
    pub fn set_at(&self, session: Option<&str>, telemetry: bool, at: EpochMs) -> Option<u64> {
        self.whose(self.person(session, telemetry)).max_output_at(at)
    }

    /// The settings `person` ran under: a home's person's own; the shared ones where no one
    /// is named (one home); none for a person not on record (telemetry's).
    fn whose(&self, person: Option<u32>) -> &EffectiveSettings {
        match person {
            None => self.settings,
            Some(p) => self.settings.people.iter().find(|s| s.person == p).map_or(&NOT_SET, |p| &p.settings),
        }
    }

    /// A setting clamped to the model's upper limit; none: the model's default.
    fn clamped(&self, setting: Option<u64>, model: Option<&str>) -> u64 {
        setting.unwrap_or_else(|| default_of(model.and_then(models::family_of))).min(self.cap(model))
    }
}

impl Fallback for Now<'_> {
    fn escalates(&self) -> bool {
        self.escalates
    }
    fn now(&self, model: Option<&str>, person: Option<u32>) -> u64 {
        self.clamped(self.whose(person).max_output_tokens.value, model)
    }
    fn then(&self, model: Option<&str>, person: Option<u32>, at: EpochMs) -> u64 {
        self.clamped(self.whose(person).max_output_at(at), model)
    }
    fn dated(&self, person: Option<u32>) -> bool {
        !self.whose(person).max_output_before.is_empty()
    }
    fn ran_at(&self, person: Option<u32>, at: EpochMs) -> Option<u64> {
        self.ran_at.or_else(|| self.whose(person).ran_at_at(at))
    }
    fn person(&self, session: Option<&str>, telemetry: bool) -> Option<u32> {
        let named = session.and_then(|s| self.of_session.get(s)).copied();
        named.or(telemetry.then_some(UNNAMED_IN_TELEMETRY))
    }
    fn cap(&self, model: Option<&str>) -> u64 {
        let learned =
            model.filter(|_| !self.learned.is_empty()).and_then(|m| self.learned.get(&models::display_name(m)));
        learned.map_or_else(|| cap_of(model.and_then(models::family_of)), |c| c.to)
    }
    fn default(&self, model: Option<&str>) -> u64 {
        default_of(model.and_then(models::family_of))
    }
}

pub fn cap_of(f: Option<&Family>) -> u64 {
    f.map_or(UNKNOWN_MODEL_CAP, |f| f.max_output_cap.value)
}

pub fn default_of(f: Option<&Family>) -> u64 {
    f.map_or(UNKNOWN_MODEL_DEFAULT, |f| f.default_max_output.value)
}

/// In a history without a 429 or a failure, the largest limit a response was cut at (its
/// record shows the limit in effect, where a setting only gives a guess or a lower bound):
/// every value up to it ran without a 429 ([`choose::Setup::ran_clean_at`]).
fn clean_up_to(units: Kept<'_>) -> Option<u64> {
    units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { cut: true, .. })).map(Unit::limit).max()
}

/// The model to advise for: `--model`, else the settings' model (an alias picks the matching
/// model with the most responses), else the model with the most responses. A `--model` that
/// names no model of the history, or several, advises for none.
fn pick_model(i: &Inputs<'_>) -> Option<(String, Origin)> {
    let most = |want: &dyn Fn(&str) -> bool| {
        i.responses_by_model.iter().filter(|(n, _)| want(n)).max_by_key(|(_, c)| *c).map(|(n, _)| n.clone())
    };
    match i.model_match {
        Some(ModelMatch::One(m)) => return Some((m.clone(), Origin::Flag)),
        Some(ModelMatch::Ambiguous(_) | ModelMatch::Nothing(_)) => return None,
        None => {}
    }
    if let (Some(m), Some(src)) = (&i.settings.model.value, &i.settings.model.source) {
        let origin = Origin::Settings(src.clone());
        let id = models::id::canonical(m);
        let name = models::display_name(m);
        if models::family_of(m).is_some() {
            return Some((name, origin));
        }
        // An alias (`sonnet`, `opus[1m]`): the model of that name used most.
        let alias = id.split('[').next().unwrap_or("").trim().to_string();
        if !alias.is_empty()
            && !alias.contains('-')
            && let Some(n) = most(&|n| n.to_lowercase().contains(&alias))
        {
            return Some((n, origin));
        }
    }
    most(&|_| true).map(|m| (m, Origin::Inferred)).or_else(|| {
        // No response at all: the settings' model, else one no record names.
        match (&i.settings.model.value, &i.settings.model.source) {
            (Some(m), Some(src)) => Some((models::display_name(m), Origin::Settings(src.clone()))),
            _ => (!i.units.is_empty()).then(|| (UNKNOWN_MODEL.to_string(), Origin::Inferred)),
        }
    })
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

/// Whether some of `units` are telemetry's requests (one look a chain: the units are in
/// chain order).
fn telemetrys_among(chains: &[Chain<'_>], units: Kept<'_>) -> bool {
    let mut last = None;
    units.iter().any(|u| {
        let new = last != Some(u.chain());
        last = Some(u.chain());
        new && chains[u.chain()].telemetry()
    })
}

/// A team's people whose own settings give different max outputs (one unset among them too).
fn people_differ(settings: &EffectiveSettings) -> bool {
    let mut values: Vec<Option<u64>> = settings.people.iter().map(|p| p.settings.max_output_tokens.value).collect();
    values.sort_unstable();
    values.dedup();
    values.len() > 1
}

/// The thinking budget the value must leave room for, and whether the model ignores every
/// budget (it reasons adaptively, unless that is turned off). For a team, a budget counts
/// where that person's Claude Code uses it, and the largest of those (the value is
/// everyone's); the model ignores budgets only when it ignores every person's.
fn thinking_budget(settings: &EffectiveSettings, family: Option<&Family>) -> (Option<u64>, bool) {
    let adaptive_for = |s: &EffectiveSettings| {
        family.is_some_and(|f| f.adaptive_thinking) && s.adaptive_thinking_disabled.value != Some(true)
    };
    if settings.people.is_empty() {
        return (settings.max_thinking_tokens.value, adaptive_for(settings));
    }
    let people = || settings.people.iter().map(|p| &p.settings);
    if people().all(adaptive_for) {
        return (people().filter_map(|s| s.max_thinking_tokens.value).max(), true);
    }
    (people().filter(|s| !adaptive_for(s)).filter_map(|s| s.max_thinking_tokens.value).max(), false)
}

/// The provider: `--provider`, the settings, the model ids' spelling, the words of the
/// throttling 429s (`Records`), else the Anthropic API.
fn pick_provider(i: &Inputs<'_>, raw_ids: &[&str]) -> (Provider, Origin) {
    if let Some(p) = i.cfg.provider {
        return (p, Origin::Flag);
    }
    if let (Some(p), Some(src)) = (i.settings.provider.value, &i.settings.provider.source) {
        return (p, Origin::Settings(src.clone()));
    }
    match history_names(i, raw_ids) {
        Some((p, ProviderEvidence::ModelIds)) => (p, Origin::Inferred),
        Some((p, ProviderEvidence::Words)) => (p, Origin::Records),
        None => (Provider::Anthropic, Origin::Default),
    }
}

/// The provider the history names, if one: the model ids' spelling, else the words of the
/// throttling 429s.
fn history_names(i: &Inputs<'_>, raw_ids: &[&str]) -> Option<(Provider, ProviderEvidence)> {
    raw_ids
        .iter()
        .find_map(|m| provider_of_id(m))
        .map(|p| (p, ProviderEvidence::ModelIds))
        .or(i.worded.map(|p| (p, ProviderEvidence::Words)))
}

/// Where the flag or the settings named the provider: the provider the history names
/// instead ([`history_names`]), if another. Bedrock's runtime and Mantle are one provider
/// here.
fn provider_doubt(
    origin: &Origin,
    provider: Provider,
    i: &Inputs<'_>,
    raw_ids: &[&str],
) -> Option<(Provider, ProviderEvidence)> {
    if !matches!(origin, Origin::Flag | Origin::Settings(_)) {
        return None;
    }
    let named = history_names(i, raw_ids)?;
    let family = |p: Provider| if p == Provider::BedrockMantle { Provider::Bedrock } else { p };
    (family(named.0) != family(provider)).then_some(named)
}

/// The provider a model id implies, if its spelling says.
pub fn provider_of_id(raw: &str) -> Option<Provider> {
    let l = raw.to_ascii_lowercase();
    if l.starts_with("arn:aws") || l.contains("anthropic.claude") {
        Some(Provider::Bedrock)
    } else if l.contains('@') {
        Some(Provider::Vertex)
    } else {
        None
    }
}

/// The advice but its plan and what the replays decide: everything the chains tell for the
/// chosen model. It holds nothing of the chains, so that [`Prepared::plan`] can take them
/// and free them as it makes the plan.
pub struct Prepared {
    /// The model's units (indices into the units) and their demand, to make the plan of.
    kept: Vec<u32>,
    estimate: Estimate,
    pending: Pending,
}

/// What the replays are run with, and the advice they complete.
struct Pending {
    side: Option<Side>,
    /// The choice's setup at the load planned for, and at the history's own.
    setup: Setup,
    seen_setup: Setup,
    parallel_seen: u64,
    /// The limit most of the model's units ran at.
    common_limit: u64,
    /// The model's requests refused then admitted after a quiet time, to judge each reading
    /// by at its quota ([`super::alone`]; none on Mantle, whose output quota is a second
    /// bucket, or when a project is left out).
    alone: super::alone::Quiet,
    /// The advice, what the replays decide left for [`Planned::finish`] (`quota`,
    /// `ceiling`, `choice`, `rows`, `calibration`, `needed`, `cut_share`, `from_ceiling_only`).
    advice: Advice,
}

/// The advice for the chosen model up to its replays; `None` when the history has no request
/// of it.
pub fn prepare(i: &Inputs<'_>) -> Option<Prepared> {
    let (model, model_origin) = pick_model(i)?;
    // The model's ids, and which units are its (a request with no model of its own belongs to
    // the only model used, if there is one).
    let mut name_of: HashMap<&str, String> = HashMap::new();
    for c in i.chains {
        let mut last: Option<&str> = None;
        for m in c.requests.iter().filter_map(|r| r.model()) {
            // A chain's requests mostly share one model string: one lookup per run.
            if !last.is_some_and(|l| std::ptr::eq(l, m)) {
                name_of.entry(m).or_insert_with(|| models::display_name(m));
                last = Some(m);
            }
        }
    }
    let mut raw_ids: Vec<&str> = name_of.iter().filter(|(_, n)| **n == model).map(|(id, _)| *id).collect();
    raw_ids.sort_unstable();
    let family = raw_ids
        .iter()
        .find_map(|m| models::family_of(m))
        .or_else(|| i.settings.model.value.as_deref().and_then(models::family_of).filter(|f| f.name == model));
    let (provider, provider_origin) = pick_provider(i, &raw_ids);
    let provider_doubt = provider_doubt(&provider_origin, provider, i, &raw_ids);
    // On Vertex, late-2026 models of one line share one quota: their requests fill the same
    // bucket.
    let line = family.and_then(|f| f.vertex_quota_line.as_deref()).filter(|_| provider == Provider::Vertex);
    let shares_quota = |name: &str, id: &str| {
        name == model
            || line.is_some_and(|l| models::family_of(id).and_then(|f| f.vertex_quota_line.as_deref()) == Some(l))
    };
    // With no response at all, every request belongs to the model advised for.
    let only_model = i.responses_by_model.len() <= 1;
    let mut last: Option<(&str, bool)> = None;
    let mut mine = |u: &Unit| match limits::model_of(i.chains, u) {
        Some(m) => match last {
            Some((l, yes)) if std::ptr::eq(l, m) => yes,
            _ => {
                let yes = name_of.get(m).is_some_and(|n| shares_quota(n, m));
                last = Some((m, yes));
                yes
            }
        },
        None => only_model,
    };
    // Which units are the model's (indices: the plan is made from them after the units
    // are handed over), sized for every unit at once, not grown by doubling (each step a copy).
    let mut kept: Vec<u32> = Vec::with_capacity(i.units.len());
    kept.extend((0..i.units.len()).filter(|&k| mine(&i.units[k])).map(|k| k as u32));
    kept.shrink_to_fit();
    let my_units = Kept::new(i.units, &kept);
    // The data wins over the table: a `Capped from X to Y` line names the upper limit.
    let learned = i.learned_caps.get(&model).cloned();
    let cap = learned.as_ref().map_or_else(|| cap_of(family), |c| c.to);
    let default = default_of(family).min(cap);
    let cap_source = match (&learned, family) {
        (Some(c), _) => FigureSource::Clamp(c.clone()),
        (None, Some(f)) => {
            FigureSource::Table { verified: f.max_output_cap.verified, source: f.max_output_cap.source.clone() }
        }
        (None, None) => FigureSource::Unknown,
    };
    let default_source = match family {
        Some(f) => {
            FigureSource::Table { verified: f.default_max_output.verified, source: f.default_max_output.source.clone() }
        }
        None => FigureSource::Unknown,
    };
    let (thinking, adaptive) = thinking_budget(i.settings, family);
    let thinking_floor = choose::floor_for(if adaptive { None } else { thinking });

    if my_units.is_empty() {
        return None;
    }
    // The value in effect: the setting, else what the newest records show, else the default.
    // People whose own settings differ have no one value: the one most of the model's
    // requests ran at (each under its person's setting) stands for theirs.
    // Telemetry's people ran under settings not read here (this machine's are not theirs):
    // as where people's settings differ, no one value is theirs.
    let people_differ = people_differ(i.settings);
    let telemetry = telemetrys_among(i.chains, my_units);
    // People whose values differ are not one history of Claude Code's capped default.
    let escalation = if people_differ { None } else { escalation(i, provider, my_units, default, cap, telemetry) };
    // (Where the records show Claude Code's escalation, its limit is the value in effect.)
    let not_on_record = escalation.is_none() && telemetry;
    // What the records show of the value in effect: the escalation's limit (a telemetry
    // history's, whatever the settings read here say), else where no setting, no one's and no
    // unknown one, stands for it, the newest record's.
    let setting = &i.settings.max_output_tokens;
    let current_evidence = match escalation {
        Some(e) => Some(Evidence {
            value: e.escalated,
            what: "Claude Code's capped default, 8,000, sent again at the escalated limit when cut (no max output set)",
            session: None,
            time: None,
        }),
        None if setting.value.is_none() && !people_differ && !not_on_record => newest_recorded(i, my_units),
        None => None,
    };
    let (current, current_origin) = match (&current_evidence, &setting.value, &setting.source) {
        _ if people_differ => (most_common_limit(my_units), Origin::MostRequests(EACH_PERSONS_OWN.into())),
        _ if not_on_record => (most_common_limit(my_units), Origin::MostRequests(NOT_ON_RECORD.into())),
        (Some(e), _, _) => (e.value, Origin::Records),
        (None, Some(v), Some(src)) => ((*v).min(cap), Origin::Settings(src.clone())),
        _ => (default, Origin::Default),
    };

    // A setting above the model's upper limit, which Claude Code caps (where the value in
    // effect is that setting's, not the most requests').
    let current_set_above_cap = i
        .settings
        .max_output_tokens
        .value
        .filter(|&v| v > cap && current == cap && matches!(current_origin, Origin::Settings(_)));

    // Demand.
    let highest = my_units.iter().map(|u| u.limit()).max().unwrap_or(current);
    let estimate = {
        // The units with an observation, in the estimate's order: 4 bytes a unit, not a
        // copy of each observation (a temporary, freed before the plan and the replays).
        let observation = |k: &u32| my_units.get(*k as usize).observation();
        let mut order: Vec<u32> = (0..my_units.len() as u32).filter(|k| observation(k).is_some()).collect();
        order.sort_unstable_by_key(|k| observation(k).map(|o| o.order()));
        Estimate::of_sorted(order.iter().map(|k| observation(k).expect("kept for having one")), highest)
    };
    let estimated =
        my_units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { estimated: true, .. })).count() as u64;
    // Claude Code's retries under the settings in effect.
    let (retry, retry_origin) = retry_policy(i.settings);
    let records = records_of(i.chains, my_units);
    let demand = DemandOut {
        estimator: "kaplan-meier",
        responses: estimate.observations,
        censored: estimate.censored,
        estimated,
        known_up_to: estimate.known_up_to,
        highest_limit: estimate.highest_limit,
        beyond_share: estimate.beyond_share(),
        recorded: records.recorded,
        continuations: records.continuations,
        known_by_error: records.known_by_error,
        // The plan's count, once it is made (`finish`).
        asked: 0,
        target: estimate.percentile(i.cfg.percentile),
        p50: estimate.percentile(50.0),
        p90: estimate.percentile(90.0),
        p99: estimate.percentile(99.0),
    };
    // The smallest useful value: one that cuts at most a tenth of the responses (demand's
    // p90) and leaves the thinking budget room. Below it a value is no cure, whatever it
    // does for throttling.
    // (With too few responses, demand's p90 says nothing of it.)
    let few = demand.responses < choose::MIN_RESPONSES;
    let useful = demand.p90.filter(|_| !few).map_or(0, |p| p.div_ceil(choose::STEP).saturating_mul(choose::STEP));
    // Nor do too few responses judge cuts, unless some were cut at the value in effect in a
    // history without a 429 or a failed request, or measured longer than it (where the history
    // ran at more: a value set since would cut them): those cuts are the history's own, no
    // estimate, and a value that would not have cut them is weighed as with more responses.
    // Where the history was throttled on a quota max output counts against, a few responses
    // say too little of that quota to raise on (on the Anthropic API a raise costs none).
    let observed = seen::observed_throttled(i.chains, my_units);
    let cut_at_current = my_units.iter().any(|u| match u.kind() {
        UnitKind::Response { cut, output, estimated, .. } => {
            (cut && u.limit() == current) || (!estimated && output > current)
        }
        UnitKind::Failed => false,
    });
    let unthrottled =
        provider == Provider::Anthropic || (observed == 0 && !my_units.iter().any(|u| u.kind() == UnitKind::Failed));
    let small_sample = few && !(cut_at_current && unthrottled);
    // Where max output counts against a quota nobody knows, cuts alone raise nothing: the
    // floor is the thinking budget's.
    let side = quota::side(i.cfg, provider, family, observed);
    let quota_unknown = provider != Provider::Anthropic && side.is_none();
    let floor = if quota_unknown { thinking_floor } else { thinking_floor.max(useful.min(cap)) };

    // Input per request, as the ceiling uses it: found without a list of the values (a
    // team's history has a request a unit, and the load's thread runs beside this one).
    let input_p90 = |of: &dyn Fn(&Request<'_>) -> u64| {
        let answered = || my_units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { .. }));
        percentile_by(90.0, || answered().map(|u| of(&i.chains[u.chain()].requests[u.first()]))).unwrap_or(0)
    };
    let input_set = input_p90(&|r| r.input());
    let input_reserved = input_p90(&|r| r.input().saturating_add(r.cache_read()));

    let parallel_seen = seen::peak_in_flight(i.chains, my_units).max(1);
    let sent_at_once = seen::peak_sent(i.chains, my_units).max(1);
    let gave_up = my_units.iter().filter(|u| i.chains[u.chain()].requests[u.last()].gave_up()).count() as u64;
    let setting_ignored = (
        my_units.iter().filter(|u| i.chains[u.chain()].requests[u.first()].setting_ignored()).count() as u64,
        my_units.len() as u64,
    );
    let cut_thinking = seen::cut_thinking(i.chains, my_units);
    let crowding = seen::crowding(i.chains, my_units);
    let quota_code = (provider == Provider::Bedrock).then(|| seen::quota_code(&raw_ids, family)).flatten();
    // The history ran at the value in effect without a 429: at its own load, that value is
    // safe whatever the replay says.
    let failed = my_units.iter().any(|u| u.kind() == UnitKind::Failed);
    let ran_at = most_common_limit(my_units);
    let proven = observed == 0 && !failed && ran_at == current;
    // The value most of the history ran at, and what its requests met there: where they were
    // throttled more than a safe value may be beyond doubt (the least share of throttled
    // requests their count allows at 95% confidence above it; requests, not attempts, for a
    // request's retries are one event, not many), a replay that finds that value safe does
    // not reproduce the history (`Setup::disproven_at`), whatever the value in effect now.
    let at_ran = {
        let ran = || my_units.iter().filter(|u| u.limit() == ran_at);
        let requests_of = |u: &Unit| &i.chains[u.chain()].requests[u.first()..=u.last()];
        let throttled: u64 = ran().flat_map(requests_of).map(|r| u64::from(r.throttled())).sum();
        let through: u64 =
            ran().filter(|u| u.kind() != UnitKind::Failed).map(|u| (u.last() - u.first() + 1) as u64).sum();
        let requests: u64 = ran().map(|u| (u.last() - u.first() + 1) as u64).sum();
        let throttled_requests = ran().flat_map(requests_of).filter(|r| r.throttled() > 0).count() as u64;
        let failed = ran().filter(|u| u.kind() == UnitKind::Failed).count() as u64;
        Attempts { value: ran_at, throttled, attempts: throttled + through, requests, throttled_requests, failed }
    };
    let disproven_at = (!quota_unknown
        && !small_sample
        && crate::stats::wilson_lower(at_ran.throttled_requests, at_ran.requests) > choose::MAX_THROTTLED_SHARE)
        .then_some(ran_at);
    let seen_setup = Setup {
        floor,
        cap,
        current,
        default,
        quota_counts: side.is_some(),
        quota_unknown,
        small_sample,
        known_up_to: demand.known_up_to,
        beyond_known: demand.beyond_known(),
        proven,
        disproven_at,
        ran_clean_at: (observed == 0 && !failed).then(|| clean_up_to(my_units)).flatten(),
    };
    // At the load planned for, if it is more than the history's (--parallel), it proves
    // nothing.
    let at_load_seen = i.cfg.parallel.is_none_or(|p| p <= parallel_seen);
    let setup = Setup {
        proven: proven && at_load_seen,
        ran_clean_at: seen_setup.ran_clean_at.filter(|_| at_load_seen),
        // Judged at the history's own load only (`finish` applies it at any planned load).
        disproven_at: disproven_at.filter(|_| i.cfg.parallel.is_none_or(|p| p == parallel_seen)),
        ..seen_setup
    };
    let alone = match side.as_ref() {
        Some(s) if i.whole && s.output.is_none() => {
            // A record of an error that is not throttling tells of a request the chains do
            // not hold (a dropped stream, a timeout, an overloaded server): it ran.
            let busy = (i.events.iter()).filter(|e| !e.kind.throttled()).filter_map(|e| e.origin.time());
            super::alone::gather(i.chains, busy, my_units, s.burndown, &s.readings)
        }
        _ => super::alone::Quiet::default(),
    };
    let pending = Pending {
        side,
        setup,
        seen_setup,
        parallel_seen,
        common_limit: ran_at,
        alone,
        advice: Advice {
            model,
            model_origin,
            family,
            provider,
            provider_origin,
            provider_doubt,
            current,
            current_origin,
            current_set_above_cap,
            current_evidence,
            cap_source,
            default_source,
            cap,
            default,
            thinking,
            thinking_of_people: !i.settings.people.is_empty(),
            team: !i.settings.people.is_empty() || telemetry,
            floor,
            demand,
            input_set,
            input_reserved,
            gave_up,
            adaptive,
            cut_thinking,
            crowding,
            sent_at_once,
            parallel_seen,
            quota_code,
            max_subagents: i.settings.max_subagents.value,
            throttled_seen: observed,
            at_ran,
            proven,
            small_sample,
            proven_as_planned: setup.proven,
            quota_unknown,
            escalation,
            retry,
            retry_origin,
            readings_given: i.cfg.readings.len() < crate::reading::READINGS.len(),
            setting_ignored,
            assumed: Assumed::of(my_units, current, default),
            ran_above: RanAbove::of(my_units, i.chains, i.settings, default),
            ran_at_given: i.cfg.ran_at,
            ran_at_kept: i.settings.ran_at_before.last().map(|&(_, v)| v).filter(|_| i.cfg.ran_at.is_none()),
            // Left for `finish`.
            quota: None,
            ceiling: None,
            choice: Choice::no_value_is_safe(),
            rows: Vec::new(),
            calibration: None,
            needed: None,
            cut_share: 0.0,
            from_ceiling_only: false,
        },
    };
    Some(Prepared { kept, estimate, pending })
}

/// The advice with its plan made, up to its replays: it borrows nothing, so that what the
/// chains borrowed their names from can be given back before the replays.
pub struct Planned {
    plan: Plan,
    pending: Pending,
}

impl Prepared {
    /// The plan, made from `chains` and `units` (the ones [`prepare`] read), which are freed
    /// as it is made.
    pub fn plan(self, chains: Vec<Chain<'_>>, units: Vec<Unit>) -> Planned {
        let Prepared { kept, estimate, mut pending } = self;
        // What the steps before (and the load's thread beside them) freed is given back
        // first, then the plan's temporaries, the chains and the units.
        crate::memory::give_back();
        let mut plan = Plan::new(chains, &units, &kept, &estimate);
        crate::memory::step("plan");
        drop((kept, units));
        crate::memory::give_back();
        plan.retry = pending.advice.retry;
        pending.advice.demand.asked = plan.len() as u64;
        Planned { plan, pending }
    }
}

impl Planned {
    /// The replays, and the advice with what they decide.
    pub fn finish(self, cfg: &RecommendConfig) -> Advice {
        let Planned {
            mut plan,
            pending: Pending { side, setup, seen_setup, parallel_seen, common_limit, alone, mut advice },
        } = self;
        // Input per request without and with cache reads (p90), and the most sent at once.
        let inputs = (advice.input_set, advice.input_reserved, advice.sent_at_once);
        let observed = advice.throttled_seen;
        let outcome = if advice.demand.responses == 0 {
            // No response measured at all (every request throttled): the ceiling alone, at the
            // reference quota; refused throughout, the quota is in doubt unless it was given.
            let quota = side.as_ref().and_then(|s| reference_plan(s, cfg, parallel_seen));
            let ceiling = quota.as_ref().map(|q| budget(q, inputs));
            let refused = (observed > 0).then_some(
                if advice.provider != Provider::Anthropic && quota.as_ref().is_none_or(|q| q.tpm_origin != Origin::Flag)
                {
                    Basis::QuotaUnknown
                } else {
                    Basis::NoValueIsSafe
                },
            );
            Outcomes {
                choice: choose::from_ceiling(ceiling.as_ref(), &setup, refused),
                quota,
                rows: Vec::new(),
                calibration: None,
                needed: None,
                cut_share: 0.0,
                from_ceiling_only: true,
            }
        } else {
            let target = advice.demand.target;
            let run = |plan: &Plan, setups: [&Setup; 2], common: u64| {
                replayed(cfg, plan, side.as_ref(), setups, (common, &alone), (parallel_seen, target))
            };
            let first = run(&plan, [&setup, &seen_setup], common_limit);
            // Requests only known to have run at least what their sessions wrote are taken at
            // the least round value that allows it, the cautious guess. Where no reading of the quota reproduces the
            // history's 429s at that guess, the history rules it out: the next is Claude Code's
            // default, and the advice is that guess's if the history does not rule it out too.
            // Else the advice at the default is said beside it (`--ran-at` takes it).
            let unexplained = |o: &Outcomes| matches!(o.choice.basis, Basis::QuotaUnknown | Basis::HistoryThrottles);
            match advice.ran_above {
                Some(r) if advice.default > r.taken_at && plan.take_bounded_at(advice.default) => {
                    let moved = |v: u64| if v == r.taken_at { advice.default } else { v };
                    let [set, seen] =
                        [setup, seen_setup].map(|s| Setup { disproven_at: s.disproven_at.map(moved), ..s });
                    let again = run(&plan, [&set, &seen], moved(common_limit));
                    if unexplained(&again) {
                        first
                    } else if !unexplained(&first) {
                        advice.ran_above = Some(RanAbove { at_default: Some(AtDefault::of(&again.choice)), ..r });
                        first
                    } else {
                        advice.ran_above =
                            Some(RanAbove { taken_at: advice.default, ruled_out: Some(r.taken_at), ..r });
                        advice.at_ran.value = moved(advice.at_ran.value);
                        again
                    }
                }
                // A value set now, undated, below the default: what the default would advise.
                None if advice.assumed.is_some_and(|x| x.value.is_some_and(|v| v < advice.default))
                    && plan.take_guessed_at(advice.default) =>
                {
                    let again = run(&plan, [&setup, &seen_setup], common_limit);
                    if !unexplained(&first) && !unexplained(&again) {
                        let at_default = Some(AtDefault::of(&again.choice));
                        advice.assumed = advice.assumed.map(|x| Assumed { at_default, ..x });
                    }
                    first
                }
                _ => first,
            }
        };
        let ceiling = outcome.quota.as_ref().map(|q| budget(q, inputs));
        Advice {
            quota: outcome.quota,
            ceiling,
            choice: outcome.choice,
            rows: outcome.rows,
            calibration: outcome.calibration,
            needed: outcome.needed,
            cut_share: outcome.cut_share,
            from_ceiling_only: outcome.from_ceiling_only,
            ..advice
        }
    }
}

/// Claude Code's retries under the settings: the watchdog, else `CLAUDE_CODE_MAX_RETRIES`,
/// else the default.
fn retry_policy(s: &EffectiveSettings) -> (retries::Policy, Origin) {
    let watchdog = s.retry_watchdog.value == Some(true);
    let policy = retries::Policy::of(s.max_retries.value, watchdog);
    let origin = match (&s.retry_watchdog.source, &s.max_retries.source) {
        (Some(src), _) if watchdog => Origin::Settings(src.clone()),
        (_, Some(src)) if s.max_retries.value.is_some() => Origin::Settings(src.clone()),
        _ => Origin::Default,
    };
    (policy, origin)
}

/// Claude Code's capped default in force: on the Anthropic API with no max output set, the
/// history shows a request at the capped default, or one above the model's default (only
/// the escalation sends those).
/// `telemetry`: some of the units are telemetry's, whose people set no value the settings
/// read here could say (theirs are taken as none set).
fn escalation(
    i: &Inputs<'_>,
    provider: Provider,
    units: Kept<'_>,
    default: u64,
    cap: u64,
    telemetry: bool,
) -> Option<Escalation> {
    if provider != Provider::Anthropic || (i.settings.max_output_tokens.value.is_some() && !telemetry) {
        return None;
    }
    let output = |u: &Unit| match u.kind() {
        UnitKind::Response { output, .. } => output,
        UnitKind::Failed => 0,
    };
    // In force where responses went past the capped default: escalated (the records show
    // the capped default) or above the model's default (only the escalation sends those).
    // Cuts at 8,000 alone show the capped default without its escalation: the value in
    // effect is then 8,000.
    let capped = units.iter().any(|u| u.limit() == limits::CAPPED_DEFAULT);
    let above_default = units.iter().any(|u| u.limit() > default || output(u) > default);
    let escalated = units.iter().filter(|u| output(u) > limits::CAPPED_DEFAULT).count() as u64;
    ((capped && escalated > 0) || above_default && default < limits::ESCALATED).then(|| Escalation {
        capped: limits::CAPPED_DEFAULT,
        escalated: limits::ESCALATED.min(cap),
        responses: escalated,
    })
}

/// What the responses of demand are made of (see [`DemandOut`]).
struct Records {
    recorded: u64,
    continuations: u64,
    known_by_error: u64,
}

fn records_of(chains: &[Chain], units: Kept<'_>) -> Records {
    let mut r = Records { recorded: 0, continuations: 0, known_by_error: 0 };
    for u in units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { .. })) {
        let parts = &chains[u.chain()].requests[u.first()..=u.last()];
        r.recorded += parts.iter().filter(|p| p.ended() == Ended::Response).count() as u64;
        r.continuations += (parts.len() - 1) as u64;
        r.known_by_error += u64::from(parts[0].ended() == Ended::CutError);
    }
    r
}

/// What the choice produced, for the advice.
struct Outcomes {
    choice: Choice,
    /// The quota the advice uses.
    quota: Option<QuotaPlan>,
    rows: Vec<Row>,
    calibration: Option<Calibration>,
    needed: Option<Needed>,
    cut_share: f64,
    from_ceiling_only: bool,
}

/// The worst-case ceiling of `quota-model.md` at a quota plan; `inputs`: input per request
/// (p90) without and with cache reads, and the most requests sent at once. A worst case is
/// every request the work sent at once running to the limit together: those that waited on
/// the quota too (a lower value lets more of them run), else the replay throttles values
/// the bound allows. (With no response, every request waited: the same count as in flight.)
fn budget(q: &QuotaPlan, (input_set, input_reserved, sent_at_once): (u64, u64, u64)) -> Budget {
    Budget {
        quota_tpm: q.tpm,
        headroom: q.headroom,
        parallel: q.parallel.unwrap_or(sent_at_once),
        burndown: q.burndown,
        input_set,
        input_reserved: if q.reading.cache_reads_reserved { input_reserved } else { input_set },
        reserved_burndown: if q.reading.burndown_reservation { q.burndown } else { 1.0 },
    }
}

/// The plan at the reference quota, under the first reading fitted.
fn reference_plan(side: &Side, cfg: &RecommendConfig, seen: u64) -> Option<QuotaPlan> {
    let r = side.reference.as_ref()?;
    Some(QuotaPlan::new(side, *side.readings.first()?, (r.tpm, r.origin.clone()), cfg, seen))
}

/// The replays: the fit of each reading, the choice under those that fit, the table's rows,
/// and what fixes it when no value does. `(parallel_seen, target)`: the demand percentile
/// asked for (p99 by default), the value what fixes it is sized for.
/// (`setups`: the choice's at the load planned for, and at the history's own.)
fn replayed(
    cfg: &RecommendConfig,
    plan: &Plan,
    side: Option<&Side>,
    [setup, seen_setup]: [&Setup; 2],
    (common_limit, alone): (u64, &super::alone::Quiet),
    (parallel_seen, target): (u64, Option<u64>),
) -> Outcomes {
    let cut_share = |c: &Choice| c.value.map_or(0.0, |v| ratio(plan.cuts_at(v), plan.len() as u64));
    let Some(side) = side else {
        // No quota side: cuts alone.
        let mut values = Values::new(plan, Vec::new());
        let choice = choose::choose(setup, &mut values.under(0));
        let rows = rows(&mut values, setup, &choice, 0, None);
        let cut_share = cut_share(&choice);
        return Outcomes {
            choice,
            quota: None,
            rows,
            calibration: None,
            needed: None,
            cut_share,
            from_ceiling_only: false,
        };
    };
    let reference = side.reference.as_ref().map(|r| r.tpm as f64);
    let mut fitted = fit::fit(plan, side.burndown, side.output_tpm(), &side.readings, reference);
    // Requests refused while nothing of the history's own ran, which no reading at its quota
    // refuses, rule every reading out where there are enough of them. Each reading bounds the
    // quiet needed its own way: counted per reading, one kept for a looser bound alone (plain
    // reservations leave a deficit to refill) would advise for the load the rest show to be
    // others' (DESIGN.md, the fit).
    let tpm: Vec<f64> = fitted.readings.iter().map(|f| f.quota_tpm as f64).collect();
    let alone = Some(alone.alone(&tpm)).filter(super::alone::Alone::rules_out);
    fit::rule_out_alone(&mut fitted, alone);
    crate::memory::step("fit");
    // The fit's replays are done: their queues given back before the values' schedules.
    crate::memory::give_back();
    let mut views: Vec<ReadingView> = fitted
        .readings
        .iter()
        .map(|f| ReadingView {
            standing: fit::standing(f, reference),
            plan: QuotaPlan::of_fit(side, f, cfg, parallel_seen),
            fit: f.clone(),
            choice: None,
            advises: false,
        })
        .collect();
    // The readings within twice the reference advise (when none is, every reading that is not
    // contradicted: the history implies another quota). The best fit first: the nearest the
    // reference, then the one whose throttled requests' context is nearest the history's.
    let plausible = |k: usize| fit::distance(&views[k].fit, reference) <= fit::PLAUSIBLE_WITHIN * (1.0 + 1e-9);
    let open = |k: usize| views[k].standing != Standing::Contradicted;
    let mut shown: Vec<usize> = (0..views.len()).filter(|&k| open(k) && plausible(k)).collect();
    if shown.is_empty() {
        shown = (0..views.len()).filter(|&k| open(k)).collect();
    }
    shown.sort_by(|&a, &b| {
        let key = |k: usize| (fit::distance(&views[k].fit, reference), views[k].fit.context_gap());
        key(a).0.total_cmp(&key(b).0).then(key(a).1.total_cmp(&key(b).1)).then(a.cmp(&b))
    });
    let mut calibration = Calibration {
        value: common_limit,
        observed_throttled: fitted.observed_throttled,
        observed_failed: fitted.observed_failed,
        reasked: plan.reasked(),
        reference: side.reference.clone(),
        periods: fitted.periods.clone(),
        best: side.readings[0],
        readings: Vec::new(),
    };
    if shown.is_empty() {
        // No reading explains the 429s at a quota near the reference: no value.
        let quota = reference_plan(side, cfg, parallel_seen);
        let mut values = Values::new(plan, quota.iter().map(QuotaPlan::planning).collect());
        let choice = Choice {
            action: Action::None,
            basis: Basis::QuotaUnknown,
            value: None,
            safe_up_to: None,
            fewest_cuts_from: None,
            finish_from: None,
        };
        let rows = rows(&mut values, setup, &choice, 0, None);
        calibration.best = views
            .iter()
            .min_by(|a, b| fit::distance(&a.fit, reference).total_cmp(&fit::distance(&b.fit, reference)))
            .map_or(side.readings[0], |v| v.fit.reading);
        calibration.readings = views;
        return Outcomes {
            choice,
            quota,
            rows,
            calibration: Some(calibration),
            needed: None,
            cut_share: 0.0,
            from_ceiling_only: false,
        };
    }
    let mut values = choose_all(plan, setup, &mut views, &shown);
    let planned = cfg.parallel.is_some_and(|p| p != parallel_seen);
    let at_seen = choices_at_seen(plan, seen_setup, &views, &shown, planned);
    let hopeless: Vec<bool> = at_seen.iter().map(|c| c.value.is_none()).collect();
    let choices: Vec<Choice> = shown.iter().map(|&k| views[k].choice.expect("chosen")).collect();
    // A value worth having where none is safe: the demand percentile asked for (rounded up),
    // not the smallest useful one, which still cuts a tenth of the responses.
    let wanted = target.map_or(setup.current, |t| t.div_ceil(choose::STEP).saturating_mul(choose::STEP));
    let needed_value = setup.floor.max(wanted).min(setup.cap);
    let needed_under = |quota: &QuotaPlan| needed(plan, setup, quota, needed_value);
    let mut best_slot = choose::binding(&choices, &hopeless);
    let mut needed_at_best = None;
    if choices[best_slot].value.is_none() && !hopeless[0] {
        // Readings that count, none with a value at the load planned for (`--parallel`):
        // what fixes it must fix it under each, so the one that asks the most binds (the
        // fewest requests at once, then the largest raise of its own quota; the best fit
        // first on a tie). Each reading's quota is its own, so raises compare as ratios.
        let (slot, n) = (0..shown.len())
            .filter(|&s| !hopeless[s] && choices[s].value.is_none())
            .map(|s| (s, needed_under(&views[shown[s]].plan)))
            .min_by(|(a, x), (b, y)| {
                let raise = |s: usize, n: &quota::Needed| n.quota_tpm as f64 / views[shown[s]].plan.tpm.max(1) as f64;
                x.parallel.cmp(&y.parallel).then(raise(*b, y).total_cmp(&raise(*a, x))).then(a.cmp(b))
            })
            .expect("the binding reading is one");
        (best_slot, needed_at_best) = (slot, Some(n));
    }
    let best = shown[best_slot];
    for (&k, &h) in shown.iter().zip(&hopeless) {
        views[k].advises = !h && views[k].choice.is_some_and(|c| c.value.is_some());
    }
    // A replay that does not reproduce the history at its own load advises nothing at any
    // load planned for (planning fewer requests at once does not make it reproduce them).
    let choice = match at_seen[best_slot] {
        c if c.basis == Basis::HistoryThrottles => c,
        _ => views[best].choice.expect("chosen"),
    };
    views[best].choice = Some(choice);
    let other = shown.iter().position(|&k| k != best).map(|slot| (slot, views[shown[slot]].fit.reading));
    let rows = rows(&mut values, setup, &choice, best_slot, other);
    let quota = views[best].plan.clone();
    let needed = matches!(choice.basis, Basis::NoValueIsSafe | Basis::ResponsesFail)
        .then(|| needed_at_best.unwrap_or_else(|| needed_under(&quota)));
    calibration.best = views[best].fit.reading;
    calibration.readings = views;
    Outcomes {
        cut_share: cut_share(&choice),
        choice,
        quota: Some(quota),
        rows,
        calibration: Some(calibration),
        needed,
        from_ceiling_only: false,
    }
}

/// What fixes it under `quota` where no value is safe (or the chosen one still cuts): the
/// quota at which `value` is safe and the requests at once the quota fits. An output quota
/// that throttles at every value: what it takes at the value in effect, since max output is
/// not the lever there.
fn needed(plan: &Plan, setup: &Setup, quota: &QuotaPlan, value: u64) -> quota::Needed {
    let n = quota::needed(&Schedule::new(plan, Limit::Fixed(value)), quota, value);
    match n.output_tpm {
        Some(_) if setup.current != value && setup.current <= setup.cap => {
            quota::needed(&Schedule::new(plan, Limit::Fixed(setup.current)), quota, setup.current)
        }
        _ => n,
    }
}

/// For each shown reading, its choice at its quota for the history's own load: where it has
/// no value, the reading speaks for more quota or fewer requests in flight, not for a value.
/// With `--parallel` (`planned`), judged without it, so that planning for more requests in
/// flight can take a reading's value away but never make the reading stop counting.
fn choices_at_seen(plan: &Plan, seen: &Setup, views: &[ReadingView], shown: &[usize], planned: bool) -> Vec<Choice> {
    if !planned {
        return shown.iter().map(|&k| views[k].choice.expect("chosen")).collect();
    }
    let mut at_seen = views.to_vec();
    for &k in shown {
        at_seen[k].plan = at_seen[k].plan.at_parallel_seen();
    }
    choose_all(plan, seen, &mut at_seen, shown);
    shown.iter().map(|&k| at_seen[k].choice.expect("chosen")).collect()
}

/// Each shown reading's choice, at its plan; the replays they share.
fn choose_all<'p>(plan: &'p Plan, setup: &Setup, views: &mut [ReadingView], shown: &[usize]) -> Values<'p> {
    let mut values = Values::new(plan, shown.iter().map(|&k| views[k].plan.planning()).collect());
    for (slot, &k) in shown.iter().enumerate() {
        views[k].choice = Some(choose::choose(setup, &mut values.under(slot)));
    }
    values
}

/// The rows of the replay table: the value in effect, the recommended one, the largest safe
/// one, and the usual values the model allows; each under the quota `slot` of `values`, and
/// the `other` reading's beside it.
fn rows(
    values: &mut Values<'_>,
    setup: &Setup,
    choice: &Choice,
    slot: usize,
    other: Option<(usize, Reading)>,
) -> Vec<Row> {
    let mut shown: Vec<u64> = SHOWN_VALUES.iter().copied().filter(|&v| v >= setup.floor && v <= setup.cap).collect();
    shown.push(setup.current);
    shown.push(setup.default.min(setup.cap));
    shown.extend(choice.value);
    shown.extend(choice.safe_up_to);
    // Where no value is safe, the reasons say so of the floor, by its row.
    if choice.basis == Basis::NoValueIsSafe {
        shown.push(setup.floor);
    }
    shown.sort_unstable();
    shown.dedup();
    values.measure_all(&shown);
    let plan = values.plan;
    let given_up_anyway = plan.gave_up_at(setup.cap);
    shown
        .into_iter()
        .map(|value| {
            let outcomes = values.get(value);
            Row {
                value,
                gave_up: plan.gave_up_at(value).saturating_sub(given_up_anyway),
                outcome: outcomes[slot],
                other_reading: other.map(|(k, r)| (r, outcomes[k])),
                current: value == setup.current,
                recommended: choice.value == Some(value),
            }
        })
        .collect()
}

/// The limit most of the units ran at (the larger on a tie).
fn most_common_limit(units: Kept<'_>) -> u64 {
    let mut limits: HashMap<u64, u64> = HashMap::new();
    for u in units {
        *limits.entry(u.limit()).or_default() += 1;
    }
    limits.into_iter().max_by_key(|&(l, n)| (n, l)).map_or(0, |(l, _)| l)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The limit the model's newest request ran at, when records (not a fallback) say so.
fn newest_recorded(i: &Inputs<'_>, units: Kept<'_>) -> Option<Evidence> {
    let (newest, value) = units
        .iter()
        .filter_map(|u| Some((u, i.chains[u.chain()].requests[u.last()].cut_limit()?)))
        .max_by_key(|(u, _)| i.chains[u.chain()].requests[u.first()].start())?;
    let r = &i.chains[newest.chain()].requests[newest.last()];
    Some(Evidence {
        value,
        what: if r.gave_up() {
            "an \"exceeded the N output token maximum\" error"
        } else {
            "a response stopped at max_tokens"
        },
        session: r.session().map(str::to_string),
        time: Some(r.end()),
    })
}
