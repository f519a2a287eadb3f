//! Scenarios: a user's history in a simulated world, possibly over several periods at
//! different max outputs (the user changed the setting), and the truth about any value: what
//! the same work would have met at it. The advice is judged against [`Scenario::best`]: the
//! value at which the work has no failed request, at most 1% of attempts throttled, and the
//! fewest responses cut.
//!
//! The worlds differ from the replay's assumptions on purpose: each reading of the
//! reservation, a quota the history does not state, users who ask again after a failure.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use ccdoctor::analysis::advice::Advice;
use ccdoctor::analysis::{self};
use ccdoctor::config::{DEFAULT_HEADROOM, DEFAULT_PERCENTILE, Filters, RecommendConfig, Root, RootKind};
use ccdoctor::scan::{self, ScanOptions, Silent};
use ccdoctor::settings::{self, SettingsSources};

use super::{Outcome, Reading, World, simulate, write_home};
use ccdoctor::text::thousands;

/// One day, the gap between periods: the bucket refills long before the next one.
const DAY_MS: i64 = 24 * 3_600_000;

/// A history: periods, each a world (its own seed, a day apart) run at one max output.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub periods: Vec<(World, u64)>,
    /// The quota the user knows and gives (`--quota-tpm`); `None`: the user gives none.
    pub quota_given: Option<u64>,
    /// On Mantle, the output quota the user gives (`--output-quota-tpm`).
    pub output_given: Option<u64>,
    /// A value the user set by hand after the history (no backup of `apply` dates it): the
    /// settings file holds it instead of the last period's.
    pub set_by_hand: Option<u64>,
}

/// What the work of a scenario meets at one value, summed over its periods.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Truth {
    pub value: u64,
    pub attempts: u64,
    pub throttled: u64,
    pub failed: u64,
    pub responses: u64,
    pub cut: u64,
}

impl Truth {
    /// No failed request, at most 1% of attempts throttled (ccdoctor's `is_safe`).
    pub fn worked(&self) -> bool {
        self.failed == 0 && self.throttled as f64 <= 0.01 * self.attempts as f64
    }

    /// What a user lives as "almost no throttled attempt": no failed request, at most 2% of
    /// attempts throttled (ccdoctor plans for 1% against 90% of the quota; the world's own
    /// counts vary from value to value by about that much).
    pub fn almost_worked(&self) -> bool {
        self.failed == 0 && self.throttled as f64 <= 0.02 * self.attempts as f64
    }

    pub fn cut_share(&self) -> f64 {
        if self.responses == 0 { 0.0 } else { self.cut as f64 / self.responses as f64 }
    }

    pub fn throttled_share(&self) -> f64 {
        if self.attempts == 0 { 0.0 } else { self.throttled as f64 / self.attempts as f64 }
    }
}

impl Scenario {
    /// One period: `world` at `max_output`.
    pub fn one(name: &str, world: World, max_output: u64) -> Self {
        Scenario {
            name: name.into(),
            periods: vec![(world, max_output)],
            quota_given: None,
            output_given: None,
            set_by_hand: None,
        }
    }

    /// Periods of the same kind of work, a day apart, at each of `values` in turn (each
    /// period its own seed, derived from `world.seed`).
    pub fn history(name: &str, world: World, values: &[u64]) -> Self {
        let periods = values
            .iter()
            .enumerate()
            .map(|(k, &m)| {
                let w = World {
                    seed: world.seed.wrapping_mul(1_000).wrapping_add(k as u64),
                    start: world.start + k as i64 * DAY_MS,
                    ..world.clone()
                };
                (w, m)
            })
            .collect();
        Scenario { name: name.into(), periods, quota_given: None, output_given: None, set_by_hand: None }
    }

    /// The same, the user giving `--quota-tpm`.
    pub fn given(self, quota: u64) -> Self {
        Scenario { quota_given: Some(quota), ..self }
    }

    /// The same, the user giving `--output-quota-tpm` (Mantle).
    pub fn output_given(self, quota: u64) -> Self {
        Scenario { output_given: Some(quota), ..self }
    }

    /// The same, the user then setting `value` by hand.
    pub fn set_by_hand(self, value: u64) -> Self {
        Scenario { name: format!("{}, {} set by hand", self.name, value), set_by_hand: Some(value), ..self }
    }

    /// ccdoctor's configuration for the user of this scenario: the quotas they give.
    pub fn config(&self) -> RecommendConfig {
        RecommendConfig { output_quota_tpm: self.output_given, ..config(self.quota_given) }
    }

    /// The history as it was.
    pub fn run(&self) -> Vec<Outcome> {
        self.periods.iter().map(|(w, m)| simulate(w, *m)).collect()
    }

