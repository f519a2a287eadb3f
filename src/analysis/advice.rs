//! The steps of the analysis put together for one model: which model and provider, the value
//! in effect, the quota to plan against, demand, the replays, the choice, and the figures
//! behind them. Plain data out; the renderers word it.

use foldhash::{HashMap, HashMapExt};

use serde::Serialize;

use super::ceiling::Budget;
use super::chains::Chain;
use super::choose::{self, Action, Basis, Choice, Evaluate, Setup};
use super::demand::Estimate;
use super::limits::{self, Fallback, Unit, UnitKind};
use super::replay::{self, Limit, Outcome, Plan, Quota, Reading, Schedule};
use crate::config::RecommendConfig;
use crate::models::{self, Family};
use crate::settings::{EffectiveSettings, Provider};
use crate::stats::percentile_of;

/// Upper limit assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_CAP: u64 = 32_000;
/// Claude Code's default max output assumed for a model missing from the model table.
pub const UNKNOWN_MODEL_DEFAULT: u64 = 32_000;
/// Burndown assumed on Bedrock for a model missing from the table (AWS: "burndown applies"
/// to Claude 4.7 and later; probably 5×, unverified).
pub const UNKNOWN_MODEL_BURNDOWN: f64 = 5.0;
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

/// Where a figure came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Given on the command line.
    Flag,
    /// A settings file or the environment (named).
    Settings(String),
    /// The user's own records.
    Records,
    /// Worked out from the history (most responses, peak seen).
    Inferred,
    /// A documented default.
    Default,
}

/// The quota the replays plan against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaPlan {
    pub tpm: u64,
    pub tpm_origin: Origin,
    pub burndown: f64,
    pub burndown_origin: Origin,
    pub reading: Reading,
    pub headroom: f64,
    /// Requests in flight planned for (`--parallel`), if given.
    pub parallel: Option<u64>,
    /// The most requests of the model in flight at once in the history.
    pub parallel_seen: u64,
    /// The bucket the choice is replayed against: `headroom × tpm`, scaled by
    /// `parallel_seen / parallel` when `--parallel` plans for another load.
    pub planning_tpm: f64,
    /// Whether cache reads may count in the reservation (AWS's material disagrees): then the
    /// other reading is replayed and shown too.
    pub reading_in_doubt: bool,
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
    /// The share of demand above `known_up_to`.
    pub beyond_share: f64,
    /// The `--percentile` of demand, `None` when it lies above `known_up_to` (in JSON as the
    /// recommendation's `target`).
    #[serde(skip)]
    pub target: Option<u64>,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
}

/// One replayed value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub value: u64,
    pub outcome: Outcome,
    /// The same under the other cache-read reading.
    pub other_reading: Option<Outcome>,
    pub current: bool,
    pub recommended: bool,
}

/// The replay of the history as it was, under each reading, against what it shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The limit most of the model's requests ran at.
    pub value: u64,
    pub observed_throttled: u64,
    pub observed_failed: u64,
    /// Each reading and its replay (at the full quota).
    pub readings: Vec<(Reading, Outcome)>,
    /// The reading whose predicted throttling is nearest what happened.
    pub best: Reading,
}

/// What fixes it when no value is safe (or the chosen one still cuts): the quota that
/// would make `value` safe, and the requests in flight that fit the quota given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Needed {
    pub value: u64,
    pub quota_tpm: u64,
    pub parallel: u64,
}

/// The advice for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Advice {
    pub model: String,
    pub model_origin: Origin,
    pub family: Option<&'static Family>,
    pub provider: Provider,
    pub provider_origin: Origin,
    pub current: u64,
    pub current_origin: Origin,
    /// The record that shows the value in effect, when no setting does.
    pub current_evidence: Option<Evidence>,
    /// Where the upper limit and the default come from.
    pub cap_source: FigureSource,
    pub default_source: FigureSource,
    pub cap: u64,
    pub default: u64,
    pub thinking: Option<u64>,
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
    /// The Service Quotas code to look the quota up by, where the endpoint type is known.
    pub quota_code: Option<QuotaCode>,
    /// `CLAUDE_CODE_MAX_CONCURRENT_SUBAGENTS`, where set.
    pub max_subagents: Option<u64>,
    /// Throttled attempts the history records for the model.
    pub throttled_seen: u64,
}

