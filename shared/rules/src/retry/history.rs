//! The retry history of one logical build.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::class::FailureClass;

/// What happened to one logical build so far (kept in S3 between webhooks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    /// Retries requested, all classes.
    pub retries: u32,
    pub retries_by_class: BTreeMap<FailureClass, u32>,
    /// Failures classified, retried or not (spot interruptions count toward on-demand).
    pub failures_by_class: BTreeMap<FailureClass, u32>,
}

impl History {
    /// Counts one more failure, and one more retry when `retried`.
    ///
    /// Saturating: the counts are read from S3, and one at `u32::MAX` must not wrap to 0
    /// (a fresh budget, a retry loop) nor panic.
    pub fn count(&mut self, class: FailureClass, retried: bool) {
        let failures = self.failures_by_class.entry(class).or_default();
        *failures = failures.saturating_add(1);
        if retried {
            self.retries = self.retries.saturating_add(1);
            let retries = self.retries_by_class.entry(class).or_default();
            *retries = retries.saturating_add(1);
        }
    }
}
