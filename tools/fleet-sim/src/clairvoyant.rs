//! The clairvoyant lower bound: exactly the capacity the arrivals need, every build
//! starting the moment it arrives, with boot time accounted — an instance is launched a
//! boot time before it is needed, and kept through a gap shorter than a boot rather
//! than terminated and launched again.
//!
//! Instances are interchangeable, so the optimum decomposes into levels: level k is
//! needed while at least k instances' worth of builds run. Each level pays its busy
//! time, one boot when it starts, and min(gap, boot) for every gap.

use crate::workload::Workload;

#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub instance_seconds: f64,
    pub busy_executor_seconds: f64,
    pub launches: u32,
    /// Per level, the intervals an instance exists (booting included), for the charts.
    pub lifetimes: Vec<(f64, f64)>,
}

impl Bound {
    /// Instances alive at `t`.
    pub fn capacity_at(&self, t: f64) -> u32 {
        self.lifetimes
            .iter()
            .filter(|(a, b)| *a <= t && t < *b)
            .count() as u32
    }
}

pub fn lower_bound(workload: &Workload, executors: u32, boot_seconds: f64) -> Bound {
    let e = executors.max(1) as i64;
    let mut bound = Bound {
        instance_seconds: 0.0,
        busy_executor_seconds: workload.builds.iter().map(|b| b.duration).sum(),
        launches: 0,
        lifetimes: Vec::new(),
    };
    for label in 0..workload.labels.len() {
        // For each level, the start of its current need and its needed intervals.
        let mut open: Vec<f64> = Vec::new();
        let mut needed: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut running = 0i64;
        for (t, d) in workload.edges(label) {
            running += d;
            let level = (running + e - 1) / e;
            let level = level.max(0) as usize;
            while open.len() < level {
                open.push(t);
            }
            while open.len() > level {
                let k = open.len() - 1;
                let start = open.pop().unwrap_or(t);
                if needed.len() <= k {
                    needed.resize(k + 1, Vec::new());
                }
                if t > start {
                    needed[k].push((start, t));
                }
            }
        }
        for intervals in needed {
            let mut life: Option<(f64, f64)> = None;
            for (a, b) in intervals {
                life = match life {
                    // Keep the instance through a gap shorter than a boot.
                    Some((s, end)) if a - end <= boot_seconds => Some((s, b)),
                    Some(done) => {
                        bound.lifetimes.push(done);
                        Some((a - boot_seconds, b))
                    }
                    None => Some((a - boot_seconds, b)),
                };
            }
            bound.lifetimes.extend(life);
        }
    }
    bound.launches = bound.lifetimes.len() as u32;
    bound.instance_seconds = bound.lifetimes.iter().map(|(a, b)| b - a).sum();
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Build, DAY};

    fn day(builds: &[(f64, f64)]) -> Workload {
        Workload {
            name: "t".into(),
            labels: vec!["linux".into()],
            builds: builds
                .iter()
                .map(|(a, d)| Build {
                    arrival: *a,
                    duration: *d,
                    label: 0,
                })
                .collect(),
            horizon: DAY,
            start: chrono::Utc::now(),
            recorded_waits: vec![],
        }
    }

    #[test]
    fn pays_busy_time_boots_and_short_gaps() {
        // One build: its duration plus one boot.
        let b = lower_bound(&day(&[(1000.0, 600.0)]), 1, 180.0);
        assert_eq!((b.instance_seconds, b.launches), (780.0, 1));
        // Two builds 100 s apart on one level: keep the instance through the gap.
        let b = lower_bound(&day(&[(1000.0, 600.0), (1700.0, 600.0)]), 1, 180.0);
        assert_eq!((b.instance_seconds, b.launches), (1480.0, 1));
        // 1000 s apart: terminate and boot again.
        let b = lower_bound(&day(&[(1000.0, 600.0), (2600.0, 600.0)]), 1, 180.0);
        assert_eq!((b.instance_seconds, b.launches), (1560.0, 2));
        // Overlapping: two levels.
        let b = lower_bound(&day(&[(1000.0, 600.0), (1300.0, 600.0)]), 1, 180.0);
        assert_eq!((b.instance_seconds, b.launches), (1200.0 + 360.0, 2));
        // Two executors an instance: the overlap fits on one.
        let b = lower_bound(&day(&[(1000.0, 600.0), (1300.0, 600.0)]), 2, 180.0);
        assert_eq!((b.instance_seconds, b.launches), (900.0 + 180.0, 1));
        assert_eq!(b.capacity_at(900.0), 1);
        assert_eq!(b.capacity_at(500.0), 0);
    }
}
