//! The queue (`/queue/`): items with their task, causes, `stuck` and `why`, and the
//! LeftItem a started build leaves behind at `/queue/item/N/`.

use serde_json::{Value, json};

use super::context::{Ctx, put};
use crate::export::{INLINE, RAW, VIS};
use crate::jenkins::why;
use crate::state::{QueueItem, QueueState};
use crate::tree::Want;

const PLACEHOLDER_TASK: &str =
    "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask";

impl Ctx<'_> {
    fn task(&self, item: &QueueItem, want: Want) -> Value {
        let pipeline = !item.label_exposed && self.version.exports_labels();
        let mut obj = self.object(if pipeline {
            PLACEHOLDER_TASK
        } else {
            "hudson.model.FreeStyleProject"
        });
        put(&mut obj, want, "name", || json!(item.job));
        put(&mut obj, want, "url", || json!(self.job_url(&item.job)));
        if !pipeline {
            put(&mut obj, want, "color", || json!(self.job_color(&item.job)));
        }
        if item.label_exposed && self.version.exports_labels() {
            put(&mut obj, want, "labelExpression", || json!(item.label));
        }
        if want.annotations() {
            obj.insert(VIS.into(), json!({"name": 999, "url": 999, "color": 2}));
        }
        Value::Object(obj)
    }

    fn cause_actions(&self) -> Value {
        let mut cause = self.object("hudson.model.Cause$UserIdCause");
        cause.insert("shortDescription".into(), json!("Started by user ci"));
        cause.insert("userId".into(), json!("ci"));
        cause.insert("userName".into(), json!("ci"));
        let mut action = self.object("hudson.model.CauseAction");
        action.insert("causes".into(), json!([cause]));
        json!([action])
    }

    /// Whether Jenkins would call the item stuck: only buildable items can be, and an
    /// item whose label is offline always is.
    fn stuck(&self, item: &QueueItem) -> bool {
        if item.state != QueueState::Buildable {
            return false;
        }
        let label_offline = match item.label.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(label) if !self.state.agents.is_empty() => why::label_offline(self.world(), label),
            _ => false,
        };
        item.stuck || label_offline
    }

    pub fn queue_item(&self, item: &QueueItem, want: Want) -> Value {
        let class = match item.state {
            QueueState::Buildable => "hudson.model.Queue$BuildableItem",
            QueueState::Blocked => "hudson.model.Queue$BlockedItem",
            QueueState::Waiting => "hudson.model.Queue$WaitingItem",
        };
        let mut obj = self.object(class);
        put(&mut obj, want, "actions", || self.cause_actions());
        put(&mut obj, want, "blocked", || {
            json!(item.state == QueueState::Blocked)
        });
        put(&mut obj, want, "buildable", || {
            json!(item.state == QueueState::Buildable)
        });
        put(&mut obj, want, "id", || json!(item.id));
        put(&mut obj, want, "inQueueSince", || json!(item.queued_at_ms));
        put(&mut obj, want, "params", || json!(""));
        put(&mut obj, want, "stuck", || json!(self.stuck(item)));
        put(&mut obj, want, "task", || {
            self.task(item, want.child("task"))
        });
        put(&mut obj, want, "url", || {
            json!(format!("queue/item/{}/", item.id))
        });
        put(&mut obj, want, "why", || {
            json!(why::why(item, self.world()))
        });
        match item.state {
            QueueState::Buildable => {
                put(&mut obj, want, "buildableStartMilliseconds", || {
                    json!(item.queued_at_ms + 1)
                });
                put(&mut obj, want, "pending", || json!(item.pending));
            }
            QueueState::Blocked => {
                put(&mut obj, want, "buildableStartMilliseconds", || {
                    json!(item.queued_at_ms + 1)
                });
            }
            QueueState::Waiting => {
                put(&mut obj, want, "timestamp", || {
                    json!(self.now_ms + item.quiet_remaining_ms as i64)
                });
            }
        }
        if want.annotations() {
            obj.insert(RAW.into(), json!(["actions"]));
        }
        Value::Object(obj)
    }

    /// The item a started build left behind at `/queue/item/N/` (Queue$LeftItem); only
    /// builds given an explicit `id` have one, so a removed queue item is simply gone.
    pub fn left_item(&self, id: u64) -> Option<Value> {
        let (_, build) = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(move |r| (a, r)))
            .find(|(_, r)| r.id == Some(id))?;
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        let pseudo = QueueItem {
            id,
            job: build.job.clone(),
            queued_at_ms: started - 1_000,
            ..QueueItem::default()
        };
        let mut obj = self.object("hudson.model.Queue$LeftItem");
        obj.insert("actions".into(), self.cause_actions());
        obj.insert("blocked".into(), json!(false));
        obj.insert("buildable".into(), json!(false));
        obj.insert("id".into(), json!(id));
        obj.insert("inQueueSince".into(), json!(pseudo.queued_at_ms));
        obj.insert("params".into(), json!(""));
        obj.insert("stuck".into(), json!(false));
        obj.insert("task".into(), self.task(&pseudo, Want::All));
        obj.insert("url".into(), json!(format!("queue/item/{id}/")));
        obj.insert("why".into(), Value::Null);
        obj.insert("cancelled".into(), json!(false));
        obj.insert("executable".into(), self.build_ref(build, Want::All));
        obj.insert(RAW.into(), json!(["actions"]));
        Some(Value::Object(obj))
    }

    pub fn queue(&self, want: Want) -> Value {
        let mut obj = self.object("hudson.model.Queue");
        put(&mut obj, want, "discoverableItems", || json!([]));
        put(&mut obj, want, "items", || {
            let want = want.child("items");
            self.state
                .queue
                .iter()
                .map(|i| self.queue_item(i, want))
                .collect()
        });
        if want.annotations() {
            obj.insert(INLINE.into(), json!(["items"]));
        }
        Value::Object(obj)
    }
}
