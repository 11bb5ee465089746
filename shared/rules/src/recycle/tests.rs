use chrono::TimeZone;

use super::*;
use crate::health::Outcome;
use crate::model::fixtures::agent;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .expect("valid")
}

fn ago(seconds: i64) -> DateTime<Utc> {
    now() - chrono::Duration::seconds(seconds)
}

fn build(agent: &str, job: &str, outcome: Outcome, seconds_ago: i64) -> FinishedBuild {
    FinishedBuild {
        job: job.into(),
        agent: agent.into(),
        finished_at: ago(seconds_ago),
        outcome,
    }
}

/// `bad` failed three jobs that pass on `good`.
fn botched(bad: &str, good: &str) -> Vec<FinishedBuild> {
    ["api", "web", "cli"]
        .iter()
        .enumerate()
        .flat_map(|(i, job)| {
            [
                build(bad, job, Outcome::Failed, 100 - i as i64),
                build(good, job, Outcome::Passed, 200),
            ]
        })
        .collect()
}

/// Taken offline with `reason`, still connected.
fn offline(name: &str, reason: &str) -> Agent {
    Agent {
        offline_reason: reason.into(),
        ..agent(name).temporarily_offline()
    }
}

#[test]
fn reads_recycle_and_resource_reasons() {
    assert_eq!(
        recycle_reason_of("recycle: failing-builds"),
        Some(RecycleReason::FailingBuilds)
    );
    assert_eq!(recycle_reason_of("recycle: something else"), None);
    assert_eq!(recycle_reason_of("spot interruption: i-1"), None);
    for reason in [
        "Disk space is too low. Only 0.512GB left on /home/jenkins.",
        "Disk space is below threshold of 1.00 GiB. Only 816.72 MiB out of 821.43 MiB left on /tmp.",
        "Free swap space is too low",
        "Not enough free disk space",
    ] {
        assert!(reports_out_of_resources(reason), "{reason}");
    }
    for reason in ["", "drain", "Connection was broken", "disabled"] {
        assert!(!reports_out_of_resources(reason), "{reason}");
    }
}

#[test]
fn every_recycle_reason_reads_back_from_its_offline_reason() {
    for reason in [
        RecycleReason::FailingBuilds,
        RecycleReason::LostBuilds,
        RecycleReason::OutOfResources,
        RecycleReason::UseLimit,
    ] {
        let text = recycle_offline_reason(reason);
        assert_eq!(recycle_reason_of(&text), Some(reason), "{text}");
        assert_eq!(
            recycle_reason_of(&format!("{text} ")),
            Some(reason),
            "{text}"
        );
    }
}

#[test]
fn counts_builds_since_launch_once_each() {
    let own = [
        build("a", "api", Outcome::Passed, 900),
        build("a", "web", Outcome::Failed, 300),
        build("a", "cli", Outcome::Passed, 30),
    ];
    let own: Vec<&FinishedBuild> = own.iter().collect();
    let counted = |builds, until: Option<i64>| BuildCount {
        builds,
        counted_until: until.map(ago),
    };
    // (case, remembered, launched seconds ago, expected)
    let cases = [
        (
            "launch unknown: every build",
            counted(0, None),
            None,
            counted(3, Some(30)),
        ),
        (
            "only builds after launch",
            counted(0, None),
            Some(600),
            counted(2, Some(30)),
        ),
        (
            "the same history read again adds nothing",
            counted(2, Some(30)),
            Some(600),
            counted(2, Some(30)),
        ),
        (
            "only builds newer than the last counted",
            counted(5, Some(300)),
            None,
            counted(6, Some(30)),
        ),
        (
            "launched after every build",
            counted(0, None),
            Some(10),
            counted(0, None),
        ),
    ];
    for (case, remembered, launched, expected) in cases {
        assert_eq!(
            count_builds(remembered, launched.map(ago), &own),
            expected,
            "{case}"
        );
    }
}

