//! publish-workload: wires configuration, clients and the handler; no business rules here.

mod config;
mod handler;

use std::process::ExitCode;
use std::sync::Arc;

use shared::aws::metrics::{CloudWatchMetrics, MetricsSink, RecordingMetrics};
use shared::aws::{load_sdk_config, secrets::resolve_credentials};
use shared::config::Env;
use shared::events::scheduled_event_now;
use shared::{ci, runner};

use crate::config::PublishConfig;
use crate::handler::Publisher;

#[tokio::main]
async fn main() -> ExitCode {
    let default_event = serde_json::to_value(scheduled_event_now(
        "arn:aws:events:local:000000000000:rule/ci-fleet-publish-workload",
    ))
    .unwrap_or_default();
    runner::run("publish-workload", default_event, |dry_run| async move {
        let config = PublishConfig::from_env(&Env::from_process())?;
        let sdk = load_sdk_config().await;
        let credentials = resolve_credentials(&config.ci.credentials, &sdk).await?;
        let ci = ci::connect(&config.ci, credentials)?;
        // Reads only the CI server and writes only metrics: no other port to build.
        let metrics: Arc<dyn MetricsSink> = if dry_run {
            Arc::new(RecordingMetrics::default())
        } else {
            Arc::new(CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&sdk)))
        };
        tracing::info!(ci = %config.ci.kind, url = %config.ci.url, pools = config.pools.len(), polls = config.polls_per_invocation(), dry_run, "publish-workload ready");
        Ok(Publisher { config, ci, metrics, dry_run })
    })
    .await
}
