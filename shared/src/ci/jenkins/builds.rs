//! The build port for Jenkins: `/job/…/N/api/json` with a `tree=` (docs/ci-semantics.md A5),
//! the log tail through `logText/progressiveText?start=` (its `X-Text-Size` header gives
//! the length, so only the tail is transferred), `buildWithParameters` (crumb handled by
//! `CiHttp::send_for_answer`) and `submitDescription`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::ci::error::{CiError, Problem};
use crate::ci::http::{CiHttp, encode_query_value};
use crate::ci::log_tail::read_tail;
use crate::ports::builds::{
    AgentPresence, AsSent, BuildControl, BuildRef, FinishedBuild, LogTail, Queued, Requeue,
    Revision, is_not_found,
};
use rules::retry::BuildStatus;

const BUILD_TREE: &str = "number,result,building,duration,timestamp,builtOn,queueId,url,description,actions[_class,parameters[name,value],lastBuiltRevision[SHA1,branch[name]]]";

pub struct JenkinsBuilds {
    http: CiHttp,
}

impl JenkinsBuilds {
    pub fn new(http: CiHttp) -> JenkinsBuilds {
        JenkinsBuilds { http }
    }

    fn fail(&self, method: &'static str, path: &str, problem: Problem) -> CiError {
        CiError {
            kind: self.http.kind(),
            method,
            url: path.to_owned(),
            problem,
        }
    }
}

/// `folder/app` → `/job/folder/job/app`.
pub fn job_path(job: &str) -> String {
    job.split('/')
        .filter(|s| !s.is_empty())
        .map(|segment| format!("/job/{}", encode_query_value(segment)))
        .collect()
}

fn build_path(build: &BuildRef) -> String {
    format!("{}/{}", job_path(&build.job), build.id)
}

