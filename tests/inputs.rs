//! Where the scan looks, and what it refuses to read.

mod common;

use std::fs;

use common::{Run, ccdoctor, home, run};

fn line(uuid: &str, out: u64) -> String {
    format!(
        r#"{{"type":"assistant","uuid":"{uuid}","sessionId":"s","timestamp":"2026-01-01T00:00:00Z","requestId":"req_{uuid}","message":{{"id":"msg_{uuid}","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"hi"}}],"usage":{{"output_tokens":{out}}}}}}}"#
    ) + "\n"
}

fn mini_home(dir: &std::path::Path) -> std::path::PathBuf {
    let h = dir.join("h");
    fs::create_dir_all(h.join("projects/p")).unwrap();
    fs::write(h.join("projects/p/s.jsonl"), line("a", 100)).unwrap();
    h
}

/// A `--model` the history has no response of, in a history without errors: the verdict
/// says whose responses are missing, not that the history has none.
#[test]
fn no_responses_of_the_model_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    let r = run(&["scan", "--model", "gpt-4", h.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("No responses of --model gpt-4."), "{}", r.stdout);
    let r = run(&["scan", h.to_str().unwrap()]);
    assert!(r.stdout.starts_with("No throttling or output-limit errors in 1 response."), "{}", r.stdout);
}

/// Records dated after today: said, and read as they are.
#[test]
fn a_history_from_the_future_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let h = tmp.path().join("h");
    fs::create_dir_all(h.join("projects/p")).unwrap();
    fs::write(h.join("projects/p/s.jsonl"), line("a", 100).replace("2026-01-01", "2099-01-01")).unwrap();
    let r = run(&["scan", h.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("note: the newest record is from 2099-01-01, "), "{}", r.stderr);
    assert!(r.stderr.contains(" days from now: the clock that wrote it was off"), "{}", r.stderr);
    // A record of the past says nothing of it.
    let r = run(&["scan", mini_home(tmp.path()).to_str().unwrap()]);
    assert!(!r.stderr.contains("from now"), "{}", r.stderr);
}

#[test]
fn no_path_uses_claude_config_dir_list() {
    let tmp = tempfile::tempdir().unwrap();
    let a = mini_home(tmp.path());
    let r: Run = ccdoctor(tmp.path())
        .args(["scan", "--json"])
        .env("CLAUDE_CONFIG_DIR", format!("{}, {}", a.display(), home().display()))
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["roots"].as_array().unwrap().len(), 2);
    assert_eq!(v["responses"]["count"], 17);
}

/// A config home whose path holds a comma is one folder, not a list (the adversarial
/// review's item 5); a list is still a list.
#[test]
fn a_config_dir_with_a_comma_in_its_path_is_one_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let a = mini_home(tmp.path());
    let comma = tmp.path().join("a,b").join(".claude");
    fs::create_dir_all(comma.parent().unwrap()).unwrap();
    fs::rename(&a, &comma).unwrap();
    let r: Run =
        ccdoctor(tmp.path()).args(["scan", "--json"]).env("CLAUDE_CONFIG_DIR", &comma).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    // No warning (the note that the history is old is not one).
    assert!(!r.stderr.contains("warning") && !r.stderr.contains("error"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["roots"][0]["path"], comma.to_str().unwrap());
    assert_eq!(v["responses"]["count"], 1);
}

/// A `CLAUDE_CONFIG_DIR` that is not UTF-8 names a folder like any other: it is read, and
/// `apply` writes there, never into ~/.claude instead (the adversarial review's item 5).
#[test]
fn a_config_dir_that_is_not_utf8_is_read_and_written() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    // ~/.claude holds another history, which must not be read.
    let dot = mini_home(tmp.path());
    fs::rename(&dot, tmp.path().join(".claude")).unwrap();
    let odd = tmp.path().join(std::ffi::OsStr::from_bytes(b"cfg-\xff"));
    common::copy_tree(&common::bedrock_home(), &odd);
    let r: Run = ccdoctor(tmp.path()).args(["scan", "--json"]).env("CLAUDE_CONFIG_DIR", &odd).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["roots"].as_array().unwrap().len(), 1);
    assert_ne!(v["responses"]["count"], 1, "~/.claude was read instead");
    let before = fs::read(tmp.path().join(".claude/settings.json")).ok();
    let r: Run = ccdoctor(tmp.path()).arg("apply").env("CLAUDE_CONFIG_DIR", &odd).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(fs::read_to_string(odd.join("settings.json")).unwrap().contains("\"7000\""));
    assert_eq!(fs::read(tmp.path().join(".claude/settings.json")).ok(), before, "~/.claude untouched");
}

