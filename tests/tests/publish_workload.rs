//! The real `publish-workload` binary against the fake Jenkins and the fake TeamCity,
//! with metrics read back from the CloudWatch emulator.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use ci_fleet_tests::commands::{CiLogin, function_command, run};
use ci_fleet_tests::{CiKind, FakeCi, LocalAws, binary_path};
use serde_json::{Value, json};

const JENKINS_POOLS: &str = r#"[
  {"name":"linux","ci_label":"linux && docker","asg":"ci-linux","executors_per_instance":4},
  {"name":"gpu","ci_label":"gpu","asg":"ci-gpu","executors_per_instance":1},
  {"name":"windows","ci_label":"windows","asg":"ci-windows","executors_per_instance":2}
]"#;

const TEAMCITY_POOLS: &str = r#"[
  {"name":"linux","ci_label":"Linux","asg":"ci-linux","executors_per_instance":1},
  {"name":"gpu","ci_label":"GPU","asg":"ci-gpu","executors_per_instance":1}
]"#;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A Jenkins with three pools' worth of agents and a queue that exercises every rule:
/// labelExpression and `why` attribution, a one-node label named by its node, blocked and
/// quiet-period items, an offline agent, and a pool with no agents at all.
fn jenkins_state() -> Value {
    let two_minutes_ago = now_ms() - 120_000;
    json!({
        "jenkins_version": "2.579",
        "auth": {"users": [{"user": "ci-fleet", "password": "pw", "token": "tok"}], "anonymous_read": false, "csrf": true},
        "agents": [
            {"name": "linux-1", "labels": ["linux", "docker"], "executors": 4, "running": [{"job": "app", "number": 1}, {"job": "app", "number": 2}]},
            {"name": "linux-2", "labels": ["linux", "docker"], "executors": 4},
            {"name": "linux-3", "labels": ["linux", "docker"], "executors": 4, "temporarily_offline": true, "offline_message": "maintenance"},
            {"name": "gpu-1", "labels": ["linux", "gpu"], "executors": 1, "running": [{"job": "train", "number": 7}]}
        ],
        "queue": [
            {"id": 1, "job": "app", "label": "linux && docker", "state": "buildable", "queued_at_ms": two_minutes_ago},
            {"id": 2, "job": "lint-pipeline", "label": "linux && docker", "state": "buildable", "label_exposed": false, "queued_at_ms": now_ms()},
            {"id": 3, "job": "app", "label": "linux && docker", "state": "blocked", "queued_at_ms": two_minutes_ago - 60_000},
            {"id": 4, "job": "deploy", "label": "linux && docker", "state": "waiting"},
            {"id": 5, "job": "train", "label": "gpu", "state": "buildable", "label_exposed": false, "queued_at_ms": now_ms()},
            {"id": 6, "job": "windows-build", "label": "windows", "state": "buildable", "stuck": true, "queued_at_ms": now_ms()}
        ]
    })
}

fn teamcity_state() -> Value {
    json!({
        "teamcity_tokens": ["tc-token"],
        "agents": [
            {"id": 1, "name": "tc-linux-1", "pool": "Linux", "running": [{"job": "App_Build", "number": 11}]},
            // Every usable agent busy: a build with an idle compatible agent waits for
            // something else (a limit, a lock), which is no demand.
            {"id": 2, "name": "tc-linux-2", "pool": "Linux", "running": [{"job": "App_Lint", "number": 4}]},
            {"id": 3, "name": "tc-linux-3", "pool": "Linux", "authorized": false},
            {"id": 4, "name": "tc-linux-4", "pool": "Linux", "enabled": false},
            {"id": 5, "name": "tc-gpu-1", "pool": "GPU", "running": [{"job": "Ml_Eval", "number": 2}]}
        ],
        "queue": [
            {"id": 101, "job": "App_Build", "pools": ["Linux"], "queued_at_ms": now_ms() - 90_000},
            {"id": 102, "job": "App_Test", "pools": ["Linux"], "queued_at_ms": now_ms()},
            {"id": 103, "job": "Ml_Train", "pools": ["GPU"], "queued_at_ms": now_ms()},
            {"id": 104, "job": "App_Deploy", "pools": ["Linux"], "state": "blocked", "wait_reason": "Build dependencies have not been built yet"}
        ]
    })
}

