//! A run's world at millisecond 0: one pool (group, alarms, policies) per label of the
//! workload, each label's queue routed to the pools whose agents can run it, the builds
//! waiting to arrive, and each group at its starting size.

use std::collections::VecDeque;
use std::time::Duration;

use rules::protection::Graces;
use rules::{Demand, LabelExpr, Pool, PoolSelector, PoolSpec};

use crate::alarm::Alarm;
use crate::params::ScalingParams;
use crate::rng::Rng;
use crate::workload::Workload;

use super::alarms;
use super::arrivals;
use super::clock::{Clock, ms};
use super::environment::{Environment, PolicyKind};
use super::event::Event;
use super::group::{self, Launch};
use super::ids::{LabelIx, PoolIx, Table, TableIndex};
use super::outcome::Outcome;
use super::policies::{self, Scaling};
use super::protection;
use super::state::{BuildRun, LabelRun, PoolRun};
use super::world::{CiServer, World};

/// The world stream's name, apart from the workload's.
const WORLD_STREAM: u64 = 0xF1EE7;

/// The peak number of instances each label's builds need if every build starts on arrival.
pub fn peak_instances(workload: &Workload, executors: u32) -> Vec<u32> {
    (0..workload.labels.len())
        .map(|label| {
            let mut running = 0i64;
            let mut peak = 0i64;
            for (_, d) in workload.edges(label) {
                running += d;
                peak = peak.max(running);
            }
            (peak as u32).div_ceil(executors.max(1))
        })
        .collect()
}

pub fn world<'a>(
    workload: &Workload,
    params: &ScalingParams,
    env: &'a Environment,
    kind: PolicyKind,
    seed: u64,
) -> World<'a> {
    let mut pools = pool_runs(workload, params, env, kind);
    let labels = label_runs(workload, &mut pools);
    let builds: Table<_, _> = workload
        .builds
        .iter()
        .map(|b| BuildRun::new(ms(b.duration).max(1), LabelIx::from_usize(b.label)))
        .collect();
    let ci = CiServer {
        pools: pools.iter().map(|p| p.pool.clone()).collect(),
        ..CiServer::default()
    };
    let mut world = World {
        env,
        kind,
        clock: Clock::new(workload.start, ms(workload.horizon)),
        rng: Rng::derive(seed, WORLD_STREAM),
        unfinished: builds.len(),
        builds,
        instances: Table::new(),
        pools,
        labels,
        ci,
        graces: Graces {
            boot: Duration::from_secs_f64(params.get("BootGraceSeconds").max(0.0)),
            idle: Duration::from_secs_f64(params.get("IdleGraceSeconds").max(0.0)),
        },
        heartbeat_timeout_seconds: params.get("DrainHeartbeatTimeoutSeconds").max(30.0) as u32,
        out: Outcome {
            builds: workload.builds.len(),
            ..Outcome::default()
        },
        last_finish: 0,
        polls: 0,
        launches_by_hour: Vec::new(),
    };
    start(&mut world, workload);
    world
}

/// The first events: arrivals, each group at its desired size (agents registered and
/// warm), the first poll, alarm evaluation and protection run.
fn start(world: &mut World, workload: &Workload) {
    arrivals::schedule(world, workload);
    for p in world.pools.indices() {
        for _ in 0..world.pools[p].desired {
            group::launch(world, p, Launch::Ready);
        }
    }
    world.clock.schedule(0, Event::Poll);
    if world.kind != PolicyKind::Static {
        alarms::schedule_first(world);
    }
    if world.kind.protects() {
        protection::schedule_first(world);
    }
}

/// One pool per label of the workload: its CI pool, its group's limits, alarms and
/// policies.
fn pool_runs(
    workload: &Workload,
    params: &ScalingParams,
    env: &Environment,
    kind: PolicyKind,
) -> Table<PoolIx, PoolRun> {
    let executors = env.executors_per_instance.max(1);
    let peaks = peak_instances(workload, executors);
    let scaling = policies::for_kind(kind, params, env);
    workload
        .labels
        .iter()
        .enumerate()
        .map(|(k, label)| {
            let spec = PoolSpec {
                name: label.clone(),
                ci_label: label.clone(),
                asg: format!("ci-{k}"),
                executors_per_instance: executors,
                max_builds_per_agent: None,
            };
            // Labels were checked when the workload was read.
            let pool = Pool::jenkins(spec.clone()).unwrap_or_else(|_| Pool::teamcity(spec));
            pool_run(pool, peaks[k], &scaling, env, kind)
        })
        .collect()
}

fn pool_run(
    pool: Pool,
    peak: u32,
    scaling: &Scaling,
    env: &Environment,
    kind: PolicyKind,
) -> PoolRun {
    let agent_labels = match &pool.selector {
        PoolSelector::Labels(expr) => expr
            .required_atoms()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        PoolSelector::AgentPool(name) => vec![name.clone()],
    };
    let (min, max, desired) = match kind {
        PolicyKind::Static => (peak, peak, peak),
        // A busy fraction of an empty group is 0: it cannot start from nothing.
        PolicyKind::CpuStyle => (env.min_size.max(1), env.max_size, env.min_size.max(1)),
        PolicyKind::CiFleet | PolicyKind::DesiredInstances => {
            (env.min_size, env.max_size, env.min_size)
        }
    };
    let scaled = kind != PolicyKind::Static;
    PoolRun {
        pool,
        agent_labels,
        labels: Vec::new(),
        desired,
        min,
        max,
        active: Vec::new(),
        out_alarm: (scaled && kind != PolicyKind::DesiredInstances)
            .then(|| Alarm::new(scaling.out_alarm.clone())),
        in_alarm: scaled.then(|| Alarm::new(scaling.in_alarm.clone())),
        out_policy: scaling.out_policy.clone(),
        in_policy: scaling.in_policy.clone(),
    }
}

/// Each label's queue, routed to the pools whose agents satisfy its expression (and the
/// pools told which labels they serve).
fn label_runs(workload: &Workload, pools: &mut Table<PoolIx, PoolRun>) -> Table<LabelIx, LabelRun> {
    let mut labels = Table::new();
    for label in &workload.labels {
        let expr = LabelExpr::parse(label).unwrap_or(LabelExpr::Atom(label.clone()));
        let eligible: Vec<PoolIx> = pools
            .enumerate()
            .filter(|(_, p)| expr.matches(|l| p.agent_labels.iter().any(|a| a == l)))
            .map(|(p, _)| p)
            .collect();
        let l = labels.push(LabelRun {
            demand: Demand::Expression(expr),
            queue: VecDeque::new(),
            pools: eligible.clone(),
        });
        for p in eligible {
            pools[p].labels.push(l);
        }
    }
    labels
}
