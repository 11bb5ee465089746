//! One run: protect busy agents' instances, unprotect the idle ones, recycle botched and
//! used-up agents (`recycle.rs`), finish drains, remove dead agents, publish what changed.
//! Unknown CI state unprotects nothing, recycles nothing and completes no drain (only
//! deadlines and vanished instances still end drains).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rules::drain::{DrainAgent, DrainRecord, DrainStep, next_step};
use rules::protection::{AgentView, InstanceView, Reason, decide, next_idle_since};
use rules::{Agent, AgentNameSource, CiSnapshot, Datum, InstanceInfo, Unit};
use serde::Serialize;
use serde_json::Value;
use shared::ports::Ports;
use shared::ports::groups::{Completion, Group, LifecycleAction};
use shared::runner::Function;
use shared::{Error, Result};

use crate::config::ProtectConfig;
use crate::memory::{InstanceMemory, Memory};
use crate::recycle::{RecycleReport, Seen};

const IN_SERVICE: &str = "InService";

pub struct Protector {
    pub config: ProtectConfig,
    pub ports: Ports,
}

#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub dry_run: bool,
    pub ci_server_up: bool,
    pub pools: Vec<PoolReport>,
    pub drains: Vec<DrainReport>,
    pub dead_agents_removed: Vec<String>,
    pub recycling: RecycleReport,
    pub set_instance_protection_calls: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PoolReport {
    pub pool: String,
    pub group: String,
    pub in_service: usize,
    pub protected: usize,
    pub protect: Vec<Change>,
    pub unprotect: Vec<Change>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub instance_id: String,
    pub reason: Reason,
}

#[derive(Debug, Serialize)]
pub struct DrainReport {
    pub instance_id: String,
    pub pool: String,
    pub step: DrainStep,
    pub drain_seconds: f64,
}

