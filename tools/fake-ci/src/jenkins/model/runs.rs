//! Running builds as Jenkins exports them: the short reference (`number`, `url`) inside
//! executors, jobs and left queue items, and the full build (an executor's
//! `currentExecutable`, a job's history, `/job/…/N/api/json` while it runs).
//!
//! A run's class is its job's: `FreeStyleBuild` of a `FreeStyleProject`, `WorkflowRun`
//! of a `WorkflowJob` (workflow-job-plugin `WorkflowRun extends Run<WorkflowJob,
//! WorkflowRun>`). Executors and left queue items still show every run as a
//! `FreeStyleBuild`: a Pipeline's executor really holds a `PlaceholderExecutable`
//! (README "Known differences").

use serde_json::{Value, json};

use super::context::{Ctx, put};
use super::finished_build::{cause_action, started_by};
use crate::export::VIS;
use crate::state::RunningBuild;
use crate::tree::Want;

pub(super) const FREESTYLE_BUILD: &str = "hudson.model.FreeStyleBuild";
pub(super) const WORKFLOW_RUN: &str = "org.jenkinsci.plugins.workflow.job.WorkflowRun";

impl Ctx<'_> {
    /// The class of `job`'s runs.
    pub(super) fn run_class(&self, job: &str) -> &'static str {
        if self.is_pipeline(job) {
            WORKFLOW_RUN
        } else {
            FREESTYLE_BUILD
        }
    }

    /// `{_class, number, url}` of run `number` of `job` (Run exports both at visibility 2).
    pub(super) fn run_ref(&self, class: &str, job: &str, number: u64, want: Want) -> Value {
        let mut obj = self.object(class);
        put(&mut obj, want, "number", || json!(number));
        put(&mut obj, want, "url", || {
            json!(format!("{}{}/", self.job_url(job), number))
        });
        if want.annotations() {
            obj.insert(VIS.into(), json!({"number": 999, "url": 999}));
        }
        Value::Object(obj)
    }

    /// A running build as executors and left queue items show it (always `FreeStyleBuild`).
    pub(super) fn build_ref(&self, build: &RunningBuild, want: Want) -> Value {
        self.run_ref(FREESTYLE_BUILD, &build.job, build.number, want)
    }

    /// The full running build, of class `class`. `builtOn` is exported for both classes
    /// (a `WorkflowRun` has none in Jenkins; README "Known differences").
    pub(super) fn running_build(
        &self,
        build: &RunningBuild,
        agent: &str,
        class: &str,
        want: Want,
    ) -> Value {
        let Value::Object(mut obj) = self.run_ref(class, &build.job, build.number, want) else {
            unreachable!("run_ref builds an object")
        };
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        let class_fields = self.state.class_fields;
        put(&mut obj, want, "actions", || {
            json!([cause_action(class_fields), {}])
        });
        put(&mut obj, want, "artifacts", || json!([]));
        put(&mut obj, want, "building", || json!(true));
        put(&mut obj, want, "builtOn", || json!(agent));
        put(&mut obj, want, "description", || Value::Null);
        put(&mut obj, want, "displayName", || {
            json!(format!("#{}", build.number))
        });
        put(&mut obj, want, "duration", || json!(0));
        put(&mut obj, want, "estimatedDuration", || json!(120_000));
        put(&mut obj, want, "executor", || json!({}));
        put(&mut obj, want, "fullDisplayName", || {
            json!(format!(
                "{} #{}",
                build.job.replace('/', " » "),
                build.number
            ))
        });
        put(&mut obj, want, "id", || json!(build.number.to_string()));
        put(&mut obj, want, "inProgress", || json!(true));
        put(&mut obj, want, "keepLog", || json!(false));
        put(&mut obj, want, "queueId", || json!(build.build_id()));
        put(&mut obj, want, "result", || Value::Null);
        put(&mut obj, want, "timestamp", || json!(started));
        if class == WORKFLOW_RUN {
            put(&mut obj, want, "changeSets", || json!([]));
        } else {
            put(
                &mut obj,
                want,
                "changeSet",
                || json!({"items": [], "kind": null}),
            );
        }
        put(&mut obj, want, "culprits", || json!([]));
        Value::Object(obj)
    }
}

/// The console of a build in progress: what `BuildListener.started` has written, each
/// cause's line (`Cause.print`). Written while no request is being served, so in the
/// JVM's language, German here (Messages_de.properties `Cause.UserIdCause.ShortDescription`).
pub fn running_console() -> String {
    format!("{}\n", started_by(crate::jenkins::locale::Lang::German))
}
