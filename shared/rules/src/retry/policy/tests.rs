use super::*;

#[test]
fn policy_json_overrides_defaults_and_names_mistakes() {
    let policy = RetryPolicy::parse(r#"{"max_retries":5,"retries":{"timeout":1}}"#).expect("valid");
    assert_eq!(policy.max_retries, 5);
    assert_eq!(policy.allowed(FailureClass::Timeout), 1);
    assert_eq!(
        policy.allowed(FailureClass::SpotInterruption),
        3,
        "unnamed classes keep their defaults"
    );
    assert_eq!(
        RetryPolicy::parse("{}").expect("valid"),
        RetryPolicy::default()
    );
    let errors = [
        (r#"{"retries":{"flaky":1}}"#, "unknown variant `flaky`"),
        (r#"{"max_retry":1}"#, "unknown field `max_retry`"),
        (r#"{"max_retries":50}"#, "more than 10"),
        (
            r#"{"memory_ladder":{"parameter":"MEM","steps":["8g"]}}"#,
            "at least two steps",
        ),
        (
            r#"{"memory_ladder":{"parameter":"MEM","steps":["8g","8g"]}}"#,
            "lists \"8g\" twice",
        ),
        (
            r#"{"memory_ladder":{"parameter":"MY MEM","steps":["8g","16g"]}}"#,
            "not a parameter name",
        ),
        (
            r#"{"on_demand":{"after_spot_interruptions":0,"parameter":"P","value":"v"}}"#,
            "at least 1",
        ),
    ];
    for (json, fragment) in errors {
        let error = RetryPolicy::parse(json).expect_err(json);
        assert!(error.contains(fragment), "{json}: {error}");
    }
}
