//! Finished builds as `/app/rest/builds` lists them (the state's `builds`): what the
//! agent health rule reads with `fields=build(id,buildTypeId,status,statusText,finishDate,agent(name))`.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{tc_date, with_meta};
use crate::state::FinishedBuild;

impl Tc<'_> {
    /// TeamCity's status text for a finished build: the state's `status_text`, else
    /// derived from the result.
    pub fn status_text(build: &FinishedBuild) -> String {
        build
            .status_text
            .clone()
            .unwrap_or_else(|| match (build.building, build.result.as_str()) {
                (true, _) => "Running".into(),
                (_, "SUCCESS") => "Success".into(),
                (_, "UNKNOWN") => "Canceled".into(),
                _ => "Exit code 1".into(),
            })
    }

    /// When it finished (a missing start is two minutes before now, as elsewhere).
    pub fn finished_at_ms(&self, build: &FinishedBuild) -> i64 {
        build.started_at_ms.unwrap_or(self.now_ms - 120_000) + build.duration_ms as i64
    }

    /// A finished build in a list.
    pub fn finished_build(&self, build: &FinishedBuild) -> Value {
        let id = build.build_id();
        let finished = self.finished_at_ms(build);
        let started = finished - build.duration_ms as i64;
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("buildTypeId".into(), json!(build.job));
        obj.insert("number".into(), json!(build.number.to_string()));
        obj.insert("status".into(), json!(build.result));
        obj.insert("state".into(), json!("finished"));
        if let Some(branch) = &build.branch {
            obj.insert("branchName".into(), json!(branch));
        }
        obj.insert("href".into(), json!(self.href(&format!("builds/id:{id}"))));
        obj.insert(
            "webUrl".into(),
            json!(format!(
                "{}/viewLog.html?buildId={id}&buildTypeId={}",
                self.web, build.job
            )),
        );
        obj.insert("statusText".into(), json!(Self::status_text(build)));
        obj.insert("buildType".into(), self.build_type(&build.job));
        obj.insert("queuedDate".into(), json!(tc_date(started - 5_000)));
        obj.insert("startDate".into(), json!(tc_date(started)));
        obj.insert("finishDate".into(), json!(tc_date(finished)));
        match self.state.agents.iter().position(|a| a.name == build.agent) {
            Some(index) => {
                obj.insert("agent".into(), self.agent(index, false));
            }
            // The agent was removed since: TeamCity still names it.
            None if !build.agent.is_empty() => {
                obj.insert("agent".into(), json!({"name": build.agent}));
            }
            None => {}
        }
        with_meta(
            obj,
            &[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "branchName",
                "href",
                "webUrl",
            ],
            Some(&[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "branchName",
                "href",
                "webUrl",
                "statusText",
                "buildType",
                "queuedDate",
                "startDate",
                "finishDate",
                "agent",
            ]),
            &[],
        )
    }
}
