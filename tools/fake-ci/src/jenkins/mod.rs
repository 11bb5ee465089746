//! The Jenkins personality: security first (401, anonymous 403, crumb 403), then the
//! remote API (`…/api/json` with `tree`/`depth`) and the node actions.

mod actions;
mod builds;
pub mod model;
pub mod version;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::app::{App, World};
use crate::auth::{self, Identity};
use crate::clock::now_ms;
use crate::export;
use crate::http::{self, Req, percent_decode, with_header};
use crate::tree::{self, Want};
use model::Ctx;

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
    let identity = auth::identify(req, &world.state, false);
    match &identity {
        Identity::Invalid(user) => return unauthorized(user),
        Identity::Anonymous if !world.state.auth.anonymous_read => {
            return forbidden_anonymous("hudson.model.Hudson.Read");
        }
        _ => {}
    }
    // CrumbFilter runs before any dispatch, so even a POST to an unknown URL gets the 403.
    let crumb_exempt = matches!(identity, Identity::Token(_));
    if req.method == Method::POST && world.state.auth.csrf && !crumb_exempt {
        let session = auth::session_cookie(req);
        let crumb = auth::sent_crumb(req);
        if !world
            .sessions
            .valid(session.as_deref(), identity.user(), crumb.as_deref())
        {
            return http::html(
                StatusCode::FORBIDDEN,
                "Error 403 No valid crumb was included in the request",
                "No valid crumb was included in the request",
            );
        }
    }
    let raw: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let segments: Vec<String> = raw.iter().map(|s| percent_decode(s)).collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let Some(response) = builds::route(world, req, &identity, &segs) {
        return response;
    }
    let now = now_ms();
    let host = req.host();
    match segs.as_slice() {
        ["api", "json"] => {
            let csrf = world.state.auth.csrf;
            api(req, Ctx::new(&world.state, &host, now).root(csrf))
        }
        ["crumbIssuer", "api", format @ ("json" | "xml")] => crumb(world, req, &identity, format),
        ["queue", "api", "json"] => {
            let ctx = Ctx::new(&world.state, &host, now);
            api_with(req, |want| ctx.queue(want))
        }
        ["queue", "item", id, "api", "json"] => {
            let ctx = Ctx::new(&world.state, &host, now);
            let id: Option<u64> = id.parse().ok();
            let found = id.and_then(|id| {
                world
                    .state
                    .queue
                    .iter()
                    .find(|i| i.id == id)
                    .map(|i| ctx.queue_item(i, Want::All))
                    .or_else(|| ctx.left_item(id))
            });
            match found {
                Some(value) => api(req, value),
                None => not_found(),
            }
        }
        ["computer", "api", "json"] => {
            let ctx = Ctx::new(&world.state, &host, now);
            api_with(req, |want| ctx.computer_set(want))
        }
        ["computer", name, "api", "json"] => {
            let ctx = Ctx::new(&world.state, &host, now);
            if is_builtin(name) {
                return api_with(req, |want| ctx.builtin_computer(want));
            }
            match world.state.agents.iter().find(|a| a.name == *name) {
                Some(agent) => api_with(req, |want| ctx.computer(agent, want)),
                None => not_found(),
            }
        }
        ["computer", name, action] if actions::is_action(action) => {
            actions::run(world, req, &identity, name, raw[1], action)
        }
        ["label", label, "api", "json"] => {
            api(req, Ctx::new(&world.state, &host, now).label(label))
        }
        [rest @ .., "api", "json"] if is_job_path(rest) => {
            let name: Vec<&str> = rest.iter().skip(1).step_by(2).copied().collect();
            match Ctx::new(&world.state, &host, now).job(&name.join("/")) {
                Some(value) => api(req, value),
                None => not_found(),
            }
        }
        _ => not_found(),
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

/// Renders an exported object honouring `tree`, `depth` and the `jsonp` refusal.
fn api(req: &Req, value: Value) -> Response<Body> {
    api_with(req, |_| value)
}

/// [`api`] for a value built on demand: `build` learns what the tree wants, so large
/// listings skip the properties the response would not show.
fn api_with(req: &Req, build: impl FnOnce(Want) -> Value) -> Response<Body> {
    if req.query_param("jsonp").is_some() {
        return http::html(
            StatusCode::FORBIDDEN,
            "Error 403",
            "jsonp forbidden; implement jenkins.security.SecureRequester",
        );
    }
    let rendered = match req.query_param("tree") {
        Some(spec) => match tree::parse(&spec) {
            Ok(nodes) => tree::filter_owned(build(Want::Only(&nodes)), &nodes),
            Err(error) => {
                return http::html(
                    StatusCode::BAD_REQUEST,
                    "Error 400 Bad Request",
                    &format!("Malformed tree expression: {error}"),
                );
            }
        },
        None => {
            let depth = req
                .query_param("depth")
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            export::render_depth_owned(build(Want::All), depth)
        }
    };
    http::json(StatusCode::OK, &rendered)
}

fn crumb(world: &mut World, req: &Req, identity: &Identity, format: &str) -> Response<Body> {
    if !world.state.auth.csrf {
        return not_found();
    }
    let ctx_version = version::JenkinsVersion::parse(&world.state.jenkins_version);
    let session = auth::session_cookie(req);
    let issued = world
        .sessions
        .issue(session.as_deref(), identity.user(), ctx_version.crumb_len());
    let mut response = if format == "xml" {
        // Only api/xml has xpath; clients use it to get "Jenkins-Crumb:<value>" as text.
        match req.query_param("xpath") {
            Some(xpath) if xpath.starts_with("concat(") => http::response(
                StatusCode::OK,
                "text/plain;charset=utf-8",
                format!("{}:{}", auth::CRUMB_FIELD, issued.crumb),
            ),
            _ => {
                let class = if world.state.class_fields {
                    " _class=\"hudson.security.csrf.DefaultCrumbIssuer\""
                } else {
                    ""
                };
                let body = format!(
                    "<defaultCrumbIssuer{class}><crumb>{}</crumb><crumbRequestField>{}</crumbRequestField></defaultCrumbIssuer>",
                    issued.crumb,
                    auth::CRUMB_FIELD
                );
                http::response(StatusCode::OK, "application/xml;charset=utf-8", body)
            }
        }
    } else {
        let ctx = Ctx::new(&world.state, &req.host(), now_ms());
        api(req, ctx.crumb(&issued.crumb))
    };
    if let Some(cookie) = issued.set_cookie {
        response = with_header(response, "set-cookie", &cookie);
    }
    response
}

pub(crate) fn not_found() -> Response<Body> {
    http::html(StatusCode::NOT_FOUND, "Error 404 Not Found", "Not Found")
}

fn unauthorized(user: &str) -> Response<Body> {
    let response = http::html(
        StatusCode::UNAUTHORIZED,
        "Error 401 Unauthorized",
        &format!("Invalid password/token for user: {user}"),
    );
    with_header(response, "www-authenticate", "Basic realm=\"Jenkins\"")
}

pub(crate) fn forbidden_anonymous(permission: &str) -> Response<Body> {
    let response = http::html(
        StatusCode::FORBIDDEN,
        "Authentication required",
        "You are authenticated as: anonymous. Please log in (/login) to access this page.",
    );
    let response = with_header(response, "x-you-are-authenticated-as", "anonymous");
    let response = with_header(
        response,
        "x-you-are-in-group-disabled",
        "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose",
    );
    let response = with_header(response, "x-required-permission", permission);
    let response = with_header(
        response,
        "x-permission-implied-by",
        "hudson.security.Permission.GenericRead",
    );
    with_header(
        response,
        "x-permission-implied-by",
        "hudson.model.Hudson.Administer",
    )
}
