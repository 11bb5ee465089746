//! What a user relies on, event by event: what was written to the CI server, to Auto
//! Scaling and to S3, the metrics, and the response (or the error that makes EventBridge
//! retry). Each case runs the handler against the `shared::testing` fakes.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rules::{Agent, AgentNameSource, CiSnapshot};
use serde_json::{Value, json};
use shared::aws::metrics::RecordingMetrics;
use shared::checkpoint::{CheckpointKey, Recorder, layout, start};
use shared::ports::groups::{Group, GroupInstance};
use shared::ports::{ObjectStore, Ports};
use shared::testing::{
    FakeBuilds, FakeCi, FakeGroups, FakeInstances, MemoryStore, agent, at, ci_down, group_instance,
    jenkins_config, now, pool,
};

use super::*;
use crate::events::{REBALANCE, SPOT_WARNING, TERMINATE_ACTION};

/// The world a case starts from.
struct Given {
    /// The agents the CI server lists; `None`: it is down.
    agents: Option<Vec<Agent>>,
    /// Instances of Auto Scaling groups (`ci-linux` is pool `linux`'s).
    instances: Vec<GroupInstance>,
    /// Instances running a build that claimed a checkpoint (key `app#1`, two tests passed).
    claims: Vec<&'static str>,
    rebalance: RebalanceAction,
    dry_run: bool,
}

fn given() -> Given {
    Given {
        agents: Some(vec![]),
        instances: vec![group_instance("i-1").build()],
        claims: vec![],
        rebalance: RebalanceAction::Offline,
        dry_run: false,
    }
}

impl Given {
    fn agents(mut self, agents: impl IntoIterator<Item = Agent>) -> Given {
        self.agents = Some(agents.into_iter().collect());
        self
    }

    fn ci_down(mut self) -> Given {
        self.agents = None;
        self
    }

    fn instances(mut self, instances: Vec<GroupInstance>) -> Given {
        self.instances = instances;
        self
    }

    fn claim(mut self, instance: &'static str) -> Given {
        self.claims.push(instance);
        self
    }

    fn rebalance(mut self, action: RebalanceAction) -> Given {
        self.rebalance = action;
        self
    }

    fn dry_run(mut self) -> Given {
        self.dry_run = true;
        self
    }
}

/// What a case must have done.
struct Expect {
    /// The last delivery's response, or its error.
    response: std::result::Result<Value, String>,
    /// Agents taken offline in the CI server (every delivery).
    offline: Vec<&'static str>,
    /// Instances whose lifecycle action was completed.
    completed: Vec<&'static str>,
    /// S3 objects written.
    written: Vec<String>,
    /// Metrics published, by name.
    metrics: Vec<&'static str>,
}

fn expect(response: Value) -> Expect {
    Expect {
        response: Ok(response),
        offline: vec![],
        completed: vec![],
        written: vec![],
        metrics: vec![],
    }
}

fn failure(error: &str) -> Expect {
    Expect {
        response: Err(error.to_owned()),
        ..expect(json!(null))
    }
}

