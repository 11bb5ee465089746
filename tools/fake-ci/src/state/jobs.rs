//! What the state document says about a Jenkins job's configuration (`job_config`): the
//! parameters it declares and whether the queue refuses its builds. Jobs still exist
//! only through the queue, builds and `pipeline_jobs` (`FakeState::has_job`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FakeState, QueueItem, QueueState};

/// One job's configuration, by full name in `job_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobConfig {
    /// The string parameters the job declares (its `ParametersDefinitionProperty`), name →
    /// default value. Absent: the names its finished builds had, each with default `""`.
    /// Empty: the job declares none (Jenkins drops an empty property).
    pub parameters: Option<BTreeMap<String, String>>,
    /// A `QueueDecisionHandler` vetoes every build of the job: `Queue.schedule2` answers
    /// `ScheduleResult.refused()`, the triggers a 302 to the job.
    pub schedule_vetoed: bool,
}

impl FakeState {
    /// The parameters `job` declares with their defaults, in name order; `None` when it
    /// is not parameterized. `job_config` wins; else the names its finished builds had.
    pub fn declared_parameters(&self, job: &str) -> Option<BTreeMap<String, String>> {
        let declared = match self.job_config.get(job).and_then(|c| c.parameters.clone()) {
            Some(declared) => declared,
            None => (self.builds.iter())
                .filter(|b| b.job == job)
                .flat_map(|b| b.parameters.keys())
                .map(|name| (name.clone(), String::new()))
                .collect(),
        };
        (!declared.is_empty()).then_some(declared)
    }

    /// Whether a `QueueDecisionHandler` refuses builds of `job`.
    pub fn schedule_vetoed(&self, job: &str) -> bool {
        self.job_config.get(job).is_some_and(|c| c.schedule_vetoed)
    }

    /// The parameters of a queue item: those recorded when it was triggered through the
    /// API, none for an item the state document put in the queue.
    pub fn queued_parameters(&self, item: &QueueItem) -> BTreeMap<String, String> {
        (self.triggered.iter())
            .find(|t| t.queue_id == item.id && t.job == item.job)
            .map(|t| t.parameters.clone())
            .unwrap_or_default()
    }

    /// The queue item a new build of `job` with `parameters` would be merged into
    /// (`Queue.scheduleInternal`): an item of the job's own task (a Pipeline's `node`
    /// block, `label_exposed: false`, is a `PlaceholderTask`, another task) that is not
    /// pending (`liveGetItems` skips pendings), and whose `ParametersAction` holds the same
    /// values (`ParametersAction.shouldSchedule`; no parameters on either side are equal).
    /// Blocked items come first, then buildable, then waiting ones, as `liveGetItems`
    /// lists them.
    pub fn equal_queue_item(
        &self,
        job: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Option<&QueueItem> {
        let rank = |item: &QueueItem| match item.state {
            QueueState::Blocked => 0,
            QueueState::Buildable => 1,
            QueueState::Waiting => 2,
        };
        (self.queue.iter())
            .filter(|i| i.job == job && i.label_exposed && !i.pending)
            .filter(|i| self.queued_parameters(i) == *parameters)
            .min_by_key(|i| rank(i))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::state::FakeState;

    #[test]
    fn declared_parameters_come_from_job_config_else_from_builds() {
        let state: FakeState = serde_json::from_str(
            r#"{"job_config":{"a":{"parameters":{"X":"1"}},"c":{"parameters":{}}},
                "builds":[{"job":"a","parameters":{"OLD":"x"}},{"job":"b","parameters":{"Y":"y"}},
                          {"job":"b","number":2,"parameters":{"Z":"z"}},{"job":"c","parameters":{"X":"1"}},
                          {"job":"d"}]}"#,
        )
        .expect("parses");
        let names = |job: &str| {
            state
                .declared_parameters(job)
                .map(|d| d.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(names("a"), Some(vec![("X".to_owned(), "1".to_owned())]));
        assert_eq!(
            names("b"),
            Some(vec![
                ("Y".to_owned(), String::new()),
                ("Z".to_owned(), String::new())
            ]),
            "every name its builds had, default empty"
        );
        assert_eq!(names("c"), None, "an empty declaration is none");
        assert_eq!(names("d"), None);
    }

    #[test]
    fn an_equal_item_is_the_same_task_with_the_same_values() {
        let state: FakeState = serde_json::from_str(
            r#"{"queue":[{"id":1,"job":"p","label_exposed":false},{"id":2,"job":"j","pending":true},
                         {"id":3,"job":"j","state":"waiting"},{"id":4,"job":"j","state":"blocked"},
                         {"id":5,"job":"k"}],
                "triggered":[{"queue_id":5,"job":"k","parameters":{"X":"1"}}]}"#,
        )
        .expect("parses");
        let none = BTreeMap::new();
        let x1: BTreeMap<String, String> = [("X".to_owned(), "1".to_owned())].into();
        let id = |job: &str, parameters: &BTreeMap<String, String>| {
            state.equal_queue_item(job, parameters).map(|i| i.id)
        };
        assert_eq!(id("p", &none), None, "a node block is a PlaceholderTask");
        assert_eq!(
            id("j", &none),
            Some(4),
            "blocked before waiting; pending never"
        );
        assert_eq!(id("j", &x1), None, "parameters against none");
        assert_eq!(id("k", &x1), Some(5), "its triggered values");
        assert_eq!(id("k", &none), None);
    }
}
