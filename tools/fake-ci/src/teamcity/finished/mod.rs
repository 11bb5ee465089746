//! Finished builds and triggering (advise-retry's slice of TeamCity): a finished build at
//! `/app/rest/builds/id:N` (`build.rs`), its log at `/downloadBuildLog.html?buildId=N`
//! (sent whole: `Range` is ignored, so a client must keep the tail itself),
//! `PUT …/comment`, and `POST /app/rest/buildQueue` (`trigger.rs`).

mod build;
mod entity;
mod trigger;

use axum::http::{Method, StatusCode};

use super::error::{TcError, TcResult, parse_locator};
use super::render::respond;
use crate::app::World;
use crate::auth::Identity;
use crate::http::{self, Req};

/// Handles the URLs of this module; `None` leaves the request to the rest of the router.
pub fn route(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    prefix: &str,
    rest: &str,
) -> Option<TcResult> {
    let web = format!("http://{}", req.host());
    if rest == "/downloadBuildLog.html" {
        return Some(download_log(world, req));
    }
    let api = rest.strip_prefix("/app/rest")?;
    let segments: Vec<String> = api
        .split('/')
        .filter(|s| !s.is_empty())
        .map(http::percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&req.method, segs.as_slice()) {
        (&Method::POST, ["buildQueue"]) => {
            Some(trigger::queue_build(world, req, identity, prefix, &web))
        }
        (&Method::GET, ["builds", loc]) => {
            let index = find(world, loc)?;
            let value = build::build_json(&world.state.builds[index], world, prefix, &web);
            Some(respond(req, "build", &value, true))
        }
        (&Method::PUT, ["builds", loc, "comment"]) => Some(put_comment(world, req, loc)),
        _ => None,
    }
}

/// The finished build a `id:N` (or bare `N`) locator names.
fn find(world: &World, locator: &str) -> Option<usize> {
    let loc = parse_locator(locator).ok()?;
    let id: u64 = loc
        .single
        .as_deref()
        .or(loc.get("id"))
        .and_then(|v| v.parse().ok())?;
    world.state.builds.iter().position(|b| b.build_id() == id)
}

fn download_log(world: &World, req: &Req) -> TcResult {
    if req.method != Method::GET {
        return Err(TcError::method_not_allowed());
    }
    let id: Option<u64> = req.query_param("buildId").and_then(|v| v.parse().ok());
    match id.and_then(|id| world.state.builds.iter().find(|b| b.build_id() == id)) {
        Some(build) => Ok(http::response(
            StatusCode::OK,
            "text/plain;charset=UTF-8",
            build.console.clone(),
        )),
        None => Err(TcError::not_found(format!(
            "No build found by id '{}'.",
            req.query_param("buildId").unwrap_or_default()
        ))),
    }
}

fn put_comment(world: &mut World, req: &Req, locator: &str) -> TcResult {
    let Some(index) = find(world, locator) else {
        return Err(TcError::not_found(format!(
            "No build found by locator '{locator}'."
        )));
    };
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain"))
    {
        return Err(TcError::unsupported_media());
    }
    let text = String::from_utf8_lossy(&req.body).into_owned();
    world.state.builds[index].description = (!text.is_empty()).then_some(text);
    Ok(http::response(StatusCode::NO_CONTENT, "text/plain", ""))
}
