//! The handler's half: when an instance is interrupted, fold its build's parts into the
//! pass list the retry restores and record the interruption.

use chrono::{DateTime, Utc};

use super::key::CheckpointKey;
use super::key::{MAX_SLOT, validate_instance_id};
use super::layout;
use super::model::{Claim, Interruption, PassList, SealOutcome, Sealing};
use super::ops::{read_claim_object, read_json, read_parts, read_pass_list, write_json};
use crate::error::Result;
use crate::ports::store::ObjectStore;

/// Seals the checkpoint of every build that claimed one of the `executors` of
/// `instance_id` (slots 0 to executors − 1, and the claim from before slots): every
/// part of the claimed attempt and of earlier attempts goes into `passed.json`, then the
/// attempt's `interruption.json` is written (last, so its presence means the pass list
/// is done). A claim that fails to seal does not keep the others from being sealed.
///
/// Idempotent: when an attempt already has an interruption record, that record is
/// returned as `AlreadySealed` and nothing is written. A seal that died between its two
/// writes is simply redone. `at` and `reason` are the event's.
///
/// Restoring does not depend on the seal (it also reads unconsolidated parts), so a
/// failed seal costs the retry a few reads, never a test.
pub async fn seal(
    store: &dyn ObjectStore,
    instance_id: &str,
    executors: u32,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Sealing> {
    validate_instance_id(instance_id)?;
    // The claims are read at once, not listed: a listing costs more than the reads it
    // saves, and the seal races the two-minute notice.
    let mut objects: Vec<String> = (0..executors.clamp(1, MAX_SLOT + 1))
        .map(|slot| layout::claim(instance_id, &slot.to_string()))
        .collect();
    objects.push(layout::legacy_claim(instance_id));
    let claims =
        futures_util::future::join_all(objects.iter().map(|o| read_claim_object(store, o))).await;
    // Each executor's build at once: the notice is two minutes for all of them.
    let sealed = futures_util::future::join_all(
        claims
            .into_iter()
            .map(|claim| seal_one(store, claim, reason, at)),
    )
    .await;
    let mut sealing = Sealing::default();
    for outcome in sealed.into_iter().flatten() {
        match outcome {
            Ok(outcome) => sealing.outcomes.push(outcome),
            Err(e) => sealing.errors.push(e),
        }
    }
    Ok(sealing)
}

/// One claim's seal, boxed: a fn, not a closure returning an `async` block, whose future
/// rustc cannot prove `Send` for every lifetime (the Lambda handlers' futures must be).
fn seal_one<'a>(
    store: &'a dyn ObjectStore,
    claim: Result<Option<Claim>>,
    reason: &'a str,
    at: DateTime<Utc>,
) -> futures_util::future::BoxFuture<'a, Option<Result<SealOutcome>>> {
    Box::pin(async move {
        match claim {
            Ok(None) => None,
            Ok(Some(claim)) => Some(seal_claim(store, claim, reason, at).await),
            Err(e) => Some(Err(e)),
        }
    })
}

