//! Uploading passes as they happen: each flush writes the tests that passed since the
//! previous one as a new part of the claimed attempt.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use super::key::{CheckpointKey, is_test_id};
use super::layout;
use super::model::{Claim, Part};
use super::ops::{read_claim, read_parts, write_json};
use crate::error::{Error, Result};
use crate::ports::store::ObjectStore;

/// A name for this process's parts, different from any other process's (pid plus the
/// clock's nanoseconds), so concurrent uploaders never pick the same object.
pub fn writer_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or_default();
    format!("{}-{nanos:08x}", std::process::id())
}

pub struct Recorder {
    key: CheckpointKey,
    claim: Claim,
    writer: String,
    next_seq: u32,
    uploaded: BTreeSet<String>,
}

impl Recorder {
    /// Reads the claim of the instance's executor `slot`, which must name `key` (`start`
    /// writes it), and what the claimed attempt has uploaded so far, so a restarted
    /// recorder or a `flush` after a `record` uploads only what is new.
    pub async fn resume(
        store: &dyn ObjectStore,
        instance_id: &str,
        slot: &str,
        key: &CheckpointKey,
        writer: &str,
    ) -> Result<Recorder> {
        let claim = read_claim(store, instance_id, slot).await?.ok_or_else(|| {
            Error::Failed(format!(
                "executor {slot} of instance {instance_id} has no checkpoint claim: run `ci-checkpoint start --key {key}` first"
            ))
        })?;
        if claim.key != key.as_str() {
            return Err(Error::Failed(format!(
                "executor {slot} of instance {instance_id} is claimed by checkpoint key {:?}, not {:?}: run `ci-checkpoint start --key {key}` first (with the same executor slot)",
                claim.key,
                key.as_str()
            )));
        }
        let parts = store
            .list(&layout::parts_prefix(key, claim.attempt))
            .await?;
        let mut uploaded = BTreeSet::new();
        read_parts(store, &parts, &mut uploaded).await?;
        Ok(Recorder {
            key: key.clone(),
            claim,
            writer: writer.to_owned(),
            next_seq: u32::try_from(parts.len()).unwrap_or(u32::MAX - 1) + 1,
            uploaded,
        })
    }

    pub fn claim(&self) -> &Claim {
        &self.claim
    }

    /// Tests in `passed` not uploaded yet (and fit for the one-per-line lists).
    pub fn pending(&self, passed: &BTreeSet<String>) -> Vec<String> {
        passed
            .difference(&self.uploaded)
            .filter(|t| is_test_id(t))
            .cloned()
            .collect()
    }

    /// Uploads the pending tests as one new part; returns how many. On failure they stay
    /// pending for the next flush. The sequence number moves on even then: the failed
    /// put may have landed, and a part is never rewritten.
    pub async fn flush(
        &mut self,
        store: &dyn ObjectStore,
        passed: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let tests = self.pending(passed);
        if tests.is_empty() {
            return Ok(0);
        }
        let object = layout::part(&self.key, self.claim.attempt, self.next_seq, &self.writer);
        self.next_seq = self.next_seq.saturating_add(1);
        let part = Part {
            instance_id: self.claim.instance_id.clone(),
            attempt: self.claim.attempt,
            written_at: now,
            tests,
        };
        write_json(store, &object, &part).await?;
        let count = part.tests.len();
        self.uploaded.extend(part.tests);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::ops::{restore, start};
    use crate::testing::MemoryStore;

    fn set(tests: &[&str]) -> BTreeSet<String> {
        tests.iter().map(|t| t.to_string()).collect()
    }

    #[tokio::test]
    async fn flushes_upload_only_new_passes_as_new_parts() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        start(&store, "i-1", "0", &key, Utc::now())
            .await
            .expect("starts");
        let mut recorder = Recorder::resume(&store, "i-1", "0", &key, "w1")
            .await
            .expect("resumes");
        assert_eq!(
            recorder
                .flush(&store, &set(&["a", "b"]), Utc::now())
                .await
                .expect("flushes"),
            2
        );
        assert_eq!(
            recorder
                .flush(&store, &set(&["a", "b"]), Utc::now())
                .await
                .expect("flushes"),
            0
        );
        assert_eq!(
            recorder
                .flush(&store, &set(&["a", "b", "c", " "]), Utc::now())
                .await
                .expect("flushes"),
            1
        );
        let parts = store
            .list(&layout::parts_prefix(&key, 1))
            .await
            .expect("lists");
        assert_eq!(parts.len(), 2, "{parts:?}");

        // A second writer (a `flush` after `record`) sees what is uploaded already.
        let mut later = Recorder::resume(&store, "i-1", "0", &key, "w2")
            .await
            .expect("resumes");
        assert_eq!(
            later
                .flush(&store, &set(&["a", "b", "c", "d"]), Utc::now())
                .await
                .expect("flushes"),
            1
        );
        assert_eq!(
            store
                .list(&layout::parts_prefix(&key, 1))
                .await
                .expect("lists")
                .len(),
            3
        );
        assert_eq!(
            restore(&store, &key).await.expect("restores").tests,
            set(&["a", "b", "c", "d"])
        );
    }

    #[tokio::test]
    async fn resume_needs_a_claim_for_this_key() {
        let store = MemoryStore::default();
        let key = CheckpointKey::parse("k").expect("valid");
        let err = Recorder::resume(&store, "i-1", "0", &key, "w")
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("no checkpoint claim")),
            "{err:?}"
        );
        let other = CheckpointKey::parse("other").expect("valid");
        start(&store, "i-1", "0", &other, Utc::now())
            .await
            .expect("starts");
        let err = Recorder::resume(&store, "i-1", "0", &key, "w")
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("claimed by checkpoint key \"other\"")),
            "{err:?}"
        );
    }

    #[test]
    fn writer_ids_are_segment_safe() {
        let id = writer_id();
        assert!(
            id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{id}"
        );
    }
}
