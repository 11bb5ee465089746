//! The fake Jenkins over HTTP: what a client sees on the wire.

mod support;

use fake_ci::Kind;
use serde_json::json;
use support::{basic, get, request, start};

fn fleet() -> serde_json::Value {
    json!({
        "agents": [
            {"name": "linux-1", "labels": ["linux", "docker"], "executors": 2, "running": [{"job": "app", "number": 12, "id": 90}]},
            {"name": "linux-2", "labels": ["linux", "docker"], "executors": 2, "temporarily_offline": true, "offline_message": "maintenance"},
            {"name": "mac-1", "labels": ["mac"], "executors": 1}
        ],
        "queue": [
            {"id": 101, "job": "app", "label": "linux && docker"},
            {"id": 102, "job": "ios", "label": "mac"},
            {"id": 103, "job": "gpu", "label": "gpu"}
        ]
    })
}

#[tokio::test]
async fn depth_zero_and_tree_filtering() {
    let addr = start(Kind::Jenkins, fleet()).await;
    let auth = basic("ci", "tok");
    let reply = get(addr, "/computer/api/json", &[("Authorization", &auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Jenkins"), Some("2.579"));
    let set = reply.json();
    // Online computers only: linux-1 (2) and mac-1 (1); linux-2 is temporarily offline.
    assert_eq!(set["totalExecutors"], 3);
    assert_eq!(set["busyExecutors"], 1);
    let linux1 = &set["computer"][1];
    assert_eq!(linux1["displayName"], "linux-1");
    assert_eq!(linux1["executors"], json!([{}, {}]));
    assert_eq!(
        linux1["assignedLabels"],
        json!([{"name": "linux"}, {"name": "docker"}, {"name": "linux-1"}])
    );
    // Monitor maps are not pruned by depth.
    assert_eq!(
        linux1["monitorData"]["hudson.node_monitors.DiskSpaceMonitor"]["path"],
        "/home/jenkins/agent"
    );
    let linux2 = &set["computer"][2];
    assert_eq!(linux2["offline"], true);
    assert_eq!(linux2["temporarilyOffline"], true);
    assert_eq!(linux2["offlineCauseReason"], "maintenance");
    assert_eq!(
        linux2["offlineCause"],
        json!({"_class": "hudson.slaves.OfflineCause$UserCause"})
    );
    assert!(
        linux2.get("$raw").is_none(),
        "export annotations must not leak"
    );

    let tree = "computer[displayName,idle,executors[idle,progress,currentExecutable[number]]]{1,3}";
    let reply = get(
        addr,
        &format!("/computer/api/json?tree={tree}"),
        &[("Authorization", &auth)],
    )
    .await;
    let set = reply.json();
    assert_eq!(
        set,
        json!({
            "_class": "hudson.model.ComputerSet",
            "computer": [
                {"_class": "hudson.slaves.SlaveComputer", "displayName": "linux-1", "idle": false, "executors": [
                    {"idle": false, "progress": 50, "currentExecutable": {"_class": "hudson.model.FreeStyleBuild", "number": 12}},
                    {"idle": true, "progress": -1, "currentExecutable": null}
                ]},
                {"_class": "hudson.slaves.SlaveComputer", "displayName": "linux-2", "idle": true, "executors": [
                    {"idle": true, "progress": -1, "currentExecutable": null},
                    {"idle": true, "progress": -1, "currentExecutable": null}
                ]}
            ]
        })
    );
    let reply = get(
        addr,
        "/job/app/api/json?tree=labelExpression",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(
        reply.json(),
        json!({"_class": "hudson.model.FreeStyleProject", "labelExpression": "linux && docker"})
    );
    let reply = get(
        addr,
        "/computer/api/json?tree=computer[",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn class_fields_off_gives_old_shapes() {
    let mut state = fleet();
    state["class_fields"] = json!(false);
    state["jenkins_version"] = json!("2.60.3");
    let addr = start(Kind::Jenkins, state).await;
    let set = get(
        addr,
        "/computer/api/json",
        &[("Authorization", &basic("ci", "tok"))],
    )
    .await
    .json();
    assert!(set.get("_class").is_none());
    assert_eq!(set["computer"][0]["displayName"], "master");
    assert_eq!(set["computer"][2]["offlineCause"], json!({}));
    assert!(
        set["computer"][1].get("assignedLabels").is_none(),
        "not exported before 2.94"
    );
}

#[tokio::test]
async fn why_wording_follows_the_version() {
    let auth = basic("ci", "tok");
    let english = [("Authorization", auth.as_str()), ("Accept-Language", "en")];
    let addr = start(Kind::Jenkins, fleet()).await;
    let queue = get(addr, "/queue/api/json", &english).await.json();
    let whys: Vec<&str> = queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["why"].as_str().expect("why"))
        .collect();
    assert_eq!(
        whys,
        vec![
            "Waiting for next available executor on \u{2018}linux&&docker\u{2019}",
            "Waiting for next available executor on \u{2018}mac-1\u{2019}",
            "There are no nodes with the label \u{2018}gpu\u{2019}",
        ]
    );
    assert_eq!(
        queue["items"][2]["stuck"], true,
        "a label with no nodes is offline, hence stuck"
    );
    assert_eq!(
        queue["items"][0]["_class"],
        "hudson.model.Queue$BuildableItem"
    );
    assert_eq!(
        queue["items"][0]["task"],
        json!({"_class": "hudson.model.FreeStyleProject", "name": "app", "url": format!("http://{addr}/job/app/"), "color": "blue_anime"})
    );

    let mut old = fleet();
    old["jenkins_version"] = json!("2.100");
    let addr = start(Kind::Jenkins, old).await;
    let item = get(addr, "/queue/item/102/api/json", &english).await.json();
    assert_eq!(item["why"], "Waiting for next available executor on mac-1");
    let item = get(addr, "/queue/item/103/api/json", &english).await.json();
    assert_eq!(item["why"], "There are no nodes with the label 'gpu'");
    // The started build's queue item lingers as a LeftItem pointing at the build.
    let left = get(addr, "/queue/item/90/api/json", &[("Authorization", &auth)])
        .await
        .json();
    assert_eq!(left["_class"], "hudson.model.Queue$LeftItem");
    assert_eq!(left["executable"]["number"], 12);
    assert_eq!(
        get(
            addr,
            "/queue/item/999/api/json",
            &[("Authorization", &auth)]
        )
        .await
        .status,
        404
    );
}

/// No agents at all (Swarm deleted them, or dead-agent removal did): with 0 executors on
/// the built-in node (the state's default, Jenkins' own recommendation) `why` names no
/// label, in either language, and the item is stuck (its label is offline); with an idle
/// built-in executor, that node's refusal names the label.
#[tokio::test]
async fn with_no_agents_why_names_a_label_only_if_the_builtin_node_refuses_it() {
    let auth = basic("ci", "tok");
    let english = [("Authorization", auth.as_str()), ("Accept-Language", "en")];
    let german = [("Authorization", auth.as_str())];
    let queue = json!([
        {"id": 201, "job": "app", "label": "linux && docker"},
        {"id": 202, "job": "deploy", "label": "linux", "label_exposed": false},
        {"id": 203, "job": "any"}
    ]);
    let items = |addr, headers: Vec<(&str, &str)>| {
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            get(addr, "/queue/api/json?tree=items[why,stuck]", &headers)
                .await
                .json()["items"]
                .clone()
        }
    };
    let addr = start(Kind::Jenkins, json!({"queue": queue})).await;
    let waiting = "Waiting for next available executor";
    assert_eq!(
        items(addr, english.to_vec()).await,
        json!([
            {"_class": "hudson.model.Queue$BuildableItem", "why": waiting, "stuck": true},
            {"_class": "hudson.model.Queue$BuildableItem", "why": waiting, "stuck": true},
            {"_class": "hudson.model.Queue$BuildableItem", "why": waiting, "stuck": false}
        ])
    );
    let whys: Vec<serde_json::Value> = items(addr, german.to_vec())
        .await
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["why"].clone())
        .collect();
    assert_eq!(
        whys,
        vec![json!("Warte auf den n\u{e4}chsten freien Build-Prozessor"); 3]
    );

    let addr = start(
        Kind::Jenkins,
        json!({"queue": queue, "builtin_executors": 2}),
    )
    .await;
    let english_items = items(addr, english.to_vec()).await;
    assert_eq!(
        english_items[0]["why"],
        "\u{2018}Jenkins\u{2019} doesn\u{2019}t have label \u{2018}linux&&docker\u{2019}"
    );
    assert_eq!(english_items[2]["why"], waiting);
    assert_eq!(
        items(addr, german.to_vec()).await[1]["why"],
        "\u{201E}Jenkins\u{201C} hat nicht das Label \u{201E}linux\u{201C}"
    );
}

/// The fake plays a Jenkins whose JVM locale is German: without Accept-Language (or with
/// `de`) the queue's `why`, the offline causes and the built-in node's name are those of
/// Messages_de.properties; `en` gets the English of Messages.properties.
#[tokio::test]
async fn german_unless_english_is_asked_for() {
    let auth = basic("ci", "tok");
    let mut state = fleet();
    state["queue"].as_array_mut().expect("queue").extend([
        json!({"id": 104, "job": "app", "label": "linux", "state": "blocked", "eta_ms": 192000}),
        json!({"id": 105, "job": "lint", "state": "waiting", "quiet_remaining_ms": 4900}),
    ]);
    let addr = start(Kind::Jenkins, state).await;
    let whys = |queue: serde_json::Value| -> Vec<String> {
        queue["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["why"].as_str().expect("why").to_owned())
            .collect()
    };
    let german = vec![
        "Warte auf den n\u{e4}chsten freien Build-Prozessor auf linux&&docker",
        "Warte auf den n\u{e4}chsten freien Build-Prozessor auf mac-1",
        "Es gibt keine Knoten mit dem Label \u{201E}gpu\u{201C}",
        "Build #12 ist bereits in Arbeit (ETA: 3 Minuten 12 Sekunden)",
        "In Ruhe-Periode. Endet in 4,9 Sekunden",
    ];
    let english = vec![
        "Waiting for next available executor on \u{2018}linux&&docker\u{2019}",
        "Waiting for next available executor on \u{2018}mac-1\u{2019}",
        "There are no nodes with the label \u{2018}gpu\u{2019}",
        "Build #12 is already in progress (ETA: 3 min 12 sec)",
        // Numbers are formatted in the JVM's locale whatever the request asks.
        "In the quiet period. Expires in 4,9 sec",
    ];
    let asking = |language: Option<&'static str>| {
        let mut headers = vec![("Authorization", auth.clone())];
        if let Some(language) = language {
            headers.push(("Accept-Language", language.to_owned()));
        }
        headers
    };
    for (language, expected) in [
        (None, &german),
        (Some("de-DE,de;q=0.9"), &german),
        (Some("en"), &english),
        (Some("en-US,en;q=0.9,de;q=0.8"), &english),
        (Some("de;q=0.5, en;q=0.8"), &english),
    ] {
        let headers = asking(language);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let queue = get(addr, "/queue/api/json", &headers).await.json();
        assert_eq!(whys(queue), *expected, "Accept-Language {language:?}");
    }

    // Offline causes: a user's mark, and the built-in node's display name.
    let tree = "/computer/api/json?tree=computer[displayName,offlineCause[description],offlineCauseReason]";
    let german = get(addr, tree, &[("Authorization", &auth)]).await.json();
    assert_eq!(german["computer"][0]["displayName"], "master");
    assert_eq!(
        german["computer"][2]["offlineCause"]["description"],
        "Getrennt durch Benutzer ci : maintenance"
    );
    assert_eq!(
        german["computer"][2]["offlineCauseReason"], "maintenance",
        "the user's own text is not translated"
    );
    let english = get(
        addr,
        tree,
        &[("Authorization", &auth), ("Accept-Language", "en")],
    )
    .await
    .json();
    assert_eq!(english["computer"][0]["displayName"], "Built-In Node");
    assert_eq!(
        english["computer"][2]["offlineCause"]["description"],
        "Disconnected by ci : maintenance"
    );
}

#[tokio::test]
async fn toggle_offline_really_toggles() {
    let addr = start(Kind::Jenkins, fleet()).await;
    let auth = basic("ci", "tok");
    let headers = [("Authorization", auth.as_str())];
    let reply = request(
        addr,
        "POST",
        "/computer/mac-1/toggleOffline?offlineMessage=spot+interruption",
        &headers,
        "",
    )
    .await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("Location"), Some("/computer/mac-1/"));
    let node = get(addr, "/computer/mac-1/api/json", &headers).await.json();
    assert_eq!(
        (node["offline"].clone(), node["temporarilyOffline"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(node["offlineCauseReason"], "spot interruption");

    let reply = request(
        addr,
        "POST",
        "/computer/mac-1/toggleOffline?offlineMessage=again",
        &headers,
        "",
    )
    .await;
    assert_eq!(reply.status, 302);
    let node = get(addr, "/computer/mac-1/api/json", &headers).await.json();
    assert_eq!(
        node["temporarilyOffline"], false,
        "a second toggle brings the node back"
    );
    assert_eq!(node["offlineCauseReason"], "");
    assert_eq!(node["offlineCause"], json!(null));

    let reply = get(addr, "/computer/mac-1/toggleOffline", &headers).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("POST"));
    let reply = request(addr, "POST", "/computer/nope/toggleOffline", &headers, "").await;
    assert_eq!(reply.status, 404);

    let reply = request(
        addr,
        "POST",
        "/computer/linux-1/doDisconnect?offlineMessage=terminated",
        &headers,
        "",
    )
    .await;
    assert_eq!(reply.status, 302);
    let node = get(addr, "/computer/linux-1/api/json", &headers)
        .await
        .json();
    assert_eq!(
        (node["offline"].clone(), node["temporarilyOffline"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(node["offlineCauseReason"], "terminated");
}

#[tokio::test]
async fn crumbs_are_tied_to_their_session() {
    let addr = start(Kind::Jenkins, fleet()).await;
    let password = basic("ci", "pw");
    let target = "/computer/mac-1/toggleOffline";
    let reply = request(addr, "POST", target, &[("Authorization", &password)], "").await;
    assert_eq!(reply.status, 403, "password auth needs a crumb");

    let issued = get(
        addr,
        "/crumbIssuer/api/json",
        &[("Authorization", &password)],
    )
    .await;
    assert_eq!(issued.status, 200);
    let crumb = issued.json()["crumb"].as_str().expect("crumb").to_owned();
    assert_eq!(crumb.len(), 64);
    assert_eq!(issued.json()["crumbRequestField"], "Jenkins-Crumb");
    let cookie = issued
        .header("Set-Cookie")
        .expect("session cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    assert!(cookie.starts_with("JSESSIONID."), "{cookie}");

    let reply = request(
        addr,
        "POST",
        target,
        &[("Authorization", &password), ("Jenkins-Crumb", &crumb)],
        "",
    )
    .await;
    assert_eq!(reply.status, 403, "a crumb without its session is refused");
    let other = get(
        addr,
        "/crumbIssuer/api/json",
        &[("Authorization", &password)],
    )
    .await;
    let other_cookie = other
        .header("Set-Cookie")
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let reply = request(
        addr,
        "POST",
        target,
        &[
            ("Authorization", &password),
            ("Jenkins-Crumb", &crumb),
            ("Cookie", &other_cookie),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 403, "a crumb from another session is refused");
    let reply = request(
        addr,
        "POST",
        target,
        &[
            ("Authorization", &password),
            ("Jenkins-Crumb", &crumb),
            ("Cookie", &cookie),
        ],
        "",
    )
    .await;
    assert_eq!(reply.status, 302);

    let reply = request(
        addr,
        "POST",
        target,
        &[("Authorization", &basic("ci", "tok"))],
        "",
    )
    .await;
    assert_eq!(reply.status, 302, "API tokens are exempt from the crumb");

    let reply = get(
        addr,
        "/api/json",
        &[("Authorization", &basic("ci", "wrong"))],
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("WWW-Authenticate"),
        Some("Basic realm=\"Jenkins\"")
    );
    let reply = get(addr, "/api/json", &[]).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("X-You-Are-Authenticated-As"),
        Some("anonymous")
    );

    let mut no_csrf = fleet();
    no_csrf["auth"] = json!({"csrf": false});
    let addr = start(Kind::Jenkins, no_csrf).await;
    assert_eq!(
        get(
            addr,
            "/crumbIssuer/api/json",
            &[("Authorization", &password)]
        )
        .await
        .status,
        404
    );
    assert_eq!(
        request(addr, "POST", target, &[("Authorization", &password)], "")
            .await
            .status,
        302
    );
}

#[tokio::test]
async fn control_api_faults_and_request_log() {
    let addr = start(Kind::Jenkins, json!({})).await;
    let auth = basic("ci", "tok");
    let reply = request(
        addr,
        "POST",
        "/_fake/fault",
        &[("Content-Type", "application/json")],
        r#"{"mode":"garbage"}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    let reply = get(addr, "/queue/api/json", &[("Authorization", &auth)]).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_err());
    request(addr, "POST", "/_fake/fault", &[], r#"{"mode":"http-500"}"#).await;
    assert_eq!(
        get(addr, "/api/json", &[("Authorization", &auth)])
            .await
            .status,
        500
    );
    request(addr, "POST", "/_fake/fault", &[], r#"{"mode":"none"}"#).await;
    assert_eq!(
        request(addr, "POST", "/_fake/fault", &[], r#"{"mode":"sometimes"}"#)
            .await
            .status,
        400
    );

    let state = json!({"agents": [{"name": "x"}]});
    let reply = request(addr, "PUT", "/_fake/state", &[], &state.to_string()).await;
    assert_eq!(reply.status, 200);
    let computers = get(
        addr,
        "/computer/api/json?tree=computer[displayName]",
        &[("Authorization", &auth)],
    )
    .await
    .json();
    assert_eq!(computers["computer"][1]["displayName"], "x");

    request(
        addr,
        "POST",
        "/computer/x/toggleOffline",
        &[
            ("Authorization", &basic("ci", "pw")),
            ("Jenkins-Crumb", "abc"),
        ],
        "",
    )
    .await;
    let log = get(addr, "/_fake/requests", &[]).await.json();
    let last = log.as_array().and_then(|l| l.last()).expect("logged");
    assert_eq!(last["path"], "/computer/x/toggleOffline");
    assert_eq!(last["method"], "POST");
    assert_eq!(last["has_crumb"], true);
    assert_eq!(last["auth_kind"], "password");
    assert!(
        log.as_array()
            .expect("list")
            .iter()
            .all(|r| !r["path"].as_str().unwrap_or("").starts_with("/_fake"))
    );
    assert_eq!(
        request(addr, "DELETE", "/_fake/requests", &[], "")
            .await
            .status,
        204
    );
    assert_eq!(get(addr, "/_fake/requests", &[]).await.json(), json!([]));
}
