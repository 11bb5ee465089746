//! `RETRY_POLICY`: what is retried, how often, and with which overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::class::FailureClass;

/// `RETRY_POLICY`: what is retried, how often, and with which overrides. Every field has
/// a default; `RETRY_POLICY` need only name what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Retries of one logical build, all reasons together (default 3).
    pub max_retries: u32,
    /// Retries per class (defaults: spot-interruption 3, agent-lost 2, oom 2,
    /// infrastructure 1, timeout 0, deterministic 0). 0 means never.
    pub retries: BTreeMap<FailureClass, u32>,
    /// `oom` retries go one step up this ladder; without it an OOM is not retried.
    pub memory_ladder: Option<Ladder>,
    /// After this many spot interruptions of one logical build, retry on on-demand.
    pub on_demand: Option<OnDemand>,
    /// The build parameter that carries the retry's reason (default `CI_FLEET_RETRY_REASON`).
    pub reason_parameter: String,
    /// The build parameter that names the logical build a retry belongs to (default
    /// `CI_FLEET_RETRY_OF`), so a retry's retry counts against the same budget.
    pub retry_of_parameter: String,
}

/// Memory steps as values of one build parameter: a pool label the job's agent label
/// uses (`linux-8g`, `linux-16g`, …) or a memory size its container request uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    pub parameter: String,
    /// Smallest first. A build without the parameter runs on the first step (the job's
    /// default); a value not on the ladder is not escalated.
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDemand {
    /// Counting the interruption at hand (default 2: the second interruption moves it).
    #[serde(default = "default_after_spot")]
    pub after_spot_interruptions: u32,
    pub parameter: String,
    pub value: String,
}

fn default_after_spot() -> u32 {
    2
}

/// The JSON `RETRY_POLICY` holds; absent fields keep the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyJson {
    max_retries: Option<u32>,
    #[serde(default)]
    retries: BTreeMap<FailureClass, u32>,
    memory_ladder: Option<Ladder>,
    on_demand: Option<OnDemand>,
    reason_parameter: Option<String>,
    retry_of_parameter: Option<String>,
}

/// A retry budget beyond this is a loop, not a policy.
pub const MAX_RETRIES_LIMIT: u32 = 10;

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            retries: [
                (FailureClass::SpotInterruption, 3),
                (FailureClass::AgentLost, 2),
                (FailureClass::Oom, 2),
                (FailureClass::Infrastructure, 1),
                (FailureClass::Timeout, 0),
                (FailureClass::Deterministic, 0),
            ]
            .into(),
            memory_ladder: None,
            on_demand: None,
            reason_parameter: "CI_FLEET_RETRY_REASON".into(),
            retry_of_parameter: "CI_FLEET_RETRY_OF".into(),
        }
    }
}

impl RetryPolicy {
    /// Parses `RETRY_POLICY` over the defaults; the error says what is wrong.
    pub fn parse(json: &str) -> Result<RetryPolicy, String> {
        let raw: PolicyJson = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut policy = RetryPolicy::default();
        if let Some(max) = raw.max_retries {
            policy.max_retries = max;
        }
        policy.retries.extend(raw.retries);
        policy.memory_ladder = raw.memory_ladder;
        policy.on_demand = raw.on_demand;
        if let Some(p) = raw.reason_parameter {
            policy.reason_parameter = p;
        }
        if let Some(p) = raw.retry_of_parameter {
            policy.retry_of_parameter = p;
        }
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(format!(
                "max_retries {} is more than {MAX_RETRIES_LIMIT}",
                self.max_retries
            ));
        }
        let parameter_ok = |p: &str| {
            !p.trim().is_empty()
                && p.len() <= 255
                && !p.contains(|c: char| c.is_whitespace() || matches!(c, '=' | '&'))
        };
        for (what, p) in [
            ("reason_parameter", &self.reason_parameter),
            ("retry_of_parameter", &self.retry_of_parameter),
        ] {
            if !parameter_ok(p) {
                return Err(format!("{what} {p:?} is not a parameter name"));
            }
        }
        if let Some(ladder) = &self.memory_ladder {
            if !parameter_ok(&ladder.parameter) {
                return Err(format!(
                    "memory_ladder.parameter {:?} is not a parameter name",
                    ladder.parameter
                ));
            }
            if ladder.steps.len() < 2 {
                return Err("memory_ladder.steps needs at least two steps".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(twice) = ladder.steps.iter().find(|s| !seen.insert(s.as_str())) {
                return Err(format!("memory_ladder.steps lists {twice:?} twice"));
            }
        }
        if let Some(on_demand) = &self.on_demand {
            if !parameter_ok(&on_demand.parameter) {
                return Err(format!(
                    "on_demand.parameter {:?} is not a parameter name",
                    on_demand.parameter
                ));
            }
            if on_demand.after_spot_interruptions == 0 {
                return Err("on_demand.after_spot_interruptions must be at least 1".into());
            }
        }
        Ok(())
    }

    pub fn allowed(&self, class: FailureClass) -> u32 {
        self.retries.get(&class).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
