//! The report: plain data built from a scan, rendered by `render::*`.
//!
//! The JSON renderer serialises these types as they are, so field names here are the JSON
//! contract (`schema` 1). Add fields freely; never rename or remove one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::advise::{SettingsOut, advise};
use crate::analysis::select::{Selection, select};
use crate::config::{Filters, RecommendConfig, Root, RootKind};

use crate::recommend::Recommendation;
use crate::scan::classify::ErrorKind;
use crate::scan::data::{EventKind, ReadStats, Response, ScanData};
use crate::scan::key::Name;
use crate::settings::EffectiveSettings;
use crate::settings::write::WriteOutcome;
use crate::stats::{Bin, Summary, histogram, summarize};
use crate::time::day_of;

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
    /// Plain-language summary, also the table's first line.
    pub verdict: String,
    pub settings: SettingsOut,
    /// `null` when no response was measured.
    pub recommendation: Option<Recommendation>,
    /// What `--write` or `--dry-run` did; absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanSection {
    pub roots: Vec<RootOut>,
    /// files, transcript_files, debug_logs, bytes, lines, malformed_lines, unreadable,
    /// not_regular, older_than_since.
    #[serde(flatten)]
    pub read: ReadStats,
    pub filters: FiltersOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootOut {
    pub path: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct FiltersOut {
    pub since: Option<String>,
    pub until: Option<String>,
    pub project: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResponsesSection {
    pub count: u64,
    /// Responses whose recorded output was a stream-start placeholder, measured by the
    /// content estimate instead.
    pub estimated: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    /// The model family's name (`Sonnet 4.5`), or the canonical id of an unknown model.
    pub model: String,
    /// The ids as the transcripts spell them.
    pub ids: Vec<String>,
    pub estimated: u64,
    /// count, mean, p50, p90, p95, p99, max.
    #[serde(flatten)]
    pub summary: Summary,
    pub histogram: Vec<Bin>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RateLimitCounts {
    /// Requests that failed for good with a throttling 429.
    #[serde(rename = "final")]
    pub final_: u64,
    /// Failed attempts Claude Code retried.
    pub retries: u64,
    /// Per-day tokens quota errors (final and retried), not in the two above.
    pub per_day_quota: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutputMaxCounts {
    pub count: u64,
    /// Errors per N of "exceeded the N output token maximum".
    pub limits: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    pub rate_limit: RateLimitCounts,
    pub usage_limit: u64,
    pub output_token_maximum: OutputMaxCounts,
    pub max_tokens_stops: u64,
    pub recovery_prompts: u64,
    /// 529 overloaded: final errors and retried attempts.
    pub overloaded: u64,
    /// Any other API error: final errors and retried attempts.
    pub other: u64,
}

impl ErrorCounts {
    fn add(&mut self, kind: EventKind) {
        match kind {
            EventKind::Final(k) | EventKind::Retry(k) => {
                let retry = matches!(kind, EventKind::Retry(_));
                match k {
                    ErrorKind::RateLimit if retry => self.rate_limit.retries += 1,
                    ErrorKind::RateLimit => self.rate_limit.final_ += 1,
                    ErrorKind::PerDayQuota => self.rate_limit.per_day_quota += 1,
                    ErrorKind::UsageLimit => self.usage_limit += 1,
                    ErrorKind::OutputTokenMaximum(n) => {
                        self.output_token_maximum.count += 1;
                        *self.output_token_maximum.limits.entry(n.to_string()).or_default() += 1;
                    }
                    ErrorKind::Overloaded => self.overloaded += 1,
                    ErrorKind::Other => self.other += 1,
                }
            }
            EventKind::RecoveryPrompt => self.recovery_prompts += 1,
            EventKind::MaxTokensStop => self.max_tokens_stops += 1,
        }
    }

    /// Throttling 429s, final and retried.
    pub fn throttled(&self) -> u64 {
        self.rate_limit.final_ + self.rate_limit.retries
    }

    /// Every sign that a response was cut at the output limit.
    pub fn cut_signs(&self) -> u64 {
        self.output_token_maximum.count + self.max_tokens_stops + self.recovery_prompts
    }

    pub fn total(&self) -> u64 {
        self.throttled()
            + self.rate_limit.per_day_quota
            + self.usage_limit
            + self.cut_signs()
            + self.overloaded
            + self.other
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DayRow {
    pub day: String,
    pub responses: u64,
    pub errors: ErrorCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectRow {
    pub project: String,
    pub cwd: Option<String>,
    pub responses: u64,
    pub errors: ErrorCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct CappedRow {
    pub from: u64,
    pub to: u64,
    pub count: u64,
}

/// Builds the report of a scan, applying the filters.
pub fn build(
    data: &ScanData,
    roots: &[Root],
    filters: &Filters,
    rec: &RecommendConfig,
    settings: &EffectiveSettings,
) -> Report {
    let Selection { responses, by_model: by_name, events } = select(data, filters);
    let mut all: Vec<u64> = responses.iter().map(|r| r.output).collect();
    all.sort_unstable();

    let mut by_model: Vec<ModelRow> = by_name
        .iter()
        .map(|(model, group)| {
            let mut v: Vec<u64> = group.iter().map(|r| r.output).collect();
            v.sort_unstable();
            let ids: BTreeSet<&str> = runs(group, |r| Some(&r.model)).map(|r| &*r.model).collect();
            ModelRow {
                model: model.clone(),
                ids: ids.into_iter().map(str::to_string).collect(),
                estimated: group.iter().filter(|r| r.estimated).count() as u64,
                summary: summarize(&v),
                histogram: histogram(&v),
            }
        })
        .collect();
    by_model.sort_by(|a, b| b.summary.count.cmp(&a.summary.count).then_with(|| a.model.cmp(&b.model)));

    let mut errors = ErrorCounts::default();
    let mut days: BTreeMap<DayKey, DayRow> = BTreeMap::new();
    let mut projects: BTreeMap<String, ProjectRow> = BTreeMap::new();
    // Consecutive responses mostly share a project (they come file by file): one row lookup
    // per run of them.
    for run in responses.chunk_by(|a, b| a.origin.project == b.origin.project) {
        let cwd = run.iter().find_map(|r| r.origin.cwd.as_deref());
        let row = project_row(&mut projects, &run[0].origin.project, cwd);
        row.responses += run.len() as u64;
        for _ in run.iter().filter(|r| r.max_tokens_stop) {
            row.errors.add(EventKind::MaxTokensStop);
        }
    }
    for e in &events {
        project_row(&mut projects, &e.origin.project, e.origin.cwd.as_deref()).errors.add(e.kind);
    }
    for run in responses.chunk_by(|a, b| day_key(a.origin.time) == day_key(b.origin.time)) {
        day_row(&mut days, run[0].origin.time).responses += run.len() as u64;
    }
    for e in &events {
        day_row(&mut days, e.origin.time).errors.add(e.kind);
    }

    let mut capped: HashMap<(u64, u64), u64> = HashMap::new();
    for c in &data.capped {
        *capped.entry((c.from, c.to)).or_default() += 1;
    }
    let mut capped: Vec<CappedRow> =
        capped.into_iter().map(|((from, to), count)| CappedRow { from, to, count }).collect();
    capped.sort_by_key(|c| (c.from, c.to));

    for r in responses.iter().filter(|r| r.max_tokens_stop) {
        errors.add(EventKind::MaxTokensStop);
        day_row(&mut days, r.origin.time).errors.add(EventKind::MaxTokensStop);
    }
    for e in &events {
        errors.add(e.kind);
    }
    let by_day: Vec<DayRow> = days.into_values().collect();
    let estimated = responses.iter().filter(|r| r.estimated).count() as u64;
    let verdict = verdict(&errors, &by_day, responses.len() as u64);
    let (settings, recommendation) = advise(&by_name, &events, &errors, rec, settings);
    Report {
        schema: SCHEMA,
        scan: scan_section(&data.read, roots, filters),
        responses: ResponsesSection { count: responses.len() as u64, estimated },
        output_tokens: summarize(&all),
        by_model,
        histogram: histogram(&all),
        errors,
        by_day,
        by_project: projects.into_values().collect(),
        capped,
        verdict,
        settings,
        recommendation,
        write: None,
    }
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
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (None, None) => true,
                _ => false,
            };
        (!same).then_some(r)
    })
}

fn project_row<'a>(
    projects: &'a mut BTreeMap<String, ProjectRow>,
    project: &str,
    cwd: Option<&str>,
) -> &'a mut ProjectRow {
    if !projects.contains_key(project) {
        let row = ProjectRow { project: project.to_string(), cwd: None, responses: 0, errors: ErrorCounts::default() };
        projects.insert(project.to_string(), row);
    }
    let row = projects.get_mut(project).expect("inserted above");
    if row.cwd.is_none() {
        row.cwd = cwd.map(str::to_string);
    }
    row
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
        errors: ErrorCounts::default(),
    })
}

fn scan_section(read: &ReadStats, roots: &[Root], filters: &Filters) -> ScanSection {
    ScanSection {
        roots: roots
            .iter()
            .map(|r| RootOut {
                path: r.path.to_string_lossy().into_owned(),
                kind: match r.kind {
                    RootKind::Home => "config_home",
                    RootKind::Projects => "projects",
                    RootKind::File => "file",
                },
            })
            .collect(),
        read: read.clone(),
        filters: FiltersOut {
            since: filters.since.map(day_of),
            until: filters.until.map(|u| day_of(u - 1)),
            project: filters.project.clone(),
            model: filters.model.clone(),
        },
    }
}

use crate::text::count_of as plural;

/// One line that says what happened, most important first.
fn verdict(errors: &ErrorCounts, days: &[DayRow], responses: u64) -> String {
    let mut parts = Vec::new();
    let throttled = errors.throttled();
    if throttled > 0 {
        let on_days = days.iter().filter(|d| d.errors.throttled() > 0).count() as u64;
        parts.push(format!(
            "{} (429) on {} ({} failed for good, {} retried)",
            plural(throttled, "throttled request", "throttled requests"),
            plural(on_days, "day", "days"),
            crate::text::thousands(errors.rate_limit.final_),
            crate::text::thousands(errors.rate_limit.retries),
        ));
    }
    if errors.rate_limit.per_day_quota > 0 {
        parts.push(plural(errors.rate_limit.per_day_quota, "per-day quota error", "per-day quota errors"));
    }
    if errors.usage_limit > 0 {
        parts.push(plural(errors.usage_limit, "subscription usage limit", "subscription usage limits"));
    }
    for (limit, n) in &errors.output_token_maximum.limits {
        let limit = limit.parse::<u64>().map_or_else(|_| limit.clone(), crate::text::thousands);
        parts.push(format!("{} cut at {limit} tokens", plural(*n, "response", "responses")));
    }
    let continued = errors.max_tokens_stops + errors.recovery_prompts;
    if continued > 0 {
        parts.push(format!("{} of hitting the output limit", plural(continued, "other sign", "other signs")));
    }
    if errors.overloaded > 0 {
        parts.push(plural(errors.overloaded, "overloaded error (529)", "overloaded errors (529)"));
    }
    if parts.is_empty() {
        if responses == 0 {
            return "No responses found.".to_string();
        }
        return format!("No throttling or output-limit errors in {}.", plural(responses, "response", "responses"));
    }
    let mut s = parts.join("; ");
    s.push('.');
    let first = s.remove(0).to_ascii_uppercase();
    s.insert(0, first);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::data::Origin;

    fn response(model: &Name, session: Option<&Name>) -> Response {
        Response {
            origin: Origin { session: session.cloned(), ..Origin::default() },
            model: model.clone(),
            end: None,
            recorded_output: 0,
            output: 0,
            estimated: false,
            usage: Default::default(),
            content: Default::default(),
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
        assert_eq!(firsts(|r| Some(&r.model)), [0, 2, 3, 4]);
        // Sessions s1 | none none none none.
        assert_eq!(firsts(|r| r.origin.session.as_ref()), [0, 1]);
    }
}
