//! Finished builds and triggering (advise-retry's slice of TeamCity): a finished build at
//! `/app/rest/builds/id:N` (properties with `own`, revisions, `canceledInfo`), its log at
//! `/downloadBuildLog.html?buildId=N` (sent whole: `Range` is ignored, so a client must
//! keep the tail itself), `PUT …/comment`, and `POST /app/rest/buildQueue`, which queues
//! a build under a new id and answers it.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::model::tc_date;
use super::{TcError, TcResult, parse_locator, respond};
use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::fields::{COLLECTION, LONG, SHORT};
use crate::http::{self, Req};
use crate::state::QueueItem;
use crate::state::{FinishedBuild, Triggered};

/// Handles the URLs of this module; `None` leaves the request to the rest of the router.
pub fn route(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    prefix: &str,
    rest: &str,
) -> Option<TcResult> {
    let web = format!("http://{}", req.host());
    if rest == "/downloadBuildLog.html" {
        return Some(download_log(world, req));
    }
    let api = rest.strip_prefix("/app/rest")?;
    let segments: Vec<String> = api
        .split('/')
        .filter(|s| !s.is_empty())
        .map(http::percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&req.method, segs.as_slice()) {
        (&Method::POST, ["buildQueue"]) => Some(queue_build(world, req, identity, prefix, &web)),
        (&Method::GET, ["builds", loc]) => {
            let index = find(world, loc)?;
            let value = build_json(&world.state.builds[index], world, prefix, &web);
            Some(respond(req, "build", &value, true))
        }
        (&Method::PUT, ["builds", loc, "comment"]) => Some(put_comment(world, req, loc)),
        _ => None,
    }
}

/// The finished build a `id:N` (or bare `N`) locator names.
fn find(world: &World, locator: &str) -> Option<usize> {
    let loc = parse_locator(locator).ok()?;
    let id: u64 = loc
        .single
        .as_deref()
        .or(loc.get("id"))
        .and_then(|v| v.parse().ok())?;
    world.state.builds.iter().position(|b| b.build_id() == id)
}

fn meta(mut obj: Map<String, Value>, short: &[&str]) -> Value {
    let long: Vec<&str> = obj.keys().map(String::as_str).collect::<Vec<_>>();
    let long = json!(long);
    obj.insert(SHORT.into(), json!(short));
    obj.insert(LONG.into(), long);
    Value::Object(obj)
}

fn collection(item: &str, items: Vec<Value>) -> Value {
    let mut obj = Map::new();
    obj.insert("count".into(), json!(items.len()));
    obj.insert(item.into(), Value::Array(items));
    obj.insert(COLLECTION.into(), json!(item));
    Value::Object(obj)
}

fn href(prefix: &str, path: &str) -> String {
    format!("{prefix}/app/rest/{path}")
}

fn build_type(prefix: &str, web: &str, id: &str) -> Value {
    json!({
        "id": id, "name": id, "projectName": "ci-fleet", "projectId": "CiFleet",
        "href": href(prefix, &format!("buildTypes/id:{id}")),
        "webUrl": format!("{web}/viewType.html?buildTypeId={id}"),
    })
}

fn properties(own: &BTreeMap<String, String>, inherited: &BTreeMap<String, String>) -> Value {
    let mut all: Vec<Value> = inherited
        .iter()
        .filter(|(k, _)| !own.contains_key(*k))
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    all.extend(
        own.iter()
            .map(|(name, value)| json!({"name": name, "value": value, "own": true})),
    );
    all.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    collection("property", all)
}

fn revisions(build: &FinishedBuild) -> Value {
    let items = build
        .revision
        .iter()
        .map(|version| {
            let mut revision = json!({"version": version});
            if let Some(branch) = &build.branch {
                revision["vcsBranchName"] = json!(format!("refs/heads/{branch}"));
            }
            if let Some(root) = &build.vcs_root {
                revision["vcs-root-instance"] =
                    json!({"id": "1", "vcs-root-id": root, "name": root});
            }
            revision
        })
        .collect();
    collection("revision", items)
}