impl Expect {
    fn offline(mut self, agents: &[&'static str]) -> Expect {
        self.offline = agents.to_vec();
        self
    }

    fn completed(mut self, instances: &[&'static str]) -> Expect {
        self.completed = instances.to_vec();
        self
    }

    fn written(mut self, objects: &[String]) -> Expect {
        self.written = objects.to_vec();
        self
    }

    fn metrics(mut self, names: &[&'static str]) -> Expect {
        self.metrics = names.to_vec();
        self
    }
}

struct Case {
    name: &'static str,
    given: Given,
    event: Value,
    /// EventBridge delivers at least once: how many times the event arrives.
    deliveries: usize,
    expect: Expect,
}

fn case(name: &'static str, given: Given, event: Value, expect: Expect) -> Case {
    Case {
        name,
        given,
        event,
        deliveries: 1,
        expect,
    }
}

fn twice(mut case: Case) -> Case {
    case.deliveries = 2;
    case
}

/// The handler over fakes, and the fakes themselves to read what it did.
struct World {
    handler: Handler,
    ci: Arc<FakeCi>,
    groups: Arc<FakeGroups>,
    store: Arc<MemoryStore>,
    metrics: Arc<RecordingMetrics>,
}

async fn world(given: &Given) -> World {
    let snapshot = given.agents.clone().map(|agents| CiSnapshot {
        agents,
        queue: vec![],
    });
    let ci = Arc::new(FakeCi::answering(snapshot).keeping_agent_state());
    let groups = Arc::new(FakeGroups::with(vec![
        group("ci-linux", &given.instances),
        group("ci-other", &given.instances),
    ]));
    let store = Arc::new(MemoryStore::default());
    for instance in &given.claims {
        claim_checkpoint(&store, instance).await;
    }
    let metrics = Arc::new(RecordingMetrics::default());
    let ports = Ports {
        ci: ci.clone(),
        builds: Arc::new(FakeBuilds::default()),
        groups: groups.clone(),
        instances: Arc::new(FakeInstances::default()),
        store: store.clone(),
        metrics: metrics.clone(),
        would_do: None,
    };
    let config = InterruptionConfig {
        ci: jenkins_config(),
        pools: vec![pool("linux")],
        namespace: "CIFleet".into(),
        bucket: "checkpoints".into(),
        agent_names: AgentNameSource::InstanceId,
        drain_hook: "ci-fleet-drain".into(),
        drain_timeout: Duration::from_secs(7200),
        rebalance: given.rebalance,
    };
    let ports = if given.dry_run { ports.dry() } else { ports };
    World {
        handler: Handler { config, ports },
        ci,
        groups,
        store,
        metrics,
    }
}

fn group(name: &str, instances: &[GroupInstance]) -> Group {
    let instances: Vec<GroupInstance> = instances
        .iter()
        .filter(|i| i.group == name)
        .cloned()
        .collect();
    let size = instances.len() as i32;
    Group {
        name: name.into(),
        desired_capacity: size,
        min_size: 0,
        max_size: 10,
        instances,
        warm_pool: vec![],
    }
}

fn app() -> CheckpointKey {
    CheckpointKey::parse("app#1").expect("a valid key")
}

/// The build on executor 0 of `instance` claimed attempt 1 of `app#1`; two tests passed.
async fn claim_checkpoint(store: &MemoryStore, instance: &str) {
    start(store, instance, "0", &app(), at(-10))
        .await
        .expect("claims");
    let mut recorder = Recorder::resume(store, instance, "0", &app(), "w")
        .await
        .expect("resumes");
    let passed = ["t1".to_owned(), "t2".to_owned()].into();
    recorder
        .flush(store, &passed, at(-1))
        .await
        .expect("uploads");
}

/// The checkpoint objects the seal writes: the pass list, then the interruption record.
fn sealed_objects() -> Vec<String> {
    vec![layout::passed(&app()), layout::interruption(&app(), 1)]
}

fn drain_object(instance: &str) -> String {
    rules::drain::drain_key(instance)
}

fn spot_warning(instance: &str) -> Value {
    json!({
        "version": "0", "id": "spot-1", "detail-type": SPOT_WARNING, "source": "aws.ec2",
        "account": "123456789012", "time": "2026-11-22T12:00:00Z", "region": "eu-west-1",
        "resources": [], "detail": {"instance-id": instance, "instance-action": "terminate"}
    })
}

fn rebalance(instance: &str) -> Value {
    json!({
        "version": "0", "id": "rebalance-1", "detail-type": REBALANCE, "source": "aws.ec2",
        "account": "123456789012", "time": "2026-11-22T12:00:00Z", "region": "eu-west-1",
        "resources": [], "detail": {"instance-id": instance}
    })
}

fn terminating(instance: &str, group: &str, hook: &str) -> Value {
    json!({
        "version": "0", "id": "terminate-1", "detail-type": TERMINATE_ACTION,
        "source": "aws.autoscaling", "account": "123456789012", "time": "2026-11-22T12:00:00Z",
        "region": "eu-west-1", "resources": [],
        "detail": {
            "LifecycleActionToken": "token-1", "AutoScalingGroupName": group,
            "LifecycleHookName": hook, "EC2InstanceId": instance,
            "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"
        }
    })
}

/// The interruption record the seal of `i-1`'s build returns.
fn sealed_record() -> Value {
    json!({
        "instance_id": "i-1", "key": "app#1", "attempt": 1, "at": "2026-11-22T12:00:00Z",
        "reason": "spot interruption: i-1 terminates at 2026-11-22 12:02:00 UTC", "passed": 2
    })
}

const PIPELINE_RUN: &str = "http://ci/job/team/job/api/job/main/12/";

fn spot_cases() -> Vec<Case> {
    let busy = || given().agents([agent("i-1").busy(1).build()]).claim("i-1");
    vec![
        case(
            "spot warning, busy agent: offline and sealed at once",
            busy(),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline",
                "checkpoint": {"outcome": "sealed", "record": sealed_record()}
            }))
            .offline(&["i-1"])
            .written(&sealed_objects())
            .metrics(&["CheckpointsSealed", "SpotInterruptions"]),
        ),
        twice(case(
            "spot warning delivered twice: the second changes nothing",
            busy(),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "already-offline",
                "checkpoint": {"outcome": "already-sealed", "record": sealed_record()}
            }))
            .offline(&["i-1"])
            .written(&sealed_objects())
            .metrics(&["CheckpointsSealed", "SpotInterruptions"]),
        )),
        case(
            "spot warning, a Pipeline run on the agent: the run is recorded as interrupted",
            given().agents([agent("i-1").running(&[PIPELINE_RUN]).build()]),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline", "checkpoint": {"outcome": "no-claim"},
                "interrupted_runs": [PIPELINE_RUN]
            }))
            .offline(&["i-1"])
            .written(&[layout::run_interruption(PIPELINE_RUN)])
            .metrics(&["SpotInterruptions"]),
        ),
        case(
            "spot warning, idle agent without a build: offline, nothing to seal",
            given().agents([agent("i-1").build()]),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline", "checkpoint": {"outcome": "no-claim"}
            }))
            .offline(&["i-1"])
            .metrics(&["SpotInterruptions"]),
        ),
        case(
            "spot warning for an agent that never registered: still sealed",
            given().claim("i-1"),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux",
                "offline": "no-agent",
                "checkpoint": {"outcome": "sealed", "record": sealed_record()}
            }))
            .written(&sealed_objects())
            .metrics(&["CheckpointsSealed", "SpotInterruptions"]),
        ),
        case(
            "spot warning for an instance in no pool: acknowledged, nothing done",
            busy().instances(vec![group_instance("i-1").of_group("ci-other").build()]),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1",
                "ignored": "instance is in no configured pool (group ci-other)"
            })),
        ),
        case(
            "spot warning for an instance in no group at all",
            busy().instances(vec![]),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1",
                "ignored": "instance is in no configured pool (group none)"
            })),
        ),
        case(
            "spot warning with the CI server down: sealed anyway, and the event fails",
            busy().ci_down(),
            spot_warning("i-1"),
            failure(&format!(
                "{SPOT_WARNING} for i-1: {}",
                ci_down("http://ci/computer/i-1/api/json")
            ))
            .written(&sealed_objects())
            .metrics(&["CheckpointsSealed", "SpotInterruptions"]),
        ),
    ]
}

