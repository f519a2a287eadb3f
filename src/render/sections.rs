//! The report for people as plain data: which sections there are, their titles, their
//! columns and rows and the sentences around them, built once from the finished `Report` by
//! [`document`]. The table and Markdown renderers both walk this [`Document`], so they show
//! the same sections, columns and values and cannot drift apart; what stays in each renderer
//! is only its form: the table's colours, widths and histogram bars, Markdown's escaping and
//! heading levels. (The JSON renderer serializes the `Report` itself, the JSON contract.)
//!
//! Texts here are unescaped: data from files (model ids, paths, project names, settings
//! values) is kept as it is, and each renderer makes every text safe for its own format.

use super::{Legend, bin_label, error_rows, prose, quality_line};
use crate::analysis::advice::Advice;
use crate::analysis::fit::Standing;
use crate::analysis::origin::Origin;
use crate::render::readings;
use crate::report::{ErrorCounts, Recommendation, Report};
use crate::settings::Provider;
use crate::stats::Bin;
use crate::text::{count_of, percent, thousands};

/// Rows of the per-project table; the rest are counted in a note.
pub const PROJECT_ROWS: usize = 10;

/// What the columns of the by-day and by-project tables count.
pub const COLUMNS_NOTE: &str = "429: throttled attempts, retried or not (they add up to the first line's count); Cut: responses cut at the output limit, each once; Limits: per-day quota, plan usage limits and spend caps; Other: 429s of no stated cause, overloaded, server limiting, refused (400), context window full and other errors.";

/// The note below the load table.
/// The load table's note: how its tokens a minute are counted (`burndown`: at a burndown
/// other than 1 for some model), and, where `provider` reserves max output, that the
/// reservations are not in them.
fn load_note(burndown: bool, provider: Provider) -> String {
    let counted = if burndown {
        "Tokens a minute count output at the burndown rate, in the minute a request ends"
    } else {
        "Tokens a minute count input, cache writes and output alike, in the minute a request ends"
    };
    let what = match provider {
        Provider::Anthropic => None,
        Provider::Vertex => Some("its max output, as Vertex is assumed to"),
        Provider::Bedrock | Provider::BedrockMantle => Some("on Bedrock, its max output"),
    };
    let reservations = what.map_or(String::new(), |w| {
        format!(
            " What a request reserves when it starts ({w}) is not in them: a quota throttles well below these peaks when the reservations do not fit."
        )
    });
    format!(
        "{counted}; p50s are over the minutes with any. Input and output per request are means over the answered requests (the responses of the output table).{reservations}"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers.
    Right,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: std::borrow::Cow<'static, str>,
    /// A shorter header for a narrow layout (the 80-column table), where there is one.
    pub short: Option<&'static str>,
    pub align: Align,
}

impl Column {
    fn left(name: &'static str) -> Self {
        Column { name: name.into(), short: None, align: Align::Left }
    }
    fn right(name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Column { name: name.into(), short: None, align: Align::Right }
    }
    fn short(self, short: &'static str) -> Self {
        Column { short: Some(short), ..self }
    }
}

/// One section: a heading, then (each part optional, in this order) the value it stands
/// for, sentences, a bulleted list, a table or histogram, the legend of the table's
/// source labels, and notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub title: String,
    /// The recommended setting, set apart from the text (the recommendation's section).
    pub headline: Option<String>,
    /// Sentences before the table.
    pub text: Vec<String>,
    pub bullets: Vec<String>,
    pub columns: Vec<Column>,
    /// One cell a column each; the first cell is the row's label.
    pub rows: Vec<Vec<String>>,
    /// When set, the rows are the bins of a histogram (label, count) and these are their
    /// counts, one a row, for a bar chart.
    pub bars: Option<Vec<u64>>,
    /// The files the table's short source labels (`user`, `project`, …) stand for.
    pub legend: Vec<String>,
    /// Sentences after the table: what its columns count, rows left out.
    pub notes: Vec<String>,
}

impl Section {
    fn titled(title: impl Into<String>) -> Self {
        Section { title: title.into(), ..Section::default() }
    }
}

/// The whole report for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// One line that says what happened.
    pub verdict: String,
    /// Whether the history has any error (the verdict is a warning).
    pub problems: bool,
    /// The model advised for and the recommended setting, right after the verdict.
    pub headline: Option<(String, String)>,
    pub sections: Vec<Section>,
    /// Sentences after the sections (the settings debug logs show clamped).
    pub closing: Vec<String>,
    /// What was read, and how much of it could be used.
    pub quality: String,
}

