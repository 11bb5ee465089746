//! The run ledger brought up to date (`rules::ledger`): which run ran on which agent,
//! from this run's snapshot, and how the runs no agent executes any more ended. Jenkins
//! Pipeline runs name no agent; the executors that ran them do, so recycling's history
//! comes from here. Only for recycling, the one step that reads it.

use chrono::{DateTime, Utc};
use shared::ports::Ports;

use crate::config::ProtectConfig;
use crate::memory::Memory;
use crate::steps::observe::Seen;
use crate::steps::run_log::RunLog;

/// Samples the agents' runs and asks how the finished ones ended (one small read each,
/// at most `ENDS_PER_PASS` a run). A CI server that cannot answer leaves them to ask
/// again next run (nothing is forgotten for an outage), and says so: the history is
/// incomplete this run.
pub async fn update_ledger(
    ports: &Ports,
    config: &ProtectConfig,
    seen: &Seen,
    memory: &mut Memory,
    now: DateTime<Utc>,
    log: &mut RunLog,
) -> Result<(), String> {
    let Some(snapshot) = seen.snapshot.as_ref().filter(|_| config.recycle.enabled) else {
        return Ok(());
    };
    memory.ledger.sample(&snapshot.agents, now);
    let ask = memory.ledger.to_ask(&snapshot.agents);
    let asked = match ask.is_empty() {
        true => Ok(Vec::new()),
        false => ports.ci.run_states(&ask).await,
    };
    let learnt = match asked {
        Ok(states) => {
            for (run, state) in states {
                memory.ledger.learn(&run, state);
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, runs = ask.len(), "how runs ended is unknown; asked again next run");
            log.problem(format!("run ledger: {e}"));
            Err(e.to_string())
        }
    };
    memory.ledger.prune(now);
    learnt
}

#[cfg(test)]
mod tests;
