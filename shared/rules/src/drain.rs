//! Drains: a terminating instance whose agent was busy waits in its lifecycle hook until
//! the build ends. handle-interruption records the drain; protect-busy-agents finishes it.
//! Every lifecycle action ends: completed when drained, heartbeated while busy, completed
//! at the deadline, completed at once when the instance is gone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A pending drain as stored in S3 (`drains/<instance-id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrainRecord {
    pub instance_id: String,
    pub pool: String,
    pub group: String,
    pub hook: String,
    #[serde(default)]
    pub token: Option<String>,
    /// The names the agent may be registered under.
    pub agent_names: Vec<String>,
    pub started_at: DateTime<Utc>,
    /// Past this, the drain completes even if the build still runs (`DRAIN_TIMEOUT_SECONDS`).
    pub deadline: DateTime<Utc>,
    /// The hook's heartbeat timeout; heartbeats go out before half of it has passed.
    pub heartbeat_timeout_seconds: u32,
    pub last_heartbeat_at: DateTime<Utc>,
}

/// The offline reason a drain leaves on an agent: what a person reads in the CI's UI.
pub const DRAIN_REASON: &str = "scale-in: instance terminating, draining";

/// The same for an instance that scale-in sends to a warm pool (the event's `Destination`
/// is `WarmPool`): its own words, so that protect-busy-agents lifts this mark, and only
/// this one, when the instance comes back in service. A terminating instance's agent is
/// never put back online by mistake.
pub const WARM_POOL_DRAIN_REASON: &str = "scale-in: instance going to the warm pool, draining";

/// The offline reason for a drain towards `destination` (the lifecycle event's field).
pub fn drain_reason(destination: Option<&str>) -> &'static str {
    match destination {
        Some("WarmPool") => WARM_POOL_DRAIN_REASON,
        _ => DRAIN_REASON,
    }
}

pub fn drain_key(instance_id: &str) -> String {
    format!("drains/{instance_id}.json")
}

/// What the drain's agent looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainAgent {
    Unknown,
    Busy,
    /// Idle, or no longer registered.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrainStep {
    /// The build ended (or the agent is gone): let the instance terminate.
    Complete,
    /// Past `deadline`: terminate anyway.
    CompleteTimedOut,
    Heartbeat,
    Wait,
}

/// `run_every` is how often protect-busy-agents runs: a heartbeat due before the next
/// run goes out now, so none is late.
///
/// Whether the group still lists the instance is not asked: an instance returning to a
/// warm pool waits in `Warmed:Pending:Wait`, outside the group's instance list, with its
/// build running. Auto Scaling's own answer decides instead: a heartbeat or completion of
/// an action that no longer exists says so, and the drain is forgotten.
pub fn next_step(
    record: &DrainRecord,
    agent: DrainAgent,
    now: DateTime<Utc>,
    run_every: Duration,
) -> DrainStep {
    if now >= record.deadline {
        return DrainStep::CompleteTimedOut;
    }
    match agent {
        DrainAgent::Done => DrainStep::Complete,
        // Unknown: never complete on data we could not read; keep the hook alive.
        DrainAgent::Busy | DrainAgent::Unknown => {
            let half = chrono::Duration::seconds(i64::from(record.heartbeat_timeout_seconds / 2));
            let next_run = now + chrono::Duration::from_std(run_every).unwrap_or_default();
            // Checked: the record is read from S3, and a heartbeat time near chrono's last
            // instant is a heartbeat due never (like any far-future one), not a panic.
            let due = record.last_heartbeat_at.checked_add_signed(half);
            if due.is_some_and(|due| next_run >= due) {
                DrainStep::Heartbeat
            } else {
                DrainStep::Wait
            }
        }
    }
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

    fn record(started_s_ago: i64, last_heartbeat_s_ago: i64, timeout_s: i64) -> DrainRecord {
        DrainRecord {
            instance_id: "i-1".into(),
            pool: "linux".into(),
            group: "ci-linux".into(),
            hook: "ci-fleet-drain".into(),
            token: Some("t".into()),
            agent_names: vec!["i-1".into()],
            started_at: now() - chrono::Duration::seconds(started_s_ago),
            deadline: now() - chrono::Duration::seconds(started_s_ago)
                + chrono::Duration::seconds(timeout_s),
            heartbeat_timeout_seconds: 600,
            last_heartbeat_at: now() - chrono::Duration::seconds(last_heartbeat_s_ago),
        }
    }

    #[test]
    fn every_drain_ends() {
        let minute = Duration::from_secs(60);
        let cases = [
            (
                "build finished",
                record(100, 100, 3600),
                DrainAgent::Done,
                DrainStep::Complete,
            ),
            (
                "busy, heartbeat not due",
                record(100, 100, 3600),
                DrainAgent::Busy,
                DrainStep::Wait,
            ),
            (
                "busy, half the timeout passes before the next run",
                record(300, 241, 3600),
                DrainAgent::Busy,
                DrainStep::Heartbeat,
            ),
            (
                "busy, heartbeat overdue",
                record(900, 400, 3600),
                DrainAgent::Busy,
                DrainStep::Heartbeat,
            ),
            (
                "CI unknown: heartbeat, never complete",
                record(900, 400, 3600),
                DrainAgent::Unknown,
                DrainStep::Heartbeat,
            ),
            (
                "CI unknown, not due: wait",
                record(100, 100, 3600),
                DrainAgent::Unknown,
                DrainStep::Wait,
            ),
            (
                "past the deadline while busy",
                record(3601, 10, 3600),
                DrainAgent::Busy,
                DrainStep::CompleteTimedOut,
            ),
            (
                "past the deadline, CI unknown",
                record(3601, 10, 3600),
                DrainAgent::Unknown,
                DrainStep::CompleteTimedOut,
            ),
        ];
        for (name, record, agent, step) in cases {
            assert_eq!(next_step(&record, agent, now(), minute), step, "{name}");
        }
    }

    #[test]
    fn record_round_trips_as_json() {
        let r = record(1, 1, 3600);
        let text = serde_json::to_string(&r).expect("serialises");
        assert_eq!(
            serde_json::from_str::<DrainRecord>(&text).expect("parses"),
            r
        );
    }
}
