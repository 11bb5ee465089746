//! The TeamCity personality: Bearer (or Basic) auth, the `/httpAuth` and `/guestAuth`
//! prefixes echoed into hrefs, XML unless JSON is asked for, text/plain errors.

mod agents;
mod builds;
mod finished;
pub mod model;
mod paging;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
use serde_json::Value;

use crate::app::{App, World};
use crate::auth::{self, Identity};
use crate::clock::now_ms;
use crate::fields;
use crate::http::{self, Req, percent_decode, with_header};
use crate::xml;
use model::Tc;

/// A TeamCity error, rendered the way the REST plugin's ExceptionMapperBase does.
#[derive(Debug)]
pub struct TcError {
    status: StatusCode,
    details: String,
}

impl TcError {
    pub fn not_found(message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::NOT_FOUND,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.NotFoundException: {}\nCould not find the entity requested. Check the reference is correct and the user has permissions to access the entity.",
                message.into()
            ),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::BAD_REQUEST,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.BadRequestException: {}\nInvalid request. Please check the request URL and data are correct.",
                message.into()
            ),
        }
    }

    pub fn locator(text: &str, message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::BAD_REQUEST,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.LocatorProcessException: Invalid locator '{text}': {}\nInvalid request. Please check the request URL and data are correct.",
                message.into()
            ),
        }
    }

    pub fn unknown_dims(text: &str, unknown: &[&str], supported: &[&str]) -> TcError {
        let which = unknown
            .iter()
            .map(|d| format!("'{d}'"))
            .collect::<Vec<_>>()
            .join(", ");
        TcError::locator(
            text,
            format!(
                "Locator dimension {which} is unknown. Supported dimensions are: [{}]",
                supported.join(", ")
            ),
        )
    }

    pub fn not_acceptable() -> TcError {
        TcError {
            status: StatusCode::NOT_ACCEPTABLE,
            details: "javax.ws.rs.NotAcceptableException: HTTP 406 Not Acceptable\nMake sure you have supplied correct 'Accept' header."
                .to_owned(),
        }
    }

    pub fn unsupported_media() -> TcError {
        TcError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            details: "javax.ws.rs.NotSupportedException: HTTP 415 Unsupported Media Type\nMake sure you have supplied correct 'Content-Type' header."
                .to_owned(),
        }
    }

    pub fn method_not_allowed() -> TcError {
        TcError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            details: "javax.ws.rs.NotAllowedException: HTTP 405 Method Not Allowed".to_owned(),
        }
    }

    fn response(&self) -> Response<Body> {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        http::text(
            self.status,
            format!(
                "Responding with error, status code: {} ({reason}).\nDetails: {}",
                self.status.as_u16(),
                self.details
            ),
        )
    }
}

pub type TcResult = Result<Response<Body>, TcError>;