/// `application/x-www-form-urlencoded` pairs.
fn form(pairs: &BTreeMap<String, String>) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_query_value(k), encode_query_value(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl JenkinsBuilds {
    /// The names of the parameters the job declares (its `ParametersDefinitionProperty`).
    async fn declared_parameters(&self, job: &str) -> Result<Vec<String>, CiError> {
        #[derive(Deserialize)]
        struct JobJson {
            #[serde(default)]
            property: Vec<PropertyJson>,
        }
        #[derive(Deserialize)]
        struct PropertyJson {
            #[serde(rename = "parameterDefinitions", default)]
            parameter_definitions: Vec<DefinitionJson>,
        }
        #[derive(Deserialize)]
        struct DefinitionJson {
            #[serde(default)]
            name: Option<String>,
        }
        let path = format!(
            "{job}/api/json?tree={}",
            encode_query_value("property[parameterDefinitions[name]]")
        );
        let json: JobJson = self.http.get_json(&path).await?;
        Ok((json.property.into_iter())
            .flat_map(|p| p.parameter_definitions)
            .filter_map(|d| d.name)
            .collect())
    }
}

#[async_trait]
impl BuildControl for JenkinsBuilds {
    #[tracing::instrument(name = "jenkins.finished_build", skip(self), fields(build = %build))]
    async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError> {
        let json: BuildJson = self
            .http
            .get_json(&format!(
                "{}/api/json?tree={}",
                build_path(build),
                encode_query_value(BUILD_TREE)
            ))
            .await?;
        Ok(json.into_build(build.clone()))
    }

    #[tracing::instrument(name = "jenkins.log_tail", skip(self), fields(build = %build))]
    async fn log_tail(&self, build: &BuildRef, max_bytes: usize) -> Result<LogTail, CiError> {
        let base = format!("{}/logText/progressiveText", build_path(build));
        let scan_limit = self.http.max_response_bytes();
        let fail = |problem| self.fail("GET", &base, problem);
        let first = self
            .http
            .get_response(&format!("{base}?start=0"), &[])
            .await?;
        let size = first
            .headers()
            .get("x-text-size")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match size {
            // Longer than the tail: drop this answer unread and ask from the offset.
            Some(size) if size > max_bytes as u64 => {
                drop(first);
                let start = size - max_bytes as u64;
                let rest = self
                    .http
                    .get_response(&format!("{base}?start={start}"), &[])
                    .await?;
                read_tail(rest, max_bytes, max_bytes.saturating_mul(2), true, fail).await
            }
            _ => read_tail(first, max_bytes, scan_limit, false, fail).await,
        }
    }

    #[tracing::instrument(name = "jenkins.agent_presence", skip(self))]
    async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError> {
        #[derive(Deserialize)]
        struct NodeJson {
            #[serde(default)]
            offline: bool,
            #[serde(rename = "temporarilyOffline", default)]
            temporarily_offline: bool,
        }
        let path = format!(
            "/computer/{}/api/json?tree=offline,temporarilyOffline",
            encode_query_value(agent)
        );
        match self.http.get_json::<NodeJson>(&path).await {
            // offline = temporarilyOffline || no channel (A3.3): a marked node hides the channel.
            Ok(node) => Ok(match (node.offline, node.temporarily_offline) {
                (false, _) => AgentPresence::Connected,
                (true, false) => AgentPresence::Disconnected,
                (true, true) => AgentPresence::Unknown,
            }),
            Err(e) if is_not_found(&e) => Ok(AgentPresence::Gone),
            Err(e) => Err(e),
        }
    }

    fn as_sent(&self, request: &Requeue) -> AsSent {
        as_sent(request)
    }

    /// The job's declared parameters first: Jenkins answers `buildWithParameters` 400 for
    /// a job that declares none and drops parameters it does not declare
    /// (`ParametersDefinitionProperty._doBuild` reads only its definitions' names). Then
    /// only 201 is "queued"; 303 (merged into an equal queued item) and 302 (refused) are
    /// not, and say so (REAL-SERVERS #10).
    #[tracing::instrument(name = "jenkins.requeue", skip_all, fields(build = %request.build))]
    async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError> {
        let job = job_path(&request.build.job);
        let declared = self.declared_parameters(&job).await?;
        let sent = declared_only(as_sent(request).parameters, &declared);
        let path = if declared.is_empty() {
            format!("{job}/build?delay=0sec")
        } else {
            format!("{job}/buildWithParameters")
        };
        let body =
            (!declared.is_empty()).then(|| ("application/x-www-form-urlencoded", form(&sent)));
        let answer = (self.http)
            .send_for_answer(Method::POST, &path, body, None)
            .await?;
        let not_queued = |why: String| self.fail("POST", &path, Problem::Refused(why));
        match answer.status {
            303 => Err(not_queued(format!(
                "not queued: Jenkins merged it into an equal queued item ({})",
                answer.location.as_deref().unwrap_or("no Location")
            ))),
            302 => Err(not_queued(
                "not queued: Jenkins refused to schedule it (a disabled job, or a queue decision)"
                    .to_owned(),
            )),
            _ => Ok(Queued {
                id: answer.location.as_deref().and_then(queue_item_id),
                url: answer.location,
                parameters: sent,
            }),
        }
    }

    #[tracing::instrument(name = "jenkins.annotate", skip(self, text), fields(build = %build))]
    async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError> {
        let body = form(&BTreeMap::from([
            ("description".to_owned(), text.to_owned()),
            ("Submit".to_owned(), "Submit".to_owned()),
        ]));
        self.http
            .send(
                Method::POST,
                &format!("{}/submitDescription", build_path(build)),
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await?;
        Ok(())
    }
}

/// How Jenkins takes a re-queue: a job with parameters gets them and the retry's marks
/// through `buildWithParameters`; a job without parameters refuses any, so it is queued
/// through `build` with none (and no marks). Jenkins queues a job, never a branch or a
/// revision: the job's SCM settings pick them.
pub fn as_sent(request: &Requeue) -> AsSent {
    AsSent {
        parameters: if request.parameters.is_empty() {
            BTreeMap::new()
        } else {
            request.marked_parameters()
        },
        branch: None,
    }
}

/// The parameters a request keeps on a job that declares `declared` (Jenkins drops the rest).
fn declared_only(
    parameters: BTreeMap<String, String>,
    declared: &[String],
) -> BTreeMap<String, String> {
    (parameters.into_iter())
        .filter(|(name, _)| declared.contains(name))
        .collect()
}

/// `http://ci/queue/item/812/` → 812.
pub fn queue_item_id(location: &str) -> Option<u64> {
    let rest = &location[location.find("/queue/item/")? + "/queue/item/".len()..];
    rest.trim_end_matches('/').split('/').next()?.parse().ok()
}

#[derive(Debug, Deserialize)]
pub struct BuildJson {
    pub number: u64,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub building: bool,
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(rename = "builtOn", default)]
    pub built_on: Option<String>,
    #[serde(rename = "queueId", default)]
    pub queue_id: Option<u64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Heterogeneous (and `{}` or `null` for actions the tree does not name).
    #[serde(default)]
    pub actions: Vec<Value>,
}

impl BuildJson {
    pub fn into_build(self, build: BuildRef) -> FinishedBuild {
        let mut parameters = BTreeMap::new();
        let mut revision = None;
        let mut branch = None;
        for action in &self.actions {
            if let Some(list) = action.get("parameters").and_then(Value::as_array) {
                for p in list {
                    let (Some(name), Some(value)) = (
                        p.get("name").and_then(Value::as_str),
                        p.get("value").and_then(parameter_value),
                    ) else {
                        // Password and file parameters export no value: the job's default applies.
                        continue;
                    };
                    parameters.insert(name.to_owned(), value);
                }
            }
            if let Some(built) = action.get("lastBuiltRevision") {
                revision = built.get("SHA1").and_then(Value::as_str).map(str::to_owned);
                branch = built
                    .get("branch")
                    .and_then(Value::as_array)
                    .and_then(|b| b.first())
                    .and_then(|b| b.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
        let started_at = self
            .timestamp
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
        let finished_at = match (self.timestamp, self.duration) {
            (Some(start), Some(duration)) if !self.building => {
                // Checked: a hostile timestamp near i64's limits is no finish time, not a panic (R18).
                // A negative duration is none: the finish is never before the start.
                (start.checked_add(duration.max(0)))
                    .and_then(|end| Utc.timestamp_millis_opt(end).single())
            }
            _ => None,
        };
        FinishedBuild {
            build: BuildRef {
                job: build.job,
                id: self.number,
            },
            status: if self.building {
                None
            } else {
                self.result.as_deref().and_then(BuildStatus::parse)
            },
            running: self.building,
            status_text: String::new(),
            agent: self.built_on.filter(|n| !n.is_empty()),
            started_at,
            finished_at,
            queue_id: self.queue_id,
            custom_parameters: parameters.clone(),
            parameters,
            branch,
            revisions: revision
                .map(|version| Revision {
                    version,
                    vcs_branch: None,
                    vcs_root: None,
                })
                .into_iter()
                .collect(),
            description: self.description.filter(|d| !d.is_empty()),
            url: self.url,
        }
    }
}

/// Jenkins exports parameter values as strings, booleans or numbers.
fn parameter_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queue_ids() {
        assert_eq!(job_path("folder/my app"), "/job/folder/job/my%20app");
        assert_eq!(queue_item_id("http://ci:8080/queue/item/812/"), Some(812));
        assert_eq!(queue_item_id("/queue/item/9"), Some(9));
        assert_eq!(queue_item_id("http://ci/job/x/"), None);
        assert_eq!(
            String::from_utf8(form(&BTreeMap::from([
                ("MEMORY".to_owned(), "16g".to_owned()),
                ("NOTE".to_owned(), "a b&c=d".to_owned()),
            ])))
            .expect("utf-8"),
            "MEMORY=16g&NOTE=a%20b%26c%3Dd"
        );
    }

    fn requeue(parameters: &[(&str, &str)]) -> Requeue {
        Requeue {
            build: BuildRef {
                job: "platform/app".into(),
                id: 41,
            },
            parameters: parameters
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            marks: BTreeMap::from([
                ("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned()),
                (
                    "CI_FLEET_RETRY_OF".to_owned(),
                    "jenkins:platform/app#41".to_owned(),
                ),
            ]),
            branch: Some("main".into()),
            revisions: vec![Revision {
                version: "9cf121f0".into(),
                vcs_branch: None,
                vcs_root: None,
            }],
            comment: "ci-fleet retry 1/3 of #41 (oom)".into(),
        }
    }

    #[test]
    fn a_requeue_sends_the_job_its_parameters_and_marks_but_no_branch() {
        assert_eq!(
            as_sent(&requeue(&[
                ("AGENT_LABEL", "linux-16g"),
                ("MODULE", "core")
            ])),
            AsSent {
                parameters: BTreeMap::from([
                    ("AGENT_LABEL".to_owned(), "linux-16g".to_owned()),
                    ("MODULE".to_owned(), "core".to_owned()),
                    ("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned()),
                    (
                        "CI_FLEET_RETRY_OF".to_owned(),
                        "jenkins:platform/app#41".to_owned()
                    ),
                ]),
                branch: None,
            },
            "Jenkins queues the job, not a branch"
        );
        assert!(
            as_sent(&requeue(&[])).parameters.is_empty(),
            "a job without parameters is queued without any (Jenkins refuses them)"
        );
    }

    #[test]
    fn reads_a_finished_build_in_the_shape_jenkins_exports() {
        // Shaped like a real `/job/app/41/api/json?tree=…`: actions with and without
        // what the tree asked, a boolean and a password parameter, git BuildData.
        let json = r#"{
          "_class": "hudson.model.FreeStyleBuild",
          "actions": [
            {"_class": "hudson.model.ParametersAction", "parameters": [
              {"_class": "hudson.model.StringParameterValue", "name": "AGENT_LABEL", "value": "linux-8g"},
              {"_class": "hudson.model.BooleanParameterValue", "name": "FULL", "value": true},
              {"_class": "hudson.model.PasswordParameterValue", "name": "TOKEN"}
            ]},
            {"_class": "hudson.model.CauseAction"},
            {},
            {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": "9cf121f056e28bca9d216cb6b4a596a0ae380800", "branch": [{"name": "refs/remotes/origin/main"}]}}
          ],
          "building": false, "description": null, "duration": 60750, "number": 41,
          "queueId": 73, "result": "FAILURE", "timestamp": 1461091892486,
          "url": "http://ci/job/app/41/", "builtOn": "i-0abc"
        }"#;
        let parsed: BuildJson = serde_json::from_str(json).expect("parses");
        let build = parsed.into_build(BuildRef {
            job: "app".into(),
            id: 41,
        });
        assert_eq!(build.status, Some(BuildStatus::Failure));
        assert_eq!(build.agent.as_deref(), Some("i-0abc"));
        assert_eq!(build.queue_id, Some(73));
        assert_eq!(
            build.parameters,
            BTreeMap::from([
                ("AGENT_LABEL".to_owned(), "linux-8g".to_owned()),
                ("FULL".to_owned(), "true".to_owned()),
            ])
        );
        assert_eq!(build.custom_parameters, build.parameters);
        assert_eq!(
            build.revisions[0].version,
            "9cf121f056e28bca9d216cb6b4a596a0ae380800"
        );
        assert_eq!(build.branch.as_deref(), Some("refs/remotes/origin/main"));
        assert_eq!(
            build.finished_at.map(|t| t.timestamp_millis()),
            Some(1461091892486 + 60750)
        );

        let running: BuildJson = serde_json::from_str(
            r#"{"number": 42, "building": true, "result": null, "builtOn": "", "duration": 0}"#,
        )
        .expect("parses");
        let running = running.into_build(BuildRef {
            job: "app".into(),
            id: 42,
        });
        assert_eq!((running.status, running.running), (None, true));
        assert_eq!(running.agent, None, "\"\" is the built-in node");
    }
}
