//! From scan data to plain results, one module a step, each only looking down:
//!
//! `select` (filters, per-model views) → `chains` (each stream's requests in order) →
//! `limits` (the max output in effect for each, and the responses a user asked for) →
//! `demand` (what responses wanted, cut ones censored) → `replay` (the chains against a quota
//! at a candidate max output). Nothing here writes prose: the renderers word the results.

pub mod ceiling;
pub mod chains;
pub mod choose;
pub mod demand;
pub mod limits;
pub mod replay;
pub mod retries;
pub mod select;
