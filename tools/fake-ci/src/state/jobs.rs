//! What the state document says about a Jenkins job's configuration (`job_config`): the
//! parameters it declares and whether the queue refuses its builds. Jobs still exist
//! only through the queue, builds and `pipeline_jobs` (`FakeState::has_job`); the queries
//! over the whole document (`FakeState::declared_parameters` and the like) are in mod.rs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
