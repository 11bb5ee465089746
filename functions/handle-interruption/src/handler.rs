//! Reacting to the three events: receive the event → which instance and agent → take
//! the agent offline → seal the checkpoint → the lifecycle action → report.
//!
//! Each step is attempted even when another failed (the agent goes offline even if S3 is
//! down; the checkpoint is sealed even if the CI server is down); the invocation fails
//! only when a step failed, so EventBridge's retry repeats what is needed, and every
//! step is idempotent so the repeat is harmless.

use chrono::{DateTime, Utc};
use rules::Pool;
use rules::drain::drain_reason;
use serde_json::Value;
use shared::Result;
use shared::ports::Ports;
use shared::runner::Function;

use crate::agent::{Offline, Work, agent_names, take_offline, work_of};
use crate::checkpoint::seal_checkpoint;
use crate::config::{InterruptionConfig, RebalanceAction};
use crate::events::{Interruption, Rebalance, Received, SpotWarning, TerminateAction};
use crate::lifecycle::{Drain, LifecycleOutcome, complete, lifecycle_action, record_drain};
use crate::membership::{Membership, membership};
use crate::report::{Ignored, Report};
use crate::runs::record_interrupted_runs;

pub struct Handler {
    pub config: InterruptionConfig,
    pub ports: Ports,
}

#[async_trait::async_trait]
impl Function for Handler {
    async fn handle(&self, event: Value) -> Result<Value> {
        let event = Interruption::parse(event)?;
        let mut report = Report::new(event.name());
        match event {
            Interruption::SpotWarning(warning) => self.spot_warning(&warning, &mut report).await,
            Interruption::Rebalance(advice) => self.rebalance(&advice, &mut report).await,
            Interruption::TerminateAction(action) => {
                self.terminate_action(&action, &mut report).await
            }
            Interruption::Other { source, .. } => {
                tracing::warn!(detail_type = %report.response.event, %source, "not an event handle-interruption acts on; acknowledged");
                report.ignore(Ignored::NotHandled { source });
            }
        }
        report.finish(&self.ports, &self.config.namespace).await
    }
}

