//! Agent recycling end to end: the real `protect-busy-agents` (and `handle-interruption`
//! for the drain hook) against moto with the lifecycle extension and the fake CI server.
//! A botched agent goes offline, finishes its build and is replaced; a job broken
//! everywhere recycles nobody; a one-build pool gets a fresh instance after each build;
//! the share limit holds; a CI outage recycles nothing.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::process::Output;

use ci_fleet_tests::asg::{action_for, actions, ec2_state, states};
use ci_fleet_tests::commands::{CiLogin, run, stdout_json};
use ci_fleet_tests::{CiKind, FakeCi, Stack};
use serde_json::{Value, json};

struct Setup(Stack);

impl Deref for Setup {
    type Target = Stack;

    fn deref(&self) -> &Stack {
        &self.0
    }
}

async fn setup(size: i32) -> Setup {
    Setup(Stack::new("rcy", "recycle", size).await)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A Jenkins (or TeamCity) world: agents named by instance id, in pool `linux`.
fn world(agents: Vec<Value>, builds: Vec<Value>, queued: usize) -> Value {
    let queue: Vec<Value> = (0..queued)
        .map(|i| json!({"id": 500 + i, "job": "queued-job", "label": "linux", "pools": ["linux"]}))
        .collect();
    json!({
        "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}], "anonymous_read": false, "csrf": true},
        "teamcity_tokens": ["tok"],
        "agents": agents,
        "builds": builds,
        "queue": queue,
    })
}

fn agent(name: &str, running: Option<(&str, u64)>) -> Value {
    let running = match running {
        Some((job, number)) => json!([{"job": job, "number": number, "id": 9000 + number}]),
        None => json!([]),
    };
    json!({"name": name, "labels": ["linux"], "pool": "linux", "executors": 1, "running": running})
}

/// Finished builds, numbered in order, each finishing 10 ms after the previous one and
/// all after the test's instances launched.
struct Builds {
    list: Vec<Value>,
    next: u64,
}

impl Builds {
    fn new() -> Builds {
        Builds {
            list: vec![],
            next: 1,
        }
    }

    fn add(&mut self, job: &str, agent: &str, result: &str) -> &mut Builds {
        let number = self.next;
        self.next += 1;
        self.list.push(json!({
            "job": job, "number": number, "id": number, "result": result, "agent": agent,
            "started_at_ms": now_ms() - 1000 + number as i64 * 10, "duration_ms": 1000
        }));
        self
    }
}

impl Setup {
    fn run(&self, fake: &FakeCi, args: &[&str], max_builds: Option<u32>) -> Output {
        let mut pool = self.pool(1);
        if let Some(max) = max_builds {
            pool["max_builds_per_agent"] = json!(max);
        }
        let pools = json!([pool]).to_string();
        let login = CiLogin::per_server("ci-fleet", "tok", "tok");
        let mut cmd = self.function_command("protect-busy-agents", fake, login, &pools);
        cmd.env("METRICS_NAMESPACE", "CIFleetRecycleTest");
        run(cmd, args)
    }

    /// handle-interruption for the terminate lifecycle action of `instance`, as
    /// EventBridge would deliver it.
    fn drain_hook(&self, fake: &FakeCi, instance: &str) -> Value {
        let token = action_for(&actions(self.aws, &self.group), instance)["token"].clone();
        let event = json!({
            "version": "0", "id": "1", "detail-type": "EC2 Instance-terminate Lifecycle Action",
            "source": "aws.autoscaling", "account": "123456789012",
            "time": chrono::Utc::now().to_rfc3339(), "region": "us-east-1", "resources": [],
            "detail": {
                "LifecycleActionToken": token, "AutoScalingGroupName": self.group,
                "LifecycleHookName": ci_fleet_tests::asg::HOOK, "EC2InstanceId": instance,
                "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"
            }
        });
        // Unlike `run`, the hook has always been given CI_USER on TeamCity too.
        let login = CiLogin::same_everywhere("ci-fleet", "tok");
        let mut cmd = self.function_command("handle-interruption", fake, login, &self.pools(1));
        cmd.env("METRICS_NAMESPACE", "CIFleetRecycleTest");
        stdout_json(&ci_fleet_tests::run_with_event(cmd, &event, &[]))
    }

    async fn in_service(&self) -> Vec<String> {
        states(&self.c, &self.group)
            .await
            .into_iter()
            .filter(|(_, s)| s == "InService")
            .map(|(id, _)| id)
            .collect()
    }
}

/// (instance, reason, step) of each recycle in a response.
fn recycles(response: &Value) -> Vec<(String, String, String)> {
    response["recycling"]["recycles"]
        .as_array()
        .unwrap_or_else(|| panic!("no recycles in {response:#}"))
        .iter()
        .map(|r| {
            (
                r["instance_id"].as_str().unwrap_or_default().to_owned(),
                r["reason"].as_str().unwrap_or_default().to_owned(),
                r["step"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn step(id: &str, reason: &str, step: &str) -> (String, String, String) {
    (id.to_owned(), reason.to_owned(), step.to_owned())
}

/// The fake's agents by name: (offline, offline reason).
async fn offline_agents(fake: &FakeCi) -> BTreeMap<String, String> {
    let state = fake.state().await;
    state["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter(|a| a["temporarily_offline"] == true || a["enabled"] == false)
        .map(|a| {
            let reason = a["offline_message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .or_else(|| a["enabled_comment"]["text"].as_str())
                .unwrap_or_default();
            (
                a["name"].as_str().unwrap_or_default().to_owned(),
                reason.to_owned(),
            )
        })
        .collect()
}

/// Changes the fake's current state (keeping what the functions did to it).
async fn update(fake: &FakeCi, change: impl FnOnce(&mut Value)) {
    let mut state = fake.state().await;
    change(&mut state);
    fake.set_state(&state).await;
}

/// What protect-busy-agents' run ledger remembers after seeing each of these builds run
/// on its agent (Jenkins: the executors name the run; its `builtOn` is not read), as its
/// memory in S3. Its next run asks the fake how each ended. TeamCity's finished builds name
/// their agent, so it needs none.
async fn ledger_saw(s: &Setup, fake: &FakeCi, builds: &[Value]) {
    let sightings: Vec<Value> = builds
        .iter()
        .map(|b| {
            let seen = chrono::DateTime::from_timestamp_millis(b["started_at_ms"].as_i64().expect("a start"))
                .expect("a time")
                .to_rfc3339();
            json!({
                "run": format!("{}/job/{}/{}/", fake.url(), b["job"].as_str().expect("a job"), b["number"]),
                "agent": b["agent"], "first_seen": seen, "last_seen": seen
            })
        })
        .collect();
    let memory = json!({"instances": {}, "ledger": {"sightings": sightings}});
    ci_fleet_tests::s3::put(
        &s.s3,
        &s.bucket,
        "state/protect-busy-agents.json",
        memory.to_string().into_bytes(),
    )
    .await;
}

/// `bad` fails three different jobs that pass on `good`; `flaky` and `good` both fail `docs`.
fn botched_history(bad: &[&str], good: &str, flaky: Option<&str>) -> Vec<Value> {
    let mut builds = Builds::new();
    for job in ["api", "web", "cli"] {
        builds.add(job, good, "SUCCESS");
    }
    if let Some(flaky) = flaky {
        builds.add("docs", good, "FAILURE");
        builds.add("docs", flaky, "FAILURE");
    }
    for agent in bad {
        for job in ["api", "web", "cli"] {
            builds.add(job, agent, "FAILURE");
        }
    }
    builds.list
}

async fn botched_agent_is_replaced_once_its_build_ends(kind: CiKind) {
    let s = setup(4).await;
    let [bad, flaky, good, other] = [&s.ids[0], &s.ids[1], &s.ids[2], &s.ids[3]];
    let fake = FakeCi::start(
        kind,
        &world(
            vec![
                agent(bad, Some(("deploy", 1))),
                agent(flaky, None),
                agent(good, None),
                agent(other, None),
            ],
            botched_history(&[bad], good, Some(flaky)),
            0,
        ),
    );
    if kind == CiKind::Jenkins {
        ledger_saw(&s, &fake, &botched_history(&[bad], good, Some(flaky))).await;
    }

    // A dry run reports the recycle and does nothing.
    let dry = stdout_json(&s.run(&fake, &["--dry-run"], None));
    assert_eq!(
        recycles(&dry),
        vec![step(bad, "failing-builds", "taken-offline")],
        "{dry:#}"
    );
    assert!(
        dry["would_do"]
            .as_array()
            .expect("would_do")
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.contains(&format!(
                "take agent {bad} offline: recycle: failing-builds"
            )))),
        "{dry:#}"
    );
    assert!(offline_agents(&fake).await.is_empty());

    // The botched agent goes offline naming the rule; the one whose job fails everywhere stays.
    let first = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(first["recycling"]["status"], "checked");
    assert_eq!(
        recycles(&first),
        vec![step(bad, "failing-builds", "taken-offline")],
        "{first:#}"
    );
    assert_eq!(
        offline_agents(&fake).await,
        BTreeMap::from([(bad.clone(), "recycle: failing-builds".to_owned())])
    );

    // Its build still runs: it waits, in service.
    let second = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&second),
        vec![step(bad, "failing-builds", "waiting")]
    );
    assert_eq!(states(&s.c, &s.group).await[bad.as_str()], "InService");

    // The build ends and work is queued that no idle agent takes (on TeamCity a queued
    // build with an idle compatible agent waits for something else, not for capacity):
    // the instance goes, keeping the desired capacity.
    update(&fake, |state| {
        state["agents"][0]["running"] = json!([]);
        for (i, busy) in [1, 2, 3].into_iter().enumerate() {
            state["agents"][busy]["running"] = json!([{"job": format!("busy-{i}"), "number": 1}]);
        }
        state["queue"] =
            json!([{"id": 700, "job": "queued-job", "label": "linux", "pools": ["linux"]}]);
    })
    .await;
    let third = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&third),
        vec![step(bad, "failing-builds", "replaced")],
        "{third:#}"
    );
    assert_eq!(
        third["recycling"]["recycles"][0]["decrement_desired_capacity"],
        false
    );
    let after = states(&s.c, &s.group).await;
    assert_eq!(after[bad.as_str()], "Terminating:Wait");
    let in_service = s.in_service().await;
    assert_eq!(in_service.len(), 4, "a replacement is launched: {after:?}");
    assert!(!in_service.contains(bad));

    // The drain hook: the agent is already offline and idle, so the action completes.
    let hook = s.drain_hook(&fake, bad);
    assert_eq!(
        (hook["offline"].as_str(), hook["lifecycle"].as_str()),
        (Some("already-offline"), Some("completed")),
        "{hook:#}"
    );
    assert_eq!(ec2_state(&s.c, bad).await, "terminated");
    assert_eq!(s.in_service().await.len(), 4);

    // Nothing more to recycle.
    let fourth = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(recycles(&fourth), vec![], "{fourth:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jenkins_botched_agent_is_replaced_once_its_build_ends() {
    botched_agent_is_replaced_once_its_build_ends(CiKind::Jenkins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamcity_botched_agent_is_replaced_once_its_build_ends() {
    botched_agent_is_replaced_once_its_build_ends(CiKind::TeamCity).await;
}

/// The run ledger at work: each run is seen on its agent's executor (a Jenkins Pipeline
/// run names no agent; the executor running it does), asked about once it left the
/// executor, and counted toward the agent's use limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_build_pool_gets_a_fresh_instance_after_each_build() {
    let s = setup(2).await;
    let [used, fresh] = [&s.ids[0], &s.ids[1]];
    // Pipeline jobs: their runs export no builtOn, only the executors name the agent.
    let mut state = world(
        vec![agent(used, Some(("api", 1))), agent(fresh, None)],
        vec![],
        1,
    );
    state["pipeline_jobs"] = json!(["api", "web"]);
    let fake = FakeCi::start(CiKind::Jenkins, &state);
    let running = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(recycles(&running), vec![], "its first build still runs");

    // The run ends: the ledger asks how, and the agent is used up.
    let mut builds = Builds::new();
    builds.add("api", used, "SUCCESS");
    update(&fake, |state| {
        state["agents"][0]["running"] = json!([]);
        state["builds"] = json!(builds.list);
    })
    .await;
    let first = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(
        recycles(&first),
        vec![step(used, "use-limit", "taken-offline")],
        "{first:#}"
    );
    let second = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(recycles(&second), vec![step(used, "use-limit", "replaced")]);
    s.drain_hook(&fake, used);
    assert_eq!(ec2_state(&s.c, used).await, "terminated");
    let in_service = s.in_service().await;
    assert_eq!(in_service.len(), 2, "a fresh instance replaced it");
    let replacement = in_service
        .iter()
        .find(|id| *id != fresh)
        .expect("the replacement")
        .clone();

    // The replacement's agent registers and runs one build: it is used up in turn.
    update(&fake, |state| {
        state["agents"]
            .as_array_mut()
            .expect("agents")
            .push(agent(&replacement, Some(("web", 100))));
    })
    .await;
    let busy = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(recycles(&busy), vec![], "{busy:#}");
    update(&fake, |state| {
        let agents = state["agents"].as_array_mut().expect("agents");
        agents.last_mut().expect("the replacement")["running"] = json!([]);
        let mut more = Builds::new();
        more.next = 100;
        more.add("web", &replacement, "FAILURE");
        state["builds"]
            .as_array_mut()
            .expect("builds")
            .extend(more.list);
    })
    .await;
    let third = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(
        recycles(&third),
        vec![step(&replacement, "use-limit", "taken-offline")],
        "{third:#}"
    );
}

/// TeamCity leaves a disabled agent out of a queued build's own compatible agents, so
/// recycling a pool's only agent used to hide the pool's queue and give its instance back
/// "because nothing waits". Compatibility is read per build configuration, which keeps
/// disabled agents: the builds still wait for this pool and the desired capacity stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamcity_recycling_a_pools_only_agent_while_builds_wait_keeps_desired_capacity() {
    let s = setup(1).await;
    let used = &s.ids[0];
    // TeamCity's finishDate has whole seconds: the build must finish in a later second
    // than the instance's launch to count as the instance's.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut builds = Builds::new();
    builds.add("api", used, "SUCCESS");
    let fake = FakeCi::start(
        CiKind::TeamCity,
        &world(vec![agent(used, None)], builds.list.clone(), 2),
    );
    let first = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(
        recycles(&first),
        vec![step(used, "use-limit", "taken-offline")],
        "{first:#}"
    );
    assert_eq!(
        offline_agents(&fake).await,
        BTreeMap::from([(used.clone(), "recycle: use-limit".to_owned())])
    );
    let second = stdout_json(&s.run(&fake, &[], Some(1)));
    assert_eq!(
        recycles(&second),
        vec![step(used, "use-limit", "replaced")],
        "{second:#}"
    );
    assert_eq!(
        second["recycling"]["recycles"][0]["decrement_desired_capacity"], false,
        "two builds wait for the pool: its capacity stays: {second:#}"
    );
    s.drain_hook(&fake, used);
    let in_service = s.in_service().await;
    assert_eq!(in_service.len(), 1, "a fresh instance replaced it");
    assert!(!in_service.contains(used));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_limit_holds() {
    let s = setup(4).await;
    let bad: Vec<&str> = s.ids[..3].iter().map(String::as_str).collect();
    let good = &s.ids[3];
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &world(
            s.ids.iter().map(|id| agent(id, None)).collect(),
            botched_history(&bad, good, None),
            0,
        ),
    );
    ledger_saw(&s, &fake, &botched_history(&bad, good, None)).await;
    // Four in service, a quarter at once: one now, the others deferred.
    let first = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&first),
        vec![
            step(bad[0], "failing-builds", "taken-offline"),
            step(bad[1], "failing-builds", "deferred"),
            step(bad[2], "failing-builds", "deferred"),
        ],
        "{first:#}"
    );
    assert_eq!(offline_agents(&fake).await.len(), 1);
    // The first is replaced (nothing queued: the group shrinks); the others still wait.
    let second = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&second),
        vec![
            step(bad[0], "failing-builds", "replaced"),
            step(bad[1], "failing-builds", "deferred"),
            step(bad[2], "failing-builds", "deferred"),
        ],
        "{second:#}"
    );
    assert_eq!(
        second["recycling"]["recycles"][0]["decrement_desired_capacity"],
        true
    );
    assert_eq!(offline_agents(&fake).await.len(), 1);
    assert_eq!(s.in_service().await.len(), 3, "no replacement without work");
    // Three in service now: still one at a time.
    let third = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&third),
        vec![
            step(bad[1], "failing-builds", "taken-offline"),
            step(bad[2], "failing-builds", "deferred"),
        ],
        "{third:#}"
    );
    assert_eq!(
        offline_agents(&fake).await.len(),
        2,
        "the replaced one and the next"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_down_recycles_nothing() {
    let s = setup(2).await;
    let [bad, good] = [&s.ids[0], &s.ids[1]];
    let fake = FakeCi::start(
        CiKind::Jenkins,
        &world(
            vec![agent(bad, None), agent(good, None)],
            botched_history(&[bad], good, None),
            0,
        ),
    );
    ledger_saw(&s, &fake, &botched_history(&[bad], good, None)).await;
    fake.fault("http-500").await;
    let output = s.run(&fake, &[], None);
    assert!(!output.status.success(), "fails visibly");
    let response: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(response.is_null() || response["recycling"]["status"] == "skipped");
    fake.fault("none").await;
    assert!(offline_agents(&fake).await.is_empty());
    assert!(
        fake.requests().await.iter().all(|r| r["method"] == "GET"),
        "nothing was written to the CI server"
    );
    assert_eq!(s.in_service().await.len(), 2);

    // Back up: now it is recycled.
    let back = stdout_json(&s.run(&fake, &[], None));
    assert_eq!(
        recycles(&back),
        vec![step(bad, "failing-builds", "taken-offline")]
    );
}
