//! The interruption records handle-interruption seals in the checkpoint bucket, as
//! evidence that a build's instance was taken away.

use chrono::{DateTime, Duration, Utc};
use rules::retry::instance_id_in;
use shared::Result;
use shared::checkpoint::{CheckpointKey, Interruption, RunInterruption, layout, read_claims};
use shared::ports::builds::FinishedBuild;
use shared::ports::store::ObjectStore;

/// An interruption record this close to the build's start or end matches it.
const SLACK_MINUTES: i64 = 15;

/// The interruption that took the build's agent, described: the record handle-interruption
/// wrote for the run itself (a Jenkins Pipeline run names no agent; its executor did, at
/// the warning), else the one sealed for the build's instance when its time fits the
/// build.
pub async fn matching(store: &dyn ObjectStore, build: &FinishedBuild) -> Result<Option<String>> {
    if let Some(found) = of_run(store, build).await? {
        return Ok(Some(found));
    }
    of_instance(store, build).await
}

/// The record of the build's run, by its URL.
async fn of_run(store: &dyn ObjectStore, build: &FinishedBuild) -> Result<Option<String>> {
    let Some(url) = build.url.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let object = layout::run_interruption(url);
    let Some(body) = store.get(&object).await? else {
        return Ok(None);
    };
    match serde_json::from_slice::<RunInterruption>(&body) {
        Ok(record) if record.run == url => Ok(Some(format!(
            "interruption record: run {url} was on {} ({}) when it was interrupted at {}",
            record.agent,
            record.instance_id,
            record.at.to_rfc3339()
        ))),
        Ok(_) => Ok(None),
        Err(e) => {
            tracing::warn!(object = %object, error = %e, "corrupt run interruption record ignored");
            Ok(None)
        }
    }
}

/// Any executor's claim of the instance will do, since the instance was interrupted under
/// all of them. The agent name must contain the instance id.
async fn of_instance(store: &dyn ObjectStore, build: &FinishedBuild) -> Result<Option<String>> {
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
