//! The sweep: ci-fleet's policy over a grid of template parameters, on one or more
//! workloads and seeds, and the frontier of cost (agent-hours over the clairvoyant
//! bound, worst workload) against p95 queue wait (worst workload).

use serde::Serialize;

use crate::clairvoyant;
use crate::params::{ParamError, ScalingParams};
use crate::report;
use crate::sim::{Environment, PolicyKind, Sim};
use crate::targets::Targets;
use crate::workload::Workload;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    pub values: Vec<f64>,
}

impl Axis {
    /// `Name=v1,v2,...`; `NameA+NameB=v1,v2` sets both to each value (for example
    /// ScaleInEvaluationPeriods+ScaleInDatapointsToAlarm, an "N of N" alarm).
    pub fn parse(text: &str) -> Result<Axis, ParamError> {
        let (name, values) = text
            .split_once('=')
            .ok_or_else(|| ParamError::Unknown(text.to_owned(), "Name=v1,v2".into()))?;
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .map_err(|_| ParamError::BadOverride {
                        name: name.to_owned(),
                        value: v.to_owned(),
                    })
            })
            .collect::<Result<Vec<f64>, _>>()?;
        for part in name.split('+') {
            if !crate::params::NAMES.contains(&part.trim()) {
                return Err(ParamError::Unknown(
                    part.to_owned(),
                    crate::params::NAMES.join(", "),
                ));
            }
        }
        Ok(Axis {
            name: name.trim().to_owned(),
            values,
        })
    }
}

/// One workload's result for one grid point, averaged over the seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub workload: String,
    pub vs_clairvoyant: f64,
    pub wait_p95_seconds: f64,
    pub cost: f64,
    pub builds_killed_by_scale_in: u32,
    pub redone_fraction: f64,
    /// Builds that never ran (a starved queue), over all seeds.
    pub unfinished_builds: usize,
    /// Every seed met every target.
    pub targets_met: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub settings: Vec<(String, f64)>,
    pub cells: Vec<Cell>,
    pub worst_vs_clairvoyant: f64,
    pub worst_wait_p95_seconds: f64,
    pub cost: f64,
    pub targets_met: bool,
    pub on_frontier: bool,
}

pub fn grid(axes: &[Axis]) -> Vec<Vec<(String, f64)>> {
    let mut points = vec![Vec::new()];
    for axis in axes {
        let mut next = Vec::new();
        for p in &points {
            for v in &axis.values {
                let mut q: Vec<(String, f64)> = p.clone();
                q.push((axis.name.clone(), *v));
                next.push(q);
            }
        }
        points = next;
    }
    points
}

