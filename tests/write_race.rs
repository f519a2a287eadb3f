//! A change made to the settings file between ccdoctor's read and its rename is never lost:
//! the library's write takes a hook that runs at exactly that moment.

use std::collections::HashMap;

use ccdoctor::settings::SettingsSources;
use ccdoctor::settings::write::{ATTEMPTS, Action, WriteError, revert_with, set_max_output};

fn sources() -> SettingsSources {
    SettingsSources { shell: HashMap::new(), ..SettingsSources::default() }
}

#[test]
fn a_concurrent_edit_survives_and_the_value_is_still_set() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, "{\n  \"env\": {}\n}\n").unwrap();
    let mut calls = 0;
    let o = set_max_output(&path, 6000, false, false, &|| "20261125T101500".into(), &sources(), &mut |attempt| {
        calls += 1;
        if attempt == 0 {
            // What Claude Code might do while running: rewrite the file with a new key.
            std::fs::write(&path, "{\n  \"env\": {},\n  \"theme\": \"dark\"\n}\n").unwrap();
        }
    })
    .unwrap();
    assert_eq!(calls, 2);
    assert_eq!(o.action, Action::Written);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n  \"env\": {\n    \"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"\n  },\n  \"theme\": \"dark\"\n}\n"
    );
    // The one backup holds the bytes that were actually replaced.
    let backups: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(&backups[0]).unwrap(), "{\n  \"env\": {},\n  \"theme\": \"dark\"\n}\n");
}

#[test]
fn a_file_that_keeps_changing_is_given_up_on_not_clobbered() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, "{}").unwrap();
    let mut n = 0;
    let r = set_max_output(&path, 6000, false, false, &|| "20261125T101500".into(), &sources(), &mut |_| {
        n += 1;
        std::fs::write(&path, format!("{{\"edit\": {n}}}")).unwrap();
    });
    assert!(matches!(r, Err(WriteError::Busy { attempts: ATTEMPTS, .. })), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{{\"edit\": {ATTEMPTS}}}"));
    // No backup or temporary file is left behind.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
}

/// What is beside the settings file, other than it.
fn others(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "settings.json")
        .collect();
    v.sort();
    v
}

/// A write whose last step fails (here the file became a folder between the backup and the
/// rename; as root, `chattr +i` does it too: `tests/write_files.rs`) changes nothing and
/// leaves no backup: a backup of a write that did not happen would be restored by `revert`
/// over a file it never replaced.
#[test]
fn a_write_that_fails_at_the_rename_leaves_no_backup() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, "{\"env\": {}}\n").unwrap();
    let r = set_max_output(&path, 6000, false, false, &|| "20261125T101500".into(), &sources(), &mut |_| {
        assert_eq!(others(t.path()).iter().filter(|n| n.ends_with(".bak")).count(), 1, "the backup is made first");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
    });
    assert!(matches!(r, Err(WriteError::File(_))), "{r:?}");
    assert!(others(t.path()).is_empty(), "left behind: {:?}", others(t.path()));
}

/// The same for `revert`: the copy it keeps of a file changed since the write goes when the
/// file is not replaced; the backup stays, to be used by the next revert.
#[test]
fn a_revert_that_fails_at_the_rename_leaves_no_copy() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, "{\"env\": {}}\n").unwrap();
    let clock = || "20261125T101500".to_string();
    let o = set_max_output(&path, 6000, false, false, &clock, &sources(), &mut |_| {}).unwrap();
    let backup = o.backup.unwrap();
    // Changed since: the revert keeps a copy of it first.
    std::fs::write(&path, "{\"env\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"6000\"}, \"theme\": \"dark\"}\n").unwrap();
    let r = revert_with(&path, &clock, false, &mut || {
        assert!(others(t.path()).iter().any(|n| n.ends_with(".pre-revert")), "the copy is made first");
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
    });
    assert!(matches!(r, Err(WriteError::File(_))), "{r:?}");
    let backup_name = std::path::Path::new(&backup).file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(others(t.path()), [backup_name]);
}
