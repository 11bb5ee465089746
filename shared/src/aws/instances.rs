//! The EC2 adapter of the `Instances` port: DescribeInstances, always filtered by id.

use async_trait::async_trait;
use aws_sdk_ec2::types::Filter;
use chrono::{TimeZone, Utc};

use crate::error::{Error, Result};
use crate::ports::instances::Instances;
use rules::InstanceInfo;

pub struct Ec2Instances {
    client: aws_sdk_ec2::Client,
}

impl Ec2Instances {
    pub fn new(client: aws_sdk_ec2::Client) -> Ec2Instances {
        Ec2Instances { client }
    }
}

#[async_trait]
impl Instances for Ec2Instances {
    #[tracing::instrument(name = "ec2.describe_instances", skip_all, fields(instances = instance_ids.len()))]
    async fn describe(&self, instance_ids: &[String]) -> Result<Vec<InstanceInfo>> {
        let mut found = Vec::new();
        // A filter (not InstanceIds) so an id that vanished does not fail the whole call.
        for chunk in instance_ids.chunks(199) {
            let filter = Filter::builder()
                .name("instance-id")
                .set_values(Some(chunk.to_vec()))
                .build();
            let mut pages = self
                .client
                .describe_instances()
                .filters(filter)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| Error::aws("DescribeInstances", e))?;
                for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                    found.push(InstanceInfo {
                        instance_id: instance.instance_id().unwrap_or_default().to_owned(),
                        state: instance
                            .state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_owned())
                            .unwrap_or_default(),
                        launch_time: instance
                            .launch_time()
                            .and_then(|t| Utc.timestamp_millis_opt(t.to_millis().ok()?).single()),
                        private_dns_name: instance
                            .private_dns_name()
                            .unwrap_or_default()
                            .to_owned(),
                        tags: instance
                            .tags()
                            .iter()
                            .filter_map(|t| {
                                Some((
                                    t.key()?.to_owned(),
                                    t.value().unwrap_or_default().to_owned(),
                                ))
                            })
                            .collect(),
                    });
                }
            }
        }
        Ok(found)
    }
}
