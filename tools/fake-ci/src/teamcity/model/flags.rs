//! The agent flags with a comment (`enabled`, `authorized`) and their `…Info` documents.

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::{tc_date, with_meta};
use crate::state::{Agent, Comment};

/// Which agent flag an `…Info` endpoint talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Enabled,
    Authorized,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::Enabled => "enabled",
            Flag::Authorized => "authorized",
        }
    }

    pub fn get(self, agent: &Agent) -> bool {
        match self {
            Flag::Enabled => agent.enabled,
            Flag::Authorized => agent.authorized,
        }
    }

    pub fn set(self, agent: &mut Agent, value: bool, comment: Comment) {
        match self {
            Flag::Enabled => {
                agent.enabled = value;
                agent.enabled_comment = Some(comment);
            }
            Flag::Authorized => {
                agent.authorized = value;
                agent.authorized_comment = Some(comment);
            }
        }
    }

    fn comment(self, agent: &Agent) -> Option<&Comment> {
        match self {
            Flag::Enabled => agent.enabled_comment.as_ref(),
            Flag::Authorized => agent.authorized_comment.as_ref(),
        }
    }
}

impl Tc<'_> {
    fn user(&self, username: &str) -> Value {
        json!({"username": username, "id": 1, "href": self.href("users/id:1")})
    }

    pub fn flag_info(&self, agent: &Agent, flag: Flag) -> Value {
        let mut obj = Map::new();
        obj.insert("status".into(), json!(flag.get(agent)));
        if let Some(comment) = flag.comment(agent) {
            let mut c = Map::new();
            c.insert("user".into(), self.user(&comment.user));
            c.insert("timestamp".into(), json!(tc_date(comment.timestamp_ms)));
            if let Some(text) = &comment.text {
                c.insert("text".into(), json!(text));
            }
            obj.insert("comment".into(), Value::Object(c));
        }
        with_meta(obj, &["status", "comment"], None, &["status"])
    }
}
