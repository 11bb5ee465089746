//! Recent finished builds and the agents they ran on, for the agent health rule
//! (`CiServer::recent_builds`). One request on Jenkins (the root's jobs with their last
//! builds, one level of folders); TeamCity's finished builds, newest first, paged.

use chrono::{TimeZone, Utc};
use serde::Deserialize;

use super::http::encode_query_value;
use super::teamcity::{Page, parse_teamcity_time};
use rules::health::{FinishedBuild, Outcome};

/// Builds per Jenkins job (`{0,20}`): enough to see a streak, bounded for servers with
/// thousands of jobs.
pub const JENKINS_BUILDS_PER_JOB: u32 = 20;

/// TeamCity: stop following `nextHref` once this many builds are read (newest first).
pub const TEAMCITY_MAX_BUILDS: usize = 2000;

const TEAMCITY_FIELDS: &str =
    "count,nextHref,build(id,buildTypeId,status,statusText,finishDate,agent(name))";

/// `/api/json?tree=jobs[…builds[…]{0,20},jobs[…builds[…]{0,20}]]`.
pub fn jenkins_path() -> String {
    let build =
        format!("builds[number,result,builtOn,timestamp,duration]{{0,{JENKINS_BUILDS_PER_JOB}}}");
    let tree = format!("jobs[name,{build},jobs[name,{build}]]");
    format!("/api/json?tree={}", encode_query_value(&tree))
}

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

#[derive(Debug, Default, Deserialize)]
pub struct JenkinsRootJson {
    #[serde(default)]
    pub jobs: Vec<JenkinsJobJson>,
}

#[derive(Debug, Default, Deserialize)]
pub struct JenkinsJobJson {
    #[serde(default)]
    pub name: String,
    /// Absent on folders (and on pipelines' multibranch projects).
    #[serde(default)]
    pub builds: Vec<JenkinsBuildJson>,
    /// A folder's jobs (one level is asked for).
    #[serde(default)]
    pub jobs: Vec<JenkinsJobJson>,
}

#[derive(Debug, Deserialize)]
pub struct JenkinsBuildJson {
    #[serde(default)]
    pub result: Option<String>,
    /// `""` is the built-in node; absent for Pipeline runs (their `node` steps are not a
    /// build's `builtOn`), which therefore say nothing about an agent.
    #[serde(rename = "builtOn", default)]
    pub built_on: Option<String>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub duration: Option<i64>,
}

/// Jenkins' `result`: SUCCESS passes, UNSTABLE and FAILURE fail, ABORTED and NOT_BUILT
/// say nothing about the agent; `null` (still running) is no finished build.
fn jenkins_outcome(result: &str) -> Option<Outcome> {
    match result {
        "SUCCESS" => Some(Outcome::Passed),
        "UNSTABLE" | "FAILURE" => Some(Outcome::Failed),
        "ABORTED" | "NOT_BUILT" => Some(Outcome::Aborted),
        _ => None,
    }
}

/// Every finished build the root listed, named by its job's full name (`folder/job`).
pub fn jenkins_builds(root: JenkinsRootJson) -> Vec<FinishedBuild> {
    let mut out = Vec::new();
    for job in root.jobs {
        collect_jenkins(job, "", &mut out);
    }
    out
}

fn collect_jenkins(job: JenkinsJobJson, parent: &str, out: &mut Vec<FinishedBuild>) {
    let full_name = if parent.is_empty() {
        job.name
    } else {
        format!("{parent}/{}", job.name)
    };
    for build in job.builds {
        let Some(outcome) = build.result.as_deref().and_then(jenkins_outcome) else {
            continue;
        };
        let Some(agent) = build.built_on else {
            continue;
        };
        let finished_ms = build
            .timestamp
            .unwrap_or(0)
            .saturating_add(build.duration.unwrap_or(0).max(0));
        let Some(finished_at) = Utc
            .timestamp_millis_opt(finished_ms)
            .single()
            .filter(|t| t.timestamp() > 0)
        else {
            continue;
        };
        out.push(FinishedBuild {
            job: full_name.clone(),
            agent,
            finished_at,
            outcome,
        });
    }
    for child in job.jobs {
        collect_jenkins(child, &full_name, out);
    }
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
    fn jenkins_builds_with_folders_results_and_the_built_in_node() {
        let root: JenkinsRootJson = serde_json::from_str(
            r#"{"_class":"hudson.model.Hudson","jobs":[
              {"_class":"hudson.model.FreeStyleProject","name":"api","builds":[
                {"_class":"hudson.model.FreeStyleBuild","number":3,"result":null,"builtOn":"i-1","timestamp":1763800000000,"duration":0},
                {"number":2,"result":"UNSTABLE","builtOn":"i-1","timestamp":1763790000000,"duration":60000},
                {"number":1,"result":"SUCCESS","builtOn":"","timestamp":1763780000000,"duration":1000}]},
              {"_class":"com.cloudbees.hudson.plugins.folder.Folder","name":"team","jobs":[
                {"name":"web","builds":[
                  {"number":7,"result":"ABORTED","builtOn":"i-2","timestamp":1763790000000,"duration":5},
                  {"number":6,"result":"NOT_BUILT","builtOn":"i-2","timestamp":1763780000000,"duration":5},
                  {"number":5,"result":"FAILURE","builtOn":"i-2","timestamp":1763770000000,"duration":5}]}]},
              {"_class":"org.jenkinsci.plugins.workflow.job.WorkflowJob","name":"pipe","builds":[
                {"number":9,"result":"FAILURE","timestamp":1763770000000,"duration":5}]}
            ]}"#,
        )
        .expect("parses");
        let builds: Vec<(String, String, Outcome)> = jenkins_builds(root)
            .into_iter()
            .map(|b| (b.job, b.agent, b.outcome))
            .collect();
        assert_eq!(
            builds,
            vec![
                ("api".into(), "i-1".into(), Outcome::Failed),
                ("api".into(), "".into(), Outcome::Passed),
                ("team/web".into(), "i-2".into(), Outcome::Aborted),
                ("team/web".into(), "i-2".into(), Outcome::Aborted),
                ("team/web".into(), "i-2".into(), Outcome::Failed),
            ],
            "running builds and pipeline runs (no builtOn) are left out"
        );
        let finished = jenkins_builds(JenkinsRootJson {
            jobs: vec![JenkinsJobJson {
                name: "api".into(),
                builds: vec![JenkinsBuildJson {
                    result: Some("SUCCESS".into()),
                    built_on: Some("i-1".into()),
                    timestamp: Some(1763790000000),
                    duration: Some(60000),
                }],
                jobs: vec![],
            }],
        });
        assert_eq!(
            Some(finished[0].finished_at),
            Utc.timestamp_millis_opt(1763790060000).single(),
            "finished at start + duration"
        );
        assert!(
            jenkins_path().starts_with("/api/json?tree=jobs%5Bname,builds%5Bnumber"),
            "{}",
            jenkins_path()
        );
    }

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
