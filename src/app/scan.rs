//! `scan`: read the history, build the report, apply `--write` / `--dry-run`, render.

use std::io::Write;

use super::{print_report, say, stamp, write_failed};
use crate::config::{OutputFormat, ScanConfig, WriteConfig, WriteMode};
use crate::exit_codes::ExitCode;
use crate::settings::write::{Action, WriteError, WriteOutcome};
use crate::text::{count_of, thousands};
use crate::{progress, render, report, scan, settings};

/// Applies `--write` / `--dry-run` with the recommended value, if there is one. A write with
/// `--ran-at N` leaves a note of N beside its backup, which the next runs read
/// ([`settings::backup::RAN_AT`]); where it cannot, the outcome says to give the flag again.
fn write_step(config: &ScanConfig, w: &WriteConfig, value: Option<u64>) -> Result<WriteOutcome, WriteError> {
    let value = value.ok_or(WriteError::NoValue)?;
    let dry_run = w.mode == WriteMode::DryRun;
    let mut outcome =
        settings::write::set_max_output(&w.target, value, dry_run, w.force, &stamp, &config.settings, &mut |_| {})?;
    if let Some(v) = config.recommend.ran_at {
        // Only a settings file the runs read keeps it for them (`--settings` may name another).
        let read = config.settings.files().iter().any(|(_, p)| same_file(p, &w.target));
        outcome.notes.push(match outcome.action {
            Action::Written | Action::Created if !read => format!(
                "--ran-at {v} is not kept: the scan reads no settings file at {}; give it to the next `scan`, `check` and `apply` too",
                w.target.display()
            ),
            Action::Written | Action::Created => match kept_ran_at(&w.target, v, outcome.action) {
                Ok(()) => format!(
                    "--ran-at {v} is kept beside the backup: the next `scan`, `check` and `apply` read it for the sessions before this write (`revert` removes it)"
                ),
                Err(e) => format!(
                    "--ran-at {v} could not be kept ({}): give it to the next `scan`, `check` and `apply` too",
                    e.reason()
                ),
            },
            _ => format!("--ran-at {v} is kept only by a write: give it to the next `scan`, `check` and `apply` too"),
        });
    }
    Ok(outcome)
}

/// Whether two paths name one file (or both name none, alike).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Leaves the note of `--ran-at` beside the settings file just written, with its owner and
/// mode, named as the backup of the write (or the note of its creation) is: `revert` removes
/// it with the write.
fn kept_ran_at(target: &std::path::Path, value: u64, action: Action) -> Result<(), settings::atomic::FileError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(target).map_err(|e| settings::atomic::FileError::io(target, e))?;
    let like = settings::atomic::Snapshot {
        bytes: None,
        mode: meta.mode() & 0o7777,
        owner: Some((meta.uid(), meta.gid())),
        version: None,
        links: 0,
        // A number, no secret: the target's mode alone.
        xattrs: Default::default(),
    };
    let saved = match action {
        Action::Created => settings::backup::created(target).pop().map(|(_, p)| p),
        _ => settings::backup::newest(target),
    };
    let when = saved.as_deref().and_then(settings::backup::stamp_of).unwrap_or_else(stamp);
    settings::backup::note_ran_at(target, value, &like, &when).map(|_| ())
}

