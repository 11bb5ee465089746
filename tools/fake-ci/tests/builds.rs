//! Finished builds, logs and triggering on both fakes (advise-retry's slice).

mod support;

use fake_ci::{FakeState, Kind};
use serde_json::json;
use support::{basic, get, request};

const CONSOLE: &str = "Started by user ci\n+ make test\njava.lang.OutOfMemoryError: Java heap space\nFinished: FAILURE\n";

fn state() -> FakeState {
    serde_json::from_value(json!({
        "agents": [{"name": "i-0abc", "labels": ["linux"], "pool": "Linux"}],
        "builds": [
            {"job": "folder/app", "number": 41, "result": "FAILURE", "agent": "i-0abc",
             "parameters": {"AGENT_LABEL": "linux-8g"}, "console": CONSOLE,
             "branch": "main", "revision": "9cf121f0", "queue_id": 73},
            {"job": "plain", "number": 3, "result": "FAILURE", "console": "boom\n"},
            {"job": "App_Test", "number": 7, "id": 5001, "result": "UNKNOWN", "agent": "i-0abc",
             "parameters": {"AGENT_LABEL": "linux-8g"}, "inherited": {"system.DIST": "%build.counter%"},
             "console": CONSOLE, "branch": "main", "revision": "9cf121f0", "vcs_root": "App_Git",
             "canceled_comment": "Agent removed"}
        ]
    }))
    .expect("valid state")
}

