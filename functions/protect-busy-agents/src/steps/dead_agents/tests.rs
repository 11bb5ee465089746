use rules::CiSnapshot;
use shared::testing::{agent, group_instance, now};

use crate::test_world::{launched, world};

#[tokio::test]
async fn removes_offline_agents_whose_instance_is_gone_and_nothing_else() {
    let disconnected = |name: &str| agent(name).disconnected();
    let snapshot = CiSnapshot {
        agents: vec![
            disconnected("i-000000f1").build(), // terminated instance → removed
            disconnected("i-000000f2").build(), // unknown to EC2 → removed
            disconnected("i-000000f3").build(), // still running outside the group → kept
            agent("i-000000f4").build(),        // connected → kept
            disconnected("mac-mini-1").build(), // not an instance id → kept
            disconnected("i-000000f5").labelled(&["windows"]).build(), // another team's pool → kept
            disconnected("i-000000f6").build(), // stopped in our group's warm pool → kept
            disconnected("i-000000f7").build(), // stopped, in no warm pool of ours → removed
        ],
        queue: vec![],
    };
    let w = world(
        vec![
            group_instance("i-000000f6")
                .in_state("Warmed:Stopped")
                .build(),
        ],
        Some(snapshot),
        vec![
            launched("i-000000f1", 9000, "terminated"),
            launched("i-000000f3", 9000, "running"),
            launched("i-000000f6", 9000, "stopped"),
            launched("i-000000f7", 9000, "stopped"),
        ],
    );
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        response.dead_agents_removed,
        vec!["i-000000f1", "i-000000f2", "i-000000f7"]
    );
    assert_eq!(
        w.ci.removed(),
        vec!["i-000000f1", "i-000000f2", "i-000000f7"]
    );
}

/// With every agent of a pool dead, one stays registered so the CI server still
/// attributes the pool's queue to it (TeamCity's compatibility, Jenkins' label).
#[tokio::test]
async fn a_pools_last_agent_is_kept_even_dead() {
    let dead = |name: &str| agent(name).disconnected().build();
    let snapshot = CiSnapshot {
        agents: vec![dead("i-000000e1"), dead("i-000000e2"), dead("i-000000e3")],
        queue: vec![],
    };
    let w = world(
        vec![],
        Some(snapshot),
        vec![
            launched("i-000000e1", 9000, "terminated"),
            launched("i-000000e3", 9000, "terminated"),
        ],
    );
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        response.dead_agents_removed,
        vec!["i-000000e1", "i-000000e2"]
    );
    assert_eq!(w.ci.removed(), vec!["i-000000e1", "i-000000e2"]);
}
