//! advise-retry: wires configuration, clients and the handler; no business rules here.

mod config;
mod handler;
mod payload;
mod record;
mod request;
mod signature;

use std::process::ExitCode;
use std::sync::Arc;

use shared::aws::load_sdk_config;
use shared::aws::metrics::{CloudWatchMetrics, MetricsSink, RecordingMetrics};
use shared::aws::secrets::{resolve_credentials, secret_string};
use shared::aws::store::{ObjectStore, S3Store};
use shared::ci::BuildControl;
use shared::config::Env;
use shared::dry_run::{DryRunBuilds, DryRunStore, WouldDo};
use shared::runner::Launch;
use shared::{Result, ci, telemetry};

use crate::config::{KeySource, RetryConfig, check_key};
use crate::handler::Handler;

const NAME: &str = "advise-retry";

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
    // Run by hand without --event, it answers the Jenkins fixture (signed long ago: 401).
    let default_event = serde_json::from_str(include_str!("../events/function-url-jenkins.json"))
        .unwrap_or_default();
    launch
        .serve(default_event, move |event| {
            let handler = handler.clone();
            async move { handler.handle(event).await }
        })
        .await
}

async fn build(dry_run: bool) -> Result<Handler> {
    let config = RetryConfig::from_env(&Env::from_process())?;
    let sdk = load_sdk_config().await;
    let credentials = resolve_credentials(&config.ci.credentials, &sdk).await?;
    let key = match &config.key {
        KeySource::Inline(key) => key.clone(),
        KeySource::SecretsManager(id) => {
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            let key = secret_string(&client, id, "RETRY_WEBHOOK_SECRET").await?;
            check_key("RETRY_WEBHOOK_SECRET", key.expose())?;
            key
        }
    };
    let mut builds: Arc<dyn BuildControl> = ci::connect_builds(&config.ci, credentials)?;
    let mut store: Arc<dyn ObjectStore> =
        Arc::new(S3Store::new(S3Store::client(&sdk), config.bucket.clone()));
    let mut metrics: Arc<dyn MetricsSink> = Arc::new(CloudWatchMetrics::new(
        aws_sdk_cloudwatch::Client::new(&sdk),
    ));
    let would_do = dry_run.then(WouldDo::default);
    if let Some(would_do) = &would_do {
        builds = Arc::new(DryRunBuilds {
            inner: builds,
            would_do: would_do.clone(),
        });
        store = Arc::new(DryRunStore {
            inner: store,
            would_do: would_do.clone(),
        });
        metrics = Arc::new(RecordingMetrics::default());
    }
    tracing::info!(ci = %config.ci.kind, window_s = config.window.as_secs(), max_retries = config.policy.max_retries, dry_run, "advise-retry ready");
    Ok(Handler {
        config,
        key,
        builds,
        store,
        metrics,
        would_do,
    })
}
