//! The simulated world in one place: the clock, the tables every actor reads, the CI
//! server's snapshot, and the tallies. The actors (arrivals, ci, group, publisher, alarms,
//! policies, protection, drains, spot) are modules of functions over it.

use rules::protection::Graces;
use rules::{CiSnapshot, Pool};

use crate::rng::Rng;

use super::clock::{Clock, OVERRUN_MS};
use super::environment::{Environment, PolicyKind};
use super::event::Attempt;
use super::ids::{BuildIx, InstanceIx, LabelIx, PoolIx, Table};
use super::outcome::Outcome;
use super::state::{BuildRun, Instance, LabelRun, PoolRun};

pub struct World<'a> {
    pub env: &'a Environment,
    pub kind: PolicyKind,
    pub clock: Clock,
    /// One stream for everything the world draws (agent picks, boots, terminations,
    /// interruptions), separate from the workload's.
    pub rng: Rng,
    pub builds: Table<BuildIx, BuildRun>,
    pub instances: Table<InstanceIx, Instance>,
    pub pools: Table<PoolIx, PoolRun>,
    pub labels: Table<LabelIx, LabelRun>,
    pub ci: CiServer,
    /// protect-busy-agents' graces and the drain hook's heartbeat timeout (pool.yaml).
    pub graces: Graces,
    pub heartbeat_timeout_seconds: u32,
    pub out: Outcome,
    /// Builds not finished yet, and when the last one finished.
    pub unfinished: usize,
    pub last_finish: u64,
    pub polls: u64,
    pub launches_by_hour: Vec<u32>,
}

/// What the CI server's API shows publish-workload: agents and queue, kept in step with
/// the instances and builds. Started builds leave the queue lazily, at the next poll.
#[derive(Default)]
pub struct CiServer {
    pub snapshot: CiSnapshot,
    /// The instance of each snapshot agent.
    pub agent_owner: Vec<InstanceIx>,
    /// The build and attempt of each snapshot queue entry.
    pub queue_owner: Vec<(BuildIx, Attempt)>,
    /// The pools as publish-workload is configured with them (POOLS).
    pub pools: Vec<Pool>,
}

impl World<'_> {
    /// Periodic work continues until the day is over and every build has finished, or
    /// a day after that: a build nothing will ever run (a starved queue) ends the run
    /// with its wait counted to the end.
    pub fn running(&self) -> bool {
        let now = self.clock.now;
        let horizon = self.clock.horizon_ms;
        now < horizon || (self.unfinished > 0 && now < horizon + OVERRUN_MS)
    }
}
