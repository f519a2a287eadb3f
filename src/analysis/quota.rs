//! The quota side of the advice: the reference quota (`--quota-tpm`, else AWS's published
//! default), the burndown, the readings of the reservation worth fitting for the provider,
//! and, once the fit has spoken, the quota each reading plans with.

use serde::Serialize;

use super::choose::is_safe;
use super::fit::ReadingFit;
use super::origin::Origin;
use super::replay::{self, Quota, Reading, Schedule};
use crate::config::RecommendConfig;
use crate::models::Family;
use crate::models::UNKNOWN_MODEL_BURNDOWN;
use crate::settings::Provider;

/// A quota the user gave or AWS publishes: what the fit is judged against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    pub tpm: u64,
    pub origin: Origin,
}

/// What the quota side starts from, before the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub reference: Option<Reference>,
    pub burndown: f64,
    pub burndown_origin: Origin,
    /// The readings to fit, in [`crate::reading::READINGS`] order.
    pub readings: Vec<Reading>,
    /// Mantle's output quota, as given (`--output-quota-tpm`); `None` elsewhere or unknown.
    pub output: Option<Reference>,
}

impl Side {
    /// The output quota the replay runs a second bucket of, if any.
    pub fn output_tpm(&self) -> Option<f64> {
        self.output.as_ref().map(|o| o.tpm as f64)
    }
}

/// Where a figure of the model table comes from: a default AWS publishes, or the user's
/// models file (which names itself in the figure's source).
fn figure_origin(source: &str) -> Origin {
    if source.starts_with(crate::models::MODELS_FILE_SOURCE) {
        Origin::ModelsFile(source.to_string())
    } else {
        Origin::Default
    }
}

/// The quota side, where max output counts against a quota: on Bedrock (runtime or
/// Mantle) and Vertex, when there is a quota to judge by or 429s to fit one to. `None` on the
/// Anthropic API, where max output does not count against the rate limits.
pub fn side(cfg: &RecommendConfig, provider: Provider, family: Option<&Family>, throttled: u64) -> Option<Side> {
    if provider == Provider::Anthropic {
        return None;
    }
    let reference = match (cfg.quota_tpm, provider) {
        (Some(q), _) => Some(Reference { tpm: q, origin: Origin::Flag }),
        (None, Provider::Bedrock) => family
            .and_then(|f| f.bedrock_default_tpm.as_ref())
            .map(|d| Reference { tpm: d.value, origin: figure_origin(&d.source) }),
        (None, _) => None,
    };
    if reference.is_none() && throttled == 0 {
        return None;
    }
    let mantle = provider == Provider::BedrockMantle;
    let (burndown, burndown_origin) = match (cfg.burndown, provider) {
        // Mantle's input quota is not charged for output (its output quota is).
        (_, Provider::BedrockMantle) => (0.0, Origin::Default),
        (Some(b), _) => (b, Origin::Flag),
        // The table's, or the models file's that gave it (named as its source).
        (None, Provider::Bedrock) => match family {
            Some(f) => (f.bedrock_burndown.value, figure_origin(&f.bedrock_burndown.source)),
            None => (UNKNOWN_MODEL_BURNDOWN, Origin::Default),
        },
        (None, _) => (1.0, Origin::Default),
    };
    let readings: Vec<Reading> = if mantle {
        // Mantle checks input + max output against the input quota, cache reads not counted.
        vec![Reading { cache_reads_reserved: false, burndown_reservation: false }]
    } else {
        // At a burndown of 1, max output at the burndown rate is max output: one reading of
        // the two (the first, which the user's filter may have left out).
        let mut r: Vec<Reading> = Vec::new();
        for &x in &cfg.readings {
            let x = if burndown == 1.0 { Reading { burndown_reservation: true, ..x } } else { x };
            if !r.contains(&x) {
                r.push(x);
            }
        }
        r
    };
    let output = match (cfg.output_quota_tpm, mantle) {
        (Some(o), true) => Some(Reference { tpm: o, origin: Origin::Flag }),
        _ => None,
    };
    Some(Side { reference, burndown, burndown_origin, readings, output })
}

/// The quota one reading plans with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaPlan {
    /// The quota the advice uses: a reading's effective quota, or the reference.
    pub tpm: u64,
    pub tpm_origin: Origin,
    /// The quota the fit was judged against, where there is one.
    pub reference: Option<Reference>,
    pub burndown: f64,
    pub burndown_origin: Origin,
    pub reading: Reading,
    pub headroom: f64,
    /// Requests in flight planned for (`--parallel`), if given.
    pub parallel: Option<u64>,
    /// The most requests of the model in flight at once in the history.
    pub parallel_seen: u64,
    /// The bucket the choice is replayed against: `headroom × tpm`, scaled by
    /// `parallel_seen / parallel` when `--parallel` plans for another load.
    pub planning_tpm: f64,
    /// Mantle's output quota, as given, and the output bucket planned for (scaled as
    /// `planning_tpm` is).
    pub output: Option<Reference>,
    #[serde(skip)]
    pub planning_output_tpm: Option<f64>,
}

