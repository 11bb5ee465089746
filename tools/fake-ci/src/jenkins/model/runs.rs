//! Running builds as Jenkins exports them: the short reference (`number`, `url`) inside
//! jobs and left queue items, the full build (a job's history, `/job/…/N/api/json` while
//! it runs, a freestyle executor's `currentExecutable`) and what a Pipeline's executor
//! holds instead, its `node` block's `PlaceholderExecutable`.
//!
//! A run's class is its job's: `FreeStyleBuild` of a `FreeStyleProject`, `WorkflowRun`
//! of a `WorkflowJob` (workflow-job-plugin `WorkflowRun extends Run<WorkflowJob,
//! WorkflowRun>`). Only `AbstractBuild` exports `builtOn` (`getBuiltOnStr`), so a
//! `WorkflowRun` has none.

use serde_json::{Value, json};

use super::context::{Ctx, put};
use super::finished_build::{cause_action, started_by};
use super::job_index::{FREESTYLE_BUILD, WORKFLOW_RUN};
use crate::export::VIS;
use crate::state::RunningBuild;
use crate::tree::Want;

pub(super) const PLACEHOLDER_EXECUTABLE: &str = "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask$PlaceholderExecutable";

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

    /// A running build as left queue items show it: `{_class, number, url}` of its job's
    /// run class (the item that left is the job's own, whose executable is the run).
    pub(super) fn build_ref(&self, build: &RunningBuild, want: Want) -> Value {
        self.run_ref(self.run_class(&build.job), &build.job, build.number, want)
    }

    /// What an agent's busy executor exports as `currentExecutable`
    /// (`Executor.getCurrentExecutableForApi`): `null` unless the caller has Job/Read on
    /// the job (the executable's ACL is its job's), a Pipeline's `PlaceholderExecutable`,
    /// else the `FreeStyleBuild` itself.
    pub(super) fn current_executable(
        &self,
        build: &RunningBuild,
        agent: &str,
        want: Want,
    ) -> Value {
        if !self.can_read(&build.job) {
            Value::Null
        } else if self.is_pipeline(&build.job) {
            self.placeholder_executable(build, want)
        } else {
            self.running_build(build, agent, FREESTYLE_BUILD, want)
        }
    }

    /// The executable of a Pipeline's `node` block (workflow-durable-task-step-plugin
    /// `ExecutorStepExecution.PlaceholderTask.PlaceholderExecutable`): its `@Exported`
    /// getters, all of default visibility, are `number` and `timestamp` of the run,
    /// `displayName` and `fullDisplayName` (the task's: `part of <run's full display
    /// name>`, Messages.properties `ExecutorStepExecution.PlaceholderTask.displayName`,
    /// untranslated), the run's `estimatedDuration`, and `url`, `getAbsoluteUrl()`: the
    /// root URL and the run's URL.
    fn placeholder_executable(&self, build: &RunningBuild, want: Want) -> Value {
        let mut obj = self.object(PLACEHOLDER_EXECUTABLE);
        let display_name = || json!(format!("part of {}", run_full_display_name(build)));
        put(&mut obj, want, "displayName", display_name);
        put(&mut obj, want, "estimatedDuration", || json!(120_000));
        put(&mut obj, want, "fullDisplayName", display_name);
        put(&mut obj, want, "number", || json!(build.number));
        put(&mut obj, want, "timestamp", || json!(self.started(build)));
        put(&mut obj, want, "url", || {
            json!(format!("{}{}/", self.job_url(&build.job), build.number))
        });
        Value::Object(obj)
    }

    pub(super) fn started(&self, build: &RunningBuild) -> i64 {
        build.started_at_ms.unwrap_or(self.now_ms - 60_000)
    }

    /// The full running build, of class `class` (`builtOn` only on a `FreeStyleBuild`).
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
        let started = self.started(build);
        let class_fields = self.state.class_fields;
        put(&mut obj, want, "actions", || {
            json!([cause_action(class_fields), {}])
        });
        put(&mut obj, want, "artifacts", || json!([]));
        put(&mut obj, want, "building", || json!(true));
        if class == FREESTYLE_BUILD {
            put(&mut obj, want, "builtOn", || json!(agent));
        }
        put(&mut obj, want, "description", || Value::Null);
        put(&mut obj, want, "displayName", || {
            json!(format!("#{}", build.number))
        });
        put(&mut obj, want, "duration", || json!(0));
        put(&mut obj, want, "estimatedDuration", || json!(120_000));
        put(&mut obj, want, "executor", || json!({}));
        put(&mut obj, want, "fullDisplayName", || {
            json!(run_full_display_name(build))
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

/// `Run.getFullDisplayName`: the job's full display name (folders joined by ` » `) and `#N`.
fn run_full_display_name(build: &RunningBuild) -> String {
    format!("{} #{}", build.job.replace('/', " » "), build.number)
}

/// The console of a build in progress: what `BuildListener.started` has written, each
/// cause's line (`Cause.print`). Written while no request is being served, so in the
/// JVM's language, German here (Messages_de.properties `Cause.UserIdCause.ShortDescription`).
pub fn running_console() -> String {
    format!("{}\n", started_by(crate::jenkins::locale::Lang::German))
}
