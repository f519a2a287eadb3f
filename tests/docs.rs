//! The README and testdata/README.md say what the program does: their commands run, their
//! excerpt is the program's own output, and every sample they point at is described.

mod common;

use std::path::Path;

use common::{Run, ccdoctor, testdata};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The fenced block that follows `heading`.
fn block_after(text: &str, heading: &str) -> String {
    let from = text.find(heading).unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &text[from..];
    let open = rest.find("```").unwrap();
    let body = &rest[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// Issue 23, item 9: the install block's commands (all but `cargo install`) work on a fresh
/// home, where no completions folder exists yet.
#[test]
fn the_install_commands_run_on_a_fresh_home() {
    let block = block_after(&readme(), "## Install");
    let commands: Vec<&str> = block
        .lines()
        .map(|l| l.split("   #").next().unwrap().trim())
        .filter(|l| !l.is_empty() && !l.starts_with("cargo "))
        .collect();
    assert!(commands.iter().any(|c| c.starts_with("ccdoctor completions")), "{commands:?}");
    let home = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_ccdoctor")).parent().unwrap();
    for c in &commands {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(c)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .current_dir(home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{c}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(home.path().join(".local/share/bash-completion/completions/ccdoctor").is_file());
    assert!(home.path().join(".local/share/man/man1/ccdoctor.1").is_file());
}

/// Issue 23, item 9: the README's excerpt of `ccdoctor scan testdata/bedrock-home` is the
/// program's output: each run of lines between the `…` that abridge it is a run of the real
/// output, no line left out of it (the Demand line once was).
#[test]
fn the_readmes_excerpt_is_the_real_output() {
    let block = block_after(&readme(), "## What it says");
    let mut lines = block.lines();
    assert_eq!(lines.next(), Some("$ ccdoctor scan testdata/bedrock-home"));
    let home = testdata().join("bedrock-home");
    let r: Run = ccdoctor(&testdata()).args(["scan", home.to_str().unwrap()]).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let output: Vec<&str> = r.stdout.lines().collect();
    let excerpt: Vec<&str> = lines.collect();
    let mut from = 0;
    for run in excerpt.split(|l| *l == "…").filter(|run| !run.is_empty()) {
        let at = output[from..].windows(run.len()).position(|w| w == run).unwrap_or_else(|| {
            panic!("not in the output (in this order):\n{}\n\noutput:\n{}", run.join("\n"), r.stdout)
        });
        from += at + run.len();
    }
}

/// Issue 23, item 9: testdata/README.md describes every sample folder of testdata/.
#[test]
fn every_sample_folder_is_described() {
    let text = std::fs::read_to_string(testdata().join("README.md")).unwrap();
    for e in std::fs::read_dir(testdata()).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            let name = format!("`{}/`", e.file_name().to_string_lossy());
            assert!(text.contains(&name), "testdata/README.md does not describe {name}");
        }
    }
}
