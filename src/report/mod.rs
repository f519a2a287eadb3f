//! The report: plain data built from a scan, rendered by `render::*`.
//!
//! The JSON renderer serialises these types as they are, so field names here are the JSON
//! contract (`schema` 1). Add fields freely; never rename or remove one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::analysis::Analysis;
use crate::analysis::advice::Advice;
use crate::analysis::select::{Picked, Selection};
use crate::config::{Filters, RecommendConfig, Root};

use crate::scan::data::{Count, EventKind, Response, ScanData};
use crate::scan::key::Name;
use crate::settings::EffectiveSettings;
use crate::settings::write::WriteOutcome;
use crate::stats::{Bin, Summary, histogram, summarize};
use crate::time::day_of;

mod history;
mod recommendation;
mod responses;
mod settings_out;
mod team;

pub use history::*;
pub use recommendation::*;
pub use responses::*;
pub use settings_out::*;
pub use team::*;

pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub scan: ScanSection,
    pub responses: ResponsesSection,
    pub output_tokens: Summary,
    pub by_model: Vec<ModelRow>,
    pub histogram: Vec<Bin>,
    pub errors: ErrorCounts,
    pub by_day: Vec<DayRow>,
    pub by_project: Vec<ProjectRow>,
    /// `Capped from X to Y` debug lines: a max output setting Claude Code clamped.
    pub capped: Vec<CappedRow>,
    pub settings: SettingsOut,
    /// `null` when the history has no request of the model to advise for. The JSON renderer
    /// writes it with its `reasons` and `advice` (sentences), after the top-level `verdict`.
    #[serde(skip)]
    pub recommendation: Option<Recommendation>,
    /// The figures of a quota-increase request.
    pub load: LoadSection,
    /// Responses cut at the output limit, each once (a stop, its recovery prompts and its
    /// "exceeded" error are one cut), by the limit in effect when it was cut.
    pub cuts: CutsSection,
    /// What `--write` or `--dry-run` did; absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteOutcome>,
    /// Everything the recommendation was made from, for the renderers' sentences.
    #[serde(skip)]
    pub advice: Option<Advice>,
    /// Throttling 429s that failed for good and the attempts before them, for the verdict.
    #[serde(skip)]
    pub throttled_days: u64,
    /// What `--model` named among the history's models, for the sentence that says why there
    /// is no recommendation.
    #[serde(skip)]
    pub model_match: Option<crate::analysis::select::ModelMatch>,
    /// What telemetry files gave (`--otel`); absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<crate::otel::Summary>,
    /// The load per person, when the input names people (telemetry, `--shared-quota`);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamSection>,
}

/// What the report was asked for: what was read, the filters, the recommendation's settings,
/// and whether people are named.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub roots: &'a [Root],
    pub filters: &'a Filters,
    pub rec: &'a RecommendConfig,
    pub show_users: bool,
}

impl<'a> Scope<'a> {
    /// What `config` asks the report for.
    pub fn of(config: &'a crate::config::ScanConfig) -> Self {
        Scope {
            roots: &config.roots,
            filters: &config.filters,
            rec: &config.recommend,
            show_users: config.team.show_users,
        }
    }
}

/// The report's figures of the responses, counted while they are held (the analysis gives
/// them back as it makes its chains): the output tokens overall and per model, and the
/// responses of each project and day.
#[derive(Debug, Default)]
pub struct Tally {
    count: u64,
    estimated: u64,
    output_tokens: Summary,
    histogram: Vec<Bin>,
    by_model: Vec<ModelRow>,
    /// The rows of projects and days as the responses fill them (the events and cuts after).
    projects: BTreeMap<String, ProjectRow>,
    days: BTreeMap<DayKey, DayRow>,
    /// Each folder's working directory, as the first response of it that names one says.
    cwd_of_folder: HashMap<Name, Name>,
    /// Responses that stopped at `max_tokens`.
    max_tokens_stops: u64,
    /// The first and the last response's time.
    span: (Option<i64>, Option<i64>),
}

