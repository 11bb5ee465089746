//! Agent recycling, carried out: the rules (`rules::recycle`) say which agents are due and
//! what each does now; this step reads the build history, takes due agents offline with a
//! `recycle: <reason>` reason, and terminates idle recycled instances through the group —
//! keeping the desired capacity (a replacement is launched) while the pool has queued
//! builds, decrementing it when not. Their running builds finish first: protection drops
//! offline agents and the drain hook keeps the build safe.
//!
//! Never on unknown data: without both the CI snapshot and the build history nothing is
//! recycled.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rules::health::{FinishedBuild, RecycleReason, recycle_offline_reason};
use rules::recycle::{
    Candidate, Planned, RecycleFacts, RecycleStep, builds_by_agent, count_builds, plan_recycling,
    recycle_state, shrinks_group,
};
use rules::{Datum, Pool, Unit, compute_workloads};
use serde::Serialize;
use shared::ports::Ports;
use shared::ports::groups::Group;

use crate::config::ProtectConfig;
use crate::memory::{InstanceMemory, Memory};
use crate::steps::observe::{Seen, in_service};
use crate::steps::run_log::RunLog;

#[derive(Debug, Default, Serialize)]
pub struct RecycleReport {
    pub status: RecycleStatus,
    /// Why nothing was checked (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub recycles: Vec<Recycle>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecycleStatus {
    /// `RECYCLE=false`.
    #[default]
    Disabled,
    Checked,
    /// The CI state or the build history is unknown: nothing recycled.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recycle {
    pub pool: String,
    pub instance_id: String,
    pub agent: String,
    pub reason: RecycleReason,
    pub step: RecycleStep,
    /// For `replaced`: whether the group's desired capacity went down with it (no
    /// queued builds) or a replacement is launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrement_desired_capacity: Option<bool>,
}

impl RecycleReport {
    pub(crate) fn skipped(reason: String) -> RecycleReport {
        RecycleReport {
            status: RecycleStatus::Skipped,
            reason: Some(reason),
            recycles: vec![],
        }
    }
}

pub async fn recycle(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    memory: &mut Memory,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> RecycleReport {
    if !config.recycle.enabled {
        return RecycleReport::default();
    }
    let Some(snapshot) = &seen.snapshot else {
        return RecycleReport::skipped("CI state unknown: nothing recycled".into());
    };
    // TeamCity's finished builds name their agent; Jenkins' are the run ledger's.
    let history = match ports.ci.recent_builds().await {
        Ok(mut history) => {
            history.extend(memory.ledger.finished_builds());
            history
        }
        Err(e) => {
            tracing::error!(error = %e, "build history unknown: nothing recycled");
            log.problem(format!("build history: {e}"));
            return RecycleReport::skipped(format!(
                "build history unknown: nothing recycled ({e})"
            ));
        }
    };
    let mut report = RecycleReport {
        status: RecycleStatus::Checked,
        ..RecycleReport::default()
    };
    let workloads = compute_workloads(&config.pools, snapshot, now);
    let mut pool_reader = PoolReader {
        config,
        seen,
        history: &history,
        by_agent: builds_by_agent(&history),
        handled: HashSet::new(),
    };
    for (index, pool) in config.pools.iter().enumerate() {
        let Some(group) = seen.group(&pool.spec.asg) else {
            continue;
        };
        let candidates = pool_reader.candidates(pool, group, memory, now);
        let in_service = group.instances.iter().filter(|i| in_service(i)).count();
        let plan = plan_recycling(candidates, in_service, config.recycle.max_share);
        let queued = workloads.pools.get(index).map_or(0, |w| w.queued_builds);
        let mut pool_run = PoolRun {
            ports,
            pool,
            group,
            queued,
            desired_capacity: group.desired_capacity,
            replaced: BTreeMap::new(),
        };
        for planned in plan {
            if let Some(recycle) = pool_run.carry_out(planned, log).await {
                report.recycles.push(recycle);
            }
        }
        pool_run.record_counts(now, log);
    }
    report
}

/// Reads the pools' agents against the build history, each instance once (pools may
/// share a group).
struct PoolReader<'a> {
    config: &'a ProtectConfig,
    seen: &'a Seen,
    history: &'a [FinishedBuild],
    by_agent: HashMap<&'a str, Vec<&'a FinishedBuild>>,
    handled: HashSet<&'a str>,
}

