//! Who may call the fake: users with passwords and API tokens, anonymous read, CSRF, and
//! which jobs each user may read (Jenkins' Job/Read).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub users: Vec<User>,
    /// Whether anonymous requests may read (Jenkins' Overall/Read for anonymous; anonymous
    /// then reads every job too).
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
                job_read: JobRead::default(),
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
    /// Jenkins Job/Read (with Job/Discover): `true` (default) on every job and folder,
    /// `false` on none, or a list of full names (`"platform"`, `"platform/app"`) granted
    /// as a project-based matrix grants it: on the item and, inherited, everything inside it.
    pub job_read: JobRead,
}

/// Which jobs and folders a user may read (see [`User::job_read`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JobRead {
    All(bool),
    Only(Vec<String>),
}

impl Default for JobRead {
    fn default() -> Self {
        JobRead::All(true)
    }
}

impl JobRead {
    /// Whether the user holds Job/Read on the item `full_name` (a job or folder, `/`
    /// between folders): granted on it or on a folder around it.
    pub fn can_read(&self, full_name: &str) -> bool {
        match self {
            JobRead::All(all) => *all,
            JobRead::Only(names) => names.iter().any(|granted| {
                full_name == granted
                    || full_name
                        .strip_prefix(granted.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            }),
        }
    }

    /// Whether the user reaches the item `full_name` by its URL (`/job/A/job/B/`): Jenkins
    /// resolves each folder on the way with `getItem`, which answers null for an item the
    /// user cannot read, so every folder on the path must be readable too.
    pub fn can_reach(&self, full_name: &str) -> bool {
        let mut end = 0;
        for part in full_name.split('/') {
            end += part.len();
            if !self.can_read(&full_name[..end]) {
                return false;
            }
            end += 1;
        }
        true
    }
}
