//! The queue (`/queue/`): items with their task, causes, `stuck` and `why`, and the
//! LeftItem a started build leaves behind at `/queue/item/N/`.

use serde_json::{Value, json};

use super::context::{Ctx, put};
use crate::export::{INLINE, RAW, VIS};
use crate::jenkins::why;
use crate::state::{QueueItem, QueueState, RunningBuild};
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
    /// item whose label is offline always is (`BuildableItem.isStuck`: `label.isOffline()`,
    /// true for a label no node carries, so also with no agents at all: unlike `why`,
    /// `isStuck` keeps the label when `getNodes()` is empty).
    fn stuck(&self, item: &QueueItem) -> bool {
        if item.state != QueueState::Buildable {
            return false;
        }
        let label_offline = match item.label.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(label) => why::label_offline(self.world(), label),
            None => false,
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

    /// Queue item `id` as `/queue/item/N/api/json` serves it: waiting, or the item a
    /// started build left behind; `None` (404) for an item of a job the caller cannot read
    /// (`Queue.Item.getApi` answers null without Job/Discover).
    pub fn queue_item_by_id(&self, id: u64) -> Option<Value> {
        let found = match self.state.queue.iter().find(|i| i.id == id) {
            Some(item) => (item.job.as_str(), self.queue_item(item, Want::All)),
            None => {
                let build = self.left_build(id)?;
                (build.job.as_str(), self.left_item(build))
            }
        };
        let (job, value) = found;
        self.can_read(job).then_some(value)
    }

    /// The running build whose queue item was `id`: only builds given an explicit `id`
    /// have one, so a removed queue item is simply gone.
    fn left_build(&self, id: u64) -> Option<&RunningBuild> {
        self.state
            .agents
            .iter()
            .flat_map(|a| a.running.iter())
            .find(|r| r.id == Some(id))
    }

    /// The item a started build left behind at `/queue/item/N/` (Queue$LeftItem). The id
    /// is the run's `queueId`, the job's own item, so its task is the job (a `WorkflowJob`
    /// for a Pipeline, not a `node` block's PlaceholderTask) and its executable the run
    /// (`LeftItem.getExecutable`: the primary work unit's executable, a `WorkflowRun`).
    fn left_item(&self, build: &RunningBuild) -> Value {
        let id = build.build_id();
        let started = self.started(build);
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
        let task = if self.is_pipeline(&build.job) {
            self.job_ref(&build.job)
        } else {
            self.task(&pseudo, Want::All)
        };
        obj.insert("task".into(), task);
        obj.insert("url".into(), json!(format!("queue/item/{id}/")));
        obj.insert("why".into(), Value::Null);
        obj.insert("cancelled".into(), json!(false));
        obj.insert("executable".into(), self.build_ref(build, Want::All));
        obj.insert(RAW.into(), json!(["actions"]));
        Value::Object(obj)
    }

    pub fn queue(&self, want: Want) -> Value {
        let mut obj = self.object("hudson.model.Queue");
        put(&mut obj, want, "discoverableItems", || json!([]));
        put(&mut obj, want, "items", || {
            let want = want.child("items");
            // Queue.getItems: only items whose task the caller may read (Item.READ).
            self.state
                .queue
                .iter()
                .filter(|i| self.can_read(&i.job))
                .map(|i| self.queue_item(i, want))
                .collect()
        });
        if want.annotations() {
            obj.insert(INLINE.into(), json!(["items"]));
        }
        Value::Object(obj)
    }
}