/// `workloads[w][s]` is workload `w` generated for `seeds[s]`.
pub fn sweep(
    workloads: &[Vec<Workload>],
    base: &ScalingParams,
    env: &Environment,
    seeds: &[u64],
    axes: &[Axis],
    threads: usize,
) -> Vec<Point> {
    let settings = grid(axes);
    let e = env.executors_per_instance.max(1);
    let bounds: Vec<Vec<f64>> = workloads
        .iter()
        .map(|days| {
            days.iter()
                .map(|w| clairvoyant::lower_bound(w, e, env.boot_seconds).instance_seconds / 3600.0)
                .collect()
        })
        .collect();
    let threads = threads.max(1).min(settings.len().max(1));
    let mut points: Vec<Option<Point>> = vec![None; settings.len()];
    std::thread::scope(|scope| {
        let chunks: Vec<Vec<usize>> = (0..threads)
            .map(|t| (t..settings.len()).step_by(threads).collect())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|indices| {
                let settings = &settings;
                let bounds = &bounds;
                scope.spawn(move || {
                    indices
                        .into_iter()
                        .map(|k| {
                            (
                                k,
                                evaluate(&settings[k], workloads, bounds, base, env, seeds),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            if let Ok(results) = handle.join() {
                for (k, point) in results {
                    points[k] = Some(point);
                }
            }
        }
    });
    let mut points: Vec<Point> = points.into_iter().flatten().collect();
    mark_frontier(&mut points);
    points
}

fn evaluate(
    settings: &[(String, f64)],
    workloads: &[Vec<Workload>],
    bounds: &[Vec<f64>],
    base: &ScalingParams,
    env: &Environment,
    seeds: &[u64],
) -> Point {
    let mut params = base.clone();
    for (name, value) in settings {
        for part in name.split('+') {
            // Names were validated when the axes were parsed.
            let _ = params.set(part.trim(), *value);
        }
    }
    let mut cells = Vec::new();
    for (days, day_bounds) in workloads.iter().zip(bounds) {
        let mut cell = Cell {
            workload: days.first().map(|w| w.name.clone()).unwrap_or_default(),
            vs_clairvoyant: 0.0,
            wait_p95_seconds: 0.0,
            cost: 0.0,
            builds_killed_by_scale_in: 0,
            redone_fraction: 0.0,
            unfinished_builds: 0,
            targets_met: true,
        };
        for ((seed, w), bound) in seeds.iter().zip(days).zip(day_bounds) {
            let outcome = Sim::run(w, &params, env, PolicyKind::CiFleet, *seed);
            let r = report::from_outcome("ci-fleet", &outcome, env, *bound);
            let n = seeds.len() as f64;
            cell.vs_clairvoyant += r.vs_clairvoyant / n;
            cell.wait_p95_seconds += r.wait_p95_seconds / n;
            cell.cost += r.cost / n;
            cell.redone_fraction += r.redone_fraction_of_interrupted_build / n;
            cell.builds_killed_by_scale_in += r.builds_killed_by_scale_in;
            cell.unfinished_builds += r.builds - r.builds_finished;
            cell.targets_met &= Targets::check(&r, env).all_met();
        }
        cells.push(cell);
    }
    Point {
        settings: settings.to_vec(),
        worst_vs_clairvoyant: cells.iter().map(|c| c.vs_clairvoyant).fold(0.0, f64::max),
        worst_wait_p95_seconds: cells.iter().map(|c| c.wait_p95_seconds).fold(0.0, f64::max),
        cost: cells.iter().map(|c| c.cost).sum(),
        targets_met: cells.iter().all(|c| c.targets_met),
        cells,
        on_frontier: false,
    }
}

/// Pareto-optimal points: no other point is at least as good on both cost and p95 wait
/// and better on one.
fn mark_frontier(points: &mut [Point]) {
    let keys: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.worst_vs_clairvoyant, p.worst_wait_p95_seconds))
        .collect();
    for (k, p) in points.iter_mut().enumerate() {
        let (c, w) = keys[k];
        p.on_frontier = !keys
            .iter()
            .enumerate()
            .any(|(j, (c2, w2))| j != k && *c2 <= c && *w2 <= w && (*c2 < c || *w2 < w));
    }
}

pub fn frontier_table(points: &[Point]) -> String {
    let mut frontier: Vec<&Point> = points.iter().filter(|p| p.on_frontier).collect();
    frontier.sort_by(|a, b| a.worst_vs_clairvoyant.total_cmp(&b.worst_vs_clairvoyant));
    let mut text = String::new();
    let workloads: Vec<String> = points
        .first()
        .map(|p| p.cells.iter().map(|c| c.workload.clone()).collect())
        .unwrap_or_default();
    text.push_str(&format!(
        "{} grid points; frontier of cost (agent-hours / clairvoyant, worst of {}) against p95 wait (worst):\n\n",
        points.len(),
        workloads.join(", ")
    ));
    for p in frontier {
        let settings: Vec<String> = p.settings.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let cells: Vec<String> = p
            .cells
            .iter()
            .map(|c| {
                let starved = if c.unfinished_builds > 0 {
                    format!(" ({} builds never ran)", c.unfinished_builds)
                } else {
                    String::new()
                };
                format!(
                    "{} {:.2}x p95 {:.0}s{starved}",
                    c.workload, c.vs_clairvoyant, c.wait_p95_seconds
                )
            })
            .collect();
        text.push_str(&format!(
            "  {:.2}x  p95 {:>5.0}s  ${:>7.2}  {}  {}  [{}]\n",
            p.worst_vs_clairvoyant,
            p.worst_wait_p95_seconds,
            p.cost,
            if p.targets_met {
                "meets targets"
            } else {
                "             "
            },
            settings.join(" "),
            cells.join("; ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_cartesian_product() {
        let axes = [
            Axis::parse("InstanceWarmupSeconds=150,180").expect("valid"),
            Axis::parse("ScaleInPercent=20,50,100").expect("valid"),
        ];
        let g = grid(&axes);
        assert_eq!(g.len(), 6);
        assert_eq!(
            g[5],
            vec![
                ("InstanceWarmupSeconds".to_owned(), 180.0),
                ("ScaleInPercent".to_owned(), 100.0)
            ]
        );
        assert!(Axis::parse("ScaleOutTreshold=1").is_err());
        assert!(Axis::parse("ScaleInEvaluationPeriods+ScaleInDatapointsToAlarm=3,5").is_ok());
        assert!(Axis::parse("ScaleInEvaluationPeriods+Nope=3").is_err());
        assert!(Axis::parse("IdleGraceSeconds=1,x").is_err());
    }

    #[test]
    fn frontier_keeps_only_undominated_points() {
        let point = |c: f64, w: f64| Point {
            settings: vec![],
            cells: vec![],
            worst_vs_clairvoyant: c,
            worst_wait_p95_seconds: w,
            cost: 0.0,
            targets_met: false,
            on_frontier: false,
        };
        let mut points = vec![
            point(1.2, 300.0),
            point(1.5, 100.0),
            point(1.6, 200.0),
            point(1.2, 250.0),
        ];
        mark_frontier(&mut points);
        let on: Vec<bool> = points.iter().map(|p| p.on_frontier).collect();
        assert_eq!(on, vec![false, true, false, true]);
    }
}
