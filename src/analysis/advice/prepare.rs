//! The advice up to its replays: everything the chains tell for the chosen model (the value
//! in effect, demand, the quota side, the setups of the choice), holding nothing of the
//! chains, so that the plan can take them.

use super::now::{people_differ, thinking_budget};
use super::pick::{pick_model, pick_provider, provider_doubt};
use super::{
    Advice, Assumed, Attempts, DemandOut, EACH_PERSONS_OWN, Escalation, Evidence, FigureSource, NOT_ON_RECORD,
    RanAbove, cap_of, default_of,
};
use crate::analysis::chains::{Chain, Ended, Request};
use crate::analysis::choose::{self, Choice, Setup};
use crate::analysis::demand::Estimate;
use crate::analysis::limits::{self, Kept, Unit, UnitKind};
use crate::analysis::origin::Origin;
use crate::analysis::quota::{self, Side};
use crate::analysis::retries;
use crate::analysis::seen;
use crate::analysis::select::ModelMatch;
use crate::config::RecommendConfig;
use crate::models;
use crate::settings::{EffectiveSettings, Provider};
use crate::stats::percentile_by;
use foldhash::{HashMap, HashMapExt};

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
    /// load the history does not hold ([`crate::analysis::alone`]).
    pub whole: bool,
    /// The history's events in scope (every model's).
    pub events: &'a [&'a crate::scan::data::Event],
}

/// In a history without a 429 or a failure, the largest limit a response was cut at (its
/// record shows the limit in effect, where a setting only gives a guess or a lower bound):
/// every value up to it ran without a 429 ([`choose::Setup::ran_clean_at`]).
fn clean_up_to(units: Kept<'_>) -> Option<u64> {
    units.iter().filter(|u| matches!(u.kind(), UnitKind::Response { cut: true, .. })).map(Unit::limit).max()
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

/// The advice but its plan and what the replays decide: everything the chains tell for the
/// chosen model. It holds nothing of the chains, so that [`Prepared::plan`] can take them
/// and free them as it makes the plan.
pub struct Prepared {
    /// The model's units (indices into the units) and their demand, to make the plan of.
    pub(super) kept: Vec<u32>,
    pub(super) estimate: Estimate,
    pub(super) pending: Pending,
}

/// What the replays are run with, and the advice they complete.
pub(super) struct Pending {
    pub(super) side: Option<Side>,
    /// The choice's setup at the load planned for, and at the history's own.
    pub(super) setup: Setup,
    pub(super) seen_setup: Setup,
    pub(super) parallel_seen: u64,
    /// The limit most of the model's units ran at.
    pub(super) common_limit: u64,
    /// The model's requests refused then admitted after a quiet time, to judge each reading
    /// by at its quota ([`crate::analysis::alone`]; none on Mantle, whose output quota is a second
    /// bucket, or when a project is left out).
    pub(super) alone: crate::analysis::alone::Quiet,
    /// The advice, what the replays decide left for [`Planned::finish`] (`quota`,
    /// `ceiling`, `choice`, `rows`, `calibration`, `needed`, `cut_share`, `from_ceiling_only`).
    pub(super) advice: Advice,
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
            crate::analysis::alone::gather(i.chains, busy, my_units, s.burndown, &s.readings)
        }
        _ => crate::analysis::alone::Quiet::default(),
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

/// The limit most of the units ran at (the larger on a tie).
fn most_common_limit(units: Kept<'_>) -> u64 {
    let mut limits: HashMap<u64, u64> = HashMap::new();
    for u in units {
        *limits.entry(u.limit()).or_default() += 1;
    }
    limits.into_iter().max_by_key(|&(l, n)| (n, l)).map_or(0, |(l, _)| l)
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
