//! The floor under any serde_json-based reader of OTLP exports: serde_json validating every
//! line of a folder of `.jsonl` files without building anything (`IgnoredAny`).
//!
//! cargo run --release --example otlp_floor -- DIR
//!
//! Used in BENCHMARKS.md ("Telemetry") to tell the cost of JSON itself from ccdoctor's.

use std::io::BufRead;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: otlp_floor DIR");
    let (mut lines, mut bytes) = (0u64, 0u64);
    let start = std::time::Instant::now();
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("a folder").filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "jsonl")) {
        let mut r = std::io::BufReader::with_capacity(1 << 18, std::fs::File::open(path).expect("readable"));
        let mut buf = Vec::new();
        while r.read_until(b'\n', &mut buf).expect("readable") > 0 {
            bytes += buf.len() as u64;
            lines += 1;
            let _: serde::de::IgnoredAny = serde_json::from_slice(&buf).expect("valid JSON");
            buf.clear();
        }
    }
    let s = start.elapsed().as_secs_f64();
    println!("{lines} lines, {bytes} bytes, {s:.2} s on one thread: {:.0} MB/s", bytes as f64 / s / 1e6);
}
