//! The fit judged by its outcome in the worlds of issue 20 (tests/sim/worlds.rs): each
//! reading of how Bedrock reserves quota, a quota the history does not state, users who ask
//! again after a failure. The simulator's world differs from the replay's assumptions on
//! purpose (its bucket, its retries and its people are its own); ccdoctor sees only the
//! transcripts it wrote. For each world and seed: the value advised works in the world, cuts
//! at most 2 points more responses than the world's best value, and the fit finds the world's
//! reading and quota where the history can tell them.

mod common;
mod sim;

use ccdoctor::analysis::advice::Advice;
use ccdoctor::analysis::choose::{Action, Basis};
use ccdoctor::analysis::fit::{Bound, Contradiction, Standing};
use ccdoctor::analysis::origin::Origin;
use ccdoctor::reading::{READINGS, Reading};
use sim::worlds::{self, Scenario, Truth};

const SEEDS: [u64; 4] = [1, 2, 3, 4];

/// The simulator's reading as ccdoctor names it.
fn reading_of(w: &sim::World) -> Reading {
    Reading {
        cache_reads_reserved: w.reading.cache_reads_reserved,
        burndown_reservation: w.reading.burndown_reservation,
    }
}

/// The scenario's history written as a config home in a temporary folder.
fn written(s: &Scenario) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    s.write(dir.path()).unwrap();
    dir
}

/// What ccdoctor advises on the scenario, the world at that value, and the world's best.
fn judge(s: &Scenario) -> (Advice, Option<Truth>, Option<Truth>) {
    let (a, _) = worlds::advise(s, &s.config());
    let sweep = s.sweep(1_000, 32_000);
    let at = a.choice.value.map(|v| s.at(v));
    (a, at, Scenario::best(&sweep))
}

#[test]
fn the_advice_works_in_every_world() {
    for seed in SEEDS {
        for s in worlds::issue_20(seed) {
            let (a, at, best) = judge(&s);
            let tag = format!("{} (seed {seed}): {:?} {:?}", s.name, a.choice, best);
            let documented = s.world().reading.cache_reads_reserved && !s.world().reading.burndown_reservation;
            match at {
                Some(t) => {
                    assert!(t.almost_worked(), "{tag}: at the value the world has {t:?}");
                    if let Some(b) = best {
                        assert!(t.cut_share() <= b.cut_share() + 0.02, "{tag}: cuts {t:?} against {b:?}");
                    }
                }
                // Only where cache reads are reserved with max output at 1× may max output
                // not be the lever; then the report says what would fit instead.
                None => {
                    assert!(documented, "{tag}: no value");
                    assert_eq!((a.choice.action, a.choice.basis), (Action::None, Basis::NoValueIsSafe), "{tag}");
                    assert!(a.needed.is_some(), "{tag}: what would fit instead");
                }
            }
        }
    }
}

/// Where the history identifies the world's reading (periods at several limits; the context
/// of the requests throttled), the advice follows it, at a quota within 20% of the world's.
#[test]
fn the_fit_finds_the_reading_and_the_quota() {
    for seed in SEEDS {
        for s in worlds::issue_20(seed) {
            let (a, _) = worlds::advise(&s, &s.config());
            let Some(cal) = &a.calibration else { continue };
            let world = reading_of(s.world());
            let best = cal.best();
            let tag = format!("{} (seed {seed}): {:?} at {}", s.name, best.fit.reading, best.plan.tpm);
            if cal.observed_throttled < 50 {
                continue;
            }
            // The history's 429s fit the world's reading near its quota …
            let mine = cal.view(world).expect("every reading is fitted");
            assert_eq!(mine.fit.bound, Bound::Fit, "{tag}");
            let q = s.world().quota_tpm as f64;
            let off = |tpm: u64| (tpm as f64 / q - 1.0).abs();
            assert!(off(mine.plan.tpm) <= 0.2, "{tag}: the world's reading at {} for {q}", mine.plan.tpm);
            // … and the reading the advice follows is the world's wherever the history tells
            // readings apart, else one that advises no more than the world's.
            if best.fit.reading == world {
                assert!(off(best.plan.tpm) <= 0.2, "{tag}");
            } else {
                assert!(a.choice.value <= mine.choice.and_then(|c| c.value), "{tag}: {:?}", mine.choice);
            }
            if s.periods.len() > 1 {
                assert_eq!(best.fit.reading, world, "{tag}: several limits tell the readings apart");
                // Max output reserved at 1× is ruled out: contradicted by a period, or too far
                // from the quota to advise.
                let plain = cal.readings.iter().filter(|v| !v.fit.reading.burndown_reservation);
                assert!(plain.clone().all(|v| v.standing == Standing::Contradicted || v.choice.is_none()), "{tag}");
            }
        }
    }
}

