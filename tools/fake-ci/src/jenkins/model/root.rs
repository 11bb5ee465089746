//! The root object (`/api/json`, `hudson.model.Hudson`) and the crumb issuer's.

use serde_json::{Value, json};

use super::context::Ctx;
use crate::export::VIS;
use crate::tree::Want;

impl Ctx<'_> {
    pub fn root(&self, csrf: bool) -> Value {
        let mut view = self.object("hudson.model.AllView");
        view.insert("name".into(), json!("all"));
        view.insert("url".into(), json!(self.root));
        view.insert(VIS.into(), json!({"name": 2, "url": 2}));
        let mut obj = self.object("hudson.model.Hudson");
        obj.insert(
            "assignedLabels".into(),
            json!([self.label_ref(self.version.builtin_label(), Want::All)]),
        );
        obj.insert("mode".into(), json!("NORMAL"));
        obj.insert(
            "nodeDescription".into(),
            json!("the Jenkins controller's built-in node"),
        );
        obj.insert("nodeName".into(), json!(""));
        obj.insert("numExecutors".into(), json!(self.state.builtin_executors));
        obj.insert("description".into(), Value::Null);
        obj.insert("jobs".into(), Value::Array(self.root_jobs()));
        obj.insert("overallLoad".into(), json!({}));
        obj.insert("primaryView".into(), Value::Object(view.clone()));
        obj.insert("quietDownReason".into(), Value::Null);
        obj.insert("quietingDown".into(), json!(false));
        obj.insert("slaveAgentPort".into(), json!(50000));
        obj.insert(
            "unlabeledLoad".into(),
            Value::Object(self.object("jenkins.model.UnlabeledLoadStatistics")),
        );
        obj.insert("url".into(), json!(self.root));
        obj.insert("useCrumbs".into(), json!(csrf));
        obj.insert("useSecurity".into(), json!(true));
        obj.insert("views".into(), json!([view]));
        Value::Object(obj)
    }

    pub fn crumb(&self, crumb: &str) -> Value {
        let mut obj = self.object("hudson.security.csrf.DefaultCrumbIssuer");
        obj.insert("crumb".into(), json!(crumb));
        obj.insert("crumbRequestField".into(), json!(crate::auth::CRUMB_FIELD));
        Value::Object(obj)
    }
}
