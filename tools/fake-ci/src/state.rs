//! The one JSON document that describes the fake server's world. The control API and the
//! `--state` file both speak it; every field has a default so a test can send only what
//! it cares about (`{"agents":[{"name":"a"}]}` is a complete document).

use serde::{Deserialize, Serialize};

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
    pub agents: Vec<Agent>,
    pub queue: Vec<QueueItem>,
    /// Finished builds with their console text (`builds_state.rs`).
    pub builds: Vec<crate::builds_state::FinishedBuild>,
    /// Builds queued through the API, in order.
    pub triggered: Vec<crate::builds_state::Triggered>,
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
            agents: Vec::new(),
            queue: Vec::new(),
            builds: Vec::new(),
            triggered: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub users: Vec<User>,
    /// Whether anonymous requests may read (Jenkins' Overall/Read for anonymous).
    pub anonymous_read: bool,
    /// Jenkins CSRF protection: crumbs required for password and anonymous POSTs.
    pub csrf: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            users: vec![User {
                user: "ci".to_owned(),
                password: Some("pw".to_owned()),
                token: Some("tok".to_owned()),
            }],
            anonymous_read: false,
            csrf: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub user: String,
    pub password: Option<String>,
    pub token: Option<String>,
}

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
    /// TeamCity waitReason; derived from compatible agents when absent.
    pub wait_reason: Option<String>,
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
            why_override: None,
            blocked_by_build: None,
            eta_ms: Some(192_000),
            quiet_remaining_ms: 4_900,
        }
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A Jenkins version such as `2.579` or `2.361.4`, compared component by component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct JenkinsVersion(Vec<u32>);

impl JenkinsVersion {
    pub fn parse(text: &str) -> JenkinsVersion {
        // Anything unparsable (a snapshot suffix, garbage) counts as the newest, the
        // shape most tests expect.
        let parts: Option<Vec<u32>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        JenkinsVersion(
            parts
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| vec![u32::MAX]),
        )
    }

    pub fn at_least(&self, other: &str) -> bool {
        *self >= JenkinsVersion::parse(other)
    }

    /// U+2018/U+2019 around names in queue reasons since 2.125.
    pub fn fancy_quotes(&self) -> bool {
        self.at_least("2.125")
    }

    /// `assignedLabels` on computers and `labelExpression` on jobs since 2.94.
    pub fn exports_labels(&self) -> bool {
        self.at_least("2.94")
    }

    pub fn builtin_display_name(&self) -> &'static str {
        if self.at_least("2.307") {
            "Built-In Node"
        } else {
            "master"
        }
    }

    pub fn builtin_label(&self) -> &'static str {
        if self.at_least("2.307") {
            "built-in"
        } else {
            "master"
        }
    }

    /// Crumbs are SHA-256 hex (64 chars) since 2.190, MD5 (32) before.
    pub fn crumb_len(&self) -> usize {
        if self.at_least("2.190") { 64 } else { 32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_documents_get_defaults() {
        let state: FakeState = serde_json::from_str(
            r#"{"agents":[{"name":"a"}],"queue":[{"id":3,"job":"j","eta_ms":null}]}"#,
        )
        .expect("parses");
        assert_eq!(state.jenkins_version, "2.579");
        assert_eq!(state.auth.users[0].token.as_deref(), Some("tok"));
        assert!(state.agents[0].connected && state.agents[0].enabled && state.agents[0].authorized);
        assert_eq!(state.agents[0].pool, "Default");
        assert_eq!(state.queue[0].eta_ms, None);
        assert!(state.queue[0].label_exposed);
        assert!(state.queue[0].queued_at_ms > 0);
    }

    #[test]
    fn versions_compare_numerically() {
        let v = JenkinsVersion::parse("2.361.4");
        assert!(v.fancy_quotes());
        assert!(v.at_least("2.307"));
        assert!(!v.at_least("2.362"));
        assert!(!JenkinsVersion::parse("2.60.3").fancy_quotes());
        assert!(JenkinsVersion::parse("2.125").fancy_quotes());
        assert_eq!(
            JenkinsVersion::parse("2.306").builtin_display_name(),
            "master"
        );
    }
}
