use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::http::HeaderValue;
use rules::retry::{BuildStatus, RetryPolicy};
use shared::aws::metrics::RecordingMetrics;
use shared::checkpoint::{CheckpointKey, Claim, Interruption, layout};
use shared::dry_run::{DryRunBuilds, DryRunStore};
use shared::ports::builds::{AgentPresence, BuildRef, FinishedBuild};
use shared::testing::{FakeBuilds, MemoryStore, jenkins_config, now};

use super::*;
use crate::config::KeySource;
use crate::record::{self, Settlement};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn build(id: u64, parameters: &[(&str, &str)]) -> FinishedBuild {
    let parameters: BTreeMap<String, String> = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    FinishedBuild {
        build: BuildRef {
            job: "platform/app".into(),
            id,
        },
        status: Some(BuildStatus::Failure),
        running: false,
        status_text: String::new(),
        agent: Some("i-0a1b2c3d4e5f67890".into()),
        started_at: Some(now() - chrono::Duration::minutes(20)),
        finished_at: Some(now() - chrono::Duration::minutes(1)),
        queue_id: Some(id + 1000),
        custom_parameters: parameters.clone(),
        parameters,
        branch: Some("main".into()),
        revisions: vec![],
        description: Some("nightly".into()),
        url: None,
    }
}

struct Setup {
    handler: Handler,
    builds: Arc<FakeBuilds>,
    store: Arc<MemoryStore>,
    metrics: Arc<RecordingMetrics>,
}

fn setup(builds: FakeBuilds, dry_run: bool) -> Setup {
    let policy = RetryPolicy::parse(
        r#"{"memory_ladder":{"parameter":"AGENT_LABEL","steps":["linux-8g","linux-16g","linux-32g"]}}"#,
    )
    .expect("policy");
    let config = RetryConfig {
        ci: jenkins_config(),
        namespace: "CIFleetTest".into(),
        bucket: "b".into(),
        policy,
        key: KeySource::Inline(Secret::new(KEY)),
        window: Duration::from_secs(300),
        max_body_bytes: 256 * 1024,
        log_tail_bytes: 64 * 1024,
    };
    let builds = Arc::new(builds);
    let store = Arc::new(MemoryStore::default());
    let metrics = Arc::new(RecordingMetrics::default());
    let would_do = dry_run.then(WouldDo::default);
    let (ci, objects): (Arc<dyn BuildControl>, Arc<dyn ObjectStore>) = match &would_do {
        Some(w) => (
            Arc::new(DryRunBuilds {
                inner: builds.clone(),
                would_do: w.clone(),
            }),
            Arc::new(DryRunStore {
                inner: store.clone(),
                would_do: w.clone(),
            }),
        ),
        None => (builds.clone(), store.clone()),
    };
    Setup {
        handler: Handler {
            config,
            key: Secret::new(KEY),
            builds: ci,
            store: objects,
            metrics: metrics.clone(),
            would_do,
        },
        builds,
        store,
        metrics,
    }
}

fn notification(number: u64, phase: &str) -> String {
    serde_json::json!({
        "name": "app", "url": "job/platform/job/app/",
        "build": {"number": number, "phase": phase, "status": "FAILURE",
                  "full_url": format!("https://ci/job/platform/job/app/{number}/")}
    })
    .to_string()
}

fn request(body: &str, signed_at: i64, method: &str) -> LambdaFunctionUrlRequest {
    let mut event: LambdaFunctionUrlRequest =
        serde_json::from_str(include_str!("../../events/function-url-jenkins.json"))
            .expect("fixture");
    event.body = Some(body.to_owned());
    event.request_context.http.method = Some(method.into());
    event
        .headers
        .insert(TIMESTAMP_HEADER, header_value(&signed_at.to_string()));
    event.headers.insert(
        SIGNATURE_HEADER,
        header_value(&sign(KEY.as_bytes(), signed_at, body.as_bytes())),
    );
    event
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).expect("a header value")
}

