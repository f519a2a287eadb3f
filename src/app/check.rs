//! `check`: one line (or one JSON object) saying whether the max output in effect is safe
//! for the recorded load, with the exit status scripts and hooks act on.

use std::io::Write;

use serde::Serialize;

use crate::analysis::choose::Action;
use crate::config::{OutputFormat, ScanConfig};
use crate::exit_codes::ExitCode;
use crate::text::{count_of, escape_control};

/// The history `check` reads when `--since` is not given: the recent load is what the value
/// in effect meets next, and a week of files is read in well under a second.
pub const DEFAULT_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The value in effect is the one the replay keeps.
    Ok,
    /// Too high for the quota, too low for the responses, or no value is safe.
    Unsafe,
}

/// What `check --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub status: Status,
    /// The UTC day the history read starts on (`null`: all of it).
    pub since: Option<String>,
    pub model: Option<String>,
    pub current: Option<u64>,
    pub recommended: Option<u64>,
    /// `keep`, `lower`, `raise` or `none`, as in `scan`'s recommendation.
    pub action: Option<Action>,
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
    let scanned = match super::scan::read(config, if hook { &mut sink } else { err })? {
        Ok(s) => s,
        // A hook never fails a session: nothing to say, exit 0.
        Err(_) if hook => return Ok(ExitCode::Success),
        Err(code) => return Ok(code),
    };
    let (settings, _) = crate::settings::resolve(&config.settings);
    let analysis = crate::analysis::analyze(&scanned.data, &config.filters, &config.recommend, &settings);
    let report = crate::report::build(&scanned.data, &config.report_scope(), &settings, analysis, None);
    let since = config.filters.since.map(crate::time::day_of);
    let window = match (&since, since_default) {
        (Some(s), true) => format!("the last {DEFAULT_DAYS} days, since {s}"),
        (Some(s), false) => format!("since {s}"),
        (None, _) => "all of the history".to_string(),
    };
    let e = &report.errors;
    let mut outcome = CheckOutcome {
        status: Status::Ok,
        since,
        model: None,
        current: None,
        recommended: None,
        action: None,
        responses: report.responses.count,
        throttled_attempts: e.throttled(),
        failed_requests: e.rate_limit.final_,
        cut_responses: report.cuts.responses,
        reading: None,
        message: String::new(),
    };
    let facts = format!(
        "{window}: {}, {}, {}",
        count_of(outcome.responses, "response", "responses"),
        count_of(outcome.throttled_attempts, "throttled attempt", "throttled attempts"),
        count_of(outcome.cut_responses, "cut response", "cut responses"),
    );
    outcome.message = match &report.advice {
        None => format!("nothing to check ({facts})"),
        Some(a) => {
            let c = &a.choice;
            outcome.model = Some(a.model.clone());
            outcome.current = Some(a.current);
            outcome.recommended = c.value;
            outcome.action = Some(c.action);
            let value = format!("CLAUDE_CODE_MAX_OUTPUT_TOKENS={} ({})", a.current, a.model);
            // Which reading held: after a change, periods at two values tell them apart.
            let mut facts = facts.clone();
            if let (Some(cal), Some(q)) = (&a.calibration, &a.quota) {
                let best = cal.best();
                let told_apart = cal.readings.iter().all(|v| v.fit.reading == best.fit.reading || v.choice.is_none());
                outcome.reading = Some(HeldReading {
                    cache_reads_reserved: best.fit.reading.cache_reads_reserved,
                    burndown_reservation: best.fit.reading.burndown_reservation,
                    quota_tpm: q.tpm,
                    told_apart,
                });
                if told_apart && cal.readings.len() > 1 && cal.observed_throttled > 0 {
                    facts.push_str(&format!(
                        "; the 429s fit {} with {}",
                        crate::render::readings::name(best.fit.reading, q.burndown, a.provider),
                        crate::render::readings::range(best)
                    ));
                }
            }
            // What the recommended value costs in cut responses, said beside it.
            let cuts_at = |v: u64| {
                a.rows.iter().find(|r| r.value == v).map_or(String::new(), |r| {
                    format!(", cutting {} of {} responses", r.outcome.cut, r.outcome.responses)
                })
            };
            match (c.action, c.value) {
                (Action::Keep, _) => format!("{value} is safe ({facts})"),
                (Action::Lower, Some(v)) => {
                    outcome.status = Status::Unsafe;
                    format!(
                        "{value} is too high for the quota ({facts}); {v} would have worked{}: run `ccdoctor apply`",
                        cuts_at(v)
                    )
                }
                (Action::Raise, Some(v)) => {
                    outcome.status = Status::Unsafe;
                    let within = if a.quota.is_some() && a.provider != crate::settings::Provider::Anthropic {
                        ", within the quota"
                    } else {
                        ""
                    };
                    format!("{value} cuts responses that {v} would not{within} ({facts}): run `ccdoctor apply`")
                }
                _ if c.basis == crate::analysis::choose::Basis::QuotaUnknown => {
                    outcome.status = Status::Unsafe;
                    format!("{value} is throttled and the quota is not known ({facts}): pass --quota-tpm")
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
    };
    if hook {
        // Claude Code shows `systemMessage` to the user when the session starts; a safe value
        // says nothing, so sessions are not cluttered.
        if outcome.status == Status::Unsafe {
            let msg = serde_json::json!({ "systemMessage": format!("ccdoctor: {}", outcome.message) });
            // Claude Code shows it to the user: no invisible or bidirectional character raw.
            writeln!(out, "{}", crate::text::json_escape_unsafe(&msg.to_string()))?;
        }
        return Ok(ExitCode::Success);
    }
    match config.format {
        OutputFormat::Json => writeln!(out, "{}", crate::text::json_escape_unsafe(&serde_json::to_string(&outcome)?))?,
        OutputFormat::Markdown => writeln!(
            out,
            "{}: {}",
            if outcome.status == Status::Ok { "ok" } else { "unsafe" },
            crate::text::markdown_text(&escape_control(&outcome.message))
        )?,
        _ => writeln!(
            out,
            "{}: {}",
            if outcome.status == Status::Ok { "ok" } else { "unsafe" },
            escape_control(&outcome.message)
        )?,
    }
    Ok(code)
}
