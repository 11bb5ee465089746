//! Agents back in service, online again. Scale-in can send an instance to its group's warm
//! pool instead of terminating it; handle-interruption drained it like any scale-in, and
//! its agent keeps that offline mark when the instance comes back `InService` (TeamCity
//! keeps `enabled=false` across reconnects; a Jenkins node kept across the stop keeps its
//! temporarily-offline flag). Only the warm-pool drain's own mark is lifted, and only on an
//! instance in service with no drain pending: an agent a person, a recycling or a
//! terminating drain took offline stays offline.

use chrono::{DateTime, Utc};
use rules::drain::WARM_POOL_DRAIN_REASON;
use rules::{Datum, Unit};
use shared::ports::Ports;
use shared::ports::ci::OnlineChange;

use crate::config::ProtectConfig;
use crate::steps::drains::DrainReport;
use crate::steps::observe::{Seen, in_service};
use crate::steps::run_log::RunLog;

/// The names of the agents brought back online.
pub async fn bring_back_returned(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    drains: &[DrainReport],
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<String> {
    let mut brought = Vec::new();
    for pool in &config.pools {
        let Some(group) = seen.group(&pool.spec.asg) else {
            continue;
        };
        let returned = group
            .instances
            .iter()
            .filter(|i| in_service(i))
            .filter(|i| !drains.iter().any(|d| d.instance_id == i.instance_id))
            .filter_map(|i| seen.agent_on(&config.agent_names, &i.instance_id))
            .filter(|a| !a.accepting_tasks && a.offline_reason == WARM_POOL_DRAIN_REASON);
        for agent in returned {
            match ports
                .ci
                .bring_online(&agent.name, WARM_POOL_DRAIN_REASON)
                .await
            {
                Ok(OnlineChange::BroughtOnline) => {
                    tracing::info!(agent = %agent.name, pool = pool.name(), "back from the warm pool: online again");
                    log.count(
                        Datum::new("AgentsBackInService", 1.0, Unit::Count, now)
                            .with_dimension("Pool", pool.name()),
                    );
                    brought.push(agent.name.clone());
                }
                Ok(OnlineChange::AlreadyOnline | OnlineChange::OfflineForAnotherReason) => {}
                Err(e) => log.problem(e.to_string()),
            }
        }
    }
    brought
}

#[cfg(test)]
mod tests;
