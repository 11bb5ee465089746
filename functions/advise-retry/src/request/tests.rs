use aws_lambda_events::http::HeaderValue;
use serde_json::Value;

use super::*;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

#[test]
fn reads_the_fixture_shape() {
    let event: LambdaFunctionUrlRequest =
        serde_json::from_str(&fixture("function-url-jenkins.json")).expect("fixture parses");
    assert_eq!(event.version.as_deref(), Some("2.0"));
    assert!(is_method(&event, "POST"));
    assert_eq!(
        header(&event, "X-CI-Fleet-Signature").map(|s| &s[..7]),
        Some("sha256=")
    );
    let body: Value =
        serde_json::from_slice(&body_bytes(&event).expect("body")).expect("JSON body");
    assert_eq!(body["build"]["phase"], "FINALIZED");

    let mut encoded = event.clone();
    encoded.body = Some(STANDARD.encode(b"{\"a\":1}"));
    encoded.is_base64_encoded = true;
    assert_eq!(body_bytes(&encoded).expect("decodes"), b"{\"a\":1}");
    let mut broken = event;
    broken.body = Some("%%%".into());
    broken.is_base64_encoded = true;
    assert!(body_bytes(&broken).is_err());
}

#[test]
fn headers_are_found_in_any_case_and_only_as_text() {
    let mut event: LambdaFunctionUrlRequest =
        serde_json::from_str(&fixture("function-url-teamcity.json")).expect("fixture parses");
    assert_eq!(header(&event, "Content-Type"), Some("application/json"));
    event.headers.insert(
        "x-binary",
        HeaderValue::from_bytes(b"\xff").expect("opaque bytes are a header value"),
    );
    assert_eq!(header(&event, "x-binary"), None);
}

/// Drops what serialising adds for fields the fixture leaves out: nulls and empty maps.
fn without_unset(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_unset(v)))
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn function_url_fixtures_round_trip() {
    // AWS sends these too; `aws_lambda_events` does not model them and advise-retry
    // does not read them.
    let unmodelled = [
        "/routeKey",
        "/requestContext/routeKey",
        "/requestContext/stage",
    ];
    for name in ["function-url-jenkins.json", "function-url-teamcity.json"] {
        let text = fixture(name);
        let event: LambdaFunctionUrlRequest = serde_json::from_str(&text).expect(name);
        let back = without_unset(serde_json::to_value(&event).expect("serialises"));
        let mut expected: Value = serde_json::from_str(&text).expect("JSON");
        for pointer in unmodelled {
            let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
            expected
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .and_then(|o| o.remove(key))
                .expect(pointer);
        }
        assert_eq!(back, expected, "{name}");
    }
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn request(body: Option<String>, is_base64_encoded: bool) -> LambdaFunctionUrlRequest {
        let mut request = LambdaFunctionUrlRequest::default();
        request.body = body;
        request.is_base64_encoded = is_base64_encoded;
        request
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// The size check before decoding (`sent_len`) never lets through more than it
        /// says, and the bytes are the ones sent.
        #[test]
        fn bodies_decode_to_the_bytes_sent_and_never_exceed_their_sent_size(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            text in ".{0,200}",
            garbage in "[A-Za-z0-9+/=%\\-_ \n]{0,80}",
        ) {
            let encoded = request(Some(STANDARD.encode(&bytes)), true);
            prop_assert_eq!(body_bytes(&encoded), Ok(bytes.clone()));
            prop_assert!(bytes.len() <= sent_len(&encoded));
            let plain = request(Some(text.clone()), false);
            prop_assert_eq!(body_bytes(&plain), Ok(text.clone().into_bytes()));
            prop_assert_eq!(sent_len(&plain), text.len());
            for body in [garbage, text] {
                let claimed = request(Some(body), true);
                match body_bytes(&claimed) {
                    Ok(decoded) => prop_assert!(decoded.len() <= sent_len(&claimed)),
                    Err(e) => prop_assert!(e.starts_with("isBase64Encoded body is not base64")),
                }
            }
            for flag in [true, false] {
                let empty = request(None, flag);
                prop_assert_eq!((body_bytes(&empty), sent_len(&empty)), (Ok(Vec::new()), 0));
            }
        }
    }
}
