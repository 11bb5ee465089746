//! What a CI server looks like to ci-fleet, whichever CI server it is.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::label_expr::LabelExpr;

/// One CI agent (Jenkins computer, TeamCity agent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub name: String,
    /// Jenkins: assigned labels (the self-label is implied by `name`). TeamCity: the agent pool's name.
    pub labels: Vec<String>,
    pub executors: u32,
    pub busy_executors: u32,
    /// Connected to the server (Jenkins: has a channel; TeamCity: connected).
    pub connected: bool,
    /// Takes new work (Jenkins: not temporarily offline; TeamCity: enabled and authorized).
    pub accepting_tasks: bool,
    /// Why the agent is offline, as the CI server says it ("" when online).
    pub offline_reason: String,
    /// The runs its executors execute now, by URL (Jenkins `currentExecutable.url`; none
    /// on TeamCity, whose finished builds name their agent): the run ledger's samples.
    pub runs: Vec<String>,
}

impl Agent {
    /// Online agents that accept tasks are the pool's capacity; nothing else is.
    pub fn is_capacity(&self) -> bool {
        self.connected && self.accepting_tasks
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.name == label || self.labels.iter().any(|l| l == label)
    }
}

/// Which agents a queued build can run on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Demand {
    /// No label: any executor will do (counted in no pool; reported as unattributed).
    Any,
    /// A Jenkins label expression (a node name is its own label).
    Expression(LabelExpr),
    /// TeamCity: the agent pools holding agents compatible with the build.
    Pools(Vec<String>),
    /// The CI server said something we could not read; the text is kept for the log.
    Unknown(String),
}

/// Why a queued build is in the queue. Only `ForExecutor` is demand for agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Waiting {
    ForExecutor,
    /// Waits for another build (Jenkins BlockedItem, TeamCity dependencies).
    Blocked,
    /// Jenkins quiet period (WaitingItem).
    QuietPeriod,
    /// An executor has been chosen; the build starts in a moment.
    Pending,
    /// The server is shutting down and starts nothing.
    ServerShuttingDown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueuedBuild {
    pub id: String,
    pub demand: Demand,
    pub waiting: Waiting,
    pub stuck: bool,
    pub queued_since: Option<DateTime<Utc>>,
}

/// Everything one poll of the CI server read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CiSnapshot {
    pub agents: Vec<Agent>,
    pub queue: Vec<QueuedBuild>,
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Builders that read like sentences: `agent("i-1").labelled(&["linux"]).executors(4).busy(2)`.
    use super::*;

    pub fn agent(name: &str) -> Agent {
        Agent {
            name: name.to_owned(),
            labels: Vec::new(),
            executors: 1,
            busy_executors: 0,
            connected: true,
            accepting_tasks: true,
            offline_reason: String::new(),
            runs: Vec::new(),
        }
    }

    impl Agent {
        pub fn running(mut self, runs: &[&str]) -> Self {
            self.busy_executors = runs.len() as u32;
            self.runs = runs.iter().map(|r| (*r).to_owned()).collect();
            self
        }

        pub fn labelled(mut self, labels: &[&str]) -> Self {
            self.labels = labels.iter().map(|l| (*l).to_owned()).collect();
            self
        }
        pub fn executors(mut self, n: u32) -> Self {
            self.executors = n;
            self
        }
        pub fn busy(mut self, n: u32) -> Self {
            self.busy_executors = n;
            self
        }
        pub fn disconnected(mut self) -> Self {
            self.connected = false;
            self
        }
        pub fn temporarily_offline(mut self) -> Self {
            self.accepting_tasks = false;
            self
        }
    }

    pub fn queued(id: &str, label: &str) -> QueuedBuild {
        QueuedBuild {
            id: id.to_owned(),
            demand: Demand::Expression(LabelExpr::parse(label).expect("fixture label parses")),
            waiting: Waiting::ForExecutor,
            stuck: false,
            queued_since: None,
        }
    }

    impl QueuedBuild {
        pub fn waiting(mut self, waiting: Waiting) -> Self {
            self.waiting = waiting;
            self
        }
        pub fn stuck(mut self) -> Self {
            self.stuck = true;
            self
        }
        pub fn since(mut self, at: DateTime<Utc>) -> Self {
            self.queued_since = Some(at);
            self
        }
        pub fn demand(mut self, demand: Demand) -> Self {
            self.demand = demand;
            self
        }
    }
}
