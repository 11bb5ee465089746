//! Faults injected into the local stack, real binaries: AWS answering throttling (moto_ext's
//! fault table) and a slow CI server (the fake's `delay_ms`). Each scenario is one that
//! ended a running build before (reliability review R2, R3, R5, R7). The fault table is
//! global to this binary's moto, so the scenarios run one at a time.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ci_fleet_tests::asg::{HOOK, TERMINATING, action_for, actions, states};
use ci_fleet_tests::commands::{CiLogin, run, run_with_event, stdout_json};
use ci_fleet_tests::{CiKind, FakeCi, Stack, faults, s3};
use rules::drain::{DrainRecord, drain_key};
use serde_json::{Value, json};
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const LOGIN: CiLogin = CiLogin::same_everywhere("ci-fleet", "tok");

fn jenkins(agents: Vec<Value>) -> Value {
    json!({"auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]}, "agents": agents, "queue": []})
}

fn agent(name: &str, busy: bool) -> Value {
    let running = if busy {
        json!([{"job": "app", "number": 7}])
    } else {
        json!([])
    };
    json!({"name": name, "labels": ["linux"], "executors": 1, "running": running})
}

fn fixture(name: &str) -> Value {
    let path = ci_fleet_tests::repo_root()
        .join("functions/handle-interruption/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// Our hook with a 30 s heartbeat timeout, the shortest Auto Scaling allows, so that a
/// missed heartbeat shows within a test.
async fn short_hook(s: &Stack) {
    s.c.asg
        .put_lifecycle_hook()
        .auto_scaling_group_name(&s.group)
        .lifecycle_hook_name(HOOK)
        .lifecycle_transition(TERMINATING)
        .heartbeat_timeout(30)
        .default_result("CONTINUE")
        .send()
        .await
        .expect("PutLifecycleHook");
}

/// Terminates `instance` (into our hook's wait) and returns the event AWS would send.
async fn terminating(s: &Stack, instance: &str) -> Value {
    s.c.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(instance)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("terminate");
    let mut event = fixture("terminate-lifecycle-action.json");
    event["detail"]["EC2InstanceId"] = json!(instance);
    event["detail"]["AutoScalingGroupName"] = json!(s.group);
    event["detail"]["LifecycleActionToken"] =
        action_for(&actions(s.aws, &s.group), instance)["token"].clone();
    event
}

fn handle_command(s: &Stack, fake: &FakeCi) -> Command {
    let mut cmd = s.function_command("handle-interruption", fake, LOGIN, &s.pools(1));
    cmd.env("METRICS_NAMESPACE", "CIFleetFaultTest");
    cmd
}

fn protect_command(s: &Stack, fake: &FakeCi, env: &[(&str, &str)]) -> Command {
    let mut cmd = s.function_command("protect-busy-agents", fake, LOGIN, &s.pools(1));
    cmd.envs([
        ("METRICS_NAMESPACE", "CIFleetFaultTest"),
        ("RUN_INTERVAL_SECONDS", "10"),
    ]);
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs the command as Lambda would with `timeout`: killed when it is not done by then.
fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while started.elapsed() < timeout {
        if child.try_wait().expect("waits").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs protect-busy-agents every 10 s for `for_how_long`, each run cut at `lambda_timeout`.
async fn keep_running_protect(
    s: &Stack,
    fake: &FakeCi,
    for_how_long: Duration,
    lambda_timeout: Duration,
) {
    let started = Instant::now();
    while started.elapsed() < for_how_long {
        let run_started = Instant::now();
        let cmd = protect_command(s, fake, &[]);
        tokio::task::spawn_blocking(move || run_with_timeout(cmd, lambda_timeout))
            .await
            .expect("joins");
        tokio::time::sleep(Duration::from_secs(10).saturating_sub(run_started.elapsed())).await;
    }
}

/// R2: DescribeInstances throttled, agents named by private DNS name. Nothing is
/// unprotected, busy or idle, past boot grace: the agents are unknown, not unregistered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_instances_throttled_unprotects_nothing_under_dns_naming() {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = Stack::new("flt-dns", "flt", 2).await;
    let described =
        s.c.ec2
            .describe_instances()
            .instance_ids(&s.ids[0])
            .instance_ids(&s.ids[1])
            .send()
            .await
            .expect("DescribeInstances");
    let dns = |id: &str| {
        described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .and_then(|i| i.private_dns_name())
            .expect("a DNS name")
            .to_owned()
    };
    let (busy, idle) = (dns(&s.ids[0]), dns(&s.ids[1]));
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &jenkins(vec![agent(&busy, true), agent(&idle, false)]),
    );
    s.c.asg
        .set_instance_protection()
        .auto_scaling_group_name(&s.group)
        .set_instance_ids(Some(s.ids.clone()))
        .protected_from_scale_in(true)
        .send()
        .await
        .expect("protect");
    let env = [
        ("AGENT_NAME_SOURCE", "private-dns-name"),
        ("BOOT_GRACE_SECONDS", "0"),
        ("IDLE_GRACE_SECONDS", "0"),
    ];

    faults::throttle(s.aws, "ec2", "DescribeInstances");
    let throttled = run(protect_command(&s, &fake, &env), &[]);
    faults::clear(s.aws, None);
    let stderr = String::from_utf8_lossy(&throttled.stderr);
    assert!(
        !throttled.status.success(),
        "the problem is reported: {stderr}"
    );
    assert!(stderr.contains("DescribeInstances"), "{stderr}");
    let protected = |group: &aws_sdk_autoscaling::types::AutoScalingGroup| -> Vec<bool> {
        s.ids
            .iter()
            .map(|id| {
                group.instances().iter().any(|i| {
                    i.instance_id() == Some(id) && i.protected_from_scale_in() == Some(true)
                })
            })
            .collect()
    };
    let group =
        s.c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&s.group)
            .send()
            .await
            .expect("describe");
    assert_eq!(
        protected(&group.auto_scaling_groups()[0]),
        vec![true, true],
        "nothing unprotected on unknown data"
    );

    // Readable again: the idle agent's instance is released, the busy one kept.
    stdout_json(&run(protect_command(&s, &fake, &env), &[]));
    let group =
        s.c.asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&s.group)
            .send()
            .await
            .expect("describe");
    assert_eq!(
        protected(&group.auto_scaling_groups()[0]),
        vec![true, false]
    );
}

/// R3: DescribeLifecycleHooks fails when the drain starts. The drain assumes the shortest
/// heartbeat timeout, so the build survives past the hook's real timeout (30 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_hook_describe_at_drain_start_does_not_let_the_hook_expire() {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = Stack::new("flt-hook", "flt", 1).await;
    let id = s.ids[0].clone();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins(vec![agent(&id, true)]));
    short_hook(&s).await;
    let event = terminating(&s, &id).await;
    faults::throttle(s.aws, "autoscaling", "DescribeLifecycleHooks");
    let cmd = handle_command(&s, &fake);
    let handled = stdout_json(&run_with_event(cmd, &event, &[]));
    assert!(
        faults::fired(s.aws, "DescribeLifecycleHooks") > 0,
        "the fault was met"
    );
    faults::clear(s.aws, None);
    assert_eq!(handled["lifecycle"], "drain-recorded", "{handled:#}");
    let record: DrainRecord = serde_json::from_slice(
        &s3::get(&s.s3, &s.bucket, &drain_key(&id))
            .await
            .expect("a drain record"),
    )
    .expect("JSON");
    assert_eq!(
        record.heartbeat_timeout_seconds, 30,
        "unknown is the shortest"
    );

    keep_running_protect(&s, &fake, Duration::from_secs(45), Duration::from_secs(50)).await;
    let action = action_for(&actions(s.aws, &s.group), &id).clone();
    assert_eq!(action["state"], "pending", "{action:#}");
    assert_eq!(
        states(&s.c, &s.group).await[&id],
        "Terminating:Wait",
        "the build keeps its instance"
    );
}

