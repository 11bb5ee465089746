//! The JSON documents of the checkpoint layout (see `layout.rs`).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `claims/<instance-id>/<slot>.json` (and a copy as the attempt's `started.json`): the
/// build that runs on one executor of the instance, so the seal knows what to seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub instance_id: String,
    /// The executor the build runs on (`0` for claims written before slots).
    #[serde(default = "first_slot")]
    pub slot: String,
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

/// A run whose agent's instance was spot-interrupted while the run was on it: the evidence
/// advise-retry matches by run, for runs that name no agent (Jenkins Pipeline runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInterruption {
    pub run: String,
    pub instance_id: String,
    pub agent: String,
    /// The event's time.
    pub at: DateTime<Utc>,
    pub reason: String,
}

fn first_slot() -> String {
    "0".to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealOutcome {
    Sealed(Interruption),
    /// This claim's attempt was sealed before (a duplicate event): the first record.
    AlreadySealed(Interruption),
}

/// What sealing an instance did, claim by claim. No outcome and no error: no build had
/// claimed the instance. A claim that could not be sealed does not stop the others.
#[derive(Debug, Default)]
pub struct Sealing {
    pub outcomes: Vec<SealOutcome>,
    pub errors: Vec<crate::error::Error>,
}

impl Sealing {
    /// The records sealed now (not by an earlier delivery of the same event).
    pub fn sealed_now(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, SealOutcome::Sealed(_)))
            .count()
    }
}