#[test]
fn groups_the_history_by_agent() {
    let history = [
        build("a", "api", Outcome::Passed, 30),
        build("b", "api", Outcome::Passed, 20),
        build("a", "web", Outcome::Failed, 10),
    ];
    let by_agent = builds_by_agent(&history);
    let jobs =
        |name: &str| -> Vec<&str> { by_agent[name].iter().map(|b| b.job.as_str()).collect() };
    assert_eq!((jobs("a"), jobs("b")), (vec!["api", "web"], vec!["api"]));
    assert_eq!(by_agent.len(), 2);
}

#[test]
fn lost_capacity_goes_first() {
    let mut reasons = [
        RecycleReason::UseLimit,
        RecycleReason::FailingBuilds,
        RecycleReason::OutOfResources,
        RecycleReason::LostBuilds,
    ];
    reasons.sort_by_key(|r| priority(*r));
    assert_eq!(
        reasons,
        [
            RecycleReason::OutOfResources,
            RecycleReason::LostBuilds,
            RecycleReason::FailingBuilds,
            RecycleReason::UseLimit,
        ]
    );
}

#[test]
fn tells_recycling_due_and_someone_elses_agents_apart() {
    let history = botched("bad", "good");
    let disk = "Disk space is too low. Only 0.512GB left on /home/jenkins.";
    let due = |reason, offline| Some(RecycleState::Due { reason, offline });
    // (case, agent, launched seconds ago, builds since launch, max builds, expected)
    let cases = [
        (
            "offline with a recycle reason: recycling",
            offline("good", "recycle: use-limit"),
            None,
            0,
            None,
            Some(RecycleState::Recycling(RecycleReason::UseLimit)),
        ),
        (
            "fails what passes elsewhere: due, still online",
            agent("bad"),
            None,
            0,
            None,
            due(RecycleReason::FailingBuilds, false),
        ),
        (
            "a recycle reason while online is no recycle",
            Agent {
                offline_reason: "recycle: failing-builds".into(),
                ..agent("good")
            },
            None,
            0,
            None,
            None,
        ),
        (
            "offline for a drain: theirs to end, however bad its record",
            offline("bad", "scale-in: instance terminating, draining"),
            None,
            0,
            None,
            None,
        ),
        (
            "out of disk: due, already offline",
            offline("good", disk),
            None,
            0,
            None,
            due(RecycleReason::OutOfResources, true),
        ),
        (
            "reports out of disk while online: nothing to read from",
            Agent {
                offline_reason: disk.into(),
                ..agent("good")
            },
            None,
            0,
            None,
            None,
        ),
        (
            "disconnected, out of disk, still accepting: due, taken offline",
            Agent {
                offline_reason: disk.into(),
                ..agent("good").disconnected()
            },
            None,
            0,
            None,
            due(RecycleReason::OutOfResources, false),
        ),
        (
            "a name reused by an instance launched since: a clean record",
            agent("bad"),
            Some(60),
            0,
            None,
            None,
        ),
        (
            "used up",
            agent("good"),
            None,
            2,
            Some(2),
            due(RecycleReason::UseLimit, false),
        ),
        ("healthy", agent("good"), None, 1, Some(2), None),
    ];
    for (case, agent, launched, builds, max_builds, expected) in cases {
        let facts = RecycleFacts {
            agent: &agent,
            history: &history,
            launched: launched.map(ago),
            builds_since_launch: builds,
            max_builds,
        };
        assert_eq!(
            recycle_state(&facts, HealthRules::default(), now()),
            expected,
            "{case}"
        );
    }
}

