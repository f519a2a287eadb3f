//! From scan data to plain results, one module a step, each only looking down:
//!
//! `select` (filters, per-model views) → `chains` (each stream's requests in order) →
//! `limits` (the max output in effect for each, and the responses a user asked for) →
//! `demand` (what responses wanted, cut ones censored) → `replay` (the chains against a quota
//! at a candidate max output) → `choose` (the value and its action) → `advice` (all of it for
//! the model advised for) and `load` (the figures of a quota-increase request). Nothing here
//! writes prose: the renderers word the results.

pub mod advice;
pub mod alone;
pub mod ceiling;
pub mod chains;
pub mod choose;
pub mod demand;
pub mod fit;
pub mod limits;
pub mod load;
pub mod origin;
pub mod quota;
pub mod replay;
pub mod retries;
pub mod seen;
pub mod select;
pub mod team;
pub mod values;

use crate::config::{Filters, RecommendConfig};
use crate::models;
use crate::scan::classify::{Wording, Wordings};
use crate::scan::data::{EventKind, Response, ScanData};
use crate::scan::key::Name;
use crate::settings::{EffectiveSettings, Provider};
use advice::Advice;
use load::ModelLoad;
use select::{Picked, Selection};

/// What the analysis found.
#[derive(Debug)]
pub struct Analysis<'a> {
    /// What the filters let through, but the responses themselves (given back as the chains
    /// were made).
    pub selection: Selection<'a>,
    /// `None` when the history has no request of any model to advise for.
    pub advice: Option<Advice>,
    pub load: Vec<ModelLoad>,
    /// The load per person, when the input names people.
    pub team: Option<team::Team>,
    /// Responses cut at the output limit, each once however many records show it (stop,
    /// recovery prompts, the "exceeded" error), in chain order.
    pub cuts: Vec<Cut>,
}

/// A response cut at the output limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The limit it was cut at.
    pub limit: u64,
    /// When its first part ended.
    pub time: crate::time::EpochMs,
    pub project: Name,
    pub cwd: Option<Name>,
}

/// The responses an analysis reads: a scan's own (kept), or taken from it (given back as the
/// chains are made of them, so that they are not held beside the chains or the steps after).
#[derive(Debug)]
pub enum Responses<'d> {
    Borrowed(&'d [Response]),
    Owned(Vec<Response>),
}

impl Responses<'_> {
    fn all(&self) -> &[Response] {
        match self {
            Responses::Borrowed(r) => r,
            Responses::Owned(r) => r,
        }
    }
}

/// Whether the history may be on the Anthropic API: `--provider` or the settings say so, or
/// they say nothing, no model id is spelled as Bedrock's or Vertex's, and the throttling
/// 429s are not in another provider's words (`worded`).
fn first_party(
    chains: &[chains::Chain],
    cfg: &RecommendConfig,
    settings: &EffectiveSettings,
    worded: Option<Provider>,
) -> bool {
    match cfg.provider.or(settings.provider.value) {
        Some(p) => p == Provider::Anthropic,
        None if worded.is_some_and(|p| p != Provider::Anthropic) => false,
        None => {
            let mut last: Option<&str> = None;
            !chains.iter().flat_map(|c| &c.requests).filter_map(|r| r.model()).any(|m| {
                // A chain's requests mostly share one model string: one look a run.
                let new = !last.is_some_and(|l| std::ptr::eq(l, m));
                last = Some(m);
                new && advice::provider_of_id(m).is_some()
            })
        }
    }
}

