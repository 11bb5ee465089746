//! Queue items: Jenkins queue items and TeamCity queued builds.

use serde::{Deserialize, Serialize};

use crate::clock::now_ms;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueState {
    #[default]
    Buildable,
    Blocked,
    /// In the quiet period (Jenkins `Queue$WaitingItem`).
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueItem {
    pub id: u64,
    /// Jenkins job name or TeamCity buildTypeId.
    pub job: String,
    /// Jenkins label expression of the job, as written in its configuration.
    pub label: Option<String>,
    pub state: QueueState,
    pub pending: bool,
    pub stuck: bool,
    pub queued_at_ms: i64,
    /// Whether Jenkins exports `labelExpression` for the task (false: pipeline
    /// PlaceholderTask, or Jenkins before 2.94).
    pub label_exposed: bool,
    /// TeamCity pools whose connected, enabled, authorized agents are compatible.
    pub pools: Vec<String>,
    /// TeamCity: the build was pinned to this pool.
    pub pinned_pool: Option<String>,
    /// TeamCity waitReason, verbatim; derived when absent (a shared-resource lock, the
    /// configuration's running-builds limit, else waiting for an idle compatible agent).
    pub wait_reason: Option<String>,
    /// TeamCity: the build waits for a lock on this shared resource (Shared Resources
    /// build feature), held by another build; it waits even with an idle compatible agent.
    pub waits_for_lock: Option<String>,
    /// Jenkins `why`, used verbatim (composite reasons, real-world strings).
    pub why_override: Option<String>,
    /// Jenkins blocked item: the build in progress; defaults to a running build of the
    /// same job, else 1.
    pub blocked_by_build: Option<u64>,
    /// Jenkins blocked item ETA; `null` omits the ETA.
    pub eta_ms: Option<u64>,
    /// Jenkins quiet period left; 0 gives "Finished waiting".
    pub quiet_remaining_ms: u64,
}

impl Default for QueueItem {
    fn default() -> Self {
        QueueItem {
            id: 0,
            job: String::new(),
            label: None,
            state: QueueState::Buildable,
            pending: false,
            stuck: false,
            queued_at_ms: now_ms(),
            label_exposed: true,
            pools: Vec::new(),
            pinned_pool: None,
            wait_reason: None,
            waits_for_lock: None,
            why_override: None,
            blocked_by_build: None,
            eta_ms: Some(192_000),
            quiet_remaining_ms: 4_900,
        }
    }
}
