//! Finished builds and builds queued through the API (advise-retry's slice of both
//! servers): `builds` and `triggered` in the state document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A finished build with its console text. Jenkins serves it at `/job/<job>/<number>/`,
/// TeamCity at `/app/rest/builds/id:<id>` and `/downloadBuildLog.html?buildId=<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FinishedBuild {
    /// Jenkins job full name (`folder/job`) or TeamCity buildTypeId.
    pub job: String,
    pub number: u64,
    /// TeamCity build id; defaults to `number`.
    pub id: Option<u64>,
    /// Jenkins `SUCCESS|UNSTABLE|FAILURE|ABORTED|NOT_BUILT`; TeamCity `SUCCESS|FAILURE|UNKNOWN`.
    pub result: String,
    /// Still running (a notification sent from the build's last step): `result` is then
    /// withheld (Jenkins `result:null`, TeamCity `state:running`).
    pub building: bool,
    /// Jenkins `builtOn` / TeamCity agent name; `""` is Jenkins' built-in node.
    pub agent: String,
    /// Jenkins build parameters; TeamCity properties the build was given (`own:true`).
    pub parameters: BTreeMap<String, String>,
    /// TeamCity properties from the build configuration (`own` omitted).
    pub inherited: BTreeMap<String, String>,
    pub console: String,
    /// Jenkins description / TeamCity comment; set by `submitDescription` / `PUT …/comment`.
    pub description: Option<String>,
    /// Jenkins `queueId`; defaults to `number + 1000`.
    pub queue_id: Option<u64>,
    pub started_at_ms: Option<i64>,
    pub duration_ms: u64,
    pub branch: Option<String>,
    /// Jenkins git `lastBuiltRevision.SHA1` / TeamCity revision version.
    pub revision: Option<String>,
    /// TeamCity `vcs-root-id` of the revision.
    pub vcs_root: Option<String>,
    /// TeamCity `statusText`; derived from `result` when absent.
    pub status_text: Option<String>,
    /// TeamCity `canceledInfo.text` (for example "Agent removed").
    pub canceled_comment: Option<String>,
}

impl Default for FinishedBuild {
    fn default() -> Self {
        FinishedBuild {
            job: String::new(),
            number: 1,
            id: None,
            result: "FAILURE".to_owned(),
            building: false,
            agent: String::new(),
            parameters: BTreeMap::new(),
            inherited: BTreeMap::new(),
            console: String::new(),
            description: None,
            queue_id: None,
            started_at_ms: None,
            duration_ms: 60_000,
            branch: None,
            revision: None,
            vcs_root: None,
            status_text: None,
            canceled_comment: None,
        }
    }
}

impl FinishedBuild {
    pub fn build_id(&self) -> u64 {
        self.id.unwrap_or(self.number)
    }

    pub fn queue_id(&self) -> u64 {
        self.queue_id.unwrap_or(self.number + 1000)
    }
}

/// A build queued through the API, as the server received it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Triggered {
    /// Jenkins queue item id / TeamCity queued build id (also in `queue`).
    pub queue_id: u64,
    pub job: String,
    /// `buildWithParameters`, `build` (Jenkins) or `buildQueue` (TeamCity).
    pub via: String,
    pub parameters: BTreeMap<String, String>,
    pub branch: Option<String>,
    /// TeamCity revision versions asked for.
    pub revisions: Vec<String>,
    /// TeamCity comment.
    pub comment: Option<String>,
    /// Who queued it (the authenticated user; `admin` for a TeamCity token).
    pub user: String,
}
