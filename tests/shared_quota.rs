//! Two people on one quota (`--shared-quota`): two simulated homes (tests/sim/mod.rs), each
//! of which ran unthrottled against a 600,000 TPM Bedrock quota on its own. Replayed apart,
//! neither shows throttling at the value in effect; replayed together against the one bucket
//! they share, they do, and the advice lowers the value.

mod common;
mod sim;

use serde_json::Value;

const QUOTA: u64 = 600_000;

fn world(seed: u64) -> sim::World {
    sim::World {
        seed,
        sessions: 2,
        turns: (2, 5),
        p_task: 0.2,
        max_subagents: 3,
        quota_tpm: QUOTA,
        ..sim::World::default()
    }
}

fn scan(args: &[&str]) -> Value {
    let mut all = vec!["--quota-tpm", "600000"];
    all.extend_from_slice(args);
    common::scan_json(&all).0
}

/// The replay's throttled attempts and failures at the value in effect.
fn at_current(v: &Value) -> (u64, u64) {
    let rows = v["recommendation"]["replay"].as_array().expect("replay rows");
    let current = v["recommendation"]["current"].as_u64().unwrap();
    let row = rows.iter().find(|r| r["value"].as_u64() == Some(current)).expect("a row at the value in effect");
    (row["throttled_attempts"].as_u64().unwrap(), row["failed"].as_u64().unwrap())
}

#[test]
fn homes_that_fit_apart_throttle_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut homes = Vec::new();
    for seed in [31, 32] {
        let truth = sim::simulate(&world(seed), 32_000);
        // Alone, each ran without a refused attempt.
        assert_eq!(truth.throttled_attempts, 0, "{}", truth.summary());
        let home = dir.path().join(format!("home-{seed}"));
        sim::write_home(&truth, &home).unwrap();
        homes.push(home.to_string_lossy().into_owned());
    }
    for h in &homes {
        let v = scan(&[h]);
        assert_eq!(at_current(&v), (0, 0), "{h} replayed alone");
        assert!(v.get("team").is_none(), "one home names no people");
    }
    let v = scan(&[&homes[0], &homes[1], "--shared-quota"]);
    let (throttled, _) = at_current(&v);
    assert!(throttled > 0, "together they exceed the one bucket: {}", v["recommendation"]["replay"]);
    let rec = &v["recommendation"];
    assert_eq!(rec["basis"], "throttles");
    assert!(rec["max_output_tokens"].as_u64().unwrap() < rec["current"].as_u64().unwrap());
    // The recommended value replays without a refused attempt.
    let chosen = rec["max_output_tokens"].as_u64().unwrap();
    let row = rec["replay"].as_array().unwrap().iter().find(|r| r["value"].as_u64() == Some(chosen)).unwrap();
    assert_eq!((row["throttled_attempts"].as_u64(), row["failed"].as_u64()), (Some(0), Some(0)));
    // Two people (one a home), four sessions.
    let team = &v["team"];
    assert_eq!((team["people"].as_u64(), team["sessions"].as_u64()), (Some(2), Some(4)));
    assert_eq!(team["unattributed_requests"].as_u64(), Some(0));
    // Home paths are personal data too: people are numbered unless asked for.
    assert!(!team.to_string().contains("home-31"), "{team}");
    assert_eq!(team["by_person"][1]["person"], "person 2", "{team}");
}
