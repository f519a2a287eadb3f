//! How a plan's subagent chains tie to their parents, from the history's times.

use super::PlanChain;
use crate::scan::data::is_subagent;
use crate::time::EpochMs;

/// How subagents tie to their parents in the history: each subagent's chain to the parent
/// session's job that ended last before the subagent's first request, and the parent's next
/// job to the subagents' ends when the history shows it waited for them. Throttling then
/// delays a subagent with its parent, as it does in Claude Code.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Anchors {
    /// (parent job, child chain, how long after the parent job ended the child started), by
    /// parent job.
    pub links: Vec<(usize, usize, i64)>,
    /// (parent job, how long after its last subagent ended the next job was sent).
    pub joins: Vec<(usize, i64)>,
}

impl Anchors {
    /// From the plan's chains, each one's stream and the session of its first request
    /// (`head` of its index), and when each job was sent and ended in the history.
    pub fn of<'h>(
        chains: &[PlanChain],
        head: impl Fn(usize) -> (&'h str, Option<&'h str>),
        sent: impl Fn(usize) -> EpochMs,
        ended: impl Fn(usize) -> EpochMs,
    ) -> Self {
        // (parent chain, child chain), by parent: each parent's job ends listed once. The
        // lists it is found with are given back before the links are made.
        let mut kids: Vec<(usize, usize)> = {
            // Each chain's stream, read once (its chain is far away in memory: a sort reading it
            // at every comparison took longer than the rest of the plan).
            let streams: Vec<&str> = (0..chains.len()).map(|i| head(i).0).collect();
            let stream = |i: usize| streams[i];
            // The chains by stream, found by halving (a stream named twice: its last chain): a
            // team's plan has a chain a stream, and a hash map of them was the plan's peak.
            let mut by_stream: Vec<u32> = (0..u32::try_from(chains.len()).expect("under 2^32 chains")).collect();
            by_stream.sort_unstable_by_key(|&i| (stream(i as usize), i));
            let chain_of_stream = |name: &str| {
                let end = by_stream.partition_point(|&i| stream(i as usize) <= name);
                end.checked_sub(1).map(|k| by_stream[k] as usize).filter(|&i| stream(i) == name)
            };
            // Telemetry names no stream by its session alone (`<session>/<query_source>`): a
            // session's main stream is then its chain that is no subagent's with the most jobs
            // (the first of those). A transcript's is the one its session names.
            let mut main_of: foldhash::HashMap<&str, usize> = foldhash::HashMapExt::new();
            let jobs = |k: usize| chains[k].end() - chains[k].first();
            for i in 0..chains.len() {
                let (stream, session) = head(i);
                if let Some(s) = session.filter(|_| !is_subagent(stream)) {
                    main_of.entry(s).and_modify(|k| *k = if jobs(i) > jobs(*k) { i } else { *k }).or_insert(i);
                }
            }
            // A subagent is no parent (Claude Code's subagents start none): two naming each other
            // would make a cycle that no root reaches, and neither would run.
            let parent_of = |session: &str| {
                chain_of_stream(session).or(main_of.get(session).copied()).filter(|&p| !is_subagent(stream(p)))
            };
            (0..chains.len())
                .map(|ci| (ci, head(ci)))
                .filter(|(_, (stream, _))| is_subagent(stream))
                .filter_map(|(ci, (_, session))| Some((parent_of(session?)?, ci)))
                .collect()
        };
        kids.sort_unstable();
        // At their size: grown by doubling, the links would be held twice at the plan's peak.
        let (mut links, mut joins) = (Vec::with_capacity(kids.len()), Vec::new());
        for group in kids.chunk_by(|a, b| a.0 == b.0) {
            let p = &chains[group[0].0];
            let ends: Vec<EpochMs> = (p.first()..p.end()).map(&ended).collect();
            let mut mine: Vec<(usize, usize, i64)> = Vec::with_capacity(group.len());
            for &(_, ci) in group {
                let start = chains[ci].start;
                // The parent's last job that ended at or before this chain's start.
                let k = ends.partition_point(|&e| e <= start);
                if k > 0 {
                    mine.push((p.first() + k - 1, ci, start - ends[k - 1]));
                }
            }
            mine.sort_unstable();
            for of_job in mine.chunk_by(|a, b| a.0 == b.0) {
                let job = of_job[0].0;
                let last_end = of_job.iter().map(|&(_, child, _)| ended(chains[child].end() - 1)).max();
                // The parent's next job waited for them if it was sent after the last one ended.
                if let Some(last_end) = last_end.filter(|&e| job + 1 < p.end() && sent(job + 1) >= e) {
                    joins.push((job, sent(job + 1) - last_end));
                }
            }
            links.extend(mine);
        }
        links.sort_unstable();
        Anchors { links, joins }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(start: EpochMs, first: usize, end: usize) -> PlanChain {
        PlanChain::new(start, first, end)
    }

    /// A main session (jobs 0-2) and four subagents: one started after the first job, one
    /// after the second (and the third job waited for it), one of another session, one
    /// before any job of its parent ended.
    #[test]
    fn subagents_tie_to_the_job_that_ended_last_before_them() {
        let sent = [0, 100, 300, 120, 200, 200, 5, 10];
        let ended = [50, 200, 400, 150, 250, 280, 6, 20];
        let chains = [chain(0, 0, 3), chain(120, 3, 5), chain(200, 5, 6), chain(5, 6, 7), chain(10, 7, 8)];
        let heads = [
            ("s1", Some("s1")),
            ("agent:a", Some("s1")),
            ("agent:b", Some("s1")),
            ("agent:c", Some("nobody")),
            ("agent:d", Some("s1")),
        ];
        let anchors = Anchors::of(&chains, |i| heads[i], |k| sent[k], |k| ended[k]);
        // agent:a at 120: job 0 ended at 50 (70 before); its end (250) came after job 1 was
        // sent (100): no wait. agent:b at 200, as job 1 ended: job 2 sent at 300, 20 after
        // agent:b ended (280).
        assert_eq!(anchors, Anchors { links: vec![(0, 1, 70), (1, 2, 0)], joins: vec![(1, 20)] });
    }

    /// Telemetry's streams: the session's main stream is its non-subagent chain with the
    /// most jobs, whatever its `query_source` or lane.
    #[test]
    fn telemetry_subagents_tie_to_their_sessions_main_stream() {
        let sent = [0, 100, 300, 150, 120, 500];
        let ended = [50, 200, 400, 160, 130, 600];
        let chains = [chain(0, 0, 3), chain(150, 3, 4), chain(120, 4, 5), chain(500, 5, 6)];
        let heads = [
            ("S/repl_main_thread", Some("S")),
            ("S/repl_main_thread#2", Some("S")),
            ("S/agent:custom", Some("S")),
            ("T/agent:custom#2", Some("T")),
        ];
        let anchors = Anchors::of(&chains, |i| heads[i], |k| sent[k], |k| ended[k]);
        // The subagent at 120 after job 0 (ended at 50); job 1 was sent at 100, before the
        // subagent ended (130): no wait. Session T has no main stream.
        assert_eq!(anchors, Anchors { links: vec![(0, 2, 70)], joins: vec![] });
    }

    /// Two subagents naming each other's stream as their session, at one instant: a
    /// subagent is no parent (Claude Code's subagents start none), so no cycle is made.
    #[test]
    fn subagents_are_no_parents() {
        let (sent, ended) = ([100, 100], [100, 100]);
        let chains = [chain(100, 0, 1), chain(100, 1, 2)];
        let heads = [("agent:a", Some("agent:b")), ("agent:b", Some("agent:a"))];
        assert_eq!(Anchors::of(&chains, |i| heads[i], |k| sent[k], |k| ended[k]), Anchors::default());
    }

    /// The anchoring as it was made from lists of every job's times (before the jobs were
    /// made without them): the reference the list-free one is compared with.
    fn from_lists(
        chains: &[PlanChain],
        heads: &[(&str, Option<&str>)],
        sent: &[EpochMs],
        ended: &[EpochMs],
    ) -> Anchors {
        let mut by_stream = std::collections::HashMap::new();
        for (i, &(stream, _)) in heads.iter().enumerate() {
            by_stream.insert(stream, i);
        }
        let mut links = Vec::new();
        for (ci, (pc, &(stream, session))) in chains.iter().zip(heads).enumerate() {
            if !stream.starts_with("agent:") {
                continue;
            }
            let Some(parent) = session.and_then(|s| by_stream.get(s).copied()) else { continue };
            let p = &chains[parent];
            let start = sent[pc.first()];
            let k = ended[p.first()..p.end()].partition_point(|&e| e <= start);
            if k == 0 {
                continue;
            }
            let job = p.first() + k - 1;
            links.push((job, ci, start - ended[job]));
        }
        links.sort_unstable();
        let chain_of_job: Vec<usize> =
            (0..sent.len()).map(|j| chains.iter().position(|c| (c.first()..c.end()).contains(&j)).unwrap()).collect();
        let mut joins = Vec::new();
        for group in links.chunk_by(|a, b| a.0 == b.0) {
            let job = group[0].0;
            let last_end = group.iter().map(|&(_, child, _)| ended[chains[child].end() - 1]).max().unwrap();
            if job + 1 < chains[chain_of_job[job]].end() && sent[job + 1] >= last_end {
                joins.push((job, sent[job + 1] - last_end));
            }
        }
        Anchors { links, joins }
    }

    /// On pseudo-random plans (times in steps of 10 ms, so that many are equal; out of order
    /// too; streams named twice; sessions of no chain), the same anchors as from the lists.
    #[test]
    fn the_same_as_from_lists_of_every_time() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut number = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as i64
        };
        let names = ["s0", "s1", "s2", "agent:a", "agent:b", "agent:c", "agent:d", "agent:e"];
        let mut linked = 0;
        for _ in 0..300 {
            let (mut chains, mut heads, mut sent, mut ended) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..1 + number(8) {
                let first = sent.len();
                let mut t = 10 * number(100);
                for _ in 0..1 + number(6) {
                    // Mostly in order; now and then one that ends before the one before it.
                    t += 10 * number(30) - if number(5) == 0 { 400 } else { 0 };
                    sent.push(t);
                    t += 10 * number(20);
                    ended.push(t);
                }
                chains.push(chain(sent[first], first, sent.len()));
                // A transcript's main stream is its session's name; a subagent names any.
                let name = names[number(names.len() as u64) as usize];
                let session = if is_subagent(name) { ["s0", "s1", "s2", "nobody"][number(4) as usize] } else { name };
                heads.push((name, (number(6) > 0).then_some(session)));
            }
            let anchors = Anchors::of(&chains, |i| heads[i], |k| sent[k], |k| ended[k]);
            assert_eq!(anchors, from_lists(&chains, &heads, &sent, &ended), "{heads:?} {sent:?} {ended:?}");
            linked += anchors.links.len();
        }
        // The sets tie some subagents, or the comparison says little.
        assert!(linked > 100, "{linked}");
    }
}
