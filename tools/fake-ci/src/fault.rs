//! Failure modes a test can switch on, each one a way real CI servers have broken
//! autoscalers: errors, login pages served with 200, truncated JSON, silence.

use axum::body::Body;
use axum::http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::http::{self, with_header};
use crate::kind::Kind;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    #[default]
    None,
    /// 500 with an HTML error page.
    #[serde(rename = "http-500")]
    Http500,
    /// 200 text/html login page, as a reverse proxy or SSO layer answers.
    HtmlLogin,
    /// 200 whose body is not valid JSON.
    Garbage,
    /// Never answers.
    Hang,
    /// 200 with an empty body.
    #[serde(rename = "empty-200")]
    Empty200,
    /// 401.
    Unauthorized,
}

impl Fault {
    pub fn response(self, kind: Kind) -> Response<Body> {
        match self {
            Fault::None | Fault::Hang => {
                http::text(StatusCode::INTERNAL_SERVER_ERROR, "fault not renderable")
            }
            Fault::Http500 => http::html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "HTTP ERROR 500 Internal Server Error",
                "java.lang.NullPointerException (injected by fake-ci)",
            ),
            Fault::HtmlLogin => http::response(
                StatusCode::OK,
                "text/html;charset=utf-8",
                "<!DOCTYPE html><html><head><title>Sign in</title></head><body>\
                 <form method=\"post\" action=\"/j_spring_security_check\"><input name=\"j_username\">\
                 <input name=\"j_password\" type=\"password\"><button>Sign in</button></form></body></html>\n",
            ),
            Fault::Garbage => http::response(
                StatusCode::OK,
                "application/json;charset=utf-8",
                "{\"_class\":\"hudson.model.Queue\",\"items\":[{\"id\":12,\"why\":\"Wait",
            ),
            Fault::Empty200 => http::response(StatusCode::OK, "application/json;charset=utf-8", ""),
            Fault::Unauthorized => {
                let realm = match kind {
                    Kind::Jenkins => "Basic realm=\"Jenkins\"",
                    Kind::TeamCity => "Basic realm=\"TeamCity\"",
                };
                with_header(
                    http::html(
                        StatusCode::UNAUTHORIZED,
                        "Unauthorized",
                        "Authentication required",
                    ),
                    "www-authenticate",
                    realm,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_match_the_control_api() {
        for (name, fault) in [
            ("none", Fault::None),
            ("http-500", Fault::Http500),
            ("html-login", Fault::HtmlLogin),
            ("garbage", Fault::Garbage),
            ("hang", Fault::Hang),
            ("empty-200", Fault::Empty200),
            ("unauthorized", Fault::Unauthorized),
        ] {
            let parsed: Fault = serde_json::from_value(serde_json::json!(name)).expect(name);
            assert_eq!(parsed, fault);
            assert_eq!(
                serde_json::to_value(fault).expect("serializes"),
                serde_json::json!(name)
            );
        }
    }
}