pub fn handle(app: &App, req: &Req) -> Response<Body> {
    let mut world = app.world();
    match route(app, &mut world, req) {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

fn route(app: &App, world: &mut World, req: &Req) -> TcResult {
    let (prefix, rest) = split_prefix(&req.path);
    let identity = auth::identify(req, &world.state, true);
    if matches!(identity, Identity::Anonymous | Identity::Invalid(_)) {
        let response = http::text(
            StatusCode::UNAUTHORIZED,
            "Authentication required\nTo login manually go to \"/login.html\" page",
        );
        return Ok(with_header(
            response,
            "www-authenticate",
            "Basic realm=\"TeamCity\"",
        ));
    }
    // Only cookie sessions are CSRF-checked; Bearer requests without cookies skip it.
    let writes = !matches!(req.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let has_session = req.cookies().iter().any(|(k, _)| k == "TCSESSIONID");
    if writes && has_session && req.header("x-tc-csrf-token").is_none() {
        return Ok(http::text(
            StatusCode::FORBIDDEN,
            "403 Forbidden: Responding with 403 status code due to failed CSRF check: no \"X-TC-CSRF-Token\" header is provided",
        ));
    }
    if let Some(result) = finished::route(world, req, &identity, prefix, rest) {
        return result;
    }
    let Some(api) = rest.strip_prefix("/app/rest") else {
        return Err(TcError::not_found(format!("No resource at '{}'", req.path)));
    };
    let segments: Vec<String> = api
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let tc = Tc::new(
        &world.state,
        prefix,
        format!("http://{}", req.host()),
        now_ms(),
    );
    let user = identity.user().unwrap_or("admin").to_owned();
    match (&req.method, segs.as_slice()) {
        (&Method::GET, ["server"]) => respond(req, "server", &tc.server(app.started_ms), true),
        (&Method::GET, ["server", "version"]) => {
            accept_text(req)?;
            Ok(http::text(StatusCode::OK, "2025.03.3 (build 186370)"))
        }
        (&Method::GET, ["agents"]) => agents::list(&tc, req),
        (&Method::GET, ["agents", loc]) => agents::single(&tc, req, loc),
        (&Method::GET, ["agents", loc, field]) => agents::get_field(&tc, req, loc, field),
        (&Method::PUT, ["agents", loc, field]) => {
            let index = agents::find_one(&tc, loc)?;
            agents::put_field(world, req, index, field, &user, prefix)
        }
        (&Method::GET, ["agentPools"]) => agents::pools(&tc, req),
        (&Method::GET, ["agentPools", loc]) => agents::pool(&tc, req, loc),
        (&Method::GET, ["buildQueue"]) => builds::queue(&tc, req),
        (&Method::GET, ["buildQueue", loc]) => builds::queued(&tc, req, loc),
        (&Method::GET, ["builds"]) => builds::list(&tc, req),
        (&Method::GET, ["builds", loc]) => builds::single(&tc, req, loc),
        (
            _,
            [
                "server" | "agents" | "agentPools" | "buildQueue" | "builds",
                ..,
            ],
        ) => Err(TcError::method_not_allowed()),
        _ => Err(TcError::not_found(format!("No resource at '{}'", req.path))),
    }
}

/// `/httpAuth/app/rest/…` → (`/httpAuth`, `/app/rest/…`).
fn split_prefix(path: &str) -> (&str, &str) {
    for prefix in ["/httpAuth", "/guestAuth"] {
        if let Some(rest) = path.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return (prefix, rest);
        }
    }
    ("", path)
}

/// Renders an entity: `fields=` selection or the default view, then JSON or XML by Accept.
pub fn respond(req: &Req, root: &str, value: &Value, top: bool) -> TcResult {
    let rendered = match req.query_param("fields") {
        Some(spec) => {
            let parsed = fields::parse(&spec).map_err(TcError::bad_request)?;
            fields::render_fields(value, &parsed)
        }
        None => fields::render_default(value, top),
    };
    if req.accepts_json() {
        Ok(http::json(StatusCode::OK, &rendered))
    } else {
        Ok(http::response(
            StatusCode::OK,
            "application/xml;charset=ISO-8859-1",
            xml::render(root, &rendered),
        ))
    }
}

/// The request's `fields` selection, for builders that skip what it cannot show (a
/// malformed one is reported by [`respond`]).
pub fn selection(req: &Req) -> Option<Vec<fields::Field>> {
    req.query_param("fields")
        .and_then(|spec| fields::parse(&spec).ok())
}

/// Single-field resources produce only text/plain.
pub fn accept_text(req: &Req) -> Result<(), TcError> {
    match req.header("accept") {
        None => Ok(()),
        Some(accept)
            if accept.contains("text/plain")
                || accept.contains("text/*")
                || accept.contains("*/*") =>
        {
            Ok(())
        }
        Some(_) => Err(TcError::not_acceptable()),
    }
}

pub fn parse_locator(text: &str) -> Result<crate::locator::Locator, TcError> {
    crate::locator::Locator::parse(text).map_err(|e| TcError::locator(text, e))
}
