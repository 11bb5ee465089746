//! EventBridge events as ci-fleet receives them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The EventBridge envelope around every event; `D` is the typed `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBridgeEvent<D> {
    #[serde(default)]
    pub version: String,
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    #[serde(default)]
    pub account: String,
    pub time: DateTime<Utc>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub resources: Vec<String>,
    pub detail: D,
}

/// The detail of a schedule's `Scheduled Event` is an empty object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduledDetail {}

pub type ScheduledEvent = EventBridgeEvent<ScheduledDetail>;

/// The event a scheduled function gets when run by hand without `--event`.
pub fn scheduled_event_now(rule_arn: &str) -> ScheduledEvent {
    let now = Utc::now();
    EventBridgeEvent {
        version: "0".into(),
        id: format!("manual-{}", now.timestamp_millis()),
        detail_type: "Scheduled Event".into(),
        source: "aws.events".into(),
        account: "000000000000".into(),
        time: now,
        region: std::env::var("AWS_REGION").unwrap_or_default(),
        resources: vec![rule_arn.to_owned()],
        detail: ScheduledDetail {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_event_round_trips_in_the_shape_eventbridge_sends() {
        let raw = r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-22T12:00:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:123456789012:rule/ci-fleet-publish-workload"],"detail":{}}"#;
        let event: ScheduledEvent = serde_json::from_str(raw).expect("parses");
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(event.resources.len(), 1);
        let back: serde_json::Value = serde_json::to_value(&event).expect("serialises");
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(raw).expect("raw is json")
        );
    }
}
