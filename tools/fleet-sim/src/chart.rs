//! Charts of one run over the day: instances (capacity), busy agents, queued builds, and
//! the clairvoyant capacity for reference. SVG written by hand, PNG rasterised by hand
//! (lines, an area, a 5x7 bitmap font) and encoded by `png`.

use std::fmt::Write as _;

use crate::png::Indexed;
use crate::sim::Sample;

pub struct ChartData<'a> {
    pub title: String,
    pub horizon_seconds: f64,
    pub timeline: &'a [Sample],
    pub clairvoyant: &'a [(f64, u32)],
}

const W: f64 = 1200.0;
const H: f64 = 520.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = 48.0;

// Palette indices (PNG) and colours (both).
// Index 0 is the white background.
const INK: u8 = 1;
const GRID: u8 = 2;
const CAPACITY: u8 = 3;
const BUSY_FILL: u8 = 4;
const BUSY: u8 = 5;
const QUEUE: u8 = 6;
const CLAIRVOYANT: u8 = 7;
const PALETTE: [[u8; 3]; 8] = [
    [255, 255, 255],
    [34, 34, 34],
    [225, 225, 225],
    [31, 119, 180],
    [199, 233, 192],
    [44, 160, 44],
    [214, 39, 40],
    [140, 140, 140],
];

fn hex(c: u8) -> String {
    let [r, g, b] = PALETTE[c as usize];
    format!("#{r:02x}{g:02x}{b:02x}")
}

struct Frame {
    x_max: f64,
    y_max: f64,
    y_step: f64,
    x_step: f64,
}

impl Frame {
    fn new(data: &ChartData) -> Frame {
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

    fn x(&self, t: f64) -> f64 {
        LEFT + (W - LEFT - RIGHT) * (t / self.x_max).clamp(0.0, 1.0)
    }

    fn y(&self, v: f64) -> f64 {
        H - BOTTOM - (H - TOP - BOTTOM) * (v / self.y_max).clamp(0.0, 1.0)
    }

    fn y_ticks(&self) -> Vec<f64> {
        let n = (self.y_max / self.y_step).round() as usize;
        (0..=n).map(|k| k as f64 * self.y_step).collect()
    }

    fn x_ticks(&self) -> Vec<f64> {
        let n = (self.x_max / self.x_step).floor() as usize;
        (0..=n).map(|k| k as f64 * self.x_step).collect()
    }
}

fn nice_step(raw: f64) -> f64 {
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
fn clock(t: f64, horizon: f64) -> String {
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
type Series = (u8, &'static str, Vec<(f64, f64)>);

/// Step-shaped series.
fn series(data: &ChartData) -> [Series; 4] {
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

pub fn svg(data: &ChartData) -> String {
    let f = Frame::new(data);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
        escape(&data.title)
    );
    for v in f.y_ticks() {
        let y = f.y(v);
        let _ = writeln!(
            s,
            r#"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"#,
            W - RIGHT,
            hex(GRID),
            LEFT - 6.0,
            y + 4.0
        );
    }
    for t in f.x_ticks() {
        let x = f.x(t);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}" stroke="{}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            H - BOTTOM,
            hex(GRID),
            H - BOTTOM + 18.0,
            clock(t, data.horizon_seconds)
        );
    }
    let all = series(data);
    // Busy agents as a filled area under its line.
    let busy = &all[1].2;
    if !busy.is_empty() {
        let mut d = format!("M{:.1},{:.1}", f.x(busy[0].0), f.y(0.0));
        for w in step_points(busy) {
            let _ = write!(d, " L{:.1},{:.1}", f.x(w.0), f.y(w.1));
        }
        let _ = write!(d, " L{:.1},{:.1} Z", f.x(busy[busy.len() - 1].0), f.y(0.0));
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="{}" stroke="none"/>"#,
            hex(BUSY_FILL)
        );
    }
    for (colour, _, points) in &all {
        if points.is_empty() {
            continue;
        }
        let mut d = String::new();
        for (k, p) in step_points(points).iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if k == 0 { "M" } else { " L" },
                f.x(p.0),
                f.y(p.1)
            );
        }
        let dash = if *colour == CLAIRVOYANT {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.8"{dash}/>"#,
            hex(*colour)
        );
    }
    let _ = writeln!(
        s,
        r#"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}" stroke="{}"/><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{}"/>"#,
        H - BOTTOM,
        hex(INK),
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
        hex(INK)
    );
    let mut x = LEFT;
    for (colour, name, _) in &all {
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="38" width="18" height="10" fill="{}"/><text x="{:.1}" y="48">{name}</text>"#,
            hex(*colour),
            x + 24.0
        );
        x += 40.0 + 7.5 * name.len() as f64;
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A step function's corners: hold each value until the next sample.
fn step_points(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (k, p) in points.iter().enumerate() {
        if k > 0 {
            out.push((p.0, points[k - 1].1));
        }
        out.push(*p);
    }
    out
}

