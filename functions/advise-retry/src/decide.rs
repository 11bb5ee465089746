//! The third step, pure: the rules classify the failure from the facts and apply the
//! policy to its class and the chain's history; a retry becomes the [`Requeue`] to ask of
//! the CI server (what to queue; its adapter knows how).

use std::collections::BTreeMap;

use rules::retry::{
    Classification, Decision, FailureClass, FailureFacts, History, RetryPolicy, Verdict, classify,
    decide,
};
use shared::ports::builds::{FinishedBuild, Requeue};

use crate::facts::{Evidence, FailedBuild};
use crate::report::Stop;

/// What the rules made of a failure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub classification: Classification,
    /// As the report shows it.
    pub decision: Decision,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    Retry(Retry),
    Deny { reason: String },
}

#[derive(Debug, Clone)]
pub struct Retry {
    pub requeue: Requeue,
    /// This retry's number for the logical build, from 1.
    pub attempt: u32,
    pub max_retries: u32,
    /// Why these resources, in a sentence.
    pub explanation: String,
}

/// Classifies the failure and decides; what is no failure after all is ignored.
pub fn plan(
    policy: &RetryPolicy,
    failed: &FailedBuild,
    evidence: &Evidence,
    history: &History,
    logical_build: &str,
) -> Result<Plan, Stop> {
    let verdict = classify(&FailureFacts {
        status: failed.status,
        log_tail: &evidence.log,
        status_text: &failed.build.status_text,
        interruption: evidence.interruption.as_deref(),
        agent_disconnected: evidence.agent_disconnected,
        exit_code: None,
    });
    let classification = match verdict {
        Verdict::NotAFailure(reason) => return Err(Stop::ignored(reason)),
        Verdict::Failed(classification) => classification,
    };
    let class = classification.class;
    let decision = decide(policy, class, &failed.build.parameters, history);
    let action = match &decision {
        Decision::Retry {
            overrides,
            explanation,
            attempt,
            max_retries,
        } => Action::Retry(Retry {
            requeue: requeue(
                &failed.build,
                overrides,
                marks(policy, class, logical_build),
                format!(
                    "ci-fleet retry {attempt}/{max_retries} of #{} ({class}): {explanation}",
                    failed.build.build.id
                ),
            ),
            attempt: *attempt,
            max_retries: *max_retries,
            explanation: explanation.clone(),
        }),
        Decision::Deny { reason } => Action::Deny {
            reason: reason.clone(),
        },
    };
    Ok(Plan {
        classification,
        decision,
        action,
    })
}

/// The parameters that tell a retry apart: its reason and the chain it belongs to.
fn marks(
    policy: &RetryPolicy,
    class: FailureClass,
    logical_build: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (policy.reason_parameter.clone(), class.to_string()),
        (policy.retry_of_parameter.clone(), logical_build.to_owned()),
    ])
}

/// The failed build again: the parameters it was given with the decision's overrides, on
/// the same branch and revisions.
fn requeue(
    build: &FinishedBuild,
    overrides: &BTreeMap<String, String>,
    marks: BTreeMap<String, String>,
    comment: String,
) -> Requeue {
    let mut parameters = build.custom_parameters.clone();
    parameters.extend(overrides.clone());
    Requeue {
        build: build.build.clone(),
        parameters,
        marks,
        branch: build.branch.clone(),
        revisions: build.revisions.clone(),
        comment,
    }
}