impl Handler {
    /// Two minutes' notice: the agent offline and the checkpoint sealed, both at once.
    async fn spot_warning(&self, warning: &Received<SpotWarning>, report: &mut Report) {
        let instance_id = &warning.detail().instance_id;
        let Some(pool) = self.pool_of(instance_id, report).await else {
            return;
        };
        // Checked: an event dated at chrono's end must not panic (property tests found it).
        let terminates_at = (warning.at)
            .checked_add_signed(chrono::Duration::minutes(2))
            .unwrap_or(warning.at);
        let reason = format!(
            "spot interruption: {instance_id} terminates at {}",
            terminates_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        // Both at once: the offline call is not delayed by the seal (offline first,
        // always), and the two minutes of notice are not spent waiting on one before the
        // other. They touch different systems (CI, S3).
        let (offline, sealed) = tokio::join!(
            self.offline(instance_id, &reason),
            self.seal(instance_id, &pool, &reason, warning.at),
        );
        // EventBridge delivers at least once: count the interruption on its first handling only.
        let first_handling = offline.changed_now() || sealed.sealed_now > 0;
        let (ci, store) = (self.ports.ci.as_ref(), self.ports.store.as_ref());
        match record_interrupted_runs(ci, store, &offline, instance_id, &reason, warning.at).await {
            Ok(runs) => report.interrupted_runs(runs),
            Err(e) => report.error(e),
        }
        report.offline(offline);
        report.checkpoint(sealed, &pool);
        if first_handling {
            report.count("SpotInterruptions", &pool);
        }
    }

    /// A higher risk of interruption: stop new work on the agent (the running build goes
    /// on), unless configured to ignore it.
    async fn rebalance(&self, advice: &Received<Rebalance>, report: &mut Report) {
        let instance_id = &advice.detail().instance_id;
        let Some(pool) = self.pool_of(instance_id, report).await else {
            return;
        };
        report.count("RebalanceRecommendations", &pool);
        match self.config.rebalance {
            RebalanceAction::Offline => {
                let offline = self.offline(instance_id, "rebalance recommendation").await;
                report.offline(offline);
            }
            RebalanceAction::Ignore => report.ignore(Ignored::ByRebalanceAction),
        }
    }

    /// Our hook: offline first, then complete at once when idle or record a drain when
    /// busy. Another team's hook (node-termination-handler, a log upload, a forensics
    /// hook) is theirs to complete: acknowledged and left pending, never completed — Auto
    /// Scaling waits for every hook, and completing theirs would cut their work short.
    /// Our hook on a group of no pool is a configuration error: left pending and reported
    /// (the retries and the dead-letter queue make it loud), since completing it would
    /// end whatever build runs there.
    async fn terminate_action(&self, event: &Received<TerminateAction>, report: &mut Report) {
        let detail = event.detail();
        report.instance(&detail.ec2_instance_id);
        let action = lifecycle_action(detail);
        let groups = self.ports.groups.as_ref();
        if detail.lifecycle_hook_name != self.config.drain_hook {
            tracing::info!(hook = %detail.lifecycle_hook_name, group = %detail.auto_scaling_group_name, "another hook's lifecycle action; left to its owner");
            return report.ignore(Ignored::NotOurHook {
                hook: detail.lifecycle_hook_name.clone(),
            });
        }
        let Some(pool) = self.config.pool_of_group(&detail.auto_scaling_group_name) else {
            return report.error(format!(
                "lifecycle hook {} fired on group {}, which is in no pool of POOLS: the action is left pending (its timeout ends it); add the group's pool or remove the hook from the group",
                detail.lifecycle_hook_name, detail.auto_scaling_group_name
            ));
        };
        report.pool(pool);
        // Names are resolved once (one DescribeInstances at most), then the agent is read
        // alone: offline first, then busy or not. Unknown is not idle: names or a CI server
        // that cannot be read get a drain record, which keeps the build safe, and an error.
        // An instance going to a warm pool comes back: its mark says so (see drain_reason).
        let reason = drain_reason(detail.destination.as_deref());
        let (names, offline) = match self.names(&action.instance_id).await {
            Ok(names) => {
                let offline = take_offline(self.ports.ci.as_ref(), &names, reason).await;
                (names, offline)
            }
            Err(e) => (Vec::new(), Offline::Unknown(e.to_string())),
        };
        let work = work_of(self.ports.ci.as_ref(), &offline).await;
        report.offline(offline);
        let idle = match work {
            Ok(work) => work == Work::Idle,
            Err(e) => {
                report.error(e);
                false
            }
        };
        if idle {
            report.drained_at_once(pool);
            report.lifecycle(complete(groups, &action).await);
        } else {
            let drain = Drain {
                action: &action,
                pool,
                agent_names: names,
                started_at: event.at,
                timeout: self.config.drain_timeout,
            };
            let recorded = record_drain(self.ports.store.as_ref(), groups, drain).await;
            if recorded == Ok(LifecycleOutcome::DrainRecorded) {
                report.count("DrainsStarted", pool);
            }
            report.lifecycle(recorded);
        }
    }

    /// The pool of the instance's Auto Scaling group; none (reported) when not ours or
    /// when Auto Scaling cannot be read.
    async fn pool_of(&self, instance_id: &str, report: &mut Report) -> Option<Pool> {
        report.instance(instance_id);
        let groups = self.ports.groups.as_ref();
        match membership(groups, &self.config, instance_id).await {
            Membership::Ours(pool) => {
                report.pool(&pool);
                Some(pool)
            }
            Membership::NotOurs { group } => {
                tracing::info!(instance = instance_id, group = ?group, "instance is in no configured pool; acknowledged");
                report.ignore(Ignored::NotInPool { group });
                None
            }
            Membership::Unknown(error) => {
                report.error(error);
                None
            }
        }
    }

    async fn names(&self, instance_id: &str) -> Result<Vec<String>> {
        agent_names(
            self.ports.instances.as_ref(),
            &self.config.agent_names,
            instance_id,
        )
        .await
    }

    /// Takes the instance's agent offline under the first name the CI server knows.
    async fn offline(&self, instance_id: &str, reason: &str) -> Offline {
        match self.names(instance_id).await {
            Ok(names) => take_offline(self.ports.ci.as_ref(), &names, reason).await,
            Err(e) => Offline::Unknown(e.to_string()),
        }
    }

    async fn seal(
        &self,
        instance_id: &str,
        pool: &Pool,
        reason: &str,
        at: DateTime<Utc>,
    ) -> crate::checkpoint::Sealed {
        let executors = pool.spec.executors_per_instance;
        seal_checkpoint(
            self.ports.store.as_ref(),
            instance_id,
            executors,
            reason,
            at,
        )
        .await
    }
}

#[cfg(test)]
mod tests;
