//! The agent-side store operations: claim an instance for a build (`start`) and read
//! back what earlier attempts passed (`restore`). Uploading is `recorder.rs`; the
//! handler's consolidation is `seal.rs`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::{CheckpointKey, is_test_id, validate_instance_id, validate_slot};
use super::layout;
use super::model::{Claim, Part, PassList};
use crate::error::{Error, Result};
use crate::ports::store::ObjectStore;

/// An object read as JSON: the outer error is the store's, the inner one a corrupt body.
pub(crate) async fn read_json<T: DeserializeOwned>(
    store: &dyn ObjectStore,
    object: &str,
) -> Result<Option<Result<T, String>>> {
    Ok(store
        .get(object)
        .await?
        .map(|body| serde_json::from_slice(&body).map_err(|e| e.to_string())))
}

pub(crate) async fn write_json<T: Serialize>(
    store: &dyn ObjectStore,
    object: &str,
    value: &T,
) -> Result<()> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Failed(format!("cannot serialise {object}: {e}")))?;
    store.put(object, body).await
}

/// The build that claimed executor `slot` of `instance_id`, if any. A corrupt claim is an
/// error: it is ours to write, so garbage there means something else writes into the bucket.
pub async fn read_claim(
    store: &dyn ObjectStore,
    instance_id: &str,
    slot: &str,
) -> Result<Option<Claim>> {
    validate_instance_id(instance_id)?;
    validate_slot(slot)?;
    read_claim_object(store, &layout::claim(instance_id, slot)).await
}

/// Every build that claimed an executor of `instance_id` (with a claim from before slots),
/// in slot order.
pub async fn read_claims(store: &dyn ObjectStore, instance_id: &str) -> Result<Vec<Claim>> {
    let mut claims = Vec::new();
    for object in claim_objects(store, instance_id).await? {
        if let Some(claim) = read_claim_object(store, &object).await? {
            claims.push(claim);
        }
    }
    Ok(claims)
}

/// The claims of `instance_id` that exist: its slots' in order, then the claim from before
/// slots. One listing finds both (`claims/<id>` is a prefix of each); the filter drops
/// another instance whose id merely starts with this one.
pub(crate) async fn claim_objects(
    store: &dyn ObjectStore,
    instance_id: &str,
) -> Result<Vec<String>> {
    validate_instance_id(instance_id)?;
    let slots = layout::claims_prefix(instance_id);
    let legacy = layout::legacy_claim(instance_id);
    let listed = store.list(&format!("claims/{instance_id}")).await?;
    let has_legacy = listed.contains(&legacy);
    let mut objects: Vec<String> = listed
        .into_iter()
        .filter(|o| o.starts_with(&slots))
        .collect();
    objects.sort();
    if has_legacy {
        objects.push(legacy);
    }
    Ok(objects)
}

pub(crate) async fn read_claim_object(
    store: &dyn ObjectStore,
    object: &str,
) -> Result<Option<Claim>> {
    match read_json::<Claim>(store, object).await? {
        None => Ok(None),
        Some(Ok(claim)) => Ok(Some(claim)),
        Some(Err(e)) => Err(Error::Failed(format!("claim {object} is corrupt: {e}"))),
    }
}

/// Claims executor `slot` of `instance_id` for the next attempt of `key` and returns the
/// claim. The attempt's `started.json` is written first so the attempt is numbered even
/// when it uploads nothing before it dies.
pub async fn start(
    store: &dyn ObjectStore,
    instance_id: &str,
    slot: &str,
    key: &CheckpointKey,
    now: DateTime<Utc>,
) -> Result<Claim> {
    validate_instance_id(instance_id)?;
    validate_slot(slot)?;
    let claim = Claim {
        instance_id: instance_id.to_owned(),
        slot: slot.to_owned(),
        key: key.as_str().to_owned(),
        attempt: next_attempt(store, key).await?,
        claimed_at: now,
    };
    write_json(store, &layout::started(key, claim.attempt), &claim).await?;
    write_json(store, &layout::claim(instance_id, slot), &claim).await?;
    Ok(claim)
}

/// One more than the highest attempt with any object; 1 for a new key.
async fn next_attempt(store: &dyn ObjectStore, key: &CheckpointKey) -> Result<u32> {
    let objects = store.list(&layout::attempts_prefix(key)).await?;
    let highest = objects
        .iter()
        .filter_map(|o| layout::attempt_of(key, o))
        .max()
        .unwrap_or(0);
    Ok(highest.saturating_add(1))
}

