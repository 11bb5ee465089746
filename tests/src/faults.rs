//! AWS faults on the local stack: moto_ext's fault table (`POST /_ext/faults`; the
//! contract and the error shapes, with their sources, are in infra/local/README.md).

use std::time::Duration;

use serde_json::{Value, json};

use crate::local_aws::LocalAws;
use crate::process::http_request;

/// From now on, `action` of `service` answers AWS's throttling error (every time, until
/// cleared), with `x-amz-retry-after` so the SDK's retries come quickly and give up.
pub fn throttle(aws: &LocalAws, service: &str, action: &str) {
    add(
        aws,
        json!({"service": service, "action": action, "mode": "throttle", "retry_after_ms": 10}),
    );
}

pub fn add(aws: &LocalAws, rule: Value) {
    let url = format!("{}/_ext/faults", aws.moto_url());
    let body = rule.to_string();
    let (status, answer) =
        http_request("POST", &url, Some(body.as_bytes()), Duration::from_secs(10))
            .expect("POST /_ext/faults");
    assert_eq!(status, 200, "{rule}: {}", String::from_utf8_lossy(&answer));
}

/// Clears the rules of `action` (all of them when `None`).
pub fn clear(aws: &LocalAws, action: Option<&str>) {
    let query = action.map(|a| format!("?action={a}")).unwrap_or_default();
    let url = format!("{}/_ext/faults{query}", aws.moto_url());
    let (status, answer) =
        http_request("DELETE", &url, None, Duration::from_secs(10)).expect("DELETE /_ext/faults");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
}

/// How many times the rule of `action` fired.
pub fn fired(aws: &LocalAws, action: &str) -> u64 {
    let url = format!("{}/_ext/faults", aws.moto_url());
    let (_, answer) =
        http_request("GET", &url, None, Duration::from_secs(10)).expect("GET /_ext/faults");
    let rules: Value = serde_json::from_slice(&answer).expect("JSON");
    let listed = rules
        .as_array()
        .cloned()
        .or_else(|| rules["rules"].as_array().cloned())
        .unwrap_or_default();
    listed
        .iter()
        .filter(|r| r["action"] == action)
        .filter_map(|r| r["fired"].as_u64())
        .sum()
}