/// The report's document: every section the table and Markdown show.
pub fn document(report: &Report) -> Document {
    let mut sections = vec![errors(report)];
    sections.extend(output_tokens(report));
    sections.extend(by_day(report));
    sections.extend(by_project(report));
    match (&report.recommendation, &report.advice) {
        (Some(r), Some(a)) => sections.extend(recommendation(report, a, r)),
        _ => {
            let mut s = Section::titled("Recommendation");
            s.text.push(prose::no_recommendation(report));
            sections.push(s);
        }
    }
    sections.extend(load(report));
    sections.extend(team(report));
    sections.extend(env(report));
    Document {
        verdict: prose::verdict(report),
        problems: report.errors.total() > 0,
        headline: report.advice.as_ref().map(|a| (a.model.clone(), prose::headline(a))),
        sections,
        closing: report.capped.iter().map(prose::capped).collect(),
        quality: quality_line(report),
    }
}

fn errors(report: &Report) -> Section {
    let e = &report.errors;
    let cut = report.cuts.responses;
    // The signs of a cut are not the cuts: one response may show several.
    let notes = (e.cut_signs() != cut)
        .then(|| {
            format!(
                "Response cut: the signs of a cut response (a stop at max_tokens, a recovery prompt, an \"exceeded\" error); one response may show several: {} in all, each once in the first line.",
                count_of(cut, "cut response", "cut responses")
            )
        })
        .into_iter()
        .collect();
    Section {
        columns: vec![Column::left("Kind"), Column::right("Count"), Column::left("Meaning")],
        rows: error_rows(e).into_iter().map(|(label, n, note)| vec![label, thousands(n), note.to_string()]).collect(),
        notes,
        ..Section::titled("Errors")
    }
}

/// The summary of output tokens per model (and of all, when there are several), then one
/// histogram a model.
fn output_tokens(report: &Report) -> Vec<Section> {
    let mut s = Section::titled("Output tokens per response");
    if report.responses.count == 0 {
        s.text.push("No responses.".into());
        return vec![s];
    }
    s.columns = vec![
        Column::left("Model"),
        Column::right("Responses").short("Resp."),
        Column::right("Estimated").short("Est."),
        Column::right("Mean"),
        Column::right("p50"),
        Column::right("p90"),
        Column::right("p95"),
        Column::right("p99"),
        Column::right("Max"),
    ];
    let summary = |label: &str, estimated: u64, m: &crate::stats::Summary| {
        vec![
            label.to_string(),
            thousands(m.count),
            thousands(estimated),
            thousands(m.mean.round() as u64),
            thousands(m.p50),
            thousands(m.p90),
            thousands(m.p95),
            thousands(m.p99),
            thousands(m.max),
        ]
    };
    for m in &report.by_model {
        s.rows.push(summary(&m.model, m.estimated, &m.summary));
    }
    if report.by_model.len() > 1 {
        s.rows.push(summary("all", report.responses.estimated, &report.output_tokens));
    }
    let mut out = vec![s];
    out.extend(
        report
            .by_model
            .iter()
            .filter_map(|m| histogram(format!("Response sizes, {} (output tokens)", m.model), &m.histogram)),
    );
    out
}

/// The bins from the first to the last non-empty one; `None` when all are empty.
fn histogram(title: String, bins: &[Bin]) -> Option<Section> {
    let first = bins.iter().position(|b| b.count > 0)?;
    let last = bins.iter().rposition(|b| b.count > 0)?;
    let shown = &bins[first..=last];
    Some(Section {
        columns: vec![Column::right("Output tokens"), Column::right("Responses")],
        rows: shown.iter().map(|b| vec![bin_label(b.from, b.to), thousands(b.count)]).collect(),
        bars: Some(shown.iter().map(|b| b.count).collect()),
        ..Section::titled(title)
    })
}

/// The columns of the by-day and by-project tables, after the label's.
fn count_columns(label: &'static str) -> Vec<Column> {
    vec![
        Column::left(label),
        Column::right("429"),
        Column::right("Cut"),
        Column::right("Limits"),
        Column::right("Other"),
        Column::right("Responses"),
    ]
}

