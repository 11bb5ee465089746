//! Jenkins' recent finished builds and the agents they ran on, for the agent health rule
//! (`CiServer::recent_builds`): one request, the root's jobs with their last builds, one
//! level of folders.

use chrono::{TimeZone, Utc};
use serde::Deserialize;

use crate::ci::http::encode_query_value;
use rules::health::{FinishedBuild, Outcome};

/// Builds per Jenkins job (`{0,20}`): enough to see a streak, bounded for servers with
/// thousands of jobs.
pub const JENKINS_BUILDS_PER_JOB: u32 = 20;

/// `/api/json?tree=jobs[…builds[…]{0,20},jobs[…builds[…]{0,20}]]`.
pub fn jenkins_path() -> String {
    let build =
        format!("builds[number,result,builtOn,timestamp,duration]{{0,{JENKINS_BUILDS_PER_JOB}}}");
    let tree = format!("jobs[name,{build},jobs[name,{build}]]");
    format!("/api/json?tree={}", encode_query_value(&tree))
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
}
