//! Jenkins adapter: two GETs a poll, `/queue/api/json` and `/computer/api/json`, each with
//! a `tree=` that asks only for the fields used (docs/ci-semantics.md A1–A3).

use async_trait::async_trait;
use serde::Deserialize;

pub mod builds;
pub mod history;
mod runs;
mod wire;

pub use wire::{
    ComputerJson, ComputerSetJson, ExecutableJson, ExecutorJson, ItemJson, LabelJson, QueueJson,
    TaskJson, into_snapshot, parse_snapshot,
};

use crate::ci::error::{CiError, Problem};
use crate::ci::http::{CiHttp, encode_query_value};
use crate::ci::kind::CiKind;
use crate::ports::ci::{CiServer, OfflineChange, OnlineChange};
use reqwest::Method;
use rules::CiSnapshot;
use rules::health::FinishedBuild;
use rules::ledger::RunState;

const QUEUE_TREE: &str =
    "items[_class,id,why,blocked,buildable,stuck,pending,inQueueSince,task[name,labelExpression]]";
const COMPUTER_TREE: &str = "computer[_class,displayName,offline,temporarilyOffline,idle,numExecutors,offlineCauseReason,assignedLabels[name],executors[idle]]";
/// The same with `executors[…,currentExecutable[url]]`: the run ledger's sample. A busy
/// executor names the run it executes, a Pipeline `node` block (`PlaceholderExecutable`)
/// as a freestyle build (REAL-SERVERS #1). It nearly doubles the answer (every executor
/// gains a `currentExecutable`, null when idle), so only the poll that feeds the ledger
/// asks for it. Without Job/Read on the run, Jenkins exports it as null
/// (`Executor.getCurrentExecutableForApi`).
const COMPUTER_TREE_WITH_RUNS: &str = "computer[_class,displayName,offline,temporarilyOffline,idle,numExecutors,offlineCauseReason,assignedLabels[name],executors[idle,currentExecutable[url]]]";

pub struct Jenkins {
    http: CiHttp,
}

impl Jenkins {
    pub fn new(http: CiHttp) -> Jenkins {
        Jenkins { http }
    }
}

