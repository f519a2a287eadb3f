//! The two ways a transcript line is read give the same result on any line: `line::parse`
//! (the fast path: common lines read by hand, the rest by serde_json) and `line::parse_plain`
//! (serde_json alone, the `--full-parse` reference). The lines are generated in the shape of
//! Claude Code's, with every kind of odd value, escape and number, then often broken by one
//! byte. A flat telemetry event is read by the same fast reader or by serde_json alone, with
//! the same fields.

mod common;

use ccdoctor::otel::fields::{Fields, FlatObject};
use ccdoctor::scan::line::{LineError, Record, parse, parse_plain};
use ccdoctor::scan::prefilter;
use common::cases;
use proptest::prelude::*;

/// Whitespace JSON allows between tokens, usually none.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just(" \t\r ")]
}

/// A string literal, quotes included: plain runs long enough to cross the reader's 64-byte
/// blocks, non-ASCII characters, every escape (surrogates, bad ones, raw control bytes too).
fn string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        20 => "[a-z ]{0,70}",
        3 => prop::sample::select(vec!["é", "€", "😀", "ü", "中"]).prop_map(str::to_string),
        6 => prop::sample::select(vec![r"\n", r#"\""#, r"\\", r"\/", r"\b", r"\f", r"\r", r"\t"]).prop_map(str::to_string),
        2 => (0u32..0x10000).prop_filter("not a surrogate", |c| !(0xd800..0xe000).contains(c)).prop_map(|c| format!("\\u{c:04x}")),
    ];
    // Rarely, what the fast reader leaves to serde_json or serde_json refuses.
    let odd = prop_oneof![
        (0xd800u32..0xe000).prop_map(|c| format!("\\u{c:04X}")),
        Just(r"\ud83d\ude00".to_string()),
        prop::sample::select(vec![r"\q", r"\u12", r"\u12g4", "\u{1}", "\t", r"\"]).prop_map(str::to_string),
    ];
    let pieces = prop::collection::vec(piece, 0..8);
    prop_oneof![
        30 => pieces.clone().prop_map(|p| format!("\"{}\"", p.concat())),
        1 => (pieces, odd).prop_map(|(mut p, o)| {
            p.push(o);
            let half = p.len() / 2;
            p.rotate_right(half);
            format!("\"{}\"", p.concat())
        }),
    ]
}

/// Number spellings, valid and not.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        20 => (0u64..100_000).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
            "0", "-0", "01", "-1", "1.5", "1.", ".5", "1e5", "1E+2", "2e-3", "-2.5E-3", "1e400",
            "99999999999999999999", "18446744073709551615", "18446744073709551616", "+1", "1x",
        ])
        .prop_map(str::to_string),
    ]
}

/// Numbers too large for a double: serde_json refuses them, JSON.parse reads `Infinity`.
fn huge() -> impl Strategy<Value = String> {
    let mut all: Vec<String> = ["1e400", "-1e400", "1e309", "2E+308", "-9.9e999"].map(String::from).to_vec();
    all.push("9".repeat(400));
    prop::sample::select(all)
}

/// Any JSON value (and a few broken ones).
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => Just("null".to_string()),
        3 => Just("true".to_string()),
        3 => Just("false".to_string()),
        1 => Just("tru".to_string()),
        6 => number(),
        6 => string(),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            (prop::collection::vec((ws(), inner.clone()), 0..5), ws()).prop_map(|(items, w)| {
                let items: Vec<String> = items.into_iter().map(|(w, v)| format!("{w}{v}")).collect();
                format!("[{}{w}]", items.join(","))
            }),
            prop::collection::vec((key(&["a", "type", "text"]), inner), 0..5).prop_map(object),
        ]
    })
}

/// A key from `known` (sometimes escaped, which serde_json unescapes) or another one.
fn key(known: &[&'static str]) -> impl Strategy<Value = String> + use<> {
    prop::sample::select(known.to_vec()).prop_flat_map(key_text)
}

/// How a key is written: plainly, or now and then with an escape (serde_json unescapes it),
/// or replaced by another key.
fn key_text(k: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just(format!("\"{k}\"")),
        1 => Just(format!("\"\\u{:04x}{}\"", u32::from(k.as_bytes()[0]), &k[1..])),
        1 => "[a-zA-Z_]{1,12}".prop_map(|k| format!("\"{k}\"")),
    ]
}

fn object(members: Vec<(String, String)>) -> String {
    let members: Vec<String> = members.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", members.join(","))
}

