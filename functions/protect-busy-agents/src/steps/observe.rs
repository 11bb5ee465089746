//! The run's reading: the groups, the CI server's agents and queue (or that it could not
//! be read), what earlier runs remembered, and EC2's details where naming or counting
//! need them. Only the groups are required; whatever else could not be read is carried
//! as unknown, never as idle.

use std::collections::{BTreeSet, HashMap};

use rules::{Agent, AgentNameSource, CiSnapshot, InstanceInfo};
use shared::Result;
use shared::ports::Ports;
use shared::ports::groups::{Group, GroupInstance};

use crate::config::ProtectConfig;
use crate::memory::Memory;
use crate::steps::run_log::RunLog;

/// Whether Auto Scaling counts the instance as serving (not pending, not terminating).
pub fn in_service(instance: &GroupInstance) -> bool {
    instance.lifecycle_state == "InService"
}

/// What the run read from the outside world; it does not change during the run.
pub struct Seen {
    pub groups: Vec<Group>,
    /// `None`: the CI server could not be read.
    pub snapshot: Option<CiSnapshot>,
    /// Each agent's place in `snapshot`, by name.
    agents: HashMap<String, usize>,
    /// DescribeInstances' answers by instance id, for the instances the run needs.
    pub details: HashMap<String, InstanceInfo>,
}

/// What earlier runs left, which this run updates and saves.
pub struct Remembered {
    pub memory: Memory,
    /// Whether it could be read: an unread memory is neither counted from (launches) nor
    /// saved over the real one.
    pub loaded: bool,
}

impl Seen {
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The agent on this instance, under the first of its possible names that is registered.
    pub fn agent_on(&self, names: &AgentNameSource, instance_id: &str) -> Option<&Agent> {
        let snapshot = self.snapshot.as_ref()?;
        names
            .agent_names(instance_id, self.details.get(instance_id))
            .iter()
            .find_map(|name| self.agents.get(name.as_str()))
            .and_then(|&index| snapshot.agents.get(index))
    }

    /// Every instance of every group, whatever its state, warm pools included.
    pub fn instance_ids(&self) -> BTreeSet<&str> {
        self.groups
            .iter()
            .flat_map(|g| g.instances.iter().chain(&g.warm_pool))
            .map(|i| i.instance_id.as_str())
            .collect()
    }
}

pub async fn observe(
    ports: &Ports,
    config: &ProtectConfig,
    log: &mut RunLog,
) -> Result<(Seen, Remembered)> {
    let group_names: Vec<String> = config
        .pools
        .iter()
        .map(|p| p.spec.asg.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = ports.groups.describe_groups(&group_names).await?;
    // The run ledger (recycling's history) samples the agents' runs on this poll.
    let read = match config.recycle.enabled {
        true => ports.ci.snapshot_with_runs().await,
        false => ports.ci.snapshot().await,
    };
    let snapshot = match read {
        Ok(snapshot) => Some(snapshot),
        Err(e) => {
            tracing::error!(error = %e, "CI server state unknown: unprotecting nothing, completing no drain");
            log.problem(e.to_string());
            None
        }
    };
    // No CiServerUp here: it is publish-workload's liveness signal (ci-metrics-missing
    // fires when it stops), and this run's datum would mask a stopped publisher (A3).
    let remembered = match Memory::load(ports.store.as_ref()).await {
        Ok(memory) => Remembered {
            memory,
            loaded: true,
        },
        Err(e) => {
            log.problem(format!("protection memory: {e}"));
            Remembered {
                memory: Memory::default(),
                loaded: false,
            }
        }
    };
    let agents = snapshot
        .iter()
        .flat_map(|s| s.agents.iter().enumerate())
        .map(|(index, agent)| (agent.name.clone(), index))
        .collect();
    let mut seen = Seen {
        groups,
        snapshot,
        agents,
        details: HashMap::new(),
    };
    seen.details = instance_details(ports, config, &seen, log).await;
    Ok((seen, remembered))
}

/// DescribeInstances, filtered by id, only when names, boot or launch times need it:
/// every instance for DNS/tag naming or a use limit to count builds from launch, else
/// only InService instances without an agent.
async fn instance_details(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    log: &mut RunLog,
) -> HashMap<String, InstanceInfo> {
    let in_service = seen
        .groups
        .iter()
        .flat_map(|g| &g.instances)
        .filter(|i| in_service(i));
    let counts_builds = config.recycle.enabled
        && config
            .pools
            .iter()
            .any(|p| p.spec.max_builds_per_agent.is_some());
    let ids: Vec<String> = if config.agent_names.needs_instance_details() || counts_builds {
        in_service.map(|i| i.instance_id.clone()).collect()
    } else {
        in_service
            .filter(|i| !seen.agents.contains_key(i.instance_id.as_str()))
            .map(|i| i.instance_id.clone())
            .collect()
    };
    if ids.is_empty() {
        return HashMap::new();
    }
    match ports.instances.describe(&ids).await {
        Ok(found) => found
            .into_iter()
            .map(|i| (i.instance_id.clone(), i))
            .collect(),
        Err(e) => {
            // Boot grace then counts from first sight; agents named by DNS/tag stay unknown (kept as they are).
            log.problem(e.to_string());
            HashMap::new()
        }
    }
}
