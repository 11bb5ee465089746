//! Dry-run adapters: each wraps a real port, lets reads through, and records every write
//! instead of making it. Handlers run unchanged; the response lists `would_do`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::aws::groups::{Completion, Group, GroupInstance, LifecycleAction, ScalingGroups};
use crate::aws::store::ObjectStore;
use crate::ci::{CiError, CiServer, OfflineChange};
use crate::domain::CiSnapshot;
use crate::error::Result;

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

    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
        self.would_do
            .record(format!("take agent {agent} offline: {reason}"));
        Ok(OfflineChange::TakenOffline)
    }

    async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
        self.would_do
            .record(format!("remove agent {agent} from the CI server"));
        Ok(())
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
            .chunks(crate::aws::groups::MAX_PROTECTION_IDS)
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
