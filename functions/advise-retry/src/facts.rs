//! The second step: what the decision rests on, read back from the CI server and the
//! checkpoint bucket (the notification only names the build): the failed build, the retry
//! chain it belongs to and that chain's record, and the evidence of how it failed.

use rules::retry::BuildStatus;
use shared::ci::{CiKind, Problem};
use shared::ports::builds::{AgentPresence, BuildControl, FinishedBuild, is_not_found};
use shared::ports::store::ObjectStore;

use crate::interruption;
use crate::payload::Notice;
use crate::record::{self, RetryRecord};
use crate::report::Stop;

/// A build the CI server says failed (or, while it still runs its last step, the sender).
#[derive(Debug, Clone)]
pub struct FailedBuild {
    pub build: FinishedBuild,
    pub status: BuildStatus,
}

/// How the build failed, beyond its status.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The end of its log; empty when the log could not be had.
    pub log: String,
    /// A matching interruption record, described.
    pub interruption: Option<String>,
    /// The CI server says its agent is disconnected or gone.
    pub agent_disconnected: bool,
}

/// The build the notice names, read back; a success or a build that did not run is
/// ignored.
pub async fn failed_build(builds: &dyn BuildControl, notice: &Notice) -> Result<FailedBuild, Stop> {
    let build = match builds.finished_build(&notice.build).await {
        Ok(build) => build,
        Err(e) if is_not_found(&e) => {
            return Err(Stop::unknown_build(format!(
                "the CI server does not know build {}",
                notice.build
            )));
        }
        Err(e) => return Err(Stop::error(e.to_string())),
    };
    // A notification sent from the build's own last step arrives while it runs.
    let status = build
        .status
        .or(if build.running { notice.status } else { None });
    let Some(status) = status else {
        return Err(Stop::ignored(
            "the build is still running and the notification carries no final status",
        ));
    };
    if matches!(status, BuildStatus::Success | BuildStatus::NotBuilt) {
        return Err(Stop::ignored(format!("the build's result is {status:?}")));
    }
    Ok(FailedBuild { build, status })
}

/// The retry chain the build belongs to: the parameter a retry carries
/// (`retry_of_parameter`), else the alias its queue id left, else the build itself
/// starts one.
pub async fn logical_build(
    store: &dyn ObjectStore,
    kind: CiKind,
    retry_of_parameter: &str,
    build: &FinishedBuild,
) -> Result<String, Stop> {
    if let Some(key) = build
        .parameters
        .get(retry_of_parameter)
        .map(|k| k.trim())
        .filter(|k| !k.is_empty() && k.len() <= 512)
    {
        return Ok(key.to_owned());
    }
    if let Some(queue_id) = build.queue_id {
        let alias = record::load_alias(store, kind, queue_id)
            .await
            .map_err(|e| Stop::error(e.to_string()))?;
        if let Some(key) = alias {
            return Ok(key);
        }
    }
    Ok(format!("{kind}:{}#{}", build.build.job, build.build.id))
}

/// The chain's record, unless it already holds this build (a redelivery, or Jenkins'
/// COMPLETED then FINALIZED): a duplicate.
pub async fn unhandled_record(
    store: &dyn ObjectStore,
    key: &str,
    build: &FinishedBuild,
) -> Result<RetryRecord, Stop> {
    let record = record::load(store, key)
        .await
        .map_err(|e| Stop::error(e.to_string()))?;
    if let Some(earlier) = record.entry_for(&build.build.to_string()) {
        return Err(Stop::duplicate(format!(
            "already handled at {}: {} ({}): {}",
            earlier.at.to_rfc3339(),
            earlier.outcome,
            earlier.class,
            earlier.detail
        )));
    }
    Ok(record)
}

/// The log's tail, an interruption record and the agent's presence. A log that is gone
/// or too large, or an agent whose presence is unknown, is a warning: the failure is
/// classified without it.
pub async fn evidence(
    builds: &dyn BuildControl,
    store: &dyn ObjectStore,
    build: &FinishedBuild,
    log_tail_bytes: usize,
    warnings: &mut Vec<String>,
) -> Result<Evidence, Stop> {
    let log = match builds.log_tail(&build.build, log_tail_bytes).await {
        Ok(tail) => tail.text,
        Err(e) if is_not_found(&e) || matches!(e.problem, Problem::TooLarge { .. }) => {
            warnings.push(format!("classified without the log: {e}"));
            String::new()
        }
        Err(e) => return Err(Stop::error(e.to_string())),
    };
    let interruption = interruption::matching(store, build)
        .await
        .map_err(|e| Stop::error(format!("checkpoint store: {e}")))?;
    let agent_disconnected = match &build.agent {
        None => false,
        Some(agent) => match builds.agent_presence(agent).await {
            Ok(presence) => matches!(presence, AgentPresence::Disconnected | AgentPresence::Gone),
            Err(e) => {
                warnings.push(format!("agent {agent} presence unknown: {e}"));
                false
            }
        },
    };
    Ok(Evidence {
        log,
        interruption,
        agent_disconnected,
    })
}
