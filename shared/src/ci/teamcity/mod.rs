//! TeamCity adapter: Bearer token, JSON, explicit `fields=` (short views drop false and
//! zero fields) and explicit locators (the server's default filters hide unauthorized
//! agents), following `nextHref` paging (docs/ci-semantics.md B1–B5).

pub mod builds;
mod compatibility;
pub mod history;
mod pages;
pub mod wire;

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::Deserialize;

use crate::ci::error::{CiError, Problem};
use crate::ci::http::{CiHttp, encode_query_value};
use crate::ci::kind::CiKind;
use crate::ports::ci::{CiServer, OfflineChange, OnlineChange};
use compatibility::Compatibility;
use pages::{MAX_PAGES, all_pages};
use reqwest::Method;
use rules::CiSnapshot;
use rules::health::FinishedBuild;
use wire::{AgentIndex, BuildRefJson, Page};
pub use wire::{AgentJson, AgentsJson, QueueJson, parse_teamcity_time};

const AGENT_FIELDS: &str = "count,nextHref,agent(id,name,connected,enabled,authorized,pool(id,name),build(id),enabledInfo(comment(text)))";
/// No `compatibleAgents`: compatibility is asked per build configuration (compatibility.rs).
const QUEUE_FIELDS: &str =
    "count,nextHref,build(id,buildTypeId,state,queuedDate,waitReason,agent(id,pool(id,name)))";

pub struct TeamCity {
    http: CiHttp,
    compatibility: Compatibility,
}

impl TeamCity {
    pub fn new(http: CiHttp) -> TeamCity {
        TeamCity {
            http,
            compatibility: Compatibility::default(),
        }
    }
}

