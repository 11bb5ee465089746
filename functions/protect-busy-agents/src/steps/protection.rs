//! Scale-in protection, pool by pool: busy agents' instances, agents that just went idle
//! and instances still booting are protected; the rest are released. The decision is
//! `rules::protection::protect_pool`, the step fleet-sim replays; this module reads the
//! views it needs, remembers idle-since for the next run, and makes the calls.

use chrono::{DateTime, Utc};
use rules::protection::{AgentView, InstanceView, Reason, protect_pool};
use rules::{Agent, Datum, Pool, Unit};
use serde::Serialize;
use shared::ports::Ports;
use shared::ports::groups::{Group, GroupInstance};

use crate::config::ProtectConfig;
use crate::memory::{InstanceMemory, Memory};
use crate::steps::observe::{Remembered, Seen, in_service};
use crate::steps::run_log::RunLog;

#[derive(Debug, Default)]
pub struct Protection {
    pub pools: Vec<PoolReport>,
    pub set_instance_protection_calls: usize,
}

#[derive(Debug, Serialize)]
pub struct PoolReport {
    pub pool: String,
    pub group: String,
    pub in_service: usize,
    pub protected: usize,
    pub protect: Vec<Change>,
    pub unprotect: Vec<Change>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub instance_id: String,
    pub reason: Reason,
}

pub async fn protect(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    remembered: &mut Remembered,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Protection {
    let mut protection = Protection::default();
    for pool in &config.pools {
        let Some(group) = seen.group(&pool.spec.asg) else {
            log.problem(format!(
                "pool {}: Auto Scaling group {} not found",
                pool.name(),
                pool.spec.asg
            ));
            continue;
        };
        let (report, launched) =
            decide_pool(config, seen, pool, group, &mut remembered.memory, now);
        let changes = apply(ports, &report, &mut protection, log).await;
        let count = |name, value: usize| {
            Datum::new(name, value as f64, Unit::Count, now).with_dimension("Pool", pool.name())
        };
        // Instances seen for the first time: the budget alarm counts launches per hour.
        if remembered.loaded {
            log.count(count("InstancesLaunched", launched));
        }
        log.count(count("ProtectedInstances", report.protected));
        log.count(count("ProtectionChanges", changes));
        protection.pools.push(report);
    }
    protection
}

/// The pool's protection at this run, and how many of its instances were seen for the
/// first time. Updates each InService instance's memory for the next run.
fn decide_pool(
    config: &ProtectConfig,
    seen: &Seen,
    pool: &Pool,
    group: &Group,
    memory: &mut Memory,
    now: DateTime<Utc>,
) -> (PoolReport, usize) {
    let mut report = PoolReport {
        pool: pool.name().to_owned(),
        group: group.name.clone(),
        in_service: 0,
        protected: 0,
        protect: vec![],
        unprotect: vec![],
    };
    let mut launched = 0;
    let mut views: Vec<(&GroupInstance, InstanceView)> = Vec::new();
    for instance in &group.instances {
        if !in_service(instance) {
            report.protected += usize::from(instance.protected_from_scale_in);
            continue;
        }
        launched += usize::from(!memory.instances.contains_key(&instance.instance_id));
        let remembered = memory
            .instances
            .entry(instance.instance_id.clone())
            .or_insert_with(|| InstanceMemory::first_seen_at(now));
        views.push((
            instance,
            view_of_instance(config, seen, instance, remembered),
        ));
    }
    report.in_service = views.len();
    let decided = protect_pool(views.iter().map(|(_, view)| view), config.graces, now);
    report.protected += decided.protected;
    for ((instance, view), step) in views.iter().zip(&decided.steps) {
        if let Some(remembered) = memory.instances.get_mut(&instance.instance_id) {
            remembered.idle_since = step.idle_since;
            // An unknown reading keeps what the last known one said.
            if !matches!(view.agent, AgentView::Unknown { .. }) {
                remembered.busy = view.agent == AgentView::Busy;
            }
        }
    }
    for (index, step) in decided.changes() {
        let Some((instance, _)) = views.get(index) else {
            continue;
        };
        let change = Change {
            instance_id: instance.instance_id.clone(),
            reason: step.verdict.reason,
        };
        if step.verdict.protect {
            report.protect.push(change);
        } else {
            report.unprotect.push(change);
        }
    }
    (report, launched)
}

fn view_of_instance(
    config: &ProtectConfig,
    seen: &Seen,
    instance: &GroupInstance,
    remembered: &InstanceMemory,
) -> InstanceView {
    let unknown = AgentView::Unknown {
        busy_at_last_reading: remembered.busy,
    };
    // Agents named by DNS name or tag need the instance's details to be found at all:
    // without them (DescribeInstances throttled or denied) the agent is unknown, not
    // "never registered" (which would unprotect a busy instance past boot grace).
    let unnamed = config.agent_names.needs_instance_details()
        && !seen.details.contains_key(&instance.instance_id);
    let agent = match &seen.snapshot {
        None => unknown,
        Some(_) if unnamed => unknown,
        Some(_) => view_of(seen.agent_on(&config.agent_names, &instance.instance_id)),
    };
    InstanceView {
        protected: instance.protected_from_scale_in,
        since: seen
            .details
            .get(&instance.instance_id)
            .and_then(|i| i.launch_time)
            .unwrap_or(remembered.first_seen),
        agent,
        idle_since: remembered.idle_since,
    }
}

fn view_of(agent: Option<&Agent>) -> AgentView {
    match agent {
        None => AgentView::NotRegistered,
        Some(a) if !a.connected => AgentView::NotRegistered,
        Some(a) if !a.accepting_tasks => AgentView::Offline,
        Some(a) if a.busy_executors > 0 => AgentView::Busy,
        Some(_) => AgentView::Idle,
    }
}

/// One SetInstanceProtection call per group, direction and 50 ids; returns the changes made.
async fn apply(
    ports: &Ports,
    report: &PoolReport,
    protection: &mut Protection,
    log: &mut RunLog,
) -> usize {
    let mut changed = 0;
    for (protect, changes) in [(true, &report.protect), (false, &report.unprotect)] {
        if changes.is_empty() {
            continue;
        }
        let ids: Vec<String> = changes.iter().map(|c| c.instance_id.clone()).collect();
        match ports
            .groups
            .set_protection(&report.group, &ids, protect)
            .await
        {
            Ok(calls) => {
                protection.set_instance_protection_calls += calls;
                changed += ids.len();
                tracing::info!(pool = %report.pool, protect, instances = ?ids, "scale-in protection changed");
            }
            Err(e) => log.problem(e.to_string()),
        }
    }
    changed
}

#[cfg(test)]
mod tests;
