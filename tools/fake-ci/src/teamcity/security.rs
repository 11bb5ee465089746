//! Who may call: a TeamCity token (Bearer) or a state user (Basic), else 401; a write in
//! a cookie session must carry the CSRF header (Bearer requests without cookies skip it).

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::World;
use crate::auth::{self, Identity};
use crate::http::{self, Req, with_header};

/// Why a request is turned away before it reaches any resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unauthenticated,
    CsrfCheckFailed,
}

impl Refusal {
    pub fn response(self) -> Response<Body> {
        match self {
            Refusal::Unauthenticated => with_header(
                http::text(
                    StatusCode::UNAUTHORIZED,
                    "Authentication required\nTo login manually go to \"/login.html\" page",
                ),
                "www-authenticate",
                "Basic realm=\"TeamCity\"",
            ),
            Refusal::CsrfCheckFailed => http::text(
                StatusCode::FORBIDDEN,
                "403 Forbidden: Responding with 403 status code due to failed CSRF check: no \"X-TC-CSRF-Token\" header is provided",
            ),
        }
    }
}

/// The caller's identity, or why it is refused.
pub fn admit(world: &World, req: &Req) -> Result<Identity, Refusal> {
    let identity = auth::identify(req, &world.state, true);
    if matches!(identity, Identity::Anonymous | Identity::Invalid(_)) {
        return Err(Refusal::Unauthenticated);
    }
    let writes = !matches!(req.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let has_session = req.cookies().iter().any(|(k, _)| k == "TCSESSIONID");
    if writes && has_session && req.header("x-tc-csrf-token").is_none() {
        return Err(Refusal::CsrfCheckFailed);
    }
    Ok(identity)
}
