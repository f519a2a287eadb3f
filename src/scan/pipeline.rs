//! Finding and reading files at once, on every core, with results handed over in path order.
//!
//! The calling thread walks the roots while the other workers read the files it has found so
//! far, in the order found. When the walk ends, the files not yet taken are read largest first
//! (so that a big file does not start last and leave a core idle), the calling thread joining
//! in. Each result is handed to `on_result` in path order (the first file to hold a response
//! names its origin), as soon as it and those before it are read. There is no merging thread:
//! the worker that completes the next result in order hands it over, with those waiting
//! behind it, under a lock. (A channel to a merging thread cost a wake-up per file and a third
//! thread competing for the cores.)

use std::cmp::Reverse;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::SystemTime;

use super::Progress;
use super::discover::{Discovery, Input, discover};
use super::file::{self, FileResult};
use super::root::Root;

/// How to find and read.
pub struct Pipeline<'a> {
    pub roots: &'a [Root],
    pub modified_since: Option<SystemTime>,
    /// Workers, the calling thread included (at least one).
    pub threads: usize,
    pub full_parse: bool,
    pub progress: &'a dyn Progress,
}

impl Pipeline<'_> {
    /// Finds and reads every file, calling `on_result` for each in path order, on whichever
    /// thread completes its turn. Returns what the walk found besides files.
    pub fn run(&self, on_result: impl FnMut(&Input, FileResult) + Send) -> Discovery {
        let shared = Shared::new(on_result, self.full_parse, self.progress);
        let discovery = std::thread::scope(|s| {
            // A worker that cannot be made is not needed: this thread works too.
            for _ in 1..self.threads.max(1) {
                if std::thread::Builder::new().spawn_scoped(s, || shared.work()).is_err() {
                    break;
                }
            }
            // Should the walk panic, the workers waiting for it are let go, or the scope would
            // wait for them forever instead of re-raising the panic.
            let walking = EndOfWalk(&shared.found, &shared.wake);
            let discovery = discover(self.roots, self.modified_since, &mut |input| {
                let mut found = lock(&shared.found);
                found.inputs.push(input);
                if found.sleeping > 0 {
                    shared.wake.notify_one();
                }
            });
            std::mem::forget(walking);
            shared.publish();
            shared.work();
            discovery
        });
        // Only a panicked worker leaves results behind, and the scope re-raised its panic.
        let handed_over = lock(&shared.turns).turn;
        assert_eq!(Some(handed_over), shared.plan.get().map(|p| p.inputs.len()), "every result handed over");
        discovery
    }
}

/// Files found by the walk so far.
#[derive(Default)]
struct Found {
    /// In walk order; moved into the [`Plan`] when the walk ends.
    inputs: Vec<Input>,
    /// `inputs[..taken]` are taken by workers.
    taken: usize,
    /// The walk has ended: the plan is published (or the walk panicked, see [`EndOfWalk`]).
    done: bool,
    /// Workers waiting for the walk to find more.
    sleeping: usize,
}

/// Marks the walk done if dropped (when the walk panics), waking the workers waiting for it.
struct EndOfWalk<'a>(&'a Mutex<Found>, &'a Condvar);

impl Drop for EndOfWalk<'_> {
    fn drop(&mut self) {
        lock(self.0).done = true;
        self.1.notify_all();
    }
}

/// What to do once every file is known. Indices are into `inputs`, in walk order.
struct Plan {
    inputs: Vec<Input>,
    /// Indices in path order: the order of `on_result`.
    merge_order: Vec<usize>,
    /// The files no worker took during the walk, largest first, and the next one to read.
    read_order: Vec<usize>,
    next: AtomicUsize,
}

/// The results that came before their turn (by walk index), and whose turn it is (a
/// position in `merge_order`).
struct Turns<F> {
    waiting: Vec<Option<FileResult>>,
    turn: usize,
    on_result: F,
}

