//! Running builds as Jenkins exports them: the short reference (`number`, `url`) inside
//! executors, jobs and left queue items, and the full build an executor is running.

use serde_json::{Value, json};

use super::context::{Ctx, put};
use crate::export::VIS;
use crate::state::RunningBuild;
use crate::tree::Want;

impl Ctx<'_> {
    pub(super) fn build_ref(&self, build: &RunningBuild, want: Want) -> Value {
        let mut obj = self.object("hudson.model.FreeStyleBuild");
        put(&mut obj, want, "number", || json!(build.number));
        put(&mut obj, want, "url", || {
            json!(format!("{}{}/", self.job_url(&build.job), build.number))
        });
        if want.annotations() {
            obj.insert(VIS.into(), json!({"number": 999, "url": 999}));
        }
        Value::Object(obj)
    }

    pub(super) fn running_build(&self, build: &RunningBuild, agent: &str, want: Want) -> Value {
        let Value::Object(mut obj) = self.build_ref(build, want) else {
            unreachable!("build_ref builds an object")
        };
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        put(&mut obj, want, "building", || json!(true));
        put(&mut obj, want, "builtOn", || json!(agent));
        put(&mut obj, want, "displayName", || {
            json!(format!("#{}", build.number))
        });
        put(&mut obj, want, "duration", || json!(0));
        put(&mut obj, want, "estimatedDuration", || json!(120_000));
        put(&mut obj, want, "executor", || json!({}));
        put(&mut obj, want, "fullDisplayName", || {
            json!(format!("{} #{}", build.job, build.number))
        });
        put(&mut obj, want, "id", || json!(build.number.to_string()));
        put(&mut obj, want, "queueId", || json!(build.build_id()));
        put(&mut obj, want, "result", || Value::Null);
        put(&mut obj, want, "timestamp", || json!(started));
        Value::Object(obj)
    }
}
