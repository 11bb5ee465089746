//! `submitDescription`: sets (or, empty, clears) a build's description and redirects
//! to the build.

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::World;
use crate::auth::Identity;
use crate::http::{self, Req, with_header};
use crate::jenkins::model::finished_build::build_url;
use crate::jenkins::pages;

pub fn submit_description(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    index: usize,
    root: &str,
) -> Response<Body> {
    if req.method != Method::POST {
        return pages::post_only();
    }
    if identity.user().is_none() {
        return pages::forbidden_anonymous("hudson.model.Run.Update");
    }
    let description = req
        .form_param("description")
        .or_else(|| req.query_param("description"))
        .unwrap_or_default();
    let build = &mut world.state.builds[index];
    build.description = (!description.is_empty()).then_some(description);
    let location = build_url(root, build);
    with_header(
        http::response(StatusCode::FOUND, "text/html;charset=utf-8", ""),
        "location",
        &location,
    )
}
