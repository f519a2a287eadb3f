//! `apply` and `revert` run at the same moment on the same settings file (the adversarial
//! review's item 1): whatever the interleaving, no undo is lost. Two runs used to interleave
//! so that a revert removed the very backup an apply had just named as its own (reused because
//! it held the bytes the apply replaced), leaving the file at the new value with no way back.
//!
//! The invariant checked after every round: the file holds a value one of the runs wrote (or
//! the one it held), every backup a write names still exists or was used by a revert that
//! names it, and reverting until no backup is left gets back to the file as it was before the
//! first write.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use ccdoctor::settings::SettingsSources;
use ccdoctor::settings::write::{Action, WriteError, WriteOutcome, revert, set_max_output};

use common::{Run, bedrock_copy, ccdoctor, names};

/// The clock of every run here: a second in the past, one microsecond later at each reading,
/// so that every backup's name is its own (as with the real clock).
fn stamp() -> String {
    static TICK: AtomicU32 = AtomicU32::new(0);
    format!("20261125T101500.{:06}", TICK.fetch_add(1, Ordering::SeqCst))
}
/// A settings file apply did not create (so a revert with no backup never removes it).
const ORIGINAL: &str =
    "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"32000\"\n  },\n  \"theme\": \"dark\"\n}\n";

fn sources() -> SettingsSources {
    SettingsSources { shell: HashMap::new(), ..SettingsSources::default() }
}

/// The value the file sets.
fn value_in(path: &Path) -> String {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"].as_str().unwrap().to_string()
}

/// Reverts until no backup is left; the number of reverts.
fn unwind(path: &Path) -> usize {
    for n in 0..100 {
        match revert(path, &stamp, false) {
            Ok(o) if o.action == Action::Reverted => continue,
            Ok(o) => panic!("a revert that put nothing back: {o:?}"),
            Err(WriteError::NoBackup(_)) => return n,
            Err(e) => panic!("revert failed while unwinding: {e}"),
        }
    }
    panic!("100 reverts and still a backup");
}

/// The backups named by writes that neither exist nor were used by a revert naming them.
fn lost_backups<'a>(writes: impl Iterator<Item = &'a WriteOutcome>, used: &HashSet<String>) -> Vec<String> {
    writes.filter_map(|o| o.backup.clone()).filter(|b| !Path::new(b).exists() && !used.contains(b)).collect()
}

/// Threads in one process, through the library: two writes of different values and two
/// reverts start together, round after round; each write pauses between its backup and its
/// rename (where the review's race was), so the runs overlap as much as they can.
#[test]
fn applies_and_reverts_at_the_same_time_never_lose_the_undo() {
    const ROUNDS: u64 = 25;
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, ORIGINAL).unwrap();
    for round in 0..ROUNDS {
        // The review's start: the file at a written value, with a backup of the original.
        set_max_output(&path, 7000, false, false, &stamp, &sources(), &mut |_| {}).unwrap();
        let start = value_in(&path);
        let barrier = Arc::new(Barrier::new(4));
        let handles: Vec<_> = (0..4u64)
            .map(|k| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    // Revert first in some rounds, write first in others.
                    std::thread::sleep(Duration::from_micros((round * 7 + k * 300) % 1000));
                    if k % 2 == 0 {
                        let value = 5000 + 1000 * k + round;
                        let r = set_max_output(&path, value, false, false, &stamp, &sources(), &mut |_| {
                            std::thread::sleep(Duration::from_millis(1));
                        });
                        (true, value, r)
                    } else {
                        (false, 0, revert(&path, &stamp, false))
                    }
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut wrote: HashSet<String> = HashSet::from([start, "32000".to_string()]);
        let mut used = HashSet::new();
        for (is_write, value, r) in &results {
            match r {
                Ok(o) if *is_write => {
                    assert!(matches!(o.action, Action::Written | Action::Unchanged), "{o:?}");
                    wrote.insert(value.to_string());
                }
                Ok(o) => {
                    assert_eq!(o.action, Action::Reverted, "{o:?}");
                    used.insert(o.backup.clone().expect("a revert names the backup it used"));
                    for n in o.new.iter() {
                        wrote.insert(n.trim_matches('"').to_string());
                    }
                }
                // A revert that found no backup left (the other revert used it) is fine.
                Err(WriteError::NoBackup(_)) if !is_write => {}
                Err(e) => panic!("round {round}: {} failed: {e}", if *is_write { "a write" } else { "a revert" }),
            }
        }
        let held = value_in(&path);
        assert!(wrote.contains(&held), "round {round}: the file holds {held}, which no run wrote ({wrote:?})");
        let writes = results.iter().filter(|r| r.0).filter_map(|r| r.2.as_ref().ok());
        let lost = lost_backups(writes, &used);
        assert!(lost.is_empty(), "round {round}: backups named by a write are gone, used by no revert: {lost:?}");
        unwind(&path);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            ORIGINAL,
            "round {round}: reverting every backup must get back to the original file ({results:?})"
        );
    }
    // Nothing else is left beside it: no backup, temporary file or lock.
    assert_eq!(names(t.path()), ["settings.json"]);
}

