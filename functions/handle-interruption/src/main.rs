//! handle-interruption: wires configuration, clients and the handler; no business rules here.

mod agent;
mod checkpoint;
mod config;
mod events;
mod handler;
mod lifecycle;
mod membership;
mod report;
mod runs;

use std::process::ExitCode;

use shared::config::Env;
use shared::ports::Ports;
use shared::runner;

use crate::config::InterruptionConfig;
use crate::handler::Handler;

#[tokio::main]
async fn main() -> ExitCode {
    // Run by hand without --event, it handles the spot warning fixture (a made-up instance).
    let default_event =
        serde_json::from_str(include_str!("../events/spot-interruption-warning.json"))
            .unwrap_or_default();
    runner::run("handle-interruption", default_event, |dry_run| async move {
        let config = InterruptionConfig::from_env(&Env::from_process())?;
        let ports = Ports::connect(&config.ci, Some(&config.bucket), dry_run).await?;
        tracing::info!(ci = %config.ci.kind, pools = config.pools.len(), hook = %config.drain_hook, dry_run, "handle-interruption ready");
        Ok(Handler { config, ports })
    })
    .await
}
