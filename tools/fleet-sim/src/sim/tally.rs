//! What a run measured, read off the world at its end.

use super::clock::{OVERRUN_MS, SEC, ms};
use super::outcome::Outcome;
use super::state::BuildState;
use super::world::World;

pub fn outcome(world: World) -> Outcome {
    let mut world = world;
    // The day, or longer if builds were still running at its end.
    let end = if world.unfinished > 0 {
        world.clock.horizon_ms + OVERRUN_MS
    } else {
        world.last_finish.max(world.clock.horizon_ms)
    };
    for build in world.builds.iter_mut() {
        if build.state == BuildState::Queued {
            build.wait_ms += end.saturating_sub(build.enqueued_at);
        }
    }
    let mut out = std::mem::take(&mut world.out);
    for inst in world.instances.iter() {
        let until = inst.terminated_at.unwrap_or(end).min(end);
        let seconds = until.saturating_sub(inst.launched_at) as f64 / SEC;
        out.instance_seconds += seconds;
        if inst.spot {
            out.spot_instance_seconds += seconds;
        }
    }
    out.end_seconds = end as f64 / SEC;
    out.max_launches_per_hour = world.launches_by_hour.iter().copied().max().unwrap_or(0);
    builds_tally(&world, &mut out);
    for pool in world.pools.iter() {
        if let Some(alarm) = &pool.out_alarm {
            out.scale_out_invocations += alarm.invocations;
        }
        if let Some(alarm) = &pool.in_alarm {
            out.scale_in_invocations += alarm.invocations;
        }
    }
    out
}

/// Waits, finishes and the work spot interruptions made builds redo.
fn builds_tally(world: &World, out: &mut Outcome) {
    let builds = &world.builds;
    out.waits = builds.iter().map(|b| b.wait_ms as f64 / SEC).collect();
    out.builds_finished = builds.iter().filter(|b| b.finishes == 1).count();
    out.redone_fractions = builds
        .iter()
        .filter(|b| b.killed_by_spot)
        .map(|b| b.redone_spot_ms as f64 / b.duration_ms as f64)
        .collect();
    let setup = ms(world.env.setup_seconds);
    out.redone_test_fractions = builds
        .iter()
        .filter(|b| b.killed_by_spot && b.duration_ms > setup)
        .map(|b| b.redone_tests_spot_ms as f64 / (b.duration_ms - setup) as f64)
        .collect();
}
