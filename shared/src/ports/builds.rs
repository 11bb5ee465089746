//! The build port: what advise-retry asks of a CI server about one finished build —
//! its facts, a bounded tail of its log, whether its agent is still there — and the two
//! writes: queue it again with parameters, and leave a note on it. Separate from
//! [`CiServer`](super::ci::CiServer) (the fleet's view of agents and the queue) so each
//! function depends only on what it uses.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ci::error::{CiError, Problem};
use rules::retry::BuildStatus;

/// One build as the CI server names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct BuildRef {
    /// Jenkins job full name (`folder/job`); TeamCity build configuration id.
    pub job: String,
    /// Jenkins build number; TeamCity build id (the REST `id`, not the display number).
    pub id: u64,
}

impl fmt::Display for BuildRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.job, self.id)
    }
}

/// A VCS revision a TeamCity build ran on, to queue the retry on the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcs_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vcs_root: Option<String>,
}

/// What the CI server says about a build that (normally) has finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FinishedBuild {
    pub build: BuildRef,
    /// `None` while it still runs (a notification sent from the build's own last step).
    pub status: Option<BuildStatus>,
    pub running: bool,
    /// TeamCity's `statusText` and cancel comment, one per line; empty for Jenkins.
    pub status_text: String,
    /// The agent it ran on (`None` for Jenkins' built-in node or when unknown).
    pub agent: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Jenkins `queueId`; TeamCity reuses the queue id as the build id.
    pub queue_id: Option<u64>,
    /// Every parameter whose value is known (for decisions such as the memory ladder).
    pub parameters: BTreeMap<String, String>,
    /// The parameters the build was given, which a retry sends again: all of Jenkins'
    /// (a job's parameters), TeamCity's `own` ones (the rest come from the configuration).
    pub custom_parameters: BTreeMap<String, String>,
    pub branch: Option<String>,
    pub revisions: Vec<Revision>,
    /// Jenkins' description; TeamCity's comment.
    pub description: Option<String>,
    pub url: Option<String>,
}

/// The end of a build's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    pub text: String,
    /// The log is longer than what was kept.
    pub truncated: bool,
}

/// Whether a build's agent is still with the CI server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgentPresence {
    Connected,
    /// Registered, no connection (Jenkins: offline without a person's mark).
    Disconnected,
    /// Not registered any more.
    Gone,
    /// Registered but marked offline by someone, which hides the connection state.
    Unknown,
}

/// A build to queue again: what to queue, in no server's terms. How a server takes it
/// (which parameters it accepts, whether it queues a branch and revisions) is its
/// adapter's business: see [`BuildControl::as_sent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requeue {
    /// The build it retries (its job or build configuration is what is queued).
    pub build: BuildRef,
    /// The parameters the failed build was given, with the retry's changes.
    pub parameters: BTreeMap<String, String>,
    /// The parameters that mark the build as a retry: its reason and its logical build.
    pub marks: BTreeMap<String, String>,
    /// The branch the failed build ran on.
    pub branch: Option<String>,
    /// The revisions the failed build ran on.
    pub revisions: Vec<Revision>,
    /// Why it is queued again, in a line, for a server that keeps a queued build's comment.
    pub comment: String,
}

impl Requeue {
    /// The build's parameters and the retry's marks, together.
    pub fn marked_parameters(&self) -> BTreeMap<String, String> {
        let mut parameters = self.parameters.clone();
        parameters.extend(self.marks.clone());
        parameters
    }
}

/// What a CI server is sent for a [`Requeue`], as its adapter shapes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsSent {
    /// Every parameter sent.
    pub parameters: BTreeMap<String, String>,
    /// The branch queued, when the server queues one.
    pub branch: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queued {
    /// Jenkins queue item id; TeamCity queued build id (also the build's id later).
    pub id: Option<u64>,
    pub url: Option<String>,
    /// The parameters really sent (Jenkins: only those the job declares; it drops others).
    /// The response shows them once, as its `parameters`.
    #[serde(skip)]
    pub parameters: BTreeMap<String, String>,
}

#[async_trait]
pub trait BuildControl: Send + Sync {
    /// The build's facts. A build the server does not know is `Problem::NotFound`.
    async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError>;

    /// At most `max_bytes` from the end of the build's log, never the whole log held in
    /// memory (Jenkins' progressive text from an offset; TeamCity's log with a Range).
    async fn log_tail(&self, build: &BuildRef, max_bytes: usize) -> Result<LogTail, CiError>;

    async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError>;

    /// What this server is sent for `request`: the parameters and branch it takes. Pure,
    /// so a dry run can say what it would send.
    fn as_sent(&self, request: &Requeue) -> AsSent;

    /// Queues `request.build`'s job again as [`as_sent`](Self::as_sent) shapes it
    /// (Jenkins `buildWithParameters` or `build`, TeamCity `POST /app/rest/buildQueue`).
    async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError>;

    /// Replaces the build's description (Jenkins) or comment (TeamCity) with `text`.
    async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError>;
}

/// The CI server says the build does not exist (a proxy's 404 is an error, not this).
pub fn is_not_found(error: &CiError) -> bool {
    matches!(error.problem, Problem::NotFound(_))
}
