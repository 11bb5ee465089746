//! publish-workload: every poll interval it reads the CI server's snapshot, computes each
//! pool's metrics with `rules::compute_workloads` and publishes the datapoints the alarms
//! watch; once a minute the chart takes a sample.

use rules::{Workloads, compute_workloads};

use super::alarms;
use super::ci;
use super::clock::{SEC, ms};
use super::environment::PolicyKind;
use super::event::Event;
use super::ids::{PoolIx, TableIndex};
use super::outcome::Sample;
use super::policies;
use super::state::InstanceState;
use super::world::World;

pub fn poll(world: &mut World) {
    ci::forget_started(world);
    let workloads = compute_workloads(&world.ci.pools, &world.ci.snapshot, world.clock.wall_now());
    for (k, w) in workloads.pools.iter().enumerate() {
        let p = PoolIx::from_usize(k);
        let (scale_out_value, scale_in_value) = match world.kind {
            PolicyKind::CpuStyle => {
                let busy = f64::from(w.busy_executors) / f64::from(w.online_executors.max(1));
                (busy, busy)
            }
            PolicyKind::CiFleet | PolicyKind::Static | PolicyKind::DesiredInstances => {
                (f64::from(w.missing_instances), w.total_workload)
            }
        };
        if world.kind == PolicyKind::DesiredInstances {
            policies::follow_desired_instances(world, p, w.desired_instances);
        }
        alarms::record(world, p, scale_out_value, scale_in_value);
    }
    let per_minute = (60.0 / world.env.poll_interval_seconds).round().max(1.0) as u64;
    if world.polls.is_multiple_of(per_minute) {
        sample(world, &workloads);
    }
    world.polls += 1;
    if world.running() {
        let interval = ms(world.env.poll_interval_seconds).max(1);
        world.clock.schedule_in(interval, Event::Poll);
    }
}

fn sample(world: &mut World, workloads: &Workloads) {
    let mut s = Sample {
        t: world.clock.now as f64 / SEC,
        queued: 0,
        instances: 0,
        online_agents: 0,
        busy_executors: 0,
        desired: 0,
    };
    for (w, pool) in workloads.pools.iter().zip(world.pools.iter()) {
        s.queued += w.queued_builds;
        s.desired += pool.desired;
        s.instances += pool.active.len() as u32;
    }
    for inst in world.instances.iter() {
        if inst.state != InstanceState::Terminated && inst.agent.registered {
            s.busy_executors += inst.agent.running.len() as u32;
            s.online_agents += u32::from(!inst.agent.offline);
        }
    }
    world.out.timeline.push(s);
}
