//! A queued build: its wait reason and the compatible agents of its pools.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{collection, tc_date, with_meta};
use crate::fields::{SHORT, Sel};
use crate::state::QueueItem;

impl Tc<'_> {
    fn wait_reason(&self, item: &QueueItem, compatible: &[usize]) -> String {
        if let Some(reason) = &item.wait_reason {
            return reason.clone();
        }
        if compatible.is_empty() {
            "There are no compatible agents which can run this build".to_owned()
        } else {
            "There are no idle compatible agents which can run this build".to_owned()
        }
    }

    /// A queued build. `agents` says what the agents listed in `compatibleAgents` need
    /// (see [`crate::fields::items_inside`]); `None`: nothing can show them, so the
    /// collection keeps its count and href and skips building them.
    pub fn queued(&self, item: &QueueItem, agents: Option<Sel>) -> Value {
        let id = item.id;
        let compatible = self.compatible(item);
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("buildTypeId".into(), json!(item.job));
        obj.insert("state".into(), json!("queued"));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("buildQueue/id:{id}"))),
        );
        obj.insert(
            "webUrl".into(),
            json!(format!("{}/viewQueued.html?itemId={id}", self.web)),
        );
        obj.insert("buildType".into(), self.build_type(&item.job));
        obj.insert("queuedDate".into(), json!(tc_date(item.queued_at_ms)));
        obj.insert(
            "waitReason".into(),
            json!(self.wait_reason(item, &compatible)),
        );
        let agents = match agents {
            Some(sel) => compatible
                .iter()
                .map(|&i| self.agent_in(i, false, sel))
                .collect(),
            None => Vec::new(),
        };
        let Value::Object(mut compat) = collection(
            "agent",
            Some(self.href(&format!("agents?locator=compatible:(build:(id:{id}))"))),
            None,
            None,
            agents,
        ) else {
            unreachable!("collection builds an object")
        };
        compat.insert("count".into(), json!(compatible.len()));
        compat.insert(SHORT.into(), json!(["href"]));
        obj.insert("compatibleAgents".into(), Value::Object(compat));
        if let Some(pool) = &item.pinned_pool {
            let (pool_id, pool_name) = match self.pool_id(pool) {
                Some(id) => (id, pool.as_str()),
                None => (0, "Default"),
            };
            let mut agent = Map::new();
            agent.insert("pool".into(), self.pool_ref(pool_id, pool_name));
            obj.insert("agent".into(), with_meta(agent, &["pool"], None, &[]));
        }
        with_meta(
            obj,
            &["id", "buildTypeId", "state", "href", "webUrl"],
            Some(&[
                "id",
                "buildTypeId",
                "state",
                "href",
                "webUrl",
                "buildType",
                "queuedDate",
                "compatibleAgents",
                "agent",
            ]),
            &[],
        )
    }
}