impl QuotaPlan {
    /// The plan of `reading` at `tpm`.
    pub fn new(
        side: &Side,
        reading: Reading,
        (tpm, tpm_origin): (u64, Origin),
        cfg: &RecommendConfig,
        seen: u64,
    ) -> Self {
        let share = match cfg.parallel {
            Some(p) => seen as f64 / p.max(1) as f64,
            None => 1.0,
        };
        QuotaPlan {
            tpm,
            tpm_origin,
            reference: side.reference.clone(),
            burndown: side.burndown,
            burndown_origin: side.burndown_origin.clone(),
            reading,
            headroom: cfg.headroom,
            parallel: cfg.parallel,
            parallel_seen: seen,
            planning_tpm: cfg.headroom * tpm as f64 * share,
            output: side.output.clone(),
            planning_output_tpm: side.output.as_ref().map(|o| cfg.headroom * o.tpm as f64 * share),
        }
    }

    /// The plan of a fitted reading, at its effective quota: the reference's where it is the
    /// reference, else fitted to the history.
    pub fn of_fit(side: &Side, f: &ReadingFit, cfg: &RecommendConfig, seen: u64) -> Self {
        let tpm = match &side.reference {
            Some(r) if r.tpm == f.quota_tpm => (r.tpm, r.origin.clone()),
            _ => (f.quota_tpm, Origin::Inferred),
        };
        Self::new(side, f.reading, tpm, cfg, seen)
    }

    /// The same plan for the requests in flight the history had (no `--parallel`).
    pub fn at_parallel_seen(&self) -> Self {
        QuotaPlan {
            parallel: None,
            planning_tpm: self.headroom * self.tpm as f64,
            planning_output_tpm: self.output.as_ref().map(|o| self.headroom * o.tpm as f64),
            ..self.clone()
        }
    }

    /// The bucket the choice replays against.
    pub fn planning(&self) -> Quota {
        Quota {
            tpm: self.planning_tpm,
            burndown: self.burndown,
            reading: self.reading,
            output_tpm: self.planning_output_tpm,
        }
    }
}

/// What fixes it when no value is safe (or the chosen one still cuts): the quota that
/// would make `value` safe, and the requests in flight that fit the quota given. On Mantle,
/// where the output quota throttles whatever the input quota, the output quota that would
/// (`output_tpm`), and the input quota needed beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Needed {
    pub value: u64,
    pub quota_tpm: u64,
    pub parallel: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tpm: Option<u64>,
}

/// The smallest bucket of a `planning`-sized start at which `safe` holds (doubling, then
/// bisection); `None` when not even a million times more would do.
fn smallest_safe(planning: f64, safe: impl Fn(f64) -> bool) -> Option<f64> {
    if safe(planning) {
        return Some(planning);
    }
    let (mut lo, mut hi) = (planning, planning.max(1.0) * 2.0);
    while !safe(hi) {
        if hi > planning.max(1.0) * 1e6 {
            return None;
        }
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..20 {
        let mid = (lo + hi) / 2.0;
        if safe(mid) { hi = mid } else { lo = mid }
    }
    Some(hi)
}

/// The quota at which `value` would be safe (bisection over the replay), and the requests in
/// flight that the given quota fits at that value. On Mantle the output quota first: when it
/// throttles with the input quota endless, the output quota that would not, then the input
/// quota beside it.
pub fn needed(schedule: &Schedule, q: &QuotaPlan, value: u64) -> Needed {
    let planned = q.planning();
    let safe = |input: f64, output: Option<f64>| {
        is_safe(&replay::at_pace(schedule, &Quota { tpm: input, output_tpm: output, ..planned }))
    };
    // A raise asked for in whole thousands, rounded up (a figure a user types into a quota
    // request; more is as safe).
    let raise =
        |asked: u64, given: u64| if asked > given { asked.div_ceil(1_000).saturating_mul(1_000) } else { asked };
    // Back from a planning bucket to the quota a user asks for.
    let asked = |planning: f64, given: u64, planned: f64| (planning * given as f64 / planned.max(1e-9)).ceil() as u64;
    let mut output_tpm = None;
    let mut output = planned.output_tpm;
    if let (Some(o), Some(given)) = (planned.output_tpm, &q.output)
        && !safe(f64::INFINITY, Some(o))
    {
        let at = smallest_safe(o, |x| safe(f64::INFINITY, Some(x))).unwrap_or(o * 1e6);
        output = Some(at);
        output_tpm = Some(raise(asked(at, given.tpm, o), given.tpm));
    }
    let input = smallest_safe(q.planning_tpm, |x| safe(x, output)).unwrap_or(q.planning_tpm * 1e6);
    let exact = asked(input, q.tpm, q.planning_tpm).max(if output_tpm.is_some() { q.tpm } else { 0 });
    let parallel = ((q.parallel.unwrap_or(q.parallel_seen) as f64) * q.tpm as f64 / exact.max(1) as f64).floor() as u64;
    Needed { value, quota_tpm: raise(exact, q.tpm), parallel, output_tpm }
}
