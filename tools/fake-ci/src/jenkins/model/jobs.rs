//! Jobs (`/job/NAME/`): the short reference in listings and the job object with its
//! builds, queue item and label expression.

use serde_json::{Value, json};

use super::context::Ctx;
use crate::export::{INLINE, VIS};
use crate::state::RunningBuild;
use crate::tree::Want;

impl Ctx<'_> {
    pub(super) fn job_ref(&self, name: &str) -> Value {
        let mut obj = self.object(self.job_class(name));
        obj.insert("name".into(), json!(name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert(VIS.into(), json!({"name": 999, "url": 999, "color": 2}));
        Value::Object(obj)
    }

    /// Jobs exist in the fake only through the queue and running builds.
    pub fn job(&self, name: &str) -> Option<Value> {
        if !self.job_names().contains(&name) {
            return None;
        }
        let class = self.job_class(name);
        let queued = self.state.queue.iter().find(|i| i.job == name);
        let mut builds: Vec<&RunningBuild> = self.running_of(name).map(|(_, r)| r).collect();
        builds.sort_by_key(|b| std::cmp::Reverse(b.number));
        let last = builds
            .first()
            .map(|b| self.build_ref(b, Want::All))
            .unwrap_or(Value::Null);
        let next = builds.first().map_or(1, |b| b.number + 1);
        let short_name = name.rsplit('/').next().unwrap_or(name);
        let mut obj = self.object(class);
        obj.insert("actions".into(), json!([]));
        obj.insert("description".into(), json!(""));
        obj.insert("displayName".into(), json!(short_name));
        obj.insert("fullDisplayName".into(), json!(name.replace('/', " » ")));
        obj.insert("fullName".into(), json!(name));
        obj.insert("name".into(), json!(short_name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("buildable".into(), json!(true));
        obj.insert(
            "builds".into(),
            Value::Array(
                builds
                    .iter()
                    .map(|b| self.build_ref(b, Want::All))
                    .collect(),
            ),
        );
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert("inQueue".into(), json!(queued.is_some()));
        obj.insert("lastBuild".into(), last);
        obj.insert("nextBuildNumber".into(), json!(next));
        obj.insert(
            "queueItem".into(),
            queued.map_or(Value::Null, |i| self.queue_item(i, Want::All)),
        );
        obj.insert("concurrentBuild".into(), json!(false));
        obj.insert("disabled".into(), json!(false));
        if class == "hudson.model.FreeStyleProject" && self.version.exports_labels() {
            obj.insert(
                "labelExpression".into(),
                json!(queued.and_then(|i| i.label.clone())),
            );
        }
        obj.insert(INLINE.into(), json!(["queueItem"]));
        Some(Value::Object(obj))
    }
}
