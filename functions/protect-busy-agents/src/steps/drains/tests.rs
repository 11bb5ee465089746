use rules::CiSnapshot;
use rules::drain::{DrainRecord, DrainStep, drain_key};
use shared::ports::store::ObjectStore;
use shared::testing::{agent, ago, group_instance, now};

use crate::memory::MEMORY_KEY;
use crate::test_world::{drain_of, record_drain, world};

#[tokio::test]
async fn drains_complete_heartbeat_time_out_and_outlive_the_group_listing() {
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
    let terminating = |id: &str| group_instance(id).in_state("Terminating:Wait").build();
    let offline = |id: &str, busy| agent(id).busy(busy).offline("").build();
    let snapshot = CiSnapshot {
        agents: vec![
            offline("i-000000d1", 0),
            offline("i-000000d2", 1),
            offline("i-000000d3", 1),
            // Returning to a warm pool: Warmed:Pending:Wait, not in the group's list.
            offline("i-000000d5", 1),
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
        // Vanished: neither listed nor registered.
        record("i-000000d4", 50, 50, 3600),
        record("i-000000d5", 500, 290, 3600),
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
            // Heartbeated first thing in the run, before the CI server was read.
            ("i-000000d2", DrainStep::Wait),
            ("i-000000d3", DrainStep::CompleteTimedOut),
            ("i-000000d4", DrainStep::Complete),
            ("i-000000d5", DrainStep::Wait),
        ]
    );
    assert_eq!(
        *w.groups.completed.lock().expect("lock"),
        vec!["i-000000d1", "i-000000d3", "i-000000d4"]
    );
    assert_eq!(
        *w.groups.heartbeats.lock().expect("lock"),
        vec!["i-000000d2", "i-000000d5"],
        "a busy build keeps its hook alive, listed in the group or not"
    );
    assert_eq!(
        w.store.keys(),
        vec![
            drain_key("i-000000d2"),
            drain_key("i-000000d5"),
            MEMORY_KEY.to_owned()
        ],
        "finished drains forgotten; the busy ones kept"
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

/// The heartbeats go out first, so neither a CI server that cannot be read nor an Auto
/// Scaling describe that fails (the run then fails) starves a draining build (R7, A9).
#[tokio::test]
async fn drains_are_heartbeated_even_when_the_groups_and_the_ci_server_cannot_be_read() {
    let mut w = world(vec![], None, vec![]);
    let failing = std::sync::Arc::new(shared::testing::FakeGroups {
        describe_fails_with: Some(
            "AWS DescribeAutoScalingGroups: Throttling: Rate exceeded".into(),
        ),
        ..shared::testing::FakeGroups::default()
    });
    w.protector.ports.groups = failing.clone();
    w.groups = failing;
    let due = DrainRecord {
        // Unknown when the drain started: the shortest, so every run heartbeats.
        heartbeat_timeout_seconds: 30,
        ..drain_of("i-000000e1", 60)
    };
    record_drain(&w.store, &due).await;
    let error = w
        .protector
        .run(now())
        .await
        .expect_err("the groups could not be read");
    assert!(error.to_string().contains("Throttling"), "{error}");
    assert_eq!(
        *w.groups.heartbeats.lock().expect("lock"),
        vec!["i-000000e1"]
    );
    assert!(
        w.groups.completed.lock().expect("lock").is_empty(),
        "nothing completed"
    );
}

/// A draining agent missing from one snapshot (TeamCity's offset paging under churn, a
/// rename) is asked alone before its drain counts as done: busy there, it keeps its
/// instance (R12).
#[tokio::test]
async fn an_agent_missing_from_the_snapshot_is_asked_alone() {
    let mut w = world(
        vec![
            group_instance("i-000000f1")
                .in_state("Terminating:Wait")
                .build(),
        ],
        None,
        vec![],
    );
    let missing = CiSnapshot {
        agents: vec![],
        queue: vec![],
    };
    let asked_alone = CiSnapshot {
        agents: vec![agent("i-000000f1").busy(1).offline("").build()],
        queue: vec![],
    };
    let ci = std::sync::Arc::new(shared::testing::FakeCi::scripted(vec![
        Some(missing),
        Some(asked_alone),
    ]));
    w.protector.ports.ci = ci.clone();
    w.ci = ci;
    let record = drain_of("i-000000f1", 60);
    record_drain(&w.store, &record).await;
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        response.drains[0].step,
        DrainStep::Wait,
        "busy when asked alone"
    );
    assert!(w.groups.completed.lock().expect("lock").is_empty());
}

/// A draining instance's agent that came back online (a Swarm agent reconnects as a new
/// node) is taken offline again, so no new build starts on an instance that is leaving.
#[tokio::test]
async fn a_draining_agent_back_online_is_taken_offline_again() {
    let snapshot = CiSnapshot {
        agents: vec![agent("i-000000b1").busy(1).build()],
        queue: vec![],
    };
    let w = world(
        vec![
            group_instance("i-000000b1")
                .in_state("Terminating:Wait")
                .build(),
        ],
        Some(snapshot),
        vec![],
    );
    let record = drain_of("i-000000b1", 60);
    record_drain(&w.store, &record).await;
    w.protector.run(now()).await.expect("runs");
    assert_eq!(
        w.ci.taken_offline(),
        vec![(
            "i-000000b1".to_owned(),
            rules::drain::DRAIN_REASON.to_owned()
        )]
    );
}
