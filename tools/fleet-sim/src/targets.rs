//! The targets for the template's defaults, checked on a ci-fleet run.

use serde::Serialize;

use crate::report::PolicyReport;
use crate::sim::Environment;

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
