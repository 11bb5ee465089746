//! Charts of one run over the day: instances (capacity), busy agents, queued builds, and
//! the clairvoyant capacity for reference. The SVG is written by hand; the PNG is drawn on
//! a palette canvas (lines, an area, a 5x7 bitmap font) and encoded by `crate::png`
//! (tools/fleet-sim/README.md has the numbers behind keeping both).

mod canvas;
mod font;
mod layout;
mod raster;
mod svg;

pub use layout::ChartData;
pub use raster::png;
pub use svg::svg;

#[cfg(test)]
mod tests;