fn rebalance_cases() -> Vec<Case> {
    let idle = || given().agents([agent("i-1").build()]).claim("i-1");
    vec![
        case(
            "rebalance: new work stops, the build goes on unsealed",
            idle(),
            rebalance("i-1"),
            expect(json!({
                "event": REBALANCE, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline"
            }))
            .offline(&["i-1"])
            .metrics(&["RebalanceRecommendations"]),
        ),
        case(
            "rebalance with REBALANCE_ACTION=ignore: counted only",
            idle().rebalance(RebalanceAction::Ignore),
            rebalance("i-1"),
            expect(json!({
                "event": REBALANCE, "instance_id": "i-1", "pool": "linux",
                "ignored": "REBALANCE_ACTION=ignore"
            }))
            .metrics(&["RebalanceRecommendations"]),
        ),
    ]
}

fn terminate_cases() -> Vec<Case> {
    let ours = || terminating("i-1", "ci-linux", "ci-fleet-drain");
    let busy = || given().agents([agent("i-1").busy(1).build()]);
    let drain_recorded = |offline: &str| {
        json!({
            "event": TERMINATE_ACTION, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
            "offline": offline, "lifecycle": "drain-recorded"
        })
    };
    vec![
        case(
            "terminate, busy agent: offline, drain recorded, not completed",
            busy(),
            ours(),
            expect(drain_recorded("taken-offline"))
                .offline(&["i-1"])
                .written(&[drain_object("i-1")])
                .metrics(&["DrainsStarted"]),
        ),
        twice(case(
            "terminate delivered twice for a busy agent: one drain",
            busy(),
            ours(),
            expect(json!({
                "event": TERMINATE_ACTION, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "already-offline", "lifecycle": "drain-already-recorded"
            }))
            .offline(&["i-1"])
            .written(&[drain_object("i-1")])
            .metrics(&["DrainsStarted"]),
        )),
        case(
            "terminate, idle agent: offline and completed at once",
            given().agents([agent("i-1").build()]),
            ours(),
            expect(json!({
                "event": TERMINATE_ACTION, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline", "lifecycle": "completed"
            }))
            .offline(&["i-1"])
            .completed(&["i-1"])
            .metrics(&["DrainsCompleted", "DrainSeconds"]),
        ),
        case(
            "terminate, agent never registered: no work to protect, completed",
            given(),
            ours(),
            expect(json!({
                "event": TERMINATE_ACTION, "instance_id": "i-1", "pool": "linux",
                "offline": "no-agent", "lifecycle": "completed"
            }))
            .completed(&["i-1"])
            .metrics(&["DrainsCompleted", "DrainSeconds"]),
        ),
        case(
            "our hook in a group of no pool: a named error, left pending, CI untouched",
            busy(),
            terminating("i-1", "ci-other", "ci-fleet-drain"),
            failure(&format!(
                "{TERMINATE_ACTION} for i-1: lifecycle hook ci-fleet-drain fired on group ci-other, which is in no pool of POOLS: the action is left pending (its timeout ends it); add the group's pool or remove the hook from the group"
            )),
        ),
        case(
            "another hook of our group: left to its owner, never completed, CI untouched",
            busy(),
            terminating("i-1", "ci-linux", "someone-elses-hook"),
            expect(json!({
                "event": TERMINATE_ACTION, "instance_id": "i-1",
                "ignored": "another hook's action (someone-elses-hook): left to its owner"
            })),
        ),
        case(
            "terminate with the CI server down: a drain keeps the build safe, never completed",
            busy().ci_down(),
            ours(),
            failure(&format!(
                "{TERMINATE_ACTION} for i-1: {}",
                ci_down("http://ci/computer/i-1/api/json")
            ))
            .written(&[drain_object("i-1")])
            .metrics(&["DrainsStarted"]),
        ),
    ]
}

