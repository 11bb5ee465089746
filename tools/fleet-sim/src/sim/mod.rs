//! The discrete-event simulation: builds arrive in the CI queue and run on agents'
//! executors; agents live on instances of one Auto Scaling group per pool; the publisher
//! reads the CI server every poll interval and computes the pool's metrics with
//! `rules::compute_workloads`; CloudWatch alarms evaluate those metrics and invoke
//! step-scaling policies; scale-in takes only instances unprotected by
//! `rules::protection::protect_pool`; a terminating instance's build is drained through
//! `rules::drain::next_step`; spot instances get interrupted, with or without
//! test checkpoints.
//!
//! One module per actor, each a set of functions over the [`world::World`]; [`Sim::step`]
//! hands every event to its actor.

mod alarms;
mod arrivals;
mod checkpoint;
mod ci;
mod clock;
mod drains;
mod environment;
mod event;
mod group;
mod ids;
mod outcome;
mod policies;
mod protection;
mod publisher;
mod setup;
mod spot;
mod state;
mod tally;
mod world;

pub use environment::{Environment, PolicyKind};
pub use outcome::{Outcome, Sample};
pub use setup::peak_instances;

use crate::params::ScalingParams;
use crate::workload::Workload;

use event::Event;
use world::World;

pub struct Sim<'a> {
    world: World<'a>,
}

impl<'a> Sim<'a> {
    pub fn run(
        workload: &Workload,
        params: &ScalingParams,
        env: &'a Environment,
        kind: PolicyKind,
        seed: u64,
    ) -> Outcome {
        let mut sim = Sim::new(workload, params, env, kind, seed);
        sim.run_until(u64::MAX);
        tally::outcome(sim.world)
    }

    fn new(
        workload: &Workload,
        params: &ScalingParams,
        env: &'a Environment,
        kind: PolicyKind,
        seed: u64,
    ) -> Sim<'a> {
        Sim {
            world: setup::world(workload, params, env, kind, seed),
        }
    }

    /// Processes events up to and including time `until` (ms).
    fn run_until(&mut self, until: u64) {
        while let Some(event) = self.world.clock.next_until(until) {
            self.step(event);
        }
    }

    fn step(&mut self, event: Event) {
        let world = &mut self.world;
        match event {
            Event::Arrival(b) => arrivals::arrive(world, b),
            Event::Retry(b) => arrivals::retry(world, b),
            Event::Finish(b, attempt) => ci::finish_build(world, b, attempt),
            Event::InService(i) => group::in_service(world, i),
            Event::Registered(i) => ci::register(world, i),
            Event::Poll => publisher::poll(world),
            Event::AlarmEvaluation(p, direction) => alarms::evaluate(world, p, direction),
            Event::ProtectRun => {
                protection::protect(world);
                drains::advance(world);
                group::reconcile_all(world);
                protection::schedule_next(world);
            }
            Event::HookHandled(i) => drains::hook_handled(world, i),
            Event::HookTimeout(i, heartbeats) => drains::hook_timeout(world, i, heartbeats),
            Event::SpotNotice(i) => spot::notice(world, i),
            Event::SpotOffline(i) => spot::take_offline(world, i),
            Event::SpotTerminate(i) => spot::terminate(world, i),
        }
    }
}

#[cfg(test)]
mod tests;
