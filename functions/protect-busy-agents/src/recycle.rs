//! Agent recycling, the one place that decides it: an agent that fails what passes
//! elsewhere, loses its builds, runs out of disk or swap, or reached its pool's
//! `max_builds_per_agent` is taken offline with a `recycle: <reason>` reason; its running
//! build finishes (protection drops offline agents, the drain hook keeps the build safe);
//! once idle its instance is terminated through the group — keeping the desired capacity
//! (a replacement is launched) while the pool has queued builds, decrementing it when not.
//!
//! Never on unknown data: without both the CI snapshot and the build history nothing is
//! recycled. Never more than `RECYCLE_MAX_SHARE` of a pool at once: agents already
//! recycling count against it, the rest wait for a later run.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rules::health::{
    AgentHealthFacts, FinishedBuild, RecycleReason, assess, is_recycle_offline_reason,
    recycle_budget, recycle_offline_reason,
};
use rules::{Agent, CiSnapshot, Datum, InstanceInfo, Unit, compute_workloads};
use serde::Serialize;
use shared::ports::groups::Group;

use crate::handler::{Protector, Response, find_agent};
use crate::memory::{InstanceMemory, Memory};

const IN_SERVICE: &str = "InService";

/// What the run read, shared with the protection step.
pub struct Seen<'a> {
    pub groups: &'a [Group],
    pub snapshot: Option<&'a CiSnapshot>,
    pub agents: &'a HashMap<&'a str, &'a Agent>,
    pub details: &'a HashMap<String, InstanceInfo>,
}

#[derive(Debug, Default, Serialize)]
pub struct RecycleReport {
    pub status: RecycleStatus,
    /// Why nothing was checked (`skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub recycles: Vec<Recycle>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecycleStatus {
    /// `RECYCLE=false`.
    #[default]
    Disabled,
    Checked,
    /// The CI state or the build history is unknown: nothing recycled.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recycle {
    pub pool: String,
    pub instance_id: String,
    pub agent: String,
    pub reason: RecycleReason,
    pub step: RecycleStep,
    /// For `replaced`: whether the group's desired capacity went down with it (no
    /// queued builds) or a replacement is launched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrement_desired_capacity: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecycleStep {
    /// Taken offline now; replaced once its build ends.
    TakenOffline,
    /// Offline for recycling and idle: its instance was terminated.
    Replaced,
    /// Offline for recycling, its build still running.
    Waiting,
    /// Due, but the pool's share is used up: a later run takes it.
    Deferred,
}

/// One instance of a pool with a registered agent, as recycling sees it.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Offline with a `recycle: …` reason.
    Recycling(RecycleReason),
    /// Due for recycling; `offline`: the CI server already took it out (disk, swap).
    Due {
        reason: RecycleReason,
        offline: bool,
    },
}