#[async_trait]
impl CiServer for TeamCity {
    #[tracing::instrument(name = "teamcity.snapshot", skip_all)]
    async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
        // defaultFilter:false: unauthorized agents exist and are not capacity, but must be seen.
        let agents_path = format!(
            "/app/rest/agents?locator={}&fields={}",
            encode_query_value(&format!(
                "defaultFilter:false,count:{}",
                self.http.page_size()
            )),
            encode_query_value(AGENT_FIELDS)
        );
        let queue_path = format!(
            "/app/rest/buildQueue?locator={}&fields={}",
            encode_query_value(&format!("count:{}", self.http.page_size())),
            encode_query_value(QUEUE_FIELDS)
        );
        let mut agents_json = Vec::new();
        let mut queue_json = Vec::new();
        let agents = all_pages(&self.http, agents_path, |page: AgentsJson| {
            agents_json.extend(page.agent)
        });
        let queue = all_pages(&self.http, queue_path, |page: QueueJson| {
            queue_json.extend(page.build)
        });
        tokio::try_join!(agents, queue)?;
        queue_json.retain(|b| b.state.as_deref().is_none_or(|s| s == "queued"));
        let configurations: BTreeSet<&str> = (queue_json.iter())
            .filter_map(|b| b.build_type_id.as_deref())
            .collect();
        let compatible = (self.compatibility)
            .of(&self.http, &agents_json, configurations)
            .await?;
        let index = AgentIndex::of(&agents_json);
        let queue = queue_json
            .into_iter()
            .map(|b| {
                let configuration = (b.build_type_id.as_ref()).and_then(|c| compatible.get(c));
                b.into_build(configuration.map_or(&[][..], |c| c), &index)
            })
            .collect();
        Ok(CiSnapshot {
            agents: agents_json.into_iter().map(AgentJson::into_agent).collect(),
            queue,
        })
    }

    #[tracing::instrument(name = "teamcity.take_offline", skip(self, reason))]
    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
        #[derive(Deserialize)]
        struct EnabledJson {
            #[serde(default)]
            enabled: bool,
        }
        let path = agent_path(agent);
        let state: EnabledJson = self
            .http
            .get_json(&format!("{path}?fields=id,enabled"))
            .await?;
        if !state.enabled {
            return Ok(OfflineChange::AlreadyOffline);
        }
        // enabledInfo sets the state (no toggle) and keeps the reason as the disable comment.
        let body = serde_json::json!({"status": false, "comment": {"text": reason}})
            .to_string()
            .into_bytes();
        self.http
            .send(
                Method::PUT,
                &format!("{path}/enabledInfo"),
                Some(("application/json", body)),
            )
            .await?;
        // Verified, as on Jenkins: an agent still enabled is an error the caller's retry
        // redoes, never "taken offline".
        let after: EnabledJson = self
            .http
            .get_json(&format!("{path}?fields=id,enabled"))
            .await?;
        if after.enabled {
            return Err(CiError {
                kind: CiKind::TeamCity,
                method: "PUT",
                url: format!("{path}/enabledInfo"),
                problem: Problem::Refused(format!(
                    "agent {agent} is still enabled after the disable"
                )),
            });
        }
        Ok(OfflineChange::TakenOffline)
    }

    #[tracing::instrument(name = "teamcity.bring_online", skip(self, our_reason))]
    async fn bring_online(&self, agent: &str, our_reason: &str) -> Result<OnlineChange, CiError> {
        // The agent's own enabledInfo resource: the agent bean exports enabledInfo only to
        // users with "View agent details" (TR model/agent/Agent.java), this one to anyone
        // who may see the agent, so the disable comment stays readable.
        #[derive(Deserialize)]
        struct EnabledInfoJson {
            status: bool,
            #[serde(default)]
            comment: Option<wire::CommentJson>,
        }
        let path = agent_path(agent);
        let info: EnabledInfoJson = self
            .http
            .get_json(&format!("{path}/enabledInfo?fields=status,comment(text)"))
            .await?;
        if info.status {
            return Ok(OnlineChange::AlreadyOnline);
        }
        let comment = info.comment.and_then(|c| c.text);
        if comment.as_deref() != Some(our_reason) {
            return Ok(OnlineChange::OfflineForAnotherReason);
        }
        let body =
            serde_json::json!({"status": true, "comment": {"text": "ci-fleet: back in service"}})
                .to_string()
                .into_bytes();
        self.http
            .send(
                Method::PUT,
                &format!("{path}/enabledInfo"),
                Some(("application/json", body)),
            )
            .await?;
        Ok(OnlineChange::BroughtOnline)
    }

    #[tracing::instrument(name = "teamcity.agent_busy", skip(self))]
    async fn agent_busy(&self, agent: &str) -> Result<Option<bool>, CiError> {
        // TeamCity drops a null `build` from its output (B2.2): absent means idle; `id` is
        // required, so an answer that is not an agent is malformed, not idle.
        #[derive(Deserialize)]
        struct BusyJson {
            #[allow(dead_code)]
            id: u64,
            #[serde(default)]
            build: Option<BuildRefJson>,
        }
        match self
            .http
            .get_json::<BusyJson>(&format!("{}?fields=id,build(id)", agent_path(agent)))
            .await
        {
            Ok(state) => Ok(Some(state.build.is_some())),
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(name = "teamcity.remove_agent", skip(self))]
    async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
        match self
            .http
            .send(Method::DELETE, &agent_path(agent), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Newest first, following `nextHref` until [`history::TEAMCITY_MAX_BUILDS`] are read.
    #[tracing::instrument(name = "teamcity.recent_builds", skip_all)]
    async fn recent_builds(&self) -> Result<Vec<FinishedBuild>, CiError> {
        let mut next = Some(history::teamcity_path(self.http.page_size()));
        let mut read = 0;
        let mut builds = Vec::new();
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                break;
            }
            let page: history::TeamCityBuildsJson = self.http.get_json(&path).await?;
            next = page.next_href().map(str::to_owned);
            read += page.build.len();
            builds.extend(
                page.build
                    .into_iter()
                    .filter_map(history::TeamCityBuildJson::into_finished),
            );
            if read >= history::TEAMCITY_MAX_BUILDS {
                break;
            }
        }
        Ok(builds)
    }
}

fn agent_path(agent: &str) -> String {
    format!(
        "/app/rest/agents/{}",
        encode_query_value(&format!("name:{agent}"))
    )
}
