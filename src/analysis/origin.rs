//! Where a figure of the advice came from, for the reports to name.

use serde::Serialize;

/// Where a figure came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Given on the command line.
    Flag,
    /// A settings file or the environment (named).
    Settings(String),
    /// The user's own records.
    Records,
    /// Worked out from the history (most responses, peak seen).
    Inferred,
    /// A documented default.
    Default,
    /// A figure of the user's models file (`--models`, or the default one), named.
    ModelsFile(String),
    /// The value most of the model's requests ran at, where no one setting is everyone's
    /// (why, in words).
    MostRequests(String),
}