/// Counts the responses that pass every filter (`picked`) for the report.
pub fn tally(picked: &Picked) -> Tally {
    let responses = picked.responses();
    // The counts as the responses hold them (32 bits): a team's million are 4 MB, not 8.
    let mut all: Vec<Count> = responses.iter().map(|r| r.output).collect();
    all.sort_unstable();

    let mut by_model: Vec<ModelRow> = picked
        .by_model
        .iter()
        .map(|(model, group)| {
            let mut v: Vec<Count> = group.iter().map(|r| r.output).collect();
            v.sort_unstable();
            let ids: BTreeSet<&str> = runs(group, |r| Some(r.model())).map(|r| &**r.model()).collect();
            let split: Vec<(u64, u64)> = group
                .iter()
                .filter_map(|r| r.usage.thinking().map(|t| (t.min(r.output.get()), r.output.get())))
                .collect();
            let thinking = (!split.is_empty()).then(|| {
                let (t, o) = split.iter().fold((0u64, 0u64), |a, b| (a.0 + b.0, a.1 + b.1));
                ThinkingOut {
                    responses: split.len() as u64,
                    thinking_tokens: t,
                    output_tokens: o,
                    share: if o == 0 { 0.0 } else { t as f64 / o as f64 },
                }
            });
            let mut efforts: BTreeMap<&str, u64> = BTreeMap::new();
            for e in group.iter().filter_map(|r| r.effort()) {
                *efforts.entry(e).or_default() += 1;
            }
            let effort = efforts.into_iter().map(|(e, n)| (e.to_string(), n)).collect();
            ModelRow {
                model: model.clone(),
                ids: ids.into_iter().map(crate::redact::mask_account).collect(),
                estimated: group.iter().filter(|r| r.estimated).count() as u64,
                summary: summarize(&v),
                histogram: histogram(&v),
                thinking,
                effort,
            }
        })
        .collect();
    // The busiest first, the other models' row last.
    let other = |m: &ModelRow| m.model == crate::models::OTHER_MODELS;
    by_model.sort_by(|a, b| (other(a), b.summary.count, &a.model).cmp(&(other(b), a.summary.count, &b.model)));

    let mut days: BTreeMap<DayKey, DayRow> = BTreeMap::new();
    let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
    // Consecutive responses mostly share a project (they come file by file): one row lookup
    // per run of them.
    // A project is its working directory (the folder name may be anything with
    // CLAUDE_CODE_PROJECT_DIR_NAME); records without one take their folder's.
    let mut cwd_of_folder: HashMap<Name, Name> = HashMap::new();
    for run in responses
        .chunk_by(|a, b| a.origin.place.project == b.origin.place.project && a.origin.place.cwd == b.origin.place.cwd)
    {
        let place = &run[0].origin.place;
        let cwd = place.cwd.clone().or_else(|| cwd_of_folder.get(&place.project).cloned());
        if let Some(c) = &cwd {
            cwd_of_folder.entry(place.project.clone()).or_insert_with(|| c.clone());
        }
        let row = project_row(&mut projects, &place.project, cwd.as_deref());
        row.responses += run.len() as u64;
        for _ in run.iter().filter(|r| r.max_tokens_stop) {
            row.errors.add(EventKind::MaxTokensStop);
        }
    }
    for run in responses.chunk_by(|a, b| day_key(a.origin.time()) == day_key(b.origin.time())) {
        day_row(&mut days, run[0].origin.time()).responses += run.len() as u64;
    }
    let mut max_tokens_stops = 0;
    for r in responses.iter().filter(|r| r.max_tokens_stop) {
        max_tokens_stops += 1;
        day_row(&mut days, r.origin.time()).errors.add(EventKind::MaxTokensStop);
    }
    Tally {
        count: responses.len() as u64,
        estimated: responses.iter().filter(|r| r.estimated).count() as u64,
        output_tokens: summarize(&all),
        histogram: histogram(&all),
        by_model,
        projects,
        days,
        cwd_of_folder,
        max_tokens_stops,
        span: crate::time::span(responses.iter().filter_map(|r| r.origin.time())).unzip(),
    }
}

