//! `buildWithParameters` and `build` as Jenkins answers them (jenkinsci/jenkins at
//! ff9430ee1d; the README's "Finished builds and triggering" table names each source):
//! - `ParameterizedJobMixIn.doBuildWithParameters`: Item.BUILD, then POST
//!   (`BuildAuthorizationToken.checkPermission`), then 400 "<full name> is not
//!   parameterized" for a job that declares no parameters; else
//!   `ParametersDefinitionProperty.buildWithParameters`: one value per declared parameter,
//!   the request's or the default (undeclared names are never read), then
//!   `Queue.schedule2`: 201 for a new item, 303 for an equal item already queued (merged),
//!   302 to the job when refused.
//! - `ParameterizedJobMixIn.doBuild`: a job without parameters is scheduled with no
//!   `ParametersAction`, 201 with the item's `Location` whether new or merged (JENKINS-66105),
//!   302 when refused. A parameterized job's GET shows the parameters form; its POST reads
//!   the submitted `json` form (`ParametersDefinitionProperty._doBuild`): 400 without one,
//!   the submitted values only, and `Queue.schedule` (new items only: merged or refused is
//!   a 302 to the job).
//!
//! Only a new item joins the queue and `triggered`, with the parameters Jenkins kept.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::{self, Req, with_header};
use crate::jenkins::pages;
use crate::state::{QueueItem, Triggered};

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

/// How a request schedules: the `ParametersAction` it carries (`None`: none at all) and
/// how its answer is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// `buildWithParameters`: 201 new, 303 merged, 302 refused (`Queue.schedule2`).
    Schedule2,
    /// `build` of a job without parameters: 201 new or merged, 302 refused.
    Schedule2Created,
    /// `build` of a parameterized job (`Queue.schedule`): 201 new, else 302.
    Schedule,
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
    let declared = state.declared_parameters(job);
    if action == TriggerAction::Build && declared.is_some() && req.method != Method::POST {
        // doBuild forwards a parameterized job's GET to the parameters form.
        return pages::object_page(Some(job.rsplit('/').next().unwrap_or(job)));
    }
    let Some(user) = identity.user().map(str::to_owned) else {
        return pages::forbidden_anonymous("hudson.model.Item.Build");
    };
    if req.method != Method::POST {
        return pages::post_only();
    }
    let sent = sent_pairs(req);
    let (parameters, answer) = match (action, declared) {
        (TriggerAction::BuildWithParameters, None) => {
            return http::html(
                StatusCode::BAD_REQUEST,
                "Error 400 Bad Request",
                &format!("{job} is not parameterized"),
            );
        }
        (TriggerAction::BuildWithParameters, Some(declared)) => {
            match kept_parameters(&declared, &sent) {
                Ok(kept) => (kept, Answer::Schedule2),
                Err(refusal) => return refusal.response(),
            }
        }
        (TriggerAction::Build, None) => (BTreeMap::new(), Answer::Schedule2Created),
        (TriggerAction::Build, Some(declared)) => match submitted_form(&declared, &sent) {
            Ok(submitted) => (submitted, Answer::Schedule),
            Err(refusal) => return refusal.response(),
        },
    };
    // `rsp.sendRedirect(".")`: the directory of the request's URL, the job's page.
    let job_page = &req.path[..req.path.rfind('/').map_or(0, |i| i + 1)];
    if state.schedule_vetoed(job) {
        return redirect(StatusCode::FOUND, job_page);
    }
    if let Some(item) = state.equal_queue_item(job, &parameters) {
        let location = format!("{root}queue/item/{}/", item.id);
        return match answer {
            Answer::Schedule2 => redirect(StatusCode::SEE_OTHER, &location),
            Answer::Schedule2Created => redirect(StatusCode::CREATED, &location),
            Answer::Schedule => redirect(StatusCode::FOUND, job_page),
        };
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
        via: action.via().to_owned(),
        parameters,
        user,
        ..Triggered::default()
    });
    redirect(StatusCode::CREATED, &format!("{root}queue/item/{id}/"))
}

fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    with_header(
        http::response(status, "text/html;charset=utf-8", ""),
        "location",
        location,
    )
}

/// Every parameter of the request, the query's then a form body's, as the servlet's
/// `getParameterValues` sees them.
fn sent_pairs(req: &Req) -> Vec<(String, String)> {
    let form = if req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        http::parse_pairs(&String::from_utf8_lossy(&req.body))
    } else {
        Vec::new()
    };
    http::parse_pairs(&req.query)
        .into_iter()
        .chain(form)
        .collect()
}

/// `ParametersDefinitionProperty.buildWithParameters`: for each declared parameter the
/// request's value (`SimpleParameterDefinition.createValue`), else its default; two
/// values for one name is an `IllegalArgumentException` (500).
pub(super) fn kept_parameters(
    declared: &BTreeMap<String, String>,
    sent: &[(String, String)],
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut kept = BTreeMap::new();
    for (name, default) in declared {
        let values: Vec<&String> = sent
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        let value = match values[..] {
            [] => default.clone(),
            [value] => value.clone(),
            _ => {
                return Err(Refusal::exception(format!(
                    "Illegal number of parameter values for {name}: {}",
                    values.len()
                )));
            }
        };
        kept.insert(name.clone(), value);
    }
    Ok(kept)
}

/// `ParametersDefinitionProperty._doBuild`: the `json` form field (Stapler's
/// `getSubmittedForm`: 400 "Nothing is submitted" for a request without parameters, "This
/// page expects a form submission" for one with others), its `parameter` entries
/// (`{"name","value"}`, one object or an array), each a declared name.
pub(super) fn submitted_form(
    declared: &BTreeMap<String, String>,
    sent: &[(String, String)],
) -> Result<BTreeMap<String, String>, Refusal> {
    let Some(json) = sent
        .iter()
        .find(|(k, _)| k == "json")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
    else {
        let message = if sent.is_empty() {
            "Nothing is submitted"
        } else {
            "This page expects a form submission"
        };
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.to_owned(),
        });
    };
    let form: Value = serde_json::from_str(json)
        .map_err(|e| Refusal::exception(format!("net.sf.json.JSONException: {e}")))?;
    let entries = match form.get("parameter") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(entry) => vec![entry.clone()],
    };
    let mut submitted = BTreeMap::new();
    for entry in entries {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            return Err(Refusal::exception(
                "net.sf.json.JSONException: JSONObject[\"name\"] not found.".to_owned(),
            ));
        };
        if !declared.contains_key(name) {
            return Err(Refusal::exception(format!(
                "No such parameter definition: {name}"
            )));
        }
        let value = match entry.get("value") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(other) => other.to_string(),
        };
        submitted.insert(name.to_owned(), value);
    }
    Ok(submitted)
}

/// A request Jenkins answers with an error page: 400 from Stapler's form handling, 500
/// for an exception out of the web method.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl Refusal {
    fn exception(message: String) -> Refusal {
        Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        }
    }

    fn response(&self) -> Response<Body> {
        let title = match self.status {
            StatusCode::BAD_REQUEST => "Error 400 Bad Request",
            _ => "Error 500 Server Error",
        };
        http::html(self.status, title, &self.message)
    }
}
