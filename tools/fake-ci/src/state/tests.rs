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
