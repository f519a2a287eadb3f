//! `--write`, `--dry-run` and `--revert` on copies of testdata/bedrock-home, whose
//! recommendation is 7,000 (tests/recommend.rs), so every write here sets
//! `"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "7000"`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Run, ccdoctor, names};

/// A writable copy of bedrock-home, its history written by a Claude Code whose subagents
/// follow the setting (2.1.280): the tests that write the value the advice keeps need the
/// whole history to have run at the value in the file, subagents too.
fn home_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let (t, home) = common::bedrock_copy();
    common::replace_in_transcripts(&home, "\"version\":\"2.1.150\"", "\"version\":\"2.1.280\"");
    (t, home)
}

const SECRET: &str = "sk-ant-WRITE-TEST-SECRET";

/// A settings file as a user keeps it: keys in a deliberate order, a secret, odd spellings.
fn settings_text() -> String {
    format!(
        "{{\n  \"model\": \"sonnet\",\n  \"permissions\": {{\n    \"allow\": [\"Bash(ls:*)\"],\n    \"deny\": []\n  }},\n  \"env\": {{\n    \"ANTHROPIC_API_KEY\": \"{SECRET}\",\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000,\n    \"RATIO\": 1.50\n  }},\n  \"hooks\": {{}},\n  \"zeta\": \"\\u00e9\"\n}}\n"
    )
}

fn scan(home: &Path, args: &[&str]) -> Run {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    let home_arg = home.to_string_lossy().into_owned();
    all.push(&home_arg);
    ccdoctor(home.parent().unwrap()).args(&all).output().expect("binary runs").into()
}

fn backups(dir: &Path) -> Vec<String> {
    names(dir).into_iter().filter(|n| n.contains(".ccdoctor-")).collect()
}

fn assert_clean(r: &Run) {
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    for s in [&r.stdout, &r.stderr] {
        assert!(!s.contains(SECRET) && !s.contains("FIXTURE-SECRET"), "secret printed:\n{s}");
    }
}

#[test]
fn write_changes_only_the_value_and_keeps_a_byte_exact_backup() {
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::write(&path, settings_text()).unwrap();
    let r = scan(&home, &["--write"]);
    assert_clean(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Every other byte as it was: order, spacing, `1.50`, `\u00e9`; the value a JSON string.
    let expected = settings_text()
        .replace("\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000", "\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\"");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    let b = backups(&home);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].starts_with("settings.json.ccdoctor-") && b[0].ends_with(".bak"), "{b:?}");
    assert_eq!(std::fs::read_to_string(home.join(&b[0])).unwrap(), settings_text());
    // The report ends with what was written where and how to undo it.
    let tail: Vec<&str> = r.stdout.lines().rev().take(3).collect();
    assert!(tail[0].starts_with("To undo: ccdoctor revert --settings "), "{}", r.stdout);
    assert!(tail[1].starts_with("Backup of the replaced file: "), "{}", r.stdout);
    assert!(r.stdout.contains("\"7000\""), "{}", r.stdout);
}

#[test]
fn json_output_describes_the_write() {
    let (_t, home) = home_copy();
    let r = scan(&home, &["--write", "--format", "json"]);
    assert_clean(&r);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let w = &v["write"];
    assert_eq!(w["action"], "written");
    assert_eq!(w["key"], "CLAUDE_CODE_MAX_OUTPUT_TOKENS");
    // testdata's settings.json holds "32000" as a string.
    assert_eq!((w["old"].as_str(), w["new"].as_str()), (Some("\"32000\""), Some("\"7000\"")));
    let backup = w["backup"].as_str().unwrap();
    assert_eq!(std::fs::read(backup).unwrap(), std::fs::read(common::bedrock_home().join("settings.json")).unwrap());
    assert!(w["undo"].as_str().unwrap().starts_with("ccdoctor revert --settings "), "{w}");
}