async fn post(s: &Setup, body: &str) -> (u16, Value) {
    let response = s
        .handler
        .respond(&request(body, now().timestamp(), "POST"), now())
        .await;
    let body =
        serde_json::from_str(response.body.as_deref().unwrap_or_default()).expect("JSON answer");
    (u16::try_from(response.status_code).expect("a status"), body)
}

fn metric_reasons(s: &Setup) -> Vec<(String, String)> {
    s.metrics
        .recorded()
        .into_iter()
        .map(|d| (d.name.to_owned(), d.dimensions[0].1.clone()))
        .collect()
}

#[tokio::test]
async fn oom_climbs_the_ladder_within_one_logical_build_until_the_top() {
    let oom = "java.lang.OutOfMemoryError: Java heap space\nFinished: FAILURE\n";
    let first = build(41, &[("AGENT_LABEL", "linux-8g"), ("MODULE", "core")]);
    // The retry (#42) carries the chain's name; the next (#43) lost it, but its
    // queue id is the alias #42's retry left.
    let second = build(
        42,
        &[
            ("AGENT_LABEL", "linux-16g"),
            ("MODULE", "core"),
            ("CI_FLEET_RETRY_OF", "jenkins:platform/app#41"),
        ],
    );
    let mut third = build(43, &[("AGENT_LABEL", "linux-32g"), ("MODULE", "core")]);
    third.queue_id = Some(902);
    let s = setup(
        FakeBuilds {
            builds: vec![first, second, third],
            logs: [(41, oom.into()), (42, oom.into()), (43, oom.into())].into(),
            ..FakeBuilds::default()
        },
        false,
    );

    let (status, answer) = post(&s, &notification(41, "FINALIZED")).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("retried")),
        "{answer:#}"
    );
    assert_eq!(answer["classification"]["class"], "oom");
    assert_eq!(answer["logical_build"], "jenkins:platform/app#41");
    {
        let requeued = s.builds.requeued.lock().expect("lock");
        assert_eq!(
            requeued[0].marked_parameters(),
            BTreeMap::from([
                ("AGENT_LABEL".to_owned(), "linux-16g".to_owned()),
                ("MODULE".to_owned(), "core".to_owned()),
                ("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned()),
                (
                    "CI_FLEET_RETRY_OF".to_owned(),
                    "jenkins:platform/app#41".to_owned()
                ),
            ])
        );
        // Jenkins queues the job, not a branch: its adapter leaves the branch out
        // (shared::ci::jenkins::builds' tests); the retry itself names it.
        assert_eq!(requeued[0].branch.as_deref(), Some("main"));
    }
    let (_, described) = s.builds.annotated.lock().expect("lock")[0].clone();
    assert!(
        described.starts_with("nightly\nci-fleet: oom → retried (1/3): one step up the memory ladder: AGENT_LABEL linux-8g → linux-16g; queued as 901. Evidence: java.lang.OutOfMemoryError"),
        "{described}"
    );

    // The same notification again (COMPLETED then FINALIZED, or a redelivery).
    let (status, again) = post(&s, &notification(41, "COMPLETED")).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    assert_eq!(s.builds.requeued.lock().expect("lock").len(), 1);

    let (_, second) = post(&s, &notification(42, "FINALIZED")).await;
    assert_eq!(second["outcome"], "retried", "{second:#}");
    assert_eq!(second["decision"]["attempt"], 2);
    assert_eq!(second["parameters"]["AGENT_LABEL"], "linux-32g");

    let (_, third) = post(&s, &notification(43, "FINALIZED")).await;
    assert_eq!(
        third["logical_build"], "jenkins:platform/app#41",
        "{third:#}"
    );
    assert_eq!(third["outcome"], "denied");
    assert_eq!(
        third["reason"],
        "oom: already at the top of the memory ladder (AGENT_LABEL=linux-32g)"
    );
    assert_eq!(s.builds.requeued.lock().expect("lock").len(), 2);
    let record = record::load(s.store.as_ref(), "jenkins:platform/app#41")
        .await
        .expect("record");
    assert_eq!(record.history.retries, 2);
    assert_eq!(record.builds.len(), 3);
    assert_eq!(
        metric_reasons(&s),
        vec![
            ("RetriesRequested".to_owned(), "oom".to_owned()),
            ("RetriesRequested".to_owned(), "oom".to_owned()),
            ("RetriesDenied".to_owned(), "oom".to_owned()),
        ]
    );
}

