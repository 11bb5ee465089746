//! A build's console: progressive text from a byte offset (`X-Text-Size` tells the
//! length; an offset past the end starts again at 0, as Stapler's LargeText does) and
//! `consoleText` honouring `Range`.

use axum::body::Body;
use axum::http::{Response, StatusCode};

use crate::http::{self, Req, with_header};

fn text_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    http::response(status, "text/plain;charset=UTF-8", bytes)
}

/// The console from `start`; `building` says more is to come (`X-More-Data: true`).
pub fn progressive_text(console: &str, building: bool, req: &Req) -> Response<Body> {
    let bytes = console.as_bytes();
    let start = req
        .query_param("start")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    // LargeText: a start past the end means the text rolled over; send it all.
    let start = if start > bytes.len() { 0 } else { start };
    let mut response = text_response(StatusCode::OK, bytes[start..].to_vec());
    response = with_header(response, "x-text-size", &bytes.len().to_string());
    if building {
        response = with_header(response, "x-more-data", "true");
    }
    response
}

/// `Range: bytes=A-B`, `bytes=A-` or `bytes=-N` → the inclusive byte span.
pub fn byte_range(header: &str, len: usize) -> Option<(usize, usize)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let (from, to) = spec.split_once('-')?;
    if len == 0 {
        return None;
    }
    let (from, to) = match (from.trim(), to.trim()) {
        ("", suffix) => {
            let n: usize = suffix.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (from, "") => (from.parse().ok()?, len - 1),
        (from, to) => (from.parse().ok()?, to.parse::<usize>().ok()?.min(len - 1)),
    };
    (from <= to && from < len).then_some((from, to))
}

pub fn console_text(console: &str, req: &Req) -> Response<Body> {
    let bytes = console.as_bytes();
    match req.header("range").and_then(|r| byte_range(r, bytes.len())) {
        Some((from, to)) => {
            let response = text_response(StatusCode::PARTIAL_CONTENT, bytes[from..=to].to_vec());
            with_header(
                response,
                "content-range",
                &format!("bytes {from}-{to}/{}", bytes.len()),
            )
        }
        None => text_response(StatusCode::OK, bytes.to_vec()),
    }
}
