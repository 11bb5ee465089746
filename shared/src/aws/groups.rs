//! The Auto Scaling adapter of the `ScalingGroups` port.

use crate::error::{Error, Result};
use crate::ports::groups::{
    Completion, Group, GroupInstance, LifecycleAction, MAX_PROTECTION_IDS, ScalingGroups,
};
use async_trait::async_trait;
use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};

/// `DescribeAutoScalingGroups` takes at most 100 names a call.
const MAX_GROUP_NAMES: usize = 100;

pub struct AutoScaling {
    client: Client,
}

impl AutoScaling {
    pub fn new(client: Client) -> AutoScaling {
        AutoScaling { client }
    }

    /// The instances in the group's warm pool, every page.
    async fn warm_pool(&self, group: &str) -> Result<Vec<GroupInstance>> {
        let mut parked = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .client
                .describe_warm_pool()
                .auto_scaling_group_name(group)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| Error::aws("DescribeWarmPool", e))?;
            parked.extend(page.instances().iter().map(|i| {
                GroupInstance {
                    instance_id: i.instance_id().unwrap_or_default().to_owned(),
                    group: group.to_owned(),
                    lifecycle_state: (i.lifecycle_state())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    protected_from_scale_in: false,
                    healthy: true,
                }
            }));
            next = page.next_token().map(str::to_owned);
            if next.is_none() {
                return Ok(parked);
            }
        }
    }
}

/// Auto Scaling answers a completion or heartbeat for an action that is no longer
/// pending (completed, expired, instance gone) with "No active Lifecycle Action found".
fn no_longer_pending<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(|e| e.message())
        .is_some_and(|m| m.contains("No active Lifecycle Action"))
}