fn count_row(label: &str, e: &ErrorCounts, cut_responses: u64, responses: u64) -> Vec<String> {
    vec![
        label.to_string(),
        thousands(e.throttled()),
        thousands(cut_responses),
        thousands(e.limits()),
        thousands(e.others()),
        thousands(responses),
    ]
}

/// One row for the rows a table leaves out (`label`: its singular and plural), their counts
/// summed, so that every column adds up to the report's totals; none when none is left out.
fn rest_row<'a>(label: (&str, &str), rest: impl Iterator<Item = (&'a ErrorCounts, u64, u64)>) -> Option<Vec<String>> {
    // Rows left out, then the columns: 429, Cut, Limits, Other, Responses.
    let (mut n, mut sums) = (0u64, [0u64; 5]);
    for (e, cut, responses) in rest {
        n += 1;
        for (sum, add) in sums.iter_mut().zip([e.throttled(), cut, e.limits(), e.others(), responses]) {
            *sum += add;
        }
    }
    (n > 0).then(|| std::iter::once(count_of(n, label.0, label.1)).chain(sums.map(thousands)).collect())
}

/// The days with any error, then one row for the days without.
fn by_day(report: &Report) -> Option<Section> {
    let (with, without): (Vec<_>, Vec<_>) = report.by_day.iter().partition(|d| d.errors.total() > 0);
    if with.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<String>> =
        with.iter().map(|d| count_row(&d.day, &d.errors, d.cut_responses, d.responses)).collect();
    rows.extend(rest_row(
        ("other day, without errors", "other days, without errors"),
        without.iter().map(|d| (&d.errors, d.cut_responses, d.responses)),
    ));
    Some(Section {
        columns: count_columns("Day"),
        rows,
        notes: vec![COLUMNS_NOTE.to_string()],
        ..Section::titled("Errors by day (UTC)")
    })
}

/// The projects with any error, most errors first, at most [`PROJECT_ROWS`], then one row
/// for the others.
fn by_project(report: &Report) -> Option<Section> {
    let mut projects: Vec<_> = report.by_project.iter().collect();
    if !projects.iter().any(|p| p.errors.total() > 0) {
        return None;
    }
    projects.sort_by(|a, b| b.errors.total().cmp(&a.errors.total()).then_with(|| a.project.cmp(&b.project)));
    let shown = projects.iter().take(PROJECT_ROWS).take_while(|p| p.errors.total() > 0).count();
    let mut rows: Vec<Vec<String>> = projects[..shown]
        .iter()
        .map(|p| {
            let name = p.cwd.as_deref().unwrap_or(&p.project);
            let name = if name.is_empty() { "(no project: a debug log's own)" } else { name };
            count_row(name, &p.errors, p.cut_responses, p.responses)
        })
        .collect();
    let rest = &projects[shown..];
    rows.extend(rest_row(
        ("other project", "other projects"),
        rest.iter().map(|p| (&p.errors, p.cut_responses, p.responses)),
    ));
    let mut notes = Vec::new();
    let more = rest.iter().filter(|p| p.errors.total() > 0).count() as u64;
    if more > 0 {
        notes.push(format!("Of the other projects, {} had errors (see --format json).", thousands(more)));
    }
    Some(Section { columns: count_columns("Project"), rows, notes, ..Section::titled("Errors by project") })
}

/// The recommendation (its value, reasons and inputs), the replay at each value, the advice.
fn recommendation(report: &Report, a: &Advice, r: &Recommendation) -> Vec<Section> {
    let mut legend = Legend::of(report);
    let rows = prose::input_rows(a, r)
        .into_iter()
        .map(|(label, value, source)| vec![label, value, legend.label(&source)])
        .collect();
    let mut out = vec![Section {
        headline: Some(prose::headline(a)),
        bullets: prose::reasons(report, a, r),
        columns: vec![Column::left("Input"), Column::right("Value"), Column::left("Source")],
        rows,
        legend: legend.lines().to_vec(),
        ..Section::titled(format!("Recommendation for {}", a.model))
    }];
    if !r.replay.is_empty() {
        out.push(replay(a, r));
    }
    let advice = prose::advice(report, a, r);
    if !advice.is_empty() {
        out.push(Section { bullets: advice, ..Section::titled("Advice") });
    }
    out
}

