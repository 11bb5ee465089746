//! Dead agents, removed: offline agents of our pools whose instance is terminated or gone
//! no longer count anywhere once removed. An instance stopped in its group's warm pool is
//! not gone (the groups' reading lists warm pools): it comes back with its agent. Only instance-id naming identifies an agent's
//! instance without doubt, so other naming sources never remove an agent; and only a
//! CI state that could be read names the dead.

use chrono::{DateTime, Utc};
use rules::{Agent, AgentNameSource, CiSnapshot, Datum, Unit};
use shared::ports::Ports;

use crate::config::ProtectConfig;
use crate::steps::observe::Seen;
use crate::steps::run_log::RunLog;

/// The names of the agents removed.
pub async fn remove_dead_agents(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Vec<String> {
    let Some(snapshot) = &seen.snapshot else {
        return vec![];
    };
    if !config.remove_dead_agents || config.agent_names != AgentNameSource::InstanceId {
        return vec![];
    }
    let candidates = candidates(config, seen, snapshot);
    if candidates.is_empty() {
        return vec![];
    }
    let ids: Vec<String> = candidates.iter().map(|a| a.name.clone()).collect();
    let found = match ports.instances.describe(&ids).await {
        Ok(found) => found,
        Err(e) => {
            log.problem(e.to_string());
            return vec![];
        }
    };
    let mut removed = Vec::new();
    for agent in candidates {
        let alive = found
            .iter()
            .any(|i| i.instance_id == agent.name && !i.is_gone());
        if alive {
            continue;
        }
        match ports.ci.remove_agent(&agent.name).await {
            Ok(()) => {
                tracing::info!(agent = %agent.name, "removed dead agent");
                for pool in config.pools.iter().filter(|p| p.contains(agent)) {
                    log.count(
                        Datum::new("DeadAgentsRemoved", 1.0, Unit::Count, now)
                            .with_dimension("Pool", pool.name()),
                    );
                }
                removed.push(agent.name.clone());
            }
            Err(e) => log.problem(e.to_string()),
        }
    }
    removed
}

/// Disconnected agents of our pools named like an instance that no group has, in service
/// or in its warm pool: dead unless EC2 says their instance still runs.
fn candidates<'a>(config: &ProtectConfig, seen: &Seen, snapshot: &'a CiSnapshot) -> Vec<&'a Agent> {
    let in_groups = seen.instance_ids();
    snapshot
        .agents
        .iter()
        .filter(|a| {
            !a.connected && looks_like_instance_id(&a.name) && !in_groups.contains(a.name.as_str())
        })
        .filter(|a| config.pools.iter().any(|p| p.contains(a)))
        .collect()
}

fn looks_like_instance_id(name: &str) -> bool {
    name.strip_prefix("i-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests;
