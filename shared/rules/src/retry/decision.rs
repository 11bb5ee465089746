//! Whether a classified failure is retried, and with which parameters: the policy applied
//! to the class, the build's parameters and its logical build's history.

use std::collections::BTreeMap;

use serde::Serialize;

use super::class::FailureClass;
use super::history::History;
use super::policy::{Ladder, RetryPolicy};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    Retry {
        /// Parameters the retry changes (on top of the build's own).
        overrides: BTreeMap<String, String>,
        /// Why these resources, in a sentence.
        explanation: String,
        /// This retry's number for the logical build, from 1.
        attempt: u32,
        max_retries: u32,
    },
    Deny {
        reason: String,
    },
}

/// The parameters a retry changes, and why; or why a retry cannot help.
type Resources = Result<(BTreeMap<String, String>, String), String>;

/// Applies the policy to one classified failure of a build with `parameters`: whether
/// the class is retried at all, whether a retry could help (the memory ladder has a step
/// left), then the class's and the build's retry budgets.
pub fn decide(
    policy: &RetryPolicy,
    class: FailureClass,
    parameters: &BTreeMap<String, String>,
    history: &History,
) -> Decision {
    let allowed = policy.allowed(class);
    let planned = if allowed == 0 {
        Err(never_retried(class))
    } else {
        resources(policy, class, parameters, history, allowed)
    };
    let outcome = planned.and_then(|resources| {
        within_budget(policy, class, allowed, history)?;
        Ok(resources)
    });
    match outcome {
        Ok((overrides, explanation)) => Decision::Retry {
            overrides,
            explanation,
            attempt: history.retries + 1,
            max_retries: policy.max_retries,
        },
        Err(reason) => Decision::Deny { reason },
    }
}

fn never_retried(class: FailureClass) -> String {
    match class {
        FailureClass::Deterministic => {
            "deterministic: a retry would fail the same way; not retried".into()
        }
        FailureClass::Timeout => "timeout: a retry would run out of time again; not retried".into(),
        other => format!("{other}: not retried by policy (retries.{other} is 0)"),
    }
}

/// What the retry of `class` runs with: more memory for an OOM, on-demand after enough
/// spot interruptions, else the same parameters.
fn resources(
    policy: &RetryPolicy,
    class: FailureClass,
    parameters: &BTreeMap<String, String>,
    history: &History,
    allowed: u32,
) -> Resources {
    match class {
        FailureClass::Oom => match &policy.memory_ladder {
            Some(ladder) => one_step_up(ladder, parameters),
            None => Err(
                "oom: no memory ladder configured (RETRY_POLICY.memory_ladder), and the same memory would be killed again"
                    .into(),
            ),
        },
        FailureClass::SpotInterruption => Ok(after_interruption(policy, history)),
        FailureClass::AgentLost => Ok((
            BTreeMap::new(),
            "agent lost: same parameters on another agent".into(),
        )),
        FailureClass::Infrastructure => Ok((
            BTreeMap::new(),
            "infrastructure trouble: same parameters".into(),
        )),
        FailureClass::Timeout | FailureClass::Deterministic => Ok((
            BTreeMap::new(),
            format!("{class}: retried because the policy allows {allowed}"),
        )),
    }
}

/// The next step of the memory ladder; a build without the parameter is on the first.
fn one_step_up(ladder: &Ladder, parameters: &BTreeMap<String, String>) -> Resources {
    let current = match parameters.get(&ladder.parameter) {
        None => 0,
        Some(value) => ladder
            .steps
            .iter()
            .position(|s| s == value)
            .ok_or_else(|| {
                format!(
                    "oom: {}={value} is not on the memory ladder {:?}",
                    ladder.parameter, ladder.steps
                )
            })?,
    };
    let Some(next) = ladder.steps.get(current + 1) else {
        return Err(format!(
            "oom: already at the top of the memory ladder ({}={})",
            ladder.parameter, ladder.steps[current]
        ));
    };
    let explanation = format!(
        "one step up the memory ladder: {} {} → {next}",
        ladder.parameter, ladder.steps[current]
    );
    Ok((
        BTreeMap::from([(ladder.parameter.clone(), next.clone())]),
        explanation,
    ))
}

/// Counting the interruption at hand: on the on-demand pool once the policy says so.
fn after_interruption(
    policy: &RetryPolicy,
    history: &History,
) -> (BTreeMap<String, String>, String) {
    let interruptions = history
        .failures_by_class
        .get(&FailureClass::SpotInterruption)
        .copied()
        .unwrap_or(0)
        // A stored count at the limit stays there: wrapping would skip the on-demand switch.
        .saturating_add(1);
    match &policy.on_demand {
        Some(on_demand) if interruptions >= on_demand.after_spot_interruptions => (
            BTreeMap::from([(on_demand.parameter.clone(), on_demand.value.clone())]),
            format!(
                "spot interruption {interruptions} of this build: on the on-demand pool ({}={})",
                on_demand.parameter, on_demand.value
            ),
        ),
        _ => (
            BTreeMap::new(),
            format!(
                "spot interruption {interruptions} of this build: same parameters, the checkpoint skips what passed"
            ),
        ),
    }
}

/// The class's budget, then the logical build's.
fn within_budget(
    policy: &RetryPolicy,
    class: FailureClass,
    allowed: u32,
    history: &History,
) -> Result<(), String> {
    let used = history.retries_by_class.get(&class).copied().unwrap_or(0);
    if used >= allowed {
        return Err(format!(
            "{class}: {used} of {allowed} {class} retries used for this build"
        ));
    }
    if history.retries >= policy.max_retries {
        return Err(format!(
            "retry budget exhausted: {} of {} retries used for this build",
            history.retries, policy.max_retries
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
