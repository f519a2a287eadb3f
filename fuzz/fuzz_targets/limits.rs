//! Limits read from data and files: a debug log's `Capped from X to Y`, an "exceeded the N
//! output token maximum" error, a models file. Whatever the numbers, a limit no model allows
//! is left out (never the limit in effect, the model's cap, or the top of the candidates),
//! and the run finishes in bounded memory (run with `-rss_limit_mb`).
#![no_main]

use std::path::{Path, PathBuf};

use ccdoctor::cli::Cli;
use ccdoctor::config::Env;
use ccdoctor::models::{MAX_OUTPUT_LIMIT, ModelTable, plausible_limit};
use ccdoctor::scan::classify::output_token_maximum;
use ccdoctor::scan::debuglog::{DebugRecord, parse};
use clap::Parser;
use libfuzzer_sys::fuzz_target;

/// Three numbers from the first 24 bytes (little-endian), the rest as text.
fn split(data: &[u8]) -> ([u64; 3], &[u8]) {
    let mut n = [0u64; 3];
    for (i, v) in n.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        let chunk = data.get(i * 8..).unwrap_or(&[]);
        let take = chunk.len().min(8);
        b[..take].copy_from_slice(&chunk[..take]);
        *v = u64::from_le_bytes(b);
    }
    (n, data.get(24..).unwrap_or(&[]))
}

/// A Bedrock history at 32,000 with a `Capped from X to Y` line and an "exceeded the N"
/// error.
fn home_with(dir: &Path, x: u64, y: u64, n: u64) -> PathBuf {
    let home = dir.join("home");
    std::fs::create_dir_all(home.join("projects/-w")).unwrap();
    std::fs::create_dir_all(home.join("debug")).unwrap();
    let mut lines: Vec<String> = (0..5u32)
        .map(|i| {
            serde_json::json!({"type": "assistant", "sessionId": "s", "uuid": format!("a{i}"), "requestId": format!("q{i}"),
                "timestamp": format!("2026-11-02T10:0{i}:30.000Z"),
                "message": {"id": format!("m{i}"), "model": "claude-sonnet-4-20250514", "content": "ok",
                            "usage": {"input_tokens": 100, "output_tokens": 500}}})
            .to_string()
        })
        .collect();
    lines.push(
        serde_json::json!({"type": "assistant", "sessionId": "s", "uuid": "e", "isApiErrorMessage": true,
            "timestamp": "2026-11-02T10:09:00.000Z",
            "message": {"id": "e", "model": "<synthetic>", "content": [{"type": "text",
                "text": format!("API Error: Claude's response exceeded the {n} output token maximum.")}]}})
        .to_string(),
    );
    std::fs::write(home.join("projects/-w/s.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(
        home.join("debug/s.txt"),
        format!("2026-11-02T10:00:00.000Z [DEBUG] CLAUDE_CODE_MAX_OUTPUT_TOKENS Capped from {x} to {y}\n"),
    )
    .unwrap();
    std::fs::write(
        home.join("settings.json"),
        r#"{"env": {"CLAUDE_CODE_USE_BEDROCK": "1", "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000"}}"#,
    )
    .unwrap();
    home
}

fuzz_target!(|data: &[u8]| {
    let ([x, y, n], rest) = split(data);
    let text = String::from_utf8_lossy(rest);

    // The readers of each kind of record, on the text as it comes: no panic, and what they
    // read is the number written.
    if let DebugRecord::Capped { to, .. } = parse(&text) {
        assert!(text.contains(&to.to_string()));
    }
    if let Some(m) = output_token_maximum(&text) {
        assert!(text.replace(',', "").contains(&m.to_string()));
    }
    // A models file: refused, or every limit in it one some model allows.
    if let Ok(table) = ModelTable::builtin().with_user_file(Path::new("models.json"), &text) {
        for f in &table.families {
            assert!(
                plausible_limit(f.max_output_cap.value) && plausible_limit(f.default_max_output.value),
                "{}",
                f.key
            );
        }
    }

    // The whole run on a history holding the numbers.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let home = home_with(dir.path(), x, y, n);
    let env =
        Env { home: Some(dir.path().to_path_buf()), managed_dir: PathBuf::from("/nonexistent"), ..Env::default() };
    let cli = Cli::try_parse_from(["ccdoctor", "scan", "--json", home.to_str().unwrap()]).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    ccdoctor::run(cli, &env, &mut out, &mut err).expect("the report is written");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("the JSON report parses");
    let left_out = [y, n].iter().filter(|&&l| !plausible_limit(l)).count() as u64;
    assert_eq!(v["scan"]["implausible_limits"], left_out, "{x} {y} {n}");
    let rec = &v["recommendation"];
    for figure in [&rec["current"], &rec["inputs"]["model_cap"], &rec["max_output_tokens"]] {
        assert!(figure.as_u64().is_none_or(|l| l <= MAX_OUTPUT_LIMIT), "{figure} from {x} {y} {n}");
    }
    let check =
        Cli::try_parse_from(["ccdoctor", "check", "--hook", "--since", "2026-11-01", home.to_str().unwrap()]).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    ccdoctor::run(check, &env, &mut out, &mut err).expect("the hook answers");
});
