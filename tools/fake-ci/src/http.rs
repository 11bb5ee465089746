//! Request parsing and response building shared by both servers. Paths and queries are
//! decoded by hand because Jenkins node names and TeamCity locators carry characters
//! (parentheses, colons, commas) that routers and form decoders treat specially.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// What handlers need from a request, read once so they stay synchronous.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// Raw path as sent (still percent-encoded).
    pub path: String,
    /// Raw query as sent, without `?`; empty when absent.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Form body parameters, when the body is `application/x-www-form-urlencoded`.
    pub fn form_param(&self, name: &str) -> Option<String> {
        let is_form = self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return None;
        }
        let body = String::from_utf8_lossy(&self.body);
        parse_pairs(&body)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| {
                c.trim()
                    .split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// `host[:port]` for absolute URLs, as Jenkins builds them from its root URL.
    pub fn host(&self) -> String {
        self.header("host").unwrap_or("127.0.0.1").to_owned()
    }

    pub fn accepts_json(&self) -> bool {
        self.header("accept")
            .is_some_and(|a| a.contains("application/json"))
    }
}

pub fn percent_decode(text: &str) -> String {
    decode(text, false)
}

fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `application/x-www-form-urlencoded` pairs, in order.
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k, true), decode(v, true)),
            None => (decode(p, true), String::new()),
        })
        .collect()
}

/// Escapes only what would break a query value, so hrefs stay readable like TeamCity's.
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '&' => out.push_str("%26"),
            '+' => out.push_str("%2B"),
            '#' => out.push_str("%23"),
            ' ' => out.push_str("%20"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
    out
}

pub fn response(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    // Straight into bytes: `to_string` goes through `fmt`, which costs on large listings.
    let body = serde_json::to_vec(value).unwrap_or_default();
    response(status, "application/json;charset=utf-8", body)
}

pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    response(status, "text/plain;charset=UTF-8", body.into())
}

pub fn html(status: StatusCode, title: &str, message: &str) -> Response<Body> {
    let body = format!(
        "<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>{}</p></body></html>\n",
        escape_html(message)
    );
    response(status, "text/html;charset=utf-8", body)
}

pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub fn with_header(mut resp: Response<Body>, name: &'static str, value: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().append(name, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(percent_decode("a%20b+c%28"), "a b+c(");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        let pairs = parse_pairs("offlineMessage=gone+away%21&x");
        assert_eq!(
            pairs,
            vec![
                ("offlineMessage".into(), "gone away!".into()),
                ("x".into(), String::new())
            ]
        );
    }

    #[test]
    fn encodes_only_what_breaks_a_query() {
        assert_eq!(
            encode_query_value("pool:(name:a b),x:1+2"),
            "pool:(name:a%20b),x:1%2B2"
        );
    }
}