/// R5: a spot warning and a rebalance recommendation for one instance, handled at once.
/// Whatever the interleaving, the agent ends offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_warning_and_a_rebalance_at_once_leave_the_agent_offline() {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = Stack::new("flt-race", "flt", 1).await;
    let id = s.ids[0].clone();
    for round in 0..5 {
        let fake = FakeCi::start(CiKind::Jenkins, &jenkins(vec![agent(&id, true)]));
        let mut spot = fixture("spot-interruption-warning.json");
        spot["detail"]["instance-id"] = json!(id);
        spot["time"] = json!(chrono::Utc::now().to_rfc3339());
        let mut rebalance = fixture("rebalance-recommendation.json");
        rebalance["detail"]["instance-id"] = json!(id);
        let both: Vec<_> = [spot, rebalance]
            .into_iter()
            .map(|event| {
                let cmd = handle_command(&s, &fake);
                std::thread::spawn(move || run_with_event(cmd, &event, &[]))
            })
            .collect();
        for handled in both {
            let output = handled.join().expect("joins");
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let state = fake.state().await;
        assert_eq!(
            state["agents"][0]["temporarily_offline"], true,
            "round {round}: {state:#}"
        );
    }
}

/// R7: the CI server answers, but in 7 s, while a build drains and every protect-busy-agents
/// run is cut at its timeout (10 s here, as Lambda would). The heartbeats go out first, so
/// the hook (30 s) does not expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_ci_server_does_not_starve_the_heartbeats() {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = Stack::new("flt-slow", "flt", 1).await;
    let id = s.ids[0].clone();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins(vec![agent(&id, true)]));
    short_hook(&s).await;
    let event = terminating(&s, &id).await;
    let cmd = handle_command(&s, &fake);
    assert_eq!(
        stdout_json(&run_with_event(cmd, &event, &[]))["lifecycle"],
        "drain-recorded"
    );

    fake.slow(7000).await;
    keep_running_protect(&s, &fake, Duration::from_secs(45), Duration::from_secs(10)).await;
    fake.slow(0).await;
    let action = action_for(&actions(s.aws, &s.group), &id).clone();
    assert_eq!(action["state"], "pending", "{action:#}");
    assert!(
        action["heartbeats"].as_u64().unwrap_or(0) >= 3,
        "{action:#}"
    );
    assert_eq!(states(&s.c, &s.group).await[&id], "Terminating:Wait");
}

/// R20: an AWS call that stalls is cut at the SDK's operation timeout (15 s, retries
/// included), so one stalled read cannot eat a whole Lambda run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_aws_call_is_cut_at_its_operation_timeout() {
    let _one = ONE_AT_A_TIME.lock().await;
    let s = Stack::new("flt-stall", "flt", 1).await;
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins(vec![agent(&s.ids[0], false)]));
    faults::add(
        s.aws,
        json!({"service": "autoscaling", "action": "DescribeAutoScalingGroups", "mode": "delay", "delay_ms": 60000}),
    );
    let started = Instant::now();
    let output = run(protect_command(&s, &fake, &[]), &[]);
    let took = started.elapsed();
    faults::clear(s.aws, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("DescribeAutoScalingGroups"), "{stderr}");
    assert!(
        took < Duration::from_secs(30),
        "cut at the operation timeout, took {took:?}"
    );
}
