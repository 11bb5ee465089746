//! The root's `jobs` as Jenkins exports them (`/api/json?tree=jobs[name,builds[…],jobs[…]]`):
//! every job with its builds, newest first — the finished ones of the state's `builds` and
//! the running ones of the agents — and a job named `folder/job` inside a
//! `com.cloudbees.hudson.plugins.folder.Folder`. Pipeline runs carry no `builtOn` (their
//! `node` steps are not the run's node), as in Jenkins. Only the jobs and folders the
//! caller may read are listed.

use serde_json::{Value, json};

use super::context::Ctx;
use super::finished_build::build_json;
use super::job_index::{FOLDER, Run};
use crate::export::VIS;
use crate::tree::Want;

enum Entry<'n> {
    Job(&'n str),
    Folder(String, Vec<&'n str>),
}

impl Ctx<'_> {
    /// The root's `jobs`: top-level jobs and folders in order of first mention.
    pub(super) fn root_jobs(&self) -> Vec<Value> {
        let names = self.job_names();
        self.jobs_under("", &names)
    }

    /// The entries directly inside `parent` ("" = the root) of the jobs `names` (full names).
    fn jobs_under(&self, parent: &str, names: &[&str]) -> Vec<Value> {
        let mut entries: Vec<Entry> = Vec::new();
        // Jenkins.getItems and a folder's getItems: only items the caller may read.
        for full in names.iter().filter(|full| self.can_reach(full)) {
            let rest = if parent.is_empty() {
                full
            } else {
                &full[parent.len() + 1..]
            };
            match rest.split_once('/') {
                None => entries.push(Entry::Job(full)),
                Some((folder, _)) => {
                    let existing = entries.iter_mut().find_map(|e| match e {
                        Entry::Folder(name, jobs) if name == folder => Some(jobs),
                        _ => None,
                    });
                    match existing {
                        Some(jobs) => jobs.push(full),
                        None => entries.push(Entry::Folder(folder.to_owned(), vec![full])),
                    }
                }
            }
        }
        entries
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Job(full) => Some(self.job_with_builds(full)),
                Entry::Folder(name, jobs) => {
                    let full = if parent.is_empty() {
                        name.clone()
                    } else {
                        format!("{parent}/{name}")
                    };
                    // Hidden with its contents unless the caller may read the folder.
                    if !self.can_reach(&full) {
                        return None;
                    }
                    let mut obj = self.object(FOLDER);
                    obj.insert("name".into(), json!(name));
                    obj.insert("url".into(), json!(self.job_url(&full)));
                    obj.insert("jobs".into(), Value::Array(self.jobs_under(&full, &jobs)));
                    obj.insert(VIS.into(), json!({"name": 999, "url": 999}));
                    Some(Value::Object(obj))
                }
            })
            .collect()
    }

    fn job_with_builds(&self, full: &str) -> Value {
        let Value::Object(mut obj) = self.job_ref(full) else {
            unreachable!("job_ref builds an object")
        };
        let short = full.rsplit('/').next().unwrap_or(full);
        obj.insert("name".into(), json!(short));
        let pipeline = self.is_pipeline(full);
        let class = self.run_class(full);
        // Each run once, newest first: a run with `node` blocks on two agents is one run.
        let builds = self
            .runs_of(full)
            .into_iter()
            .map(|run| match run {
                Run::Finished(b) => build_json(b, &self.root, self.state.class_fields, pipeline),
                Run::Running(agent, r) => self.running_build(r, &agent.name, class, Want::All),
            })
            .collect();
        obj.insert("builds".into(), Value::Array(builds));
        Value::Object(obj)
    }
}
