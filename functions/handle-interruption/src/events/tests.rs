use serde_json::json;

use super::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists"))
        .expect("fixture is JSON")
}

const FIXTURES: [&str; 4] = [
    "spot-interruption-warning.json",
    "rebalance-recommendation.json",
    "terminate-lifecycle-action.json",
    "unknown-event.json",
];

/// The event as its typed envelope serialises it back.
fn serialised(event: &Interruption, raw: &Value) -> Value {
    let back = match event {
        Interruption::SpotWarning(e) => serde_json::to_value(&e.event),
        Interruption::Rebalance(e) => serde_json::to_value(&e.event),
        Interruption::TerminateAction(e) => serde_json::to_value(&e.event),
        // Not ours to type: the envelope alone, its detail as it came.
        Interruption::Other { .. } => {
            serde_json::from_value::<EventBridgeEvent<Value>>(raw.clone())
                .and_then(|e| serde_json::to_value(&e))
        }
    };
    back.expect("serialises")
}

#[test]
fn every_fixture_parses_and_serialises_back_equal() {
    for name in FIXTURES {
        let raw = fixture(name);
        let event = Interruption::parse(raw.clone()).expect(name);
        assert_eq!(serialised(&event, &raw), raw, "{name}");
    }
}

#[test]
fn fixtures_parse_into_their_types() {
    let Interruption::SpotWarning(spot) =
        Interruption::parse(fixture("spot-interruption-warning.json")).expect("parses")
    else {
        panic!("not a spot warning")
    };
    assert_eq!(
        (
            spot.detail().instance_id.as_str(),
            spot.detail().instance_action.as_str(),
            spot.at.to_rfc3339(),
        ),
        (
            "i-0b662ef9931388ba0",
            "terminate",
            "2026-11-22T12:00:00+00:00".to_owned()
        )
    );

    let Interruption::Rebalance(rebalance) =
        Interruption::parse(fixture("rebalance-recommendation.json")).expect("parses")
    else {
        panic!("not a rebalance")
    };
    assert_eq!(rebalance.detail().instance_id, "i-0b662ef9931388ba0");

    let Interruption::TerminateAction(action) =
        Interruption::parse(fixture("terminate-lifecycle-action.json")).expect("parses")
    else {
        panic!("not a lifecycle action")
    };
    let detail = action.detail();
    assert_eq!(
        (
            detail.auto_scaling_group_name.as_str(),
            detail.lifecycle_hook_name.as_str(),
            detail.ec2_instance_id.as_str(),
            detail.lifecycle_action_token.as_deref(),
        ),
        (
            "ci-linux",
            "ci-fleet-drain",
            "i-0b662ef9931388ba0",
            Some("87654321-4321-4321-4321-210987654321")
        )
    );
    assert_eq!(action.event.detail_type, TERMINATE_ACTION);

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
    let spot = fixture("spot-interruption-warning.json");
    let with = |field: &str, value: Value| {
        let mut event = spot.clone();
        event[field] = value;
        event
    };
    let without = |field: &str| {
        let mut event = spot.clone();
        event.as_object_mut().map(|o| o.remove(field));
        event
    };
    let mut action = fixture("terminate-lifecycle-action.json");
    action["detail"]
        .as_object_mut()
        .map(|d| d.remove("EC2InstanceId"));
    let cases = [
        (
            "a spot warning without its instance",
            with("detail", json!({})),
            "EC2 Spot Instance Interruption Warning detail: missing field `instance-id`",
        ),
        (
            "a spot warning whose detail is not an object",
            with("detail", json!("i-1")),
            "EC2 Spot Instance Interruption Warning detail: invalid type: string \"i-1\", expected struct SpotWarning",
        ),
        (
            "a lifecycle action without its instance",
            action,
            "EC2 Instance-terminate Lifecycle Action detail: missing field `EC2InstanceId`",
        ),
        (
            "not an object",
            json!([1, 2]),
            "not an EventBridge event: invalid type: integer `1`, expected a string",
        ),
        (
            "an empty object",
            json!({}),
            "not an EventBridge event: missing field `detail-type`",
        ),
        (
            "no id",
            without("id"),
            "not an EventBridge event: missing field `id`",
        ),
        (
            "no time",
            without("time"),
            "not an EventBridge event: missing field `time`",
        ),
        (
            "a time that is not one",
            with("time", json!("noon")),
            "not an EventBridge event: input contains invalid characters",
        ),
        (
            "no detail-type",
            without("detail-type"),
            "not an EventBridge event: missing field `detail-type`",
        ),
        (
            "no detail",
            without("detail"),
            "not an EventBridge event: missing field `detail`",
        ),
    ];
    for (case, event, expected) in cases {
        let error = Interruption::parse(event).expect_err(case);
        assert_eq!(
            error.to_string(),
            format!("malformed event: {expected}"),
            "{case}"
        );
        assert_eq!(error.kind(), "MalformedEvent", "{case}");
    }
}
