//! From scan data to plain results, one module a step: `select` (filters, per-model views).
//! Nothing here writes prose: the renderers word the results.

pub mod select;
