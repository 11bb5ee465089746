//! ci-fleet's Jenkins re-queue against the fake as Jenkins answers it (REAL-SERVERS #10):
//! only the parameters a job declares are sent, a job without any is queued through
//! `build`, and a request Jenkins merges into an equal queued item (303) or refuses (302)
//! is "not queued", never a queued retry.

mod support;

use std::collections::BTreeMap;

use fake_ci::{FakeState, Kind};
use serde_json::json;
use shared::ci::{CiKind, Problem};
use shared::ports::builds::{BuildRef, Requeue};

fn requeue(job: &str, parameters: &[(&str, &str)]) -> Requeue {
    Requeue {
        build: BuildRef {
            job: job.into(),
            id: 7,
        },
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        marks: BTreeMap::from([("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned())]),
        branch: None,
        revisions: vec![],
        comment: "retry".into(),
    }
}

#[tokio::test]
async fn jenkins_requeue_sends_what_the_job_declares_and_tells_merged_and_refused_apart() {
    let state: FakeState = serde_json::from_value(json!({
        "auth": {"users": [{"user": "ci", "password": "pw", "token": "tok"}], "csrf": true},
        "job_config": {
            "app": {"parameters": {"AGENT_LABEL": "linux-8g", "MODULE": ""}},
            "plain": {"parameters": {}},
            "frozen": {"parameters": {"X": ""}, "schedule_vetoed": true}
        },
        "builds": [
            {"job": "app", "number": 7, "result": "FAILURE"},
            {"job": "plain", "number": 7, "result": "FAILURE"},
            {"job": "frozen", "number": 7, "result": "FAILURE"}
        ]
    }))
    .expect("valid state");
    let (addr, app) = fake_ci::spawn(Kind::Jenkins, state).await.expect("starts");
    let (_, builds) = support::adapters(CiKind::Jenkins, addr, Some("ci"), "pw", 100);

    let retry = requeue(
        "app",
        &[
            ("AGENT_LABEL", "linux-16g"),
            ("MODULE", "core"),
            ("STALE", "x"),
        ],
    );
    let queued = builds.requeue(&retry).await.expect("queued");
    assert!(queued.id.is_some(), "{queued:?}");
    assert_eq!(
        queued.parameters,
        BTreeMap::from([
            ("AGENT_LABEL".to_owned(), "linux-16g".to_owned()),
            ("MODULE".to_owned(), "core".to_owned())
        ]),
        "undeclared STALE and the undeclared mark are not sent"
    );
    let merged = builds
        .requeue(&retry)
        .await
        .expect_err("an equal item is queued");
    assert!(
        matches!(&merged.problem, Problem::Refused(why) if why.contains("merged")),
        "{merged}"
    );

    let plain = builds
        .requeue(&requeue("plain", &[("X", "1")]))
        .await
        .expect("queued");
    assert!(
        plain.id.is_some() && plain.parameters.is_empty(),
        "{plain:?}"
    );
    let refused = builds
        .requeue(&requeue("frozen", &[("X", "1")]))
        .await
        .expect_err("vetoed");
    assert!(
        matches!(&refused.problem, Problem::Refused(why) if why.contains("refused")),
        "{refused}"
    );
    let world = app.world();
    let triggered: Vec<(&str, &str)> = (world.state.triggered.iter())
        .map(|t| (t.job.as_str(), t.via.as_str()))
        .collect();
    assert_eq!(
        triggered,
        [("app", "buildWithParameters"), ("plain", "build")],
        "only what Jenkins really queued"
    );
}
