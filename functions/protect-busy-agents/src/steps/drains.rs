//! Pending drains, finished: a terminating instance whose agent was busy waits in its
//! lifecycle hook (handle-interruption recorded the drain in S3). Each run completes the
//! drains whose build ended or whose deadline passed, and heartbeats the rest before the
//! hook times out (`rules::drain::next_step` decides). Unknown CI state completes nothing
//! but deadlines. A drain whose action ended elsewhere (the instance vanished, completed
//! by hand) is forgotten when Auto Scaling says so.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rules::drain::{DrainAgent, DrainRecord, DrainStep, next_step};
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

pub async fn finish_drains(
    ports: &Ports,
    run_every: Duration,
    seen: &Seen,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<DrainReport> {
    let keys = match ports.store.list("drains/").await {
        Ok(keys) => keys,
        Err(e) => {
            log.problem(format!("drain records: {e}"));
            return vec![];
        }
    };
    let mut reports = Vec::new();
    for key in keys {
        let Some(record) = read_record(ports, &key, log).await else {
            continue;
        };
        let agent = drain_agent(&record, seen.snapshot.as_ref());
        let step = next_step(&record, agent, now, run_every);
        let drain_seconds = (now - record.started_at).num_milliseconds() as f64 / 1000.0;
        let drain = Drain {
            key: &key,
            record: &record,
            drain_seconds,
        };
        if let Err(e) = drain.take(ports, step, now, log).await {
            log.problem(format!("drain of {}: {e}", record.instance_id));
        }
        tracing::info!(instance = %record.instance_id, ?step, drain_seconds, "drain");
        reports.push(DrainReport {
            instance_id: record.instance_id,
            pool: record.pool,
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

/// The drain's agent now: busy while any of its names runs a build.
fn drain_agent(record: &DrainRecord, snapshot: Option<&CiSnapshot>) -> DrainAgent {
    let Some(snapshot) = snapshot else {
        return DrainAgent::Unknown;
    };
    match snapshot
        .agents
        .iter()
        .find(|a| record.agent_names.contains(&a.name))
    {
        Some(a) if a.busy_executors > 0 => DrainAgent::Busy,
        _ => DrainAgent::Done,
    }
}

/// One pending drain and where its record lives.
struct Drain<'a> {
    key: &'a str,
    record: &'a DrainRecord,
    drain_seconds: f64,
}

impl Drain<'_> {
    async fn take(
        &self,
        ports: &Ports,
        step: DrainStep,
        now: DateTime<Utc>,
        log: &mut RunLog,
    ) -> Result<()> {
        match step {
            DrainStep::Wait => Ok(()),
            DrainStep::Heartbeat => self.heartbeat(ports, now).await,
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
                log.count(pool("DrainSeconds", self.drain_seconds, Unit::Seconds));
                if step == DrainStep::CompleteTimedOut {
                    log.count(pool("DrainsTimedOut", 1.0, Unit::Count));
                }
                ports.store.delete(self.key).await
            }
        }
    }

    /// Keeps the lifecycle action alive and remembers when; forgets the drain when the
    /// action ended elsewhere (completed by hand, expired): nothing is left to drain.
    async fn heartbeat(&self, ports: &Ports, now: DateTime<Utc>) -> Result<()> {
        match ports.groups.record_heartbeat(&self.action()).await? {
            Completion::Completed => {
                let updated = DrainRecord {
                    last_heartbeat_at: now,
                    ..self.record.clone()
                };
                let body =
                    serde_json::to_vec(&updated).map_err(|e| Error::Failed(e.to_string()))?;
                ports.store.put(self.key, body).await
            }
            Completion::NoLongerPending => ports.store.delete(self.key).await,
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
