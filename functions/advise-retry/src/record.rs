//! What advise-retry remembers between webhooks, in the checkpoint bucket:
//!
//! ```text
//! retries/<logical build>.json              RetryRecord: counts and the last decisions
//! retries/queued/<kind>-<queue id>.json     Alias: the logical build a queued retry belongs to
//! ```
//!
//! A logical build is the first build of a retry chain (`jenkins:platform/app#41`). Each
//! retry carries it in the `CI_FLEET_RETRY_OF` parameter, and the alias finds it again
//! when the CI server dropped that parameter (Jenkins drops parameters a job does not
//! declare), so the budget is never reset by a retry and nothing loops.

use std::fmt;

use chrono::{DateTime, Utc};
use rules::retry::{FailureClass, History};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::checkpoint::CheckpointKey;
use shared::ci::CiKind;
use shared::ports::store::ObjectStore;
use shared::{Error, Result};

/// Decisions kept per logical build; the counts keep the budget, these are for people.
pub const MAX_ENTRIES: usize = 20;
/// Longer logical names are shortened with a hash to stay one S3 key segment.
const MAX_READABLE_KEY: usize = 160;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryRecord {
    /// The logical build (`<kind>:<job>#<first build>`).
    pub key: String,
    #[serde(flatten)]
    pub history: History,
    /// The last [`MAX_ENTRIES`] builds handled, oldest first.
    pub builds: Vec<Entry>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `job #id`.
    pub build: String,
    pub at: DateTime<Utc>,
    pub class: FailureClass,
    pub outcome: Settlement,
    /// The explanation of a retry or the reason for a denial.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<u64>,
}

/// What became of a failed build: retried or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Settlement {
    Retried,
    Denied,
}

impl Settlement {
    /// The metric that counts it (dimension `Reason`, the class).
    pub fn metric(self) -> &'static str {
        match self {
            Settlement::Retried => "RetriesRequested",
            Settlement::Denied => "RetriesDenied",
        }
    }
}

impl fmt::Display for Settlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Settlement::Retried => "retried",
            Settlement::Denied => "denied",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub key: String,
}

impl RetryRecord {
    pub fn entry_for(&self, build: &str) -> Option<&Entry> {
        self.builds.iter().find(|e| e.build == build)
    }

    /// Counts the decision and keeps it, dropping the oldest past [`MAX_ENTRIES`].
    pub fn push(&mut self, entry: Entry) {
        self.history
            .count(entry.class, entry.outcome == Settlement::Retried);
        self.updated_at = Some(entry.at);
        self.builds.push(entry);
        let excess = self.builds.len().saturating_sub(MAX_ENTRIES);
        self.builds.drain(..excess);
    }
}

/// One S3 key segment for a logical build name.
fn segment(name: &str) -> String {
    let readable = |raw: &str| CheckpointKey::parse(raw).map(|k| k.encoded().to_owned());
    match readable(name) {
        Ok(encoded) if encoded.len() <= MAX_READABLE_KEY => encoded,
        _ => {
            let digest = Sha256::digest(name.as_bytes());
            let hash = hex::encode(&digest[..8]);
            let prefix: String = name.chars().take(60).collect();
            let prefix = readable(&prefix).unwrap_or_default();
            format!("{prefix}-{hash}")
        }
    }
}

pub fn record_object(key: &str) -> String {
    format!("retries/{}.json", segment(key))
}

pub fn alias_object(kind: CiKind, queue_id: u64) -> String {
    format!("retries/queued/{kind}-{queue_id}.json")
}

/// The record of `key`; a new one when there is none. A corrupt record is an error: it
/// holds the budget, and guessing could loop.
pub async fn load(store: &dyn ObjectStore, key: &str) -> Result<RetryRecord> {
    let object = record_object(key);
    match store.get(&object).await? {
        None => Ok(RetryRecord {
            key: key.to_owned(),
            ..RetryRecord::default()
        }),
        Some(body) => serde_json::from_slice(&body)
            .map_err(|e| Error::Failed(format!("retry record {object} is corrupt: {e}"))),
    }
}

pub async fn save(store: &dyn ObjectStore, record: &RetryRecord) -> Result<()> {
    let body = serde_json::to_vec_pretty(record)
        .map_err(|e| Error::Failed(format!("cannot serialise the retry record: {e}")))?;
    store.put(&record_object(&record.key), body).await
}

