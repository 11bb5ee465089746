//! Running builds: what the agents' `running` entries look like as TeamCity builds.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{tc_date, with_meta};
use crate::state::RunningBuild;

impl<'a> Tc<'a> {
    pub fn running_builds(&self) -> Vec<(usize, &'a RunningBuild)> {
        self.state
            .agents
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.running.iter().map(move |r| (i, r)))
            .collect()
    }

    pub fn running_build(&self, agent_index: usize, build: &RunningBuild) -> Value {
        let id = build.build_id();
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        let progress = build.progress();
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("buildTypeId".into(), json!(build.job));
        obj.insert("number".into(), json!(build.number.to_string()));
        obj.insert("status".into(), json!("SUCCESS"));
        obj.insert("state".into(), json!("running"));
        obj.insert("percentageComplete".into(), json!(progress));
        obj.insert("href".into(), json!(self.href(&format!("builds/id:{id}"))));
        obj.insert(
            "webUrl".into(),
            json!(format!(
                "{}/viewLog.html?buildId={id}&buildTypeId={}",
                self.web, build.job
            )),
        );
        obj.insert("statusText".into(), json!("Running"));
        obj.insert("buildType".into(), self.build_type(&build.job));
        obj.insert("queuedDate".into(), json!(tc_date(started - 5_000)));
        obj.insert("startDate".into(), json!(tc_date(started)));
        obj.insert("agent".into(), self.agent(agent_index, false));
        let elapsed = (self.now_ms - started).max(0) / 1000;
        obj.insert(
            "running-info".into(),
            json!({
                "percentageComplete": progress,
                "elapsedSeconds": elapsed,
                "estimatedTotalSeconds": if progress > 0 { elapsed * 100 / i64::from(progress) } else { 0 },
                "currentStageText": "Running build steps",
                "outdated": false,
                "probablyHanging": false,
            }),
        );
        with_meta(
            obj,
            &[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "percentageComplete",
                "href",
                "webUrl",
            ],
            Some(&[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "percentageComplete",
                "href",
                "webUrl",
                "statusText",
                "buildType",
                "queuedDate",
                "startDate",
                "agent",
            ]),
            &[],
        )
    }
}
