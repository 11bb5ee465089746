use super::layout::{clock, nice_step};
use super::*;
use crate::sim::Sample;

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
