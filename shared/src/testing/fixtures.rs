//! Fixture builders that read like sentences: `agent("i-1").busy(1)`,
//! `group_instance("i-2").protected()`, `pool("linux")`, `jenkins_config()`.

use std::time::Duration;

use rules::{Agent, Pool, PoolSpec};

use crate::ci::CiKind;
use crate::config::{CiConfig, CredentialSource};
use crate::ports::groups::GroupInstance;

/// An anonymous Jenkins at `http://ci`, with a 5 s timeout.
pub fn jenkins_config() -> CiConfig {
    CiConfig {
        kind: CiKind::Jenkins,
        url: "http://ci".into(),
        credentials: CredentialSource::Anonymous,
        timeout: Duration::from_secs(5),
        max_response_bytes: 1 << 20,
        page_size: 1000,
    }
}

/// The Jenkins pool `name`: label `name`, group `ci-<name>`, two executors an instance.
pub fn pool(name: &str) -> Pool {
    let spec = PoolSpec {
        name: name.into(),
        ci_label: name.into(),
        asg: format!("ci-{name}"),
        executors_per_instance: 2,
        max_builds_per_agent: None,
    };
    match Pool::jenkins(spec) {
        Ok(pool) => pool,
        Err(e) => panic!("the test pool {name:?} is invalid: {e}"),
    }
}

/// An online, idle agent labelled `linux` with two executors.
pub fn agent(name: &str) -> AgentBuilder {
    AgentBuilder(Agent {
        name: name.into(),
        labels: vec!["linux".into()],
        executors: 2,
        busy_executors: 0,
        connected: true,
        accepting_tasks: true,
        offline_reason: String::new(),
        runs: Vec::new(),
    })
}

pub struct AgentBuilder(Agent);

impl AgentBuilder {
    pub fn busy(mut self, executors: u32) -> AgentBuilder {
        self.0.busy_executors = executors;
        self
    }

    /// Taken offline by someone (or something) with `reason`; still connected.
    pub fn offline(mut self, reason: &str) -> AgentBuilder {
        self.0.accepting_tasks = false;
        self.0.offline_reason = reason.into();
        self
    }

    pub fn disconnected(mut self) -> AgentBuilder {
        self.0.connected = false;
        self
    }

    pub fn labelled(mut self, labels: &[&str]) -> AgentBuilder {
        self.0.labels = labels.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    /// Its executors run these runs (by URL), one executor each.
    pub fn running(mut self, runs: &[&str]) -> AgentBuilder {
        self.0.busy_executors = runs.len() as u32;
        self.0.runs = runs.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    pub fn build(self) -> Agent {
        self.0
    }
}

impl From<AgentBuilder> for Agent {
    fn from(builder: AgentBuilder) -> Agent {
        builder.0
    }
}

/// A healthy, unprotected InService instance of group `ci-linux`.
pub fn group_instance(id: &str) -> InstanceBuilder {
    InstanceBuilder(GroupInstance {
        instance_id: id.into(),
        group: "ci-linux".into(),
        lifecycle_state: "InService".into(),
        protected_from_scale_in: false,
        healthy: true,
    })
}

pub struct InstanceBuilder(GroupInstance);

impl InstanceBuilder {
    pub fn protected(mut self) -> InstanceBuilder {
        self.0.protected_from_scale_in = true;
        self
    }

    pub fn in_state(mut self, lifecycle_state: &str) -> InstanceBuilder {
        self.0.lifecycle_state = lifecycle_state.into();
        self
    }

    pub fn of_group(mut self, group: &str) -> InstanceBuilder {
        self.0.group = group.into();
        self
    }

    pub fn build(self) -> GroupInstance {
        self.0
    }
}

impl From<InstanceBuilder> for GroupInstance {
    fn from(builder: InstanceBuilder) -> GroupInstance {
        builder.0
    }
}