#[tokio::test]
async fn deterministic_failures_are_denied_and_the_reason_kept() {
    let s = setup(
        FakeBuilds {
            builds: vec![build(7, &[("MODULE", "core")])],
            logs: [(
                7,
                "[ERROR] Tests run: 12, Failures: 2\n[INFO] BUILD FAILURE\n".into(),
            )]
            .into(),
            ..FakeBuilds::default()
        },
        false,
    );
    let (status, answer) = post(&s, &notification(7, "FINALIZED")).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("denied")),
        "{answer:#}"
    );
    assert_eq!(answer["classification"]["class"], "deterministic");
    assert!(s.builds.requeued.lock().expect("lock").is_empty());
    let (_, described) = s.builds.annotated.lock().expect("lock")[0].clone();
    assert!(
        described.contains(
            "ci-fleet: deterministic → not retried: deterministic: a retry would fail the same way"
        ),
        "{described}"
    );
    let record = record::load(s.store.as_ref(), "jenkins:platform/app#7")
        .await
        .expect("record");
    assert_eq!(record.builds[0].outcome, Settlement::Denied);
    assert_eq!(
        metric_reasons(&s),
        vec![("RetriesDenied".to_owned(), "deterministic".to_owned())]
    );
}

#[tokio::test]
async fn a_sealed_interruption_of_the_agent_is_a_spot_retry_with_the_same_parameters() {
    let s = setup(
        FakeBuilds {
            builds: vec![build(8, &[("AGENT_LABEL", "linux-8g")])],
            logs: [(8, "FATAL: command execution failed\nhudson.remoting.ChannelClosedException: Channel \"hudson.remoting.Channel@1:i-0a1b2c3d4e5f67890\": Remote call failed\n".into())].into(),
            ..FakeBuilds::default()
        },
        false,
    );
    let key = CheckpointKey::parse("app@9cf121f0#shard-1").expect("key");
    let claim = Claim {
        instance_id: "i-0a1b2c3d4e5f67890".into(),
        slot: "0".into(),
        key: key.as_str().into(),
        attempt: 1,
        claimed_at: now() - chrono::Duration::minutes(19),
    };
    let interruption = Interruption {
        instance_id: claim.instance_id.clone(),
        key: claim.key.clone(),
        attempt: 1,
        at: now() - chrono::Duration::minutes(3),
        reason: "spot interruption: i-0a1b2c3d4e5f67890 terminates at 2026-11-22 11:59:00 UTC"
            .into(),
        passed: 212,
    };
    for (object, value) in [
        (
            layout::claim(&claim.instance_id, &claim.slot),
            serde_json::to_vec(&claim),
        ),
        (
            layout::interruption(&key, 1),
            serde_json::to_vec(&interruption),
        ),
    ] {
        s.store
            .put(&object, value.expect("serialises"))
            .await
            .expect("puts");
    }
    let (_, answer) = post(&s, &notification(8, "FINALIZED")).await;
    assert_eq!(answer["outcome"], "retried", "{answer:#}");
    assert_eq!(answer["classification"]["class"], "spot-interruption");
    assert!(
        answer["classification"]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains("212 tests kept")),
        "{answer:#}"
    );
    let requeued = s.builds.requeued.lock().expect("lock");
    assert_eq!(requeued[0].parameters["AGENT_LABEL"], "linux-8g");
    assert_eq!(
        requeued[0].marks["CI_FLEET_RETRY_REASON"],
        "spot-interruption"
    );
}

