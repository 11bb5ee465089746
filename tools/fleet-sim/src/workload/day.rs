//! A workload: the builds of one or more days, each with its arrival, duration and label
//! expression.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

pub const DAY: f64 = 86_400.0;

/// One build as it arrives in the CI queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Build {
    /// Seconds from the start of the simulation.
    pub arrival: f64,
    /// Seconds of work once it runs.
    pub duration: f64,
    /// Index into `Workload::labels`: the label expression of the executor it needs.
    pub label: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    pub name: String,
    pub labels: Vec<String>,
    /// Sorted by arrival.
    pub builds: Vec<Build>,
    /// The simulated span in seconds (whole days).
    pub horizon: f64,
    /// Wall-clock time of second 0 (midnight of the first day).
    pub start: DateTime<Utc>,
    /// Queue waits as recorded in an imported CSV (started_at - queued_at), seconds.
    #[serde(skip)]
    pub recorded_waits: Vec<f64>,
}

impl Workload {
    /// The times `label`'s builds start (+1) and end (−1) if each starts on arrival, in
    /// time order, ends before starts at the same instant: the running count of the
    /// clairvoyant bound and of the static fleet's peak.
    pub fn edges(&self, label: usize) -> Vec<(f64, i64)> {
        let mut edges: Vec<(f64, i64)> = self
            .builds
            .iter()
            .filter(|b| b.label == label)
            .flat_map(|b| [(b.arrival, 1), (b.arrival + b.duration, -1)])
            .collect();
        edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        edges
    }
}

/// The workload of `days` days from its builds in any order.
pub fn finish(name: &str, labels: Vec<String>, mut builds: Vec<Build>, days: usize) -> Workload {
    builds.sort_by(|a, b| a.arrival.total_cmp(&b.arrival));
    Workload {
        name: name.into(),
        labels,
        builds,
        horizon: days as f64 * DAY,
        start: monday(),
        recorded_waits: Vec::new(),
    }
}

/// Midnight of the first day of generated workloads.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .unwrap_or_default()
}