/// Members of an object with keys from `known`, each with a value of the type its field
/// holds (now and then of any type); keys may repeat.
fn members(known: &'static [&'static str], n: usize) -> impl Strategy<Value = String> {
    let keys = (prop::sample::subsequence(known, 0..=n.min(known.len())), prop::sample::select(known), 0..6u8)
        .prop_map(|(mut keys, extra, dice)| {
            if dice == 0 {
                keys.push(extra);
            }
            keys
        })
        .prop_shuffle();
    keys.prop_flat_map(|keys| keys.into_iter().map(|k| (key_text(k), ws(), field(k))).collect::<Vec<_>>())
        .prop_map(|m| object(m.into_iter().map(|(k, w, v)| (k, format!("{w}{v}"))).collect()))
}

fn pick(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec()).prop_map(|v| format!("\"{v}\"")).boxed()
}

/// A value for the field `k`.
fn field(k: &'static str) -> BoxedStrategy<String> {
    let typed = match k {
        "type" => pick(&["assistant", "system", "user", "text", "thinking", "tool_use", "server_tool_use"]),
        "subtype" => pick(&["api_error", "init"]),
        "model" => pick(&["claude-opus-4-6", "<synthetic>", "claude-sonnet-4-5"]),
        "stop_reason" => pick(&["max_tokens", "end_turn", "tool_use"]),
        "isSidechain" | "isApiErrorMessage" | "isMeta" => {
            prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_string).boxed()
        }
        "input_tokens"
        | "output_tokens"
        | "cache_creation_input_tokens"
        | "cache_read_input_tokens"
        | "ephemeral_5m_input_tokens"
        | "ephemeral_1h_input_tokens"
        | "apiErrorStatus"
        | "retryAttempt" => number().boxed(),
        "cache_creation" => members(CACHE_CREATION, 3).boxed(),
        "usage" => members(USAGE, 8).boxed(),
        "content" => content().boxed(),
        "error" | "input" => value().boxed(),
        _ => string().boxed(),
    };
    prop_oneof![12 => typed, 1 => value(), 1 => huge()].boxed()
}

const USAGE: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cache_creation",
    "service_tier",
];

const CACHE_CREATION: &[&str] = &["ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"];

fn content() -> impl Strategy<Value = String> {
    const BLOCK: &[&str] = &["type", "text", "thinking", "signature", "name", "input", "id"];
    let block = members(BLOCK, 5);
    let blocks =
        prop::collection::vec(prop_oneof![12 => block, 1 => value()], 0..4).prop_map(|b| format!("[{}]", b.join(",")));
    prop_oneof![6 => blocks, 2 => string(), 1 => value()]
}

fn message() -> impl Strategy<Value = String> {
    const KEYS: &[&str] = &["model", "content", "stop_reason", "usage", "role", "type"];
    // An id first, as a response has; sometimes another one (a repeated field).
    (members(KEYS, 6), "[a-z0-9_]{1,8}")
        .prop_map(|(body, id)| format!("{{\"id\":\"{id}\"{}{}", if body.len() > 2 { "," } else { "" }, &body[1..]))
}