fn build_json(build: &FinishedBuild, world: &World, prefix: &str, web: &str) -> Value {
    let id = build.build_id();
    let started = build.started_at_ms.unwrap_or_else(|| now_ms() - 120_000);
    let mut obj = Map::new();
    obj.insert("id".into(), json!(id));
    obj.insert("buildTypeId".into(), json!(build.job));
    obj.insert("number".into(), json!(build.number.to_string()));
    obj.insert(
        "status".into(),
        json!(if build.building {
            "SUCCESS"
        } else {
            build.result.as_str()
        }),
    );
    obj.insert(
        "state".into(),
        json!(if build.building {
            "running"
        } else {
            "finished"
        }),
    );
    if let Some(branch) = &build.branch {
        obj.insert("branchName".into(), json!(branch));
    }
    obj.insert(
        "href".into(),
        json!(href(prefix, &format!("builds/id:{id}"))),
    );
    obj.insert(
        "webUrl".into(),
        json!(format!(
            "{web}/viewLog.html?buildId={id}&buildTypeId={}",
            build.job
        )),
    );
    let status_text = build.status_text.clone().unwrap_or_else(|| {
        match (build.building, build.result.as_str()) {
            (true, _) => "Running".into(),
            (_, "SUCCESS") => "Success".into(),
            (_, "UNKNOWN") => "Canceled".into(),
            _ => "Exit code 1".into(),
        }
    });
    obj.insert("statusText".into(), json!(status_text));
    obj.insert("buildType".into(), build_type(prefix, web, &build.job));
    if let Some(text) = &build.description {
        obj.insert(
            "comment".into(),
            json!({"timestamp": tc_date(started), "text": text, "user": {"username": "ci"}}),
        );
    }
    if let (false, "UNKNOWN", Some(text)) = (
        build.building,
        build.result.as_str(),
        &build.canceled_comment,
    ) {
        obj.insert(
            "canceledInfo".into(),
            json!({"timestamp": tc_date(started + build.duration_ms as i64), "text": text}),
        );
    }
    obj.insert("queuedDate".into(), json!(tc_date(started - 5_000)));
    obj.insert("startDate".into(), json!(tc_date(started)));
    if !build.building {
        obj.insert(
            "finishDate".into(),
            json!(tc_date(started + build.duration_ms as i64)),
        );
    }
    if let Some((index, agent)) = world
        .state
        .agents
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == build.agent)
    {
        let agent_id = agent.id.unwrap_or(index as u64 + 1);
        obj.insert(
            "agent".into(),
            json!({"id": agent_id, "name": agent.name, "typeId": agent_id, "href": href(prefix, &format!("agents/id:{agent_id}"))}),
        );
    } else if !build.agent.is_empty() {
        // The agent was removed since: TeamCity still names it.
        obj.insert("agent".into(), json!({"name": build.agent}));
    }
    obj.insert("revisions".into(), revisions(build));
    obj.insert(
        "properties".into(),
        properties(&build.parameters, &build.inherited),
    );
    meta(
        obj,
        &[
            "id",
            "buildTypeId",
            "number",
            "status",
            "state",
            "branchName",
            "href",
            "webUrl",
        ],
    )
}

fn download_log(world: &World, req: &Req) -> TcResult {
    if req.method != Method::GET {
        return Err(TcError::method_not_allowed());
    }
    let id: Option<u64> = req.query_param("buildId").and_then(|v| v.parse().ok());
    match id.and_then(|id| world.state.builds.iter().find(|b| b.build_id() == id)) {
        Some(build) => Ok(http::response(
            StatusCode::OK,
            "text/plain;charset=UTF-8",
            build.console.clone(),
        )),
        None => Err(TcError::not_found(format!(
            "No build found by id '{}'.",
            req.query_param("buildId").unwrap_or_default()
        ))),
    }
}

fn put_comment(world: &mut World, req: &Req, locator: &str) -> TcResult {
    let Some(index) = find(world, locator) else {
        return Err(TcError::not_found(format!(
            "No build found by locator '{locator}'."
        )));
    };
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain"))
    {
        return Err(TcError::unsupported_media());
    }
    let text = String::from_utf8_lossy(&req.body).into_owned();
    world.state.builds[index].description = (!text.is_empty()).then_some(text);
    Ok(http::response(StatusCode::NO_CONTENT, "text/plain", ""))
}

