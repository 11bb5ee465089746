//! The context every TeamCity entity is built in: the state, the auth prefix echoed into
//! hrefs, the web root and the clock, with pool look-ups computed once per request.

use std::cell::OnceCell;

use serde_json::{Map, Value, json};

use crate::state::FakeState;

pub struct Tc<'a> {
    pub state: &'a FakeState,
    /// `/httpAuth`, `/guestAuth` or empty: echoed into every href.
    pub prefix: &'a str,
    /// `http://host` for `webUrl`s.
    pub web: String,
    pub now_ms: i64,
    /// Pools numbered once per request (see [`Tc::pools`]).
    pub(super) pool_list: OnceCell<Vec<(u64, String)>>,
    /// Each agent's pool id, by agent index: listings ask for it per agent and item.
    pub(super) agent_pools: OnceCell<Vec<u64>>,
    /// Agent indices by pool id: a queue page asks each item for its pools' agents.
    pub(super) pool_members: OnceCell<Vec<Vec<usize>>>,
}

impl<'a> Tc<'a> {
    pub fn new(state: &'a FakeState, prefix: &'a str, web: String, now_ms: i64) -> Tc<'a> {
        Tc {
            state,
            prefix,
            web,
            now_ms,
            pool_list: OnceCell::new(),
            agent_pools: OnceCell::new(),
            pool_members: OnceCell::new(),
        }
    }

    pub fn href(&self, path: &str) -> String {
        format!("{}/app/rest/{path}", self.prefix)
    }

    pub fn agent_id(&self, index: usize) -> u64 {
        self.state.agents[index].id.unwrap_or(index as u64 + 1)
    }

    pub(super) fn build_type(&self, id: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("name".into(), json!(id));
        obj.insert("projectName".into(), json!("ci-fleet"));
        obj.insert("projectId".into(), json!("CiFleet"));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("buildTypes/id:{id}"))),
        );
        obj.insert(
            "webUrl".into(),
            json!(format!("{}/viewType.html?buildTypeId={id}", self.web)),
        );
        Value::Object(obj)
    }
}
