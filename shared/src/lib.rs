//! ci-fleet's library (the rules live in the `rules` crate): the CI and AWS adapters behind small ports,
//! configuration from the environment, telemetry and the runner every function uses.

pub mod aws;
pub mod checkpoint;
pub mod ci;
pub mod config;
pub mod dry_run;
pub mod error;
pub mod events;
pub mod ports;
pub mod runner;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, Result};
