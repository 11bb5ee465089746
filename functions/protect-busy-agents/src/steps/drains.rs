//! Pending drains, kept alive and finished: a terminating instance whose agent was busy
//! waits in its lifecycle hook (handle-interruption recorded the drain in S3). Each run
//! first heartbeats every drain due, before anything else can fail or take the time, then
//! completes the drains whose build ended or whose deadline passed
//! (`rules::drain::next_step` decides both). Unknown CI state completes nothing but
//! deadlines. A drain whose action ended elsewhere (the instance vanished, completed by
//! hand) is forgotten when Auto Scaling says so.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rules::drain::{DRAIN_REASON, DrainAgent, DrainRecord, DrainStep, next_step};
use rules::{CiSnapshot, Datum, Unit};
use serde::Serialize;
use shared::ports::Ports;
use shared::ports::groups::{Completion, LifecycleAction};
use shared::{Error, Result};

use crate::steps::observe::Seen;
use crate::steps::run_log::RunLog;

#[derive(Debug, Serialize)]
pub struct DrainReport {
    pub instance_id: String,
    pub pool: String,
    pub step: DrainStep,
    pub drain_seconds: f64,
}

/// A drain record and the key it is stored under.
pub struct Pending {
    key: String,
    record: DrainRecord,
    /// Heartbeated by this run already.
    heartbeated: bool,
}