pub async fn load_alias(
    store: &dyn ObjectStore,
    kind: CiKind,
    queue_id: u64,
) -> Result<Option<String>> {
    Ok(store
        .get(&alias_object(kind, queue_id))
        .await?
        .and_then(|body| serde_json::from_slice::<Alias>(&body).ok())
        .map(|a| a.key))
}

pub async fn save_alias(
    store: &dyn ObjectStore,
    kind: CiKind,
    queue_id: u64,
    key: &str,
) -> Result<()> {
    let body = serde_json::to_vec(&Alias {
        key: key.to_owned(),
    })
    .map_err(|e| Error::Failed(e.to_string()))?;
    store.put(&alias_object(kind, queue_id), body).await
}

#[cfg(test)]
mod tests {
    use shared::testing::MemoryStore;

    use super::*;

    fn entry(build: &str, class: FailureClass, outcome: Settlement) -> Entry {
        Entry {
            build: build.into(),
            at: Utc::now(),
            class,
            outcome,
            detail: String::new(),
            queued: None,
        }
    }

    #[test]
    fn objects_are_one_segment_each() {
        assert_eq!(
            record_object("jenkins:platform/app#41"),
            "retries/jenkins!3Aplatform!2Fapp!2341.json"
        );
        let long = format!("jenkins:{}#1", "folder/".repeat(80));
        let object = record_object(&long);
        assert!(object.len() < 200 && !object[8..].contains('/'), "{object}");
        assert_ne!(
            object,
            record_object(&format!("jenkins:{}#2", "folder/".repeat(80)))
        );
        assert_eq!(
            alias_object(CiKind::TeamCity, 5002),
            "retries/queued/teamcity-5002.json"
        );
    }

    #[test]
    fn entries_read_and_write_the_words_records_hold() {
        let stored = r#"{"build":"app #1","at":"2026-11-22T12:00:00Z","class":"oom","outcome":"retried","detail":"one step up","queued":901}"#;
        let entry: Entry = serde_json::from_str(stored).expect("reads");
        assert_eq!(
            (entry.outcome, entry.outcome.metric()),
            (Settlement::Retried, "RetriesRequested")
        );
        assert_eq!(
            serde_json::to_value(&entry).expect("writes"),
            serde_json::from_str::<serde_json::Value>(stored).expect("JSON")
        );
        assert_eq!(Settlement::Denied.to_string(), "denied");
        assert_eq!(
            serde_json::to_value(Settlement::Denied).expect("writes"),
            "denied"
        );
    }

    #[tokio::test]
    async fn counts_and_stays_bounded() {
        let store = MemoryStore::default();
        let mut record = load(&store, "k").await.expect("loads");
        assert_eq!(record.key, "k");
        record.push(entry("app #1", FailureClass::Oom, Settlement::Retried));
        record.push(entry(
            "app #2",
            FailureClass::Deterministic,
            Settlement::Denied,
        ));
        assert_eq!(record.history.retries, 1);
        assert_eq!(
            record.history.failures_by_class[&FailureClass::Deterministic],
            1
        );
        for n in 3..40 {
            record.push(entry(
                &format!("app #{n}"),
                FailureClass::Timeout,
                Settlement::Denied,
            ));
        }
        assert_eq!(record.builds.len(), MAX_ENTRIES);
        assert!(record.entry_for("app #1").is_none() && record.entry_for("app #39").is_some());
        save(&store, &record).await.expect("saves");
        assert_eq!(load(&store, "k").await.expect("loads"), record);

        store
            .put(&record_object("bad"), b"{".to_vec())
            .await
            .expect("puts");
        let error = load(&store, "bad").await.expect_err("corrupt").to_string();
        assert!(error.contains("is corrupt"), "{error}");

        assert_eq!(
            load_alias(&store, CiKind::Jenkins, 9).await.expect("reads"),
            None
        );
        save_alias(&store, CiKind::Jenkins, 9, "k")
            .await
            .expect("saves");
        assert_eq!(
            load_alias(&store, CiKind::Jenkins, 9)
                .await
                .expect("reads")
                .as_deref(),
            Some("k")
        );
    }

    use proptest::prelude::*;

    fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        prop_oneof![
            (min.timestamp()..=max.timestamp())
                .prop_map(move |s| DateTime::from_timestamp(s, 0).unwrap_or(max)),
            Just(min),
            Just(max),
        ]
    }

    fn class() -> impl Strategy<Value = FailureClass> + Clone {
        prop::sample::select(FailureClass::ALL.to_vec())
    }

    fn any_entry() -> impl Strategy<Value = Entry> {
        (
            ".{0,20}",
            any_time(),
            class(),
            any::<bool>(),
            ".{0,40}",
            proptest::option::of(any::<u64>()),
        )
            .prop_map(|(build, at, class, retried, detail, queued)| Entry {
                build,
                at,
                class,
                outcome: if retried {
                    Settlement::Retried
                } else {
                    Settlement::Denied
                },
                detail,
                queued,
            })
    }

    fn any_record() -> impl Strategy<Value = RetryRecord> {
        let count = prop_oneof![0u32..5, any::<u32>()];
        let counts = prop::collection::btree_map(class(), count.clone(), 0..6);
        (
            ".{0,40}",
            (count, counts.clone(), counts),
            prop::collection::vec(any_entry(), 0..MAX_ENTRIES + 3),
            proptest::option::of(any_time()),
        )
            .prop_map(
                |(key, (retries, retries_by_class, failures_by_class), builds, updated_at)| {
                    RetryRecord {
                        key,
                        history: History {
                            retries,
                            retries_by_class,
                            failures_by_class,
                        },
                        builds,
                        updated_at,
                    }
                },
            )
    }

    /// Logical build names as advise-retry makes them: `<kind>:<job>#<first build>`.
    fn logical_name() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["jenkins", "teamcity"]),
            prop_oneof!["[a-z/_ -]{1,30}", ".{1,80}", "[a-z]{150,200}"],
            any::<u64>(),
        )
            .prop_map(|(kind, job, id)| format!("{kind}:{job}#{id}"))
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn retry_records_read_back_and_stay_bounded(record in any_record(), entry in any_entry()) {
            let stored = serde_json::to_vec_pretty(&record).expect("serialises");
            let mut back: RetryRecord = serde_json::from_slice(&stored).expect("reads back");
            prop_assert_eq!(&back, &record);
            let before = back.history.clone();
            back.push(entry.clone());
            prop_assert!(back.builds.len() <= MAX_ENTRIES);
            prop_assert_eq!(back.builds.last(), Some(&entry));
            prop_assert_eq!(back.updated_at, Some(entry.at));
            // Counts only grow: a budget is never reset by counting (u32::MAX stays there).
            prop_assert!(back.history.retries >= before.retries);
            let failures = |h: &History| h.failures_by_class.get(&entry.class).copied().unwrap_or(0);
            prop_assert!(failures(&back.history) >= failures(&before).max(1));
        }

        #[test]
        fn any_stored_record_reads_or_is_corrupt(
            body in prop::collection::vec(any::<u8>(), 0..128),
            record in any_record(),
            field in prop::sample::select(vec!["key", "retries", "retries_by_class", "failures_by_class", "builds", "updated_at", "other"]),
            value in prop_oneof![
                Just(serde_json::Value::Null),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<u64>().prop_map(|n| serde_json::json!({"oom": n, "flaky": 1})),
                "[0-9T:Z+-]{0,30}".prop_map(serde_json::Value::from),
                Just(serde_json::json!([{"build": "a #1", "at": "2026-11-22T12:00:00Z", "class": "oom", "outcome": "maybe", "detail": ""}])),
            ],
            entry in any_entry(),
        ) {
            // The stored shape with one field changed, and bytes that are mostly not JSON.
            let mut changed = serde_json::to_value(&record).expect("serialises");
            changed[field] = value;
            for raw in [body, changed.to_string().into_bytes()] {
                if let Ok(mut record) = serde_json::from_slice::<RetryRecord>(&raw) {
                    record.push(entry.clone());
                }
                let _ = serde_json::from_slice::<Alias>(&raw);
            }
        }

        #[test]
        fn record_objects_are_one_segment_per_logical_build(a in logical_name(), b in logical_name(), any in ".{0,300}") {
            for name in [&a, &b, &any] {
                let one = segment(name);
                prop_assert!(!one.contains('/') && one != "." && one != "..", "{one:?}");
                // 60 characters of 4 bytes, each byte as `!XX`, a `-` and 16 hex digits: an
                // object key well under S3's 1024 bytes.
                prop_assert!(one.len() <= 60 * 4 * 3 + 17, "{}", one.len());
            }
            if a != b {
                prop_assert_ne!(segment(&a), segment(&b));
            }
        }
    }
}
