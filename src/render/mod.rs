//! Renderers: the report as a table for people, JSON for scripts, Markdown for issues.
//! Each takes the finished `Report` and writes it; none computes anything of its own. The
//! table and Markdown walk the same sections (`sections::document`); JSON serializes the
//! `Report` itself.

pub mod json;
pub mod markdown;
pub mod prose;
pub mod readings;
pub mod sections;
pub mod table;
pub mod write;

use crate::report::{ErrorCounts, Report};
use crate::text::{bytes, count_of, thousands};

/// The label of a histogram bin.
pub fn bin_label(from: u64, to: Option<u64>) -> String {
    match to {
        Some(to) => format!("{}–{}", thousands(from), thousands(to)),
        None => format!("{}+", thousands(from)),
    }
}

/// The rows of the error summary: label, count, and a note. Shared by table and Markdown.
pub fn error_rows(e: &ErrorCounts) -> Vec<(String, u64, &'static str)> {
    let mut rows = vec![
        ("Throttled (429), failed for good".to_string(), e.rate_limit.final_, "lower max output or parallelism"),
        ("Throttled (429), retried".to_string(), e.rate_limit.retries, "each failed attempt"),
        ("429, unclassified".to_string(), e.unclassified_429, "says neither throttling nor a limit; not in the fit"),
        ("Per-day tokens quota (429)".to_string(), e.rate_limit.per_day_quota, "max output does not help"),
        ("Server limiting requests (429)".to_string(), e.server_limiting, "server side, not your quota"),
        ("Plan usage limit".to_string(), e.usage_limit, "not throttling; wait for the reset"),
        ("Spend cap or no credit".to_string(), e.spend_cap, "not throttling"),
    ];
    if e.output_token_maximum.limits.is_empty() {
        rows.push(("Exceeded the output token max".to_string(), 0, "response cut"));
    }
    for (limit, n) in &e.output_token_maximum.limits {
        rows.push((format!("Exceeded {}-token output max", thousands(*limit)), *n, "response cut"));
    }
    rows.push(("Stopped at max_tokens".to_string(), e.max_tokens_stops, "response cut"));
    rows.push(("Recovery prompts (continued)".to_string(), e.recovery_prompts, "response cut"));
    rows.push(("Over the model's max output (400)".to_string(), e.over_cap, "setting vs thinking budget"));
    rows.push(("Context window full".to_string(), e.context_window, "not a cut"));
    rows.push(("Overloaded (529)".to_string(), e.overloaded, "server side"));
    rows.push(("Other API errors".to_string(), e.other, ""));
    rows
}

/// Sources as short labels (`user`, `project`, `local`, `managed`), the files they name
/// listed once below the table instead of in every cell.
#[derive(Debug, Default)]
pub struct Legend {
    files: Vec<String>,
    /// Each file's label, in the order first met: a scope's second file (a team's second
    /// home) is `user 2`, so that no label stands for two files.
    labels: Vec<(String, String)>,
    /// A team's people by their homes: a user settings file in a person's home is labelled
    /// as the team view names the person (`person 1`), so the two agree.
    people: Vec<(std::path::PathBuf, String)>,
}

impl Legend {
    /// A legend that labels the user settings in each person's home by the person.
    pub fn of(report: &crate::report::Report) -> Self {
        let people = report
            .team
            .iter()
            .flat_map(|t| &t.by_person)
            .filter_map(|p| Some((p.home.clone()?, p.person.clone())))
            .collect();
        Legend { people, ..Legend::default() }
    }

    /// The label for a source such as `user: /home/u/.claude/settings.json (model)`:
    /// `user (model)`, with the file kept for the legend. Other sources stay as they are.
    pub fn label(&mut self, source: &str) -> String {
        let Some((scope, rest)) = source.split_once(": ") else { return source.to_string() };
        if !matches!(scope, "user" | "project" | "local" | "managed") {
            return source.to_string();
        }
        let (file, key) = match rest.rsplit_once(" (") {
            Some((f, k)) if k.ends_with(')') => (f, Some(k.trim_end_matches(')'))),
            _ => (rest, None),
        };
        let entry = format!("{scope}: {file}");
        let person = (scope == "user")
            .then(|| self.people.iter().find(|(home, _)| std::path::Path::new(file).starts_with(home)))
            .flatten()
            .map(|(_, who)| who.clone());
        let label = match self.labels.iter().find(|(e, _)| *e == entry) {
            Some((_, l)) => l.clone(),
            None if person.is_some() => {
                let label = person.unwrap_or_default();
                self.files.push(format!("{label}: {file}"));
                self.labels.push((entry, label.clone()));
                label
            }
            None => {
                let before = self.labels.iter().filter(|(e, _)| e.starts_with(&format!("{scope}: "))).count();
                let label = if before == 0 { scope.to_string() } else { format!("{scope} {}", before + 1) };
                self.files.push(if before == 0 { entry.clone() } else { format!("{label}: {file}") });
                self.labels.push((entry, label.clone()));
                label
            }
        };
        match key {
            Some(k) => format!("{label} ({k})"),
            None => label,
        }
    }

    /// The files the labels stand for, one line each (none when no label named a file).
    pub fn lines(&self) -> &[String] {
        &self.files
    }
}

