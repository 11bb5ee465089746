//! Who may do what, checked before any dispatch as Jenkins' filters do: wrong
//! credentials are 401, anonymous without read access 403, and a POST without a valid
//! crumb 403 (CrumbFilter runs first, so even a POST to an unknown URL gets it).

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use super::pages;
use crate::app::World;
use crate::auth::{self, Identity};
use crate::http::{self, Req};

/// Why a request is turned away before it reaches any page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Credentials were sent but are wrong; carries the user name for the error text.
    BadCredentials(String),
    AnonymousCannotRead,
    NoValidCrumb,
}

impl Refusal {
    pub fn response(self) -> Response<Body> {
        match self {
            Refusal::BadCredentials(user) => pages::unauthorized(&user),
            Refusal::AnonymousCannotRead => pages::forbidden_anonymous("hudson.model.Hudson.Read"),
            Refusal::NoValidCrumb => http::html(
                StatusCode::FORBIDDEN,
                "Error 403 No valid crumb was included in the request",
                "No valid crumb was included in the request",
            ),
        }
    }
}

/// The caller's identity, or why it is refused.
pub fn admit(world: &World, req: &Req) -> Result<Identity, Refusal> {
    let identity = auth::identify(req, &world.state, false);
    match &identity {
        Identity::Invalid(user) => return Err(Refusal::BadCredentials(user.clone())),
        Identity::Anonymous if !world.state.auth.anonymous_read => {
            return Err(Refusal::AnonymousCannotRead);
        }
        _ => {}
    }
    // API tokens are exempt from the crumb; passwords and anonymous POSTs are not.
    let crumb_exempt = matches!(identity, Identity::Token(_));
    if req.method == Method::POST && world.state.auth.csrf && !crumb_exempt {
        let session = auth::session_cookie(req);
        let crumb = auth::sent_crumb(req);
        if !world
            .sessions
            .valid(session.as_deref(), identity.user(), crumb.as_deref())
        {
            return Err(Refusal::NoValidCrumb);
        }
    }
    Ok(identity)
}
