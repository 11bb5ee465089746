//! The agentPool entity (`/app/rest/agentPools/<locator>`) with its agents.

use serde_json::{Value, json};

use super::context::Tc;
use super::entity::collection;
use crate::fields::LONG;

impl Tc<'_> {
    pub fn pool(&self, id: u64, name: &str) -> Value {
        let Value::Object(mut obj) = self.pool_ref(id, name) else {
            unreachable!("pool_ref builds an object")
        };
        let members: Vec<Value> = (0..self.state.agents.len())
            .filter(|&i| self.agent_pool(i).0 == id)
            .map(|i| self.agent(i, false))
            .collect();
        obj.insert("maxAgents".into(), json!(-1));
        obj.insert(
            "projects".into(),
            collection("project", None, None, None, Vec::new()),
        );
        obj.insert(
            "agents".into(),
            collection(
                "agent",
                Some(self.href(&format!("agents?locator=pool:(id:{id})"))),
                None,
                None,
                members,
            ),
        );
        obj.insert(
            LONG.into(),
            json!(["id", "name", "href", "maxAgents", "projects", "agents"]),
        );
        Value::Object(obj)
    }
}
