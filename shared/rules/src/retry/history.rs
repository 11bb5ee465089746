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
    pub fn count(&mut self, class: FailureClass, retried: bool) {
        *self.failures_by_class.entry(class).or_default() += 1;
        if retried {
            self.retries += 1;
            *self.retries_by_class.entry(class).or_default() += 1;
        }
    }
}
