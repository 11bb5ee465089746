//! The real `protect-busy-agents` binary against moto (with the lifecycle extension) and
//! the fake Jenkins: protection follows the agents, a scale-in takes only idle instances,
//! drains end when builds end, and a CI outage changes nothing.

use std::ops::Deref;
use std::process::Output;

use chrono::Utc;
use ci_fleet_tests::asg::{HOOK, action_for, actions, ec2_state, states};
use ci_fleet_tests::commands::{CiLogin, run, stdout_json};
use ci_fleet_tests::{CiKind, FakeCi, Stack, s3};
use rules::drain::{DrainRecord, drain_key};
use serde_json::{Value, json};

fn jenkins(agents: Vec<Value>) -> Value {
    json!({
        "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}], "anonymous_read": false, "csrf": true},
        "agents": agents,
        "queue": []
    })
}

fn agent(name: &str, busy: bool, offline: bool) -> Value {
    let running = if busy {
        json!([{"job": "app", "number": 42}])
    } else {
        json!([])
    };
    json!({"name": name, "labels": ["linux"], "executors": 2, "running": running, "temporarily_offline": offline, "offline_message": if offline { "drain" } else { "" }})
}

struct Setup(Stack);

impl Deref for Setup {
    type Target = Stack;

    fn deref(&self) -> &Stack {
        &self.0
    }
}

async fn setup(size: i32) -> Setup {
    Setup(Stack::new("pba", "state", size).await)
}

impl Setup {
    fn run(&self, fake: &FakeCi, args: &[&str]) -> Output {
        let login = CiLogin::same_everywhere("ci-fleet", "tok");
        let mut cmd = self.function_command("protect-busy-agents", fake, login, &self.pools(2));
        cmd.envs([
            ("IDLE_GRACE_SECONDS", "0"),
            ("METRICS_NAMESPACE", "CIFleetProtectTest"),
        ]);
        run(cmd, args)
    }

