//! The first step: a Function URL request in, the notification it carries out, or why
//! it is refused. Only POST, only bodies within `RETRY_MAX_BODY_BYTES`, only what the
//! webhook key signed within the replay window, and only notifications of a finished,
//! failed build of this advise-retry's CI server are read further.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use chrono::{DateTime, Utc};
use rules::retry::BuildStatus;
use shared::ci::CiKind;

use crate::config::RetryConfig;
use crate::payload::{self, Notice};
use crate::report::Stop;
use crate::request::{body_bytes, header, is_method, sent_len};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

/// The notification in `request`, if it is authentic, fresh and readable.
pub fn notice(
    request: &LambdaFunctionUrlRequest,
    config: &RetryConfig,
    key: &[u8],
    now: DateTime<Utc>,
) -> Result<Notice, Stop> {
    if !is_method(request, "POST") {
        return Err(Stop::rejected(405, "advise-retry takes POST requests only"));
    }
    let body = body_within(request, config.max_body_bytes)?;
    verify(
        key,
        header(request, TIMESTAMP_HEADER),
        header(request, SIGNATURE_HEADER),
        &body,
        now.timestamp(),
        config.window.as_secs(),
    )
    .map_err(|rejection| Stop::rejected(401, rejection.to_string()))?;
    payload::parse(&body).map_err(|e| Stop::rejected(400, e))
}

/// The body's bytes, refused before decoding when what was sent is already too large.
fn body_within(request: &LambdaFunctionUrlRequest, limit: usize) -> Result<Vec<u8>, Stop> {
    let too_large = || {
        Stop::rejected(
            413,
            format!("the body is larger than {limit} bytes (RETRY_MAX_BODY_BYTES)"),
        )
    };
    if sent_len(request) > limit {
        return Err(too_large());
    }
    match body_bytes(request) {
        Ok(body) if body.len() > limit => Err(too_large()),
        Ok(body) => Ok(body),
        Err(e) => Err(Stop::rejected(400, e)),
    }
}

/// Whether the notice is worth reading the build back for: sent by this advise-retry's
/// CI server, about a finished build that did not succeed.
pub fn worth_advising(notice: &Notice, serves: CiKind) -> Result<(), Stop> {
    if notice.kind != serves {
        return Err(Stop::rejected(
            400,
            format!(
                "this advise-retry serves {serves} (CI_KIND); the payload is from {}",
                notice.kind
            ),
        ));
    }
    if !notice.finished {
        return Err(Stop::ignored(format!(
            "{} is not a finished-build event",
            notice.event
        )));
    }
    if notice.status == Some(BuildStatus::Success) {
        return Err(Stop::ignored("the build succeeded"));
    }
    Ok(())
}
