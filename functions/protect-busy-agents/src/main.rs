//! protect-busy-agents: wires configuration, clients and the handler; no business rules here.

mod config;
mod handler;
mod memory;
mod steps;
#[cfg(test)]
mod test_world;

use std::process::ExitCode;

use shared::config::Env;
use shared::events::scheduled_event_now;
use shared::ports::Ports;
use shared::runner;

use crate::config::ProtectConfig;
use crate::handler::Protector;

#[tokio::main]
async fn main() -> ExitCode {
    let default_event = serde_json::to_value(scheduled_event_now(
        "arn:aws:events:local:000000000000:rule/ci-fleet-protect-busy-agents",
    ))
    .unwrap_or_default();
    runner::run("protect-busy-agents", default_event, |dry_run| async move {
        let config = ProtectConfig::from_env(&Env::from_process())?;
        let ports = Ports::connect(&config.ci, Some(&config.bucket), dry_run).await?;
        tracing::info!(ci = %config.ci.kind, pools = config.pools.len(), dry_run, "protect-busy-agents ready");
        Ok(Protector { config, ports })
    })
    .await
}
