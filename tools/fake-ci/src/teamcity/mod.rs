//! The TeamCity personality: Bearer (or Basic) auth, the `/httpAuth` and `/guestAuth`
//! prefixes echoed into hrefs, XML unless JSON is asked for, text/plain errors.

mod agent_pools;
mod agents;
mod build_lookup;
mod build_queue;
mod builds;
mod error;
mod finished;
pub mod model;
mod paging;
mod render;
mod security;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::{App, World};
use crate::clock::now_ms;
use crate::http::{self, Req, percent_decode};
use error::{TcError, TcResult};
use model::Tc;
use render::{accept_text, respond};

pub fn handle(app: &App, req: &Req) -> Response<Body> {
    let mut world = app.world();
    match route(app, &mut world, req) {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

fn route(app: &App, world: &mut World, req: &Req) -> TcResult {
    let (prefix, rest) = split_prefix(&req.path);
    let identity = match security::admit(world, req) {
        Ok(identity) => identity,
        Err(refusal) => return Ok(refusal.response()),
    };
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
        (&Method::DELETE, ["agents", loc]) => {
            let index = agents::find_one(&tc, loc)?;
            agents::delete(world, index)
        }
        (&Method::PUT, ["agents", loc, field]) => {
            let index = agents::find_one(&tc, loc)?;
            agents::put_field(world, req, index, field, &user, prefix)
        }
        (&Method::GET, ["agentPools"]) => agent_pools::list(&tc, req),
        (&Method::GET, ["agentPools", loc]) => agent_pools::single(&tc, req, loc),
        (&Method::GET, ["agentPools", loc, "agents"]) => agents::of_pool(&tc, req, loc),
        (&Method::GET, ["buildQueue"]) => build_queue::list(&tc, req),
        (&Method::GET, ["buildQueue", loc]) => build_queue::single(&tc, req, loc),
        (&Method::GET, ["buildQueue", loc, "compatibleAgents"]) => {
            build_queue::compatible_agents_of(&tc, req, loc)
        }
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