    /// Writes the history as one config home (the settings file: the last period's value).
    pub fn write(&self, dir: &Path) -> io::Result<Vec<Outcome>> {
        let outcomes = self.run();
        for o in &outcomes {
            write_home(o, dir)?;
        }
        if let (Some(v), Some(last)) = (self.set_by_hand, outcomes.last()) {
            let text = super::settings_json(last);
            let at = format!("\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{}\"", self.periods[self.periods.len() - 1].1);
            assert!(text.contains(&at), "the settings name the last period's value: {text}");
            std::fs::write(
                dir.join("settings.json"),
                text.replace(&at, &format!("\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\":\"{v}\"")),
            )?;
        }
        Ok(outcomes)
    }

    /// The same work, every period at `value` (a value set ends Claude Code's escalation).
    pub fn at(&self, value: u64) -> Truth {
        let mut t = Truth { value, ..Truth::default() };
        for (w, _) in &self.periods {
            let o = simulate(&World { escalation: false, ..w.clone() }, value);
            t.attempts += o.attempts;
            t.throttled += o.throttled_attempts;
            t.failed += o.failed_requests;
            t.responses += o.logical_responses;
            t.cut += o.cut_responses;
        }
        t
    }

    /// The truth at every multiple of `step` up to `cap`.
    pub fn sweep(&self, step: u64, cap: u64) -> Vec<Truth> {
        (1..=cap / step).map(|k| self.at(k * step)).collect()
    }

    /// The best value of a sweep: of those that worked, the fewest cuts (the largest such
    /// value on a tie, nearest Claude Code's defaults); `None` when none worked.
    pub fn best(sweep: &[Truth]) -> Option<Truth> {
        sweep.iter().filter(|t| t.worked()).min_by(|a, b| a.cut.cmp(&b.cut).then(b.value.cmp(&a.value))).copied()
    }

    /// The reading and quota of its worlds (the first period's).
    pub fn world(&self) -> &World {
        &self.periods[0].0
    }
}

/// The base world of the scenarios: three sessions on one Bedrock quota, with subagents.
pub fn base(seed: u64) -> World {
    World { seed, sessions: 3, turns: (4, 8), p_task: 0.2, max_subagents: 3, ..World::default() }
}

/// The world of the bundled sample `testdata/bedrock-home` (testdata/README.md).
pub fn bundled() -> Scenario {
    let world = World { seed: 2, sessions: 3, turns: (2, 5), p_task: 0.2, max_subagents: 3, ..World::default() };
    Scenario::one("bundled sample", world, 32_000)
}

/// The scenarios of issue 20, each at `seed`: the seed story; its history 32,000 → 200 →
/// 5,000; a quota the user gives (120,000) with users who ask again after a failure; max
/// output reserved at 1×; AWS's documented reservation (cache reads and max output at 1×);
/// and a quota raised long ago that the user does not know (320,000).
pub fn issue_20(seed: u64) -> Vec<Scenario> {
    let plain = Reading { burndown_reservation: false, cache_reads_reserved: false };
    let documented = Reading { burndown_reservation: false, cache_reads_reserved: true };
    vec![
        Scenario::one("seed story", base(seed), 32_000),
        Scenario::history("32,000 → 200 → 5,000", base(seed), &[32_000, 200, 5_000]),
        Scenario::one(
            "120,000 given, users ask again",
            World { quota_tpm: 120_000, p_reask: 0.9, sessions: 4, ..base(seed) },
            16_000,
        )
        .given(120_000),
        Scenario::one("max output at 1×", World { reading: plain, ..base(seed) }, 32_000),
        Scenario::one("cache reads and max output at 1×", World { reading: documented.clone(), ..base(seed) }, 32_000),
        Scenario::one(
            "the same, busier",
            World { reading: documented, sessions: 5, p_task: 0.3, ..base(seed) },
            32_000,
        ),
        Scenario::one("320,000 unknown", World { quota_tpm: 320_000, ..base(seed) }, 32_000),
    ]
}

/// Values set by hand after the history (no backup of `apply` dates them), below responses it
/// wrote, each at `seed`: histories at 12,000 and 16,000 on quotas of 120,000, 150,000 and
/// 200,000 that the user does not give, and one at Claude Code's default on AWS's published
/// default quota, each then set to 4,000 and 6,000. The sessions show no limit of their own,
/// only that it was above their longest response.
pub fn by_hand(seed: u64) -> Vec<Scenario> {
    let mut out = Vec::new();
    for (quota, ran) in [
        (120_000, 12_000),
        (120_000, 16_000),
        (150_000, 12_000),
        (150_000, 16_000),
        (200_000, 12_000),
        (200_000, 16_000),
        (200_000, 32_000),
    ] {
        for set in [4_000, 6_000] {
            let world = World { quota_tpm: quota, ..base(seed) };
            let name = format!("{} at {}", thousands(quota), thousands(ran));
            out.push(Scenario::one(&name, world, ran).set_by_hand(set));
        }
    }
    out
}

