//! One report that agrees with itself (issue 23, item 5), on the four bundled samples: every
//! figure the report shows twice is the same figure (or its label says why it differs), and
//! every table's columns add up to the totals they sit beside, in the JSON and in the
//! Markdown (which walks the same document as the table: tests/snapshots.rs).

mod common;

use ccdoctor::text::thousands;
use common::{Run, ccdoctor, testdata};
use serde_json::Value;

/// The inputs of each sample's report.
fn samples() -> Vec<(&'static str, Vec<String>)> {
    let path = |s: &str| testdata().join(s).to_string_lossy().into_owned();
    vec![
        ("claude-home", vec![path("claude-home")]),
        ("bedrock-home", vec![path("bedrock-home")]),
        ("late-home", vec![path("late-home")]),
        ("otel", vec!["--otel".into(), path("otel")]),
    ]
}

fn report(input: &[String], format: &str) -> String {
    let r: Run = ccdoctor(&testdata()).args(["scan", "--format", format]).args(input).output().unwrap().into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

/// A Markdown table: its section's title, its header and rows (cells unescaped).
struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_start_matches('|').trim_end_matches('|').split(" | ").map(|c| unescape(c.trim())).collect()
}

fn tables(markdown: &str) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    let (mut title, mut lines) = (String::new(), markdown.lines().peekable());
    while let Some(line) = lines.next() {
        if let Some(t) = line.strip_prefix("### ") {
            title = unescape(t);
        } else if line.starts_with('|') && lines.peek().is_some_and(|l| l.starts_with("|---")) {
            lines.next();
            let mut rows = Vec::new();
            while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
                rows.push(cells(row));
            }
            out.push(Table { title: title.clone(), header: cells(line), rows });
        }
    }
    out
}

fn table<'a>(all: &'a [Table], title: &str) -> Option<&'a Table> {
    all.iter().find(|t| t.title.starts_with(title))
}

fn number(cell: &str) -> u64 {
    let digits: String = cell.split_whitespace().next().unwrap_or("").chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("not a number: {cell:?}"))
}

