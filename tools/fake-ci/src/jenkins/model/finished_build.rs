//! A finished (or still running) build of the state's `builds` as `/job/…/N/api/json`
//! exports it (docs/ci-semantics.md A5), annotated for depth pruning: the actions'
//! parameters and causes show at depth 0 (exported with visibility 2 and 3), git's
//! `lastBuiltRevision` only with `tree` or depth ≥ 1. A Pipeline job's build is a
//! `WorkflowRun` (`changeSets`, not `changeSet`, and no `builtOn`: only `AbstractBuild`
//! exports it).

use serde_json::{Map, Value, json};

use crate::clock::now_ms;
use crate::export::{CLASS, VIS};
use crate::http;
use crate::jenkins::locale::Lang;
use crate::state::FinishedBuild;

use super::job_index::{FREESTYLE_BUILD, WORKFLOW_RUN};

pub fn build_url(root: &str, build: &FinishedBuild) -> String {
    let path: String = build
        .job
        .split('/')
        .map(|p| format!("job/{}/", http::encode_query_value(p)))
        .collect();
    format!("{root}{path}{}/", build.number)
}

fn object(class_fields: bool, class: &str) -> Map<String, Value> {
    let mut obj = Map::new();
    if class_fields {
        obj.insert(CLASS.to_owned(), json!(class));
    }
    obj
}

/// The build as its job's run class: `pipeline` for a `WorkflowJob`'s `WorkflowRun`.
pub fn build_json(build: &FinishedBuild, root: &str, class_fields: bool, pipeline: bool) -> Value {
    let started = build.started_at_ms.unwrap_or_else(|| now_ms() - 120_000);
    let class = if pipeline {
        WORKFLOW_RUN
    } else {
        FREESTYLE_BUILD
    };
    let mut obj = object(class_fields, class);
    obj.insert("actions".into(), Value::Array(actions(build, class_fields)));
    obj.insert("artifacts".into(), json!([]));
    obj.insert("building".into(), json!(build.building));
    obj.insert("description".into(), json!(build.description));
    obj.insert("displayName".into(), json!(format!("#{}", build.number)));
    obj.insert(
        "duration".into(),
        json!(if build.building { 0 } else { build.duration_ms }),
    );
    obj.insert("estimatedDuration".into(), json!(build.duration_ms));
    obj.insert(
        "executor".into(),
        if build.building {
            json!({})
        } else {
            Value::Null
        },
    );
    obj.insert(
        "fullDisplayName".into(),
        json!(format!(
            "{} #{}",
            build.job.replace('/', " » "),
            build.number
        )),
    );
    obj.insert("id".into(), json!(build.number.to_string()));
    obj.insert("inProgress".into(), json!(build.building));
    obj.insert("keepLog".into(), json!(false));
    obj.insert("number".into(), json!(build.number));
    obj.insert("queueId".into(), json!(build.queue_id()));
    obj.insert(
        "result".into(),
        if build.building {
            Value::Null
        } else {
            json!(build.result)
        },
    );
    obj.insert("timestamp".into(), json!(started));
    obj.insert("url".into(), json!(build_url(root, build)));
    if !pipeline {
        obj.insert("builtOn".into(), json!(build.agent));
    }
    if pipeline {
        obj.insert("changeSets".into(), json!([]));
    } else {
        obj.insert("changeSet".into(), json!({"items": [], "kind": null}));
    }
    obj.insert("culprits".into(), json!([]));
    obj.insert(VIS.into(), json!({"number": 2, "url": 2}));
    Value::Object(obj)
}

/// The build's actions in Jenkins' order: parameters (when it has any), causes, git's
/// build data (when it built a revision), then an action that exports nothing.
fn actions(build: &FinishedBuild, class_fields: bool) -> Vec<Value> {
    let mut actions = Vec::new();
    if !build.parameters.is_empty() {
        actions.push(parameters_action(build, class_fields));
    }
    actions.push(cause_action(class_fields));
    if let Some(sha) = &build.revision {
        actions.push(git_build_data(build, sha, class_fields));
    }
    actions.push(json!({}));
    actions
}

fn parameters_action(build: &FinishedBuild, class_fields: bool) -> Value {
    let parameters: Vec<Value> = build
        .parameters
        .iter()
        .map(|(name, value)| {
            let mut p = object(class_fields, "hudson.model.StringParameterValue");
            p.insert("name".into(), json!(name));
            p.insert("value".into(), json!(value));
            p.insert(VIS.into(), json!({"name": 3, "value": 3}));
            Value::Object(p)
        })
        .collect();
    let mut action = object(class_fields, "hudson.model.ParametersAction");
    action.insert("parameters".into(), Value::Array(parameters));
    action.insert(VIS.into(), json!({"parameters": 2}));
    Value::Object(action)
}

/// `Cause.UserIdCause.ShortDescription` for the user `ci` (hudson/model/Messages*.properties).
pub(super) fn started_by(lang: Lang) -> &'static str {
    match lang {
        Lang::English => "Started by user ci",
        Lang::German => "Gestartet durch Benutzer ci",
    }
}

pub(super) fn cause_action(class_fields: bool) -> Value {
    let mut cause = object(class_fields, "hudson.model.Cause$UserIdCause");
    cause.insert("shortDescription".into(), json!(started_by(Lang::English)));
    cause.insert("userId".into(), json!("ci"));
    cause.insert("userName".into(), json!("ci"));
    cause.insert(
        VIS.into(),
        json!({"shortDescription": 3, "userId": 3, "userName": 3}),
    );
    let mut causes = object(class_fields, "hudson.model.CauseAction");
    causes.insert("causes".into(), json!([Value::Object(cause)]));
    causes.insert(VIS.into(), json!({"causes": 2}));
    Value::Object(causes)
}

fn git_build_data(build: &FinishedBuild, sha: &str, class_fields: bool) -> Value {
    let branch = build
        .branch
        .as_deref()
        .map(|b| format!("refs/remotes/origin/{b}"))
        .unwrap_or_else(|| "detached".to_owned());
    let mut data = object(class_fields, "hudson.plugins.git.util.BuildData");
    data.insert(
        "lastBuiltRevision".into(),
        json!({"SHA1": sha, "branch": [{"SHA1": sha, "name": branch}]}),
    );
    data.insert(
        "remoteUrls".into(),
        json!(["https://git.example.com/app.git"]),
    );
    data.insert("scmName".into(), json!(""));
    Value::Object(data)
}
