//! The remote API's rendering of an exported object (`…/api/json`): `tree=` selects,
//! otherwise `depth=` prunes by visibility; `jsonp=` is refused.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde_json::Value;

use crate::export;
use crate::http::{self, Req};
use crate::tree::{self, Want};

/// Renders an exported object honouring `tree`, `depth` and the `jsonp` refusal.
pub fn api(req: &Req, value: Value) -> Response<Body> {
    api_with(req, |_| value)
}

/// [`api`] for a value built on demand: `build` learns what the tree wants, so large
/// listings skip the properties the response would not show.
pub fn api_with(req: &Req, build: impl FnOnce(Want) -> Value) -> Response<Body> {
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
