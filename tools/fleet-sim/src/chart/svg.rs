//! The SVG chart, written as text: grid and tick labels, the busy area, one step line per
//! series (the clairvoyant capacity dashed), the axes and the legend.

use std::fmt::Write as _;

use super::layout::{
    BOTTOM, BUSY_FILL, CLAIRVOYANT, ChartData, Frame, GRID, H, INK, LEFT, RIGHT, Series, TOP, W,
    clock, hex, series, step_points,
};

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
    grid(&mut s, &f, data.horizon_seconds);
    let all = series(data);
    busy_area(&mut s, &f, &all[1].2);
    for line in &all {
        step_line(&mut s, &f, line);
    }
    axes(&mut s);
    legend(&mut s, &all);
    s.push_str("</svg>\n");
    s
}

/// Horizontal lines at the value ticks, vertical ones at the hours, with their labels.
fn grid(s: &mut String, f: &Frame, horizon_seconds: f64) {
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
            clock(t, horizon_seconds)
        );
    }
}

/// Busy agents as a filled area under their line.
fn busy_area(s: &mut String, f: &Frame, busy: &[(f64, f64)]) {
    let (Some(first), Some(last)) = (busy.first(), busy.last()) else {
        return;
    };
    let mut d = format!("M{:.1},{:.1}", f.x(first.0), f.y(0.0));
    for w in step_points(busy) {
        let _ = write!(d, " L{:.1},{:.1}", f.x(w.0), f.y(w.1));
    }
    let _ = write!(d, " L{:.1},{:.1} Z", f.x(last.0), f.y(0.0));
    let _ = writeln!(
        s,
        r#"<path d="{d}" fill="{}" stroke="none"/>"#,
        hex(BUSY_FILL)
    );
}

fn step_line(s: &mut String, f: &Frame, (colour, _, points): &Series) {
    if points.is_empty() {
        return;
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

fn axes(s: &mut String) {
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
}

fn legend(s: &mut String, all: &[Series]) {
    let mut x = LEFT;
    for (colour, name, _) in all {
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="38" width="18" height="10" fill="{}"/><text x="{:.1}" y="48">{name}</text>"#,
            hex(*colour),
            x + 24.0
        );
        x += 40.0 + 7.5 * name.len() as f64;
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
