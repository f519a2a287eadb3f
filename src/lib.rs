//! ccdoctor: reads what Claude Code leaves on disk, counts the 429s and output-limit errors,
//! measures real response sizes, and (later) recommends a `CLAUDE_CODE_MAX_OUTPUT_TOKENS`.
//!
//! The binary is a thin shell over [`run`]; everything else is plain functions over plain
//! data: `scan` reads, `report` computes, `render` writes.

pub mod analysis;
pub mod app;
pub mod cli;
pub mod config;
pub mod estimate;
pub mod exit_codes;
pub mod jsparse;
pub mod memory;
pub mod models;
pub mod open;
pub mod otel;
pub mod par;
pub mod progress;
pub mod reading;
pub mod redact;
pub mod render;
pub mod report;
pub mod scan;
pub mod settings;
pub mod stats;
pub mod text;
pub mod time;
pub mod warning;

pub use app::run;
