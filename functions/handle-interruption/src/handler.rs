//! Reacting to the three events. Each step is attempted even when another failed (the
//! agent goes offline even if S3 is down; the checkpoint is sealed even if the CI server
//! is down); the invocation fails only when a step failed, so EventBridge's retry repeats
//! what is needed, and every step is idempotent so the repeat is harmless.

use chrono::{DateTime, Utc};
use rules::drain::{DrainRecord, drain_key};
use rules::{Datum, Pool, Unit};
use serde::Serialize;
use serde_json::Value;
use shared::checkpoint::{SealOutcome, seal};
use shared::ci::{CiError, Problem};
use shared::ports::Ports;
use shared::ports::ci::OfflineChange;
use shared::ports::groups::{Completion, LifecycleAction};
use shared::runner::Function;
use shared::{Error, Result};

use crate::config::{InterruptionConfig, RebalanceAction};
use crate::events::{Interruption, TerminateAction};

/// Used when the hook cannot be described: Auto Scaling's own default.
const DEFAULT_HEARTBEAT_TIMEOUT: u32 = 3600;

pub struct Handler {
    pub config: InterruptionConfig,
    pub ports: Ports,
}

#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The pool the instance belongs to; none means not ours (acknowledged, nothing done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[async_trait::async_trait]
impl Function for Handler {
    async fn handle(&self, event: Value) -> Result<Value> {
        let event = Interruption::parse(event)?;
        let mut response = Response::default();
        let mut datums = Vec::new();
        response.event = event.name().to_owned();
        match event {
            Interruption::SpotWarning(e) => {
                let terminates_at = e.at + chrono::Duration::minutes(2);
                let reason = format!(
                    "spot interruption: {} terminates at {}",
                    e.detail().instance_id,
                    terminates_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
                if let Some(pool) = self.ours(&e.detail().instance_id, &mut response).await {
                    // Both at once: the offline call is not delayed by the seal (offline
                    // first, always), and the two minutes of notice are not spent waiting
                    // on one before the other. They touch different systems (CI, S3).
                    let (mut offline, mut sealed) = (Response::default(), Response::default());
                    tokio::join!(
                        self.take_offline(&e.detail().instance_id, &reason, &mut offline),
                        self.seal(
                            &e.detail().instance_id,
                            &reason,
                            e.at,
                            &pool,
                            &mut sealed,
                            &mut datums,
                        )
                    );
                    response.agent = offline.agent;
                    response.offline = offline.offline;
                    response.checkpoint = sealed.checkpoint;
                    response.errors.extend(offline.errors);
                    response.errors.extend(sealed.errors);
                    // EventBridge delivers at least once: count the interruption on its first handling only.
                    let sealed_now = response
                        .checkpoint
                        .as_ref()
                        .is_some_and(|c| c["outcome"] == "sealed");
                    if response.offline == Some("taken-offline") || sealed_now {
                        datums.push(count("SpotInterruptions", &pool));
                    }
                }
            }
            Interruption::Rebalance(e) => {
                if let Some(pool) = self.ours(&e.detail().instance_id, &mut response).await {
                    datums.push(count("RebalanceRecommendations", &pool));
                    match self.config.rebalance {
                        RebalanceAction::Offline => {
                            self.take_offline(
                                &e.detail().instance_id,
                                "rebalance recommendation",
                                &mut response,
                            )
                            .await
                        }
                        RebalanceAction::Ignore => {
                            response.ignored = Some("REBALANCE_ACTION=ignore".into())
                        }
                    }
                }
            }
            Interruption::TerminateAction(e) => {
                self.terminate_action(e.detail(), e.at, &mut response, &mut datums)
                    .await;
            }
            Interruption::Other {
                detail_type,
                source,
            } => {
                tracing::warn!(%detail_type, %source, "not an event handle-interruption acts on; acknowledged");
                response.ignored = Some(format!("not handled (source {source})"));
            }
        }
        response.would_do = self
            .ports
            .finish_run(&self.config.namespace, &datums, &mut response.errors)
            .await;
        if response.errors.is_empty() {
            serde_json::to_value(&response).map_err(|e| Error::Failed(e.to_string()))
        } else {
            Err(Error::Failed(format!(
                "{} for {}: {}",
                response.event,
                response.instance_id.as_deref().unwrap_or("?"),
                response.errors.join("; ")
            )))
        }
    }
}

impl Handler {
    /// The pool of the instance's Auto Scaling group, and the agent names it may use.
    async fn ours(&self, instance_id: &str, response: &mut Response) -> Option<Pool> {
        response.instance_id = Some(instance_id.to_owned());
        let group = match self.ports.groups.groups_of(&[instance_id.to_owned()]).await {
            Ok(found) => found.into_iter().next().map(|i| i.group),
            Err(e) => {
                response.errors.push(e.to_string());
                return None;
            }
        };
        match group.as_deref().and_then(|g| self.config.pool_of_group(g)) {
            Some(pool) => {
                response.pool = Some(pool.name().to_owned());
                Some(pool.clone())
            }
            None => {
                tracing::info!(instance = instance_id, group = ?group, "instance is in no configured pool; acknowledged");
                response.ignored = Some(format!(
                    "instance is in no configured pool (group {})",
                    group.as_deref().unwrap_or("none")
                ));
                None
            }
        }
    }