pub fn run(config: &ScanConfig, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut scanned = match read(config, err)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let (settings, settings_warnings) = resolve_settings(config, &scanned.data.people);
    for w in &settings_warnings {
        say(err, "warning", &w.to_string())?;
    }
    if !config.team.otel_where.is_empty() && config.team.otel.is_empty() {
        say(err, "warning", "--otel-where selects telemetry events, and no --otel was given: ignored")?;
    }
    if config.settings.show_env {
        say(
            err,
            "warning",
            "--show-env: the report shows every settings env value unredacted, secrets included; do not share it",
        )?;
    }
    // What the reader threads freed is not needed again: the analysis starts from what it kept.
    crate::memory::give_back();
    let responses = std::mem::take(&mut scanned.data.responses);
    let (analysis, tally) = analyze(&scanned.data, responses, config, &settings);
    if let Some(p) = &config.filters.project
        && analysis.selection.scoped == 0
        && analysis.selection.events.is_empty()
    {
        say(err, "warning", &unmatched_project(p, &analysis.selection))?;
    }
    super::warn_unmatched_model(config, &analysis, err)?;
    if let (Some(_), Some(a)) = (config.recommend.quota_tpm, &analysis.advice)
        && a.provider == crate::settings::Provider::Anthropic
    {
        say(
            err,
            "warning",
            &format!(
                "--quota-tpm is not used on the Anthropic API: max output does not count against its rate limits{}",
                // Named by no setting or flag: the model ids said so, and a team's telemetry
                // with first-party ids may still be Bedrock's.
                if matches!(
                    a.provider_origin,
                    crate::analysis::advice::Origin::Inferred | crate::analysis::advice::Origin::Default
                ) {
                    " (no setting names a provider and the model ids are the API's: pass --provider bedrock if these requests went to Bedrock)"
                } else {
                    ""
                }
            ),
        )?;
    }
    // A provider named against what the history shows: the advice follows the name, and says
    // so (on the Anthropic API max output does not count, and a raise there may throttle on
    // Bedrock).
    if let Some(a) = &analysis.advice
        && let Some((named, by)) = a.provider_doubt
    {
        use crate::analysis::advice::{Origin, ProviderEvidence};
        let given = match &a.provider_origin {
            Origin::Settings(src) => format!("the settings name {} ({src})", provider_words(a.provider)),
            _ => format!("--provider {}", a.provider.name()),
        };
        let evidence = match by {
            ProviderEvidence::ModelIds => format!("the model ids are spelled as {}'s", provider_words(named)),
            ProviderEvidence::Words => format!("the throttling 429s are in {}'s words", provider_words(named)),
        };
        say(
            err,
            "warning",
            &format!(
                "{given}, but {evidence}: the advice is for {}; if these requests went to {}, pass --provider {}",
                provider_words(a.provider),
                provider_words(named),
                named.name()
            ),
        )?;
    }
    // Advice from an old history is advice for the Claude Code, models and quota of then.
    if let Some(t) = analysis.selection.newest
        && analysis.advice.is_some()
    {
        let days = (crate::time::now() - t).div_euclid(crate::time::MS_PER_DAY);
        // A day's margin for clocks and time zones.
        if days < -1 {
            say(
                err,
                "note",
                &format!(
                    "the newest record is from {}, {} from now: the clock that wrote it was off, or the files were edited; the advice reads the records as they are",
                    crate::time::day_of(t),
                    crate::text::count_of((-days - 1) as u64, "day", "days")
                ),
            )?;
        }
        if days > OLD_HISTORY_DAYS {
            say(
                err,
                "note",
                &format!(
                    "the newest record is from {}, {days} days ago: the advice is for the Claude Code, models and quota of then",
                    crate::time::day_of(t)
                ),
            )?;
        }
    }
    // Other projects' load may draw on the same quota in the same hours: the replay of one
    // project alone does not see it (a new user's trial advised 25,000 for one project of a
    // home whose whole history advised 7,000).
    let others = analysis.selection.other_projects;
    if let (Some(p), Some(_)) = (config.filters.project.as_deref(), &analysis.advice)
        && others != Default::default()
    {
        // Responses of the models advised; throttled attempts name no model.
        let what = match (others.responses, others.throttled_attempts) {
            (r, 0) => crate::text::count_of(r, "response", "responses"),
            (0, t) => crate::text::count_of(t, "throttled attempt", "throttled attempts"),
            (r, t) => format!(
                "{} and {}",
                crate::text::count_of(r, "response", "responses"),
                crate::text::count_of(t, "throttled attempt", "throttled attempts")
            ),
        };
        say(
            err,
            "note",
            &format!(
                "--project {p} leaves out {what} of other projects: where they ran on the same quota, the replay does not see their load (without --project it does)"
            ),
        )?;
    }
    if let (Some(_), Some(a)) = (config.recommend.output_quota_tpm, &analysis.advice)
        && a.provider != crate::settings::Provider::BedrockMantle
    {
        say(
            err,
            "warning",
            &format!(
                "--output-quota-tpm applies to Bedrock's Mantle endpoint; this history is on {}: ignored",
                a.provider.name()
            ),
        )?;
    }
    // The write comes before the report, which tells what it did (an error is told after).
    let value = analysis.advice.as_ref().and_then(|a| a.choice.value);
    // A "keep" of a value no settings file sets changes nothing: writing it would pin a
    // default (perhaps an unverified one) into the file, which is not what the advice says.
    // A team's value is another matter: pinning it in managed settings, for everyone, is the
    // point (the team view says so), whatever the default.
    let keep = analysis.advice.as_ref().filter(|a| {
        a.choice.action == crate::analysis::choose::Action::Keep
            && !matches!(a.current_origin, crate::analysis::advice::Origin::Settings(_))
            && analysis.team.is_none()
    });
    if let (Some(a), Some(w)) = (keep, &config.write) {
        let current = crate::text::thousands(a.current);
        let keep = match &a.escalation {
            Some(e) => format!(
                "Claude Code's capped default and its escalation ({}, {} when a response is cut there)",
                crate::text::thousands(e.capped),
                crate::text::thousands(e.escalated)
            ),
            None => format!("Claude Code's default ({current})"),
        };
        say(err, "note", &format!("the advice is to keep {keep}: nothing written"))?;
        // The file named may hold a value this history did not run at (one Claude Code does
        // not read here, such as managed settings written from another machine).
        let preview = WriteConfig { mode: WriteMode::DryRun, ..w.clone() };
        if let Ok(o) = write_step(config, &preview, Some(a.current))
            && let Some(held) = held_value(&o).filter(|&v| v != a.current)
        {
            say(
                err,
                "note",
                &format!("{} holds {}{}; it is left as it is", o.path, thousands(held), in_effect(a, &settings)),
            )?;
        }
    }
    let (write, failed) = match config.write.as_ref().filter(|_| keep.is_none()).map(|w| write_step(config, w, value)) {
        Some(Ok(mut outcome)) => {
            if let Some(a) = &analysis.advice
                && let Some(held) = held_value(&outcome).filter(|&v| v != a.current)
            {
                outcome.notes.push(format!(
                    "This file held {}{}: the advice compares with that",
                    thousands(held),
                    in_effect(a, &settings)
                ));
            }
            if let Some(p) = &config.filters.project {
                outcome.notes.push(project_note(p, &outcome, &analysis.selection));
            }
            // A team's value written into one home's file reaches that home only.
            if let Some(team) = analysis.team.as_ref().filter(|t| t.people > 1 && !outcome.for_everyone) {
                outcome.notes.push(format!(
                    "This file is one person's: the other {} of the team do not read it. For everyone, write managed settings: `ccdoctor apply --settings {}` with the flags of this scan",
                    count_of(team.people - 1, "person", "people"),
                    crate::settings::managed_settings_file().display()
                ));
            }
            if let Some(note) = analysis.advice.as_ref().and_then(escalation_ends) {
                outcome.notes.push(note);
            }
            if let Some(v) = value {
                outcome.notes.extend(thinking_notes(&settings, v));
            }
            (Some(outcome), None)
        }
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let report = report::build(&scanned.data, &crate::report::Scope::of(config), &settings, analysis, tally, write);
    // Freeing a big scan's index takes milliseconds that the report need not wait for: it is
    // freed on another thread, which the process's exit may cut short.
    // Where no thread can be made, the closure (and the scan with it) is dropped here.
    let _ = std::thread::Builder::new().spawn(move || drop(scanned));
    let changed = report.write.as_ref().filter(|w| matches!(w.action, Action::Written | Action::Created));
    let printed = print_report(changed, err, || {
        match config.format {
            OutputFormat::Json => render::json::render(&report, out),
            OutputFormat::Markdown => render::markdown::render(&report, out),
            OutputFormat::Table => render::table::render(&report, config.color, config.width, out),
        }?;
        out.flush()
    });
    crate::memory::step("report");
    match failed {
        None => printed,
        Some(e) => {
            printed?;
            write_failed(&e, err)
        }
    }
}

/// The settings in effect and their warnings: a team's when people are named by their homes
/// (each person's own, and the team's set built from all of them alike).
pub(super) fn resolve_settings(
    config: &ScanConfig,
    people: &scan::data::People,
) -> (settings::EffectiveSettings, Vec<crate::warning::Warning>) {
    let (shared, mut warnings) = settings::resolve(&config.settings);
    let team = settings::team::resolve_team(&config.settings, &people.homes);
    // Homes on different providers are not one quota: say so, the replay goes on as asked.
    if let Some(t) = &team {
        let mut named: Vec<(settings::Provider, &str)> = t
            .people
            .iter()
            .filter_map(|p| Some((p.settings.provider.value?, p.settings.provider.source.as_deref().unwrap_or(""))))
            .collect();
        named.sort_by_key(|(p, _)| p.name());
        named.dedup_by_key(|(p, _)| *p);
        let unnamed = t.people.iter().filter(|p| p.settings.provider.value.is_none()).count();
        if named.len() == 1 && unnamed > 0 {
            warnings.push(crate::warning::Warning::new(
                std::path::PathBuf::from("--shared-quota"),
                None,
                format!(
                    "{} of {} homes name no provider in their settings (unless their shell sets one, Claude Code uses the Anthropic API there, not {}'s quota); replayed against one quota as asked",
                    unnamed,
                    t.people.len(),
                    named[0].0.name()
                ),
            ));
        }
        if named.len() > 1 {
            let list: Vec<String> = named.iter().map(|(p, src)| format!("{} ({src})", p.name())).collect();
            warnings.push(crate::warning::Warning::new(
                std::path::PathBuf::from("--shared-quota"),
                None,
                format!(
                    "the homes name different providers: {}; replayed against one quota as asked, though each provider has its own",
                    list.join(", ")
                ),
            ));
        }
    }
    (team.unwrap_or(shared), warnings)
}

/// A history whose newest record is older than this many days gets a note.
const OLD_HISTORY_DAYS: i64 = 30;

/// Runs `f` with a progress bar on stderr when the configuration asks for one (a new bar each
/// time: a bar is finished by the reading it shows).
fn with_progress<T>(config: &ScanConfig, f: impl FnOnce(&dyn scan::Progress) -> T) -> T {
    if config.progress { f(&progress::Bar::new()) } else { f(&scan::Silent) }
}

/// A team's value goes to everyone: a person whose own thinking budget is at or above it
/// (one the advice's model ignores, reasoning adaptively) leaves no room for the answer on a
/// model that uses the budget. Said, not changed: the budget is theirs.
fn thinking_notes(settings: &settings::EffectiveSettings, value: u64) -> Vec<String> {
    let mut notes: Vec<String> = settings
        .people
        .iter()
        .map(|p| &p.settings.max_thinking_tokens)
        .filter(|t| t.value.is_some_and(|t| t >= value))
        .map(|t| {
            format!(
                "{} = {} in {} is at or above the new maximum of {value}: on a model that uses the budget, thinking could take the whole response; lower it below {value} (ccdoctor leaves it alone)",
                settings::MAX_THINKING,
                crate::text::thousands(t.value.unwrap_or_default()),
                t.source.as_deref().unwrap_or("the environment")
            )
        })
        .collect();
    // People who share the file (managed settings) share the note.
    notes.sort();
    notes.dedup();
    notes
}

/// The value the advice compares with, beside a settings file's other value: a team's, which
/// most of its requests ran at; else the value in effect and where it comes from (a layer read
/// after the file, the environment, or the file's own value clamped to the model's upper
/// limit). What the history ran at is not claimed: without a backup of `apply` it is a guess.
fn in_effect(a: &crate::analysis::advice::Advice, settings: &settings::EffectiveSettings) -> String {
    if a.current_is_most_requests() {
        return format!(", not the {} most of this history's requests ran at", thousands(a.current));
    }
    match settings.max_output_tokens.source.as_deref().filter(|_| settings.max_output_tokens.value.is_some()) {
        Some(src) => format!("; the value in effect is {} ({src})", thousands(a.current)),
        None => format!("; the value in effect is {}", thousands(a.current)),
    }
}

/// The count a settings file held before a write, when it held one.
fn held_value(o: &WriteOutcome) -> Option<u64> {
    o.old.as_deref()?.trim_matches('"').parse().ok()
}

/// `--project` matched nothing: the projects there are, so the next try can match.
pub(super) fn unmatched_project(p: &str, selection: &crate::analysis::select::Selection) -> String {
    let listed = |names: &[String]| {
        let shown: Vec<&str> = names.iter().map(String::as_str).take(10).collect();
        let more =
            if names.len() > shown.len() { format!(" and {} more", names.len() - shown.len()) } else { String::new() };
        format!("{}{more}", shown.join(", "))
    };
    // It names projects, but the dates leave out all of their records.
    if !selection.projects_named.is_empty() {
        return format!(
            "--project {p} matches {}, but none of its records is within --since/--until",
            listed(&selection.projects_named)
        );
    }
    let names = &selection.projects;
    // `--project --json` reads `--json` as the text: say so, in case an option was meant.
    let hint = if p.starts_with("--") {
        "; --project takes the next argument as its text, even one that starts with '-'"
    } else {
        ""
    };
    if names.is_empty() {
        return format!("--project {p} matches no project; the history has none{hint}");
    }
    format!("--project {p} matches no project; the history has: {}{hint}", listed(names))
}

/// On the Anthropic API with no max output set, a value written ends Claude Code's capped
/// default and its escalation: say so, as a fact where the history shows it, else as what
/// Claude Code 2.1.x may do.
fn escalation_ends(a: &crate::analysis::advice::Advice) -> Option<String> {
    use crate::analysis::advice::Origin;
    // Where people set values of their own (they differ), some did set one.
    if a.provider != crate::settings::Provider::Anthropic
        || matches!(a.current_origin, Origin::Settings(_))
        || a.people_differ()
    {
        return None;
    }
    let v = crate::text::thousands(a.choice.value?);
    Some(match &a.escalation {
        Some(e) => format!(
            "this ends Claude Code's escalation: your history ran at its capped default ({}, a response cut there sent again at {}); every request now asks for {v}, and a response above it is cut",
            crate::text::thousands(e.capped),
            crate::text::thousands(e.escalated)
        ),
        None => format!(
            "with no max output set, Claude Code 2.1.x on the Anthropic API may ask for 8,000 and send a response cut there again at 64,000 (a setting on Anthropic's side decides); a value set ends that: every request now asks for {v}"
        ),
    })
}

/// The analysis of a scan whose `responses` were taken from it, and the report's tally of
/// them: they are given back as the analysis makes its chains of them.
pub(super) fn analyze<'a>(
    data: &'a scan::data::ScanData,
    responses: Vec<scan::data::Response>,
    config: &ScanConfig,
    settings: &settings::EffectiveSettings,
) -> (crate::analysis::Analysis<'a>, report::Tally) {
    let responses = crate::analysis::Responses::Owned(responses);
    crate::analysis::analyze_with(data, responses, &config.filters, &config.recommend, settings, report::tally)
}

