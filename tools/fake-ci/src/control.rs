//! `/_fake/*`: the unauthenticated control API tests use to set the world, inject faults
//! and see what the client under test actually sent.

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::fault::Fault;
use crate::http::{self, Req};
use crate::state::FakeState;

#[derive(Deserialize)]
struct FaultRequest {
    #[serde(default)]
    mode: Fault,
    /// Answer every request this late (a slow server), with or without a fault.
    #[serde(default)]
    delay_ms: u64,
}

pub fn handle(app: &App, req: &Req) -> Response<Body> {
    let path = req.path.trim_end_matches('/');
    match (&req.method, path) {
        (&Method::GET, "/_fake/state") => {
            let world = app.world();
            http::json(StatusCode::OK, &json!(world.state))
        }
        (&Method::PUT, "/_fake/state") => match serde_json::from_slice::<FakeState>(&req.body) {
            Ok(state) => {
                let mut world = app.world();
                world.state = state;
                http::json(StatusCode::OK, &json!(world.state))
            }
            Err(error) => bad_request(&format!("invalid state document: {error}")),
        },
        (&Method::GET, "/_fake/fault") => {
            let world = app.world();
            http::json(
                StatusCode::OK,
                &json!({"mode": world.fault, "delay_ms": world.delay_ms}),
            )
        }
        (&Method::POST, "/_fake/fault") => {
            match serde_json::from_slice::<FaultRequest>(&req.body) {
                Ok(request) => {
                    let mut world = app.world();
                    world.fault = request.mode;
                    world.delay_ms = request.delay_ms;
                    http::json(
                        StatusCode::OK,
                        &json!({"mode": request.mode, "delay_ms": request.delay_ms}),
                    )
                }
                Err(error) => bad_request(&format!(
                    "invalid fault: {error}; expected {{\"mode\": none|http-500|html-login|garbage|hang|empty-200|unauthorized, \"delay_ms\": N}}"
                )),
            }
        }
        (&Method::GET, "/_fake/requests") => {
            http::json(StatusCode::OK, &json!(app.world().requests))
        }
        (&Method::DELETE, "/_fake/requests") => {
            app.world().requests.clear();
            http::response(StatusCode::NO_CONTENT, "text/plain", "")
        }
        (_, "/_fake/state" | "/_fake/fault" | "/_fake/requests") => http::json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": format!("{} not allowed on {path}", req.method)}),
        ),
        _ => http::json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no control endpoint {path}")}),
        ),
    }
}

fn bad_request(message: &str) -> Response<Body> {
    http::json(StatusCode::BAD_REQUEST, &json!({"error": message}))
}
