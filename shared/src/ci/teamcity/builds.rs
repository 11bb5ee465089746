//! The build port for TeamCity: `/app/rest/builds/id:N` with explicit `fields=` (short
//! views drop what is false or empty, docs/ci-semantics.md B2), the log from
//! `/downloadBuildLog.html` asked as a `Range` and, when the server sends it whole anyway,
//! streamed keeping only the tail; `POST /app/rest/buildQueue` with the same build
//! configuration, branch, revisions and the build's own properties; comments by
//! `PUT …/comment`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::wire::parse_teamcity_time;
use crate::ci::error::{CiError, Problem};
use crate::ci::http::{CiHttp, encode_query_value};
use crate::ci::log_tail::read_tail;
use crate::ports::builds::{
    AgentPresence, AsSent, BuildControl, BuildRef, FinishedBuild, LogTail, Queued, Requeue,
    Revision, is_not_found,
};
use rules::retry::BuildStatus;

const BUILD_FIELDS: &str = "id,buildTypeId,number,status,state,statusText,branchName,startDate,finishDate,webUrl,agent(id,name),comment(text),canceledInfo(text),revisions(revision(version,vcsBranchName,vcs-root-instance(vcs-root-id))),properties(property(name,value,own))";

pub struct TeamCityBuilds {
    http: CiHttp,
}

impl TeamCityBuilds {
    pub fn new(http: CiHttp) -> TeamCityBuilds {
        TeamCityBuilds { http }
    }
}

fn build_path(build: &BuildRef) -> String {
    format!(
        "/app/rest/builds/{}",
        encode_query_value(&format!("id:{}", build.id))
    )
}

#[async_trait]
impl BuildControl for TeamCityBuilds {
    #[tracing::instrument(name = "teamcity.finished_build", skip(self), fields(build = %build))]
    async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError> {
        let json: BuildJson = self
            .http
            .get_json(&format!(
                "{}?fields={}",
                build_path(build),
                encode_query_value(BUILD_FIELDS)
            ))
            .await?;
        Ok(json.into_build(build.clone()))
    }

    #[tracing::instrument(name = "teamcity.log_tail", skip(self), fields(build = %build))]
    async fn log_tail(&self, build: &BuildRef, max_bytes: usize) -> Result<LogTail, CiError> {
        let path = format!("/downloadBuildLog.html?buildId={}&plain=true", build.id);
        let response = self
            .http
            .get_response(&path, &[("range", format!("bytes=-{max_bytes}"))])
            .await?;
        let fail = |problem| CiError {
            kind: self.http.kind(),
            method: "GET",
            url: "/downloadBuildLog.html".into(),
            problem,
        };
        if response.status().as_u16() == 206 {
            let whole = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|range| range.starts_with("bytes 0-"));
            read_tail(
                response,
                max_bytes,
                max_bytes.saturating_mul(2),
                !whole,
                fail,
            )
            .await
        } else {
            read_tail(
                response,
                max_bytes,
                self.http.max_response_bytes(),
                false,
                fail,
            )
            .await
        }
    }

    #[tracing::instrument(name = "teamcity.agent_presence", skip(self))]
    async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError> {
        #[derive(Deserialize)]
        struct AgentJson {
            #[serde(default)]
            connected: bool,
        }
        // `name:` disables the default `authorized:true` filter (B3.2).
        let path = format!(
            "/app/rest/agents/{}?fields=id,name,connected",
            encode_query_value(&format!("name:{agent}"))
        );
        match self.http.get_json::<AgentJson>(&path).await {
            Ok(found) if found.connected => Ok(AgentPresence::Connected),
            Ok(_) => Ok(AgentPresence::Disconnected),
            Err(e) if is_not_found(&e) => Ok(AgentPresence::Gone),
            Err(e) => Err(e),
        }
    }

    fn as_sent(&self, request: &Requeue) -> AsSent {
        as_sent(request)
    }

    #[tracing::instrument(name = "teamcity.requeue", skip_all, fields(build = %request.build))]
    async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError> {
        let body = queue_request(request).to_string().into_bytes();
        let answer = self
            .http
            .send_for_answer(
                Method::POST,
                "/app/rest/buildQueue",
                Some(("application/json", body)),
                Some("application/json"),
            )
            .await?;
        #[derive(Deserialize)]
        struct QueuedJson {
            id: Option<u64>,
            #[serde(rename = "webUrl")]
            web_url: Option<String>,
        }
        let queued: QueuedJson = serde_json::from_str(&answer.body).map_err(|e| CiError {
            kind: self.http.kind(),
            method: "POST",
            url: "/app/rest/buildQueue".into(),
            problem: Problem::Malformed(format!("queued build: {e}")),
        })?;
        Ok(Queued {
            id: queued.id,
            url: queued.web_url,
            parameters: as_sent(request).parameters,
        })
    }

    #[tracing::instrument(name = "teamcity.annotate", skip(self, text), fields(build = %build))]
    async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError> {
        self.http
            .send(
                Method::PUT,
                &format!("{}/comment", build_path(build)),
                Some(("text/plain", text.as_bytes().to_vec())),
            )
            .await?;
        Ok(())
    }
}

