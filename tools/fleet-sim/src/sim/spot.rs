//! Spot interruptions: the two-minute notice, handle-interruption taking the agent offline
//! at once, and the instance gone at the end of the notice (the group replaces it).

use super::ci;
use super::clock::ms;
use super::event::Event;
use super::group;
use super::ids::InstanceIx;
use super::state::{InstanceState, Kill};
use super::world::World;

pub fn notice(world: &mut World, i: InstanceIx) {
    if world.instances[i].state == InstanceState::Terminated || !world.running() {
        return;
    }
    world.out.spot_interruptions += 1;
    let delay = ms(world.env.event_delay_seconds);
    world.clock.schedule_in(delay, Event::SpotOffline(i));
    let notice = ms(world.env.spot_notice_seconds);
    world.clock.schedule_in(notice, Event::SpotTerminate(i));
}

/// handle-interruption's reaction to the notice.
pub fn take_offline(world: &mut World, i: InstanceIx) {
    ci::take_offline(world, i);
}

pub fn terminate(world: &mut World, i: InstanceIx) {
    if world.instances[i].state != InstanceState::Terminated {
        group::terminate(world, i, Kill::Spot);
    }
}