fn dry_run_cases() -> Vec<Case> {
    // The sizes of the pass list and the interruption record the seal would write.
    let [passed, interruption] = [172, 183];
    let sealed_writes = [
        format!(
            "write s3 object {} ({passed} bytes)",
            layout::passed(&app())
        ),
        format!(
            "write s3 object {} ({interruption} bytes)",
            layout::interruption(&app(), 1)
        ),
    ];
    vec![
        case(
            "dry run, spot warning: nothing written, would_do lists it",
            given()
                .agents([agent("i-1").busy(1).build()])
                .claim("i-1")
                .dry_run(),
            spot_warning("i-1"),
            expect(json!({
                "event": SPOT_WARNING, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline",
                "checkpoint": {"outcome": "sealed", "record": sealed_record()},
                "would_do": [
                    "take agent i-1 offline: spot interruption: i-1 terminates at 2026-11-22 12:02:00 UTC",
                    sealed_writes[0],
                    sealed_writes[1],
                ]
            })),
        ),
        case(
            "dry run, terminate of an idle agent: not completed, would_do lists it",
            given().agents([agent("i-1").build()]).dry_run(),
            terminating("i-1", "ci-linux", "ci-fleet-drain"),
            expect(json!({
                "event": TERMINATE_ACTION, "instance_id": "i-1", "pool": "linux", "agent": "i-1",
                "offline": "taken-offline", "lifecycle": "completed",
                "would_do": [
                    "take agent i-1 offline: scale-in: instance terminating, draining",
                    "complete lifecycle action ci-fleet-drain for i-1 in ci-linux with CONTINUE"
                ]
            })),
        ),
    ]
}

fn other_cases() -> Vec<Case> {
    let mut no_instance = spot_warning("i-1");
    no_instance["detail"] = json!({"instance-action": "terminate"});
    let mut state_change = rebalance("i-1");
    state_change["detail-type"] = json!("EC2 Instance State-change Notification");
    vec![
        case(
            "an event of another kind: acknowledged, nothing done",
            given().agents([agent("i-1").busy(1).build()]),
            state_change,
            expect(json!({
                "event": "EC2 Instance State-change Notification",
                "ignored": "not handled (source aws.ec2)"
            })),
        ),
        case(
            "a malformed spot warning: a clear error, nothing done",
            given().agents([agent("i-1").busy(1).build()]).claim("i-1"),
            no_instance,
            failure(&format!(
                "malformed event: {SPOT_WARNING} detail: missing field `instance-id`"
            )),
        ),
    ]
}

