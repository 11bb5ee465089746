//! Scale-in protection: which instances Auto Scaling may take. Busy agents, agents that
//! just went idle, and instances still booting are protected; idle-past-grace agents and
//! agents taken offline (a drain, an interruption) are not. On unknown CI state nothing is
//! unprotected (docs/design.md#unknown-is-never-idle).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What is known about one InService instance at this run.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceView {
    pub protected: bool,
    /// Launch time, or when ci-fleet first saw the instance.
    pub since: DateTime<Utc>,
    pub agent: AgentView,
    /// When the agent was last seen going idle (kept between runs).
    pub idle_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentView {
    /// The CI server could not be read: nothing is known.
    Unknown {
        busy_at_last_reading: bool,
    },
    /// No agent registered under any of the instance's names, or registered but disconnected.
    NotRegistered,
    /// Online and taking work.
    Busy,
    Idle,
    /// Registered but not accepting tasks: taken offline for a drain, an interruption or by a person.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Graces {
    pub boot: Duration,
    pub idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Busy,
    IdleWithinGrace,
    IdlePastGrace,
    Booting,
    NeverRegistered,
    TakenOffline,
    CiUnknownKeep,
    CiUnknownWasBusy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub protect: bool,
    pub reason: Reason,
}

impl Verdict {
    /// Whether the verdict asks for a call (the current protection differs).
    pub fn changes(&self, view: &InstanceView) -> bool {
        self.protect != view.protected
    }
}

pub fn decide(view: &InstanceView, graces: Graces, now: DateTime<Utc>) -> Verdict {
    let age = |since: DateTime<Utc>| (now - since).to_std().unwrap_or_default();
    let verdict = |protect, reason| Verdict { protect, reason };
    match view.agent {
        // Unknown never unprotects; it protects only what was busy when last known.
        AgentView::Unknown {
            busy_at_last_reading: true,
        } => verdict(true, Reason::CiUnknownWasBusy),
        AgentView::Unknown {
            busy_at_last_reading: false,
        } => verdict(view.protected, Reason::CiUnknownKeep),
        AgentView::Busy => verdict(true, Reason::Busy),
        AgentView::Offline => verdict(false, Reason::TakenOffline),
        // First seen idle now: the grace starts now.
        AgentView::Idle if age(view.idle_since.unwrap_or(now)) >= graces.idle => {
            verdict(false, Reason::IdlePastGrace)
        }
        AgentView::Idle => verdict(true, Reason::IdleWithinGrace),
        AgentView::NotRegistered if age(view.since) < graces.boot => verdict(true, Reason::Booting),
        AgentView::NotRegistered => verdict(false, Reason::NeverRegistered),
    }
}

/// The idle-since time to keep for the next run.
pub fn next_idle_since(
    agent: AgentView,
    previous: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match agent {
        AgentView::Idle => Some(previous.unwrap_or(now)),
        AgentView::Unknown { .. } => previous,
        _ => None,
    }
}

/// One instance's protection at this run: the verdict, whether it asks for a call, and the
/// idle-since to remember for the next run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub verdict: Verdict,
    pub changes: bool,
    pub idle_since: Option<DateTime<Utc>>,
}

/// A pool's protection step: the one both protect-busy-agents and fleet-sim run over a
/// pool's InService instances, so the simulator replays exactly what the function decides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoolProtection {
    /// One step per view, in the views' order.
    pub steps: Vec<Step>,
    /// How many instances stay (or become) protected.
    pub protected: usize,
}

impl PoolProtection {
    /// The instances whose protection must change: their index in the views, and the step.
    pub fn changes(&self) -> impl Iterator<Item = (usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, step)| step.changes)
    }
}

