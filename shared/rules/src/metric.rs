//! A metric value as ci-fleet publishes it, independent of CloudWatch's types.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    Count,
    Seconds,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datum {
    pub name: &'static str,
    /// At most a `Pool` or `Reason` dimension: never a per-instance one.
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
    pub unit: Unit,
    pub timestamp: DateTime<Utc>,
    /// 1 for high-resolution metrics (polled more often than once a minute), else 60.
    pub storage_resolution: u8,
}

impl Datum {
    pub fn new(name: &'static str, value: f64, unit: Unit, timestamp: DateTime<Utc>) -> Datum {
        Datum {
            name,
            dimensions: Vec::new(),
            value,
            unit,
            timestamp,
            storage_resolution: 60,
        }
    }

    pub fn with_dimension(mut self, key: &'static str, value: impl Into<String>) -> Datum {
        self.dimensions.push((key, value.into()));
        self
    }

    pub fn high_resolution(mut self, high: bool) -> Datum {
        self.storage_resolution = if high { 1 } else { 60 };
        self
    }
}