/// A Jenkins Pipeline run names no agent: handle-interruption recorded the run itself
/// (its executor named it at the warning), and that is the evidence.
#[tokio::test]
async fn a_pipeline_run_recorded_as_interrupted_is_a_spot_retry() {
    let run_url = "https://ci.example.com/job/platform/job/app/8/";
    let pipeline = FinishedBuild {
        agent: None,
        status: Some(BuildStatus::Aborted),
        url: Some(run_url.into()),
        ..build(8, &[])
    };
    let s = setup(
        FakeBuilds {
            builds: vec![pipeline],
            logs: [(8, "Agent was removed\nFinished: ABORTED\n".into())].into(),
            ..FakeBuilds::default()
        },
        false,
    );
    let record = shared::checkpoint::RunInterruption {
        run: run_url.into(),
        instance_id: "i-0a1b2c3d4e5f67890".into(),
        agent: "i-0a1b2c3d4e5f67890".into(),
        at: now() - chrono::Duration::minutes(3),
        reason: "spot interruption: i-0a1b2c3d4e5f67890 terminates at 2026-11-22 11:59:00 UTC"
            .into(),
    };
    s.store
        .put(
            &layout::run_interruption(run_url),
            serde_json::to_vec(&record).expect("serialises"),
        )
        .await
        .expect("puts");
    let (_, answer) = post(&s, &notification(8, "FINALIZED")).await;
    assert_eq!(answer["outcome"], "retried", "{answer:#}");
    assert_eq!(
        answer["classification"]["class"], "spot-interruption",
        "{answer:#}"
    );
    assert!(
        answer["classification"]["evidence"]
            .as_str()
            .is_some_and(|e| e.contains(run_url)),
        "{answer:#}"
    );
}

#[tokio::test]
async fn a_disconnected_agent_is_agent_lost() {
    let mut presence = BTreeMap::new();
    presence.insert("i-0a1b2c3d4e5f67890".to_owned(), AgentPresence::Gone);
    let s = setup(
        FakeBuilds {
            builds: vec![build(9, &[])],
            logs: [(9, "+ make test\n".into())].into(),
            presence,
            ..FakeBuilds::default()
        },
        false,
    );
    let (_, answer) = post(&s, &notification(9, "FINALIZED")).await;
    assert_eq!(
        answer["classification"]["class"], "agent-lost",
        "{answer:#}"
    );
    let requeued = s.builds.requeued.lock().expect("lock");
    assert!(
        requeued[0].parameters.is_empty(),
        "a job without parameters is queued without any (the Jenkins adapter then sends no marks either: Jenkins refuses them)"
    );
}

