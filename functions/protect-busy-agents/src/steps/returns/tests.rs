use rules::CiSnapshot;
use rules::drain::{DRAIN_REASON, WARM_POOL_DRAIN_REASON};
use shared::testing::{agent, group_instance, now};

use crate::test_world::{drain_of, record_drain, world};

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
    let pending = drain_of("i-000000a5", 60);
    record_drain(&w.store, &pending).await;
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
