//! The subcommands: `apply`, `revert`, `check` (and as a Claude Code hook), `completions`,
//! `man`; `scan --write` / `scan --revert` stay as aliases.

mod common;

use common::{Run, bedrock_copy, ccdoctor};
use serde_json::Value;

fn run_in(home: &std::path::Path, args: &[&str]) -> Run {
    ccdoctor(home.parent().unwrap()).args(args).output().unwrap().into()
}

/// A copy of the Bedrock sample home, its settings file, and the file's text.
fn settings_home() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf, String) {
    let (t, home) = bedrock_copy();
    let path = home.join("settings.json");
    let before = std::fs::read_to_string(&path).unwrap();
    (t, home, path, before)
}

#[test]
fn apply_then_check_then_revert() {
    let (_t, home, path, before) = settings_home();
    let h = home.to_str().unwrap();
    // The history (2026-11-02) is older than check's default week: name its window.
    let r = run_in(&home, &["check", "--since", "2026-11-01", h]);
    assert_eq!(r.code, 1, "32,000 is too high for the quota: {}", r.stdout);
    assert!(r.stdout.starts_with("unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (Sonnet 4) is too high"), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 1);

    let r = run_in(&home, &["apply", "--dry-run", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "a dry run writes nothing");

    let r = run_in(&home, &["apply", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"7000\""));

    let r = run_in(&home, &["check", "--since", "2026-11-01", "--json", h]);
    assert_eq!(r.code, 0, "7,000 is what the replay keeps: {}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["current"].as_u64(), v["action"].as_str()),
        (Some("ok"), Some(7000), Some("keep"))
    );
    assert_eq!(v["since"], "2026-11-01");

    let r = run_in(&home, &["revert", "--json", "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // Its JSON names the value it put back and the one it replaced.
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!((v["write"]["old"].as_str(), v["write"]["new"].as_str()), (Some("\"7000\""), Some("\"32000\"")));
}

/// A value set below what the history ran at: `check` says what it *would* cut, beside the
/// history's own count of cut responses (none: the history ran at 32,000). Set by hand, below
/// the 5,885 tokens the main sessions wrote, nothing dates it: they are taken to have run at
/// 6,000 (the cautious guess), which `check` says; `--ran-at 32000` says what they ran at.
#[test]
fn check_says_what_a_value_set_lower_than_the_history_would_cut() {
    let (_t, home, path, before) = settings_home();
    std::fs::write(&path, before.replace("\"32000\"", "\"1000\"")).unwrap();
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["check", "--since", "2026-11-01", h]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=1000 (Sonnet 4) would cut responses that 6000 would not, within the quota (")
            && r.stdout.contains(", 0 cut responses; the limit of 43 requests is a guess, 6,000 (they wrote up to 5,885 tokens), see `ccdoctor scan`)"),
        "{}",
        r.stdout
    );
    let r = run_in(&home, &["check", "--since", "2026-11-01", "--ran-at", "32000", h]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=1000 (Sonnet 4) would cut responses that 7000 would not, within the quota (")
            && r.stdout.contains(", 0 cut responses)")
            && r.stdout.contains("--ran-at 32000"),
        "{}",
        r.stdout
    );
}

/// A `--quota-tpm` the history's 429s rule out is not what `check` judges at: its line says
/// so and names the quota it judged at; a quota they fit is used as given, and not named.
#[test]
fn check_says_when_the_quota_given_does_not_fit() {
    let (_t, home, _, _) = settings_home();
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["check", "--since", "2026-11-01", "--quota-tpm", "2M", h]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("; your 429s do not fit the 2,000,000 TPM you gave: judged at 253,000 TPM, the quota they imply); 10000 would have worked"),
        "{}",
        r.stdout
    );
    let r = run_in(&home, &["check", "--since", "2026-11-01", "--quota-tpm", "400k", h]);
    assert!(r.stdout.contains("13000 would have worked") && !r.stdout.contains("you gave"), "{}", r.stdout);
}

/// Planned for more requests at once (`--parallel`), the verdict is of that load: it says so,
/// and does not say what "would have worked" in a past that had fewer (a new user's trial).
#[test]
fn check_at_a_planned_load_says_it_is_that_loads() {
    let (_t, home, _, _) = settings_home();
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["check", "--since", "2026-11-01", "--quota-tpm", "400k", "--parallel", "3", h]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(" is too high for the quota at 3 requests at once (--parallel) (")
            && r.stdout.contains(" would work at that load")
            && !r.stdout.contains("would have worked"),
        "{}",
        r.stdout
    );
}

/// A home of eight Sonnet 4.5 responses, none cut: too few to judge cuts by. No settings file.
fn few_api_responses() -> (tempfile::TempDir, std::path::PathBuf) {
    few_responses_cut(0, 0)
}

/// The same, the first `cut` of them stopped at max_tokens after `limit` tokens.
fn few_responses_cut(cut: u32, limit: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(home.join("projects/p")).unwrap();
    let lines: Vec<String> = (0..8)
        .map(|i| {
            serde_json::json!({
                "type": "assistant", "uuid": format!("u{i}"), "sessionId": "s1", "cwd": "/x",
                "timestamp": format!("2026-11-01T10:{:02}:00.000Z", 2 * i), "version": "2.1.230",
                "requestId": format!("req_{i}"),
                "message": {"id": format!("msg_{i}"), "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                            "content": [{"type": "text", "text": "hi"}],
                            "stop_reason": if i < cut { "max_tokens" } else { "end_turn" },
                            "usage": {"input_tokens": 10, "output_tokens": if i < cut { limit } else { 500 + 100 * i }}}
            })
            .to_string()
        })
        .collect();
    std::fs::write(home.join("projects/p/s1.jsonl"), lines.join("\n") + "\n").unwrap();
    (t, home)
}

/// Appends a retried 429 before the `k`th response of the home's transcript.
fn with_a_429(home: &std::path::Path, k: usize) {
    let path = home.join("projects/p/s1.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let retry = serde_json::json!({
        "type": "system", "subtype": "api_error", "level": "error", "sessionId": "s1", "cwd": "/x",
        "version": "2.1.230", "uuid": format!("e{k}"), "timestamp": format!("2026-11-01T10:{:02}:30.000Z", 2 * k - 1),
        "error": {"status": 429, "headers": {}, "requestID": null,
                  "error": {"message": "Too many tokens, please wait before trying again."}},
        "retryInMs": 500, "retryAttempt": 1, "maxRetries": 10
    });
    lines.insert(k, retry.to_string());
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// Few responses cut at the value in effect are judged (a raise where the quota allows it),
/// unless the history was throttled on a quota max output counts against: then a few
/// responses say too little of that quota to raise on, and the value is kept.
#[test]
fn few_responses_cut_are_judged_unless_the_quota_throttled_them() {
    let (_t, home) = few_responses_cut(3, 4_000);
    let settings = r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"4000"}}"#;
    std::fs::write(home.join("settings.json"), settings).unwrap();
    let scan = |home: &std::path::Path| -> Value {
        let r = run_in(home, &["scan", "--format", "json", "--quota-tpm", "400000", home.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let v = scan(&home);
    let rec = &v["recommendation"];
    assert_eq!((rec["action"].as_str(), rec["basis"].as_str()), (Some("raise"), Some("fewer_cuts")), "{rec}");
    with_a_429(&home, 5);
    let v = scan(&home);
    let rec = &v["recommendation"];
    assert_eq!(v["errors"]["rate_limit"]["retries"], 1, "{}", v["errors"]);
    assert_eq!((rec["action"].as_str(), rec["basis"].as_str()), (Some("keep"), Some("small_sample")), "{rec}");
}

/// A history with no 429 only bounds the quota from below: with a quota given below that
/// bound, `check` says the history ran without a 429 at a load the quota would have throttled,
/// not that "your 429s" do not fit it (the new user's trial of 2026-12-07).
#[test]
fn check_on_a_history_without_429s_below_the_quota_given_says_so() {
    let (_t, home) = few_responses_cut(0, 4_000);
    let settings = r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"4000"}}"#;
    std::fs::write(home.join("settings.json"), settings).unwrap();
    let r = run_in(&home, &["check", "--since", "2026-10-01", "--quota-tpm", "1000", home.to_str().unwrap()]);
    assert!(
        r.stdout.contains("0 throttled attempts")
            && r.stdout.contains(
                "your history ran without a 429 at a load the 1,000 TPM you gave would have throttled: judged at "
            )
            && r.stdout.contains(" TPM, the least it needs"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("your 429s"), "{}", r.stdout);
}

/// A value kept without a judgement is not called safe: eight API responses, none cut (too
/// few to judge cuts by), say "kept" and why; on the API with enough responses and 429s, it
/// says the 429s are not max output's (exit 0). The API sample's ten responses, three of them
/// cut at the value in effect, are judged all the same: those cuts are the history's own.
#[test]
fn check_calls_safe_only_what_it_judged() {
    let (_t, home) = few_api_responses();
    std::fs::write(home.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"32000"}}"#).unwrap();
    let r = run_in(&home, &["check", "--since", "2026-01-01", home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(
            "ok: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (Sonnet 4.5) is kept: too few responses to judge cuts by ("
        ) && !r.stdout.contains("is safe"),
        "{}",
        r.stdout
    );
    let (_t, bedrock) = bedrock_copy();
    let b = bedrock.to_str().unwrap();
    let r = run_in(&bedrock, &["check", "--since", "2026-11-01", "--provider", "anthropic", b]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "is kept: on the Anthropic API max output does not count against the rate limits your 429s come from ("
        ) && r.stdout.contains("237 throttled attempts"),
        "{}",
        r.stdout
    );
    // On Vertex, no quota known: a value the history ran without a 429 but with responses cut
    // is kept, not called safe.
    let (_t, cut) = few_responses_cut(3, 4_000);
    std::fs::write(cut.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"4000"}}"#).unwrap();
    let r = run_in(&cut, &["check", "--since", "2026-01-01", "--provider", "vertex", cut.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("ok: CLAUDE_CODE_MAX_OUTPUT_TOKENS=4000 (Sonnet 4.5) is kept, not shown safe for your responses: your history ran it without a 429 but with more responses cut than the p99 target allows (")
            && r.stdout.contains("3 cut responses")
            && !r.stdout.contains("is safe"),
        "{}",
        r.stdout
    );
    let api = common::home();
    let r = run_in(&api, &["check", "--since", "2026-01-01", api.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // The same history with 16,000 set by hand: three of its ten responses wrote more than
    // that (cut at 32,000), which 16,000 would cut for certain; judged as at 32,000, not kept
    // as "too few responses" (a trial of 2026-12-07: "keep" beside a replay row of 3 cut).
    let (_t, copy) = common::home_copy();
    let text = std::fs::read_to_string(copy.join("settings.json")).unwrap();
    std::fs::write(copy.join("settings.json"), text.replace("\"32000\"", "\"16000\"")).unwrap();
    let r16 = run_in(&copy, &["check", "--since", "2026-01-01", copy.to_str().unwrap()]);
    assert_eq!(r16.code, 1, "{}", r16.stdout);
    assert!(
        r16.stdout.starts_with(
            "unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=16000 (Sonnet 4.5) would cut responses that 64000 would not"
        ),
        "{}",
        r16.stdout
    );
    assert!(
        r.stdout.starts_with(
            "unsafe: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (Sonnet 4.5) would cut responses that 64000 would not"
        ) && r.stdout.trim_end().ends_with(
            // A subagent of an older Claude Code, which ignores the value, is named beside it.
            "; 1 of the 11 Sonnet 4.5 requests is a subagent's of a Claude Code before about 2.1.233, which ignores the value: update Claude Code too"
        ),
        "{}",
        r.stdout
    );
}

/// `revert PATH` puts back the settings file `apply PATH` wrote (not the default home's).
#[test]
fn revert_takes_the_home_apply_took() {
    let (_t, home, path, before) = settings_home();
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["apply", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(std::fs::read_to_string(&path).unwrap(), before);
    let r = run_in(&home, &["revert", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // Or the settings file itself.
    assert_eq!(run_in(&home, &["apply", h]).code, 0);
    let r = run_in(&home, &["revert", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // `apply --revert`, a natural guess: pointed to `revert`, nothing changed.
    assert_eq!(run_in(&home, &["apply", h]).code, 0);
    let written = std::fs::read_to_string(&path).unwrap();
    let r = run_in(&home, &["apply", h, "--revert"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("run `ccdoctor revert` with the same PATH or --settings"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    assert_eq!(run_in(&home, &["revert", h]).code, 0);
    // A home and a settings file both named: one is a mistake.
    let r = run_in(&home, &["revert", h, "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be used with"), "{}", r.stderr);
}

#[test]
fn check_defaults_to_the_last_week_and_says_so() {
    let (_t, home) = bedrock_copy();
    let r = run_in(&home, &["check", home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("ok: nothing to check (the last 7 days, since "), "{}", r.stdout);
    // The sample's history is older than the week: the line says how to reach it (its newest
    // response, 2026-11-02, by the simulator's clock).
    assert!(
        r.stdout.trim_end().ends_with(
            "; the newest response before it is from 2026-11-02: --since 2026-10-27 takes in the 7 days to it"
        ),
        "{}",
        r.stdout
    );
    // The value set is in effect, whatever the window holds: the JSON names it.
    let r = run_in(&home, &["check", "--json", home.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!((v["current"].as_u64(), v["model"].is_null()), (Some(32_000), true), "{}", r.stdout);
    let r = run_in(&home, &["check", home.to_str().unwrap(), "--since", "2026-10-27"]);
    assert!(!r.stdout.contains("nothing to check"), "{}", r.stdout);
    // Files last written before the window are not read: the line counts them.
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600); // 2026-01-01
    let mut transcripts = 0;
    for e in walkdir::WalkDir::new(&home).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()) {
        std::fs::File::options().write(true).open(e.path()).unwrap().set_modified(old).unwrap();
        transcripts += usize::from(e.path().extension().is_some_and(|x| x == "jsonl"));
    }
    let r = run_in(&home, &["check", home.to_str().unwrap()]);
    let want = format!("; {transcripts} transcripts older than the window not read: an earlier --since takes them in");
    assert!(transcripts > 1 && r.stdout.trim_end().ends_with(&want), "{}", r.stdout);
}

/// As a SessionStart hook: Claude Code shows a hook's `systemMessage` to the user; a safe
/// value says nothing, and the hook always exits 0 so a session never fails to start.
#[test]
fn check_as_a_session_start_hook() {
    let (_t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["check", "--hook", "--since", "2026-11-01", h]);
    assert_eq!(r.code, 0);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["systemMessage"].as_str().unwrap().starts_with("ccdoctor: CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000"), "{v}");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    run_in(&home, &["apply", h]);
    let r = run_in(&home, &["check", "--hook", "--since", "2026-11-01", h]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    // A misconfigured hook (a home that does not exist) still exits 0: the error is the
    // message the session shows.
    let r = run_in(&home, &["check", "--hook", "/no/such/home"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["systemMessage"].as_str().unwrap().contains("/no/such/home: no such file or folder"), "{v}");
}

/// Issue 23, item 9: a usage error clap finds (a quota that is no number) is a hook's
/// message too, sanitised and bounded like the others, and the hook exits 0; without
/// `--hook` it stays a usage error (exit 2).
#[test]
fn a_hooks_usage_error_is_its_message() {
    let (_t, home) = bedrock_copy();
    let r = run_in(&home, &["check", "--hook", "--quota-tpm", "abc\u{202e}"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let message = v["systemMessage"].as_str().unwrap();
    assert!(message.starts_with("ccdoctor: error: invalid value 'abc"), "{message}");
    assert!(message.contains("--quota-tpm") && !message.contains('\u{202e}'), "{message}");
    assert!(message.chars().count() <= 600, "{message}");
    let r = run_in(&home, &["check", "--quota-tpm", "abc"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{}", r.stderr);
}

/// Issue 23, item 9: `--show-users` says what people are called without it (numbered), not
/// a hash, in the help and the man page alike.
#[test]
fn show_users_help_says_people_are_numbered() {
    let (_t, home) = bedrock_copy();
    for args in [&["scan", "--help"][..], &["man", "scan"]] {
        let r = run_in(&home, args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let text = r.stdout.replace("\\-", "-");
        let at = text.rfind("show-users").unwrap_or_else(|| panic!("{args:?}: no --show-users"));
        let help: String = text[at..].chars().take(300).collect();
        assert!(help.contains("person 1") && !help.contains("hash"), "{args:?}: {help}");
    }
}

#[test]
fn completions_and_man_page() {
    let (_t, home) = bedrock_copy();
    for shell in ["bash", "zsh", "fish"] {
        let r = run_in(&home, &["completions", shell]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("ccdoctor") && r.stdout.contains("apply"), "{shell}");
    }
    let r = run_in(&home, &["man"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains(".TH ccdoctor 1"), "{}", &r.stdout[..200.min(r.stdout.len())]);
}

/// The long option `--name` as clap_mangen writes it in roff: `\fB\-\-name\fR`.
fn roff_option(name: &str) -> String {
    format!("\\fB{}\\fR", format!("--{name}").replace('-', "\\-"))
}

/// Each subcommand has its page, with its own options and not another subcommand's.
#[test]
fn man_page_per_subcommand() {
    let (_t, home) = bedrock_copy();
    let cases: [(&str, &[&str], &[&str]); 6] = [
        ("scan", &["write", "dry-run", "revert", "quota-tpm", "since", "format"], &["hook"]),
        ("apply", &["dry-run", "settings", "force", "quota-tpm"], &["hook", "revert"]),
        ("revert", &["settings"], &["quota-tpm", "hook"]),
        ("check", &["hook", "json", "since", "quota-tpm"], &["write", "force"]),
        ("completions", &[], &["since"]),
        ("man", &["dir"], &["since"]),
    ];
    for (sub, has, lacks) in cases {
        let r = run_in(&home, &["man", sub]);
        assert_eq!(r.code, 0, "{sub}: {}", r.stderr);
        assert!(r.stdout.contains(&format!(".TH ccdoctor-{sub} 1")), "{sub}: {}", r.stdout);
        assert!(r.stdout.contains(&format!("ccdoctor\\-{sub} \\-")), "{sub}: the NAME line");
        for o in has {
            assert!(r.stdout.contains(&roff_option(o)), "{sub} page lacks --{o}");
        }
        for o in lacks {
            assert!(!r.stdout.contains(&roff_option(o)), "{sub} page has --{o}");
        }
    }
    // The top page names each subcommand's page, and no page for `help` (there is none).
    let top = run_in(&home, &["man"]).stdout;
    for sub in ["scan", "apply", "revert", "check", "completions", "man"] {
        assert!(top.contains(&format!("ccdoctor\\-{sub}(1)")), "{sub}");
    }
    assert!(!top.contains("ccdoctor\\-help(1)"));

    let r = run_in(&home, &["man", "scna"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert!(
        r.stderr.contains("no man page for \"scna\"; the subcommands are: scan, apply, revert, check"),
        "{}",
        r.stderr
    );
}

/// `man --dir` writes every page, each the same as the printed one, and nothing else;
/// a page already there is replaced whole, a symlink there is replaced and not followed.
#[test]
fn man_dir_writes_every_page() {
    let (t, home) = bedrock_copy();
    let dir = t.path().join("share/man/man1");
    let r = run_in(&home, &["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Sorted by byte: '-' comes before '.'.
    let expected = [
        "ccdoctor-apply.1",
        "ccdoctor-check.1",
        "ccdoctor-completions.1",
        "ccdoctor-man.1",
        "ccdoctor-revert.1",
        "ccdoctor-scan.1",
        "ccdoctor.1",
    ];
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    };
    assert_eq!(listing(&dir), expected, "the pages and no temporary file");
    let listed: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(listed.len(), expected.len(), "{}", r.stdout);
    for name in expected {
        assert!(listed.contains(&dir.join(name).to_str().unwrap()), "{name} not listed: {}", r.stdout);
        let args: Vec<&str> = match name.strip_prefix("ccdoctor-").and_then(|n| n.strip_suffix(".1")) {
            Some(sub) => vec!["man", sub],
            None => vec!["man"],
        };
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), run_in(&home, &args).stdout, "{name}");
    }

    // Again, over a stale page and a symlink to a file that must stay as it is.
    let outside = t.path().join("outside.txt");
    std::fs::write(&outside, "not a man page").unwrap();
    std::fs::write(dir.join("ccdoctor-check.1"), "stale").unwrap();
    std::fs::remove_file(dir.join("ccdoctor-scan.1")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("ccdoctor-scan.1")).unwrap();
    let r = run_in(&home, &["man", "--dir", dir.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(listing(&dir), expected);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "not a man page");
    assert!(!std::fs::symlink_metadata(dir.join("ccdoctor-scan.1")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.join("ccdoctor-check.1")).unwrap(), run_in(&home, &["man", "check"]).stdout);

    // A file where the folder should be: refused, said, exit 2.
    let r = run_in(&home, &["man", "--dir", outside.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a folder"), "{}", r.stderr);
    // One page or all of them, not both.
    assert_eq!(run_in(&home, &["man", "scan", "--dir", dir.to_str().unwrap()]).code, 2);
}

/// A "keep" of Claude Code's own default (no settings file sets the value) writes nothing:
/// pinning a default into a file is not what the advice says.
#[test]
fn apply_keeps_a_default_by_writing_nothing() {
    let (_t, home) = few_api_responses();
    let r = run_in(&home, &["apply", home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("note: the advice is to keep Claude Code's default (32,000): nothing written"),
        "{}",
        r.stderr
    );
    assert!(!home.join("settings.json").exists());
}

/// From the adversarial review: the hook exits 0 even when its answer cannot be printed, and
/// a models file that is a FIFO or a device is refused instead of read forever.
#[test]
fn the_hook_survives_a_full_disk_and_models_files_must_be_files() {
    let (_t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full exists on Linux");
    let r: Run = ccdoctor(home.parent().unwrap())
        .args(["check", "--hook", "--since", "2026-11-01", h])
        .stdout(full)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(&home, &["scan", "--models", "/dev/zero", h]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("/dev/zero: not a regular file of at most 1024 KiB"), "{}", r.stderr);
}

/// A report that cannot be printed (a full disk) is one failure, told once: exit 1 and one
/// error line (the adversarial review's item 6), in every format and for every command that
/// prints a report; `check`'s failures are 2, since its 1 means "unsafe" to a script (the
/// adversarial review of 2026-12-08).
#[test]
fn a_report_to_a_full_disk_is_one_error() {
    let (_t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    for args in [
        vec!["scan", h],
        vec!["scan", "--format", "json", h],
        vec!["scan", "--format", "markdown", h],
        vec!["apply", "--dry-run", h],
        vec!["check", "--since", "2026-11-01", h],
        vec!["check", "--json", "--since", "2026-11-01", h],
    ] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full exists on Linux");
        let r: Run = ccdoctor(home.parent().unwrap()).args(&args).stdout(full).output().unwrap().into();
        assert_eq!(r.code, if args[0] == "check" { 2 } else { 1 }, "{args:?}: {}", r.stderr);
        let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: one error line, not {}:\n{}", errors.len(), r.stderr);
        assert!(errors[0].contains("No space left on device"), "{args:?}: {}", r.stderr);
    }
}

/// A quota the history cannot have run against (it shows 237 throttled attempts; no reading
/// explains them within twice 10,000,000 TPM) is said so, with the quotas the 429s do fit,
/// and the value is the one safe under each of those.
#[test]
fn a_quota_the_history_does_not_fit_is_called_out() {
    let (_t, home) = bedrock_copy();
    let r = run_in(&home, &["scan", "--json", "--quota-tpm", "10000000", home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rec = &v["recommendation"];
    assert_eq!(rec["basis"].as_str(), Some("throttles"));
    assert!(rec["inputs"]["quota_tpm"].as_u64().unwrap() < 1_000_000, "{}", rec["inputs"]);
    assert_eq!(rec["inputs"]["quota_origin"].as_str(), Some("inferred"));
    let reasons: Vec<&str> = rec["reasons"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(reasons.iter().any(|a| a.starts_with("Your history does not fit the quota you gave")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|a| a.starts_with("Your 237 throttled attempts fit ") && a.contains("with max output reserved at 5×")),
        "{reasons:?}"
    );
    // At the default quota (200,000), which it fits, nothing is said.
    let r = run_in(&home, &["scan", "--json", home.to_str().unwrap()]);
    assert!(!r.stdout.contains("does not fit the quota"), "{}", r.stdout);
}

/// The table fits the width `COLUMNS` gives (here 60), and 80 columns without it (the
/// output is not a terminal here).
#[test]
fn the_report_fits_the_columns_it_is_given() {
    let (_t, home) = bedrock_copy();
    let widest = |columns: Option<&str>| {
        let mut c = ccdoctor(&home);
        if let Some(n) = columns {
            c.env("COLUMNS", n);
        }
        let r: Run = c.args(["scan", home.to_str().unwrap()]).output().unwrap().into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.lines().map(|l| l.chars().count()).max().unwrap()
    };
    assert_eq!(widest(None), 80);
    assert!(widest(Some("60")) <= 60, "{}", widest(Some("60")));
    assert_eq!(widest(Some("120")), 120);
    // Nonsense is 80, and no width goes under 40.
    assert_eq!(widest(Some("wide")), 80);
    assert!(widest(Some("10")) <= 55);
}

/// A default quota from a models file is named as the file's, not as AWS's (issue 23, item 6).
#[test]
fn a_default_quota_from_a_models_file_names_the_file() {
    let (_t, home) = bedrock_copy();
    let models = home.join("my-models.json");
    std::fs::write(&models, r#"{"families": [{"key": "claude-sonnet-4", "bedrock_default_tpm": 210000}]}"#).unwrap();
    let r = run_in(&home, &["scan", "--json", "--models", models.to_str().unwrap(), home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rec = &v["recommendation"];
    assert_eq!(
        (rec["calibration"]["reference_tpm"].as_u64(), rec["calibration"]["reference_origin"].as_str()),
        (Some(210_000), Some("models_file"))
    );
    let text = format!("{}{}", rec["advice"], rec["reasons"]);
    assert!(!text.contains("AWS's published default"), "{text}");
    assert!(text.contains(&format!("the default your models file {} gives", models.display())), "{text}");
}

/// A window where no response names the model (every request refused): `check` says so in
/// plain words, not "(the model (no response names it))".
#[test]
fn check_says_plainly_when_no_response_names_the_model() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("home");
    std::fs::create_dir_all(home.join("projects/w")).unwrap();
    let lines: Vec<String> = (0..5)
        .map(|r| {
            serde_json::json!({"type": "assistant", "uuid": format!("e{r}"), "sessionId": "s1", "cwd": "/w",
                "timestamp": format!("2026-11-02T10:{r:02}:00.000Z"), "isApiErrorMessage": true,
                "error": "rate_limit", "apiErrorStatus": 429,
                "message": {"id": format!("e{r}"), "model": "<synthetic>", "content": [{"type": "text",
                    "text": "API Error: 429 Too many tokens, please wait before trying again."}]}})
            .to_string()
        })
        .collect();
    std::fs::write(home.join("projects/w/s1.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::write(
        home.join("settings.json"),
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000"}}"#,
    )
    .unwrap();
    let r = run_in(&home, &["check", "--since", "2026-11-01", home.to_str().unwrap()]);
    assert!(r.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=32000 (no response names the model)"), "{}", r.stdout);
    assert!(!r.stdout.contains("(the model ("), "{}", r.stdout);
    // Nor does the inputs table say the model came from "most responses"; and a ceiling the
    // formula puts above the model's upper limit (input taken as 0) says it is above it.
    let args = ["scan", "--since", "2026-11-01", "--format", "markdown", "--quota-tpm", "200000"];
    let r = run_in(&home, &[&args[..], &[home.to_str().unwrap()]].concat());
    assert!(r.stdout.contains("| no response names one |"), "{}", r.stdout);
    assert!(!r.stdout.contains("most responses"), "{}", r.stdout);
    assert!(
        r.stdout.contains("| Worst-case ceiling | 36,000 | formula; above the model's upper limit, 32,000 |"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(r"| In flight at once \(most seen\) | 1 | none ran \(taken as 1\) |"), "{}", r.stdout);
}

/// A hook never fails a session, not even on a bug in ccdoctor: a panic becomes the message
/// (no trace on stderr) and the exit status 0; outside a hook the panic is as Rust prints it.
/// The panic is made by `CCDOCTOR_DEBUG_PANIC`, which only debug builds read.
#[cfg(debug_assertions)]
#[test]
fn a_panic_in_the_hook_is_a_message_and_exit_0() {
    let (_t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let r: common::Run =
        ccdoctor(&home).env("CCDOCTOR_DEBUG_PANIC", "1").args(["check", "--hook", h]).output().unwrap().into();
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stdout);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(v["systemMessage"].as_str().unwrap().starts_with("ccdoctor: internal error"), "{v}");
    let r: common::Run = ccdoctor(&home).env("CCDOCTOR_DEBUG_PANIC", "1").args(["check", h]).output().unwrap().into();
    assert_eq!(r.code, 101, "{}", r.stderr);
    assert!(r.stderr.contains("panicked"), "{}", r.stderr);
}

/// For several homes, `check` names a command that works: one value for everyone, written to
/// managed settings with the homes and flags of the check (`apply` refuses to guess which
/// home's settings file to write).
#[test]
fn checks_command_for_a_team_writes_managed_settings() {
    let (_t, home) = bedrock_copy();
    let other = common::home();
    let args = ["check", home.to_str().unwrap(), other.to_str().unwrap(), "--shared-quota", "--since", "2025-01-01"];
    let r = run_in(&home, &args);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected = format!(
        "for everyone, run `sudo ccdoctor apply {} {} --shared-quota --since 2025-01-01 --settings ",
        home.display(),
        other.display(),
    );
    assert!(r.stdout.contains(&expected), "{}\nnot in:\n{}", expected, r.stdout);
    // This platform's managed file (quoted for the shell where it holds a space, on macOS).
    let managed = ccdoctor::settings::managed_settings_file().display().to_string();
    assert!(r.stdout.contains(&managed), "{managed} not in:\n{}", r.stdout);
}

/// A trial of 2026-12-07: bedrock-home with 6,000 kept said "6000 is safe" with nothing of
/// its 93 subagents' requests of a Claude Code that ignores the value, which the same scan
/// named when it changed the value. A kept value reaches them no sooner: `check` and `scan`
/// say so beside it.
#[test]
fn a_kept_value_names_the_subagents_that_ignore_it() {
    let (_t, home) =
        common::bedrock_copy_with(r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1","CLAUDE_CODE_MAX_OUTPUT_TOKENS":"6000"}}"#);
    let h = home.to_str().unwrap();
    let r = run_in(&home, &["check", "--since", "2026-10-27", h]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("ok: CLAUDE_CODE_MAX_OUTPUT_TOKENS=6000 (Sonnet 4) is safe once Claude Code is updated (")
            && r.stdout.trim_end().ends_with(
                "): 93 of the 136 Sonnet 4 requests are subagents' of a Claude Code before about 2.1.233, which ignores the value"
            ),
        "{}",
        r.stdout
    );
    let (v, _) = common::scan_json(&[h]);
    assert_eq!(v["recommendation"]["action"], "keep", "{}", v["recommendation"]);
    let advice = common::words(&v["recommendation"]["advice"].to_string());
    assert!(advice.contains("update Claude Code for the value to reach its subagents"), "{advice}");
}

/// Where no quota is known (Vertex, no 429), the history's own run shows what fits: eight
/// responses at 16,000 (two cut there, which shows the limit) without a 429, and 4,000 set by
/// hand since. Before, nothing above the value set was called safe, and 4,000 was kept
/// beside the responses it would cut; the values up to 16,000 ran, and 16,000 is advised.
#[test]
fn with_no_quota_known_a_value_the_history_ran_without_a_429_is_safe() {
    let (_t, home) = few_responses_cut(2, 16_000);
    std::fs::write(home.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"4000"}}"#).unwrap();
    let r = run_in(&home, &["scan", "--format", "json", "--provider", "vertex", home.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let rec = &v["recommendation"];
    assert_eq!((rec["action"].as_str(), rec["max_output_tokens"].as_u64()), (Some("raise"), Some(16_000)), "{rec}");
    // Not above it: the history shows nothing of larger values.
    std::fs::write(home.join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"16000"}}"#).unwrap();
    let r = run_in(&home, &["scan", "--format", "json", "--provider", "vertex", home.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["recommendation"]["action"], "keep", "{}", v["recommendation"]);
}

/// `check --format markdown`: the verdict's text escaped, its commands code spans (as the
/// scan's Markdown shows them), not backticks escaped into text.
#[test]
fn check_in_markdown_shows_its_commands_as_code() {
    let path = common::testdata().join("one-session-cliff");
    let r = common::run(&["check", "--since", "2026-12-01", "--format", "markdown", path.to_str().unwrap()]);
    assert!(r.stdout.starts_with("unsafe: CLAUDE\\_CODE\\_MAX\\_OUTPUT\\_TOKENS=16000 \\(Sonnet 4\\)"), "{}", r.stdout);
    assert!(r.stdout.contains("see `ccdoctor scan`") && r.stdout.contains(": run `ccdoctor apply "), "{}", r.stdout);
    assert!(!r.stdout.contains("\\`"), "{}", r.stdout);
}

/// A value the shell's environment sets is named so in the JSON, as the inputs table names
/// it (the new user's trial of 2026-12-08 read `current_source: "settings"` beside the
/// table's "environment").
#[test]
fn a_value_from_the_environment_is_named_so() {
    let (_t, home) = common::bedrock_copy_with(r#"{"env":{"CLAUDE_CODE_USE_BEDROCK":"1"}}"#);
    let r: Run = ccdoctor(&home)
        .env("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "16000")
        .args(["scan", "--format", "json", home.to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rec = &v["recommendation"];
    assert_eq!((rec["current"].as_u64(), rec["current_source"].as_str()), (Some(16_000), Some("environment")));
    let text = run_in(&home, &["scan", home.to_str().unwrap()]).stdout;
    assert!(!text.contains("┆ environment"), "without it, the value is not the environment's");
}

/// A `--project` that matches no project of the history is a typo to `check`, as a `--model`
/// that matches none is: "nothing checked", exit 2, naming the projects there are (the new
/// user's trial of 2026-12-08 got "ok: nothing to check", exit 0, and no word of it).
#[test]
fn check_with_a_project_that_matches_nothing_checks_nothing() {
    let home = common::bedrock_home();
    let h = home.to_str().unwrap();
    let r = common::run(&["check", h, "--project", "nomatch", "--since", "2026-11-01"]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(
            "nothing checked: --project nomatch matches no project; the history has: /sim/app0, /sim/app1"
        ),
        "{}",
        r.stdout
    );
    // One that matches is checked; one whose records lie outside the window is an empty one.
    assert_eq!(common::run(&["check", h, "--project", "app0", "--since", "2026-11-01"]).code, 1);
    let r = common::run(&["check", h, "--project", "app0", "--since", "2026-12-01"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.starts_with("ok: nothing to check"), "{}", r.stdout);
}

/// Responses cut at 8,000 and never continued wanted more, by an amount the history cannot
/// show: `check` does not say the value it advises "would not" cut them, where `scan`'s
/// replay shows "+ 4 unknown" (the second trial of 2026-12-08).
#[test]
fn check_does_not_say_a_raise_ends_cuts_whose_size_is_unknown() {
    let line = |i: u32, output: u64, cut: bool| {
        serde_json::json!({
            "type": "assistant", "cwd": "/w/app", "sessionId": "s1", "version": "2.1.150",
            "uuid": format!("u{i}"), "timestamp": format!("2026-11-02T10:{:02}:{:02}.000Z", i / 60, i % 60),
            "requestId": format!("req_{i}"),
            "message": {"model": "claude-sonnet-4-5-20250929", "id": format!("msg_{i}"), "type": "message",
                "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                "stop_reason": if cut { "max_tokens" } else { "end_turn" },
                "usage": {"input_tokens": 3, "output_tokens": output}}
        })
        .to_string()
    };
    let lines: Vec<String> = (0..40u32)
        .map(|i| if i % 10 == 5 { line(i, 8_000, true) } else { line(i, 100 + u64::from(i) * 97, false) })
        .collect();
    let dir = common::home_with(&lines);
    std::fs::write(dir.path().join("settings.json"), r#"{"env":{"CLAUDE_CODE_MAX_OUTPUT_TOKENS":"8000"}}"#).unwrap();
    let h = dir.path().to_str().unwrap();
    let r = run_in(dir.path(), &["check", "--since", "2026-11-01", h]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("would cut responses that 32000 may not (4 of them wanted more than the history shows, by how much it cannot tell)"),
        "{}",
        r.stdout
    );
    let scan = run_in(dir.path(), &["scan", h]).stdout;
    assert!(common::words(&scan).contains("+ 4 unknown"), "{scan}");
}