/// The replay at each value: throttling and failures only against a quota; another
/// reading's throttled attempts / failed requests (at its own quota) where one fits or is
/// plausible.
fn replay(a: &Advice, r: &Recommendation) -> Section {
    let against = a.quota.as_ref().map_or_else(
        || "no quota: cuts only".to_string(),
        |q| {
            let reading = match &a.calibration {
                Some(c) if c.readings.len() > 1 => format!(", {}", readings::short(q.reading, q.burndown, a.provider)),
                _ => String::new(),
            };
            match q.planning_output_tpm {
                Some(o) => format!(
                    "against {} TPM input, {} TPM output",
                    thousands(q.planning_tpm.round() as u64),
                    thousands(o.round() as u64)
                ),
                None => format!("against {} TPM{reading}", thousands(q.planning_tpm.round() as u64)),
            }
        },
    );
    let other =
        a.rows.iter().find_map(|row| row.other_reading.map(|o| o.0)).zip(a.calibration.as_ref()).map(|(o, c)| {
            let planning = c.view(o).map_or(0, |v| v.plan.planning_tpm.round() as u64);
            format!(
                "{} ({} TPM): throttled / failed",
                readings::short(o, a.quota.as_ref().map_or(1.0, |q| q.burndown), a.provider),
                thousands(planning)
            )
        });
    let quota = a.quota.is_some();
    let mut columns = vec![Column::right("Max output")];
    if quota {
        columns.extend([Column::right("Throttled attempts"), Column::right("Failed")]);
    }
    columns.push(Column::right("Cut responses"));
    columns.extend(other.clone().map(Column::right));
    let rows = r
        .replay
        .iter()
        .map(|row| {
            let mut cells = vec![prose::row_value(row.value, row.label)];
            if quota {
                cells.push(format!("{} of {}", thousands(row.throttled_attempts), thousands(row.attempts)));
                cells.push(thousands(row.failed));
            }
            // Responses above what the history shows may or may not be cut there: not zeros.
            let mut cut = if row.beyond > 0 {
                format!("{} ({}) + {} unknown", thousands(row.cut), percent(row.cut_share), thousands(row.beyond))
            } else {
                format!("{} ({})", thousands(row.cut), percent(row.cut_share))
            };
            if row.given_up > 0 {
                cut.push_str(&format!(", {} given up", thousands(row.given_up)));
            }
            cells.push(cut);
            if other.is_some() {
                cells.push(row.other_reading.as_ref().map_or_else(
                    || "–".into(),
                    |o| format!("{} / {}", thousands(o.throttled_attempts), thousands(o.failed)),
                ));
            }
            cells
        })
        .collect();
    let mut notes: Vec<String> = prose::asked_note(a).into_iter().collect();
    if r.replay.iter().any(|row| row.given_up > 0) {
        notes.push(format!(
            "Given up: cut responses still cut after Claude Code's {} continuations, which end in an \"exceeded\" error, where a larger value lets them finish.",
            crate::analysis::retries::MAX_CONTINUATIONS
        ));
    }
    // The other reading's column is planned at its own quota: say which, so that its figure
    // is not read as another quota of the same reading.
    if let Some((o, c)) = a.rows.iter().find_map(|row| row.other_reading.map(|o| o.0)).zip(a.calibration.as_ref())
        && let Some(v) = c.view(o)
    {
        // The column's figure, and how it comes from the quota (as the inputs' "Planned
        // against" row says it).
        let scaled = match v.plan.parallel {
            Some(p) if p != v.plan.parallel_seen => prose::scaled_for(v.plan.parallel_seen, p),
            _ => String::new(),
        };
        // Its standing, as the JSON's readings give it.
        // Above: more quota than the reference, which is the one given or a published one.
        let above = match &c.reference {
            Some(r) => format!("; it needs more quota than {}", readings::quota_named(r.tpm, &r.origin)),
            None => "; it needs more quota than the reference".to_string(),
        };
        let (which, aside) = match v.standing {
            Standing::Fits => ("the next reading that fits", String::new()),
            Standing::Above => ("the next reading", above),
            Standing::Below | Standing::Contradicted => ("the next reading shown", String::new()),
        };
        // Its quota: the reading's own where the fit gave it, else the quota the reading holds
        // (given, or a default).
        let quota = match &v.plan.tpm_origin {
            Origin::Inferred => format!("the {} TPM it implies", thousands(v.plan.tpm)),
            o => readings::quota_named(v.plan.tpm, o),
        };
        notes.push(format!(
            "The last column replays the same values under {which} ({}{aside}), against {} TPM: {} of {quota}{scaled}.",
            readings::name(o, v.plan.burndown, a.provider),
            thousands(v.plan.planning_tpm.round() as u64),
            percent(v.plan.headroom),
        ));
    }
    // Where no reading explains the 429s, the rows are at the quota assumed, which the
    // history does not fit: they are not what it met (beside "no model reproduces your 429s",
    // rows of no throttled attempt read as all clear).
    if a.choice.basis == crate::analysis::choose::Basis::QuotaUnknown
        && a.calibration.is_some()
        && let Some(q) = &a.quota
    {
        notes.push(format!(
            "These rows replay against {}, which no reading of how the quota is counted fits to your history's 429s: they show what that quota would do, not what your history met.",
            readings::quota_named(q.tpm, &q.tpm_origin)
        ));
    }
    Section { columns, rows, notes, ..Section::titled(format!("Replay: your history at each value ({against})")) }
}

