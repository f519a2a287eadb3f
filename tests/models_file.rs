//! A models file (`--models FILE`, else `$XDG_CONFIG_HOME/ccdoctor/models.json`): figures
//! in the ranges the flags take, the file named where it is refused and where a figure it
//! gives is used, a key written twice read as JSON.parse reads it (the last wins).

mod common;

use std::path::Path;

use common::{Run, bedrock_copy, ccdoctor};
use serde_json::Value;

fn run(dir: &Path, args: &[&str], xdg: Option<&Path>) -> Run {
    let mut c = ccdoctor(dir);
    c.args(args);
    if let Some(x) = xdg {
        c.env("XDG_CONFIG_HOME", x);
    }
    let r: Run = c.output().unwrap().into();
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// A burndown or a quota no flag would take is refused with the file, named, as a limit no
/// model allows is: exit 2 when the file is named, a warning and the built-in table when it is
/// only found.
#[test]
fn figures_the_flags_refuse_refuse_the_file() {
    let (t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let models = t.path().join("m.json");
    let m = models.to_str().unwrap();
    for (field, value) in [
        ("bedrock_burndown", "-1"),
        ("bedrock_burndown", "0"),
        ("bedrock_burndown", "1e308"),
        ("bedrock_burndown", "1e-300"),
        ("bedrock_default_tpm", "0"),
        ("bedrock_default_tpm", "1000000000000"),
    ] {
        std::fs::write(&models, format!(r#"{{"families": [{{"key": "claude-sonnet-4", "{field}": {value}}}]}}"#))
            .unwrap();
        let r = run(t.path(), &["scan", "--json", "--models", m, h], None);
        assert_eq!(r.code, 2, "{field} {value}: {}", r.stderr);
        assert!(r.stderr.contains(m) && r.stderr.contains(field), "{field} {value}: {}", r.stderr);
        assert!(r.stdout.is_empty());
        // Found, not named: a warning naming the file, and the built-in table.
        let xdg = t.path().join("xdg");
        std::fs::create_dir_all(xdg.join("ccdoctor")).unwrap();
        std::fs::copy(&models, xdg.join("ccdoctor/models.json")).unwrap();
        let r = run(t.path(), &["scan", "--json", h], Some(&xdg));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stderr.contains("ccdoctor/models.json") && r.stderr.contains("the built-in model table is used"));
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        let inputs = &v["recommendation"]["inputs"];
        assert_eq!((inputs["burndown"].as_f64(), inputs["burndown_origin"].as_str()), (Some(5.0), Some("default")));
    }
}

/// Figures the file gives are named as the file's, in JSON and in the table; a key written
/// twice takes its last value.
#[test]
fn the_files_figures_are_named_as_its_own_and_the_last_of_a_key_wins() {
    let (t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    let models = t.path().join("m.json");
    let m = models.to_str().unwrap();
    std::fs::write(
        &models,
        r#"{"families": [{"key": "claude-sonnet-4", "bedrock_burndown": 2, "bedrock_burndown": 3, "bedrock_default_tpm": 300000}]}"#,
    )
    .unwrap();
    let r = run(t.path(), &["scan", "--json", "--models", m, h], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let inputs = &v["recommendation"]["inputs"];
    assert_eq!(inputs["burndown"], 3.0);
    assert_eq!(inputs["burndown_origin"], "models_file");
    let calibration = &v["recommendation"]["calibration"];
    assert_eq!(calibration["reference_tpm"], 300000);
    assert_eq!(calibration["reference_origin"], "models_file");
    let r = run(t.path(), &["scan", "--models", m, h], None);
    let burndown = r.stdout.lines().find(|l| l.contains("Burndown")).unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(burndown.contains("3×") && burndown.contains("your models file"), "{burndown}");
}

/// The flags take the same ranges.
#[test]
fn the_flags_take_the_same_ranges() {
    let (t, home) = bedrock_copy();
    let h = home.to_str().unwrap();
    for args in [
        ["--burndown", "1e308"],
        ["--burndown", "1e-300"],
        ["--quota-tpm", "1000000000000"],
        ["--output-quota-tpm", "1000000000000"],
    ] {
        let r = run(t.path(), &["scan", args[0], args[1], h], None);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(&args[0][2..]), "{args:?}: {}", r.stderr);
    }
    let r = run(t.path(), &["scan", "--burndown", "3", "--quota-tpm", "100000000000", h], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
