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
            runs: Vec::new(),
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
    #[serde(rename = "buildTypeId", default)]
    pub build_type_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(rename = "queuedDate", default)]
    pub queued_date: Option<String>,
    #[serde(rename = "waitReason", default)]
    pub wait_reason: Option<String>,
    /// Present only when the build is pinned: to one agent (its id and pool) or to a pool
    /// (only the pool) (TR model/build/Build.java `getAgent`, the agent restrictor) (B5.2).
    #[serde(default)]
    pub agent: Option<PinnedJson>,
}

#[derive(Debug, Deserialize)]
pub struct PinnedJson {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub pool: Option<PoolJson>,
}

/// A page of `agents?locator=compatible:(buildType:(id:X)),defaultFilter:false` with
/// `fields=count,nextHref,agent(id)`.
#[derive(Debug, Deserialize)]
pub struct AgentIdsJson {
    #[serde(rename = "nextHref", default)]
    pub next_href: Option<String>,
    #[serde(default)]
    pub agent: Vec<AgentIdJson>,
}

impl Page for AgentIdsJson {
    fn next_href(&self) -> Option<&str> {
        self.next_href.as_deref()
    }
}

#[derive(Debug, Deserialize)]
pub struct AgentIdJson {
    pub id: u64,
}

/// What the agent list says about each agent, for reading the queue against it.
#[derive(Debug, Default)]
pub struct AgentIndex {
    pub pool_of: HashMap<u64, String>,
    /// Agents that would take a build now ([`AgentJson::is_idle_capacity`]).
    pub idle: HashSet<u64>,
}

impl AgentIndex {
    pub fn of(agents: &[AgentJson]) -> AgentIndex {
        AgentIndex {
            pool_of: (agents.iter())
                .filter_map(|a| Some((a.id, a.pool.as_ref()?.name.clone()?)))
                .collect(),
            idle: (agents.iter())
                .filter(|a| a.is_idle_capacity())
                .map(|a| a.id)
                .collect(),
        }
    }
}

impl QueuedJson {
    /// The agents it may run on: its configuration's compatible agents (disabled and
    /// disconnected ones included, so a drain never hides demand), narrowed to the agent
    /// or pool it is pinned to. The pin names them itself, so no per-build compatible
    /// list is needed (REAL-SERVERS #5, #12).
    fn may_run_on(&self, configuration: &[u64], agents: &AgentIndex) -> Vec<u64> {
        let pinned_agent = self.agent.as_ref().and_then(|a| a.id);
        let pinned_pool = (self.agent.as_ref())
            .and_then(|a| a.pool.as_ref())
            .and_then(|p| p.name.as_deref());
        (configuration.iter().copied())
            .filter(|id| pinned_agent.is_none_or(|pin| pin == *id))
            .filter(|id| {
                pinned_pool
                    .is_none_or(|pin| agents.pool_of.get(id).map(String::as_str) == Some(pin))
            })
            .collect()
    }