async fn seal_claim(
    store: &dyn ObjectStore,
    claim: Claim,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<SealOutcome> {
    let key = CheckpointKey::parse(&claim.key)?;
    let record_object = layout::interruption(&key, claim.attempt);
    // The three reads are independent: at once, since the seal races the notice. When
    // the attempt is sealed already, the other two were wasted, which is only a duplicate
    // event's cost.
    let attempts = layout::attempts_prefix(&key);
    let (record, pass_list, listed) = tokio::join!(
        read_json::<Interruption>(store, &record_object),
        read_pass_list(store, &key),
        store.list(&attempts),
    );
    match record? {
        Some(Ok(record)) => return Ok(SealOutcome::AlreadySealed(record)),
        Some(Err(e)) => {
            tracing::warn!(object = %record_object, error = %e, "corrupt interruption record: sealing again");
        }
        None => {}
    }

    let PassList {
        mut tests,
        mut parts,
        ..
    } = pass_list?;
    let new_parts: Vec<String> = listed?
        .into_iter()
        .filter(|o| {
            layout::part_attempt(&key, o).is_some_and(|n| n <= claim.attempt) && !parts.contains(o)
        })
        .collect();
    let read = read_parts(store, &new_parts, &mut tests).await?;
    parts.extend(read.read);
    let passed = tests.len();
    let list = PassList {
        key: claim.key.clone(),
        tests,
        parts,
        updated_at: Some(at),
    };
    write_json(store, &layout::passed(&key), &list).await?;

    let record = Interruption {
        instance_id: claim.instance_id,
        key: claim.key,
        attempt: claim.attempt,
        at,
        reason: reason.to_owned(),
        passed,
    };
    write_json(store, &record_object, &record).await?;
    tracing::info!(instance = %record.instance_id, key = %record.key, attempt = record.attempt, passed, "checkpoint sealed");
    Ok(SealOutcome::Sealed(record))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeZone;

    use super::*;
    use crate::checkpoint::ops::{restore, start};
    use crate::checkpoint::recorder::Recorder;
    use crate::testing::MemoryStore;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 10, minute, 0)
            .single()
            .expect("valid time")
    }

    fn set(tests: &[&str]) -> BTreeSet<String> {
        tests.iter().map(|t| t.to_string()).collect()
    }

    async fn record(store: &MemoryStore, instance: &str, key: &CheckpointKey, batches: &[&[&str]]) {
        record_on(store, instance, "0", key, batches).await
    }

    async fn record_on(
        store: &MemoryStore,
        instance: &str,
        slot: &str,
        key: &CheckpointKey,
        batches: &[&[&str]],
    ) {
        let mut recorder = Recorder::resume(store, instance, slot, key, "w")
            .await
            .expect("resumes");
        let mut passed = BTreeSet::new();
        for batch in batches {
            passed.extend(set(batch));
            recorder
                .flush(store, &passed, at(1))
                .await
                .expect("flushes");
        }
    }

    /// The one outcome of sealing an instance with one claim.
    async fn seal_one(
        store: &MemoryStore,
        instance: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> SealOutcome {
        let sealing = seal(store, instance, 1, reason, at).await.expect("seals");
        assert!(sealing.errors.is_empty(), "{:?}", sealing.errors);
        assert_eq!(sealing.outcomes.len(), 1, "{:?}", sealing.outcomes);
        sealing.outcomes.into_iter().next().expect("one outcome")
    }

    #[tokio::test]
    async fn no_claim_no_seal() {
        let store = MemoryStore::default();
        let sealing = seal(&store, "i-1", 2, "spot", at(2)).await.expect("seals");
        assert!(sealing.outcomes.is_empty() && sealing.errors.is_empty());
        assert!(
            store.keys().is_empty(),
            "nothing written: {:?}",
            store.keys()
        );
    }

    #[tokio::test]
    async fn seal_consolidates_and_a_second_seal_changes_nothing() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("app/main@abc#1").expect("valid");
        start(&store, "i-1", "0", &key, at(0))
            .await
            .expect("starts");
        record(&store, "i-1", &key, &[&["a", "b"], &["c"]]).await;

        let first = seal_one(&store, "i-1", "spot interruption", at(2)).await;
        let expected = Interruption {
            instance_id: "i-1".into(),
            key: "app/main@abc#1".into(),
            attempt: 1,
            at: at(2),
            reason: "spot interruption".into(),
            passed: 3,
        };
        assert_eq!(first, SealOutcome::Sealed(expected.clone()));
        let list_before = store.get(&layout::passed(&key)).await.expect("reads");
        let list: PassList =
            serde_json::from_slice(list_before.as_deref().unwrap_or_default()).expect("parses");
        assert_eq!(list.tests, set(&["a", "b", "c"]));
        assert_eq!(list.parts.len(), 2);

        // A late upload after the seal, then the duplicate event (other time, other reason).
        record(&store, "i-1", &key, &[&["a", "b", "c", "d"]]).await;
        let again = seal_one(&store, "i-1", "duplicate", at(3)).await;
        assert_eq!(again, SealOutcome::AlreadySealed(expected));
        assert_eq!(
            store.get(&layout::passed(&key)).await.expect("reads"),
            list_before
        );
        // The late upload is not lost: restore still reads the part the seal did not name.
        assert_eq!(
            restore(&store, &key).await.expect("restores").tests,
            set(&["a", "b", "c", "d"])
        );
    }

    #[tokio::test]
    async fn a_later_attempt_seals_on_top_of_earlier_ones_including_unsealed_ones() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        start(&store, "i-1", "0", &key, at(0))
            .await
            .expect("starts");
        record(&store, "i-1", &key, &[&["a"]]).await;
        // Attempt 1 died without a seal (agent lost); attempt 2 on another instance.
        start(&store, "i-2", "0", &key, at(5))
            .await
            .expect("starts");
        record(&store, "i-2", &key, &[&["b"]]).await;
        // A part of attempt 3 (claimed elsewhere) is not attempt 2's to consolidate.
        start(&store, "i-3", "0", &key, at(6))
            .await
            .expect("starts");
        record(&store, "i-3", &key, &[&["z"]]).await;
        let SealOutcome::Sealed(record) = seal_one(&store, "i-2", "spot", at(7)).await else {
            panic!("expected a new seal");
        };
        assert_eq!((record.attempt, record.passed), (2, 2));
        let list: PassList = serde_json::from_slice(
            store
                .get(&layout::passed(&key))
                .await
                .expect("reads")
                .as_deref()
                .unwrap_or_default(),
        )
        .expect("parses");
        assert_eq!(list.tests, set(&["a", "b"]));
    }

    #[tokio::test]
    async fn a_corrupt_part_is_skipped_and_kept() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        start(&store, "i-1", "0", &key, at(0))
            .await
            .expect("starts");
        record(&store, "i-1", &key, &[&["a"]]).await;
        let corrupt = layout::part(&key, 1, 9, "x");
        store
            .put(&corrupt, b"not json".to_vec())
            .await
            .expect("puts");
        let outcome = seal_one(&store, "i-1", "spot", at(2)).await;
        assert!(
            matches!(outcome, SealOutcome::Sealed(ref r) if r.passed == 1),
            "{outcome:?}"
        );
        assert!(store.keys().contains(&corrupt));
    }

    #[tokio::test]
    async fn every_executor_of_the_instance_is_sealed() {
        // Two builds on a two-executor agent, and a third on another instance.
        let store = MemoryStore::default();
        let (app, lib) = (
            CheckpointKey::parse("app#1").expect("valid"),
            CheckpointKey::parse("lib#4").expect("valid"),
        );
        start(&store, "i-1", "0", &app, at(0))
            .await
            .expect("starts");
        start(&store, "i-1", "1", &lib, at(1))
            .await
            .expect("starts");
        start(&store, "i-2", "0", &app, at(1))
            .await
            .expect("starts");
        record_on(&store, "i-1", "0", &app, &[&["a1", "a2"]]).await;
        record_on(&store, "i-1", "1", &lib, &[&["l1"]]).await;
        let sealing = seal(&store, "i-1", 2, "spot", at(3)).await.expect("seals");
        assert!(sealing.errors.is_empty(), "{:?}", sealing.errors);
        assert_eq!(sealing.sealed_now(), 2);
        let sealed: Vec<(String, usize)> = sealing
            .outcomes
            .iter()
            .map(|o| match o {
                SealOutcome::Sealed(r) | SealOutcome::AlreadySealed(r) => (r.key.clone(), r.passed),
            })
            .collect();
        assert_eq!(
            sealed,
            vec![("app#1".to_owned(), 2), ("lib#4".to_owned(), 1)]
        );
        // A pool of one executor per instance reads slot 0 only.
        let other = seal(&store, "i-2", 1, "spot", at(3)).await.expect("seals");
        assert_eq!(other.sealed_now(), 1);
        assert_eq!(
            restore(&store, &lib).await.expect("restores").tests,
            set(&["l1"])
        );
        // The duplicate event: both already sealed, nothing new.
        assert_eq!(
            seal(&store, "i-1", 2, "again", at(4))
                .await
                .expect("seals")
                .sealed_now(),
            0
        );
    }

    #[tokio::test]
    async fn a_corrupt_claim_is_an_error_that_does_not_stop_the_other_seals() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("app#1").expect("valid");
        start(&store, "i-1", "0", &key, at(0))
            .await
            .expect("starts");
        record(&store, "i-1", &key, &[&["a"]]).await;
        store
            .put("claims/i-1/1.json", b"{".to_vec())
            .await
            .expect("puts");
        let sealing = seal(&store, "i-1", 2, "spot", at(2)).await.expect("lists");
        assert_eq!(sealing.sealed_now(), 1);
        let errors: Vec<String> = sealing.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("claims/i-1/1.json is corrupt"),
            "{errors:?}"
        );
    }
}
