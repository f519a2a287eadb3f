//! Work on another thread where one can be made, here where none can: a process limit
//! (`RLIMIT_NPROC`, a container's pids limit) makes `std::thread::scope`'s `spawn` panic, and
//! a scan must finish on one core rather than stop.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

/// Work started by [`spawn`]: on its own thread, or done already.
pub enum Handle<'scope, T> {
    Thread(ScopedJoinHandle<'scope, T>),
    Done(T),
}

impl<T> Handle<'_, T> {
    /// Its result; a panic on its thread goes on here.
    pub fn join(self) -> T {
        match self {
            Handle::Thread(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Handle::Done(t) => t,
        }
    }
}

/// Runs `f` on a new thread of `s`, or here and now when no thread can be made.
pub fn spawn<'scope, T, F>(s: &'scope Scope<'scope, '_>, f: F) -> Handle<'scope, T>
where
    T: Send + 'scope,
    F: FnOnce() -> T + Send + 'scope,
{
    // The closure waits in a slot: a thread that could not be made never ran it.
    let slot = Arc::new(Mutex::new(Some(f)));
    let theirs = Arc::clone(&slot);
    let take = |s: &Mutex<Option<F>>| s.lock().unwrap_or_else(PoisonError::into_inner).take();
    match std::thread::Builder::new().spawn_scoped(s, move || take(&theirs).expect("run once")()) {
        Ok(h) => Handle::Thread(h),
        Err(_) => Handle::Done(take(&slot).expect("not run")()),
    }
}

/// Runs `a` and `b` side by side (`a` on another thread where one can be made) and returns
/// both results.
pub fn join<RA: Send, RB>(a: impl FnOnce() -> RA + Send, b: impl FnOnce() -> RB) -> (RA, RB) {
    std::thread::scope(|s| {
        let a = spawn(s, a);
        let b = b();
        (a.join(), b)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_run_and_panics_go_on() {
        let (a, b) = join(|| 1 + 1, || "b");
        assert_eq!((a, b), (2, "b"));
        let caught = std::panic::catch_unwind(|| join(|| panic!("on the other side"), || 0));
        assert!(caught.is_err());
    }
}
