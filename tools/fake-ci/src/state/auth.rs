//! Who may call the fake: users with passwords and API tokens, anonymous read, CSRF.

use serde::{Deserialize, Serialize};

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
