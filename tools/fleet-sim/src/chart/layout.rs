//! What both charts share: the data, the canvas size and margins, the palette, the
//! scales (nice ticks, clock labels) and the series drawn as steps.

use crate::sim::Sample;

/// One run's chart: its title, the simulated span, the minute samples, and the
/// clairvoyant capacity at the same times.
pub struct ChartData<'a> {
    pub title: String,
    pub horizon_seconds: f64,
    pub timeline: &'a [Sample],
    pub clairvoyant: &'a [(f64, u32)],
}

/// The canvas in pixels (SVG user units), and the margins around the plot.
pub const W: f64 = 1200.0;
pub const H: f64 = 520.0;
pub const LEFT: f64 = 64.0;
pub const RIGHT: f64 = 24.0;
pub const TOP: f64 = 64.0;
pub const BOTTOM: f64 = 48.0;

// Palette indices (PNG) and colours (both).
// Index 0 is the white background.
pub const INK: u8 = 1;
pub const GRID: u8 = 2;
pub const CAPACITY: u8 = 3;
pub const BUSY_FILL: u8 = 4;
pub const BUSY: u8 = 5;
pub const QUEUE: u8 = 6;
pub const CLAIRVOYANT: u8 = 7;
pub const PALETTE: [[u8; 3]; 8] = [
    [255, 255, 255],
    [34, 34, 34],
    [225, 225, 225],
    [31, 119, 180],
    [199, 233, 192],
    [44, 160, 44],
    [214, 39, 40],
    [140, 140, 140],
];

pub fn hex(c: u8) -> String {
    let [r, g, b] = PALETTE[c as usize];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The plot's scales: data to pixels, and where the ticks go.
pub struct Frame {
    pub x_max: f64,
    pub y_max: f64,
    pub y_step: f64,
    pub x_step: f64,
}

impl Frame {
    pub fn new(data: &ChartData) -> Frame {
        let top = data
            .timeline
            .iter()
            .map(|s| s.instances.max(s.queued).max(s.busy_executors))
            .chain(data.clairvoyant.iter().map(|c| c.1))
            .max()
            .unwrap_or(1)
            .max(1);
        let y_step = nice_step(f64::from(top) / 6.0);
        let y_max = (f64::from(top) / y_step).ceil() * y_step;
        let hours = data.horizon_seconds / 3600.0;
        let x_step = if hours <= 26.0 {
            2.0
        } else if hours <= 80.0 {
            6.0
        } else {
            24.0
        } * 3600.0;
        Frame {
            x_max: data.horizon_seconds.max(1.0),
            y_max,
            y_step,
            x_step,
        }
    }

    pub fn x(&self, t: f64) -> f64 {
        LEFT + (W - LEFT - RIGHT) * (t / self.x_max).clamp(0.0, 1.0)
    }

    pub fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (H - TOP - BOTTOM) * (v / self.y_max).clamp(0.0, 1.0)
    }

    pub fn y_ticks(&self) -> Vec<f64> {
        let n = (self.y_max / self.y_step).round() as usize;
        (0..=n).map(|k| k as f64 * self.y_step).collect()
    }

    pub fn x_ticks(&self) -> Vec<f64> {
        let n = (self.x_max / self.x_step).floor() as usize;
        (0..=n).map(|k| k as f64 * self.x_step).collect()
    }
}

pub fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * magnitude >= raw {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

/// Tick labels: hours of the day; midnights after the first are "day N" on multi-day charts.
pub fn clock(t: f64, horizon: f64) -> String {
    let hours = (t / 3600.0).round() as i64;
    if hours >= 24 && hours % 24 == 0 {
        if horizon > 86_400.0 {
            format!("day {}", hours / 24 + 1)
        } else {
            "24:00".to_owned()
        }
    } else {
        format!("{:02}:00", hours % 24)
    }
}

/// One line of the chart: colour, legend, (t, value) points in time order.
pub type Series = (u8, &'static str, Vec<(f64, f64)>);

/// The four lines, in drawing order (the busy area is drawn from the second).
pub fn series(data: &ChartData) -> [Series; 4] {
    let pick = |f: fn(&Sample) -> u32| -> Vec<(f64, f64)> {
        data.timeline
            .iter()
            .map(|s| (s.t, f64::from(f(s))))
            .collect()
    };
    [
        (
            CLAIRVOYANT,
            "clairvoyant capacity",
            data.clairvoyant
                .iter()
                .map(|(t, v)| (*t, f64::from(*v)))
                .collect(),
        ),
        (BUSY, "busy agents", pick(|s| s.busy_executors)),
        (CAPACITY, "instances (capacity)", pick(|s| s.instances)),
        (QUEUE, "queued builds", pick(|s| s.queued)),
    ]
}

/// A step function's corners: hold each value until the next sample.
pub fn step_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (k, p) in points.iter().enumerate() {
        if k > 0 {
            out.push((p.0, points[k - 1].1));
        }
        out.push(*p);
    }
    out
}
