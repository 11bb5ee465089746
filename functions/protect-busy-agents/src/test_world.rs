//! The world the steps' tests run a whole `Protector::run` in: one pool `linux` on group
//! `ci-linux`, its instances, the CI server's answers and EC2, all shared fakes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rules::drain::{DrainRecord, drain_key};
use rules::health::FinishedBuild;
use rules::protection::Graces;
use rules::{AgentNameSource, CiSnapshot, InstanceInfo};
use shared::aws::metrics::RecordingMetrics;
use shared::ports::Ports;
use shared::ports::groups::{Group, GroupInstance};
use shared::ports::store::ObjectStore;
use shared::testing::{
    FakeBuilds, FakeCi, FakeGroups, FakeInstances, MemoryStore, ago, jenkins_config, pool,
};

use crate::config::{OrphanConfig, ProtectConfig, RecycleConfig};
use crate::handler::Protector;
use crate::memory::{InstanceMemory, MEMORY_KEY, Memory};

pub struct World {
    pub ci: Arc<FakeCi>,
    pub groups: Arc<FakeGroups>,
    pub store: Arc<MemoryStore>,
    pub metrics: Arc<RecordingMetrics>,
    pub protector: Protector,
}

/// A world whose CI server has no build history to show.
pub fn world(
    instances: Vec<GroupInstance>,
    snapshot: Option<CiSnapshot>,
    ec2: Vec<InstanceInfo>,
) -> World {
    world_with_history(instances, snapshot, Some(vec![]), ec2)
}

/// One pool `linux` on group `ci-linux`, its instances, the CI server's answers and EC2.
pub fn world_with_history(
    instances: Vec<GroupInstance>,
    snapshot: Option<CiSnapshot>,
    history: Option<Vec<FinishedBuild>>,
    ec2: Vec<InstanceInfo>,
) -> World {
    world_with_ci(
        instances,
        FakeCi::answering(snapshot).with_history(history),
        ec2,
    )
}

/// One pool `linux` on group `ci-linux`, its instances, this CI server and EC2.
pub fn world_with_ci(instances: Vec<GroupInstance>, ci: FakeCi, ec2: Vec<InstanceInfo>) -> World {
    let ci = Arc::new(ci);
    // Warmed:* instances are in the warm pool, outside the group's list (DescribeWarmPool).
    let (warm_pool, instances): (Vec<_>, Vec<_>) = instances
        .into_iter()
        .partition(|i| i.lifecycle_state.starts_with("Warmed:"));
    let groups = Arc::new(FakeGroups::with(vec![Group {
        name: "ci-linux".into(),
        desired_capacity: instances.len() as i32,
        min_size: 0,
        max_size: 300,
        instances,
        warm_pool,
    }]));
    let store = Arc::new(MemoryStore::default());
    let metrics = Arc::new(RecordingMetrics::default());
    let config = ProtectConfig {
        ci: jenkins_config(),
        pools: vec![pool("linux")],
        namespace: "CIFleet".into(),
        bucket: "state".into(),
        agent_names: AgentNameSource::InstanceId,
        graces: Graces {
            boot: Duration::from_secs(600),
            idle: Duration::from_secs(120),
        },
        run_every: Duration::from_secs(60),
        remove_dead_agents: true,
        recycle: RecycleConfig::default(),
        orphans: OrphanConfig {
            hook: "drain".into(),
            drain_timeout: Duration::from_secs(7200),
            grace: Duration::from_secs(60),
        },
    };
    let ports = Ports {
        ci: ci.clone(),
        builds: Arc::new(FakeBuilds::default()),
        groups: groups.clone(),
        instances: Arc::new(FakeInstances(ec2)),
        store: store.clone(),
        metrics: metrics.clone(),
        would_do: None,
    };
    World {
        ci,
        groups,
        store,
        metrics,
        protector: Protector { config, ports },
    }
}

/// What EC2 says of an instance launched `seconds_ago`, now in `state`.
pub fn launched(id: &str, seconds_ago: i64, state: &str) -> InstanceInfo {
    InstanceInfo {
        instance_id: id.into(),
        state: state.into(),
        launch_time: Some(ago(seconds_ago)),
        private_dns_name: String::new(),
        tags: Default::default(),
    }
}

/// A drain of `instance` (group `ci-linux`, hook `drain`, no token) that started
/// `started_ago` seconds ago and was heartbeated then, with a 600 s hook and two hours to go.
pub fn drain_of(instance: &str, started_ago: i64) -> DrainRecord {
    DrainRecord {
        instance_id: instance.into(),
        pool: "linux".into(),
        group: "ci-linux".into(),
        hook: "drain".into(),
        token: None,
        agent_names: vec![instance.into()],
        started_at: ago(started_ago),
        deadline: ago(started_ago) + chrono::Duration::hours(2),
        heartbeat_timeout_seconds: 600,
        last_heartbeat_at: ago(started_ago),
    }
}

/// Stores `record` where handle-interruption would.
pub async fn record_drain(store: &MemoryStore, record: &DrainRecord) {
    store
        .put(
            &drain_key(&record.instance_id),
            serde_json::to_vec(record).expect("json"),
        )
        .await
        .expect("puts");
}

/// A memory of one instance, first seen an hour ago.
pub async fn remember(
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

/// The memory the run saved.
pub async fn saved_memory(store: &MemoryStore) -> Memory {
    serde_json::from_slice(&store.get(MEMORY_KEY).await.expect("reads").expect("saved"))
        .expect("parses")
}

/// Each SetInstanceProtection call: its instances and the protection asked.
pub fn protection_calls(w: &World) -> Vec<(Vec<String>, bool)> {
    w.groups
        .protection_calls
        .lock()
        .expect("lock")
        .iter()
        .map(|(_, ids, p)| (ids.clone(), *p))
        .collect()
}
