//! The two shapes of the WePay document: a busy business-hours day, and a sparse, spiky
//! day. Deterministic for a seed.

use crate::rng::Rng;

use super::day::{Build, DAY, Workload, finish};

/// How long builds take: log-normal, median 7 min, most between 2 and 25 min, clamped
/// to [30 s, 90 min].
fn duration(rng: &mut Rng) -> f64 {
    rng.lognormal(420.0, 0.7).clamp(30.0, 5400.0)
}

/// Relative push rate by hour of day for the busy shape: quiet nights, a ramp from 7:00,
/// two busy spans around a lunch dip, a tail into the evening (WePay Data 1).
const BUSY_HOURS: [f64; 24] = [
    0.04, 0.03, 0.03, 0.03, 0.03, 0.05, 0.12, 0.35, 0.75, 1.0, 1.0, 0.95, 0.65, 0.85, 1.0, 1.0,
    0.9, 0.7, 0.45, 0.3, 0.2, 0.12, 0.08, 0.05,
];

fn sample_hour(rng: &mut Rng, weights: &[f64; 24]) -> f64 {
    let total: f64 = weights.iter().sum();
    let mut x = rng.uniform() * total;
    for (hour, w) in weights.iter().enumerate() {
        if x < *w {
            return (hour as f64 + x / w) * 3600.0;
        }
        x -= w;
    }
    23.999 * 3600.0
}

/// A busy business-hours day: pushes arrive by the hourly profile and each starts 1-6
/// builds at once (a build chain's fan-out), `per_day` builds a day.
pub fn busy(seed: u64, per_day: usize, days: usize) -> Workload {
    let mut rng = Rng::derive(seed, 0xB05E);
    let mut builds = Vec::with_capacity(per_day * days);
    for day in 0..days {
        let mut count = 0;
        while count < per_day {
            let at = day as f64 * DAY + sample_hour(&mut rng, &BUSY_HOURS);
            // 1 + geometric, mean ~2.
            let mut fan_out = 1;
            while fan_out < 6 && rng.uniform() < 0.5 {
                fan_out += 1;
            }
            for _ in 0..fan_out.min(per_day - count) {
                builds.push(Build {
                    arrival: at + rng.range(0.0, 20.0),
                    duration: duration(&mut rng),
                    label: 0,
                });
                count += 1;
            }
        }
    }
    finish("busy", vec!["linux".into()], builds, days)
}

/// A sparse, spiky day: a thin trickle through the working day (30 % of the builds) and
/// 6-9 bursts of different sizes (a nightly fan-out, a release, a merge train; 300
/// builds a day make bursts of about 12 to 50), each arriving within three minutes
/// (WePay Data 2).
pub fn sparse(seed: u64, per_day: usize, days: usize) -> Workload {
    let mut rng = Rng::derive(seed, 0x5BA2);
    let mut builds = Vec::with_capacity(per_day * days);
    for day in 0..days {
        let base = day as f64 * DAY;
        let trickle = per_day * 3 / 10;
        for _ in 0..trickle {
            builds.push(Build {
                arrival: base + rng.range(7.0 * 3600.0, 20.0 * 3600.0),
                duration: duration(&mut rng),
                label: 0,
            });
        }
        let spikes = 6 + rng.below(4);
        let weights: Vec<f64> = (0..spikes).map(|_| rng.range(0.5, 1.5)).collect();
        let total: f64 = weights.iter().sum();
        let in_spikes = per_day - trickle;
        let mut placed = 0;
        for (i, w) in weights.iter().enumerate() {
            let size = if i + 1 == spikes {
                in_spikes - placed
            } else {
                ((in_spikes as f64 * w / total).round() as usize).min(in_spikes - placed)
            };
            placed += size;
            let at = base + rng.range(5.0 * 3600.0, 23.0 * 3600.0);
            for _ in 0..size {
                builds.push(Build {
                    arrival: at + rng.range(0.0, 180.0),
                    duration: duration(&mut rng),
                    label: 0,
                });
            }
        }
    }
    finish("sparse", vec!["linux".into()], builds, days)
}
