//! EventBridge events as ci-fleet receives them. The envelope is `aws_lambda_events`'
//! `EventBridgeEvent`; what stays ours is only what that crate does not model, here the
//! schedule's empty detail.

use chrono::Utc;
use serde::{Deserialize, Serialize};

pub use aws_lambda_events::event::eventbridge::EventBridgeEvent;

/// The detail of a schedule's `Scheduled Event` is an empty object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduledDetail {}

pub type ScheduledEvent = EventBridgeEvent<ScheduledDetail>;

/// The event a scheduled function gets when run by hand without `--event`.
pub fn scheduled_event_now(rule_arn: &str) -> ScheduledEvent {
    let now = Utc::now();
    // The envelope is `#[non_exhaustive]`: built from its default, field by field.
    let mut event = ScheduledEvent::default();
    event.version = Some("0".into());
    event.id = Some(format!("manual-{}", now.timestamp_millis()));
    event.detail_type = "Scheduled Event".into();
    event.source = "aws.events".into();
    event.account = Some("000000000000".into());
    event.time = Some(now);
    event.region = Some(std::env::var("AWS_REGION").unwrap_or_default());
    event.resources = Some(vec![rule_arn.to_owned()]);
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_event_round_trips_in_the_shape_eventbridge_sends() {
        let raw = r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-22T12:00:00Z","region":"eu-west-1","resources":["arn:aws:events:eu-west-1:123456789012:rule/ci-fleet-publish-workload"],"detail":{}}"#;
        let event: ScheduledEvent = serde_json::from_str(raw).expect("parses");
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(event.resources.as_ref().map(Vec::len), Some(1));
        let back: serde_json::Value = serde_json::to_value(&event).expect("serialises");
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(raw).expect("raw is json")
        );
    }

    #[test]
    fn the_default_event_has_every_field_eventbridge_sends() {
        let event = serde_json::to_value(scheduled_event_now("arn:rule")).expect("serialises");
        let fields: Vec<&str> = event
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for field in [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ] {
            assert!(fields.contains(&field), "{field} missing from {event}");
            assert!(!event[field].is_null(), "{field} is null in {event}");
        }
        assert_eq!(
            (&event["detail-type"], &event["resources"], &event["detail"]),
            (
                &serde_json::json!("Scheduled Event"),
                &serde_json::json!(["arn:rule"]),
                &serde_json::json!({})
            )
        );
    }
}