#[test]
fn plans_the_recycling_first_then_the_due_by_priority_within_the_share() {
    let idle = agent("idle");
    let busy = agent("busy").busy(1);
    let recycling = RecycleState::Recycling(RecycleReason::FailingBuilds);
    let due = |reason, offline| RecycleState::Due { reason, offline };
    let candidate = |instance_id, agent, state| Candidate {
        instance_id,
        agent,
        state,
    };
    let plan = |candidates: Vec<Candidate<'_>>, in_service| -> Vec<(String, RecycleStep)> {
        plan_recycling(candidates, in_service, 0.25)
            .into_iter()
            .map(|p| (p.candidate.instance_id.to_owned(), p.step))
            .collect()
    };
    let steps = |expected: &[(&str, RecycleStep)]| -> Vec<(String, RecycleStep)> {
        expected
            .iter()
            .map(|(id, step)| ((*id).to_owned(), *step))
            .collect()
    };
    use RecycleStep::*;

    // 8 in service, share 0.25: two at once. One already recycles, so one more now.
    let share = vec![
        candidate("i-4", &idle, due(RecycleReason::FailingBuilds, false)),
        candidate("i-3", &idle, due(RecycleReason::FailingBuilds, false)),
        candidate("i-2", &idle, due(RecycleReason::FailingBuilds, false)),
        candidate("i-1", &busy, recycling),
    ];
    assert_eq!(
        plan(share, 8),
        steps(&[
            ("i-1", Waiting),
            ("i-2", TakenOffline),
            ("i-3", Deferred),
            ("i-4", Deferred)
        ])
    );

    // Capacity already lost first; an agent out of disk is replaced once idle.
    let priorities = vec![
        candidate("i-1", &idle, due(RecycleReason::UseLimit, false)),
        candidate("i-2", &busy, due(RecycleReason::OutOfResources, true)),
        candidate("i-3", &idle, due(RecycleReason::OutOfResources, true)),
        candidate("i-4", &idle, due(RecycleReason::LostBuilds, false)),
    ];
    assert_eq!(
        plan(priorities, 16),
        steps(&[
            ("i-2", Waiting),
            ("i-3", Replaced),
            ("i-4", TakenOffline),
            ("i-1", TakenOffline)
        ])
    );

    // A one-instance pool may still recycle; agents already recycling carry on past the share.
    assert_eq!(
        plan(
            vec![candidate("i-1", &idle, due(RecycleReason::UseLimit, false))],
            1
        ),
        steps(&[("i-1", TakenOffline)])
    );
    let past_the_share = vec![
        candidate("i-1", &idle, recycling),
        candidate("i-2", &idle, recycling),
        candidate("i-3", &idle, due(RecycleReason::LostBuilds, false)),
    ];
    assert_eq!(
        plan(past_the_share, 4),
        steps(&[("i-1", Replaced), ("i-2", Replaced), ("i-3", Deferred)])
    );
    assert!(plan(vec![], 4).is_empty());
}

#[test]
fn a_replacement_shrinks_the_group_only_when_nothing_is_queued() {
    // (queued, desired, min, shrinks)
    let cases = [
        (0, 3, 0, true),
        (1, 3, 0, false),
        (0, 1, 1, false),
        (0, 2, 1, true),
        (5, 0, 0, false),
    ];
    for (queued, desired, min, expected) in cases {
        assert_eq!(
            shrinks_group(queued, desired, min),
            expected,
            "{queued} queued, desired {desired}, min {min}"
        );
    }
}

#[test]
fn steps_and_states_read_as_the_response_spells_them() {
    let spelled: Vec<String> = [
        RecycleStep::TakenOffline,
        RecycleStep::Replaced,
        RecycleStep::Waiting,
        RecycleStep::Deferred,
    ]
    .iter()
    .map(|s| serde_json::to_string(s).expect("serialises"))
    .collect();
    assert_eq!(
        spelled,
        [
            "\"taken-offline\"",
            "\"replaced\"",
            "\"waiting\"",
            "\"deferred\""
        ]
    );
    assert_eq!(
        RecycleState::Due {
            reason: RecycleReason::LostBuilds,
            offline: true
        }
        .reason(),
        RecycleReason::LostBuilds
    );
}
