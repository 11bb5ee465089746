//! TeamCity's recent finished builds and the agents they ran on, for the agent health rule
//! (`CiServer::recent_builds`): the finished builds, newest first, paged.

use serde::Deserialize;

use super::wire::{Page, parse_teamcity_time};
use crate::ci::http::encode_query_value;
use rules::health::{FinishedBuild, Outcome};

/// TeamCity: stop following `nextHref` once this many builds are read (newest first).
pub const TEAMCITY_MAX_BUILDS: usize = 2000;

const TEAMCITY_FIELDS: &str =
    "count,nextHref,build(id,buildTypeId,status,statusText,finishDate,agent(name))";

/// The first page of TeamCity's finished builds (`count` = the configured page size).
pub fn teamcity_path(page_size: u32) -> String {
    format!(
        "/app/rest/builds?locator={}&fields={}",
        encode_query_value(&format!(
            "defaultFilter:false,state:finished,count:{page_size}"
        )),
        encode_query_value(TEAMCITY_FIELDS)
    )
}

#[derive(Debug, Deserialize)]
pub struct TeamCityBuildsJson {
    #[serde(rename = "nextHref", default)]
    pub next_href: Option<String>,
    #[serde(default)]
    pub build: Vec<TeamCityBuildJson>,
}

impl Page for TeamCityBuildsJson {
    fn next_href(&self) -> Option<&str> {
        self.next_href.as_deref()
    }
}

#[derive(Debug, Deserialize)]
pub struct TeamCityBuildJson {
    #[serde(rename = "buildTypeId", default)]
    pub build_type_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(rename = "statusText", default)]
    pub status_text: Option<String>,
    #[serde(rename = "finishDate", default)]
    pub finish_date: Option<String>,
    #[serde(default)]
    pub agent: Option<TeamCityAgentJson>,
}

#[derive(Debug, Deserialize)]
pub struct TeamCityAgentJson {
    #[serde(default)]
    pub name: Option<String>,
}

/// What TeamCity writes in a build's status text when its agent went away mid-build.
const LOST_TEXTS: &[&str] = &[
    "agent was disconnected",
    "agent disconnected",
    "agent has been disconnected",
    "agent has unregistered",
    "agent was unregistered",
    "agent removed",
    "agent went offline",
    "lost connection",
    "connection was broken",
];

/// A status text that says the build's agent disconnected.
pub fn says_agent_lost(status_text: &str) -> bool {
    let text = status_text.to_lowercase();
    LOST_TEXTS.iter().any(|needle| text.contains(needle))
}

impl TeamCityBuildJson {
    /// SUCCESS passes, FAILURE fails, UNKNOWN (canceled) is aborted; a status text naming
    /// the agent's disconnection makes it lost, whatever the status.
    pub fn into_finished(self) -> Option<FinishedBuild> {
        let agent = self.agent.and_then(|a| a.name)?;
        let finished_at = self.finish_date.as_deref().and_then(parse_teamcity_time)?;
        let lost = self.status_text.as_deref().is_some_and(says_agent_lost);
        let outcome = match self.status.as_deref() {
            _ if lost => Outcome::Lost,
            Some("SUCCESS") => Outcome::Passed,
            Some("FAILURE" | "ERROR") => Outcome::Failed,
            Some("UNKNOWN") => Outcome::Aborted,
            _ => return None,
        };
        Some(FinishedBuild {
            job: self.build_type_id,
            agent,
            finished_at,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn teamcity_statuses_and_lost_agents() {
        let page: TeamCityBuildsJson = serde_json::from_str(
            r#"{"count":5,"nextHref":"/app/rest/builds?locator=count:5,start:5","build":[
              {"id":1,"buildTypeId":"App_Test","status":"SUCCESS","statusText":"Tests passed: 10","finishDate":"20261122T115000+0000","agent":{"name":"a1"}},
              {"id":2,"buildTypeId":"App_Test","status":"FAILURE","statusText":"Tests failed: 1","finishDate":"20261122T114000+0000","agent":{"name":"a1"}},
              {"id":3,"buildTypeId":"App_Lint","status":"UNKNOWN","statusText":"Canceled","finishDate":"20261122T113000+0000","agent":{"name":"a2"}},
              {"id":4,"buildTypeId":"App_Lint","status":"FAILURE","statusText":"Build agent was disconnected while running a build","finishDate":"20261122T112000+0000","agent":{"name":"a2"}},
              {"id":5,"buildTypeId":"App_Lint","status":"UNKNOWN","statusText":"Canceled","finishDate":"20261122T111000+0000"}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(
            page.next_href(),
            Some("/app/rest/builds?locator=count:5,start:5")
        );
        let outcomes: Vec<(String, Outcome)> = page
            .build
            .into_iter()
            .filter_map(TeamCityBuildJson::into_finished)
            .map(|b| (b.agent, b.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("a1".into(), Outcome::Passed),
                ("a1".into(), Outcome::Failed),
                ("a2".into(), Outcome::Aborted),
                ("a2".into(), Outcome::Lost),
            ],
            "a build without an agent is left out"
        );
        assert!(
            teamcity_path(100).contains("state%3Afinished,count%3A100"),
            "{}",
            teamcity_path(100)
        );
    }
}