    async fn protected(&self) -> Vec<bool> {
        let out = self
            .c
            .asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&self.group)
            .send()
            .await
            .expect("describe");
        let group = &out.auto_scaling_groups()[0];
        self.ids
            .iter()
            .map(|id| {
                group.instances().iter().any(|i| {
                    i.instance_id() == Some(id) && i.protected_from_scale_in() == Some(true)
                })
            })
            .collect()
    }

    async fn protect_all(&self) {
        self.c
            .asg
            .set_instance_protection()
            .auto_scaling_group_name(&self.group)
            .set_instance_ids(Some(self.ids.clone()))
            .protected_from_scale_in(true)
            .send()
            .await
            .expect("protect");
    }

    async fn drain_record(&self, instance: &str, heartbeat_seconds_ago: i64) {
        let token = action_for(&actions(self.aws, &self.group), instance)["token"]
            .as_str()
            .map(str::to_owned);
        let now = Utc::now();
        let record = DrainRecord {
            instance_id: instance.into(),
            pool: "linux".into(),
            group: self.group.clone(),
            hook: HOOK.into(),
            token,
            agent_names: vec![instance.into()],
            started_at: now - chrono::Duration::seconds(heartbeat_seconds_ago),
            deadline: now + chrono::Duration::seconds(3600),
            heartbeat_timeout_seconds: 120,
            last_heartbeat_at: now - chrono::Duration::seconds(heartbeat_seconds_ago),
        };
        let body = serde_json::to_vec(&record).expect("json");
        s3::put(&self.s3, &self.bucket, &drain_key(instance), body).await;
    }

    async fn drain_keys(&self) -> Vec<String> {
        s3::keys(&self.s3, &self.bucket, Some("drains/")).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_in_spares_busy_agents_and_drains_end_with_their_builds() {
    let s = setup(4).await;
    let [busy, idle1, idle2, draining] = [&s.ids[0], &s.ids[1], &s.ids[2], &s.ids[3]];
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &jenkins(vec![
            agent(busy, true, false),
            agent(idle1, false, false),
            agent(idle2, false, false),
            agent(draining, true, true),
        ]),
    );
    s.protect_all().await;

    // A dry run reports the changes and makes none.
    let dry = stdout_json(&s.run(&fake, &["--dry-run"]));
    assert_eq!(dry["would_do"].as_array().map(Vec::len), Some(2), "{dry:#}");
    assert_eq!(s.protected().await, vec![true, true, true, true]);

    // The busy agent keeps protection; idle ones (grace 0) and the one taken offline lose it.
    let first = stdout_json(&s.run(&fake, &[]));
    assert_eq!(
        s.protected().await,
        vec![true, false, false, false],
        "{first:#}"
    );
    assert_eq!(first["set_instance_protection_calls"], 1);
    let mut reasons: Vec<(&str, &str)> = first["pools"][0]["unprotect"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| Some((c["instance_id"].as_str()?, c["reason"].as_str()?)))
        .collect();
    reasons.sort();
    let mut expected = vec![
        (idle1.as_str(), "idle-past-grace"),
        (idle2.as_str(), "idle-past-grace"),
        (draining.as_str(), "taken-offline"),
    ];
    expected.sort();
    assert_eq!(reasons, expected);

    // Scale in to one instance: only unprotected instances go, through the drain hook.
    s.c.asg
        .set_desired_capacity()
        .auto_scaling_group_name(&s.group)
        .desired_capacity(1)
        .send()
        .await
        .expect("scale in");
    let after = states(&s.c, &s.group).await;
    assert_eq!(
        after[busy.as_str()],
        "InService",
        "the busy agent's instance survives scale-in"
    );
    for id in [idle1, idle2, draining] {
        assert_eq!(after[id.as_str()], "Terminating:Wait", "{id}");
    }

    // handle-interruption would record these drains; the idle one completes, the busy one
    // is heartbeated first thing in the run and then waits.
    s.drain_record(idle1, 10).await;
    s.drain_record(draining, 100).await;
    let second = stdout_json(&s.run(&fake, &[]));
    let steps: Vec<(String, String)> = second["drains"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["instance_id"].as_str().unwrap_or_default().to_owned(),
                d["step"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut expected = vec![
        (idle1.clone(), "complete".to_owned()),
        (draining.clone(), "wait".to_owned()),
    ];
    expected.sort();
    assert_eq!(steps, expected, "{second:#}");
    assert_eq!(ec2_state(&s.c, idle1).await, "terminated");
    assert_eq!(
        action_for(&actions(s.aws, &s.group), draining)["heartbeats"],
        1
    );
    assert_eq!(s.drain_keys().await, vec![drain_key(draining)]);

    // The build on the draining agent ends: the next run lets its instance go.
    fake.set_state(&jenkins(vec![
        agent(busy, true, false),
        agent(draining, false, true),
    ]))
    .await;
    let third = stdout_json(&s.run(&fake, &[]));
    assert_eq!(third["drains"][0]["step"], "complete", "{third:#}");
    assert_eq!(ec2_state(&s.c, draining).await, "terminated");
    assert!(s.drain_keys().await.is_empty());

    // CiServerUp is publish-workload's liveness signal alone: a protect-busy-agents run
    // publishing it would keep ci-metrics-missing quiet with publish-workload stopped.
    let names = s.aws.metric_names("CIFleetProtectTest").await;
    assert!(
        names.iter().any(|n| n == "ProtectedInstances"),
        "it does publish: {names:?}"
    );
    assert!(!names.iter().any(|n| n == "CiServerUp"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_server_down_unprotects_nothing_and_completes_nothing() {
    let s = setup(2).await;
    let [busy, idle] = [&s.ids[0], &s.ids[1]];
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &jenkins(vec![agent(busy, true, false), agent(idle, false, false)]),
    );
    s.protect_all().await;
    s.c.asg
        .terminate_instance_in_auto_scaling_group()
        .instance_id(idle)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("terminate");
    s.drain_record(idle, 10).await;

    fake.fault("html-login").await;
    let output = s.run(&fake, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "fails visibly");
    assert!(
        stderr.lines().last().is_some_and(
            |l| l.starts_with("protect-busy-agents: ") && l.contains("instead of JSON")
        ),
        "{stderr}"
    );
    assert!(s.protected().await[0], "the busy agent stays protected");
    assert_eq!(
        states(&s.c, &s.group).await[idle.as_str()],
        "Terminating:Wait",
        "no drain completed on unknown data"
    );
    assert_eq!(s.drain_keys().await, vec![drain_key(idle)]);

    // Back up: the idle agent's drain completes.
    fake.fault("none").await;
    stdout_json(&s.run(&fake, &[]));
    assert_eq!(ec2_state(&s.c, idle).await, "terminated");
}

/// A terminate action whose event never reached handle-interruption (lost delivery, failed
/// handling): protect-busy-agents takes it over and drains it as the event would have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_termination_no_event_handled_is_drained_and_completed() {
    let s = setup(2).await;
    let [busy, idle] = [&s.ids[0], &s.ids[1]];
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &jenkins(vec![agent(busy, true, false), agent(idle, false, false)]),
    );
    for id in [busy, idle] {
        s.c.asg
            .terminate_instance_in_auto_scaling_group()
            .instance_id(id)
            .should_decrement_desired_capacity(true)
            .send()
            .await
            .expect("terminate");
    }
    let run = |grace: &str| {
        let login = CiLogin::same_everywhere("ci-fleet", "tok");
        let mut cmd = s.function_command("protect-busy-agents", &fake, login, &s.pools(2));
        cmd.envs([
            ("IDLE_GRACE_SECONDS", "0"),
            ("ORPHAN_GRACE_SECONDS", grace),
            ("METRICS_NAMESPACE", "CIFleetProtectTest"),
        ]);
        stdout_json(&run(cmd, &[]))
    };
    // Within the grace the event may still come: nothing is done.
    let early = run("600");
    assert!(early.get("orphans").is_none(), "{early:#}");
    let adopted = run("0");
    let mut outcomes: Vec<(String, String)> = adopted["orphans"]
        .as_array()
        .expect("orphans")
        .iter()
        .map(|o| {
            (
                o["instance_id"].as_str().unwrap_or_default().to_owned(),
                o["adopted"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    let mut expected = vec![
        (busy.clone(), "drain-recorded".to_owned()),
        (idle.clone(), "completed".to_owned()),
    ];
    expected.sort();
    assert_eq!(outcomes, expected, "{adopted:#}");
    assert_eq!(ec2_state(&s.c, idle).await, "terminated");
    assert_eq!(
        states(&s.c, &s.group).await[busy.as_str()],
        "Terminating:Wait"
    );
    assert_eq!(action_for(&actions(s.aws, &s.group), busy)["heartbeats"], 1);
    assert_eq!(s.drain_keys().await, vec![drain_key(busy)]);
    let state = fake.state().await;
    let offline: Vec<bool> = state["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| a["temporarily_offline"] == true)
        .collect();
    assert_eq!(offline, vec![true, true], "both agents offline");

    // The build ends: the drain completes like any other.
    fake.set_state(&jenkins(vec![agent(busy, false, true)]))
        .await;
    let finished = run("0");
    assert_eq!(finished["drains"][0]["step"], "complete", "{finished:#}");
    assert_eq!(ec2_state(&s.c, busy).await, "terminated");
}
