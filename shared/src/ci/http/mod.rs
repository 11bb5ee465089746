//! HTTP to the CI server: authentication, a timeout on every call, capped bodies, and a
//! classification of every way a response can be unusable.

use std::time::Duration;

use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use serde::de::DeserializeOwned;

mod problems;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::ci::error::{CiError, Problem};
use crate::ci::kind::CiKind;
use crate::config::{CiConfig, Credentials};
use problems::{
    method_name, read_capped, says_not_found, snippet, status_problem, transport_problem,
};

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
            // Jenkins words `why` and offline causes in the request's locale, else the JVM's
            // (Functions.getCurrentLocale); rules::why reads English only.
            .default_headers(HeaderMap::from_iter([(
                ACCEPT_LANGUAGE,
                HeaderValue::from_static("en"),
            )]))
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
    /// cookie it is bound to (docs/ci-semantics.md A7.1).
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

/// Characters left as they are in a path segment or query value: unreserved ones and
/// `,` (Jenkins `tree=` and TeamCity `fields=`/`locator=` read better with bare commas).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b',');

/// Percent-encodes a path segment or query value (Jenkins `tree=` and TeamCity `fields=`/`locator=` carry brackets, parentheses and colons).
pub fn encode_query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
