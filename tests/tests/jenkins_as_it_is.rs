//! Jenkins as most installations run it (issue 15): Pipeline jobs in folders and
//! multibranch projects, 0 executors on the built-in node, agents that carry several pools'
//! labels, users whose permissions are narrower than "can do anything". The real binaries
//! against the fake Jenkins (and moto where AWS is needed).

use ci_fleet_tests::commands::{CiLogin, function_command, run};
use ci_fleet_tests::{CiKind, FakeCi, LocalAws};
use serde_json::{Value, json};

const LOGIN: CiLogin = CiLogin::per_server("ci-fleet", "tok", "tc-token");

fn auth() -> Value {
    json!({"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}], "csrf": true})
}

/// publish-workload's first poll in a dry run: each pool's figures by name, and the
/// response (for its error and unattributed builds).
fn first_poll(fake: &FakeCi, pools: &Value) -> (Vec<Value>, Value) {
    let mut cmd = function_command("publish-workload", LocalAws::shared(), fake, LOGIN);
    cmd.envs([
        ("POOLS", pools.to_string().as_str()),
        ("POLL_WINDOW_SECONDS", "0"),
    ]);
    let output = run(cmd, &["--dry-run"]);
    let response: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is the response ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let pools = response["polls"][0]["pools"].as_array().cloned();
    (pools.unwrap_or_default(), response)
}

fn queued_of(pools: &[Value], name: &str) -> (f64, f64) {
    let pool = (pools.iter())
        .find(|p| p["pool"] == name)
        .unwrap_or_else(|| panic!("no pool {name} in {pools:#?}"));
    let read = |f: &str| pool[f].as_f64().unwrap_or(f64::NAN);
    (read("queued_builds"), read("missing_instances"))
}

/// GPU agents also carry `linux`: a plain linux build is the linux pool's demand only, a
/// `gpu && linux` build the gpu pool's only (the first pool in POOLS order whose new
/// instances would run it), so the expensive pool never scales out for a general build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_queued_build_is_demand_of_exactly_one_pool() {
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &json!({
            "auth": auth(),
            "agents": [
                {"name": "linux-1", "labels": ["linux"], "executors": 1, "running": [{"job": "app", "number": 1}]},
                {"name": "gpu-1", "labels": ["linux", "gpu"], "executors": 1, "running": [{"job": "train", "number": 1}]}
            ],
            "queue": [
                {"id": 1, "job": "app", "label": "linux", "state": "buildable"},
                {"id": 2, "job": "train", "label": "gpu && linux", "state": "buildable"}
            ]
        }),
    );
    let pools = json!([
        {"name": "linux", "ci_label": "linux", "asg": "ci-linux", "executors_per_instance": 1},
        {"name": "gpu", "ci_label": "gpu && linux", "asg": "ci-gpu", "executors_per_instance": 1}
    ]);
    let (polled, response) = first_poll(&fake, &pools);
    assert_eq!(queued_of(&polled, "linux"), (1.0, 1.0), "{response:#}");
    assert_eq!(queued_of(&polled, "gpu"), (1.0, 1.0), "{response:#}");
    assert_eq!(response["polls"][0]["unattributed_builds"], 0);
}

/// Three rounds of multibranch Pipeline runs (folder → project → branch): the botched agent
/// fails each project's run, the healthy one passes it. Nothing names the agent of a run
/// but the executor running it: protect-busy-agents' run ledger sees each run there, reads
/// how it ended once it left, and recycles the botched agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_botched_agent_failing_multibranch_pipeline_runs_is_recycled() {
    let stack = ci_fleet_tests::Stack::new("jai", "jenkinsreal", 2).await;
    let (bad, good) = (&stack.ids[0], &stack.ids[1]);
    let node = |name: &str, running: Option<(&str, u64)>| {
        let running = running.map_or(json!([]), |(job, n)| json!([{"job": job, "number": n}]));
        json!({"name": name, "labels": ["linux"], "executors": 1, "running": running})
    };
    // WorkflowJobs: their runs export no builtOn; only the executors name their agent.
    let pipelines = json!([
        "platform/api/main",
        "platform/web/main",
        "platform/cli/main"
    ]);
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &json!({"auth": auth(), "pipeline_jobs": pipelines, "agents": [node(bad, None), node(good, None)]}),
    );
    let protect = || {
        let mut cmd = stack.function_command("protect-busy-agents", &fake, LOGIN, &stack.pools(1));
        cmd.env("METRICS_NAMESPACE", "CIFleetJenkinsAsItIs");
        ci_fleet_tests::commands::stdout_json(&run(cmd, &[]))
    };
    let mut finished = Vec::new();
    for (round, project) in ["api", "web", "cli"].into_iter().enumerate() {
        let job = format!("platform/{project}/main");
        let (on_bad, on_good) = (2 * round as u64 + 1, 2 * round as u64 + 2);
        let mut state = fake.state().await;
        state["agents"] = json!([
            node(bad, Some((&job, on_bad))),
            node(good, Some((&job, on_good)))
        ]);
        state["builds"] = json!(finished);
        fake.set_state(&state).await;
        let seen = protect();
        assert_eq!(seen["recycling"]["recycles"], json!([]), "{seen:#}");
        let now = chrono::Utc::now().timestamp_millis();
        for (number, agent, result) in [(on_bad, bad, "FAILURE"), (on_good, good, "SUCCESS")] {
            finished.push(
                json!({"job": job, "number": number, "result": result, "agent": agent,
                                 "started_at_ms": now - 500, "duration_ms": 100}),
            );
        }
    }
    let mut state = fake.state().await;
    state["agents"] = json!([node(bad, None), node(good, None)]);
    state["builds"] = json!(finished);
    fake.set_state(&state).await;
    let last = protect();
    let recycles = last["recycling"]["recycles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        recycles
            .iter()
            .map(|r| (r["instance_id"].clone(), r["reason"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!(bad), json!("failing-builds"))],
        "{last:#}"
    );
}

