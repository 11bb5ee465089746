//! Builds arriving at the CI queue: the workload's, each at its arrival time, and
//! advise-retry's re-queue of a build killed with its instance.

use crate::workload::Workload;

use super::ci;
use super::clock::ms;
use super::event::Event;
use super::ids::{BuildIx, TableIndex};
use super::world::World;

pub fn schedule(world: &mut World, workload: &Workload) {
    for (k, build) in workload.builds.iter().enumerate() {
        let b = BuildIx::from_usize(k);
        world.clock.schedule(ms(build.arrival), Event::Arrival(b));
    }
}

pub fn arrive(world: &mut World, b: BuildIx) {
    ci::enqueue(world, b);
}

pub fn retry(world: &mut World, b: BuildIx) {
    ci::enqueue(world, b);
}