/// The agent's offline reason says the CI server's monitors found it out of disk or swap
/// (Jenkins DiskSpaceMonitor/TemporarySpaceMonitor "Disk space is too low…", "Disk space
/// is below threshold…", SwapSpaceMonitor; a TeamCity disable comment saying the same).
pub fn reports_out_of_resources(offline_reason: &str) -> bool {
    let text = offline_reason.to_lowercase();
    [
        "disk space",
        "swap space",
        "no space left",
        "out of disk",
        "out of swap",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// The reason a `recycle: …` offline reason names.
pub fn recycle_reason_of(offline_reason: &str) -> Option<RecycleReason> {
    if !is_recycle_offline_reason(offline_reason) {
        return None;
    }
    [
        RecycleReason::FailingBuilds,
        RecycleReason::LostBuilds,
        RecycleReason::OutOfResources,
        RecycleReason::UseLimit,
    ]
    .into_iter()
    .find(|r| recycle_offline_reason(*r) == offline_reason.trim())
}

/// Counts the agent's builds (`own`) since its instance launched, run by run: the history
/// shows each job's last builds only, so the count lives in the instance's memory.
fn count_builds(
    remembered: &mut InstanceMemory,
    since: Option<DateTime<Utc>>,
    own: &[&FinishedBuild],
) -> u32 {
    let mut newest = remembered.counted_until;
    for build in own.iter().filter(|b| {
        since.is_none_or(|t| b.finished_at > t)
            && remembered.counted_until.is_none_or(|c| b.finished_at > c)
    }) {
        remembered.builds += 1;
        newest = newest.max(Some(build.finished_at));
    }
    remembered.counted_until = newest;
    remembered.builds
}

/// The order in which due agents get the pool's share: capacity already lost first.
fn priority(reason: RecycleReason) -> u8 {
    match reason {
        RecycleReason::OutOfResources => 0,
        RecycleReason::LostBuilds => 1,
        RecycleReason::FailingBuilds => 2,
        RecycleReason::UseLimit => 3,
    }
}

impl Protector {
    pub(crate) async fn recycle(
        &self,
        seen: &Seen<'_>,
        memory: &mut Memory,
        response: &mut Response,
        datums: &mut Vec<Datum>,
        now: DateTime<Utc>,
    ) {
        let report = &mut response.recycling;
        if !self.config.recycle.enabled {
            report.status = RecycleStatus::Disabled;
            return;
        }
        let Some(snapshot) = seen.snapshot else {
            report.status = RecycleStatus::Skipped;
            report.reason = Some("CI state unknown: nothing recycled".into());
            return;
        };
        let history = match self.ports.ci.recent_builds().await {
            Ok(history) => history,
            Err(e) => {
                tracing::error!(error = %e, "build history unknown: nothing recycled");
                report.status = RecycleStatus::Skipped;
                report.reason = Some(format!("build history unknown: nothing recycled ({e})"));
                response.errors.push(format!("build history: {e}"));
                return;
            }
        };
        report.status = RecycleStatus::Checked;
        let mut by_agent: HashMap<&str, Vec<&FinishedBuild>> = HashMap::new();
        for build in &history {
            by_agent
                .entry(build.agent.as_str())
                .or_default()
                .push(build);
        }
        let workloads = compute_workloads(&self.config.pools, snapshot, now);
        let mut handled: HashSet<&str> = HashSet::new();
        for (index, pool) in self.config.pools.iter().enumerate() {
            let Some(group) = seen.groups.iter().find(|g| g.name == pool.spec.asg) else {
                continue;
            };
            let queued = workloads.pools.get(index).map_or(0, |w| w.queued_builds);
            let in_service = group
                .instances
                .iter()
                .filter(|i| i.lifecycle_state == IN_SERVICE)
                .count();
            let mut states: Vec<(&str, &Agent, State)> = Vec::new();
            for instance in &group.instances {
                if instance.lifecycle_state != IN_SERVICE
                    || !handled.insert(instance.instance_id.as_str())
                {
                    continue;
                }
                let info = seen.details.get(instance.instance_id.as_str());
                let Some(agent) = find_agent(
                    &self.config.agent_names,
                    &instance.instance_id,
                    info,
                    seen.agents,
                ) else {
                    continue;
                };
                let remembered = memory
                    .instances
                    .entry(instance.instance_id.clone())
                    .or_insert_with(|| InstanceMemory::first_seen_at(now));
                // Unknown launch time (instance-id naming, EC2 not asked): the name is the
                // instance's own, so every build under it is this instance's.
                let since = info.and_then(|i| i.launch_time);
                let own = by_agent
                    .get(agent.name.as_str())
                    .map_or(&[][..], Vec::as_slice);
                let builds = count_builds(remembered, since, own);
                if let Some(reason) = recycle_reason_of(&agent.offline_reason)
                    && !agent.accepting_tasks
                {
                    states.push((&instance.instance_id, agent, State::Recycling(reason)));
                    continue;
                }
                let out_of_resources =
                    !agent.is_capacity() && reports_out_of_resources(&agent.offline_reason);
                if !agent.accepting_tasks && !out_of_resources {
                    // Offline for someone else's reason (a drain, a person): theirs to end.
                    continue;
                }
                // A name reused by a new instance (DNS naming) starts with a clean record.
                let reused: Vec<FinishedBuild>;
                let before_launch = |b: &FinishedBuild| {
                    b.agent == agent.name && since.is_some_and(|t| b.finished_at <= t)
                };
                let history = if own.iter().any(|b| before_launch(b)) {
                    reused = history
                        .iter()
                        .filter(|b| !before_launch(b))
                        .cloned()
                        .collect();
                    &reused
                } else {
                    &history
                };
                let facts = AgentHealthFacts {
                    agent: &agent.name,
                    history,
                    out_of_resources,
                    builds_since_launch: builds,
                    max_builds: pool.spec.max_builds_per_agent,
                };
                if let Some(reason) = assess(&facts, self.config.recycle.rules, now) {
                    states.push((
                        &instance.instance_id,
                        agent,
                        State::Due {
                            reason,
                            offline: !agent.accepting_tasks,
                        },
                    ));
                }
            }

            let recycling = states
                .iter()
                .filter(|(_, _, s)| matches!(s, State::Recycling(_)))
                .count();
            let mut budget = recycle_budget(in_service, recycling, self.config.recycle.max_share);
            states.sort_by_key(|(id, _, state)| match state {
                State::Recycling(_) => (0, 0, id.to_string()),
                State::Due { reason, .. } => (1, priority(*reason), id.to_string()),
            });
            let mut desired = group.desired_capacity;
            let mut replaced: BTreeMap<&'static str, usize> = BTreeMap::new();
            for (instance_id, agent, state) in states {
                let entry = |reason, step, decrement| Recycle {
                    pool: pool.name().to_owned(),
                    instance_id: instance_id.to_owned(),
                    agent: agent.name.clone(),
                    reason,
                    step,
                    decrement_desired_capacity: decrement,
                };
                let reason = match state {
                    State::Recycling(reason) => reason,
                    State::Due { reason, .. } if budget == 0 => {
                        response.recycling.recycles.push(entry(
                            reason,
                            RecycleStep::Deferred,
                            None,
                        ));
                        continue;
                    }
                    // Already out of the CI server's hands (disk, swap): no build can start on it.
                    State::Due {
                        reason,
                        offline: true,
                    } => {
                        budget -= 1;
                        reason
                    }
                    State::Due {
                        reason,
                        offline: false,
                    } => {
                        budget -= 1;
                        let text = recycle_offline_reason(reason);
                        match self.ports.ci.take_offline(&agent.name, &text).await {
                            Ok(change) => {
                                tracing::info!(pool = %pool.name(), instance = instance_id, agent = %agent.name, reason = reason.as_str(), ?change, "recycling: agent taken offline");
                                response.recycling.recycles.push(entry(
                                    reason,
                                    RecycleStep::TakenOffline,
                                    None,
                                ));
                            }
                            Err(e) => response.errors.push(format!("recycle {}: {e}", agent.name)),
                        }
                        // A build may have started since the snapshot: replace on a later reading.
                        continue;
                    }
                };
                if agent.busy_executors > 0 {
                    response
                        .recycling
                        .recycles
                        .push(entry(reason, RecycleStep::Waiting, None));
                    continue;
                }
                let decrement = queued == 0 && desired > group.min_size;
                match self.ports.groups.terminate(instance_id, decrement).await {
                    Ok(()) => {
                        tracing::info!(pool = %pool.name(), instance = instance_id, agent = %agent.name, reason = reason.as_str(), decrement, "recycling: instance terminated");
                        if decrement {
                            desired -= 1;
                        }
                        *replaced.entry(reason.as_str()).or_default() += 1;
                        response.recycling.recycles.push(entry(
                            reason,
                            RecycleStep::Replaced,
                            Some(decrement),
                        ));
                    }
                    Err(e) => response.errors.push(format!("recycle {instance_id}: {e}")),
                }
            }
            datums.push(
                Datum::new(
                    "AgentsRecycled",
                    replaced.values().sum::<usize>() as f64,
                    Unit::Count,
                    now,
                )
                .with_dimension("Pool", pool.name()),
            );
            for (reason, count) in replaced {
                datums.push(
                    Datum::new("AgentsRecycled", count as f64, Unit::Count, now)
                        .with_dimension("Pool", pool.name())
                        .with_dimension("Reason", reason),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rules::health::Outcome;
    use rules::{Demand, LabelExpr, QueuedBuild, Waiting};
    use shared::ports::store::ObjectStore;

    use super::*;
    use crate::handler::tests::{World, agent, ago, instance, launched, now, world_with_history};
    use crate::memory::MEMORY_KEY;

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

    fn offline(name: &str, busy: u32, reason: &str) -> Agent {
        Agent {
            accepting_tasks: false,
            offline_reason: reason.into(),
            ..agent(name, busy)
        }
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
        let instances = agents.iter().map(|a| instance(&a.name, false)).collect();
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

    #[tokio::test]
    async fn a_botched_agent_goes_offline_then_is_replaced_once_idle() {
        let [bad, good] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
        let history = botched(&bad, &good);
        let w = world(
            vec![agent(&bad, 1), agent(&good, 0)],
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
            *w.ci.taken_offline.lock().expect("lock"),
            vec![(bad.clone(), "recycle: failing-builds".to_owned())]
        );
        assert!(w.groups.terminated.lock().expect("lock").is_empty());

        // Offline with its build still running: waits. Then idle, with builds queued: replaced.
        let busy = world(
            vec![offline(&bad, 1, "recycle: failing-builds"), agent(&good, 0)],
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
            vec![offline(&bad, 0, "recycle: failing-builds"), agent(&good, 0)],
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
        assert!(idle.ci.taken_offline.lock().expect("lock").is_empty());
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
            vec![offline(&a, 0, "recycle: use-limit"), agent(&b, 0)],
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
        assert!(w.ci.taken_offline.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn never_more_than_the_share_at_once() {
        let ids = ids(8);
        let mut history = Vec::new();
        for bad in &ids[..4] {
            history.extend(botched(bad, &ids[7]));
        }
        // 8 in service, share 0.25: two at once. One already recycles, so one more now.
        let mut agents: Vec<Agent> = ids.iter().map(|id| agent(id, 0)).collect();
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
        assert_eq!(w.ci.taken_offline.lock().expect("lock").len(), 1);
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
            agent(&ok, 0),
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
        assert!(w.ci.taken_offline.lock().expect("lock").is_empty());
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
        let instances = vec![instance(&fresh, false), instance(&reused, false)];
        let mut w = world_with_history(
            instances,
            Some(snapshot(vec![agent(&fresh, 0), agent(&reused, 0)], 0)),
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
        let memory: Memory = serde_json::from_slice(
            &w.store
                .get(MEMORY_KEY)
                .await
                .expect("reads")
                .expect("saved"),
        )
        .expect("parses");
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
            *w.ci.taken_offline.lock().expect("lock"),
            vec![(fresh, "recycle: use-limit".to_owned())]
        );
    }

    #[tokio::test]
    async fn unknown_data_or_recycle_off_recycles_nothing() {
        let [bad, good] = [&ids(2)[0], &ids(2)[1]].map(String::clone);
        let agents = vec![offline(&bad, 0, "recycle: failing-builds"), agent(&good, 0)];

        let no_history = world(agents.clone(), 0, None);
        let error = no_history
            .protector
            .run(now())
            .await
            .expect_err("fails visibly");
        assert!(error.to_string().contains("build history"), "{error}");

        let instances = vec![instance(&bad, false), instance(&good, false)];
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
            assert!(w.ci.taken_offline.lock().expect("lock").is_empty());
            assert!(w.groups.terminated.lock().expect("lock").is_empty());
        }
    }
}