/// Jenkins filters the queue and the job list by Job/Read and answers a user without it
/// an empty queue with HTTP 200. publish-workload names that, publishes CiServerUp=0 and
/// no pool metric at all, and fails visibly; it never reads "no demand".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_job_read_is_a_named_failure_not_an_empty_queue() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &json!({
            "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok", "job_read": false}], "csrf": true},
            "agents": [{"name": "linux-1", "labels": ["linux"], "executors": 1, "running": [{"job": "app", "number": 1}]}],
            "queue": [{"id": 1, "job": "app", "label": "linux", "state": "buildable"}]
        }),
    );
    let namespace = ci_fleet_tests::names::unique("CIFleetBlind");
    let pools = json!([{"name": "linux", "ci_label": "linux", "asg": "ci-linux", "executors_per_instance": 1}]);
    let mut cmd = function_command("publish-workload", aws, &fake, LOGIN);
    cmd.envs([
        ("POOLS", pools.to_string().as_str()),
        ("POLL_WINDOW_SECONDS", "0"),
        ("METRICS_NAMESPACE", namespace.as_str()),
    ]);
    let output = run(cmd, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "fails visibly");
    assert!(
        stderr.contains("sees no job at all"),
        "the cause is named:\n{stderr}"
    );

    assert_eq!(
        aws.metric_names(&namespace).await,
        ["CiServerUp"],
        "no pool metric, only CiServerUp"
    );
    let cw = aws.cloudwatch().await;
    let now = std::time::SystemTime::now();
    let data = cw
        .get_metric_statistics()
        .namespace(&namespace)
        .metric_name("CiServerUp")
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from(
            now - std::time::Duration::from_secs(300),
        ))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from(
            now + std::time::Duration::from_secs(60),
        ))
        .period(60)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .send()
        .await
        .expect("GetMetricStatistics");
    let values: Vec<f64> = data
        .datapoints()
        .iter()
        .filter_map(|d| d.maximum())
        .collect();
    assert_eq!(values, [0.0], "CiServerUp=0");
}

/// A pool at zero on a Jenkins with 0 executors on the built-in node: its Pipeline item
/// names its label only while a node carries it. protect-busy-agents keeps the pool's last
/// node (dead, offline) instead of removing it, so `why` names it and the queue is the
/// pool's demand: the pool starts again. With no node at all (a Swarm agent's node is
/// deleted on disconnect), `why` is "Waiting for next available executor": unattributed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_at_zero_scales_out_on_its_pipeline_queue() {
    let stack = ci_fleet_tests::Stack::new("zero", "zeropool", 0).await;
    let dead = "i-00000000000dead01";
    let world = |agents: Value| {
        json!({
            "auth": auth(),
            "builtin_executors": 0,
            "pipeline_jobs": ["platform/app/main"],
            "agents": agents,
            "queue": [{"id": 1, "job": "platform/app/main", "label": "linux", "label_exposed": false, "state": "buildable"}]
        })
    };
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &world(json!([{"name": dead, "labels": ["linux"], "executors": 1, "connected": false}])),
    );
    let mut cmd = stack.function_command("protect-busy-agents", &fake, LOGIN, &stack.pools(1));
    cmd.env("METRICS_NAMESPACE", "CIFleetJenkinsAsItIs");
    let protected = ci_fleet_tests::commands::stdout_json(&run(cmd, &[]));
    assert_eq!(
        protected["dead_agents_removed"],
        json!([]),
        "the pool's last node stays: {protected:#}"
    );

    let pools = json!([{"name": "linux", "ci_label": "linux", "asg": stack.group, "executors_per_instance": 1}]);
    let (polled, response) = first_poll(&fake, &pools);
    assert_eq!(queued_of(&polled, "linux"), (1.0, 1.0), "{response:#}");

    let swarm = FakeCi::start(CiKind::Jenkins, &world(json!([])));
    let (polled, response) = first_poll(&swarm, &pools);
    assert_eq!(queued_of(&polled, "linux"), (0.0, 0.0), "{response:#}");
    assert_eq!(
        response["polls"][0]["unattributed_builds"], 1,
        "{response:#}"
    );
}
