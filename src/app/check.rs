//! `check`: one line (or one JSON object) saying whether the max output in effect is safe
//! for the recorded load, with the exit status scripts and hooks act on.

use std::io::Write;

use serde::Serialize;

use crate::analysis::advice::{Advice, Origin};
use crate::analysis::choose::{Action, Basis};
use crate::config::{OutputFormat, ScanConfig};
use crate::exit_codes::ExitCode;
use crate::text::{count_of, escape_control, one_line, thousands};

/// The history `check` reads when `--since` is not given: the recent load is what the value
/// in effect meets next, and a week of files is read in well under a second.
pub const DEFAULT_DAYS: i64 = 7;

/// The first day (YYYY-MM-DD) of a window of [`DEFAULT_DAYS`] ending on the day of `last`.
pub fn window_from(last: crate::time::EpochMs) -> String {
    crate::time::day_of(last - (DEFAULT_DAYS - 1) * crate::time::MS_PER_DAY)
}

/// The most characters of one piece of data (a model id, a path) a message quotes.
const MAX_QUOTED: usize = 80;
/// The most characters of a path shown as a command's argument.
const MAX_ARG: usize = 100;
/// The most characters of the message a hook gives Claude Code, which shows it to the user
/// (and its model) at every session: a few sentences of ccdoctor's own, whatever the data.
pub const MAX_HOOK_MESSAGE: usize = 600;

/// What a hook prints for `message`: `{"systemMessage": …}` whose text holds nothing
/// invisible, reordering or line-breaking and is bounded. Escaping such characters as
/// `\uXXXX` in the JSON would not do: Claude Code decodes them.
pub fn hook_output(message: &str) -> String {
    let msg = serde_json::json!({ "systemMessage": one_line(message, MAX_HOOK_MESSAGE) });
    crate::text::json_escape_unsafe(&msg.to_string())
}

/// Whether a command line (without the program's name) runs `check --hook`: read from the
/// raw arguments, for a line clap refused (its options are not known to be valid then).
pub fn hook_requested<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> bool {
    let args: Vec<S> = args.into_iter().collect();
    let words = || args.iter().map(|a| a.as_ref()).take_while(|a| *a != "--");
    let command = words().find(|a| !a.to_string_lossy().starts_with('-'));
    command.is_some_and(|c| c == "check") && words().any(|a| a == "--hook")
}

/// What changes the value in effect, for the message. `ccdoctor apply` writes the user's
/// settings, which a value from managed settings outranks (and `apply` cannot change it for
/// everyone), and which a project's or local settings outrank too: those files are named.
/// A path as an argument of a command the message shows: quoted for the shell, or a
/// placeholder where it is too long to show whole (a path cut short would make a command that
/// runs on another file, or not at all) or holds what the terminal cannot show as it is.
fn arg(p: &std::path::Path) -> String {
    let quoted = crate::settings::write::shell_quote(p);
    if quoted.chars().count() <= MAX_ARG && crate::text::escape_control(&quoted) == quoted {
        quoted
    } else {
        "<path too long or odd to show>".to_string()
    }
}

fn how_to_change(a: &Advice, config: &ScanConfig) -> String {
    let apply = apply_command(config);
    let path = |p: &str| arg(std::path::Path::new(p));
    let managed = |p: &str| {
        format!(
            "it is set in managed settings, which `ccdoctor apply` cannot override: whoever administers this machine can change it (`sudo {apply} --settings {}`)",
            path(p)
        )
    };
    let source = match &a.current_origin {
        Origin::Settings(source) => source.split_once(": "),
        _ => None,
    };
    match source {
        Some(("managed", p)) => managed(p),
        Some(("local" | "project", p)) => format!("run `{apply} --settings {}`", path(p)),
        // Several homes or telemetry: one value for everyone is written to managed settings
        // (`apply` refuses to guess which home's file), as the team view says.
        _ if config.roots.len() != 1 || !config.team.otel.is_empty() => {
            let file = crate::settings::managed_settings_file();
            format!("for everyone, run `sudo {apply} --settings {}`", path(&file.to_string_lossy()))
        }
        _ => format!("run `{apply}`"),
    }
}

