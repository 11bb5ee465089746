//! The terminate lifecycle hook and its drains: handle-interruption takes the agent
//! offline and completes at once when it is idle, or records a drain; protect-busy-agents
//! then heartbeats each drain while its build runs and completes it when the build ends
//! or at the drain deadline (`rules::drain::next_step`). A hook nobody heartbeats expires.

use std::time::Duration;

use rules::drain::{DrainAgent, DrainRecord, DrainStep, next_step};

use super::ci;
use super::clock::ms;
use super::event::Event;
use super::group;
use super::ids::InstanceIx;
use super::state::{InstanceState, Kill};
use super::world::World;

const HOOK_NAME: &str = "ci-fleet-drain";

/// handle-interruption on the terminate lifecycle action.
pub fn hook_handled(world: &mut World, i: InstanceIx) {
    if world.instances[i].state != InstanceState::Terminating {
        return;
    }
    ci::take_offline(world, i);
    if world.instances[i].agent.running.is_empty() {
        group::terminate(world, i, Kill::ScaleIn);
        return;
    }
    world.out.drains += 1;
    let record = drain_record(world, i);
    world.instances[i].drain = Some(record);
    expire_unless_heartbeated(world, i);
}

fn drain_record(world: &World, i: InstanceIx) -> DrainRecord {
    let started = world.clock.wall_now();
    let timeout = ms(world.env.drain_timeout_seconds) as i64;
    let pool = &world.pools[world.instances[i].pool].pool;
    DrainRecord {
        instance_id: i.instance_id(),
        pool: pool.name().to_owned(),
        group: pool.spec.asg.clone(),
        hook: HOOK_NAME.into(),
        token: None,
        agent_names: vec![i.instance_id()],
        started_at: started,
        deadline: started + chrono::Duration::milliseconds(timeout),
        heartbeat_timeout_seconds: world.heartbeat_timeout_seconds,
        last_heartbeat_at: started,
    }
}

/// The lifecycle action expires after its heartbeat timeout unless heartbeated again.
fn expire_unless_heartbeated(world: &mut World, i: InstanceIx) {
    let heartbeats = world.instances[i].heartbeats;
    let timeout = u64::from(world.heartbeat_timeout_seconds) * 1000;
    world
        .clock
        .schedule_in(timeout, Event::HookTimeout(i, heartbeats));
}

/// The lifecycle action's heartbeat timeout passed: if nothing heartbeated since, Auto
/// Scaling continues the termination (DefaultResult CONTINUE), build or not.
pub fn hook_timeout(world: &mut World, i: InstanceIx, heartbeats: u32) {
    let inst = &world.instances[i];
    if inst.state == InstanceState::Terminating && inst.heartbeats == heartbeats {
        world.out.hook_timeouts += 1;
        group::terminate(world, i, Kill::ScaleIn);
    }
}

/// protect-busy-agents' drain step, every run, over every open drain.
pub fn advance(world: &mut World) {
    let now = world.clock.wall_now();
    let every = Duration::from_secs_f64(world.env.protect_every_seconds);
    let draining: Vec<InstanceIx> = world
        .instances
        .enumerate()
        .filter(|(_, inst)| inst.state == InstanceState::Terminating && inst.drain.is_some())
        .map(|(i, _)| i)
        .collect();
    for i in draining {
        let inst = &world.instances[i];
        let Some(record) = &inst.drain else { continue };
        let agent = if inst.agent.running.is_empty() {
            DrainAgent::Done
        } else {
            DrainAgent::Busy
        };
        match next_step(record, agent, now, every) {
            DrainStep::Wait => {}
            DrainStep::Heartbeat => {
                let inst = &mut world.instances[i];
                inst.heartbeats += 1;
                if let Some(record) = inst.drain.as_mut() {
                    record.last_heartbeat_at = now;
                }
                expire_unless_heartbeated(world, i);
            }
            DrainStep::CompleteTimedOut => {
                world.out.drains_timed_out += 1;
                group::terminate(world, i, Kill::ScaleIn);
            }
            DrainStep::Complete => {
                group::terminate(world, i, Kill::ScaleIn);
            }
        }
    }
}
