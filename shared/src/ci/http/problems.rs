//! How an HTTP answer is read: a body capped in size, and a transport failure or a status
//! read as a `Problem`, the classification
//! every CI call shares, so a login page, a proxy's 404 or a timeout is "unknown", never
//! an empty answer.
//! Codes such as (A1.1) and (B1.4) are points of docs/ci-semantics.md.

use std::time::Duration;

use crate::ci::error::Problem;
use crate::ci::kind::CiKind;

pub(super) fn method_name(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::POST => "POST",
        reqwest::Method::PUT => "PUT",
        reqwest::Method::DELETE => "DELETE",
        _ => "GET",
    }
}

pub(super) fn transport_problem(error: &reqwest::Error, timeout: Duration) -> Problem {
    if error.is_timeout() {
        Problem::Timeout(timeout)
    } else {
        let mut cause = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            cause = format!("{cause}: {inner}");
            source = inner.source();
        }
        Problem::Unreachable(cause)
    }
}

/// Reads at most `limit` bytes; `Err(None)` means the body timed out half way.
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Option<Problem>> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(Some(Problem::TooLarge { limit }));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Some(Problem::TooLarge { limit }));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(None),
            Err(e) => return Err(Some(Problem::Unreachable(format!("body cut off: {e}")))),
        }
    }
}

/// Everything except a 2xx JSON body is a problem; the order gives the clearest message.
pub(super) fn status_problem(
    status: u16,
    content_type: &str,
    location: &str,
    body: &[u8],
) -> Option<Problem> {
    let snippet = || snippet(body);
    match status {
        401 | 403 => Some(Problem::Unauthorized { status }),
        300..=399 => Some(Problem::Redirected {
            status,
            location: location.to_owned(),
        }),
        500..=599 => Some(Problem::ServerError {
            status,
            snippet: snippet(),
        }),
        200..=299 => {
            let looks_html = content_type.contains("html")
                || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
            if looks_html {
                Some(Problem::NotJson {
                    status,
                    content_type: content_type.to_owned(),
                })
            } else if body.iter().all(u8::is_ascii_whitespace) {
                Some(Problem::Malformed("empty body".into()))
            } else {
                None
            }
        }
        _ => Some(Problem::UnexpectedStatus {
            status,
            snippet: snippet(),
        }),
    }
}

/// A 404 means "no such agent" (or build) only when the CI server itself says so: Jenkins marks
/// its answers with `X-Jenkins` (A1.1), TeamCity names a `NotFoundException` (text) or answers
/// `{"errors": …}` (JSON). A 404 from a proxy or a wrong `CI_URL` stays an error: read as
/// "no such agent", it would make a busy agent look never registered and its drain end.
pub(super) fn says_not_found(kind: CiKind, jenkins_answered: bool, body: &[u8]) -> bool {
    match kind {
        CiKind::Jenkins => jenkins_answered,
        CiKind::TeamCity => {
            let head = String::from_utf8_lossy(&body[..body.len().min(4096)]);
            head.contains("NotFoundException") || head.trim_start().starts_with("{\"errors\"")
        }
    }
}

/// The start of an error body, on one line, for the log: enough to recognise the page.
pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_unusable_responses() {
        let cases: Vec<(u16, &str, &[u8], Option<&str>)> = vec![
            (200, "application/json", b"{\"items\":[]}", None),
            (
                200,
                "text/html;charset=utf-8",
                b"<html><body>Sign in</body></html>",
                Some(
                    "HTTP 200 answered \"text/html;charset=utf-8\" instead of JSON (a login page or a proxy in the way?)",
                ),
            ),
            (
                200,
                "application/json",
                b"  <!DOCTYPE html>",
                Some(
                    "HTTP 200 answered \"application/json\" instead of JSON (a login page or a proxy in the way?)",
                ),
            ),
            (
                200,
                "application/json",
                b"",
                Some("response is not what the API documents: empty body"),
            ),
            (
                401,
                "text/html",
                b"",
                Some("HTTP 401: the server refused the credentials or their permissions"),
            ),
            (
                403,
                "text/html",
                b"<html>",
                Some("HTTP 403: the server refused the credentials or their permissions"),
            ),
            (
                302,
                "",
                b"",
                Some("HTTP 302 redirect to \"/login\" (a login page?)"),
            ),
            (
                503,
                "text/html",
                b"<html>\n  Service   Unavailable</html>",
                Some("HTTP 503 server error: <html> Service Unavailable</html>"),
            ),
            (404, "text/plain", b"Not found", Some("HTTP 404: Not found")),
        ];
        for (status, content_type, body, expected) in cases {
            let got = status_problem(status, content_type, "/login", body).map(|p| p.to_string());
            assert_eq!(got.as_deref(), expected, "{status} {content_type}");
        }
    }

    #[test]
    fn a_404_is_no_such_agent_only_when_the_ci_server_says_so() {
        // (kind, X-Jenkins header, body, not found)
        let cases: [(CiKind, bool, &[u8], bool); 6] = [
            (CiKind::Jenkins, true, b"<html>Not Found</html>", true),
            (CiKind::Jenkins, false, b"<html>nginx 404</html>", false),
            (
                CiKind::TeamCity,
                false,
                b"Responding with error, status code: 404 (Not Found).\nDetails: jetbrains.buildServer.server.rest.errors.NotFoundException: No agent can be found by name 'x'.",
                true,
            ),
            (
                CiKind::TeamCity,
                false,
                br#"{"errors":[{"message":"No agent can be found by name 'x'."}]}"#,
                true,
            ),
            (CiKind::TeamCity, false, b"<html>404 Not Found</html>", false),
            (CiKind::TeamCity, true, b"", false),
        ];
        for (kind, header, body, expected) in cases {
            assert_eq!(
                says_not_found(kind, header, body),
                expected,
                "{kind:?} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