/// The load per model: the figures of a quota-increase request (on the Anthropic API, of
/// the tier's rate limits, which count input and output apart).
fn load(report: &Report) -> Option<Section> {
    let per_model = &report.load.per_model;
    let anthropic = report.settings.provider == Provider::Anthropic;
    let burndown = per_model.iter().any(|l| l.burndown != 1.0);
    let title = if anthropic { "Load per model" } else { "Load per model (what a quota increase request asks for)" };
    (!per_model.is_empty()).then(|| Section {
        columns: vec![
            Column::left("Model"),
            Column::right("TPM p50"),
            Column::right("TPM peak"),
            Column::right("RPM p50"),
            Column::right("RPM peak"),
            Column::right("Input / request").short("In/req"),
            Column::right("Output / request").short("Out/req"),
        ],
        rows: per_model
            .iter()
            .map(|l| {
                vec![
                    l.model.clone(),
                    thousands(l.tpm_p50),
                    thousands(l.tpm_peak),
                    thousands(l.rpm_p50),
                    thousands(l.rpm_peak),
                    thousands(l.input_mean.round() as u64),
                    thousands(l.output_mean.round() as u64),
                ]
            })
            .collect(),
        notes: vec![load_note(burndown, report.settings.provider)],
        ..Section::titled(title)
    })
}

/// People shown in the team view; the rest are counted in a note.
const TEAM_ROWS: usize = 15;

