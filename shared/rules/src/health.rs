//! Agent health and recycling: an agent that fails every job it takes (a "botched" agent:
//! a full disk, a broken tool, a stuck container) or that reached its build limit is
//! drained and replaced. The rules are deliberately slow to fire: one flaky test, or a job
//! that is broken everywhere, never recycles an agent.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A finished build as the health rule needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedBuild {
    pub job: String,
    pub agent: String,
    pub finished_at: DateTime<Utc>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    /// The agent disconnected mid-build.
    Lost,
    /// Aborted by a person or superseded: says nothing about the agent.
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecycleReason {
    /// Failed several different jobs in a row that pass on other agents.
    FailingBuilds,
    /// Lost builds (disconnected mid-build) repeatedly.
    LostBuilds,
    /// The CI server reports the agent out of disk or swap.
    OutOfResources,
    /// Ran `max_builds_per_agent` builds.
    UseLimit,
}

impl RecycleReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RecycleReason::FailingBuilds => "failing-builds",
            RecycleReason::LostBuilds => "lost-builds",
            RecycleReason::OutOfResources => "out-of-resources",
            RecycleReason::UseLimit => "use-limit",
        }
    }
}

/// Thresholds (`HEALTH_*` variables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRules {
    /// Distinct jobs failed in a row, each passing elsewhere (default 3).
    pub failed_jobs_in_a_row: usize,
    /// Lost builds within `lost_window` (default 2 in an hour).
    pub lost_builds: usize,
    pub lost_window: Duration,
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules {
            failed_jobs_in_a_row: 3,
            lost_builds: 2,
            lost_window: Duration::from_secs(3600),
        }
    }
}

/// What is known about one agent at this run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentHealthFacts<'a> {
    pub agent: &'a str,
    /// Every known finished build, of every agent (to tell "fails here" from "fails everywhere").
    pub history: &'a [FinishedBuild],
    pub out_of_resources: bool,
    /// Builds this agent ran since its instance launched.
    pub builds_since_launch: u32,
    pub max_builds: Option<u32>,
}

/// Why the agent should be recycled, if it should.
pub fn assess(
    facts: &AgentHealthFacts<'_>,
    rules: HealthRules,
    now: DateTime<Utc>,
) -> Option<RecycleReason> {
    if facts.out_of_resources {
        return Some(RecycleReason::OutOfResources);
    }
    if facts
        .max_builds
        .is_some_and(|max| facts.builds_since_launch >= max.max(1))
    {
        return Some(RecycleReason::UseLimit);
    }
    let mut own: Vec<&FinishedBuild> = facts
        .history
        .iter()
        .filter(|b| b.agent == facts.agent)
        .collect();
    own.sort_by_key(|b| std::cmp::Reverse(b.finished_at));
    let window = chrono::Duration::from_std(rules.lost_window).unwrap_or(chrono::Duration::MAX);
    let lost = own
        .iter()
        .filter(|b| b.outcome == Outcome::Lost && now - b.finished_at <= window)
        .count();
    if rules.lost_builds > 0 && lost >= rules.lost_builds {
        return Some(RecycleReason::LostBuilds);
    }
    let passes_elsewhere: HashSet<&str> = facts
        .history
        .iter()
        .filter(|b| b.agent != facts.agent && b.outcome == Outcome::Passed)
        .map(|b| b.job.as_str())
        .collect();
    let mut failed_jobs = BTreeSet::new();
    for build in own {
        match build.outcome {
            Outcome::Passed => break,
            // A job failing everywhere is the job's fault, not the agent's: neither counts nor breaks the streak.
            Outcome::Failed if passes_elsewhere.contains(build.job.as_str()) => {
                failed_jobs.insert(build.job.as_str());
            }
            _ => {}
        }
    }
    (rules.failed_jobs_in_a_row > 0 && failed_jobs.len() >= rules.failed_jobs_in_a_row)
        .then_some(RecycleReason::FailingBuilds)
}

/// How many more agents of a pool may start recycling now: never more than `max_share`
/// of its in-service instances at once (at least one, so a one-instance pool can recycle).
pub fn recycle_budget(in_service: usize, already_recycling: usize, max_share: f64) -> usize {
    let allowed = ((in_service as f64) * max_share.clamp(0.0, 1.0)).floor() as usize;
    allowed.max(1).saturating_sub(already_recycling)
}

/// The agent offline reason that marks a recycle, and reads it back.
pub fn recycle_offline_reason(reason: RecycleReason) -> String {
    format!("recycle: {}", reason.as_str())
}