#[async_trait]
impl CiServer for Jenkins {
    #[tracing::instrument(name = "jenkins.snapshot", skip_all)]
    async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
        self.poll(&poll_paths()).await
    }

    #[tracing::instrument(name = "jenkins.snapshot_with_runs", skip_all)]
    async fn snapshot_with_runs(&self) -> Result<CiSnapshot, CiError> {
        self.poll(&poll_paths_with_runs()).await
    }

    #[tracing::instrument(name = "jenkins.take_offline", skip(self, reason))]
    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
        let computer = computer_path(agent);
        if self.is_temporarily_offline(&computer).await? {
            return Ok(OfflineChange::AlreadyOffline);
        }
        // changeOfflineCause sets the mark, never toggles (A7.3): two callers at once (a
        // spot warning and a rebalance recommendation) both leave the node offline.
        let message = encode_query_value(reason);
        self.http
            .send(
                Method::POST,
                &format!("{computer}/changeOfflineCause?offlineMessage={message}"),
                None,
            )
            .await?;
        // Verified: an agent left online is an error the caller's retry redoes, never
        // "taken offline" (builds would keep landing on a terminating instance).
        if !self.is_temporarily_offline(&computer).await? {
            return Err(CiError {
                kind: CiKind::Jenkins,
                method: "POST",
                url: format!("{computer}/changeOfflineCause"),
                problem: Problem::Refused(format!(
                    "agent {agent} is still online after changeOfflineCause"
                )),
            });
        }
        Ok(OfflineChange::TakenOffline)
    }

    #[tracing::instrument(name = "jenkins.bring_online", skip(self, our_reason))]
    async fn bring_online(&self, agent: &str, our_reason: &str) -> Result<OnlineChange, CiError> {
        let computer = computer_path(agent);
        let state = self.offline_state(&computer).await?;
        if !state.temporarily_offline {
            return Ok(OnlineChange::AlreadyOnline);
        }
        if state.offline_cause_reason.as_deref() != Some(our_reason) {
            return Ok(OnlineChange::OfflineForAnotherReason);
        }
        self.http
            .send(Method::POST, &format!("{computer}/toggleOffline"), None)
            .await?;
        // toggleOffline toggles: verify, so a concurrent toggle is an error, not a success.
        if self.offline_state(&computer).await?.temporarily_offline {
            return Err(CiError {
                kind: CiKind::Jenkins,
                method: "POST",
                url: format!("{computer}/toggleOffline"),
                problem: Problem::Refused(format!(
                    "agent {agent} is still offline after toggleOffline (toggled concurrently?)"
                )),
            });
        }
        Ok(OnlineChange::BroughtOnline)
    }

    #[tracing::instrument(name = "jenkins.remove_agent", skip(self))]
    async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
        match self
            .http
            .send(
                Method::POST,
                &format!("{}/doDelete", computer_path(agent)),
                None,
            )
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

    #[tracing::instrument(name = "jenkins.agent_busy", skip(self))]
    async fn agent_busy(&self, agent: &str) -> Result<Option<bool>, CiError> {
        // `idle` is false while a build runs, even on a temporarily offline node (A3.3);
        // required, so an answer without it is malformed rather than read as idle.
        #[derive(Deserialize)]
        struct IdleJson {
            idle: bool,
        }
        match self
            .http
            .get_json::<IdleJson>(&format!("{}/api/json?tree=idle", computer_path(agent)))
            .await
        {
            Ok(state) => Ok(Some(!state.idle)),
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One job is enough: `Jenkins.getItems()` lists only what the user may read
    /// (`Item.READ`, JK Jenkins.java), as `Queue.getItems()` does for queued builds.
    #[tracing::instrument(name = "jenkins.check_visibility", skip_all)]
    async fn check_visibility(&self) -> Result<(), CiError> {
        #[derive(Deserialize)]
        struct RootJson {
            #[serde(default)]
            jobs: Vec<serde_json::Value>,
        }
        let path = format!("/api/json?tree={}", encode_query_value("jobs[name]{0,1}"));
        let root: RootJson = self.http.get_json(&path).await?;
        if root.jobs.is_empty() {
            return Err(CiError {
                kind: CiKind::Jenkins,
                method: "GET",
                url: path,
                problem: Problem::Refused(
                    "the CI user sees no job at all: it lacks Job/Read (on every folder), and Jenkins hides the queued builds of jobs it cannot read, so the queue would read as empty"
                        .to_owned(),
                ),
            });
        }
        Ok(())
    }

    #[tracing::instrument(name = "jenkins.agent_runs", skip(self))]
    async fn agent_runs(&self, agent: &str) -> Result<Vec<String>, CiError> {
        #[derive(Deserialize)]
        struct RunsJson {
            #[serde(default)]
            executors: Vec<ExecutorJson>,
        }
        let path = format!(
            "{}/api/json?tree=executors[currentExecutable[url]]",
            computer_path(agent)
        );
        let json: RunsJson = self.http.get_json(&path).await?;
        Ok((json.executors.into_iter())
            .filter_map(|e| e.current_executable?.url)
            .filter(|url| !url.is_empty())
            .collect())
    }

    #[tracing::instrument(name = "jenkins.run_states", skip_all, fields(runs = runs.len()))]
    async fn run_states(&self, runs: &[String]) -> Result<Vec<(String, RunState)>, CiError> {
        runs::run_states(&self.http, runs).await
    }

    /// None here: Jenkins' finished builds are the run ledger's (`run_states`), the only
    /// way to tie a Pipeline run to its agent.
    async fn recent_builds(&self) -> Result<Vec<FinishedBuild>, CiError> {
        Ok(Vec::new())
    }
}

impl Jenkins {
    async fn poll(&self, [queue_path, computer_path]: &[String; 2]) -> Result<CiSnapshot, CiError> {
        let (queue, computers) = tokio::try_join!(
            self.http.get_json::<QueueJson>(queue_path),
            self.http.get_json::<ComputerSetJson>(computer_path)
        )?;
        Ok(into_snapshot(queue, computers))
    }

    async fn is_temporarily_offline(&self, computer: &str) -> Result<bool, CiError> {
        Ok(self.offline_state(computer).await?.temporarily_offline)
    }

    async fn offline_state(&self, computer: &str) -> Result<OfflineJson, CiError> {
        self.http
            .get_json(&format!(
                "{computer}/api/json?tree=temporarilyOffline,offlineCauseReason"
            ))
            .await
    }
}

/// One computer's offline state (`Computer.getOfflineCauseReason` is exported).
#[derive(Deserialize)]
struct OfflineJson {
    #[serde(rename = "temporarilyOffline", default)]
    temporarily_offline: bool,
    #[serde(rename = "offlineCauseReason", default)]
    offline_cause_reason: Option<String>,
}

fn computer_path(agent: &str) -> String {
    format!("/computer/{}", encode_query_value(agent))
}

/// The queries of `snapshot_with_runs` (the computers with their executors' runs).
pub fn poll_paths_with_runs() -> [String; 2] {
    let [queue, _] = poll_paths();
    [
        queue,
        format!(
            "/computer/api/json?tree={}",
            encode_query_value(COMPUTER_TREE_WITH_RUNS)
        ),
    ]
}

/// The `tree=` queries the adapter sends, for tools that fetch the same documents.
pub fn poll_paths() -> [String; 2] {
    [
        format!("/queue/api/json?tree={}", encode_query_value(QUEUE_TREE)),
        format!(
            "/computer/api/json?tree={}",
            encode_query_value(COMPUTER_TREE)
        ),
    ]
}
