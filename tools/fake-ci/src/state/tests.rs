use std::collections::BTreeMap;

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

#[test]
fn declared_parameters_come_from_job_config_else_from_builds() {
    let state: FakeState = serde_json::from_str(
        r#"{"job_config":{"a":{"parameters":{"X":"1"}},"c":{"parameters":{}}},
            "builds":[{"job":"a","parameters":{"OLD":"x"}},{"job":"b","parameters":{"Y":"y"}},
                      {"job":"b","number":2,"parameters":{"Z":"z"}},{"job":"c","parameters":{"X":"1"}},
                      {"job":"d"}]}"#,
    )
    .expect("parses");
    let names = |job: &str| {
        state
            .declared_parameters(job)
            .map(|d| d.into_iter().collect::<Vec<_>>())
    };
    assert_eq!(names("a"), Some(vec![("X".to_owned(), "1".to_owned())]));
    assert_eq!(
        names("b"),
        Some(vec![
            ("Y".to_owned(), String::new()),
            ("Z".to_owned(), String::new())
        ]),
        "every name its builds had, default empty"
    );
    assert_eq!(names("c"), None, "an empty declaration is none");
    assert_eq!(names("d"), None);
}

#[test]
fn an_equal_item_is_the_same_task_with_the_same_values() {
    let state: FakeState = serde_json::from_str(
        r#"{"queue":[{"id":1,"job":"p","label_exposed":false},{"id":2,"job":"j","pending":true},
                     {"id":3,"job":"j","state":"waiting"},{"id":4,"job":"j","state":"blocked"},
                     {"id":5,"job":"k"}],
            "triggered":[{"queue_id":5,"job":"k","parameters":{"X":"1"}}]}"#,
    )
    .expect("parses");
    let none = BTreeMap::new();
    let x1: BTreeMap<String, String> = [("X".to_owned(), "1".to_owned())].into();
    let id = |job: &str, parameters: &BTreeMap<String, String>| {
        state.equal_queue_item(job, parameters).map(|i| i.id)
    };
    assert_eq!(id("p", &none), None, "a node block is a PlaceholderTask");
    assert_eq!(
        id("j", &none),
        Some(4),
        "blocked before waiting; pending never"
    );
    assert_eq!(id("j", &x1), None, "parameters against none");
    assert_eq!(id("k", &x1), Some(5), "its triggered values");
    assert_eq!(id("k", &none), None);
}