/// Builds the report of a scan, its analysis and the tally of its responses.
pub fn build(
    data: &ScanData,
    scope: &Scope,
    settings: &EffectiveSettings,
    analysis: Analysis<'_>,
    tally: Tally,
    write: Option<WriteOutcome>,
) -> Report {
    let Scope { roots, filters, rec, show_users } = *scope;
    let Analysis { mut selection, advice, load, team, cuts } = analysis;
    let model_match = selection.model_match.take();
    let Selection {
        ref events, implausible, plausible_up_to, implausible_input, ref capped, implausible_limits, ..
    } = selection;
    let Tally { count, estimated, output_tokens, histogram, by_model, mut projects, mut days, cwd_of_folder, .. } =
        tally;
    let cwd_of = |folder: &str| cwd_of_folder.get(folder).map(|c| &**c);

    let mut errors = ErrorCounts::default();
    for e in events {
        let cwd = e.origin.place.cwd.as_deref().or_else(|| cwd_of(&e.origin.place.project));
        project_row(&mut projects, &e.origin.place.project, cwd).errors.add_event(e);
    }
    for e in events {
        day_row(&mut days, e.origin.time()).errors.add_event(e);
    }
    let mut by_limit: BTreeMap<u64, u64> = BTreeMap::new();
    for c in &cuts {
        *by_limit.entry(c.limit).or_default() += 1;
        day_row(&mut days, Some(c.time)).cut_responses += 1;
        let cwd = c.cwd.as_deref().or_else(|| cwd_of(&c.project));
        project_row(&mut projects, &c.project, cwd).cut_responses += 1;
    }

    let mut capped_rows: HashMap<(u64, u64), u64> = HashMap::new();
    // The debug logs' lines (a refusal's maximum is in the errors and the inputs instead).
    for c in capped.iter().filter(|c| c.model.is_none()) {
        *capped_rows.entry((c.from, c.to)).or_default() += 1;
    }
    let mut capped: Vec<CappedRow> =
        capped_rows.into_iter().map(|((from, to), count)| CappedRow { from, to, count }).collect();
    capped.sort_by_key(|c| (c.from, c.to));

    for _ in 0..tally.max_tokens_stops {
        errors.add(EventKind::MaxTokensStop);
    }
    for e in events {
        errors.add_event(e);
    }
    let by_day: Vec<DayRow> = days.into_values().collect();
    let throttled_days = by_day.iter().filter(|d| d.errors.throttled() > 0).count() as u64;
    Report {
        schema: SCHEMA,
        scan: ScanSection {
            history: history(tally.span, events, settings),
            implausible_limits,
            ..scan_section(&data.read, roots, filters)
        },
        responses: ResponsesSection {
            count,
            estimated,
            implausible,
            plausible_up_to,
            implausible_input,
            plausible_input_up_to: crate::models::MAX_INPUT_TOKENS,
        },
        output_tokens,
        by_model,
        histogram,
        errors,
        by_day,
        by_project: projects.into_values().collect(),
        capped,
        settings: settings_out(settings, advice.as_ref()),
        recommendation: advice.as_ref().map(|a| recommendation(a, rec)),
        load: LoadSection { per_model: load },
        cuts: CutsSection {
            responses: cuts.len() as u64,
            by_limit: by_limit.into_iter().map(|(limit, responses)| CutLimit { limit, responses }).collect(),
        },
        write,
        advice,
        throttled_days,
        model_match,
        telemetry: data.telemetry.clone(),
        team: team.map(|t| team_section(t, &data.people, show_users)),
    }
}

/// The report of a scan whose responses are kept to the end, with no write: what the tests
/// build reports with (and compare `scan`'s path with, which gives the responses back).
#[cfg(test)]
pub(crate) fn of_kept(data: &ScanData, config: &crate::config::ScanConfig, settings: &EffectiveSettings) -> Report {
    let (analysis, tally) = crate::analysis::analyze_with(
        data,
        crate::analysis::Responses::Borrowed(&data.responses),
        &config.filters,
        &config.recommend,
        settings,
        tally,
    );
    build(data, &Scope::of(config), settings, analysis, tally, None)
}

