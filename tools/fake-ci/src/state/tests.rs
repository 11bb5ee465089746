use super::*;

#[test]
fn small_documents_get_defaults() {
    let state: FakeState = serde_json::from_str(
        r#"{"agents":[{"name":"a"}],"queue":[{"id":3,"job":"j","eta_ms":null}]}"#,
    )
    .expect("parses");
    assert_eq!(state.jenkins_version, "2.579");
    assert_eq!(state.auth.users[0].token.as_deref(), Some("tok"));
    assert!(state.agents[0].connected && state.agents[0].enabled && state.agents[0].authorized);
    assert_eq!(state.agents[0].pool, "Default");
    assert_eq!(state.queue[0].eta_ms, None);
    assert!(state.queue[0].label_exposed);
    assert!(state.queue[0].queued_at_ms > 0);
}

#[test]
fn job_read_is_all_none_or_granted_items_and_what_they_contain() {
    let state: FakeState = serde_json::from_str(
        r#"{"auth":{"users":[{"user":"a"},{"user":"b","job_read":false},{"user":"c","job_read":["platform","platform-x/app"]}]}}"#,
    )
    .expect("parses");
    let [all, none, some] = [0, 1, 2].map(|i| &state.auth.users[i].job_read);
    assert!(all.can_read("anything/at/all") && all.can_reach("anything/at/all"));
    assert!(!none.can_read("app") && !none.can_reach("app"));
    assert!(some.can_read("platform") && some.can_read("platform/app/main"));
    assert!(!some.can_read("platformer"), "a name, not a prefix");
    assert!(some.can_read("platform-x/app/main") && !some.can_read("platform-x"));
    assert!(some.can_reach("platform/app/main"));
    assert!(
        !some.can_reach("platform-x/app"),
        "the folder around it is not readable"
    );
    let round_trip: FakeState =
        serde_json::from_value(serde_json::to_value(&state).expect("serialises")).expect("parses");
    assert_eq!(round_trip, state);
}
