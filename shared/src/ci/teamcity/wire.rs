//! TeamCity's JSON as the REST API answers it with our `fields=` (short views drop false
//! and zero fields, so every boolean defaults to false), and its two small conventions:
//! `nextHref` paging and the compact timestamp.
//! Codes such as (B2.2) are points of docs/ci-semantics.md.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use rules::{Agent, Demand, QueuedBuild, Waiting};

/// A page of a paged TeamCity collection.
pub trait Page {
    fn next_href(&self) -> Option<&str>;
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
    /// Connected, enabled, authorized and running nothing: it would take a build now.
    pub fn is_idle_capacity(&self) -> bool {
        self.connected && self.enabled && self.authorized && self.build.is_none()
    }

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
    /// Whether an agent it could run on is idle and takes work: then it does not wait for
    /// an agent (a running-builds limit, a shared-resource lock, a paused configuration,
    /// whatever the wait reason's wording), and is no demand (REAL-SERVERS #6).
    pub fn has_idle_compatible_agent(&self, idle: &HashSet<u64>) -> bool {
        (self.compatible_agents.iter())
            .flat_map(|c| &c.agent)
            .any(|a| idle.contains(&a.id))
    }

    pub fn into_build(self, pool_of: &HashMap<u64, String>) -> QueuedBuild {
        let mut pools: Vec<String> = self
            .compatible_agents
            .iter()
            .flat_map(|c| &c.agent)
            .filter_map(|a| pool_of.get(&a.id).cloned())
            .collect();
        let pinned = self.agent.and_then(|a| a.pool).and_then(|p| p.name);
        // Stuck from structure, not wording (REAL-SERVERS #13: the "no compatible agents"
        // text was the fake's invention): pinned to a pool that has no agent at all, so
        // no instance of ours can ever take it.
        let pinned_to_an_empty_pool =
            (pinned.as_ref()).is_some_and(|p| !pool_of.values().any(|own| own == p));
        if let Some(pinned) = pinned {
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
        let stuck = pools.is_empty() || pinned_to_an_empty_pool;
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

    /// 20 builds held by a "one running build" limit while an agent of their pool is idle:
    /// not demand, whatever the wait reason says; with every compatible agent busy they are.
    #[test]
    fn a_build_with_an_idle_compatible_agent_does_not_wait_for_an_agent() {
        let agents: Vec<AgentJson> = serde_json::from_str(
            r#"[{"id":1,"name":"a","connected":true,"enabled":true,"authorized":true},
                {"id":2,"name":"b","connected":true,"enabled":true,"authorized":true,"build":{"id":5}},
                {"id":3,"name":"c","connected":true,"enabled":false,"authorized":true}]"#,
        )
        .expect("agents");
        let idle: HashSet<u64> = agents
            .iter()
            .filter(|a| a.is_idle_capacity())
            .map(|a| a.id)
            .collect();
        assert_eq!(idle, HashSet::from([1]));
        let queued = |compatible: &str| -> QueuedJson {
            serde_json::from_str(&format!(
                r#"{{"id":9,"state":"queued","waitReason":"Build is waiting for the running builds limit","compatibleAgents":{{"agent":[{compatible}]}}}}"#
            ))
            .expect("a queued build")
        };
        assert!(queued(r#"{"id":1},{"id":2}"#).has_idle_compatible_agent(&idle));
        assert!(
            !queued(r#"{"id":2},{"id":3}"#).has_idle_compatible_agent(&idle),
            "busy or disabled: it waits"
        );
    }

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

    /// A build the token may not view is still reported, as an empty stub without an id
    /// (TR model/agent/Agent.java: Build.getNoPermissionsBuild): the agent is busy, never
    /// idle (reliability review R16b).
    #[test]
    fn a_build_the_token_cannot_see_still_makes_the_agent_busy() {
        let agent: AgentJson = serde_json::from_str(
            r#"{"id":7,"name":"a","connected":true,"enabled":true,"authorized":true,"build":{}}"#,
        )
        .expect("parses");
        assert_eq!(agent.into_agent().busy_executors, 1);
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
        let pinned = pinned.into_build(&pools);
        assert_eq!(pinned.demand, Demand::Pools(vec!["Windows".into()]));
        assert!(
            pinned.stuck,
            "pinned to a pool with no agent at all: stuck, from structure"
        );

        // Pinned to a pool whose agents exist (disconnected, say): waits, not stuck, and
        // the wording of the wait reason decides nothing.
        let waits: QueuedJson = serde_json::from_str(r#"{"id":12,"waitReason":"There are no compatible agents which can run this build","agent":{"pool":{"id":1,"name":"Linux"}},"compatibleAgents":{"count":0}}"#).expect("parses");
        let waits = waits.into_build(&pools);
        assert_eq!(
            (waits.demand, waits.stuck),
            (Demand::Pools(vec!["Linux".into()]), false)
        );

        let blocked: QueuedJson = serde_json::from_str(r#"{"id":11,"waitReason":"Build dependencies have not been built yet","compatibleAgents":{"agent":[{"id":2}]}}"#).expect("parses");
        assert_eq!(blocked.into_build(&pools).waiting, Waiting::Blocked);
    }
}
