//! A process limit that leaves no thread to make (`RLIMIT_NPROC`, a container's pids limit):
//! the scan runs on the one thread it has, and gives the same report (the adversarial review
//! of 2026-12-05 found `failed to spawn thread`, exit 101).

mod common;

use std::os::unix::process::CommandExt;

#[test]
#[ignore = "needs root: runs the binary as another uid under a process limit (.ci/run runs it)"]
fn no_thread_to_make_still_scans() {
    assert!(common::is_root(), "run as root: the limit is set for another uid, which root can become");
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("bedrock-home");
    common::copy_tree(&common::bedrock_home(), &home);
    let scan = |limited: bool| -> common::Run {
        let mut c = common::ccdoctor_as_user(tmp.path(), tmp.path());
        c.args(["scan", "--format", "json", "--since", "2026-01-01", home.to_str().unwrap()]);
        if limited {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                // Room for uid 65534's other processes (a CI image may run some) and this one,
                // none for a thread.
                let n = others_of_65534() as libc::rlim_t + 1;
                c.pre_exec(move || {
                    let one = libc::rlimit { rlim_cur: n, rlim_max: n };
                    if libc::setrlimit(libc::RLIMIT_NPROC, &one) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        c.output().unwrap().into()
    };
    let (free, limited) = (scan(false), scan(true));
    assert_eq!(free.code, 0, "{}", free.stderr);
    assert_eq!(limited.code, 0, "{}", limited.stderr);
    assert!(!limited.stderr.contains("panicked"), "{}", limited.stderr);
    assert_eq!(limited.stdout, free.stdout);
}

/// Tasks (processes and their threads) of uid 65534 running now.
fn others_of_65534() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("65534")))
        .map(|s| {
            s.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|t| t.trim().parse::<usize>().ok()).unwrap_or(1)
        })
        .sum()
}