fn cases() -> Vec<Case> {
    [
        spot_cases(),
        rebalance_cases(),
        terminate_cases(),
        dry_run_cases(),
        other_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// What the fakes recorded, in the shape of `Expect`.
struct Done {
    response: std::result::Result<Value, String>,
    offline: Vec<String>,
    completed: Vec<String>,
    written: Vec<String>,
    metrics: Vec<&'static str>,
}

async fn run(case: &Case) -> Done {
    let world = world(&case.given).await;
    let before: BTreeSet<String> = world.store.keys().into_iter().collect();
    let mut response = Err("never delivered".to_owned());
    for _ in 0..case.deliveries {
        response = world
            .handler
            .handle(case.event.clone())
            .await
            .map_err(|e| e.to_string());
    }
    let mut written: Vec<String> = world
        .store
        .keys()
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    written.sort();
    Done {
        response,
        offline: world
            .ci
            .taken_offline()
            .into_iter()
            .map(|(a, _)| a)
            .collect(),
        completed: world
            .groups
            .completed
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default(),
        written,
        metrics: world.metrics.recorded().iter().map(|d| d.name).collect(),
    }
}

#[tokio::test]
async fn every_event_does_what_its_case_says() {
    let mut failures = Vec::new();
    for case in cases() {
        let done = run(&case).await;
        let expect = &case.expect;
        let mut written: Vec<String> = expect.written.clone();
        written.sort();
        let checks = [
            (
                "response",
                format!("{:?}", expect.response),
                format!("{:?}", done.response),
            ),
            (
                "offline",
                format!("{:?}", expect.offline),
                format!("{:?}", done.offline),
            ),
            (
                "completed",
                format!("{:?}", expect.completed),
                format!("{:?}", done.completed),
            ),
            (
                "written",
                format!("{written:?}"),
                format!("{:?}", done.written),
            ),
            (
                "metrics",
                format!("{:?}", expect.metrics),
                format!("{:?}", done.metrics),
            ),
        ];
        for (what, expected, actual) in checks {
            if expected != actual {
                failures.push(format!(
                    "{}: {what}\n  expected {expected}\n  actual   {actual}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_recorded_drain_names_its_agent_deadline_and_heartbeat() {
    let given = given().agents([agent("i-1").busy(1).build()]);
    let world = world(&given).await;
    world
        .handler
        .handle(terminating("i-1", "ci-linux", "ci-fleet-drain"))
        .await
        .expect("handled");
    let body = world
        .store
        .get(&drain_object("i-1"))
        .await
        .expect("reads")
        .expect("a drain record");
    let record: rules::drain::DrainRecord = serde_json::from_slice(&body).expect("a record");
    assert_eq!(
        (
            record.pool.as_str(),
            record.group.as_str(),
            record.hook.as_str(),
            record.token.as_deref(),
            record.agent_names.clone(),
            record.started_at,
            record.last_heartbeat_at,
            record.heartbeat_timeout_seconds,
        ),
        (
            "linux",
            "ci-linux",
            "ci-fleet-drain",
            Some("token-1"),
            vec!["i-1".to_owned()],
            now(),
            now(),
            600,
        )
    );
    // The deadline counts from the handling, DRAIN_TIMEOUT_SECONDS later.
    let from_now = record.deadline - chrono::Utc::now();
    assert!(
        (7190..=7200).contains(&from_now.num_seconds()),
        "{from_now:?}"
    );
}

/// Scale-in with a warm pool's reuse policy sends the instance to the pool (`Destination`
/// `WarmPool`): drained like any scale-in, under the warm-pool drain's own offline reason,
/// the mark protect-busy-agents lifts when the instance is back in service.
#[tokio::test]
async fn an_instance_going_to_a_warm_pool_is_drained_under_its_own_reason() {
    use rules::drain::{DRAIN_REASON, WARM_POOL_DRAIN_REASON};
    for (destination, reason) in [
        (Some("WarmPool"), WARM_POOL_DRAIN_REASON),
        (Some("EC2"), DRAIN_REASON),
        (None, DRAIN_REASON),
    ] {
        let given = given().agents([agent("i-1").build()]);
        let w = world(&given).await;
        let mut event = terminating("i-1", "ci-linux", "ci-fleet-drain");
        if let Some(destination) = destination {
            event["detail"]["Origin"] = json!("AutoScalingGroup");
            event["detail"]["Destination"] = json!(destination);
        }
        let response = w.handler.handle(event).await.expect("handled");
        assert_eq!(
            response["lifecycle"], "completed",
            "{destination:?}: {response}"
        );
        assert_eq!(
            w.ci.taken_offline(),
            vec![("i-1".to_owned(), reason.to_owned())],
            "{destination:?}"
        );
    }
}
