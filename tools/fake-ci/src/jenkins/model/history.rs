//! The root's `jobs` as Jenkins exports them (`/api/json?tree=jobs[name,builds[…],jobs[…]]`):
//! every job with its builds, newest first — the finished ones of the state's `builds` and
//! the running ones of the agents — and a job named `folder/job` inside a
//! `com.cloudbees.hudson.plugins.folder.Folder`. Pipeline runs carry no `builtOn` (their
//! `node` steps are not the run's node), as in Jenkins.

use serde_json::{Value, json};

use super::context::Ctx;
use super::finished_build::build_json;
use super::job_index::FOLDER;
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
        for full in names {
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
            .map(|entry| match entry {
                Entry::Job(full) => self.job_with_builds(full),
                Entry::Folder(name, jobs) => {
                    let full = if parent.is_empty() {
                        name.clone()
                    } else {
                        format!("{parent}/{name}")
                    };
                    let mut obj = self.object(FOLDER);
                    obj.insert("name".into(), json!(name));
                    obj.insert("url".into(), json!(self.job_url(&full)));
                    obj.insert("jobs".into(), Value::Array(self.jobs_under(&full, &jobs)));
                    obj.insert(VIS.into(), json!({"name": 999, "url": 999}));
                    Value::Object(obj)
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
        let mut builds: Vec<(u64, Value)> = self
            .state
            .builds
            .iter()
            .filter(|b| b.job == full)
            .map(|b| {
                let json = build_json(b, &self.root, self.state.class_fields, pipeline);
                (b.number, json)
            })
            .chain(self.running_of(full).map(|(agent, r)| {
                (
                    r.number,
                    self.running_build(r, &agent.name, class, Want::All),
                )
            }))
            .collect();
        builds.sort_by_key(|(number, _)| std::cmp::Reverse(*number));
        let builds = builds
            .into_iter()
            .map(|(_, mut build)| {
                if pipeline && let Some(obj) = build.as_object_mut() {
                    obj.remove("builtOn");
                }
                build
            })
            .collect();
        obj.insert("builds".into(), Value::Array(builds));
        Value::Object(obj)
    }
}