/// An applied quota far below the published default that the user does not know, with no one
/// else on it: the history's 429s are its own. The advice is made at the quota where the
/// replay's count comes down to the history's, not at the most the noise allows (the range's
/// upper end, whose values had 3.6% to 17% of attempts throttled in these worlds). Beside it,
/// others' load that takes all of the quota, which the history does not show: no value works
/// there. In every seed, requests were refused while nothing of the history's own ran, long
/// enough after the last had ended for each reading's quota to refill (some got through
/// later, some never did though the quota holds them): no reading explains them and none
/// names a value (the build before named 3,000 to 5,000 in seeds 3, 4, 6 and 7, which failed
/// there; earlier still, in 2 and 8 too). Left: others taking three quarters of the quota (the
/// replay has no one else's load; values named throttle 2% to 15% in four seeds of eight).
#[test]
fn a_quota_below_the_published_one_or_taken_by_others() {
    let mut named = 0;
    for seed in 1..=8 {
        for s in worlds::shared(seed) {
            let (a, at, best) = judge(&s);
            let tag = format!("{} (seed {seed}): {:?} {:?}", s.name, a.choice, best);
            if s.name.contains("210,000") {
                assert!(best.is_none(), "{tag}: no value works in the world");
                assert_eq!((a.choice.value, a.choice.basis), (None, Basis::QuotaUnknown), "{tag}");
                let cal = a.calibration.as_ref().expect("a fit");
                assert!(cal.unreproduced(), "{tag}");
                let alone = |v: &ccdoctor::analysis::advice::ReadingView| matches!(v.fit.contradiction, Some(Contradiction::Alone(lone)) if lone.requests >= 3);
                assert!(cal.readings.iter().all(alone), "{tag}");
            } else if s.name.contains("unknown, no one else")
                && let Some(t) = at
            {
                assert!(t.almost_worked(), "{tag}: at the value the world has {t:?}");
                named += 1;
                // One person, no one else: no request of theirs is refused while alone.
                let cal = a.calibration.as_ref().expect("a fit");
                assert!(
                    !cal.readings.iter().any(|v| matches!(v.fit.contradiction, Some(Contradiction::Alone(_)))),
                    "{tag}"
                );
            }
        }
    }
    // The 90,000 worlds name a value in seven seeds of eight (the 60,000 ones have no response).
    assert!(named >= 6, "{named} values named");
}

/// One session alone against a quota far below the published default, which nobody states
/// (testdata/one-session-cliff, 313 throttled attempts of its own load): its requests alike,
/// every reading's range is a single quota, where the replay's count falls from above the
/// noise to none in one step (a light load's cliff). That pins the quota; it is not others'
/// load, and no reading is ruled out for it. (The attack of 2026-12-07: the build before told
/// this single user that others' load throttled them, and threw the fit away.)
#[test]
fn one_sessions_cliff_is_not_others_load() {
    let home = common::testdata().join("one-session-cliff");
    let home = home.to_str().unwrap();
    let (v, _) = common::scan_json(&[home, "--since", "2000-01-01"]);
    let r = &v["recommendation"];
    let readings = r["calibration"]["readings"].as_array().expect("readings");
    assert_eq!(r["calibration"]["observed_throttled"], 313);
    assert_eq!(readings.len(), 4);
    // Each range a single quota, far below the published default of 200,000.
    for x in readings {
        assert_eq!(x["quota_low_tpm"], x["quota_high_tpm"], "{x}");
        assert!(x["quota_high_tpm"].as_u64().unwrap() * 135 < 200_000 * 100, "{x}");
        assert_eq!(x["contradiction"], serde_json::Value::Null, "{x}");
    }
    assert_ne!(r["basis"], "quota_unknown");
    let text = common::run(&["scan", home, "--since", "2000-01-01"]).stdout;
    assert!(!text.contains("no model of the quota reproduces"), "{text}");
    // The Check line says the count jumps there, not that it comes down to the history's.
    let text = common::words(&text);
    assert!(
        text.contains("where the replay's count falls past your history's in one step (requests much alike throttle together): there it predicts 0 throttled attempts"),
        "{text}"
    );
    assert!(!text.contains("comes down to your history's"), "{text}");
}