#[tokio::test]
async fn jenkins_serves_finished_builds_and_their_console() {
    let (addr, _app) = fake_ci::spawn(Kind::Jenkins, state())
        .await
        .expect("starts");
    let auth = basic("ci", "tok");
    let auth = [("Authorization", auth.as_str())];
    let tree = "number,result,building,builtOn,queueId,actions[parameters[name,value],lastBuiltRevision[SHA1]]";
    let reply = get(
        addr,
        &format!("/job/folder/job/app/41/api/json?tree={tree}"),
        &auth,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let build = reply.json();
    assert_eq!(
        (&build["result"], &build["builtOn"], &build["queueId"]),
        (&json!("FAILURE"), &json!("i-0abc"), &json!(73))
    );
    assert_eq!(
        build["actions"][0]["parameters"],
        json!([{"_class": "hudson.model.StringParameterValue", "name": "AGENT_LABEL", "value": "linux-8g"}])
    );
    assert_eq!(build["actions"][2]["lastBuiltRevision"]["SHA1"], "9cf121f0");
    // Depth 0 still shows parameters (visibility 3), not git's revision.
    let plain = get(addr, "/job/folder/job/app/41/api/json", &auth)
        .await
        .json();
    assert_eq!(plain["actions"][0]["parameters"][0]["value"], "linux-8g");
    assert!(plain["actions"][2].get("lastBuiltRevision").is_none());
    assert_eq!(
        get(addr, "/job/folder/job/app/99/api/json", &auth)
            .await
            .status,
        404
    );

    let whole = get(
        addr,
        "/job/folder/job/app/41/logText/progressiveText?start=0",
        &auth,
    )
    .await;
    assert_eq!(whole.body, CONSOLE);
    assert_eq!(
        whole.header("X-Text-Size"),
        Some(CONSOLE.len().to_string().as_str())
    );
    let start = CONSOLE.len() - 18;
    let tail = get(
        addr,
        &format!("/job/folder/job/app/41/logText/progressiveText?start={start}"),
        &auth,
    )
    .await;
    assert_eq!(tail.body, "Finished: FAILURE\n");
    let rolled = get(
        addr,
        "/job/folder/job/app/41/logText/progressiveText?start=99999",
        &auth,
    )
    .await;
    assert_eq!(rolled.body, CONSOLE, "past the end starts again at 0");
    let ranged = get(
        addr,
        "/job/folder/job/app/41/consoleText",
        &[auth[0], ("Range", "bytes=-18")],
    )
    .await;
    assert_eq!(
        (ranged.status, ranged.body.as_str()),
        (206, "Finished: FAILURE\n")
    );
}

#[tokio::test]
async fn jenkins_queues_with_parameters_under_the_crumb_rules_and_takes_descriptions() {
    let (addr, app) = fake_ci::spawn(Kind::Jenkins, state())
        .await
        .expect("starts");
    let token = basic("ci", "tok");
    let password = basic("ci", "pw");
    let form = [
        ("Authorization", token.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let body = "AGENT_LABEL=linux-16g&CI_FLEET_RETRY_REASON=oom";
    let path = "/job/folder/job/app/buildWithParameters";

    assert_eq!(
        request(addr, "GET", path, &form, "").await.status,
        405,
        "POST only"
    );
    let refused = request(
        addr,
        "POST",
        path,
        &[
            ("Authorization", password.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .await;
    assert_eq!(refused.status, 403, "password auth needs a crumb");
    assert!(app.world().state.triggered.is_empty());

    let queued = request(addr, "POST", path, &form, body).await;
    assert_eq!(queued.status, 201, "{}", queued.body);
    let location = queued.header("Location").expect("Location").to_owned();
    let id: u64 = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("queue item id");
    assert!(
        location.ends_with(&format!("/queue/item/{id}/")),
        "{location}"
    );
    {
        let world = app.world();
        let triggered = &world.state.triggered[0];
        assert_eq!(
            (
                triggered.job.as_str(),
                triggered.via.as_str(),
                triggered.queue_id
            ),
            ("folder/app", "buildWithParameters", id)
        );
        assert_eq!(triggered.parameters["AGENT_LABEL"], "linux-16g");
        assert!(
            !triggered.parameters.contains_key("CI_FLEET_RETRY_REASON"),
            "a parameter the job does not declare is dropped (ParametersDefinitionProperty._doBuild)"
        );
        assert!(world.state.queue.iter().any(|q| q.id == id));
    }
    let item = get(addr, &format!("/queue/item/{id}/api/json"), &form[..1]).await;
    assert_eq!(item.status, 200, "the queued build is in the queue");

    assert_eq!(
        request(addr, "POST", "/job/plain/buildWithParameters", &form, "X=1")
            .await
            .status,
        400,
        "a job without parameters refuses buildWithParameters"
    );
    assert_eq!(
        request(addr, "POST", "/job/plain/build?delay=0sec", &form[..1], "")
            .await
            .status,
        201
    );
    assert_eq!(
        request(addr, "POST", "/job/nope/build", &form[..1], "")
            .await
            .status,
        404
    );

    let described = request(
        addr,
        "POST",
        "/job/folder/job/app/41/submitDescription",
        &form,
        "description=ci-fleet%3A+oom&Submit=Submit",
    )
    .await;
    assert_eq!(described.status, 302);
    assert_eq!(
        app.world().state.builds[0].description.as_deref(),
        Some("ci-fleet: oom")
    );
}

#[tokio::test]
async fn teamcity_serves_finished_builds_logs_comments_and_queues_builds() {
    let (addr, app) = fake_ci::spawn(Kind::TeamCity, state())
        .await
        .expect("starts");
    let json_auth = [
        ("Authorization", "Bearer tc-token"),
        ("Accept", "application/json"),
    ];
    let fields = "id,buildTypeId,status,state,agent(name),canceledInfo(text),revisions(revision(version,vcs-root-instance(vcs-root-id))),properties(property(name,value,own))";
    let build = get(
        addr,
        &format!("/app/rest/builds/id:5001?fields={fields}"),
        &json_auth,
    )
    .await;
    assert_eq!(build.status, 200, "{}", build.body);
    assert_eq!(
        build.json(),
        json!({
            "id": 5001, "buildTypeId": "App_Test", "status": "UNKNOWN", "state": "finished",
            "agent": {"name": "i-0abc"},
            "canceledInfo": {"text": "Agent removed"},
            "revisions": {"count": 1, "revision": [{"version": "9cf121f0", "vcs-root-instance": {"vcs-root-id": "App_Git"}}]},
            "properties": {"count": 2, "property": [
                {"name": "AGENT_LABEL", "value": "linux-8g", "own": true},
                {"name": "system.DIST", "value": "%build.counter%"}
            ]}
        })
    );
    let log = get(
        addr,
        "/downloadBuildLog.html?buildId=5001&plain=true",
        &[("Authorization", "Bearer tc-token"), ("Range", "bytes=-10")],
    )
    .await;
    assert_eq!(
        (log.status, log.body.as_str()),
        (200, CONSOLE),
        "sent whole"
    );
    assert_eq!(
        get(addr, "/downloadBuildLog.html?buildId=5001", &[])
            .await
            .status,
        401
    );

    let commented = request(
        addr,
        "PUT",
        "/app/rest/builds/id:5001/comment",
        &[
            ("Authorization", "Bearer tc-token"),
            ("Content-Type", "text/plain"),
        ],
        "ci-fleet: agent-lost",
    )
    .await;
    assert_eq!(commented.status, 204);
    assert_eq!(
        app.world().state.builds[2].description.as_deref(),
        Some("ci-fleet: agent-lost")
    );

    let post = |body: &'static str, content_type: &'static str| async move {
        request(
            addr,
            "POST",
            "/app/rest/buildQueue",
            &[
                ("Authorization", "Bearer tc-token"),
                ("Accept", "application/json"),
                ("Content-Type", content_type),
            ],
            body,
        )
        .await
    };
    let queued = post(
        r#"{"buildType":{"id":"App_Test"},"branchName":"main","comment":{"text":"ci-fleet retry"},"properties":{"property":[{"name":"AGENT_LABEL","value":"linux-16g"}]},"revisions":{"revision":[{"version":"9cf121f0"}]}}"#,
        "application/json",
    )
    .await;
    assert_eq!(queued.status, 200, "{}", queued.body);
    let answer = queued.json();
    let id = answer["id"].as_u64().expect("id");
    assert_eq!(answer["state"], "queued");
    assert_eq!(answer["comment"]["text"], "ci-fleet retry");
    assert_eq!(
        answer["href"],
        json!(format!("/app/rest/buildQueue/id:{id}"))
    );
    {
        let world = app.world();
        let triggered = &world.state.triggered[0];
        assert_eq!(
            (triggered.job.as_str(), triggered.branch.as_deref()),
            ("App_Test", Some("main"))
        );
        assert_eq!(triggered.revisions, vec!["9cf121f0".to_owned()]);
        assert_eq!(triggered.parameters["AGENT_LABEL"], "linux-16g");
    }
    let queue = get(addr, &format!("/app/rest/buildQueue/id:{id}"), &json_auth).await;
    assert_eq!(queue.status, 200);
    assert_eq!(
        post(r#"{"buildType":{"id":"Nope"}}"#, "application/json")
            .await
            .status,
        404
    );
    assert_eq!(post("<build/>", "application/xml").await.status, 415);
    assert_eq!(post("{", "application/json").await.status, 400);
}
