//! publish-workload: wires configuration, clients and the handler; no business rules here.

mod config;
mod handler;

use std::process::ExitCode;
use std::sync::Arc;

use shared::aws::metrics::{CloudWatchMetrics, MetricsSink, RecordingMetrics};
use shared::aws::{load_sdk_config, secrets::resolve_credentials};
use shared::config::Env;
use shared::events::scheduled_event_now;
use shared::runner::Launch;
use shared::{Result, ci, telemetry};

use crate::config::PublishConfig;
use crate::handler::Publisher;

const NAME: &str = "publish-workload";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let launch = match Launch::from_args(NAME) {
        Ok(launch) => launch,
        Err(code) => return code,
    };
    let publisher = match build(launch.dry_run).await {
        Ok(publisher) => Arc::new(publisher),
        Err(e) => return launch.fail(&e),
    };
    let default_event = serde_json::to_value(scheduled_event_now(
        "arn:aws:events:local:000000000000:rule/ci-fleet-publish-workload",
    ))
    .unwrap_or_default();
    launch
        .serve(default_event, move |event| {
            let publisher = publisher.clone();
            async move { publisher.handle(event).await }
        })
        .await
}

async fn build(dry_run: bool) -> Result<Publisher> {
    let config = PublishConfig::from_env(&Env::from_process())?;
    let sdk = load_sdk_config().await;
    let credentials = resolve_credentials(&config.ci.credentials, &sdk).await?;
    let ci = ci::connect(&config.ci, credentials)?;
    let metrics: Arc<dyn MetricsSink> = if dry_run {
        Arc::new(RecordingMetrics::default())
    } else {
        Arc::new(CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(
            &sdk,
        )))
    };
    tracing::info!(ci = %config.ci.kind, url = %config.ci.url, pools = config.pools.len(), polls = config.polls_per_invocation(), dry_run, "publish-workload ready");
    Ok(Publisher {
        config,
        ci,
        metrics,
        dry_run,
    })
}