/// testdata/refused-alone: one session, one request at a time; three requests refused on all
/// ten attempts, each sent minutes after the one before ended, which a quota that holds one
/// request lets in at once under every reading: the load that refused them is not the
/// history's. No value is named (the build before fitted a quota to them as the history's
/// own and lowered 8,000 to 6,000, which changes nothing for them), though they are every
/// request refused (the trial of 2026-12-07); `check` says no model reproduces them.
#[test]
fn requests_refused_alone_rule_out_every_reading() {
    let home = common::testdata().join("refused-alone");
    let home = home.to_str().unwrap();
    let (v, _) = common::scan_json(&[home, "--since", "2000-01-01"]);
    let r = &v["recommendation"];
    assert_eq!((r["basis"].as_str(), r["max_output_tokens"].as_u64()), (Some("quota_unknown"), None), "{r}");
    let readings = r["calibration"]["readings"].as_array().expect("readings");
    assert!(readings.iter().all(|x| x["contradiction"] == "alone"), "{r}");
    assert_eq!(r["calibration"]["observed_failed"], 3, "{r}");
    // The sentence's figures, for scripts.
    assert_eq!(
        r["calibration"]["refused_alone"],
        serde_json::json!({"requests": 3, "failed": 3, "first_sent": "2026-12-05T09:20:23.316Z", "shortest_quiet_ms": 142_118}),
        "{r}"
    );
    let text = common::words(&common::run(&["scan", home, "--since", "2000-01-01"]).stdout);
    assert!(
        text.contains("3 of your requests were refused while nothing else of yours was running, each sent 2 min 22 s or more after the last of yours had ended (time enough for the quota to refill), and on every later attempt, though the quota each reading fits holds them (the first sent at 2026-12-05T09:20:23.316Z)."),
        "{text}"
    );
    let c = common::run(&["check", home, "--since", "2000-01-01"]);
    assert_eq!(c.code, 1, "{}", c.stdout);
    assert!(c.stdout.contains("no model of the quota reproduces the 429s from your own load"), "{}", c.stdout);
    assert!(!c.stdout.contains("would have worked"), "{}", c.stdout);
}

