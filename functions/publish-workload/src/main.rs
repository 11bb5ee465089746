//! publish-workload: wires configuration, clients and the handler; no business rules here.

mod config;
mod handler;

use std::process::ExitCode;

use shared::config::Env;
use shared::events::scheduled_event_now;
use shared::ports::Ports;
use shared::runner;

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
        // Reads only the CI server and writes only metrics: no bucket.
        let ports = Ports::connect(&config.ci, None, dry_run).await?;
        tracing::info!(ci = %config.ci.kind, url = %config.ci.url, pools = config.pools.len(), polls = config.polls_per_invocation(), dry_run, "publish-workload ready");
        Ok(Publisher {
            config,
            ci: ports.ci,
            metrics: ports.metrics,
            dry_run,
            clock: Default::default(),
        })
    })
    .await
}
