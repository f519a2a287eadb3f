//! Giving memory back between the steps of a run.
//!
//! The scan's reader threads and the analysis's temporary vectors free far more than they keep,
//! but glibc's allocator keeps freed pages of each thread's arena mapped, so the peak of a run
//! would be the reading's high-water mark plus everything the analysis holds. Where glibc is
//! the allocator, `malloc_trim` returns the free pages to the system between steps; elsewhere
//! (macOS's allocator returns them itself, musl keeps little) there is nothing to do, and the
//! `portable` build does nothing either, as macOS's.

/// When the last step ended (or the run began, at [`configure`]): a step's line tells the
/// time it took.
static LAST_STEP: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// The size from which a block has a mapping of its own (1 MiB), given back when freed.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "portable")))]
const OWN_MAPPING_FROM: libc::c_int = 1 << 20;

/// Sets the allocator up for a run, before it allocates much: every block of
/// `OWN_MAPPING_FROM` or more in a mapping of its own. glibc would raise that threshold
/// each time such a block is freed, up to 32 MiB, so that a run's vectors of a few MiB (a
/// reader thread's records, the fit's per-request counts) would come from the arenas, and
/// once freed stay mapped around what is still held there until a trim, when only whole free
/// pages go back; a fixed threshold keeps them out of the arenas, and a freed one is given
/// back at once (BENCHMARKS.md: the telemetry exports' peak; a transcript home's blocks are
/// small, and its peak moves within noise).
pub fn configure() {
    *LAST_STEP.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
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

/// Memory freed a piece at a time (a list cut short, a chain's list dropped), given back to
/// the system every few MiB: not after each piece (a trim is a walk of the arenas), nor only
/// at the end (the step's peak would be as if nothing were freed).
#[derive(Debug, Default)]
pub struct Freeing {
    since: usize,
}

impl Freeing {
    /// Bytes freed between two givings back.
    const EVERY: usize = 4 << 20;

    /// Counts `bytes` just freed, and gives back once a few MiB have been.
    pub fn freed(&mut self, bytes: usize) {
        self.since += bytes;
        if self.since >= Self::EVERY {
            give_back();
            self.since = 0;
        }
    }

    /// Cuts `list` short to `len`; when that makes a few MiB freed, the list's spare room is
    /// let go and the memory given back.
    pub fn truncate<T>(&mut self, list: &mut Vec<T>, len: usize) {
        self.since += list.len().saturating_sub(len) * std::mem::size_of::<T>();
        list.truncate(len);
        if self.since >= Self::EVERY {
            list.shrink_to_fit();
            give_back();
            self.since = 0;
        }
    }
}

/// The environment variable that has a run tell, on standard error, how much memory each
/// step of it took at most, how much it held after and how long the step took: `bench/steps.py` reads it. Only where
/// the system tells a process its peak and lets it start counting again (Linux); elsewhere
/// it prints nothing.
pub const STEPS_VAR: &str = "CCDOCTOR_MEMORY_STEPS";

/// Marks the end of a step of the run: with [`STEPS_VAR`] set, prints the most memory held
/// (resident) since the last mark, what is held now and the time since the last mark (or
/// since [`configure`]), then counts the peak again from here.
pub fn step(name: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os(STEPS_VAR).is_some()) {
        return;
    }
    let now_at = std::time::Instant::now();
    let since = {
        let mut last = LAST_STEP.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = last.map(|t| now_at.duration_since(t));
        *last = Some(now_at);
        since
    };
    if let Some((peak, now)) = resident() {
        let took = since.map_or(String::new(), |d| format!(" in {:.0} ms", d.as_secs_f64() * 1000.0));
        eprintln!(
            "ccdoctor: memory: {name}: peak {:.1} MiB, then {:.1} MiB{took}",
            peak as f64 / 1024.0,
            now as f64 / 1024.0
        );
    }
}

/// The peak resident memory since the last call and the resident memory now, in KiB; the
/// peak counted again from now.
#[cfg(target_os = "linux")]
fn resident() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    let found = (kib("VmHWM:")?, kib("VmRSS:")?);
    // "5" resets the peak (proc(5), clear_refs).
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    Some(found)
}

#[cfg(not(target_os = "linux"))]
fn resident() -> Option<(u64, u64)> {
    None
}

/// Puts `list` in the order `from` gives (`from[new] = old`, a permutation of its places), in
/// place: no second list is held beside it, as sorting into a new one (or a stable sort's
/// buffer) would. Each cycle of the permutation is followed once, a swap a step; `from` is
/// used up.
pub fn permute<T>(list: &mut [T], mut from: Vec<u32>) {
    assert_eq!(list.len(), from.len(), "a place for each item");
    const DONE: u32 = u32::MAX;
    for i in 0..list.len() {
        if from[i] == DONE {
            continue;
        }
        let mut at = i;
        loop {
            let src = from[at] as usize;
            from[at] = DONE;
            if src == i {
                break;
            }
            list.swap(at, src);
            at = src;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Freeing, permute};

    /// A list cut short keeps its room until a few MiB have been freed, then lets it go.
    #[test]
    fn a_list_cut_short_lets_its_room_go_every_few_mib() {
        let mut list = vec![0u8; 5 << 20];
        let mut freeing = Freeing::default();
        freeing.truncate(&mut list, 4 << 20);
        assert_eq!((list.len(), list.capacity()), (4 << 20, 5 << 20), "1 MiB freed: kept");
        freeing.truncate(&mut list, 1 << 20);
        assert_eq!((list.len(), list.capacity()), (1 << 20, 1 << 20), "4 MiB in all: let go");
        freeing.truncate(&mut list, 0);
        assert_eq!(list.capacity(), 1 << 20, "counted again from there");
    }

    /// Every item lands where `from` sends it, through cycles of every length (a fixed point,
    /// a swap, a longer cycle) and none.
    #[test]
    fn permute_puts_each_item_where_asked() {
        let list: Vec<String> = (0..9).map(|i| format!("item {i}")).collect();
        let from: Vec<u32> = vec![0, 2, 1, 5, 3, 4, 8, 6, 7];
        let mut moved = list.clone();
        permute(&mut moved, from.clone());
        let want: Vec<String> = from.iter().map(|&i| list[i as usize].clone()).collect();
        assert_eq!(moved, want);
        let mut empty: Vec<u8> = Vec::new();
        permute(&mut empty, Vec::new());
        assert!(empty.is_empty());
    }
}
