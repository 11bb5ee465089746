//! `buildWithParameters` and `build`: queue a build of a known job under a fresh queue
//! id, record it in `triggered`, and answer 201 with the queue item's `Location`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::{self, Req, with_header};
use crate::jenkins::pages;
use crate::state::{QueueItem, Triggered};

/// Query and form names Jenkins treats as controls, not build parameters.
const NOT_PARAMETERS: &[&str] = &["token", "delay", "cause", "json", "Submit", "Jenkins-Crumb"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerAction {
    BuildWithParameters,
    Build,
}

impl TriggerAction {
    pub fn parse(segment: &str) -> Option<TriggerAction> {
        match segment {
            "buildWithParameters" => Some(TriggerAction::BuildWithParameters),
            "build" => Some(TriggerAction::Build),
            _ => None,
        }
    }

    /// What `triggered[].via` records: the action's URL segment.
    fn via(self) -> &'static str {
        match self {
            TriggerAction::BuildWithParameters => "buildWithParameters",
            TriggerAction::Build => "build",
        }
    }
}

pub fn trigger(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    job: &str,
    action: TriggerAction,
    root: &str,
) -> Response<Body> {
    let state = &world.state;
    if !state.has_job(job) {
        return pages::not_found();
    }
    if req.method != Method::POST {
        return pages::post_only();
    }
    let Some(user) = identity.user().map(str::to_owned) else {
        return pages::forbidden_anonymous("hudson.model.Item.Build");
    };
    let parameterized = state
        .builds
        .iter()
        .any(|b| b.job == job && !b.parameters.is_empty());
    if action == TriggerAction::BuildWithParameters && !parameterized {
        return http::html(
            StatusCode::BAD_REQUEST,
            "Error 400 Bad Request",
            &format!("{job} is not parameterized"),
        );
    }
    let parameters = match action {
        TriggerAction::BuildWithParameters => sent_parameters(req),
        TriggerAction::Build => BTreeMap::new(),
    };
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
        via: action.via().to_owned(),
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

/// The build parameters of the query and a form body, without Jenkins' control names.
fn sent_parameters(req: &Req) -> BTreeMap<String, String> {
    let form = if req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        http::parse_pairs(&String::from_utf8_lossy(&req.body))
    } else {
        Vec::new()
    };
    let mut parameters = BTreeMap::new();
    for (name, value) in http::parse_pairs(&req.query).into_iter().chain(form) {
        if !NOT_PARAMETERS.contains(&name.as_str()) {
            parameters.insert(name, value);
        }
    }
    parameters
}
