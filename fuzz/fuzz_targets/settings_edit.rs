//! The settings editor on arbitrary files and values: valid JSON out with the value set and
//! every other key intact, or a refusal, never an internal error or a panic.
#![no_main]

use ccdoctor::settings::edit::{EditError, set_env_string};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const KEY: &str = "CLAUDE_CODE_MAX_OUTPUT_TOKENS";

fn document(text: &str) -> Map<String, Value> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if body.trim().is_empty() {
        return Map::new();
    }
    // As JSON.parse reads it (as Claude Code does): a lone surrogate, a number too large for
    // a double and deep nesting are read through `jsparse`.
    let parsed = serde_json::from_str(body).or_else(|e| {
        ccdoctor::jsparse::reading(body, Some(ccdoctor::jsparse::READ_DEPTH)).map_or(Err(e), |t| serde_json::from_str(&t))
    });
    match parsed.expect("the editor accepted it, so it parses") {
        Value::Object(m) => m,
        other => panic!("accepted a non-object: {other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    // The first line is the value, the rest the file.
    let (value, text) = s.split_once('\n').unwrap_or(("6000", s));
    match set_env_string(text, KEY, value) {
        Ok(edit) => {
            let old = document(text);
            let new = document(&edit.text);
            assert_eq!(new.get("env").and_then(|e| e.get(KEY)), Some(&Value::String(value.to_string())));
            let strip = |mut m: Map<String, Value>| {
                let env = m.entry("env").or_insert_with(|| Value::Object(Map::new()));
                env.as_object_mut().expect("env is an object").remove(KEY);
                m
            };
            assert_eq!(strip(new), strip(old), "other keys changed");
            if !edit.changed {
                assert_eq!(edit.text, text);
            }
        }
        Err(EditError::Internal(why)) => panic!("internal error: {why}"),
        Err(_) => {}
    }
});
