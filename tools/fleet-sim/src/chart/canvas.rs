//! The PNG chart's drawing: 1-pixel grid lines, 2-pixel lines, bitmap text, on a palette
//! image that `crate::png` encodes.

use crate::png::Indexed;

use super::font::glyph;

pub struct Canvas {
    image: Indexed,
}

impl Canvas {
    /// A canvas in palette colour 0.
    pub fn new(width: u32, height: u32, palette: &[[u8; 3]]) -> Canvas {
        Canvas {
            image: Indexed::new(width, height, palette.to_vec()),
        }
    }

    /// Paints one pixel; outside the canvas nothing happens.
    pub fn set(&mut self, x: i64, y: i64, colour: u8) {
        self.image.set(x, y, colour);
    }

    pub fn hline(&mut self, x0: i64, x1: i64, y: i64, colour: u8) {
        for x in x0.min(x1)..=x0.max(x1) {
            self.set(x, y, colour);
        }
    }

    pub fn vline(&mut self, x: i64, y0: i64, y1: i64, colour: u8) {
        for y in y0.min(y1)..=y0.max(y1) {
            self.set(x, y, colour);
        }
    }

    /// A 2-pixel line (Bresenham with a square brush).
    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: u8) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            for (ox, oy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                self.set(x + ox, y + oy, colour);
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

    /// Text in the 5x7 font, each font pixel `scale` pixels square, from its top left.
    pub fn text(&mut self, (x, y): (i64, i64), text: &str, colour: u8, scale: i64) {
        for (k, ch) in text.chars().enumerate() {
            let gx = x + k as i64 * 6 * scale;
            for (row, bits) in glyph(ch.to_ascii_uppercase()).iter().enumerate() {
                for col in 0..5 {
                    if bits & (0x10 >> col) != 0 {
                        let top_left = (gx + col * scale, y + row as i64 * scale);
                        self.square(top_left, scale, colour);
                    }
                }
            }
        }
    }

    fn square(&mut self, (x, y): (i64, i64), size: i64, colour: u8) {
        for oy in 0..size {
            for ox in 0..size {
                self.set(x + ox, y + oy, colour);
            }
        }
    }

    /// An 8-bit palette PNG.
    pub fn encode(&self) -> Vec<u8> {
        self.image.encode()
    }
}
