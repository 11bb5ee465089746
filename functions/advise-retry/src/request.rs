//! What advise-retry reads from a Function URL request (payload format 2.0) beyond what
//! `aws_lambda_events`' `LambdaFunctionUrlRequest` models: a header as text, the body's
//! size as sent, and its bytes exactly as signed.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A header's value as text (names are matched in any case); `None` when absent or not
/// text.
pub fn header<'a>(request: &'a LambdaFunctionUrlRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the request's method is `method`, in any case.
pub fn is_method(request: &LambdaFunctionUrlRequest, method: &str) -> bool {
    request
        .request_context
        .http
        .method
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case(method))
}

/// The size of the body as sent, before decoding (base64 is 4/3 of the bytes).
pub fn sent_len(request: &LambdaFunctionUrlRequest) -> usize {
    let len = request.body.as_deref().map_or(0, str::len);
    if request.is_base64_encoded {
        len / 4 * 3
    } else {
        len
    }
}

/// The body's bytes, exactly as signed.
pub fn body_bytes(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, String> {
    let body = request.body.as_deref().unwrap_or_default();
    if request.is_base64_encoded {
        STANDARD
            .decode(body)
            .map_err(|e| format!("isBase64Encoded body is not base64: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests;
