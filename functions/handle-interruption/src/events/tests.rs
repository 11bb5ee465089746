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

mod props {
    use proptest::prelude::*;

    use super::*;

    /// JSON values biased towards the keys of the envelope and of the three details.
    fn json_value() -> impl Strategy<Value = Value> {
        let keys = prop::sample::select(vec![
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
            "instance-id",
            "instance-action",
            "LifecycleActionToken",
            "AutoScalingGroupName",
            "LifecycleHookName",
            "EC2InstanceId",
            "LifecycleTransition",
            "NotificationMetadata",
            "Origin",
            "Destination",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            ".{0,30}".prop_map(Value::String),
            source().prop_map(Value::String),
            detail_type().prop_map(Value::String),
            time().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 48, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..10)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn source() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["aws.ec2", "aws.autoscaling", "aws.health", "AWS.EC2"])
            .prop_map(str::to_owned)
    }

    fn detail_type() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            SPOT_WARNING,
            REBALANCE,
            TERMINATE_ACTION,
            "EC2 Instance-launch Lifecycle Action",
            "EC2 Spot Instance Interruption Warning ",
        ])
        .prop_map(str::to_owned)
    }

    /// Event times: well-formed ones across chrono's range (years past 9999 included),
    /// and near misses.
    fn time() -> impl Strategy<Value = String> {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        prop_oneof![
            (min.timestamp()..=max.timestamp())
                .prop_map(move |s| DateTime::from_timestamp(s, 0).unwrap_or(max).to_rfc3339()),
            Just("2026-11-22T12:00:00Z".to_owned()),
            Just("2026-11-22T12:00:00.123+05:30".to_owned()),
            Just("2026-02-30T12:00:00Z".to_owned()),
            Just("2026-11-22 12:00:00".to_owned()),
            "[0-9T:Z.+-]{0,26}",
        ]
    }

    /// Where a mutation lands in a fixture, and what it does there.
    fn mutation() -> impl Strategy<Value = (&'static str, Option<Value>)> {
        let pointer = prop::sample::select(vec![
            "/id",
            "/time",
            "/source",
            "/detail-type",
            "/detail",
            "/version",
            "/resources",
            "/detail/instance-id",
            "/detail/instance-action",
            "/detail/EC2InstanceId",
            "/detail/AutoScalingGroupName",
            "/detail/LifecycleHookName",
            "/detail/LifecycleActionToken",
            "/detail/LifecycleTransition",
            "/detail/Destination",
        ]);
        (pointer, proptest::option::of(json_value()))
    }

    /// Sets (or, with `None`, removes) the value at `pointer` when its parent is an object.
    fn mutate(event: &mut Value, pointer: &str, value: Option<Value>) {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            return;
        };
        let Some(object) = event.pointer_mut(parent).and_then(Value::as_object_mut) else {
            return;
        };
        match value {
            Some(value) => object.insert(key.to_owned(), value),
            None => object.remove(key),
        };
    }

    /// What holds of every reading: a typed event is the one its envelope names, at the
    /// time it gives; anything else is `Other` or an error.
    fn consistent(event: &Value, parsed: &Interruption) -> Result<(), TestCaseError> {
        let at = |e: &Value| {
            e["time"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        };
        // serde also reads a struct from an array, field by field in declaration order: AWS
        // never sends one, and the instance id is then the element at its field's place.
        let detail = |field: &str| match &event["detail"] {
            Value::Array(fields) => fields
                .get(if field == "EC2InstanceId" { 3 } else { 0 })
                .and_then(Value::as_str),
            object => object[field].as_str(),
        };
        let named = |source: &str, detail_type: &str| {
            event["source"].as_str() == Some(source)
                && event["detail-type"].as_str() == Some(detail_type)
        };
        match parsed {
            Interruption::SpotWarning(e) => {
                prop_assert!(named("aws.ec2", SPOT_WARNING));
                prop_assert_eq!(Some(e.at), at(event));
                prop_assert_eq!(detail("instance-id"), Some(e.detail().instance_id.as_str()));
            }
            Interruption::Rebalance(e) => {
                prop_assert!(named("aws.ec2", REBALANCE));
                prop_assert_eq!(Some(e.at), at(event));
                prop_assert_eq!(detail("instance-id"), Some(e.detail().instance_id.as_str()));
            }
            Interruption::TerminateAction(e) => {
                prop_assert!(named("aws.autoscaling", TERMINATE_ACTION));
                prop_assert_eq!(Some(e.at), at(event));
                prop_assert_eq!(
                    detail("EC2InstanceId"),
                    Some(e.detail().ec2_instance_id.as_str())
                );
            }
            Interruption::Other {
                detail_type,
                source,
            } => {
                prop_assert!(!named("aws.ec2", SPOT_WARNING) && !named("aws.ec2", REBALANCE));
                prop_assert!(!named("aws.autoscaling", TERMINATE_ACTION));
                prop_assert_eq!(event["detail-type"].as_str(), Some(detail_type.as_str()));
                prop_assert_eq!(event["source"].as_str(), Some(source.as_str()));
            }
        }
        prop_assert_eq!(
            parsed.name(),
            event["detail-type"].as_str().unwrap_or_default()
        );
        Ok(())
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_json_is_an_event_or_a_clear_error(event in json_value()) {
            match Interruption::parse(event.clone()) {
                Ok(parsed) => consistent(&event, &parsed)?,
                Err(e) => prop_assert!(e.to_string().starts_with("malformed event: "), "{e}"),
            }
        }

        #[test]
        fn fixtures_with_fields_changed_are_read_consistently(
            which in 0usize..FIXTURES.len(),
            mutations in prop::collection::vec(mutation(), 0..4),
        ) {
            let mut event = fixture(FIXTURES[which]);
            for (pointer, value) in mutations {
                mutate(&mut event, pointer, value);
            }
            match Interruption::parse(event.clone()) {
                Ok(parsed) => consistent(&event, &parsed)?,
                Err(e) => prop_assert!(e.to_string().starts_with("malformed event: "), "{e}"),
            }
        }
    }
}
