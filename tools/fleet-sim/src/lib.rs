//! fleet-sim: the testing ground for ci-fleet's scaling rules. It replays a day of builds
//! against the template's alarms and step-scaling policies, the protection and drain
//! rules of `rules`, and spot interruptions, next to three other policies.

pub mod alarm;
pub mod chart;
pub mod clairvoyant;
pub mod params;
pub mod png;
pub mod report;
pub mod rng;
pub mod scaling;
pub mod sim;
pub mod sweep;
pub mod workload;

use serde::Serialize;

use crate::params::ScalingParams;
use crate::report::PolicyReport;
use crate::sim::{Environment, PolicyKind, Sim};
use crate::workload::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    CiFleet,
    StaticPeak,
    CpuStyle,
    Clairvoyant,
    /// What-if (not the template): scale out straight to DesiredInstances.
    DesiredInstances,
}

impl Policy {
    /// The four, side by side.
    pub const DEFAULT: [Policy; 4] = [
        Policy::CiFleet,
        Policy::StaticPeak,
        Policy::CpuStyle,
        Policy::Clairvoyant,
    ];
    pub const ALL: [Policy; 5] = [
        Policy::CiFleet,
        Policy::StaticPeak,
        Policy::CpuStyle,
        Policy::Clairvoyant,
        Policy::DesiredInstances,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::CiFleet => "ci-fleet",
            Policy::StaticPeak => "static-peak",
            Policy::CpuStyle => "cpu-style",
            Policy::Clairvoyant => "clairvoyant",
            Policy::DesiredInstances => "desired-instances",
        }
    }

    pub fn parse(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The targets for the template's defaults, checked on a ci-fleet run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    pub agent_hours_vs_clairvoyant: f64,
    pub agent_hours_ok: bool,
    pub wait_p95_seconds: f64,
    pub wait_p95_limit_seconds: f64,
    pub wait_ok: bool,
    pub builds_killed_by_scale_in: u32,
    pub killed_ok: bool,
    /// Test work an interrupted build runs again (the target's measure).
    pub redone_fraction: f64,
    pub redone_ok: bool,
    /// The same with the retry's repeated setup counted (reported, not the target).
    pub redone_fraction_with_setup: f64,
    /// A build that never ran has no meaningful wait.
    pub all_builds_ran: bool,
}

impl Targets {
    pub fn check(ci_fleet: &PolicyReport, env: &Environment) -> Targets {
        let limit = env.boot_seconds + 60.0;
        Targets {
            agent_hours_vs_clairvoyant: ci_fleet.vs_clairvoyant,
            agent_hours_ok: ci_fleet.vs_clairvoyant <= 1.3,
            wait_p95_seconds: ci_fleet.wait_p95_seconds,
            wait_p95_limit_seconds: limit,
            wait_ok: ci_fleet.wait_p95_seconds <= limit,
            builds_killed_by_scale_in: ci_fleet.builds_killed_by_scale_in,
            killed_ok: ci_fleet.builds_killed_by_scale_in == 0,
            redone_fraction: ci_fleet.redone_fraction_of_interrupted_build,
            redone_ok: ci_fleet.redone_fraction_of_interrupted_build <= 0.05,
            redone_fraction_with_setup: ci_fleet.redone_fraction_with_setup,
            all_builds_ran: ci_fleet.builds_finished == ci_fleet.builds,
        }
    }

    pub fn all_met(&self) -> bool {
        self.agent_hours_ok
            && self.wait_ok
            && self.killed_ok
            && self.redone_ok
            && self.all_builds_ran
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub workload: String,
    pub builds: usize,
    pub days: f64,
    pub seed: u64,
    pub parameters: ScalingParams,
    pub environment: Environment,
    pub policies: Vec<PolicyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
    /// For an imported CSV: the queue waits the CI server recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_wait_p95_seconds: Option<f64>,
    #[serde(skip)]
    pub clairvoyant_capacity: Vec<(f64, u32)>,
}

impl RunReport {
    pub fn policy(&self, name: &str) -> Option<&PolicyReport> {
        self.policies.iter().find(|p| p.policy == name)
    }
}

/// Runs the chosen policies on one workload. The clairvoyant bound is always computed
/// (the other rows are compared with it) but listed only when asked for.
pub fn run(
    workload: &Workload,
    params: &ScalingParams,
    env: &Environment,
    seed: u64,
    policies: &[Policy],
) -> RunReport {
    let e = env.executors_per_instance.max(1);
    let bound = clairvoyant::lower_bound(workload, e, env.boot_seconds);
    let bound_hours = bound.instance_seconds / 3600.0;
    let mut rows = Vec::new();
    for policy in policies {
        let kind = match policy {
            Policy::CiFleet => PolicyKind::CiFleet,
            Policy::StaticPeak => PolicyKind::Static,
            Policy::CpuStyle => PolicyKind::CpuStyle,
            Policy::DesiredInstances => PolicyKind::DesiredInstances,
            Policy::Clairvoyant => {
                rows.push(report::from_bound(&bound, workload.builds.len(), env));
                continue;
            }
        };
        let outcome = Sim::run(workload, params, env, kind, seed);
        rows.push(report::from_outcome(
            policy.name(),
            &outcome,
            env,
            bound_hours,
        ));
    }
    let targets = rows
        .iter()
        .find(|r| r.policy == Policy::CiFleet.name())
        .map(|r| Targets::check(r, env));
    let step = 60.0;
    let samples = (workload.horizon / step) as usize;
    let clairvoyant_capacity = if policies.is_empty() {
        Vec::new()
    } else {
        (0..samples)
            .map(|k| {
                let t = k as f64 * step;
                (t, bound.capacity_at(t))
            })
            .collect()
    };
    let mut recorded = workload.recorded_waits.clone();
    recorded.sort_by(f64::total_cmp);
    RunReport {
        workload: workload.name.clone(),
        builds: workload.builds.len(),
        days: workload.horizon / workload::DAY,
        seed,
        parameters: params.clone(),
        environment: env.clone(),
        policies: rows,
        targets,
        recorded_wait_p95_seconds: (!recorded.is_empty())
            .then(|| report::percentile(&recorded, 0.95)),
        clairvoyant_capacity,
    }
}
