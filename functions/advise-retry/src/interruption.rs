//! The interruption records handle-interruption seals in the checkpoint bucket, as
//! evidence that a build's instance was taken away.

use chrono::Duration;
use rules::retry::instance_id_in;
use shared::Result;
use shared::checkpoint::{CheckpointKey, Interruption, layout, read_claims};
use shared::ports::builds::FinishedBuild;
use shared::ports::store::ObjectStore;

/// An interruption record this close to the build's start or end matches it.
const SLACK_MINUTES: i64 = 15;

/// The interruption record sealed for the build's instance, described, when its time fits
/// the build: any executor's claim of the instance will do, since the instance was
/// interrupted under all of them. The agent name must contain the instance id.
pub async fn matching(store: &dyn ObjectStore, build: &FinishedBuild) -> Result<Option<String>> {
    let Some(instance) = build.agent.as_deref().and_then(instance_id_in) else {
        return Ok(None);
    };
    for claim in read_claims(store, instance).await? {
        let key = CheckpointKey::parse(&claim.key)?;
        let object = layout::interruption(&key, claim.attempt);
        let Some(body) = store.get(&object).await? else {
            continue;
        };
        let record: Interruption = match serde_json::from_slice(&body) {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(object = %object, error = %e, "corrupt interruption record ignored");
                continue;
            }
        };
        if record.instance_id == instance && fits(&record, build) {
            return Ok(Some(describe(instance, &record)));
        }
    }
    Ok(None)
}

fn fits(record: &Interruption, build: &FinishedBuild) -> bool {
    let slack = Duration::minutes(SLACK_MINUTES);
    build.started_at.is_none_or(|s| record.at >= s - slack)
        && build.finished_at.is_none_or(|f| record.at <= f + slack)
}

fn describe(instance: &str, record: &Interruption) -> String {
    format!(
        "interruption record: {instance} interrupted at {} (checkpoint {:?} attempt {}, {} tests kept)",
        record.at.to_rfc3339(),
        record.key,
        record.attempt,
        record.passed
    )
}
