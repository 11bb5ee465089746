//! The fourth step: do what the plan says. A retry is queued first (a failure stops here:
//! nothing was queued, so the sender may redeliver); then the decision is kept in the
//! chain's record, noted on the build and counted. Failures after the queueing are
//! warnings, since a redelivery must not queue the retry twice.

use chrono::{DateTime, Utc};
use rules::{Datum, Unit};
use shared::ci::CiKind;
use shared::ports::builds::{BuildControl, FinishedBuild};
use shared::ports::metrics::MetricsSink;
use shared::ports::store::ObjectStore;

use crate::decide::{Action, Plan, Retry};
use crate::record::{self, Entry, RetryRecord, Settlement};
use crate::report::{Ended, Findings, Outcome, Stop};

/// Descriptions are for people; keep them short.
const MAX_DESCRIPTION_CHARS: usize = 4000;

/// The ports the actions write through, and what names their writes.
pub struct Act<'a> {
    pub builds: &'a dyn BuildControl,
    pub store: &'a dyn ObjectStore,
    pub metrics: &'a dyn MetricsSink,
    pub namespace: &'a str,
    pub kind: CiKind,
}

/// A decision carried out: the record's entry, the note for the build, the answer.
#[derive(Debug, Clone)]
pub struct Settled {
    pub entry: Entry,
    pub note: String,
    pub ended: Ended,
}

impl Act<'_> {
    /// Queues the retry the plan asks for, or settles on its denial.
    pub async fn carry_out(
        &self,
        plan: &Plan,
        logical_build: &str,
        build: &FinishedBuild,
        now: DateTime<Utc>,
        found: &mut Findings,
    ) -> Result<Settled, Stop> {
        let class = plan.classification.class;
        let evidence = &plan.classification.evidence;
        let entry = |outcome, detail: &str, queued| Entry {
            build: build.build.to_string(),
            at: now,
            class,
            outcome,
            detail: detail.to_owned(),
            queued,
        };
        match &plan.action {
            Action::Retry(retry) => {
                let queued = self.queue(retry, logical_build, found).await?;
                let queued_as = queued
                    .map(|id| format!("; queued as {id}"))
                    .unwrap_or_default();
                Ok(Settled {
                    note: format!(
                        "ci-fleet: {class} → retried ({}/{}): {}{queued_as}. Evidence: {evidence}",
                        retry.attempt, retry.max_retries, retry.explanation
                    ),
                    entry: entry(Settlement::Retried, &retry.explanation, queued),
                    ended: Ended {
                        outcome: Outcome::Retried,
                        reason: None,
                    },
                })
            }
            Action::Deny { reason } => Ok(Settled {
                note: format!("ci-fleet: {class} → not retried: {reason}. Evidence: {evidence}"),
                entry: entry(Settlement::Denied, reason, None),
                ended: Ended {
                    outcome: Outcome::Denied,
                    reason: Some(reason.clone()),
                },
            }),
        }
    }

    /// Queues the retry and leaves the alias by which its queue id finds the chain again
    /// (should the retry lose its mark); the queue id, when the server gave one.
    async fn queue(
        &self,
        retry: &Retry,
        logical_build: &str,
        found: &mut Findings,
    ) -> Result<Option<u64>, Stop> {
        let queued = self
            .builds
            .requeue(&retry.requeue)
            .await
            .map_err(|e| Stop::error(format!("re-queue failed: {e}")))?;
        found.parameters = Some(queued.parameters.clone());
        if let Some(id) = queued.id
            && let Err(e) = record::save_alias(self.store, self.kind, id, logical_build).await
        {
            found.warnings.push(format!("retry alias not saved: {e}"));
        }
        let id = queued.id;
        found.queued = Some(queued);
        Ok(id)
    }

    /// Keeps the decision, tells the build, counts it; how the webhook ended.
    pub async fn keep(
        &self,
        mut record: RetryRecord,
        settled: Settled,
        build: &FinishedBuild,
        now: DateTime<Utc>,
        warnings: &mut Vec<String>,
    ) -> Ended {
        let class = settled.entry.class;
        let metric = settled.entry.outcome.metric();
        record.push(settled.entry);
        if let Err(e) = record::save(self.store, &record).await {
            tracing::error!(error = %e, key = %record.key, "retry record not saved");
            warnings.push(format!("retry record not saved: {e}"));
        }
        let description = describe(build.description.as_deref(), &settled.note);
        if let Err(e) = self.builds.annotate(&build.build, &description).await {
            warnings.push(format!("build description not set: {e}"));
        }
        let datum =
            Datum::new(metric, 1.0, Unit::Count, now).with_dimension("Reason", class.as_str());
        if let Err(e) = self.metrics.publish(self.namespace, &[datum]).await {
            warnings.push(format!("metric not published: {e}"));
        }
        settled.ended
    }
}

/// The build's description with ci-fleet's line replaced (other lines kept).
pub fn describe(existing: Option<&str>, note: &str) -> String {
    let mut lines: Vec<&str> = existing
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("ci-fleet:"))
        .collect();
    lines.push(note);
    let text = lines.join("\n");
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        text
    } else {
        text.chars().take(MAX_DESCRIPTION_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_other_lines_and_replace_ours() {
        assert_eq!(describe(None, "ci-fleet: x"), "ci-fleet: x");
        assert_eq!(
            describe(Some("nightly\nci-fleet: old"), "ci-fleet: new"),
            "nightly\nci-fleet: new"
        );
        assert_eq!(
            describe(Some(&"d".repeat(5000)), "ci-fleet: x")
                .chars()
                .count(),
            MAX_DESCRIPTION_CHARS
        );
    }
}