pub fn png(data: &ChartData) -> Vec<u8> {
    let f = Frame::new(data);
    let mut img = Indexed::new(W as u32, H as u32, PALETTE.to_vec());
    let (w, h) = (W as i64, H as i64);
    let (left, right, top, bottom) = (LEFT as i64, RIGHT as i64, TOP as i64, BOTTOM as i64);
    text(&mut img, left, 12, &data.title, INK, 2);
    for v in f.y_ticks() {
        let y = f.y(v).round() as i64;
        hline(&mut img, left, w - right, y, GRID);
        let label = format!("{v}");
        text(
            &mut img,
            left - 8 - 12 * label.len() as i64,
            y - 7,
            &label,
            INK,
            2,
        );
    }
    for t in f.x_ticks() {
        let x = f.x(t).round() as i64;
        vline(&mut img, x, top, h - bottom, GRID);
        let label = clock(t, data.horizon_seconds);
        text(
            &mut img,
            x - 6 * label.len() as i64,
            h - bottom + 10,
            &label,
            INK,
            2,
        );
    }
    let all = series(data);
    // Busy area.
    let busy = &all[1].2;
    for (k, p) in busy.iter().enumerate() {
        let x0 = f.x(p.0).round() as i64;
        let x1 = busy.get(k + 1).map_or(x0 + 1, |n| f.x(n.0).round() as i64);
        let y = f.y(p.1).round() as i64;
        for x in x0..x1.max(x0 + 1) {
            vline(&mut img, x, y, h - bottom, BUSY_FILL);
        }
    }
    for (colour, _, points) in &all {
        let corners = step_points(points);
        for (k, pair) in corners.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let (x0, y0) = (f.x(a.0).round() as i64, f.y(a.1).round() as i64);
            let (x1, y1) = (f.x(b.0).round() as i64, f.y(b.1).round() as i64);
            if *colour == CLAIRVOYANT && (k / 4) % 2 == 1 {
                continue;
            }
            line(&mut img, x0, y0, x1, y1, *colour);
        }
    }
    vline(&mut img, left, top, h - bottom, INK);
    hline(&mut img, left, w - right, h - bottom, INK);
    let mut x = left;
    for (colour, name, _) in &all {
        for dy in 0..10 {
            hline(&mut img, x, x + 18, 40 + dy, *colour);
        }
        text(&mut img, x + 24, 38, name, INK, 2);
        x += 40 + 12 * name.len() as i64;
    }
    img.encode()
}

fn hline(img: &mut Indexed, x0: i64, x1: i64, y: i64, c: u8) {
    for x in x0.min(x1)..=x0.max(x1) {
        img.set(x, y, c);
    }
}

fn vline(img: &mut Indexed, x: i64, y0: i64, y1: i64, c: u8) {
    for y in y0.min(y1)..=y0.max(y1) {
        img.set(x, y, c);
    }
}

/// A 2-pixel line (Bresenham with a square brush).
fn line(img: &mut Indexed, x0: i64, y0: i64, x1: i64, y1: i64, c: u8) {
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let (mut x, mut y, mut err) = (x0, y0, dx + dy);
    loop {
        for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            img.set(x + ox, y + oy, c);
        }
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

fn text(img: &mut Indexed, x: i64, y: i64, s: &str, c: u8, scale: i64) {
    for (k, ch) in s.chars().enumerate() {
        let rows = glyph(ch.to_ascii_uppercase());
        let gx = x + k as i64 * 6 * scale;
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    for oy in 0..scale {
                        for ox in 0..scale {
                            img.set(gx + col * scale + ox, y + r as i64 * scale + oy, c);
                        }
                    }
                }
            }
        }
    }
}

/// 5x7 glyphs, one byte a row, bit 4 leftmost.
fn glyph(c: char) -> [u8; 7] {
    match c {
        ' ' => [0; 7],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '$' => [0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        '\'' => [0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00],
        '>' => [0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08],
        '<' => [0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Vec<Sample>, Vec<(f64, u32)>) {
        let timeline: Vec<Sample> = (0..1440)
            .map(|m| Sample {
                t: f64::from(m) * 60.0,
                queued: u32::from(m % 100 < 5) * 3,
                instances: (m / 60) as u32,
                online_agents: (m / 60) as u32,
                busy_executors: (m / 80) as u32,
                desired: (m / 60) as u32,
            })
            .collect();
        let clairvoyant = (0..1440)
            .map(|m| (f64::from(m) * 60.0, (m / 90) as u32))
            .collect();
        (timeline, clairvoyant)
    }

    #[test]
    fn svg_and_png_are_well_formed() {
        let (timeline, clairvoyant) = data();
        let chart = ChartData {
            title: "busy day <ci-fleet>".into(),
            horizon_seconds: 86_400.0,
            timeline: &timeline,
            clairvoyant: &clairvoyant,
        };
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("busy day &lt;ci-fleet&gt;"));
        assert!(svg.contains("12:00") && svg.contains("queued builds"));
        let png = png(&chart);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() < 200_000, "{} bytes", png.len());
    }

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(0.3), 1.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(clock(7200.0, 86_400.0), "02:00");
        assert_eq!(clock(86_400.0, 86_400.0), "24:00");
        assert_eq!(clock(86_400.0, 2.0 * 86_400.0), "day 2");
    }
}