struct Shared<'a, F> {
    found: Mutex<Found>,
    wake: Condvar,
    plan: OnceLock<Plan>,
    turns: Mutex<Turns<F>>,
    full_parse: bool,
    progress: &'a dyn Progress,
}

/// Locks `m`. The locks here guard no invariant a panic could break halfway (a panic while
/// merging is re-raised by the thread scope), so a poisoned lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'a, F: FnMut(&Input, FileResult)> Shared<'a, F> {
    fn new(on_result: F, full_parse: bool, progress: &'a dyn Progress) -> Self {
        Shared {
            found: Mutex::new(Found::default()),
            wake: Condvar::new(),
            plan: OnceLock::new(),
            turns: Mutex::new(Turns { waiting: Vec::new(), turn: 0, on_result }),
            full_parse,
            progress,
        }
    }

    /// A worker: files as the walk finds them, then the rest largest first.
    fn work(&self) {
        let mut buffers = file::Buffers::default();
        let advance = |n: u64| self.progress.advance(n);
        while let Some((i, input)) = self.next_found() {
            let result = file::read(&input, self.full_parse, &mut buffers, &advance);
            self.hand_over(i, result);
        }
        // Not published only when the walk panicked.
        let Some(plan) = self.plan.get() else { return };
        while let Some(&i) = plan.read_order.get(plan.next.fetch_add(1, Ordering::Relaxed)) {
            let result = file::read(&plan.inputs[i], self.full_parse, &mut buffers, &advance);
            self.hand_over(i, result);
        }
    }

    /// The next file found and not yet taken, waiting for the walk if need be; `None` once
    /// the walk has ended.
    fn next_found(&self) -> Option<(usize, Input)> {
        let mut found = lock(&self.found);
        loop {
            if found.taken < found.inputs.len() {
                found.taken += 1;
                return Some((found.taken - 1, found.inputs[found.taken - 1].clone()));
            }
            if found.done {
                return None;
            }
            found.sleeping += 1;
            found = self.wake.wait(found).unwrap_or_else(PoisonError::into_inner);
            found.sleeping -= 1;
        }
    }

    /// Called by the walking thread when the walk has ended.
    fn publish(&self) {
        {
            let mut found = lock(&self.found);
            let inputs = std::mem::take(&mut found.inputs);
            let mut merge_order: Vec<usize> = (0..inputs.len()).collect();
            merge_order.sort_unstable_by(|&a, &b| inputs[a].path.cmp(&inputs[b].path));
            let mut read_order: Vec<usize> = (found.taken..inputs.len()).collect();
            read_order.sort_by_key(|&i| Reverse(inputs[i].len));
            self.progress.start(inputs.len() as u64, inputs.iter().map(|i| i.len).sum());
            let plan = Plan { inputs, merge_order, read_order, next: AtomicUsize::new(0) };
            assert!(self.plan.set(plan).is_ok(), "published once");
            found.done = true;
        }
        self.wake.notify_all();
        // Results handed over during the walk waited for the merge order.
        let mut turns = lock(&self.turns);
        turns.advance(self.plan.get().expect("just published"));
    }

    fn hand_over(&self, i: usize, result: FileResult) {
        let mut turns = lock(&self.turns);
        if turns.waiting.len() <= i {
            turns.waiting.resize_with(i + 1, || None);
        }
        turns.waiting[i] = Some(result);
        // Read under the lock: if the plan is not published yet, `publish` has not taken this
        // lock to hand over what waits, and will.
        if let Some(plan) = self.plan.get() {
            turns.advance(plan);
        }
    }
}

