//! Jobs (`/job/NAME/`): the short reference in listings, the job object with its runs,
//! queue item and label expression, the folders jobs named `folder/job` sit in, and one
//! run (`/job/NAME/N/`).

use serde_json::{Value, json};

use super::context::Ctx;
use super::finished_build::build_json;
use super::job_index::{FOLDER, Run, WORKFLOW_JOB};
use crate::export::{INLINE, VIS};
use crate::tree::Want;

/// Whether a completed run's result qualifies for a permalink.
type ResultTest = fn(&str) -> bool;

/// Jenkins' permalinks a job exports (`Job.getLast…Build`, each resolved by
/// `jenkins/model/PeepholePermalink.java`'s `apply`): the newest completed run whose
/// result passes the test.
const PERMALINKS: &[(&str, ResultTest)] = &[
    ("lastCompletedBuild", |_| true),
    ("lastFailedBuild", |r| r == "FAILURE"),
    ("lastStableBuild", |r| r == "SUCCESS"),
    // Result.isBetterOrEqualTo(UNSTABLE).
    ("lastSuccessfulBuild", |r| r == "SUCCESS" || r == "UNSTABLE"),
    ("lastUnstableBuild", |r| r == "UNSTABLE"),
    ("lastUnsuccessfulBuild", |r| r != "SUCCESS"),
];

