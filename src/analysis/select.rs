//! The first step after the scan: the responses and events that pass the filters, and the
//! responses grouped by model.
//!
//! It is also where figures no model allows are left out, each counted: a response recording
//! more output or input tokens than any request carries, and a limit (a `Capped from X to Y`
//! line, an "exceeded the N output token maximum" error) above what any model allows. One
//! corrupt or hostile record (a colleague's telemetry) must not become the limit in effect, a
//! team's peak load, or the upper end of the replay.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};

use crate::config::Filters;
use crate::models;
use crate::scan::classify::ErrorKind;
use crate::scan::data::{Capped, Event, EventKind, Response, ScanData};
use crate::scan::key::Name;
use crate::time::EpochMs;

/// Models shown one by one, the busiest first; the others share one row
/// ([`models::OTHER_MODELS`]), so that a history of many model ids (200,000 distinct ones in
/// one file is possible) gives a report of bounded size.
pub const MODEL_ROWS: usize = 10;

/// What the filters let through, beside the responses ([`Picked`]): what the analysis and
/// the report read once the responses are given back.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// Responses by row (the model's name, or [`models::OTHER_MODELS`]): how many.
    pub rows: BTreeMap<String, u64>,
    /// How many responses pass the date and project filters ([`Picked::scoped`]).
    pub scoped: usize,
    /// The newest of them, and the first working directory one names.
    pub newest: Option<EpochMs>,
    pub first_cwd: Option<String>,
    /// With `--project` and no response in it: the projects the history's responses and
    /// events name (the working directory, else the folder), each once, sorted; and those of
    /// them `--project` names, whose records the dates left out.
    pub projects: Vec<String>,
    pub projects_named: Vec<String>,
    /// With `--project`: the responses of other projects within the dates (of the models
    /// `--model` keeps), and their throttled attempts (which name no model), whose load the
    /// replay does not see, though it may have drawn on the same quota.
    pub other_projects: OtherProjects,
    /// Events that pass the date and project filters (error records carry no model), without
    /// the "exceeded" errors whose limit no model allows.
    pub events: Vec<&'a Event>,
    /// Responses left out because they record (or were estimated at) more output tokens than
    /// any model allows: a corrupt count, not a measurement.
    pub implausible: u64,
    /// The bound they broke: the largest upper limit in the model table.
    pub plausible_up_to: u64,
    /// Responses left out because they record more input tokens (input, cache writes and
    /// cache reads) than [`models::MAX_INPUT_TOKENS`].
    pub implausible_input: u64,
    /// `Capped from X to Y` lines whose Y some model allows.
    pub capped: Vec<Capped>,
    /// Records of a limit no model allows (0, or above [`models::MAX_OUTPUT_LIMIT`]), left
    /// out: `Capped` lines and "exceeded the N output token maximum" errors.
    pub implausible_limits: u64,
    /// The model names shown one by one (the keys of `rows` but the other models').
    shown: HashSet<String>,
    /// What `--model` named among the history's models; `None` without `--model`.
    pub model_match: Option<ModelMatch>,
}

/// What `--project` leaves out of other projects within the dates ([`Selection::other_projects`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OtherProjects {
    pub responses: u64,
    pub throttled_attempts: u64,
}

/// The responses the filters let through, borrowed: held only while the chains are made and
/// the report's figures of responses counted, then given back.
#[derive(Debug, Default)]
pub struct Picked<'r> {
    /// Responses that pass every filter, in scan order, where `--model` left some of
    /// `scoped` out ([`Picked::responses`]); `None` where it is all of them, held once.
    filtered: Option<Vec<&'r Response>>,
    /// The same responses by row, as [`Selection::rows`] counts them: the [`MODEL_ROWS`]
    /// models with the most responses, and the rest under [`models::OTHER_MODELS`].
    pub by_model: BTreeMap<String, Vec<&'r Response>>,
    /// Responses of every model that pass the date and project filters: the requests the
    /// chains are made of (another model's requests take time in a stream too).
    pub scoped: Vec<&'r Response>,
}

