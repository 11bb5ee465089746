//! TeamCity adapter: Bearer token, JSON, explicit `fields=` (short views drop false and
//! zero fields) and explicit locators (the server's default filters hide unauthorized
//! agents), following `nextHref` paging (SEMANTICS.md B1–B5).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::Problem;
use super::http::{CiHttp, encode_query_value};
use super::{CiError, CiServer, OfflineChange, history};
use reqwest::Method;
use rules::health::FinishedBuild;
use rules::{Agent, CiSnapshot, Demand, QueuedBuild, Waiting};

const AGENT_FIELDS: &str = "count,nextHref,agent(id,name,connected,enabled,authorized,pool(id,name),build(id),enabledInfo(comment(text)))";
const QUEUE_FIELDS: &str = "count,nextHref,build(id,buildTypeId,state,queuedDate,waitReason,agent(id,pool(id,name)),compatibleAgents(agent(id)))";
/// A bound on paging so a server that keeps answering `nextHref` cannot hold a poll forever.
const MAX_PAGES: usize = 200;

pub struct TeamCity {
    http: CiHttp,
}

impl TeamCity {
    pub fn new(http: CiHttp) -> TeamCity {
        TeamCity { http }
    }

    /// Follows `nextHref` (root-relative, without the context path, SEMANTICS.md B3.3).
    async fn all_pages<T, F>(&self, first: String, mut take: F) -> Result<(), CiError>
    where
        T: serde::de::DeserializeOwned + Page,
        F: FnMut(T),
    {
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(path) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CiError {
                    kind: self.http.kind(),
                    method: "GET",
                    url: path,
                    problem: Problem::Malformed(format!("more than {MAX_PAGES} pages of nextHref")),
                });
            }
            let page: T = self.http.get_json(&path).await?;
            next = page.next_href().map(str::to_owned);
            take(page);
        }
        Ok(())
    }
}

