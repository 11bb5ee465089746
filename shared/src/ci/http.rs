//! HTTP to the CI server: authentication, a timeout on every call, capped bodies, and a
//! classification of every way a response can be unusable.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde::de::DeserializeOwned;

use super::error::{CiError, Problem};
use super::kind::CiKind;
use crate::config::{CiConfig, Credentials};

#[derive(Clone)]
pub struct CiHttp {
    client: reqwest::Client,
    kind: CiKind,
    base: String,
    credentials: Option<Credentials>,
    timeout: Duration,
    max_bytes: usize,
    page_size: u32,
}

impl CiHttp {
    pub fn new(config: &CiConfig, credentials: Option<Credentials>) -> Result<CiHttp, CiError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            // A redirect on an API call means a login page or a misconfigured URL: report it.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ci-fleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CiError {
                kind: config.kind,
                method: "INIT",
                url: config.url.clone(),
                problem: Problem::Unreachable(e.to_string()),
            })?;
        Ok(CiHttp {
            client,
            kind: config.kind,
            base: config.url.clone(),
            credentials,
            timeout: config.timeout,
            max_bytes: config.max_response_bytes,
            page_size: config.page_size,
        })
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    pub fn kind(&self) -> CiKind {
        self.kind
    }

    /// GETs `path_and_query` (relative to the base URL, context path included) and parses JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, CiError> {
        let url = format!("{}{}", self.base, path_and_query);
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let fail = |problem| CiError {
            kind: self.kind,
            method: "GET",
            url: format!("{}{}", self.base, path),
            problem,
        };
        let request = self
            .authorize(self.client.get(&url))
            .header(ACCEPT, "application/json");
        let response = request
            .send()
            .await
            .map_err(|e| fail(transport_problem(&e, self.timeout)))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let jenkins_answered = response.headers().contains_key("x-jenkins");
        let body = read_capped(response, self.max_bytes)
            .await
            .map_err(|p| fail(p.unwrap_or(Problem::Timeout(self.timeout))))?;
        if status == 404 && says_not_found(self.kind, jenkins_answered, &body) {
            return Err(fail(Problem::NotFound(path.to_owned())));
        }
        if let Some(problem) = status_problem(status, &content_type, &location, &body) {
            return Err(fail(problem));
        }
        serde_json::from_slice(&body).map_err(|e| fail(Problem::Malformed(e.to_string())))
    }

    /// Sends a write (POST/PUT/DELETE) and returns the status; 2xx and 3xx (Jenkins
    /// answers its actions with 302) are success, the CI server's own 404 is `NotFound`
    /// (`says_not_found`), the rest errors.
    /// Jenkins servers that demand a crumb even with API tokens get one, with the session
    /// cookie it is bound to (SEMANTICS.md A7.1).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<u16, CiError> {
        self.send_for_answer(method, path_and_query, body, None)
            .await
            .map(|answer| answer.status)
    }

    /// `send`, also returning the `Location` header and the start of the body, for writes
    /// whose answer names what they created (Jenkins' queue item, TeamCity's queued build).
    /// `accept` sets the `Accept` header (TeamCity answers XML without one).
    pub async fn send_for_answer(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<(&'static str, Vec<u8>)>,
        accept: Option<&'static str>,
    ) -> Result<Answer, CiError> {
        let answer = self
            .send_once(method.clone(), path_and_query, body.clone(), None, accept)
            .await?;
        let needs_crumb = self.kind == CiKind::Jenkins
            && answer.status == 403
            && answer.body.to_ascii_lowercase().contains("crumb");
        let answer = if needs_crumb {
            let crumb = self.crumb().await?;
            self.send_once(method.clone(), path_and_query, body, Some(crumb), accept)
                .await?
        } else {
            answer
        };
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let fail = |problem| CiError {
            kind: self.kind,
            method: method_name(&method),
            url: format!("{}{}", self.base, path),
            problem,
        };
        let status = answer.status;
        match status {
            200..=399 => Ok(answer),
            404 if answer.not_found => Err(fail(Problem::NotFound(path.to_owned()))),
            401 | 403 => Err(fail(Problem::Unauthorized { status })),
            500..=599 => Err(fail(Problem::ServerError {
                status,
                snippet: snippet(answer.body.as_bytes()),
            })),
            _ => Err(fail(Problem::UnexpectedStatus {
                status,
                snippet: snippet(answer.body.as_bytes()),
            })),
        }
    }

    /// GETs `path_and_query` with extra `headers` and returns the response once its status
    /// is 2xx, for callers that read the body themselves (log tails). The CI server's own
    /// 404 is `NotFound`.
    pub async fn get_response(
        &self,
        path_and_query: &str,
        headers: &[(&'static str, String)],
    ) -> Result<reqwest::Response, CiError> {
        let url = format!("{}{}", self.base, path_and_query);
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let fail = |problem| CiError {
            kind: self.kind,
            method: "GET",
            url: format!("{}{}", self.base, path),
            problem,
        };
        let mut request = self.authorize(self.client.get(&url));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(transport_problem(&e, self.timeout)))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let jenkins_answered = response.headers().contains_key("x-jenkins");
        let body = read_capped(response, 64 * 1024).await.unwrap_or_default();
        Err(fail(match status {
            404 if says_not_found(self.kind, jenkins_answered, &body) => {
                Problem::NotFound(path.to_owned())
            }
            _ => {
                status_problem(status, "", &location, &body).unwrap_or(Problem::UnexpectedStatus {
                    status,
                    snippet: snippet(&body),
                })
            }
        }))
    }

    /// The response size limit (`CI_MAX_RESPONSE_BYTES`).
    pub fn max_response_bytes(&self) -> usize {
        self.max_bytes
    }

    async fn send_once(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<(&'static str, Vec<u8>)>,
        crumb: Option<Crumb>,
        accept: Option<&'static str>,
    ) -> Result<Answer, CiError> {
        let url = format!("{}{}", self.base, path_and_query);
        let path = path_and_query.split('?').next().unwrap_or(path_and_query);
        let fail = |problem| CiError {
            kind: self.kind,
            method: method_name(&method),
            url: format!("{}{}", self.base, path),
            problem,
        };
        let mut request = self.authorize(self.client.request(method.clone(), &url));
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        if let Some(crumb) = crumb {
            request = request.header(crumb.field.as_str(), crumb.value.as_str());
            if let Some(cookie) = crumb.cookie {
                request = request.header(reqwest::header::COOKIE, cookie);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(transport_problem(&e, self.timeout)))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let jenkins_answered = response.headers().contains_key("x-jenkins");
        let body = read_capped(response, 64 * 1024).await.unwrap_or_default();
        Ok(Answer {
            status,
            location,
            not_found: status == 404 && says_not_found(self.kind, jenkins_answered, &body),
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    async fn crumb(&self) -> Result<Crumb, CiError> {
        let url = format!("{}/crumbIssuer/api/json", self.base);
        let fail = |problem| CiError {
            kind: self.kind,
            method: "GET",
            url: url.clone(),
            problem,
        };
        let response = self
            .authorize(self.client.get(&url))
            .send()
            .await
            .map_err(|e| fail(transport_problem(&e, self.timeout)))?;
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter(|v| v.starts_with("JSESSIONID"))
            .collect::<Vec<_>>()
            .join("; ");
        let status = response.status().as_u16();
        let body = read_capped(response, 64 * 1024)
            .await
            .map_err(|p| fail(p.unwrap_or(Problem::Timeout(self.timeout))))?;
        if status != 200 {
            return Err(fail(Problem::UnexpectedStatus {
                status,
                snippet: snippet(&body),
            }));
        }
        #[derive(serde::Deserialize)]
        struct CrumbJson {
            crumb: String,
            #[serde(rename = "crumbRequestField")]
            field: String,
        }
        let parsed: CrumbJson =
            serde_json::from_slice(&body).map_err(|e| fail(Problem::Malformed(e.to_string())))?;
        Ok(Crumb {
            field: parsed.field,
            value: parsed.crumb,
            cookie: (!cookie.is_empty()).then_some(cookie),
        })
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.credentials, self.kind) {
            (None, _) => request,
            (Some(c), CiKind::TeamCity) => request.bearer_auth(c.token.expose()),
            (Some(c), CiKind::Jenkins) => request.basic_auth(
                c.user.as_deref().unwrap_or_default(),
                Some(c.token.expose()),
            ),
        }
    }
}

/// What a write answered: its status, `Location` header and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// At most 64 KiB.
    pub body: String,
    /// A 404 that the CI server itself gave (`says_not_found`), not a proxy's.
    pub not_found: bool,
}

/// A Jenkins CSRF crumb with the session cookie it was issued for.
#[derive(Clone)]
struct Crumb {
    field: String,
    value: String,
    cookie: Option<String>,
}

fn method_name(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::POST => "POST",
        reqwest::Method::PUT => "PUT",
        reqwest::Method::DELETE => "DELETE",
        _ => "GET",
    }
}

fn transport_problem(error: &reqwest::Error, timeout: Duration) -> Problem {
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
async fn read_capped(
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
fn status_problem(status: u16, content_type: &str, location: &str, body: &[u8]) -> Option<Problem> {
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
/// its answers with `X-Jenkins` (A1), TeamCity names a `NotFoundException` (text) or answers
/// `{"errors": …}` (JSON). A 404 from a proxy or a wrong `CI_URL` stays an error: read as
/// "no such agent", it would make a busy agent look never registered and its drain end.
fn says_not_found(kind: CiKind, jenkins_answered: bool, body: &[u8]) -> bool {
    match kind {
        CiKind::Jenkins => jenkins_answered,
        CiKind::TeamCity => {
            let head = String::from_utf8_lossy(&body[..body.len().min(4096)]);
            head.contains("NotFoundException") || head.trim_start().starts_with("{\"errors\"")
        }
    }
}

/// The start of an error body, on one line, for the log: enough to recognise the page.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(160)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Percent-encodes a path segment or query value (Jenkins `tree=` and TeamCity `fields=`/`locator=` carry brackets, parentheses and colons).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
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

    #[test]
    fn encodes_query_values() {
        assert_eq!(
            encode_query_value("items[id,why]{0,10}"),
            "items%5Bid,why%5D%7B0,10%7D"
        );
        assert_eq!(
            encode_query_value("pool:(name:Linux Pool)"),
            "pool%3A%28name%3ALinux%20Pool%29"
        );
    }
}
