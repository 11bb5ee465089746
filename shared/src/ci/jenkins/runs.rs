//! How the runs of the run ledger stand (`CiServer::run_states`): one small GET per run,
//! `…/job/<path>/<N>/api/json?tree=result,building,timestamp,duration`, and for a run
//! that ended ABORTED its log's tail, since a Pipeline whose agent was lost ends ABORTED
//! (REAL-SERVERS #1, #11): those are lost builds, not a person's abort.

use chrono::{TimeZone, Utc};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;

use super::builds::{JenkinsBuilds, job_path};
use super::history::jenkins_outcome;
use crate::ci::error::{CiError, Problem};
use crate::ci::http::CiHttp;
use crate::ports::builds::{BuildControl, BuildRef};
use rules::health::Outcome;
use rules::ledger::{RunEnd, RunState, job_of_run, number_of_run};
use rules::retry::shows_agent_loss;

/// Runs asked at once.
const AT_ONCE: usize = 4;
/// The log tail read for an aborted run: the agent-loss lines come last.
const ABORTED_LOG_TAIL: usize = 16 * 1024;

/// One run's answer, boxed: rustc cannot prove `Send` for a closure's `async` block
/// for every lifetime (the handlers' futures must be).
type Answer<'a> = BoxFuture<'a, (String, Result<RunState, CiError>)>;

pub async fn run_states(
    http: &CiHttp,
    runs: &[String],
) -> Result<Vec<(String, RunState)>, CiError> {
    let reads: Vec<Answer<'_>> = runs.iter().map(|run| state_of(http, run)).collect();
    let mut answers = stream::iter(reads).buffer_unordered(AT_ONCE);
    let mut states = Vec::with_capacity(runs.len());
    while let Some((run, state)) = answers.next().await {
        states.push((run, state?));
    }
    Ok(states)
}

#[derive(Deserialize)]
struct RunJson {
    #[serde(default)]
    building: bool,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    duration: Option<i64>,
}

fn state_of<'a>(http: &'a CiHttp, run: &'a str) -> Answer<'a> {
    Box::pin(async move {
        let Some(build) = build_of(run) else {
            // Not a run URL ci-fleet can read back: nothing to learn, ever.
            tracing::warn!(run, "not a Jenkins run URL: forgotten");
            return (run.to_owned(), Ok(RunState::Gone));
        };
        let path = format!(
            "{}/{}/api/json?tree=result,building,timestamp,duration",
            job_path(&build.job),
            build.id
        );
        let answer = match http.get_json::<RunJson>(&path).await {
            Ok(json) => ended(http, &build, json).await,
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => Ok(RunState::Gone),
            Err(e) => Err(e),
        };
        (run.to_owned(), answer)
    })
}

fn build_of(run: &str) -> Option<BuildRef> {
    let job = job_of_run(run);
    let id = number_of_run(run)?;
    (!job.is_empty() && run.contains("/job/")).then_some(BuildRef { job, id })
}

async fn ended(http: &CiHttp, build: &BuildRef, json: RunJson) -> Result<RunState, CiError> {
    if json.building {
        return Ok(RunState::Running);
    }
    // Over, with a result the health rule does not read: nothing to learn from it.
    let Some(outcome) = json.result.as_deref().and_then(jenkins_outcome) else {
        return Ok(RunState::Gone);
    };
    let finished_ms =
        (json.timestamp.unwrap_or(0)).saturating_add(json.duration.unwrap_or(0).max(0));
    let Some(at) = Utc.timestamp_millis_opt(finished_ms).single() else {
        return Ok(RunState::Gone);
    };
    let outcome = match (outcome, json.result.as_deref()) {
        (Outcome::Aborted, Some("ABORTED")) => aborted(http, build).await,
        (outcome, _) => outcome,
    };
    Ok(RunState::Ended(RunEnd { at, outcome }))
}

/// An aborted run lost its agent when its log says so; a log that cannot be read leaves
/// it a person's abort, which recycles nothing.
async fn aborted(http: &CiHttp, build: &BuildRef) -> Outcome {
    let builds = JenkinsBuilds::new(http.clone());
    match builds.log_tail(build, ABORTED_LOG_TAIL).await {
        Ok(tail) if shows_agent_loss(&tail.text) => Outcome::Lost,
        Ok(_) => Outcome::Aborted,
        Err(e) => {
            tracing::warn!(build = %build, error = %e, "aborted run's log unreadable: counted as aborted");
            Outcome::Aborted
        }
    }
}