fn line() -> impl Strategy<Value = String> {
    const KEYS: &[&str] = &[
        "subtype",
        "uuid",
        "sessionId",
        "timestamp",
        "version",
        "cwd",
        "isSidechain",
        "agentId",
        "requestId",
        "isApiErrorMessage",
        "isMeta",
        "error",
        "apiErrorStatus",
        "retryAttempt",
        "parentUuid",
    ];
    // Most lines are assistant lines with a message, as the fast path's candidates are; the
    // other members have values of every type.
    (members(KEYS, 6), message(), any::<bool>(), ws()).prop_map(|(body, message, last, w)| {
        let head = format!(r#""type":"assistant","message":{message}"#);
        let body = match (body.len() > 2, last) {
            (false, _) => format!("{{{head}}}"),
            (true, false) => format!("{{{head},{}", &body[1..]),
            (true, true) => format!("{},{head}}}", &body[..body.len() - 1]),
        };
        format!("{w}{body}{w}")
    })
}

/// One byte changed, inserted or cut, or the line cut short: how real lines break.
fn broken(line: String) -> impl Strategy<Value = Vec<u8>> {
    let n = line.len().max(1);
    let byte =
        prop::sample::select(vec![b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b' ', b'1', b'u', 0x01, 0xff, 0xc3]);
    (0..4u8, 0..n, byte).prop_map(move |(how, at, b)| {
        let mut l = line.clone().into_bytes();
        let at = at.min(l.len());
        match how {
            0 => l.insert(at, b),
            1 if at < l.len() => l[at] = b,
            2 if at < l.len() => drop(l.remove(at)),
            _ => l.truncate(at),
        }
        l
    })
}

fn same(line: &[u8]) -> Result<(), TestCaseError> {
    let fast = format!("{:?}", parse(line).map_err(|e| e.to_string()));
    let plain = format!("{:?}", parse_plain(line).map_err(|e| e.to_string()));
    prop_assert_eq!(fast, plain, "line: {}", String::from_utf8_lossy(line));
    Ok(())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn both_readings_agree_on_generated_lines(l in line()) {
        same(l.as_bytes())?;
    }

    #[test]
    fn both_readings_agree_on_broken_lines(l in line().prop_flat_map(broken)) {
        same(&l)?;
    }

    #[test]
    fn both_readings_of_a_flat_event_agree(l in flat_line()) {
        same_flat(l.as_bytes())?;
    }

    #[test]
    fn both_readings_of_a_broken_flat_event_agree(l in flat_line().prop_flat_map(broken)) {
        same_flat(&l)?;
    }
}

/// `n` lines of `strategy`, the same on every run.
fn generated(strategy: impl Strategy<Value = String>, n: usize) -> Vec<String> {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    (0..n).map(|_| strategy.new_tree(&mut runner).unwrap().current()).collect()
}

/// The generator reaches the lines that matter: most are read, some are responses.
#[test]
fn generated_lines_are_mostly_valid_responses() {
    let (mut ok, mut responses) = (0, 0);
    for l in generated(line(), 1000) {
        match parse_plain(l.as_bytes()) {
            Ok(ccdoctor::scan::line::Record::Response(..)) => {
                ok += 1;
                responses += 1;
            }
            Ok(_) => ok += 1,
            Err(_) => {}
        }
    }
    assert!(ok > 200, "only {ok} of 1000 generated lines parse");
    assert!(responses > 50, "only {responses} of 1000 generated lines are responses");
}

/// A top-level member of a line in the shape of Claude Code's envelope: its `type` (any of
/// them, sometimes spaced or escaped), its `timestamp` (sometimes not a string), nested values
/// that hold `type` and `timestamp` keys of their own, and what makes a line countable.
fn envelope_member() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec!["user", "assistant", "progress", "system", "summary"]);
    let typed = (kind, 0..12u8).prop_map(|(t, how)| match how {
        0 => format!(r#" "type" : "{t}""#),
        1 => format!(r#""t\u0079pe":"{t}""#),
        2 => r#""type":7"#.to_string(),
        _ => format!(r#""type":"{t}""#),
    });
    let timed = (0u32..60, 0..10u8).prop_map(|(m, how)| match how {
        0 => r#""timestamp":null"#.to_string(),
        1 => r#""timestamp":5"#.to_string(),
        2 => format!(r#""timestamp" :"2026-03-01T11:{m:02}:00Z""#),
        3 => format!(r#""timestamp":"2026-03-01T12:{m:02}:00\u002e5Z""#),
        _ => format!(r#""timestamp":"2026-03-01T10:{m:02}:00.000Z""#),
    });
    let nested = prop::sample::select(vec![
        r#""toolUseResult":{"timestamp":"2026-03-01T09:00:00.000Z","type":"text"}"#,
        r#""toolUseResult":{"stdout":"a \"timestamp\":\"x\", \"type\":\"assistant\"","x":[1,{"timestamp":"2026-03-01T08:00:00Z"}]}"#,
        r#""data":{"type":"agent_progress","message":{"type":"assistant","message":{"id":"m0","usage":{"output_tokens":9}}}}"#,
        r#""message":{"role":"user","content":[{"tool_use_id":"t","type":"tool_result","content":"ok"}]}"#,
        r#""message":{"role":"user","content":"Output token limit hit. Resume"}"#,
        r#""message":{"id":"m1","model":"claude-opus-4-6","content":[{"type":"text","text":"hi"}],"usage":{"output_tokens":700}}"#,
        r#""requestId":"r1""#,
        r#""subtype":"api_error""#,
        r#""error":{"status":429,"message":"Too many tokens, please wait before trying again."}"#,
        r#""isMeta":true"#,
        r#""isApiErrorMessage":true"#,
        r#""uuid":"u1""#,
        r#""list":["type",{"type":"user"},[{"timestamp":"2026-03-01T07:00:00Z"}]]"#,
        r#""text":"a \\\"type\\\":\\\"user\\\" b""#,
    ])
    .prop_map(str::to_string);
    prop_oneof![3 => typed, 3 => timed, 5 => nested]
}

/// A line of envelope members, most often with a type first (the fast path reads it off the
/// line's start).
fn envelope_line() -> impl Strategy<Value = String> {
    let first = prop::sample::select(vec!["user", "assistant", "progress", "system"]);
    (first, any::<bool>(), prop::collection::vec(envelope_member(), 0..7)).prop_map(|(t, lead, mut members)| {
        if lead {
            members.insert(0, format!(r#""type":"{t}""#));
        }
        format!("{{{}}}", members.join(","))
    })
}

/// A line's meaning as the scan uses it: a user line by its time, anything else by its record.
fn reading(r: Result<Record<'_>, LineError>) -> String {
    match r {
        Ok(Record::User(env)) => {
            format!("user at {:?}", env.timestamp.as_deref().and_then(ccdoctor::time::parse_timestamp))
        }
        Ok(r) => format!("{r:?}"),
        Err(e) => format!("malformed: {e}"),
    }
}

/// What the fast path reads of a whole line: a candidate is parsed; of a user line, only its
/// time; of the rest, nothing.
fn fast_reading(line: &[u8]) -> String {
    match prefilter::classify(line) {
        prefilter::Class::Candidate => reading(parse(line)),
        prefilter::Class::User(t) => format!("user at {t:?}"),
        prefilter::Class::Other => format!("{:?}", Record::Other),
    }
}

/// On every line JSON.parse reads, the fast path reads what the full parse reads. (A line
/// broken only in its middle passes the fast path's check: the documented limit.)
fn same_reading(line: &[u8]) -> Result<(), TestCaseError> {
    let full = parse_plain(line);
    if full.is_ok() {
        prop_assert_eq!(fast_reading(line), reading(full), "line: {}", String::from_utf8_lossy(line));
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn the_fast_path_reads_envelopes_as_the_full_parse(l in envelope_line()) {
        same_reading(l.as_bytes())?;
    }

    #[test]
    fn the_fast_path_reads_generated_lines_as_the_full_parse(l in line()) {
        same_reading(l.as_bytes())?;
    }
}

/// Lines of the review of issue 24: each read by both paths alike.
#[test]
fn fixed_lines_read_alike() {
    let response = |content: &str, usage: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"a","sessionId":"s","requestId":"r","message":{{"id":"m","model":"claude-opus-4-6","content":{content},"usage":{usage}}}}}"#
        )
    };
    let lines = [
        // Item 2 (a): the type written again after a nested value.
        r#"{"type":"progress","sessionId":"s","message":{"id":"m","model":"claude-opus-4-6","usage":{"output_tokens":900}},"requestId":"r1","type":"assistant","uuid":"a"}"#.to_string(),
        r#"{"type":"user","message":{"role":"user","content":"hi"},"type":"progress","timestamp":"2026-03-01T10:00:00Z"}"#.to_string(),
        r#"{"type":"system","subtype":"api_error","error":{"status":429},"data":{},"type":"user"}"#.to_string(),
        // Item 2 (b): overflowing numbers where content is measured.
        response(r#"[{"type":1e400}]"#, r#"{"output_tokens":5}"#),
        response(r#"[{"type":"text","text":1e400}]"#, r#"{"output_tokens":5}"#),
        response(r#"[{"type":"thinking","thinking":1e400}]"#, r#"{"output_tokens":5}"#),
        response(r#"[{"type":"tool_use","name":1e400,"input":{}}]"#, r#"{"output_tokens":5}"#),
        response(r#"[{"type":"text","text":"ok"}]"#, r#"{"output_tokens":1e400}"#),
        // Item 1 (a): lone surrogates.
        response(r#"[{"type":"text","text":"ok \ud83d"}]"#, r#"{"output_tokens":900}"#),
        response(r#""\udc00\ud83d\ude00\ud83d""#, r#"{"output_tokens":9}"#),
        // Item 2 (c): a user line's time.
        r#"{"type":"user","timestamp":"2026-03-01T10:00:00Z","timestamp":"2026-03-01T10:05:00Z"}"#.to_string(),
        r#"{"type":"user","toolUseResult":{"timestamp":"2026-03-01T09:00:00Z"},"timestamp":"2026-03-01T10:00:00Z"}"#.to_string(),
        r#"{"type":"user","timestamp":"2026-03-01T10:00:00Z","x":{"a":[1]},"timestamp":null}"#.to_string(),
        r#"{"type":"user","x":{"timestamp":"2026-03-01T10:00:00Z"}}"#.to_string(),
    ];
    for line in &lines {
        assert!(parse_plain(line.as_bytes()).is_ok(), "JSON.parse reads it: {line}");
        assert_eq!(fast_reading(line.as_bytes()), reading(parse_plain(line.as_bytes())), "{line}");
        assert_eq!(
            format!("{:?}", parse(line.as_bytes()).map_err(|e| e.to_string())),
            format!("{:?}", parse_plain(line.as_bytes()).map_err(|e| e.to_string())),
            "{line}"
        );
    }
}

/// The envelope generator reaches what matters: valid lines, user lines with a time, and
/// lines whose last type is not the one their start tells.
#[test]
fn generated_envelopes_reach_the_cases() {
    let (mut valid, mut timed_users, mut retyped) = (0, 0, 0);
    for l in generated(envelope_line(), 1000) {
        let Ok(r) = parse_plain(l.as_bytes()) else { continue };
        valid += 1;
        if let Record::User(env) = &r
            && env.timestamp.is_some()
        {
            timed_users += 1;
        }
        let early = prefilter::early_type(l.as_bytes()).map(|t| String::from_utf8_lossy(t).into_owned());
        let last =
            serde_json::from_str::<serde_json::Value>(&l).ok().and_then(|v| v["type"].as_str().map(String::from));
        if early.is_some() && early != last {
            retyped += 1;
        }
    }
    assert!(valid > 500, "only {valid} of 1000 envelopes are valid");
    assert!(timed_users > 50, "only {timed_users} user lines with a time");
    assert!(retyped > 50, "only {retyped} lines retyped after their start");
}

// ---------------------------------------------------------------------------------------
// A flat telemetry event's line: the same fast reader, asked for every member.

const FLAT_KEYS: &[&str] = &["event_name", "session_id", "input_tokens", "model", "duration_ms"];

/// A flat event: keys of its fields (sometimes escaped or repeated) with values of any type,
/// whitespace around.
fn flat_line() -> impl Strategy<Value = String> {
    let member = (key(FLAT_KEYS), ws(), prop_oneof![6 => string(), 6 => number(), 3 => value(), 1 => huge()]);
    (prop::collection::vec(member, 0..8), ws()).prop_map(|(members, w)| {
        let members = members.into_iter().map(|(k, s, v)| (k, format!("{s}{v}"))).collect();
        format!("{w}{}{w}", object(members))
    })
}

/// serde_json's fields of a line, and the fast reader's (`None`: left to serde_json).
fn flat_readings(line: &[u8]) -> (Option<Result<Fields<'_>, String>>, Option<Fields<'_>>) {
    let text = std::str::from_utf8(line).ok();
    let plain = text.map(|t| serde_json::from_str::<FlatObject>(t).map(|o| o.0).map_err(|e| e.to_string()));
    (plain, text.and_then(FlatObject::skim).map(|o| o.0))
}

/// Where the fast reader reads a line, serde_json reads the same fields from it.
fn same_flat(line: &[u8]) -> Result<(), TestCaseError> {
    let shown = String::from_utf8_lossy(line);
    match flat_readings(line) {
        (Some(Ok(plain)), Some(fast)) => prop_assert_eq!(fast, plain, "line: {}", shown),
        (plain, Some(_)) => prop_assert!(false, "read a line serde_json gives {:?}: {}", plain, shown),
        (_, None) => {}
    }
    Ok(())
}

/// The flat generator reaches both paths: most of its lines the fast reader reads, and some
/// it leaves to serde_json (which reads some of those, and refuses others).
#[test]
fn generated_flat_events_take_both_paths() {
    let (mut fast, mut left_read, mut refused) = (0, 0, 0);
    for l in generated(flat_line(), 1000) {
        match flat_readings(l.as_bytes()) {
            (_, Some(_)) => fast += 1,
            (Some(Ok(_)), None) => left_read += 1,
            _ => refused += 1,
        }
    }
    assert!(fast > 500, "the fast reader read only {fast} of 1000 generated events");
    assert!(left_read > 10 && refused > 10, "left to serde_json: {left_read} read, {refused} refused");
}
