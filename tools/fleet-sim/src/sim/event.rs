//! Everything that can happen in the simulated world, each handled by one actor.

use super::ids::{BuildIx, InstanceIx, PoolIx};

/// Which of a pool's two alarms, and the policy it invokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    ScaleOut,
    ScaleIn,
}

/// A build's attempt number: a finish scheduled for an attempt that was killed is stale.
pub type Attempt = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// The workload's build reaches the CI queue.
    Arrival(BuildIx),
    /// advise-retry re-queues a build killed with its instance.
    Retry(BuildIx),
    Finish(BuildIx, Attempt),
    InService(InstanceIx),
    /// The instance has booted and its agent registers with the CI server.
    Registered(InstanceIx),
    /// publish-workload reads the CI server.
    Poll,
    AlarmEvaluation(PoolIx, Direction),
    /// protect-busy-agents' scheduled run.
    ProtectRun,
    /// handle-interruption receives the terminate lifecycle action.
    HookHandled(InstanceIx),
    /// The lifecycle action expires unless it was heartbeated after the given count.
    HookTimeout(InstanceIx, u32),
    SpotNotice(InstanceIx),
    SpotOffline(InstanceIx),
    SpotTerminate(InstanceIx),
}
