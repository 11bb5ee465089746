//! The crate's one error type. Every message names its culprit (the variable, the
//! server, the AWS operation) in one line, because that line is what an operator sees
//! in a Lambda error or a CLI exit.

use crate::ci::CiError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {variable}: {reason}")]
    Config { variable: String, reason: String },
    #[error(transparent)]
    Ci(#[from] CiError),
    #[error("AWS {operation}: {message}")]
    Aws {
        operation: &'static str,
        message: String,
    },
    #[error("malformed event: {0}")]
    Event(String),
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The `errorType` Lambda reports for a failed invocation.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config { .. } => "ConfigError",
            Error::Ci(_) => "CiServerError",
            Error::Aws { .. } => "AwsError",
            Error::Event(_) => "MalformedEvent",
            Error::Failed(_) => "Failed",
        }
    }

    pub fn config(variable: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Config {
            variable: variable.into(),
            reason: reason.into(),
        }
    }

    /// Wraps an AWS SDK error with the operation's name and the service's own message
    /// (the SDK's `Display` alone says only "service error").
    pub fn aws<E>(operation: &'static str, error: E) -> Error
    where
        E: std::error::Error + 'static,
    {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::Aws { operation, message }
    }
}
