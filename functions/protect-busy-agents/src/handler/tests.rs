use rules::drain::{DrainRecord, drain_key};
use shared::ports::store::ObjectStore;
use shared::testing::{ago, group_instance, now};

use crate::test_world::{protection_calls, remember, world};

#[tokio::test]
async fn ci_down_unprotects_nothing_completes_nothing_and_protects_the_last_known_busy() {
    let instances = vec![
        group_instance("i-0000000a").build(),
        group_instance("i-0000000b").protected().build(),
    ];
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
    assert!(w.ci.removed().is_empty());
    assert!(
        !w.metrics.recorded().iter().any(|d| d.name == "CiServerUp"),
        "publish-workload's signal alone: ci-metrics-missing must see it stop"
    );
}