impl Ctx<'_> {
    pub(super) fn job_ref(&self, name: &str) -> Value {
        let mut obj = self.object(self.job_class(name));
        obj.insert("name".into(), json!(name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert(VIS.into(), json!({"name": 999, "url": 999, "color": 2}));
        Value::Object(obj)
    }

    /// Jobs exist in the fake only through the queue and builds (running or finished);
    /// a folder through the jobs inside it.
    /// `None` (404) also for an item the caller cannot reach: `Jenkins.getItem` and a
    /// folder's `getItem` answer null for an item without Job/Read (and Job/Discover).
    pub fn job(&self, name: &str) -> Option<Value> {
        if !self.can_reach(name) {
            return None;
        }
        if !self.job_names().contains(&name) {
            return self.folder(name);
        }
        let class = self.job_class(name);
        let run_class = self.run_class(name);
        let queued = self.state.queue.iter().find(|i| i.job == name);
        let runs = self.runs_of(name);
        let reference = |run: &Run| self.run_ref(run_class, name, run.number(), Want::All);
        let next = runs.first().map_or(1, |r| r.number() + 1);
        let short_name = name.rsplit('/').next().unwrap_or(name);
        let parameters = self.parameters_property(name);
        let mut obj = self.object(class);
        // AbstractProject.createTransientActions adds each property's job actions (the
        // parameters property is its own); a WorkflowJob has no such step.
        let job_actions = parameters.iter().filter(|_| class != WORKFLOW_JOB).cloned();
        obj.insert("actions".into(), Value::Array(job_actions.collect()));
        obj.insert("description".into(), json!(""));
        obj.insert("displayName".into(), json!(short_name));
        obj.insert("fullDisplayName".into(), json!(name.replace('/', " » ")));
        obj.insert("fullName".into(), json!(name));
        obj.insert("name".into(), json!(short_name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("buildable".into(), json!(true));
        // Job.getNewBuilds: the newest 100.
        obj.insert(
            "builds".into(),
            Value::Array(runs.iter().take(100).map(reference).collect()),
        );
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert(
            "firstBuild".into(),
            runs.last().map_or(Value::Null, reference),
        );
        obj.insert("healthReport".into(), json!([]));
        obj.insert("inQueue".into(), json!(queued.is_some()));
        obj.insert("keepDependencies".into(), json!(false));
        obj.insert(
            "lastBuild".into(),
            runs.first().map_or(Value::Null, reference),
        );
        for (key, passes) in PERMALINKS {
            let found = runs
                .iter()
                .find(|r| !r.building() && r.result().is_some_and(passes));
            obj.insert((*key).into(), found.map_or(Value::Null, reference));
        }
        obj.insert("nextBuildNumber".into(), json!(next));
        obj.insert(
            "property".into(),
            Value::Array(parameters.into_iter().collect()),
        );
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
        // Job.getAllProperties: `@Exported(name = "property", inline = true)`.
        obj.insert(INLINE.into(), json!(["queueItem", "property"]));
        Some(Value::Object(obj))
    }

    /// The job's `ParametersDefinitionProperty` when it declares parameters (`state/jobs.rs`):
    /// `parameterDefinitions` (visibility 2, the bean's default), each a
    /// `StringParameterDefinition` with `name`, `type`, `description` (`Util.fixEmpty`: null)
    /// and `defaultParameterValue` (visibility 3), a `StringParameterValue` with `name` (3)
    /// and `value` (4).
    fn parameters_property(&self, name: &str) -> Option<Value> {
        let declared = self.state.declared_parameters(name)?;
        let definitions = declared.iter().map(|(parameter, default)| {
            let mut value = self.object("hudson.model.StringParameterValue");
            value.insert("name".into(), json!(parameter));
            value.insert("value".into(), json!(default));
            value.insert(VIS.into(), json!({"name": 3, "value": 4}));
            let mut definition = self.object("hudson.model.StringParameterDefinition");
            definition.insert("defaultParameterValue".into(), Value::Object(value));
            definition.insert("description".into(), Value::Null);
            definition.insert("name".into(), json!(parameter));
            definition.insert("type".into(), json!("StringParameterDefinition"));
            let vis = json!({"defaultParameterValue": 3, "description": 3, "name": 3, "type": 3});
            definition.insert(VIS.into(), vis);
            Value::Object(definition)
        });
        let mut property = self.object("hudson.model.ParametersDefinitionProperty");
        property.insert(
            "parameterDefinitions".into(),
            Value::Array(definitions.collect()),
        );
        property.insert(VIS.into(), json!({"parameterDefinitions": 2}));
        Some(Value::Object(property))
    }

    /// A folder (`com.cloudbees.hudson.plugins.folder.Folder`, cloudbees-folder's
    /// `AbstractFolder` exports `jobs`, `primaryView`, `views` and the item properties).
    fn folder(&self, name: &str) -> Option<Value> {
        if !self.is_folder(name) {
            return None;
        }
        let prefix = format!("{name}/");
        let mut children: Vec<String> = Vec::new();
        for job in self.job_names() {
            if let Some(rest) = job.strip_prefix(&prefix)
                && self.can_reach(&format!(
                    "{prefix}{}",
                    rest.split('/').next().unwrap_or(rest)
                ))
            {
                let child = rest.split('/').next().unwrap_or(rest);
                if !children.iter().any(|c| c == child) {
                    children.push(child.to_owned());
                }
            }
        }
        let jobs: Vec<Value> = children
            .iter()
            .map(|child| {
                let full = format!("{name}/{child}");
                if self.is_folder(&full) && !self.job_names().contains(&full.as_str()) {
                    let mut obj = self.object(FOLDER);
                    obj.insert("name".into(), json!(child));
                    obj.insert("url".into(), json!(self.job_url(&full)));
                    obj.insert(VIS.into(), json!({"name": 999, "url": 999}));
                    Value::Object(obj)
                } else {
                    let Value::Object(mut obj) = self.job_ref(&full) else {
                        unreachable!("job_ref builds an object")
                    };
                    obj.insert("name".into(), json!(child));
                    Value::Object(obj)
                }
            })
            .collect();
        let short_name = name.rsplit('/').next().unwrap_or(name);
        let mut view = self.object("hudson.model.AllView");
        view.insert("name".into(), json!("All"));
        view.insert("url".into(), json!(self.job_url(name)));
        view.insert(VIS.into(), json!({"name": 2, "url": 2}));
        let mut obj = self.object(FOLDER);
        obj.insert("actions".into(), json!([]));
        obj.insert("description".into(), Value::Null);
        obj.insert("displayName".into(), json!(short_name));
        obj.insert("fullDisplayName".into(), json!(name.replace('/', " » ")));
        obj.insert("fullName".into(), json!(name));
        obj.insert("name".into(), json!(short_name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("healthReport".into(), json!([]));
        obj.insert("jobs".into(), Value::Array(jobs));
        obj.insert("primaryView".into(), Value::Object(view.clone()));
        obj.insert("views".into(), json!([view]));
        Some(Value::Object(obj))
    }

    /// Run `number` of `job` as `/job/…/N/api/json` exports it, running or finished.
    pub fn run(&self, job: &str, number: u64) -> Option<Value> {
        if !self.can_reach(job) {
            return None;
        }
        Some(match self.run_of(job, number)? {
            Run::Finished(build) => build_json(
                build,
                &self.root,
                self.state.class_fields,
                self.is_pipeline(job),
            ),
            Run::Running(agent, build) => {
                self.running_build(build, &agent.name, self.run_class(job), Want::All)
            }
        })
    }
}
