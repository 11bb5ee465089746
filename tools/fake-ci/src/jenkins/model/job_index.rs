//! What the state says about jobs, which exist in the fake only through the queue and
//! builds: their names, class (freestyle or pipeline), colour, folders and runs.

use std::collections::HashSet;

use super::context::Ctx;
use crate::state::{Agent, FinishedBuild, RunningBuild};

pub(super) const WORKFLOW_JOB: &str = "org.jenkinsci.plugins.workflow.job.WorkflowJob";
/// The runs of a freestyle job and of a `WorkflowJob`.
pub(super) const FREESTYLE_BUILD: &str = "hudson.model.FreeStyleBuild";
pub(super) const WORKFLOW_RUN: &str = "org.jenkinsci.plugins.workflow.job.WorkflowRun";
pub(super) const FOLDER: &str = "com.cloudbees.hudson.plugins.folder.Folder";

/// One run of a job: a build of the state's `builds`, or one an agent is running.
#[derive(Clone, Copy)]
pub(super) enum Run<'s> {
    Finished(&'s FinishedBuild),
    Running(&'s Agent, &'s RunningBuild),
}

impl Run<'_> {
    pub(super) fn number(&self) -> u64 {
        match self {
            Run::Finished(b) => b.number,
            Run::Running(_, r) => r.number,
        }
    }

    pub(super) fn building(&self) -> bool {
        match self {
            Run::Finished(b) => b.building,
            Run::Running(..) => true,
        }
    }

    /// The result of a completed run, `None` while building.
    pub(super) fn result(&self) -> Option<&str> {
        match self {
            Run::Finished(b) if !b.building => Some(b.result.as_str()),
            _ => None,
        }
    }
}

impl Ctx<'_> {
    pub(super) fn job_names(&self) -> Vec<&str> {
        let queued = self.state.queue.iter().map(|i| i.job.as_str());
        let running = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(|r| r.job.as_str()));
        let finished = self.state.builds.iter().map(|b| b.job.as_str());
        let pipelines = self.state.pipeline_jobs.iter().map(String::as_str);
        let mut seen = HashSet::new();
        queued
            .chain(running)
            .chain(finished)
            .chain(pipelines)
            .filter(|n| seen.insert(*n) && !n.is_empty())
            .collect()
    }

    /// A Pipeline job (`WorkflowJob`): one of the state's `pipeline_jobs` or one queued as
    /// a pipeline (`label_exposed: false`), from 2.94 on (before, the fake renders every
    /// job as freestyle).
    pub(super) fn is_pipeline(&self, name: &str) -> bool {
        self.job_class(name) == WORKFLOW_JOB
    }

    pub(super) fn job_class(&self, name: &str) -> &'static str {
        let pipelines = self.pipeline_jobs.get_or_init(|| {
            self.state
                .queue
                .iter()
                .filter(|i| !i.label_exposed)
                .map(|i| i.job.as_str())
                .chain(self.state.pipeline_jobs.iter().map(String::as_str))
                .collect()
        });
        let pipeline = pipelines.contains(name) && self.version.exports_labels();
        if pipeline {
            WORKFLOW_JOB
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

    /// Every run of `job`, newest first: the state's builds, then the running ones of
    /// the agents for numbers the builds do not have, each number once.
    pub(super) fn runs_of<'s>(&'s self, job: &'s str) -> Vec<Run<'s>> {
        let finished: Vec<Run> = self
            .state
            .builds
            .iter()
            .filter(|b| b.job == job)
            .map(Run::Finished)
            .collect();
        let mut known: HashSet<u64> = finished.iter().map(Run::number).collect();
        let mut runs = finished;
        // A Pipeline run with `node` blocks on several agents is one run.
        runs.extend(
            self.running_of(job)
                .filter(|(_, r)| known.insert(r.number))
                .map(|(a, r)| Run::Running(a, r)),
        );
        runs.sort_by_key(|r| std::cmp::Reverse(r.number()));
        runs
    }

    /// Run `number` of `job`, if the state has it.
    pub(super) fn run_of<'s>(&'s self, job: &'s str, number: u64) -> Option<Run<'s>> {
        self.state
            .builds
            .iter()
            .find(|b| b.job == job && b.number == number)
            .map(Run::Finished)
            .or_else(|| {
                self.running_of(job)
                    .find(|(_, r)| r.number == number)
                    .map(|(a, r)| Run::Running(a, r))
            })
    }

    /// Whether `name` is a folder: a proper prefix of some job's full name.
    pub(super) fn is_folder(&self, name: &str) -> bool {
        let prefix = format!("{name}/");
        self.job_names().iter().any(|j| j.starts_with(&prefix))
    }
}
