//! The Auto Scaling group of each pool: launches towards its desired capacity (keeping the
//! spot share), terminates only instances not protected from scale-in, sends terminating
//! instances through the drain hook when ci-fleet has one, and replaces spot-interrupted
//! instances.

use crate::scaling::GroupView;

use super::ci;
use super::clock::ms;
use super::event::Event;
use super::ids::{InstanceIx, PoolIx};
use super::state::{AgentRun, Instance, InstanceState, Kill};
use super::world::World;

const HOUR_MS: u64 = 3_600_000;

/// How an instance joins its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// At the start of a run: in service, warm, its agent registered.
    Ready,
    /// Pending, then in service, then its agent registers after the boot.
    Booting,
}

pub fn launch(world: &mut World, p: PoolIx, how: Launch) {
    let id = world.instances.next_index();
    let spot = next_is_spot(world, p);
    let now = world.clock.now;
    let env = world.env;
    let jitter = 1.0 + env.boot_jitter * world.rng.range(-1.0, 1.0);
    let boot = ms(env.boot_seconds * jitter);
    let in_service = ms(env.in_service_seconds).min(boot);
    let warmup = ms(world.pools[p].out_policy.estimated_instance_warmup_seconds);
    let ready = how == Launch::Ready;
    world.instances.push(Instance {
        pool: p,
        spot,
        launched_at: now,
        warm_at: if ready {
            now
        } else {
            now + in_service + warmup
        },
        state: if ready {
            InstanceState::InService
        } else {
            InstanceState::Pending
        },
        agent: AgentRun::default(),
        protected: false,
        idle_since: None,
        drain: None,
        heartbeats: 0,
        terminated_at: None,
    });
    world.pools[p].active.push(id);
    match how {
        Launch::Ready => ci::register(world, id),
        Launch::Booting => {
            count_launch(world, now);
            world.clock.schedule(now + in_service, Event::InService(id));
            world.clock.schedule(now + boot, Event::Registered(id));
        }
    }
    if spot && world.env.spot_interruptions_per_hour > 0.0 {
        draw_interruption(world, id);
    }
    let billed = world.pools.iter().map(|p| p.active.len() as u32).sum();
    world.out.peak_instances = world.out.peak_instances.max(billed);
}

/// The mixed-instances policy keeps the spot share on every launch.
fn next_is_spot(world: &World, p: PoolIx) -> bool {
    let active = &world.pools[p].active;
    let spots = active.iter().filter(|i| world.instances[**i].spot).count();
    let target = (world.env.spot_share * (active.len() + 1) as f64).round() as usize;
    spots < target
}

fn count_launch(world: &mut World, now: u64) {
    world.out.launches += 1;
    let hour = (now / HOUR_MS) as usize;
    if world.launches_by_hour.len() <= hour {
        world.launches_by_hour.resize(hour + 1, 0);
    }
    world.launches_by_hour[hour] += 1;
}

/// When the spot market takes the instance back: Poisson at the interruption rate.
fn draw_interruption(world: &mut World, i: InstanceIx) {
    let rate = world.env.spot_interruptions_per_hour;
    let at = world.clock.now + ms(world.rng.exponential(3600.0 / rate));
    if at < world.clock.horizon_ms + 12 * HOUR_MS {
        world.clock.schedule(at, Event::SpotNotice(i));
    }
}

pub fn in_service(world: &mut World, i: InstanceIx) {
    let inst = &mut world.instances[i];
    if inst.state == InstanceState::Pending {
        inst.state = InstanceState::InService;
    }
}

/// The instance is gone. After a spot interruption the group replaces it; after a
/// scale-in it does not (the group is already at its desired size).
pub fn terminate(world: &mut World, i: InstanceIx, cause: Kill) {
    ci::kill_builds(world, i, cause);
    ci::remove_agent(world, i);
    let now = world.clock.now;
    let inst = &mut world.instances[i];
    inst.state = InstanceState::Terminated;
    inst.terminated_at = Some(now);
    inst.drain = None;
    let p = inst.pool;
    world.pools[p].active.retain(|x| *x != i);
    if cause == Kill::Spot {
        reconcile(world, p);
    }
}