#[test]
fn no_path_falls_back_to_dot_claude() {
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    fs::rename(&h, tmp.path().join(".claude")).unwrap();
    let r: Run = ccdoctor(tmp.path()).args(["scan", "--json"]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("\"count\": 1"));
}

#[test]
fn no_home_at_all_is_a_clear_error() {
    let r = run(&["scan"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no Claude Code config home found"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    // The hint names a PATH after any command, check's too (it named `scan PATH` alone).
    let r = run(&["check"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("name one after the command (ccdoctor scan PATH, ccdoctor check PATH)"), "{}", r.stderr);
}

#[test]
fn a_missing_path_exits_2_and_an_empty_home_0() {
    let r = run(&["scan", "/definitely/not/here"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("/definitely/not/here: no such file or folder"), "{}", r.stderr);
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("projects")).unwrap();
    // An empty history is an answer: said on stderr, an empty report on stdout, exit 0.
    let r = run(&["scan", tmp.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("note: nothing to report in") && r.stderr.contains("no transcripts"), "{}", r.stderr);
    assert!(r.stdout.starts_with("No responses found."), "{}", r.stdout);
}

#[cfg(unix)]
#[test]
fn fifo_symlink_loop_and_folder_named_jsonl_do_not_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    let p = h.join("projects/p");
    let fifo = p.join("pipe.jsonl");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/zero", p.join("zero.jsonl")).unwrap();
    std::os::unix::fs::symlink(&p, p.join("loop")).unwrap();
    fs::create_dir_all(p.join("folder.jsonl")).unwrap();
    fs::write(p.join("folder.jsonl/inner.jsonl"), line("b", 200)).unwrap();
    let r = run(&["scan", "--json", h.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["responses"]["count"], 2, "the real file and the one inside folder.jsonl");
    assert_eq!(v["scan"]["not_regular"], 2, "the FIFO and /dev/zero");
    assert!(r.stderr.contains("pipe.jsonl: not a regular file, skipped"), "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link loop"), "{}", r.stderr);
}

/// `--debug-file` naming a FIFO (reading it would wait for a writer) or a folder: said, and
/// the scan goes on; only a path that is not there is a usage error.
#[cfg(unix)]
#[test]
fn a_debug_file_that_is_a_fifo_or_a_folder_is_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    let fifo = tmp.path().join("debug.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let folder = tmp.path().join("logs");
    fs::create_dir_all(&folder).unwrap();
    let (home, fifo, folder) = (h.to_str().unwrap(), fifo.to_str().unwrap(), folder.to_str().unwrap());
    let r = run(&["scan", "--json", home, "--debug-file", fifo, "--debug-file", folder]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("--debug-file {fifo}: not a regular file, skipped")), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("--debug-file {folder}: a folder, not a debug log; skipped")), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["responses"]["count"], 1, "{}", r.stdout);
    let gone = tmp.path().join("gone.log");
    let r = run(&["scan", home, "--debug-file", gone.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("gone.log: no such file or folder"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_named_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    let locked = h.join("projects/p/locked.jsonl");
    fs::write(&locked, line("c", 300)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let r: common::Run =
        common::ccdoctor_as_user(&h, tmp.path()).args(["scan", "--json", h.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("locked.jsonl: cannot read"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["unreadable"], 1);
    assert_eq!(v["responses"]["count"], 1);
}

/// A read that fails after the file opened (here `/proc/self/mem`, which answers EIO at offset
/// 0 even to root) is named and counted, and the other files are still read.
#[cfg(target_os = "linux")]
#[test]
fn read_error_is_named_and_the_scan_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let h = mini_home(tmp.path());
    std::os::unix::fs::symlink("/proc/self/mem", h.join("projects/p/mem.jsonl")).unwrap();
    let r = run(&["scan", "--json", h.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("mem.jsonl:1: read error, rest of file skipped"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scan"]["unreadable"], 1);
    assert_eq!(v["responses"]["count"], 1);
}