/// A provider as a sentence names it.
fn provider_words(p: crate::settings::Provider) -> &'static str {
    use crate::settings::Provider;
    match p {
        Provider::Bedrock => "Bedrock",
        Provider::BedrockMantle => "Bedrock's Mantle endpoint",
        Provider::Vertex => "Vertex",
        Provider::Anthropic => "the Anthropic API",
    }
}

/// With `--project`, the write still lands in a file every project reads (unless it is a
/// project's own): say so, and name the project's local file.
fn project_note(p: &str, outcome: &WriteOutcome, selection: &crate::analysis::select::Selection) -> String {
    let cwd = selection.first_cwd.as_deref();
    let local = cwd.map_or_else(
        || "<project>/.claude/settings.local.json".to_string(),
        |c| format!("{}/.claude/settings.local.json", c.trim_end_matches('/')),
    );
    if outcome.path.contains("/.claude/settings") && cwd.is_some_and(|c| outcome.path.starts_with(c)) {
        format!("--project {p}: this file is the project's own")
    } else {
        format!(
            "--project {p} narrows the scan, not the write: {} applies to every project; for this project alone: ccdoctor apply --project {p} --settings {local}",
            outcome.path
        )
    }
}

/// Reads the history, printing the scan's warnings; `Err` holds the exit status when there
/// was nothing to read.
pub(super) fn read(config: &ScanConfig, err: &mut dyn Write) -> anyhow::Result<Result<scan::Scanned, ExitCode>> {
    let options = scan::ScanOptions {
        modified_since: config.modified_since(),
        threads: config.threads,
        full_parse: config.full_parse,
        keep_request_ids: !config.team.otel.is_empty(),
    };
    let scan_roots = |roots: &[scan::root::Root]| with_progress(config, |p| scan::scan(roots, &options, p));
    let mut homes: Vec<&scan::root::Root> =
        config.roots.iter().filter(|r| r.kind == scan::root::RootKind::Home).collect();
    // A home given beside telemetry is a person too, as with --shared-quota: the team's
    // people are the telemetry's accounts and the homes.
    let people_by_home = config.team.shared_quota || !config.team.otel.is_empty();
    let mut scanned = if people_by_home && !homes.is_empty() {
        // One person a home: each is read on its own, so that its sessions are its person's;
        // in the order of their paths, so that people are the same whatever the order given.
        homes.sort_by(|a, b| a.path.cmp(&b.path));
        let others: Vec<scan::root::Root> =
            config.roots.iter().filter(|r| r.kind != scan::root::RootKind::Home).cloned().collect();
        let mut all = scan::Scanned { data: Default::default(), warnings: Vec::new() };
        for (i, home) in homes.iter().enumerate() {
            let mut roots = vec![(*home).clone()];
            if i == 0 {
                roots.extend(others.iter().cloned());
            }
            let mut one = scan_roots(&roots);
            all.warnings.append(&mut one.warnings);
            let copies = all.data.absorb(one.data, &home.path);
            if copies > 0 {
                all.warnings.push(crate::warning::Warning::new(
                    home.path.clone(),
                    None,
                    format!(
                        "{} also in a home read before it (the same home twice, or a copy): counted once, from that home",
                        crate::text::count_of(copies as u64, "session is", "sessions are")
                    ),
                ));
            }
        }
        all
    } else {
        scan_roots(&config.roots)
    };
    if !config.team.otel.is_empty() {
        let (otel, only, threads) = (&config.team.otel, &config.team.otel_where, config.threads);
        let mut warnings = with_progress(config, |p| crate::otel::read_into(otel, only, threads, p, &mut scanned.data));
        scanned.warnings.append(&mut warnings);
    }
    for w in &scanned.warnings {
        say(err, "warning", &w.to_string())?;
    }
    let read = &scanned.data.read;
    let telemetry = scanned.data.telemetry.as_ref();
    let mut sources: Vec<String> = config.roots.iter().map(|r| r.path.display().to_string()).collect();
    sources.extend(config.team.otel.iter().map(|p| p.display().to_string()));
    let sources = sources.join(", ");
    let telemetry_read = telemetry.is_some_and(|t| t.read.files > t.read.unreadable_files);
    if read.nothing_readable() && !telemetry_read {
        say(err, "error", &format!("nothing to report in {}: no file could be read", sources))?;
        return Ok(Err(ExitCode::Usage));
    }
    if let Some(t) = telemetry
        && t.read.files > 0
        && t.read.files == t.read.unreadable_files
        && read.files == 0
    {
        say(err, "error", &format!("nothing to report in {}: no telemetry file could be read", sources))?;
        return Ok(Err(ExitCode::Usage));
    }
    // An empty history is an answer, not an error: the report says so, and the run succeeds.
    if read.files == 0 && telemetry.is_none_or(|t| t.read.requests + t.read.errors == 0) {
        let why = if telemetry.is_some_and(|t| t.read.events == 0) && config.roots.is_empty() {
            "the telemetry holds no event"
        } else if telemetry.is_some() && config.roots.is_empty() {
            "no api_request or api_error event in the telemetry could be used (see the warnings)"
        } else if read.older_than_since > 0 {
            "every transcript is older than --since"
        } else {
            "no transcripts (projects/**/*.jsonl) or debug logs (debug/*.txt) found"
        };
        say(err, "note", &format!("nothing to report in {}: {why}", sources))?;
    }
    Ok(Ok(scanned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::team::PersonSettings;
    use crate::settings::{EffectiveSettings, Sourced};

    /// The report made from responses taken from the scan and given back as the chains are
    /// made (as `scan` and `check` do) is the one made from the scan's own, kept to the end: on
    /// each bundled home, with filters, as JSON and as the table (its sentences included).
    #[test]
    fn responses_given_back_change_no_report() {
        let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let runs: [(&str, &[&str]); 5] = [
            ("bedrock-home", &[]),
            ("bedrock-home", &["--parallel", "8"]),
            ("claude-home", &[]),
            ("claude-home", &["--model", "haiku", "--since", "2026-01-01"]),
            ("late-home", &["--project", "svc"]),
        ];
        for (home, flags) in runs {
            let path = testdata.join(home);
            let args: Vec<std::ffi::OsString> =
                ["ccdoctor", "scan"].iter().chain(flags).map(Into::into).chain([path.into_os_string()]).collect();
            let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
            let crate::cli::Command::Scan(scan_args) = cli.command else { panic!("a scan") };
            let env = crate::config::Env { home: Some(testdata.clone()), ..Default::default() };
            let config = ScanConfig::from_cli(&scan_args, &env).unwrap();
            let options = scan::ScanOptions { threads: 2, ..Default::default() };
            let mut scanned = scan::scan(&config.roots, &options, &scan::Silent);
            assert!(!scanned.data.responses.is_empty(), "{home}");
            let (settings, _) = settings::resolve(&config.settings);
            let rendered = |r: &report::Report| {
                let (mut json, mut table) = (Vec::new(), Vec::new());
                crate::render::json::render(r, &mut json).unwrap();
                crate::render::table::render(r, false, 100, &mut table).unwrap();
                (String::from_utf8(json).unwrap(), String::from_utf8(table).unwrap())
            };
            let kept = rendered(&report::of_kept(&scanned.data, &config, &settings));
            let responses = std::mem::take(&mut scanned.data.responses);
            let (analysis, tally) = analyze(&scanned.data, responses, &config, &settings);
            let given_back =
                rendered(&report::build(&scanned.data, &report::Scope::of(&config), &settings, analysis, tally, None));
            assert!(kept.1.contains("Recommendation for "), "{home} {flags:?}: {}", kept.1);
            assert_eq!(kept, given_back, "{home} {flags:?}");
        }
    }

    /// Issue 23, item 2: a team's value written for everyone names each person whose own
    /// thinking budget it leaves no room for (a budget the advice's model ignored), once
    /// for a file they share.
    #[test]
    fn a_persons_thinking_budget_above_the_teams_value_is_noted() {
        let person = |person, budget: Option<(u64, &str)>| PersonSettings {
            person,
            settings: EffectiveSettings {
                max_thinking_tokens: budget.map_or_else(Sourced::default, |(t, s)| Sourced::new(t, s)),
                ..EffectiveSettings::default()
            },
        };
        let team = settings::team::combine(vec![
            person(0, Some((31_999, "user: /b/settings.json"))),
            person(1, Some((4_000, "user: /a/settings.json"))),
            person(2, None),
        ]);
        let notes = thinking_notes(&team, 8_000);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("MAX_THINKING_TOKENS = 31,999 in user: /b/settings.json is at or above"),
            "{notes:?}"
        );
        assert!(thinking_notes(&team, 32_000).is_empty());
        // One person: no team, no note (the write's own notes cover the file written).
        assert!(thinking_notes(&EffectiveSettings::default(), 1).is_empty());
    }
}