pub trait Page {
    fn next_href(&self) -> Option<&str>;
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
        let agents = self.all_pages(agents_path, |page: AgentsJson| {
            agents_json.extend(page.agent)
        });
        let queue = self.all_pages(queue_path, |page: QueueJson| queue_json.extend(page.build));
        tokio::try_join!(agents, queue)?;
        let pool_of: HashMap<u64, String> = agents_json
            .iter()
            .filter_map(|a| Some((a.id, a.pool.as_ref()?.name.clone()?)))
            .collect();
        let queue = queue_json
            .into_iter()
            .filter(|b| b.state.as_deref().is_none_or(|s| s == "queued"))
            .map(|b| b.into_build(&pool_of))
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
        Ok(OfflineChange::TakenOffline)
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

#[derive(Debug, Deserialize)]
pub struct AgentsJson {
    #[serde(rename = "nextHref", default)]
    pub next_href: Option<String>,
    #[serde(default)]
    pub agent: Vec<AgentJson>,
}

impl Page for AgentsJson {
    fn next_href(&self) -> Option<&str> {
        self.next_href.as_deref()
    }
}

/// Missing booleans are false: TeamCity drops default values from its output (B2.2).
#[derive(Debug, Deserialize)]
pub struct AgentJson {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub connected: bool,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub authorized: bool,
    #[serde(default)]
    pub pool: Option<PoolJson>,
    #[serde(default)]
    pub build: Option<BuildRefJson>,
    /// Why the agent was disabled (the comment of the last enable/disable).
    #[serde(rename = "enabledInfo", default)]
    pub enabled_info: Option<EnabledInfoJson>,
}

#[derive(Debug, Deserialize)]
pub struct EnabledInfoJson {
    #[serde(default)]
    pub comment: Option<CommentJson>,
}

#[derive(Debug, Deserialize)]
pub struct CommentJson {
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PoolJson {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct BuildRefJson {
    #[serde(default)]
    pub id: Option<u64>,
}

impl AgentJson {
    pub fn into_agent(self) -> Agent {
        // A disabled agent's reason is its disable comment (ci-fleet's own, or a person's).
        let comment = self
            .enabled_info
            .and_then(|i| i.comment)
            .and_then(|c| c.text)
            .filter(|t| !t.trim().is_empty());
        let reason = match (self.connected, self.authorized, self.enabled, comment) {
            (_, _, false, Some(comment)) => comment,
            (false, _, _, _) => "disconnected".to_owned(),
            (_, false, _, _) => "unauthorized".to_owned(),
            (_, _, false, None) => "disabled".to_owned(),
            _ => String::new(),
        };
        Agent {
            name: self.name,
            labels: self.pool.and_then(|p| p.name).into_iter().collect(),
            executors: 1,
            busy_executors: u32::from(self.build.is_some()),
            connected: self.connected,
            accepting_tasks: self.enabled && self.authorized,
            offline_reason: reason,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct QueueJson {
    #[serde(rename = "nextHref", default)]
    pub next_href: Option<String>,
    #[serde(default)]
    pub build: Vec<QueuedJson>,
}

impl Page for QueueJson {
    fn next_href(&self) -> Option<&str> {
        self.next_href.as_deref()
    }
}

#[derive(Debug, Deserialize)]
pub struct QueuedJson {
    pub id: u64,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "queuedDate", default)]
    pub queued_date: Option<String>,
    #[serde(rename = "waitReason", default)]
    pub wait_reason: Option<String>,
    /// Present only when the build is pinned to an agent or a pool (B5.2).
    #[serde(default)]
    pub agent: Option<PinnedJson>,
    #[serde(rename = "compatibleAgents", default)]
    pub compatible_agents: Option<CompatibleJson>,
}

#[derive(Debug, Deserialize)]
pub struct PinnedJson {
    #[serde(default)]
    pub pool: Option<PoolJson>,
}

#[derive(Debug, Deserialize)]
pub struct CompatibleJson {
    #[serde(default)]
    pub agent: Vec<AgentIdJson>,
}

#[derive(Debug, Deserialize)]
pub struct AgentIdJson {
    pub id: u64,
}

impl QueuedJson {
    pub fn into_build(self, pool_of: &HashMap<u64, String>) -> QueuedBuild {
        let mut pools: Vec<String> = self
            .compatible_agents
            .iter()
            .flat_map(|c| &c.agent)
            .filter_map(|a| pool_of.get(&a.id).cloned())
            .collect();
        if let Some(pinned) = self.agent.and_then(|a| a.pool).and_then(|p| p.name) {
            pools.push(pinned);
        }
        pools.sort();
        pools.dedup();
        let reason = self.wait_reason.unwrap_or_default();
        let waiting = if reason.contains("dependencies") || reason.contains("is already running") {
            Waiting::Blocked
        } else {
            Waiting::ForExecutor
        };
        let stuck = pools.is_empty() || reason.starts_with("There are no compatible agents");
        let demand = if pools.is_empty() {
            Demand::Unknown(format!("no compatible agent and no pool pin: {reason}"))
        } else {
            Demand::Pools(pools)
        };
        QueuedBuild {
            id: self.id.to_string(),
            demand,
            waiting,
            stuck,
            queued_since: self.queued_date.as_deref().and_then(parse_teamcity_time),
        }
    }
}

/// TeamCity's compact timestamp, `yyyyMMdd'T'HHmmssZ` (B2.4).
pub fn parse_teamcity_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(raw, "%Y%m%dT%H%M%S%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_teamcity_timestamps() {
        assert_eq!(
            parse_teamcity_time("20200803T215811+0300")
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2020-08-03T18:58:11+00:00")
        );
        assert_eq!(parse_teamcity_time("2020-08-03"), None);
    }

    #[test]
    fn missing_booleans_mean_false() {
        let agent: AgentJson = serde_json::from_str(
            r#"{"id":1,"name":"a","connected":true,"pool":{"id":0,"name":"Default"}}"#,
        )
        .expect("parses");
        let agent = agent.into_agent();
        assert!(
            !agent.is_capacity(),
            "an agent without enabled/authorized is not capacity"
        );
        assert_eq!(
            (agent.offline_reason.as_str(), agent.labels),
            ("unauthorized", vec!["Default".to_owned()])
        );

        let disabled: AgentJson = serde_json::from_str(
            r#"{"id":2,"name":"b","connected":false,"authorized":true,"enabledInfo":{"comment":{"text":"recycle: use-limit"}}}"#,
        )
        .expect("parses");
        assert_eq!(
            disabled.into_agent().offline_reason,
            "recycle: use-limit",
            "a disabled agent's reason is its comment, even once disconnected"
        );
    }

    #[test]
    fn queued_build_demand_goes_to_its_compatible_agents_pools() {
        let pools: HashMap<u64, String> = [
            (1, "Linux".to_owned()),
            (2, "Linux".to_owned()),
            (3, "GPU".to_owned()),
        ]
        .into();
        let build: QueuedJson = serde_json::from_str(
            r#"{"id":9,"state":"queued","queuedDate":"20261122T120000+0000","waitReason":"There are no idle compatible agents which can run this build","compatibleAgents":{"count":2,"agent":[{"id":1},{"id":3}]}}"#,
        )
        .expect("parses");
        let build = build.into_build(&pools);
        assert_eq!(
            build.demand,
            Demand::Pools(vec!["GPU".into(), "Linux".into()])
        );
        assert_eq!((build.waiting, build.stuck), (Waiting::ForExecutor, false));

        let pinned: QueuedJson = serde_json::from_str(r#"{"id":10,"agent":{"pool":{"id":4,"name":"Windows"}},"compatibleAgents":{"count":0}}"#).expect("parses");
        assert_eq!(
            pinned.into_build(&pools).demand,
            Demand::Pools(vec!["Windows".into()])
        );

        let blocked: QueuedJson = serde_json::from_str(r#"{"id":11,"waitReason":"Build dependencies have not been built yet","compatibleAgents":{"agent":[{"id":2}]}}"#).expect("parses");
        assert_eq!(blocked.into_build(&pools).waiting, Waiting::Blocked);
    }
}