/// The data-quality line.
pub fn quality_line(r: &Report) -> String {
    let s = &r.scan;
    let telemetry = r.telemetry.as_ref().map(telemetry_sentence).unwrap_or_default();
    // Telemetry alone: nothing about transcripts to say.
    if s.read.files == 0 && !telemetry.is_empty() {
        let mut line = match r.responses.implausible + r.responses.implausible_input {
            0 => telemetry,
            n => format!("{telemetry} {} of them left out as corrupt counts.", thousands(n)),
        };
        line.push_str(&implausible_limits(r));
        return line;
    }
    let mut line = format!(
        "Read {} ({}, {}), {}, {} lines, {} malformed; {} of {} responses estimated from content (placeholder usage).",
        count_of(s.read.files, "file", "files"),
        count_of(s.read.transcript_files, "transcript", "transcripts"),
        count_of(s.read.debug_logs, "debug log", "debug logs"),
        bytes(s.read.bytes),
        thousands(s.read.lines),
        thousands(s.read.malformed_lines),
        thousands(r.responses.estimated),
        thousands(r.responses.count),
    );
    if r.responses.implausible > 0 {
        line.push_str(&format!(
            " {} left out: more output tokens than any model allows (over {}), a corrupt count.",
            count_of(r.responses.implausible, "response", "responses"),
            thousands(r.responses.plausible_up_to)
        ));
    }
    if r.responses.implausible_input > 0 {
        line.push_str(&format!(
            " {} left out: more input tokens than any context window holds (over {}), a corrupt count.",
            count_of(r.responses.implausible_input, "response", "responses"),
            thousands(r.responses.plausible_input_up_to)
        ));
    }
    line.push_str(&implausible_limits(r));
    if s.read.implausible_times > 0 {
        line.push_str(&format!(
            " {} left out: a time no Claude Code event has (before 2020 or from 2100 on).",
            count_of(s.read.implausible_times, "record", "records")
        ));
    }
    let skipped = s.read.unreadable + s.read.not_regular;
    if skipped > 0 {
        line.push_str(&format!(" {} unreadable or not regular (see warnings).", thousands(skipped)));
    }
    let h = &s.history;
    if let (Some(first), Some(last)) = (&h.first_day, &h.last_day) {
        let span = if first == last { first.to_string() } else { format!("{first} to {last}") };
        line.push_str(&format!(
            " The history covers {} ({span}); Claude Code keeps {} of transcripts{}.",
            count_of(h.days, "day", "days"),
            count_of(h.kept_days, "day", "days"),
            if h.kept_days_source == "default" {
                " by default (cleanupPeriodDays)".to_string()
            } else {
                " (cleanupPeriodDays)".to_string()
            }
        ));
    }
    if s.read.older_than_since > 0 {
        line.push_str(&format!(" {} files older than --since not read.", thousands(s.read.older_than_since)));
    }
    if !telemetry.is_empty() {
        line.push(' ');
        line.push_str(&telemetry);
    }
    line
}

/// Records of a limit no model allows, left out: a sentence, or nothing.
fn implausible_limits(r: &Report) -> String {
    match r.scan.implausible_limits {
        0 => String::new(),
        n => format!(
            " {} of a max output limit no model allows (0, or over {}) left out.",
            count_of(n, "record", "records"),
            thousands(r.scan.plausible_limits_up_to)
        ),
    }
}

/// What the telemetry files gave, in one sentence or two.
fn telemetry_sentence(t: &crate::otel::Summary) -> String {
    let read = &t.read;
    let mut s = format!(
        "Telemetry: read {} ({}), {} ({}, {}; {} skipped), {} malformed.",
        count_of(read.files, "file", "files"),
        bytes(read.bytes),
        count_of(read.events, "event", "events"),
        count_of(read.requests, "request", "requests"),
        count_of(read.errors, "error", "errors"),
        count_of(read.other_events, "other", "others"),
        count_of(read.bad_lines, "line", "lines"),
    );
    let in_transcripts = t.dedup.requests_in_transcripts + t.dedup.errors_in_transcripts;
    let once: Vec<String> = [(t.dedup.repeated, "repeated in the telemetry"), (in_transcripts, "also in transcripts")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{} {what}", thousands(*n)))
        .collect();
    if !once.is_empty() {
        s.push_str(&format!(" Counted once: {}.", once.join(", ")));
    }
    // What was left out, each only when there is some.
    let left_out: [(u64, &str, &str, &str); 5] = [
        (read.filtered_out, "event", "events", "left out by --otel-where"),
        (read.unusable_events, "event", "events", "without a name, a time or a whole count left out (see warnings)"),
        (read.unreadable_files, "file", "files", "could not be opened"),
        (read.cut_short_files, "file", "files", "read up to an error (see warnings)"),
        (read.long_lines, "line", "lines", "over 64 MiB skipped"),
    ];
    for (n, one, many, what) in left_out.into_iter().filter(|l| l.0 > 0) {
        s.push_str(&format!(" {} {what}.", count_of(n, one, many)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23, item 5: two homes' files of one scope (a team's) get two labels, each
    /// listed with its file, so that a label never stands for two files.
    #[test]
    fn a_scopes_second_file_gets_its_own_label() {
        let mut l = Legend::default();
        assert_eq!(l.label("user: /a/settings.json"), "user");
        assert_eq!(l.label("user: /b/settings.json (model)"), "user 2 (model)");
        assert_eq!(l.label("user: /a/settings.json (model)"), "user (model)");
        assert_eq!(l.label("managed: /etc/claude-code/managed-settings.json"), "managed");
        assert_eq!(l.label("people: each person's own"), "people: each person's own");
        assert_eq!(
            l.lines(),
            ["user: /a/settings.json", "user 2: /b/settings.json", "managed: /etc/claude-code/managed-settings.json"]
        );
    }
}
