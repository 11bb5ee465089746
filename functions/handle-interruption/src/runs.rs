//! The runs a spot interruption takes down, recorded by run: a Jenkins Pipeline run names
//! no agent, so advise-retry could not tie its failure to the interrupted instance; the
//! agent's executors name the run while it still runs, at the warning.

use chrono::{DateTime, Utc};
use shared::checkpoint::{RunInterruption, layout};
use shared::ports::{CiServer, ObjectStore};

use crate::agent::Offline;

/// Writes one record per run on the agent; the same record again on a redelivery. Returns
/// the runs recorded, or why they could not be (an error the retry redoes).
pub async fn record_interrupted_runs(
    ci: &dyn CiServer,
    store: &dyn ObjectStore,
    offline: &Offline,
    instance_id: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Vec<String>, String> {
    let Offline::Agent { name, .. } = offline else {
        return Ok(Vec::new());
    };
    let runs = (ci.agent_runs(name).await).map_err(|e| format!("the agent's runs: {e}"))?;
    for run in &runs {
        let record = RunInterruption {
            run: run.clone(),
            instance_id: instance_id.to_owned(),
            agent: name.clone(),
            at,
            reason: reason.to_owned(),
        };
        let body = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
        (store.put(&layout::run_interruption(run), body).await)
            .map_err(|e| format!("the interruption record of {run}: {e}"))?;
    }
    if !runs.is_empty() {
        tracing::info!(agent = %name, runs = runs.len(), "interrupted runs recorded");
    }
    Ok(runs)
}
