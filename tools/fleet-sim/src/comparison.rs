//! One workload, the chosen policies side by side, and the clairvoyant bound they are
//! measured against.

use serde::Serialize;

use crate::clairvoyant;
use crate::params::ScalingParams;
use crate::report::{self, PolicyReport};
use crate::sim::{Environment, PolicyKind, Sim};
use crate::targets::Targets;
use crate::workload::{self, Workload};

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