/// What `--model` names among the models of the responses the other filters keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelMatch {
    /// One model (its name): an id or a name of it given whole, or the only one the text is
    /// part of.
    One(String),
    /// Models the text is part of, none of them named whole: which is meant is not known.
    Ambiguous(Vec<String>),
    /// No model of the history; the names it has.
    Nothing(Vec<String>),
}

impl ModelMatch {
    /// Which model names `query` picks among the history's models (each id with its name).
    /// An id or a name given whole (any case, any punctuation: `opus 5`, `Opus-5`,
    /// `claude-opus-5`, a Bedrock id) wins over a part of one: `opus-5` is Opus 5, not also
    /// Opus 5.5.
    pub fn resolve(query: &str, models: &[(&str, String)]) -> Self {
        let names = |keep: &dyn Fn(&str, &str) -> bool| {
            let mut v: Vec<String> = models.iter().filter(|(id, n)| keep(id, n)).map(|(_, n)| n.clone()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let (q, family) = (words(query), models::family_of(query));
        let whole = names(&|id, name| names_model(&q, family, id, name));
        // A model the table knows, named whole, that the history lacks is not a part of
        // another model the table knows: `opus 4` is Opus 4, not Opus 4.6. An id the table
        // does not know (a gateway's `anthropic/claude-sonnet-4.5`, a `-thinking` variant) may
        // be it: the part is looked for there.
        let known = family.is_some() || models::table().families.iter().any(|f| names_model(&q, None, &f.key, &f.name));
        let part = if whole.is_empty() {
            names(&|id, name| {
                (!known || models::family_of(id).is_none()) && (words(id).contains(&q) || words(name).contains(&q))
            })
        } else {
            whole
        };
        match part.len() {
            0 => ModelMatch::Nothing(names(&|_, _| true)),
            1 => ModelMatch::One(part.into_iter().next().expect("one name")),
            _ => ModelMatch::Ambiguous(part),
        }
    }

    /// The model names it keeps.
    fn keeps(&self, name: &str) -> bool {
        match self {
            ModelMatch::One(n) => n == name,
            ModelMatch::Ambiguous(names) => names.iter().any(|n| n == name),
            ModelMatch::Nothing(_) => false,
        }
    }
}

/// Whether a query (`q`: its [`words`]; `q_family`: the family it is an id of) names the
/// model of `id` (shown as `name`) whole: the id in any provider's spelling, its family, or
/// the name.
fn names_model(q: &str, q_family: Option<&models::Family>, id: &str, name: &str) -> bool {
    let family = models::family_of(id);
    if family.is_some() && q_family.map(|f| &f.key) == family.map(|f| &f.key) {
        return true;
    }
    let family_words = family.map(|f| [words(&f.key), words(f.key.trim_start_matches("claude-"))]);
    [words(id), words(&models::id::canonical(id)), words(name)].iter().any(|w| w == q)
        || family_words.is_some_and(|w| w.iter().any(|w| w == q))
}

/// A model's id or name as words: lower-case, every run of other characters than letters and
/// digits one space (`Opus 5.5`, `claude-opus-5-5` → `opus 5 5`, `claude opus 5 5`).
fn words(s: &str) -> String {
    let lower = s.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

impl<'r> Picked<'r> {
    /// Responses that pass every filter, in scan order.
    pub fn responses(&self) -> &[&'r Response] {
        self.filtered.as_deref().unwrap_or(&self.scoped)
    }

    /// [`Picked::scoped`], the rest given back.
    pub fn into_scoped(self) -> Vec<&'r Response> {
        self.scoped
    }
}

impl Selection<'_> {
    /// The row a model name is shown under: its own, else [`models::OTHER_MODELS`].
    pub fn row_of(&self, name: String) -> String {
        if self.shown.contains(&name) { name } else { models::OTHER_MODELS.to_string() }
    }
}

/// Applies the filters to a scan's `responses` (its own, or taken from it) and events.
pub fn select<'a, 'r>(data: &'a ScanData, responses: &'r [Response], filters: &Filters) -> (Selection<'a>, Picked<'r>) {
    let plausible_up_to = models::table().families.iter().map(|f| f.max_output_cap.value).max().unwrap_or(u64::MAX);
    let mut implausible = 0;
    let mut implausible_input = 0;
    // Other projects' responses within the dates, by model id (`--model` is resolved later).
    let mut other_projects: HashMap<&str, u64> = HashMap::default();
    // Sized once for every response, not grown by doubling (each step a copy).
    let mut scoped: Vec<&Response> = Vec::with_capacity(responses.len());
    let mut names = Names::default();
    for r in responses {
        if !filters.time_ok(r.origin.time()) {
            continue;
        }
        if !filters.project_ok(&r.origin.place.project, r.origin.place.cwd.as_deref()) {
            *other_projects.entry(r.model()).or_default() += 1;
            continue;
        }
        if r.output.get() > plausible_up_to {
            implausible += 1;
            continue;
        }
        if input_of(r) > models::MAX_INPUT_TOKENS {
            implausible_input += 1;
            continue;
        }
        scoped.push(r);
    }
    scoped.shrink_to_fit();
    let model_match = filters.model.as_deref().map(|q| ModelMatch::resolve(q, &models_of(&scoped)));
    // The number of each scoped response's model name ([`Names::LEFT_OUT`] where `--model`
    // leaves it out): 4 bytes a response beside the references, where pairs of the two took
    // 16 (a team's million responses: the selection's peak).
    let numbers: Vec<u32> =
        scoped.iter().map(|r| names.of(r.model(), model_match.as_ref()).unwrap_or(Names::LEFT_OUT)).collect();
    let (by_model, shown) = names.rows(&scoped, &numbers);
    let kept = || scoped.iter().zip(&numbers).filter(|&(_, &n)| n != Names::LEFT_OUT).map(|(&r, _)| r);
    let filtered = numbers.contains(&Names::LEFT_OUT).then(|| {
        let mut responses: Vec<&Response> = kept().collect();
        responses.shrink_to_fit();
        responses
    });
    drop(numbers);
    let (events, capped, implausible_limits, others_throttled) = plausible_limits(data, filters);
    let other_projects = OtherProjects {
        responses: other_projects
            .iter()
            .filter(|(id, _)| model_match.as_ref().is_none_or(|m| m.keeps(&models::display_name(id))))
            .map(|(_, n)| n)
            .sum(),
        throttled_attempts: others_throttled,
    };
    let (mut projects, mut projects_named) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    if scoped.is_empty() && events.is_empty() && filters.project.is_some() {
        let origins = || responses.iter().map(|r| &r.origin).chain(data.events.iter().map(|e| &e.origin));
        // A record without a working directory is its folder's, as the report's rows name it.
        let mut cwd_of: HashMap<&str, &str> = HashMap::default();
        for o in origins() {
            if let Some(c) = o.place.cwd.as_deref() {
                cwd_of.entry(&o.place.project).or_insert(c);
            }
        }
        for o in origins() {
            let name =
                o.place.cwd.as_deref().or_else(|| cwd_of.get(&*o.place.project).copied()).unwrap_or(&o.place.project);
            projects.insert(name);
            if filters.project_ok(&o.place.project, o.place.cwd.as_deref()) && !filters.time_ok(o.time()) {
                projects_named.insert(name);
            }
        }
    }
    let owned = |names: std::collections::BTreeSet<&str>| names.into_iter().map(String::from).collect();
    let selection = Selection {
        rows: by_model.iter().map(|(name, rs)| (name.clone(), rs.len() as u64)).collect(),
        scoped: scoped.len(),
        newest: scoped.iter().filter_map(|r| r.origin.time()).max(),
        first_cwd: scoped.iter().find_map(|r| r.origin.place.cwd.as_deref()).map(String::from),
        projects: owned(projects),
        projects_named: owned(projects_named),
        other_projects,
        events,
        implausible,
        plausible_up_to,
        implausible_input,
        capped,
        implausible_limits,
        shown,
        model_match,
    };
    (selection, Picked { filtered, by_model, scoped })
}

/// The distinct model ids of the responses, each with its name.
fn models_of<'a>(responses: &[&'a Response]) -> Vec<(&'a str, String)> {
    let mut seen: HashSet<&str> = HashSet::default();
    responses
        .iter()
        .filter(|r| seen.insert(r.model()))
        .map(|r| (&**r.model(), models::display_name(r.model())))
        .collect()
}

