//! handle-interruption: wires configuration, clients and the handler; no business rules here.

mod config;
mod events;
mod handler;

use std::process::ExitCode;
use std::sync::Arc;

use shared::aws::groups::{AutoScaling, ScalingGroups};
use shared::aws::instances::Ec2Instances;
use shared::aws::metrics::{CloudWatchMetrics, MetricsSink, RecordingMetrics};
use shared::aws::store::{ObjectStore, S3Store};
use shared::aws::{load_sdk_config, secrets::resolve_credentials};
use shared::ci::CiServer;
use shared::config::Env;
use shared::dry_run::{DryRunCi, DryRunGroups, DryRunStore, WouldDo};
use shared::runner::Launch;
use shared::{Result, ci, telemetry};

use crate::config::InterruptionConfig;
use crate::handler::Handler;

const NAME: &str = "handle-interruption";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let launch = match Launch::from_args(NAME) {
        Ok(launch) => launch,
        Err(code) => return code,
    };
    let handler = match build(launch.dry_run).await {
        Ok(handler) => Arc::new(handler),
        Err(e) => return launch.fail(&e),
    };
    // Run by hand without --event, it handles the spot warning fixture's shape for a made-up instance.
    let default_event =
        serde_json::from_str(include_str!("../events/spot-interruption-warning.json"))
            .unwrap_or_default();
    launch
        .serve(default_event, move |event| {
            let handler = handler.clone();
            async move { handler.handle(event).await }
        })
        .await
}

async fn build(dry_run: bool) -> Result<Handler> {
    let config = InterruptionConfig::from_env(&Env::from_process())?;
    let sdk = load_sdk_config().await;
    let credentials = resolve_credentials(&config.ci.credentials, &sdk).await?;
    let mut ci: Arc<dyn CiServer> = ci::connect(&config.ci, credentials)?;
    let mut groups: Arc<dyn ScalingGroups> =
        Arc::new(AutoScaling::new(aws_sdk_autoscaling::Client::new(&sdk)));
    let mut store: Arc<dyn ObjectStore> =
        Arc::new(S3Store::new(S3Store::client(&sdk), config.bucket.clone()));
    let instances = Arc::new(Ec2Instances::new(aws_sdk_ec2::Client::new(&sdk)));
    let mut metrics: Arc<dyn MetricsSink> = Arc::new(CloudWatchMetrics::new(
        aws_sdk_cloudwatch::Client::new(&sdk),
    ));
    let would_do = dry_run.then(WouldDo::default);
    if let Some(would_do) = &would_do {
        ci = Arc::new(DryRunCi {
            inner: ci,
            would_do: would_do.clone(),
        });
        groups = Arc::new(DryRunGroups {
            inner: groups,
            would_do: would_do.clone(),
        });
        store = Arc::new(DryRunStore {
            inner: store,
            would_do: would_do.clone(),
        });
        metrics = Arc::new(RecordingMetrics::default());
    }
    tracing::info!(ci = %config.ci.kind, pools = config.pools.len(), hook = %config.drain_hook, dry_run, "handle-interruption ready");
    Ok(Handler {
        config,
        ci,
        groups,
        instances,
        store,
        metrics,
        would_do,
    })
}
