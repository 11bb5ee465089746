//! Which agent, and taking it offline: the names an instance's agent may be registered
//! under, the first one the CI server knows taken offline, and whether it still runs a build.

use rules::AgentNameSource;
use serde::Serialize;
use shared::Result;
use shared::ci::{CiError, Problem};
use shared::ports::ci::OfflineChange;
use shared::ports::{CiServer, Instances};

/// The names the instance's agent may be registered under, best first (one
/// DescribeInstances at most, only when the names come from the instance's details).
/// Details that name no agent (the instance not found, no DNS name or tag yet) are an
/// error, not "no agent": the agent is unknown, and unknown is never idle.
pub async fn agent_names(
    instances: &dyn Instances,
    source: &AgentNameSource,
    instance_id: &str,
) -> Result<Vec<String>> {
    if !source.needs_instance_details() {
        return Ok(source.agent_names(instance_id, None));
    }
    let details = instances
        .describe(&[instance_id.to_owned()])
        .await?
        .into_iter()
        .next();
    let names = source.agent_names(instance_id, details.as_ref());
    if names.is_empty() {
        return Err(shared::Error::Failed(format!(
            "instance {instance_id}: its agent's name is unknown (AGENT_NAME_SOURCE {source}: {})",
            if details.is_some() {
                "not in its details"
            } else {
                "DescribeInstances does not know it"
            }
        )));
    }
    Ok(names)
}

/// What the response says taking the agent offline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineOutcome {
    TakenOffline,
    AlreadyOffline,
    /// None of the instance's names is an agent: it never registered, so it has no work
    /// to protect.
    NoAgent,
}

/// What taking the agent offline learned about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    /// Offline now under `name` (taken offline now, or already before).
    Agent {
        name: String,
        outcome: OfflineOutcome,
    },
    NoAgent,
    /// The agent's names or the CI server could not be read: why.
    Unknown(String),
}

impl Offline {
    /// Whether this delivery took the agent offline (not an earlier one).
    pub fn changed_now(&self) -> bool {
        matches!(
            self,
            Offline::Agent {
                outcome: OfflineOutcome::TakenOffline,
                ..
            }
        )
    }
}

/// Takes the agent offline under the first of `names` the CI server knows, with a
/// reason a person reads in the CI's UI.
pub async fn take_offline(ci: &dyn CiServer, names: &[String], reason: &str) -> Offline {
    for name in names {
        match ci.take_offline(name, reason).await {
            Ok(change) => {
                tracing::info!(agent = %name, ?change, reason, "agent offline");
                let outcome = match change {
                    OfflineChange::TakenOffline => OfflineOutcome::TakenOffline,
                    OfflineChange::AlreadyOffline => OfflineOutcome::AlreadyOffline,
                };
                return Offline::Agent {
                    name: name.clone(),
                    outcome,
                };
            }
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => continue,
            Err(e) => return Offline::Unknown(e.to_string()),
        }
    }
    Offline::NoAgent
}

/// Whether the agent still runs a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Idle,
    Busy,
    /// The agent could not be read, which is not idle.
    Unknown,
}

/// The work of the agent `offline` found, read alone. `Err` is a CI server that could
/// not be read this time; like `Work::Unknown`, it is not idle.
pub async fn work_of(ci: &dyn CiServer, offline: &Offline) -> std::result::Result<Work, String> {
    match offline {
        Offline::Agent { name, .. } => match ci.agent_busy(name).await {
            Ok(Some(true)) => Ok(Work::Busy),
            // Gone from the CI server since it was taken offline: nothing runs there.
            Ok(Some(false) | None) => Ok(Work::Idle),
            Err(e) => Err(e.to_string()),
        },
        Offline::NoAgent => Ok(Work::Idle),
        Offline::Unknown(_) => Ok(Work::Unknown),
    }
}
