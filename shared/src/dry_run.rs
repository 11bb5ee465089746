//! Dry-run adapters: each wraps a real port, lets reads through, and records every write
//! instead of making it. Handlers run unchanged; the response lists `would_do`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::ci::CiError;
use crate::error::Result;
use crate::ports::builds::{
    AgentPresence, AsSent, BuildControl, BuildRef, FinishedBuild, LogTail, Queued, Requeue,
};
use crate::ports::ci::{CiServer, OfflineChange, OnlineChange};
use crate::ports::groups::{Completion, Group, GroupInstance, LifecycleAction, ScalingGroups};
use crate::ports::store::ObjectStore;
use rules::CiSnapshot;

/// The writes a dry run skipped, in order, as sentences.
#[derive(Clone, Default)]
pub struct WouldDo(Arc<Mutex<Vec<String>>>);

impl WouldDo {
    pub fn record(&self, action: String) {
        tracing::info!(action = %action, "dry run: skipped");
        if let Ok(mut actions) = self.0.lock() {
            actions.push(action);
        }
    }

    pub fn actions(&self) -> Vec<String> {
        self.0.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

pub struct DryRunCi {
    pub inner: Arc<dyn CiServer>,
    pub would_do: WouldDo,
}

#[async_trait]
impl CiServer for DryRunCi {
    async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
        self.inner.snapshot().await
    }

    async fn snapshot_with_runs(&self) -> Result<CiSnapshot, CiError> {
        self.inner.snapshot_with_runs().await
    }

    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
        self.would_do
            .record(format!("take agent {agent} offline: {reason}"));
        Ok(OfflineChange::TakenOffline)
    }

    async fn bring_online(&self, agent: &str, our_reason: &str) -> Result<OnlineChange, CiError> {
        self.would_do.record(format!(
            "bring agent {agent} back online if offline for: {our_reason}"
        ));
        Ok(OnlineChange::BroughtOnline)
    }

    async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
        self.would_do
            .record(format!("remove agent {agent} from the CI server"));
        Ok(())
    }

    async fn recent_builds(&self) -> Result<Vec<rules::health::FinishedBuild>, CiError> {
        self.inner.recent_builds().await
    }

    async fn agent_busy(&self, agent: &str) -> Result<Option<bool>, CiError> {
        self.inner.agent_busy(agent).await
    }

    async fn check_visibility(&self) -> Result<(), CiError> {
        self.inner.check_visibility().await
    }

    async fn agent_runs(&self, agent: &str) -> Result<Vec<String>, CiError> {
        self.inner.agent_runs(agent).await
    }

    /// A read: asked for real.
    async fn run_states(
        &self,
        runs: &[String],
    ) -> Result<Vec<(String, rules::ledger::RunState)>, CiError> {
        self.inner.run_states(runs).await
    }
}

pub struct DryRunGroups {
    pub inner: Arc<dyn ScalingGroups>,
    pub would_do: WouldDo,
}

#[async_trait]
impl ScalingGroups for DryRunGroups {
    async fn describe_groups(&self, names: &[String]) -> Result<Vec<Group>> {
        self.inner.describe_groups(names).await
    }

    async fn groups_of(&self, instance_ids: &[String]) -> Result<Vec<GroupInstance>> {
        self.inner.groups_of(instance_ids).await
    }

    async fn set_protection(
        &self,
        group: &str,
        instance_ids: &[String],
        protected: bool,
    ) -> Result<usize> {
        let verb = if protected { "protect" } else { "unprotect" };
        let calls = instance_ids
            .chunks(crate::ports::groups::MAX_PROTECTION_IDS)
            .count();
        self.would_do.record(format!(
            "{verb} {} in {group} from scale-in ({calls} SetInstanceProtection calls)",
            instance_ids.join(", ")
        ));
        Ok(calls)
    }

    async fn complete_lifecycle_action(&self, action: &LifecycleAction) -> Result<Completion> {
        self.would_do.record(format!(
            "complete lifecycle action {} for {} in {} with CONTINUE",
            action.hook, action.instance_id, action.group
        ));
        Ok(Completion::Completed)
    }

    async fn record_heartbeat(&self, action: &LifecycleAction) -> Result<Completion> {
        self.would_do.record(format!(
            "heartbeat lifecycle action {} for {}",
            action.hook, action.instance_id
        ));
        Ok(Completion::Completed)
    }

    async fn hook_heartbeat_timeout(&self, group: &str, hook: &str) -> Result<Option<u32>> {
        self.inner.hook_heartbeat_timeout(group, hook).await
    }

    async fn set_unhealthy(&self, instance_id: &str) -> Result<()> {
        self.would_do.record(format!(
            "mark {instance_id} unhealthy so its group replaces it"
        ));
        Ok(())
    }

    async fn terminate(&self, instance_id: &str, decrement_desired_capacity: bool) -> Result<()> {
        let capacity = if decrement_desired_capacity {
            "decrementing"
        } else {
            "keeping"
        };
        self.would_do.record(format!(
            "terminate {instance_id}, {capacity} desired capacity"
        ));
        Ok(())
    }
}

pub struct DryRunStore {
    pub inner: Arc<dyn ObjectStore>,
    pub would_do: WouldDo,
}

#[async_trait]
impl ObjectStore for DryRunStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.would_do
            .record(format!("write s3 object {key} ({} bytes)", body.len()));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.would_do.record(format!("delete s3 object {key}"));
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix).await
    }
}

/// advise-retry's dry run: reads the build, its log and its agent; records the re-queue
/// and the note instead of making them.
pub struct DryRunBuilds {
    pub inner: Arc<dyn BuildControl>,
    pub would_do: WouldDo,
}

#[async_trait]
impl BuildControl for DryRunBuilds {
    async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError> {
        self.inner.finished_build(build).await
    }

    async fn log_tail(&self, build: &BuildRef, max_bytes: usize) -> Result<LogTail, CiError> {
        self.inner.log_tail(build, max_bytes).await
    }

    async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError> {
        self.inner.agent_presence(agent).await
    }

    fn as_sent(&self, request: &Requeue) -> AsSent {
        self.inner.as_sent(request)
    }

    async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError> {
        let sent = self.inner.as_sent(request);
        let parameters = sent
            .parameters
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.would_do.record(format!(
            "queue {} again with parameters [{parameters}]{}",
            request.build.job,
            sent.branch
                .as_deref()
                .map(|b| format!(" on branch {b}"))
                .unwrap_or_default()
        ));
        Ok(Queued {
            id: None,
            url: None,
            parameters: sent.parameters,
        })
    }

    async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError> {
        self.would_do
            .record(format!("set the description of {build} to {text:?}"));
        Ok(())
    }
}