    /// `configuration`: the ids of the agents compatible with its build configuration.
    pub fn into_build(self, configuration: &[u64], agents: &AgentIndex) -> QueuedBuild {
        let may_run_on = self.may_run_on(configuration, agents);
        let mut pools: Vec<String> = (may_run_on.iter())
            .filter_map(|id| agents.pool_of.get(id).cloned())
            .collect();
        let pinned = self.agent.and_then(|a| a.pool).and_then(|p| p.name);
        // Stuck from structure, not wording (REAL-SERVERS #13: the "no compatible agents"
        // text was the fake's invention): pinned to a pool that has no agent at all, so
        // no instance of ours can ever take it.
        let pinned_to_an_empty_pool =
            (pinned.as_ref()).is_some_and(|p| !agents.pool_of.values().any(|own| own == p));
        if let Some(pinned) = pinned {
            pools.push(pinned);
        }
        pools.sort();
        pools.dedup();
        let reason = self.wait_reason.unwrap_or_default();
        // An idle agent it could run on means it waits for something else (a running-builds
        // limit, a shared-resource lock, a paused configuration), whatever the wait
        // reason's wording (REAL-SERVERS #6): no demand.
        let waits_for_something_else = may_run_on.iter().any(|id| agents.idle.contains(id))
            || reason.contains("dependencies")
            || reason.contains("is already running");
        let waiting = match waits_for_something_else {
            true => Waiting::Blocked,
            false => Waiting::ForExecutor,
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

    fn index(agents: &str) -> AgentIndex {
        let agents: Vec<AgentJson> = serde_json::from_str(agents).expect("agents");
        AgentIndex::of(&agents)
    }

    fn queued(json: &str) -> QueuedJson {
        serde_json::from_str(json).expect("a queued build")
    }

    /// A build held by a "one running build" limit while an agent it may run on is idle:
    /// not demand, whatever the wait reason says; with every such agent busy or drained it is.
    #[test]
    fn a_build_with_an_idle_compatible_agent_does_not_wait_for_an_agent() {
        let agents = index(
            r#"[{"id":1,"name":"a","connected":true,"enabled":true,"authorized":true},
                {"id":2,"name":"b","connected":true,"enabled":true,"authorized":true,"build":{"id":5}},
                {"id":3,"name":"c","connected":true,"enabled":false,"authorized":true}]"#,
        );
        assert_eq!(agents.idle, HashSet::from([1]));
        let limited = || {
            queued(
                r#"{"id":9,"buildTypeId":"App","waitReason":"Build is waiting for the running builds limit"}"#,
            )
        };
        assert_eq!(
            limited().into_build(&[1, 2], &agents).waiting,
            Waiting::Blocked
        );
        assert_eq!(
            limited().into_build(&[2, 3], &agents).waiting,
            Waiting::ForExecutor,
            "busy or disabled: it waits for an agent"
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

    /// Linux: 1 (idle), 2 (drained: disabled by ci-fleet), GPU: 3 (busy).
    fn linux_and_gpu() -> AgentIndex {
        index(
            r#"[{"id":1,"name":"l1","connected":true,"enabled":true,"authorized":true,"pool":{"name":"Linux"}},
                {"id":2,"name":"l2","connected":true,"enabled":false,"authorized":true,"pool":{"name":"Linux"}},
                {"id":3,"name":"g1","connected":true,"enabled":true,"authorized":true,"pool":{"name":"GPU"},"build":{"id":8}}]"#,
        )
    }

    #[test]
    fn queued_build_demand_goes_to_its_configurations_pools() {
        let agents = linux_and_gpu();
        let waiting = r#"{"id":9,"buildTypeId":"App","queuedDate":"20261122T120000+0000","waitReason":"There are no idle compatible agents which can run this build"}"#;
        let build = queued(waiting).into_build(&[2, 3], &agents);
        assert_eq!(
            build.demand,
            Demand::Pools(vec!["GPU".into(), "Linux".into()])
        );
        assert_eq!((build.waiting, build.stuck), (Waiting::ForExecutor, false));
        assert!(build.queued_since.is_some());

        // A drain disables every agent of the pool: the configuration still counts them,
        // so the queue stays the pool's demand (REAL-SERVERS #5).
        let drained = queued(waiting).into_build(&[2], &agents);
        assert_eq!(
            (drained.demand, drained.waiting, drained.stuck),
            (
                Demand::Pools(vec!["Linux".into()]),
                Waiting::ForExecutor,
                false
            )
        );

        let nowhere = queued(waiting).into_build(&[], &agents);
        assert!(matches!(nowhere.demand, Demand::Unknown(_)) && nowhere.stuck);

        let blocked = queued(
            r#"{"id":11,"buildTypeId":"App","waitReason":"Build dependencies have not been built yet"}"#,
        );
        assert_eq!(blocked.into_build(&[3], &agents).waiting, Waiting::Blocked);
    }

    #[test]
    fn a_pin_narrows_the_configurations_agents() {
        let agents = linux_and_gpu();
        let to_pool = |pool: &str| {
            queued(&format!(
                r#"{{"id":10,"buildTypeId":"App","agent":{{"pool":{{"id":4,"name":"{pool}"}}}}}}"#
            ))
        };
        let windows = to_pool("Windows").into_build(&[1, 3], &agents);
        assert_eq!(windows.demand, Demand::Pools(vec!["Windows".into()]));
        assert!(
            windows.stuck,
            "pinned to a pool with no agent at all: stuck, from structure"
        );

        let gpu = to_pool("GPU").into_build(&[1, 3], &agents);
        assert_eq!(
            (gpu.demand, gpu.waiting, gpu.stuck),
            (
                Demand::Pools(vec!["GPU".into()]),
                Waiting::ForExecutor,
                false
            ),
            "the idle Linux agent is not one it may run on"
        );

        let to_agent = queued(
            r#"{"id":12,"buildTypeId":"App","agent":{"id":3,"name":"g1","pool":{"id":2,"name":"GPU"}}}"#,
        );
        let pinned = to_agent.into_build(&[1, 3], &agents);
        assert_eq!(
            (pinned.demand, pinned.waiting),
            (Demand::Pools(vec!["GPU".into()]), Waiting::ForExecutor)
        );
    }
}
