//! The server entity (`/app/rest/server`).

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::tc_date;

impl Tc<'_> {
    pub fn server(&self, started_ms: i64) -> Value {
        let mut obj = Map::new();
        obj.insert("version".into(), json!("2025.03.3 (build 186370)"));
        obj.insert("versionMajor".into(), json!(2025));
        obj.insert("versionMinor".into(), json!(3));
        obj.insert("startTime".into(), json!(tc_date(started_ms)));
        obj.insert("currentTime".into(), json!(tc_date(self.now_ms)));
        obj.insert("buildNumber".into(), json!("186370"));
        obj.insert("buildDate".into(), json!("20250630T000000+0000"));
        obj.insert(
            "internalId".into(),
            json!("0f1c2d3e-4a5b-6c7d-8e9f-a0b1c2d3e4f5"),
        );
        obj.insert("role".into(), json!("main_node"));
        obj.insert("webUrl".into(), json!(self.web));
        for (key, path) in [
            ("projects", "projects"),
            ("vcsRoots", "vcs-roots"),
            ("builds", "builds"),
            ("users", "users"),
            ("userGroups", "userGroups"),
            ("agents", "agents"),
            ("buildQueue", "buildQueue"),
            ("agentPools", "agentPools"),
            ("investigations", "investigations"),
            ("mutes", "mutes"),
            ("nodes", "server/nodes"),
        ] {
            obj.insert(key.into(), json!({"href": self.href(path)}));
        }
        Value::Object(obj)
    }
}
