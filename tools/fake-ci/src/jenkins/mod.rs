//! The Jenkins personality: security first (401, anonymous 403, crumb 403), then the
//! remote API (`…/api/json` with `tree`/`depth`) and the node actions.

mod builds;
mod crumb_issuer;
pub mod locale;
pub mod model;
mod node_actions;
mod pages;
mod remote_api;
mod security;
pub mod version;
pub mod why;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::{App, World};
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::{Req, percent_decode, with_header};
use crate::state::FakeState;
use crumb_issuer::Format;
use locale::Lang;
use model::Ctx;
use node_actions::NodeAction;
use remote_api::{api, api_with};

pub fn handle(app: &App, req: &Req) -> Response<Body> {
    let mut world = app.world();
    let response = route(&mut world, req);
    let version = world.state.jenkins_version.clone();
    drop(world);
    let response = with_header(response, "x-jenkins", &version);
    let response = with_header(response, "x-jenkins-session", &app.instance);
    let response = with_header(response, "x-content-type-options", "nosniff");
    with_header(response, "x-frame-options", "deny")
}

fn route(world: &mut World, req: &Req) -> Response<Body> {
    let identity = match security::admit(world, req) {
        Ok(identity) => identity,
        Err(refusal) => return refusal.response(),
    };
    let raw: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let segments: Vec<String> = raw.iter().map(|s| percent_decode(s)).collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let Some(response) = builds::route(world, req, &identity, &segs) {
        return response;
    }
    if let ["computer", name, segment] = segs.as_slice()
        && let Some(action) = NodeAction::parse(segment)
    {
        return node_actions::run(world, req, &identity, name, raw[1], action);
    }
    match segs.as_slice() {
        ["crumbIssuer", "api", "json"] => crumb_issuer::crumb(world, req, &identity, Format::Json),
        ["crumbIssuer", "api", "xml"] => crumb_issuer::crumb(world, req, &identity, Format::Xml),
        ["me", "api", "json"] => me(&world.state, req, &identity),
        [.., "api", "json"] => read(&world.state, req, &identity, &segs),
        _ => object_page(world, req, &identity, &segs).unwrap_or_else(pages::not_found),
    }
}

/// `/me` is the caller (`Jenkins.getMe`): `User.current()`, and for anonymous an
/// `AccessDeniedException` ("/me is not available when not logged in"), which Jenkins
/// answers as every anonymous refusal, 403 with the login hint.
fn me(state: &FakeState, req: &Req, identity: &Identity) -> Response<Body> {
    let Some(user) = identity.user() else {
        return pages::authentication_required();
    };
    let ctx = Ctx::new(state, &req.host(), now_ms(), Lang::of(req));
    match ctx.user(user) {
        Some(value) => api(req, value),
        None => pages::not_found(),
    }
}

/// The HTML page of an object (`/`, `/computer/NAME/`, `/job/NAME/`, `/job/NAME/N/`, …):
/// served wherever `…/api/json` would serve the object, which is where Jenkins' node
/// actions redirect to and clients such as python-jenkins follow. The page itself
/// carries nothing a client reads; its status and `X-Jenkins` headers are what matter.
fn object_page(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    segs: &[&str],
) -> Option<Response<Body>> {
    if req.method != Method::GET && req.method != Method::HEAD {
        return None;
    }
    let mut api_segs = segs.to_vec();
    api_segs.extend(["api", "json"]);
    let api_req = Req {
        method: Method::GET,
        path: format!("{}/api/json", req.path.trim_end_matches('/')),
        query: String::new(),
        headers: req.headers.clone(),
        body: Vec::new(),
    };
    let object = match builds::route(world, &api_req, identity, &api_segs) {
        Some(response) => response,
        None => match api_segs.as_slice() {
            ["me", "api", "json"] => me(&world.state, &api_req, identity),
            _ => read(&world.state, &api_req, identity, &api_segs),
        },
    };
    (object.status() == StatusCode::OK).then(|| pages::object_page(segs.last().copied()))
}

/// The remote API's objects: `…/api/json` of the root, queue, computers, labels and jobs,
/// as the caller may see them (Job/Read filters jobs, queue items and executables).
fn read(state: &FakeState, req: &Req, identity: &Identity, segs: &[&str]) -> Response<Body> {
    let ctx = Ctx::new(state, &req.host(), now_ms(), Lang::of(req)).reading_as(identity);
    match segs {
        ["api", "json"] => api(req, ctx.root(state.auth.csrf)),
        ["queue", "api", "json"] => api_with(req, |want| ctx.queue(want)),
        ["queue", "item", id, "api", "json"] => {
            match id.parse().ok().and_then(|id| ctx.queue_item_by_id(id)) {
                Some(value) => api(req, value),
                None => pages::not_found(),
            }
        }
        ["computer", "api", "json"] => api_with(req, |want| ctx.computer_set(want)),
        ["computer", name, "api", "json"] => {
            if is_builtin(name) {
                return api_with(req, |want| ctx.builtin_computer(want));
            }
            match state.agents.iter().find(|a| a.name == *name) {
                Some(agent) => api_with(req, |want| ctx.computer(agent, want)),
                None => pages::not_found(),
            }
        }
        ["label", label, "api", "json"] => api(req, ctx.label(label)),
        ["user", id, "api", "json"] => match ctx.user(id) {
            Some(value) => api(req, value),
            None => pages::not_found(),
        },
        [rest @ .., "api", "json"] if is_job_path(rest) => {
            let name: Vec<&str> = rest.iter().skip(1).step_by(2).copied().collect();
            match ctx.job(&name.join("/")) {
                Some(value) => api(req, value),
                None => pages::not_found(),
            }
        }
        _ => pages::not_found(),
    }
}

fn is_builtin(name: &str) -> bool {
    matches!(name, "(built-in)" | "(master)")
}

/// `job/A/job/B` (folders) — pairs of `job` and a name.
fn is_job_path(segments: &[&str]) -> bool {
    !segments.is_empty()
        && segments.len().is_multiple_of(2)
        && segments.iter().step_by(2).all(|s| *s == "job")
}
