//! The one JSON document that describes the fake server's world. The control API and the
//! `--state` file both speak it; every field has a default so a test can send only what
//! it cares about (`{"agents":[{"name":"a"}]}` is a complete document).

mod agents;
mod auth;
mod builds;
mod jobs;
mod queue;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use agents::{Agent, Comment, RunningBuild};
pub use auth::{AuthConfig, JobRead, User};
pub use builds::{FinishedBuild, Triggered};
pub use jobs::JobConfig;
pub use queue::{QueueItem, QueueState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeState {
    /// Drives version-dependent wording and shapes (quotes in `why`, built-in node name,
    /// `assignedLabels`, `labelExpression`, crumb length).
    pub jenkins_version: String,
    /// `false` mimics Jenkins 1.x responses, which carry no `_class`.
    pub class_fields: bool,
    pub auth: AuthConfig,
    /// Bearer tokens TeamCity accepts.
    pub teamcity_tokens: Vec<String>,
    /// TeamCity's page size when a locator has no `count`.
    pub page_size: usize,
    /// Executors on Jenkins' built-in node (it is listed even with none, as real Jenkins does).
    pub builtin_executors: u32,
    /// Jenkins Pipeline jobs (`WorkflowJob`) by full name, besides those queued as a
    /// Pipeline's `node` block (`label_exposed: false`): their runs are `WorkflowRun`s.
    pub pipeline_jobs: Vec<String>,
    pub agents: Vec<Agent>,
    pub queue: Vec<QueueItem>,
    /// Finished builds with their console text (`state/builds.rs`).
    pub builds: Vec<FinishedBuild>,
    /// Builds queued through the API, in order.
    pub triggered: Vec<Triggered>,
    /// Jenkins jobs' configuration by full name: declared parameters, vetoed builds (`state/jobs.rs`).
    pub job_config: BTreeMap<String, JobConfig>,
    /// TeamCity "Limit the number of simultaneously running builds", by build
    /// configuration id (`buildTypeId`): at most this many of its builds run at once, and
    /// its queued builds wait while that many run (0 or absent: no limit).
    pub max_running_builds: BTreeMap<String, u32>,
}

impl Default for FakeState {
    fn default() -> Self {
        FakeState {
            jenkins_version: "2.579".to_owned(),
            class_fields: true,
            auth: AuthConfig::default(),
            teamcity_tokens: vec!["tc-token".to_owned()],
            page_size: 100,
            builtin_executors: 0,
            pipeline_jobs: Vec::new(),
            agents: Vec::new(),
            queue: Vec::new(),
            builds: Vec::new(),
            triggered: Vec::new(),
            job_config: BTreeMap::new(),
            max_running_builds: BTreeMap::new(),
        }
    }
}

impl FakeState {
    /// Jobs exist in the fake through their builds, the queue, running builds and
    /// `pipeline_jobs`.
    pub fn has_job(&self, job: &str) -> bool {
        self.builds.iter().any(|b| b.job == job)
            || self.pipeline_jobs.iter().any(|p| p == job)
            || self.queue.iter().any(|q| q.job == job)
            || self
                .agents
                .iter()
                .any(|a| a.running.iter().any(|r| r.job == job))
    }

    /// The next free id for a queue item: past every queue item, running, finished and
    /// triggered build, so a new item never takes an id a test already uses.
    pub fn next_queue_id(&self) -> u64 {
        let queue = self.queue.iter().map(|q| q.id);
        let running = self
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(|r| r.build_id()));
        let finished = self
            .builds
            .iter()
            .flat_map(|b| [b.build_id(), b.queue_id()]);
        let triggered = self.triggered.iter().map(|t| t.queue_id);
        queue
            .chain(running)
            .chain(finished)
            .chain(triggered)
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// Jobs' configuration (`job_config`, `jobs.rs`) read against the rest of the document.
impl FakeState {
    /// The parameters `job` declares with their defaults, in name order; `None` when it
    /// is not parameterized. `job_config` wins; else the names its finished builds had.
    pub fn declared_parameters(&self, job: &str) -> Option<BTreeMap<String, String>> {
        let declared = match self.job_config.get(job).and_then(|c| c.parameters.clone()) {
            Some(declared) => declared,
            None => (self.builds.iter())
                .filter(|b| b.job == job)
                .flat_map(|b| b.parameters.keys())
                .map(|name| (name.clone(), String::new()))
                .collect(),
        };
        (!declared.is_empty()).then_some(declared)
    }

    /// Whether a `QueueDecisionHandler` refuses builds of `job`.
    pub fn schedule_vetoed(&self, job: &str) -> bool {
        self.job_config.get(job).is_some_and(|c| c.schedule_vetoed)
    }

    /// The parameters of a queue item: those recorded when it was triggered through the
    /// API, none for an item the state document put in the queue.
    pub fn queued_parameters(&self, item: &QueueItem) -> BTreeMap<String, String> {
        (self.triggered.iter())
            .find(|t| t.queue_id == item.id && t.job == item.job)
            .map(|t| t.parameters.clone())
            .unwrap_or_default()
    }

    /// The queue item a new build of `job` with `parameters` would be merged into
    /// (`Queue.scheduleInternal`): an item of the job's own task (a Pipeline's `node`
    /// block, `label_exposed: false`, is a `PlaceholderTask`, another task) that is not
    /// pending (`liveGetItems` skips pendings), and whose `ParametersAction` holds the same
    /// values (`ParametersAction.shouldSchedule`; no parameters on either side are equal).
    /// Blocked items come first, then buildable, then waiting ones, as `liveGetItems`
    /// lists them.
    pub fn equal_queue_item(
        &self,
        job: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Option<&QueueItem> {
        let rank = |item: &QueueItem| match item.state {
            QueueState::Blocked => 0,
            QueueState::Buildable => 1,
            QueueState::Waiting => 2,
        };
        (self.queue.iter())
            .filter(|i| i.job == job && i.label_exposed && !i.pending)
            .filter(|i| self.queued_parameters(i) == *parameters)
            .min_by_key(|i| rank(i))
    }
}

#[cfg(test)]
mod tests;
