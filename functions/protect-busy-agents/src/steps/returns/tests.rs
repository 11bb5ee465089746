use rules::CiSnapshot;
use rules::drain::{DRAIN_REASON, DrainRecord, WARM_POOL_DRAIN_REASON, drain_key};
use shared::ports::store::ObjectStore;
use shared::testing::{agent, ago, group_instance, now};

use crate::test_world::world;

#[tokio::test]
async fn only_the_warm_pool_drains_mark_is_lifted_and_only_in_service() {
    let offline = |name: &str, reason: &str| agent(name).offline(reason).build();
    let snapshot = CiSnapshot {
        agents: vec![
            offline("i-000000a1", WARM_POOL_DRAIN_REASON), // back in service → online
            offline("i-000000a2", DRAIN_REASON),           // a terminating drain's mark → kept
            offline("i-000000a3", "disk full (a person)"), // someone else's → kept
            offline("i-000000a4", WARM_POOL_DRAIN_REASON), // still on its way into the pool → kept
            offline("i-000000a5", WARM_POOL_DRAIN_REASON), // in service, but a drain pending → kept
            agent("i-000000a6").build(),                   // online already
        ],
        queue: vec![],
    };
    let serving = |id: &str| group_instance(id).protected().build();
    let w = world(
        vec![
            serving("i-000000a1"),
            serving("i-000000a2"),
            serving("i-000000a3"),
            group_instance("i-000000a4")
                .in_state("Warmed:Pending:Wait")
                .build(),
            serving("i-000000a5"),
            serving("i-000000a6"),
        ],
        Some(snapshot),
        vec![],
    );
    let pending = DrainRecord {
        instance_id: "i-000000a5".into(),
        pool: "linux".into(),
        group: "ci-linux".into(),
        hook: "drain".into(),
        token: None,
        agent_names: vec!["i-000000a5".into()],
        started_at: ago(60),
        deadline: ago(60) + chrono::Duration::hours(2),
        heartbeat_timeout_seconds: 600,
        last_heartbeat_at: ago(60),
    };
    w.store
        .put(
            &drain_key("i-000000a5"),
            serde_json::to_vec(&pending).expect("json"),
        )
        .await
        .expect("puts");
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(response.back_in_service, vec!["i-000000a1"]);
    assert_eq!(w.ci.brought_online(), vec!["i-000000a1"]);
    let counted: Vec<_> = w
        .metrics
        .recorded()
        .into_iter()
        .filter(|d| d.name == "AgentsBackInService")
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
}
