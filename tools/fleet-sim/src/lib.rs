//! fleet-sim: the testing ground for ci-fleet's scaling rules. It replays a day of builds
//! against the template's alarms and step-scaling policies, the protection and drain
//! rules of `rules`, and spot interruptions, next to three other policies.

pub mod alarm;
pub mod chart;
pub mod clairvoyant;
pub mod comparison;
pub mod params;
pub mod png;
pub mod report;
pub mod rng;
pub mod scaling;
pub mod sim;
pub mod sweep;
pub mod targets;
pub mod workload;

pub use comparison::{Policy, RunReport, run};
pub use targets::Targets;
