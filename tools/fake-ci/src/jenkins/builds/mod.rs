//! Finished builds and triggering (advise-retry's slice of Jenkins): a build's remote API
//! (SEMANTICS.md A5), its console as progressive text from a byte offset (`X-Text-Size`
//! tells the length; an offset past the end starts again at 0, as Stapler's LargeText
//! does) and as `consoleText` honouring `Range`, `submitDescription`, and
//! `buildWithParameters` / `build` answering 201 with the queue item's `Location`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::export::{CLASS, VIS};
use crate::http::{self, Req, with_header};
use crate::state::QueueItem;
use crate::state::{FinishedBuild, Triggered};

/// Query and form names Jenkins treats as controls, not build parameters.
const NOT_PARAMETERS: &[&str] = &["token", "delay", "cause", "json", "Submit", "Jenkins-Crumb"];

/// Handles the URLs of this module; `None` leaves the request to the rest of the router.
pub fn route(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    segs: &[&str],
) -> Option<Response<Body>> {
    let root = format!("http://{}/", req.host());
    // `job/A/job/B/<n>/<rest…>` or `job/A/job/B/<action>`.
    let (job_segments, rest) = split_job(segs)?;
    let job = job_segments
        .iter()
        .skip(1)
        .step_by(2)
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    match rest {
        [n, tail @ ..] if n.parse::<u64>().is_ok() => {
            let number: u64 = n.parse().ok()?;
            let index = world
                .state
                .builds
                .iter()
                .position(|b| b.job == job && b.number == number);
            let Some(index) = index else {
                return matches!(
                    tail,
                    ["api", "json"]
                        | ["logText", "progressiveText"]
                        | ["consoleText"]
                        | ["submitDescription"]
                )
                .then(super::not_found);
            };
            match tail {
                ["api", "json"] => {
                    let value =
                        build_json(&world.state.builds[index], &root, world.state.class_fields);
                    Some(super::api(req, value))
                }
                ["logText", "progressiveText"] => {
                    Some(progressive_text(&world.state.builds[index], req))
                }
                ["consoleText"] => Some(console_text(&world.state.builds[index], req)),
                ["submitDescription"] => {
                    Some(submit_description(world, req, identity, index, &root))
                }
                _ => None,
            }
        }
        [action @ ("buildWithParameters" | "build")] => {
            Some(trigger(world, req, identity, &job, action, &root))
        }
        _ => None,
    }
}

