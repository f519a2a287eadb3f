//! The world simulator's own tests: its bucket, retries, cuts and files by hand, so that the
//! replay's tests (tests/replay.rs) stand on a simulator that does what the references say.

mod sim;

mod tests {
    use super::sim::*;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};
    use std::path::{Path, PathBuf};

    const T0: i64 = 1_793_610_000_000; // 2026-11-02T09:00:00Z

    // ---- helpers -------------------------------------------------------------------------

    fn req(input: u64, cache_write: u64, cache_read: u64, demand: u64) -> RequestScript {
        RequestScript { input, cache_write, cache_read, demand, ttft_ms: 1_000, speed_tps: 100.0, thinking: false }
    }

    fn step(r: RequestScript) -> StepScript {
        StepScript { req: r, gap_ms: 1_000, tools: 1, agents: Vec::new(), join_gap_ms: 500 }
    }

    fn session(n: u64, start: i64, turns: Vec<TurnScript>) -> SessionScript {
        SessionScript { id: format!("00000000-0000-4000-8000-{n:012}"), project: "p".into(), start, turns }
    }

    fn hand_world(quota_tpm: u64) -> World {
        World { quota_tpm, start: T0, ..World::default() }
    }

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ccsim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// Every file under `dir` (relative path → bytes).
    fn files(dir: &Path) -> HashMap<PathBuf, Vec<u8>> {
        let mut out = HashMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    /// Top-level keys of a JSON object line, in written order (serde_json's Value sorts them).
    fn top_keys(line: &str) -> Vec<String> {
        let (mut keys, mut depth, mut in_str, mut esc, mut cur) = (Vec::new(), 0, false, false, String::new());
        let mut last_str = String::new();
        for ch in line.chars() {
            if in_str {
                if esc {
                    esc = false;
                } else if ch == '\\' {
                    esc = true;
                } else if ch == '"' {
                    in_str = false;
                    last_str = std::mem::take(&mut cur);
                    continue;
                }
                cur.push(ch);
                continue;
            }
            match ch {
                '"' => in_str = true,
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                ':' if depth == 1 => keys.push(std::mem::take(&mut last_str)),
                _ => {}
            }
        }
        keys
    }

    fn jsonl_raw(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
        let mut v: Vec<_> = files(dir)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "jsonl"))
            .map(|(p, b)| (p, String::from_utf8(b).unwrap().lines().map(String::from).collect()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn jsonl_lines(dir: &Path) -> Vec<(PathBuf, Vec<Value>)> {
        let mut v: Vec<_> = files(dir)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "jsonl"))
            .map(|(p, b)| {
                let lines = String::from_utf8(b)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("every line is JSON"))
                    .collect();
                (p, lines)
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    // ---- bucket ----------------------------------------------------------------------------

    #[test]
    fn bucket_arithmetic_by_hand() {
        // Q = 60,000 TPM refills exactly 1 token a millisecond.
        let mut b = Bucket::new(60_000, 0);
        assert_eq!(b.level_at(0), 60_000.0, "starts full");
        assert!(b.try_take(0, 40_000), "admitted: the bucket holds the reservation");
        assert_eq!(b.level_at(0), 20_000.0);
        assert!(!b.try_take(0, 20_001), "refused: one token short");
        assert_eq!(b.level_at(0), 20_000.0, "a refusal takes nothing");
        assert_eq!(b.level_at(1_500), 21_500.0, "refill 1 token/ms");
        // Settle at t=2,000: charge 10,500 of the 40,000 reserved → 29,500 back.
        b.settle(2_000, 40_000, 10_500);
        assert_eq!(b.level_at(2_000), 20_000.0 + 2_000.0 + 29_500.0);
        assert_eq!(b.level_at(10_000), 59_500.0);
        assert_eq!(b.level_at(20_000), 60_000.0, "refill never above Q");
        // Plain reading: a charge above the reservation is a debt.
        assert!(b.try_take(20_000, 60_000));
        b.settle(20_000, 60_000, 70_000);
        assert_eq!(b.level_at(20_000), -10_000.0);
        assert_eq!(b.level_at(25_000), -5_000.0);
    }

    #[test]
    fn reservation_and_charge_follow_the_readings() {
        let mut w = hand_world(200_000);
        let r = req(10, 990, 50_000, 300);
        assert_eq!(reservation(&w, &r, 32_000), 10 + 990 + 5 * 32_000);
        assert_eq!(charge(&w, &r, 300), 10 + 990 + 1_500, "cache reads never charged");
        w.reading.cache_reads_reserved = true;
        assert_eq!(reservation(&w, &r, 32_000), 10 + 990 + 50_000 + 160_000);
        w.reading = Reading { cache_reads_reserved: false, burndown_reservation: false };
        assert_eq!(reservation(&w, &r, 32_000), 10 + 990 + 32_000);
        // AWS's worked example: 1,000 input + 200 cache write + 100 output → 1,700.
        assert_eq!(charge(&hand_world(1), &req(1_000, 200, 0, 100), 100), 1_700);
    }

    #[test]
    fn one_request_is_admitted_settled_and_timed() {
        let w = hand_world(60_000);
        let s = Script {
            sessions: vec![session(
                1,
                T0,
                vec![TurnScript { think_ms: 0, steps: vec![step(req(10, 990, 5_000, 1_000))] }],
            )],
        };
        let o = simulate_script(&w, &s, &[2_000]);
        assert_eq!((o.attempts, o.throttled_attempts, o.responses, o.logical_responses), (1, 0, 1, 1));
        let r = &o.requests[0];
        assert_eq!(r.admitted_ms, Some(T0));
        assert_eq!(r.end_ms, T0 + 1_000 + 10_000, "ttft + 1,000 tokens at 100 tokens/s");
        assert_eq!(r.reserved, 10 + 990 + 5 * 2_000);
        assert_eq!(r.charged, 10 + 990 + 5 * 1_000);
        assert_eq!(r.output, 1_000);
        assert!(!r.cut);
    }

    #[test]
    fn a_second_request_waits_for_the_first_to_settle() {
        // Two sessions at once; each reserves 5 × 8,000 = 40,000 of 60,000.
        let w = hand_world(60_000);
        let t = || vec![TurnScript { think_ms: 0, steps: vec![step(req(0, 0, 0, 100))] }];
        let s = Script { sessions: vec![session(1, T0, t()), session(2, T0, t())] };
        let o = simulate_script(&w, &s, &[8_000, 8_000]);
        // First: admitted at T0, ends at T0 + 2,000, settles 500 → the bucket is full again.
        // Second: refused at T0, +d1, +d1+d2 (level ≈ 20,000 + refill), admitted at +d1+d2+d3.
        assert_eq!(o.requests[0].end_ms, T0 + 2_000);
        let second = &o.requests[1];
        assert_eq!(second.attempts, 4);
        assert_eq!(o.throttled_attempts, 3);
        assert_eq!(o.retries, 3);
        let admitted = second.admitted_ms.unwrap() - T0;
        assert!((3_500..4_375).contains(&admitted), "admitted after three retries: {admitted}");
        assert_eq!(o.peak_in_flight, 1);
    }

    /// Others' load ([`World::others`]) draws on the same bucket: a request the bucket alone
    /// admits at once is refused while others keep it empty, until it fails; their draws,
    /// which go on while the user's work does, do not move the world's end.
    #[test]
    fn others_draw_from_the_same_bucket() {
        let t = || vec![TurnScript { think_ms: 0, steps: vec![step(req(0, 0, 0, 100))] }];
        let s = Script { sessions: vec![session(1, T0 + 1_000, t())] };
        let alone = simulate_script(&hand_world(60_000), &s, &[8_000]);
        assert_eq!((alone.throttled_attempts, alone.failed_requests), (0, 0));
        // Every second others take the whole quota: 40,000 reserved never fits.
        let w = World { others: Some((1_000, 60_000)), ..hand_world(60_000) };
        let shared = simulate_script(&w, &s, &[8_000]);
        assert_eq!((shared.failed_requests, shared.responses), (1, 0));
        assert!(shared.throttled_attempts > 1, "{}", shared.throttled_attempts);
        // Ten retries back off a few minutes at most: the end is the failure's, not a draw's.
        assert!(shared.end_ms < T0 + 10 * 60_000, "{}", shared.end_ms - T0);
        assert_eq!(shared.end_ms, shared.requests[0].end_ms, "the failed request ends the world");
    }

    // ---- retries ---------------------------------------------------------------------------

    #[test]
    fn retry_schedule() {
        let bases: Vec<i64> = (1..=10).map(retry_base_ms).collect();
        assert_eq!(bases, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000, 32_000]);
        assert_eq!(retry_delay_ms(1, 0.0), 500);
        assert_eq!(retry_delay_ms(1, 0.999_999), 624);
        assert_eq!(retry_delay_ms(7, 0.5), 36_000);
    }

    #[test]
    fn eleventh_refusal_fails_and_the_turn_ends() {
        // Reservation 5 × 32,000 = 160,000 > Q = 100,000: never admitted.
        let w = hand_world(100_000);
        let turns = vec![
            TurnScript { think_ms: 0, steps: vec![step(req(1, 1, 0, 10)), step(req(1, 1, 0, 10))] },
            TurnScript { think_ms: 60_000, steps: vec![step(req(1, 1, 0, 10))] },
        ];
        let s = Script { sessions: vec![session(1, T0, turns)] };
        let o = simulate_script(&w, &s, &[32_000]);
        assert_eq!(o.failed_requests, 2, "the first turn gives up at its first step; the second turn fails too");
        assert_eq!(o.attempts, 22);
        assert_eq!(o.throttled_attempts, 22);
        assert_eq!(o.retries, 20);
        assert_eq!(o.responses, 0);
        let ev = &o.chains[0].events;
        let retries: Vec<_> = ev
            .iter()
            .filter_map(|e| match *e {
                LogEvent::Retry { t, attempt, delay_ms } => Some((t, attempt, delay_ms)),
                _ => None,
            })
            .take(10)
            .collect();
        let mut t = T0;
        for (k, &(at, attempt, delay)) in retries.iter().enumerate() {
            let k = k as u32 + 1;
            assert_eq!(attempt, k);
            assert_eq!(at, t, "attempt {k} at the previous time + delay");
            let base = retry_base_ms(k);
            assert!(delay >= base && (delay as f64) < base as f64 * 1.25, "delay {delay} for retry {k}");
            t += delay;
        }
        let fail_at = ev.iter().find_map(|e| if let LogEvent::RateLimitError { t } = *e { Some(t) } else { None });
        assert_eq!(fail_at, Some(t), "the 11th attempt is refused at the end of the 10th delay");
        let prompts: Vec<i64> =
            ev.iter().filter_map(|e| if let LogEvent::Prompt { t } = *e { Some(t) } else { None }).collect();
        assert_eq!(prompts, vec![T0, t + 60_000], "the next turn comes after the think time");
    }

    #[test]
    fn a_failed_subagent_ends_and_its_parent_goes_on() {
        let w = hand_world(60_000);
        let agent = AgentScript {
            id: "a000001".into(),
            index: 0,
            spawn_gap_ms: 100,
            steps: vec![step(req(1, 100_000, 0, 10)), step(req(1, 1, 0, 10))], // first needs > Q
        };
        let mut first = step(req(1, 1, 0, 10));
        first.agents = vec![agent];
        let turns = vec![TurnScript { think_ms: 0, steps: vec![first, step(req(1, 1, 0, 10))] }];
        let s = Script { sessions: vec![session(1, T0, turns)] };
        let o = simulate_script(&w, &s, &[1_000]);
        assert_eq!(o.failed_requests, 1);
        assert_eq!(o.responses, 2, "parent's two responses; the agent wrote none");
        let parent_second = o.requests.iter().find(|r| r.agent_id.is_none() && r.step == 1).unwrap();
        let agent_fail = o.requests.iter().find(|r| r.failed).unwrap();
        assert_eq!(parent_second.first_attempt_ms, agent_fail.end_ms + 500, "join gap after the agent ended");
    }

    // ---- cut responses ---------------------------------------------------------------------

    #[test]
    fn a_cut_gets_three_continuations_then_the_error() {
        let w = hand_world(1_000_000);
        let turns =
            vec![TurnScript { think_ms: 0, steps: vec![step(req(5, 100, 20_000, 4_500)), step(req(5, 100, 0, 10))] }];
        let s = Script { sessions: vec![session(1, T0, turns)] };
        let o = simulate_script(&w, &s, &[1_000]);
        assert_eq!(o.responses, 4, "first send + 3 continuations; the turn ends at the error");
        assert_eq!((o.cut_api_responses, o.cut_responses, o.logical_responses), (4, 1, 1));
        assert_eq!((o.resume_prompts, o.max_output_errors), (3, 1));
        let demands: Vec<u64> = o.requests.iter().map(|r| r.demand).collect();
        assert_eq!(demands, [4_500, 3_500, 2_500, 1_500]);
        for k in 1..4 {
            let (a, b) = (&o.requests[k - 1], &o.requests[k]);
            assert_eq!(b.first_attempt_ms, a.end_ms, "continuation sent at once");
            assert_eq!(b.cache_read, a.cache_read + a.cache_write);
            assert_eq!(b.cache_write, 1_000, "what was just written");
            assert_eq!(b.segment, k as u32);
        }
        let dir = tmp("cut");
        write_home(&o, &dir).unwrap();
        let lines = jsonl_lines(&dir);
        let all: Vec<&Value> = lines.iter().flat_map(|(_, l)| l).collect();
        let max_tokens = all.iter().filter(|l| l["message"]["stop_reason"] == "max_tokens").count();
        assert_eq!(max_tokens, 4);
        let metas: Vec<_> = all.iter().filter(|l| l["isMeta"] == true).collect();
        assert_eq!(metas.len(), 3);
        assert!(
            metas[0]["message"]["content"].as_str().unwrap().starts_with("Output token limit hit. Resume directly")
        );
        let errs: Vec<_> = all.iter().filter(|l| l["isApiErrorMessage"] == true).collect();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0]["error"], "max_output_tokens");
        assert!(
            errs[0]["message"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("exceeded the 1000 output token maximum")
        );
        assert!(errs[0].get("apiErrorStatus").is_none());
        for l in all.iter().filter(|l| l["type"] == "assistant" && l["isApiErrorMessage"] != true) {
            assert_eq!(l["message"]["usage"]["output_tokens"], 1_000, "final usage on every line");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_cut_recovered_within_three_continuations_goes_on() {
        let w = hand_world(1_000_000);
        let turns =
            vec![TurnScript { think_ms: 0, steps: vec![step(req(5, 100, 0, 2_500)), step(req(5, 100, 0, 10))] }];
        let s = Script { sessions: vec![session(1, T0, turns)] };
        let o = simulate_script(&w, &s, &[1_000]);
        let outputs: Vec<u64> = o.requests.iter().map(|r| r.output).collect();
        assert_eq!(outputs, [1_000, 1_000, 500, 10]);
        assert_eq!((o.responses, o.logical_responses, o.cut_responses, o.cut_api_responses), (4, 2, 1, 2));
        assert_eq!((o.resume_prompts, o.max_output_errors), (2, 0));
    }

    // ---- determinism and independence of the script -----------------------------------------

    #[test]
    fn same_seed_gives_byte_identical_files() {
        let w = World { seed: 42, ..World::default() };
        let (a, b) = (tmp("det-a"), tmp("det-b"));
        write_home(&simulate(&w, 8_000), &a).unwrap();
        write_home(&simulate(&w, 8_000), &b).unwrap();
        let (fa, fb) = (files(&a), files(&b));
        assert!(fa.len() > 3);
        assert_eq!(fa, fb);
        let c = tmp("det-c");
        write_home(&simulate(&World { seed: 43, ..w }, 8_000), &c).unwrap();
        assert_ne!(files(&c), fa);
        for d in [a, b, c] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn same_script_at_another_max_output() {
        let w = World { seed: 9, ..World::default() };
        assert_eq!(script(&w), script(&w));
        let key = |r: &RequestRecord| (r.session, r.agent_id.clone(), r.turn, r.step);
        let demands = |m: u64| -> HashMap<_, _> {
            simulate(&w, m)
                .requests
                .iter()
                .filter(|r| r.segment == 0)
                .map(|r| (key(r), (r.demand, r.input, r.cache_read)))
                .collect()
        };
        let (low, high) = (demands(4_000), demands(32_000));
        let common: Vec<_> = low.keys().filter(|k| high.contains_key(*k)).collect();
        assert!(common.len() > 50, "most requests run in both: {}", common.len());
        for k in common {
            assert_eq!(low[k], high[k], "same draws for {k:?}");
        }
        // And the jitter of a retry does not depend on anything else.
        assert_eq!(simulate(&w, 32_000).requests, simulate(&w, 32_000).requests);
    }

    #[test]
    fn settings_history_runs_each_session_at_its_value() {
        let w = World { seed: 5, max_output_by_session: Some(vec![32_000, 4_000]), ..World::default() };
        let o = simulate_as_configured(&w);
        let by: Vec<u64> = o.sessions.iter().map(|s| s.max_output).collect();
        assert_eq!(by, [32_000, 4_000, 32_000], "fallback to world.max_output");
        for r in &o.requests {
            assert_eq!(r.max_output, by[r.session], "subagents inherit their session's value");
        }
        let newest = o.sessions.iter().max_by_key(|s| s.start_ms).unwrap().max_output;
        assert!(settings_json(&o).contains(&format!("\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{newest}\"")));
    }

    // ---- the files -------------------------------------------------------------------------

    #[test]
    fn files_have_claude_codes_shape() {
        let w = World { seed: 3, p_task: 0.3, ..World::default() };
        let o = simulate(&w, 2_000);
        let dir = tmp("shape");
        write_home(&o, &dir).unwrap();
        let settings: Value = serde_json::from_slice(&std::fs::read(dir.join("settings.json")).unwrap()).unwrap();
        assert_eq!(settings["env"]["CLAUDE_CODE_USE_BEDROCK"], "1");
        assert_eq!(settings["env"]["CLAUDE_CODE_MAX_OUTPUT_TOKENS"], "2000");
        let mut uuids = HashSet::new();
        let mut tool_uses = HashSet::new();
        let mut agent_files = 0;
        let mut end_of_task: HashMap<String, String> = HashMap::new(); // session → last Task line time
        for (path, raw) in jsonl_raw(&dir) {
            let lines: Vec<Value> = raw.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
            let is_agent = path.to_string_lossy().contains("/subagents/agent-");
            agent_files += usize::from(is_agent);
            let mut last_ts = String::new();
            let mut parent = Value::Null;
            for (l, raw) in lines.iter().zip(&raw) {
                let keys = top_keys(raw);
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                assert_eq!(keys.len(), l.as_object().unwrap().len(), "{raw}");
                assert!(uuids.insert(l["uuid"].as_str().unwrap().to_string()), "uuid unique");
                assert_eq!(l["parentUuid"], parent, "parentUuid chains the lines");
                parent = l["uuid"].clone();
                let ts = l["timestamp"].as_str().unwrap().to_string();
                assert!(ts.len() == 24 && ts.ends_with('Z'), "{ts}");
                assert!(ts >= last_ts, "time order in {path:?}");
                last_ts = ts.clone();
                assert_eq!(l["isSidechain"], is_agent);
                assert_eq!(l.get("agentId").is_some(), is_agent);
                assert_eq!(l["version"], "2.1.280");
                if l["type"] == "assistant" && l["isApiErrorMessage"] != true {
                    assert!(l["requestId"].as_str().unwrap().starts_with("req_"));
                    assert!(l["message"]["id"].as_str().unwrap().starts_with("msg_"));
                    for b in l["message"]["content"].as_array().unwrap() {
                        if b["type"] == "tool_use" {
                            tool_uses.insert(b["id"].as_str().unwrap().to_string());
                            if b["name"] == "Task" {
                                end_of_task.insert(l["sessionId"].as_str().unwrap().into(), ts.clone());
                            }
                        }
                    }
                }
                if let Some(c) = l["message"]["content"].as_array() {
                    for b in c.iter().filter(|b| b["type"] == "tool_result") {
                        assert!(tool_uses.contains(b["tool_use_id"].as_str().unwrap()), "result after its call");
                    }
                }
                // Key order as in the real corpus.
                let head = ["parentUuid", "isSidechain", "userType", "cwd", "sessionId", "version", "gitBranch"];
                assert_eq!(&keys[..7], &head);
                let rest: Vec<&str> = keys[7 + usize::from(is_agent)..].to_vec();
                match l["type"].as_str().unwrap() {
                    "user" => assert!(
                        rest == ["type", "message", "uuid", "timestamp"]
                            || rest == ["type", "message", "isMeta", "uuid", "timestamp"]
                    ),
                    "assistant" if l["isApiErrorMessage"] == true => {
                        assert_eq!(&rest[..5], ["message", "type", "uuid", "timestamp", "error"])
                    }
                    "assistant" => assert_eq!(rest, ["message", "requestId", "type", "uuid", "timestamp"]),
                    "system" => assert_eq!(
                        rest,
                        [
                            "type",
                            "subtype",
                            "level",
                            "error",
                            "retryInMs",
                            "retryAttempt",
                            "maxRetries",
                            "timestamp",
                            "uuid"
                        ]
                    ),
                    other => panic!("unexpected type {other}"),
                }
            }
        }
        assert!(agent_files > 0, "some subagents ran");
        assert!(!end_of_task.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn subagents_run_inside_their_parents_wait() {
        let w = World { seed: 11, p_task: 0.4, ..World::default() };
        let o = simulate(&w, 4_000);
        let mut checked = 0;
        for r in o.requests.iter().filter(|r| r.agent_id.is_some()) {
            // The parent's spawning response ended before; its next request starts after.
            let parent = o
                .requests
                .iter()
                .filter(|p| p.agent_id.is_none() && p.session == r.session && p.end_ms <= r.first_attempt_ms)
                .max_by_key(|p| p.end_ms)
                .unwrap();
            let next = o
                .requests
                .iter()
                .find(|p| p.agent_id.is_none() && p.session == r.session && p.first_attempt_ms > parent.end_ms);
            if let Some(next) = next {
                assert!(next.first_attempt_ms > r.end_ms, "parent waits for its subagents");
                checked += 1;
            }
        }
        assert!(checked > 5);
    }

    // ---- behaviour -------------------------------------------------------------------------

    #[test]
    fn sanity_table() {
        let seeds = [1u64, 2, 3, 4, 5];
        println!(
            "\n{:>10} {:>9} {:>10} {:>7} {:>6} {:>9} {:>9} {:>6}",
            "max_output", "attempts", "throttled", "failed", "cut", "responses", "exhausted", "peak"
        );
        let mut rows = Vec::new();
        for m in [1_000u64, 2_000, 4_000, 8_000, 16_000, 32_000] {
            let (mut a, mut th, mut f, mut c, mut resp, mut ex, mut peak) = (0, 0, 0, 0, 0, 0, 0);
            for &seed in &seeds {
                let w = World { seed, sessions: 3, p_task: 0.15, max_subagents: 3, ..World::default() };
                let o = simulate(&w, m);
                a += o.attempts;
                th += o.throttled_attempts;
                f += o.failed_requests;
                c += o.cut_responses;
                resp += o.responses;
                ex += o.max_output_errors;
                peak = peak.max(o.peak_in_flight);
            }
            println!("{m:>10} {a:>9} {th:>10} {f:>7} {c:>6} {resp:>9} {ex:>9} {peak:>6}");
            rows.push((m, th, c));
        }
        let th = |m: u64| rows.iter().find(|r| r.0 == m).unwrap().1;
        let cut = |m: u64| rows.iter().find(|r| r.0 == m).unwrap().2;
        assert!(th(32_000) > 10 * th(4_000).max(1), "32,000 throttles far more than 4,000");
        assert!(th(16_000) > th(4_000));
        assert!(cut(1_000) > cut(4_000) && cut(4_000) > cut(32_000));
    }
}
