//! The Lambda Function URL event (payload format 2.0) and the response it expects.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The fields advise-retry reads from a Function URL request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FunctionUrlRequest {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(rename = "rawPath", default)]
    pub raw_path: String,
    /// Lower-case names (Function URLs normalise them); repeated headers joined by commas.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(rename = "isBase64Encoded", default)]
    pub is_base64_encoded: bool,
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RequestContext {
    #[serde(rename = "requestId", default)]
    pub request_id: Option<String>,
    pub http: HttpContext,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HttpContext {
    pub method: String,
    #[serde(rename = "sourceIp", default)]
    pub source_ip: Option<String>,
}

impl FunctionUrlRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The size of the body as sent, before decoding (base64 is 4/3 of the bytes).
    pub fn sent_len(&self) -> usize {
        let len = self.body.as_deref().map_or(0, str::len);
        if self.is_base64_encoded {
            len / 4 * 3
        } else {
            len
        }
    }

    /// The body's bytes, exactly as signed.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        let body = self.body.as_deref().unwrap_or_default();
        if self.is_base64_encoded {
            STANDARD
                .decode(body)
                .map_err(|e| format!("isBase64Encoded body is not base64: {e}"))
        } else {
            Ok(body.as_bytes().to_vec())
        }
    }
}

/// What a Function URL turns into an HTTP response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionUrlResponse {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl FunctionUrlResponse {
    pub fn json(status_code: u16, body: &Value) -> FunctionUrlResponse {
        FunctionUrlResponse {
            status_code,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            body: serde_json::to_string_pretty(body).unwrap_or_else(|_| "{}".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fixture_shape() {
        let event: FunctionUrlRequest =
            serde_json::from_str(include_str!("../events/function-url-jenkins.json"))
                .expect("fixture parses");
        assert_eq!(event.version.as_deref(), Some("2.0"));
        assert_eq!(event.request_context.http.method, "POST");
        assert_eq!(
            event.header("X-CI-Fleet-Signature").map(|s| &s[..7]),
            Some("sha256=")
        );
        let body: Value =
            serde_json::from_slice(&event.body_bytes().expect("body")).expect("JSON body");
        assert_eq!(body["build"]["phase"], "FINALIZED");

        let encoded = FunctionUrlRequest {
            body: Some(STANDARD.encode(b"{\"a\":1}")),
            is_base64_encoded: true,
            ..event.clone()
        };
        assert_eq!(encoded.body_bytes().expect("decodes"), b"{\"a\":1}");
        let broken = FunctionUrlRequest {
            body: Some("%%%".into()),
            is_base64_encoded: true,
            ..event
        };
        assert!(broken.body_bytes().is_err());
    }
}