/// Splits `job/A/job/B/…` into the job part and what follows.
fn split_job<'s>(segs: &'s [&'s str]) -> Option<(&'s [&'s str], &'s [&'s str])> {
    let mut end = 0;
    while end + 1 < segs.len() && segs[end] == "job" {
        end += 2;
    }
    (end > 0 && end < segs.len()).then(|| segs.split_at(end))
}

fn build_url(root: &str, build: &FinishedBuild) -> String {
    let path: String = build
        .job
        .split('/')
        .map(|p| format!("job/{}/", http::encode_query_value(p)))
        .collect();
    format!("{root}{path}{}/", build.number)
}

fn object(class_fields: bool, class: &str) -> Map<String, Value> {
    let mut obj = Map::new();
    if class_fields {
        obj.insert(CLASS.to_owned(), json!(class));
    }
    obj
}

/// The build as `/job/…/N/api/json` exports it, annotated for depth pruning: actions'
/// parameters and causes show at depth 0 (exported with visibility 2 and 3), git's
/// `lastBuiltRevision` only with `tree` or depth ≥ 1.
pub fn build_json(build: &FinishedBuild, root: &str, class_fields: bool) -> Value {
    let mut actions = Vec::new();
    if !build.parameters.is_empty() {
        let parameters: Vec<Value> = build
            .parameters
            .iter()
            .map(|(name, value)| {
                let mut p = object(class_fields, "hudson.model.StringParameterValue");
                p.insert("name".into(), json!(name));
                p.insert("value".into(), json!(value));
                p.insert(VIS.into(), json!({"name": 3, "value": 3}));
                Value::Object(p)
            })
            .collect();
        let mut action = object(class_fields, "hudson.model.ParametersAction");
        action.insert("parameters".into(), Value::Array(parameters));
        action.insert(VIS.into(), json!({"parameters": 2}));
        actions.push(Value::Object(action));
    }
    let mut cause = object(class_fields, "hudson.model.Cause$UserIdCause");
    cause.insert("shortDescription".into(), json!("Started by user ci"));
    cause.insert("userId".into(), json!("ci"));
    cause.insert("userName".into(), json!("ci"));
    cause.insert(
        VIS.into(),
        json!({"shortDescription": 3, "userId": 3, "userName": 3}),
    );
    let mut causes = object(class_fields, "hudson.model.CauseAction");
    causes.insert("causes".into(), json!([Value::Object(cause)]));
    causes.insert(VIS.into(), json!({"causes": 2}));
    actions.push(Value::Object(causes));
    if let Some(sha) = &build.revision {
        let branch = build
            .branch
            .as_deref()
            .map(|b| format!("refs/remotes/origin/{b}"))
            .unwrap_or_else(|| "detached".to_owned());
        let mut data = object(class_fields, "hudson.plugins.git.util.BuildData");
        data.insert(
            "lastBuiltRevision".into(),
            json!({"SHA1": sha, "branch": [{"SHA1": sha, "name": branch}]}),
        );
        data.insert(
            "remoteUrls".into(),
            json!(["https://git.example.com/app.git"]),
        );
        data.insert("scmName".into(), json!(""));
        actions.push(Value::Object(data));
    }
    actions.push(json!({}));

    let started = build.started_at_ms.unwrap_or_else(|| now_ms() - 120_000);
    let mut obj = object(class_fields, "hudson.model.FreeStyleBuild");
    obj.insert("actions".into(), Value::Array(actions));
    obj.insert("artifacts".into(), json!([]));
    obj.insert("building".into(), json!(build.building));
    obj.insert("description".into(), json!(build.description));
    obj.insert("displayName".into(), json!(format!("#{}", build.number)));
    obj.insert(
        "duration".into(),
        json!(if build.building { 0 } else { build.duration_ms }),
    );
    obj.insert("estimatedDuration".into(), json!(build.duration_ms));
    obj.insert(
        "executor".into(),
        if build.building {
            json!({})
        } else {
            Value::Null
        },
    );
    obj.insert(
        "fullDisplayName".into(),
        json!(format!(
            "{} #{}",
            build.job.replace('/', " » "),
            build.number
        )),
    );
    obj.insert("id".into(), json!(build.number.to_string()));
    obj.insert("keepLog".into(), json!(false));
    obj.insert("number".into(), json!(build.number));
    obj.insert("queueId".into(), json!(build.queue_id()));
    obj.insert(
        "result".into(),
        if build.building {
            Value::Null
        } else {
            json!(build.result)
        },
    );
    obj.insert("timestamp".into(), json!(started));
    obj.insert("url".into(), json!(build_url(root, build)));
    obj.insert("builtOn".into(), json!(build.agent));
    obj.insert("changeSet".into(), json!({"items": [], "kind": null}));
    obj.insert("culprits".into(), json!([]));
    obj.insert(VIS.into(), json!({"number": 2, "url": 2}));
    Value::Object(obj)
}

fn text_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    http::response(status, "text/plain;charset=UTF-8", bytes)
}

fn progressive_text(build: &FinishedBuild, req: &Req) -> Response<Body> {
    let bytes = build.console.as_bytes();
    let start = req
        .query_param("start")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    // LargeText: a start past the end means the text rolled over; send it all.
    let start = if start > bytes.len() { 0 } else { start };
    let mut response = text_response(StatusCode::OK, bytes[start..].to_vec());
    response = with_header(response, "x-text-size", &bytes.len().to_string());
    if build.building {
        response = with_header(response, "x-more-data", "true");
    }
    response
}

/// `Range: bytes=A-B`, `bytes=A-` or `bytes=-N` → the inclusive byte span.
fn byte_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (from, to) = spec.split_once('-')?;
    if len == 0 {
        return None;
    }
    let (from, to) = match (from.trim(), to.trim()) {
        ("", suffix) => {
            let n: usize = suffix.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (from, "") => (from.parse().ok()?, len - 1),
        (from, to) => (from.parse().ok()?, to.parse::<usize>().ok()?.min(len - 1)),
    };
    (from <= to && from < len).then_some((from, to))
}

fn console_text(build: &FinishedBuild, req: &Req) -> Response<Body> {
    let bytes = build.console.as_bytes();
    match req.header("range").and_then(|r| byte_range(r, bytes.len())) {
        Some((from, to)) => {
            let response = text_response(StatusCode::PARTIAL_CONTENT, bytes[from..=to].to_vec());
            with_header(
                response,
                "content-range",
                &format!("bytes {from}-{to}/{}", bytes.len()),
            )
        }
        None => text_response(StatusCode::OK, bytes.to_vec()),
    }
}

fn post_only() -> Response<Body> {
    let page = http::html(
        StatusCode::METHOD_NOT_ALLOWED,
        "This URL requires POST",
        "The URL you're trying to access requires that requests be sent using POST (like a form submission). Try again.",
    );
    with_header(page, "allow", "POST")
}

fn submit_description(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    index: usize,
    root: &str,
) -> Response<Body> {
    if req.method != Method::POST {
        return post_only();
    }
    if identity.user().is_none() {
        return super::forbidden_anonymous("hudson.model.Run.Update");
    }
    let description = req
        .form_param("description")
        .or_else(|| req.query_param("description"))
        .unwrap_or_default();
    let build = &mut world.state.builds[index];
    build.description = (!description.is_empty()).then_some(description);
    let location = build_url(root, build);
    with_header(
        http::response(StatusCode::FOUND, "text/html;charset=utf-8", ""),
        "location",
        &location,
    )
}

fn trigger(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    job: &str,
    action: &str,
    root: &str,
) -> Response<Body> {
    let state = &world.state;
    let exists = state.builds.iter().any(|b| b.job == job)
        || state.queue.iter().any(|q| q.job == job)
        || state
            .agents
            .iter()
            .any(|a| a.running.iter().any(|r| r.job == job));
    if !exists {
        return super::not_found();
    }
    if req.method != Method::POST {
        return post_only();
    }
    let Some(user) = identity.user().map(str::to_owned) else {
        return super::forbidden_anonymous("hudson.model.Item.Build");
    };
    let parameterized = state
        .builds
        .iter()
        .any(|b| b.job == job && !b.parameters.is_empty());
    if action == "buildWithParameters" && !parameterized {
        return http::html(
            StatusCode::BAD_REQUEST,
            "Error 400 Bad Request",
            &format!("{job} is not parameterized"),
        );
    }
    let mut parameters = BTreeMap::new();
    if action == "buildWithParameters" {
        let form = if req
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
        {
            http::parse_pairs(&String::from_utf8_lossy(&req.body))
        } else {
            Vec::new()
        };
        for (name, value) in http::parse_pairs(&req.query).into_iter().chain(form) {
            if !NOT_PARAMETERS.contains(&name.as_str()) {
                parameters.insert(name, value);
            }
        }
    }
    let id = world.state.next_queue_id();
    world.state.queue.push(QueueItem {
        id,
        job: job.to_owned(),
        queued_at_ms: now_ms(),
        ..QueueItem::default()
    });
    world.state.triggered.push(Triggered {
        queue_id: id,
        job: job.to_owned(),
        via: action.to_owned(),
        parameters,
        user,
        ..Triggered::default()
    });
    with_header(
        http::response(StatusCode::CREATED, "text/html;charset=utf-8", ""),
        "location",
        &format!("{root}queue/item/{id}/"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_job_paths() {
        assert_eq!(byte_range("bytes=-4", 10), Some((6, 9)));
        assert_eq!(byte_range("bytes=-40", 10), Some((0, 9)));
        assert_eq!(byte_range("bytes=2-", 10), Some((2, 9)));
        assert_eq!(byte_range("bytes=2-3", 10), Some((2, 3)));
        assert_eq!(byte_range("bytes=12-", 10), None);
        assert_eq!(byte_range("items=1-2", 10), None);
        let segs = ["job", "folder", "job", "app", "41", "api", "json"];
        let (job, rest) = split_job(&segs).expect("splits");
        assert_eq!((job.len(), rest), (4, &["41", "api", "json"][..]));
        assert_eq!(split_job(&["job", "app"]), None, "nothing after the job");
        assert_eq!(split_job(&["computer", "x"]), None);
    }
}
