//! The fake TeamCity's agent removal, a queued build's compatible agents as their own
//! resource, and why queued builds wait (issue 17 item 6), over HTTP.

mod support;

use fake_ci::Kind;
use serde_json::json;
use support::{get, request, start};

const JSON: [(&str, &str); 2] = [
    ("Authorization", "Bearer tc-token"),
    ("Accept", "application/json"),
];

fn world() -> serde_json::Value {
    json!({
        "agents": [
            {"name": "busy", "pool": "Linux", "running": [{"job": "App_Build", "number": 7, "id": 501}]},
            {"name": "idle", "pool": "Linux"},
            {"name": "drained", "pool": "Linux", "enabled": false},
            {"name": "gone", "pool": "Linux", "connected": false},
            {"name": "other", "pool": "Windows"}
        ],
        "max_running_builds": {"App_Build": 1, "App_Test": 2},
        "queue": [
            {"id": 601, "job": "App_Build", "pools": ["Linux"]},
            {"id": 602, "job": "App_Test", "pools": ["Linux"]},
            {"id": 603, "job": "App_Db", "pools": ["Linux"], "waits_for_lock": "TestDb"},
            {"id": 604, "job": "App_Mac", "pools": []},
            {"id": 605, "job": "App_Deploy", "pools": ["Linux"], "wait_reason": "Build dependencies have not been built yet"}
        ]
    })
}

async fn wait_reasons(addr: std::net::SocketAddr) -> Vec<String> {
    let queue = get(
        addr,
        "/app/rest/buildQueue?fields=build(id,waitReason)",
        &JSON,
    )
    .await
    .json();
    queue["build"]
        .as_array()
        .expect("builds")
        .iter()
        .map(|b| b["waitReason"].as_str().expect("a wait reason").to_owned())
        .collect()
}

#[tokio::test]
async fn queued_builds_wait_for_limits_locks_and_agents_in_their_own_words() {
    let addr = start(Kind::TeamCity, world()).await;
    let reasons = wait_reasons(addr).await;
    // App_Build allows one running build and one runs: it waits though "idle" is idle.
    assert_eq!(
        reasons[0],
        "The limit of 1 simultaneously running builds of this build configuration is reached (wording invented by fake-ci)"
    );
    // App_Test allows two and none runs: it waits for an agent like any other build.
    assert_eq!(
        reasons[1],
        "There are no idle compatible agents which can run this build"
    );
    assert_eq!(
        reasons[2],
        "Waiting for a lock on the shared resource 'TestDb' (wording invented by fake-ci)"
    );
    // No compatible agent at all: the documented wording, not an invented one.
    assert_eq!(
        reasons[3],
        "There are no idle compatible agents which can run this build"
    );
    assert_eq!(reasons[4], "Build dependencies have not been built yet");
    for reason in &reasons {
        assert!(
            !reason.contains("There are no compatible agents"),
            "no invented 'no compatible agents' wording: {reason}"
        );
    }

    // The held builds keep their compatible agents, the idle one among them.
    let held = get(
        addr,
        "/app/rest/buildQueue/id:601?fields=compatibleAgents(agent(name))",
        &JSON,
    )
    .await
    .json();
    assert_eq!(
        held["compatibleAgents"],
        json!({"count": 2, "agent": [{"name": "busy"}, {"name": "idle"}]})
    );
}

#[tokio::test]
async fn the_limit_counts_running_builds_of_the_configuration_only() {
    let mut state = world();
    state["max_running_builds"] = json!({"App_Build": 2, "App_Test": 0});
    state["agents"][1]["running"] = json!([{"job": "App_Test", "number": 3, "id": 502}]);
    let addr = start(Kind::TeamCity, state).await;
    let reasons = wait_reasons(addr).await;
    // One App_Build runs of two allowed; 0 means no limit.
    assert_eq!(
        reasons[0],
        "There are no idle compatible agents which can run this build"
    );
    assert_eq!(
        reasons[1],
        "There are no idle compatible agents which can run this build"
    );
}

#[tokio::test]
async fn a_queued_builds_compatible_agents_resource_lists_what_the_build_shows() {
    let addr = start(Kind::TeamCity, world()).await;
    let nested = get(
        addr,
        "/app/rest/buildQueue/id:602?fields=compatibleAgents(agent(id,name))",
        &JSON,
    )
    .await
    .json();
    let own = get(addr, "/app/rest/buildQueue/id:602/compatibleAgents", &JSON).await;
    assert_eq!(own.status, 200, "{}", own.body);
    let own = own.json();
    // No pager: count and agents, no href; agents in their short view.
    assert_eq!(own["count"], 2);
    assert!(own.get("href").is_none(), "{own}");
    assert_eq!(
        own["agent"][1],
        json!({"id": 2, "name": "idle", "typeId": 2, "href": "/app/rest/agents/id:2",
               "webUrl": format!("http://{addr}/agentDetails.html?id=2&agentTypeId=2&realAgentName=idle")})
    );
    let selected = get(
        addr,
        "/app/rest/buildQueue/id:602/compatibleAgents?fields=agent(id,name)",
        &JSON,
    )
    .await
    .json();
    assert_eq!(selected, nested["compatibleAgents"]);
    // Disabled, disconnected and other pools' agents are not compatible with the build.
    assert_eq!(
        selected,
        json!({"count": 2, "agent": [{"id": 1, "name": "busy"}, {"id": 2, "name": "idle"}]})
    );

    let none = get(
        addr,
        "/app/rest/buildQueue/604/compatibleAgents?fields=count",
        &JSON,
    )
    .await
    .json();
    assert_eq!(none, json!({"count": 0}));
    // Started builds are not queued any more: QueuedBuildFinder.getItem finds nothing.
    let started = get(addr, "/app/rest/buildQueue/id:501/compatibleAgents", &JSON).await;
    assert_eq!(started.status, 404, "{}", started.body);
    // XML unless JSON is asked for, as every entity.
    let xml = get(
        addr,
        "/app/rest/buildQueue/id:602/compatibleAgents",
        &[("Authorization", "Bearer tc-token")],
    )
    .await;
    assert_eq!(xml.status, 200);
    assert!(xml.body.contains("<agents count=\"2\""), "{}", xml.body);
}

#[tokio::test]
async fn deleting_agents_removes_the_disconnected_and_refuses_the_connected() {
    let addr = start(Kind::TeamCity, world()).await;
    let bearer = [("Authorization", "Bearer tc-token")];
    let refused = request(addr, "DELETE", "/app/rest/agents/name:idle", &bearer, "").await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert!(
        refused.body.starts_with(
            "Error has occurred during request processing, status code: 500 (Internal Server Error).\nDetails: "
        ),
        "{}",
        refused.body
    );

    let removed = request(addr, "DELETE", "/app/rest/agents/name:gone", &bearer, "").await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    assert!(removed.body.is_empty());
    let all = get(
        addr,
        "/app/rest/agents?locator=defaultFilter:false&fields=agent(id,name)",
        &JSON,
    )
    .await
    .json();
    // The others keep their ids: "other" is still 5 though it moved up a place.
    assert_eq!(
        all["agent"],
        json!([{"id": 1, "name": "busy"}, {"id": 2, "name": "idle"}, {"id": 3, "name": "drained"}, {"id": 5, "name": "other"}])
    );
    let again = request(addr, "DELETE", "/app/rest/agents/name:gone", &bearer, "").await;
    assert_eq!(again.status, 404, "{}", again.body);
    let unauthenticated = request(addr, "DELETE", "/app/rest/agents/id:5", &[], "").await;
    assert_eq!(unauthenticated.status, 401);
}
