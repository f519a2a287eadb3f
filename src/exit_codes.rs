//! Exit statuses (documented in the README).

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The scan finished (even if some lines or files could not be read).
    Success,
    /// The run did what it was asked whatever becomes of its output (a settings file was
    /// changed by `apply`/`revert`; `check --hook` answered): a print that fails afterwards
    /// is not a failure.
    Changed,
    /// An unexpected failure (for example stdout closed mid-report).
    Failure,
    /// A usage error, or nothing could be read.
    Usage,
    /// `check`: the max output in effect is not safe for the recorded load.
    Unsafe,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(match c {
            ExitCode::Success | ExitCode::Changed => 0,
            ExitCode::Failure | ExitCode::Unsafe => 1,
            ExitCode::Usage => 2,
        })
    }
}