pub fn is_recycle_offline_reason(text: &str) -> bool {
    text.starts_with("recycle: ")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("valid")
    }

    /// `build("bad-agent", "job-a", Failed, 10)`: finished 10 minutes ago.
    fn build(agent: &str, job: &str, outcome: Outcome, minutes_ago: i64) -> FinishedBuild {
        FinishedBuild {
            job: job.into(),
            agent: agent.into(),
            finished_at: now() - chrono::Duration::minutes(minutes_ago),
            outcome,
        }
    }

    fn assess_agent(history: &[FinishedBuild]) -> Option<RecycleReason> {
        let facts = AgentHealthFacts {
            agent: "a1",
            history,
            out_of_resources: false,
            builds_since_launch: 0,
            max_builds: None,
        };
        assess(&facts, HealthRules::default(), now())
    }

    #[test]
    fn recycles_agents_that_fail_what_passes_elsewhere_and_nothing_else() {
        use Outcome::*;
        let elsewhere = |job| build("a2", job, Passed, 50);
        let cases: Vec<(&str, Vec<FinishedBuild>, Option<RecycleReason>)> = vec![
            (
                "three different jobs fail here and pass elsewhere",
                vec![
                    build("a1", "api", Failed, 3),
                    build("a1", "web", Failed, 2),
                    build("a1", "cli", Failed, 1),
                    elsewhere("api"),
                    elsewhere("web"),
                    elsewhere("cli"),
                ],
                Some(RecycleReason::FailingBuilds),
            ),
            (
                "one flaky test: the same job failing three times is one job",
                vec![
                    build("a1", "api", Failed, 3),
                    build("a1", "api", Failed, 2),
                    build("a1", "api", Failed, 1),
                    elsewhere("api"),
                ],
                None,
            ),
            (
                "jobs broken everywhere do not count",
                vec![
                    build("a1", "api", Failed, 3),
                    build("a1", "web", Failed, 2),
                    build("a1", "cli", Failed, 1),
                    elsewhere("api"),
                    build("a2", "web", Failed, 9),
                ],
                None,
            ),
            (
                "a pass here breaks the streak",
                vec![
                    build("a1", "api", Failed, 4),
                    build("a1", "web", Failed, 3),
                    build("a1", "docs", Passed, 2),
                    build("a1", "cli", Failed, 1),
                    elsewhere("api"),
                    elsewhere("web"),
                    elsewhere("cli"),
                ],
                None,
            ),
            (
                "aborted builds neither count nor break",
                vec![
                    build("a1", "api", Failed, 4),
                    build("a1", "web", Aborted, 3),
                    build("a1", "web", Failed, 2),
                    build("a1", "cli", Failed, 1),
                    elsewhere("api"),
                    elsewhere("web"),
                    elsewhere("cli"),
                ],
                Some(RecycleReason::FailingBuilds),
            ),
            (
                "two lost builds within the hour",
                vec![build("a1", "api", Lost, 50), build("a1", "web", Lost, 5)],
                Some(RecycleReason::LostBuilds),
            ),
            (
                "lost builds far apart",
                vec![build("a1", "api", Lost, 200), build("a1", "web", Lost, 5)],
                None,
            ),
            (
                "other agents' failures are theirs",
                vec![
                    build("a2", "api", Failed, 3),
                    build("a2", "web", Failed, 2),
                    build("a2", "cli", Failed, 1),
                ],
                None,
            ),
        ];
        for (name, history, expected) in cases {
            assert_eq!(assess_agent(&history), expected, "{name}");
        }
    }

    #[test]
    fn resources_and_use_limits() {
        let facts = |out_of_resources, builds, max| AgentHealthFacts {
            agent: "a1",
            history: &[],
            out_of_resources,
            builds_since_launch: builds,
            max_builds: max,
        };
        let cases = [
            (facts(true, 0, None), Some(RecycleReason::OutOfResources)),
            (facts(false, 1, Some(1)), Some(RecycleReason::UseLimit)),
            (facts(false, 0, Some(1)), None),
            (facts(false, 49, Some(50)), None),
            (facts(false, 50, Some(50)), Some(RecycleReason::UseLimit)),
            (facts(false, 1000, None), None),
        ];
        for (facts, expected) in cases {
            assert_eq!(
                assess(&facts, HealthRules::default(), now()),
                expected,
                "{facts:?}"
            );
        }
    }

    #[test]
    fn never_recycles_more_than_the_share() {
        let cases = [
            (10, 0, 0.25, 2),
            (10, 2, 0.25, 0),
            (10, 1, 0.25, 1),
            (1, 0, 0.25, 1),
            (3, 1, 0.25, 0),
            (0, 0, 0.25, 1),
            (8, 0, 1.0, 8),
        ];
        for (in_service, recycling, share, expected) in cases {
            assert_eq!(
                recycle_budget(in_service, recycling, share),
                expected,
                "{in_service} in service, {recycling} recycling, share {share}"
            );
        }
    }

    #[test]
    fn the_offline_reason_marks_a_recycle() {
        let reason = recycle_offline_reason(RecycleReason::UseLimit);
        assert_eq!(reason, "recycle: use-limit");
        assert!(
            is_recycle_offline_reason(&reason)
                && !is_recycle_offline_reason("spot interruption: i-1")
        );
    }
}
