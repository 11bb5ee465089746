//! The interruption records handle-interruption seals in the checkpoint bucket, as
//! evidence that a build's instance was taken away.

use chrono::{DateTime, Duration, Utc};
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
    within_run(record.at, build.started_at, build.finished_at)
}

/// Whether `at` falls within the run, give or take the slack. Checked: a CI timestamp near
/// chrono's limits must not panic (R18); past the limit, the window is open on that side.
fn within_run(
    at: DateTime<Utc>,
    started: Option<DateTime<Utc>>,
    finished: Option<DateTime<Utc>>,
) -> bool {
    let slack = Duration::minutes(SLACK_MINUTES);
    let from = |s: DateTime<Utc>| s.checked_sub_signed(slack).is_none_or(|from| at >= from);
    let until = |f: DateTime<Utc>| f.checked_add_signed(slack).is_none_or(|until| at <= until);
    started.is_none_or(from) && finished.is_none_or(until)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile CI timestamps at chrono's limits decide and panic nowhere (R18).
    #[test]
    fn timestamps_at_the_limits_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        let at = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
            .expect("a time")
            .to_utc();
        assert!(within_run(at, Some(min), Some(max)), "open on both sides");
        assert!(!within_run(at, Some(max), None), "starts after it");
        assert!(!within_run(at, None, Some(min)), "ends before it");
        assert!(within_run(at, Some(at), Some(at)));
    }
}
