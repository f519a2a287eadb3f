//! Giving memory back between the steps of a run.
//!
//! The scan's reader threads and the analysis's temporary vectors free far more than they keep,
//! but glibc's allocator keeps freed pages of each thread's arena mapped, so the peak of a run
//! would be the reading's high-water mark plus everything the analysis holds. Where glibc is
//! the allocator, `malloc_trim` returns the free pages to the system between steps; elsewhere
//! (macOS's allocator returns them itself, musl keeps little) there is nothing to do, and the
//! `portable` build does nothing either, as macOS's.

/// The size from which a block has a mapping of its own (1 MiB), given back when freed.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "portable")))]
const OWN_MAPPING_FROM: libc::c_int = 1 << 20;

/// Sets the allocator up for a run, before it allocates much: every block of
/// [`OWN_MAPPING_FROM`] or more in a mapping of its own. glibc would raise that threshold
/// each time such a block is freed, up to 32 MiB, so that a run's vectors of a few MiB (a
/// reader thread's records, the fit's per-request counts) would come from the arenas, and
/// once freed stay mapped around what is still held there until a trim, when only whole free
/// pages go back; a fixed threshold keeps them out of the arenas, and a freed one is given
/// back at once (BENCHMARKS.md: the telemetry exports' peak; a transcript home's blocks are
/// small, and its peak moves within noise).
pub fn configure() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "portable")))]
    // SAFETY: `mallopt` takes no pointer; it changes how later blocks are served.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAPPING_FROM);
    }
}

/// Returns the allocator's free pages to the system, where that is a call away.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "portable")))]
    // SAFETY: `malloc_trim` takes no pointer and only releases memory no allocation holds.
    unsafe {
        libc::malloc_trim(0);
    }
}
