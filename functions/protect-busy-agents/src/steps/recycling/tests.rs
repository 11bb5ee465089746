use rules::health::{FinishedBuild, Outcome, RecycleReason};
use rules::recycle::RecycleStep;
use rules::{Agent, CiSnapshot, Demand, LabelExpr, QueuedBuild, Waiting};
use shared::testing::{agent, ago, group_instance, now};

use super::RecycleStatus;
use crate::steps::report::Response;
use crate::test_world::{World, launched, saved_memory, world_with_history};

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

fn idle(name: &str) -> Agent {
    agent(name).build()
}

fn offline(name: &str, busy: u32, reason: &str) -> Agent {
    agent(name).busy(busy).offline(reason).build()
}

fn snapshot(agents: Vec<Agent>, queued: usize) -> CiSnapshot {
    let linux = LabelExpr::parse("linux").expect("parses");
    CiSnapshot {
        agents,
        queue: (0..queued)
            .map(|i| QueuedBuild {
                id: i.to_string(),
                demand: Demand::Expression(linux.clone()),
                waiting: Waiting::ForExecutor,
                stuck: false,
                queued_since: None,
            })
            .collect(),
    }
}

fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("i-0000000{i}")).collect()
}

fn world(agents: Vec<Agent>, queued: usize, history: Option<Vec<FinishedBuild>>) -> World {
    let instances = agents
        .iter()
        .map(|a| group_instance(&a.name).build())
        .collect();
    world_with_history(instances, Some(snapshot(agents, queued)), history, vec![])
}

fn steps(w: &Response) -> Vec<(String, RecycleReason, RecycleStep)> {
    w.recycling
        .recycles
        .iter()
        .map(|r| (r.instance_id.clone(), r.reason, r.step))
        .collect()
}

fn recycled_metrics(w: &World) -> Vec<(Vec<(String, String)>, f64)> {
    w.metrics
        .recorded()
        .iter()
        .filter(|d| d.name == "AgentsRecycled")
        .map(|d| {
            (
                d.dimensions
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                d.value,
            )
        })
        .collect()
}

#[tokio::test]
async fn a_botched_agent_goes_offline_then_is_replaced_once_idle() {
    let [bad, good] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
    let history = botched(&bad, &good);
    let w = world(
        vec![agent(&bad).busy(1).build(), idle(&good)],
        0,
        Some(history.clone()),
    );
    let first = w.protector.run(now()).await.expect("runs");
    assert_eq!(first.recycling.status, RecycleStatus::Checked);
    assert_eq!(
        steps(&first),
        vec![(
            bad.clone(),
            RecycleReason::FailingBuilds,
            RecycleStep::TakenOffline
        )]
    );
    assert_eq!(
        w.ci.taken_offline(),
        vec![(bad.clone(), "recycle: failing-builds".to_owned())]
    );
    assert!(w.groups.terminated.lock().expect("lock").is_empty());

    // Offline with its build still running: waits. Then idle, with builds queued: replaced.
    let busy = world(
        vec![offline(&bad, 1, "recycle: failing-builds"), idle(&good)],
        1,
        Some(history.clone()),
    );
    let waiting = busy.protector.run(now()).await.expect("runs");
    assert_eq!(
        steps(&waiting),
        vec![(
            bad.clone(),
            RecycleReason::FailingBuilds,
            RecycleStep::Waiting
        )]
    );
    assert!(busy.groups.terminated.lock().expect("lock").is_empty());

    let idle = world(
        vec![offline(&bad, 0, "recycle: failing-builds"), idle(&good)],
        1,
        Some(history),
    );
    let replaced = idle.protector.run(now()).await.expect("runs");
    assert_eq!(
        steps(&replaced),
        vec![(
            bad.clone(),
            RecycleReason::FailingBuilds,
            RecycleStep::Replaced
        )]
    );
    assert_eq!(
        *idle.groups.terminated.lock().expect("lock"),
        vec![(bad.clone(), false)],
        "a queued build keeps the desired capacity: the group launches a replacement"
    );
    assert!(idle.ci.taken_offline().is_empty());
    let pool = ("Pool".to_owned(), "linux".to_owned());
    assert_eq!(
        recycled_metrics(&idle),
        vec![
            (vec![pool.clone()], 1.0),
            (
                vec![pool, ("Reason".to_owned(), "failing-builds".to_owned())],
                1.0
            )
        ]
    );
}

#[tokio::test]
async fn an_empty_queue_shrinks_the_group_and_jobs_broken_everywhere_recycle_nobody() {
    let [a, b] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
    let everywhere = vec![
        build(&a, "api", Outcome::Failed, 10),
        build(&b, "api", Outcome::Failed, 20),
    ];
    let w = world(
        vec![offline(&a, 0, "recycle: use-limit"), idle(&b)],
        0,
        Some(everywhere),
    );
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        steps(&response),
        vec![(a.clone(), RecycleReason::UseLimit, RecycleStep::Replaced)]
    );
    assert_eq!(
        *w.groups.terminated.lock().expect("lock"),
        vec![(a, true)],
        "nothing queued: the desired capacity goes down with it"
    );
    assert!(w.ci.taken_offline().is_empty());
}

