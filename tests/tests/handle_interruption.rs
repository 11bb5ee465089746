//! The real `handle-interruption` binary with the real `ci-checkpoint` binary, against
//! moto (Auto Scaling with the lifecycle extension, S3) and the fake Jenkins.

use std::ops::Deref;
use std::process::Output;

use ci_fleet_tests::asg::{action_for, actions, ec2_state, states, unique};
use ci_fleet_tests::commands::{CiLogin, run, stdout_json as response};
use ci_fleet_tests::{CiKind, FakeCi, Stack};
use serde_json::{Value, json};

/// The user and token of the fake's state below, on either server.
const LOGIN: CiLogin = CiLogin::per_server("ci-fleet", "tok", "tok");

struct Setup {
    stack: Stack,
    fake: FakeCi,
}

impl Deref for Setup {
    type Target = Stack;

    fn deref(&self) -> &Stack {
        &self.stack
    }
}

fn agent(name: &str, busy: bool) -> Value {
    let running = if busy {
        json!([{"job": "app", "number": 7}])
    } else {
        json!([])
    };
    json!({"name": name, "labels": ["linux"], "executors": 1, "running": running})
}

async fn setup(size: i32, busy: &[bool]) -> Setup {
    setup_with(CiKind::Jenkins, size, busy).await
}