    async fn agent_names(&self, instance_id: &str) -> Result<Vec<String>> {
        let details = if self.config.agent_names.needs_instance_details() {
            self.ports
                .instances
                .describe(&[instance_id.to_owned()])
                .await?
                .into_iter()
                .next()
        } else {
            None
        };
        Ok(self
            .config
            .agent_names
            .agent_names(instance_id, details.as_ref()))
    }

    /// Takes the instance's agent offline under the first name the CI server knows.
    async fn take_offline(&self, instance_id: &str, reason: &str, response: &mut Response) {
        match self.agent_names(instance_id).await {
            Ok(names) => {
                self.offline_named(&names, reason, response).await;
            }
            Err(e) => response.errors.push(e.to_string()),
        }
    }

    /// Takes the agent offline under the first of `names` the CI server knows.
    async fn offline_named(
        &self,
        names: &[String],
        reason: &str,
        response: &mut Response,
    ) -> AgentFound {
        for name in names {
            match self.ports.ci.take_offline(name, reason).await {
                Ok(change) => {
                    tracing::info!(agent = %name, ?change, reason, "agent offline");
                    response.agent = Some(name.clone());
                    response.offline = Some(match change {
                        OfflineChange::TakenOffline => "taken-offline",
                        OfflineChange::AlreadyOffline => "already-offline",
                    });
                    return AgentFound::Named(name.clone());
                }
                Err(CiError {
                    problem: Problem::NotFound(_),
                    ..
                }) => continue,
                Err(e) => {
                    response.errors.push(e.to_string());
                    return AgentFound::Unknown;
                }
            }
        }
        // An instance whose agent never registered has no work to protect.
        response.offline = Some("no-agent");
        AgentFound::NoAgent
    }

    /// Whether the terminating instance's agent runs a build. Unknown is not idle.
    async fn busy(&self, found: &AgentFound, response: &mut Response) -> bool {
        let AgentFound::Named(name) = found else {
            return *found == AgentFound::Unknown;
        };
        match self.ports.ci.agent_busy(name).await {
            Ok(busy) => busy.unwrap_or(false),
            Err(e) => {
                response.errors.push(e.to_string());
                true
            }
        }
    }

    async fn seal(
        &self,
        instance_id: &str,
        reason: &str,
        at: DateTime<Utc>,
        pool: &Pool,
        response: &mut Response,
        datums: &mut Vec<Datum>,
    ) {
        let executors = pool.spec.executors_per_instance;
        let sealing = match seal(
            self.ports.store.as_ref(),
            instance_id,
            executors,
            reason,
            at,
        )
        .await
        {
            Ok(sealing) => sealing,
            Err(e) => return response.errors.push(format!("checkpoint: {e}")),
        };
        let mut records = Vec::new();
        for outcome in &sealing.outcomes {
            let (SealOutcome::Sealed(record) | SealOutcome::AlreadySealed(record)) = outcome;
            if matches!(outcome, SealOutcome::Sealed(_)) {
                tracing::info!(key = %record.key, attempt = record.attempt, passed = record.passed, "checkpoint sealed");
                datums.push(count("CheckpointsSealed", pool));
            }
            records.push(record);
        }
        response
            .errors
            .extend(sealing.errors.iter().map(|e| format!("checkpoint: {e}")));
        // One build per instance is the common case: its record, as before slots; an agent
        // with several executors lists every build's record.
        let outcome = if sealing.sealed_now() > 0 {
            "sealed"
        } else if records.is_empty() {
            "no-claim"
        } else {
            "already-sealed"
        };
        response.checkpoint = Some(match records.as_slice() {
            [] => serde_json::json!({"outcome": outcome}),
            [record] => serde_json::json!({"outcome": outcome, "record": record}),
            many => serde_json::json!({"outcome": outcome, "records": many}),
        });
    }

