//! The ports a function talks through, built once per process from the SDK's environment,
//! with every destructive one wrapped in its dry-run adapter under `--dry-run`.

use std::sync::Arc;

use crate::aws::groups::{AutoScaling, ScalingGroups};
use crate::aws::instances::{Ec2Instances, Instances};
use crate::aws::metrics::{CloudWatchMetrics, MetricsSink, RecordingMetrics};
use crate::aws::store::{ObjectStore, S3Store};
use crate::aws::{load_sdk_config, secrets::resolve_credentials};
use crate::ci::{self, CiServer};
use crate::config::CiConfig;
use crate::dry_run::{DryRunCi, DryRunGroups, DryRunStore, WouldDo};
use crate::error::Result;

pub struct Ports {
    pub ci: Arc<dyn CiServer>,
    pub groups: Arc<dyn ScalingGroups>,
    pub instances: Arc<dyn Instances>,
    pub store: Arc<dyn ObjectStore>,
    pub metrics: Arc<dyn MetricsSink>,
    /// Set in a dry run: what the wrapped ports skipped.
    pub would_do: Option<WouldDo>,
}

impl Ports {
    /// The end both scheduled and event handlers share: publish the run's counts (a
    /// failure is one more error; nothing done is undone) and, in a dry run, return what
    /// the wrapped ports skipped.
    pub async fn finish_run(
        &self,
        namespace: &str,
        datums: &[rules::Datum],
        errors: &mut Vec<String>,
    ) -> Vec<String> {
        if !datums.is_empty()
            && let Err(e) = self.metrics.publish(namespace, datums).await
        {
            errors.push(e.to_string());
        }
        self.would_do
            .as_ref()
            .map(WouldDo::actions)
            .unwrap_or_default()
    }

    /// Clients for the CI server (credentials resolved, from Secrets Manager if configured),
    /// Auto Scaling, EC2, S3 (`bucket`) and CloudWatch.
    pub async fn connect(ci_config: &CiConfig, bucket: &str, dry_run: bool) -> Result<Ports> {
        let sdk = load_sdk_config().await;
        let credentials = resolve_credentials(&ci_config.credentials, &sdk).await?;
        let ports = Ports {
            ci: ci::connect(ci_config, credentials)?,
            groups: Arc::new(AutoScaling::new(aws_sdk_autoscaling::Client::new(&sdk))),
            instances: Arc::new(Ec2Instances::new(aws_sdk_ec2::Client::new(&sdk))),
            store: Arc::new(S3Store::new(S3Store::client(&sdk), bucket)),
            metrics: Arc::new(CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(
                &sdk,
            ))),
            would_do: None,
        };
        Ok(if dry_run { ports.dry() } else { ports })
    }

    /// Reads pass through; writes are recorded in `would_do` and not made.
    pub fn dry(self) -> Ports {
        let would_do = WouldDo::default();
        Ports {
            ci: Arc::new(DryRunCi {
                inner: self.ci,
                would_do: would_do.clone(),
            }),
            groups: Arc::new(DryRunGroups {
                inner: self.groups,
                would_do: would_do.clone(),
            }),
            instances: self.instances,
            store: Arc::new(DryRunStore {
                inner: self.store,
                would_do: would_do.clone(),
            }),
            metrics: Arc::new(RecordingMetrics::default()),
            would_do: Some(would_do),
        }
    }
}
