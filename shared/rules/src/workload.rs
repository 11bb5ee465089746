//! A pool's workload: the numbers the scaling alarms watch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::metric::{Datum, Unit};
use super::model::{Agent, CiSnapshot, Demand, Waiting};
use super::pool::Pool;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolWorkload {
    pub pool: String,
    pub queued_builds: u32,
    pub stuck_builds: u32,
    pub oldest_queued_seconds: f64,
    pub busy_executors: u32,
    pub idle_executors: u32,
    pub online_executors: u32,
    pub offline_agents: u32,
    /// (busy + queued) / max(online, 1): 1.0 means exactly enough executors.
    pub total_workload: f64,
    /// ceil((busy + queued) / executors per instance).
    pub desired_instances: u32,
    /// ceil(max(busy + queued - online, 0) / executors per instance): the instances the
    /// pool lacks beyond its online agents. An absolute count, so a `ChangeInCapacity`
    /// step policy can start an empty pool at the size its queue needs (a percentage of
    /// zero instances is zero); instances still booting are not subtracted, because the
    /// step policy's warm-up already counts them out of the current capacity.
    pub missing_instances: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workloads {
    pub pools: Vec<PoolWorkload>,
    /// Builds waiting for executors that no configured pool serves (no label, or a
    /// label no pool matches); they are logged so a missing pool is noticed.
    pub unattributed_builds: u32,
}

pub fn compute_workloads(pools: &[Pool], snapshot: &CiSnapshot, now: DateTime<Utc>) -> Workloads {
    // Thousands of queued builds name a few dozen distinct demands: decide each distinct
    // demand once per pool, then count the builds.
    let mut distinct: HashMap<&Demand, usize> = HashMap::new();
    let demand_of: Vec<Option<usize>> = snapshot
        .queue
        .iter()
        .map(|build| {
            (build.waiting == Waiting::ForExecutor).then(|| {
                let next = distinct.len();
                *distinct.entry(&build.demand).or_insert(next)
            })
        })
        .collect();
    let mut demands: Vec<&Demand> = vec![&Demand::Any; distinct.len()];
    for (demand, index) in &distinct {
        demands[*index] = demand;
    }
    // Each demand belongs to one pool, never counted twice (both pools would scale out
    // for it, the expensive one too): the first in POOLS order whose new instances would
    // run it, else (a build pinned to a node) the first whose agents can.
    let members: Vec<Vec<&Agent>> = pools
        .iter()
        .map(|pool| {
            snapshot
                .agents
                .iter()
                .filter(|a| pool.contains(a))
                .collect()
        })
        .collect();
    let owner: Vec<Option<usize>> = demands
        .iter()
        .map(|demand| owner_of(pools, &members, demand))
        .collect();
    let pools_out = pools
        .iter()
        .enumerate()
        .map(|(p, pool)| {
            let mut workload = PoolWorkload::of_executors(pool.name(), &members[p]);
            for (build, demand) in snapshot.queue.iter().zip(&demand_of) {
                if demand.and_then(|d| owner[d]) != Some(p) {
                    continue;
                }
                workload.queued_builds += 1;
                // A pool with no agent online is starting (from zero, or after losing its
                // agents): the CI server marks its builds stuck (Jenkins: the label is
                // offline), but more instances are on their way; its wait shows in
                // OldestQueuedSeconds. Stuck is a build no online agent of the pool takes.
                if build.stuck && workload.online_executors > 0 {
                    workload.stuck_builds += 1;
                }
                if let Some(since) = build.queued_since {
                    let age = (now - since).num_milliseconds().max(0) as f64 / 1000.0;
                    workload.oldest_queued_seconds = workload.oldest_queued_seconds.max(age);
                }
            }
            workload.size(pool.spec.executors_per_instance);
            workload
        })
        .collect();
    let unattributed_builds = demand_of
        .iter()
        .filter(|d| d.is_some_and(|d| owner[d].is_none()))
        .count() as u32;
    Workloads {
        pools: pools_out,
        unattributed_builds,
    }
}

/// The pool a demand belongs to: the first in POOLS order whose new instances would run
/// it, else (a build pinned to a node) the first whose agents can; `None`: no pool's.
fn owner_of(pools: &[Pool], members: &[Vec<&Agent>], demand: &Demand) -> Option<usize> {
    let launches = |p: &usize| pools[*p].would_launch_for(demand, &members[*p]);
    let runs = |p: &usize| pools[*p].wants(demand, &members[*p]);
    (0..pools.len())
        .find(launches)
        .or_else(|| (0..pools.len()).find(runs))
}

impl PoolWorkload {
    /// A pool's executors: busy, idle and online ones of agents that take work, and the
    /// agents that do not; the queue is counted in afterwards.
    fn of_executors(pool: &str, members: &[&Agent]) -> PoolWorkload {
        let mut workload = PoolWorkload {
            pool: pool.to_owned(),
            queued_builds: 0,
            stuck_builds: 0,
            oldest_queued_seconds: 0.0,
            busy_executors: 0,
            idle_executors: 0,
            online_executors: 0,
            offline_agents: 0,
            total_workload: 0.0,
            desired_instances: 0,
            missing_instances: 0,
        };
        for agent in members {
            if agent.is_capacity() {
                let busy = agent.busy_executors.min(agent.executors);
                workload.busy_executors += busy;
                workload.idle_executors += agent.executors - busy;
                workload.online_executors += agent.executors;
            } else {
                workload.offline_agents += 1;
            }
        }
        workload
    }

    /// The sizes derived from demand (busy + queued): workload per online executor, and
    /// the instances wanted in all and missing now.
    fn size(&mut self, executors_per_instance: u32) {
        let demand = self.busy_executors + self.queued_builds;
        self.total_workload = f64::from(demand) / f64::from(self.online_executors.max(1));
        let per_instance = executors_per_instance.max(1);
        self.desired_instances = demand.div_ceil(per_instance);
        self.missing_instances = demand
            .saturating_sub(self.online_executors)
            .div_ceil(per_instance);
    }

    /// The pool metrics of docs/design.md#pool-metrics, dimension `Pool`.
    pub fn datums(&self, at: DateTime<Utc>, high_resolution: bool) -> Vec<Datum> {
        let count = |name, value: u32| (name, f64::from(value), Unit::Count);
        [
            count("QueuedBuilds", self.queued_builds),
            count("StuckBuilds", self.stuck_builds),
            (
                "OldestQueuedSeconds",
                self.oldest_queued_seconds,
                Unit::Seconds,
            ),
            count("BusyExecutors", self.busy_executors),
            count("IdleExecutors", self.idle_executors),
            count("OnlineExecutors", self.online_executors),
            count("OfflineAgents", self.offline_agents),
            ("TotalWorkload", self.total_workload, Unit::None),
            count("DesiredInstances", self.desired_instances),
            count("MissingInstances", self.missing_instances),
        ]
        .into_iter()
        .map(|(name, value, unit)| {
            Datum::new(name, value, unit, at)
                .with_dimension("Pool", &self.pool)
                .high_resolution(high_resolution)
        })
        .collect()
    }
}

/// When ci-fleet first saw each queued build wait for an executor. Jenkins' `inQueueSince`
/// and `buildableStartMilliseconds` both count time blocked behind the job's own running
/// build (Queue.java carries the blocked phase's start into the buildable item), so a
/// build blocked for an hour would read an hour old the moment it waits for an agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueClock {
    first_waiting: HashMap<String, DateTime<Utc>>,
}

