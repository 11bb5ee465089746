//! CloudWatch alarms of each pool: they receive the publisher's datapoints, are evaluated
//! on their schedule (every 10 s for high-resolution periods, else every minute) and
//! invoke their scaling policy on entering ALARM and once a minute while in it.

use super::event::{Direction, Event};
use super::ids::PoolIx;
use super::policies;
use super::world::World;

/// The first evaluation, 5 s after the first poll, and then on each alarm's schedule.
const FIRST_EVALUATION_MS: u64 = 5_000;

pub fn schedule_first(world: &mut World) {
    for p in world.pools.indices() {
        for direction in [Direction::ScaleOut, Direction::ScaleIn] {
            world
                .clock
                .schedule(FIRST_EVALUATION_MS, Event::AlarmEvaluation(p, direction));
        }
    }
}

/// One poll's datapoints for a pool's two alarms.
pub fn record(world: &mut World, p: PoolIx, scale_out_value: f64, scale_in_value: f64) {
    let now = world.clock.now;
    let pool = &mut world.pools[p];
    if let Some(alarm) = pool.alarm_mut(Direction::ScaleOut) {
        alarm.record(now, scale_out_value);
    }
    if let Some(alarm) = pool.alarm_mut(Direction::ScaleIn) {
        alarm.record(now, scale_in_value);
    }
}

pub fn evaluate(world: &mut World, p: PoolIx, direction: Direction) {
    let now = world.clock.now;
    let Some(alarm) = world.pools[p].alarm_mut(direction) else {
        return;
    };
    let interval = alarm.spec.evaluation_interval_ms();
    if let Some(invocation) = alarm.evaluate(now) {
        policies::invoke(world, p, direction, &invocation.datapoints);
    }
    if world.running() {
        world
            .clock
            .schedule(now + interval, Event::AlarmEvaluation(p, direction));
    }
}