#[tokio::test]
async fn never_more_than_the_share_at_once() {
    let ids = ids(8);
    let mut history = Vec::new();
    for bad in &ids[..4] {
        history.extend(botched(bad, &ids[7]));
    }
    // 8 in service, share 0.25: two at once. One already recycles, so one more now.
    let mut agents: Vec<Agent> = ids.iter().map(|id| idle(id)).collect();
    agents[0] = offline(&ids[0], 1, "recycle: failing-builds");
    let w = world(agents, 0, Some(history));
    let response = w.protector.run(now()).await.expect("runs");
    let got: Vec<(String, RecycleStep)> = steps(&response)
        .into_iter()
        .map(|(id, _, step)| (id, step))
        .collect();
    assert_eq!(
        got,
        vec![
            (ids[0].clone(), RecycleStep::Waiting),
            (ids[1].clone(), RecycleStep::TakenOffline),
            (ids[2].clone(), RecycleStep::Deferred),
            (ids[3].clone(), RecycleStep::Deferred),
        ]
    );
    assert_eq!(w.ci.taken_offline().len(), 1);
}

#[tokio::test]
async fn out_of_disk_agents_are_replaced_without_another_offline_mark() {
    let [full, drained, ok] = [&ids(3)[0], &ids(3)[1], &ids(3)[2]].map(String::clone);
    let agents = vec![
        offline(
            &full,
            0,
            "Disk space is too low. Only 0.512GB left on /home/jenkins.",
        ),
        // Someone else's offline agent with a bad record is theirs to end.
        offline(&drained, 0, "scale-in: instance terminating, draining"),
        idle(&ok),
    ];
    let w = world(agents, 0, Some(botched(&drained, &ok)));
    let response = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        steps(&response),
        vec![(
            full.clone(),
            RecycleReason::OutOfResources,
            RecycleStep::Replaced
        )]
    );
    assert!(w.ci.taken_offline().is_empty());
    assert_eq!(
        *w.groups.terminated.lock().expect("lock"),
        vec![(full, true)]
    );
}

#[tokio::test]
async fn use_limit_counts_builds_since_launch_once_each() {
    let [fresh, reused] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
    let history = vec![
        build(&fresh, "api", Outcome::Passed, 30),
        // Ran before its instance launched (a name reused): not this instance's build.
        build(&reused, "api", Outcome::Failed, 900),
    ];
    let instances = vec![
        group_instance(&fresh).build(),
        group_instance(&reused).build(),
    ];
    let mut w = world_with_history(
        instances,
        Some(snapshot(vec![idle(&fresh), idle(&reused)], 0)),
        Some(history),
        vec![
            launched(&fresh, 600, "running"),
            launched(&reused, 600, "running"),
        ],
    );
    w.protector.config.pools[0].spec.max_builds_per_agent = Some(2);
    let first = w.protector.run(now()).await.expect("runs");
    assert!(first.recycling.recycles.is_empty(), "{first:?}");
    // The same history read again adds nothing.
    let again = w.protector.run(now()).await.expect("runs");
    assert!(again.recycling.recycles.is_empty(), "{again:?}");
    let memory = saved_memory(&w.store).await;
    assert_eq!(
        (
            memory.instances[&fresh].builds,
            memory.instances[&reused].builds
        ),
        (1, 0)
    );

    // One build per agent: the fresh agent is used up.
    w.protector.config.pools[0].spec.max_builds_per_agent = Some(1);
    let one = w.protector.run(now()).await.expect("runs");
    assert_eq!(
        steps(&one),
        vec![(
            fresh.clone(),
            RecycleReason::UseLimit,
            RecycleStep::TakenOffline
        )]
    );
    assert_eq!(
        w.ci.taken_offline(),
        vec![(fresh, "recycle: use-limit".to_owned())]
    );
}

#[tokio::test]
async fn unknown_data_or_recycle_off_recycles_nothing() {
    let [bad, good] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
    let agents = vec![offline(&bad, 0, "recycle: failing-builds"), idle(&good)];

    let no_history = world(agents.clone(), 0, None);
    let error = no_history
        .protector
        .run(now())
        .await
        .expect_err("fails visibly");
    assert!(error.to_string().contains("build history"), "{error}");

    let instances = vec![group_instance(&bad).build(), group_instance(&good).build()];
    let ci_down = world_with_history(instances, None, Some(botched(&bad, &good)), vec![]);
    ci_down
        .protector
        .run(now())
        .await
        .expect_err("fails visibly");

    let mut off = world(agents, 0, Some(botched(&bad, &good)));
    off.protector.config.recycle.enabled = false;
    let response = off.protector.run(now()).await.expect("runs");
    assert_eq!(response.recycling.status, RecycleStatus::Disabled);

    for w in [&no_history, &ci_down, &off] {
        assert!(w.ci.taken_offline().is_empty());
        assert!(w.groups.terminated.lock().expect("lock").is_empty());
    }
}
