//! A CI server in memory: answers a script of snapshots (or outages) and a build
//! history (or an outage), and records every write.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use rules::CiSnapshot;
use rules::health::FinishedBuild;
use rules::ledger::RunState;

use crate::ci::{CiError, CiKind, Problem};
use crate::ports::ci::{CiServer, OfflineChange, OnlineChange};

#[derive(Default)]
pub struct FakeCi {
    /// Each poll takes the next answer (`None` is an outage); the last one repeats.
    snapshots: Mutex<VecDeque<Option<CiSnapshot>>>,
    /// What an outage in the script answers (default: HTTP 503 from the queue's URL).
    outage: Option<CiError>,
    /// `None`: the history endpoint is down.
    pub history: Option<Vec<FinishedBuild>>,
    /// Agents removed, in order.
    pub removed: Mutex<Vec<String>>,
    /// (agent, reason) taken offline, in order.
    pub taken_offline: Mutex<Vec<(String, String)>>,
    /// Agents brought back online, in order.
    pub brought_online: Mutex<Vec<String>>,
    /// `take_offline` answers as a real server does (see `keeping_agent_state`).
    keeps_agent_state: bool,
    /// How runs stand (`run_states`); a run not here is still running.
    run_states: HashMap<String, RunState>,
    /// Runs asked about, in order.
    pub asked_runs: Mutex<Vec<String>>,
    /// `run_states` answers a 503.
    runs_down: bool,
}

impl FakeCi {
    /// A CI server that answers `snapshot` (or is down, `None`) at every poll, with an
    /// empty build history.
    pub fn answering(snapshot: Option<CiSnapshot>) -> FakeCi {
        FakeCi::scripted(vec![snapshot])
    }

    /// A CI server that answers these polls in order, the last one from then on.
    pub fn scripted(snapshots: Vec<Option<CiSnapshot>>) -> FakeCi {
        FakeCi {
            snapshots: Mutex::new(snapshots.into()),
            history: Some(vec![]),
            ..FakeCi::default()
        }
    }

    /// The same server, whose outages answer `error` instead of a 503.
    pub fn failing_with(mut self, error: CiError) -> FakeCi {
        self.outage = Some(error);
        self
    }

    /// The same server with this build history (`None`: its history is down).
    pub fn with_history(mut self, history: Option<Vec<FinishedBuild>>) -> FakeCi {
        self.history = history;
        self
    }

    /// The same server, where `run` stands as `state` (runs it does not name still run).
    pub fn with_run(mut self, run: &str, state: RunState) -> FakeCi {
        self.run_states.insert(run.to_owned(), state);
        self
    }

    /// The same server, whose runs cannot be read (`run_states` answers a 503).
    pub fn with_runs_down(mut self) -> FakeCi {
        self.runs_down = true;
        self
    }

