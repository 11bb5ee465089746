//! TeamCity demand as the real server lets ci-fleet see it (issue 17): the real
//! `publish-workload` and `handle-interruption` binaries against the fake TeamCity (and
//! moto for the interruption). Compatibility is read per build configuration, so drains
//! and disconnected agents do not hide a pool's queue, and builds that wait for something
//! other than an agent are no demand.

use ci_fleet_tests::commands::{CiLogin, function_command, run, stdout_json};
use ci_fleet_tests::{CiKind, FakeCi, LocalAws, Stack};
use serde_json::{Value, json};

const LOGIN: CiLogin = CiLogin::same_everywhere("ci-fleet", "tok");

fn world(agents: Vec<Value>, queue: Vec<Value>) -> Value {
    json!({
        "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]},
        "teamcity_tokens": ["tok"],
        "agents": agents,
        "queue": queue,
    })
}

fn busy_agent(name: &str) -> Value {
    json!({"name": name, "pool": "linux", "running": [{"job": "Running", "number": 1}]})
}

fn queued(id: u64, job: &str) -> Value {
    json!({"id": id, "job": job, "pools": ["linux"]})
}

/// publish-workload's first poll in a dry run: the `linux` pool's figures.
fn linux_pool(fake: &FakeCi, pools: &str) -> Value {
    let mut cmd = function_command("publish-workload", LocalAws::shared(), fake, LOGIN);
    cmd.envs([("POOLS", pools), ("POLL_WINDOW_SECONDS", "0")]);
    let response = stdout_json(&run(cmd, &["--dry-run"]));
    let pools = response["polls"][0]["pools"].as_array().cloned();
    (pools.unwrap_or_default().into_iter())
        .find(|p| p["pool"] == "linux")
        .unwrap_or_else(|| panic!("no linux pool in {response:#}"))
}

fn demand(pool: &Value) -> (f64, f64) {
    let read = |f: &str| pool[f].as_f64().unwrap_or(f64::NAN);
    (read("queued_builds"), read("missing_instances"))
}

fn one_pool(group: &str) -> String {
    json!([{"name": "linux", "ci_label": "linux", "asg": group, "executors_per_instance": 1}])
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_warning_on_one_of_two_agents_leaves_the_pools_demand_unchanged() {
    let stack = Stack::new("tcd", "tcdemand", 2).await;
    let (warned, other) = (&stack.ids[0], &stack.ids[1]);
    let fake = FakeCi::start(
        CiKind::TeamCity,
        &world(
            vec![busy_agent(warned), busy_agent(other)],
            (0..3).map(|i| queued(300 + i, "App_Build")).collect(),
        ),
    );
    let pools = stack.pools(1);
    let before = demand(&linux_pool(&fake, &pools));
    assert_eq!(before, (3.0, 3.0), "three builds, both agents busy");

    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            ci_fleet_tests::repo_root()
                .join("functions/handle-interruption/events/spot-interruption-warning.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    event["detail"]["instance-id"] = json!(warned);
    event["time"] = json!(chrono::Utc::now().to_rfc3339());
    let mut cmd = stack.function_command("handle-interruption", &fake, LOGIN, &pools);
    cmd.env("METRICS_NAMESPACE", "CIFleetTeamCityDemandTest");
    let handled = stdout_json(&ci_fleet_tests::run_with_event(cmd, &event, &[]));
    assert_eq!(handled["offline"], "taken-offline", "{handled:#}");
    let state = fake.state().await;
    assert_eq!(
        state["agents"][0]["enabled"], false,
        "the warned agent is disabled"
    );

    assert_eq!(
        demand(&linux_pool(&fake, &pools)),
        before,
        "the drain hides none of the pool's queue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builds_held_by_a_running_builds_limit_with_an_idle_agent_add_no_missing_instances() {
    // "Limit the number of simultaneously running builds" = 1 (the fake's
    // max_running_builds): one App_Deploy runs, 20 more wait for the limit, tc-2 is idle.
    let queue: Vec<Value> = (0..20).map(|i| queued(400 + i, "App_Deploy")).collect();
    let mut limited = world(
        vec![
            json!({"name": "tc-1", "pool": "linux", "running": [{"job": "App_Deploy", "number": 1}]}),
            json!({"name": "tc-2", "pool": "linux"}),
        ],
        queue.clone(),
    );
    limited["max_running_builds"] = json!({"App_Deploy": 1});
    let fake = FakeCi::start(CiKind::TeamCity, &limited);
    let pools = one_pool("ci-linux");
    let held = linux_pool(&fake, &pools);
    assert_eq!(
        (
            held["queued_builds"].as_f64(),
            held["missing_instances"].as_f64()
        ),
        (Some(0.0), Some(0.0)),
        "an idle compatible agent: they wait for the limit, not an agent: {held:#}"
    );

    // The same builds without the limit and every agent busy do wait for an agent.
    let busy = FakeCi::start(
        CiKind::TeamCity,
        &world(
            vec![busy_agent("tc-1"), busy_agent("tc-2")],
            queue[..2].to_vec(),
        ),
    );
    assert_eq!(demand(&linux_pool(&busy, &pools)), (2.0, 2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_whose_agents_are_all_disconnected_publishes_its_queue() {
    let gone = |name: &str| json!({"name": name, "pool": "linux", "connected": false});
    let fake = FakeCi::start(
        CiKind::TeamCity,
        &world(
            vec![gone("tc-1"), gone("tc-2")],
            vec![queued(500, "App_Build"), queued(501, "App_Test")],
        ),
    );
    let pool = linux_pool(&fake, &one_pool("ci-linux"));
    assert_eq!(
        (demand(&pool), pool["stuck_builds"].as_f64()),
        ((2.0, 2.0), Some(0.0)),
        "TeamCity remembers the agents: the queue is the pool's, a start from zero: {pool:#}"
    );
}