    /// Our hook: offline first, then complete at once when idle or record a drain when busy.
    /// Another hook or another group: complete at once — never leave an action hanging.
    async fn terminate_action(
        &self,
        detail: &TerminateAction,
        at: DateTime<Utc>,
        response: &mut Response,
        datums: &mut Vec<Datum>,
    ) {
        let instance_id = detail.ec2_instance_id.clone();
        response.instance_id = Some(instance_id.clone());
        let action = LifecycleAction {
            group: detail.auto_scaling_group_name.clone(),
            hook: detail.lifecycle_hook_name.clone(),
            instance_id: instance_id.clone(),
            token: detail.lifecycle_action_token.clone(),
        };
        let pool = self
            .config
            .pool_of_group(&detail.auto_scaling_group_name)
            .cloned();
        let Some(pool) = pool.filter(|_| detail.lifecycle_hook_name == self.config.drain_hook)
        else {
            response.ignored = Some("not our hook or group: completed at once".into());
            return self.complete(&action, response).await;
        };
        response.pool = Some(pool.name().to_owned());
        // Names are resolved once (one DescribeInstances at most), then the agent is read
        // alone: offline first, then busy or not. Unknown is not idle: a CI server that
        // cannot be read gets a drain record, which keeps the build safe, and an error.
        let names = match self.agent_names(&instance_id).await {
            Ok(names) => names,
            Err(e) => return response.errors.push(e.to_string()),
        };
        let found = self
            .offline_named(&names, "scale-in: instance terminating, draining", response)
            .await;
        let busy = self.busy(&found, response).await;
        if !busy {
            datums.push(count("DrainsCompleted", &pool));
            datums.push(
                Datum::new("DrainSeconds", 0.0, Unit::Seconds, Utc::now())
                    .with_dimension("Pool", pool.name()),
            );
            return self.complete(&action, response).await;
        }
        let key = drain_key(&instance_id);
        match self.ports.store.get(&key).await {
            Ok(Some(_)) => response.lifecycle = Some("drain-already-recorded"),
            Ok(None) => {
                let heartbeat_timeout = self
                    .ports
                    .groups
                    .hook_heartbeat_timeout(&action.group, &action.hook)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(DEFAULT_HEARTBEAT_TIMEOUT);
                let now = Utc::now();
                let record = DrainRecord {
                    instance_id: instance_id.clone(),
                    pool: pool.name().to_owned(),
                    group: action.group.clone(),
                    hook: action.hook.clone(),
                    token: action.token.clone(),
                    agent_names: names,
                    started_at: at,
                    deadline: now
                        + chrono::Duration::from_std(self.config.drain_timeout).unwrap_or_default(),
                    heartbeat_timeout_seconds: heartbeat_timeout,
                    last_heartbeat_at: at,
                };
                let written = match serde_json::to_vec(&record) {
                    Ok(body) => self.ports.store.put(&key, body).await,
                    Err(e) => Err(Error::Failed(e.to_string())),
                };
                match written {
                    Ok(()) => {
                        datums.push(count("DrainsStarted", &pool));
                        response.lifecycle = Some("drain-recorded");
                    }
                    Err(e) => response.errors.push(format!("drain record: {e}")),
                }
            }
            Err(e) => response.errors.push(format!("drain record: {e}")),
        }
    }

    async fn complete(&self, action: &LifecycleAction, response: &mut Response) {
        match self.ports.groups.complete_lifecycle_action(action).await {
            Ok(Completion::Completed) => response.lifecycle = Some("completed"),
            Ok(Completion::NoLongerPending) => response.lifecycle = Some("already-completed"),
            Err(e) => response.errors.push(e.to_string()),
        }
    }
}

/// What taking the agent offline learned about it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AgentFound {
    Named(String),
    /// None of the instance's possible names is an agent: it never registered.
    NoAgent,
    /// The CI server could not be read.
    Unknown,
}

fn count(name: &'static str, pool: &Pool) -> Datum {
    Datum::new(name, 1.0, Unit::Count, Utc::now()).with_dimension("Pool", pool.name())
}
