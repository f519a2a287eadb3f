//! The max output in effect for each request, and the responses a user asked for.
//!
//! The limit in effect comes from the records first: the N of an "exceeded the N output token
//! maximum" error and the output of a response stopped at `max_tokens` (for that response and
//! the rest of its session, for its model), a `Capped from X to Y` debug line (for its
//! session); then the setting in effect when the session began (the value before each
//! `apply`, which its backups keep; else the value now); then the model's default. A session
//! that wrote a response longer than that setting cannot have run at it (the setting came
//! later): it ran at the limit of the nearest session whose records show one that allows its
//! response, or at the value `--ran-at` gives; else at a value nothing dates, at least that
//! response. Such sessions (of one person and model) are taken at the least round value at or
//! above the longest response of any of them, the cautious side, and marked
//! ([`Limits::at_least`]). Claude Code's default, taken before, fitted quotas too large where the
//! history ran at a lower value set by hand: in the simulator (`examples/worlds --hand`),
//! about half the values advised then throttled (tests/fit.rs).
//!
//! The value now, where no backup dates it, is a guess (it may have been set by hand after
//! the session): the smaller of it and the model's default, the cautious side (a smaller
//! limit reserves less, so the fit finds a smaller quota), unless the session wrote more than
//! the default allows. Such limits are marked ([`Limits::assumed`]).
//!
//! A response cut at the limit and continued after a recovery prompt is one response the
//! user asked for (a [`Unit`]): its demand is what all its parts wrote, known exactly when the
//! last part completed, and only known to be larger when Claude Code gave up (the "exceeded"
//! error) or the history ends before it completed.

use foldhash::HashMap;
use foldhash::HashMapExt;

use super::chains::{Chain, Ended, Request};
use super::demand::Observation;
use crate::scan::data::Capped;
use crate::time::EpochMs;

/// One thing a user asked for: a response (with its continuations) or a request that was
/// throttled until it failed. Every request of a history is one or part of one, so it is
/// kept in 20 bytes: its counts, chain and requests in 32 bits, its kind as flags beside its
/// limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// What all its parts wrote (0 for a failed request), saturating at `u32::MAX`: each part
    /// wrote at most [`crate::models::MAX_OUTPUT_LIMIT`] (the selection keeps no larger
    /// response), so only a unit of thousands of continuations (a hostile history) reaches
    /// it, and every value it is compared with is at most that limit.
    output: u32,
    /// The limit in effect for its first request ([`Unit::limit`]) in the low
    /// [`Unit::LIMIT_BITS`] bits: at most [`crate::models::MAX_OUTPUT_LIMIT`], or the
    /// escalated limit, far below the most they hold. Above them its [`UnitKind`]:
    /// [`Unit::FAILED`], else a response's [`Unit::CUT`], [`Unit::COMPLETE`] and
    /// [`Unit::ESTIMATED`]; [`Unit::ASSUMED`] where the limit is only assumed, and
    /// [`Unit::AT_LEAST`] where it is only known to be at least a response's length.
    limit_and_flags: u32,
    chain: u32,
    /// Its requests in the chain: `first..=last`.
    first: u32,
    last: u32,
}

const _: () = assert!(std::mem::size_of::<Unit>() == 20);
// Every limit a unit is given fits beside its flags.
const _: () = assert!(crate::models::MAX_OUTPUT_LIMIT < Unit::LIMIT_MASK as u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitKind {
    /// A response: what all its parts wrote, whether it was cut, and whether the last part
    /// completed (so the total is exactly what it wanted).
    Response { output: u64, cut: bool, complete: bool, estimated: bool },
    /// Throttled until it failed: nothing is known of what it wanted.
    Failed,
}

/// Some of the units, by their indices (one model's, in chain order): 4 bytes a unit, the
/// indices the plan takes too, where a list of references took 8.
#[derive(Debug, Clone, Copy)]
pub struct Kept<'a> {
    units: &'a [Unit],
    kept: &'a [u32],
}

impl<'a> Kept<'a> {
    /// The units `kept` names (indices into `units`).
    pub fn new(units: &'a [Unit], kept: &'a [u32]) -> Self {
        Kept { units, kept }
    }

    pub fn iter(self) -> KeptIter<'a> {
        KeptIter { units: self.units, kept: self.kept.iter() }
    }

    pub fn len(self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(self) -> bool {
        self.kept.is_empty()
    }

    /// The `k`-th of them.
    pub fn get(self, k: usize) -> &'a Unit {
        &self.units[self.kept[k] as usize]
    }
}

impl<'a> IntoIterator for Kept<'a> {
    type Item = &'a Unit;
    type IntoIter = KeptIter<'a>;

    fn into_iter(self) -> KeptIter<'a> {
        self.iter()
    }
}

/// The units of a [`Kept`], in its order.
#[derive(Debug, Clone)]
pub struct KeptIter<'a> {
    units: &'a [Unit],
    kept: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for KeptIter<'a> {
    type Item = &'a Unit;

    fn next(&mut self) -> Option<&'a Unit> {
        self.kept.next().map(|&k| &self.units[k as usize])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.kept.size_hint()
    }
}

impl Unit {
    /// The bits of [`Unit::limit_and_flags`] the limit takes; the flags are above them.
    const LIMIT_BITS: u32 = 26;
    const LIMIT_MASK: u32 = (1 << Self::LIMIT_BITS) - 1;
    const FAILED: u32 = 1 << Self::LIMIT_BITS;
    const CUT: u32 = 2 << Self::LIMIT_BITS;
    const COMPLETE: u32 = 4 << Self::LIMIT_BITS;
    const ESTIMATED: u32 = 8 << Self::LIMIT_BITS;
    const ASSUMED: u32 = 16 << Self::LIMIT_BITS;
    const AT_LEAST: u32 = 32 << Self::LIMIT_BITS;

    /// The unit of requests `first..=last` of chain `chain`.
    pub fn new(chain: usize, first: usize, last: usize, kind: UnitKind, limit: u64) -> Self {
        let index = |i: usize| u32::try_from(i).expect("fewer than 2^32 chains, and requests a chain");
        let (output, flags) = match kind {
            UnitKind::Failed => (0u64, Self::FAILED),
            UnitKind::Response { output, cut, complete, estimated } => (
                output,
                (u32::from(cut) * Self::CUT)
                    | (u32::from(complete) * Self::COMPLETE)
                    | (u32::from(estimated) * Self::ESTIMATED),
            ),
        };
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        // A limit no model allows (none reaches a unit) is held as the most the bits hold.
        let limit = u32::try_from(limit).unwrap_or(u32::MAX).min(Self::LIMIT_MASK);
        Unit {
            output: count(output),
            limit_and_flags: limit | flags,
            chain: index(chain),
            first: index(first),
            last: index(last),
        }
    }

    /// The unit, its limit marked as only assumed where `assumed` ([`Limits::assumed`]).
    pub fn assumed_if(mut self, assumed: bool) -> Self {
        self.limit_and_flags |= u32::from(assumed) * Self::ASSUMED;
        self
    }

    /// The limit in effect for its first request.
    pub fn limit(&self) -> u64 {
        u64::from(self.limit_and_flags & Self::LIMIT_MASK)
    }

    /// Whether that limit is only a guess ([`Limits::assumed`]).
    pub fn limit_assumed(&self) -> bool {
        self.limit_and_flags & Self::ASSUMED != 0
    }

    /// The unit, its limit marked as only known to be at least a response's length where
    /// `bounded` ([`Limits::at_least`]).
    pub fn at_least_if(mut self, bounded: bool) -> Self {
        self.limit_and_flags |= u32::from(bounded) * Self::AT_LEAST;
        self
    }