#[async_trait::async_trait]
impl Function for Protector {
    async fn handle(&self, event: Value) -> Result<Value> {
        if event
            .get("detail-type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "Scheduled Event")
        {
            return Err(Error::Event(format!(
                "protect-busy-agents runs on a schedule; it does not handle {} events",
                event["detail-type"]
            )));
        }
        let response = self.run(Utc::now()).await?;
        serde_json::to_value(response).map_err(|e| Error::Failed(e.to_string()))
    }
}

impl Protector {
    #[tracing::instrument(name = "protect_busy_agents", skip_all)]
    pub async fn run(&self, now: DateTime<Utc>) -> Result<Response> {
        let mut response = Response {
            dry_run: self.ports.would_do.is_some(),
            ..Response::default()
        };
        let mut datums = Vec::new();
        let group_names: Vec<String> = self
            .config
            .pools
            .iter()
            .map(|p| p.spec.asg.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let groups = self.ports.groups.describe_groups(&group_names).await?;
        let snapshot = match self.ports.ci.snapshot().await {
            Ok(snapshot) => Some(snapshot),
            Err(e) => {
                tracing::error!(error = %e, "CI server state unknown: unprotecting nothing, completing no drain");
                response.errors.push(e.to_string());
                None
            }
        };
        response.ci_server_up = snapshot.is_some();
        datums.push(Datum::new(
            "CiServerUp",
            if snapshot.is_some() { 1.0 } else { 0.0 },
            Unit::Count,
            now,
        ));

        let (mut memory, memory_loaded) = match Memory::load(self.ports.store.as_ref()).await {
            Ok(memory) => (memory, true),
            Err(e) => {
                response.errors.push(format!("protection memory: {e}"));
                (Memory::default(), false)
            }
        };
        let agents: HashMap<&str, &Agent> = snapshot
            .iter()
            .flat_map(|s| &s.agents)
            .map(|a| (a.name.as_str(), a))
            .collect();
        let details = self.instance_details(&groups, &agents, &mut response).await;

        for pool in &self.config.pools {
            let Some(group) = groups.iter().find(|g| g.name == pool.spec.asg) else {
                response.errors.push(format!(
                    "pool {}: Auto Scaling group {} not found",
                    pool.name(),
                    pool.spec.asg
                ));
                continue;
            };
            let mut report = PoolReport {
                pool: pool.name().to_owned(),
                group: group.name.clone(),
                in_service: 0,
                protected: 0,
                protect: vec![],
                unprotect: vec![],
            };
            // Instances seen for the first time: the budget alarm counts launches per hour.
            let mut launched = 0;
            for instance in &group.instances {
                if instance.lifecycle_state != IN_SERVICE {
                    report.protected += usize::from(instance.protected_from_scale_in);
                    continue;
                }
                report.in_service += 1;
                let info = details.get(instance.instance_id.as_str());
                launched += usize::from(!memory.instances.contains_key(&instance.instance_id));
                let remembered = memory
                    .instances
                    .entry(instance.instance_id.clone())
                    .or_insert_with(|| InstanceMemory::first_seen_at(now));
                let agent = match &snapshot {
                    None => AgentView::Unknown {
                        busy_at_last_reading: remembered.busy,
                    },
                    Some(_) => view_of(find_agent(
                        &self.config.agent_names,
                        &instance.instance_id,
                        info,
                        &agents,
                    )),
                };
                let view = InstanceView {
                    protected: instance.protected_from_scale_in,
                    since: info
                        .and_then(|i| i.launch_time)
                        .unwrap_or(remembered.first_seen),
                    agent,
                    idle_since: remembered.idle_since,
                };
                let verdict = decide(&view, self.config.graces, now);
                remembered.idle_since = next_idle_since(agent, remembered.idle_since, now);
                if snapshot.is_some() {
                    remembered.busy = agent == AgentView::Busy;
                }
                report.protected += usize::from(verdict.protect);
                if verdict.changes(&view) {
                    let change = Change {
                        instance_id: instance.instance_id.clone(),
                        reason: verdict.reason,
                    };
                    if verdict.protect {
                        report.protect.push(change)
                    } else {
                        report.unprotect.push(change)
                    }
                }
            }
            let changes = self.apply(&report, &mut response).await;
            if memory_loaded {
                datums.push(
                    Datum::new("InstancesLaunched", launched as f64, Unit::Count, now)
                        .with_dimension("Pool", pool.name()),
                );
            }
            datums.push(
                Datum::new(
                    "ProtectedInstances",
                    report.protected as f64,
                    Unit::Count,
                    now,
                )
                .with_dimension("Pool", pool.name()),
            );
            datums.push(
                Datum::new("ProtectionChanges", changes as f64, Unit::Count, now)
                    .with_dimension("Pool", pool.name()),
            );
            response.pools.push(report);
        }

        let seen = Seen {
            groups: &groups,
            snapshot: snapshot.as_ref(),
            agents: &agents,
            details: &details,
        };
        self.recycle(&seen, &mut memory, &mut response, &mut datums, now)
            .await;
        self.finish_drains(&groups, snapshot.as_ref(), now, &mut response, &mut datums)
            .await;
        if let Some(snapshot) = &snapshot {
            self.remove_dead_agents(&groups, snapshot, &mut response, &mut datums, now)
                .await;
        }

        let present: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| &g.instances)
            .map(|i| i.instance_id.as_str())
            .collect();
        memory
            .instances
            .retain(|id, _| present.contains(id.as_str()));
        if memory_loaded && let Err(e) = memory.save(self.ports.store.as_ref()).await {
            response.errors.push(format!("protection memory: {e}"));
        }
        response.would_do = self
            .ports
            .finish_run(&self.config.namespace, &datums, &mut response.errors)
            .await;
        match response.errors.len() {
            0 => Ok(response),
            n => Err(Error::Failed(format!(
                "{n} problem(s): {}",
                response.errors.join("; ")
            ))),
        }
    }

    /// DescribeInstances, filtered by id, only when names, boot or launch times need it:
    /// every instance for DNS/tag naming or a use limit to count builds from launch, else
    /// only InService instances without an agent.
    async fn instance_details(
        &self,
        groups: &[Group],
        agents: &HashMap<&str, &Agent>,
        response: &mut Response,
    ) -> HashMap<String, InstanceInfo> {
        let in_service = groups
            .iter()
            .flat_map(|g| &g.instances)
            .filter(|i| i.lifecycle_state == IN_SERVICE);
        let counts_builds = self.config.recycle.enabled
            && self
                .config
                .pools
                .iter()
                .any(|p| p.spec.max_builds_per_agent.is_some());
        let ids: Vec<String> = if self.config.agent_names.needs_instance_details() || counts_builds
        {
            in_service.map(|i| i.instance_id.clone()).collect()
        } else {
            in_service
                .filter(|i| !agents.contains_key(i.instance_id.as_str()))
                .map(|i| i.instance_id.clone())
                .collect()
        };
        if ids.is_empty() {
            return HashMap::new();
        }
        match self.ports.instances.describe(&ids).await {
            Ok(found) => found
                .into_iter()
                .map(|i| (i.instance_id.clone(), i))
                .collect(),
            Err(e) => {
                // Boot grace then counts from first sight; agents named by DNS/tag stay unknown (kept as they are).
                response.errors.push(e.to_string());
                HashMap::new()
            }
        }
    }

