//! The records the actors share: builds, instances (with their agents), pools and the
//! label queues.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use rules::drain::DrainRecord;
use rules::{Demand, Pool};

use crate::alarm::Alarm;
use crate::scaling::StepPolicy;

use super::event::{Attempt, Direction};
use super::ids::{BuildIx, InstanceIx, LabelIx, PoolIx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    NotArrived,
    Queued,
    Running(InstanceIx),
    /// Killed with its instance; advise-retry re-queues it shortly.
    Retrying,
    Done,
}

#[derive(Debug, Clone)]
pub struct BuildRun {
    pub duration_ms: u64,
    pub label: LabelIx,
    pub state: BuildState,
    pub enqueued_at: u64,
    pub attempt: Attempt,
    pub attempt_started: u64,
    /// Test work its checkpoint has kept over the killed attempts.
    pub checkpointed_ms: u64,
    pub wait_ms: u64,
    pub finishes: u32,
    pub redone_spot_ms: u64,
    pub redone_tests_spot_ms: u64,
    pub killed_by_spot: bool,
}

impl BuildRun {
    pub fn new(duration_ms: u64, label: LabelIx) -> BuildRun {
        BuildRun {
            duration_ms,
            label,
            state: BuildState::NotArrived,
            enqueued_at: 0,
            attempt: 0,
            attempt_started: 0,
            checkpointed_ms: 0,
            wait_ms: 0,
            finishes: 0,
            redone_spot_ms: 0,
            redone_tests_spot_ms: 0,
            killed_by_spot: false,
        }
    }
}

/// The instance's lifecycle state in its Auto Scaling group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    Pending,
    InService,
    Terminating,
    Terminated,
}

/// Why an instance went with its builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    ScaleIn,
    Spot,
}

/// The agent on an instance, as the CI server sees it.
#[derive(Debug, Clone, Default)]
pub struct AgentRun {
    pub registered: bool,
    /// Taken offline (a drain, a spot notice): it takes no new builds.
    pub offline: bool,
    pub running: Vec<BuildIx>,
    /// Where it sits in the CI snapshot's agent list while registered.
    pub slot: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub pool: PoolIx,
    pub spot: bool,
    pub launched_at: u64,
    /// When its warm-up ends (scale-out counts it as current capacity from then).
    pub warm_at: u64,
    pub state: InstanceState,
    pub agent: AgentRun,
    pub protected: bool,
    /// protect-busy-agents' memory of when the agent went idle.
    pub idle_since: Option<DateTime<Utc>>,
    pub drain: Option<DrainRecord>,
    pub heartbeats: u32,
    pub terminated_at: Option<u64>,
}

/// One pool: its CI pool, its Auto Scaling group and the group's alarms and policies.
pub struct PoolRun {
    pub pool: Pool,
    /// The labels its agents carry.
    pub agent_labels: Vec<String>,
    /// Labels whose builds its agents can run.
    pub labels: Vec<LabelIx>,
    pub desired: u32,
    pub min: u32,
    pub max: u32,
    /// Instances launched and not yet terminated, in launch order.
    pub active: Vec<InstanceIx>,
    pub out_alarm: Option<Alarm>,
    pub in_alarm: Option<Alarm>,
    pub out_policy: StepPolicy,
    pub in_policy: StepPolicy,
}

impl PoolRun {
    pub fn alarm_mut(&mut self, direction: Direction) -> Option<&mut Alarm> {
        match direction {
            Direction::ScaleOut => self.out_alarm.as_mut(),
            Direction::ScaleIn => self.in_alarm.as_mut(),
        }
    }

    pub fn policy(&self, direction: Direction) -> &StepPolicy {
        match direction {
            Direction::ScaleOut => &self.out_policy,
            Direction::ScaleIn => &self.in_policy,
        }
    }
}

/// A label expression's CI queue and the pools that can run its builds.
pub struct LabelRun {
    pub demand: Demand,
    pub queue: VecDeque<BuildIx>,
    pub pools: Vec<PoolIx>,
}