impl QueueClock {
    /// Stamps each build waiting for an executor with when it was first seen waiting (now,
    /// for a build new to the clock), and forgets builds that left the queue or stopped
    /// waiting for an executor.
    pub fn stamp(&mut self, snapshot: &mut CiSnapshot, now: DateTime<Utc>) {
        let mut seen = HashMap::with_capacity(snapshot.queue.len());
        for build in snapshot.queue.iter_mut() {
            if build.waiting != Waiting::ForExecutor {
                continue;
            }
            let since = self.first_waiting.get(&build.id).copied().unwrap_or(now);
            seen.insert(build.id.clone(), since);
            build.queued_since = Some(since);
        }
        self.first_waiting = seen;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::fixtures::{agent, queued};
    use crate::pool::PoolSpec;

    fn pool(name: &str, label: &str, executors_per_instance: u32) -> Pool {
        Pool::jenkins(PoolSpec {
            name: name.into(),
            ci_label: label.into(),
            asg: format!("{name}-asg"),
            executors_per_instance,
            max_builds_per_agent: None,
        })
        .expect("fixture pool label parses")
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn counts_capacity_and_demand_per_pool() {
        struct Case {
            name: &'static str,
            snapshot: CiSnapshot,
            expect: (u32, u32, u32, u32, u32, f64, u32), // queued, busy, idle, online, offline, workload, desired
        }
        let linux = pool("linux", "linux", 4);
        let cases = vec![
            Case {
                name: "empty pool, empty queue",
                snapshot: CiSnapshot::default(),
                expect: (0, 0, 0, 0, 0, 0.0, 0),
            },
            Case {
                name: "pool scaled to zero sees its queue",
                snapshot: CiSnapshot {
                    agents: vec![],
                    queue: vec![queued("1", "linux"), queued("2", "linux")],
                },
                expect: (2, 0, 0, 0, 0, 2.0, 1),
            },
            Case {
                name: "busy and idle executors of online agents",
                snapshot: CiSnapshot {
                    agents: vec![
                        agent("a").labelled(&["linux"]).executors(4).busy(3),
                        agent("b").labelled(&["linux"]).executors(4),
                    ],
                    queue: vec![],
                },
                expect: (0, 3, 5, 8, 0, 3.0 / 8.0, 1),
            },
            Case {
                name: "offline and temporarily offline agents are not capacity",
                snapshot: CiSnapshot {
                    agents: vec![
                        agent("a").labelled(&["linux"]).executors(4).busy(4),
                        agent("b").labelled(&["linux"]).executors(4).disconnected(),
                        agent("c")
                            .labelled(&["linux"])
                            .executors(4)
                            .busy(1)
                            .temporarily_offline(),
                    ],
                    queue: vec![queued("1", "linux")],
                },
                expect: (1, 4, 0, 4, 2, 5.0 / 4.0, 2),
            },
            Case {
                name: "blocked, quiet and pending items are not demand",
                snapshot: CiSnapshot {
                    agents: vec![],
                    queue: vec![
                        queued("1", "linux").waiting(Waiting::Blocked),
                        queued("2", "linux").waiting(Waiting::QuietPeriod),
                        queued("3", "linux").waiting(Waiting::Pending),
                        queued("4", "linux"),
                    ],
                },
                expect: (1, 0, 0, 0, 0, 1.0, 1),
            },
            Case {
                name: "other pools' labels are not ours",
                snapshot: CiSnapshot {
                    agents: vec![agent("w").labelled(&["windows"]).executors(2)],
                    queue: vec![queued("1", "windows"), queued("2", "linux && gpu")],
                },
                expect: (0, 0, 0, 0, 0, 0.0, 0),
            },
            Case {
                name: "busy count never exceeds executors",
                snapshot: CiSnapshot {
                    agents: vec![agent("a").labelled(&["linux"]).executors(2).busy(5)],
                    queue: vec![],
                },
                expect: (0, 2, 0, 2, 0, 1.0, 1),
            },
        ];
        for case in cases {
            let result = compute_workloads(std::slice::from_ref(&linux), &case.snapshot, now());
            let w = &result.pools[0];
            let got = (
                w.queued_builds,
                w.busy_executors,
                w.idle_executors,
                w.online_executors,
                w.offline_agents,
                w.total_workload,
                w.desired_instances,
            );
            assert_eq!(got, case.expect, "{}", case.name);
        }
    }

    #[test]
    fn missing_instances_count_only_the_demand_online_executors_cannot_take() {
        /// (case, executors per instance, agents as (executors, busy), queued, missing)
        type Case = (&'static str, u32, &'static [(u32, u32)], usize, u32);
        let cases: [Case; 7] = [
            ("nothing queued", 4, &[(4, 4)], 0, 0),
            (
                "empty pool: the queue in instances, rounded up",
                4,
                &[],
                9,
                3,
            ),
            ("one executor each", 1, &[], 5, 5),
            ("a full pool with a queue", 2, &[(2, 2), (2, 2)], 3, 2),
            (
                "idle executors absorb queued builds first",
                4,
                &[(4, 1)],
                2,
                0,
            ),
            ("idle executors only partly absorb them", 4, &[(4, 2)], 7, 2),
            ("exactly full", 4, &[(4, 4), (4, 4)], 0, 0),
        ];
        for (name, per_instance, agents, queue, missing) in cases {
            let snapshot = CiSnapshot {
                agents: agents
                    .iter()
                    .enumerate()
                    .map(|(i, (executors, busy))| {
                        agent(&format!("a{i}"))
                            .labelled(&["linux"])
                            .executors(*executors)
                            .busy(*busy)
                    })
                    .collect(),
                queue: (0..queue)
                    .map(|i| queued(&i.to_string(), "linux"))
                    .collect(),
            };
            let pools = [pool("linux", "linux", per_instance)];
            let w = &compute_workloads(&pools, &snapshot, now()).pools[0];
            assert_eq!(w.missing_instances, missing, "{name}");
            assert!(w.missing_instances <= w.desired_instances, "{name}");
        }
    }

    /// Each queued build is demand of exactly one pool: the first in POOLS order that
    /// wants it. GPU agents carry `linux` too, so a plain `linux` build could run on them:
    /// listed first, the general pool takes it, and the GPU pool does not scale out for it.
    #[test]
    fn attributes_each_queued_build_to_the_first_pool_that_can_run_it() {
        let pools = [
            pool("cpu", "linux && !gpu", 4),
            pool("gpu", "linux && gpu", 1),
            pool("win", "windows", 2),
        ];
        let snapshot = CiSnapshot {
            agents: vec![
                agent("cpu-1").labelled(&["linux"]).executors(4),
                agent("gpu-1").labelled(&["linux", "gpu"]).executors(1),
            ],
            queue: vec![
                queued("plain-linux", "linux"),
                queued("needs-gpu", "gpu"),
                queued("node-pinned", "gpu-1"),
                queued("windows-from-zero", "windows"),
                queued("nobody", "macos"),
                queued("anything", "linux").demand(Demand::Any),
            ],
        };
        let result = compute_workloads(&pools, &snapshot, now());
        let queued: Vec<(&str, u32)> = result
            .pools
            .iter()
            .map(|w| (w.pool.as_str(), w.queued_builds))
            .collect();
        // plain-linux: cpu (first; gpu could run it too, but does not count it);
        // needs-gpu and node-pinned: gpu; windows-from-zero: win.
        assert_eq!(queued, vec![("cpu", 1), ("gpu", 2), ("win", 1)]);
        assert_eq!(
            result.unattributed_builds, 2,
            "macos and the unlabelled build"
        );
    }

    /// Listed the other way round, the GPU pool would take plain builds: the order in
    /// POOLS is the documented rule, general pools first.
    #[test]
    fn the_order_of_pools_decides_which_one_a_shared_build_belongs_to() {
        let agents = vec![
            agent("cpu-1").labelled(&["linux"]).executors(4),
            agent("gpu-1").labelled(&["linux", "gpu"]).executors(1),
        ];
        let queue = vec![queued("plain", "linux"), queued("gpu-job", "gpu && linux")];
        let snapshot = CiSnapshot { agents, queue };
        let count = |pools: &[Pool]| -> Vec<(String, u32)> {
            compute_workloads(pools, &snapshot, now())
                .pools
                .into_iter()
                .map(|w| (w.pool, w.queued_builds))
                .collect()
        };
        let general_first = [pool("linux", "linux", 4), pool("gpu", "gpu && linux", 1)];
        assert_eq!(
            count(&general_first),
            vec![("linux".to_owned(), 1), ("gpu".to_owned(), 1)],
            "each build counted once, the gpu one by the gpu pool only"
        );
        let gpu_first = [pool("gpu", "gpu && linux", 1), pool("linux", "linux", 4)];
        assert_eq!(
            count(&gpu_first),
            vec![("gpu".to_owned(), 2), ("linux".to_owned(), 0)]
        );
    }

    #[test]
    fn a_pool_with_no_agent_online_is_starting_not_stuck() {
        let linux = pool("linux", "linux", 4);
        let queue = vec![queued("1", "linux").stuck()];
        let starting = CiSnapshot {
            agents: vec![],
            queue: queue.clone(),
        };
        let w = &compute_workloads(std::slice::from_ref(&linux), &starting, now()).pools[0];
        assert_eq!((w.queued_builds, w.stuck_builds), (1, 0));
        let busy = CiSnapshot {
            agents: vec![agent("i-1").labelled(&["linux"]).busy(1)],
            queue,
        };
        let w = &compute_workloads(&[linux], &busy, now()).pools[0];
        assert_eq!((w.queued_builds, w.stuck_builds), (1, 1));
    }

    #[test]
    fn the_queue_clock_ages_a_build_from_when_it_first_waited_for_an_executor() {
        let minutes_ago = |m| now() - chrono::Duration::minutes(m);
        let mut clock = QueueClock::default();
        // Blocked behind its own running build for an hour: not waiting for an executor.
        let mut first = CiSnapshot {
            agents: vec![],
            queue: vec![
                queued("1", "linux")
                    .since(minutes_ago(60))
                    .waiting(Waiting::Blocked),
                queued("2", "linux").since(minutes_ago(60)),
            ],
        };
        clock.stamp(&mut first, minutes_ago(2));
        assert_eq!(
            first.queue[0].queued_since,
            Some(minutes_ago(60)),
            "left as it was"
        );
        assert_eq!(first.queue[1].queued_since, Some(minutes_ago(2)));
        let mut later = CiSnapshot {
            agents: vec![],
            queue: vec![
                queued("1", "linux").since(minutes_ago(60)),
                queued("2", "linux").since(minutes_ago(60)),
            ],
        };
        clock.stamp(&mut later, minutes_ago(1));
        assert_eq!(
            later
                .queue
                .iter()
                .map(|b| b.queued_since)
                .collect::<Vec<_>>(),
            vec![Some(minutes_ago(1)), Some(minutes_ago(2))],
            "1 waits for an executor since it was unblocked; 2 keeps its first sighting"
        );
        let mut gone = CiSnapshot::default();
        clock.stamp(&mut gone, now());
        assert_eq!(
            clock,
            QueueClock::default(),
            "builds that left are forgotten"
        );
    }

    #[test]
    fn stuck_and_oldest_wait_cover_only_this_pools_demand() {
        let linux = pool("linux", "linux", 4);
        let minutes_ago = |m| now() - chrono::Duration::minutes(m);
        let snapshot = CiSnapshot {
            agents: vec![agent("i-1").labelled(&["linux"]).busy(1)],
            queue: vec![
                queued("1", "linux").since(minutes_ago(3)).stuck(),
                queued("2", "linux").since(minutes_ago(1)),
                queued("3", "linux")
                    .since(minutes_ago(30))
                    .waiting(Waiting::Blocked),
                queued("4", "windows").since(minutes_ago(60)).stuck(),
            ],
        };
        let w = &compute_workloads(&[linux], &snapshot, now()).pools[0];
        assert_eq!(
            (w.queued_builds, w.stuck_builds, w.oldest_queued_seconds),
            (2, 1, 180.0)
        );
    }

    #[test]
    fn datums_carry_the_pool_dimension_and_resolution() {
        let linux = pool("linux", "linux", 4);
        let w = &compute_workloads(&[linux], &CiSnapshot::default(), now()).pools[0];
        let datums = w.datums(now(), true);
        let names: Vec<&str> = datums.iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            [
                "QueuedBuilds",
                "StuckBuilds",
                "OldestQueuedSeconds",
                "BusyExecutors",
                "IdleExecutors",
                "OnlineExecutors",
                "OfflineAgents",
                "TotalWorkload",
                "DesiredInstances",
                "MissingInstances"
            ]
        );
        assert!(datums.iter().all(
            |d| d.dimensions == vec![("Pool", "linux".to_owned())] && d.storage_resolution == 1
        ));
    }
}
