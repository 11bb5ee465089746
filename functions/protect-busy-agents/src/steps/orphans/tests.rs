use rules::CiSnapshot;
use rules::drain::{DRAIN_REASON, DrainRecord, drain_key};
use shared::ports::store::ObjectStore;
use shared::testing::{agent, ago, group_instance, now};

use crate::memory::{InstanceMemory, Memory};
use crate::steps::orphans::Adopted;
use crate::test_world::{drain_of, record_drain, saved_memory, world};

/// Waiting since two minutes, no event handled them: the idle one is completed, the busy
/// one drained (heartbeated now, a record the next runs finish); one waiting for less
/// than the grace, and one with a drain recorded, are left alone.
#[tokio::test]
async fn terminations_no_event_handled_are_taken_over_after_the_grace() {
    let snapshot = CiSnapshot {
        agents: vec![
            agent("i-000000c1").build(),
            agent("i-000000c2").busy(1).build(),
            agent("i-000000c3").busy(1).build(),
            // Drained already (by its event): offline.
            agent("i-000000c4").busy(1).offline(DRAIN_REASON).build(),
        ],
        queue: vec![],
    };
    let waiting = |id: &str| group_instance(id).in_state("Terminating:Wait").build();
    let w = world(
        vec![
            waiting("i-000000c1"),
            waiting("i-000000c2"),
            waiting("i-000000c3"),
            waiting("i-000000c4"),
        ],
        Some(snapshot),
        vec![],
    );
    let mut memory = Memory::default();
    for (id, since) in [
        ("i-000000c1", 120),
        ("i-000000c2", 120),
        ("i-000000c3", 10),
        ("i-000000c4", 120),
    ] {
        memory.instances.insert(
            id.into(),
            InstanceMemory {
                waiting_since: Some(ago(since)),
                ..InstanceMemory::first_seen_at(ago(3600))
            },
        );
    }
    memory.save(w.store.as_ref()).await.expect("saves");
    let recorded = DrainRecord {
        token: Some("t".into()),
        ..drain_of("i-000000c4", 120)
    };
    record_drain(&w.store, &recorded).await;

    let response = w.protector.run(now()).await.expect("runs");
    let adopted: Vec<(&str, Adopted)> = response
        .orphans
        .iter()
        .map(|o| (o.instance_id.as_str(), o.adopted))
        .collect();
    assert_eq!(
        adopted,
        vec![
            ("i-000000c1", Adopted::Completed),
            ("i-000000c2", Adopted::DrainRecorded)
        ]
    );
    let offline: Vec<(String, String)> = w.ci.taken_offline();
    assert_eq!(
        offline,
        vec![
            ("i-000000c1".to_owned(), DRAIN_REASON.to_owned()),
            ("i-000000c2".to_owned(), DRAIN_REASON.to_owned())
        ]
    );
    assert!(
        w.groups
            .completed
            .lock()
            .expect("lock")
            .contains(&"i-000000c1".to_owned())
    );
    assert!(
        w.groups
            .heartbeats
            .lock()
            .expect("lock")
            .contains(&"i-000000c2".to_owned())
    );
    let drained: DrainRecord = serde_json::from_slice(
        &w.store
            .get(&drain_key("i-000000c2"))
            .await
            .expect("reads")
            .expect("recorded"),
    )
    .expect("a record");
    assert_eq!(
        (
            drained.agent_names,
            drained.token,
            drained.last_heartbeat_at
        ),
        (vec!["i-000000c2".to_owned()], None, now())
    );
    let memory = saved_memory(&w.store).await;
    assert!(memory.instances["i-000000c1"].adopted);
    assert!(!memory.instances["i-000000c3"].adopted, "within the grace");

    // Once is enough: the next run leaves them to the drain step.
    let again = w.protector.run(now()).await.expect("runs");
    assert!(again.orphans.is_empty(), "{:?}", again.orphans);
}
