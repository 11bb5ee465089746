//! Jenkins' HTML pages: the refusals (404, 401 with the Basic challenge, the anonymous
//! 403 with the permission headers clients diagnose with, 405 for a POST-only URL) and
//! an object's own page, where node actions redirect to.

use axum::body::Body;
use axum::http::{Response, StatusCode};

use crate::http::{self, escape_html, with_header};

pub fn not_found() -> Response<Body> {
    http::html(StatusCode::NOT_FOUND, "Error 404 Not Found", "Not Found")
}

pub fn unauthorized(user: &str) -> Response<Body> {
    let response = http::html(
        StatusCode::UNAUTHORIZED,
        "Error 401 Unauthorized",
        &format!("Invalid password/token for user: {user}"),
    );
    with_header(response, "www-authenticate", "Basic realm=\"Jenkins\"")
}

/// An object's page (`layout.jelly`): 200 HTML, with the headers
/// `Functions.advertiseHeaders` adds to every page (`X-Hudson`; `X-Jenkins` and
/// `X-Jenkins-Session` the fake adds to every response).
pub fn object_page(name: Option<&str>) -> Response<Body> {
    let title = match name {
        Some(name) => format!("{} [Jenkins]", escape_html(name)),
        None => "Dashboard [Jenkins]".to_owned(),
    };
    let page = http::html(StatusCode::OK, &title, "");
    with_header(page, "x-hudson", "1.395")
}

/// The anonymous 403 of `HudsonAuthenticationEntryPoint`, for a refusal that names no
/// permission (such as `/me` for anonymous).
pub fn authentication_required() -> Response<Body> {
    let response = http::html(
        StatusCode::FORBIDDEN,
        "Authentication required",
        "You are authenticated as: anonymous. Please log in (/login) to access this page.",
    );
    with_header(response, "x-you-are-authenticated-as", "anonymous")
}

pub fn forbidden_anonymous(permission: &str) -> Response<Body> {
    let response = authentication_required();
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

/// `@RequirePOST` actions answer a GET with 405 and `Allow: POST`.
pub fn post_only() -> Response<Body> {
    let page = http::html(
        StatusCode::METHOD_NOT_ALLOWED,
        "This URL requires POST",
        "The URL you're trying to access requires that requests be sent using POST (like a form submission). Try again.",
    );
    with_header(page, "allow", "POST")
}
