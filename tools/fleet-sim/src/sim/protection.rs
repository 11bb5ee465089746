//! protect-busy-agents' protection step, every run: `rules::protection::protect_pool` over
//! each pool's in-service instances, exactly as the function runs it, and the verdicts
//! applied (scale-in protection, the idle-since memory).

use rules::protection::{AgentView, InstanceView, protect_pool};

use super::clock::ms;
use super::event::Event;
use super::ids::InstanceIx;
use super::state::{Instance, InstanceState};
use super::world::World;

/// The first run, 30 s into the day, and then every RUN_INTERVAL_SECONDS.
const FIRST_RUN_MS: u64 = 30_000;

pub fn schedule_first(world: &mut World) {
    world.clock.schedule(FIRST_RUN_MS, Event::ProtectRun);
}

pub fn schedule_next(world: &mut World) {
    if world.running() {
        let interval = ms(world.env.protect_every_seconds).max(1);
        world.clock.schedule_in(interval, Event::ProtectRun);
    }
}

pub fn protect(world: &mut World) {
    let now = world.clock.wall_now();
    for p in world.pools.indices() {
        let in_service: Vec<InstanceIx> = world.pools[p]
            .active
            .iter()
            .copied()
            .filter(|i| world.instances[*i].state == InstanceState::InService)
            .collect();
        let views: Vec<InstanceView> = in_service
            .iter()
            .map(|i| view(world, &world.instances[*i]))
            .collect();
        let pool = protect_pool(&views, world.graces, now);
        for (i, step) in in_service.iter().zip(&pool.steps) {
            let inst = &mut world.instances[*i];
            inst.protected = step.verdict.protect;
            inst.idle_since = step.idle_since;
        }
    }
}

/// The instance as protect-busy-agents reads it from Auto Scaling and the CI server.
fn view(world: &World, inst: &Instance) -> InstanceView {
    let agent = if !inst.agent.registered {
        AgentView::NotRegistered
    } else if inst.agent.offline {
        AgentView::Offline
    } else if !inst.agent.running.is_empty() {
        AgentView::Busy
    } else {
        AgentView::Idle
    };
    InstanceView {
        protected: inst.protected,
        since: world.clock.at(inst.launched_at),
        agent,
        idle_since: inst.idle_since,
    }
}
