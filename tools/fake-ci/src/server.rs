//! The HTTP server: one fallback handler that records the request, applies the current
//! fault, then hands the request to the Jenkins or TeamCity personality. A single
//! handler (rather than a route table) because both servers' URLs carry locators and
//! node names that a router would mis-split.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Response, StatusCode};
use tokio::net::TcpListener;

use crate::app::{App, RequestRecord};
use crate::auth;
use crate::control;
use crate::fault::Fault;
use crate::http::Req;
use crate::kind::Kind;
use crate::state::FakeState;
use crate::{jenkins, teamcity};

pub fn router(app: App) -> Router {
    Router::new().fallback(handle).with_state(app)
}

/// Binds 127.0.0.1:`port` (0 = any free port).
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Starts a server on a free loopback port in the current runtime, for tests.
pub async fn spawn(kind: Kind, state: FakeState) -> std::io::Result<(SocketAddr, App)> {
    let (listener, addr) = bind(0).await?;
    let app = App::new(kind, state);
    let router = router(app.clone());
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok((addr, app))
}

async fn handle(State(app): State<App>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b.to_vec(),
        Err(_) => return crate::http::text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
    };
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        body,
    };
    let response = if req.path == "/_fake" || req.path.starts_with("/_fake/") {
        control::handle(&app, &req)
    } else {
        let (fault, delay_ms) = record(&app, &req);
        if delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        match fault {
            Fault::Hang => {
                // Never answer; the client's timeout is what is under test.
                loop {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
            Fault::None => match app.kind {
                Kind::Jenkins => jenkins::handle(&app, &req),
                Kind::TeamCity => teamcity::handle(&app, &req),
            },
            other => other.response(app.kind),
        }
    };
    tracing::info!(method = %req.method, path = %req.path, query = %req.query, status = response.status().as_u16(), "request");
    response
}

/// Logs the request; returns the fault and delay in force.
fn record(app: &App, req: &Req) -> (Fault, u64) {
    let mut world = app.world();
    let identity = auth::identify(req, &world.state, app.kind == Kind::TeamCity);
    let entry = RequestRecord {
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.query.clone(),
        has_crumb: auth::sent_crumb(req).is_some(),
        auth_kind: identity.kind().to_owned(),
    };
    world.requests.push(entry);
    (world.fault, world.delay_ms)
}
