//! Dead agents, removed: offline agents of our pools whose instance is terminated or gone
//! no longer count anywhere once removed. An instance stopped in its group's warm pool is
//! not gone (the groups' reading lists warm pools): it comes back with its agent. A pool's
//! last agent stays, dead or not, so its queue stays attributed. Only instance-id naming
//! identifies an agent's instance without doubt, so other naming sources never remove an
//! agent; and only a CI state that could be read names the dead.

use std::collections::HashSet;

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
/// or in its warm pool: dead unless EC2 says their instance still runs. A pool's last
/// agent is never one of them (see [`last_agents`]).
fn candidates<'a>(config: &ProtectConfig, seen: &Seen, snapshot: &'a CiSnapshot) -> Vec<&'a Agent> {
    let in_groups = seen.instance_ids();
    let dead: Vec<&Agent> = snapshot
        .agents
        .iter()
        .filter(|a| {
            !a.connected && looks_like_instance_id(&a.name) && !in_groups.contains(a.name.as_str())
        })
        .filter(|a| config.pools.iter().any(|p| p.contains(a)))
        .collect();
    let kept = last_agents(config, snapshot, &dead);
    dead.into_iter()
        .filter(|a| !kept.contains(a.name.as_str()))
        .collect()
}

/// For each pool all of whose agents are dead, one of them (the greatest name) stays
/// registered: the CI server attributes a pool's queue only through agents it knows.
/// TeamCity computes a build configuration's compatible agents from the agents it has,
/// disconnected ones included, and Jenkins names a label whose nodes are all offline in
/// the queue's `why`; with no agent left the queue belongs to no pool and a pool at zero
/// would never start again.
fn last_agents<'a>(
    config: &ProtectConfig,
    snapshot: &'a CiSnapshot,
    dead: &[&Agent],
) -> HashSet<&'a str> {
    let is_dead = |a: &Agent| dead.iter().any(|d| d.name == a.name);
    config
        .pools
        .iter()
        .filter_map(|pool| {
            let mut members = snapshot
                .agents
                .iter()
                .filter(|a| pool.contains(a))
                .peekable();
            members.peek()?;
            let members: Vec<&Agent> = members.collect();
            if !members.iter().all(|a| is_dead(a)) {
                return None;
            }
            members.into_iter().map(|a| a.name.as_str()).max()
        })
        .collect()
}

fn looks_like_instance_id(name: &str) -> bool {
    name.strip_prefix("i-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests;