    /// Whether that limit is only known to be at least a response's length, taken at the least
    /// round value that allows it ([`Limits::at_least`]).
    pub fn limit_at_least(&self) -> bool {
        self.limit_and_flags & Self::AT_LEAST != 0
    }

    /// The chain it is of (an index into the chains it was made from).
    pub fn chain(&self) -> usize {
        self.chain as usize
    }

    /// Its first request in the chain.
    pub fn first(&self) -> usize {
        self.first as usize
    }

    /// Its last request in the chain (the first, but for a cut response continued).
    pub fn last(&self) -> usize {
        self.last as usize
    }

    pub fn kind(&self) -> UnitKind {
        let flags = self.limit_and_flags;
        if flags & Self::FAILED != 0 {
            return UnitKind::Failed;
        }
        UnitKind::Response {
            output: u64::from(self.output),
            cut: flags & Self::CUT != 0,
            complete: flags & Self::COMPLETE != 0,
            estimated: flags & Self::ESTIMATED != 0,
        }
    }

    /// Its demand as the history shows it; `None` for a failed request.
    pub fn observation(&self) -> Option<Observation> {
        match self.kind() {
            UnitKind::Response { output, complete: true, .. } => Some(Observation::exact(output)),
            UnitKind::Response { output, .. } => Some(Observation::cut_at(output.max(self.limit()))),
            UnitKind::Failed => None,
        }
    }
}

/// Claude Code's capped default on the Anthropic API: with no max output set, 2.1.x sends
/// this (behind a remote flag, on by default for first-party users only) and retries a
/// response cut there once at [`ESCALATED`] before any recovery prompt (the 2.1.88 source;
/// `testdata/error-texts/FACTS.md`, section 1). The cut first attempt is withheld, not written:
/// the transcript shows the escalated response alone.
pub const CAPPED_DEFAULT: u64 = 8_000;
/// The limit a response cut at [`CAPPED_DEFAULT`] is retried at.
pub const ESCALATED: u64 = 64_000;

/// The first Claude Code version whose subagents follow `CLAUDE_CODE_MAX_OUTPUT_TOKENS`:
/// before it the setting reached the main session only ("since about 2.1.233 the
/// maintainers say it applies to subagents too", claude-code-data.md; an approximate
/// boundary).
pub const SUBAGENTS_FOLLOW_SETTING_SINCE: (u64, u64, u64) = (2, 1, 233);

/// Whether a record of `place` is a subagent's of a Claude Code before
/// [`SUBAGENTS_FOLLOW_SETTING_SINCE`] (an unknown version is taken to follow the setting).
pub fn setting_ignored(place: &crate::scan::data::Place) -> bool {
    crate::scan::data::is_subagent(&place.stream)
        && place
            .version
            .as_deref()
            .and_then(crate::estimate::version_triple)
            .is_some_and(|v| v < SUBAGENTS_FOLLOW_SETTING_SINCE)
}

/// What the limit of a request without records of its own falls back to.
pub trait Fallback {
    /// The limit in effect now for a model id: the setting (clamped to the model's upper
    /// limit), else the model's default; the setting of `person` where people have their own.
    fn now(&self, model: Option<&str>, person: Option<u32>) -> u64;
    /// The limit the settings gave a session that started at `at` (the settings' history,
    /// where `apply` left one), else [`Fallback::now`].
    fn then(&self, model: Option<&str>, person: Option<u32>, _at: EpochMs) -> u64 {
        self.now(model, person)
    }
    /// Whether [`Fallback::then`] is dated for `person`: a backup of `apply` tells when the
    /// setting changed. Else what a session without a record of its own ran at is only a
    /// guess ([`Limits::assumed`]).
    fn dated(&self, _person: Option<u32>) -> bool {
        false
    }
    /// The max output the user says the history ran at where nothing shows it, for a session
    /// of `person` that started at `at`: `--ran-at`, or what an `apply --ran-at` after it kept.
    fn ran_at(&self, _person: Option<u32>, _at: EpochMs) -> Option<u64> {
        None
    }
    /// The model's upper limit.
    fn cap(&self, model: Option<&str>) -> u64;
    /// Claude Code's default for the model.
    fn default(&self, model: Option<&str>) -> u64;
    /// Whether Claude Code may have escalated a response cut at [`CAPPED_DEFAULT`] (the
    /// Anthropic API, no max output set).
    fn escalates(&self) -> bool {
        false
    }
    /// The person whose settings a session ran under, where people have their own (a team's
    /// homes): a setting is one person's, never the team's. `telemetry`: the session's
    /// records are telemetry's, whose people's settings are not read here.
    fn person(&self, _session: Option<&str>, _telemetry: bool) -> Option<u32> {
        None
    }
}

/// Evidence of the limit in effect: when, and the value.
type Evidence = Vec<(EpochMs, u64)>;

/// A session and a model id: the limit in effect is kept per pair.
type Key<'a> = (Option<&'a str>, Option<&'a str>);

/// A person (where people have their own settings) and a model id: a setting's reach.
type Reach<'a> = (Option<u32>, Option<&'a str>);

/// The limit in effect for each request of each chain, in one list (a list a chain took 24
/// bytes and an allocation each: a team's telemetry has a chain a stream), each in 32 bits,
/// as a unit holds it ([`Unit::limit`]), with its top bit set where it is only a guess
/// ([`Limits::assumed`]).
#[derive(Debug, PartialEq)]
pub struct Limits {
    of: Vec<u32>,
    /// Where each chain's limits begin in `of`, and the end.
    from: Vec<u32>,
}

// Every limit a request is given is a record's (at most `MAX_OUTPUT_LIMIT`, as the selection
// keeps them), a setting clamped to a model's upper limit, or a response's length: all below
// the bit that marks an assumed one.
const _: () = assert!(crate::models::MAX_OUTPUT_LIMIT < Limits::LIMIT as u64);

/// What is only guessed of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guess {
    /// A record, a dated setting, a session that shows it: no guess.
    None,
    /// The setting now, undated ([`Limits::assumed`]).
    Assumed,
    /// The least round value at or above the longest response of sessions that wrote more
    /// than the setting now: the limit is only known to be at least it ([`Limits::at_least`]).
    AtLeast,
}

impl Limits {
    /// Marks a limit that nothing shows in effect: a guess from the setting now, undated.
    const ASSUMED: u32 = 1 << 31;
    /// Marks a limit only known to be at least a response's length, taken at the least round
    /// value that allows it.
    const AT_LEAST: u32 = 1 << 30;
    const LIMIT: u32 = Self::AT_LEAST - 1;

    fn pack(limit: u64, guess: Guess) -> u32 {
        let flag = match guess {
            Guess::None => 0,
            Guess::Assumed => Self::ASSUMED,
            Guess::AtLeast => Self::AT_LEAST,
        };
        u32::try_from(limit).unwrap_or(u32::MAX).min(Self::LIMIT) | flag
    }

    /// The limit of request `i` of chain `ci`.
    pub fn get(&self, ci: usize, i: usize) -> u64 {
        u64::from(self.of[self.from[ci] as usize + i] & Self::LIMIT)
    }

    /// Whether that limit is only known to be at least the longest response of its session (or
    /// of the nearest session of the same person and model it is taken from): the session
    /// wrote more than the setting now, and no record shows its limit, so it ran before the
    /// setting, at a value nothing dates. It is taken at the least multiple of 1,000 at or
    /// above the longest response of all such sessions of the person and model.
    pub fn at_least(&self, ci: usize, i: usize) -> bool {
        self.of[self.from[ci] as usize + i] & Self::AT_LEAST != 0
    }

