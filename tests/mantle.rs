//! Bedrock's Mantle endpoint judged in simulated worlds (tests/sim/worlds.rs `mantle`): an
//! input quota that admits `input + max output`, an output quota that counts what responses
//! write. The world charges output when a response is admitted, the replay when it ends: the
//! two differ on purpose. ccdoctor sees only the transcripts and the quotas the user gives.

mod common;
mod sim;

use ccdoctor::analysis::choose::{Action, Basis};
use ccdoctor::settings::Provider;
use sim::World;
use sim::worlds::{self, Scenario};

const SEEDS: [u64; 3] = [1, 2, 3];

/// With both quotas given, or neither, the value advised works in the world and cuts at most
/// 2 points more responses than the world's best.
#[test]
fn the_advice_works_on_mantle() {
    for seed in SEEDS {
        for s in worlds::mantle(seed).into_iter().filter(|s| !s.name.contains("binds")) {
            let (a, history) = worlds::advise(&s, &s.config());
            let tag = format!("{} (seed {seed}): {:?}", s.name, a.choice);
            assert_eq!(a.provider, Provider::BedrockMantle, "{tag}");
            assert!(history.iter().map(|o| o.throttled_attempts).sum::<u64>() > 0, "{tag}: the history has 429s");
            let v = a.choice.value.expect("a value");
            let t = s.at(v);
            assert!(t.almost_worked(), "{tag}: at {v} the world has {t:?}");
            let best = Scenario::best(&s.sweep(1_000, 32_000)).expect("a value works in the world");
            assert!(t.cut_share() <= best.cut_share() + 0.02, "{tag}: {t:?} against {best:?}");
        }
    }
}

/// An output quota too small for the work throttles at every max output: no value is
/// advised, the output quota is named with what it would take, and at that output quota the
/// world's work at the value in effect goes through.
#[test]
fn an_output_quota_that_binds_is_named_and_its_cure_works() {
    let s = worlds::mantle(1).into_iter().find(|s| s.name.contains("binds")).unwrap();
    let (a, _) = worlds::advise(&s, &s.config());
    assert_eq!((a.choice.action, a.choice.basis), (Action::None, Basis::NoValueIsSafe), "{:?}", a.choice);
    let n = a.needed.expect("what would fix it");
    let output = n.output_tpm.expect("the output quota is the lever");
    let given = s.output_given.unwrap();
    assert!(output > given, "{output} against {given}");
    assert_eq!(n.value, 32_000, "the value in effect");
    let cured = Scenario::one("cured", World { output_quota_tpm: Some(output), ..s.world().clone() }, s.periods[0].1);
    let t = cured.at(n.value);
    assert!(t.almost_worked(), "at an output quota of {output}: {t:?}");
    // And it was the output quota: the same world with half the raise still throttles.
    let short = Scenario::one(
        "short",
        World { output_quota_tpm: Some(given + (output - given) / 4), ..s.world().clone() },
        s.periods[0].1,
    );
    assert!(!short.at(n.value).worked(), "{:?}", short.at(n.value));
}

/// What a Mantle user reads: the admission bound without a division by a burndown of 0, the
/// two quotas in the inputs table and no burndown row, the output quota's cure.
#[test]
fn the_report_names_both_quotas_and_divides_by_nothing() {
    let s = worlds::mantle(1).into_iter().find(|s| s.name.contains("binds")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    s.write(dir.path()).unwrap();
    let home = dir.path().to_str().unwrap();
    let r: common::Run = common::ccdoctor(dir.path())
        .args(["scan", home, "--quota-tpm", "400000", "--output-quota-tpm", "8000"])
        .env("COLUMNS", "200")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = &r.stdout;
    assert!(!out.contains("18,446,744"), "{out}");
    assert!(!out.contains(")/0"), "{out}");
    assert!(out.contains("P·(I_set + M) ≤ u·Q gives M ≤ 0.90·400,000/"), "{out}");
    assert!(out.contains("Input quota (TPM)") && out.contains("Output quota (TPM)"), "{out}");
    assert!(!out.contains("│ Burndown"), "{out}");
    assert!(out.contains("Your output quota (8,000 TPM) throttles at every max output"), "{out}");
    assert!(out.contains("TPM input, 7,200 TPM output"), "{out}");

    // Without the output quota the report says what it reads the 429s as.
    let r: common::Run =
        common::ccdoctor(dir.path()).args(["scan", home, "--quota-tpm", "400000"]).output().unwrap().into();
    assert!(r.stdout.contains("--output-quota-tpm to replay both"), "{}", r.stdout);
    assert!(r.stdout.contains("not replayed"), "{}", r.stdout);
}

/// `--output-quota-tpm` on a history that is not on Mantle is said to be ignored.
#[test]
fn an_output_quota_elsewhere_is_ignored_aloud() {
    let r = common::run(&["scan", &common::bedrock_home().to_string_lossy(), "--output-quota-tpm", "5000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--output-quota-tpm applies to Bedrock's Mantle endpoint; this history is on bedrock: ignored"),
        "{}",
        r.stderr
    );
}

/// An output quota far below what the history wrote explains more 429s than the history
/// has at any input quota: the report says so, keeps the input quota given, and prints no
/// quota from the top of the search.
#[test]
fn an_output_quota_too_small_for_the_history_is_questioned() {
    let s = worlds::mantle(1).into_iter().find(|s| s.name.contains("both")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    s.write(dir.path()).unwrap();
    let home = dir.path().to_str().unwrap();
    let r: common::Run = common::ccdoctor(dir.path())
        .args(["scan", home, "--quota-tpm", "100000", "--output-quota-tpm", "500"])
        .env("COLUMNS", "300")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("With the 500 TPM output quota you gave, the replay throttles"), "{}", r.stdout);
    assert!(r.stdout.contains("Check --output-quota-tpm."), "{}", r.stdout);
    assert!(!r.stdout.contains("100,000,000,000"), "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(
        &common::run(&["scan", home, "--quota-tpm", "100000", "--output-quota-tpm", "500", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(v["recommendation"]["inputs"]["quota_tpm"], 100_000, "{}", v["recommendation"]["inputs"]);
    assert!(v["recommendation"]["max_output_tokens"].is_null());
}
