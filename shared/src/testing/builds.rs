//! The build port in memory: finished builds, their logs and agents, recording every
//! re-queue and note.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::ci::{ci_down, ci_error};
use crate::ci::{CiError, Problem};
use crate::ports::builds::{
    AgentPresence, AsSent, BuildControl, BuildRef, FinishedBuild, LogTail, Queued, Requeue,
};

#[derive(Default)]
pub struct FakeBuilds {
    pub builds: Vec<FinishedBuild>,
    /// Each build's log, by build id.
    pub logs: BTreeMap<u64, String>,
    /// Agents not `Connected`.
    pub presence: BTreeMap<String, AgentPresence>,
    /// The server answers 503 to every read of a build.
    pub down: bool,
    pub requeued: Mutex<Vec<Requeue>>,
    pub annotated: Mutex<Vec<(BuildRef, String)>>,
}

impl FakeBuilds {
    pub fn requeued(&self) -> Vec<Requeue> {
        self.requeued.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn annotated(&self) -> Vec<(BuildRef, String)> {
        self.annotated.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl BuildControl for FakeBuilds {
    async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError> {
        if self.down {
            return Err(ci_down("http://ci"));
        }
        self.builds
            .iter()
            .find(|b| b.build == *build)
            .cloned()
            .ok_or_else(|| ci_error("http://ci", Problem::NotFound(build.to_string())))
    }

    async fn log_tail(&self, build: &BuildRef, max_bytes: usize) -> Result<LogTail, CiError> {
        let text = self.logs.get(&build.id).cloned().unwrap_or_default();
        // A fake log longer than the tail would test the fake, not the handler.
        assert!(text.len() <= max_bytes, "the fake log fits the tail");
        Ok(LogTail {
            text,
            truncated: false,
        })
    }

    async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError> {
        Ok(self
            .presence
            .get(agent)
            .copied()
            .unwrap_or(AgentPresence::Connected))
    }

    /// A server that takes every parameter and mark, and the branch.
    fn as_sent(&self, request: &Requeue) -> AsSent {
        AsSent {
            parameters: request.marked_parameters(),
            branch: request.branch.clone(),
        }
    }

    async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError> {
        let mut requeued = self
            .requeued
            .lock()
            .map_err(|_| ci_down("http://ci/lock-poisoned"))?;
        requeued.push(request.clone());
        Ok(Queued {
            id: Some(900 + requeued.len() as u64),
            url: None,
            parameters: request.marked_parameters(),
        })
    }

    async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError> {
        if let Ok(mut annotated) = self.annotated.lock() {
            annotated.push((build.clone(), text.to_owned()));
        }
        Ok(())
    }
}