#[derive(Deserialize)]
struct QueueRequest {
    #[serde(rename = "buildType")]
    build_type: Option<IdJson>,
    #[serde(rename = "branchName")]
    branch_name: Option<String>,
    comment: Option<TextJson>,
    properties: Option<PropertiesJson>,
    revisions: Option<RevisionsJson>,
}

#[derive(Deserialize)]
struct IdJson {
    id: Option<String>,
}

#[derive(Deserialize)]
struct TextJson {
    text: Option<String>,
}

#[derive(Deserialize)]
struct PropertiesJson {
    #[serde(default)]
    property: Vec<PropertyJson>,
}

#[derive(Deserialize)]
struct PropertyJson {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct RevisionsJson {
    #[serde(default)]
    revision: Vec<RevisionJson>,
}

#[derive(Deserialize)]
struct RevisionJson {
    version: String,
}

fn queue_build(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    prefix: &str,
    web: &str,
) -> TcResult {
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return Err(TcError::unsupported_media());
    }
    if req.body.is_empty() {
        return Err(TcError::bad_request("No data is sent as payload."));
    }
    let request: QueueRequest = serde_json::from_slice(&req.body)
        .map_err(|e| TcError::bad_request(format!("Could not parse the build: {e}")))?;
    let Some(job) = request.build_type.and_then(|b| b.id) else {
        return Err(TcError::bad_request(
            "Build type is not specified: use 'buildType' with 'id'.",
        ));
    };
    let state = &world.state;
    let known = state.builds.iter().any(|b| b.job == job)
        || state.queue.iter().any(|q| q.job == job)
        || state
            .agents
            .iter()
            .any(|a| a.running.iter().any(|r| r.job == job));
    if !known {
        return Err(TcError::not_found(format!(
            "No build type nor template is found by id '{job}'."
        )));
    }
    let id = world.state.next_queue_id();
    let now = now_ms();
    let parameters: BTreeMap<String, String> = request
        .properties
        .map(|p| p.property)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    let comment = request.comment.and_then(|c| c.text);
    let revisions: Vec<String> = request
        .revisions
        .map(|r| r.revision)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.version)
        .collect();
    let user = identity.user().unwrap_or("admin").to_owned();
    world.state.queue.push(QueueItem {
        id,
        job: job.clone(),
        queued_at_ms: now,
        ..QueueItem::default()
    });
    world.state.triggered.push(Triggered {
        queue_id: id,
        job: job.clone(),
        via: "buildQueue".into(),
        parameters: parameters.clone(),
        branch: request.branch_name.clone(),
        revisions: revisions.clone(),
        comment: comment.clone(),
        user: user.clone(),
    });
    let mut obj = Map::new();
    obj.insert("id".into(), json!(id));
    obj.insert("buildTypeId".into(), json!(job));
    obj.insert("state".into(), json!("queued"));
    if let Some(branch) = &request.branch_name {
        obj.insert("branchName".into(), json!(branch));
    }
    obj.insert(
        "href".into(),
        json!(href(prefix, &format!("buildQueue/id:{id}"))),
    );
    obj.insert(
        "webUrl".into(),
        json!(format!("{web}/viewQueued.html?itemId={id}")),
    );
    obj.insert("buildType".into(), build_type(prefix, web, &job));
    if let Some(text) = &comment {
        obj.insert(
            "comment".into(),
            json!({"timestamp": tc_date(now), "text": text, "user": {"username": user}}),
        );
    }
    obj.insert("queuedDate".into(), json!(tc_date(now)));
    obj.insert(
        "triggered".into(),
        json!({"type": "user", "date": tc_date(now), "user": {"username": user}}),
    );
    let revisions = revisions
        .into_iter()
        .map(|version| json!({"version": version}))
        .collect();
    obj.insert("revisions".into(), collection("revision", revisions));
    obj.insert(
        "properties".into(),
        properties(&parameters, &BTreeMap::new()),
    );
    let value = meta(obj, &["id", "buildTypeId", "state", "href", "webUrl"]);
    respond(req, "build", &value, true)
}
