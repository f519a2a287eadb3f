//! Helpers shared by the integration tests: run the real binary with a controlled
//! environment and read its output back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Output with its line wrapping undone: words separated by one space, to search for a
/// sentence the table wrapped.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

pub fn home() -> PathBuf {
    testdata().join("claude-home")
}

/// The simulated Bedrock history (testdata/README.md): throttled at 32,000, recommended 7,000.
pub fn bedrock_home() -> PathBuf {
    testdata().join("bedrock-home")
}

/// A command for the binary with an empty, predictable environment: HOME points at `home`,
/// and nothing from the developer's shell (CLAUDE_CONFIG_DIR, NO_COLOR, …) leaks in.
pub fn ccdoctor(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ccdoctor"));
    c.env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        // Keep the machine's managed settings (/etc/claude-code) out of the tests.
        .env("CCDOCTOR_MANAGED_SETTINGS_DIR", home.join("no-managed-settings"))
        .current_dir(home);
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `ccdoctor ARGS` (HOME set to an empty temporary folder).
pub fn run(args: &[&str]) -> Run {
    let tmp = tempfile::tempdir().expect("tempdir");
    ccdoctor(tmp.path()).args(args).output().expect("binary runs").into()
}

/// Runs a scan with `--format json` and parses stdout, asserting a clean exit and no panic.
pub fn scan_json(args: &[&str]) -> (serde_json::Value, String) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "exit status; stderr:\n{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", r.stdout));
    (v, r.stderr)
}

pub fn home_str() -> String {
    home().to_string_lossy().into_owned()
}

/// Copies a folder tree (files and folders only) into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A writable copy of testdata/claude-home in a temporary folder: (guard, home).
pub fn home_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("claude-home");
    copy_tree(&self::home(), &home);
    (tmp, home)
}

/// A writable copy of testdata/bedrock-home: (guard, home).
pub fn bedrock_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("bedrock-home");
    copy_tree(&bedrock_home(), &home);
    (tmp, home)
}

/// A writable copy of testdata/bedrock-home whose settings file holds `settings`.
pub fn bedrock_copy_with(settings: &str) -> (tempfile::TempDir, PathBuf) {
    let (tmp, home) = bedrock_copy();
    std::fs::write(home.join("settings.json"), settings).unwrap();
    (tmp, home)
}

/// The names in a folder, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Whether the tests run as root, who reads and writes through file permissions.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// [`ccdoctor`] as an unprivileged user (uid and gid 65534) when the tests run as root, so
/// that file permissions apply as they do for a user; as itself otherwise. `reach` is made
/// traversable by that user (a temporary folder is 0700) and gets a copy of the binary, so
/// the checkout's own permissions do not matter. Panics when privileges cannot be dropped:
/// a permission test that quietly passes as root tests nothing.
pub fn ccdoctor_as_user(home: &Path, reach: &Path) -> Command {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        return ccdoctor(home);
    }
    std::fs::set_permissions(reach, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = reach.join("ccdoctor-unprivileged");
    std::fs::copy(env!("CARGO_BIN_EXE_ccdoctor"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let probe = Command::new("setpriv").args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"]).status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "running as root, and setpriv (util-linux) cannot drop privileges: this permission test cannot run"
    );
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("CCDOCTOR_MANAGED_SETTINGS_DIR", home.join("no-managed-settings"))
        .current_dir(reach);
    c
}

/// A config home whose one transcript holds `lines`.
pub fn home_with(lines: &[String]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("projects/p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.jsonl"), lines.join("\n") + "\n").unwrap();
    t
}

/// `scan --format json HOME` (with `--full-parse` when `full`), which must exit 0 without a
/// panic: its JSON and the run.
pub fn scan_path(home: &Path, full: bool) -> (serde_json::Value, Run) {
    let mut args = vec!["scan", "--format", "json", home.to_str().unwrap()];
    if full {
        args.push("--full-parse");
    }
    let r: Run = ccdoctor(home).args(&args).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    (serde_json::from_str(&r.stdout).unwrap(), r)
}

/// The fast path's and the full parse's reports of `home`, which must be the same: the
/// fast path's, and its run.
pub fn both_paths(home: &Path) -> (serde_json::Value, Run) {
    let (fast, r) = scan_path(home, false);
    let (full, full_run) = scan_path(home, true);
    assert_eq!(fast, full, "fast path and full parse differ\nfast: {}\nfull: {}", r.stderr, full_run.stderr);
    (fast, r)
}

/// A property test's config with `n` cases, or `PROPTEST_CASES` where set: how a longer hunt
/// than the test suite's is run (`PROPTEST_CASES=200000 cargo test --release --test …`).
pub fn cases(n: u32) -> proptest::prelude::ProptestConfig {
    match std::env::var_os("PROPTEST_CASES") {
        Some(_) => proptest::prelude::ProptestConfig::default(),
        None => proptest::prelude::ProptestConfig::with_cases(n),
    }
}

/// Replaces `from` by `to` in every transcript of `home` (a copy's model ids or versions).
pub fn replace_in_transcripts(home: &Path, from: &str, to: &str) {
    for entry in walkdir::WalkDir::new(home.join("projects")) {
        let p = entry.unwrap().into_path();
        if p.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, text.replace(from, to)).unwrap();
        }
    }
}
