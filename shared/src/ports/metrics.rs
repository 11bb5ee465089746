//! The metrics port: where a function's CloudWatch metrics go.

use async_trait::async_trait;

use crate::error::Result;
use rules::Datum;

/// Where metrics go. Exists so handlers publish the same way to CloudWatch, to a
/// dry-run recorder, or to a test double.
#[async_trait]
pub trait MetricsSink: Send + Sync {
    /// Publishes every datum, in as few calls as the limits allow; returns the number of calls.
    async fn publish(&self, namespace: &str, datums: &[Datum]) -> Result<usize>;
}