/// `ccdoctor apply` with the homes and the flags this check ran with, so that it writes what
/// the check found.
fn apply_command(config: &ScanConfig) -> String {
    let quote = arg;
    let mut cmd = String::from("ccdoctor apply");
    for r in &config.roots {
        cmd.push(' ');
        cmd.push_str(&quote(&r.path));
    }
    for o in &config.team.otel {
        cmd.push_str(&format!(" --otel {}", quote(o)));
    }
    for (k, v) in &config.team.otel_where {
        cmd.push_str(&format!(" --otel-where {}", quote(std::path::Path::new(&format!("{k}={v}")))));
    }
    if config.team.shared_quota {
        cmd.push_str(" --shared-quota");
    }
    if let Some((models, true)) = &config.models {
        cmd.push_str(&format!(" --models {}", quote(models)));
    }
    let rc = &config.recommend;
    let mut flag = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            cmd.push_str(&format!(" --{name} {v}"));
        }
    };
    flag("quota-tpm", rc.quota_tpm.map(|q| q.to_string()));
    flag("output-quota-tpm", rc.output_quota_tpm.map(|q| q.to_string()));
    flag("parallel", rc.parallel.map(|p| p.to_string()));
    flag("burndown", rc.burndown.map(|b| b.to_string()));
    flag("provider", rc.provider.map(|p| p.name().to_string()));
    flag("headroom", rc.headroom_given.then(|| rc.headroom.to_string()));
    flag("ran-at", rc.ran_at.map(|v| v.to_string()));
    // The days the check read (by default its last 7): apply reads the whole history else.
    flag("since", config.filters.since.map(crate::time::day_of));
    flag("until", config.filters.until.map(|u| crate::time::day_of(u - crate::time::MS_PER_DAY)));
    flag("model", config.filters.model.as_deref().map(|m| quote(std::path::Path::new(m))));
    flag("project", config.filters.project.as_deref().map(|p| quote(std::path::Path::new(p))));
    cmd
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The value in effect is the one the replay keeps.
    Ok,
    /// Too high for the quota, too low for the responses, or no value is safe.
    Unsafe,
    /// `--model` names no model of the window, or several: nothing was checked.
    Unmatched,
}

impl Status {
    /// The word a line of `check` starts with.
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unsafe => "unsafe",
            Status::Unmatched => "nothing checked",
        }
    }
}

/// What `check --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub status: Status,
    /// The UTC day the history read starts on (`null`: all of it).
    pub since: Option<String>,
    /// The last UTC day read (`--until`; `null`: up to now).
    pub until: Option<String>,
    pub model: Option<String>,
    /// The value in effect: the advised model's; with nothing to check, the value the
    /// settings set (`null` where none is).
    pub current: Option<u64>,
    pub recommended: Option<u64>,
    /// `keep`, `lower`, `raise` or `none`, as in `scan`'s recommendation.
    pub action: Option<Action>,
    /// Why, as in `scan`'s recommendation (`throttles`, `history_throttles`, …).
    pub basis: Option<Basis>,
    pub responses: u64,
    pub throttled_attempts: u64,
    pub failed_requests: u64,
    pub cut_responses: u64,
    /// The reading of the reservation the advice follows, and whether the window told it
    /// apart from the others (they are ruled out: after a change of the value, the periods
    /// at the two values say which held).
    pub reading: Option<HeldReading>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeldReading {
    pub cache_reads_reserved: bool,
    pub burndown_reservation: bool,
    pub quota_tpm: u64,
    pub told_apart: bool,
}