/// How TeamCity takes a re-queue: any parameters (the build's own, the retry's marks),
/// the branch and the revisions.
pub fn as_sent(request: &Requeue) -> AsSent {
    AsSent {
        parameters: request.marked_parameters(),
        branch: request.branch.clone(),
    }
}

/// The `POST /app/rest/buildQueue` body: the same build configuration, branch and
/// revisions, the properties, and the comment.
pub fn queue_request(request: &Requeue) -> serde_json::Value {
    let sent = as_sent(request);
    let mut body = json!({
        "buildType": {"id": request.build.job},
        "comment": {"text": request.comment},
        "properties": {"property": sent.parameters.iter().map(|(name, value)| json!({"name": name, "value": value})).collect::<Vec<_>>()},
    });
    if let Some(branch) = &sent.branch {
        body["branchName"] = json!(branch);
    }
    if !request.revisions.is_empty() {
        let revisions: Vec<serde_json::Value> = request.revisions.iter().map(revision).collect();
        body["revisions"] = json!({"revision": revisions});
    }
    body
}

fn revision(revision: &Revision) -> serde_json::Value {
    let mut json = json!({"version": revision.version});
    if let Some(branch) = &revision.vcs_branch {
        json["vcsBranchName"] = json!(branch);
    }
    if let Some(root) = &revision.vcs_root {
        json["vcs-root-instance"] = json!({"vcs-root-id": root});
    }
    json
}

#[derive(Debug, Deserialize)]
pub struct BuildJson {
    pub id: u64,
    #[serde(rename = "buildTypeId", default)]
    pub build_type_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "statusText", default)]
    pub status_text: Option<String>,
    #[serde(rename = "branchName", default)]
    pub branch_name: Option<String>,
    #[serde(rename = "startDate", default)]
    pub start_date: Option<String>,
    #[serde(rename = "finishDate", default)]
    pub finish_date: Option<String>,
    #[serde(rename = "webUrl", default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub agent: Option<NamedJson>,
    #[serde(default)]
    pub comment: Option<TextJson>,
    #[serde(rename = "canceledInfo", default)]
    pub canceled_info: Option<TextJson>,
    #[serde(default)]
    pub revisions: Option<RevisionsJson>,
    #[serde(default)]
    pub properties: Option<PropertiesJson>,
}

