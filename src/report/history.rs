//! What was read: the roots, the filters, the files and lines, and the days the history
//! covers.

use serde::Serialize;

use crate::config::{Filters, Root, RootKind};

use crate::scan::data::ReadStats;
use crate::settings::EffectiveSettings;
use crate::time::day_of;

#[derive(Debug, Clone, Serialize)]
pub struct ScanSection {
    pub roots: Vec<RootOut>,
    /// files, transcript_files, debug_logs, bytes, lines, malformed_lines, unreadable,
    /// not_regular, older_than_since.
    #[serde(flatten)]
    pub read: ReadStats,
    pub filters: FiltersOut,
    /// The days the history covers (after the filters).
    pub history: HistoryOut,
    /// Records of a max output limit no model allows (a `Capped from X to Y` line whose Y,
    /// or an "exceeded the N output token maximum" error whose N, is 0 or above
    /// `plausible_limits_up_to`): left out of every figure.
    pub implausible_limits: u64,
    pub plausible_limits_up_to: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryOut {
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    /// Calendar days from the first to the last, both counted.
    pub days: u64,
    /// How many days of transcripts Claude Code keeps (`cleanupPeriodDays`, default 30).
    pub kept_days: u64,
    pub kept_days_source: String,
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

pub use crate::settings::DEFAULT_KEPT_DAYS;

/// The days the history covers: the responses' first and last times (`responses`) and the
/// events'.
pub(super) fn history(
    responses: (Option<i64>, Option<i64>),
    events: &[&crate::scan::data::Event],
    settings: &EffectiveSettings,
) -> HistoryOut {
    let times = responses.0.into_iter().chain(responses.1).chain(events.iter().filter_map(|e| e.origin.time()));
    let (lo, hi) = times.fold((None::<i64>, None::<i64>), |(lo, hi), t| {
        (Some(lo.map_or(t, |l| l.min(t))), Some(hi.map_or(t, |h| h.max(t))))
    });
    let day = |t: i64| t.div_euclid(crate::time::MS_PER_DAY);
    HistoryOut {
        first_day: lo.map(day_of),
        last_day: hi.map(day_of),
        days: lo.zip(hi).map_or(0, |(l, h)| (day(h) - day(l) + 1) as u64),
        kept_days: settings.cleanup_period_days.value.unwrap_or(DEFAULT_KEPT_DAYS),
        kept_days_source: settings.cleanup_period_days.source.clone().unwrap_or_else(|| "default".into()),
    }
}

pub(super) fn scan_section(read: &ReadStats, roots: &[Root], filters: &Filters) -> ScanSection {
    ScanSection {
        roots: roots
            .iter()
            .map(|r| RootOut {
                path: r.path.to_string_lossy().into_owned(),
                kind: match r.kind {
                    RootKind::Home => "config_home",
                    RootKind::Projects => "projects",
                    RootKind::File => "file",
                    RootKind::DebugLog => "debug_log",
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
        history: HistoryOut {
            first_day: None,
            last_day: None,
            days: 0,
            kept_days: DEFAULT_KEPT_DAYS,
            kept_days_source: "default".into(),
        },
        implausible_limits: 0,
        plausible_limits_up_to: crate::models::MAX_OUTPUT_LIMIT,
    }
}