/// The review's reproduction, with the binary: `ccdoctor revert` and `ccdoctor apply` started
/// together on a file at 7,000 with a backup of 32,000.
#[test]
fn apply_and_revert_started_together_keep_the_undo() {
    const ROUNDS: usize = 60;
    /// When the revert starts after the apply, in milliseconds (a debug build scans the
    /// sample in about 0.1 s).
    const REVERT_AFTER_MS: [u64; 40] = [
        60, 63, 66, 69, 72, 75, 78, 81, 84, 87, 90, 93, 96, 99, 102, 105, 108, 111, 114, 117, 120, 123, 126, 129, 132,
        135, 138, 141, 144, 147, 150, 153, 156, 159, 162, 165, 168, 171, 174, 177,
    ];
    let (_t, home) = bedrock_copy();
    let cwd = home.parent().unwrap().to_path_buf();
    let path = home.join("settings.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let home_arg = home.to_string_lossy().into_owned();
    let path_arg = path.to_string_lossy().into_owned();
    let line_after =
        |r: &Run, prefix: &str| r.stdout.lines().find_map(|l| l.strip_prefix(prefix)).map(|b| PathBuf::from(b.trim()));
    for round in 0..ROUNDS {
        let r: Run = ccdoctor(&cwd).args(["apply", &home_arg]).output().unwrap().into();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let mut applying = ccdoctor(&cwd);
        applying.args(["apply", &home_arg]);
        let applying = applying.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn();
        // The apply scans first: the revert starts at a different point of it each round.
        std::thread::sleep(Duration::from_millis(REVERT_AFTER_MS[round % REVERT_AFTER_MS.len()]));
        let reverting = ccdoctor(&cwd)
            .args(["revert", "--settings", &path_arg])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let reverted: Run = reverting.wait_with_output().unwrap().into();
        let applied: Run = applying.unwrap().wait_with_output().unwrap().into();
        for r in [&reverted, &applied] {
            assert!(r.code == 0, "round {round}: exit {}: {}", r.code, r.stderr);
        }
        let used = line_after(&reverted, "Backup used (removed): ");
        if let Some(b) = line_after(&applied, "Backup of the replaced file: ") {
            assert!(
                b.exists() || used.as_ref() == Some(&b),
                "round {round}: the apply's backup {} is gone\nrevert said:\n{}\napply said:\n{}",
                b.display(),
                reverted.stdout,
                applied.stdout
            );
        }
        // Revert until no backup is left: back to the original.
        for _ in 0..10 {
            let r: Run = ccdoctor(&cwd).args(["revert", "--settings", &path_arg]).output().unwrap().into();
            if r.code != 0 {
                assert!(r.stderr.contains("no ccdoctor backup beside it"), "round {round}: {}", r.stderr);
                break;
            }
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            original,
            "round {round}: the undo was lost\nrevert said:\n{}\napply said:\n{}",
            reverted.stdout,
            applied.stdout
        );
    }
}
