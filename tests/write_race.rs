//! A change made to the settings file between ccdoctor's read and its rename is never lost:
//! the library's write takes a hook that runs at exactly that moment.

use std::collections::HashMap;

use ccdoctor::settings::SettingsSources;
use ccdoctor::settings::write::{ATTEMPTS, Action, WriteError, set_max_output};

fn sources() -> SettingsSources {
    SettingsSources { shell: HashMap::new(), ..SettingsSources::default() }
}

#[test]
fn a_concurrent_edit_survives_and_the_value_is_still_set() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("settings.json");
    std::fs::write(&path, "{\n  \"env\": {}\n}\n").unwrap();
    let mut calls = 0;
    let o = set_max_output(&path, 6000, false, false, "20261125T101500", &sources(), &mut |attempt| {
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
    let r = set_max_output(&path, 6000, false, false, "20261125T101500", &sources(), &mut |_| {
        n += 1;
        std::fs::write(&path, format!("{{\"edit\": {n}}}")).unwrap();
    });
    assert!(matches!(r, Err(WriteError::Busy { attempts: ATTEMPTS, .. })), "{r:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{{\"edit\": {ATTEMPTS}}}"));
    // No backup or temporary file is left behind.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
}
