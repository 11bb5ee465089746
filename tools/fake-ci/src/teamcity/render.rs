//! How an entity goes out: the `fields` selection or the default view, then JSON when
//! asked for and XML otherwise; single-field resources only as text/plain.

use axum::http::StatusCode;
use serde_json::Value;

use super::error::{TcError, TcResult};
use crate::fields;
use crate::http::{self, Req};
use crate::xml;

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