/// The tokens a response's request carried: input, cache writes and cache reads.
fn input_of(r: &Response) -> u64 {
    r.usage.input().saturating_add(r.usage.cache_creation()).saturating_add(r.usage.cache_read())
}

/// The events that pass the date and project filters and the `Capped` lines, without the
/// records of a limit no model allows; how many of those were left out; and the throttled
/// attempts within the dates that the project filter left out (other projects').
fn plausible_limits<'a>(data: &'a ScanData, filters: &Filters) -> (Vec<&'a Event>, Vec<Capped>, u64, u64) {
    let mut left_out = 0u64;
    let mut plausible = |limit: Option<u64>| {
        let ok = limit.is_none_or(models::plausible_limit);
        left_out += u64::from(!ok);
        ok
    };
    let mut others_throttled = 0u64;
    let events = data
        .events
        .iter()
        .filter(|e| filters.time_ok(e.origin.time()))
        .filter(|e| {
            let ours = filters.project_ok(&e.origin.place.project, e.origin.place.cwd.as_deref());
            others_throttled += u64::from(!ours && e.kind.throttled());
            ours
        })
        .filter(|e| plausible(limit_of(e.kind)))
        .collect();
    let capped = data.capped.iter().filter(|c| plausible(Some(c.to))).cloned().collect();
    (events, capped, left_out, others_throttled)
}

