//! `CCDOCTOR_MEMORY_STEPS`: a run tells each step's memory on standard error when asked (for
//! `bench/steps.py`), and nothing else changes.

mod common;

use common::{Run, bedrock_home, ccdoctor, testdata};

/// The steps a scan of transcripts and telemetry goes through, in order.
const STEPS: [&str; 10] = [
    "telemetry read",
    "telemetry converted",
    "reading",
    "selection and chains",
    "limits and units",
    "load beside the advice's first part",
    "plan",
    "fit",
    "the values' replays",
    "report",
];

/// A scan, with the steps told or not, and its wall time seen from here (ms).
fn scan(steps: bool) -> (Run, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let otel = testdata().join("otel/collector");
    let home = bedrock_home();
    let mut c = ccdoctor(tmp.path());
    c.args(["scan", "--format", "json", "--otel", otel.to_str().unwrap(), home.to_str().unwrap()]);
    if steps {
        c.env("CCDOCTOR_MEMORY_STEPS", "1");
    }
    let started = std::time::Instant::now();
    let run = c.output().unwrap().into();
    (run, started.elapsed().as_millis() as u64)
}

/// The memory lines of a run: each step's name, its peak and what it held after (MiB), and
/// how long it took (ms).
fn told(stderr: &str) -> Vec<(String, f64, f64, u64)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("ccdoctor: memory: "))
        .map(|l| {
            let (name, rest) = l.rsplit_once(": peak ").expect("a peak");
            let (peak, after) = rest.split_once(" MiB, then ").expect("what is held after");
            let (after, took) = after.split_once(" MiB in ").expect("MiB, and the time");
            let took = took.strip_suffix(" ms").expect("ms");
            (name.to_string(), peak.parse().unwrap(), after.parse().unwrap(), took.parse().unwrap())
        })
        .collect()
}

#[test]
fn memory_steps_are_told_only_when_asked_and_change_nothing_else() {
    let ((plain, _), (stepped, wall)) = (scan(false), scan(true));
    assert_eq!((plain.code, stepped.code), (0, 0), "{}", stepped.stderr);
    assert_eq!(plain.stdout, stepped.stdout);
    assert!(told(&plain.stderr).is_empty(), "{}", plain.stderr);
    let steps = told(&stepped.stderr);
    let others = |s: &str| s.lines().filter(|l| !l.starts_with("ccdoctor: memory: ")).collect::<Vec<_>>().join("\n");
    assert_eq!(others(&plain.stderr), others(&stepped.stderr));
    if cfg!(target_os = "linux") {
        let names: Vec<&str> = steps.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, STEPS);
        // A process holds some memory, and what a step held after it is within its peak.
        for (name, peak, after, _) in &steps {
            assert!(*after > 0.0 && after <= peak, "{name}: peak {peak}, then {after}");
        }
        // The steps' times follow each other within the run (each rounded to a millisecond).
        let took: u64 = steps.iter().map(|s| s.3).sum();
        assert!(took <= wall + STEPS.len() as u64, "the steps took {took} ms of a run of {wall} ms");
    } else {
        assert!(steps.is_empty(), "only where the system tells the peak");
    }
}
