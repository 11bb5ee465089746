//! A user (`/me/api/json`, `/user/ID/api/json`) as `hudson.model.User` exports it: `id`,
//! `fullName` (the id unless the user set one), `absoluteUrl` (root URL + `user/` + the
//! id as the default case-insensitive `IdStrategy.keyFor` gives it: lower case),
//! `description`, and `property`, which lists the user's properties only to an
//! administrator (`User.getAllProperties`); the fake's users are not administrators.

use serde_json::{Value, json};

use super::context::{Ctx, encode_segment};
use crate::export::VIS;

impl Ctx<'_> {
    /// The state's user `id` (compared ignoring case, as the default `IdStrategy` does),
    /// if there is one.
    pub fn user(&self, id: &str) -> Option<Value> {
        let id = self
            .state
            .auth
            .users
            .iter()
            .find(|u| u.user.eq_ignore_ascii_case(id))?
            .user
            .as_str();
        let mut obj = self.object("hudson.model.User");
        obj.insert(
            "absoluteUrl".into(),
            json!(format!(
                "{}user/{}",
                self.root,
                encode_segment(&id.to_lowercase())
            )),
        );
        obj.insert("description".into(), Value::Null);
        obj.insert("fullName".into(), json!(id));
        obj.insert("id".into(), json!(id));
        obj.insert("property".into(), json!([]));
        obj.insert(VIS.into(), json!({"absoluteUrl": 999, "fullName": 999}));
        Some(Value::Object(obj))
    }
}