/// The provider whose words most of the selected history's throttling 429s are in
/// (transcripts and telemetry alike, each once), if one's: what tells a team's telemetry on
/// Bedrock from the API's when no setting names a provider and the model ids are spelled as
/// the API's. The 429s of a stream whose responses name a provider by their ids' spelling
/// are that provider's, told by the ids, and not counted.
fn worded(selection: &Selection, scoped: &[&Response]) -> Option<Provider> {
    let mut spelled: std::collections::HashSet<&str> = std::collections::HashSet::new();
    // A stream's responses mostly share one model string: one look a run.
    let mut last: Option<(&str, bool)> = None;
    for &r in scoped {
        let m: &str = r.model();
        let named = match last {
            Some((l, named)) if std::ptr::eq(l, m) => named,
            _ => last.insert((m, advice::provider_of_id(m).is_some())).1,
        };
        if named {
            spelled.insert(&r.origin.place.stream);
        }
    }
    let mut all = Wordings::default();
    for e in selection.events.iter().filter(|e| !spelled.contains(&*e.origin.place.stream)) {
        if let EventKind::Retry(kind) | EventKind::Final(kind) = e.kind {
            all.note(kind, e.wording);
        }
    }
    all.most().map(|w| match w {
        Wording::Bedrock => Provider::Bedrock,
        Wording::Vertex => Provider::Vertex,
        Wording::Anthropic => Provider::Anthropic,
    })
}

/// Runs every step on a scan, its responses kept.
pub fn analyze<'a>(
    data: &'a ScanData,
    filters: &Filters,
    cfg: &RecommendConfig,
    settings: &EffectiveSettings,
) -> Analysis<'a> {
    analyze_with(data, Responses::Borrowed(&data.responses), filters, cfg, settings, |_| ()).0
}

