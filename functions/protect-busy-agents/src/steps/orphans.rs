//! Terminations nobody handles. Our hook's action waits (`Terminating:Wait`, or
//! `Warmed:Pending:Wait` towards a warm pool) with no drain recorded, because its event
//! never reached handle-interruption or failed there for good (delivery retries used up,
//! Lambda's retries used up, a rule disabled by hand). Left alone, the hook's timeout
//! would end the build. After a grace that lets the event arrive, this run does what
//! handle-interruption would have done: the agent offline, the action completed when the
//! agent is idle, else a drain recorded, which the next runs keep alive and finish.
//! Unknown (the CI server or the agent's name unreadable) is busy.

use chrono::{DateTime, Utc};
use rules::drain::{DRAIN_REASON, DrainRecord, WARM_POOL_DRAIN_REASON, drain_key};
use rules::{Datum, Pool, Unit};
use serde::Serialize;
use shared::ports::Ports;
use shared::ports::groups::{Completion, GroupInstance, LifecycleAction};
use shared::{Error, Result};

use crate::config::ProtectConfig;
use crate::memory::{InstanceMemory, Memory};
use crate::steps::drains::DrainReport;
use crate::steps::observe::Seen;
use crate::steps::run_log::RunLog;

/// What taking over an orphaned action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Adopted {
    /// The agent was idle (or there is none): the action is completed.
    Completed,
    /// The agent is busy or unknown: a drain is recorded.
    DrainRecorded,
}

#[derive(Debug, Serialize)]
pub struct OrphanReport {
    pub instance_id: String,
    pub pool: String,
    pub adopted: Adopted,
}

/// The states in which an instance waits for terminate hooks.
fn waits_for_terminate_hooks(instance: &GroupInstance) -> bool {
    matches!(
        instance.lifecycle_state.as_str(),
        "Terminating:Wait" | "Warmed:Pending:Wait"
    )
}

pub async fn adopt_orphans(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    drains: &[DrainReport],
    memory: &mut Memory,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<OrphanReport> {
    let mut reports = Vec::new();
    for pool in &config.pools {
        let Some(group) = seen.group(&pool.spec.asg) else {
            continue;
        };
        // Our hook's timeout, read once for the group and only when an orphan needs it.
        let mut our_hook: Option<Option<u32>> = None;
        for instance in group
            .instances
            .iter()
            .filter(|i| waits_for_terminate_hooks(i))
        {
            let covered = drains.iter().any(|d| d.instance_id == instance.instance_id);
            let remembered = (memory.instances)
                .entry(instance.instance_id.clone())
                .or_insert_with(|| InstanceMemory::first_seen_at(now));
            if covered || remembered.adopted {
                continue;
            }
            let since = *remembered.waiting_since.get_or_insert(now);
            if (now - since).to_std().unwrap_or_default() < config.orphans.grace {
                continue;
            }
            if our_hook.is_none() {
                let hook = &config.orphans.hook;
                match ports.groups.hook_heartbeat_timeout(&group.name, hook).await {
                    Ok(timeout) => our_hook = Some(timeout),
                    Err(e) => {
                        log.problem(format!("orphaned actions of {}: {e}", group.name));
                        break;
                    }
                }
            }
            // No hook of ours on the group: the wait is another hook's.
            let Some(heartbeat_timeout) = our_hook.flatten() else {
                break;
            };
            match adopt(ports, config, seen, pool, instance, heartbeat_timeout, now).await {
                Ok(Some(adopted)) => {
                    remembered.adopted = true;
                    tracing::warn!(instance = %instance.instance_id, pool = pool.name(), ?adopted, "a terminate action no event handled, taken over");
                    log.count(
                        Datum::new("OrphanedActionsAdopted", 1.0, Unit::Count, now)
                            .with_dimension("Pool", pool.name()),
                    );
                    reports.push(OrphanReport {
                        instance_id: instance.instance_id.clone(),
                        pool: pool.name().to_owned(),
                        adopted,
                    });
                }
                Ok(None) => {}
                Err(e) => log.problem(format!("orphaned action of {}: {e}", instance.instance_id)),
            }
        }
    }
    reports
}

/// `None`: the action ended meanwhile.
async fn adopt(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    pool: &Pool,
    instance: &GroupInstance,
    heartbeat_timeout: u32,
    now: DateTime<Utc>,
) -> Result<Option<Adopted>> {
    let hook = &config.orphans.hook;
    let id = &instance.instance_id;
    let details = seen.details.get(id);
    let names = config.agent_names.agent_names(id, details);
    let reason = match instance.lifecycle_state.as_str() {
        "Warmed:Pending:Wait" => WARM_POOL_DRAIN_REASON,
        _ => DRAIN_REASON,
    };
    let idle = match (&seen.snapshot, seen.agent_on(&config.agent_names, id)) {
        (None, _) => false,
        (Some(_), None) => !names.is_empty(),
        (Some(_), Some(agent)) => {
            ports.ci.take_offline(&agent.name, reason).await?;
            ports.ci.agent_busy(&agent.name).await? != Some(true)
        }
    };
    let action = LifecycleAction {
        group: instance.group.clone(),
        hook: hook.clone(),
        instance_id: id.clone(),
        token: None,
    };
    if idle {
        ports.groups.complete_lifecycle_action(&action).await?;
        return Ok(Some(Adopted::Completed));
    }
    // The action has waited a while already: its timer starts again now.
    if ports.groups.record_heartbeat(&action).await? == Completion::NoLongerPending {
        return Ok(None);
    }
    let deadline = chrono::Duration::from_std(config.orphans.drain_timeout).unwrap_or_default();
    let record = DrainRecord {
        instance_id: id.clone(),
        pool: pool.name().to_owned(),
        group: action.group,
        hook: action.hook,
        token: None,
        agent_names: names,
        started_at: now,
        deadline: now.checked_add_signed(deadline).unwrap_or(now),
        heartbeat_timeout_seconds: heartbeat_timeout,
        last_heartbeat_at: now,
    };
    let body = serde_json::to_vec(&record).map_err(|e| Error::Failed(e.to_string()))?;
    ports.store.put(&drain_key(id), body).await?;
    Ok(Some(Adopted::DrainRecorded))
}

#[cfg(test)]
mod tests;