impl<'a> PoolReader<'a> {
    /// The pool's agents that recycle or are due. Counts every agent's builds since
    /// launch on the way (the use limit), in its instance's memory.
    fn candidates(
        &mut self,
        pool: &Pool,
        group: &'a Group,
        memory: &mut Memory,
        now: DateTime<Utc>,
    ) -> Vec<Candidate<'a>> {
        let mut candidates = Vec::new();
        for instance in &group.instances {
            if !in_service(instance) || !self.handled.insert(instance.instance_id.as_str()) {
                continue;
            }
            let seen = self.seen;
            let Some(agent) = seen.agent_on(&self.config.agent_names, &instance.instance_id) else {
                continue;
            };
            // Unknown launch time (instance-id naming, EC2 not asked): the name is the
            // instance's own, so every build under it is this instance's.
            let launched = seen
                .details
                .get(&instance.instance_id)
                .and_then(|i| i.launch_time);
            let own = self
                .by_agent
                .get(agent.name.as_str())
                .map_or(&[][..], Vec::as_slice);
            let remembered = memory
                .instances
                .entry(instance.instance_id.clone())
                .or_insert_with(|| InstanceMemory::first_seen_at(now));
            let count = count_builds(remembered.build_count(), launched, own);
            remembered.remember_build_count(count);
            let facts = RecycleFacts {
                agent,
                history: self.history,
                launched,
                builds_since_launch: count.builds,
                max_builds: pool.spec.max_builds_per_agent,
            };
            if let Some(state) = recycle_state(&facts, self.config.recycle.rules, now) {
                candidates.push(Candidate {
                    instance_id: &instance.instance_id,
                    agent,
                    state,
                });
            }
        }
        candidates
    }
}

/// One pool's recycling calls and what they replaced.
struct PoolRun<'a> {
    ports: &'a Ports,
    pool: &'a Pool,
    group: &'a Group,
    /// Builds queued for the pool: a replacement is launched while there are any.
    queued: u32,
    /// The group's desired capacity after this run's replacements so far.
    desired_capacity: i32,
    /// Instances replaced, by reason.
    replaced: BTreeMap<&'static str, usize>,
}

impl PoolRun<'_> {
    /// Takes the planned step; what was done, or `None` when its call failed (logged).
    async fn carry_out(&mut self, planned: Planned<'_>, log: &mut RunLog) -> Option<Recycle> {
        let Planned { candidate, step } = planned;
        let pool = self.pool;
        let done = |decrement| Recycle {
            pool: pool.name().to_owned(),
            instance_id: candidate.instance_id.to_owned(),
            agent: candidate.agent.name.clone(),
            reason: candidate.state.reason(),
            step,
            decrement_desired_capacity: decrement,
        };
        match step {
            RecycleStep::Deferred | RecycleStep::Waiting => Some(done(None)),
            RecycleStep::TakenOffline => {
                self.take_offline(candidate, log).await.then(|| done(None))
            }
            RecycleStep::Replaced => self.replace(candidate, log).await.map(|d| done(Some(d))),
        }
    }

    /// Whether the agent was taken offline. Replaced on a later reading: a build may
    /// have started since the snapshot.
    async fn take_offline(&self, candidate: Candidate<'_>, log: &mut RunLog) -> bool {
        let (agent, reason) = (&candidate.agent.name, candidate.state.reason());
        let text = recycle_offline_reason(reason);
        match self.ports.ci.take_offline(agent, &text).await {
            Ok(change) => {
                tracing::info!(pool = %self.pool.name(), instance = candidate.instance_id, agent = %agent, reason = reason.as_str(), ?change, "recycling: agent taken offline");
                true
            }
            Err(e) => {
                log.problem(format!("recycle {agent}: {e}"));
                false
            }
        }
    }

    /// Terminates the instance; whether the desired capacity went down with it, `None`
    /// when the call failed.
    async fn replace(&mut self, candidate: Candidate<'_>, log: &mut RunLog) -> Option<bool> {
        let (instance_id, reason) = (candidate.instance_id, candidate.state.reason());
        let decrement = shrinks_group(self.queued, self.desired_capacity, self.group.min_size);
        match self.ports.groups.terminate(instance_id, decrement).await {
            Ok(()) => {
                tracing::info!(pool = %self.pool.name(), instance = instance_id, agent = %candidate.agent.name, reason = reason.as_str(), decrement, "recycling: instance terminated");
                if decrement {
                    self.desired_capacity -= 1;
                }
                *self.replaced.entry(reason.as_str()).or_default() += 1;
                Some(decrement)
            }
            Err(e) => {
                log.problem(format!("recycle {instance_id}: {e}"));
                None
            }
        }
    }

    /// `AgentsRecycled` for the pool, and by reason.
    fn record_counts(&self, now: DateTime<Utc>, log: &mut RunLog) {
        let total: usize = self.replaced.values().sum();
        log.count(
            Datum::new("AgentsRecycled", total as f64, Unit::Count, now)
                .with_dimension("Pool", self.pool.name()),
        );
        for (reason, count) in &self.replaced {
            log.count(
                Datum::new("AgentsRecycled", *count as f64, Unit::Count, now)
                    .with_dimension("Pool", self.pool.name())
                    .with_dimension("Reason", *reason),
            );
        }
    }
}

#[cfg(test)]
mod tests;