/// The first response of each run of responses whose `field` is the same string (the same
/// allocation: a file's responses share their names), so that per-string work is done once
/// per run instead of once per response.
pub(crate) fn runs<'a>(
    responses: &'a [&'a Response],
    field: impl Fn(&Response) -> Option<&Name> + 'a,
) -> impl Iterator<Item = &'a Response> + 'a {
    responses.iter().enumerate().filter_map(move |(i, &r)| {
        let same = i > 0
            && match (field(responses[i - 1]), field(r)) {
                (Some(a), Some(b)) => Name::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
        (!same).then_some(r)
    })
}

/// The row of a project: its working directory when known, else its folder's name.
fn project_row<'a>(
    projects: &'a mut BTreeMap<String, ProjectRow>,
    folder: &str,
    cwd: Option<&str>,
) -> &'a mut ProjectRow {
    let key = cwd.unwrap_or(folder);
    if !projects.contains_key(key) {
        let row = ProjectRow {
            project: folder.to_string(),
            cwd: cwd.map(str::to_string),
            responses: 0,
            cut_responses: 0,
            errors: ErrorCounts::default(),
        };
        projects.insert(key.to_string(), row);
    }
    projects.get_mut(key).expect("inserted above")
}

/// Orders days as their names sort: dates, then "unknown" (no time).
type DayKey = (bool, i64);

/// The row of a time's UTC day; its name is written once per day, not per response.
fn day_key(time: Option<crate::time::EpochMs>) -> DayKey {
    time.map_or((true, 0), |t| (false, t.div_euclid(crate::time::MS_PER_DAY)))
}

fn day_row(days: &mut BTreeMap<DayKey, DayRow>, time: Option<crate::time::EpochMs>) -> &mut DayRow {
    days.entry(day_key(time)).or_insert_with(|| DayRow {
        day: time.map_or_else(|| "unknown".to_string(), day_of),
        responses: 0,
        cut_responses: 0,
        errors: ErrorCounts::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::classify::ErrorKind;

    /// Item 10 of issue 22: 100,000 distinct reset times are listed in linear time (each
    /// was compared with every one before it: minutes unoptimised), each once, in order.
    #[test]
    fn many_distinct_reset_times_are_listed_in_linear_time() {
        let event = |reset: String| crate::scan::data::Event {
            origin: Default::default(),
            kind: EventKind::Final(ErrorKind::UsageLimit),
            attempt: None,
            retry_in_ms: None,
            reset: Some(reset.into()),
            wording: None,
        };
        let mut counts = ErrorCounts::default();
        let started = std::time::Instant::now();
        for i in 0..100_000u32 {
            counts.add_event(&event(format!("{}:{:02}am ({i})", i % 12 + 1, i % 60)));
        }
        counts.add_event(&event("1:00am (0)".into()));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(counts.usage_limit_resets.len(), 100_000);
        assert_eq!((counts.usage_limit_resets[0].as_str(), counts.usage_limit), ("1:00am (0)", 100_001));
    }
    use crate::scan::data::{Count, Origin, Place};

    fn response(model: &Name, session: Option<&Name>) -> Response {
        Response {
            origin: Origin::new(
                None,
                None,
                std::sync::Arc::new(Place { session: session.cloned(), model: model.clone(), ..Place::default() }),
            ),
            end: crate::time::MaybeMs::NONE,
            output: Count::new(0),
            estimated: false,
            usage: Default::default(),
            max_tokens_stop: false,
        }
    }

    #[test]
    fn runs_are_of_one_string_not_of_equal_text() {
        let (a, a_again, b) = (Name::from("m"), Name::from("m"), Name::from("n"));
        let s = Name::from("s1");
        let all = [
            response(&a, Some(&s)),
            response(&a, None),
            response(&a_again, None),
            response(&b, None),
            response(&a, None),
        ];
        let refs: Vec<&Response> = all.iter().collect();
        let firsts = |field: fn(&Response) -> Option<&Name>| -> Vec<usize> {
            runs(&refs, field).map(|r| all.iter().position(|x| std::ptr::eq(x, r)).unwrap()).collect()
        };
        // Models a a | a' (equal text, another string) | b | a.
        assert_eq!(firsts(|r| Some(r.model())), [0, 2, 3, 4]);
        // Sessions s1 | none none none none.
        assert_eq!(firsts(|r| r.origin.place.session.as_ref()), [0, 1]);
    }
}
