//! The real `advise-retry` binary (`--event -`, outside Lambda) against the fake Jenkins
//! and the fake TeamCity, with retry records and checkpoint interruption records in moto
//! S3 and metrics read back from the CloudWatch emulator. Every webhook is signed the way
//! a sender does it: HMAC-SHA256 over `timestamp + "." + body`.

use std::process::Output;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use ci_fleet_tests::commands::{CiLogin, function_command};
use ci_fleet_tests::names::unique;
use ci_fleet_tests::{CiKind, FakeCi, LocalAws, s3};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use shared::checkpoint::{CheckpointKey, Claim, Interruption, layout};

const KEY: &str = "e2e-webhook-key-0123456789abcdef";
const POLICY: &str = r#"{"max_retries":2,
  "memory_ladder":{"parameter":"AGENT_LABEL","steps":["linux-8g","linux-16g","linux-32g"]},
  "on_demand":{"after_spot_interruptions":2,"parameter":"AGENT_LABEL","value":"linux-ondemand"}}"#;
const OOM_AGENT: &str = "i-0a1b2c3d4e5f60001";

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn sign(key: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The Function URL fixture with `body`, signed with `key` at `timestamp` (unsigned when
/// `key` is `None`).
fn event(body: &str, key: Option<&str>, timestamp: i64) -> Value {
    let path =
        ci_fleet_tests::repo_root().join("functions/advise-retry/events/function-url-jenkins.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    event["body"] = json!(body);
    let headers = event["headers"].as_object_mut().expect("headers");
    headers.insert("content-length".into(), json!(body.len().to_string()));
    headers.remove("x-ci-fleet-signature");
    headers.remove("x-ci-fleet-timestamp");
    if let Some(key) = key {
        headers.insert("x-ci-fleet-timestamp".into(), json!(timestamp.to_string()));
        headers.insert(
            "x-ci-fleet-signature".into(),
            json!(sign(key, timestamp, body)),
        );
    }
    event
}

fn signed(body: &str) -> Value {
    event(body, Some(KEY), now_s())
}

fn jenkins_notification(number: u64) -> String {
    json!({
        "name": "app", "display_name": "app", "url": "job/platform/job/app/",
        "build": {"full_url": format!("http://jenkins/job/platform/job/app/{number}/"), "number": number,
                  "queue_id": number + 1000, "phase": "FINALIZED", "status": "FAILURE",
                  "url": format!("job/platform/job/app/{number}/"),
                  "scm": {"url": "https://git.example.com/app.git", "branch": "origin/main", "commit": "9cf121f0"}}
    })
    .to_string()
}

fn teamcity_notification(id: u64) -> String {
    json!({"eventType": "BUILD_FINISHED", "payload": {"id": id, "buildTypeId": "Platform_App_Test", "status": "FAILURE", "state": "finished"}})
        .to_string()
}

struct Setup {
    aws: &'static LocalAws,
    s3: aws_sdk_s3::Client,
    bucket: String,
    namespace: String,
    fake: FakeCi,
}

async fn setup(kind: CiKind, state: Value) -> Setup {
    let aws = LocalAws::shared();
    let (s3, bucket) = s3::fresh_bucket(aws, "retry").await;
    Setup {
        aws,
        s3,
        bucket,
        namespace: unique("CIFleetRetry"),
        fake: FakeCi::start(kind, &state),
    }
}

/// On Jenkins the password, not the token: writes need the crumb and its session.
const LOGIN: CiLogin = CiLogin::per_server("ci-fleet", "pw", "tc-token");

impl Setup {
    fn run(&self, event: &Value, extra: &[&str]) -> Output {
        let mut cmd = function_command("advise-retry", self.aws, &self.fake, LOGIN);
        cmd.envs([
            ("CHECKPOINT_BUCKET", self.bucket.as_str()),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("METRICS_NAMESPACE", self.namespace.as_str()),
            ("RETRY_WEBHOOK_KEY", KEY),
            ("RETRY_POLICY", POLICY),
        ]);
        ci_fleet_tests::run_with_event(cmd, event, extra)
    }

    /// The Function URL answer: status code and parsed body.
    fn advise(&self, event: &Value, extra: &[&str]) -> (u16, Value) {
        let output = self.run(event, extra);
        assert!(
            output.status.success(),
            "advise-retry failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let response: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is the Function URL response ({e}):\n{}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        assert_eq!(response["headers"]["content-type"], "application/json");
        let status = response["statusCode"].as_u64().expect("statusCode") as u16;
        let body = serde_json::from_str(response["body"].as_str().expect("body is a string"))
            .expect("the body is JSON");
        (status, body)
    }

    async fn state(&self) -> Value {
        self.fake.state().await
    }

    async fn triggered(&self) -> Vec<Value> {
        self.state().await["triggered"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn description(&self, number: u64) -> String {
        let state = self.state().await;
        state["builds"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["number"] == number))
            .and_then(|b| b["description"].as_str())
            .unwrap_or_default()
            .to_owned()
    }

    /// Adds finished builds to the fake (as the CI server would after a retry ran).
    async fn add_builds(&self, builds: &[Value]) {
        let mut state = self.state().await;
        let list = state["builds"].as_array_mut().expect("builds");
        list.extend(builds.iter().cloned());
        self.fake.set_state(&state).await;
    }

    async fn put(&self, key: &str, body: Vec<u8>) {
        s3::put(&self.s3, &self.bucket, key, body).await;
    }

    async fn object(&self, key: &str) -> Option<Value> {
        let bytes = s3::get(&self.s3, &self.bucket, key).await?;
        serde_json::from_slice(&bytes).ok()
    }

    async fn keys(&self) -> Vec<String> {
        s3::keys(&self.s3, &self.bucket, None).await
    }

    /// What handle-interruption leaves when it seals a build's checkpoint: the claim (of
    /// the agent's second executor) and the attempt's interruption record.
    async fn sealed_interruption(&self, instance: &str, checkpoint: &str, attempt: u32) {
        let key = CheckpointKey::parse(checkpoint).expect("key");
        let at = chrono::Utc::now() - chrono::Duration::seconds(90);
        let claim = Claim {
            instance_id: instance.into(),
            slot: "1".into(),
            key: checkpoint.into(),
            attempt,
            claimed_at: at - chrono::Duration::minutes(10),
        };
        let record = Interruption {
            instance_id: instance.into(),
            key: checkpoint.into(),
            attempt,
            at,
            reason: format!("spot interruption: {instance} terminates at soon"),
            passed: 120,
        };
        self.put(
            &layout::claim(instance, "1"),
            serde_json::to_vec(&claim).expect("JSON"),
        )
        .await;
        self.put(
            &layout::interruption(&key, attempt),
            serde_json::to_vec(&record).expect("JSON"),
        )
        .await;
    }

    /// The sum of `metric` with `Reason=reason` over the last ten minutes.
    async fn metric(&self, metric: &str, reason: &str) -> f64 {
        let cw = self.aws.cloudwatch().await;
        let now = SystemTime::now();
        let out = cw
            .get_metric_data()
            .start_time(DateTime::from(now - Duration::from_secs(600)))
            .end_time(DateTime::from(now + Duration::from_secs(60)))
            .metric_data_queries(
                MetricDataQuery::builder()
                    .id("m")
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace(&self.namespace)
                                    .metric_name(metric)
                                    .dimensions(
                                        Dimension::builder().name("Reason").value(reason).build(),
                                    )
                                    .build(),
                            )
                            .period(60)
                            .stat("Sum")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("GetMetricData");
        out.metric_data_results()[0].values().iter().sum()
    }
}

fn jenkins_build(number: u64, agent: &str, parameters: Value, console: &str) -> Value {
    json!({"job": "platform/app", "number": number, "result": "FAILURE", "agent": agent,
           "parameters": parameters, "console": console, "branch": "main", "revision": "9cf121f0"})
}

/// `platform/app` declares its parameters and, as advise-retry's README advises, the
/// retry's two marks: Jenkins drops parameters a job does not declare.
fn app_parameters(names: &[&str]) -> Value {
    let mut declared: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.to_string(), json!(""))).collect();
    for mark in ["CI_FLEET_RETRY_REASON", "CI_FLEET_RETRY_OF"] {
        declared.insert(mark.into(), json!(""));
    }
    json!({"platform/app": {"parameters": declared}})
}

fn jenkins_state() -> Value {
    json!({
        "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}], "csrf": true},
        "job_config": app_parameters(&["AGENT_LABEL", "MODULE"]),
        "agents": [{"name": OOM_AGENT, "labels": ["linux-8g"]}],
        "builds": [
            jenkins_build(41, OOM_AGENT, json!({"AGENT_LABEL": "linux-8g", "MODULE": "core"}),
                "Started by upstream project \"platform/nightly\" build number 311\n[Pipeline] sh\n+ ./gradlew :core:test\n> Task :core:test\nException in thread \"Test worker\" java.lang.OutOfMemoryError: Java heap space\nFAILURE: Build failed with an exception.\nFinished: FAILURE\n"),
            jenkins_build(42, OOM_AGENT, json!({"AGENT_LABEL": "linux-8g", "MODULE": "api"}),
                "[ERROR] Tests run: 214, Failures: 2, Errors: 0, Skipped: 3\n[INFO] BUILD FAILURE\n[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.2:test (default-test) on project api: There are test failures.\nFinished: FAILURE\n")
        ]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jenkins_oom_climbs_the_ladder_and_a_deterministic_failure_is_left_alone() {
    let s = setup(CiKind::Jenkins, jenkins_state()).await;

    let (status, answer) = s.advise(&signed(&jenkins_notification(41)), &[]);
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("retried")),
        "{answer:#}"
    );
    assert_eq!(answer["classification"]["class"], "oom");
    let triggered = s.triggered().await;
    assert_eq!(triggered.len(), 1, "{triggered:#?}");
    assert_eq!(triggered[0]["via"], "buildWithParameters");
    assert_eq!(
        triggered[0]["parameters"],
        json!({"AGENT_LABEL": "linux-16g", "MODULE": "core",
               "CI_FLEET_RETRY_REASON": "oom", "CI_FLEET_RETRY_OF": "jenkins:platform/app#41"})
    );
    assert_eq!(answer["queued"]["id"], triggered[0]["queue_id"]);
    let description = s.description(41).await;
    assert!(
        description.starts_with("ci-fleet: oom → retried (1/2): one step up the memory ladder: AGENT_LABEL linux-8g → linux-16g"),
        "{description}"
    );
    let record = s
        .object("retries/jenkins!3Aplatform!2Fapp!2341.json")
        .await
        .expect("retry record in S3");
    assert_eq!(
        (
            record["retries"].as_u64(),
            record["builds"][0]["outcome"].as_str()
        ),
        (Some(1), Some("retried"))
    );
    let queue_id = triggered[0]["queue_id"].as_u64().expect("id");
    assert!(
        s.object(&format!("retries/queued/jenkins-{queue_id}.json"))
            .await
            .is_some(),
        "the retry's queue id names its logical build"
    );
    // The write went through the crumb and its session (password auth).
    let requests = s.fake.requests().await;
    assert!(
        requests
            .iter()
            .any(|r| r["path"] == "/crumbIssuer/api/json")
    );
    assert!(requests.iter().any(
        |r| r["path"] == "/job/platform/job/app/buildWithParameters" && r["has_crumb"] == true
    ));

    // The same webhook again (a redelivery, or COMPLETED then FINALIZED): nothing more.
    let (status, again) = s.advise(&signed(&jenkins_notification(41)), &[]);
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("duplicate")),
        "{again:#}"
    );
    assert_eq!(s.triggered().await.len(), 1);

    // The retry ran on 16g and ran out of memory again: it counts against #41's budget.
    let retry_parameters = triggered[0]["parameters"].clone();
    s.add_builds(&[jenkins_build(
        43,
        OOM_AGENT,
        retry_parameters,
        "c++: fatal error: Killed signal terminated program cc1plus\nFinished: FAILURE\n",
    )])
    .await;
    let (_, second) = s.advise(&signed(&jenkins_notification(43)), &[]);
    assert_eq!(second["outcome"], "retried", "{second:#}");
    assert_eq!(second["logical_build"], "jenkins:platform/app#41");
    assert_eq!(second["parameters"]["AGENT_LABEL"], "linux-32g");

    let (status, denied) = s.advise(&signed(&jenkins_notification(42)), &[]);
    assert_eq!(
        (status, denied["outcome"].as_str()),
        (200, Some("denied")),
        "{denied:#}"
    );
    assert_eq!(denied["classification"]["class"], "deterministic");
    assert_eq!(
        s.triggered().await.len(),
        2,
        "nothing queued for a test failure"
    );
    let description = s.description(42).await;
    assert!(
        description.starts_with("ci-fleet: deterministic → not retried: deterministic: a retry would fail the same way; not retried. Evidence: build failure: [INFO] BUILD FAILURE"),
        "{description}"
    );

    assert_eq!(s.metric("RetriesRequested", "oom").await, 2.0);
    assert_eq!(s.metric("RetriesDenied", "deterministic").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jenkins_spot_interruptions_retry_as_they_were_then_on_demand_until_the_budget_ends() {
    let s = setup(
        CiKind::Jenkins,
        json!({
            "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]},
            "job_config": app_parameters(&["AGENT_LABEL", "SHARD"]),
            "agents": [{"name": "i-0a1b2c3d4e5f60003", "labels": ["linux-ondemand"]}],
            // The interrupted agents are gone (terminated, removed), as after a real interruption.
            "builds": [jenkins_build(50, "i-0a1b2c3d4e5f60001", json!({"AGENT_LABEL": "linux-8g", "SHARD": "2"}),
                "[Pipeline] sh\n+ pytest -n 4 tests/\nFATAL: command execution failed\nhudson.remoting.ChannelClosedException: Channel \"hudson.remoting.Channel@6a3c5e1b:i-0a1b2c3d4e5f60001\": Remote call on i-0a1b2c3d4e5f60001 failed. The channel is closing down or has closed down\nFinished: FAILURE\n")]
        }),
    )
    .await;
    s.sealed_interruption("i-0a1b2c3d4e5f60001", "app@9cf121f0#shard-2", 1)
        .await;

    let (_, first) = s.advise(&signed(&jenkins_notification(50)), &[]);
    assert_eq!(first["outcome"], "retried", "{first:#}");
    assert_eq!(first["classification"]["class"], "spot-interruption");
    let triggered = s.triggered().await;
    assert_eq!(
        triggered[0]["parameters"],
        json!({"AGENT_LABEL": "linux-8g", "SHARD": "2",
               "CI_FLEET_RETRY_REASON": "spot-interruption", "CI_FLEET_RETRY_OF": "jenkins:platform/app#50"}),
        "the same parameters: the checkpoint makes the retry cheap"
    );

    // The retry is interrupted too: the second interruption moves it to on-demand.
    s.add_builds(&[jenkins_build(
        51,
        "i-0a1b2c3d4e5f60002",
        triggered[0]["parameters"].clone(),
        "Agent went offline during the build\nFinished: FAILURE\n",
    )])
    .await;
    s.sealed_interruption("i-0a1b2c3d4e5f60002", "app@9cf121f0#shard-2", 2)
        .await;
    let (_, second) = s.advise(&signed(&jenkins_notification(51)), &[]);
    assert_eq!(
        second["classification"]["class"], "spot-interruption",
        "{second:#}"
    );
    let triggered = s.triggered().await;
    assert_eq!(triggered[1]["parameters"]["AGENT_LABEL"], "linux-ondemand");
    assert_eq!(
        triggered[1]["parameters"]["CI_FLEET_RETRY_OF"],
        "jenkins:platform/app#50"
    );

    // On on-demand, a registry hiccup: worth a retry, but the budget (2) is spent.
    s.add_builds(&[jenkins_build(52, "i-0a1b2c3d4e5f60003", triggered[1]["parameters"].clone(), "+ docker pull node:20\nError response from daemon: toomanyrequests: You have reached your pull rate limit.\nFinished: FAILURE\n")]).await;
    let (status, third) = s.advise(&signed(&jenkins_notification(52)), &[]);
    assert_eq!(
        (status, third["outcome"].as_str()),
        (200, Some("denied")),
        "{third:#}"
    );
    assert_eq!(third["classification"]["class"], "infrastructure");
    assert_eq!(
        third["reason"],
        "retry budget exhausted: 2 of 2 retries used for this build"
    );
    assert_eq!(s.triggered().await.len(), 2, "the chain ends");
    assert!(s.description(52).await.contains("retry budget exhausted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthentic_replayed_garbage_or_huge_requests_queue_nothing() {
    let s = setup(CiKind::Jenkins, jenkins_state()).await;
    let body = jenkins_notification(41);
    let cases = [
        (
            "unsigned",
            event(&body, None, now_s()),
            401,
            "unsigned request",
        ),
        (
            "another key",
            event(&body, Some("not-the-key-0123456789abcdef"), now_s()),
            401,
            "bad signature",
        ),
        (
            "replayed ten minutes later",
            event(&body, Some(KEY), now_s() - 600),
            401,
            "replay window",
        ),
        (
            "signed garbage",
            signed("{\"hello\": \"world\"}"),
            400,
            "neither a Jenkins",
        ),
        (
            "5 MB",
            signed(&"x".repeat(5 * 1024 * 1024)),
            413,
            "larger than 262144 bytes",
        ),
        (
            "a build Jenkins does not know",
            signed(&jenkins_notification(4040)),
            404,
            "does not know build platform/app #4040",
        ),
    ];
    for (name, event, status, reason) in cases {
        let (got, answer) = s.advise(&event, &[]);
        assert_eq!(got, status, "{name}: {answer:#}");
        assert!(
            answer["reason"]
                .as_str()
                .is_some_and(|r| r.contains(reason)),
            "{name}: {answer:#}"
        );
    }
    let requests = s.fake.requests().await;
    assert!(
        requests.iter().all(|r| r["method"] == "GET"),
        "nothing was written to Jenkins: {requests:#?}"
    );
    assert!(s.triggered().await.is_empty());
    assert!(s.keys().await.is_empty(), "nothing recorded");

    // A dry run classifies and says what it would queue, and queues nothing.
    let (status, dry) = s.advise(&signed(&body), &["--dry-run"]);
    assert_eq!(
        (status, dry["outcome"].as_str()),
        (200, Some("retried")),
        "{dry:#}"
    );
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry["would_do"][0]
            .as_str()
            .is_some_and(|w| w
                .starts_with("queue platform/app again with parameters [AGENT_LABEL=linux-16g")),
        "{dry:#}"
    );
    assert!(s.triggered().await.is_empty());
    assert!(s.keys().await.is_empty());
    assert_eq!(s.description(41).await, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamcity_requeues_on_the_same_revision_and_comments_every_decision() {
    let build = |id: u64, result: &str, agent: &str, console: &str, canceled: Option<&str>| {
        json!({"job": "Platform_App_Test", "number": id - 4000, "id": id, "result": result, "agent": agent,
               "parameters": {"AGENT_LABEL": "linux-8g"}, "inherited": {"system.DIST": "%build.counter%"},
               "console": console, "branch": "main", "revision": "9cf121f056e2", "vcs_root": "Platform_App_Git",
               "canceled_comment": canceled})
    };
    let s = setup(
        CiKind::TeamCity,
        json!({
            "teamcity_tokens": ["tc-token"],
            "agents": [{"name": OOM_AGENT, "pool": "Linux 8g"}],
            "builds": [
                build(5001, "FAILURE", OOM_AGENT, "[12:01:44] Step 2/3: Test (Command Line)\n[12:09:02] Process exited with code 137\n[12:09:02] Process exited with code 137 (Step: Test (Command Line))\n", None),
                build(5002, "UNKNOWN", "i-0a1b2c3d4e5f60009", "[10:35:01] Running tests\n", Some("Agent removed")),
                build(5003, "FAILURE", OOM_AGENT, "[11:02:13] error[E0308]: mismatched types\n[11:02:13] error: could not compile `app` (bin \"app\") due to 1 previous error\n", None)
            ]
        }),
    )
    .await;
    let teamcity = |id| {
        let mut e = signed(&teamcity_notification(id));
        e["headers"]["user-agent"] = json!("TeamCity Server 2025.03.3 (build 186370)");
        e
    };

    let (status, oom) = s.advise(&teamcity(5001), &[]);
    assert_eq!(
        (status, oom["outcome"].as_str()),
        (200, Some("retried")),
        "{oom:#}"
    );
    assert_eq!(oom["classification"]["class"], "oom");
    let triggered = s.triggered().await;
    assert_eq!(triggered[0]["via"], "buildQueue");
    assert_eq!(triggered[0]["job"], "Platform_App_Test");
    assert_eq!(triggered[0]["branch"], "main");
    assert_eq!(triggered[0]["revisions"], json!(["9cf121f056e2"]));
    assert_eq!(
        triggered[0]["parameters"],
        json!({"AGENT_LABEL": "linux-16g", "CI_FLEET_RETRY_REASON": "oom",
               "CI_FLEET_RETRY_OF": "teamcity:Platform_App_Test#5001"}),
        "own properties only: the configuration supplies the rest"
    );
    assert!(
        triggered[0]["comment"]
            .as_str()
            .is_some_and(|c| c.starts_with("ci-fleet retry 1/2 of #5001 (oom)")),
        "{triggered:#?}"
    );
    assert_eq!(oom["queued"]["id"], triggered[0]["queue_id"]);

    let (_, lost) = s.advise(&teamcity(5002), &[]);
    assert_eq!(lost["classification"]["class"], "agent-lost", "{lost:#}");
    let triggered = s.triggered().await;
    assert_eq!(triggered[1]["parameters"]["AGENT_LABEL"], "linux-8g");

    let (_, denied) = s.advise(&teamcity(5003), &[]);
    assert_eq!(denied["outcome"], "denied", "{denied:#}");
    assert_eq!(s.triggered().await.len(), 2);
    let state = s.state().await;
    let comment = state["builds"][2]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        comment.starts_with("ci-fleet: deterministic → not retried")
            && comment.contains("error[E0308]"),
        "{comment}"
    );
    assert!(
        state["builds"][0]["description"]
            .as_str()
            .is_some_and(|c| c.contains("retried (1/2)")),
        "{state:#}"
    );
}

/// A Pipeline run names no agent (`WorkflowRun` has no `builtOn`) and its checkpoint was
/// never claimed: the only evidence is what handle-interruption saw at the spot warning,
/// the run on the agent's executor. advise-retry matches the ABORTED run ("Agent was
/// removed") by its URL: a spot interruption, retried as it was; the second interruption
/// of the chain moves the retry to on-demand capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_interrupted_pipeline_run_is_matched_by_its_run_and_its_second_goes_on_demand() {
    let stack = ci_fleet_tests::Stack::new("spp", "spotpipe", 2).await;
    let (first, second) = (stack.ids[0].clone(), stack.ids[1].clone());
    let node = |name: &str, running: Option<u64>| {
        let running = running.map_or(json!([]), |n| json!([{"job": "platform/app", "number": n}]));
        json!({"name": name, "labels": ["linux-8g"], "executors": 1, "running": running})
    };
    let s = Setup {
        aws: stack.aws,
        s3: stack.s3.clone(),
        bucket: stack.bucket.clone(),
        namespace: unique("CIFleetRetry"),
        fake: FakeCi::start(
            CiKind::Jenkins,
            &json!({
                "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}]},
                "agents": [node(&first, Some(60)), node(&second, None)],
                "builds": [jenkins_build(59, &second, json!({"AGENT_LABEL": "linux-8g", "SHARD": "2"}), "Finished: SUCCESS\n")]
            }),
        ),
    };
    let warn = |instance: &str| {
        let path = ci_fleet_tests::repo_root()
            .join("functions/handle-interruption/events/spot-interruption-warning.json");
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
        event["detail"]["instance-id"] = json!(instance);
        event["time"] = json!(chrono::Utc::now().to_rfc3339());
        let mut cmd =
            stack.function_command("handle-interruption", &s.fake, LOGIN, &stack.pools(1));
        cmd.env("METRICS_NAMESPACE", s.namespace.as_str());
        ci_fleet_tests::commands::stdout_json(&ci_fleet_tests::run_with_event(cmd, &event, &[]))
    };
    let lost = "[Pipeline] sh\n+ pytest -n 4 tests/\nAgent was removed\nFinished: ABORTED\n";
    let ended = |number: u64, agent: &str, parameters: Value| {
        let mut build = jenkins_build(number, agent, parameters, lost);
        build["result"] = json!("ABORTED");
        build
    };

    let warned = warn(&first);
    let run_url = format!("{}/job/platform/job/app/60/", s.fake.url());
    assert_eq!(warned["interrupted_runs"], json!([run_url]), "{warned:#}");
    let mut state = s.state().await;
    state["agents"] = json!([node(&second, None)]);
    state["builds"].as_array_mut().expect("builds").push(ended(
        60,
        &first,
        json!({"AGENT_LABEL": "linux-8g", "SHARD": "2"}),
    ));
    s.fake.set_state(&state).await;
    let (_, answer) = s.advise(&signed(&jenkins_notification(60)), &[]);
    assert_eq!(answer["outcome"], "retried", "{answer:#}");
    assert_eq!(
        answer["classification"]["class"], "spot-interruption",
        "{answer:#}"
    );
    let triggered = s.triggered().await;
    assert_eq!(
        triggered[0]["parameters"]["AGENT_LABEL"], "linux-8g",
        "{triggered:#?}"
    );

    // The retry runs on the second instance and is interrupted too: on-demand now.
    let mut state = s.state().await;
    state["agents"] = json!([node(&second, Some(61))]);
    s.fake.set_state(&state).await;
    let warned = warn(&second);
    assert_eq!(
        warned["interrupted_runs"].as_array().map(Vec::len),
        Some(1),
        "{warned:#}"
    );
    let mut state = s.state().await;
    state["agents"] = json!([]);
    state["builds"].as_array_mut().expect("builds").push(ended(
        61,
        &second,
        triggered[0]["parameters"].clone(),
    ));
    s.fake.set_state(&state).await;
    let (_, again) = s.advise(&signed(&jenkins_notification(61)), &[]);
    assert_eq!(
        again["classification"]["class"], "spot-interruption",
        "{again:#}"
    );
    let triggered = s.triggered().await;
    assert_eq!(
        triggered[1]["parameters"]["AGENT_LABEL"], "linux-ondemand",
        "{triggered:#?}"
    );
}
