//! The world a run simulates, apart from the template's parameters: instance sizes and
//! boots, spot, prices, checkpoints, the functions' schedules; and which policy scales it.

use serde::Serialize;

use crate::alarm::Statistic;

/// Everything about the world that is not a template parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Environment {
    pub executors_per_instance: u32,
    /// Launch to agent registered, mean seconds, and its spread (± fraction, uniform).
    pub boot_seconds: f64,
    pub boot_jitter: f64,
    /// Launch to InService (EC2 pending); the warm-up counts from here.
    pub in_service_seconds: f64,
    pub min_size: u32,
    pub max_size: u32,
    /// Share of instances on spot (the mixed-instances policy keeps it on every launch).
    pub spot_share: f64,
    /// Interruptions per spot instance-hour.
    pub spot_interruptions_per_hour: f64,
    pub spot_notice_seconds: f64,
    pub spot_price: f64,
    pub on_demand_price: f64,
    /// ci-checkpoint on the agents: a retry redoes setup plus the work since the last upload.
    pub checkpoints: bool,
    pub setup_seconds: f64,
    pub checkpoint_every_seconds: f64,
    /// publish-workload's POLL_INTERVAL_SECONDS.
    pub poll_interval_seconds: f64,
    /// protect-busy-agents' schedule (RUN_INTERVAL_SECONDS).
    pub protect_every_seconds: f64,
    /// handle-interruption's DRAIN_TIMEOUT_SECONDS.
    pub drain_timeout_seconds: f64,
    /// EventBridge to handler to agent offline (spot warning, terminate hook).
    pub event_delay_seconds: f64,
    /// advise-retry re-queues a build killed with its agent this long after.
    pub retry_delay_seconds: f64,
    /// The step policies' MetricAggregationType (infra/pool.yaml sets Maximum; AWS's
    /// default when unset is Average).
    pub aggregation: Statistic,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            executors_per_instance: 1,
            boot_seconds: 180.0,
            boot_jitter: 0.15,
            in_service_seconds: 30.0,
            min_size: 0,
            max_size: 500,
            spot_share: 0.7,
            spot_interruptions_per_hour: 0.03,
            spot_notice_seconds: 120.0,
            spot_price: 0.14,
            on_demand_price: 0.34,
            checkpoints: true,
            setup_seconds: 30.0,
            checkpoint_every_seconds: 5.0,
            poll_interval_seconds: 10.0,
            protect_every_seconds: 60.0,
            drain_timeout_seconds: 7200.0,
            event_delay_seconds: 0.5,
            retry_delay_seconds: 10.0,
            aggregation: Statistic::Maximum,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// The template's alarms and step policies (out on MissingInstances, in on
    /// TotalWorkload), with protection and drains.
    CiFleet,
    /// A fixed group sized for the peak.
    Static,
    /// Scales on the busy fraction only (a CPU-style metric), no protection, no drain hook.
    CpuStyle,
    /// What-if, not in the template: scale-out sets the desired capacity to the published
    /// DesiredInstances at every poll (as buildkite-agent-scaler does); scale-in, protection
    /// and drains as ci-fleet.
    DesiredInstances,
}

impl PolicyKind {
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::CiFleet => "ci-fleet",
            PolicyKind::Static => "static-peak",
            PolicyKind::CpuStyle => "cpu-style",
            PolicyKind::DesiredInstances => "desired-instances",
        }
    }

    /// ci-fleet's protection, drain hook and scale-in.
    pub fn protects(self) -> bool {
        matches!(self, PolicyKind::CiFleet | PolicyKind::DesiredInstances)
    }
}
