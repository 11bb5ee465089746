//! The ports a function talks through: one small trait per outside system, each with the
//! data it speaks, so handlers name only ports and rules. `Ports` is the set a function
//! gets, built once per process, with every writing port wrapped in its dry-run adapter
//! under `--dry-run` (decided here and nowhere else).

pub mod builds;
pub mod ci;
pub mod groups;
pub mod instances;
pub mod metrics;
pub mod store;

use std::sync::Arc;

use crate::aws::groups::AutoScaling;
use crate::aws::instances::Ec2Instances;
use crate::aws::metrics::{CloudWatchMetrics, RecordingMetrics};
use crate::aws::store::{NoBucket, S3Store};
use crate::aws::{load_sdk_config, secrets::resolve_credentials};
use crate::config::CiConfig;
use crate::dry_run::{DryRunBuilds, DryRunCi, DryRunGroups, DryRunStore, WouldDo};
use crate::error::Result;

pub use builds::BuildControl;
pub use ci::CiServer;
pub use groups::ScalingGroups;
pub use instances::Instances;
pub use metrics::MetricsSink;
pub use store::ObjectStore;

pub struct Ports {
    /// The fleet's agents and queue.
    pub ci: Arc<dyn CiServer>,
    /// One finished build: its facts, its log, a re-queue.
    pub builds: Arc<dyn BuildControl>,
    pub groups: Arc<dyn ScalingGroups>,
    pub instances: Arc<dyn Instances>,
    pub store: Arc<dyn ObjectStore>,
    pub metrics: Arc<dyn MetricsSink>,
    /// Set in a dry run: what the wrapped ports skipped.
    pub would_do: Option<WouldDo>,
}

impl Ports {
    /// Clients for the CI server (credentials resolved, from Secrets Manager if configured),
    /// Auto Scaling, EC2, S3 (`bucket`; `None` for a function that keeps nothing there) and
    /// CloudWatch. Building a client makes no call, so unused ones cost nothing.
    pub async fn connect(
        ci_config: &CiConfig,
        bucket: Option<&str>,
        dry_run: bool,
    ) -> Result<Ports> {
        let sdk = load_sdk_config().await;
        let credentials = resolve_credentials(&ci_config.credentials, &sdk).await?;
        let (ci, builds) = crate::ci::connect(ci_config, credentials)?;
        let store: Arc<dyn ObjectStore> = match bucket {
            Some(bucket) => Arc::new(S3Store::new(S3Store::client(&sdk), bucket)),
            None => Arc::new(NoBucket),
        };
        let ports = Ports {
            ci,
            builds,
            groups: Arc::new(AutoScaling::new(aws_sdk_autoscaling::Client::new(&sdk))),
            instances: Arc::new(Ec2Instances::new(aws_sdk_ec2::Client::new(&sdk))),
            store,
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
            builds: Arc::new(DryRunBuilds {
                inner: self.builds,
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

    /// Whether the writing ports are dry-run wrappers.
    pub fn is_dry(&self) -> bool {
        self.would_do.is_some()
    }

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
}
