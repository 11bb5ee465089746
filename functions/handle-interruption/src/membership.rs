//! Which instance: the pool an interrupted instance belongs to, through its Auto Scaling
//! group. An instance in no configured pool is not ours: acknowledged, nothing done.

use rules::Pool;
use shared::ports::ScalingGroups;

use crate::config::InterruptionConfig;

/// Where an instance stands with ci-fleet.
#[derive(Debug, Clone, PartialEq)]
pub enum Membership {
    Ours(Pool),
    /// In no configured pool; `group` is the one it is in, if any.
    NotOurs {
        group: Option<String>,
    },
    /// Auto Scaling could not be read.
    Unknown(String),
}

pub async fn membership(
    groups: &dyn ScalingGroups,
    config: &InterruptionConfig,
    instance_id: &str,
) -> Membership {
    let group = match groups.groups_of(&[instance_id.to_owned()]).await {
        Ok(found) => found.into_iter().next().map(|i| i.group),
        Err(e) => return Membership::Unknown(e.to_string()),
    };
    match group.as_deref().and_then(|g| config.pool_of_group(g)) {
        Some(pool) => Membership::Ours(pool.clone()),
        None => Membership::NotOurs { group },
    }
}