/// Runs every step on a scan's events and `responses` (taken from it, or its own), and
/// `tally` on the responses that pass the filters while they are held: its result beside the
/// analysis. Owned responses are given back as the chains are made of them.
pub fn analyze_with<'a, T>(
    data: &'a ScanData,
    responses: Responses<'_>,
    filters: &Filters,
    cfg: &RecommendConfig,
    settings: &EffectiveSettings,
    tally: impl FnOnce(&Picked) -> T,
) -> (Analysis<'a>, T) {
    // A team's load (people named): one home's `model` setting is one person's choice, not
    // the model the team's load comes from, which is then the one with the most responses.
    let team_settings;
    let settings = if data.people.names.is_empty() {
        settings
    } else {
        team_settings = EffectiveSettings { model: Default::default(), ..settings.clone() };
        &team_settings
    };
    crate::memory::step("reading");
    let (selection, picked) = select::select(data, responses.all(), filters);
    let tallied = tally(&picked);
    // The chains need the responses of every model, and no longer the rows.
    let scoped = picked.into_scoped();
    // Read whatever names the provider: where the flag or the settings do, only to say when
    // the history names another.
    let worded = worded(&selection, &scoped);
    let places = chains::Places::of(&scoped, &selection.events);
    let stock = if let Responses::Owned(_) = responses {
        // Where each is in the list, so that the chains can take the list and give it back.
        let base = responses.all().as_ptr() as usize;
        let at = |r: &Response| (r as *const Response as usize - base) / size_of::<Response>();
        let places: Vec<u32> = scoped.iter().map(|&r| u32::try_from(at(r)).expect("under 2^32 responses")).collect();
        // The references go now: moved only on the other branch, they would be held to the
        // end of the analysis.
        drop(scoped);
        let Responses::Owned(all) = responses else { unreachable!("owned, above") };
        chains::Stock::Owned { all, scoped: places }
    } else {
        chains::Stock::Borrowed(scoped)
    };
    let chains = chains::build(stock, &selection.events, &places);
    crate::memory::step("selection and chains");
    // Building them freed as much again as they hold (and the responses, when owned, as it
    // went): given back before the steps after.
    crate::memory::give_back();
    let table_cap = |m: &str| models::family_of(m).map(|f| advice::cap_of(Some(f)));
    // A value set above a cap: the settings a request ran under, before any cap is learned.
    let unlearned = Default::default();
    let raw = advice::Now {
        settings,
        learned: &unlearned,
        of_session: &data.people.of_session,
        escalates: false,
        ran_at: None,
    };
    let set_above = |r: &chains::Request<'_>, telemetry: bool, cap: u64| {
        raw.set_at(r.session(), telemetry, r.start()).is_some_and(|v| v > cap)
    };
    let learned = limits::caps_from_data(&chains, &selection.capped, &models::display_name, &table_cap, &set_above);
    let fallback = advice::Now {
        settings,
        learned: &learned,
        of_session: &data.people.of_session,
        // Telemetry's people set no value the settings read here could say (none, as taken).
        escalates: (settings.max_output_tokens.value.is_none() || chains.iter().any(|c| c.telemetry()))
            && first_party(&chains, cfg, settings, worded),
        ran_at: cfg.ran_at,
    };
    let limits = limits::in_effect(&chains, &selection.capped, &fallback);
    let units = limits::units(&chains, &limits);
    crate::memory::step("limits and units");
    // The limit in effect of each request is its unit's from here on: given back before the
    // load and the advice's first part run side by side.
    drop(limits);
    crate::memory::give_back();
    // The models advised for are real ones: the other models' row gathers many.
    let responses_by_model: Vec<(String, u64)> = selection
        .rows
        .iter()
        .filter(|(name, _)| *name != models::OTHER_MODELS)
        .map(|(name, &n)| (name.clone(), n))
        .collect();
    let inputs = advice::Inputs {
        chains: &chains,
        units: &units,
        responses_by_model: &responses_by_model,
        model_match: selection.model_match.as_ref(),
        learned_caps: &learned,
        cfg,
        settings,
        worded,
        whole: filters.project.is_none(),
        events: &selection.events,
    };
    // Each model's load at its provider's burndown: Bedrock's where its ids or the settings
    // say Bedrock.
    let bedrock_settings = match cfg.provider.or(settings.provider.value) {
        Some(p) => p == Provider::Bedrock,
        None => worded == Some(Provider::Bedrock),
    };
    let burndown_of = |id: &str| match cfg.burndown {
        Some(b) => b,
        None if bedrock_settings || advice::provider_of_id(id) == Some(Provider::Bedrock) => {
            models::family_of(id).map_or(models::UNKNOWN_MODEL_BURNDOWN, |f| f.bedrock_burndown.value)
        }
        None => 1.0,
    };
    // The load per model is worked out beside the advice's first part, in the rows the report
    // shows.
    let row_of = |id: &str| selection.row_of(models::display_name(id));
    let ((mut load, team), prepared) = crate::par::join(
        || {
            let all: Vec<&chains::Chain> = chains.iter().collect();
            let load = load::per_model(&all, &row_of, &burndown_of);
            // Its lists, given back while the advice's first part still runs beside it.
            crate::memory::give_back();
            let team = team::team(&chains, &data.people, &row_of, &burndown_of);
            (load, team)
        },
        || advice::prepare(&inputs),
    );
    crate::memory::step("load beside the advice's first part");
    if filters.model.is_some() {
        load.retain(|l| selection.rows.contains_key(&l.model));
    }
    let cuts = units
        .iter()
        .filter(|u| matches!(u.kind(), limits::UnitKind::Response { cut: true, .. }))
        .map(|u| {
            let c = &chains[u.chain()];
            Cut {
                limit: u.limit(),
                time: c.requests[u.first()].end(),
                project: c.project().into(),
                cwd: c.cwd().map(Name::from),
            }
        })
        .collect();
    // The plan is made from the chains and units alone, and freed of them as it goes: the
    // replays need the plan only, so their memory does not add to the chains'. Nor does that
    // of the places the chains took their names from (a team's hold one a stream and model).
    let planned = prepared.map(|p| p.plan(chains, units));
    drop(places);
    let advice = planned.map(|p| p.finish(cfg));
    crate::memory::step("the values' replays");
    (Analysis { selection, advice, load, team, cuts }, tallied)
}
