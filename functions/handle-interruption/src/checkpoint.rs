//! Sealing the checkpoint: every build that claimed an executor of the interrupted
//! instance gets its pass list consolidated and its interruption recorded, so the retry
//! skips what already passed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::checkpoint::{Interruption, SealOutcome, seal};
use shared::ports::ObjectStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointOutcome {
    /// At least one build's checkpoint sealed by this delivery.
    Sealed,
    /// No build had claimed the instance.
    NoClaim,
    /// Every claimed build was sealed by an earlier delivery.
    AlreadySealed,
}

/// The response's `checkpoint`. One build per instance is the common case: its record
/// as `record`, as before slots; an agent with several executors lists every build's
/// record as `records`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointReport {
    pub outcome: CheckpointOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Interruption>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<Interruption>,
}

/// What the seal did, for the response and the metrics.
#[derive(Debug, Default)]
pub struct Sealed {
    /// `None` when the claims could not be read at all.
    pub report: Option<CheckpointReport>,
    /// Builds sealed by this delivery, one `CheckpointsSealed` each.
    pub sealed_now: usize,
    pub errors: Vec<String>,
}

/// Seals the checkpoint of every build on the instance's `executors` slots. A claim that
/// fails to seal is an error that does not keep the others from being sealed.
pub async fn seal_checkpoint(
    store: &dyn ObjectStore,
    instance_id: &str,
    executors: u32,
    reason: &str,
    at: DateTime<Utc>,
) -> Sealed {
    let sealing = match seal(store, instance_id, executors, reason, at).await {
        Ok(sealing) => sealing,
        Err(e) => {
            return Sealed {
                errors: vec![format!("checkpoint: {e}")],
                ..Sealed::default()
            };
        }
    };
    let mut records = Vec::new();
    for outcome in sealing.outcomes.iter() {
        let (SealOutcome::Sealed(record) | SealOutcome::AlreadySealed(record)) = outcome;
        if matches!(outcome, SealOutcome::Sealed(_)) {
            tracing::info!(key = %record.key, attempt = record.attempt, passed = record.passed, "checkpoint sealed");
        }
        records.push(record.clone());
    }
    let sealed_now = sealing.sealed_now();
    let outcome = if sealed_now > 0 {
        CheckpointOutcome::Sealed
    } else if records.is_empty() {
        CheckpointOutcome::NoClaim
    } else {
        CheckpointOutcome::AlreadySealed
    };
    let report = if records.len() == 1 {
        CheckpointReport {
            outcome,
            record: records.pop(),
            records: vec![],
        }
    } else {
        CheckpointReport {
            outcome,
            record: None,
            records,
        }
    };
    Sealed {
        report: Some(report),
        sealed_now,
        errors: sealing
            .errors
            .iter()
            .map(|e| format!("checkpoint: {e}"))
            .collect(),
    }
}
