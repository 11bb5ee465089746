//! The JSON documents of the checkpoint layout (see `layout.rs`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `claims/<instance-id>.json` (and a copy as the attempt's `started.json`): the build
/// that runs on the instance, so the seal knows what to seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub instance_id: String,
    /// The checkpoint key as the build gave it (not encoded).
    pub key: String,
    pub attempt: u32,
    pub claimed_at: DateTime<Utc>,
}

/// `attempts/<n>/parts/<seq>-<writer>.json`: tests that passed, new since the writer's
/// previous part. Written once, never rewritten or deleted: that is what makes an
/// upload that raced an interruption, or a crashed seal, lose nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub instance_id: String,
    pub attempt: u32,
    pub written_at: DateTime<Utc>,
    pub tests: Vec<String>,
}

/// `checkpoints/<key>/passed.json`: the union of the parts the seals consolidated.
/// `parts` names them, so `restore` reads only the parts that came after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassList {
    pub key: String,
    pub tests: BTreeSet<String>,
    pub parts: BTreeSet<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `attempts/<n>/interruption.json`: written by the seal, last, so its presence means the
/// pass list already holds the attempt's parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interruption {
    pub instance_id: String,
    pub key: String,
    pub attempt: u32,
    /// The event's time.
    pub at: DateTime<Utc>,
    pub reason: String,
    /// Tests in the pass list after this seal: what the next attempt will skip.
    pub passed: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealOutcome {
    Sealed(Interruption),
    /// This claim's attempt was sealed before (a duplicate event): the first record.
    AlreadySealed(Interruption),
    /// No build claimed the instance: nothing to seal.
    NoClaim,
}
