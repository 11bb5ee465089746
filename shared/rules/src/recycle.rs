//! Agent recycling's decisions, apart from the calls that carry them out: which agents of a
//! pool already recycle or are due, how many may start now, in which order, and each
//! one's next step. protect-busy-agents reads the CI server and the groups and makes the
//! calls; fleet-sim can replay the same decisions.
//!
//! An agent that fails what passes elsewhere, loses its builds, runs out of disk or swap,
//! or reached its pool's `max_builds_per_agent` is taken offline with a `recycle: <reason>`
//! reason; once idle its instance is terminated. Never more than the pool's share at once:
//! agents already recycling count against it, the rest wait for a later run.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::health::{
    AgentHealthFacts, FinishedBuild, HealthRules, RecycleReason, assess, is_recycle_offline_reason,
    recycle_budget, recycle_offline_reason,
};
use crate::model::Agent;

/// The agent's offline reason says the CI server's monitors found it out of disk or swap
/// (Jenkins DiskSpaceMonitor/TemporarySpaceMonitor "Disk space is too low…", "Disk space
/// is below threshold…", SwapSpaceMonitor; a TeamCity disable comment saying the same).
pub fn reports_out_of_resources(offline_reason: &str) -> bool {
    let text = offline_reason.to_lowercase();
    [
        "disk space",
        "swap space",
        "no space left",
        "out of disk",
        "out of swap",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The reason a `recycle: …` offline reason names.
pub fn recycle_reason_of(offline_reason: &str) -> Option<RecycleReason> {
    if !is_recycle_offline_reason(offline_reason) {
        return None;
    }
    [
        RecycleReason::FailingBuilds,
        RecycleReason::LostBuilds,
        RecycleReason::OutOfResources,
        RecycleReason::UseLimit,
    ]
    .into_iter()
    .find(|r| recycle_offline_reason(*r) == offline_reason.trim())
}

/// The builds an agent ran since its instance launched, counted run by run: the CI
/// server's history shows each job's last builds only, so the count is remembered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuildCount {
    pub builds: u32,
    /// The finish time of the newest build counted.
    pub counted_until: Option<DateTime<Utc>>,
}

/// Adds the agent's own builds (`own`) that finished after its instance launched
/// (`launched`, when known) and after the newest one already counted.
pub fn count_builds(
    count: BuildCount,
    launched: Option<DateTime<Utc>>,
    own: &[&FinishedBuild],
) -> BuildCount {
    own.iter()
        .filter(|b| {
            launched.is_none_or(|t| b.finished_at > t)
                && count.counted_until.is_none_or(|c| b.finished_at > c)
        })
        .fold(count, |total, build| BuildCount {
            builds: total.builds + 1,
            counted_until: total.counted_until.max(Some(build.finished_at)),
        })
}

/// The history's builds, by the agent that ran them.
pub fn builds_by_agent(history: &[FinishedBuild]) -> HashMap<&str, Vec<&FinishedBuild>> {
    let mut by_agent: HashMap<&str, Vec<&FinishedBuild>> = HashMap::new();
    for build in history {
        by_agent
            .entry(build.agent.as_str())
            .or_default()
            .push(build);
    }
    by_agent
}

/// The order in which due agents get the pool's share: capacity already lost first.
pub fn priority(reason: RecycleReason) -> u8 {
    match reason {
        RecycleReason::OutOfResources => 0,
        RecycleReason::LostBuilds => 1,
        RecycleReason::FailingBuilds => 2,
        RecycleReason::UseLimit => 3,
    }
}

/// One agent of a pool as recycling sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecycleState {
    /// Offline with a `recycle: …` reason.
    Recycling(RecycleReason),
    /// Due for recycling; `offline`: the CI server already took it out (disk, swap).
    Due {
        reason: RecycleReason,
        offline: bool,
    },
}

impl RecycleState {
    pub fn reason(self) -> RecycleReason {
        match self {
            RecycleState::Recycling(reason) | RecycleState::Due { reason, .. } => reason,
        }
    }
}

/// What is known about one registered agent of a pool at this run.
#[derive(Debug, Clone, Copy)]
pub struct RecycleFacts<'a> {
    pub agent: &'a Agent,
    /// Every known finished build, of every agent.
    pub history: &'a [FinishedBuild],
    /// When the agent's instance launched, if known.
    pub launched: Option<DateTime<Utc>>,
    pub builds_since_launch: u32,
    pub max_builds: Option<u32>,
}

