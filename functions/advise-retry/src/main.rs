//! advise-retry: wires configuration, clients and the handler; no business rules here.

mod act;
mod config;
mod decide;
mod facts;
mod handler;
mod interruption;
mod payload;
mod receive;
mod record;
mod report;
mod request;
mod signature;

use std::process::ExitCode;

use shared::aws::load_sdk_config;
use shared::aws::secrets::secret_string;
use shared::config::{Env, Secret};
use shared::ports::Ports;
use shared::{Result, runner};

use crate::config::{KeySource, RetryConfig, check_key};
use crate::handler::Handler;

#[tokio::main]
async fn main() -> ExitCode {
    // Run by hand without --event, it answers the Jenkins fixture (signed long ago: 401).
    let default_event = serde_json::from_str(include_str!("../events/function-url-jenkins.json"))
        .unwrap_or_default();
    runner::run("advise-retry", default_event, |dry_run| async move {
        let config = RetryConfig::from_env(&Env::from_process())?;
        let key = webhook_key(&config.key).await?;
        let ports = Ports::connect(&config.ci, Some(&config.bucket), dry_run).await?;
        tracing::info!(ci = %config.ci.kind, window_s = config.window.as_secs(), max_retries = config.policy.max_retries, dry_run, "advise-retry ready");
        Ok(Handler {
            config,
            key,
            builds: ports.builds,
            store: ports.store,
            metrics: ports.metrics,
            would_do: ports.would_do,
        })
    })
    .await
}

/// The webhook's HMAC key, inline or from Secrets Manager.
async fn webhook_key(source: &KeySource) -> Result<Secret> {
    match source {
        KeySource::Inline(key) => Ok(key.clone()),
        KeySource::SecretsManager(id) => {
            let sdk = load_sdk_config().await;
            let client = aws_sdk_secretsmanager::Client::new(&sdk);
            let key = secret_string(&client, id, "RETRY_WEBHOOK_SECRET").await?;
            check_key("RETRY_WEBHOOK_SECRET", key.expose())?;
            Ok(key)
        }
    }
}
