//! One run: keep drains alive, protect busy agents' instances and release the idle ones,
//! finish drains, take over terminations no event handled, bring the run ledger up to date,
//! recycle botched and used-up agents, bring agents back from a warm pool
//! online, remove dead agents, publish what changed. Each step is a module of `steps`; this is their order.
//! Unknown CI state unprotects nothing, recycles nothing and completes no drain (only
//! deadlines still end drains).

use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::ports::Ports;
use shared::runner::Function;
use shared::{Error, Result};

use crate::config::ProtectConfig;
use crate::steps::dead_agents::remove_dead_agents;
use crate::steps::drains::{finish_drains, keep_drains_alive};
use crate::steps::ledger::update_ledger;
use crate::steps::observe::observe;
use crate::steps::orphans::adopt_orphans;
use crate::steps::protection::protect;
use crate::steps::recycling::{RecycleReport, recycle};
use crate::steps::report::{Outcomes, Response, report};
use crate::steps::returns::bring_back_returned;
use crate::steps::run_log::RunLog;

pub struct Protector {
    pub config: ProtectConfig,
    pub ports: Ports,
}

#[async_trait::async_trait]
impl Function for Protector {
    async fn handle(&self, event: Value) -> Result<Value> {
        if event
            .get("detail-type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "Scheduled Event")
        {
            return Err(Error::Event(format!(
                "protect-busy-agents runs on a schedule; it does not handle {} events",
                event["detail-type"]
            )));
        }
        let response = self.run(Utc::now()).await?;
        serde_json::to_value(response).map_err(|e| Error::Failed(e.to_string()))
    }
}

impl Protector {
    #[tracing::instrument(name = "protect_busy_agents", skip_all)]
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Response> {
        let (ports, config) = (&self.ports, &self.config);
        let mut log = RunLog::default();
        // Heartbeats first: a slow CI server or a failing describe cannot starve them.
        let pending = keep_drains_alive(ports, config.run_every, now, &mut log).await;
        let (seen, mut remembered) = observe(ports, config, &mut log).await?;
        let protection = protect(ports, config, &seen, &mut remembered, now, &mut log).await;
        let drains = finish_drains(ports, pending, config.run_every, &seen, now, &mut log).await;
        let orphans = adopt_orphans(
            ports,
            config,
            &seen,
            &drains,
            &mut remembered.memory,
            now,
            &mut log,
        )
        .await;
        let memory = &mut remembered.memory;
        let recycling = match update_ledger(ports, config, &seen, memory, now, &mut log).await {
            Ok(()) => recycle(ports, config, &seen, memory, now, &mut log).await,
            // A pass the ledger could not learn may end a failure streak: recycle nothing.
            Err(e) => {
                RecycleReport::skipped(format!("build history unknown: nothing recycled ({e})"))
            }
        };
        let back_in_service =
            bring_back_returned(ports, config, &seen, &drains, now, &mut log).await;
        let dead_agents_removed = remove_dead_agents(ports, config, &seen, now, &mut log).await;
        let outcomes = Outcomes {
            protection,
            recycling,
            drains,
            orphans,
            back_in_service,
            dead_agents_removed,
        };
        report(ports, &config.namespace, &seen, remembered, outcomes, log).await
    }
}

#[cfg(test)]
mod tests;