    /// Whether that limit is only a guess: no record, no session of the same person and model,
    /// and no backup of `apply` shows the value it ran at, and the setting may have been made
    /// after it. The guess is the smaller of the setting now and the model's default (see the
    /// module's notes).
    pub fn assumed(&self, ci: usize, i: usize) -> bool {
        self.of[self.from[ci] as usize + i] & Self::ASSUMED != 0
    }

    /// The limits chain by chain, for tests.
    #[cfg(test)]
    fn nested(&self) -> Vec<Vec<u64>> {
        self.each(Self::get)
    }

    /// Which limits are assumed, chain by chain, for tests.
    #[cfg(test)]
    fn assumed_nested(&self) -> Vec<Vec<bool>> {
        self.each(Self::assumed)
    }

    /// Which limits are only known to be at least a response's length, chain by chain, for
    /// tests.
    #[cfg(test)]
    fn at_least_nested(&self) -> Vec<Vec<bool>> {
        self.each(Self::at_least)
    }

    /// `f` of every request, chain by chain, for tests.
    #[cfg(test)]
    fn each<T>(&self, f: impl Fn(&Self, usize, usize) -> T) -> Vec<Vec<T>> {
        self.from
            .windows(2)
            .enumerate()
            .map(|(ci, w)| (0..(w[1] - w[0]) as usize).map(|i| f(self, ci, i)).collect())
            .collect()
    }
}

/// The limit in effect for each request of each chain.
pub fn in_effect(chains: &[Chain<'_>], capped: &[Capped], fallback: &dyn Fallback) -> Limits {
    // Records per session and model, and Capped lines per session.
    let mut seen: HashMap<Key, Evidence> = HashMap::new();
    for c in chains {
        // A subagent that ignored the setting tells nothing of the session's.
        for r in c.requests.iter().filter(|r| !r.setting_ignored()) {
            if let Some(l) = r.cut_limit() {
                seen.entry((r.session(), r.model())).or_default().push((r.start(), l));
            }
        }
    }
    let mut clamps: HashMap<Option<&str>, Evidence> = HashMap::new();
    // A request refused for asking over the model's maximum ran at nothing: it tells the
    // model's upper limit ([`learned_caps`]), not what its session ran at.
    for c in capped.iter().filter(|c| c.model.is_none()) {
        clamps.entry(c.session.as_deref()).or_default().push((c.time.unwrap_or(EpochMs::MIN), c.to));
    }
    for v in seen.values_mut().chain(clamps.values_mut()) {
        v.sort_unstable();
    }
    // The longest measured response of each session and model (its limit was at least
    // that), and when the session first sent a request of the model.
    // A chain's requests mostly share their session and model strings: one lookup per run.
    let same = |a: &Request, b: &Request| same_str(a.session(), b.session()) && same_str(a.model(), b.model());
    let mut longest: HashMap<Key, (u64, EpochMs)> = HashMap::new();
    // The sessions telemetry holds records of (their people's settings are not read here).
    let mut telemetry: foldhash::HashSet<Option<&str>> = foldhash::HashSet::default();
    for c in chains {
        for run in c.requests.chunk_by(same) {
            if c.telemetry() {
                telemetry.insert(run[0].session());
            }
            let most =
                run.iter().filter(|r| !r.estimated() && !r.setting_ignored()).map(|r| r.output()).max().unwrap_or(0);
            let l = longest.entry((run[0].session(), run[0].model())).or_insert((0, EpochMs::MAX));
            l.0 = l.0.max(most);
            l.1 = l.1.min(run[0].start());
        }
    }
    // Each session's person (whose settings it ran under), and the fallback's figures (the
    // setting when the session began, default, cap) per session and model, worked out once.
    let mut person_of: HashMap<Option<&str>, Option<u32>> = HashMap::new();
    let mut figures: HashMap<Key, (u64, u64, u64)> = HashMap::with_capacity(longest.len());
    for (&(session, m), &(_, start)) in &longest {
        let person =
            *person_of.entry(session).or_insert_with(|| fallback.person(session, telemetry.contains(&session)));
        figures.insert((session, m), (fallback.then(m, person, start), fallback.default(m), fallback.cap(m)));
    }
    let figures_of = |key: &Key| figures[key];
    // What each session's own records show of its limit: a record, a Capped line.
    let recorded = |key: &Key| -> Option<u64> {
        let cap = figures_of(key).2;
        match (seen.get(key), clamps.get(&key.0)) {
            (Some(e), _) => e.first().map(|x| x.1),
            (None, Some(e)) => e.first().map(|x| x.1.min(cap)),
            (None, None) => None,
        }
    };
    // Per person and model, the sessions whose records show their limit, by time.
    let mut records: HashMap<Reach, Vec<(EpochMs, u64, bool)>> = HashMap::new();
    for (key, &(_, start)) in &longest {
        if let Some(l) = recorded(key) {
            records.entry((person_of[&key.0], key.1)).or_default().push((start, l, false));
        }
    }
    for v in records.values_mut() {
        v.sort_unstable();
    }
    // A session that wrote more than the setting now, and whose records show nothing, ran
    // before the setting: at the limit of the nearest session of the same person and model
    // whose records show one that allows its longest response (a setting holds for a
    // while); else at the value `--ran-at` gives, where it allows it; else at a value nothing
    // dates but at least its response (`None` here).
    let before = |key: &Key, at_least: u64, start: EpochMs| -> Option<u64> {
        let near = records.get(&(person_of[&key.0], key.1)).and_then(|line| nearest_allowing(line, start, at_least));
        near.map(|(l, _)| l).or_else(|| {
            fallback.ran_at(person_of[&key.0], start).filter(|&v| v >= at_least).map(|v| v.min(figures_of(key).2))
        })
    };
    // Those that ran at a value nothing dates: per person and model, the longest response of
    // any of them (one setting held for them all, as for every session taken at the setting).
    let mut above: HashMap<Reach, u64> = HashMap::new();
    for (key, &(at_least, start)) in &longest {
        if at_least > figures_of(key).0 && recorded(key).is_none() && before(key, at_least, start).is_none() {
            let most = above.entry((person_of[&key.0], key.1)).or_default();
            *most = (*most).max(at_least);
        }
    }
    // What each session shows of its own limit: its records, or a response longer than the
    // setting now. Such a session ran before the setting ([`before`]), or at a value nothing
    // dates but at least its response (the pair's `true`): taken at the least round value
    // that allows the longest of them, the cautious side (a smaller limit reserves less, so
    // the fit finds a smaller quota), as an undated setting is.
    let own = |key: &Key, at_least: u64| -> Option<(u64, bool)> {
        if let Some(l) = recorded(key) {
            return Some((l, false));
        }
        let (now, _, cap) = figures_of(key);
        let start = longest.get(key).map_or(EpochMs::MIN, |l| l.1);
        (at_least > now).then(|| match before(key, at_least, start) {
            Some(l) => (l, false),
            None => (above_all(above[&(person_of[&key.0], key.1)], cap), true),
        })
    };
    // Per person and model, the sessions that show their limit, by time: a session that
    // shows nothing ran at the limit of the nearest of them (a setting holds for a while: one
    // person's, not another's), where that limit allows its longest response; with none, at
    // the setting now.
    let mut timeline: HashMap<Reach, Vec<(EpochMs, u64, bool)>> = HashMap::new();
    for (key, &(at_least, start)) in &longest {
        if let Some((l, bounded)) = own(key, at_least) {
            timeline.entry((person_of[&key.0], key.1)).or_default().push((start, l, bounded));
        }
    }
    for v in timeline.values_mut() {
        v.sort_unstable();
    }
    // The limit of a session that shows none, and whether it is only assumed. Where no backup
    // dates the setting, it may have been set after the session: the guess is the smaller of
    // the setting now and the model's default (a smaller limit reserves less, so the fit finds
    // a smaller quota), unless the session wrote more than the default allows.
    // The second flag: whether it is only known to be at least a response's length (its own,
    // or the nearest session's it takes).
    let limit_of = |key: &Key| -> (u64, bool, bool) {
        let (at_least, start) = longest.get(key).copied().unwrap_or((0, 0));
        own(key, at_least)
            .or_else(|| {
                timeline.get(&(person_of[&key.0], key.1)).and_then(|line| nearest_allowing(line, start, at_least))
            })
            .map_or_else(
                || {
                    let (now, default, cap) = figures_of(key);
                    if fallback.dated(person_of[&key.0]) {
                        return (now, false, false);
                    }
                    if let Some(v) = fallback.ran_at(person_of[&key.0], start).filter(|&v| v >= at_least) {
                        return (v.min(cap), false, false);
                    }
                    let default = default.min(cap);
                    (if now > default && at_least <= default { default } else { now }, true, false)
                },
                |(l, bounded)| (l, false, bounded),
            )
    };
    // A response longer than the capped default that the records show in effect was
    // escalated: it ran at the escalated limit, one request, not a cut one.
    let escalates = fallback.escalates();
    let escalated = |r: &Request, l: u64| {
        if escalates && l == CAPPED_DEFAULT && r.output() > l && !r.estimated() && r.cut_limit().is_none() {
            ESCALATED.max(r.output())
        } else {
            l
        }
    };
    let offset = |n: usize| u32::try_from(n).expect("fewer than 2^32 requests");
    let mut out = Limits {
        of: Vec::with_capacity(chains.iter().map(|c| c.requests.len()).sum()),
        from: Vec::with_capacity(chains.len() + 1),
    };
    out.from.push(0);
    for c in chains {
        let limits = &mut out.of;
        for run in c.requests.chunk_by(same) {
            let key = (run[0].session(), run[0].model());
            let records = seen.get(&key);
            let clamp = clamps.get(&key.0);
            let (_, default, cap) = figures_of(&key);
            let (otherwise, assumed, bounded) = limit_of(&key);
            let limit = |r: &Request| match r.cut_limit() {
                Some(l) => Limits::pack(l, Guess::None),
                None if r.setting_ignored() => Limits::pack(default.min(cap), Guess::None),
                None => {
                    match (records.and_then(|e| nearest(e, r.start())), clamp.and_then(|e| nearest(e, r.start()))) {
                        (Some(l), _) => Limits::pack(escalated(r, l), Guess::None),
                        (None, Some(l)) => Limits::pack(l.min(cap), Guess::None),
                        (None, None) => {
                            let l = escalated(r, otherwise);
                            let guess = match (assumed, bounded) {
                                _ if l != otherwise => Guess::None,
                                (true, _) => Guess::Assumed,
                                (false, true) => Guess::AtLeast,
                                (false, false) => Guess::None,
                            };
                            Limits::pack(l, guess)
                        }
                    }
                }
            };
            limits.extend(run.iter().map(limit));
        }
        out.from.push(offset(out.of.len()));
    }
    out
}

/// Whether two optional strings are the same string (by address; equal text at two
/// addresses is a different run, which only costs a lookup).
fn same_str(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// The evidence in effect at `t`: the latest at or before it, else the earliest after it.
fn nearest(evidence: &Evidence, t: EpochMs) -> Option<u64> {
    match evidence.partition_point(|&(at, _)| at <= t) {
        0 => evidence.first().map(|e| e.1),
        k => Some(evidence[k - 1].1),
    }
}

/// Of evidence sorted by time, the limit nearest `t` that allows a response of `at_least`
/// (looking a bounded number of points each way).
fn nearest_allowing(line: &[(EpochMs, u64, bool)], t: EpochMs, at_least: u64) -> Option<(u64, bool)> {
    let k = line.partition_point(|&(at, _, _)| at < t);
    let before = line[..k].iter().rev().take(256).find(|e| e.1 >= at_least);
    let after = line[k..].iter().take(256).find(|e| e.1 >= at_least);
    let e = match (before, after) {
        (Some(b), Some(a)) => Some(if t - b.0 <= a.0 - t { b } else { a }),
        (b, a) => b.or(a),
    };
    e.map(|e| (e.1, e.2))
}

/// The limit taken for sessions that wrote up to `longest` tokens, more than the setting now,
/// with no record of their own limit: the least multiple of 1,000 that allows it (a limit of
/// N lets a response write N tokens; values people set are round), at most the model's upper
/// limit (`cap`).
fn above_all(longest: u64, cap: u64) -> u64 {
    longest.div_ceil(1_000).max(1).saturating_mul(1_000).min(cap)
}

/// A model's upper limit as a record shows it ([`ClampBy`]): a `Capped from X to Y` line
/// (Claude Code clamped a max output setting of X to Y, the upper limit it applies to the
/// model the session used), or the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clamp {
    pub from: u64,
    pub to: u64,
    pub session: Option<String>,
    pub time: Option<EpochMs>,
    pub by: ClampBy,
}

/// The record that shows a model's upper limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClampBy {
    /// A debug log's `Capped from X to Y` line: the limit is Y.
    CappedLine,
    /// An "exceeded the N output token maximum" error above the table's limit: the limit is
    /// at least N.
    ExceededError,
    /// A response stopped at `max_tokens` after N tokens, above the table's limit.
    MaxTokensStop,
    /// A response of a model not in the table, longer than the limit assumed for it (`from`,
    /// its tokens): the limit is taken as `to` ([`caps_from_data`]).
    Response,
    /// A request refused (400) for asking `max_tokens` `from` over the model's maximum, `to`,
    /// which the refusal names: the limit is `to`.
    Refused,
}