#[tokio::test]
async fn refuses_what_is_not_an_authentic_fresh_notification() {
    let s = setup(
        FakeBuilds {
            builds: vec![build(41, &[])],
            logs: [(41, "java.lang.OutOfMemoryError\n".into())].into(),
            ..FakeBuilds::default()
        },
        false,
    );
    let body = notification(41, "FINALIZED");
    let mut unsigned = request(&body, now().timestamp(), "POST");
    unsigned.headers.remove(SIGNATURE_HEADER);
    let mut tampered = request(&body, now().timestamp(), "POST");
    tampered.body = Some(body.replace("41", "42"));
    let replayed = request(&body, now().timestamp() - 301, "POST");
    let huge = "x".repeat(5 * 1024 * 1024);
    let garbage = "{\"not\": \"a notification\"}";
    let cases = [
        ("unsigned", unsigned, 401, "unsigned request"),
        ("tampered", tampered, 401, "bad signature"),
        ("replayed", replayed, 401, "outside the 300 s replay window"),
        (
            "5 MB",
            request(&huge, now().timestamp(), "POST"),
            413,
            "larger than 262144 bytes",
        ),
        (
            "GET",
            request(&body, now().timestamp(), "GET"),
            405,
            "POST requests only",
        ),
        (
            "signed garbage",
            request(garbage, now().timestamp(), "POST"),
            400,
            "neither a Jenkins",
        ),
        (
            "a TeamCity payload at a Jenkins advise-retry",
            request(
                r#"{"eventType":"BUILD_FINISHED","payload":{"id":1,"buildTypeId":"X"}}"#,
                now().timestamp(),
                "POST",
            ),
            400,
            "serves jenkins",
        ),
        (
            "unknown build",
            request(&notification(404, "FINALIZED"), now().timestamp(), "POST"),
            404,
            "does not know build platform/app #404",
        ),
    ];
    for (name, request, status, reason) in cases {
        let response = s.handler.respond(&request, now()).await;
        let body: Value =
            serde_json::from_str(response.body.as_deref().unwrap_or_default()).expect("JSON");
        assert_eq!(response.status_code, status, "{name}: {body:#}");
        assert!(
            body["reason"].as_str().is_some_and(|r| r.contains(reason)),
            "{name}: {body:#}"
        );
        assert_eq!(
            response
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
    assert!(s.builds.requeued.lock().expect("lock").is_empty());
    assert!(s.store.keys().is_empty(), "{:?}", s.store.keys());
}

#[tokio::test]
async fn ignores_what_is_not_a_failure_and_fails_visibly_when_the_ci_is_down() {
    let mut success = build(5, &[]);
    success.status = Some(BuildStatus::Success);
    let s = setup(
        FakeBuilds {
            builds: vec![success],
            ..FakeBuilds::default()
        },
        false,
    );
    let (status, started) = post(&s, &notification(5, "STARTED")).await;
    assert_eq!(
        (status, started["outcome"].as_str()),
        (200, Some("ignored"))
    );
    let (_, done) = post(&s, &notification(5, "FINALIZED")).await;
    assert_eq!(done["outcome"], "ignored", "the server's SUCCESS wins");
    assert!(s.builds.requeued.lock().expect("lock").is_empty());

    let down = setup(
        FakeBuilds {
            down: true,
            ..FakeBuilds::default()
        },
        false,
    );
    let (status, answer) = post(&down, &notification(5, "FINALIZED")).await;
    assert_eq!((status, answer["outcome"].as_str()), (502, Some("error")));
    assert!(down.store.keys().is_empty());
}

#[tokio::test]
async fn a_dry_run_classifies_and_reports_the_retry_it_would_make() {
    let s = setup(
        FakeBuilds {
            builds: vec![build(41, &[("AGENT_LABEL", "linux-8g")])],
            logs: [(41, "Out of memory: Killed process 4242 (java)\n".into())].into(),
            ..FakeBuilds::default()
        },
        true,
    );
    let (status, answer) = post(&s, &notification(41, "FINALIZED")).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("retried")),
        "{answer:#}"
    );
    assert_eq!(answer["dry_run"], true);
    let would_do: Vec<String> = serde_json::from_value(answer["would_do"].clone()).expect("list");
    assert!(
        would_do[0].starts_with("queue platform/app again with parameters [AGENT_LABEL=linux-16g, CI_FLEET_RETRY_OF=jenkins:platform/app#41, CI_FLEET_RETRY_REASON=oom]"),
        "{would_do:?}"
    );
    assert!(
        would_do
            .iter()
            .any(|w| w.starts_with("write s3 object retries/"))
    );
    assert!(
        would_do
            .iter()
            .any(|w| w.starts_with("set the description of platform/app #41"))
    );
    assert!(s.builds.requeued.lock().expect("lock").is_empty());
    assert!(s.builds.annotated.lock().expect("lock").is_empty());
    assert!(s.store.keys().is_empty());
}