    pub fn asked_runs(&self) -> Vec<String> {
        self.asked_runs
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// The same server answering `take_offline` as a real one does: the outage's error
    /// while down, `NotFound` for an agent its current answer does not list, and
    /// `AlreadyOffline` (nothing recorded) for one offline already or taken offline before.
    pub fn keeping_agent_state(mut self) -> FakeCi {
        self.keeps_agent_state = true;
        self
    }

    /// What `take_offline` finds before changing anything, when keeping agent state.
    fn offline_before(&self, agent: &str) -> Result<Option<OfflineChange>, CiError> {
        let url = format!("http://ci/computer/{agent}/api/json");
        let current = self
            .snapshots
            .lock()
            .map_err(|_| ci_down("http://ci/lock-poisoned"))?
            .front()
            .cloned()
            .flatten();
        let Some(snapshot) = current else {
            return Err(self.outage.clone().unwrap_or_else(|| ci_down(&url)));
        };
        let Some(found) = snapshot.agents.iter().find(|a| a.name == agent) else {
            return Err(ci_error(&url, Problem::NotFound(format!("agent {agent}"))));
        };
        let taken_before = self.taken_offline().iter().any(|(name, _)| name == agent);
        Ok((!found.accepting_tasks || taken_before).then_some(OfflineChange::AlreadyOffline))
    }

    pub fn brought_online(&self) -> Vec<String> {
        self.brought_online
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    pub fn removed(&self) -> Vec<String> {
        self.removed.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn taken_offline(&self) -> Vec<(String, String)> {
        self.taken_offline
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }
}

/// A CI error as an adapter reports it, for fakes and tests.
pub fn ci_error(url: &str, problem: Problem) -> CiError {
    CiError {
        kind: CiKind::Jenkins,
        method: "GET",
        url: url.into(),
        problem,
    }
}

/// The CI server answered 503.
pub fn ci_down(url: &str) -> CiError {
    ci_error(
        url,
        Problem::ServerError {
            status: 503,
            snippet: "down".into(),
        },
    )
}

#[async_trait]
impl CiServer for FakeCi {
    async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
        let mut script = self
            .snapshots
            .lock()
            .map_err(|_| ci_down("http://ci/lock-poisoned"))?;
        let answer = if script.len() > 1 {
            script.pop_front().flatten()
        } else {
            script.front().cloned().flatten()
        };
        answer.ok_or_else(|| {
            self.outage
                .clone()
                .unwrap_or_else(|| ci_down("http://ci/computer/api/json"))
        })
    }

    async fn take_offline(&self, agent: &str, reason: &str) -> Result<OfflineChange, CiError> {
        if self.keeps_agent_state
            && let Some(unchanged) = self.offline_before(agent)?
        {
            return Ok(unchanged);
        }
        if let Ok(mut taken) = self.taken_offline.lock() {
            taken.push((agent.to_owned(), reason.to_owned()));
        }
        Ok(OfflineChange::TakenOffline)
    }

    /// Answers from the current snapshot's view of the agent, as the adapters read it.
    async fn bring_online(&self, agent: &str, our_reason: &str) -> Result<OnlineChange, CiError> {
        let url = format!("http://ci/computer/{agent}/api/json");
        let current = self
            .snapshots
            .lock()
            .ok()
            .and_then(|s| s.front().cloned().flatten());
        let snapshot =
            current.ok_or_else(|| self.outage.clone().unwrap_or_else(|| ci_down(&url)))?;
        let found = (snapshot.agents.iter().find(|a| a.name == agent))
            .ok_or_else(|| ci_error(&url, Problem::NotFound(format!("agent {agent}"))))?;
        if found.accepting_tasks {
            return Ok(OnlineChange::AlreadyOnline);
        }
        if found.offline_reason != our_reason {
            return Ok(OnlineChange::OfflineForAnotherReason);
        }
        if let Ok(mut brought) = self.brought_online.lock() {
            brought.push(agent.to_owned());
        }
        Ok(OnlineChange::BroughtOnline)
    }

    async fn remove_agent(&self, agent: &str) -> Result<(), CiError> {
        if let Ok(mut removed) = self.removed.lock() {
            removed.push(agent.to_owned());
        }
        Ok(())
    }

    async fn recent_builds(&self) -> Result<Vec<FinishedBuild>, CiError> {
        self.history
            .clone()
            .ok_or_else(|| ci_down("http://ci/api/json"))
    }

    /// The runs the current snapshot shows on the agent.
    async fn agent_runs(&self, agent: &str) -> Result<Vec<String>, CiError> {
        let url = format!("http://ci/computer/{agent}/api/json");
        let current = (self.snapshots.lock().ok()).and_then(|s| s.front().cloned().flatten());
        let snapshot =
            current.ok_or_else(|| self.outage.clone().unwrap_or_else(|| ci_down(&url)))?;
        (snapshot.agents.iter().find(|a| a.name == agent))
            .map(|a| a.runs.clone())
            .ok_or_else(|| ci_error(&url, Problem::NotFound(format!("agent {agent}"))))
    }

    async fn run_states(&self, runs: &[String]) -> Result<Vec<(String, RunState)>, CiError> {
        if let Ok(mut asked) = self.asked_runs.lock() {
            asked.extend(runs.iter().cloned());
        }
        if self.runs_down {
            return Err(ci_down("http://ci/job/run/api/json"));
        }
        Ok((runs.iter())
            .map(|r| {
                let state = self.run_states.get(r).copied();
                (r.clone(), state.unwrap_or(RunState::Running))
            })
            .collect())
    }
}
