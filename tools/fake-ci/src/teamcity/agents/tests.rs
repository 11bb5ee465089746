use axum::http::StatusCode;

use super::locator::find;
use crate::fields::Sel;
use crate::state::{Agent, FakeState};
use crate::teamcity::model::Tc;

fn tc_state() -> FakeState {
    let agent = |name: &str, pool: &str, authorized: bool, connected: bool| Agent {
        name: name.into(),
        pool: pool.into(),
        authorized,
        connected,
        ..Agent::default()
    };
    FakeState {
        agents: vec![
            agent("a1", "Linux", true, true),
            agent("a2", "Linux", false, false),
            agent("a3", "Default", true, false),
        ],
        ..FakeState::default()
    }
}

fn names(state: &FakeState, locator: &str) -> Vec<String> {
    let tc = Tc::new(state, "", "http://x".into(), 0);
    find(&tc, locator)
        .expect(locator)
        .iter()
        .map(|&i| state.agents[i].name.clone())
        .collect()
}

/// Agents built for a `fields` selection render exactly like full ones.
#[test]
fn selected_agents_render_like_full_ones() {
    let mut state = tc_state();
    state.agents[0].running = vec![crate::state::RunningBuild {
        job: "bt".into(),
        number: 4,
        ..Default::default()
    }];
    let tc = Tc::new(&state, "", "http://x".into(), 0);
    for text in [
        "count,nextHref,agent(id,name,connected,enabled,authorized,pool(id,name),build(id),enabledInfo(comment(text)))",
        "agent(id,build)",
        "agent($short,pool)",
        "agent(*,build(*))",
        "agent(name),agent(id)",
    ] {
        let fields = crate::fields::parse(text).expect("parses");
        let sel = Sel::of(&fields).child("agent");
        for i in 0..state.agents.len() {
            assert_eq!(
                crate::fields::render_fields(&tc.agent(i, true), &fields),
                crate::fields::render_fields(&tc.agent_in(i, true, sel), &fields),
                "{text}"
            );
        }
    }
}

#[test]
fn authorized_default_and_its_exceptions() {
    let state = tc_state();
    assert_eq!(names(&state, ""), vec!["a1", "a3"]);
    assert_eq!(names(&state, "connected:false"), vec!["a3"]);
    assert_eq!(names(&state, "authorized:any"), vec!["a1", "a2", "a3"]);
    assert_eq!(names(&state, "defaultFilter:false"), vec!["a1", "a2", "a3"]);
    assert_eq!(names(&state, "pool:(name:Linux)"), vec!["a1", "a2"]);
    assert_eq!(names(&state, "pool:(id:1)"), vec!["a1", "a2"]);
    assert_eq!(names(&state, "name:a2"), vec!["a2"]);
    assert_eq!(names(&state, "id:2"), vec!["a2"]);
    assert_eq!(names(&state, "2"), vec!["a2"]);
    assert_eq!(names(&state, "authorized:false"), vec!["a2"]);
}

#[test]
fn unknown_dimensions_are_rejected() {
    let state = tc_state();
    let tc = Tc::new(&state, "", "http://x".into(), 0);
    let error = find(&tc, "colour:blue").expect_err("unknown");
    assert_eq!(error.status, StatusCode::BAD_REQUEST);
    assert!(
        error
            .details
            .contains("Locator dimension 'colour' is unknown"),
        "{}",
        error.details
    );
}
