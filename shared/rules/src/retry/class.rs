//! The kinds of failure a retry is decided by, spelt as `RETRY_POLICY`, the responses
//! and the `Reason` metric dimension spell them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// An interruption record from the checkpoint store matches the build's agent.
    SpotInterruption,
    /// The agent disconnected or was removed while the build ran.
    AgentLost,
    /// Killed for memory: the kernel OOM killer, a runtime's out-of-memory error, exit 137.
    Oom,
    Timeout,
    /// Network, DNS, registry or disk trouble outside the code under build.
    Infrastructure,
    /// Everything else: test failures, compile errors. Retrying gives the same answer.
    Deterministic,
}

impl FailureClass {
    pub const ALL: [FailureClass; 6] = [
        FailureClass::SpotInterruption,
        FailureClass::AgentLost,
        FailureClass::Oom,
        FailureClass::Timeout,
        FailureClass::Infrastructure,
        FailureClass::Deterministic,
    ];

    /// The spelling in `RETRY_POLICY`, responses and the `Reason` metric dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::SpotInterruption => "spot-interruption",
            FailureClass::AgentLost => "agent-lost",
            FailureClass::Oom => "oom",
            FailureClass::Timeout => "timeout",
            FailureClass::Infrastructure => "infrastructure",
            FailureClass::Deterministic => "deterministic",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