fn column_sum(t: &Table, name: &str) -> u64 {
    let k = t.header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {}", t.title));
    t.rows.iter().map(|r| number(&r[k])).sum()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn sum(rows: &Value, f: impl Fn(&Value) -> u64) -> u64 {
    rows.as_array().unwrap().iter().map(f).sum()
}

/// The JSON's tables add up to its totals.
fn json_adds_up(sample: &str, v: &Value) {
    let responses = u(&v["responses"]["count"]);
    let e = &v["errors"];
    let throttled = u(&e["rate_limit"]["final"]) + u(&e["rate_limit"]["retries"]);
    let cuts = u(&v["cuts"]["responses"]);
    for rows in ["by_day", "by_project"] {
        let t = &v[rows];
        assert_eq!(sum(t, |r| u(&r["responses"])), responses, "{sample}: {rows} responses");
        assert_eq!(sum(t, |r| u(&r["cut_responses"])), cuts, "{sample}: {rows} cut responses");
        let throttled_of =
            |r: &Value| u(&r["errors"]["rate_limit"]["final"]) + u(&r["errors"]["rate_limit"]["retries"]);
        assert_eq!(sum(t, throttled_of), throttled, "{sample}: {rows} throttled attempts");
    }
    assert_eq!(sum(&v["by_model"], |m| u(&m["count"])), responses, "{sample}: by_model");
    assert_eq!(sum(&v["by_model"], |m| u(&m["estimated"])), u(&v["responses"]["estimated"]), "{sample}");
    assert_eq!(sum(&v["histogram"], |b| u(&b["count"])), responses, "{sample}: histogram");
    for m in v["by_model"].as_array().unwrap() {
        assert_eq!(sum(&m["histogram"], |b| u(&b["count"])), u(&m["count"]), "{sample}: {}", m["model"]);
    }
    assert_eq!(sum(&v["cuts"]["by_limit"], |c| u(&c["responses"])), cuts, "{sample}: cuts by limit");
    let limits = e["output_token_maximum"]["limits"].as_object().unwrap();
    assert_eq!(limits.values().map(u).sum::<u64>(), u(&e["output_token_maximum"]["count"]), "{sample}");
    // The load's output per request is the output table's mean, model by model.
    for l in v["load"]["per_model"].as_array().unwrap() {
        let m = v["by_model"].as_array().unwrap().iter().find(|m| m["model"] == l["model"]).unwrap();
        let (load, table) = (l["output_mean"].as_f64().unwrap(), m["mean"].as_f64().unwrap());
        assert!((load - table).abs() < 1e-6, "{sample}: {} output per request {load} vs mean {table}", l["model"]);
    }
    if let Some(team) = v.get("team") {
        let people = team["by_person"].as_array().unwrap();
        assert_eq!(people.len() as u64, u(&team["people"]), "{sample}: people");
        let requests = sum(&v["load"]["per_model"], |l| u(&l["requests"]));
        assert_eq!(sum(&team["by_person"], |p| u(&p["requests"])) + u(&team["unattributed_requests"]), requests);
        assert_eq!(sum(&team["by_person"], |p| u(&p["throttled_attempts"])), throttled, "{sample}: team 429s");
        let shares: f64 = people.iter().map(|p| p["share_at_throttle"].as_f64().unwrap()).sum();
        assert!(u(&team["throttle_moments"]) == 0 || (shares - 1.0).abs() < 1e-9, "{sample}: shares {shares}");
        for p in people {
            assert_eq!(sum(&p["models"], |m| u(&m["requests"])), u(&p["requests"]), "{sample}: {}", p["person"]);
        }
    }
}

/// The recommendation's counts of responses: demand's, the inputs', the output table's
/// (through the records they are made of), the replay's (asked for).
fn responses_agree(sample: &str, v: &Value) {
    let r = &v["recommendation"];
    let d = &r["demand"];
    assert_eq!(u(&d["responses"]), u(&r["inputs"]["responses"]), "{sample}");
    let model = v["by_model"].as_array().unwrap().iter().find(|m| m["model"] == r["inputs"]["model"]).unwrap();
    assert_eq!(u(&d["recorded"]), u(&model["count"]), "{sample}: records of the model");
    assert_eq!(u(&d["responses"]), u(&d["recorded"]) - u(&d["continuations"]) + u(&d["known_by_error"]), "{sample}");
    for row in r["replay"].as_array().unwrap() {
        let share = row["cut_share"].as_f64().unwrap();
        assert!((share * u(&d["asked"]) as f64 - u(&row["cut"]) as f64).abs() < 1e-6, "{sample}: {row}");
    }
    let inputs = &r["inputs"];
    assert!(u(&inputs["sent_at_once_seen"]) >= u(&inputs["parallel_seen"]), "{sample}");
    // The history's figures, quota or not (without one they read 1 planned, 0 seen), and what
    // is planned for without --parallel is the most seen.
    assert!(u(&inputs["parallel_seen"]) >= 1, "{sample}: {inputs}");
    if inputs["parallel_origin"] == "inferred" {
        assert_eq!(u(&inputs["parallel"]), u(&inputs["parallel_seen"]), "{sample}: {inputs}");
    }
}

/// The Markdown's tables add up to the report's totals, and its repeated figures are the
/// JSON's.
fn markdown_agrees(sample: &str, md: &str, v: &Value) {
    let all = tables(md);
    let responses = u(&v["responses"]["count"]);
    let e = &v["errors"];
    let throttled = u(&e["rate_limit"]["final"]) + u(&e["rate_limit"]["retries"]);
    for title in ["Errors by day", "Errors by project"] {
        let Some(t) = table(&all, title) else { continue };
        assert_eq!(column_sum(t, "Responses"), responses, "{sample}: {title}");
        assert_eq!(column_sum(t, "429"), throttled, "{sample}: {title}");
        assert_eq!(column_sum(t, "Cut"), u(&v["cuts"]["responses"]), "{sample}: {title}");
    }
    // The errors table counts the signs of cut responses; where they are not the cuts, it
    // says how many cut responses they are.
    let signs = u(&e["output_token_maximum"]["count"]) + u(&e["max_tokens_stops"]) + u(&e["recovery_prompts"]);
    let cuts = u(&v["cuts"]["responses"]);
    if signs != cuts {
        let said = format!("{cuts} cut response{} in all", if cuts == 1 { "" } else { "s" });
        assert!(md.contains(&said), "{sample}: {said}");
    }
    // Output per request is the output table's mean.
    let sizes = table(&all, "Output tokens per response").unwrap();
    let load = table(&all, "Load per model").unwrap();
    for row in &load.rows {
        let mean = &sizes.rows.iter().find(|r| r[0] == row[0]).unwrap()[3];
        assert_eq!(&row[6], mean, "{sample}: {}", row[0]);
    }
    // The recommendation's counts of responses, as the JSON has them.
    let d = &v["recommendation"]["demand"];
    let n = u(&d["responses"]).to_string();
    assert!(md.contains(&format!("Demand, from {n} responses")), "{sample}");
    if md.contains("- Only ") {
        assert!(md.contains(&format!("- Only {n} responses")), "{sample}");
    }
    if u(&d["asked"]) != u(&d["responses"]) {
        assert!(md.contains(&format!("Cut responses are of the {} responses asked for", u(&d["asked"]))), "{sample}");
    }
    let inputs = table(&all, "Recommendation for").unwrap();
    let value = |label: &str| inputs.rows.iter().find(|r| r[0] == label).map(|r| number(&r[1]));
    assert_eq!(value("Demand p99"), d["p99"].as_u64(), "{sample}");
    assert_eq!(value("Worst-case ceiling"), v["recommendation"]["ceiling"].as_u64(), "{sample}");
    if let Some(ceiling) = v["recommendation"]["ceiling"].as_u64()
        && md.contains("the worst-case ceiling is the smaller")
    {
        let said = format!("the worst-case ceiling is the smaller, {}.", thousands(ceiling));
        assert!(md.contains(&said), "{sample}: {said}");
    }
    if let Some(sent) = value("Sent at once (most seen)") {
        assert_eq!(sent, u(&v["recommendation"]["inputs"]["sent_at_once_seen"]), "{sample}");
        assert!(md.contains(&format!("if {sent} requests sent at once")), "{sample}");
    }
    if let Some(team) = table(&all, "Team") {
        assert_eq!(column_sum(team, "Throttled"), throttled, "{sample}: team");
    }
}

#[test]
fn every_sample_agrees_with_itself() {
    for (sample, input) in samples() {
        let v: Value = serde_json::from_str(&report(&input, "json")).unwrap();
        json_adds_up(sample, &v);
        responses_agree(sample, &v);
        markdown_agrees(sample, &report(&input, "markdown"), &v);
    }
}

/// The team view's peak of a person who is the whole team, with one model, is the
/// recommendation's "Sent at once": one count, said alike.
#[test]
fn one_persons_peak_is_the_recommendations_sent_at_once() {
    let home = testdata().join("bedrock-home");
    let (v, _) = common::scan_json(&[home.to_str().unwrap(), "--shared-quota"]);
    let person = &v["team"]["by_person"][0];
    assert_eq!(person["peak_in_flight"], v["recommendation"]["inputs"]["sent_at_once_seen"], "{person}");
    assert_eq!(person["requests"], v["load"]["per_model"][0]["requests"]);
}
