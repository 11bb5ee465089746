//! A pool whose group keeps a warm pool (`ReuseOnScaleIn`), end to end with the real
//! binaries, moto (its warm-pool scale-in path modelled by infra/local/moto_ext.py) and
//! both fake CI servers: a scale-in sends an instance to the warm pool through our drain
//! hook; handle-interruption drains it under the warm-pool reason; parked (stopped,
//! outside the group) its agent is not deleted as dead; back in service, its agent is
//! online again, and nothing else is.

use std::time::Duration;

use aws_sdk_autoscaling::types::{InstanceReusePolicy, WarmPoolState};
use ci_fleet_tests::asg::{HOOK, actions, ec2_state, states};
use ci_fleet_tests::commands::{CiLogin, run, run_with_event, stdout_json};
use ci_fleet_tests::process::http_request;
use ci_fleet_tests::{CiKind, FakeCi, Stack};
use serde_json::{Value, json};

const LOGIN: CiLogin = CiLogin::per_server("ci-fleet", "tok", "tok");

fn agent(name: &str) -> Value {
    json!({"name": name, "labels": ["linux"], "pool": "linux", "executors": 1, "running": []})
}

fn ext(stack: &Stack, method: &str, path_and_query: &str) -> Value {
    let url = format!("{}{path_and_query}", stack.aws.moto_url());
    let (status, body) =
        http_request(method, &url, None, Duration::from_secs(10)).expect("moto_ext answers");
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(status, 200, "{method} {path_and_query}: {body}");
    body
}

/// The agent as the fake CI server holds it now.
async fn agent_state(fake: &FakeCi, name: &str) -> Value {
    let state = fake.state().await;
    state["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn set_connected(fake: &FakeCi, name: &str, connected: bool) {
    let mut state = fake.state().await;
    for a in state["agents"].as_array_mut().expect("agents") {
        if a["name"] == name {
            a["connected"] = json!(connected);
        }
    }
    fake.set_state(&state).await;
}

/// Whether the agent takes builds: Jenkins not temporarily offline, TeamCity enabled.
fn online(kind: CiKind, agent: &Value) -> bool {
    match kind {
        CiKind::Jenkins => agent["temporarily_offline"] == false,
        CiKind::TeamCity => agent["enabled"] == true,
    }
}

async fn a_warm_pool_instance_is_drained_kept_and_brought_back(kind: CiKind) {
    let stack = Stack::new("wp", "wpstate", 2).await;
    let (going, staying) = (stack.ids[0].clone(), stack.ids[1].clone());
    let fake = FakeCi::start(
        kind,
        &json!({"auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]}, "teamcity_tokens": ["tok"],
                "agents": [agent(&going), agent(&staying)], "queue": []}),
    );
    let asg = &stack.c.asg;
    asg.put_warm_pool()
        .auto_scaling_group_name(&stack.group)
        .pool_state(WarmPoolState::Stopped)
        .instance_reuse_policy(
            InstanceReusePolicy::builder()
                .reuse_on_scale_in(true)
                .build(),
        )
        .send()
        .await
        .expect("PutWarmPool");
    asg.set_instance_protection()
        .auto_scaling_group_name(&stack.group)
        .instance_ids(&staying)
        .protected_from_scale_in(true)
        .send()
        .await
        .expect("SetInstanceProtection");
    asg.set_desired_capacity()
        .auto_scaling_group_name(&stack.group)
        .desired_capacity(1)
        .send()
        .await
        .expect("SetDesiredCapacity");
    assert_eq!(
        states(&stack.c, &stack.group).await[&going],
        "Warmed:Pending:Wait"
    );
    let action = actions(stack.aws, &stack.group)
        .into_iter()
        .find(|a| a["instance_id"] == going.as_str() && a["hook"] == HOOK)
        .expect("our hook's action");
    assert_eq!(action["destination"], "WarmPool", "{action}");

    // The event AWS sends (warm-pools-eventbridge-events, example 4).
    let path = ci_fleet_tests::repo_root()
        .join("functions/handle-interruption/events/terminate-lifecycle-action.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let detail = &mut event["detail"];
    detail["EC2InstanceId"] = json!(going);
    detail["AutoScalingGroupName"] = json!(stack.group);
    detail["LifecycleActionToken"] = action["token"].clone();
    detail["Origin"] = json!("AutoScalingGroup");
    detail["Destination"] = json!("WarmPool");
    let handle = stack.function_command("handle-interruption", &fake, LOGIN, &stack.pools(1));
    let handled = stdout_json(&run_with_event(handle, &event, &[]));
    assert_eq!(
        handled["lifecycle"], "completed",
        "an idle agent: {handled:#}"
    );
    assert!(!online(kind, &agent_state(&fake, &going).await), "drained");
    let parked = ext(
        &stack,
        "GET",
        &format!("/_ext/warm-pool?group={}", stack.group),
    );
    assert_eq!(parked[0]["instance_id"], going.as_str(), "{parked}");
    assert_eq!(ec2_state(&stack.c, &going).await, "stopped");

    // Parked: its agent disconnects with the stop, and is not dead.
    set_connected(&fake, &going, false).await;
    let protect = || {
        let mut cmd = stack.function_command("protect-busy-agents", &fake, LOGIN, &stack.pools(1));
        cmd.env("METRICS_NAMESPACE", "CIFleetWarmPoolTest");
        stdout_json(&run(cmd, &[]))
    };
    let while_parked = protect();
    assert_eq!(
        while_parked["dead_agents_removed"],
        json!([]),
        "{while_parked:#}"
    );
    assert!(
        agent_state(&fake, &going).await.is_object(),
        "the parked agent is kept"
    );

    // A scale-out takes it back from the warm pool (moto_ext: the return AWS would do).
    let back = ext(
        &stack,
        "POST",
        &format!(
            "/_ext/warm-pool/return?group={}&instance={going}",
            stack.group
        ),
    );
    assert_eq!(back["lifecycle_state"], "InService");
    set_connected(&fake, &going, true).await;
    let returned = protect();
    assert_eq!(returned["back_in_service"], json!([going]), "{returned:#}");
    assert!(
        online(kind, &agent_state(&fake, &going).await),
        "online again"
    );
    let again = protect();
    assert!(again.get("back_in_service").is_none(), "once: {again:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_pool_instance_is_drained_kept_and_brought_back_on_jenkins() {
    a_warm_pool_instance_is_drained_kept_and_brought_back(CiKind::Jenkins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_pool_instance_is_drained_kept_and_brought_back_on_teamcity() {
    a_warm_pool_instance_is_drained_kept_and_brought_back(CiKind::TeamCity).await;
}