/// The load per person on the shared quota, one row a person and model.
fn team(report: &Report) -> Option<Section> {
    let team = report.team.as_ref()?;
    let mut rows = Vec::new();
    for p in team.by_person.iter().take(TEAM_ROWS) {
        let l = &p.load;
        let throttled = if l.attempts == 0 { 0.0 } else { l.throttled_attempts as f64 / l.attempts as f64 };
        let throttled = format!("{} ({:.0}%)", thousands(l.throttled_attempts), throttled * 100.0);
        for (i, m) in l.models.iter().enumerate() {
            let first = i == 0;
            let person_cell = |s: String| if first { s } else { String::new() };
            rows.push(vec![
                person_cell(p.person.clone()),
                m.model.clone(),
                thousands(m.requests),
                thousands(m.tpm_peak),
                person_cell(thousands(l.peak_in_flight)),
                person_cell(throttled.clone()),
                person_cell(if team.throttle_moments == 0 { "–".into() } else { percent(l.share_at_throttle) }),
            ]);
        }
    }
    let at_429s = match team.throttle_moments {
        0 => "At 429s: the quota refused no request, so no one has a share.".to_string(),
        1 => "At 429s: their share of all requests in flight when the throttled request was first refused.".to_string(),
        n => format!(
            "At 429s: their share of all requests in flight when each of the {} throttled requests was first refused.",
            thousands(n)
        ),
    };
    // Output at the burndown rate where some model has one; else every token alike.
    let burndown = team.by_person.iter().flat_map(|p| &p.load.models).any(|m| m.burndown != 1.0);
    let tokens = if burndown { "output at the burndown rate" } else { "input, cache writes and output alike" };
    let mut notes = vec![format!(
        "Requests: sent, answered or not. TPM peak: the busiest minute's tokens, {tokens} (the JSON has the median too). Peak in flight: the most of their requests sent at once, waiting on the quota or running. Throttled: their attempts the quota refused (and that share of their attempts). {at_429s}"
    )];
    if let Some(rest) = team.by_person.get(TEAM_ROWS..).filter(|r| !r.is_empty()) {
        // What the rows left out hold, so that the columns still add up to the totals.
        let requests: u64 = rest.iter().map(|p| p.load.requests).sum();
        let throttled: u64 = rest.iter().map(|p| p.load.throttled_attempts).sum();
        notes.push(format!(
            "… and {}, with {} and {}.",
            count_of(rest.len() as u64, "more person", "more people"),
            count_of(requests, "request", "requests"),
            count_of(throttled, "throttled attempt", "throttled attempts")
        ));
    }
    if team.unattributed_requests > 0 {
        notes.push(format!(
            "{} of sessions no telemetry or home names are in no row.",
            count_of(team.unattributed_requests, "request", "requests")
        ));
    }
    if !team.names_shown {
        notes.push("People are numbered in this report's order; --show-users names them.".into());
    }
    let value = report.recommendation.as_ref().and_then(|r| r.max_output_tokens);
    // The replay is of the model advised for: everyone's requests of it, not the other
    // models' (each has its own quota on Bedrock).
    let replayed = match &report.recommendation {
        Some(r) => format!(
            "; everyone's requests of {} are replayed together against one quota",
            crate::text::one_line(&r.inputs.model, 80)
        ),
        None => String::new(),
    };
    let text = vec![format!(
        "The load came from {} and {}{replayed}.",
        count_of(team.people, "person", "people"),
        count_of(team.sessions, "session", "sessions")
    )];
    let mut bullets = Vec::new();
    // Not while `apply` writes it: the report then says where it went.
    if let Some(v) = value.filter(|_| report.write.is_none()) {
        bullets.push(format!(
            "For everyone on this quota, put CLAUDE_CODE_MAX_OUTPUT_TOKENS={v} in managed settings: ccdoctor apply --settings {} (macOS: {}), with the flags of this scan.",
            team.managed_settings[0], team.managed_settings[1]
        ));
    }
    Some(Section {
        text,
        bullets,
        columns: vec![
            Column::left("Person"),
            Column::left("Model"),
            Column::right("Requests").short("Req."),
            Column::right("TPM peak"),
            Column::right("Peak in flight").short("Peak"),
            Column::right("Throttled").short("Thr."),
            Column::right("At 429s"),
        ],
        rows,
        notes,
        ..Section::titled("Team: load per person on the shared quota")
    })
}

