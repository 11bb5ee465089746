//! Why a CI call failed. Any of these means the state of the CI server is unknown, and
//! unknown is never read as zero (docs/design.md#unknown-is-never-idle; pytorch#87500 killed busy runners that way).

use std::fmt;
use std::time::Duration;

use super::kind::CiKind;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} {method} {url}: {problem}")]
pub struct CiError {
    pub kind: CiKind,
    pub method: &'static str,
    /// Path and host only: queries can be long and credentials never appear in URLs.
    pub url: String,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    Timeout(Duration),
    Unreachable(String),
    /// 401/403: the credentials are wrong or lack a permission.
    Unauthorized {
        status: u16,
    },
    /// An HTML page where JSON was expected: a login page, an SSO proxy, a maintenance page.
    NotJson {
        status: u16,
        content_type: String,
    },
    Redirected {
        status: u16,
        location: String,
    },
    ServerError {
        status: u16,
        snippet: String,
    },
    UnexpectedStatus {
        status: u16,
        snippet: String,
    },
    TooLarge {
        limit: usize,
    },
    Malformed(String),
    Refused(String),
    /// The agent or object named does not exist on the CI server.
    NotFound(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Timeout(after) => write!(f, "no answer within {} s", after.as_secs_f64()),
            Problem::Unreachable(cause) => write!(f, "unreachable: {cause}"),
            Problem::Unauthorized { status } => write!(
                f,
                "HTTP {status}: the server refused the credentials or their permissions"
            ),
            Problem::NotJson {
                status,
                content_type,
            } => {
                write!(
                    f,
                    "HTTP {status} answered {content_type:?} instead of JSON (a login page or a proxy in the way?)"
                )
            }
            Problem::Redirected { status, location } => {
                write!(f, "HTTP {status} redirect to {location:?} (a login page?)")
            }
            Problem::ServerError { status, snippet } => {
                write!(f, "HTTP {status} server error: {snippet}")
            }
            Problem::UnexpectedStatus { status, snippet } => write!(f, "HTTP {status}: {snippet}"),
            Problem::TooLarge { limit } => write!(
                f,
                "response larger than {limit} bytes (CI_MAX_RESPONSE_BYTES)"
            ),
            Problem::Malformed(reason) => {
                write!(f, "response is not what the API documents: {reason}")
            }
            Problem::Refused(reason) => write!(f, "{reason}"),
            Problem::NotFound(what) => write!(f, "HTTP 404: no {what}"),
        }
    }
}