    /// One SetInstanceProtection call per group, direction and 50 ids; returns the changes made.
    async fn apply(&self, report: &PoolReport, response: &mut Response) -> usize {
        let mut changed = 0;
        for (protect, changes) in [(true, &report.protect), (false, &report.unprotect)] {
            if changes.is_empty() {
                continue;
            }
            let ids: Vec<String> = changes.iter().map(|c| c.instance_id.clone()).collect();
            match self
                .ports
                .groups
                .set_protection(&report.group, &ids, protect)
                .await
            {
                Ok(calls) => {
                    response.set_instance_protection_calls += calls;
                    changed += ids.len();
                    tracing::info!(pool = %report.pool, protect, instances = ?ids, "scale-in protection changed");
                }
                Err(e) => response.errors.push(e.to_string()),
            }
        }
        changed
    }

    async fn finish_drains(
        &self,
        groups: &[Group],
        snapshot: Option<&CiSnapshot>,
        now: DateTime<Utc>,
        response: &mut Response,
        datums: &mut Vec<Datum>,
    ) {
        let keys = match self.ports.store.list("drains/").await {
            Ok(keys) => keys,
            Err(e) => return response.errors.push(format!("drain records: {e}")),
        };
        for key in keys {
            let record: DrainRecord = match self
                .ports
                .store
                .get(&key)
                .await
                .map(|b| b.map(|b| serde_json::from_slice(&b)))
            {
                Ok(Some(Ok(record))) => record,
                Ok(None) => continue,
                Ok(Some(Err(e))) => {
                    response.errors.push(format!("drain record {key} is corrupt ({e}); its lifecycle action ends at the hook's own timeout"));
                    continue;
                }
                Err(e) => {
                    response.errors.push(e.to_string());
                    continue;
                }
            };
            let exists = groups
                .iter()
                .flat_map(|g| &g.instances)
                .any(|i| i.instance_id == record.instance_id);
            let agent = match snapshot {
                None => DrainAgent::Unknown,
                Some(s) => match s
                    .agents
                    .iter()
                    .find(|a| record.agent_names.contains(&a.name))
                {
                    Some(a) if a.busy_executors > 0 => DrainAgent::Busy,
                    _ => DrainAgent::Done,
                },
            };
            let step = next_step(&record, agent, exists, now, self.config.run_every);
            let action = LifecycleAction {
                group: record.group.clone(),
                hook: record.hook.clone(),
                instance_id: record.instance_id.clone(),
                token: record.token.clone(),
            };
            let drain_seconds = (now - record.started_at).num_milliseconds() as f64 / 1000.0;
            let pool = |name: &'static str, value: f64| {
                Datum::new(name, value, Unit::Count, now)
                    .with_dimension("Pool", record.pool.clone())
            };
            let outcome = match step {
                DrainStep::Wait => Ok(()),
                DrainStep::Heartbeat => match self.ports.groups.record_heartbeat(&action).await {
                    Ok(Completion::Completed) => {
                        let updated = DrainRecord {
                            last_heartbeat_at: now,
                            ..record.clone()
                        };
                        match serde_json::to_vec(&updated) {
                            Ok(body) => self.ports.store.put(&key, body).await,
                            Err(e) => Err(Error::Failed(e.to_string())),
                        }
                    }
                    // The action ended elsewhere (completed by hand, expired): nothing left to drain.
                    Ok(Completion::NoLongerPending) => self.ports.store.delete(&key).await,
                    Err(e) => Err(e),
                },
                DrainStep::Complete | DrainStep::CompleteTimedOut | DrainStep::CompleteVanished => {
                    match self.ports.groups.complete_lifecycle_action(&action).await {
                        Ok(_) => {
                            datums.push(pool("DrainsCompleted", 1.0));
                            datums.push(
                                Datum::new("DrainSeconds", drain_seconds, Unit::Seconds, now)
                                    .with_dimension("Pool", record.pool.clone()),
                            );
                            if step == DrainStep::CompleteTimedOut {
                                datums.push(pool("DrainsTimedOut", 1.0));
                            }
                            self.ports.store.delete(&key).await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            if let Err(e) = outcome {
                response
                    .errors
                    .push(format!("drain of {}: {e}", record.instance_id));
            }
            tracing::info!(instance = %record.instance_id, ?step, drain_seconds, "drain");
            response.drains.push(DrainReport {
                instance_id: record.instance_id,
                pool: record.pool,
                step,
                drain_seconds,
            });
        }
    }

    /// Offline agents of our pools whose instance is terminated or gone no longer count
    /// anywhere once removed. Only instance-id naming identifies an agent's instance
    /// without doubt, so other naming sources never remove an agent.
    async fn remove_dead_agents(
        &self,
        groups: &[Group],
        snapshot: &CiSnapshot,
        response: &mut Response,
        datums: &mut Vec<Datum>,
        now: DateTime<Utc>,
    ) {
        if !self.config.remove_dead_agents || self.config.agent_names != AgentNameSource::InstanceId
        {
            return;
        }
        let in_groups: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| &g.instances)
            .map(|i| i.instance_id.as_str())
            .collect();
        let candidates: Vec<&Agent> = snapshot
            .agents
            .iter()
            .filter(|a| {
                !a.connected
                    && looks_like_instance_id(&a.name)
                    && !in_groups.contains(a.name.as_str())
            })
            .filter(|a| self.config.pools.iter().any(|p| p.contains(a)))
            .collect();
        if candidates.is_empty() {
            return;
        }
        let ids: Vec<String> = candidates.iter().map(|a| a.name.clone()).collect();
        let found = match self.ports.instances.describe(&ids).await {
            Ok(found) => found,
            Err(e) => return response.errors.push(e.to_string()),
        };
        for agent in candidates {
            let alive = found
                .iter()
                .any(|i| i.instance_id == agent.name && !i.is_gone());
            if alive {
                continue;
            }
            match self.ports.ci.remove_agent(&agent.name).await {
                Ok(()) => {
                    tracing::info!(agent = %agent.name, "removed dead agent");
                    for pool in self.config.pools.iter().filter(|p| p.contains(agent)) {
                        datums.push(
                            Datum::new("DeadAgentsRemoved", 1.0, Unit::Count, now)
                                .with_dimension("Pool", pool.name()),
                        );
                    }
                    response.dead_agents_removed.push(agent.name.clone());
                }
                Err(e) => response.errors.push(e.to_string()),
            }
        }
    }
}

fn looks_like_instance_id(name: &str) -> bool {
    name.strip_prefix("i-").is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

pub(crate) fn find_agent<'a>(
    source: &AgentNameSource,
    instance_id: &str,
    info: Option<&InstanceInfo>,
    agents: &HashMap<&str, &'a Agent>,
) -> Option<&'a Agent> {
    source
        .agent_names(instance_id, info)
        .iter()
        .find_map(|name| agents.get(name.as_str()).copied())
}

fn view_of(agent: Option<&Agent>) -> AgentView {
    match agent {
        None => AgentView::NotRegistered,
        Some(a) if !a.connected => AgentView::NotRegistered,
        Some(a) if !a.accepting_tasks => AgentView::Offline,
        Some(a) if a.busy_executors > 0 => AgentView::Busy,
        Some(_) => AgentView::Idle,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use chrono::TimeZone;
    use rules::drain::drain_key;
    use rules::health::FinishedBuild;
    use rules::protection::Graces;
    use rules::{Pool, PoolSpec};
    use shared::aws::metrics::RecordingMetrics;
    use shared::ci::CiKind;
    use shared::ci::{CiError, Problem};
    use shared::config::{CiConfig, CredentialSource};
    use shared::ports::ci::OfflineChange;
    use shared::ports::groups::GroupInstance;
    use shared::testing::MemoryStore;

    use std::sync::Arc;

    use shared::ports::CiServer;
    use shared::ports::groups::ScalingGroups;
    use shared::ports::instances::Instances;
    use shared::ports::store::ObjectStore;

    use super::*;
    use crate::memory::{InstanceMemory, MEMORY_KEY};

    pub(crate) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("valid")
    }

    pub(crate) fn ago(seconds: i64) -> DateTime<Utc> {
        now() - chrono::Duration::seconds(seconds)
    }

    /// A CI server that answers one snapshot (or is down) and a build history (or not),
    /// and records removals and agents taken offline.
    pub(crate) struct FakeCi {
        pub(crate) snapshot: Option<CiSnapshot>,
        pub(crate) history: Option<Vec<FinishedBuild>>,
        pub(crate) removed: Mutex<Vec<String>>,
        pub(crate) taken_offline: Mutex<Vec<(String, String)>>,
    }

    fn down(url: &str) -> CiError {
        CiError {
            kind: CiKind::Jenkins,
            method: "GET",
            url: url.into(),
            problem: Problem::ServerError {
                status: 503,
                snippet: "down".into(),
            },
        }
    }

    #[async_trait]
    impl CiServer for FakeCi {
        async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
            self.snapshot
                .clone()
                .ok_or_else(|| down("http://ci/computer/api/json"))
        }
        async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
            self.taken_offline
                .lock()
                .expect("lock")
                .push((agent.to_owned(), reason.to_owned()));
            Ok(OfflineChange::TakenOffline)
        }
        async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
            self.removed.lock().expect("lock").push(agent.to_owned());
            Ok(())
        }
        async fn recent_builds(&self) -> Result<Vec<FinishedBuild>, CiError> {
            self.history
                .clone()
                .ok_or_else(|| down("http://ci/api/json"))
        }
    }

    /// An Auto Scaling group in memory that records every write.
    #[derive(Default)]
    pub(crate) struct FakeGroups {
        pub(crate) groups: Vec<Group>,
        pub(crate) protection_calls: Mutex<Vec<(String, Vec<String>, bool)>>,
        pub(crate) completed: Mutex<Vec<String>>,
        pub(crate) heartbeats: Mutex<Vec<String>>,
        /// (instance, decrement desired capacity)
        pub(crate) terminated: Mutex<Vec<(String, bool)>>,
    }

    #[async_trait]
    impl ScalingGroups for FakeGroups {
        async fn describe_groups(&self, _: &[String]) -> Result<Vec<Group>> {
            Ok(self.groups.clone())
        }
        async fn groups_of(&self, _: &[String]) -> Result<Vec<GroupInstance>> {
            Ok(vec![])
        }
        async fn set_protection(
            &self,
            group: &str,
            ids: &[String],
            protected: bool,
        ) -> Result<usize> {
            self.protection_calls.lock().expect("lock").push((
                group.to_owned(),
                ids.to_vec(),
                protected,
            ));
            Ok(ids.len().div_ceil(50))
        }
        async fn complete_lifecycle_action(&self, action: &LifecycleAction) -> Result<Completion> {
            self.completed
                .lock()
                .expect("lock")
                .push(action.instance_id.clone());
            Ok(Completion::Completed)
        }
        async fn record_heartbeat(&self, action: &LifecycleAction) -> Result<Completion> {
            self.heartbeats
                .lock()
                .expect("lock")
                .push(action.instance_id.clone());
            Ok(Completion::Completed)
        }
        async fn hook_heartbeat_timeout(&self, _: &str, _: &str) -> Result<Option<u32>> {
            Ok(Some(600))
        }
        async fn set_unhealthy(&self, _: &str) -> Result<()> {
            unreachable!()
        }
        async fn terminate(&self, instance_id: &str, decrement: bool) -> Result<()> {
            self.terminated
                .lock()
                .expect("lock")
                .push((instance_id.to_owned(), decrement));
            Ok(())
        }
    }

    /// Instances known to EC2: launch times, and which exist at all.
    struct FakeInstances(Vec<InstanceInfo>);

    #[async_trait]
    impl Instances for FakeInstances {
        async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceInfo>> {
            Ok(self
                .0
                .iter()
                .filter(|i| ids.contains(&i.instance_id))
                .cloned()
                .collect())
        }
    }

    pub(crate) fn instance(id: &str, protected: bool) -> GroupInstance {
        GroupInstance {
            instance_id: id.into(),
            group: "ci-linux".into(),
            lifecycle_state: IN_SERVICE.into(),
            protected_from_scale_in: protected,
            healthy: true,
        }
    }

    pub(crate) fn agent(name: &str, busy: u32) -> Agent {
        Agent {
            name: name.into(),
            labels: vec!["linux".into()],
            executors: 2,
            busy_executors: busy,
            connected: true,
            accepting_tasks: true,
            offline_reason: String::new(),
        }
    }

    pub(crate) fn launched(id: &str, seconds_ago: i64, state: &str) -> InstanceInfo {
        InstanceInfo {
            instance_id: id.into(),
            state: state.into(),
            launch_time: Some(ago(seconds_ago)),
            private_dns_name: String::new(),
            tags: Default::default(),
        }
    }

    pub(crate) struct World {
        pub(crate) ci: Arc<FakeCi>,
        pub(crate) groups: Arc<FakeGroups>,
        pub(crate) store: Arc<MemoryStore>,
        pub(crate) metrics: Arc<RecordingMetrics>,
        pub(crate) protector: Protector,
    }

    /// A world whose CI server has no build history to show.
    fn world(
        instances: Vec<GroupInstance>,
        snapshot: Option<CiSnapshot>,
        ec2: Vec<InstanceInfo>,
    ) -> World {
        world_with_history(instances, snapshot, Some(vec![]), ec2)
    }

    /// One pool `linux` on group `ci-linux`, its instances, the CI server's answers and EC2.
    pub(crate) fn world_with_history(
        instances: Vec<GroupInstance>,
        snapshot: Option<CiSnapshot>,
        history: Option<Vec<FinishedBuild>>,
        ec2: Vec<InstanceInfo>,
    ) -> World {
        let ci = Arc::new(FakeCi {
            snapshot,
            history,
            removed: Mutex::new(vec![]),
            taken_offline: Mutex::new(vec![]),
        });
        let groups = Arc::new(FakeGroups {
            groups: vec![Group {
                name: "ci-linux".into(),
                desired_capacity: instances.len() as i32,
                min_size: 0,
                max_size: 300,
                instances,
            }],
            ..FakeGroups::default()
        });
        let store = Arc::new(MemoryStore::default());
        let metrics = Arc::new(RecordingMetrics::default());
        let config = ProtectConfig {
            ci: CiConfig {
                kind: CiKind::Jenkins,
                url: "http://ci".into(),
                credentials: CredentialSource::Anonymous,
                timeout: Duration::from_secs(5),
                max_response_bytes: 1 << 20,
                page_size: 1000,
            },
            pools: vec![
                Pool::jenkins(PoolSpec {
                    name: "linux".into(),
                    ci_label: "linux".into(),
                    asg: "ci-linux".into(),
                    executors_per_instance: 2,
                    max_builds_per_agent: None,
                })
                .expect("valid"),
            ],
            namespace: "CIFleet".into(),
            bucket: "state".into(),
            agent_names: AgentNameSource::InstanceId,
            graces: Graces {
                boot: Duration::from_secs(600),
                idle: Duration::from_secs(120),
            },
            run_every: Duration::from_secs(60),
            remove_dead_agents: true,
            recycle: crate::config::RecycleConfig::default(),
        };
        let ports = Ports {
            ci: ci.clone(),
            builds: Arc::new(shared::testing::FakeBuilds::default()),
            groups: groups.clone(),
            instances: Arc::new(FakeInstances(ec2)),
            store: store.clone(),
            metrics: metrics.clone(),
            would_do: None,
        };
        let protector = Protector { config, ports };
        World {
            ci,
            groups,
            store,
            metrics,
            protector,
        }
    }

    async fn remember(
        store: &MemoryStore,
        id: &str,
        idle_since: Option<DateTime<Utc>>,
        busy: bool,
    ) {
        let mut memory = Memory::default();
        memory.instances.insert(
            id.into(),
            InstanceMemory {
                idle_since,
                busy,
                ..InstanceMemory::first_seen_at(ago(3600))
            },
        );
        memory.save(store).await.expect("saves");
    }

    fn protection_calls(w: &World) -> Vec<(Vec<String>, bool)> {
        w.groups
            .protection_calls
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, ids, p)| (ids.clone(), *p))
            .collect()
    }

    #[tokio::test]
    async fn protects_busy_booting_and_fresh_idle_and_releases_the_rest() {
        let snapshot = CiSnapshot {
            agents: vec![
                agent("i-0000000a", 1), // busy, unprotected → protect
                agent("i-0000000b", 0), // idle past grace → unprotect
                agent("i-0000000c", 0), // idle within grace → keep protected
                Agent {
                    accepting_tasks: false,
                    ..agent("i-0000000d", 1)
                }, // offline for a drain → unprotect
            ],
            queue: vec![],
        };
        let instances = vec![
            instance("i-0000000a", false),
            instance("i-0000000b", true),
            instance("i-0000000c", true),
            instance("i-0000000d", true),
            instance("i-0000000e", false),
        ];
        let w = world(
            instances,
            Some(snapshot),
            vec![launched("i-0000000e", 60, "running")],
        );
        let mut memory = Memory::default();
        memory.instances.insert(
            "i-0000000b".into(),
            InstanceMemory {
                idle_since: Some(ago(300)),
                ..InstanceMemory::first_seen_at(ago(3600))
            },
        );
        memory.instances.insert(
            "i-0000000c".into(),
            InstanceMemory {
                idle_since: Some(ago(30)),
                ..InstanceMemory::first_seen_at(ago(3600))
            },
        );
        memory.save(w.store.as_ref()).await.expect("saves");

        let response = w.protector.run(now()).await.expect("runs");
        assert_eq!(
            protection_calls(&w),
            vec![
                (vec!["i-0000000a".to_owned(), "i-0000000e".to_owned()], true),
                (
                    vec!["i-0000000b".to_owned(), "i-0000000d".to_owned()],
                    false
                )
            ]
        );
        let reasons: Vec<Reason> = response.pools[0]
            .protect
            .iter()
            .chain(&response.pools[0].unprotect)
            .map(|c| c.reason)
            .collect();
        assert_eq!(
            reasons,
            vec![
                Reason::Busy,
                Reason::Booting,
                Reason::IdlePastGrace,
                Reason::TakenOffline
            ]
        );
        assert_eq!(response.pools[0].protected, 3);
        let published: Vec<(&str, f64)> = w
            .metrics
            .recorded()
            .iter()
            .filter(|d| d.name.starts_with("Protect") || d.name == "InstancesLaunched")
            .map(|d| (d.name, d.value))
            .collect();
        assert_eq!(
            published,
            vec![
                ("InstancesLaunched", 3.0),
                ("ProtectedInstances", 3.0),
                ("ProtectionChanges", 4.0)
            ]
        );
        // Idle-since is remembered for the agent that just went idle… and kept for the one within grace.
        let saved: Memory = serde_json::from_slice(
            &w.store
                .get(MEMORY_KEY)
                .await
                .expect("reads")
                .expect("saved"),
        )
        .expect("parses");
        assert_eq!(saved.instances["i-0000000c"].idle_since, Some(ago(30)));
        assert!(saved.instances["i-0000000a"].busy);
    }

    #[tokio::test]
    async fn ci_down_unprotects_nothing_completes_nothing_and_protects_the_last_known_busy() {
        let instances = vec![instance("i-0000000a", false), instance("i-0000000b", true)];
        let w = world(instances, None, vec![]);
        remember(w.store.as_ref(), "i-0000000a", None, true).await;
        let drain = DrainRecord {
            instance_id: "i-0000000b".into(),
            pool: "linux".into(),
            group: "ci-linux".into(),
            hook: "drain".into(),
            token: None,
            agent_names: vec!["i-0000000b".into()],
            started_at: ago(100),
            deadline: ago(100) + chrono::Duration::seconds(3600),
            heartbeat_timeout_seconds: 600,
            last_heartbeat_at: ago(100),
        };
        w.store
            .put(
                &drain_key("i-0000000b"),
                serde_json::to_vec(&drain).expect("json"),
            )
            .await
            .expect("puts");

        let error = w.protector.run(now()).await.expect_err("fails visibly");
        assert!(error.to_string().contains("HTTP 503"), "{error}");
        assert_eq!(
            protection_calls(&w),
            vec![(vec!["i-0000000a".to_owned()], true)],
            "only the last known busy instance is protected"
        );
        assert!(
            w.groups.completed.lock().expect("lock").is_empty(),
            "no drain completed on unknown data"
        );
        assert!(
            w.store
                .get(&drain_key("i-0000000b"))
                .await
                .expect("reads")
                .is_some(),
            "the drain record stays"
        );
        assert!(w.ci.removed.lock().expect("lock").is_empty());
        assert!(
            w.metrics
                .recorded()
                .iter()
                .any(|d| d.name == "CiServerUp" && d.value == 0.0)
        );
    }

    #[tokio::test]
    async fn drains_complete_heartbeat_time_out_and_vanish() {
        let record = |id: &str, started: i64, heartbeat: i64, timeout: i64| DrainRecord {
            instance_id: id.into(),
            pool: "linux".into(),
            group: "ci-linux".into(),
            hook: "drain".into(),
            token: Some(format!("token-{id}")),
            agent_names: vec![id.into()],
            started_at: ago(started),
            deadline: ago(started) + chrono::Duration::seconds(timeout),
            heartbeat_timeout_seconds: 600,
            last_heartbeat_at: ago(heartbeat),
        };
        let terminating = |id: &str| GroupInstance {
            lifecycle_state: "Terminating:Wait".into(),
            ..instance(id, false)
        };
        let offline = |id: &str, busy| Agent {
            accepting_tasks: false,
            ..agent(id, busy)
        };
        let snapshot = CiSnapshot {
            agents: vec![
                offline("i-000000d1", 0),
                offline("i-000000d2", 1),
                offline("i-000000d3", 1),
            ],
            queue: vec![],
        };
        let w = world(
            vec![
                terminating("i-000000d1"),
                terminating("i-000000d2"),
                terminating("i-000000d3"),
            ],
            Some(snapshot),
            vec![],
        );
        for r in [
            record("i-000000d1", 200, 200, 3600),
            record("i-000000d2", 500, 290, 3600),
            record("i-000000d3", 4000, 100, 3600),
            record("i-000000d4", 50, 50, 3600),
        ] {
            w.store
                .put(
                    &drain_key(&r.instance_id),
                    serde_json::to_vec(&r).expect("json"),
                )
                .await
                .expect("puts");
        }
        let response = w.protector.run(now()).await.expect("runs");
        let steps: Vec<(&str, DrainStep)> = response
            .drains
            .iter()
            .map(|d| (d.instance_id.as_str(), d.step))
            .collect();
        assert_eq!(
            steps,
            vec![
                ("i-000000d1", DrainStep::Complete),
                ("i-000000d2", DrainStep::Heartbeat),
                ("i-000000d3", DrainStep::CompleteTimedOut),
                ("i-000000d4", DrainStep::CompleteVanished)
            ]
        );
        assert_eq!(
            *w.groups.completed.lock().expect("lock"),
            vec!["i-000000d1", "i-000000d3", "i-000000d4"]
        );
        assert_eq!(
            *w.groups.heartbeats.lock().expect("lock"),
            vec!["i-000000d2"]
        );
        assert_eq!(
            w.store.keys(),
            vec![drain_key("i-000000d2"), MEMORY_KEY.to_owned()],
            "finished drains forgotten; the busy one kept"
        );
        let heartbeat: DrainRecord = serde_json::from_slice(
            &w.store
                .get(&drain_key("i-000000d2"))
                .await
                .expect("reads")
                .expect("kept"),
        )
        .expect("parses");
        assert_eq!(heartbeat.last_heartbeat_at, now());
        let counts: Vec<&str> = w
            .metrics
            .recorded()
            .iter()
            .filter(|d| d.name.starts_with("Drains"))
            .map(|d| d.name)
            .collect();
        assert_eq!(
            counts,
            vec![
                "DrainsCompleted",
                "DrainsCompleted",
                "DrainsTimedOut",
                "DrainsCompleted"
            ]
        );
    }

    #[tokio::test]
    async fn removes_offline_agents_whose_instance_is_gone_and_nothing_else() {
        let disconnected = |name: &str| Agent {
            connected: false,
            ..agent(name, 0)
        };
        let snapshot = CiSnapshot {
            agents: vec![
                disconnected("i-000000f1"), // terminated instance → removed
                disconnected("i-000000f2"), // unknown to EC2 → removed
                disconnected("i-000000f3"), // still running outside the group → kept
                agent("i-000000f4", 0),     // connected → kept
                disconnected("mac-mini-1"), // not an instance id → kept
                Agent {
                    labels: vec!["windows".into()],
                    ..disconnected("i-000000f5")
                }, // another team's pool → kept
            ],
            queue: vec![],
        };
        let w = world(
            vec![],
            Some(snapshot),
            vec![
                launched("i-000000f1", 9000, "terminated"),
                launched("i-000000f3", 9000, "running"),
            ],
        );
        let response = w.protector.run(now()).await.expect("runs");
        assert_eq!(
            response.dead_agents_removed,
            vec!["i-000000f1", "i-000000f2"]
        );
        assert_eq!(
            *w.ci.removed.lock().expect("lock"),
            vec!["i-000000f1", "i-000000f2"]
        );
    }
}