/// The limit an event names: the N of "exceeded the N output token maximum".
fn limit_of(kind: EventKind) -> Option<u64> {
    match kind {
        EventKind::Final(ErrorKind::OutputTokenMaximum(n)) | EventKind::Retry(ErrorKind::OutputTokenMaximum(n)) => {
            Some(n)
        }
        _ => None,
    }
}

/// The model names of the responses, each worked out once per distinct model id (a run of
/// responses of one file shares one id string, and is not looked up again), and how many
/// responses each has: hash lookups, so that many ids cost linear time.
#[derive(Default)]
struct Names<'a> {
    /// Each id's name number; `None` when `--model` leaves the id out.
    of_id: HashMap<&'a str, Option<u32>>,
    number: HashMap<String, u32>,
    names: Vec<String>,
    counts: Vec<u64>,
    last: Option<(&'a Name, Option<u32>)>,
}

impl<'a> Names<'a> {
    /// The number of no name: a response `--model` leaves out.
    const LEFT_OUT: u32 = u32::MAX;

    /// The number of the name of a response's model, counted; `None` when `--model` leaves
    /// it out.
    fn of(&mut self, model: &'a Name, model_match: Option<&ModelMatch>) -> Option<u32> {
        let n = match self.last {
            Some((m, n)) if Name::ptr_eq(m, model) => n,
            _ => {
                let n = match self.of_id.get(&**model) {
                    Some(&n) => n,
                    None => {
                        let name = models::display_name(model);
                        let n = model_match.is_none_or(|m| m.keeps(&name)).then(|| self.numbered(name));
                        self.of_id.insert(model, n);
                        n
                    }
                };
                self.last = Some((model, n));
                n
            }
        };
        if let Some(i) = n {
            self.counts[i as usize] += 1;
        }
        n
    }