async fn setup_with(kind: CiKind, size: i32, busy: &[bool]) -> Setup {
    let stack = Stack::new("hi", "ckpt", size).await;
    let agents: Vec<Value> = stack
        .ids
        .iter()
        .zip(busy)
        .map(|(id, b)| agent(id, *b))
        .collect();
    let fake = FakeCi::start(
        kind,
        &json!({"auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]}, "teamcity_tokens": ["tok"], "agents": agents, "queue": []}),
    );
    Setup { stack, fake }
}

fn fixture(name: &str) -> Value {
    let path = ci_fleet_tests::repo_root()
        .join("functions/handle-interruption/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn spot_warning(instance: &str) -> Value {
    let mut event = fixture("spot-interruption-warning.json");
    event["detail"]["instance-id"] = json!(instance);
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    event
}

impl Setup {
    fn handle(&self, event: &Value, extra: &[(&str, &str)]) -> Output {
        let mut cmd =
            self.function_command("handle-interruption", &self.fake, LOGIN, &self.pools(1));
        cmd.env("METRICS_NAMESPACE", "CIFleetInterruptionTest")
            .envs(extra.iter().copied());
        ci_fleet_tests::run_with_event(cmd, event, &[])
    }

    fn checkpoint(&self, args: &[&str]) -> Output {
        let output = run(self.checkpoint_command(), args);
        assert!(
            output.status.success(),
            "ci-checkpoint {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    async fn computer(&self, name: &str) -> Value {
        let url = format!(
            "{}/computer/{name}/api/json?tree=temporarilyOffline,offlineCauseReason",
            self.fake.url()
        );
        reqwest::Client::new()
            .get(url)
            .basic_auth("ci-fleet", Some("tok"))
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    async fn has_object(&self, key: &str) -> bool {
        ci_fleet_tests::s3::exists(&self.s3, &self.bucket, key).await
    }

    async fn terminating_with_token(&self, instance: &str) -> Value {
        self.c
            .asg
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance)
            .should_decrement_desired_capacity(true)
            .send()
            .await
            .expect("terminate");
        assert_eq!(
            states(&self.c, &self.group).await[instance],
            "Terminating:Wait"
        );
        let token = action_for(&actions(self.aws, &self.group), instance)["token"].clone();
        let mut event = fixture("terminate-lifecycle-action.json");
        event["detail"]["EC2InstanceId"] = json!(instance);
        event["detail"]["AutoScalingGroupName"] = json!(self.group);
        event["detail"]["LifecycleActionToken"] = token;
        event
    }
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_warning_takes_the_agent_offline_and_the_retry_skips_what_passed() {
    let s = setup(2, &[true, false]).await;
    let (busy, spare) = (&s.ids[0], &s.ids[1]);
    let key = "app/main@3f2a9c1#shard-2";
    let passlist = std::env::temp_dir().join(format!("{}-passed.txt", unique("pl")));
    std::fs::write(
        &passlist,
        "tests/test_a.py::test_one\ntests/test_a.py::test_two\ntests/test_b.py::test_three\n",
    )
    .expect("writes");
    let passlist = passlist.to_string_lossy().into_owned();
    assert_eq!(
        lines(&s.checkpoint(&["start", "--key", key, "--instance-id", busy])),
        vec!["1"]
    );
    s.checkpoint(&[
        "flush",
        "--key",
        key,
        "--instance-id",
        busy,
        "--passlist",
        &passlist,
    ]);

    let warning = spot_warning(busy);
    let first = response(&s.handle(&warning, &[]));
    assert_eq!(
        (first["pool"].as_str(), first["offline"].as_str()),
        (Some("linux"), Some("taken-offline")),
        "{first:#}"
    );
    assert_eq!(first["checkpoint"]["outcome"], "sealed");
    assert_eq!(first["checkpoint"]["record"]["passed"], 3);
    let computer = s.computer(busy).await;
    assert_eq!(computer["temporarilyOffline"], true);
    let reason = computer["offlineCauseReason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("spot interruption: {busy} terminates at ")),
        "{reason}"
    );

    // EventBridge delivers again: the agent stays offline (toggleOffline would toggle it back), the seal is the same.
    let second = response(&s.handle(&warning, &[]));
    assert_eq!(
        (
            second["offline"].as_str(),
            second["checkpoint"]["outcome"].as_str()
        ),
        (Some("already-offline"), Some("already-sealed"))
    );
    assert_eq!(
        second["checkpoint"]["record"],
        first["checkpoint"]["record"]
    );
    assert_eq!(s.computer(busy).await["temporarilyOffline"], true);

    // The retry on another instance skips exactly what passed before the notice.
    assert_eq!(
        lines(&s.checkpoint(&["start", "--key", key, "--instance-id", spare])),
        vec!["2"]
    );
    let mut skip = lines(&s.checkpoint(&["restore", "--key", key, "--instance-id", spare]));
    skip.sort();
    assert_eq!(
        skip,
        vec![
            "tests/test_a.py::test_one",
            "tests/test_a.py::test_two",
            "tests/test_b.py::test_three"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_stops_new_work_only_and_can_be_ignored() {
    let s = setup(1, &[true]).await;
    let mut event = fixture("rebalance-recommendation.json");
    event["detail"]["instance-id"] = json!(s.ids[0]);
    let ignored = response(&s.handle(&event, &[("REBALANCE_ACTION", "ignore")]));
    assert_eq!(ignored["ignored"], "REBALANCE_ACTION=ignore");
    assert_eq!(s.computer(&s.ids[0]).await["temporarilyOffline"], false);

    let done = response(&s.handle(&event, &[]));
    assert_eq!(done["offline"], "taken-offline");
    assert_eq!(
        s.computer(&s.ids[0]).await["offlineCauseReason"],
        "rebalance recommendation"
    );
    assert_eq!(
        states(&s.c, &s.group).await[s.ids[0].as_str()],
        "InService",
        "no drain, no termination"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_hook_completes_idle_drains_busy_and_leaves_other_hooks_pending() {
    let s = setup(3, &[false, true, false]).await;
    let (idle, busy, foreign) = (&s.ids[0], &s.ids[1], &s.ids[2]);

    let event = s.terminating_with_token(idle).await;
    let done = response(&s.handle(&event, &[]));
    assert_eq!(
        (done["offline"].as_str(), done["lifecycle"].as_str()),
        (Some("taken-offline"), Some("completed")),
        "{done:#}"
    );
    assert_eq!(ec2_state(&s.c, idle).await, "terminated");
    // A duplicate of the same event after completion is acknowledged, not retried forever.
    assert_eq!(
        response(&s.handle(&event, &[]))["lifecycle"],
        "already-completed"
    );

    let event = s.terminating_with_token(busy).await;
    let drain = response(&s.handle(&event, &[]));
    assert_eq!(drain["lifecycle"], "drain-recorded", "{drain:#}");
    assert!(s.has_object(&format!("drains/{busy}.json")).await);
    assert_eq!(
        states(&s.c, &s.group).await[busy.as_str()],
        "Terminating:Wait",
        "the busy build keeps its instance"
    );
    assert_eq!(s.computer(busy).await["temporarilyOffline"], true);

    // Another team's hook on the same group (node-termination-handler, a log upload): its
    // action is theirs to complete. Ours on the same instance is handled as usual, and the
    // instance keeps waiting for theirs.
    s.c.asg
        .put_lifecycle_hook()
        .auto_scaling_group_name(&s.group)
        .lifecycle_hook_name("someone-elses-hook")
        .lifecycle_transition(ci_fleet_tests::asg::TERMINATING)
        .heartbeat_timeout(600)
        .default_result("CONTINUE")
        .send()
        .await
        .expect("PutLifecycleHook");
    let ours = s.terminating_with_token(foreign).await;
    let action_of = |hook: &str| {
        actions(s.aws, &s.group)
            .into_iter()
            .find(|a| a["instance_id"] == foreign.as_str() && a["hook"] == hook)
            .unwrap_or_else(|| panic!("no action of {hook} for {foreign}"))
    };
    let mut theirs = ours.clone();
    theirs["detail"]["LifecycleHookName"] = json!("someone-elses-hook");
    theirs["detail"]["LifecycleActionToken"] = action_of("someone-elses-hook")["token"].clone();
    let left = response(&s.handle(&theirs, &[]));
    assert_eq!(
        left["ignored"], "another hook's action (someone-elses-hook): left to its owner",
        "{left:#}"
    );
    assert!(left.get("lifecycle").is_none(), "never completed: {left:#}");
    assert_eq!(action_of("someone-elses-hook")["state"], "pending");
    assert_eq!(
        s.computer(foreign).await["temporarilyOffline"],
        false,
        "not our hook: the agent is left alone"
    );

    let mut ours = ours;
    ours["detail"]["LifecycleActionToken"] = action_of("ci-fleet-drain")["token"].clone();
    let done = response(&s.handle(&ours, &[]));
    assert_eq!(done["lifecycle"], "completed", "{done:#}");
    assert_eq!(action_of("ci-fleet-drain")["state"], "completed");
    assert_eq!(
        action_of("someone-elses-hook")["state"],
        "pending",
        "still theirs"
    );
    assert_eq!(
        states(&s.c, &s.group).await[foreign.as_str()],
        "Terminating:Wait",
        "Auto Scaling waits for every hook"
    );
}

/// A lifecycle event concerns one agent: handle-interruption reads that agent alone, never
/// the whole fleet's agents and queue, on either CI server.
async fn the_terminate_hook_reads_only_the_terminating_agent(kind: CiKind) {
    // Idle, busy, and an instance whose agent never registered (the CI server does not know it).
    let s = setup_with(kind, 3, &[false, true]).await;
    let fleet_wide = |requests: &[Value]| {
        requests
            .iter()
            .filter(|r| r["method"] == "GET")
            .map(|r| {
                r["path"]
                    .as_str()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_owned()
            })
            .filter(|p| {
                matches!(
                    p.as_str(),
                    "/computer/api/json"
                        | "/queue/api/json"
                        | "/app/rest/agents"
                        | "/app/rest/buildQueue"
                )
            })
            .collect::<Vec<_>>()
    };
    let cases = [
        (&s.ids[0], Some("taken-offline"), "completed"),
        (&s.ids[1], Some("taken-offline"), "drain-recorded"),
        (&s.ids[2], Some("no-agent"), "completed"),
    ];
    for (instance, offline, lifecycle) in cases {
        s.fake.clear_requests().await;
        let event = s.terminating_with_token(instance).await;
        let done = response(&s.handle(&event, &[]));
        assert_eq!(
            (done["offline"].as_str(), done["lifecycle"].as_str()),
            (offline, Some(lifecycle)),
            "{kind:?} {done:#}"
        );
        let requests = s.fake.requests().await;
        assert_eq!(
            fleet_wide(&requests),
            Vec::<String>::new(),
            "{kind:?}: {requests:#?}"
        );
        // Jenkins: state, mark, state, idle; TeamCity: enabled, enabledInfo, enabled, build.
        assert!(requests.len() <= 4, "{kind:?}: {requests:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminate_hook_reads_only_the_terminating_jenkins_agent() {
    the_terminate_hook_reads_only_the_terminating_agent(CiKind::Jenkins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminate_hook_reads_only_the_terminating_teamcity_agent() {
    the_terminate_hook_reads_only_the_terminating_agent(CiKind::TeamCity).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_down_still_seals_and_s3_down_still_takes_the_agent_offline() {
    let s = setup(1, &[true]).await;
    let key = "nightly@c0ffee";
    let passlist = std::env::temp_dir().join(format!("{}-passed.txt", unique("pl")));
    std::fs::write(&passlist, "suite::one\n").expect("writes");
    s.checkpoint(&["start", "--key", key, "--instance-id", &s.ids[0]]);
    s.checkpoint(&[
        "flush",
        "--key",
        key,
        "--instance-id",
        &s.ids[0],
        "--passlist",
        &passlist.to_string_lossy(),
    ]);

    s.fake.fault("http-500").await;
    let output = s.handle(&spot_warning(&s.ids[0]), &[]);
    assert!(
        !output.status.success(),
        "the CI step failed, so the invocation fails (EventBridge retries)"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("HTTP 500"));
    s.fake.fault("none").await;
    let restore = lines(&s.checkpoint(&[
        "restore",
        "--key",
        key,
        "--instance-id",
        "i-0retry000000000",
    ]));
    assert_eq!(restore, vec!["suite::one"], "sealed despite the CI outage");

    let output = s.handle(
        &spot_warning(&s.ids[0]),
        &[("CHECKPOINT_BUCKET", "no-such-bucket-ci-fleet")],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("checkpoint:"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        s.computer(&s.ids[0]).await["temporarilyOffline"],
        true,
        "offline despite S3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_events_are_acknowledged_and_malformed_ones_are_clear_errors() {
    let s = setup(1, &[false]).await;
    let ignored = response(&s.handle(&fixture("unknown-event.json"), &[]));
    assert_eq!(ignored["ignored"], "not handled (source aws.ec2)");
    let mut malformed = fixture("spot-interruption-warning.json");
    malformed["detail"] = json!({"instance-action": "terminate"});
    let output = s.handle(&malformed, &[]);
    assert!(!output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).lines().last(),
        Some(
            "handle-interruption: malformed event: EC2 Spot Instance Interruption Warning detail: missing field `instance-id`"
        )
    );
}
