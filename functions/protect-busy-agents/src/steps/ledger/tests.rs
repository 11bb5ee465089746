use rules::CiSnapshot;
use rules::health::Outcome;
use rules::ledger::{RunEnd, RunState, Sighting};
use shared::testing::{FakeCi, agent, ago, group_instance, now};

use crate::memory::Memory;
use crate::test_world::{launched, saved_memory, world_with_ci};

const RUN: &str = "http://ci/job/team/job/api/job/main/12/";

fn snapshot(runs: &[&str]) -> Option<CiSnapshot> {
    Some(CiSnapshot {
        agents: vec![agent("i-1").running(runs).build()],
        queue: vec![],
    })
}

/// A Pipeline run names no agent: the run seen on i-1's executor is i-1's, and once it
/// ended the one-build pool recycles i-1 (Jenkins' `builtOn` would never have told).
#[tokio::test]
async fn a_pipeline_run_seen_on_an_agent_counts_toward_its_use_limit() {
    let ci = FakeCi::scripted(vec![snapshot(&[RUN]), snapshot(&[])]).with_run(
        RUN,
        RunState::Ended(RunEnd {
            at: ago(10),
            outcome: Outcome::Passed,
        }),
    );
    let mut w = world_with_ci(
        vec![group_instance("i-1").protected().build()],
        ci,
        vec![launched("i-1", 3600, "running")],
    );
    w.protector.config.pools[0].spec.max_builds_per_agent = Some(1);

    let first = w.protector.run(now()).await.expect("runs");
    assert!(first.recycling.recycles.is_empty(), "{first:?}");
    assert!(w.ci.asked_runs().is_empty(), "still running: nothing asked");
    let remembered = saved_memory(&w.store).await.ledger.sightings;
    assert_eq!(
        (
            remembered.len(),
            remembered[0].run.as_str(),
            remembered[0].agent.as_str()
        ),
        (1, RUN, "i-1")
    );

    let second = w.protector.run(now()).await.expect("runs");
    assert_eq!(w.ci.asked_runs(), vec![RUN]);
    let recycled: Vec<(&str, &str)> = (second.recycling.recycles.iter())
        .map(|r| (r.instance_id.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(recycled, vec![("i-1", "use-limit")], "{second:?}");

    w.protector.run(now()).await.expect("runs");
    assert_eq!(
        w.ci.asked_runs(),
        vec![RUN],
        "an ended run is never asked again"
    );
}

/// A run whose end cannot be read may be the pass that ends a failure streak: with the
/// history incomplete, nothing is recycled this run (which fails visibly), and the run is
/// asked again next time. i-1 failed three jobs that passed on i-2; its newest run's end
/// is unreadable.
#[tokio::test]
async fn runs_that_cannot_be_read_recycle_nothing_and_are_asked_again() {
    let ended = |job: &str, agent: &str, outcome: Outcome| Sighting {
        run: format!("http://ci/job/{job}/{agent}/"),
        agent: agent.into(),
        first_seen: ago(600),
        last_seen: ago(600),
        ended: Some(RunEnd {
            at: ago(500),
            outcome,
        }),
    };
    let mut memory = Memory::default();
    for job in ["api", "web", "cli"] {
        memory
            .ledger
            .sightings
            .push(ended(job, "i-1", Outcome::Failed));
        memory
            .ledger
            .sightings
            .push(ended(job, "i-2", Outcome::Passed));
    }
    memory.ledger.sightings.push(Sighting {
        ended: None,
        ..ended("deploy", "i-1", Outcome::Passed)
    });
    let newest = memory.ledger.sightings[6].run.clone();
    let both = Some(CiSnapshot {
        agents: vec![agent("i-1").build(), agent("i-2").build()],
        queue: vec![],
    });
    let ci = FakeCi::answering(both).with_runs_down();
    let w = world_with_ci(
        vec![
            group_instance("i-1").protected().build(),
            group_instance("i-2").build(),
        ],
        ci,
        vec![
            launched("i-1", 3600, "running"),
            launched("i-2", 3600, "running"),
        ],
    );
    memory.save(w.store.as_ref()).await.expect("saves");
    let first = w.protector.run(now()).await.expect_err("fails visibly");
    assert!(first.to_string().contains("run ledger"), "{first}");
    assert!(
        w.ci.taken_offline().is_empty(),
        "nothing recycled on a partial history"
    );
    w.protector.run(now()).await.expect_err("fails visibly");
    assert_eq!(
        w.ci.asked_runs(),
        vec![newest.clone(), newest.clone()],
        "asked again"
    );
    let kept = saved_memory(&w.store).await.ledger.sightings;
    assert!(
        kept.iter().any(|s| s.run == newest && s.ended.is_none()),
        "nothing forgotten"
    );
}
