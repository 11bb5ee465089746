//! `/crumbIssuer/api/json` and `api/xml`: the crumb for the caller's session (a new
//! session, with its `Set-Cookie`, when the request brings none), 404 when CSRF
//! protection is off.

use axum::body::Body;
use axum::http::{Response, StatusCode};

use super::locale::Lang;
use super::model::Ctx;
use super::pages;
use super::remote_api::api;
use super::version::JenkinsVersion;
use crate::app::World;
use crate::auth::{self, Identity};
use crate::clock::now_ms;
use crate::http::{self, Req, with_header};

/// Which of the crumb issuer's APIs was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

pub fn crumb(world: &mut World, req: &Req, identity: &Identity, format: Format) -> Response<Body> {
    if !world.state.auth.csrf {
        return pages::not_found();
    }
    let ctx_version = JenkinsVersion::parse(&world.state.jenkins_version);
    let session = auth::session_cookie(req);
    let issued = world
        .sessions
        .issue(session.as_deref(), identity.user(), ctx_version.crumb_len());
    let mut response = match format {
        Format::Xml => crumb_xml(req, &issued.crumb, world.state.class_fields),
        Format::Json => {
            let ctx = Ctx::new(&world.state, &req.host(), now_ms(), Lang::of(req));
            api(req, ctx.crumb(&issued.crumb))
        }
    };
    if let Some(cookie) = issued.set_cookie {
        response = with_header(response, "set-cookie", &cookie);
    }
    response
}

fn crumb_xml(req: &Req, crumb: &str, class_fields: bool) -> Response<Body> {
    // Only api/xml has xpath; clients use it to get "Jenkins-Crumb:<value>" as text.
    match req.query_param("xpath") {
        Some(xpath) if xpath.starts_with("concat(") => http::response(
            StatusCode::OK,
            "text/plain;charset=utf-8",
            format!("{}:{}", auth::CRUMB_FIELD, crumb),
        ),
        _ => {
            let class = if class_fields {
                " _class=\"hudson.security.csrf.DefaultCrumbIssuer\""
            } else {
                ""
            };
            let body = format!(
                "<defaultCrumbIssuer{class}><crumb>{}</crumb><crumbRequestField>{}</crumbRequestField></defaultCrumbIssuer>",
                crumb,
                auth::CRUMB_FIELD
            );
            http::response(StatusCode::OK, "application/xml;charset=utf-8", body)
        }
    }
}
