//! Giving memory back between the steps of a run.
//!
//! The scan's reader threads and the analysis's temporary vectors free far more than they keep,
//! but glibc's allocator keeps freed pages of each thread's arena mapped, so the peak of a run
//! would be the reading's high-water mark plus everything the analysis holds. Where glibc is
//! the allocator, `malloc_trim` returns the free pages to the system between steps; elsewhere
//! (macOS's allocator returns them itself, musl keeps little) there is nothing to do, and the
//! `portable` build does nothing either, as macOS's.

/// Returns the allocator's free pages to the system, where that is a call away.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "portable")))]
    // SAFETY: `malloc_trim` takes no pointer and only releases memory no allocation holds.
    unsafe {
        libc::malloc_trim(0);
    }
}
