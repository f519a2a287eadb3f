//! Writes a simulated Claude Code config home and prints the ground truth.
//!
//! cargo run --example simulate -- DIR [--seed N] [--sessions N] [--quota TPM] [--max-output N]
//!     [--burndown X] [--plain] [--cache-reads-reserved] [--p-task X] [--max-subagents N]
//!     [--turns LO,HI] [--reask P] [--history M1,M2,…]   (per-session max outputs; runs "as configured")
//!     [--mantle-output TPM]   (Bedrock Mantle: --quota is the input quota, this the output one)
//!     [--escalation]   (the Anthropic API, no max output set: 8,000 escalated to 64,000)
//!     [--max-retries N] [--watchdog]   (CLAUDE_CODE_MAX_RETRIES, CLAUDE_CODE_RETRY_WATCHDOG)

#[path = "../tests/sim/mod.rs"]
mod sim;

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut world = sim::World::default();
    let mut dir: Option<PathBuf> = None;
    let mut history: Option<Vec<u64>> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i).cloned().unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a {
            "--seed" => world.seed = num(&value()),
            "--sessions" => world.sessions = num(&value()),
            "--quota" => world.quota_tpm = num(&value()),
            "--max-output" => world.max_output = num(&value()),
            "--burndown" => world.burndown = num(&value()),
            "--p-task" => world.p_task = num(&value()),
            "--turns" => {
                let v: Vec<u32> = value().split(',').map(num).collect();
                world.turns = (v[0], *v.get(1).unwrap_or(&v[0]));
            }
            "--max-subagents" => world.max_subagents = num(&value()),
            "--history" => history = Some(value().split(',').map(num).collect()),
            "--plain" => world.reading.burndown_reservation = false,
            "--cache-reads-reserved" => world.reading.cache_reads_reserved = true,
            "--reask" => world.p_reask = num(&value()),
            "--escalation" => {
                world.escalation = true;
                world.quota_tpm = 100_000_000;
                world.burndown = 1.0;
                world.model = "claude-sonnet-4-5-20250929".into();
            }
            "--sigma" => world.demand_sigma = num(&value()),
            "--max-retries" => world.max_retries = num(&value()),
            "--watchdog" => world.retry_watchdog = true,
            "--mantle-output" => {
                world.output_quota_tpm = Some(num(&value()));
                world.model = "anthropic.claude-sonnet-4-5".into();
            }
            "-h" | "--help" => usage(""),
            _ if a.starts_with('-') => usage(&format!("unknown flag {a}")),
            _ => dir = Some(PathBuf::from(a)),
        }
        i += 1;
    }
    let dir = dir.unwrap_or_else(|| usage("missing DIR"));
    let outcome = match history {
        Some(h) => {
            world.max_output_by_session = Some(h);
            sim::simulate_as_configured(&world)
        }
        None => sim::simulate(&world, world.max_output),
    };
    if let Err(e) = sim::write_home(&outcome, &dir) {
        eprintln!("error: cannot write {}: {e}", dir.display());
        std::process::exit(1);
    }
    println!("wrote {} ({} sessions, {} chains)", dir.display(), outcome.sessions.len(), outcome.chains.len());
    println!("{}", outcome.summary());
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.trim().parse().unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("error: {msg}");
    }
    eprintln!(
        "usage: simulate DIR [--seed N] [--sessions N] [--quota TPM] [--max-output N] [--burndown X] \
         [--plain] [--cache-reads-reserved] [--p-task X] [--max-subagents N] [--turns LO,HI] \
         [--reask P] [--history M1,M2,...]"
    );
    std::process::exit(2)
}
