//! `POST /app/rest/buildQueue`: queue a build of a known build configuration under a
//! fresh id, record it in `triggered`, and answer the queued build.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::entity::{build_type, collection, href, meta, properties};
use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::Req;
use crate::state::{QueueItem, Triggered};
use crate::teamcity::error::{TcError, TcResult};
use crate::teamcity::model::tc_date;
use crate::teamcity::render::respond;

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

/// What a `buildQueue` request asks for, read the way the server reads it.
struct BuildRequest {
    job: String,
    branch: Option<String>,
    parameters: BTreeMap<String, String>,
    revisions: Vec<String>,
    comment: Option<String>,
}

pub fn queue_build(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    prefix: &str,
    web: &str,
) -> TcResult {
    let request = read_request(req)?;
    if !world.state.has_job(&request.job) {
        return Err(TcError::not_found(format!(
            "No build type nor template is found by id '{}'.",
            request.job
        )));
    }
    let id = world.state.next_queue_id();
    let now = now_ms();
    let user = identity.user().unwrap_or("admin").to_owned();
    world.state.queue.push(QueueItem {
        id,
        job: request.job.clone(),
        queued_at_ms: now,
        ..QueueItem::default()
    });
    world.state.triggered.push(Triggered {
        queue_id: id,
        job: request.job.clone(),
        via: "buildQueue".into(),
        parameters: request.parameters.clone(),
        branch: request.branch.clone(),
        revisions: request.revisions.clone(),
        comment: request.comment.clone(),
        user: user.clone(),
    });
    let value = queued_json(&request, id, now, &user, prefix, web);
    respond(req, "build", &value, true)
}

fn read_request(req: &Req) -> Result<BuildRequest, TcError> {
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
    let parameters = request
        .properties
        .map(|p| p.property)
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    let revisions = request
        .revisions
        .map(|r| r.revision)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.version)
        .collect();
    Ok(BuildRequest {
        job,
        branch: request.branch_name,
        parameters,
        revisions,
        comment: request.comment.and_then(|c| c.text),
    })
}

/// The queued build as the server answers it.
fn queued_json(
    request: &BuildRequest,
    id: u64,
    now: i64,
    user: &str,
    prefix: &str,
    web: &str,
) -> Value {
    let mut obj = Map::new();
    obj.insert("id".into(), json!(id));
    obj.insert("buildTypeId".into(), json!(request.job));
    obj.insert("state".into(), json!("queued"));
    if let Some(branch) = &request.branch {
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
    obj.insert("buildType".into(), build_type(prefix, web, &request.job));
    if let Some(text) = &request.comment {
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
    let revisions = request
        .revisions
        .iter()
        .map(|version| json!({"version": version}))
        .collect();
    obj.insert("revisions".into(), collection("revision", revisions));
    obj.insert(
        "properties".into(),
        properties(&request.parameters, &BTreeMap::new()),
    );
    meta(obj, &["id", "buildTypeId", "state", "href", "webUrl"])
}
