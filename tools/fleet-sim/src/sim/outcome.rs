//! What one run measured, and the chart's samples.

use serde::Serialize;

/// The chart's samples, one a minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub t: f64,
    pub queued: u32,
    /// Instances billed: launching, in service or terminating.
    pub instances: u32,
    pub online_agents: u32,
    pub busy_executors: u32,
    pub desired: u32,
}

/// What one run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub instance_seconds: f64,
    pub spot_instance_seconds: f64,
    pub busy_executor_seconds: f64,
    /// Total time each build spent in the queue (over its attempts), seconds.
    pub waits: Vec<f64>,
    pub builds: usize,
    pub builds_finished: usize,
    pub attempts: usize,
    pub builds_killed_by_scale_in: u32,
    pub redone_after_scale_in_seconds: f64,
    pub spot_interruptions: u32,
    pub builds_killed_by_spot: u32,
    pub redone_after_spot_seconds: f64,
    /// What the same kills would have cost without checkpoints.
    pub lost_without_checkpoints_seconds: f64,
    /// Per build interrupted by spot: all its lost work (setup included) over its duration.
    pub redone_fractions: Vec<f64>,
    /// Per build interrupted by spot: the test work it ran again over its test work (the
    /// checkpoint's share; the setup a retry repeats is retry overhead, counted above).
    pub redone_test_fractions: Vec<f64>,
    pub launches: u32,
    /// The most launches in one clock hour (the template's TooManyLaunches alarm).
    pub max_launches_per_hour: u32,
    pub scale_in_terminations: u32,
    /// Instances scale-in chose while protected: must stay 0.
    pub protected_terminations: u32,
    pub drains: u32,
    /// Drains ended by DRAIN_TIMEOUT_SECONDS with the build still running.
    pub drains_timed_out: u32,
    /// Lifecycle actions that expired without a heartbeat (must stay 0).
    pub hook_timeouts: u32,
    pub peak_instances: u32,
    pub end_seconds: f64,
    pub scale_out_invocations: u32,
    pub scale_in_invocations: u32,
    #[serde(skip)]
    pub timeline: Vec<Sample>,
}