/// The upper limits the user's data shows, by model name: [`learned_caps`], and records of a
/// limit above what `table_cap` says (a request really ran at it, so the model allows at
/// least that). For a model not in the table (`table_cap` gives `None`: its limit is the
/// assumed [`crate::models::UNKNOWN_MODEL_CAP`]), a measured response longer than that, sent
/// with a value set above it (`set_above`: the settings that request ran under), shows Claude
/// Code did not cap the value there: the limit is then taken as
/// [`crate::models::UNKNOWN_MODEL_REPORTED_CAP`] (or the response, if longer). Without such a
/// value the response says nothing of a cap (Claude Code's default for the model is no better
/// known). The newer evidence of a model wins; at equal times, the larger.
pub fn caps_from_data(
    chains: &[Chain<'_>],
    capped: &[Capped],
    name_of: &dyn Fn(&str) -> String,
    table_cap: &dyn Fn(&str) -> Option<u64>,
    set_above: &dyn Fn(&Request<'_>, bool, u64) -> bool,
) -> HashMap<String, Clamp> {
    let mut out = learned_caps(chains, capped, name_of);
    let mut records: HashMap<String, Clamp> = HashMap::new();
    let mut caps: HashMap<&str, Option<u64>> = HashMap::new();
    for (r, telemetry) in chains.iter().flat_map(|c| c.requests.iter().map(|r| (r, c.telemetry()))) {
        let Some(m) = r.model() else { continue };
        let table = *caps.entry(m).or_insert_with(|| table_cap(m));
        let cap = table.unwrap_or(crate::models::UNKNOWN_MODEL_CAP);
        let (from, to, by) = match r.cut_limit() {
            Some(n) if n > cap => (n, n, if r.gave_up() { ClampBy::ExceededError } else { ClampBy::MaxTokensStop }),
            _ if table.is_none() && !r.estimated() && r.output() > cap && set_above(r, telemetry, cap) => {
                let n = r.output();
                (n, n.max(crate::models::UNKNOWN_MODEL_REPORTED_CAP), ClampBy::Response)
            }
            _ => continue,
        };
        let c = Clamp { from, to, session: r.session().map(str::to_string), time: Some(r.end()), by };
        let e = records.entry(name_of(m)).or_insert_with(|| c.clone());
        if (c.to, c.time) > (e.to, e.time) {
            *e = c;
        }
    }
    for (model, rec) in records {
        match out.get(&model) {
            Some(line) if (line.time, line.to) >= (rec.time, rec.to) => {}
            _ => {
                out.insert(model, rec);
            }
        }
    }
    out
}

/// How far from a request a `Capped` line of an unknown session may be and still name its
/// model: Claude Code writes the line as it builds the request.
const NEAR_MS: i64 = 10 * 60 * 1000;

/// The upper limits the user's debug logs show, per model name (`name_of` names a model id):
/// each `Capped from X to Y` line (X above Y) of a session is the limit of the model most of
/// that session's requests used; the newest line of a model counts. A line of a log not named
/// after a session (`--debug-file`, `CLAUDE_CODE_DEBUG_LOGS_DIR`) belongs to the model of the
/// request sent nearest it, within ten minutes. A request refused (400) for asking over the
/// model's maximum names that maximum and its model: it counts as such a line of that model.
pub fn learned_caps(
    chains: &[Chain<'_>],
    capped: &[Capped],
    name_of: &dyn Fn(&str) -> String,
) -> HashMap<String, Clamp> {
    let mut out: HashMap<String, Clamp> = HashMap::new();
    if capped.is_empty() {
        return out;
    }
    // The model each session used most.
    let mut uses: HashMap<(&str, &str), u64> = HashMap::new();
    for r in chains.iter().flat_map(|c| &c.requests) {
        if let (Some(s), Some(m)) = (r.session(), r.model()) {
            *uses.entry((s, m)).or_default() += 1;
        }
    }
    let mut model_of: HashMap<&str, (&str, u64)> = HashMap::new();
    for ((s, m), n) in uses {
        let best = model_of.entry(s).or_insert((m, 0));
        if (n, m) > (best.1, best.0) {
            *best = (m, n);
        }
    }
    // Requests by start time, for lines of no known session.
    let mut by_time: Vec<(EpochMs, &str)> = Vec::new();
    if capped.iter().any(|c| c.model.is_none() && c.session.as_deref().is_none_or(|s| !model_of.contains_key(s))) {
        by_time = chains.iter().flat_map(|c| &c.requests).filter_map(|r| Some((r.start(), r.model()?))).collect();
        by_time.sort_unstable();
    }
    let nearest_model = |t: EpochMs| crate::time::nearest(&by_time, t, NEAR_MS).copied();
    for c in capped.iter().filter(|c| c.from > c.to) {
        // A refusal names its model; a debug line's is its session's.
        let known = c.session.as_deref().and_then(|s| model_of.get(s)).map(|&(m, _)| m);
        let Some(model) = c.model.as_deref().or(known).or_else(|| c.time.and_then(nearest_model)) else { continue };
        let session = c.session.as_deref().map(str::to_string);
        let by = if c.model.is_some() { ClampBy::Refused } else { ClampBy::CappedLine };
        let clamp = Clamp { from: c.from, to: c.to, session, time: c.time, by };
        let entry = out.entry(name_of(model)).or_insert_with(|| clamp.clone());
        if clamp.time > entry.time {
            *entry = clamp;
        }
    }
    out
}

/// The units of every chain, in chain order.
pub fn units(chains: &[Chain<'_>], limits: &Limits) -> Vec<Unit> {
    // At most one a request: sized once, not grown by doubling (a copy at each step).
    let mut out = Vec::with_capacity(chains.iter().map(|c| c.requests.len()).sum());
    for (ci, c) in chains.iter().enumerate() {
        let mut i = 0;
        while i < c.requests.len() {
            let r = &c.requests[i];
            let (limit, assumed, bounded) = (limits.get(ci, i), limits.assumed(ci, i), limits.at_least(ci, i));
            if r.ended() == Ended::Throttled {
                out.push(Unit::new(ci, i, i, UnitKind::Failed, limit).assumed_if(assumed).at_least_if(bounded));
                i += 1;
                continue;
            }
            // This request and the continuations after it.
            let mut last = i;
            while last + 1 < c.requests.len()
                && c.requests[last + 1].continues()
                && c.requests[last + 1].ended() == Ended::Response
                && c.requests[last].cut()
                && !c.requests[last].gave_up()
            {
                last += 1;
            }
            let parts = &c.requests[i..=last];
            let tail = &parts[parts.len() - 1];
            let output = parts.iter().map(|p| p.output()).fold(0u64, u64::saturating_add);
            let kind = UnitKind::Response {
                output,
                cut: parts.iter().any(|p| p.cut()),
                complete: tail.ended() == Ended::Response && !tail.cut(),
                estimated: parts.iter().any(|p| p.estimated()),
            };
            out.push(Unit::new(ci, i, last, kind, limit).assumed_if(assumed).at_least_if(bounded));
            i = last + 1;
        }
    }
    out
}

/// The model a unit belongs to (its first request's).
pub fn model_of<'a>(chains: &[Chain<'a>], u: &Unit) -> Option<&'a str> {
    chains[u.chain()].requests[u.first()].model()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::chains::Request;

    /// The units a `Kept` names, in its order.
    #[test]
    fn kept_units_by_index() {
        let kind = UnitKind::Failed;
        let units: Vec<Unit> = (0..5).map(|c| Unit::new(c, 0, 0, kind, 1_000 * c as u64)).collect();
        let kept = Kept::new(&units, &[4, 1, 3]);
        let limits = |it: KeptIter<'_>| it.map(|u| u.limit()).collect::<Vec<_>>();
        assert_eq!(limits(kept.iter()), [4_000, 1_000, 3_000]);
        assert_eq!(limits(kept.into_iter()), [4_000, 1_000, 3_000]);
        assert_eq!(
            (kept.len(), kept.is_empty(), kept.get(2).limit(), kept.iter().size_hint()),
            (3, false, 3_000, (3, Some(3)))
        );
        assert!(Kept::new(&units, &[]).is_empty());
    }

    /// The setting in effect (its field), a default of 32,000 and an upper limit of 64,000.
    struct Set(u64);
    impl Fallback for Set {
        fn now(&self, _: Option<&str>, _: Option<u32>) -> u64 {
            self.0
        }
        fn cap(&self, _: Option<&str>) -> u64 {
            64_000
        }
        fn default(&self, _: Option<&str>) -> u64 {
            32_000
        }
    }

    /// Nothing set: the default, 32,000.
    const NOW: Set = Set(32_000);
    /// 2,000 set.
    const LOW: Set = Set(2_000);

    /// 2,000 set now, the history said to have run at the value held (`--ran-at`).
    struct RanAt(u64);
    impl Fallback for RanAt {
        fn now(&self, _: Option<&str>, _: Option<u32>) -> u64 {
            2_000
        }
        fn ran_at(&self, _: Option<u32>, _: EpochMs) -> Option<u64> {
            Some(self.0)
        }
        fn cap(&self, _: Option<&str>) -> u64 {
            64_000
        }
        fn default(&self, _: Option<&str>) -> u64 {
            32_000
        }
    }

    fn req(
        start: i64,
        session: &'static str,
        output: u64,
        cut: bool,
        cut_limit: Option<u64>,
        continues: bool,
    ) -> Request<'static> {
        Request::answered("m", start, start + 10)
            .with_tokens(0, 0, output)
            .with(|r| {
                r.set_cut(cut);
                r.set_continues(continues);
            })
            .with_session(Some(session))
            .with_cut_limit(cut_limit)
    }

    const DAY: i64 = 86_400_000;

    /// Session A ran at 1,000 (an old setting: a cut there says so); session C was clamped by
    /// Claude Code to 8,192; session B has no record and ran at the limit of the nearest
    /// session that shows one and allows its 5,000-token response: C's.
    #[test]
    fn a_unit_gives_back_what_it_was_made_of() {
        let kinds = [
            UnitKind::Failed,
            UnitKind::Response { output: u64::from(u32::MAX), cut: true, complete: false, estimated: true },
            UnitKind::Response { output: 7, cut: false, complete: true, estimated: false },
            UnitKind::Response { output: 0, cut: true, complete: true, estimated: false },
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let u = Unit::new(i, 2 * i, 3 * i, kind, 1_000 + i as u64);
            assert_eq!(
                (u.chain(), u.first(), u.last(), u.kind(), u.limit()),
                (i, 2 * i, 3 * i, kind, 1_000 + i as u64)
            );
        }
        // Every kind beside every limit a unit can be given: the flags and the limit share a
        // word, and neither reaches into the other.
        let flags = [false, true];
        for limit in [0, 1, crate::models::MAX_OUTPUT_LIMIT - 1, crate::models::MAX_OUTPUT_LIMIT] {
            let mut all = vec![UnitKind::Failed];
            for (cut, complete, estimated) in
                flags.iter().flat_map(|&a| flags.iter().flat_map(move |&b| flags.map(|c| (a, b, c))))
            {
                all.push(UnitKind::Response { output: limit, cut, complete, estimated });
            }
            for kind in all {
                for (assumed, bounded) in flags.iter().flat_map(|&a| flags.map(|b| (a, b))) {
                    let u = Unit::new(1, 2, 3, kind, limit).assumed_if(assumed).at_least_if(bounded);
                    assert_eq!(
                        (u.kind(), u.limit(), u.limit_assumed(), u.limit_at_least()),
                        (kind, limit, assumed, bounded)
                    );
                }
            }
        }
        // A limit no model allows is held as the most the bits hold, the kind intact.
        let u = Unit::new(0, 0, 0, UnitKind::Failed, u64::MAX).assumed_if(true).at_least_if(true);
        assert_eq!(
            (u.kind(), u.limit(), u.limit_assumed(), u.limit_at_least()),
            (UnitKind::Failed, (1 << 26) - 1, true, true)
        );
        let top = u32::MAX as usize;
        assert_eq!(Unit::new(top, top, top, UnitKind::Failed, 0).last(), top);
        // What all its parts wrote saturates (thousands of continuations of the largest
        // response); the limit never needs to.
        let huge = UnitKind::Response { output: u64::MAX, cut: false, complete: true, estimated: false };
        let u = Unit::new(0, 0, 0, huge, crate::models::MAX_OUTPUT_LIMIT);
        assert_eq!(
            u.kind(),
            UnitKind::Response { output: u64::from(u32::MAX), cut: false, complete: true, estimated: false }
        );
        assert_eq!(u.limit(), crate::models::MAX_OUTPUT_LIMIT);
    }

    #[test]
    #[should_panic(expected = "fewer than 2^32")]
    fn a_unit_refuses_an_index_it_cannot_hold() {
        Unit::new(0, 0, u32::MAX as usize + 1, UnitKind::Failed, 0);
    }

    #[test]
    fn limits_from_records_then_clamps_then_now() {
        let chains = vec![
            Chain::of_test(
                "A",
                "",
                None,
                false,
                vec![
                    req(0, "A", 300, false, None, false),
                    req(100, "A", 1_000, true, Some(1_000), false),
                    req(200, "A", 700, false, None, true),
                ],
            ),
            Chain::of_test("B", "", None, false, vec![req(50, "B", 5_000, false, None, false)]),
            Chain::of_test("C", "", None, false, vec![req(60, "C", 5_000, false, None, false)]),
        ];
        let capped = [Capped { from: 10_000, to: 8_192, session: Some("C".into()), time: Some(0), model: None }];
        let limits = in_effect(&chains, &capped, &NOW);
        assert_eq!(limits.nested(), vec![vec![1_000, 1_000, 1_000], vec![8_192], vec![8_192]]);
        let units = units(&chains, &limits);
        // A: 300 alone; 1,000 cut and continued with 700: one response of 1,700, complete.
        assert_eq!(units.len(), 4);
        assert_eq!(units[1].kind(), UnitKind::Response { output: 1_700, cut: true, complete: true, estimated: false });
        assert_eq!((units[1].first, units[1].last), (1, 2));
        assert_eq!(units[1].observation(), Some(Observation::exact(1_700)));
        assert_eq!(units[0].observation(), Some(Observation::exact(300)));
    }

    /// Session A's one request, its subagent of 2.1.150 (which ignored the setting) with a
    /// 5,000-token response, and `third`.
    fn beside_an_old_subagent(third: Chain<'static>) -> Vec<Chain<'static>> {
        let ignored = req(20, "A", 5_000, false, None, false).with(|r| r.set_setting_ignored(true));
        vec![
            Chain::of_test("A", "", None, false, vec![req(0, "A", 300, false, None, false)]),
            Chain::of_test("agent:old", "", None, false, vec![ignored]),
            third,
        ]
    }

    /// The new-user review of 2026-12-05: before about 2.1.233 subagents ignored the setting.
    /// With 2,000 set, a session's main requests ran at it; its subagent of 2.1.150 ran at the
    /// default (32,000), and its 5,000-token response does not make the session older than
    /// the setting; a subagent of 2.1.240 ran at the setting.
    #[test]
    fn subagents_before_they_followed_the_setting_ran_at_the_default() {
        let chains = beside_an_old_subagent(Chain::of_test(
            "agent:new",
            "",
            None,
            false,
            vec![req(30, "A", 1_500, false, None, false)],
        ));
        assert_eq!(in_effect(&chains, &[], &LOW).nested(), vec![vec![2_000], vec![32_000], vec![2_000]]);
        let place = |stream: &str, version: Option<&str>| crate::scan::data::Place {
            stream: stream.into(),
            version: version.map(Into::into),
            ..crate::scan::data::Place::default()
        };
        assert!(setting_ignored(&place("agent:a1", Some("2.1.150"))));
        assert!(!setting_ignored(&place("agent:a1", Some("2.1.233"))));
        assert!(!setting_ignored(&place("agent:a1", None)));
        assert!(!setting_ignored(&place("s-1", Some("2.1.150"))));
        // Telemetry's subagent streams (`<session>/<query_source>`), its main thread not.
        assert!(setting_ignored(&place("s-1/agent:custom#2", Some("2.1.150"))));
        assert!(!setting_ignored(&place("s-1/repl_main_thread", Some("2.1.150"))));
    }

    /// bedrock-home's shape: with 2,000 set and no backup, a session that shows nothing of its
    /// own limit, beside only a subagent that ignored the setting, is taken to have run at
    /// 2,000: a guess, marked on its limits and its units; with 64,000 set, at the default. The
    /// subagent's default is known (its version), as is a limit a record shows or a dated
    /// setting gives.
    #[test]
    fn a_limit_only_taken_from_the_setting_now_is_marked_assumed() {
        let chains = beside_an_old_subagent(Chain::of_test(
            "B",
            "",
            None,
            false,
            vec![req(40, "B", 2_000, true, Some(2_000), false)],
        ));
        // B's cut shows 2,000 for B: and for A, its nearest (a setting holds for a while).
        let limits = in_effect(&chains, &[], &LOW);
        assert_eq!(limits.nested(), vec![vec![2_000], vec![32_000], vec![2_000]]);
        assert_eq!(limits.assumed_nested(), vec![vec![false], vec![false], vec![false]]);
        // Without B, nothing shows A's limit: the setting now (below the default), a guess.
        let limits = in_effect(&chains[..2], &[], &LOW);
        assert_eq!(limits.nested(), vec![vec![2_000], vec![32_000]]);
        assert_eq!(limits.assumed_nested(), vec![vec![true], vec![false]]);
        let units = units(&chains[..2], &limits);
        assert_eq!(units.iter().map(Unit::limit_assumed).collect::<Vec<_>>(), [true, false]);
        assert_eq!(
            (units[0].limit(), units[0].kind()),
            (2_000, UnitKind::Response { output: 300, cut: false, complete: true, estimated: false })
        );
        // 64,000 set, undated: the guess is the default, the smaller (a smaller limit reserves
        // less: the cautious side). A session that wrote more than the default allows ran
        // above it: at the value set.
        let high = Set(64_000);
        let long = vec![Chain::of_test("C", "", None, false, vec![req(60, "C", 40_000, false, None, false)])];
        let both = [chains[..2].to_vec(), long].concat();
        let limits = in_effect(&both, &[], &high);
        assert_eq!(limits.nested(), vec![vec![32_000], vec![32_000], vec![64_000]]);
        assert_eq!(limits.assumed_nested(), vec![vec![true], vec![false], vec![true]]);
        // A setting `apply` dated is no assumption.
        struct Dated;
        impl Fallback for Dated {
            fn now(&self, _: Option<&str>, _: Option<u32>) -> u64 {
                2_000
            }
            fn dated(&self, _: Option<u32>) -> bool {
                true
            }
            fn cap(&self, _: Option<&str>) -> u64 {
                64_000
            }
            fn default(&self, _: Option<&str>) -> u64 {
                32_000
            }
        }
        assert_eq!(in_effect(&chains[..2], &[], &Dated).assumed_nested(), vec![vec![false], vec![false]]);
        // Nor one the user states (`--ran-at`), where it allows what the session wrote.
        let stated = in_effect(&chains[..2], &[], &RanAt(32_000));
        assert_eq!(
            (stated.nested(), stated.assumed_nested()),
            (vec![vec![32_000], vec![32_000]], vec![vec![false], vec![false]])
        );
        assert_eq!(in_effect(&chains[..2], &[], &RanAt(200)).nested(), vec![vec![2_000], vec![32_000]]);
    }

    /// The setting now is 2,000, but a session with no record of its limit wrote 5,000 tokens
    /// in one response: it ran before the setting, at a value only known to be at least
    /// 5,000, taken at 5,000 (the cautious guess), or at the value `--ran-at` gives where that
    /// allows it. A session that shows nothing ran at the limit of the nearest one that does: B
    /// beside A; D, a day later, beside C's cut at 2,000.
    #[test]
    fn a_session_longer_than_the_setting_ran_before_it() {
        let chains = vec![
            Chain::of_test(
                "A",
                "",
                None,
                false,
                vec![req(0, "A", 300, false, None, false), req(9, "A", 5_000, false, None, false)],
            ),
            Chain::of_test("B", "", None, false, vec![req(50, "B", 1_500, false, None, false)]),
            Chain::of_test("C", "", None, false, vec![req(DAY, "C", 2_000, true, Some(2_000), false)]),
            Chain::of_test("D", "", None, false, vec![req(DAY + 50, "D", 1_500, false, None, false)]),
        ];
        let limits = in_effect(&chains, &[], &LOW);
        assert_eq!(limits.nested(), vec![vec![5_000, 5_000], vec![5_000], vec![2_000], vec![2_000]]);
        // A's and B's 5,000 are only known to be at least 5,000: nothing dates the change to
        // 2,000, which may have come from any value above 5,000. They are no assumption of
        // the setting now. C's record shows its limit, and D takes it.
        assert_eq!(limits.at_least_nested(), vec![vec![true, true], vec![true], vec![false], vec![false]]);
        assert_eq!(limits.assumed_nested(), vec![vec![false, false], vec![false], vec![false], vec![false]]);
        let units = units(&chains, &limits);
        assert_eq!(units.iter().map(Unit::limit_at_least).collect::<Vec<_>>(), [true, true, true, false, false]);
        // The user says what the history ran at: a known limit, where it allows what A wrote.
        let stated = in_effect(&chains, &[], &RanAt(32_000));
        assert_eq!(stated.nested(), vec![vec![32_000, 32_000], vec![32_000], vec![2_000], vec![2_000]]);
        assert!(stated.at_least_nested().iter().flatten().all(|&b| !b));
        // Below 5,000: no value A ran at; the cautious guess stands.
        assert_eq!(in_effect(&chains, &[], &RanAt(4_999)), limits);
        assert_eq!(in_effect(&chains, &[], &RanAt(5_000)).nested(), limits.nested());
        assert!(in_effect(&chains, &[], &RanAt(5_000)).at_least_nested().iter().flatten().all(|&b| !b));
    }

    /// A session that wrote more than the setting now, beside one whose record shows a limit
    /// that allows it (a response cut at 16,000 an hour later), ran at that limit: a known
    /// one, not a guess. Beside only a record that does not allow it (2,000), it is a guess.
    #[test]
    fn a_session_longer_than_the_setting_takes_a_nearby_record_that_allows_it() {
        let a = Chain::of_test("A", "", None, false, vec![req(0, "A", 5_000, false, None, false)]);
        let cut = |at, s, limit| Chain::of_test(s, "", None, false, vec![req(at, s, limit, true, Some(limit), false)]);
        let chains = vec![a.clone(), cut(3_600_000, "E", 16_000)];
        let limits = in_effect(&chains, &[], &LOW);
        assert_eq!(
            (limits.nested(), limits.at_least_nested()),
            (vec![vec![16_000], vec![16_000]], vec![vec![false]; 2])
        );
        let chains = vec![a, cut(3_600_000, "E", 2_000)];
        let limits = in_effect(&chains, &[], &LOW);
        assert_eq!(
            (limits.nested(), limits.at_least_nested()),
            (vec![vec![5_000], vec![2_000]], vec![vec![true], vec![false]])
        );
    }

    /// The least round value that allows a response, within the model's upper limit.
    #[test]
    fn the_guess_above_a_response_is_the_next_thousand() {
        assert_eq!([above_all(5_000, 64_000), above_all(5_885, 64_000), above_all(0, 64_000)], [5_000, 6_000, 1_000]);
        assert_eq!([above_all(63_999, 64_000), above_all(64_000, 64_000), above_all(65_000, 64_000)], [64_000; 3]);
    }

    /// On the Anthropic API with no max output set, a session shows Claude Code's capped
    /// default (a response stopped at 8,000) and a response of 20,000 after it: that one was
    /// escalated, run at 64,000, one response and not a cut. Elsewhere (no escalation) the
    /// same records keep 8,000.
    #[test]
    fn a_response_above_the_capped_default_was_escalated() {
        struct FirstParty(bool);
        impl Fallback for FirstParty {
            fn now(&self, _: Option<&str>, _: Option<u32>) -> u64 {
                32_000
            }
            fn cap(&self, _: Option<&str>) -> u64 {
                64_000
            }
            fn default(&self, _: Option<&str>) -> u64 {
                32_000
            }
            fn escalates(&self) -> bool {
                self.0
            }
        }
        let chains = vec![Chain::of_test(
            "A",
            "",
            None,
            false,
            vec![
                req(0, "A", 8_000, true, Some(8_000), false),
                req(100, "A", 2_000, false, None, true),
                req(200, "A", 20_000, false, None, false),
                req(300, "A", 700, false, None, false),
            ],
        )];
        let limits = in_effect(&chains, &[], &FirstParty(true));
        assert_eq!(limits.nested(), vec![vec![8_000, 8_000, 64_000, 8_000]]);
        let u = units(&chains, &limits);
        assert_eq!(u.len(), 3);
        assert_eq!(u[1].kind(), UnitKind::Response { output: 20_000, cut: false, complete: true, estimated: false });
        assert_eq!(u[1].limit(), ESCALATED);
        assert_eq!(in_effect(&chains, &[], &FirstParty(false)).nested(), vec![vec![8_000, 8_000, 8_000, 8_000]]);
    }

    /// Issue 23, item 2: people's settings stay theirs. A's person set 2,000 and A shows its
    /// cut there; B is another person's session beside it with nothing of its own: it ran at
    /// its own person's setting (none: the default), not at A's; C, A's person's other
    /// session, at theirs.
    #[test]
    fn a_session_falls_back_to_its_own_persons_setting() {
        struct People;
        impl Fallback for People {
            fn now(&self, _: Option<&str>, person: Option<u32>) -> u64 {
                if person == Some(0) { 2_000 } else { 32_000 }
            }
            fn cap(&self, _: Option<&str>) -> u64 {
                64_000
            }
            fn default(&self, _: Option<&str>) -> u64 {
                32_000
            }
            fn person(&self, session: Option<&str>, _telemetry: bool) -> Option<u32> {
                session.map(|s| u32::from(s == "B"))
            }
        }
        let chain = |s: &'static str, r| Chain::of_test(s, "", None, false, vec![r]);
        let chains = vec![
            chain("A", req(0, "A", 2_000, true, Some(2_000), false)),
            chain("B", req(50, "B", 500, false, None, false)),
            chain("C", req(DAY, "C", 500, false, None, false)),
        ];
        assert_eq!(in_effect(&chains, &[], &People).nested(), vec![vec![2_000], vec![32_000], vec![2_000]]);
    }

    #[test]
    fn a_cut_response_that_was_given_up_is_censored_at_its_limit() {
        let mut gave_up = req(0, "A", 32_000, true, Some(32_000), false);
        gave_up.set_gave_up(true);
        let mut failed = req(50, "A", 0, false, None, false);
        failed.set_ended(Ended::Throttled);
        let chains = vec![Chain::of_test("A", "", None, false, vec![gave_up, failed])];
        let limits = in_effect(&chains, &[], &NOW);
        let units = units(&chains, &limits);
        assert_eq!(units[0].observation(), Some(Observation::cut_at(32_000)));
        assert_eq!((units[1].kind(), units[1].observation()), (UnitKind::Failed, None));
        // Its session ran at 32,000: the failed request is placed there too.
        assert_eq!(units[1].limit(), 32_000);
    }

    /// A line names its session's main model; a line of a log named after no session names
    /// the model of the request nearest it in time, within ten minutes, else nothing.
    #[test]
    fn learned_caps_by_session_then_by_time() {
        let with = |start, session, model| req(start, session, 10, false, None, false).with_model(Some(model));
        let chains = vec![
            Chain::of_test("A", "", None, false, vec![with(0, "A", "m1"), with(10, "A", "m1"), with(20, "A", "m2")]),
            Chain::of_test("B", "", None, false, vec![with(1_000_000, "B", "m3")]),
        ];
        let line = |from, to, session: Option<&str>, time| Capped {
            from,
            to,
            session: session.map(Into::into),
            time,
            model: None,
        };
        let capped = [
            line(100_000, 64_000, Some("A"), Some(5)),
            line(128_000, 64_000, Some("cc-debug"), Some(1_000_000 + 9 * 60_000)),
            line(128_000, 32_000, Some("cc-debug"), Some(1_000_000 + 11 * 60_000 + 30_000_000)),
            line(50_000, 60_000, Some("A"), Some(6)),
        ];
        let learned = learned_caps(&chains, &capped, &|m| m.to_uppercase());
        let mut got: Vec<(&str, u64, u64)> = learned.iter().map(|(m, c)| (m.as_str(), c.from, c.to)).collect();
        got.sort_unstable();
        // A's line is m1's (two of A's three requests); the raise (50,000 to 60,000) is not a
        // clamp; the late line of cc-debug is near no request.
        assert_eq!(got, [("M1", 100_000, 64_000), ("M3", 128_000, 64_000)]);
    }

    /// A request that ran above the table's limit shows the model allows at least that; the
    /// newer of it and a Capped line wins.
    #[test]
    fn records_above_the_table_raise_its_limit() {
        let mut exceeded = req(1_000, "A", 0, true, Some(128_000), false);
        exceeded.set_gave_up(true);
        let stopped = req(2_000, "A", 100_000, true, Some(100_000), false);
        let below = req(3_000, "A", 50_000, true, Some(50_000), false);
        let chains = vec![Chain::of_test("A", "", None, false, vec![exceeded, stopped, below])];
        let table = |_: &str| Some(64_000);
        let name = |m: &str| m.to_string();
        let line =
            |time| Capped { from: 200_000, to: 64_000, session: Some("A".into()), time: Some(time), model: None };
        let got = |capped: &[Capped]| {
            let c = &caps_from_data(&chains, capped, &name, &table, &|_, _, _| true)["m"];
            (c.to, c.by)
        };
        // The largest record above 64,000 (the 50,000 one is below it).
        assert_eq!(got(&[]), (128_000, ClampBy::ExceededError));
        // An older Capped line loses to it; a newer one wins.
        assert_eq!(got(&[line(500)]), (128_000, ClampBy::ExceededError));
        assert_eq!(got(&[line(5_000)]), (64_000, ClampBy::CappedLine));
        // Nothing above the table and no line: nothing learned.
        let chains = vec![Chain::of_test("A", "", None, false, vec![req(0, "A", 9, true, Some(9), false)])];
        assert!(caps_from_data(&chains, &[], &name, &table, &|_, _, _| true).is_empty());
    }

    /// A model not in the table is assumed to stop at 32,000; a measured response longer than
    /// that, sent with a value set above it, shows Claude Code did not cap it there, and the
    /// limit is taken as the one reported for models it does not know (or the response, if
    /// longer). An estimated response, a model in the table, or no value set above the
    /// assumption shows nothing of the kind.
    #[test]
    fn a_response_above_an_unknown_models_assumed_limit_raises_it() {
        let chains = |outputs: &[(u64, bool)]| {
            vec![Chain::of_test(
                "A",
                "",
                None,
                false,
                outputs
                    .iter()
                    .enumerate()
                    .map(|(k, &(out, estimated))| {
                        let mut r = req(1_000 * k as i64, "A", out, false, None, false);
                        r.set_estimated(estimated);
                        r
                    })
                    .collect(),
            )]
        };
        let name = |m: &str| m.to_string();
        let unknown = |_: &str| None;
        // The value set: 64,000, above the assumed limit.
        let set_above = |_: &Request<'_>, _: bool, cap: u64| 64_000 > cap;
        let got = |outputs: &[(u64, bool)], table: &dyn Fn(&str) -> Option<u64>| {
            caps_from_data(&chains(outputs), &[], &name, table, &set_above).get("m").map(|c| (c.from, c.to, c.by))
        };
        assert_eq!(got(&[(3_000, false), (40_000, false)], &unknown), Some((40_000, 128_000, ClampBy::Response)));
        assert_eq!(got(&[(200_000, false)], &unknown), Some((200_000, 200_000, ClampBy::Response)));
        // At the assumed limit, or estimated: nothing learned.
        assert_eq!(got(&[(32_000, false), (40_000, true)], &unknown), None);
        // A model in the table keeps its limit (an output above it is no record of a limit).
        assert_eq!(got(&[(40_000, false)], &|_| Some(32_000)), None);
        // No value set above the assumed limit: the response says nothing of a cap.
        let none_set = caps_from_data(&chains(&[(40_000, false)]), &[], &name, &unknown, &|_, _, _| false);
        assert!(none_set.is_empty());
    }
}