/// Whether the agent recycles already, is due, or neither (`None`). An agent offline for
/// someone else's reason (a drain, a person) is theirs to end, unless the CI server took
/// it out for lack of disk or swap.
pub fn recycle_state(
    facts: &RecycleFacts<'_>,
    rules: HealthRules,
    now: DateTime<Utc>,
) -> Option<RecycleState> {
    let agent = facts.agent;
    if let Some(reason) = recycle_reason_of(&agent.offline_reason)
        && !agent.accepting_tasks
    {
        return Some(RecycleState::Recycling(reason));
    }
    let out_of_resources = !agent.is_capacity() && reports_out_of_resources(&agent.offline_reason);
    if !agent.accepting_tasks && !out_of_resources {
        return None;
    }
    let health = AgentHealthFacts {
        agent: &agent.name,
        history: &history_of_this_instance(facts),
        out_of_resources,
        builds_since_launch: facts.builds_since_launch,
        max_builds: facts.max_builds,
    };
    assess(&health, rules, now).map(|reason| RecycleState::Due {
        reason,
        offline: !agent.accepting_tasks,
    })
}

/// The history without the agent's builds from before its instance launched: a name
/// reused by a new instance (DNS naming) starts with a clean record.
fn history_of_this_instance<'a>(facts: &RecycleFacts<'a>) -> Cow<'a, [FinishedBuild]> {
    let before_launch = |b: &FinishedBuild| {
        b.agent == facts.agent.name && facts.launched.is_some_and(|t| b.finished_at <= t)
    };
    if facts.history.iter().any(before_launch) {
        Cow::Owned(
            facts
                .history
                .iter()
                .filter(|b| !before_launch(b))
                .cloned()
                .collect(),
        )
    } else {
        Cow::Borrowed(facts.history)
    }
}

/// What happens to one recycling agent at this run (the `step` of the response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecycleStep {
    /// Taken offline now; replaced once its build ends.
    TakenOffline,
    /// Offline for recycling and idle: its instance was terminated.
    Replaced,
    /// Offline for recycling, its build still running.
    Waiting,
    /// Due, but the pool's share is used up: a later run takes it.
    Deferred,
}

/// An agent of a pool that recycles or is due, on the instance it runs on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate<'a> {
    pub instance_id: &'a str,
    pub agent: &'a Agent,
    pub state: RecycleState,
}

/// A candidate with the step it takes now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned<'a> {
    pub candidate: Candidate<'a>,
    pub step: RecycleStep,
}

/// The pool's candidates in the order they act, each with its step: agents already
/// recycling first (replaced once idle), then the due ones by `priority` while the
/// share (`max_share` of `in_service`, at least one) lasts. A due agent still taking
/// work is taken offline and replaced on a later reading (a build may have started since
/// the snapshot); one the CI server already took out is replaced once idle.
pub fn plan_recycling<'a>(
    mut candidates: Vec<Candidate<'a>>,
    in_service: usize,
    max_share: f64,
) -> Vec<Planned<'a>> {
    let recycling = candidates
        .iter()
        .filter(|c| matches!(c.state, RecycleState::Recycling(_)))
        .count();
    let mut budget = recycle_budget(in_service, recycling, max_share);
    candidates.sort_by_key(|c| match c.state {
        RecycleState::Recycling(_) => (0, 0, c.instance_id),
        RecycleState::Due { reason, .. } => (1, priority(reason), c.instance_id),
    });
    let replaced_once_idle = |agent: &Agent| match agent.busy_executors {
        0 => RecycleStep::Replaced,
        _ => RecycleStep::Waiting,
    };
    candidates
        .into_iter()
        .map(|candidate| {
            let step = match candidate.state {
                RecycleState::Recycling(_) => replaced_once_idle(candidate.agent),
                RecycleState::Due { .. } if budget == 0 => RecycleStep::Deferred,
                RecycleState::Due { offline, .. } => {
                    budget -= 1;
                    if offline {
                        replaced_once_idle(candidate.agent)
                    } else {
                        RecycleStep::TakenOffline
                    }
                }
            };
            Planned { candidate, step }
        })
        .collect()
}

/// Whether replacing an instance lowers the group's desired capacity: when nothing is
/// queued and the group stays at or above its minimum. A queued build keeps it, so the
/// group launches a replacement.
pub fn shrinks_group(queued_builds: u32, desired_capacity: i32, min_size: i32) -> bool {
    queued_builds == 0 && desired_capacity > min_size
}

#[cfg(test)]
mod tests;