pub fn protect_pool<'a>(
    views: impl IntoIterator<Item = &'a InstanceView>,
    graces: Graces,
    now: DateTime<Utc>,
) -> PoolProtection {
    let steps: Vec<Step> = views
        .into_iter()
        .map(|view| {
            let verdict = decide(view, graces, now);
            Step {
                verdict,
                changes: verdict.changes(view),
                idle_since: next_idle_since(view.agent, view.idle_since, now),
            }
        })
        .collect();
    let protected = steps.iter().filter(|step| step.verdict.protect).count();
    PoolProtection { steps, protected }
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

    fn secs_ago(s: i64) -> DateTime<Utc> {
        now() - chrono::Duration::seconds(s)
    }

    #[test]
    fn protects_exactly_what_scale_in_must_not_take() {
        let graces = Graces {
            boot: Duration::from_secs(600),
            idle: Duration::from_secs(120),
        };
        let view = |protected, since_s, agent, idle_s: Option<i64>| InstanceView {
            protected,
            since: secs_ago(since_s),
            agent,
            idle_since: idle_s.map(secs_ago),
        };
        let unknown = |busy| AgentView::Unknown {
            busy_at_last_reading: busy,
        };
        // (case, view, protect, reason, is a change)
        let cases = [
            (
                "busy agent gets protected",
                view(false, 3600, AgentView::Busy, None),
                true,
                Reason::Busy,
                true,
            ),
            (
                "busy agent stays protected, no call",
                view(true, 3600, AgentView::Busy, None),
                true,
                Reason::Busy,
                false,
            ),
            (
                "just went idle: grace",
                view(true, 3600, AgentView::Idle, Some(30)),
                true,
                Reason::IdleWithinGrace,
                false,
            ),
            (
                "idle, first seen idle now: grace",
                view(true, 3600, AgentView::Idle, None),
                true,
                Reason::IdleWithinGrace,
                false,
            ),
            (
                "idle past grace: unprotected",
                view(true, 3600, AgentView::Idle, Some(121)),
                false,
                Reason::IdlePastGrace,
                true,
            ),
            (
                "idle exactly at grace: unprotected",
                view(true, 3600, AgentView::Idle, Some(120)),
                false,
                Reason::IdlePastGrace,
                true,
            ),
            (
                "booting, no agent yet: protected",
                view(false, 60, AgentView::NotRegistered, None),
                true,
                Reason::Booting,
                true,
            ),
            (
                "never registered after boot grace",
                view(true, 601, AgentView::NotRegistered, None),
                false,
                Reason::NeverRegistered,
                true,
            ),
            (
                "offline for a drain: not protected",
                view(true, 3600, AgentView::Offline, None),
                false,
                Reason::TakenOffline,
                true,
            ),
            (
                "CI unknown keeps protection",
                view(true, 3600, unknown(false), None),
                true,
                Reason::CiUnknownKeep,
                false,
            ),
            (
                "CI unknown never unprotects",
                view(true, 3600, unknown(false), Some(9999)),
                true,
                Reason::CiUnknownKeep,
                false,
            ),
            (
                "CI unknown does not protect the idle",
                view(false, 3600, unknown(false), None),
                false,
                Reason::CiUnknownKeep,
                false,
            ),
            (
                "CI unknown protects the last known busy",
                view(false, 3600, unknown(true), None),
                true,
                Reason::CiUnknownWasBusy,
                true,
            ),
        ];
        for (name, view, protect, reason, change) in cases {
            let verdict = decide(&view, graces, now());
            assert_eq!(
                (verdict.protect, verdict.reason, verdict.changes(&view)),
                (protect, reason, change),
                "{name}"
            );
        }
    }

    #[test]
    fn idle_since_survives_runs_and_resets_on_work() {
        let earlier = Some(secs_ago(90));
        assert_eq!(next_idle_since(AgentView::Idle, None, now()), Some(now()));
        assert_eq!(next_idle_since(AgentView::Idle, earlier, now()), earlier);
        assert_eq!(next_idle_since(AgentView::Busy, earlier, now()), None);
        assert_eq!(
            next_idle_since(
                AgentView::Unknown {
                    busy_at_last_reading: false
                },
                earlier,
                now()
            ),
            earlier
        );
        assert_eq!(next_idle_since(AgentView::Offline, earlier, now()), None);
    }

    #[test]
    fn a_pool_step_lists_the_changes_counts_the_protected_and_remembers_idle() {
        let graces = Graces {
            boot: Duration::from_secs(600),
            idle: Duration::from_secs(120),
        };
        let view = |protected, agent, idle_s: Option<i64>| InstanceView {
            protected,
            since: secs_ago(3600),
            agent,
            idle_since: idle_s.map(secs_ago),
        };
        let views = [
            view(false, AgentView::Busy, None),
            view(true, AgentView::Idle, Some(300)),
            view(true, AgentView::Idle, None),
            view(true, AgentView::Offline, None),
        ];
        let pool = protect_pool(&views, graces, now());
        let changes: Vec<(usize, bool, Reason)> = pool
            .changes()
            .map(|(i, step)| (i, step.verdict.protect, step.verdict.reason))
            .collect();
        assert_eq!(
            changes,
            vec![
                (0, true, Reason::Busy),
                (1, false, Reason::IdlePastGrace),
                (3, false, Reason::TakenOffline),
            ]
        );
        assert_eq!(pool.protected, 2);
        let idle: Vec<_> = pool.steps.iter().map(|step| step.idle_since).collect();
        assert_eq!(idle, vec![None, Some(secs_ago(300)), Some(now()), None]);
    }
}