/// Instances that count towards the desired capacity: launching or in service.
fn counted(world: &World, p: PoolIx) -> Vec<InstanceIx> {
    world.pools[p]
        .active
        .iter()
        .copied()
        .filter(|i| {
            matches!(
                world.instances[*i].state,
                InstanceState::Pending | InstanceState::InService
            )
        })
        .collect()
}

/// The group moves towards its desired capacity: launches, or terminates instances
/// that are not protected from scale-in.
pub fn reconcile(world: &mut World, p: PoolIx) {
    let counted = counted(world, p);
    let desired = world.pools[p].desired as usize;
    if counted.len() < desired {
        for _ in counted.len()..desired {
            launch(world, p, Launch::Booting);
        }
        return;
    }
    let excess = counted.len() - desired;
    if excess > 0 {
        scale_in(world, &counted, excess);
    }
}

pub fn reconcile_all(world: &mut World) {
    for p in world.pools.indices() {
        reconcile(world, p);
    }
}

/// Terminates up to `excess` of the unprotected in-service instances. The default
/// termination policy: first keep the on-demand/spot split, then any.
fn scale_in(world: &mut World, counted: &[InstanceIx], mut excess: usize) {
    let mut candidates: Vec<InstanceIx> = counted
        .iter()
        .copied()
        .filter(|i| {
            let inst = &world.instances[*i];
            inst.state == InstanceState::InService && !inst.protected
        })
        .collect();
    let mut spots = counted.iter().filter(|i| world.instances[**i].spot).count();
    let mut remaining = counted.len();
    while excess > 0 && !candidates.is_empty() {
        let target = (world.env.spot_share * (remaining - 1) as f64).round() as usize;
        let want_spot = spots > target;
        let typed: Vec<usize> = (0..candidates.len())
            .filter(|k| world.instances[candidates[*k]].spot == want_spot)
            .collect();
        let k = if typed.is_empty() {
            world.rng.below(candidates.len())
        } else {
            typed[world.rng.below(typed.len())]
        };
        let i = candidates.swap_remove(k);
        spots -= usize::from(world.instances[i].spot);
        remaining -= 1;
        excess -= 1;
        begin_termination(world, i);
    }
}

/// With ci-fleet's drain hook the instance waits in Terminating for handle-interruption;
/// without one it goes at once, with whatever runs on it.
fn begin_termination(world: &mut World, i: InstanceIx) {
    world.out.scale_in_terminations += 1;
    if world.instances[i].protected {
        world.out.protected_terminations += 1;
    }
    if world.kind.protects() {
        world.instances[i].state = InstanceState::Terminating;
        let delay = ms(world.env.event_delay_seconds);
        world.clock.schedule_in(delay, Event::HookHandled(i));
    } else {
        terminate(world, i, Kill::ScaleIn);
    }
}

/// What the group looks like to a scaling policy now.
pub fn view(world: &World, p: PoolIx) -> GroupView {
    let pool = &world.pools[p];
    let mut view = GroupView {
        desired: pool.desired,
        min: pool.min,
        max: pool.max,
        warmed: 0,
        in_service_or_terminating: 0,
        warming_or_pending: 0,
    };
    for i in &pool.active {
        let inst = &world.instances[*i];
        match inst.state {
            InstanceState::Pending => view.warming_or_pending += 1,
            InstanceState::InService => {
                view.in_service_or_terminating += 1;
                if inst.warm_at <= world.clock.now {
                    view.warmed += 1;
                } else {
                    view.warming_or_pending += 1;
                }
            }
            InstanceState::Terminating => view.in_service_or_terminating += 1,
            InstanceState::Terminated => {}
        }
    }
    view
}
