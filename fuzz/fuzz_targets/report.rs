//! The whole scan on arbitrary transcript bytes, as a user runs it: reading, model naming,
//! error classification, the analysis and every renderer. No panic, and the report is
//! always written (JSON that parses).
#![no_main]

use std::path::PathBuf;

use ccdoctor::cli::Cli;
use ccdoctor::config::Env;
use clap::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let projects = dir.path().join("projects/-p");
    std::fs::create_dir_all(&projects).unwrap();
    std::fs::write(projects.join("s.jsonl"), data).unwrap();
    // A debug log beside it: the same bytes, read as one.
    std::fs::create_dir_all(dir.path().join("debug")).unwrap();
    std::fs::write(dir.path().join("debug/s.txt"), data).unwrap();
    let env = Env {
        home: Some(dir.path().to_path_buf()),
        managed_dir: PathBuf::from("/nonexistent-managed-settings"),
        ..Env::default()
    };
    for format in ["json", "table", "markdown"] {
        let cli = Cli::try_parse_from(["ccdoctor", "scan", "--format", format, dir.path().to_str().unwrap()]).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = ccdoctor::run(cli, &env, &mut out, &mut err).expect("the report is written");
        if format == "json" && code == ccdoctor::exit_codes::ExitCode::Success {
            serde_json::from_slice::<serde_json::Value>(&out).expect("the JSON report parses");
        }
    }
});
