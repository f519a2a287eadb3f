//! The advice judged in simulated worlds (tests/sim/worlds.rs): for each scenario of issue 20
//! and each seed, what ccdoctor advises on the history, what the same work meets at that
//! value, and the best value of the world.
//!
//!     cargo run --release --example worlds -- [--seeds 1,2,3] [--only NAME] [--mantle | --shared | --hand] [--write DIR]
//!
//! `--write DIR`: each scenario's history is also written to `DIR/<seed>-<k>` (a config home
//! to scan by hand; `k` its place in the set), and its quota given, if any, is printed.
//!
//! `--mantle`: the scenarios of Bedrock's Mantle endpoint (issue 21) instead; `--shared`: a
//! quota others' load (which the history does not show) takes from; `--hand`: values set by
//! hand after the history, below responses it wrote.

#[path = "../tests/sim/mod.rs"]
mod sim;

use sim::worlds::{self, Scenario};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds: Vec<u64> = (1..=6).collect();
    let mut only: Option<String> = None;
    let mut write: Option<std::path::PathBuf> = None;
    let mut set: fn(u64) -> Vec<Scenario> = worlds::issue_20;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--seeds" => {
                i += 1;
                seeds = args[i].split(',').map(|s| s.trim().parse().expect("a seed")).collect();
            }
            "--mantle" => set = worlds::mantle,
            "--shared" => set = worlds::shared,
            "--hand" => set = worlds::by_hand,
            "--write" => {
                i += 1;
                write = Some(args[i].clone().into());
            }
            "--only" => {
                i += 1;
                only = Some(args[i].clone());
            }
            a => panic!("unknown argument {a}"),
        }
        i += 1;
    }
    println!(
        "| world | seed | history: throttled / failed / cut | advised | fitted | there: throttled / failed / cut | best | verdict |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    if only.as_deref() == Some("bundled") {
        row(&worlds::bundled(), 2);
        return;
    }
    for &seed in &seeds {
        for (k, s) in set(seed).into_iter().enumerate() {
            if only.as_ref().is_some_and(|o| !s.name.contains(o.as_str())) {
                continue;
            }
            if let Some(dir) = &write {
                let home = dir.join(format!("{seed}-{k}"));
                std::fs::create_dir_all(&home).expect("the folder is made");
                s.write(&home).expect("the history is written");
                eprintln!("{}: {}, quota given {:?}", home.display(), s.name, s.config().quota_tpm);
            }
            row(&s, seed);
        }
    }
}

fn row(s: &Scenario, seed: u64) {
    let (a, history) = worlds::advise(s, &s.config());
    let (t, f, c, n) = history.iter().fold((0, 0, 0, 0), |acc, o| {
        (acc.0 + o.throttled_attempts, acc.1 + o.failed_requests, acc.2 + o.cut_responses, acc.3 + o.logical_responses)
    });
    let fitted = match (&a.calibration, &a.quota) {
        (Some(cal), Some(q)) => {
            let b = cal.best();
            let r = b.fit.reading;
            format!(
                "{}{} {} ({:?})",
                if r.burndown_reservation { "B" } else { "P" },
                if r.cache_reads_reserved { "C" } else { "N" },
                q.tpm,
                b.standing
            )
        }
        _ => "–".into(),
    };
    if std::env::var_os("WORLDS_DEBUG").is_some()
        && let Some(cal) = &a.calibration
    {
        for v in &cal.readings {
            eprintln!(
                "  {} seed {seed}: {:?} {} (there {} throttled, {} failed) [{}, {:?}] {:?} {:?} contradiction {:?} advises {:?}",
                s.name,
                v.fit.reading,
                v.fit.quota_tpm,
                v.fit.at_fit.throttled_attempts,
                v.fit.at_fit.failed,
                v.fit.low_tpm,
                v.fit.high_tpm,
                v.fit.bound,
                v.standing,
                v.fit.contradiction,
                v.choice.map(|c| (c.value, c.basis))
            );
        }
        eprintln!("  periods {:?}", cal.periods);
    }
    let sweep = s.sweep(1_000, 32_000);
    let best = Scenario::best(&sweep);
    let (advised, there, verdict) = match a.choice.value {
        Some(v) => {
            let t = s.at(v);
            let ok = t.almost_worked() && best.is_none_or(|b| t.cut_share() <= b.cut_share() + 0.02);
            (
                format!("{v} {:?}", a.choice.action),
                format!("{:.1}% / {} / {:.1}%", 100.0 * t.throttled_share(), t.failed, 100.0 * t.cut_share()),
                if ok {
                    "ok"
                } else if t.almost_worked() {
                    "too low"
                } else {
                    "FAILS"
                },
            )
        }
        None => ("none".into(), "–".into(), if best.is_none_or(|b| b.cut_share() > 0.1) { "ok" } else { "no value" }),
    };
    let best = best.map_or("none works".into(), |b| format!("{} ({:.1}% cut)", b.value, 100.0 * b.cut_share()));
    println!("| {} | {seed} | {t} / {f} / {c} of {n} | {advised} | {fitted} | {there} | {best} | {verdict} |", s.name);
}