/// (pool, QueuedBuilds, StuckBuilds, BusyExecutors, IdleExecutors, OnlineExecutors, OfflineAgents, TotalWorkload, DesiredInstances, MissingInstances)
type Expected = (&'static str, f64, f64, f64, f64, f64, f64, f64, f64, f64);

const JENKINS_EXPECTED: [Expected; 3] = [
    ("linux", 2.0, 0.0, 2.0, 6.0, 8.0, 1.0, 0.5, 1.0, 0.0),
    ("gpu", 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 1.0),
    // Jenkins marks its build stuck (the label has no agent online), but a pool with no
    // agent online is starting, not stuck: StuckBuilds 0, MissingInstances 1.
    ("windows", 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0),
];

const TEAMCITY_EXPECTED: [Expected; 2] = [
    ("linux", 2.0, 0.0, 2.0, 0.0, 2.0, 2.0, 2.0, 4.0, 2.0),
    ("gpu", 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 1.0),
];

const METRICS: [&str; 9] = [
    "QueuedBuilds",
    "StuckBuilds",
    "BusyExecutors",
    "IdleExecutors",
    "OnlineExecutors",
    "OfflineAgents",
    "TotalWorkload",
    "DesiredInstances",
    "MissingInstances",
];

fn expected_values(e: &Expected) -> [f64; 9] {
    [e.1, e.2, e.3, e.4, e.5, e.6, e.7, e.8, e.9]
}

/// A namespace per test: the emulator is shared by the tests of this file.
fn namespace() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "CIFleetTest{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// The users and tokens of the fakes' states above.
const LOGIN: CiLogin = CiLogin::per_server("ci-fleet", "tok", "tc-token");

fn command(
    aws: &LocalAws,
    fake: &FakeCi,
    pools: &str,
    namespace: &str,
    extra: &[(&str, &str)],
) -> Command {
    let mut cmd = function_command("publish-workload", aws, fake, LOGIN);
    cmd.envs([
        ("POOLS", pools),
        ("METRICS_NAMESPACE", namespace),
        ("POLL_WINDOW_SECONDS", "0"),
        ("RUST_LOG", "info"),
    ])
    .envs(extra.iter().copied());
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One value per datapoint of `metric` (period 1 s; the metrics are high resolution), oldest first.
async fn datapoints(aws: &LocalAws, namespace: &str, metric: &str, pool: Option<&str>) -> Vec<f64> {
    let cw = aws.cloudwatch().await;
    let now = SystemTime::now();
    let mut m = Metric::builder().namespace(namespace).metric_name(metric);
    if let Some(pool) = pool {
        m = m.dimensions(Dimension::builder().name("Pool").value(pool).build());
    }
    let out = cw
        .get_metric_data()
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(60)))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("m")
                .metric_stat(
                    MetricStat::builder()
                        .metric(m.build())
                        .period(1)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("GetMetricData from the emulator");
    let result = &out.metric_data_results()[0];
    let mut points: Vec<(i64, f64)> = result
        .timestamps()
        .iter()
        .map(|t| t.secs())
        .zip(result.values().iter().copied())
        .collect();
    points.sort_by_key(|(t, _)| *t);
    points.into_iter().map(|(_, v)| v).collect()
}

fn pools_of_first_poll(stdout: &str) -> Vec<Value> {
    let response: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("stdout is the JSON response ({e}):\n{stdout}"));
    response["polls"][0]["pools"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn assert_pools(pools: &[Value], expected: &[Expected]) {
    let fields = [
        "queued_builds",
        "stuck_builds",
        "busy_executors",
        "idle_executors",
        "online_executors",
        "offline_agents",
        "total_workload",
        "desired_instances",
        "missing_instances",
    ];
    assert_eq!(pools.len(), expected.len(), "{pools:#?}");
    for (pool, e) in pools.iter().zip(expected) {
        assert_eq!(pool["pool"], e.0);
        let got: Vec<f64> = fields
            .iter()
            .map(|f| pool[*f].as_f64().unwrap_or(f64::NAN))
            .collect();
        assert_eq!(got, expected_values(e), "pool {} ({fields:?})", e.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jenkins_dry_run_prints_each_pools_metrics_and_publishes_nothing() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins_state());
    let ns = namespace();
    let output = run(command(aws, &fake, JENKINS_POOLS, &ns, &[]), &["--dry-run"]);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert_pools(&pools_of_first_poll(&stdout), &JENKINS_EXPECTED);
    let response: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(response["dry_run"], true);
    assert_eq!(
        response["would_publish"].as_array().map(Vec::len),
        Some(3 * 10 + 1)
    );
    assert!(
        datapoints(aws, &ns, "CiServerUp", None).await.is_empty(),
        "a dry run publishes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jenkins_poll_uses_two_tree_filtered_gets_and_publishes_readable_metrics() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins_state());
    let ns = namespace();
    let output = run(command(aws, &fake, JENKINS_POOLS, &ns, &[]), &[]);
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));

    let requests = fake.requests().await;
    assert_eq!(
        requests.len(),
        3,
        "one poll is two GETs, after one check that the user sees any job: {requests:#?}"
    );
    assert_eq!(requests[0]["path"], "/api/json");
    for request in &requests {
        assert_eq!(request["method"], "GET");
        assert!(
            request["query"]
                .as_str()
                .is_some_and(|q| q.contains("tree=")),
            "asks only for the fields used: {request}"
        );
    }

    for expected in &JENKINS_EXPECTED {
        for (metric, value) in METRICS.iter().zip(expected_values(expected)) {
            assert_eq!(
                datapoints(aws, &ns, metric, Some(expected.0)).await,
                vec![value],
                "{metric} of pool {}",
                expected.0
            );
        }
        let oldest = datapoints(aws, &ns, "OldestQueuedSeconds", Some(expected.0)).await;
        assert_eq!(oldest.len(), 1);
        // Jenkins says the linux items are minutes old, but ci-fleet ages a build from
        // when it first saw it wait for an executor (inQueueSince counts time blocked
        // behind the job's own build): this one poll is the first sighting.
        assert!(
            oldest[0] < 5.0,
            "{}: aged from ci-fleet's first sighting: {oldest:?}",
            expected.0
        );
    }
    assert_eq!(datapoints(aws, &ns, "CiServerUp", None).await, vec![1.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teamcity_follows_pages_and_publishes_readable_metrics() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::TeamCity, &teamcity_state());
    let ns = namespace();
    let dry = run(
        command(aws, &fake, TEAMCITY_POOLS, &ns, &[("CI_PAGE_SIZE", "2")]),
        &["--dry-run"],
    );
    assert!(dry.status.success(), "stderr:\n{}", text(&dry.stderr));
    assert_pools(&pools_of_first_poll(&text(&dry.stdout)), &TEAMCITY_EXPECTED);

    let requests = fake.requests().await;
    let query = |r: &Value| r["query"].as_str().unwrap_or("").to_owned();
    let agents: Vec<&Value> = (requests.iter())
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/app/rest/agents"))
        })
        .collect();
    let (compatibility, listing): (Vec<&Value>, Vec<&Value>) =
        (agents.iter()).partition(|r| query(r).contains("compatible"));
    assert_eq!(
        listing.len(),
        3,
        "5 agents at 2 a page: 3 pages by nextHref: {requests:#?}"
    );
    // Compatibility once per queued build configuration (4), not per queued build, with
    // disabled and disconnected agents (defaultFilter:false): Linux's 4 agents are 3 pages
    // (a full page always has a nextHref, the last one is empty), GPU's one agent 1.
    let mut configurations: Vec<String> = (compatibility.iter())
        .map(|r| {
            // The first page as ci-fleet encodes it, the next ones as nextHref gives them.
            let q = (query(r).replace("%3A", ":").replace("%28", "(")).replace("%29", ")");
            assert!(q.contains("defaultFilter:false"), "{q}");
            let at = q.find("buildType:(id:").expect("a buildType id") + 14;
            q[at..].split(')').next().unwrap_or("").to_owned()
        })
        .collect();
    configurations.sort();
    assert_eq!(
        configurations,
        [
            ["App_Build"; 3].as_slice(),
            &["App_Deploy"; 3],
            &["App_Test"; 3],
            &["Ml_Train"]
        ]
        .concat(),
        "{compatibility:#?}"
    );
    assert!(
        (requests.iter()).all(|r| !query(r).contains("compatibleAgents")),
        "no per-build compatible-agent lists"
    );
    assert!(
        requests
            .iter()
            .all(|r| r["query"].as_str().is_some_and(|q| q.contains("fields="))),
        "explicit fields= on every call"
    );

    let output = run(
        command(aws, &fake, TEAMCITY_POOLS, &ns, &[("CI_PAGE_SIZE", "2")]),
        &[],
    );
    assert!(output.status.success(), "stderr:\n{}", text(&output.stderr));
    for expected in &TEAMCITY_EXPECTED {
        for (metric, value) in METRICS.iter().zip(expected_values(expected)) {
            assert_eq!(
                datapoints(aws, &ns, metric, Some(expected.0)).await,
                vec![value],
                "{metric} of pool {}",
                expected.0
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ci_server_going_down_mid_run_publishes_server_down_and_no_pool_zeros() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins_state());
    let ns = namespace();
    let mut cmd = command(
        aws,
        &fake,
        JENKINS_POOLS,
        &ns,
        &[("POLL_INTERVAL_SECONDS", "1"), ("POLL_WINDOW_SECONDS", "3")],
    );
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // The first poll succeeds; then the server fails with a 500 for the rest of the window.
    // Three requests: the check that the user sees a job, then the poll's two GETs.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while fake.requests().await.len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first poll never reached the fake"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.fault("http-500").await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joins")
        .expect("exits");
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "an invocation with failed polls fails visibly"
    );
    assert!(
        stderr.contains("3 of 4 polls failed") && stderr.contains("HTTP 500 server error"),
        "{stderr}"
    );

    assert_eq!(
        datapoints(aws, &ns, "CiServerUp", None).await,
        vec![1.0, 0.0, 0.0, 0.0]
    );
    for expected in &JENKINS_EXPECTED {
        assert_eq!(
            datapoints(aws, &ns, "QueuedBuilds", Some(expected.0)).await,
            vec![expected.1],
            "only the good poll published {}",
            expected.0
        );
        assert_eq!(
            datapoints(aws, &ns, "OnlineExecutors", Some(expected.0)).await,
            vec![expected.5],
            "no zeros for {}",
            expected.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_unusable_answer_is_unknown_not_zero() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins_state());
    let cases = [
        ("html-login", "instead of JSON"),
        ("garbage", "response is not what the API documents"),
        ("empty-200", "empty body"),
        (
            "unauthorized",
            "HTTP 401: the server refused the credentials",
        ),
        ("http-500", "HTTP 500 server error"),
        ("hang", "no answer within 1 s"),
    ];
    for (mode, message) in cases {
        fake.fault(mode).await;
        let ns = namespace();
        let output = run(
            command(
                aws,
                &fake,
                JENKINS_POOLS,
                &ns,
                &[("CI_TIMEOUT_SECONDS", "1")],
            ),
            &[],
        );
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{mode}: must fail");
        let last_line = stderr.lines().last().unwrap_or_default();
        assert!(
            last_line.starts_with(
                "publish-workload: 1 of 1 polls failed; last: jenkins GET http://127.0.0.1:"
            ),
            "{mode}: one-line reason: {last_line}"
        );
        assert!(last_line.contains(message), "{mode}: {last_line}");
        assert_eq!(
            datapoints(aws, &ns, "CiServerUp", None).await,
            vec![0.0],
            "{mode}"
        );
        for pool in ["linux", "gpu", "windows"] {
            assert!(
                datapoints(aws, &ns, "QueuedBuilds", Some(pool))
                    .await
                    .is_empty(),
                "{mode}: no pool metric for {pool}"
            );
        }
    }
    fake.fault("none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_through_the_lambda_runtime_interface() {
    let aws = LocalAws::shared();
    let fake = FakeCi::start(CiKind::Jenkins, &jenkins_state());
    let ns = namespace();
    let rie = ci_fleet_tests::repo_root().join("infra/local/lambda-rie.py");
    let mut cmd = Command::new("python3");
    cmd.arg(rie)
        .arg("--binary")
        .arg(binary_path("publish-workload"));
    aws.configure(&mut cmd);
    cmd.envs(fake.env()).envs([
        ("POOLS", JENKINS_POOLS),
        ("METRICS_NAMESPACE", ns.as_str()),
        ("POLL_WINDOW_SECONDS", "0"),
        ("CI_USER", "ci-fleet"),
        ("CI_TOKEN", "tok"),
    ]);
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .expect("lambda-rie.py runs");
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("\"total_workload\""), "{stdout}");
    assert_eq!(
        datapoints(aws, &ns, "QueuedBuilds", Some("gpu")).await,
        vec![1.0]
    );
}