/// Who was in flight when requests were throttled (the history as it was).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crowding {
    /// Requests that were throttled at least once.
    pub throttled_requests: u64,
    /// On average over those, the requests in flight when each was first sent.
    pub mean_in_flight: f64,
    /// Of those in flight, on average, how many were subagents'.
    pub mean_subagents: f64,
    /// The most subagent requests in flight at once at such a moment.
    pub most_subagents: u64,
}

/// Where a Bedrock quota is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCode {
    /// `in-region`, `cross-region` or `global`: the kind of inference endpoint the ids name.
    pub endpoint: &'static str,
    /// The Service Quotas code of its tokens-per-minute quota, where known.
    pub code: Option<String>,
}

/// Everything the advice is made from.
pub struct Inputs<'a> {
    pub chains: &'a [Chain<'a>],
    pub units: &'a [Unit],
    pub limits: &'a [Vec<u64>],
    /// Response counts per model name (after the filters).
    pub responses_by_model: &'a [(String, u64)],
    pub model_filter: Option<&'a str>,
    /// Upper limits the user's debug logs show, by model name.
    pub learned_caps: &'a HashMap<String, limits::Clamp>,
    pub cfg: &'a RecommendConfig,
    pub settings: &'a EffectiveSettings,
}

/// The settings' max output, clamped to the model's cap, else the model's default.
pub struct Now<'c> {
    pub setting: Option<u64>,
    /// Upper limits the user's debug logs show, by model name: they win over the table's.
    pub learned: &'c HashMap<String, limits::Clamp>,
}

