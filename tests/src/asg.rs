//! Auto Scaling fixtures on the local stack: a group with a terminate hook, its
//! instances' lifecycle states, and the moto extension's record of lifecycle actions.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_autoscaling::types::LaunchTemplateSpecification;
use aws_sdk_ec2::types::{InstanceType, RequestLaunchTemplateData};
use serde_json::Value;

use crate::local_aws::LocalAws;
use crate::process::http_request;

/// Group names are unique names (the lifecycle tests take it from here).
pub use crate::names::unique;

pub const HOOK: &str = "ci-fleet-drain";
pub const TERMINATING: &str = "autoscaling:EC2_INSTANCE_TERMINATING";

#[derive(Debug)]
pub struct Clients {
    pub asg: aws_sdk_autoscaling::Client,
    pub ec2: aws_sdk_ec2::Client,
}

pub async fn clients(aws: &LocalAws) -> Clients {
    let sdk = aws.sdk_config().await;
    Clients {
        asg: aws_sdk_autoscaling::Client::new(&sdk),
        ec2: aws_sdk_ec2::Client::new(&sdk),
    }
}

/// A launch template and a group of `size` instances with a terminate hook; returns the
/// instance ids, sorted.
pub async fn group_with_hook(c: &Clients, name: &str, size: i32) -> Vec<String> {
    let template = format!("{name}-lt");
    c.ec2
        .create_launch_template()
        .launch_template_name(&template)
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id("ami-12c6146b")
                .instance_type(InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .expect("CreateLaunchTemplate");
    c.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .min_size(0)
        .max_size(10)
        .desired_capacity(size)
        .availability_zones("us-east-1a")
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_name(&template)
                .build(),
        )
        .send()
        .await
        .expect("CreateAutoScalingGroup");
    c.asg
        .put_lifecycle_hook()
        .auto_scaling_group_name(name)
        .lifecycle_hook_name(HOOK)
        .lifecycle_transition(TERMINATING)
        .heartbeat_timeout(600)
        .default_result("CONTINUE")
        .send()
        .await
        .expect("PutLifecycleHook");
    let ids: Vec<String> = states(c, name).await.into_keys().collect();
    assert_eq!(ids.len(), size as usize, "{ids:?}");
    ids
}

/// Instance id -> lifecycle state of the group's instances.
pub async fn states(c: &Clients, name: &str) -> BTreeMap<String, String> {
    let out = c
        .asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .expect("DescribeAutoScalingGroups");
    out.auto_scaling_groups()
        .iter()
        .flat_map(|g| g.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.lifecycle_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

pub async fn ec2_state(c: &Clients, instance_id: &str) -> String {
    let out = c
        .ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .expect("DescribeInstances");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find_map(|i| i.state()?.name().map(|n| n.as_str().to_string()))
        .unwrap_or_else(|| panic!("no EC2 instance {instance_id}"))
}

/// The extension's record of this group's lifecycle actions (`GET /_ext/lifecycle-actions`).
pub fn actions(aws: &LocalAws, group: &str) -> Vec<Value> {
    let url = format!("{}/_ext/lifecycle-actions?group={group}", aws.moto_url());
    let (status, body) = http_request("GET", &url, None, Duration::from_secs(10))
        .expect("GET /_ext/lifecycle-actions");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<Vec<Value>>(&body).expect("a JSON list of actions")
}

pub fn action_for<'a>(actions: &'a [Value], instance_id: &str) -> &'a Value {
    actions
        .iter()
        .find(|a| a["instance_id"] == instance_id)
        .unwrap_or_else(|| panic!("no lifecycle action for {instance_id} in {actions:#?}"))
}
