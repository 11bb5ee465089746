//! What a run reports for each policy: agent-hours and cost, idle fraction, queue wait
//! percentiles, builds killed by scale-in, work redone after spot interruptions.

use serde::Serialize;

use crate::clairvoyant::Bound;
use crate::sim::{Environment, Outcome, Sample};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReport {
    pub policy: String,
    pub agent_hours: f64,
    pub spot_hours: f64,
    pub on_demand_hours: f64,
    pub cost: f64,
    /// agent-hours / the clairvoyant bound's.
    pub vs_clairvoyant: f64,
    /// Share of executor time not running a build (booting and draining included).
    pub idle_fraction: f64,
    pub wait_p50_seconds: f64,
    pub wait_p95_seconds: f64,
    pub wait_max_seconds: f64,
    pub builds: usize,
    pub builds_finished: usize,
    pub builds_killed_by_scale_in: u32,
    pub spot_interruptions: u32,
    pub builds_killed_by_spot: u32,
    pub build_minutes_redone_after_spot: f64,
    /// The same kills without checkpoints.
    pub build_minutes_lost_without_checkpoints: f64,
    /// Mean over builds interrupted by spot of the test work they ran again / their test
    /// work: what checkpoints are for (Rippling's "redo only the remaining work").
    pub redone_fraction_of_interrupted_build: f64,
    /// The same with the setup each retry repeats (checkout, dependencies) counted as
    /// redone: retry overhead that no checkpoint of test results can save.
    pub redone_fraction_with_setup: f64,
    pub build_minutes_redone_after_scale_in: f64,
    pub launches: u32,
    pub max_launches_per_hour: u32,
    pub peak_instances: u32,
    pub drains: u32,
    pub drains_timed_out: u32,
    pub hook_timeouts: u32,
    pub protected_instances_terminated: u32,
    #[serde(skip)]
    pub timeline: Vec<Sample>,
}

pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn cost(spot_hours: f64, on_demand_hours: f64, env: &Environment) -> f64 {
    spot_hours * env.spot_price + on_demand_hours * env.on_demand_price
}

pub fn from_outcome(
    policy: &str,
    out: &Outcome,
    env: &Environment,
    clairvoyant_hours: f64,
) -> PolicyReport {
    let agent_hours = out.instance_seconds / 3600.0;
    let spot_hours = out.spot_instance_seconds / 3600.0;
    let on_demand_hours = agent_hours - spot_hours;
    let mut waits = out.waits.clone();
    waits.sort_by(f64::total_cmp);
    let capacity = out.instance_seconds * f64::from(env.executors_per_instance.max(1));
    let mean = |values: &[f64]| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    PolicyReport {
        policy: policy.to_owned(),
        agent_hours,
        spot_hours,
        on_demand_hours,
        cost: cost(spot_hours, on_demand_hours, env),
        vs_clairvoyant: agent_hours / clairvoyant_hours.max(1e-9),
        idle_fraction: if capacity > 0.0 {
            1.0 - out.busy_executor_seconds / capacity
        } else {
            0.0
        },
        wait_p50_seconds: percentile(&waits, 0.50),
        wait_p95_seconds: percentile(&waits, 0.95),
        wait_max_seconds: waits.last().copied().unwrap_or(0.0),
        builds: out.builds,
        builds_finished: out.builds_finished,
        builds_killed_by_scale_in: out.builds_killed_by_scale_in,
        spot_interruptions: out.spot_interruptions,
        builds_killed_by_spot: out.builds_killed_by_spot,
        build_minutes_redone_after_spot: out.redone_after_spot_seconds / 60.0,
        build_minutes_lost_without_checkpoints: out.lost_without_checkpoints_seconds / 60.0,
        redone_fraction_of_interrupted_build: mean(&out.redone_test_fractions),
        redone_fraction_with_setup: mean(&out.redone_fractions),
        build_minutes_redone_after_scale_in: out.redone_after_scale_in_seconds / 60.0,
        launches: out.launches,
        max_launches_per_hour: out.max_launches_per_hour,
        peak_instances: out.peak_instances,
        drains: out.drains,
        drains_timed_out: out.drains_timed_out,
        hook_timeouts: out.hook_timeouts,
        protected_instances_terminated: out.protected_terminations,
        timeline: out.timeline.clone(),
    }
}

pub fn from_bound(bound: &Bound, builds: usize, env: &Environment) -> PolicyReport {
    let agent_hours = bound.instance_seconds / 3600.0;
    let spot_hours = agent_hours * env.spot_share;
    let on_demand_hours = agent_hours - spot_hours;
    let capacity = bound.instance_seconds * f64::from(env.executors_per_instance.max(1));
    PolicyReport {
        policy: "clairvoyant".into(),
        agent_hours,
        spot_hours,
        on_demand_hours,
        cost: cost(spot_hours, on_demand_hours, env),
        vs_clairvoyant: 1.0,
        idle_fraction: if capacity > 0.0 {
            1.0 - bound.busy_executor_seconds / capacity
        } else {
            0.0
        },
        wait_p50_seconds: 0.0,
        wait_p95_seconds: 0.0,
        wait_max_seconds: 0.0,
        builds,
        builds_finished: builds,
        builds_killed_by_scale_in: 0,
        spot_interruptions: 0,
        builds_killed_by_spot: 0,
        build_minutes_redone_after_spot: 0.0,
        build_minutes_lost_without_checkpoints: 0.0,
        redone_fraction_of_interrupted_build: 0.0,
        redone_fraction_with_setup: 0.0,
        build_minutes_redone_after_scale_in: 0.0,
        launches: bound.launches,
        max_launches_per_hour: 0,
        peak_instances: 0,
        drains: 0,
        drains_timed_out: 0,
        hook_timeouts: 0,
        protected_instances_terminated: 0,
        timeline: Vec::new(),
    }
}

fn duration(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0}s")
    } else if seconds < 5400.0 {
        format!("{:.1}m", seconds / 60.0)
    } else {
        format!("{:.1}h", seconds / 3600.0)
    }
}

/// The terminal table: one row per policy.
pub fn table(rows: &[PolicyReport]) -> String {
    let header = [
        "policy",
        "agent-h",
        "x clairv",
        "cost $",
        "idle",
        "wait p50",
        "p95",
        "max",
        "killed by scale-in",
        "spot int.",
        "redone min (w/o ckpt)",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for r in rows {
        cells.push(vec![
            r.policy.clone(),
            format!("{:.1}", r.agent_hours),
            format!("{:.2}", r.vs_clairvoyant),
            format!("{:.2}", r.cost),
            format!("{:.0}%", r.idle_fraction * 100.0),
            duration(r.wait_p50_seconds),
            duration(r.wait_p95_seconds),
            duration(r.wait_max_seconds),
            r.builds_killed_by_scale_in.to_string(),
            r.spot_interruptions.to_string(),
            format!(
                "{:.1} ({:.1})",
                r.build_minutes_redone_after_spot, r.build_minutes_lost_without_checkpoints
            ),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for (n, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                if c == 0 {
                    format!("{cell:<w$}", w = widths[c])
                } else {
                    format!("{cell:>w$}", w = widths[c])
                }
            })
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            text.push_str(&rule.join("  "));
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.95), 95.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.95), 0.0);
    }
}
