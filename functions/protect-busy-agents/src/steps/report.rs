//! The run's end: remember what this run learnt, publish its counts, and answer with what
//! each step did — or fail with every problem met, once everything possible was done.

use serde::Serialize;
use shared::ports::Ports;
use shared::{Error, Result};

use crate::steps::drains::DrainReport;
use crate::steps::observe::{Remembered, Seen};
use crate::steps::orphans::OrphanReport;
use crate::steps::protection::{PoolReport, Protection};
use crate::steps::recycling::RecycleReport;
use crate::steps::run_log::RunLog;

#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub dry_run: bool,
    pub ci_server_up: bool,
    pub pools: Vec<PoolReport>,
    pub drains: Vec<DrainReport>,
    /// Terminate actions no event handled, taken over.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<OrphanReport>,
    /// Agents back from a warm pool, online again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub back_in_service: Vec<String>,
    pub dead_agents_removed: Vec<String>,
    pub recycling: RecycleReport,
    pub set_instance_protection_calls: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What the steps between observing and reporting did.
pub struct Outcomes {
    pub protection: Protection,
    pub recycling: RecycleReport,
    pub drains: Vec<DrainReport>,
    pub orphans: Vec<OrphanReport>,
    pub back_in_service: Vec<String>,
    pub dead_agents_removed: Vec<String>,
}

pub async fn report(
    ports: &Ports,
    namespace: &str,
    seen: &Seen,
    remembered: Remembered,
    outcomes: Outcomes,
    mut log: RunLog,
) -> Result<Response> {
    remember(ports, seen, remembered, &mut log).await;
    let would_do = ports
        .finish_run(namespace, &log.datums, &mut log.errors)
        .await;
    let response = Response {
        dry_run: ports.is_dry(),
        ci_server_up: seen.snapshot.is_some(),
        pools: outcomes.protection.pools,
        drains: outcomes.drains,
        orphans: outcomes.orphans,
        back_in_service: outcomes.back_in_service,
        dead_agents_removed: outcomes.dead_agents_removed,
        recycling: outcomes.recycling,
        set_instance_protection_calls: outcomes.protection.set_instance_protection_calls,
        would_do,
        errors: log.errors,
    };
    match response.errors.len() {
        0 => Ok(response),
        n => Err(Error::Failed(format!(
            "{n} problem(s): {}",
            response.errors.join("; ")
        ))),
    }
}

/// Saves the memory without the instances no group has any more; an unread memory is
/// not saved over the real one.
async fn remember(ports: &Ports, seen: &Seen, remembered: Remembered, log: &mut RunLog) {
    let Remembered { mut memory, loaded } = remembered;
    let present = seen.instance_ids();
    memory
        .instances
        .retain(|id, _| present.contains(id.as_str()));
    if loaded && let Err(e) = memory.save(ports.store.as_ref()).await {
        log.problem(format!("protection memory: {e}"));
    }
}
