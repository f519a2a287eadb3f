//! Times the two readings of transcript lines on a file of them: `line::parse` (the fast
//! path's: common lines read by hand) against `line::parse_plain` (serde_json alone), after
//! checking that they agree on every line. Used to tune `src/scan/line/skim.rs`:
//!
//! `cargo run --release --example line_bench -- LINES.jsonl [ROUNDS]`
//!
//! (For example the assistant lines of a corpus: `grep -h '"type":"assistant"' …`.)

use std::time::{Duration, Instant};

use ccdoctor::scan::line::{parse, parse_plain};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: line_bench LINES.jsonl [ROUNDS]");
    let rounds: usize = args.next().map_or(5, |r| r.parse().expect("ROUNDS is a number"));
    let data = std::fs::read(&path).expect("readable file");
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();

    let differ = lines
        .iter()
        .filter(|l| {
            format!("{:?}", parse(l).map_err(|e| e.to_string()))
                != format!("{:?}", parse_plain(l).map_err(|e| e.to_string()))
        })
        .count();
    println!("{} lines, {} bytes; the readings differ on {differ}", lines.len(), data.len());

    let time = |f: &dyn Fn(&[u8]) -> bool| {
        let t = Instant::now();
        let ok = lines.iter().filter(|l| f(l)).count();
        (t.elapsed(), ok)
    };
    let (mut fast, mut plain) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        plain.push(time(&|l| parse_plain(l).is_ok()).0);
        fast.push(time(&|l| parse(l).is_ok()).0);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (f, p) = (median(&mut fast), median(&mut plain));
    let mbs = |d: Duration| data.len() as f64 / 1e6 / d.as_secs_f64();
    println!(
        "median of {rounds}: parse_plain {:.0} MB/s, parse {:.0} MB/s ({:.2}x)",
        mbs(p),
        mbs(f),
        p.as_secs_f64() / f.as_secs_f64()
    );
}
