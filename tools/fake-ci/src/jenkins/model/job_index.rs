//! What the state says about jobs, which exist in the fake only through the queue and
//! builds: their names, class (freestyle or pipeline), colour and running builds.

use std::collections::HashSet;

use super::context::Ctx;
use crate::state::{Agent, RunningBuild};

impl Ctx<'_> {
    pub(super) fn job_names(&self) -> Vec<&str> {
        let queued = self.state.queue.iter().map(|i| i.job.as_str());
        let running = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(|r| r.job.as_str()));
        let finished = self.state.builds.iter().map(|b| b.job.as_str());
        let mut seen = HashSet::new();
        queued
            .chain(running)
            .chain(finished)
            .filter(|n| seen.insert(*n) && !n.is_empty())
            .collect()
    }

    pub(super) fn job_class(&self, name: &str) -> &'static str {
        let pipelines = self.pipeline_jobs.get_or_init(|| {
            self.state
                .queue
                .iter()
                .filter(|i| !i.label_exposed)
                .map(|i| i.job.as_str())
                .collect()
        });
        let pipeline = pipelines.contains(name) && self.version.exports_labels();
        if pipeline {
            "org.jenkinsci.plugins.workflow.job.WorkflowJob"
        } else {
            "hudson.model.FreeStyleProject"
        }
    }

    pub(super) fn job_color(&self, job: &str) -> &'static str {
        let busy = self.busy_jobs.get_or_init(|| {
            self.state
                .agents
                .iter()
                .flat_map(|a| a.running.iter().map(|r| r.job.as_str()))
                .collect()
        });
        if busy.contains(job) {
            "blue_anime"
        } else {
            "blue"
        }
    }

    pub(super) fn running_of<'s>(
        &'s self,
        job: &'s str,
    ) -> impl Iterator<Item = (&'s Agent, &'s RunningBuild)> + 's {
        self.state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(move |r| (a, r)))
            .filter(move |(_, r)| r.job == job)
    }
}
