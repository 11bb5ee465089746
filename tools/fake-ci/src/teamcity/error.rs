//! TeamCity's errors: text/plain bodies as the REST plugin's ExceptionMapperBase writes
//! them (`Responding with error, status code: …`), one constructor per exception.

use axum::body::Body;
use axum::http::{Response, StatusCode};

use crate::http;
use crate::locator::Locator;

/// A TeamCity error, rendered the way the REST plugin's ExceptionMapperBase does.
#[derive(Debug)]
pub struct TcError {
    pub(super) status: StatusCode,
    pub(super) details: String,
}

impl TcError {
    pub fn not_found(message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::NOT_FOUND,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.NotFoundException: {}\nCould not find the entity requested. Check the reference is correct and the user has permissions to access the entity.",
                message.into()
            ),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::BAD_REQUEST,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.BadRequestException: {}\nInvalid request. Please check the request URL and data are correct.",
                message.into()
            ),
        }
    }

    pub fn locator(text: &str, message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::BAD_REQUEST,
            details: format!(
                "jetbrains.buildServer.server.rest.errors.LocatorProcessException: Invalid locator '{text}': {}\nInvalid request. Please check the request URL and data are correct.",
                message.into()
            ),
        }
    }

    pub fn unknown_dims(text: &str, unknown: &[&str], supported: &[&str]) -> TcError {
        let which = unknown
            .iter()
            .map(|d| format!("'{d}'"))
            .collect::<Vec<_>>()
            .join(", ");
        TcError::locator(
            text,
            format!(
                "Locator dimension {which} is unknown. Supported dimensions are: [{}]",
                supported.join(", ")
            ),
        )
    }

    pub fn not_acceptable() -> TcError {
        TcError {
            status: StatusCode::NOT_ACCEPTABLE,
            details: "javax.ws.rs.NotAcceptableException: HTTP 406 Not Acceptable\nMake sure you have supplied correct 'Accept' header."
                .to_owned(),
        }
    }

    pub fn unsupported_media() -> TcError {
        TcError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            details: "javax.ws.rs.NotSupportedException: HTTP 415 Unsupported Media Type\nMake sure you have supplied correct 'Content-Type' header."
                .to_owned(),
        }
    }

    /// An exception no mapper knows: the REST plugin's RuntimeExceptionMapper answers 500
    /// with its own closing line.
    pub fn internal(exception: &str, message: impl Into<String>) -> TcError {
        TcError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            details: format!(
                "{exception}: {}\nError occurred while processing this request.",
                message.into()
            ),
        }
    }

    pub fn method_not_allowed() -> TcError {
        TcError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            details: "javax.ws.rs.NotAllowedException: HTTP 405 Method Not Allowed".to_owned(),
        }
    }

    /// ExceptionMapperBase.getResponseTextAndLogRestErrorErrorMessage: 5xx answers begin
    /// "Error has occurred during request processing", the others "Responding with error".
    pub fn response(&self) -> Response<Body> {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let opening = if self.status.is_server_error() {
            "Error has occurred during request processing"
        } else {
            "Responding with error"
        };
        http::text(
            self.status,
            format!(
                "{opening}, status code: {} ({reason}).\nDetails: {}",
                self.status.as_u16(),
                self.details
            ),
        )
    }
}

pub type TcResult = Result<Response<Body>, TcError>;

pub fn parse_locator(text: &str) -> Result<Locator, TcError> {
    Locator::parse(text).map_err(|e| TcError::locator(text, e))
}