/// The scenarios of issue 21 (Bedrock's Mantle endpoint), each at `seed`: an input quota
/// and an output quota apart, the user giving both; giving neither; and an output quota so
/// small that no max output helps.
pub fn mantle(seed: u64) -> Vec<Scenario> {
    let world = |input: u64, output: u64| World {
        quota_tpm: input,
        output_quota_tpm: Some(output),
        burndown: 1.0,
        model: "anthropic.claude-sonnet-4-5".into(),
        version: "2.1.280".into(),
        sessions: 4,
        ..base(seed)
    };
    vec![
        Scenario::one("Mantle, both quotas given", world(100_000, 60_000), 32_000).given(100_000).output_given(60_000),
        Scenario::one("Mantle, no quota given", world(100_000, 60_000), 32_000),
        Scenario::one("Mantle, output quota binds", world(400_000, 8_000), 32_000).given(400_000).output_given(8_000),
    ]
}

/// A quota shared with others whose load the history does not show (a team's AWS account),
/// at `seed`: two sessions at 8,000, and every minute others take three quarters of the
/// quota (light) or all of it and more (heavy). The history's 429s are then more than its
/// own load explains. Beside them, the control: no one else, and an applied quota far below
/// the published default that the user does not know (60,000 or 90,000, at 32,000 and at
/// 16,000), where the history's 429s are its own.
pub fn shared(seed: u64) -> Vec<Scenario> {
    let world = |tokens: u64| World { sessions: 2, others: Some((60_000, tokens)), ..base(seed) };
    let low = |tpm: u64| World { quota_tpm: tpm, ..base(seed) };
    vec![
        Scenario::one("others take 150,000 a minute", world(150_000), 8_000),
        Scenario::one("others take 210,000 a minute", world(210_000), 8_000),
        Scenario::one("60,000 unknown, no one else", low(60_000), 32_000),
        Scenario::one("90,000 unknown, no one else", low(90_000), 16_000),
    ]
}

/// The Anthropic API with no max output set, at `seed`: Claude Code's capped default (8,000)
/// and its escalation (64,000), with responses long enough to be escalated now and then and
/// a quota nothing exhausts (on the Anthropic API max output is no rate-limit risk).
pub fn escalation(seed: u64) -> Scenario {
    let world = World {
        escalation: true,
        quota_tpm: 100_000_000,
        burndown: 1.0,
        demand_sigma: 1.7,
        model: "claude-sonnet-4-5-20250929".into(),
        ..base(seed)
    };
    Scenario::one("Anthropic API, escalation", world, 8_000)
}

/// ccdoctor's configuration for a user who gives `quota` (or none), everything else default.
pub fn config(quota: Option<u64>) -> RecommendConfig {
    RecommendConfig {
        quota_tpm: quota,
        output_quota_tpm: None,
        parallel: None,
        burndown: None,
        provider: None,
        percentile: DEFAULT_PERCENTILE,
        headroom: DEFAULT_HEADROOM,
        headroom_given: false,
        readings: ccdoctor::reading::READINGS.to_vec(),
        ran_at: None,
    }
}

/// What ccdoctor advises on the scenario's history, written to a fresh config home and
/// scanned as a user would; with the history as it was.
pub fn advise(s: &Scenario, cfg: &RecommendConfig) -> (Advice, Vec<Outcome>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let history = s.write(dir.path()).expect("the history is written");
    (advise_home(dir.path(), cfg), history)
}

/// What ccdoctor advises on the config home `dir` (a scenario's history, its settings perhaps
/// changed since), scanned as a user would.
pub fn advise_home(dir: &Path, cfg: &RecommendConfig) -> Advice {
    let roots = [Root { path: dir.to_path_buf(), kind: RootKind::Home }];
    let scanned = scan::scan(&roots, &ScanOptions { threads: 2, ..ScanOptions::default() }, &Silent);
    assert!(scanned.warnings.is_empty(), "{:?}", scanned.warnings);
    let sources = SettingsSources::standard(&dir.join("no-managed"), None, &[dir.to_path_buf()], HashMap::new());
    let (settings, _) = settings::resolve(&sources);
    analysis::analyze(&scanned.data, &Filters::default(), cfg, &settings).advice.expect("a model")
}
