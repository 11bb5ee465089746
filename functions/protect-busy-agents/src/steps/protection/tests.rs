use rules::CiSnapshot;
use rules::protection::Reason;
use shared::testing::{agent, ago, group_instance, now};

use crate::memory::{InstanceMemory, Memory};
use crate::test_world::{launched, protection_calls, saved_memory, world};

#[tokio::test]
async fn protects_busy_booting_and_fresh_idle_and_releases_the_rest() {
    let snapshot = CiSnapshot {
        agents: vec![
            agent("i-0000000a").busy(1).build(), // busy, unprotected → protect
            agent("i-0000000b").build(),         // idle past grace → unprotect
            agent("i-0000000c").build(),         // idle within grace → keep protected
            agent("i-0000000d").busy(1).offline("").build(), // offline for a drain → unprotect
        ],
        queue: vec![],
    };
    let instances = vec![
        group_instance("i-0000000a").build(),
        group_instance("i-0000000b").protected().build(),
        group_instance("i-0000000c").protected().build(),
        group_instance("i-0000000d").protected().build(),
        group_instance("i-0000000e").build(),
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
    let saved = saved_memory(&w.store).await;
    assert_eq!(saved.instances["i-0000000c"].idle_since, Some(ago(30)));
    assert!(saved.instances["i-0000000a"].busy);
}

/// Agents named by private DNS name cannot be found without DescribeInstances: when it
/// answers nothing (throttled, denied), every agent is unknown, and unknown unprotects
/// nothing, not even past boot grace (reliability review R2).
#[tokio::test]
async fn without_instance_details_dns_named_agents_are_unknown_not_unregistered() {
    let snapshot = CiSnapshot {
        agents: vec![agent("ip-10-0-0-1").busy(1).build()],
        queue: vec![],
    };
    let mut w = world(
        vec![group_instance("i-0000000a").protected().build()],
        Some(snapshot),
        vec![], // EC2 answers nothing
    );
    w.protector.config.agent_names = rules::AgentNameSource::PrivateDnsName;
    let mut memory = Memory::default();
    memory.instances.insert(
        "i-0000000a".into(),
        InstanceMemory {
            busy: true,
            ..InstanceMemory::first_seen_at(ago(3600))
        },
    );
    memory.save(w.store.as_ref()).await.expect("saves");
    let response = w.protector.run(now()).await.expect("runs");
    assert!(protection_calls(&w).is_empty(), "{:?}", response.pools);
    assert!(
        saved_memory(&w.store).await.instances["i-0000000a"].busy,
        "the last known reading is kept"
    );
}
