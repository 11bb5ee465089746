//! The fake TeamCity over HTTP: what a client sees on the wire.

mod support;

use fake_ci::Kind;
use serde_json::json;
use support::{get, request, start};

const BEARER: &str = "Bearer tc-token";

fn fleet() -> serde_json::Value {
    json!({
        "page_size": 2,
        "agents": [
            {"name": "tc-1", "pool": "Linux", "id": 11, "running": [{"job": "App_Build", "number": 7, "id": 501}]},
            {"name": "tc-2", "pool": "Linux", "id": 12, "enabled": false},
            {"name": "tc-3", "pool": "Linux", "id": 13, "authorized": false, "connected": false},
            {"name": "tc-4", "pool": "Default", "id": 14}
        ],
        "queue": [
            {"id": 601, "job": "App_Test", "pools": ["Linux"], "queued_at_ms": 1763800000000_i64},
            {"id": 602, "job": "App_Deploy", "pools": ["Linux"], "pinned_pool": "Linux", "wait_reason": "Build dependencies have not been built yet"}
        ]
    })
}

fn json_headers() -> [(&'static str, &'static str); 2] {
    [("Authorization", BEARER), ("Accept", "application/json")]
}

#[tokio::test]
async fn bearer_auth_is_required() {
    let addr = start(Kind::TeamCity, fleet()).await;
    let reply = get(addr, "/app/rest/server", &[("Accept", "application/json")]).await;
    assert_eq!(reply.status, 401);
    let reply = get(
        addr,
        "/app/rest/server",
        &[
            ("Authorization", "Bearer nope"),
            ("Accept", "application/json"),
        ],
    )
    .await;
    assert_eq!(reply.status, 401);
    let reply = get(addr, "/app/rest/server", &json_headers()).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["versionMajor"], 2025);
}

