//! Exit codes: part of the interface (README, `--help`, systemd's RestartPreventExitStatus).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (and, for `detect --once`, no drift).
    Success,
    /// 1: runtime error (cloud, store, I/O), or a deletion failed.
    Runtime,
    /// 2: `detect --once` found drift.
    Drift,
    /// 64 (EX_USAGE): bad command line.
    Usage,
    /// 78 (EX_CONFIG): the policy was refused; nothing was touched.
    Policy,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(match exit {
            Exit::Success => 0,
            Exit::Runtime => 1,
            Exit::Drift => 2,
            Exit::Usage => 64,
            Exit::Policy => 78,
        })
    }
}