/// What `restore` found: the skip list, and the parts it had to skip.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub tests: BTreeSet<String>,
    pub corrupt_parts: Vec<String>,
}

/// Every test that passed in any attempt of `key`: the consolidated pass list plus
/// every part it does not name yet (an attempt that died unsealed, or uploads that
/// came after its seal). Parts are never deleted, so a corrupt pass list costs only
/// time: every part is read instead.
pub async fn restore(store: &dyn ObjectStore, key: &CheckpointKey) -> Result<Restored> {
    let passed = read_pass_list(store, key).await?;
    let parts: Vec<String> = store
        .list(&layout::attempts_prefix(key))
        .await?
        .into_iter()
        .filter(|o| layout::part_attempt(key, o).is_some() && !passed.parts.contains(o))
        .collect();
    let mut tests = passed.tests;
    let read = read_parts(store, &parts, &mut tests).await?;
    Ok(Restored {
        tests,
        corrupt_parts: read.corrupt,
    })
}

/// The consolidated pass list; empty when missing, and when corrupt (with a warning).
pub(crate) async fn read_pass_list(
    store: &dyn ObjectStore,
    key: &CheckpointKey,
) -> Result<PassList> {
    let object = layout::passed(key);
    Ok(match read_json::<PassList>(store, &object).await? {
        None => PassList::default(),
        Some(Ok(list)) => list,
        Some(Err(e)) => {
            tracing::warn!(object = %object, error = %e, "corrupt pass list ignored: rebuilding it from the parts");
            PassList::default()
        }
    })
}

/// Which of the parts could be read.
pub(crate) struct PartsRead {
    pub read: Vec<String>,
    pub corrupt: Vec<String>,
}

/// What reading one part found: gone, a part, or a corrupt object.
type PartAnswer = Result<Option<std::result::Result<Part, String>>>;

/// One part, boxed: a fn, not a closure returning an `async` block, whose future rustc
/// cannot prove `Send` for every lifetime (the Lambda handlers' futures must be).
fn read_part<'a>(
    store: &'a dyn ObjectStore,
    object: &'a String,
) -> futures_util::future::BoxFuture<'a, (&'a String, PartAnswer)> {
    Box::pin(async move { (object, read_json::<Part>(store, object).await) })
}

/// Parts read at once: the seal races the two-minute notice, and thousands of parts
/// (one every few seconds per executor for hours) read one by one would not fit in it.
const PARTS_AT_ONCE: usize = 32;