#[test]
fn dry_run_shows_the_change_and_writes_nothing() {
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::write(&path, settings_text()).unwrap();
    for format in ["table", "markdown", "json"] {
        let r = scan(&home, &["--dry-run", "--format", format]);
        assert_clean(&r);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), settings_text());
        assert!(backups(&home).is_empty());
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            assert_eq!(v["write"]["action"], "dry_run");
        } else {
            assert!(r.stdout.contains("- \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 32000\n"), "{}", r.stdout);
            assert!(r.stdout.contains("+ \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\"\n"), "{}", r.stdout);
        }
    }
}

/// 7,000 set by hand, and the history's sessions (which wrote up to 11,731 tokens, more than
/// it allows) said to have run at Claude Code's default (`--ran-at`): 7,000 is what the advice
/// keeps.
#[test]
fn nothing_to_do_writes_nothing_and_makes_no_backup() {
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    let text = "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\"}}";
    std::fs::write(&path, text).unwrap();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let r = scan(&home, &["--write", "--ran-at", "32000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("already sets \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\""), "{}", r.stdout);
    assert!(r.stdout.contains("nothing written, no backup made"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), before);
    assert!(backups(&home).is_empty());
}

/// The adversarial review's item 3: a value spelled otherwise that Claude Code reads as the
/// one advised is already in effect: no write, no backup. A JSON number is still rewritten as
/// a string (Claude Code 2.1.94 crashed on a number). The history ran at Claude Code's default
/// (`--ran-at`: its sessions wrote more than 7,000, and nothing dates the value).
#[test]
fn a_value_in_effect_in_another_spelling_is_not_rewritten() {
    for spelled in ["\"7e3\"", "\"7_000\"", "\" 7000\"", "\"7000.0\""] {
        let (_t, home) = home_copy();
        let path = home.join("settings.json");
        let text = format!(
            "{{\"env\": {{\"CLAUDE_CODE_USE_BEDROCK\": \"1\", \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": {spelled}}}}}"
        );
        std::fs::write(&path, &text).unwrap();
        let apply = ["apply", "--ran-at", "32000", home.to_str().unwrap()];
        let r: Run = common::ccdoctor(home.parent().unwrap()).args(apply).output().unwrap().into();
        assert_eq!(r.code, 0, "{spelled}: {}", r.stderr);
        assert!(
            r.stdout.contains(&format!(
                "already sets \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": {spelled}, which Claude Code reads as 7000; nothing written, no backup made"
            )),
            "{spelled}: {}",
            r.stdout
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "{spelled}");
        assert!(backups(&home).is_empty(), "{spelled}: {:?}", backups(&home));
    }
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::write(&path, "{\"env\": {\"CLAUDE_CODE_USE_BEDROCK\": \"1\", \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 7000}}")
        .unwrap();
    let r = scan(&home, &["--write", "--ran-at", "32000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Wrote \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\""), "{}", r.stdout);
    let said = "Note: --ran-at 32000 is kept beside the backup: the next `scan`, `check` and `apply` read it";
    assert!(common::words(&r.stdout).contains(said), "{}", r.stdout);
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"7000\""));
    // One backup, and the note of what --ran-at said beside it.
    let kinds: Vec<&str> = backups(&home).iter().map(|n| if n.ends_with(".bak") { "bak" } else { "other" }).collect();
    let ran_at = backups(&home).iter().filter(|n| n.ends_with(".ran-at")).count();
    assert_eq!((kinds.iter().filter(|&&k| k == "bak").count(), ran_at, kinds.len()), (1, 1, 2), "{:?}", backups(&home));
}

/// The adversarial review's item 4: a settings file with another hard link is replaced by a
/// new file (the write is atomic), so the other name keeps the old contents: the report says
/// so, in the dry run too.
#[test]
fn a_hard_linked_file_is_written_and_the_split_is_said() {
    let (t, home) = home_copy();
    let path = home.join("settings.json");
    let other = t.path().join("dotfiles-settings.json");
    std::fs::hard_link(&path, &other).unwrap();
    let before = std::fs::read_to_string(&path).unwrap();
    let said = "has 1 other hard link: ccdoctor puts a new file in its place, so the other name keeps the old contents";
    let r = scan(&home, &["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(said), "{}", r.stdout);
    let r = scan(&home, &["--write"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(said), "{}", r.stdout);
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"7000\""));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), before, "the other name keeps the old contents");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&path).unwrap().nlink(), 1);
    // A revert replaces the file too, and says so likewise.
    std::fs::remove_file(&other).unwrap();
    std::fs::hard_link(&path, &other).unwrap();
    let r = scan(&home, &["--revert", "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(said), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert!(std::fs::read_to_string(&other).unwrap().contains("\"7000\""));
    // A file without other links gets no such note.
    let r = scan(&home, &["--write"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("hard link"), "{}", r.stdout);
}