/// Where no reading reproduces the 429s from the history's own load, the report and `check`
/// say so, with others' load as one cause and what would put it in the history, and do not
/// ask for the quota (which would not change it: given, it is not fitted either). The whole
/// history shows requests refused while nothing else of it ran, which it says; with a project
/// named (`--project`, which may leave out others of the user's own) those are not judged, and
/// the counts say it: every reading fits any quota down to nothing, and none reproduces them.
#[test]
fn others_load_no_model_reproduces_is_said_so() {
    let s = &worlds::shared(2)[1];
    assert!(s.name.contains("210,000"));
    let dir = written(s);
    let home = dir.path().to_str().unwrap();
    let project: &[&str] = &["--project", "sim"];
    for (given, by) in [(&[][..], None), (&["--quota-tpm", "200000"][..], None), (&[][..], Some(project))] {
        let args = [&["scan", home, "--since", "2000-01-01"][..], given, by.unwrap_or_default()].concat();
        let r = common::run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let text = common::words(&r.stdout);
        assert!(
            text.contains("No max output value is shown: no model of the quota reproduces your 429s (see why below)."),
            "{text}"
        );
        let why = match by {
            None => {
                "13 of your requests were refused while nothing else of yours was running, each sent 2 min 29 s or more after the last of yours had ended (time enough for the quota to refill), and on every later attempt, though the quota each reading fits holds them (the first sent at 2026-11-02T09:14:24.346Z)."
            }
            Some(_) => {
                "No reading of how the quota is counted reproduces your history's 185 throttled attempts: they fit any quota down to the lowest tried"
            }
        };
        assert!(text.contains(why), "{text}");
        assert!(text.contains("(--shared-quota) or the team's telemetry (--otel)"), "{text}");
        // The replay table's rows are at a quota the history does not fit: said under it.
        let quota =
            if given.is_empty() { "AWS's published default of 200,000 TPM" } else { "the 200,000 TPM you gave" };
        assert!(
            text.contains(&format!("These rows replay against {quota}, which no reading of how the quota is counted fits to your history's 429s: they show what that quota would do, not what your history met.")),
            "{text}"
        );
        assert!(!text.contains("Pass your applied quota with --quota-tpm"), "{text}");
        // The Inputs table does not call the reading it shows fitted (the trial of 2026-12-07).
        assert!(text.contains("every reading ruled out") && !text.contains("fitted to your 429s"), "{text}");
        // The JSON says why each reading is ruled out.
        let (v, _) = common::scan_json(&[&[home, "--since", "2000-01-01"][..], by.unwrap_or_default()].concat());
        let readings = v["recommendation"]["calibration"]["readings"].as_array().expect("readings").clone();
        assert_eq!(readings.len(), 4);
        let reason = if by.is_none() { "alone" } else { "unreproduced" };
        assert!(
            readings.iter().all(|r| r["contradiction"] == reason && r["standing"] == "contradicted"),
            "{readings:?}"
        );
        assert_eq!(v["recommendation"]["basis"], "quota_unknown");
    }
    // Scanned as a team's (`--shared-quota`), the requests are the team's and the flags are
    // offered for those outside it (the attack of 2026-12-07: "of yours", and the flag just
    // given, offered again).
    let text = common::words(&common::run(&["scan", home, "--since", "2000-01-01", "--shared-quota"]).stdout);
    assert!(
        text.contains("13 of the team's requests were refused while nothing else of the team's was running")
            && text.contains("is not in this history")
            && text.contains("If others outside this history draw on the same quota, add their homes (--shared-quota)"),
        "{text}"
    );
    assert!(!text.contains("of your requests") && !text.contains("scan their homes with yours"), "{text}");
    // Every reading ruled out: none is told apart (the trial of 2026-12-07 read `true` here).
    let r = common::run(&["check", "--json", home, "--since", "2000-01-01"]);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (j["basis"].as_str(), j["reading"]["told_apart"].as_bool()),
        (Some("quota_unknown"), Some(false)),
        "{j}"
    );
    // With the quota given, check neither asks for it again nor says it judged at it.
    let r = common::run(&["check", home, "--since", "2000-01-01", "--quota-tpm", "200000"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("no model of the quota reproduces the 429s")
            && !r.stdout.contains("judged at")
            && !r.stdout.contains("pass --quota-tpm"),
        "{}",
        r.stdout
    );
    let r = common::run(&["check", home, "--since", "2000-01-01"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("is throttled, and no model of the quota reproduces the 429s from your own load (")
            && r.stdout.contains("others' load on the quota is one cause")
            && !r.stdout.contains("pass --quota-tpm")
            && !r.stdout.contains("the 429s fit"),
        "{}",
        r.stdout
    );
}

/// Given the world's own reading and quota, the fit changes nothing: the quota used is the
/// one given, and the value works.
#[test]
fn the_worlds_own_reading_and_quota_change_nothing() {
    for seed in SEEDS {
        let s = worlds::base(seed);
        let scenario = Scenario::one("seed story", s.clone(), 32_000);
        let cfg =
            ccdoctor::config::RecommendConfig { readings: vec![READINGS[0]], ..worlds::config(Some(s.quota_tpm)) };
        let (a, _) = worlds::advise(&scenario, &cfg);
        let q = a.quota.as_ref().unwrap();
        assert_eq!((q.tpm, &q.tpm_origin, q.reading), (s.quota_tpm, &Origin::Flag, READINGS[0]), "seed {seed}");
        let v = a.choice.value.expect("a value");
        assert!(scenario.at(v).almost_worked(), "seed {seed}: {v}");
    }
}

/// A user who asks again after a failure asks once: at a value where the request got
/// through, the failure and the second asking are one response, so the replay at a value
/// asks for the history's responses and its failures, less the failures asked again.
#[test]
fn a_failure_asked_again_is_one_response() {
    let s = &worlds::issue_20(1)[2];
    assert!(s.name.contains("ask again"));
    let (a, history) = worlds::advise(s, &s.config());
    let reasks: u64 = history.iter().map(|o| o.reasks).sum();
    assert!(reasks > 0, "the world has users who ask again");
    let cal = a.calibration.as_ref().unwrap();
    assert_eq!(cal.reasked, reasks);
    let (responses, failed): (u64, u64) =
        history.iter().fold((0, 0), |(r, f), o| (r + o.logical_responses, f + o.failed_requests));
    for row in &a.rows {
        assert_eq!(row.outcome.responses, responses + failed - reasks, "{row:?}");
    }
}

/// The page counts the failures once: the note under the replay's table, which leaves out
/// the failures asked again, names the same total as the first line, and the part it leaves
/// out.
#[test]
fn the_replays_note_names_the_same_failures_as_the_first_line() {
    let s = &worlds::issue_20(1)[2];
    let dir = written(s);
    let quota = s.config().quota_tpm.expect("this world's quota is given").to_string();
    let r: common::Run = common::ccdoctor(dir.path())
        .args(["scan", "--color", "never", "--quota-tpm", &quota, dir.path().to_str().unwrap()])
        .output()
        .unwrap()
        .into();
    let text = r.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = regex::Regex::new(r"; ([\d,]+) requests failed for good").unwrap();
    let all = &first.captures(&text).expect("the first line counts the failures")[1];
    let note = regex::Regex::new(
        r"the [\d,]+ of demand and ([\d,]+) of the ([\d,]+) requests that failed for good, .* \(the other ([\d,]+) were asked again",
    )
    .unwrap();
    let c = note.captures(&text).unwrap_or_else(|| panic!("the note names the failures left out:\n{}", r.stdout));
    let n = |i: usize| c[i].replace(',', "").parse::<u64>().unwrap();
    assert_eq!(&c[2], all, "the same total as the first line");
    assert!(n(3) > 0);
    assert_eq!(n(1) + n(3), n(2));
}

/// After the change (32,000, then 200, then 5,000), `check` says which reading held: the
/// periods at the three values tell them apart.
#[test]
fn check_says_which_reading_held_after_the_change() {
    let s = &worlds::issue_20(1)[1];
    assert_eq!(s.periods.len(), 3);
    let dir = written(s);
    let home = dir.path().to_str().unwrap();
    let r: common::Run =
        common::ccdoctor(dir.path()).args(["check", "--json", "--since", "2026-11-01", home]).output().unwrap().into();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let reading = &v["reading"];
    assert_eq!(
        (
            reading["burndown_reservation"].as_bool(),
            reading["cache_reads_reserved"].as_bool(),
            reading["told_apart"].as_bool()
        ),
        (Some(true), Some(false), Some(true)),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("the 429s fit max output reserved at 5× with "), "{v}");
}

/// Where no quota is known (Vertex: no published default, none given), a history with
/// periods at two limits whose few 429s give some reading only a lower bound is fitted and
/// advised on, not a panic (the check of each period indexed predictions it never made:
/// `check` on a year of history exited 101).
#[test]
fn periods_with_no_quota_known_are_fitted() {
    let mut seen = 0;
    for seed in SEEDS {
        let Some(first) = worlds::issue_20(seed).into_iter().next() else { continue };
        let w = first.periods[0].0.clone();
        // A quota a little above what the work needs: few or no 429s.
        let quota_tpm = w.quota_tpm * 3;
        let s = Scenario {
            name: format!("two limits, no quota known (seed {seed})"),
            periods: vec![
                (sim::World { quota_tpm, ..w.clone() }, 32_000),
                (sim::World { quota_tpm, seed: w.seed + 100, start: w.start + 86_400_000, ..w }, 16_000),
            ],
            quota_given: None,
            output_given: None,
            set_by_hand: None,
        };
        let cfg = ccdoctor::config::RecommendConfig {
            provider: Some(ccdoctor::settings::Provider::Vertex),
            // Four readings, as on Bedrock.
            burndown: Some(5.0),
            ..s.config()
        };
        let (a, _) = worlds::advise(&s, &cfg);
        let Some(cal) = &a.calibration else { continue };
        assert!(cal.reference.is_none(), "{}: no quota is known on Vertex", s.name);
        if cal.periods.len() >= 2 && cal.readings.iter().any(|v| v.fit.high_tpm.is_none()) {
            seen += 1;
        }
    }
    assert!(seen > 0, "no history had two periods and a reading with only a lower bound");
}

/// Where no quota is known and the history has no 429 (Vertex: no published default, none
/// given), the value is not raised on the strength of the cuts, nor to let the responses
/// Claude Code gives up on finish: nothing shows that the quota holds more than the history
/// ran at. In worlds
/// whose quota holds the history's value with little room above it, and throttles at Claude
/// Code's default, the value advised works, or none is advised where responses are given up.
#[test]
fn no_429_and_no_quota_known_raise_no_further_than_the_history_holds() {
    // 4,000 cuts a few responses; 1,000 cuts more than a tenth (demand's p90 is above it,
    // where a known quota would raise to at least that p90).
    for ran_at in [4_000, 1_000] {
        let mut tight = 0;
        for seed in SEEDS {
            let w = worlds::base(seed);
            let at = |quota_tpm: u64, value: u64| sim::simulate(&sim::World { quota_tpm, ..w.clone() }, value);
            // The smallest quota, in tenths of the base world's, at which the history has no
            // throttled attempt.
            let Some(quota_tpm) =
                (1..=40).map(|k| w.quota_tpm * k / 10).find(|&q| at(q, ran_at).throttled_attempts == 0)
            else {
                continue;
            };
            let s = Scenario::one(
                &format!("no 429, no quota known, at {ran_at} (seed {seed})"),
                sim::World { quota_tpm, ..w.clone() },
                ran_at,
            );
            if s.at(32_000).almost_worked() || s.at(ran_at).cut == 0 {
                // A world where raising is safe, or nothing to raise for, says nothing here.
                continue;
            }
            tight += 1;
            let cfg = ccdoctor::config::RecommendConfig {
                provider: Some(ccdoctor::settings::Provider::Vertex),
                burndown: Some(5.0),
                ..s.config()
            };
            let (a, _) = worlds::advise(&s, &cfg);
            let tag = format!("{}: {:?}", s.name, a.choice);
            // No value where Claude Code gives up on responses at the value in effect and a
            // larger one, which would let them finish, is not known to fit the quota.
            let Some(value) = a.choice.value else {
                assert!(a.choice.finish_from.is_some_and(|f| f > ran_at), "{tag}: no value, and no response given up");
                continue;
            };
            let t = s.at(value);
            assert!(t.almost_worked(), "{tag}: at {value} the world has {t:?}");
            assert!(value <= ran_at, "{tag}: raised past the value the history ran at");
        }
        assert!(tight > 0, "no world throttled at 32,000 with a quota that holds {ran_at}");
    }
}

/// The base world of `seed` run at `ran_at` under a quota too large to throttle, written to a
/// folder: a history with no 429.
fn unthrottled_home(seed: u64, name: &str, ran_at: u64) -> tempfile::TempDir {
    let w = sim::World { quota_tpm: 50_000_000, ..worlds::base(seed) };
    let dir = tempfile::tempdir().unwrap();
    let history = Scenario::one(name, w, ran_at).write(dir.path()).unwrap();
    assert!(history.iter().all(|o| o.throttled_attempts == 0), "the history has no 429");
    dir
}

/// The binary with `args` on the home at `dir`, every record in the window, on Vertex (where
/// no quota is published).
fn on_vertex(dir: &std::path::Path, args: &[&str]) -> common::Run {
    let home = dir.to_str().unwrap();
    let args = [args, &[home, "--since", "2000-01-01", "--provider", "vertex"][..]].concat();
    common::ccdoctor(dir).args(args).output().unwrap().into()
}

/// `check` where no quota is known and the history has no 429: the value the history ran at
/// fits the quota at its load, but it cuts more responses than the p99 target allows (2.5%
/// here) and nothing shows a larger value fits, so it is kept, not called safe; planned for
/// more requests in flight than it had (`--parallel`), nothing shows even that it fits, and
/// the line says so (exit 0 both).
#[test]
fn check_keeps_without_calling_safe_what_nothing_shows() {
    let dir = unthrottled_home(1, "no 429, no quota known", 4_000);
    let run = |extra: &[&str]| on_vertex(dir.path(), &[&["check"][..], extra].concat());
    let r = run(&[]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=4000")
            && r.stdout.contains("is kept, not shown safe for your responses: your history ran it without a 429 but with more responses cut than the p99 target allows (")
            && !r.stdout.contains(" is safe ("),
        "{}",
        r.stdout
    );
    // With a target its cuts meet (p97), it is safe.
    let r = run(&["--percentile", "97"]);
    assert!(r.stdout.contains("CLAUDE_CODE_MAX_OUTPUT_TOKENS=4000") && r.stdout.contains(" is safe ("), "{}", r.stdout);
    let r = run(&["--parallel", "50"]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("4000 (")
            && r.stdout.contains("is kept, not shown safe: no quota is known and your history ran at a lighter load than --parallel plans for"),
        "{}",
        r.stdout
    );
}

/// Where Claude Code gives up on responses at the value in effect, no quota is known and the
/// history has no 429, a larger value would let them finish and nothing shows whether the
/// quota holds it: the headline and `check` ask for the quota, and do not say that no value
/// fixes it (which only a known quota could show).
#[test]
fn given_up_responses_where_no_quota_is_known_ask_for_the_quota() {
    let mut given_up = 0;
    for seed in SEEDS {
        let dir = unthrottled_home(seed, "given up, no quota known", 1_000);
        let run = |args: &[&str]| on_vertex(dir.path(), args);
        let json: serde_json::Value = serde_json::from_str(&run(&["scan", "--format", "json"]).stdout).unwrap();
        if json["recommendation"]["basis"] != "responses_fail" {
            continue;
        }
        given_up += 1;
        let scan = run(&["scan"]);
        assert!(
            scan.stdout.contains("No value yet: your quota is needed (--quota-tpm)."),
            "seed {seed}: {}",
            scan.stdout
        );
        assert!(!scan.stdout.contains("No max output value"), "seed {seed}: {}", scan.stdout);
        let check = run(&["check"]);
        assert_eq!(check.code, 1, "seed {seed}: {}", check.stdout);
        assert!(
            check.stdout.contains("makes Claude Code give up on long responses, and no quota is known")
                && !check.stdout.contains("fits the quota"),
            "seed {seed}: {}",
            check.stdout
        );
    }
    assert!(given_up > 0, "no world gave up on responses at 1,000");
}

/// `check`'s line gives the responses Claude Code gives up on at the value it names, the same
/// figures as the replay table's row for that value (the trial of 2026-12-07: the line gave
/// the cuts alone).
#[test]
fn check_names_the_responses_given_up_at_the_value() {
    let s = &worlds::shared(1)[0];
    let dir = written(s);
    let home = dir.path().to_str().unwrap();
    let (v, _) = common::scan_json(&[home, "--since", "2000-01-01"]);
    let value = v["recommendation"]["max_output_tokens"].as_u64().expect("a value");
    let rows = v["recommendation"]["replay"].as_array().expect("rows");
    let row = rows.iter().find(|r| r["value"] == value).expect("the value's row");
    let given_up = row["given_up"].as_u64().unwrap();
    assert!(given_up > 0, "{row}");
    let r = common::run(&["check", home, "--since", "2000-01-01"]);
    let cut = row["cut"].as_u64().unwrap();
    let expected = format!("{value} would have worked, cutting {cut} of the ");
    let at = r.stdout.find(&expected).unwrap_or_else(|| panic!("{}", r.stdout));
    let rest = &r.stdout[at + expected.len()..];
    assert!(
        rest.split_once(':').is_some_and(|(l, _)| l.ends_with(&format!("responses asked for, {given_up} given up"))),
        "{}",
        r.stdout
    );
}

/// Where the quota planned against is the one the 429s imply, a raise is of that quota, named
/// with its figure (the trial of 2026-12-07: a user who gave 200,000 TPM was told to raise the
/// quota to 108,000, in a world of others taking 210,000, where requests refused while alone
/// now rule every reading out).
#[test]
fn a_raise_of_the_quota_the_429s_imply_names_it() {
    let s = &worlds::shared(3)[3];
    assert!(s.name.contains("90,000 unknown"));
    let dir = written(s);
    let home = dir.path().to_str().unwrap();
    let args = [home, "--since", "2000-01-01", "--quota-tpm", "200000"];
    let (v, _) = common::scan_json(&args);
    let inputs = &v["recommendation"]["inputs"];
    assert_eq!(inputs["quota_origin"], "inferred", "{inputs}");
    let implied = inputs["quota_tpm"].as_u64().unwrap();
    assert!(implied < 200_000, "{inputs}");
    let text = common::run(&[&["scan"][..], &args].concat()).stdout;
    let text = common::words(&text);
    let implied = ccdoctor::text::thousands(implied);
    assert!(text.contains(&format!("raise the quota your 429s imply ({implied} TPM) to ")), "{text}");
    assert!(!text.contains("raise the quota to"), "{text}");
}

/// A value set by hand after the history (no backup of `apply` dates it), in worlds whose
/// subagents ran at Claude Code's default whatever the setting (before 2.1.233): the main
/// sessions show no limit of their own, and ccdoctor must guess the one they ran at. The
/// world ran at 32,000; the user then sets the value advised, 1,000 under it, or 64,000. The
/// advice on each must work in the world, or be none: a guess may cost a value, never a
/// value that throttles.
#[test]
fn a_value_set_by_hand_after_the_history_never_advises_what_fails() {
    let mut judged = 0;
    for seed in 1..=8 {
        let world = sim::World { version: "2.1.150".into(), ..sim::worlds::base(seed) };
        let s = Scenario::one("seed story, subagents at the default", world, 32_000);
        let dir = written(&s);
        let Some(first) = worlds::advise_home(dir.path(), &s.config()).choice.value else { continue };
        for set in [first, first - 1_000, 64_000] {
            std::fs::write(
                dir.path().join("settings.json"),
                format!(
                    "{{\"env\":{{\"CLAUDE_CODE_USE_BEDROCK\":\"1\",\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{set}\"}}}}\n"
                ),
            )
            .unwrap();
            let a = worlds::advise_home(dir.path(), &s.config());
            if let Some(v) = a.choice.value {
                let t = s.at(v);
                assert!(t.almost_worked(), "seed {seed}, {set} set by hand after {first} was advised: {v} has {t:?}");
                judged += 1;
            }
        }
    }
    assert!(judged >= 8, "only {judged} values advised");
}

/// The other side of a value set by hand: worlds that ran at 12,000 or 16,000, not Claude
/// Code's default, on quotas the history does not state (and one at the default), whose user
/// then sets 4,000 or 6,000 by hand (`worlds::by_hand`). The sessions show no limit of their
/// own, only that it was above their longest response. Taken at the default, as they were at
/// 623dfc0, they fitted quotas larger than the worlds': on seeds 1 to 6, 44 of the 84 values
/// then advised throttled more than 2% of attempts there (`examples/worlds --hand`). They are
/// now taken at the limit of a nearby session whose records show one that allows that
/// response, else at the least round value that allows it. The advice must work in the world,
/// or be none.
#[test]
fn a_value_set_by_hand_below_what_the_history_wrote_never_advises_what_fails() {
    let (mut judged, mut guessed) = (0, 0);
    for seed in 1..=3 {
        for s in worlds::by_hand(seed) {
            let dir = written(&s);
            let a = worlds::advise_home(dir.path(), &s.config());
            let set = s.set_by_hand.expect("set by hand");
            // Sessions near one whose records show its limit (a response cut there) take it.
            if let Some(r) = a.ran_above {
                assert!(r.longest > set && r.taken_at >= r.longest, "{}: {r:?}", s.name);
                guessed += 1;
            }
            if let Some(v) = a.choice.value {
                let t = s.at(v);
                assert!(t.almost_worked(), "seed {seed}, {}: {v} has {t:?}", s.name);
                judged += 1;
            }
        }
    }
    assert!(judged >= 30, "only {judged} values advised");
    assert!(guessed >= 12, "only {guessed} of the worlds' histories guessed");
}

/// A quota given far above every reading's (the account's, shared with others, or misread):
/// the readings nearest it advise, not every reading. With every reading, a larger quota
/// given let in readings of ever smaller quotas, whose value is the smallest: the new user's
/// trial of 2026-12-08 saw bedrock-home advised 13,000 at 400,000 given and 3,000 at 1,000,000.
#[test]
fn a_quota_given_far_above_the_history_lets_in_only_the_nearest_readings() {
    for seed in SEEDS {
        let s = Scenario::one("seed story", worlds::base(seed), 32_000);
        let mut values = Vec::new();
        for given in [1_000_000, 5_000_000] {
            let s = s.clone().given(given);
            let (a, _) = worlds::advise(&s, &s.config());
            let cal = a.calibration.as_ref().expect("fitted");
            let distance = |v: &ccdoctor::analysis::advice::ReadingView| {
                ccdoctor::analysis::fit::distance(&v.fit, Some(given as f64))
            };
            let open = cal.readings.iter().filter(|v| v.standing != ccdoctor::analysis::fit::Standing::Contradicted);
            let nearest = open.clone().map(distance).fold(f64::INFINITY, f64::min);
            assert!(nearest > ccdoctor::analysis::fit::PLAUSIBLE_WITHIN, "seed {seed}: no reading is near {given}");
            let mut far = 0;
            for v in open {
                let near = distance(v) <= nearest * ccdoctor::analysis::fit::PLAUSIBLE_WITHIN * (1.0 + 1e-9);
                assert_eq!(v.advises || v.choice.is_some(), near, "seed {seed}, {given}: {:?}", v.fit.reading);
                far += u32::from(!near);
            }
            assert!(far > 0, "seed {seed}, {given}: a reading far from the nearest, left out");
            let v = a.choice.value.expect("a value");
            assert!(s.at(v).almost_worked(), "seed {seed}, {given}: {v}");
            values.push(v);
        }
        // Beyond every reading, how far beyond changes nothing.
        assert_eq!(values[0], values[1], "seed {seed}");
    }
}
