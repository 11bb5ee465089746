//! A queued build: its wait reason and the compatible agents of its pools.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{collection, tc_date, with_meta};
use crate::fields::{SHORT, Sel};
use crate::state::QueueItem;

/// The one documented wording for a build waiting for an agent, whether agents are busy
/// or none satisfies the requirements (TD `configuring-agent-requirements.md`: a build no
/// agent can run waits "with the \"There are no idle compatible agents which can run this
/// build\" status").
pub const NO_IDLE_COMPATIBLE_AGENTS: &str =
    "There are no idle compatible agents which can run this build";

/// Marks the waits no source words: TeamCity's own texts for these are undocumented.
const INVENTED: &str = "(wording invented by fake-ci)";

impl Tc<'_> {
    /// The state's `wait_reason` verbatim, else: a shared-resource lock (TD
    /// `shared-resources.md`: builds requiring a held lock "will be waiting in the queue"),
    /// else the configuration's running-builds limit (TD `configuring-general-settings.md`,
    /// "Limit Number of Simultaneously Running Builds"), else waiting for an agent. The
    /// first two hold a build even while a compatible agent is idle.
    fn wait_reason(&self, item: &QueueItem) -> String {
        if let Some(reason) = &item.wait_reason {
            return reason.clone();
        }
        if let Some(resource) = &item.waits_for_lock {
            return format!("Waiting for a lock on the shared resource '{resource}' {INVENTED}");
        }
        if let Some(limit) = self.running_limit_reached(&item.job) {
            return format!(
                "The limit of {limit} simultaneously running builds of this build configuration is reached {INVENTED}"
            );
        }
        NO_IDLE_COMPATIBLE_AGENTS.to_owned()
    }

    /// The configuration's limit when that many of its builds run already.
    fn running_limit_reached(&self, build_type: &str) -> Option<u32> {
        let limit = *self.state.max_running_builds.get(build_type)?;
        let running = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter())
            .filter(|r| r.job == build_type)
            .count();
        (limit > 0 && running >= limit as usize).then_some(limit)
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
        obj.insert("waitReason".into(), json!(self.wait_reason(item)));
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
