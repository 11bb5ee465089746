//! An agent entity, built with only what a `fields` selection can show.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{collection, with_meta};
use super::flags::Flag;
use crate::fields::Sel;

impl Tc<'_> {
    pub fn agent(&self, index: usize, with_build: bool) -> Value {
        self.agent_in(index, with_build, Sel::All)
    }

    /// An agent with only what `sel` can show (listings of thousands ask for a few fields).
    pub fn agent_in(&self, index: usize, with_build: bool, sel: Sel) -> Value {
        let agent = &self.state.agents[index];
        let id = self.agent_id(index);
        let mut obj = Map::new();
        let mut put = |key: &str, value: &dyn Fn() -> Value| {
            if sel.has(key) {
                obj.insert(key.to_owned(), value());
            }
        };
        put("id", &|| json!(id));
        put("name", &|| json!(agent.name));
        put("typeId", &|| json!(id));
        put("connected", &|| json!(agent.connected));
        put("enabled", &|| json!(agent.enabled));
        put("authorized", &|| json!(agent.authorized));
        put("uptodate", &|| json!(true));
        put("ip", &|| json!(agent_ip(id)));
        put("protocol", &|| json!("unidirectional"));
        put("version", &|| json!("186370"));
        put("href", &|| json!(self.href(&format!("agents/id:{id}"))));
        put("webUrl", &|| {
            json!(format!(
                "{}/agentDetails.html?id={id}&agentTypeId={id}&realAgentName={}",
                self.web, agent.name
            ))
        });
        put("enabledInfo", &|| self.flag_info(agent, Flag::Enabled));
        put("authorizedInfo", &|| {
            self.flag_info(agent, Flag::Authorized)
        });
        put("properties", &|| {
            collection("property", None, None, None, Vec::new())
        });
        put("pool", &|| {
            let (pool_id, pool_name) = self.agent_pool(index);
            self.pool_ref(pool_id, pool_name)
        });
        if with_build && let Some(build) = agent.running.first() {
            put("build", &|| self.running_build(index, build));
        }
        if !sel.views() {
            return Value::Object(obj);
        }
        with_meta(
            obj,
            &["id", "name", "typeId", "href", "webUrl"],
            Some(&[
                "id",
                "name",
                "typeId",
                "connected",
                "enabled",
                "authorized",
                "uptodate",
                "ip",
                "protocol",
                "version",
                "href",
                "webUrl",
                "build",
                "enabledInfo",
                "authorizedInfo",
                "properties",
                "pool",
            ]),
            &["connected", "enabled", "authorized"],
        )
    }
}

fn agent_ip(id: u64) -> String {
    format!("10.0.{}.{}", id / 250, id % 250 + 1)
}