pub fn run(
    config: &ScanConfig,
    since_default: bool,
    hook: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    // A hook's stderr reaches the user: warnings about old transcript lines stay out of it.
    let mut sink = std::io::sink();
    let mut scanned = match super::scan::read(config, if hook { &mut sink } else { err })? {
        Ok(s) => s,
        // A hook never fails a session; what could not be read becomes the message the
        // session shows (in words of ccdoctor's own: the paths are the user's to look up).
        Err(code) if hook => {
            super::say(err, "error", "the history could not be read; run `ccdoctor check` to see why")?;
            return Ok(code);
        }
        Err(code) => return Ok(code),
    };
    let (settings, settings_warnings) = super::scan::resolve_settings(config, &scanned.data.people);
    if !hook {
        // A settings file that is not in effect (not JSON, over 2 MiB) changes the verdict.
        for w in &settings_warnings {
            super::say(err, "warning", &w.to_string())?;
        }
    }
    // What lies before the window, for a window with nothing in it: the newest response
    // read from before it, and the transcripts not read for being older.
    let before_window = config
        .filters
        .since
        .and_then(|since| scanned.data.responses.iter().filter_map(|r| r.origin.time()).filter(|&t| t < since).max());
    let older_files = scanned.data.read.older_than_since;
    let responses = std::mem::take(&mut scanned.data.responses);
    let (analysis, tally) = super::scan::analyze(&scanned.data, responses, config, &settings);
    // A `--model` that matches no model (or several) is said in the verdict itself.
    let report_model_match = analysis.selection.model_match.clone();
    // So is a `--project` that matches no project of the history (a typo is not "ok"; one
    // whose records all lie outside the window is an empty window).
    let project_unmatched = config
        .filters
        .project
        .as_ref()
        .filter(|_| {
            let s = &analysis.selection;
            s.scoped == 0 && s.events.is_empty() && s.projects_named.is_empty()
        })
        .map(|p| super::scan::unmatched_project(p, &analysis.selection));
    let report =
        crate::report::build(&scanned.data, &crate::report::Scope::of(config), &settings, analysis, tally, None);
    let since = config.filters.since.map(crate::time::day_of);
    // `--until` is exclusive inside (the start of the day after).
    let until = config.filters.until.map(|u| crate::time::day_of(u - 1));
    let window = match (&since, since_default, &until) {
        (Some(s), true, None) => format!("the last {DEFAULT_DAYS} days, since {s}"),
        (Some(s), true, Some(u)) => format!("the {DEFAULT_DAYS} days to {u}, since {s}"),
        (Some(s), false, None) => format!("since {s}"),
        (Some(s), false, Some(u)) if s == u => format!("on {s}"),
        (Some(s), false, Some(u)) => format!("since {s} to {u}"),
        (None, _, Some(u)) => format!("up to {u}"),
        (None, _, None) => "all of the history".to_string(),
    };
    let e = &report.errors;
    let mut outcome = CheckOutcome {
        status: Status::Ok,
        since,
        until,
        model: None,
        current: None,
        recommended: None,
        action: None,
        basis: None,
        responses: report.responses.count,
        throttled_attempts: e.throttled(),
        failed_requests: e.rate_limit.final_,
        cut_responses: report.cuts.responses,
        reading: None,
        message: String::new(),
    };
    // The advised model's own responses and throttled attempts (which the verdict is judged
    // by) beside the window's, where they differ: the value is that model's, the counts are
    // every model's.
    let of_model = |count: &dyn Fn(&crate::analysis::advice::Advice) -> Option<u64>, all: u64| {
        report
            .advice
            .as_ref()
            .and_then(|a| Some((count(a)?, &a.model)))
            .filter(|&(n, _)| n != all)
            .map(|(n, m)| format!(" ({} of {})", thousands(n), one_line(m, MAX_QUOTED)))
            .unwrap_or_default()
    };
    let responses_of_model =
        of_model(&|a| report.by_model.iter().find(|r| r.model == a.model).map(|r| r.summary.count), outcome.responses);
    let throttled_of_model =
        of_model(&|a| a.calibration.as_ref().map(|c| c.observed_throttled), outcome.throttled_attempts);
    // 429s whose text names no cause are kept out of the verdict: said, not hidden.
    let unclassified = match e.unclassified_429 {
        0 => String::new(),
        n => format!(", 429s of no stated cause: {} (not judged)", thousands(n)),
    };
    // Records left out for their time: a transcript's, and telemetry's events with no time it
    // reads (or no name). Their 429s or cuts are in no window, so the verdict says they are
    // missing (a hook's user sees no warning).
    let left_out =
        scanned.data.read.implausible_times + scanned.data.telemetry.as_ref().map_or(0, |t| t.read.unusable_events);
    let missing = match left_out {
        0 => String::new(),
        n => format!(
            "; {} left out for a time unread or no Claude Code event has, in no window",
            count_of(n, "record", "records")
        ),
    };
    // Requests whose limit is a guess (nothing dates a value set by hand): the verdict leans on
    // it, so it says so (the scan says how).
    let guessed = match report.advice.as_ref().and_then(|a| a.assumed) {
        Some(x) => format!(
            "; the limit of {} is a guess{}, see `ccdoctor scan`",
            count_of(x.units, "request", "requests"),
            x.value.map_or(String::new(), |v| format!(", {}", thousands(v)))
        ),
        None => String::new(),
    };
    // And requests whose limit is only known to be at least what they wrote (taken at the
    // least round value that allows it).
    let above = match report.advice.as_ref().and_then(|a| a.ran_above) {
        Some(r) => format!(
            "; the limit of {} is a guess, {} ({} wrote up to {} tokens), see `ccdoctor scan`",
            count_of(r.requests, "request", "requests"),
            thousands(r.taken_at),
            if r.requests == 1 { "it" } else { "they" },
            thousands(r.longest),
        ),
        None => String::new(),
    };
    let facts = format!(
        "{window}: {}{responses_of_model}, {}{throttled_of_model}{unclassified}, {}{missing}{guessed}{above}",
        count_of(outcome.responses, "response", "responses"),
        count_of(outcome.throttled_attempts, "throttled attempt", "throttled attempts"),
        count_of(outcome.cut_responses, "cut response", "cut responses"),
    );
    // A `--model` that names no model of the window, or several: a typo is not "ok".
    let unmatched = config
        .filters
        .model
        .as_ref()
        .zip(report_model_match.as_ref())
        .and_then(|(q, m)| crate::render::prose::model_unmatched(q, m))
        .or(project_unmatched);
    outcome.message = match (&report.advice, unmatched) {
        (None, Some(why)) => {
            outcome.status = Status::Unmatched;
            format!("{why} ({facts})")
        }
        // Nothing in the window, but records left out for their time (one that does not
        // parse, or no Claude Code event has): the window cannot be said to be empty.
        (None, None) if left_out > 0 => {
            outcome.status = Status::Unmatched;
            format!("nothing to judge by but records left out for their time (see the warnings) ({facts})")
        }
        (None, None) => {
            // An empty window over an older history says how to reach it.
            let older = match before_window {
                Some(t) => {
                    // A window of the default length, ending on that day.
                    let from = window_from(t);
                    let day = crate::time::day_of(t);
                    format!(
                        "; the newest response before it is from {day}: --since {from} takes in the {DEFAULT_DAYS} days to it"
                    )
                }
                None if older_files > 0 => format!(
                    "; {} older than the window not read: an earlier --since takes them in",
                    count_of(older_files, "transcript", "transcripts")
                ),
                None => String::new(),
            };
            // The value set is in effect whatever the window holds.
            outcome.current = settings.max_output_tokens.value;
            format!("nothing to check ({facts}){older}")
        }
        (Some(a), _) => {
            let c = &a.choice;
            outcome.model = Some(a.model.clone());
            outcome.current = Some(a.current);
            outcome.recommended = c.value;
            outcome.action = Some(c.action);
            outcome.basis = Some(c.basis);
            // The model's name is data when the table does not know the model (its id).
            let model = if a.model == crate::analysis::advice::UNKNOWN_MODEL {
                "no response names the model".to_string()
            } else {
                one_line(&a.model, MAX_QUOTED)
            };
            let value = match &a.escalation {
                Some(e) => format!(
                    "no max output set ({model}): Claude Code's capped default, {} escalated to {} when cut,",
                    e.capped, e.escalated
                ),
                // People's own values, or telemetry's not on record: no one setting.
                None if a.current_is_most_requests() => {
                    format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={} ({model}; the value most requests ran at)", a.current)
                }
                None => format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={} ({model})", a.current),
            };
            // Which reading held: after a change, periods at two values tell them apart.
            let mut facts = facts.clone();
            if let (Some(cal), Some(q)) = (&a.calibration, &a.quota) {
                let best = cal.best();
                // Every other reading ruled out, and a value chosen under this one (where every
                // reading is ruled out, the basis is `quota_unknown` and none is told apart: the
                // trial of 2026-12-07 read `true` beside "no model of the quota reproduces the
                // 429s").
                let told_apart = a.choice.basis != Basis::QuotaUnknown
                    && cal.readings.iter().all(|v| v.fit.reading == best.fit.reading || v.choice.is_none());
                outcome.reading = Some(HeldReading {
                    cache_reads_reserved: best.fit.reading.cache_reads_reserved,
                    burndown_reservation: best.fit.reading.burndown_reservation,
                    quota_tpm: q.tpm,
                    told_apart,
                });
                // Not where no reading is used (every one ruled out or far from the quota).
                if told_apart && cal.readings.len() > 1 && cal.observed_throttled > 0 {
                    facts.push_str(&format!(
                        "; the 429s fit {} with {}",
                        crate::render::readings::name(best.fit.reading, q.burndown, a.provider),
                        crate::render::readings::range(best)
                    ));
                }
                // `--quota-tpm` the 429s rule out: the value is judged at another quota.
                // (Where no value is judged at all, the verdict says why instead.)
                if let Some(given) =
                    crate::render::readings::unfit_quota_given(cal).filter(|_| a.choice.basis != Basis::QuotaUnknown)
                {
                    // Far below it, the quota is where the replay's count comes down to the
                    // history's (`fit::effective`), not the end of the range nearest it.
                    let which = if best.standing == crate::analysis::fit::Standing::Below {
                        "the quota they imply"
                    } else {
                        "the nearest quota they fit"
                    };
                    // With no 429, the history only bounds the quota from below: it ran without one
                    // at a load the quota given would have throttled.
                    let (given, at) = (thousands(given), thousands(q.tpm));
                    facts.push_str(&if cal.observed_throttled == 0 {
                        format!(
                            "; your history ran without a 429 at a load the {given} TPM you gave would have throttled: judged at {at} TPM, the least it needs"
                        )
                    } else {
                        format!("; your 429s do not fit the {given} TPM you gave: judged at {at} TPM, {which}")
                    });
                }
            }
            // What the recommended value costs in cut responses, said beside it.
            let cuts_at = |v: u64| {
                a.rows.iter().find(|r| r.value == v).map_or(String::new(), |r| {
                    // Those Claude Code gives up on (cut after its last continuation), as the
                    // replay table says beside the cuts.
                    let given_up = match r.gave_up {
                        0 => String::new(),
                        n => format!(", {} given up", thousands(n)),
                    };
                    format!(
                        ", cutting {} of the {} responses asked for{given_up}",
                        thousands(r.outcome.cut),
                        thousands(r.outcome.responses)
                    )
                })
            };
            // Where some requests were subagents' of a Claude Code that ignored the value, a
            // changed value reaches them only once Claude Code is updated (scan says the same).
            let subagents = match a.subagents_ignoring_the_value() {
                Some((ignored, of)) => format!(
                    "; {}, which ignores the value: update Claude Code too",
                    crate::render::prose::old_subagents(ignored, of, &model)
                ),
                None => String::new(),
            };
            // More of the responses cut at the value in effect than the percentile allows (the
            // report's conflict).
            let cuts_too_many = report.recommendation.as_ref().is_some_and(|r| r.conflict);
            match (c.action, c.value) {
                // Max output counts against a quota nobody knows, and the history did not run
                // at this value: kept, not shown safe.
                (Action::Keep, _) if a.quota_unknown && !a.proven_as_planned => {
                    let ran =
                        if a.proven { "at a lighter load than --parallel plans for" } else { "mostly at other values" };
                    format!(
                        "{value} is kept, not shown safe: no quota is known and your history ran {ran} ({facts}); pass your applied quota with --quota-tpm to judge it"
                    )
                }
                // It fits the quota (the history ran it without a 429) but cuts more responses
                // than the percentile allows, and no quota is known to judge a larger value by:
                // kept, not called safe.
                (Action::Keep, _) if a.quota_unknown && cuts_too_many => {
                    format!(
                        "{value} is kept, not shown safe for your responses: your history ran it without a 429 but with more responses cut than the p{} target allows ({facts}), and no quota is known to judge a larger value by; pass your applied quota with --quota-tpm to judge it",
                        crate::render::prose::fmt_q(config.recommend.percentile)
                    )
                }
                // Too few responses to judge cuts by: kept, not judged.
                (Action::Keep, _) if c.basis == Basis::SmallSample => {
                    format!("{value} is kept: too few responses to judge cuts by ({facts})")
                }
                // The API's 429s are not max output's doing.
                (Action::Keep, _) if a.provider == crate::settings::Provider::Anthropic && a.throttled_seen > 0 => {
                    format!(
                        "{value} is kept: on the Anthropic API max output does not count against the rate limits your 429s come from ({facts})"
                    )
                }
                // Safe as replayed, where every request runs at the value: subagents of a Claude
                // Code that ignores it run at the default until it is updated.
                (Action::Keep, _) => match a.subagents_ignoring_the_value() {
                    Some((ignored, of)) => format!(
                        "{value} is safe once Claude Code is updated ({facts}): {}, which ignores the value",
                        crate::render::prose::old_subagents(ignored, of, &model)
                    ),
                    None => format!("{value} is safe ({facts})"),
                },
                (Action::Lower, Some(v)) => {
                    outcome.status = Status::Unsafe;
                    // Planned for more requests at once than the history had, the verdict is
                    // of that load, not of the past.
                    let (at, worked) = match config.recommend.parallel {
                        Some(p) => (
                            format!(" at {} at once (--parallel)", count_of(p, "request", "requests")),
                            "would work at that load",
                        ),
                        None => (String::new(), "would have worked"),
                    };
                    format!(
                        "{value} is too high for the quota{at} ({facts}); {v} {worked}{}: {}{subagents}",
                        cuts_at(v),
                        how_to_change(a, config)
                    )
                }
                (Action::Raise, Some(v)) => {
                    outcome.status = Status::Unsafe;
                    let within = if a.quota.is_some() && a.provider != crate::settings::Provider::Anthropic {
                        ", within the quota"
                    } else {
                        ""
                    };
                    // Where the replay cannot tell whether the value advised cuts some (their size
                    // lies beyond what the history shows), it is not said not to (`scan` shows
                    // "+ N unknown": a trial read "would not" beside it).
                    let unknown = a.rows.iter().find(|r| r.value == v).map_or(0, |r| r.outcome.beyond);
                    let would_not = if unknown > 0 {
                        format!(
                            "may not ({} of them wanted more than the history shows, by how much it cannot tell)",
                            thousands(unknown)
                        )
                    } else {
                        "would not".to_string()
                    };
                    format!(
                        "{value} would cut responses that {v} {would_not}{within} ({facts}): {}{subagents}",
                        how_to_change(a, config)
                    )
                }
                _ if c.basis == Basis::ResponsesFail && a.quota_unknown => {
                    outcome.status = Status::Unsafe;
                    format!(
                        "{value} makes Claude Code give up on long responses, and no quota is known to judge a larger value by ({facts}): pass your applied quota with --quota-tpm"
                    )
                }
                _ if c.basis == Basis::ResponsesFail => {
                    outcome.status = Status::Unsafe;
                    format!(
                        "{value}: no max output value both fits the quota and lets your long responses finish ({facts}); see `ccdoctor scan`"
                    )
                }
                // The replay does not reproduce the history's throttling: no value is shown to
                // avoid it.
                _ if c.basis == Basis::HistoryThrottles => {
                    outcome.status = Status::Unsafe;
                    let ran = a.at_ran.value;
                    let at =
                        if ran == a.current { "at it".to_string() } else { format!("at {ran}, where most of it ran,") };
                    format!(
                        "{value}: your history was throttled {at} more than a safe value may be ({facts}), which its replay does not reproduce: no max output value is shown to avoid that; see `ccdoctor scan`"
                    )
                }
                _ if c.basis == Basis::QuotaUnknown && a.calibration.as_ref().is_some_and(|cal| cal.unreproduced()) => {
                    outcome.status = Status::Unsafe;
                    format!(
                        "{value} is throttled, and no model of the quota reproduces the 429s from your own load ({facts}): others' load on the quota is one cause; see `ccdoctor scan`"
                    )
                }
                _ if c.basis == Basis::QuotaUnknown => {
                    outcome.status = Status::Unsafe;
                    match a.calibration.as_ref().and_then(crate::render::readings::unfit_quota_given) {
                        // The quota given is what the 429s do not fit: asking for it again is a circle.
                        Some(given) => format!(
                            "{value} is throttled, and your 429s do not fit the {} TPM you gave ({facts}): check it, and whether others draw on the same quota; see `ccdoctor scan`",
                            thousands(given)
                        ),
                        None => format!("{value} is throttled and the quota is not known ({facts}): pass --quota-tpm"),
                    }
                }
                _ => {
                    outcome.status = Status::Unsafe;
                    format!("{value}: no max output value is safe for this load ({facts}); see `ccdoctor scan`")
                }
            }
        }
    };
    let code = match outcome.status {
        Status::Ok => ExitCode::Success,
        Status::Unsafe => ExitCode::Unsafe,
        Status::Unmatched => ExitCode::Usage,
    };
    if hook {
        // Claude Code shows `systemMessage` to the user when the session starts; a safe value
        // says nothing, so sessions are not cluttered.
        if outcome.status != Status::Ok {
            writeln!(out, "{}", hook_output(&format!("ccdoctor: {}", outcome.message)))?;
        }
        return Ok(ExitCode::Success);
    }
    match config.format {
        OutputFormat::Json => writeln!(out, "{}", crate::text::json_escape_unsafe(&serde_json::to_string(&outcome)?))?,
        OutputFormat::Markdown => writeln!(
            out,
            "{}: {}",
            outcome.status.word(),
            // Its commands as code spans, as the scan's Markdown shows them.
            crate::render::markdown::md_with_code(&escape_control(&outcome.message))
        )?,
        _ => writeln!(out, "{}: {}", outcome.status.word(), escape_control(&outcome.message))?,
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The adversarial review of 2026-12-05: a path cut at 80 characters left the hook's
    /// command with an unclosed quote. A path is whole, quoted, or a placeholder; one with a
    /// character the terminal cannot show as it is, in ANSI-C quotes (2026-12-07).
    #[test]
    fn a_command_argument_is_whole_or_a_placeholder() {
        let long = format!("/home/u/{}/.claude/settings.local.json", "project-".repeat(7));
        assert_eq!(arg(std::path::Path::new(&long)), long);
        assert_eq!(arg(std::path::Path::new("/tmp/my dir/s.json")), "'/tmp/my dir/s.json'");
        assert_eq!(arg(std::path::Path::new("/tmp/a\nb")), "$'/tmp/a\\x0ab'");
        assert_eq!(arg(std::path::Path::new("/tmp/a\u{202e}b")), "$'/tmp/a\\xe2\\x80\\xaeb'");
        let odd = format!("/{}", "x".repeat(MAX_ARG));
        assert_eq!(arg(std::path::Path::new(&odd)), "<path too long or odd to show>", "{odd:?}");
    }
}