/// The settings files' `env`, as Claude Code merges it.
fn env(report: &Report) -> Option<Section> {
    let entries = &report.settings.env;
    if entries.is_empty() {
        return None;
    }
    let mut legend = Legend::of(report);
    let rows = entries.iter().map(|e| vec![e.name.clone(), e.value.clone(), legend.label(&e.source)]).collect();
    let values = if report.settings.env_redacted {
        "values redacted unless known harmless (--show-env shows them)"
    } else {
        "values shown unredacted, secrets included (--show-env)"
    };
    Some(Section {
        text: vec![if report.settings.each_persons {
            format!(
                "Each person's, as their Claude Code merges it (a variable is listed for each file that sets it); {values}."
            )
        } else {
            format!("As Claude Code merges it; {values}.")
        }],
        columns: vec![Column::left("Variable"), Column::left("Value"), Column::left("Set in")],
        rows,
        legend: legend.lines().to_vec(),
        ..Section::titled("Settings env")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ReportArgs, ScanArgs};
    use crate::config::{Env, ScanConfig};

    /// One assistant line of `output` tokens, as Claude Code writes it.
    fn response(n: u32, model: &str, output: u64) -> String {
        serde_json::json!({
            "type": "assistant", "cwd": "/w/app", "sessionId": "s1", "version": "2.1.39",
            "uuid": format!("u{n}"), "timestamp": format!("2026-03-01T10:0{n}:00.000Z"),
            "requestId": format!("req_{n}"),
            "message": {"model": model, "id": format!("msg_{n}"), "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                    "output_tokens": output}}
        })
        .to_string()
    }

    /// A 429 that failed for good (Claude Code's own error message in the transcript).
    fn throttled(n: u32) -> String {
        serde_json::json!({
            "type": "assistant", "cwd": "/w/app", "sessionId": "s1", "version": "2.1.39",
            "uuid": format!("e{n}"), "timestamp": format!("2026-03-01T10:0{n}:00.000Z"),
            "isApiErrorMessage": true, "error": "rate_limit", "apiErrorStatus": 429,
            "message": {"model": "<synthetic>", "id": format!("err_{n}"), "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": "API Error: 429 Too many tokens, please wait before trying again."}],
                "stop_reason": "stop_sequence", "usage": {"input_tokens": 0, "output_tokens": 0}}
        })
        .to_string()
    }

    /// The report of a home holding one transcript of these lines.
    fn report_of(lines: &[String]) -> Report {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home/projects/-w-app");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("s1.jsonl"), lines.join("\n") + "\n").unwrap();
        let args = ScanArgs {
            report: ReportArgs { paths: vec![tmp.path().join("home")], ..ReportArgs::default() },
            ..ScanArgs::default()
        };
        let env = Env { home: Some(tmp.path().to_path_buf()), ..Env::default() };
        let config = ScanConfig::from_cli(&args, &env).unwrap();
        let options = crate::scan::ScanOptions { threads: 1, full_parse: config.full_parse, ..Default::default() };
        let scanned = crate::scan::scan(&config.roots, &options, &crate::scan::Silent);
        let (settings, _) = crate::settings::resolve(&config.settings);
        crate::report::of_kept(&scanned.data, &config, &settings)
    }

    /// Three Sonnet 4.5 responses of 100, 300 and 5,000 output tokens and one 429 that failed.
    fn small() -> Report {
        let model = "claude-sonnet-4-5-20250929";
        report_of(&[response(1, model, 100), response(2, model, 300), response(3, model, 5000), throttled(4)])
    }

    fn section<'a>(doc: &'a Document, title: &str) -> &'a Section {
        doc.sections.iter().find(|s| s.title == title).unwrap_or_else(|| panic!("no section {title:?}"))
    }

    fn row<'a>(s: &'a Section, label: &str) -> &'a [String] {
        s.rows.iter().find(|r| r[0] == label).unwrap_or_else(|| panic!("no row {label:?} in {:?}", s.title))
    }

    #[test]
    fn a_small_report_by_hand() {
        let doc = document(&small());
        let titles: Vec<&str> = doc.sections.iter().map(|s| s.title.as_str()).collect();
        // No settings file: no env section. The order is the report's.
        assert_eq!(
            titles[..5],
            [
                "Errors",
                "Output tokens per response",
                "Response sizes, Sonnet 4.5 (output tokens)",
                "Errors by day (UTC)",
                "Errors by project"
            ]
        );
        assert!(titles.contains(&"Recommendation for Sonnet 4.5"), "{titles:?}");
        assert!(!titles.contains(&"Settings env"), "{titles:?}");
        assert!(doc.problems);
        assert_eq!(doc.headline.as_ref().map(|h| h.0.as_str()), Some("Sonnet 4.5"));

        let errors = section(&doc, "Errors");
        assert_eq!(errors.columns.iter().map(|c| &*c.name).collect::<Vec<_>>(), ["Kind", "Count", "Meaning"]);
        assert_eq!(
            errors.columns.iter().map(|c| c.align).collect::<Vec<_>>(),
            [Align::Left, Align::Right, Align::Left]
        );
        assert_eq!(
            row(errors, "Throttled (429), failed for good"),
            ["Throttled (429), failed for good", "1", "lower max output or parallelism"]
        );
        assert_eq!(row(errors, "Throttled (429), retried")[1], "0");

        // One model: no "all" row. Mean (100 + 300 + 5,000) / 3 = 1,800; the median 300.
        let sizes = section(&doc, "Output tokens per response");
        assert_eq!(sizes.rows.len(), 1);
        assert_eq!(sizes.rows[0][..5], ["Sonnet 4.5", "3", "0", "1,800", "300"]);
        assert_eq!(sizes.rows[0][8], "5,000");
        assert_eq!(sizes.columns[1].short, Some("Resp."));

        // 100 in 64–127, 300 in 256–511, 5,000 in 4,096–8,191; the empty bins between are shown.
        let h = section(&doc, "Response sizes, Sonnet 4.5 (output tokens)");
        let labels: Vec<&str> = h.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels, ["64–127", "128–255", "256–511", "512–1,023", "1,024–2,047", "2,048–4,095", "4,096–8,191"]);
        assert_eq!(h.bars.as_deref(), Some(&[1, 0, 1, 0, 0, 0, 1][..]));
        assert_eq!(h.rows[2], ["256–511", "1"]);

        // The 429 is one throttled attempt of the day and of the project; 3 responses each.
        let day = section(&doc, "Errors by day (UTC)");
        assert_eq!(day.rows, [["2026-03-01", "1", "0", "0", "0", "3"]]);
        assert_eq!(day.notes, [COLUMNS_NOTE]);
        let project = section(&doc, "Errors by project");
        assert_eq!(project.rows, [["/w/app", "1", "0", "0", "0", "3"]]);
        assert!(project.notes.is_empty());

        let rec = section(&doc, "Recommendation for Sonnet 4.5");
        assert_eq!(rec.headline.as_deref(), Some(doc.headline.as_ref().unwrap().1.as_str()));
        assert_eq!(row(rec, "Model")[1], "Sonnet 4.5");
        assert!(!rec.bullets.is_empty());
    }

    #[test]
    fn several_models_get_an_all_row_and_many_projects_a_note() {
        let mut report = small();
        let mut other = report.by_model[0].clone();
        other.model = "Haiku 4.5".into();
        report.by_model.push(other);
        let p = report.by_project[0].clone();
        report.by_project =
            (0..12).map(|i| crate::report::ProjectRow { cwd: Some(format!("/w/p{i:02}")), ..p.clone() }).collect();
        let doc = document(&report);
        let sizes = section(&doc, "Output tokens per response");
        let labels: Vec<&str> = sizes.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels, ["Sonnet 4.5", "Haiku 4.5", "all"]);
        // The "all" row is the report's own summary of every response.
        assert_eq!(sizes.rows[2][1], "3");
        assert!(doc.sections.iter().any(|s| s.title == "Response sizes, Haiku 4.5 (output tokens)"));
        let projects = section(&doc, "Errors by project");
        // Equal error counts: by name; ten shown, two summed in one row (issue 23, item 5:
        // the columns add up to the report's totals).
        assert_eq!(projects.rows.len(), PROJECT_ROWS + 1);
        assert_eq!(projects.rows[0][0], "/w/p00");
        assert_eq!(projects.rows[9][0], "/w/p09");
        assert_eq!(projects.rows[10], ["2 other projects", "2", "0", "0", "0", "6"]);
        assert_eq!(projects.notes, ["Of the other projects, 2 had errors (see --format json)."]);
    }

    /// Issue 23, item 5: a team beyond the rows shown says what the rest hold, so that the
    /// columns still add up to the report's totals.
    #[test]
    fn a_team_beyond_its_rows_sums_the_rest() {
        let mut report = small();
        let person = |i: u64| crate::report::PersonRow {
            person: format!("person {}", i + 1),
            load: crate::analysis::team::PersonLoad {
                person: i as u32,
                sessions: 1,
                requests: 2,
                attempts: 2 + i % 2,
                throttled_attempts: i % 2,
                peak_in_flight: 1,
                in_flight_at_throttle: 0.0,
                share_at_throttle: 0.0,
                models: Vec::new(),
            },
            home: None,
        };
        report.team = Some(crate::report::TeamSection {
            people: 17,
            sessions: 17,
            unattributed_requests: 0,
            throttle_moments: 0,
            names_shown: false,
            by_person: (0..17).map(person).collect(),
            managed_settings: crate::report::MANAGED_SETTINGS,
        });
        let doc = document(&report);
        let team = section(&doc, "Team: load per person on the shared quota");
        // Persons 16 and 17 (i = 15, 16): 2 requests each, one throttled attempt between them.
        assert!(
            team.notes.iter().any(|n| n == "… and 2 more people, with 4 requests and 1 throttled attempt."),
            "{:?}",
            team.notes
        );
    }

    #[test]
    fn no_responses_and_no_recommendation_are_said() {
        let doc = document(&report_of(&[]));
        let sizes = section(&doc, "Output tokens per response");
        assert_eq!(sizes.text, ["No responses."]);
        assert!(sizes.columns.is_empty() && sizes.rows.is_empty());
        let rec = section(&doc, "Recommendation");
        assert_eq!(rec.text, ["No request of any model to measure, so no recommendation."]);
        assert!(doc.headline.is_none() && !doc.problems);
        assert!(!doc.sections.iter().any(|s| s.title.starts_with("Errors by")));
    }
}
