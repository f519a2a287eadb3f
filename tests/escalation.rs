//! Claude Code's capped default on the Anthropic API (2.1.x with no max output set: 8,000,
//! and a response cut there sent again once at 64,000), in the simulator's world
//! (tests/sim/worlds.rs `escalation`): the cut first attempt is withheld, the transcript
//! shows the escalated response alone. ccdoctor must read an escalated response as one
//! response, not a cut, count the escalations, and weigh what writing a value ends.

mod common;
mod sim;

use ccdoctor::analysis::choose::Action;
use ccdoctor::settings::Provider;
use sim::worlds;

const SEEDS: [u64; 3] = [1, 2, 3];

/// The history's cuts are the world's (escalated responses are not cuts), the escalations
/// are counted, and the advice sets no value: at the escalated 64,000 (the model's upper
/// limit) no value cuts fewer, and writing one would end the escalation.
#[test]
fn an_escalated_response_is_one_response_and_the_advice_keeps_the_escalation() {
    for seed in SEEDS {
        let s = worlds::escalation(seed);
        let (a, history) = worlds::advise(&s, &s.config());
        let world = &history[0];
        let tag = format!("seed {seed}: {:?} {:?}", a.choice, a.escalation);
        assert!(world.escalations > 0, "{tag}: the world escalated");
        assert_eq!(a.provider, Provider::Anthropic, "{tag}");
        let e = a.escalation.expect("the escalation is seen");
        assert_eq!((e.capped, e.escalated), (8_000, 64_000), "{tag}");
        assert_eq!(e.responses, world.escalations, "{tag}: each escalated response counted once");
        assert_eq!(a.current, 64_000, "{tag}: what a response could reach");
        // No response is read as cut at 8,000: the only cuts are the world's (at 64,000).
        let cut_rows = a.rows.iter().find(|r| r.value == a.current).expect("the row in effect");
        assert_eq!(cut_rows.outcome.cut, world.cut_responses, "{tag}");
        assert_eq!(a.choice.action, Action::Keep, "{tag}");
        // At any value below 64,000 the world cuts more than it did: the escalation was worth
        // keeping.
        let lower = s.at(32_000);
        assert!(lower.cut >= world.cut_responses, "{tag}: {lower:?}");
    }
}

/// A model whose upper limit is above the escalated limit: a value above 64,000 cuts fewer,
/// so the advice raises, and `apply` says that the value written ends the escalation.
#[test]
fn apply_says_a_value_ends_the_escalation() {
    let mut s = worlds::escalation(1);
    s.periods[0].0.model = "claude-sonnet-4-6".into();
    let dir = tempfile::tempdir().unwrap();
    let history = s.write(dir.path()).unwrap();
    assert!(history[0].cut_responses > 0, "a response cut at 64,000");
    let home = dir.path().to_str().unwrap();
    let settings = dir.path().join("settings.json");
    let r: common::Run = common::ccdoctor(dir.path())
        .args(["apply", home, "--settings", settings.to_str().unwrap()])
        .env("COLUMNS", "200")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(raise from 64,000)"), "{}", r.stdout);
    assert!(r.stdout.contains("reached by Claude Code's escalation from 8,000"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Note: this ends Claude Code's escalation: your history ran at its capped default (8,000"),
        "{}",
        r.stdout
    );
    let written = std::fs::read_to_string(&settings).unwrap();
    let v: u64 = serde_json::from_str::<serde_json::Value>(&written).unwrap()["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(v > 64_000, "{written}");
}