#[test]
fn unusable_files_are_refused_before_the_scan_and_left_untouched() {
    for (text, problem) in [
        ("{\"env\": {\"A\": 1,}}", "not valid JSON"),
        ("[\"env\"]", "not a JSON object"),
        ("{\"env\": [\"CLAUDE_CODE_MAX_OUTPUT_TOKENS=7000\"]}", "`env` is not an object (it is an array)"),
        ("{\"env\": \"x\"}\n\u{0}", "not valid JSON"),
    ] {
        let (_t, home) = home_copy();
        let path = home.join("settings.json");
        std::fs::write(&path, text).unwrap();
        let r = scan(&home, &["--write"]);
        assert_clean(&r);
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("{}: {problem}", path.display())), "{text}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "refused before the scan: {}", r.stdout);
        assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
        assert!(backups(&home).is_empty());
    }
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let r = scan(&home, &["--write"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is a folder, not a settings file"), "{}", r.stderr);
}

/// Claude Code ignores a settings file over 2 MiB: a write that would leave one is refused,
/// whether the file is already that large or only the edit makes it so.
#[test]
fn settings_claude_code_would_refuse_are_not_written() {
    const LIMIT: usize = 2 * 1024 * 1024;
    let padded = |len: usize| {
        let head = "{\"notes\": \"";
        let tail = "\", \"env\": {}}\n";
        format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
    };
    for (len, before_scan) in [(LIMIT + 1, true), (LIMIT - 10, false)] {
        let (_t, home) = home_copy();
        let path = home.join("settings.json");
        let text = padded(len);
        assert_eq!(text.len(), len);
        std::fs::write(&path, &text).unwrap();
        let r = scan(&home, &["--write"]);
        assert_eq!(r.code, 2, "{len}: {}", r.stderr);
        assert!(r.stderr.contains("Claude Code refuses settings files over 2 MiB"), "{len}: {}", r.stderr);
        assert_eq!(r.stdout.is_empty(), before_scan, "{len}: {}", r.stdout);
        assert_eq!(std::fs::read(&path).unwrap(), text.as_bytes());
        assert!(backups(&home).is_empty());
    }
}

#[test]
fn a_missing_file_is_created_with_its_folders() {
    let (_t, home) = home_copy();
    let path = home.join("proj/.claude/settings.local.json");
    let r = scan(&home, &["--write", "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\"\n  }\n}\n"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(r.stdout.contains("Created "), "{}", r.stdout);
    // No backup (there was nothing to keep), but a note of what was created, for `revert`.
    let notes = backups(&home.join("proj/.claude"));
    assert!(notes.len() == 1 && notes[0].ends_with(".created"), "{notes:?}");
    assert_eq!(std::fs::read(home.join("proj/.claude").join(&notes[0])).unwrap(), std::fs::read(&path).unwrap());
}

/// A managed settings file is for every user's Claude Code: created readable by all, and an
/// existing one that others cannot read is said so (issue 23, item 1).
#[test]
fn a_managed_settings_file_is_readable_by_everyone() {
    let (_t, home) = home_copy();
    // The managed folder of these tests (common::ccdoctor's CCDOCTOR_MANAGED_SETTINGS_DIR).
    let managed = home.parent().unwrap().join("no-managed-settings/managed-settings.json");
    let r = scan(&home, &["--write", "--settings", managed.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::metadata(&managed).unwrap().permissions().mode() & 0o777, 0o644);
    assert!(!r.stdout.contains("readable by its owner only"), "{}", r.stdout);
    // Made unreadable by others, then written again: kept so, and said.
    std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&managed, "{\"env\": {}}\n").unwrap();
    let r = scan(&home, &["--write", "--settings", managed.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::metadata(&managed).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(
        r.stdout.contains("is readable by its owner only (mode 0600): other users' Claude Code cannot read"),
        "{}",
        r.stdout
    );
}

/// A file named managed-settings.json outside the managed folder (staged for a device
/// manager) is created readable by all too; any other new file, by its owner only.
#[test]
fn a_staged_managed_settings_file_is_readable_by_everyone() {
    let (_t, home) = home_copy();
    let staged = home.parent().unwrap().join("deploy/managed-settings.json");
    std::fs::create_dir_all(staged.parent().unwrap()).unwrap();
    let r = scan(&home, &["--write", "--settings", staged.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::metadata(&staged).unwrap().permissions().mode() & 0o777, 0o644);
}

/// `revert` undoes an `apply` that created the file: the file, unchanged since, is removed;
/// changed since, it is not ccdoctor's to remove (issue 23, item 8).
#[test]
fn revert_undoes_a_creation_by_removing_the_file() {
    let (_t, home) = home_copy();
    let path = home.join("proj/.claude/settings.local.json");
    assert_eq!(scan(&home, &["--write", "--settings", path.to_str().unwrap()]).code, 0);
    let revert = || -> Run {
        ccdoctor(&home).args(["revert", "--json", "--settings", path.to_str().unwrap()]).output().unwrap().into()
    };
    let r = revert();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!path.exists());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!((v["write"]["action"].as_str(), v["write"]["old"].as_str()), (Some("reverted"), Some("\"7000\"")));
    // The note of the creation goes with it.
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 0);
    // Said as a removal, not as a backup put back.
    assert_eq!(scan(&home, &["--write", "--settings", path.to_str().unwrap()]).code, 0);
    let r: Run = ccdoctor(&home).args(["revert", "--settings", path.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("ccdoctor created it, and no file was there before.")
            && !r.stdout.contains("Put the backup back"),
        "{}",
        r.stdout
    );
    assert!(!path.exists());
    // Nothing left to undo.
    assert_eq!(revert().code, 2);
    // Created, then changed by someone: not removed.
    assert_eq!(scan(&home, &["--write", "--settings", path.to_str().unwrap()]).code, 0);
    std::fs::write(
        &path,
        "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"7000\",\n    \"X\": \"1\"\n  }\n}\n",
    )
    .unwrap();
    let r = revert();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("ccdoctor created it, and it has changed since; not removed"), "{}", r.stderr);
    assert!(path.exists());
    // Created, then changed to another value in the very layout `apply` writes: someone's
    // value, not removed.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(scan(&home, &["--write", "--settings", path.to_str().unwrap()]).code, 0);
    let theirs = "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"16000\"\n  }\n}\n";
    std::fs::write(&path, theirs).unwrap();
    assert_eq!(revert().code, 2);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs);
    // A file ccdoctor never made, in that layout: never removed.
    let folder = path.parent().unwrap();
    for e in std::fs::read_dir(folder).unwrap() {
        let e = e.unwrap().path();
        if e != path {
            std::fs::remove_file(e).unwrap();
        }
    }
    let r = revert();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("no ccdoctor backup"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs);
}

#[test]
fn revert_puts_the_original_back_and_keeps_what_it_replaces() {
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::write(&path, settings_text()).unwrap();
    assert_eq!(scan(&home, &["--write"]).code, 0);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_ne!(written, settings_text());
    let r: Run =
        ccdoctor(&home).args(["scan", "--revert", "--settings", path.to_str().unwrap()]).output().unwrap().into();
    assert_clean(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), settings_text());
    // The backup was used up; the file held nothing but ccdoctor's write, so nothing else is
    // kept: the backup had all of it.
    assert!(backups(&home).is_empty(), "{:?}", backups(&home));
    // Written again, then changed by someone else: the revert keeps what it replaces.
    assert_eq!(scan(&home, &["--write"]).code, 0);
    let changed = written.replace("\"model\": \"sonnet\"", "\"model\": \"opus\"");
    assert_ne!(changed, written);
    std::fs::write(&path, &changed).unwrap();
    let r: Run =
        ccdoctor(&home).args(["scan", "--revert", "--settings", path.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), settings_text());
    let b = backups(&home);
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].ends_with(".pre-revert"));
    assert_eq!(std::fs::read_to_string(home.join(&b[0])).unwrap(), changed);
    std::fs::remove_file(home.join(&b[0])).unwrap();
    // Nothing further back: a clear refusal.
    let r: Run =
        ccdoctor(&home).args(["scan", "--revert", "--settings", path.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no ccdoctor backup"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), settings_text());
}

#[test]
fn a_symlinked_settings_file_stays_a_link() {
    let (t, home) = home_copy();
    let dots = t.path().join("dotfiles");
    std::fs::create_dir(&dots).unwrap();
    std::fs::write(dots.join("claude-settings.json"), settings_text()).unwrap();
    let path = home.join("settings.json");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("../dotfiles/claude-settings.json", &path).unwrap();
    let r = scan(&home, &["--write"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(dots.join("claude-settings.json")).unwrap().contains("\"7000\""));
    // The backup sits beside the link, not in the dotfiles repository.
    assert_eq!(names(&dots), ["claude-settings.json"]);
    assert_eq!(backups(&home).len(), 1);
    assert!(r.stdout.contains("(a link to "), "{}", r.stdout);
}

#[test]
fn permission_bits_are_kept() {
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_eq!(scan(&home, &["--write"]).code, 0);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o640);
    let b = backups(&home);
    assert_eq!(std::fs::metadata(home.join(&b[0])).unwrap().permissions().mode() & 0o7777, 0o640);
}

#[test]
fn an_outranking_source_is_named() {
    let (t, home) = home_copy();
    let project = t.path().join("app");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.local.json"),
        "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"4000\"}}",
    )
    .unwrap();
    let managed = t.path().join("managed");
    std::fs::create_dir(&managed).unwrap();
    std::fs::write(managed.join("managed-settings.json"), "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": 2000}}")
        .unwrap();
    let r: Run = ccdoctor(&home)
        .current_dir(&project)
        .env("CCDOCTOR_MANAGED_SETTINGS_DIR", &managed)
        .env("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "12000")
        .args(["scan", "--write", "--format", "json", home.to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let notes: Vec<&str> = v["write"]["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let local = project.join(".claude/settings.local.json");
    assert!(
        notes.iter().any(|n| n.starts_with("will not take effect: the local")
            && n.contains(&local.display().to_string())
            && n.contains("\"4000\"")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("will not take effect: the managed") && n.contains("= 2000")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.starts_with("the shell sets CLAUDE_CODE_MAX_OUTPUT_TOKENS=12000")), "{notes:?}");
    // The value the advice compares with is named with its source, not claimed as the one
    // the history ran at (without a backup of `apply`, that is a guess).
    assert!(
        notes.iter().any(|n| n.starts_with("This file held ")
            && n.contains("; the value in effect is 2,000 (managed: ")
            && n.ends_with("): the advice compares with that")),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("ran at")), "{notes:?}");
}

#[test]
fn a_thinking_budget_at_or_above_the_value_is_pointed_out() {
    // The recommendation keeps room above the effective thinking budget; this file is not the
    // one in effect here (another project's), so its budget is checked at write time.
    let (_t, home) = home_copy();
    let path = home.join("other/.claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\"env\": {\"MAX_THINKING_TOKENS\": \"11000\"}}\n").unwrap();
    let r = scan(&home, &["--write", "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Note: MAX_THINKING_TOKENS = 11000 in this file is at or above"), "{}", r.stdout);
    // Left to the user.
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"MAX_THINKING_TOKENS\": \"11000\""));
}

#[test]
fn no_value_to_write_is_a_failure_and_writes_nothing() {
    let (_t, home) = home_copy();
    let r = scan(&home, &["--write", "--quota-tpm", "100000", "--parallel", "80"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("nothing written"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(home.join("settings.json")).unwrap(),
        std::fs::read(common::bedrock_home().join("settings.json")).unwrap()
    );
}

#[test]
fn settings_without_an_action_is_a_usage_error() {
    let (_t, home) = home_copy();
    let r = scan(&home, &["--settings", "x.json"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("add one of them"), "{}", r.stderr);
}

/// The write decides the exit status: a report that cannot be printed afterwards (a full
/// disk) is a warning, and the file is written all the same; without a write it is a failure.
#[test]
fn a_report_that_cannot_be_printed_does_not_undo_the_write() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full exists on Linux");
    let (_t, home) = home_copy();
    let path = home.join("settings.json");
    let home_arg = home.to_string_lossy().into_owned();
    let r: Run = ccdoctor(home.parent().unwrap())
        .args(["scan", "--write", &home_arg])
        .stdout(full.try_clone().unwrap())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("warning: the report could not be printed"), "{}", r.stderr);
    assert!(r.stderr.contains("was changed all the same (undo: ccdoctor revert"), "{}", r.stderr);
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"7000\""));
    // --revert likewise.
    let r: Run = ccdoctor(home.parent().unwrap())
        .args(["scan", "--revert", "--settings", path.to_str().unwrap()])
        .stdout(full.try_clone().unwrap())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!std::fs::read_to_string(&path).unwrap().contains("7000"));
    // Nothing changed (a dry run): the failed print is the run's failure.
    let r: Run =
        ccdoctor(home.parent().unwrap()).args(["scan", "--dry-run", &home_arg]).stdout(full).output().unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("error: writing the report"), "{}", r.stderr);
}

