//! The three EventBridge events handle-interruption acts on, typed. Anything else is
//! acknowledged and ignored (the rule may match more than it should; retrying would not help).
//!
//! The envelope is `aws_lambda_events`' `EventBridgeEvent`. The details are ours: that
//! crate models neither EC2's spot warning nor its rebalance recommendation, and its
//! Auto Scaling type carries the lifecycle action's detail as an untyped map.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
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

/// The detail of Auto Scaling's lifecycle action event, every field it documents.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_metadata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// An event handle-interruption acts on, with the time it happened: required here (the
/// crate's envelope has it optional) because the spot notice's two minutes and a drain
/// count from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<D: Serialize + DeserializeOwned> {
    pub at: DateTime<Utc>,
    pub event: EventBridgeEvent<D>,
}

impl<D: Serialize + DeserializeOwned> Received<D> {
    pub fn detail(&self) -> &D {
        &self.event.detail
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Interruption {
    SpotWarning(Received<SpotWarning>),
    Rebalance(Received<Rebalance>),
    TerminateAction(Received<TerminateAction>),
    /// Not ours to handle: the detail-type and source, for the log.
    Other {
        detail_type: String,
        source: String,
    },
}

impl Interruption {
    pub fn parse(event: Value) -> Result<Interruption> {
        let envelope = EventBridgeEvent::<Value>::deserialize(&event)
            .map_err(|e| not_eventbridge(&e.to_string()))?;
        // Fields the crate leaves optional that every EventBridge event has, and that
        // were always required here.
        let at = match (&envelope.id, envelope.time) {
            (None, _) => return Err(not_eventbridge("missing field `id`")),
            (Some(_), None) => return Err(not_eventbridge("missing field `time`")),
            (Some(_), Some(at)) => at,
        };
        let detail_type = envelope.detail_type.as_str();
        match (envelope.source.as_str(), detail_type) {
            ("aws.ec2", SPOT_WARNING) => {
                Ok(Interruption::SpotWarning(typed(event, at, detail_type)?))
            }
            ("aws.ec2", REBALANCE) => Ok(Interruption::Rebalance(typed(event, at, detail_type)?)),
            ("aws.autoscaling", TERMINATE_ACTION) => Ok(Interruption::TerminateAction(typed(
                event,
                at,
                detail_type,
            )?)),
            (source, detail_type) => Ok(Interruption::Other {
                detail_type: detail_type.to_owned(),
                source: source.to_owned(),
            }),
        }
    }

    /// The event's detail-type, as the response names it.
    pub fn name(&self) -> &str {
        match self {
            Interruption::SpotWarning(e) => &e.event.detail_type,
            Interruption::Rebalance(e) => &e.event.detail_type,
            Interruption::TerminateAction(e) => &e.event.detail_type,
            Interruption::Other { detail_type, .. } => detail_type,
        }
    }
}

fn not_eventbridge(problem: &str) -> Error {
    Error::Event(format!("not an EventBridge event: {problem}"))
}

/// The whole event again with its detail typed. The envelope parsed already, so an
/// error here is the detail's.
fn typed<D: Serialize + DeserializeOwned>(
    event: Value,
    at: DateTime<Utc>,
    detail_type: &str,
) -> Result<Received<D>> {
    let event = serde_json::from_value(event)
        .map_err(|e| Error::Event(format!("{detail_type} detail: {e}")))?;
    Ok(Received { at, event })
}

#[cfg(test)]
mod tests;
