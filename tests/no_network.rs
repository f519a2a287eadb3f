//! The tool opens no network connection: no dependency that could, and not one network
//! system call during a scan and a write (traced with strace: ignored in `cargo test`, run by
//! `.ci/run`, which installs strace).

mod common;

use std::process::Command;

/// Crates that open connections or resolve names.
const NETWORK_CRATES: [&str; 16] = [
    "hyper",
    "reqwest",
    "ureq",
    "curl",
    "curl-sys",
    "isahc",
    "h2",
    "h3",
    "quinn",
    "tokio",
    "mio",
    "socket2",
    "native-tls",
    "rustls",
    "openssl",
    "trust-dns-resolver",
];

#[test]
fn no_dependency_can_open_a_connection() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let names: Vec<&str> = lock.lines().filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')).collect();
    assert!(names.contains(&"serde_json"), "the lock file was read");
    for n in NETWORK_CRATES {
        assert!(!names.contains(&n), "{n} is in Cargo.lock");
    }
}

#[test]
#[ignore = "needs strace and ptrace (.ci/run installs and runs it)"]
fn a_scan_and_a_write_make_no_network_system_call() {
    // CI installs strace (.ci/run): without it this check would pass having checked nothing.
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "strace is not installed (apt-get install strace): the no-network check cannot run"
    );
    let (_t, home) = common::bedrock_copy();
    let log = home.parent().unwrap().join("strace.log");
    // File opens are traced too, to prove the tracing worked.
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%network,openat", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_ccdoctor"))
        .args(["scan", "--write", "--format", "json"])
        .arg(&home)
        .env_clear()
        .env("HOME", &home)
        .env("CCDOCTOR_MANAGED_SETTINGS_DIR", home.join("none"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "strace could not trace the scan (ptrace not permitted?): {stderr}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains("settings.json"), "the trace saw the settings file:\n{calls}");
    // Threads interrupt calls: `<... openat resumed>` lines are file opens too.
    let network: Vec<&str> = calls.lines().filter(|l| !l.contains("openat")).collect();
    assert!(network.is_empty(), "network system calls:\n{}", network.join("\n"));
}
