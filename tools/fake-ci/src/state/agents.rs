//! Agents (Jenkins nodes, TeamCity agents) and the builds running on them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Agent {
    pub name: String,
    pub labels: Vec<String>,
    /// TeamCity agent pool name.
    pub pool: String,
    /// Jenkins executors; a TeamCity agent always runs at most one build.
    pub executors: u32,
    /// One entry per busy executor.
    pub running: Vec<RunningBuild>,
    pub connected: bool,
    pub temporarily_offline: bool,
    /// Jenkins' user-supplied offline message (what `offlineCauseReason` shows).
    pub offline_message: String,
    /// Who took the node offline (set by toggleOffline/doDisconnect); shapes `offlineCause`.
    pub offline_by: Option<String>,
    pub offline_since_ms: Option<i64>,
    pub enabled: bool,
    pub authorized: bool,
    /// TeamCity agent id; defaults to the 1-based position in `agents`.
    pub id: Option<u64>,
    /// Set by TeamCity enable/disable calls: who, when and why.
    pub enabled_comment: Option<Comment>,
    pub authorized_comment: Option<Comment>,
}

impl Default for Agent {
    fn default() -> Self {
        Agent {
            name: String::new(),
            labels: Vec::new(),
            pool: "Default".to_owned(),
            executors: 1,
            running: Vec::new(),
            connected: true,
            temporarily_offline: false,
            offline_message: String::new(),
            offline_by: None,
            offline_since_ms: None,
            enabled: true,
            authorized: true,
            id: None,
            enabled_comment: None,
            authorized_comment: None,
        }
    }
}

impl Agent {
    /// Jenkins: `offline = temporarilyOffline || channel == null`.
    pub fn offline(&self) -> bool {
        self.temporarily_offline || !self.connected
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.name == label || self.labels.iter().any(|l| l == label)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Comment {
    pub user: String,
    pub timestamp_ms: i64,
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunningBuild {
    /// Jenkins job name or TeamCity buildTypeId.
    pub job: String,
    pub number: u64,
    /// TeamCity build id, which is also the id the build had in the queue (so
    /// `/buildQueue/id:N` and Jenkins `/queue/item/N` can follow it); defaults to `number`.
    pub id: Option<u64>,
    /// Executor progress 0–99; defaults to 50.
    pub progress: Option<u32>,
    pub started_at_ms: Option<i64>,
}

impl RunningBuild {
    pub fn build_id(&self) -> u64 {
        self.id.unwrap_or(self.number)
    }

    pub fn progress(&self) -> u32 {
        self.progress.unwrap_or(50).min(99)
    }
}
