//! The terminate lifecycle action: completed at once when the agent is idle or the
//! instance is not ours, or a drain recorded (which protect-busy-agents heartbeats and
//! completes) while a build may still run. Every action ends one way or the other.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rules::Pool;
use rules::drain::{DrainRecord, drain_key};
use serde::Serialize;
use shared::Error;
use shared::ports::groups::{Completion, LifecycleAction};
use shared::ports::{ObjectStore, ScalingGroups};

use crate::events::TerminateAction;

/// Used when the hook cannot be described (throttled, denied, gone): the shortest timeout
/// Auto Scaling allows, so protect-busy-agents heartbeats every run. Assuming more (Auto
/// Scaling's 3600 s default) would send the first heartbeat after the real hook expired.
const UNKNOWN_HEARTBEAT_TIMEOUT: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifecycleOutcome {
    Completed,
    /// Completed or expired before: a duplicate event.
    AlreadyCompleted,
    DrainRecorded,
    /// A duplicate event: the drain is recorded already.
    DrainAlreadyRecorded,
}

/// `Err` is why the step failed, for the response's errors.
pub type Step = std::result::Result<LifecycleOutcome, String>;

/// The pending action the event names.
pub fn lifecycle_action(detail: &TerminateAction) -> LifecycleAction {
    LifecycleAction {
        group: detail.auto_scaling_group_name.clone(),
        hook: detail.lifecycle_hook_name.clone(),
        instance_id: detail.ec2_instance_id.clone(),
        token: detail.lifecycle_action_token.clone(),
    }
}

/// Completes the action with CONTINUE: the instance may terminate now.
pub async fn complete(groups: &dyn ScalingGroups, action: &LifecycleAction) -> Step {
    match groups.complete_lifecycle_action(action).await {
        Ok(Completion::Completed) => Ok(LifecycleOutcome::Completed),
        Ok(Completion::NoLongerPending) => Ok(LifecycleOutcome::AlreadyCompleted),
        Err(e) => Err(e.to_string()),
    }
}

/// A drain to record for a busy (or unreadable) agent.
pub struct Drain<'a> {
    pub action: &'a LifecycleAction,
    pub pool: &'a Pool,
    /// The names the agent may be registered under, for the drain's later reads.
    pub agent_names: Vec<String>,
    /// The event's time.
    pub started_at: DateTime<Utc>,
    /// `DRAIN_TIMEOUT_SECONDS`: the drain completes by then even if the build still runs.
    pub timeout: Duration,
}

/// Records the drain once: a duplicate event finds it recorded and changes nothing.
pub async fn record_drain(
    store: &dyn ObjectStore,
    groups: &dyn ScalingGroups,
    drain: Drain<'_>,
) -> Step {
    let key = drain_key(&drain.action.instance_id);
    match store.get(&key).await {
        Ok(Some(_)) => return Ok(LifecycleOutcome::DrainAlreadyRecorded),
        Ok(None) => {}
        Err(e) => return Err(format!("drain record: {e}")),
    }
    let heartbeat_timeout = groups
        .hook_heartbeat_timeout(&drain.action.group, &drain.action.hook)
        .await
        .ok()
        .flatten()
        .unwrap_or(UNKNOWN_HEARTBEAT_TIMEOUT);
    let record = DrainRecord {
        instance_id: drain.action.instance_id.clone(),
        pool: drain.pool.name().to_owned(),
        group: drain.action.group.clone(),
        hook: drain.action.hook.clone(),
        token: drain.action.token.clone(),
        agent_names: drain.agent_names,
        started_at: drain.started_at,
        deadline: Utc::now() + chrono::Duration::from_std(drain.timeout).unwrap_or_default(),
        heartbeat_timeout_seconds: heartbeat_timeout,
        last_heartbeat_at: drain.started_at,
    };
    let written = match serde_json::to_vec(&record) {
        Ok(body) => store.put(&key, body).await,
        Err(e) => Err(Error::Failed(e.to_string())),
    };
    match written {
        Ok(()) => Ok(LifecycleOutcome::DrainRecorded),
        Err(e) => Err(format!("drain record: {e}")),
    }
}
