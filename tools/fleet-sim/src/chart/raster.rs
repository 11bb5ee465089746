//! The PNG chart, drawn on a palette canvas with the same frame, series and colours as the
//! SVG one: grid and labels in the bitmap font, the busy area, 2-pixel step lines (the
//! clairvoyant capacity dashed), the axes and the legend.

use super::canvas::Canvas;
use super::layout::{
    BOTTOM, BUSY_FILL, CLAIRVOYANT, ChartData, Frame, GRID, H, INK, LEFT, PALETTE, RIGHT, Series,
    TOP, W, clock, series, step_points,
};

const WIDTH: i64 = W as i64;
const HEIGHT: i64 = H as i64;
const LEFT_PX: i64 = LEFT as i64;
const RIGHT_EDGE: i64 = WIDTH - RIGHT as i64;
const TOP_PX: i64 = TOP as i64;
const BASELINE: i64 = HEIGHT - BOTTOM as i64;
/// Labels are the 5x7 font at twice its size.
const TEXT_SCALE: i64 = 2;

pub fn png(data: &ChartData) -> Vec<u8> {
    let f = Frame::new(data);
    let mut canvas = Canvas::new(W as u32, H as u32, &PALETTE);
    canvas.text((LEFT_PX, 12), &data.title, INK, TEXT_SCALE);
    grid(&mut canvas, &f, data.horizon_seconds);
    let all = series(data);
    busy_area(&mut canvas, &f, &all[1].2);
    for line in &all {
        step_line(&mut canvas, &f, line);
    }
    canvas.vline(LEFT_PX, TOP_PX, BASELINE, INK);
    canvas.hline(LEFT_PX, RIGHT_EDGE, BASELINE, INK);
    legend(&mut canvas, &all);
    canvas.encode()
}

fn grid(canvas: &mut Canvas, f: &Frame, horizon_seconds: f64) {
    for v in f.y_ticks() {
        let y = f.y(v).round() as i64;
        canvas.hline(LEFT_PX, RIGHT_EDGE, y, GRID);
        let label = format!("{v}");
        let x = LEFT_PX - 8 - 12 * label.len() as i64;
        canvas.text((x, y - 7), &label, INK, TEXT_SCALE);
    }
    for t in f.x_ticks() {
        let x = f.x(t).round() as i64;
        canvas.vline(x, TOP_PX, BASELINE, GRID);
        let label = clock(t, horizon_seconds);
        let left = x - 6 * label.len() as i64;
        canvas.text((left, BASELINE + 10), &label, INK, TEXT_SCALE);
    }
}

/// Each busy sample's column filled down to the axis, up to the next sample.
fn busy_area(canvas: &mut Canvas, f: &Frame, busy: &[(f64, f64)]) {
    for (k, p) in busy.iter().enumerate() {
        let x0 = f.x(p.0).round() as i64;
        let x1 = busy.get(k + 1).map_or(x0 + 1, |n| f.x(n.0).round() as i64);
        let y = f.y(p.1).round() as i64;
        for x in x0..x1.max(x0 + 1) {
            canvas.vline(x, y, BASELINE, BUSY_FILL);
        }
    }
}

fn step_line(canvas: &mut Canvas, f: &Frame, (colour, _, points): &Series) {
    let corners = step_points(points);
    for (k, pair) in corners.windows(2).enumerate() {
        // Dashed: four segments drawn, four left out.
        if *colour == CLAIRVOYANT && (k / 4) % 2 == 1 {
            continue;
        }
        let at = |p: (f64, f64)| (f.x(p.0).round() as i64, f.y(p.1).round() as i64);
        canvas.line(at(pair[0]), at(pair[1]), *colour);
    }
}

fn legend(canvas: &mut Canvas, all: &[Series]) {
    let mut x = LEFT_PX;
    for (colour, name, _) in all {
        for dy in 0..10 {
            canvas.hline(x, x + 18, 40 + dy, *colour);
        }
        canvas.text((x + 24, 38), name, INK, TEXT_SCALE);
        x += 40 + 12 * name.len() as i64;
    }
}
