//! The AWS ports in memory: an Auto Scaling group, EC2's instance details and a bucket,
//! each recording what a handler wrote.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use rules::InstanceInfo;

use crate::error::{Error, Result};
use crate::ports::groups::{Completion, Group, GroupInstance, LifecycleAction, ScalingGroups};
use crate::ports::instances::Instances;
use crate::ports::store::ObjectStore;

/// Auto Scaling groups in memory that record every write.
pub struct FakeGroups {
    pub groups: Vec<Group>,
    /// The drain hook's heartbeat timeout (seconds), `None` when the hook is missing.
    pub hook_timeout: Option<u32>,
    /// (group, instances, protected) per SetInstanceProtection call.
    pub protection_calls: Mutex<Vec<(String, Vec<String>, bool)>>,
    /// Instances whose lifecycle action was completed.
    pub completed: Mutex<Vec<String>>,
    pub heartbeats: Mutex<Vec<String>>,
    pub unhealthy: Mutex<Vec<String>>,
    /// (instance, decrement desired capacity)
    pub terminated: Mutex<Vec<(String, bool)>>,
    /// DescribeAutoScalingGroups fails with this (throttled, denied) when set.
    pub describe_fails_with: Option<String>,
}

impl Default for FakeGroups {
    fn default() -> FakeGroups {
        FakeGroups {
            groups: vec![],
            hook_timeout: Some(600),
            protection_calls: Mutex::default(),
            completed: Mutex::default(),
            heartbeats: Mutex::default(),
            unhealthy: Mutex::default(),
            terminated: Mutex::default(),
            describe_fails_with: None,
        }
    }
}

impl FakeGroups {
    pub fn with(groups: Vec<Group>) -> FakeGroups {
        FakeGroups {
            groups,
            ..FakeGroups::default()
        }
    }
}

fn record<T>(log: &Mutex<Vec<T>>, entry: T) {
    if let Ok(mut log) = log.lock() {
        log.push(entry);
    }
}

#[async_trait]
impl ScalingGroups for FakeGroups {
    async fn describe_groups(&self, _: &[String]) -> Result<Vec<Group>> {
        match &self.describe_fails_with {
            Some(error) => Err(Error::Failed(error.clone())),
            None => Ok(self.groups.clone()),
        }
    }

    async fn groups_of(&self, ids: &[String]) -> Result<Vec<GroupInstance>> {
        Ok(self
            .groups
            .iter()
            .flat_map(|g| g.instances.iter())
            .filter(|i| ids.contains(&i.instance_id))
            .cloned()
            .collect())
    }

    async fn set_protection(&self, group: &str, ids: &[String], protected: bool) -> Result<usize> {
        record(
            &self.protection_calls,
            (group.to_owned(), ids.to_vec(), protected),
        );
        Ok(ids.len().div_ceil(crate::ports::groups::MAX_PROTECTION_IDS))
    }

    async fn complete_lifecycle_action(&self, action: &LifecycleAction) -> Result<Completion> {
        record(&self.completed, action.instance_id.clone());
        Ok(Completion::Completed)
    }

    async fn record_heartbeat(&self, action: &LifecycleAction) -> Result<Completion> {
        record(&self.heartbeats, action.instance_id.clone());
        Ok(Completion::Completed)
    }

    async fn hook_heartbeat_timeout(&self, _: &str, _: &str) -> Result<Option<u32>> {
        Ok(self.hook_timeout)
    }

    async fn set_unhealthy(&self, instance_id: &str) -> Result<()> {
        record(&self.unhealthy, instance_id.to_owned());
        Ok(())
    }

    async fn terminate(&self, instance_id: &str, decrement: bool) -> Result<()> {
        record(&self.terminated, (instance_id.to_owned(), decrement));
        Ok(())
    }
}

/// Instances known to EC2: launch times, and which exist at all.
#[derive(Default)]
pub struct FakeInstances(pub Vec<InstanceInfo>);

#[async_trait]
impl Instances for FakeInstances {
    async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceInfo>> {
        Ok(self
            .0
            .iter()
            .filter(|i| ids.contains(&i.instance_id))
            .cloned()
            .collect())
    }
}

/// A bucket in memory.
#[derive(Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn keys(&self) -> Vec<String> {
        self.objects
            .lock()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn objects(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>>> {
        self.objects
            .lock()
            .map_err(|_| Error::Failed("store lock poisoned".into()))
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.objects()?.get(key).cloned())
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<()> {
        self.objects()?.insert(key.to_owned(), body);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.objects()?.remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect())
    }
}