/// Adds the tests of each part to `tests`, reading `PARTS_AT_ONCE` at a time. A corrupt
/// part is skipped with a warning and left in place (it may be evidence; deleting it could
/// lose a part a human can fix).
pub(crate) async fn read_parts(
    store: &dyn ObjectStore,
    parts: &[String],
    tests: &mut BTreeSet<String>,
) -> Result<PartsRead> {
    use futures_util::stream::{self, StreamExt};
    let mut out = PartsRead {
        read: Vec::new(),
        corrupt: Vec::new(),
    };
    // The futures are made up front: a closure kept in the stream would again be one
    // rustc cannot prove `Send` for every lifetime.
    let reads: Vec<_> = parts
        .iter()
        .map(|object| read_part(store, object))
        .collect();
    let mut answers = stream::iter(reads).buffered(PARTS_AT_ONCE);
    while let Some((object, answer)) = answers.next().await {
        match answer? {
            // Listed a moment ago, gone now: someone cleaned up; nothing to add.
            None => {}
            Some(Ok(part)) => {
                tests.extend(part.tests.into_iter().filter(|t| is_test_id(t)));
                out.read.push(object.clone());
            }
            Some(Err(e)) => {
                tracing::warn!(part = %object, error = %e, "skipping a corrupt checkpoint part (left in place)");
                out.corrupt.push(object.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;
    use chrono::TimeZone;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 10, minute, 0)
            .single()
            .expect("valid time")
    }

    fn part(attempt: u32, tests: &[&str]) -> Vec<u8> {
        serde_json::to_vec(&Part {
            instance_id: "i-1".into(),
            attempt,
            written_at: at(0),
            tests: tests.iter().map(|t| t.to_string()).collect(),
        })
        .expect("serialises")
    }

    #[tokio::test]
    async fn start_numbers_attempts_and_claims_the_instance() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("app#1").expect("valid");
        let first = start(&store, "i-1", "0", &key, at(1))
            .await
            .expect("starts");
        assert_eq!(first.attempt, 1);
        let second = start(&store, "i-2", "0", &key, at(2))
            .await
            .expect("starts");
        assert_eq!(second.attempt, 2, "an attempt with no uploads still counts");
        assert_eq!(
            read_claim(&store, "i-2", "0").await.expect("reads"),
            Some(second)
        );
        let other = CheckpointKey::parse("app#10").expect("valid");
        assert_eq!(
            start(&store, "i-3", "0", &other, at(3))
                .await
                .expect("starts")
                .attempt,
            1
        );
        assert!(start(&store, "i/../x", "0", &key, at(3)).await.is_err());
        assert!(start(&store, "i-3", "../0", &key, at(3)).await.is_err());
    }

    #[tokio::test]
    async fn each_executor_keeps_its_own_claim_and_older_claims_still_count() {
        let store = MemoryStore::default();
        let (a, b) = (
            CheckpointKey::parse("app#1").expect("valid"),
            CheckpointKey::parse("lib#9").expect("valid"),
        );
        let on_0 = start(&store, "i-1", "0", &a, at(1)).await.expect("starts");
        let on_1 = start(&store, "i-1", "1", &b, at(2)).await.expect("starts");
        assert_eq!(
            read_claim(&store, "i-1", "0").await.expect("reads"),
            Some(on_0.clone())
        );
        // A claim ci-checkpoint wrote before slots, and another instance's with a longer id.
        let legacy = Claim {
            instance_id: "i-1".into(),
            slot: "0".into(),
            key: "old#3".into(),
            attempt: 1,
            claimed_at: at(0),
        };
        let body = serde_json::json!({"instance_id": "i-1", "key": "old#3", "attempt": 1, "claimed_at": at(0)});
        store
            .put("claims/i-1.json", body.to_string().into_bytes())
            .await
            .expect("puts");
        start(&store, "i-10", "0", &a, at(3)).await.expect("starts");
        assert_eq!(
            read_claims(&store, "i-1").await.expect("reads"),
            vec![on_0, on_1, legacy]
        );
        assert_eq!(read_claims(&store, "i-2").await.expect("reads"), vec![]);
    }

    #[tokio::test]
    async fn a_corrupt_claim_is_an_error() {
        let store = MemoryStore::default();
        store
            .put("claims/i-1/0.json", b"{".to_vec())
            .await
            .expect("puts");
        let err = read_claim(&store, "i-1", "0")
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("claims/i-1/0.json is corrupt")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn restore_reads_pass_list_and_parts_it_does_not_name_and_skips_corrupt_parts() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        let consolidated = layout::part(&key, 1, 1, "w");
        // The consolidated part's own body says "stale": restore must not need to read it.
        store
            .put(&consolidated, part(1, &["stale"]))
            .await
            .expect("puts");
        let list = PassList {
            key: "k".into(),
            tests: ["a", "b"].map(String::from).into(),
            parts: [consolidated].into(),
            updated_at: Some(at(5)),
        };
        write_json(&store, &layout::passed(&key), &list)
            .await
            .expect("puts");
        store
            .put(&layout::part(&key, 1, 2, "w"), part(1, &["c"]))
            .await
            .expect("puts");
        store
            .put(&layout::part(&key, 2, 1, "v"), part(2, &["d", "bad\nid"]))
            .await
            .expect("puts");
        let corrupt = layout::part(&key, 2, 2, "v");
        store
            .put(&corrupt, b"{\"tests\": [".to_vec())
            .await
            .expect("puts");

        let restored = restore(&store, &key).await.expect("restores");
        let expected: BTreeSet<String> = ["a", "b", "c", "d"].map(String::from).into();
        assert_eq!(restored.tests, expected);
        assert_eq!(restored.corrupt_parts, vec![corrupt.clone()]);
        assert!(
            store.keys().contains(&corrupt),
            "a corrupt part is left in place"
        );
    }

    #[tokio::test]
    async fn restore_with_a_corrupt_pass_list_reads_every_part() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        store
            .put(&layout::passed(&key), b"garbage".to_vec())
            .await
            .expect("puts");
        store
            .put(&layout::part(&key, 1, 1, "w"), part(1, &["a"]))
            .await
            .expect("puts");
        let restored = restore(&store, &key).await.expect("restores");
        assert_eq!(restored.tests, ["a".to_string()].into());
    }

    #[tokio::test]
    async fn restore_of_an_unknown_key_is_empty() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("new").expect("valid");
        assert_eq!(
            restore(&store, &key).await.expect("restores"),
            Restored::default()
        );
    }
}