#[derive(Debug, Deserialize)]
pub struct NamedJson {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TextJson {
    #[serde(default)]
    pub text: Option<String>,
}

/// Empty collections omit their array (B2.1).
#[derive(Debug, Deserialize)]
pub struct RevisionsJson {
    #[serde(default)]
    pub revision: Vec<RevisionJson>,
}

#[derive(Debug, Deserialize)]
pub struct RevisionJson {
    pub version: String,
    #[serde(rename = "vcsBranchName", default)]
    pub vcs_branch_name: Option<String>,
    #[serde(rename = "vcs-root-instance", default)]
    pub vcs_root_instance: Option<VcsRootInstanceJson>,
}

#[derive(Debug, Deserialize)]
pub struct VcsRootInstanceJson {
    #[serde(rename = "vcs-root-id", default)]
    pub vcs_root_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PropertiesJson {
    #[serde(default)]
    pub property: Vec<PropertyJson>,
}

#[derive(Debug, Deserialize)]
pub struct PropertyJson {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    /// Set on the build itself (a custom build), not inherited from the configuration;
    /// omitted when false (B2.2). Real TeamCity has no `own` (it flags `inherited`), so this is always false there (B5.7).
    #[serde(default)]
    pub own: bool,
}

impl BuildJson {
    pub fn into_build(self, requested: BuildRef) -> FinishedBuild {
        let running = self.state.as_deref().is_some_and(|s| s != "finished");
        let mut parameters = BTreeMap::new();
        let mut custom_parameters = BTreeMap::new();
        for p in self.properties.map(|p| p.property).unwrap_or_default() {
            let Some(value) = p.value else { continue };
            if p.own {
                custom_parameters.insert(p.name.clone(), value.clone());
            }
            parameters.insert(p.name, value);
        }
        let status_text = [self.status_text, self.canceled_info.and_then(|c| c.text)]
            .into_iter()
            .flatten()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let started_at = self.start_date.as_deref().and_then(parse_teamcity_time);
        // A finish before the start (a server clock set back) is read as the start, as a
        // negative Jenkins duration is: the finish is never before the start.
        let finished_at = (self.finish_date.as_deref().and_then(parse_teamcity_time))
            .map(|finish| started_at.map_or(finish, |start| finish.max(start)));
        FinishedBuild {
            build: BuildRef {
                job: self.build_type_id.unwrap_or(requested.job),
                id: self.id,
            },
            status: if running {
                None
            } else {
                self.status.as_deref().and_then(BuildStatus::parse)
            },
            running,
            status_text,
            agent: self.agent.and_then(|a| a.name),
            started_at,
            finished_at,
            queue_id: Some(self.id),
            parameters,
            custom_parameters,
            branch: self.branch_name,
            revisions: self
                .revisions
                .map(|r| r.revision)
                .unwrap_or_default()
                .into_iter()
                .map(|r| Revision {
                    version: r.version,
                    vcs_branch: r.vcs_branch_name,
                    vcs_root: r.vcs_root_instance.and_then(|v| v.vcs_root_id),
                })
                .collect(),
            description: self.comment.and_then(|c| c.text).filter(|t| !t.is_empty()),
            url: self.web_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_finished_build_in_the_shape_teamcity_exports() {
        let json = r#"{
          "id": 11609257, "buildTypeId": "App_Test", "number": "35189", "status": "UNKNOWN",
          "state": "finished", "statusText": "Canceled (Tests passed: 806, ignored: 7)",
          "branchName": "main", "startDate": "20261122T120000+0000", "finishDate": "20261122T121500+0000",
          "webUrl": "http://tc/viewLog.html?buildId=11609257",
          "agent": {"id": 219, "name": "i-0abc"},
          "canceledInfo": {"text": "Agent removed"},
          "revisions": {"count": 1, "revision": [{"version": "9cf121f0", "vcsBranchName": "refs/heads/main", "vcs-root-instance": {"vcs-root-id": "App_Git"}}]},
          "properties": {"count": 2, "property": [
            {"name": "AGENT_LABEL", "value": "linux-8g", "own": true},
            {"name": "system.DIST", "value": "%build.counter%"}
          ]}
        }"#;
        let parsed: BuildJson = serde_json::from_str(json).expect("parses");
        let build = parsed.into_build(BuildRef {
            job: "?".into(),
            id: 11609257,
        });
        assert_eq!(build.build.job, "App_Test");
        assert_eq!(build.status, Some(BuildStatus::Aborted));
        assert_eq!(
            build.status_text,
            "Canceled (Tests passed: 806, ignored: 7)\nAgent removed"
        );
        assert_eq!(build.parameters.len(), 2);
        assert_eq!(
            build.custom_parameters,
            BTreeMap::from([("AGENT_LABEL".to_owned(), "linux-8g".to_owned())])
        );
        assert_eq!(build.revisions[0].vcs_root.as_deref(), Some("App_Git"));
        assert_eq!(build.queue_id, Some(11609257));

        // A running build with empty collections omitted.
        let running: BuildJson =
            serde_json::from_str(r#"{"id": 5, "state": "running", "status": "SUCCESS"}"#)
                .expect("parses");
        let running = running.into_build(BuildRef {
            job: "App_Test".into(),
            id: 5,
        });
        assert_eq!((running.status, running.running), (None, true));
        assert!(running.revisions.is_empty() && running.parameters.is_empty());
    }

    #[test]
    fn a_requeue_without_parameters_still_carries_the_marks() {
        let request = Requeue {
            build: BuildRef {
                job: "App_Test".into(),
                id: 9,
            },
            parameters: BTreeMap::new(),
            marks: BTreeMap::from([("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned())]),
            branch: None,
            revisions: vec![],
            comment: String::new(),
        };
        assert_eq!(
            as_sent(&request).parameters,
            request.marks,
            "TeamCity takes any parameter"
        );
    }

    #[test]
    fn queue_request_keeps_build_type_branch_revision_and_properties() {
        let request = Requeue {
            build: BuildRef {
                job: "App_Test".into(),
                id: 9,
            },
            parameters: BTreeMap::from([("AGENT_LABEL".to_owned(), "linux-16g".to_owned())]),
            marks: BTreeMap::from([("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned())]),
            branch: Some("main".into()),
            revisions: vec![Revision {
                version: "9cf121f0".into(),
                vcs_branch: Some("refs/heads/main".into()),
                vcs_root: Some("App_Git".into()),
            }],
            comment: "ci-fleet retry 1/3 of #9: oom".into(),
        };
        assert_eq!(
            queue_request(&request),
            json!({
                "buildType": {"id": "App_Test"},
                "branchName": "main",
                "comment": {"text": "ci-fleet retry 1/3 of #9: oom"},
                "properties": {"property": [
                    {"name": "AGENT_LABEL", "value": "linux-16g"},
                    {"name": "CI_FLEET_RETRY_REASON", "value": "oom"}
                ]},
                "revisions": {"revision": [{"version": "9cf121f0", "vcsBranchName": "refs/heads/main", "vcs-root-instance": {"vcs-root-id": "App_Git"}}]}
            })
        );
    }
}
