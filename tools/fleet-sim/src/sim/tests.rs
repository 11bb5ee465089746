use super::ids::{BuildIx, InstanceIx, TableIndex};
use super::state::Kill;
use super::*;
use crate::workload::{Build, DAY};

fn params() -> ScalingParams {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
    ScalingParams::load(&path).expect("pool.yaml")
}

fn one_build_day(at: f64, duration: f64) -> Workload {
    Workload {
        name: "one".into(),
        labels: vec!["linux".into()],
        builds: vec![Build {
            arrival: at,
            duration,
            label: 0,
        }],
        horizon: DAY,
        start: chrono::Utc::now(),
        recorded_waits: vec![],
    }
}

#[test]
fn a_build_on_an_empty_pool_waits_for_one_poll_and_a_boot() {
    let env = Environment {
        boot_jitter: 0.0,
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    let out = Sim::run(
        &one_build_day(3600.0, 600.0),
        &params(),
        &env,
        PolicyKind::CiFleet,
        1,
    );
    assert_eq!((out.builds_finished, out.attempts), (1, 1));
    // MissingInstances 1 adds exactly one; a full pool is not scaled out further.
    assert_eq!(out.launches, 1);
    // Seen by the next poll, alarm on its first datapoint (1 of 1), then the boot.
    let wait = out.waits[0];
    assert!(
        wait > env.boot_seconds && wait < env.boot_seconds + 30.0,
        "{wait}"
    );
    // The instance goes again once idle: nowhere near a day of instance time.
    assert!(out.instance_seconds < 3600.0, "{}", out.instance_seconds);
    assert_eq!(out.builds_killed_by_scale_in, 0);
}

#[test]
fn a_burst_on_an_empty_pool_gets_its_instances_in_one_step() {
    // Twelve builds at once: MissingInstances 12 adds floor(1.5 x 12) = 18 at once
    // (ChangeInCapacity), not one instance per warm-up as a percentage of zero would.
    let mut day = one_build_day(3600.0, 600.0);
    day.builds = (0..12)
        .map(|k| Build {
            // Between two polls, so that one poll sees all twelve.
            arrival: 3602.0 + f64::from(k) * 0.1,
            duration: 600.0,
            label: 0,
        })
        .collect();
    let env = Environment {
        boot_jitter: 0.0,
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    let out = Sim::run(&day, &params(), &env, PolicyKind::CiFleet, 1);
    assert_eq!(out.builds_finished, 12);
    assert_eq!(out.launches, 18, "one activity of floor(1.5 x 12)");
    let longest = out.waits.iter().copied().fold(0.0, f64::max);
    assert!(longest < env.boot_seconds + 30.0, "{longest}");
    assert_eq!(out.builds_killed_by_scale_in, 0);
}

#[test]
fn a_build_longer_than_the_drain_timeout_is_not_cut_while_protected() {
    let env = Environment {
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    let out = Sim::run(
        &one_build_day(600.0, 3.0 * 3600.0),
        &params(),
        &env,
        PolicyKind::CiFleet,
        3,
    );
    assert_eq!((out.builds_killed_by_scale_in, out.builds_finished), (0, 1));
    assert_eq!((out.protected_terminations, out.hook_timeouts), (0, 0));
}

#[test]
fn the_cpu_style_policy_kills_what_it_scales_in() {
    // Ten long builds and a burst of thirty short ones: once the burst is done the
    // busy fraction is low and scale-in takes any instance, busy or not.
    let mut day = one_build_day(600.0, 3.0 * 3600.0);
    day.builds.clear();
    for k in 0..40 {
        day.builds.push(Build {
            arrival: 600.0 + f64::from(k),
            duration: if k < 10 { 3.0 * 3600.0 } else { 600.0 },
            label: 0,
        });
    }
    let env = Environment {
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    let out = Sim::run(&day, &params(), &env, PolicyKind::CpuStyle, 5);
    assert_eq!(out.builds_finished, 40);
    assert!(
        out.builds_killed_by_scale_in > 0,
        "{}",
        out.builds_killed_by_scale_in
    );
    let out = Sim::run(&day, &params(), &env, PolicyKind::CiFleet, 5);
    assert_eq!(
        (out.builds_finished, out.builds_killed_by_scale_in),
        (40, 0)
    );
}

#[test]
fn checkpoints_keep_all_but_setup_and_the_last_five_seconds() {
    let env = Environment {
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    let mut sim = Sim::new(
        &one_build_day(0.0, 1200.0),
        &params(),
        &env,
        PolicyKind::Static,
        1,
    );
    sim.run_until(1);
    // The build started at 0 on the static fleet's instance; kill it at 612.3 s.
    let world = &mut sim.world;
    world.clock.now = 612_300;
    ci::kill_builds(world, InstanceIx::from_usize(0), Kill::Spot);
    // Setup 30 s, then tests; uploads every 5 s: 580 s kept, 32.3 s redone.
    let build = &world.builds[BuildIx::from_usize(0)];
    assert_eq!(build.checkpointed_ms, 580_000);
    assert!((world.out.redone_after_spot_seconds - 32.3).abs() < 1e-9);
    assert!((world.out.lost_without_checkpoints_seconds - 612.3).abs() < 1e-9);
    // The retry is setup plus what the checkpoint did not keep.
    assert_eq!(
        checkpoint::attempt_length(build, world.env),
        30_000 + (1_170_000 - 580_000)
    );
}
