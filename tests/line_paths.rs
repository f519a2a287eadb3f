//! The two ways a transcript line is read give the same result on any line: `line::parse`
//! (the fast path: common lines read by hand, the rest by serde_json) and `line::parse_plain`
//! (serde_json alone, the `--full-parse` reference). The lines are generated in the shape of
//! Claude Code's, with every kind of odd value, escape and number, then often broken by one
//! byte.

use ccdoctor::scan::line::{parse, parse_plain};
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
    prop_oneof![12 => typed, 1 => value()].boxed()
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
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn both_readings_agree_on_generated_lines(l in line()) {
        same(l.as_bytes())?;
    }

    #[test]
    fn both_readings_agree_on_broken_lines(l in line().prop_flat_map(broken)) {
        same(&l)?;
    }
}

/// The generator reaches the lines that matter: most are read, some are responses.
#[test]
fn generated_lines_are_mostly_valid_responses() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut responses) = (0, 0);
    for _ in 0..1000 {
        let l = line().new_tree(&mut runner).unwrap().current();
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