    fn numbered(&mut self, name: String) -> u32 {
        if let Some(&i) = self.number.get(&name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.number.insert(name.clone(), i);
        self.names.push(name);
        self.counts.push(0);
        i
    }

    /// The responses by row: the [`MODEL_ROWS`] names with the most responses (ties by
    /// name), each its own row, and the rest together; and the names shown one by one.
    fn rows<'r>(
        &self,
        responses: &[&'r Response],
        numbers: &[u32],
    ) -> (BTreeMap<String, Vec<&'r Response>>, HashSet<String>) {
        let mut busiest: Vec<usize> =
            (0..self.names.len()).filter(|&i| self.counts[i] > 0 && self.names[i] != models::OTHER_MODELS).collect();
        busiest.sort_unstable_by(|&a, &b| {
            self.counts[b].cmp(&self.counts[a]).then_with(|| self.names[a].cmp(&self.names[b]))
        });
        busiest.truncate(MODEL_ROWS);
        let mut rows: Vec<(String, Vec<&Response>)> = Vec::new();
        // Each name's row: its own for the busiest, else the other models' (made when needed).
        let mut row_of: Vec<Option<usize>> = vec![None; self.names.len()];
        for &i in &busiest {
            row_of[i] = Some(rows.len());
            rows.push((self.names[i].clone(), Vec::with_capacity(self.counts[i] as usize)));
        }
        let mut other: Option<usize> = None;
        for (&r, &name) in responses.iter().zip(numbers).filter(|&(_, &n)| n != Self::LEFT_OUT) {
            let row = *row_of[name as usize].get_or_insert_with(|| {
                *other.get_or_insert_with(|| {
                    rows.push((models::OTHER_MODELS.to_string(), Vec::new()));
                    rows.len() - 1
                })
            });
            rows[row].1.push(r);
        }
        let shown = busiest.iter().map(|&i| self.names[i].clone()).collect::<HashSet<String>>();
        (rows.into_iter().collect(), shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::data::{Count, Origin, Response};

    fn response(model: &str, output: u64, input: u64) -> Response {
        Response {
            origin: Origin::new(
                Some(1_780_000_000_000),
                None,
                std::sync::Arc::new(crate::scan::data::Place { model: Name::from(model), ..Default::default() }),
            ),
            end: Some(1_780_000_001_000).into(),
            output: Count::new(output),
            estimated: false,
            usage: crate::scan::data::Tokens::new(input, 0, 0, None),
            max_tokens_stop: false,
        }
    }

    /// Many model ids (each its own name): the busiest [`MODEL_ROWS`] are rows of their own,
    /// the others one row, whatever their number; every response is in a row.
    #[test]
    fn the_busiest_models_are_rows_and_the_rest_one() {
        let mut data = ScanData::default();
        for i in 0..3_000u64 {
            // Model k has k + 1 responses for the first twelve, one for every other.
            let n = if i < 12 { i + 1 } else { 1 };
            for _ in 0..n {
                data.responses.push(response(&format!("vendor-model-{i:04}"), 100, 10));
            }
        }
        let (sel, s) = select(&data, &data.responses, &Filters::default());
        assert_eq!(s.by_model.len(), MODEL_ROWS + 1);
        assert_eq!(s.by_model.values().map(Vec::len).sum::<usize>(), data.responses.len());
        // The ten busiest: models 2 to 11 (12 down to 3 responses).
        for i in 2..12 {
            let name = format!("vendor-model-{i:04}");
            assert_eq!(s.by_model[&name].len(), i + 1, "{name}");
            assert_eq!(sel.row_of(name.clone()), name);
            assert_eq!(sel.rows[&name], i as u64 + 1);
        }
        assert_eq!(s.by_model[models::OTHER_MODELS].len(), 1 + 2 + 2_988);
        assert_eq!(sel.row_of("vendor-model-0000".into()), models::OTHER_MODELS);
        assert_eq!(sel.rows[models::OTHER_MODELS], 1 + 2 + 2_988);
        // Few models: each its own row, no other row.
        data.responses.truncate(3);
        let (_, s) = select(&data, &data.responses, &Filters::default());
        assert_eq!(s.by_model.keys().collect::<Vec<_>>(), ["vendor-model-0000", "vendor-model-0001"]);
    }

    #[test]
    fn a_model_named_whole_wins_over_a_part_of_another() {
        let ids = ["claude-opus-5", "claude-opus-5-5", "us.anthropic.claude-opus-4-8-v1:0", "vendor-x", "vendor-x-2"];
        let history: Vec<(&str, String)> = ids.iter().map(|&id| (id, models::display_name(id))).collect();
        let m = |q: &str| ModelMatch::resolve(q, &history);
        let one = |n: &str| ModelMatch::One(n.to_string());
        for q in ["opus-5", "Opus 5", "opus_5", "claude-opus-5", "claude-opus-5-20260101"] {
            assert_eq!(m(q), one("Opus 5"), "{q}");
        }
        assert_eq!(m("opus 5.5"), one("Opus 5.5"));
        assert_eq!(m("anthropic.claude-opus-4-8"), one("Opus 4.8"));
        assert_eq!(m("4.8"), one("Opus 4.8"));
        assert_eq!(m("vendor-x"), one("vendor-x"));
        let several = |names: &[&str]| ModelMatch::Ambiguous(names.iter().map(|n| n.to_string()).collect());
        assert_eq!(m("opus"), several(&["Opus 4.8", "Opus 5", "Opus 5.5"]));
        assert_eq!(m("vendor"), several(&["vendor-x", "vendor-x-2"]));
        let all = ["Opus 4.8", "Opus 5", "Opus 5.5", "vendor-x", "vendor-x-2"].map(String::from).to_vec();
        assert_eq!(m("haiku"), ModelMatch::Nothing(all));
        assert_eq!(ModelMatch::resolve("opus", &[]), ModelMatch::Nothing(Vec::new()));
    }

    /// A model the table knows, named whole, is that model: on a history without it, no
    /// model (not another whose name holds its name).
    #[test]
    fn a_known_model_the_history_lacks_is_no_part_of_another() {
        let ids = ["claude-opus-4-6", "claude-sonnet-4-5-20250929"];
        let history: Vec<(&str, String)> = ids.iter().map(|&id| (id, models::display_name(id))).collect();
        let m = |q: &str| ModelMatch::resolve(q, &history);
        let none = ModelMatch::Nothing(vec!["Opus 4.6".to_string(), "Sonnet 4.5".to_string()]);
        for q in ["claude-opus-4", "opus 4", "Opus-4", "claude-opus-4-20250514", "claude-sonnet-4", "sonnet 4"] {
            assert_eq!(m(q), none, "{q}");
        }
        // A model the history has, and parts that name no model of the table, pick as before.
        for (q, name) in [("opus", "Opus 4.6"), ("4.6", "Opus 4.6"), ("sonnet", "Sonnet 4.5"), ("opus-4-6", "Opus 4.6")]
        {
            assert_eq!(m(q), ModelMatch::One(name.to_string()), "{q}");
        }
        // Ids the table does not know (a gateway's spelling, a variant) may be the model named.
        let ids = ["anthropic/claude-sonnet-4.5", "claude-opus-4-6-thinking"];
        let history: Vec<(&str, String)> = ids.iter().map(|&id| (id, models::display_name(id))).collect();
        let m = |q: &str| ModelMatch::resolve(q, &history);
        for (q, id) in
            [("sonnet 4.5", ids[0]), ("claude-sonnet-4-5", ids[0]), ("opus 4.6", ids[1]), ("claude-opus-4-6", ids[1])]
        {
            assert_eq!(m(q), ModelMatch::One(id.to_string()), "{q}");
        }
    }

    /// Input above any context window, and limits above any model's, are left out and
    /// counted; the rest stays.
    #[test]
    fn figures_no_model_allows_are_left_out_and_counted() {
        let mut data = ScanData::default();
        data.responses.push(response("claude-sonnet-4-5", 500, 1_000));
        data.responses.push(response("claude-sonnet-4-5", 500, 1_000_000_000_000));
        data.responses.push(response("claude-sonnet-4-5", 500, models::MAX_INPUT_TOKENS));
        let event = |n: u64| Event {
            origin: Origin::default(),
            kind: EventKind::Final(ErrorKind::OutputTokenMaximum(n)),
            attempt: None,
            retry_in_ms: None,
            reset: None,
            wording: None,
        };
        data.events = vec![event(32_000), event(99_999_999_999_999), event(0)];
        let capped = |to: u64| Capped { from: to.saturating_add(1), to, session: None, time: None, model: None };
        data.capped = vec![capped(64_000), capped(99_999_999_999_999), capped(models::MAX_OUTPUT_LIMIT)];
        let (s, picked) = select(&data, &data.responses, &Filters::default());
        assert_eq!((picked.scoped.len(), s.scoped, s.implausible_input, s.implausible), (2, 2, 1, 0));
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.capped.iter().map(|c| c.to).collect::<Vec<_>>(), [64_000, models::MAX_OUTPUT_LIMIT]);
        assert_eq!(s.implausible_limits, 3);
    }
}