/// The new-user review of 2026-12-05: transcripts do not record max_tokens, and the history
/// was read as run at the value now, so `apply` run again with no new session undid itself
/// (13000, then 3000, then 13000 on bedrock-home at 300,000 TPM). The backup each `apply`
/// leaves tells the value before it: the history ran at that. The same for a file `apply`
/// created.
#[test]
fn apply_again_with_no_new_session_keeps_its_value() {
    for created in [false, true] {
        let (_t, home) = common::bedrock_copy();
        let path = home.join("settings.json");
        if created {
            std::fs::remove_file(&path).unwrap();
        }
        let apply = || -> Run {
            let mut c = common::ccdoctor(home.parent().unwrap());
            if created {
                c.env("CLAUDE_CODE_USE_BEDROCK", "1");
            }
            c.args(["apply", home.to_str().unwrap(), "--quota-tpm", "300000"]).output().unwrap().into()
        };
        let first = apply();
        assert_eq!(first.code, 0, "{}", first.stderr);
        let value = std::fs::read_to_string(&path).unwrap();
        assert!(value.contains("\"13000\""), "created {created}: {value}\n{}", first.stdout);
        for _ in 0..2 {
            let again = apply();
            assert_eq!(again.code, 0, "{}", again.stderr);
            assert!(again.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=13000  (keep)"), "{}", again.stdout);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), value);
        }
    }
}

/// one-session-cliff ran at 16,000; its user set 3,000 by hand. `apply --ran-at 16000` writes
/// the advice and keeps the flag beside its backup: the next `check`, given no flag, reads the
/// history as the user said (before, it guessed again and called the value written unsafe,
/// and its own fix undid it). The newest word wins; `revert` takes back what was said with
/// the write it undoes; without a note the scan guesses again. A file the scan does not read
/// keeps nothing, and says so.
#[test]
fn apply_keeps_what_ran_at_said_for_the_next_runs() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("cliff");
    common::copy_tree(&common::testdata().join("one-session-cliff"), &home);
    let path = home.join("settings.json");
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap().replace("\"16000\"", "\"3000\"")).unwrap();
    let h = home.to_str().unwrap();
    let notes = || -> Vec<String> { common::names(&home).into_iter().filter(|n| n.ends_with(".ran-at")).collect() };
    let kept = || {
        let (json, _) = common::scan_json(&[h]);
        let r = json["recommendation"].clone();
        let said = (r["inputs"]["ran_at"].as_u64(), r["inputs"]["ran_at_origin"].as_str().map(str::to_string));
        (r["current"].as_u64(), r["action"].as_str().map(str::to_string), said, r["limit_above"].is_null())
    };
    let r = common::run(&["apply", "--ran-at", "32000", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = notes();
    assert_eq!(first.len(), 1, "{:?}", common::names(&home));
    // Named as the write's backup is.
    assert!(common::names(&home).contains(&first[0].replace(".ran-at", ".bak")), "{:?}", common::names(&home));
    let check = common::run(&["check", "--since", "2026-12-01", h]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(check.stdout.starts_with("ok: ") && !check.stdout.contains("is a guess"), "{}", check.stdout);
    let at_32 = kept();
    assert_eq!(
        (at_32.1.as_deref(), at_32.2.clone(), at_32.3),
        (Some("keep"), (Some(32_000), Some("kept".into())), true)
    );
    // The user's latest word wins over the older note: what it ran at was 16,000.
    let r = common::run(&["apply", "--ran-at", "16000", h]);
    assert_eq!((r.code, notes().len()), (0, 2), "{}", r.stdout);
    let at_16 = kept();
    assert_eq!((at_16.1.as_deref(), at_16.2.0), (Some("keep"), Some(16_000)));
    assert!(at_16.0 < at_32.0, "{at_16:?} {at_32:?}");
    // Reverting that write takes back what was said with it, not what was said before.
    let r = common::run(&["revert", "--settings", path.to_str().unwrap()]);
    assert!(common::words(&r.stdout).contains("the --ran-at kept with that write is removed too"), "{}", r.stdout);
    assert_eq!((notes(), kept()), (first.clone(), at_32));
    // The note gone, the history is a guess again.
    std::fs::remove_file(home.join(&first[0])).unwrap();
    let check = common::run(&["check", "--since", "2026-12-01", h]);
    assert!(check.stdout.contains("is a guess"), "{}", check.stdout);
    // A file the scan does not read keeps nothing for it.
    let other = t.path().join("other.json");
    let r = common::run(&["apply", "--ran-at", "16000", "--settings", other.to_str().unwrap(), h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        common::words(&r.stdout).contains("--ran-at 16000 is not kept: the scan reads no settings file at"),
        "{}",
        r.stdout
    );
    assert!(notes().is_empty() && !common::names(t.path()).iter().any(|n| n.ends_with(".ran-at")));
}

/// A backup name dated in the future (a clock set back since, or a plant) beside the settings
/// file: `apply --ran-at` named its note after that name, not beside the backup it made, so
/// the next runs read nothing; and `revert` refused to run (the adversarial review of
/// 2026-12-08). The note now goes beside the write's own backup, and `revert` passes the
/// future name over, restores the write's backup and leaves the other in place.
#[test]
fn a_backup_dated_in_the_future_is_passed_over() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("bh");
    common::copy_tree(&common::bedrock_home(), &home);
    let path = home.join("settings.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let future = home.join("settings.json.ccdoctor-20991231T000000.000000.bak");
    std::fs::write(&future, &original).unwrap();
    let h = home.to_str().unwrap();
    let r = common::run(&["apply", "--ran-at", "32000", h]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names = common::names(&home);
    let notes: Vec<&String> = names.iter().filter(|n| n.ends_with(".ran-at")).collect();
    assert_eq!(notes.len(), 1, "{names:?}");
    assert!(!notes[0].contains("2099") && names.contains(&notes[0].replace(".ran-at", ".bak")), "{names:?}");
    let (json, _) = common::scan_json(&[h]);
    assert_eq!(json["recommendation"]["inputs"]["ran_at"], 32_000);
    let r = common::run(&["revert", "--settings", path.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(common::words(&r.stdout).contains("is dated in the future; not restored, left in place"), "{}", r.stdout);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    assert!(future.exists());
    assert!(!common::names(&home).iter().any(|n| n.ends_with(".ran-at")));
}