impl Fallback for Now<'_> {
    fn now(&self, model: Option<&str>) -> u64 {
        let f = model.and_then(models::family_of);
        match self.setting {
            Some(s) => s.min(self.cap(model)),
            None => default_of(f).min(self.cap(model)),
        }
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

/// The model to advise for: `--model`, else the settings' model (an alias picks the matching
/// model with the most responses), else the model with the most responses.
fn pick_model(i: &Inputs<'_>) -> Option<(String, Origin)> {
    let most = |want: &dyn Fn(&str) -> bool| {
        i.responses_by_model.iter().filter(|(n, _)| want(n)).max_by_key(|(_, c)| *c).map(|(n, _)| n.clone())
    };
    if let Some(f) = i.model_filter {
        let f = f.to_lowercase();
        if let Some(m) = most(&|n| n.to_lowercase().contains(&f)) {
            return Some((m, Origin::Flag));
        }
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

/// The provider: `--provider`, the settings, the model ids' spelling, else the Anthropic API.
fn pick_provider(i: &Inputs<'_>, raw_ids: &[&str]) -> (Provider, Origin) {
    if let Some(p) = i.cfg.provider {
        return (p, Origin::Flag);
    }
    if let (Some(p), Some(src)) = (i.settings.provider.value, &i.settings.provider.source) {
        return (p, Origin::Settings(src.clone()));
    }
    match raw_ids.iter().find_map(|m| provider_of_id(m)) {
        Some(p) => (p, Origin::Inferred),
        None => (Provider::Anthropic, Origin::Default),
    }
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

/// The advice for the chosen model; `None` when the history has no request of it.
pub fn advise(i: &Inputs<'_>) -> Option<Advice> {
    let (model, model_origin) = pick_model(i)?;
    // The model's ids, and which units are its (a request with no model of its own belongs to
    // the only model used, if there is one).
    let mut name_of: HashMap<&str, String> = HashMap::new();
    for c in i.chains {
        let mut last: Option<&str> = None;
        for m in c.requests.iter().filter_map(|r| r.model) {
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
    let my_units: Vec<&Unit> = i.units.iter().filter(|u| mine(u)).collect();
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
    let thinking = i.settings.max_thinking_tokens.value;
    // Adaptive-reasoning models ignore the thinking budget unless adaptive thinking is off.
    let adaptive =
        family.is_some_and(|f| f.adaptive_thinking) && i.settings.adaptive_thinking_disabled.value != Some(true);
    let floor = choose::floor_for(if adaptive { None } else { thinking });

    if my_units.is_empty() {
        return None;
    }
    // The value in effect: the setting, else what the newest records show, else the default.
    let current_evidence = match i.settings.max_output_tokens.value {
        Some(_) => None,
        None => newest_recorded(i, &my_units),
    };
    let (current, current_origin) = match (&i.settings.max_output_tokens.value, &i.settings.max_output_tokens.source) {
        (Some(v), Some(src)) => ((*v).min(cap), Origin::Settings(src.clone())),
        _ => match &current_evidence {
            Some(e) => (e.value, Origin::Records),
            None => (default, Origin::Default),
        },
    };

    // Demand.
    let observations: Vec<_> = my_units.iter().filter_map(|u| u.observation()).collect();
    let highest = my_units.iter().map(|u| u.limit).max().unwrap_or(current);
    let estimate = Estimate::new(&observations, highest);
    let estimated =
        my_units.iter().filter(|u| matches!(u.kind, UnitKind::Response { estimated: true, .. })).count() as u64;
    let demand = DemandOut {
        estimator: "kaplan-meier",
        responses: estimate.observations,
        censored: estimate.censored,
        estimated,
        known_up_to: estimate.known_up_to,
        beyond_share: estimate.beyond_share(),
        target: estimate.percentile(i.cfg.percentile),
        p50: estimate.percentile(50.0),
        p90: estimate.percentile(90.0),
        p99: estimate.percentile(99.0),
    };
    let plan = Plan::new(i.chains, &my_units, &estimate);

    // Input per request, as the ceiling uses it.
    let mut set: Vec<u64> = Vec::new();
    let mut reserved: Vec<u64> = Vec::new();
    for u in my_units.iter().filter(|u| matches!(u.kind, UnitKind::Response { .. })) {
        let r = &i.chains[u.chain].requests[u.first];
        set.push(r.input);
        reserved.push(r.input.saturating_add(r.cache_read));
    }
    let input_set = percentile_of(&mut set, 90.0).unwrap_or(0);
    let input_reserved = percentile_of(&mut reserved, 90.0).unwrap_or(0);

    let parallel_seen = peak_in_flight(i.chains, &my_units).max(1);
    let gave_up = my_units.iter().filter(|u| i.chains[u.chain].requests[u.last].gave_up).count() as u64;
    let cut_thinking = cut_thinking(i.chains, &my_units);
    let crowding = crowding(i.chains, &my_units);
    let quota_code = (provider == Provider::Bedrock).then(|| quota_code(&raw_ids, family)).flatten();
    let quota = quota_plan(i.cfg, provider, family, parallel_seen);
    let quota_counts = quota.is_some() && provider != Provider::Anthropic;
    let small_sample = demand.responses < choose::MIN_RESPONSES;
    let setup = Setup { floor, cap, current, default, quota_counts, small_sample };

    let ceiling = quota.as_ref().map(|q| Budget {
        quota_tpm: q.tpm,
        headroom: q.headroom,
        parallel: q.parallel.unwrap_or(parallel_seen),
        burndown: q.burndown,
        input_set,
        input_reserved: if q.reading.cache_reads_reserved { input_reserved } else { input_set },
    });

    // No response measured at all (every request throttled): the ceiling alone.
    let observed = observed_throttled(i, &my_units);
    let outcome = if demand.responses == 0 {
        // Refused throughout: the quota is in doubt unless it was given.
        let refused = (observed > 0).then_some(
            if provider != Provider::Anthropic && quota.as_ref().is_none_or(|q| q.tpm_origin != Origin::Flag) {
                Basis::QuotaUnknown
            } else {
                Basis::NoValueIsSafe
            },
        );
        Outcomes {
            choice: from_ceiling(ceiling.as_ref(), &setup, refused),
            rows: Vec::new(),
            calibration: None,
            needed: None,
            cut_share: 0.0,
            from_ceiling_only: true,
        }
    } else {
        replayed(
            i,
            &plan,
            quota.as_ref(),
            &setup,
            &my_units,
            Judged { current, default, cap, floor, provider, observed, demand_p90: demand.p90 },
        )
    };
    Some(Advice {
        model,
        model_origin,
        family,
        provider,
        provider_origin,
        current,
        current_origin,
        current_evidence,
        cap_source,
        default_source,
        cap,
        default,
        thinking,
        floor,
        quota,
        demand,
        input_set,
        input_reserved,
        ceiling,
        choice: outcome.choice,
        rows: outcome.rows,
        calibration: outcome.calibration,
        needed: outcome.needed,
        cut_share: outcome.cut_share,
        from_ceiling_only: outcome.from_ceiling_only,
        gave_up,
        adaptive,
        cut_thinking,
        crowding,
        quota_code,
        max_subagents: i.settings.max_subagents.value,
        throttled_seen: observed,
    })
}

/// What the choice produced, for the advice.
struct Outcomes {
    choice: Choice,
    rows: Vec<Row>,
    calibration: Option<Calibration>,
    needed: Option<Needed>,
    cut_share: f64,
    from_ceiling_only: bool,
}

/// The figures of the model the choice is judged by.
#[derive(Clone, Copy)]
struct Judged {
    current: u64,
    default: u64,
    cap: u64,
    floor: u64,
    provider: Provider,
    observed: u64,
    demand_p90: Option<u64>,
}

/// The replays: the choice, the table's rows, the calibration, and what fixes it when no
/// value does.
fn replayed(
    i: &Inputs<'_>,
    plan: &Plan,
    quota: Option<&QuotaPlan>,
    setup: &Setup,
    my_units: &[&Unit],
    j: Judged,
) -> Outcomes {
    let Judged { current, default, cap, floor, provider, observed, .. } = j;
    // The calibration (the history as it was) runs beside the choice.
    let (calibration, (choice, rows)) = std::thread::scope(|s| {
        let calibration = s.spawn(|| quota.map(|q| calibrate(i, plan, q, my_units)));
        let mut shown: Vec<u64> = SHOWN_VALUES.to_vec();
        shown.extend([current, default.min(cap)]);
        let mut eval = Replays::new(plan, quota, shown);
        let choice = choose::choose(setup, &mut eval);
        let rows = rows(&mut eval, setup, &choice);
        (calibration.join().expect("the calibration thread"), (choice, rows))
    });
    // The history's own 429s test the quota assumed: one the user did not give (a published
    // default, or none) that predicts far fewer of them than happened is not the user's quota,
    // and a value chosen against it could raise a throttled user's max output.
    let quota_unknown = provider != Provider::Anthropic
        && observed > 0
        && match (quota, &calibration) {
            (None, _) => true,
            (Some(q), Some(c)) if q.tpm_origin == Origin::Default => {
                let predicted = c.readings.iter().find(|r| r.0 == c.best).map_or(0, |r| r.1.throttled_attempts);
                predicted.saturating_mul(2) < observed
            }
            _ => false,
        };
    let choice = if quota_unknown {
        choose::Choice {
            action: Action::None,
            basis: choose::Basis::QuotaUnknown,
            value: None,
            safe_up_to: None,
            fewest_cuts_from: None,
        }
    } else {
        choice
    };
    let needed = match (&choice.action, quota) {
        (Action::None, Some(q)) if !quota_unknown => {
            let value = floor.max(j.demand_p90.unwrap_or(floor)).min(cap);
            Some(needed(&Schedule::new(plan, Limit::Fixed(value)), q, value))
        }
        _ => None,
    };
    let cut_share = choice.value.map_or(0.0, |v| ratio(plan.cuts_at(v), plan.len() as u64));
    Outcomes { choice, rows, calibration, needed, cut_share, from_ceiling_only: false }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The limit the model's newest request ran at, when records (not a fallback) say so.
fn newest_recorded(i: &Inputs<'_>, units: &[&Unit]) -> Option<Evidence> {
    let newest = units.iter().filter(|u| i.chains[u.chain].requests[u.last].cut_limit.is_some()).max_by_key(|u| {
        let r = &i.chains[u.chain].requests[u.first];
        r.start
    })?;
    let r = &i.chains[newest.chain].requests[newest.last];
    Some(Evidence {
        value: r.cut_limit.unwrap_or(i.limits[newest.chain][newest.last]),
        what: if r.gave_up {
            "an \"exceeded the N output token maximum\" error"
        } else {
            "a response stopped at max_tokens"
        },
        session: r.session.map(str::to_string),
        time: Some(r.end),
    })
}

/// Cut responses whose usage splits out thinking, and how many of them spent more than half
/// their limit thinking.
fn cut_thinking(chains: &[Chain], units: &[&Unit]) -> (u64, u64) {
    let mut with = 0;
    let mut most = 0;
    for u in units.iter().filter(|u| matches!(u.kind, UnitKind::Response { cut: true, .. })) {
        if let Some(t) = chains[u.chain].requests[u.first].thinking {
            with += 1;
            most += u64::from(t.saturating_mul(2) > u.limit);
        }
    }
    (with, most)
}

/// Who was in flight when the model's requests were first sent, for those that were
/// throttled: a sweep over the requests' times (from getting through to the end).
fn crowding(chains: &[Chain], units: &[&Unit]) -> Option<Crowding> {
    let mut edges: Vec<(i64, i32, bool)> = Vec::new();
    let mut asks: Vec<i64> = Vec::new();
    for u in units {
        let sub = chains[u.chain].stream.starts_with("agent:");
        for r in &chains[u.chain].requests[u.first..=u.last] {
            if r.throttled > 0 {
                asks.push(r.start);
            }
            if r.end > r.admitted && u.kind != UnitKind::Failed {
                edges.push((r.admitted, 1, sub));
                edges.push((r.end, -1, sub));
            }
        }
    }
    if asks.is_empty() {
        return None;
    }
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    asks.sort_unstable();
    let (mut k, mut all, mut subs) = (0usize, 0i64, 0i64);
    let (mut sum_all, mut sum_subs, mut most) = (0i64, 0i64, 0i64);
    for &t in &asks {
        while k < edges.len() && edges[k].0 <= t {
            all += i64::from(edges[k].1);
            if edges[k].2 {
                subs += i64::from(edges[k].1);
            }
            k += 1;
        }
        sum_all += all;
        sum_subs += subs;
        most = most.max(subs);
    }
    let n = asks.len() as f64;
    Some(Crowding {
        throttled_requests: asks.len() as u64,
        mean_in_flight: sum_all as f64 / n,
        mean_subagents: sum_subs as f64 / n,
        most_subagents: most.max(0) as u64,
    })
}

/// The kind of Bedrock endpoint the model's ids name, and its quota's code where known.
fn quota_code(raw_ids: &[&str], family: Option<&Family>) -> Option<QuotaCode> {
    let endpoint = raw_ids.iter().find_map(|id| models::id::endpoint(id))?;
    let codes = family.map(|f| &f.quota_codes);
    let code = codes.and_then(|c| match endpoint {
        "global" => c.global.clone(),
        "cross-region" => c.cross_region.clone(),
        _ => c.in_region.clone(),
    });
    Some(QuotaCode { endpoint, code })
}

/// The most of the model's requests in flight at once in the history, from getting through
/// to the end. When none got through, the most retrying at once (first attempt to last).
fn peak_in_flight(chains: &[Chain], units: &[&Unit]) -> u64 {
    let answered = units.iter().any(|u| u.kind != UnitKind::Failed);
    let mut edges: Vec<(i64, i32)> = Vec::new();
    for u in units.iter().filter(|u| (u.kind != UnitKind::Failed) == answered) {
        for r in &chains[u.chain].requests[u.first..=u.last] {
            let from = if answered { r.admitted } else { r.start };
            if r.end > from {
                edges.push((from, 1));
                edges.push((r.end, -1));
            }
        }
    }
    // Ends before starts at the same instant.
    edges.sort_unstable();
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, d) in edges {
        now += i64::from(d);
        peak = peak.max(now);
    }
    peak.max(0) as u64
}

/// The quota to plan against: `--quota-tpm`, else AWS's published default for the model on
/// Bedrock; none elsewhere.
fn quota_plan(
    cfg: &RecommendConfig,
    provider: Provider,
    family: Option<&Family>,
    parallel_seen: u64,
) -> Option<QuotaPlan> {
    let (tpm, tpm_origin) = match (cfg.quota_tpm, provider) {
        (Some(q), _) => (q, Origin::Flag),
        (None, Provider::Bedrock) => (family.and_then(|f| f.bedrock_default_tpm.as_ref())?.value, Origin::Default),
        (None, _) => return None,
    };
    let (burndown, burndown_origin) = match (cfg.burndown, provider) {
        // Mantle's input quota is not charged for output (its output quota is).
        (_, Provider::BedrockMantle) => (0.0, Origin::Default),
        (Some(b), _) => (b, Origin::Flag),
        (None, Provider::Bedrock) => {
            (family.map_or(UNKNOWN_MODEL_BURNDOWN, |f| f.bedrock_burndown.value), Origin::Default)
        }
        (None, _) => (1.0, Origin::Default),
    };
    // Mantle checks input + max output against the input quota, cache reads not counted: no
    // reading to doubt. Elsewhere AWS's material disagrees on cache reads.
    let mantle = provider == Provider::BedrockMantle;
    let reading = Reading { cache_reads_reserved: cfg.cache_reads_reserved && !mantle, burndown_reservation: !mantle };
    let share = match cfg.parallel {
        Some(p) => parallel_seen as f64 / p.max(1) as f64,
        None => 1.0,
    };
    Some(QuotaPlan {
        tpm,
        tpm_origin,
        burndown,
        burndown_origin,
        reading,
        headroom: cfg.headroom,
        parallel: cfg.parallel,
        parallel_seen,
        planning_tpm: cfg.headroom * tpm as f64 * share,
        reading_in_doubt: !mantle,
    })
}

/// The replays the rule asks for: each value's work laid out once ([`Schedule`]) and
/// measured against the planning quota at its own pace ([`replay::at_pace`]), which can only
/// throttle less as the quota grows; under the other cache-read reading too, for the table.
struct Replays<'p> {
    plan: &'p Plan,
    quota: Option<Quota>,
    done: HashMap<u64, (Outcome, Option<Outcome>)>,
    /// The values the table will show: measured under the other reading too.
    shown: Vec<u64>,
    /// From this value up no response is cut, and one schedule serves every value.
    uncut: Option<(u64, std::sync::OnceLock<Schedule>)>,
    /// The memory of the two threads that replay, reused from value to value.
    memory: [std::sync::Mutex<(Schedule, replay::Scratch)>; 2],
    /// Whether the other cache-read reading is replayed too.
    in_doubt: bool,
}

impl<'p> Replays<'p> {
    fn new(plan: &'p Plan, q: Option<&QuotaPlan>, shown: Vec<u64>) -> Self {
        let quota = q.map(|q| Quota { tpm: q.planning_tpm, burndown: q.burndown, reading: q.reading });
        let uncut = plan.uncut_from().map(|d| (d, std::sync::OnceLock::new()));
        let in_doubt = q.is_some_and(|q| q.reading_in_doubt);
        Self { plan, quota, done: HashMap::new(), shown, uncut, memory: Default::default(), in_doubt }
    }

    /// A value's outcome under the planning reading, and the other one if asked, worked out
    /// in the memory of `slot` (one per thread).
    fn measure(&self, value: u64, other: bool, slot: usize) -> (Outcome, Option<Outcome>) {
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
        let endless = Quota {
            tpm: f64::INFINITY,
            burndown: 1.0,
            reading: Reading { cache_reads_reserved: false, burndown_reservation: false },
        };
        let planned = replay::at_pace_with(schedule, &self.quota.unwrap_or(endless), reserving, scratch);
        let other = self.quota.filter(|_| other && self.in_doubt).map(|q| {
            let reading = Reading { cache_reads_reserved: !q.reading.cache_reads_reserved, ..q.reading };
            replay::at_pace_with(schedule, &Quota { reading, ..q }, reserving, scratch)
        });
        (planned, other)
    }

    /// Whether a value was measured as the table needs it.
    fn measured(&self, value: u64, other: bool) -> bool {
        self.done.get(&value).is_some_and(|d| !other || self.quota.is_none() || !self.in_doubt || d.1.is_some())
    }

    /// Measures the values not measured yet, on two threads; `other`: under both readings.
    fn measure_all(&mut self, values: &[u64], other: bool) {
        let todo: Vec<(u64, bool)> = values
            .iter()
            .copied()
            .filter(|&v| !self.measured(v, other))
            .map(|v| (v, other || self.shown.contains(&v)))
            .collect();
        let (a, b) = todo.split_at(todo.len() / 2);
        let this = &*self;
        let (left, right) = std::thread::scope(|s| {
            let left = s.spawn(|| a.iter().map(|&(v, o)| (v, this.measure(v, o, 1))).collect::<Vec<_>>());
            let right: Vec<_> = b.iter().map(|&(v, o)| (v, this.measure(v, o, 0))).collect();
            (left.join().expect("a replay thread"), right)
        });
        self.done.extend(left.into_iter().chain(right));
    }

    fn get(&mut self, value: u64) -> (Outcome, Option<Outcome>) {
        if !self.done.contains_key(&value) {
            self.measure_all(&[value], false);
        }
        self.done[&value]
    }
}

impl Evaluate for Replays<'_> {
    fn replay(&mut self, value: u64) -> Outcome {
        self.get(value).0
    }

    fn cuts(&self, value: u64) -> u64 {
        self.plan.cuts_at(value)
    }

    fn prefetch(&mut self, values: &[u64]) {
        self.measure_all(values, false);
    }
}

/// The rows of the replay table: the value in effect, the recommended one, the largest safe
/// one, and the usual values the model allows.
fn rows(eval: &mut Replays<'_>, setup: &Setup, choice: &Choice) -> Vec<Row> {
    let mut values: Vec<u64> = SHOWN_VALUES.iter().copied().filter(|&v| v >= setup.floor && v <= setup.cap).collect();
    values.push(setup.current);
    values.push(setup.default.min(setup.cap));
    values.extend(choice.value);
    values.extend(choice.safe_up_to);
    values.sort_unstable();
    values.dedup();
    eval.measure_all(&values, true);
    values
        .into_iter()
        .map(|value| {
            let (outcome, other_reading) = eval.get(value);
            Row {
                value,
                outcome,
                other_reading,
                current: value == setup.current,
                recommended: choice.value == Some(value),
            }
        })
        .collect()
}

/// Replays the history as it was under each reading, at the full quota.
/// Throttled attempts the history records for these units.
fn observed_throttled(i: &Inputs<'_>, units: &[&Unit]) -> u64 {
    units.iter().flat_map(|u| &i.chains[u.chain].requests[u.first..=u.last]).map(|r| u64::from(r.throttled)).sum()
}

fn calibrate(i: &Inputs<'_>, plan: &Plan, q: &QuotaPlan, units: &[&Unit]) -> Calibration {
    let mut observed_throttled = 0u64;
    let mut observed_failed = 0u64;
    let mut limits: HashMap<u64, u64> = HashMap::new();
    for u in units {
        for r in &i.chains[u.chain].requests[u.first..=u.last] {
            observed_throttled += u64::from(r.throttled);
        }
        observed_failed += u64::from(u.kind == UnitKind::Failed);
        *limits.entry(u.limit).or_default() += 1;
    }
    let value = limits.into_iter().max_by_key(|&(l, n)| (n, l)).map_or(0, |(l, _)| l);
    // Both readings of cache reads (AWS's material disagrees on them); max output reserved at
    // the burndown rate, the reading the reference plans with.
    let doubt: &[bool] = if q.reading_in_doubt { &[false, true] } else { &[false] };
    let readings: Vec<(Reading, Outcome)> = doubt
        .iter()
        .map(|&flip| q.reading.cache_reads_reserved ^ flip)
        .map(|c| {
            let reading = Reading { cache_reads_reserved: c, burndown_reservation: q.reading.burndown_reservation };
            let quota = Quota { tpm: q.tpm as f64, burndown: q.burndown, reading };
            (reading, replay::run(plan, &quota, Limit::AsRecorded))
        })
        .collect();
    // Nearest in log terms; ties go to the first (the planning default).
    let distance = |o: &Outcome| ((o.throttled_attempts as f64 + 1.0) / (observed_throttled as f64 + 1.0)).ln().abs();
    let best = readings.iter().min_by(|a, b| distance(&a.1).total_cmp(&distance(&b.1))).map_or(q.reading, |r| r.0);
    Calibration { value, observed_throttled, observed_failed, readings, best }
}

/// The quota at which `value` would be safe (bisection over the replay), and the requests in
/// flight that the given quota fits at that value.
fn needed(schedule: &Schedule, q: &QuotaPlan, value: u64) -> Needed {
    let safe_at = |tpm: f64| {
        choose::is_safe(&replay::at_pace(schedule, &Quota { tpm, burndown: q.burndown, reading: q.reading }))
    };
    let (mut lo, mut hi) = (q.planning_tpm, q.planning_tpm.max(1.0) * 2.0);
    while !safe_at(hi) && hi < 1e12 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..20 {
        let mid = (lo + hi) / 2.0;
        if safe_at(mid) { hi = mid } else { lo = mid }
    }
    // Back from the planning bucket to the quota a user asks for.
    let quota_tpm = (hi * q.tpm as f64 / q.planning_tpm.max(1e-9)).ceil() as u64;
    let parallel =
        ((q.parallel.unwrap_or(q.parallel_seen) as f64) * q.tpm as f64 / quota_tpm.max(1) as f64).floor() as u64;
    Needed { value, quota_tpm, parallel }
}

/// The choice when no response was measured: the worst-case ceiling of `quota-model.md`
/// (every request in flight running to the max output at once), or none.
///
/// `refused` (the basis to give) when the history shows throttled attempts: then the value
/// in effect is never kept. The ceiling takes input as 0 (no response says what it was),
/// so a ceiling that allows the value in effect does not explain why every request was
/// refused: the input, the quota or others' load on it is not what was assumed.
fn from_ceiling(ceiling: Option<&Budget>, setup: &Setup, refused: Option<Basis>) -> Choice {
    let none = |action, basis, value| Choice { action, basis, value, safe_up_to: None, fewest_cuts_from: None };
    let Some(budget) = ceiling else {
        // Nothing to plan against and nothing measured: nothing to change, unless refused.
        return match refused {
            Some(basis) => none(Action::None, basis, None),
            None => none(Action::Keep, Basis::SmallSample, Some(setup.current)),
        };
    };
    let safe = budget.ceiling().map(|c| c / choose::STEP * choose::STEP).filter(|&v| v >= setup.floor);
    let Some(safe) = safe.map(|v| v.min(setup.cap)) else {
        return none(Action::None, Basis::NoValueIsSafe, None);
    };
    if let Some(basis) = refused.filter(|_| setup.current <= safe) {
        return none(Action::None, basis, None);
    }
    let (action, basis, value) = if setup.current <= safe {
        (Action::Keep, Basis::SmallSample, setup.current)
    } else {
        (Action::Lower, Basis::Throttles, safe)
    };
    Choice { action, basis, value: Some(value), safe_up_to: Some(safe), fewest_cuts_from: None }
}