/// First in every run, before anything that reads the CI server or the groups can fail
/// or eat the run's time: the heartbeats due, whatever the builds' state (unknown is kept
/// alive). A drain whose action ended elsewhere is forgotten here. The records still
/// pending go on to `finish_drains`.
pub async fn keep_drains_alive(
    ports: &Ports,
    run_every: Duration,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<Pending> {
    let keys = match ports.store.list("drains/").await {
        Ok(keys) => keys,
        Err(e) => {
            log.problem(format!("drain records: {e}"));
            return vec![];
        }
    };
    let mut pending = Vec::new();
    for key in keys {
        let Some(record) = read_record(ports, &key, log).await else {
            continue;
        };
        let mut drain = Pending {
            key,
            record,
            heartbeated: false,
        };
        if next_step(&drain.record, DrainAgent::Unknown, now, run_every) == DrainStep::Heartbeat {
            match drain.heartbeat(ports, now).await {
                Ok(true) => drain.heartbeated = true,
                Ok(false) => continue,
                Err(e) => log.problem(format!("drain of {}: {e}", drain.record.instance_id)),
            }
        }
        pending.push(drain);
    }
    pending
}

/// Completes the drains whose build ended or whose deadline passed; the rest wait (their
/// heartbeats went out in `keep_drains_alive`).
pub async fn finish_drains(
    ports: &Ports,
    pending: Vec<Pending>,
    run_every: Duration,
    seen: &Seen,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<DrainReport> {
    let mut reports = Vec::new();
    for mut drain in pending {
        reassert_offline(ports, &drain.record, seen.snapshot.as_ref(), log).await;
        let agent = drain_agent(ports, &drain.record, seen.snapshot.as_ref()).await;
        let step = match next_step(&drain.record, agent, now, run_every) {
            DrainStep::Heartbeat if drain.heartbeated => DrainStep::Wait,
            step => step,
        };
        let drain_seconds = (now - drain.record.started_at).num_milliseconds() as f64 / 1000.0;
        if let Err(e) = drain.take(ports, step, drain_seconds, now, log).await {
            log.problem(format!("drain of {}: {e}", drain.record.instance_id));
        }
        tracing::info!(instance = %drain.record.instance_id, ?step, drain_seconds, "drain");
        reports.push(DrainReport {
            instance_id: drain.record.instance_id,
            pool: drain.record.pool,
            step,
            drain_seconds,
        });
    }
    reports
}

/// The drain record under `key`; `None` when it is gone or unreadable (logged).
async fn read_record(ports: &Ports, key: &str, log: &mut RunLog) -> Option<DrainRecord> {
    match ports
        .store
        .get(key)
        .await
        .map(|b| b.map(|b| serde_json::from_slice(&b)))
    {
        Ok(Some(Ok(record))) => Some(record),
        Ok(None) => None,
        Ok(Some(Err(e))) => {
            log.problem(format!("drain record {key} is corrupt ({e}); its lifecycle action ends at the hook's own timeout"));
            None
        }
        Err(e) => {
            log.problem(e.to_string());
            None
        }
    }
}

/// A draining instance's agent that takes work again (a Swarm agent reconnects as a new,
/// online node; someone put it back online) is taken offline again: a build starting
/// there now would be cut at the drain's end.
async fn reassert_offline(
    ports: &Ports,
    record: &DrainRecord,
    snapshot: Option<&CiSnapshot>,
    log: &mut RunLog,
) {
    let Some(snapshot) = snapshot else { return };
    let back = (snapshot.agents.iter())
        .filter(|a| a.accepting_tasks && record.agent_names.contains(&a.name));
    for agent in back {
        match ports.ci.take_offline(&agent.name, DRAIN_REASON).await {
            Ok(_) => {
                tracing::warn!(agent = %agent.name, instance = %record.instance_id, "a draining instance's agent took work again: offline again")
            }
            Err(e) => log.problem(format!("drain of {}: {e}", record.instance_id)),
        }
    }
}

/// The drain's agent now: busy while any of its names runs a build. An agent absent from
/// the snapshot (offset paging under churn, a rename) is asked alone before it counts as
/// gone; a drain whose agent's names are unknown stays unknown until its deadline.
async fn drain_agent(
    ports: &Ports,
    record: &DrainRecord,
    snapshot: Option<&CiSnapshot>,
) -> DrainAgent {
    let Some(snapshot) = snapshot else {
        return DrainAgent::Unknown;
    };
    if record.agent_names.is_empty() {
        return DrainAgent::Unknown;
    }
    let listed = (snapshot.agents.iter()).find(|a| record.agent_names.contains(&a.name));
    if let Some(agent) = listed {
        return match agent.busy_executors {
            0 => DrainAgent::Done,
            _ => DrainAgent::Busy,
        };
    }
    for name in &record.agent_names {
        match ports.ci.agent_busy(name).await {
            Ok(Some(true)) => return DrainAgent::Busy,
            Ok(Some(false)) => return DrainAgent::Done,
            Ok(None) => continue,
            Err(_) => return DrainAgent::Unknown,
        }
    }
    // The CI server knows none of its names: nothing runs there.
    DrainAgent::Done
}

impl Pending {
    async fn take(
        &mut self,
        ports: &Ports,
        step: DrainStep,
        drain_seconds: f64,
        now: DateTime<Utc>,
        log: &mut RunLog,
    ) -> Result<()> {
        match step {
            DrainStep::Wait => Ok(()),
            DrainStep::Heartbeat => self.heartbeat(ports, now).await.map(|_| ()),
            DrainStep::Complete | DrainStep::CompleteTimedOut => {
                ports
                    .groups
                    .complete_lifecycle_action(&self.action())
                    .await?;
                let pool = |name, value, unit| {
                    Datum::new(name, value, unit, now)
                        .with_dimension("Pool", self.record.pool.clone())
                };
                log.count(pool("DrainsCompleted", 1.0, Unit::Count));
                log.count(pool("DrainSeconds", drain_seconds, Unit::Seconds));
                if step == DrainStep::CompleteTimedOut {
                    log.count(pool("DrainsTimedOut", 1.0, Unit::Count));
                }
                ports.store.delete(&self.key).await
            }
        }
    }

    /// Keeps the lifecycle action alive and remembers when; `false` (and the record
    /// forgotten) when the action ended elsewhere (completed by hand, expired, the
    /// instance gone): nothing is left to drain.
    async fn heartbeat(&mut self, ports: &Ports, now: DateTime<Utc>) -> Result<bool> {
        match ports.groups.record_heartbeat(&self.action()).await? {
            Completion::Completed => {
                self.record.last_heartbeat_at = now;
                let body =
                    serde_json::to_vec(&self.record).map_err(|e| Error::Failed(e.to_string()))?;
                ports.store.put(&self.key, body).await?;
                Ok(true)
            }
            Completion::NoLongerPending => {
                ports.store.delete(&self.key).await?;
                Ok(false)
            }
        }
    }

    fn action(&self) -> LifecycleAction {
        LifecycleAction {
            group: self.record.group.clone(),
            hook: self.record.hook.clone(),
            instance_id: self.record.instance_id.clone(),
            token: self.record.token.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
