//! The EC2 port: instance details, always filtered by instance id.

use async_trait::async_trait;

use crate::error::Result;
use rules::InstanceInfo;

/// Exists because agent names may come from DNS names or tags, and launch times decide
/// boot grace; DescribeInstances is the only source, and it is throttled account-wide.
#[async_trait]
pub trait Instances: Send + Sync {
    /// Details of the given instances; unknown ids are simply absent.
    async fn describe(&self, instance_ids: &[String]) -> Result<Vec<InstanceInfo>>;
}
