//! The Auto Scaling port: the groups' instances, scale-in protection, lifecycle actions.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// `SetInstanceProtection` takes at most 50 instance ids a call.
pub const MAX_PROTECTION_IDS: usize = 50;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInstance {
    pub instance_id: String,
    pub group: String,
    /// Pending, InService, Terminating:Wait, … as Auto Scaling spells it.
    pub lifecycle_state: String,
    pub protected_from_scale_in: bool,
    pub healthy: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub desired_capacity: i32,
    pub min_size: i32,
    pub max_size: i32,
    pub instances: Vec<GroupInstance>,
    /// Instances parked in the group's warm pool (`Warmed:*` states; DescribeWarmPool):
    /// not in `instances`, not gone, and back on a scale-out. Empty without a warm pool.
    pub warm_pool: Vec<GroupInstance>,
}

/// Identifies one pending lifecycle action (what the terminate hook's event carries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleAction {
    pub group: String,
    pub hook: String,
    pub instance_id: String,
    #[serde(default)]
    pub token: Option<String>,
}

/// What completing a lifecycle action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Completion {
    Completed,
    /// Already completed or expired: a duplicate event, not a failure to retry forever.
    NoLongerPending,
}

/// Everything ci-fleet does to Auto Scaling. Exists so handlers are tested against
/// request shapes (aws-smithy-mocks) and run dry without touching a group.
#[async_trait]
pub trait ScalingGroups: Send + Sync {
    /// The groups, each with its warm pool's instances (one DescribeWarmPool per group
    /// that has a warm pool).
    async fn describe_groups(&self, names: &[String]) -> Result<Vec<Group>>;
    /// The group of each instance that is in one (filtered by instance id).
    async fn groups_of(&self, instance_ids: &[String]) -> Result<Vec<GroupInstance>>;
    /// Returns the number of calls made (ids are sent in chunks of 50).
    async fn set_protection(
        &self,
        group: &str,
        instance_ids: &[String],
        protected: bool,
    ) -> Result<usize>;
    async fn complete_lifecycle_action(&self, action: &LifecycleAction) -> Result<Completion>;
    async fn record_heartbeat(&self, action: &LifecycleAction) -> Result<Completion>;
    /// The hook's heartbeat timeout in seconds, if the hook exists.
    async fn hook_heartbeat_timeout(&self, group: &str, hook: &str) -> Result<Option<u32>>;
    async fn set_unhealthy(&self, instance_id: &str) -> Result<()>;
    async fn terminate(&self, instance_id: &str, decrement_desired_capacity: bool) -> Result<()>;
}
