//! The three EventBridge events handle-interruption acts on, typed. Anything else is
//! acknowledged and ignored (the rule may match more than it should; retrying would not help).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::events::EventBridgeEvent;
use shared::{Error, Result};

pub const SPOT_WARNING: &str = "EC2 Spot Instance Interruption Warning";
pub const REBALANCE: &str = "EC2 Instance Rebalance Recommendation";
pub const TERMINATE_ACTION: &str = "EC2 Instance-terminate Lifecycle Action";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpotWarning {
    #[serde(rename = "instance-id")]
    pub instance_id: String,
    /// terminate, stop or hibernate.
    #[serde(rename = "instance-action", default)]
    pub instance_action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rebalance {
    #[serde(rename = "instance-id")]
    pub instance_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TerminateAction {
    #[serde(default)]
    pub lifecycle_action_token: Option<String>,
    pub auto_scaling_group_name: String,
    pub lifecycle_hook_name: String,
    #[serde(rename = "EC2InstanceId")]
    pub ec2_instance_id: String,
    #[serde(default)]
    pub lifecycle_transition: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Interruption {
    SpotWarning(EventBridgeEvent<SpotWarning>),
    Rebalance(EventBridgeEvent<Rebalance>),
    TerminateAction(EventBridgeEvent<TerminateAction>),
    /// Not ours to handle: the detail-type and source, for the log.
    Other {
        detail_type: String,
        source: String,
    },
}

impl Interruption {
    pub fn parse(event: Value) -> Result<Interruption> {
        let envelope: EventBridgeEvent<Value> = serde_json::from_value(event)
            .map_err(|e| Error::Event(format!("not an EventBridge event: {e}")))?;
        match (envelope.source.as_str(), envelope.detail_type.as_str()) {
            ("aws.ec2", SPOT_WARNING) => Ok(Interruption::SpotWarning(retype(envelope)?)),
            ("aws.ec2", REBALANCE) => Ok(Interruption::Rebalance(retype(envelope)?)),
            ("aws.autoscaling", TERMINATE_ACTION) => {
                Ok(Interruption::TerminateAction(retype(envelope)?))
            }
            (source, detail_type) => Ok(Interruption::Other {
                detail_type: detail_type.to_owned(),
                source: source.to_owned(),
            }),
        }
    }
}

fn retype<D: serde::de::DeserializeOwned>(
    envelope: EventBridgeEvent<Value>,
) -> Result<EventBridgeEvent<D>> {
    let detail = serde_json::from_value(envelope.detail)
        .map_err(|e| Error::Event(format!("{} detail: {e}", envelope.detail_type)))?;
    Ok(EventBridgeEvent {
        version: envelope.version,
        id: envelope.id,
        detail_type: envelope.detail_type,
        source: envelope.source,
        account: envelope.account,
        time: envelope.time,
        region: envelope.region,
        resources: envelope.resources,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists"))
            .expect("fixture is JSON")
    }

    #[test]
    fn fixtures_parse_into_their_types_and_round_trip() {
        let Interruption::SpotWarning(spot) =
            Interruption::parse(fixture("spot-interruption-warning.json")).expect("parses")
        else {
            panic!("not a spot warning")
        };
        assert_eq!(
            (
                spot.detail.instance_id.as_str(),
                spot.detail.instance_action.as_str()
            ),
            ("i-0b662ef9931388ba0", "terminate")
        );
        assert_eq!(
            serde_json::to_value(&spot).expect("serialises"),
            fixture("spot-interruption-warning.json")
        );

        let Interruption::Rebalance(rebalance) =
            Interruption::parse(fixture("rebalance-recommendation.json")).expect("parses")
        else {
            panic!("not a rebalance")
        };
        assert_eq!(rebalance.detail.instance_id, "i-0b662ef9931388ba0");

        let Interruption::TerminateAction(action) =
            Interruption::parse(fixture("terminate-lifecycle-action.json")).expect("parses")
        else {
            panic!("not a lifecycle action")
        };
        assert_eq!(action.detail.lifecycle_hook_name, "ci-fleet-drain");
        assert_eq!(
            action.detail.lifecycle_action_token.as_deref(),
            Some("87654321-4321-4321-4321-210987654321")
        );
        let back = serde_json::to_value(&action).expect("serialises");
        assert_eq!(back["detail"]["EC2InstanceId"], "i-0b662ef9931388ba0");

        assert_eq!(
            Interruption::parse(fixture("unknown-event.json")).expect("parses"),
            Interruption::Other {
                detail_type: "EC2 Instance State-change Notification".into(),
                source: "aws.ec2".into()
            }
        );
    }

    #[test]
    fn malformed_events_are_clear_errors() {
        let no_instance = serde_json::json!({"id":"x","detail-type":SPOT_WARNING,"source":"aws.ec2","time":"2026-11-22T12:00:00Z","detail":{}});
        assert_eq!(
            Interruption::parse(no_instance)
                .expect_err("malformed")
                .to_string(),
            "malformed event: EC2 Spot Instance Interruption Warning detail: missing field `instance-id`"
        );
        assert!(
            Interruption::parse(serde_json::json!([1, 2]))
                .expect_err("not an event")
                .to_string()
                .starts_with("malformed event: not an EventBridge event")
        );
    }
}