impl<F: FnMut(&Input, FileResult)> Turns<F> {
    /// Hands over every result whose turn has come.
    fn advance(&mut self, plan: &Plan) {
        while let Some(&i) = plan.merge_order.get(self.turn) {
            let Some(result) = self.waiting.get_mut(i).and_then(Option::take) else { break };
            (self.on_result)(&plan.inputs[i], result);
            self.turn += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::Silent;
    use crate::scan::discover::FileKind;

    fn input(path: &str, len: u64) -> Input {
        Input { path: path.into(), kind: FileKind::Transcript, project: String::new(), len }
    }

    /// The hand-over protocol, one step at a time: results read during the walk wait for the
    /// path order, which is known only when the walk ends.
    #[test]
    fn results_wait_for_their_turn_across_the_end_of_the_walk() {
        let mut got: Vec<(String, u64)> = Vec::new();
        let shared =
            Shared::new(|i: &Input, r: FileResult| got.push((i.path.display().to_string(), r.bytes)), false, &Silent);
        // Walk order c, a, b, d; a worker took c and a during the walk.
        {
            let mut found = lock(&shared.found);
            found.inputs = vec![input("c", 1), input("a", 10), input("b", 5), input("d", 50)];
            found.taken = 2;
        }
        let result = |bytes| FileResult { bytes, ..FileResult::default() };
        shared.hand_over(0, result(1)); // c: before the walk ends, so it waits.
        shared.publish();
        let plan = shared.plan.get().unwrap();
        // Path order a b c d; the untaken b and d are read largest first.
        assert_eq!(plan.merge_order, [1, 2, 0, 3]);
        assert_eq!(plan.read_order, [3, 2]);
        assert!(lock(&shared.found).done);
        assert!(lock(&shared.turns).turn == 0, "a is not read yet");
        shared.hand_over(3, result(50)); // d: waits for a, b and c.
        shared.hand_over(1, result(10)); // a: its turn; b is next and not read.
        assert_eq!(lock(&shared.turns).turn, 1);
        shared.hand_over(2, result(5)); // b, then c and d, which were waiting.
        assert_eq!(lock(&shared.turns).turn, 4);
        drop(shared);
        let want = [("a", 10), ("b", 5), ("c", 1), ("d", 50)].map(|(p, b)| (p.to_string(), b));
        assert_eq!(got, want);
    }

    /// Every file read before the walk ends: `publish` hands them all over.
    #[test]
    fn results_all_read_during_the_walk_are_handed_over_when_it_ends() {
        let mut got = Vec::new();
        let shared = Shared::new(|i: &Input, _| got.push(i.path.display().to_string()), false, &Silent);
        {
            let mut found = lock(&shared.found);
            found.inputs = vec![input("b", 1), input("a", 2)];
            found.taken = 2;
        }
        shared.hand_over(1, FileResult::default());
        shared.hand_over(0, FileResult::default());
        assert_eq!(lock(&shared.turns).turn, 0);
        shared.publish();
        assert!(shared.plan.get().unwrap().read_order.is_empty());
        drop(shared);
        assert_eq!(got, ["a", "b"]);
    }

    /// A worker waiting for more files from a walk that panicked is let go (else the thread
    /// scope would wait for it forever instead of re-raising the panic).
    #[test]
    fn workers_waiting_for_a_walk_that_panicked_are_let_go() {
        let shared = std::sync::Arc::new(Shared::new(|_: &Input, _| {}, false, &Silent));
        let (done, ended) = std::sync::mpsc::channel();
        let worker = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                shared.work();
                done.send(()).unwrap();
            })
        };
        while lock(&shared.found).sleeping == 0 {
            std::thread::yield_now();
        }
        drop(EndOfWalk(&shared.found, &shared.wake));
        assert!(ended.recv_timeout(std::time::Duration::from_secs(10)).is_ok(), "the worker still waits");
        worker.join().unwrap();
    }

    /// With no file at all, the workers end and nothing is handed over.
    #[test]
    fn an_empty_walk_ends() {
        let home = tempfile::tempdir().unwrap();
        let roots = [Root { path: home.path().to_path_buf(), kind: crate::scan::root::RootKind::Home }];
        for threads in [1, 4] {
            let mut calls = 0;
            let pipeline =
                Pipeline { roots: &roots, modified_since: None, threads, full_parse: false, progress: &Silent };
            let found = pipeline.run(|_, _| calls += 1);
            assert_eq!((calls, found.warnings.len()), (0, 0));
        }
    }
}
