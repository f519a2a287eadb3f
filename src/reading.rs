//! How a quota counts a request when it starts: AWS's own texts disagree (`quota-model.md`),
//! so there are four readings, and the history's 429s decide between them
//! (`analysis::fit`). Plain data, at the bottom so that the configuration can name one.

/// What a request reserves at admission besides its input and cache writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Reading {
    /// Cache-read tokens count in the reservation.
    pub cache_reads_reserved: bool,
    /// Max output is reserved at the burndown rate (`B × M`), else plainly (`M`).
    pub burndown_reservation: bool,
}

/// The four readings, the one AWS's quota script computes first (max output at the burndown
/// rate, cache reads not reserved).
pub const READINGS: [Reading; 4] = [
    Reading { cache_reads_reserved: false, burndown_reservation: true },
    Reading { cache_reads_reserved: true, burndown_reservation: true },
    Reading { cache_reads_reserved: false, burndown_reservation: false },
    Reading { cache_reads_reserved: true, burndown_reservation: false },
];
