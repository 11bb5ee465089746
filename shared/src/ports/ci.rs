//! The CI port: what ci-fleet asks of a CI server about its agents and its queue. Exists
//! so handlers never see which CI server they talk to, and run against fakes in tests.

use async_trait::async_trait;

use crate::ci::error::CiError;
use rules::CiSnapshot;
use rules::health::FinishedBuild;
use rules::ledger::RunState;

/// Everything the functions need from the CI server. A new CI call is a method here plus
/// its two adapters, so handlers never see which CI server they talk to.
#[async_trait]
pub trait CiServer: Send + Sync {
    /// One poll: every agent and every queued build, read in as few requests as the API allows.
    async fn snapshot(&self) -> Result<CiSnapshot, CiError>;

    /// The same, with each agent's `runs` (what its executors run, by URL) for the run
    /// ledger. Exists because asking for the runs costs: on Jenkins it nearly doubles the
    /// computers' answer, which publish-workload's polls every 10 s do not need. The
    /// default is for servers whose snapshot names no runs.
    async fn snapshot_with_runs(&self) -> Result<CiSnapshot, CiError> {
        self.snapshot().await
    }

    /// Stops new work on an agent, with a reason a person reads in the CI's UI. Idempotent:
    /// an agent already offline stays offline and keeps its reason. Verified: an agent
    /// still taking work afterwards is an error, never `TakenOffline`.
    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError>;

    /// Puts back online an agent ci-fleet took offline with `our_reason`, and only then: an
    /// agent offline for any other reason (a person's, a recycling) is left as it is.
    /// Exists for instances that come back from a warm pool: their agent still carries the
    /// drain's offline mark (TeamCity keeps `enabled=false` across reconnects).
    async fn bring_online(&self, agent: &str, our_reason: &str) -> Result<OnlineChange, CiError>;

    /// Deletes an agent whose instance is gone. An agent that is already gone is success.
    async fn remove_agent(&self, agent: &str) -> Result<(), CiError>;

    /// Recently finished builds with the agent each ran on, for the agent health rule, in
    /// as few requests as the API allows (Jenkins: each job's last builds, one level of
    /// folders; TeamCity: the newest finished builds, paged). Running builds and builds
    /// without a known agent are left out.
    async fn recent_builds(&self) -> Result<Vec<FinishedBuild>, CiError>;

    /// How each of these runs (by URL, as the agents' executors named them) stands, for the
    /// run ledger: one small read per run. Exists because a Jenkins Pipeline run names no
    /// agent; only the executors that ran it do. The default is for CI servers whose
    /// agents name no runs (TeamCity: its finished builds name their agent): nothing to
    /// learn about a run it never named.
    async fn run_states(&self, runs: &[String]) -> Result<Vec<(String, RunState)>, CiError> {
        Ok(runs.iter().map(|r| (r.clone(), RunState::Gone)).collect())
    }

    /// An error naming the missing permission when the CI user can see no job at all.
    /// Exists because Jenkins filters the queue by Job/Read and answers an empty queue with
    /// HTTP 200: a user without it would read as "no demand" forever. The default is for
    /// servers that refuse what a user may not see instead of hiding it.
    async fn check_visibility(&self) -> Result<(), CiError> {
        Ok(())
    }

    /// The runs (by URL) the agent's executors run now: the runs an interruption of its
    /// instance takes down. Exists for Jenkins Pipeline runs, which name no agent. The
    /// default is for CI servers whose builds name their agent (TeamCity): none to list.
    async fn agent_runs(&self, agent: &str) -> Result<Vec<String>, CiError> {
        let _ = agent;
        Ok(Vec::new())
    }

    /// Whether one agent is running a build now; `None` when the CI server does not know
    /// the agent. Exists because a lifecycle event concerns one agent: the adapters read
    /// that agent alone (one small GET) instead of the whole fleet's snapshot. The default
    /// reads the snapshot, for ports that have nothing cheaper.
    async fn agent_busy(&self, agent: &str) -> Result<Option<bool>, CiError> {
        let snapshot = self.snapshot().await?;
        Ok(snapshot
            .agents
            .iter()
            .find(|a| a.name == agent)
            .map(|a| a.busy_executors > 0))
    }
}

/// What bringing an agent back online did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnlineChange {
    BroughtOnline,
    AlreadyOnline,
    /// Offline for a reason that is not ours: left alone.
    OfflineForAnotherReason,
}

/// What taking an agent offline did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OfflineChange {
    TakenOffline,
    AlreadyOffline,
}