#[tokio::test]
async fn paging_links_follow_full_pages() {
    let addr = start(Kind::TeamCity, fleet()).await;
    // authorized:true is the default filter, so tc-3 is hidden: tc-1, tc-2, tc-4 remain.
    let page1 = get(addr, "/httpAuth/app/rest/agents", &json_headers())
        .await
        .json();
    assert_eq!(page1["count"], 2);
    assert_eq!(page1["href"], "/httpAuth/app/rest/agents");
    assert_eq!(
        page1["nextHref"],
        "/httpAuth/app/rest/agents?locator=count:2,start:2"
    );
    assert!(page1.get("prevHref").is_none());
    let next = page1["nextHref"].as_str().expect("nextHref").to_owned();
    let page2 = get(addr, &next, &json_headers()).await.json();
    assert_eq!(page2["count"], 1);
    assert_eq!(page2["agent"][0]["name"], "tc-4");
    assert!(
        page2.get("nextHref").is_none(),
        "a short page ends the walk"
    );
    assert_eq!(
        page2["prevHref"],
        "/httpAuth/app/rest/agents?locator=count:2,start:0"
    );

    // A full last page still links onwards, to an empty page without the array.
    let full = get(
        addr,
        "/app/rest/agents?locator=authorized:any,count:2,start:2",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(full["count"], 2);
    assert_eq!(
        full["nextHref"],
        "/app/rest/agents?locator=authorized:any,count:2,start:4"
    );
    let empty = get(
        addr,
        full["nextHref"].as_str().expect("href"),
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(empty["count"], 0);
    assert!(empty.get("agent").is_none());
    assert!(empty.get("nextHref").is_none());
}

#[tokio::test]
async fn authorized_filter_and_field_omission() {
    let addr = start(Kind::TeamCity, fleet()).await;
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["agent"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x["name"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = get(addr, "/app/rest/agents?locator=count:10", &json_headers())
        .await
        .json();
    assert_eq!(names(&all), vec!["tc-1", "tc-2", "tc-4"]);
    // Short list items: no flags, no pool.
    assert_eq!(
        all["agent"][1],
        json!({"id": 12, "name": "tc-2", "typeId": 12, "href": "/app/rest/agents/id:12",
               "webUrl": format!("http://{addr}/agentDetails.html?id=12&agentTypeId=12&realAgentName=tc-2")})
    );
    let any = get(
        addr,
        "/app/rest/agents?locator=authorized:any,count:10",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(names(&any), vec!["tc-1", "tc-2", "tc-3", "tc-4"]);
    let pool = get(
        addr,
        "/app/rest/agents?locator=pool:(name:Linux),count:10",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(
        names(&pool),
        vec!["tc-1", "tc-2", "tc-3"],
        "pool: switches the authorized default off"
    );

    let fields = "count,agent(id,enabled,connected,pool(id,name),build(id,buildTypeId))";
    let selected = get(
        addr,
        &format!("/app/rest/agents?locator=count:10&fields={fields}"),
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(
        selected["agent"][1],
        json!({"id": 12, "enabled": false, "connected": true, "pool": {"id": 1, "name": "Linux"}})
    );
    assert_eq!(
        selected["agent"][0]["build"],
        json!({"id": 501, "buildTypeId": "App_Build"})
    );
    assert!(selected.get("href").is_none());

    let single = get(addr, "/app/rest/agents/name:tc-3", &json_headers())
        .await
        .json();
    assert_eq!(
        (single["connected"].clone(), single["authorized"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(
        single["pool"],
        json!({"id": 1, "name": "Linux", "href": "/app/rest/agentPools/id:1"})
    );

    let missing = get(addr, "/app/rest/agents/name:ghost", &json_headers()).await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .body
            .starts_with("Responding with error, status code: 404 (Not Found).\nDetails: "),
        "{}",
        missing.body
    );
    let bad = get(
        addr,
        "/app/rest/agents?locator=colour:blue",
        &json_headers(),
    )
    .await;
    assert_eq!(bad.status, 400);

    let xml = get(
        addr,
        "/app/rest/agents?locator=count:1",
        &[("Authorization", BEARER)],
    )
    .await;
    assert!(
        xml.header("Content-Type")
            .is_some_and(|c| c.starts_with("application/xml"))
    );
    assert!(xml.body.contains("<agents count=\"1\""), "{}", xml.body);
    assert!(xml.body.contains("<agent "), "{}", xml.body);
}

#[tokio::test]
async fn enabled_is_text_plain_only() {
    let addr = start(Kind::TeamCity, fleet()).await;
    let reply = get(addr, "/app/rest/agents/id:14/enabled", &json_headers()).await;
    assert_eq!(reply.status, 406);
    let put_json = [
        ("Authorization", BEARER),
        ("Content-Type", "text/plain"),
        ("Accept", "application/json"),
    ];
    assert_eq!(
        request(
            addr,
            "PUT",
            "/app/rest/agents/id:14/enabled",
            &put_json,
            "false"
        )
        .await
        .status,
        406
    );
    let reply = get(
        addr,
        "/app/rest/agents/id:14/enabled",
        &[("Authorization", BEARER), ("Accept", "text/plain")],
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "true"));

    let put = [
        ("Authorization", BEARER),
        ("Content-Type", "text/plain"),
        ("Accept", "text/plain"),
    ];
    let reply = request(addr, "PUT", "/app/rest/agents/id:14/enabled", &put, "false").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "false"));
    let agent = get(addr, "/app/rest/agents/id:14", &json_headers())
        .await
        .json();
    assert_eq!(agent["enabled"], false);
    let reply = request(addr, "PUT", "/app/rest/agents/id:14/enabled", &put, "yes").await;
    assert_eq!(reply.body, "false", "anything but \"true\" is false");
    let reply = request(addr, "PUT", "/app/rest/agents/id:14/enabled", &put, "TRUE").await;
    assert_eq!(reply.body, "true");

    let info_headers = [
        ("Authorization", BEARER),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let reply = request(
        addr,
        "PUT",
        "/app/rest/agents/id:14/enabledInfo",
        &info_headers,
        r#"{"status":false,"comment":{"text":"spot"}}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    let info = reply.json();
    assert_eq!(info["status"], false);
    assert_eq!(info["comment"]["text"], "spot");
    assert_eq!(info["comment"]["user"]["username"], "admin");
    assert!(
        info["comment"]["timestamp"]
            .as_str()
            .is_some_and(|t| t.len() == 20 && t.contains('T')),
        "{info}"
    );
    assert_eq!(
        request(
            addr,
            "PUT",
            "/app/rest/agents/id:14/enabledInfo",
            &info_headers,
            ""
        )
        .await
        .status,
        400
    );
    assert_eq!(
        request(
            addr,
            "PUT",
            "/app/rest/agents/id:14/enabledInfo",
            &info_headers,
            "{}"
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn queue_builds_and_their_start() {
    let addr = start(Kind::TeamCity, fleet()).await;
    let queue = get(addr, "/app/rest/buildQueue", &json_headers())
        .await
        .json();
    assert_eq!(queue["count"], 2);
    assert_eq!(
        queue["build"][0],
        json!({"id": 601, "buildTypeId": "App_Test", "state": "queued", "href": "/app/rest/buildQueue/id:601",
               "webUrl": format!("http://{addr}/viewQueued.html?itemId=601")})
    );
    let fields = "build(id,waitReason,queuedDate,compatibleAgents(agent(id)),agent(pool(id,name)))";
    let detailed = get(
        addr,
        &format!("/app/rest/buildQueue?fields={fields}"),
        &json_headers(),
    )
    .await
    .json();
    let first = &detailed["build"][0];
    assert_eq!(first["queuedDate"], "20251122T082640+0000");
    assert_eq!(
        first["waitReason"],
        "There are no idle compatible agents which can run this build"
    );
    assert_eq!(
        first["compatibleAgents"],
        json!({"count": 1, "agent": [{"id": 11}]})
    );
    assert!(first.get("agent").is_none());
    assert_eq!(
        detailed["build"][1]["agent"],
        json!({"pool": {"id": 1, "name": "Linux"}})
    );
    assert_eq!(
        detailed["build"][1]["waitReason"],
        "Build dependencies have not been built yet"
    );
    let item = get(
        addr,
        "/app/rest/buildQueue/id:601?fields=compatibleAgents",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(
        item["compatibleAgents"],
        json!({"href": "/app/rest/agents?locator=compatible:(build:(id:601))"})
    );
    let compatible = get(
        addr,
        "/app/rest/agents?locator=compatible:(build:(id:601))",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(
        compatible["count"], 1,
        "a queued build's compatible agents leave out the disabled tc-2 (TR AgentFinder.isAgentRestrictorAllowed)"
    );
    let by_configuration = get(
        addr,
        "/app/rest/agents?locator=compatible:(buildType:(id:App_Test)),defaultFilter:false",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(
        by_configuration["count"], 2,
        "the configuration's compatible agents keep the disabled tc-2 (TR AgentFinder.getCompatibilityData)"
    );

    // The running build is absent from a plain /builds and present with running:true.
    let plain = get(addr, "/app/rest/builds", &json_headers()).await.json();
    assert_eq!(plain["count"], 0);
    let running = get(
        addr,
        "/app/rest/builds?locator=running:true",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(running["build"][0]["id"], 501);
    assert_eq!(running["build"][0]["state"], "running");

    // The build starts: it leaves the queue and the queue URL now shows it running.
    let mut state = fleet();
    state["queue"] = json!([]);
    state["agents"][3]["running"] = json!([{"job": "App_Test", "number": 3, "id": 601}]);
    request(addr, "PUT", "/_fake/state", &[], &state.to_string()).await;
    let started = get(addr, "/app/rest/buildQueue/id:601", &json_headers())
        .await
        .json();
    assert_eq!(started["state"], "running");
    assert_eq!(started["href"], "/app/rest/builds/id:601");

    // Default views omit default-valued fields; asked-for fields are always there.
    state["agents"][3]["running"][0]["progress"] = json!(0);
    request(addr, "PUT", "/_fake/state", &[], &state.to_string()).await;
    let listed = get(
        addr,
        "/app/rest/builds?locator=running:true,buildType:App_Test",
        &json_headers(),
    )
    .await
    .json();
    assert_eq!(listed["build"][0]["id"], 601);
    assert!(
        listed["build"][0].get("percentageComplete").is_none(),
        "{listed}"
    );
    let asked = get(addr, "/app/rest/builds?locator=running:true,buildType:App_Test&fields=build(id,percentageComplete)", &json_headers()).await.json();
    assert_eq!(
        asked["build"][0],
        json!({"id": 601, "percentageComplete": 0})
    );
    assert_eq!(
        get(addr, "/app/rest/buildQueue/id:999", &json_headers())
            .await
            .status,
        404
    );
}