#[async_trait]
impl ScalingGroups for AutoScaling {
    #[tracing::instrument(name = "autoscaling.describe_groups", skip_all, fields(groups = names.len()))]
    async fn describe_groups(&self, names: &[String]) -> Result<Vec<Group>> {
        let mut groups = Vec::new();
        for chunk in names.chunks(MAX_GROUP_NAMES) {
            let mut pages = self
                .client
                .describe_auto_scaling_groups()
                .set_auto_scaling_group_names(Some(chunk.to_vec()))
                .max_records(100)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| Error::aws("DescribeAutoScalingGroups", e))?;
                for group in page.auto_scaling_groups() {
                    let name = group
                        .auto_scaling_group_name()
                        .unwrap_or_default()
                        .to_owned();
                    let instances = group
                        .instances()
                        .iter()
                        .map(|i| GroupInstance {
                            instance_id: i.instance_id().unwrap_or_default().to_owned(),
                            group: name.clone(),
                            lifecycle_state: i
                                .lifecycle_state()
                                .map(|s| s.as_str().to_owned())
                                .unwrap_or_default(),
                            protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
                            healthy: i
                                .health_status()
                                .is_none_or(|h| h.eq_ignore_ascii_case("healthy")),
                        })
                        .collect();
                    let warm_pool = match group.warm_pool_configuration() {
                        Some(_) => self.warm_pool(&name).await?,
                        None => Vec::new(),
                    };
                    groups.push(Group {
                        name,
                        desired_capacity: group.desired_capacity().unwrap_or_default(),
                        min_size: group.min_size().unwrap_or_default(),
                        max_size: group.max_size().unwrap_or_default(),
                        instances,
                        warm_pool,
                    });
                }
            }
        }
        Ok(groups)
    }

    #[tracing::instrument(name = "autoscaling.groups_of", skip_all)]
    async fn groups_of(&self, instance_ids: &[String]) -> Result<Vec<GroupInstance>> {
        let mut found = Vec::new();
        for chunk in instance_ids.chunks(50) {
            let output = self
                .client
                .describe_auto_scaling_instances()
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("DescribeAutoScalingInstances", e))?;
            found.extend(output.auto_scaling_instances().iter().map(|i| {
                GroupInstance {
                    instance_id: i.instance_id().unwrap_or_default().to_owned(),
                    group: i.auto_scaling_group_name().unwrap_or_default().to_owned(),
                    lifecycle_state: i.lifecycle_state().unwrap_or_default().to_owned(),
                    protected_from_scale_in: i.protected_from_scale_in().unwrap_or(false),
                    healthy: i
                        .health_status()
                        .is_none_or(|h| h.eq_ignore_ascii_case("healthy")),
                }
            }));
        }
        Ok(found)
    }

    #[tracing::instrument(name = "autoscaling.set_protection", skip(self, instance_ids), fields(instances = instance_ids.len()))]
    async fn set_protection(
        &self,
        group: &str,
        instance_ids: &[String],
        protected: bool,
    ) -> Result<usize> {
        let mut calls = 0;
        for chunk in instance_ids.chunks(MAX_PROTECTION_IDS) {
            self.client
                .set_instance_protection()
                .auto_scaling_group_name(group)
                .set_instance_ids(Some(chunk.to_vec()))
                .protected_from_scale_in(protected)
                .send()
                .await
                .map_err(|e| Error::aws("SetInstanceProtection", e))?;
            calls += 1;
        }
        Ok(calls)
    }

    #[tracing::instrument(name = "autoscaling.complete_lifecycle_action", skip(self))]
    async fn complete_lifecycle_action(&self, action: &LifecycleAction) -> Result<Completion> {
        let result = self
            .client
            .complete_lifecycle_action()
            .auto_scaling_group_name(&action.group)
            .lifecycle_hook_name(&action.hook)
            .instance_id(&action.instance_id)
            .set_lifecycle_action_token(action.token.clone())
            .lifecycle_action_result("CONTINUE")
            .send()
            .await;
        match result {
            Ok(_) => Ok(Completion::Completed),
            Err(e) if no_longer_pending(&e) => Ok(Completion::NoLongerPending),
            Err(e) => Err(Error::aws("CompleteLifecycleAction", e)),
        }
    }

    #[tracing::instrument(name = "autoscaling.record_heartbeat", skip(self))]
    async fn record_heartbeat(&self, action: &LifecycleAction) -> Result<Completion> {
        let result = self
            .client
            .record_lifecycle_action_heartbeat()
            .auto_scaling_group_name(&action.group)
            .lifecycle_hook_name(&action.hook)
            .instance_id(&action.instance_id)
            .set_lifecycle_action_token(action.token.clone())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Completion::Completed),
            Err(e) if no_longer_pending(&e) => Ok(Completion::NoLongerPending),
            Err(e) => Err(Error::aws("RecordLifecycleActionHeartbeat", e)),
        }
    }

    async fn hook_heartbeat_timeout(&self, group: &str, hook: &str) -> Result<Option<u32>> {
        let output = self
            .client
            .describe_lifecycle_hooks()
            .auto_scaling_group_name(group)
            .lifecycle_hook_names(hook)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeLifecycleHooks", e))?;
        Ok(output
            .lifecycle_hooks()
            .first()
            .and_then(|h| h.heartbeat_timeout())
            .map(|t| t.max(0) as u32))
    }

    async fn set_unhealthy(&self, instance_id: &str) -> Result<()> {
        self.client
            .set_instance_health()
            .instance_id(instance_id)
            .health_status("Unhealthy")
            .should_respect_grace_period(false)
            .send()
            .await
            .map_err(|e| Error::aws("SetInstanceHealth", e))?;
        Ok(())
    }

    async fn terminate(&self, instance_id: &str, decrement_desired_capacity: bool) -> Result<()> {
        self.client
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance_id)
            .should_decrement_desired_capacity(decrement_desired_capacity)
            .send()
            .await
            .map_err(|e| Error::aws("TerminateInstanceInAutoScalingGroup", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::operation::complete_lifecycle_action::{
        CompleteLifecycleActionError, CompleteLifecycleActionOutput,
    };
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::describe_warm_pool::DescribeWarmPoolOutput;
    use aws_sdk_autoscaling::operation::set_instance_protection::SetInstanceProtectionOutput;
    use aws_sdk_autoscaling::types::{
        AutoScalingGroup, Instance, LifecycleState, WarmPoolConfiguration,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn action() -> LifecycleAction {
        LifecycleAction {
            group: "ci-linux".into(),
            hook: "ci-fleet-drain".into(),
            instance_id: "i-0abc".into(),
            token: Some("tok-1".into()),
        }
    }

    #[tokio::test]
    async fn protection_changes_go_in_calls_of_at_most_fifty_ids() {
        let rule = mock!(Client::set_instance_protection)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("ci-linux")
                    && r.instance_ids().len() <= MAX_PROTECTION_IDS
                    && r.protected_from_scale_in() == Some(false)
            })
            .then_output(|| SetInstanceProtectionOutput::builder().build());
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&rule]);
        let ids: Vec<String> = (0..120).map(|i| format!("i-{i:08x}")).collect();
        let calls = AutoScaling::new(client)
            .set_protection("ci-linux", &ids, false)
            .await
            .expect("succeeds");
        assert_eq!((calls, rule.num_calls()), (3, 3));
    }

    #[tokio::test]
    async fn completes_with_continue_and_the_token() {
        let rule = mock!(Client::complete_lifecycle_action)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("ci-linux")
                    && r.lifecycle_hook_name() == Some("ci-fleet-drain")
                    && r.instance_id() == Some("i-0abc")
                    && r.lifecycle_action_token() == Some("tok-1")
                    && r.lifecycle_action_result() == Some("CONTINUE")
            })
            .then_output(|| CompleteLifecycleActionOutput::builder().build());
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&rule]);
        assert_eq!(
            AutoScaling::new(client)
                .complete_lifecycle_action(&action())
                .await
                .expect("completes"),
            Completion::Completed
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_completion_that_is_no_longer_pending_is_not_an_error() {
        let gone = mock!(Client::complete_lifecycle_action).then_error(|| {
            CompleteLifecycleActionError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("No active Lifecycle Action found with token tok-1")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&gone]);
        assert_eq!(
            AutoScaling::new(client)
                .complete_lifecycle_action(&action())
                .await
                .expect("not an error"),
            Completion::NoLongerPending
        );

        let throttled = mock!(Client::complete_lifecycle_action).then_error(|| {
            CompleteLifecycleActionError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&throttled]);
        let error = AutoScaling::new(client)
            .complete_lifecycle_action(&action())
            .await
            .expect_err("a real failure");
        assert!(
            error
                .to_string()
                .starts_with("AWS CompleteLifecycleAction:"),
            "{error}"
        );
    }

    fn group(name: &str, warm_pool: bool) -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .auto_scaling_group_name(name)
            .instances(
                Instance::builder()
                    .instance_id(format!("i-{name}"))
                    .lifecycle_state(LifecycleState::InService)
                    .build(),
            )
            .set_warm_pool_configuration(
                warm_pool.then(|| WarmPoolConfiguration::builder().build()),
            )
            .build()
    }

    /// A group with a warm pool is read with its parked instances, every page; a group
    /// without one costs no DescribeWarmPool.
    #[tokio::test]
    async fn a_groups_warm_pool_is_read_with_it_every_page() {
        let groups = mock!(Client::describe_auto_scaling_groups).then_output(|| {
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(group("gpu", true))
                .auto_scaling_groups(group("linux", false))
                .build()
        });
        let parked = |id: &str| {
            Instance::builder()
                .instance_id(id)
                .lifecycle_state(LifecycleState::WarmedStopped)
                .build()
        };
        let first = mock!(Client::describe_warm_pool)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("gpu") && r.next_token().is_none()
            })
            .then_output(move || {
                DescribeWarmPoolOutput::builder()
                    .instances(parked("i-p1"))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::describe_warm_pool)
            .match_requests(|r| {
                r.auto_scaling_group_name() == Some("gpu") && r.next_token() == Some("page-2")
            })
            .then_output(move || {
                DescribeWarmPoolOutput::builder()
                    .instances(parked("i-p2"))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_autoscaling,
            RuleMode::MatchAny,
            [&groups, &first, &second]
        );
        let read = AutoScaling::new(client)
            .describe_groups(&["gpu".into(), "linux".into()])
            .await
            .expect("reads");
        let parked: Vec<(&str, &str)> = read[0]
            .warm_pool
            .iter()
            .map(|i| (i.instance_id.as_str(), i.lifecycle_state.as_str()))
            .collect();
        assert_eq!(
            parked,
            vec![("i-p1", "Warmed:Stopped"), ("i-p2", "Warmed:Stopped")]
        );
        assert!(read[1].warm_pool.is_empty());
        assert_eq!(
            (first.num_calls(), second.num_calls()),
            (1, 1),
            "none for linux"
        );
    }
}
