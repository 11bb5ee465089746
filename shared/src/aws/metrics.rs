//! The CloudWatch `PutMetricData` adapter of the `MetricsSink` port, and the dry-run recorder.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use crate::error::{Error, Result};
use crate::ports::metrics::MetricsSink;
use rules::{Datum, Unit};

/// PutMetricData limits: 1000 datums and 1 MB per call. The size is estimated with room to spare.
pub const MAX_DATUMS_PER_CALL: usize = 1000;
const MAX_BYTES_PER_CALL: usize = 900_000;

pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> CloudWatchMetrics {
        CloudWatchMetrics { client }
    }
}

#[async_trait]
impl MetricsSink for CloudWatchMetrics {
    #[tracing::instrument(name = "cloudwatch.put_metric_data", skip_all, fields(namespace, datums = datums.len()))]
    async fn publish(&self, namespace: &str, datums: &[Datum]) -> Result<usize> {
        let batches = batches(datums);
        for batch in &batches {
            self.client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(batch.iter().map(to_cloudwatch).collect()))
                .send()
                .await
                .map_err(|e| Error::aws("PutMetricData", e))?;
        }
        Ok(batches.len())
    }
}

/// Splits datums into calls that respect both PutMetricData limits.
pub fn batches(datums: &[Datum]) -> Vec<&[Datum]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, datum) in datums.iter().enumerate() {
        let size = estimated_size(datum);
        if i > start && (i - start == MAX_DATUMS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            out.push(&datums[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < datums.len() {
        out.push(&datums[start..]);
    }
    out
}

/// An upper bound of a datum's encoded size (query protocol, the most verbose).
fn estimated_size(datum: &Datum) -> usize {
    160 + datum.name.len()
        + datum
            .dimensions
            .iter()
            .map(|(k, v)| 80 + k.len() + 3 * v.len())
            .sum::<usize>()
}

fn to_cloudwatch(datum: &Datum) -> MetricDatum {
    let unit = match datum.unit {
        Unit::Count => StandardUnit::Count,
        Unit::Seconds => StandardUnit::Seconds,
        Unit::None => StandardUnit::None,
    };
    MetricDatum::builder()
        .metric_name(datum.name)
        .set_dimensions(Some(
            datum
                .dimensions
                .iter()
                .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
                .collect(),
        ))
        .value(datum.value)
        .unit(unit)
        .timestamp(aws_smithy_types::DateTime::from_millis(
            datum.timestamp.timestamp_millis(),
        ))
        .storage_resolution(i32::from(datum.storage_resolution))
        .build()
}

/// `--dry-run`: keeps what would have been published, publishes nothing.
#[derive(Default)]
pub struct RecordingMetrics {
    recorded: Mutex<Vec<Datum>>,
}

impl RecordingMetrics {
    pub fn recorded(&self) -> Vec<Datum> {
        self.recorded.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl MetricsSink for RecordingMetrics {
    async fn publish(&self, _namespace: &str, datums: &[Datum]) -> Result<usize> {
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.extend_from_slice(datums);
        }
        Ok(batches(datums).len())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::{TimeZone, Utc};

    use super::*;

    fn datum(i: usize) -> Datum {
        let at = Utc
            .timestamp_millis_opt(1_795_000_000_000)
            .single()
            .expect("valid");
        Datum::new("QueuedBuilds", i as f64, Unit::Count, at)
            .with_dimension("Pool", format!("pool-{}", i % 7))
            .high_resolution(true)
    }

    #[tokio::test]
    async fn sends_namespace_dimensions_units_and_resolution() {
        let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
            .match_requests(|req| {
                let data = req.metric_data();
                req.namespace() == Some("CIFleet")
                    && data.len() == 2
                    && data[0].metric_name() == Some("QueuedBuilds")
                    && data[0].unit() == Some(&StandardUnit::Count)
                    && data[0].storage_resolution() == Some(1)
                    && data[0].dimensions().len() == 1
                    && data[0].dimensions()[0].name() == Some("Pool")
                    && data[0].dimensions()[0].value() == Some("pool-0")
                    && data[0].timestamp().map(|t| t.to_millis().ok())
                        == Some(Some(1_795_000_000_000))
                    && data[1].value() == Some(1.0)
                    && data[1].unit() == Some(&StandardUnit::Seconds)
            })
            .then_output(|| PutMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        let mut second = datum(1);
        second.unit = Unit::Seconds;
        let calls = CloudWatchMetrics::new(client)
            .publish("CIFleet", &[datum(0), second])
            .await
            .expect("publishes");
        assert_eq!((calls, rule.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn batches_at_one_thousand_datums() {
        let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data)
            .match_requests(|req| req.metric_data().len() <= MAX_DATUMS_PER_CALL)
            .then_output(|| PutMetricDataOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        let datums: Vec<Datum> = (0..2_001).map(datum).collect();
        let calls = CloudWatchMetrics::new(client)
            .publish("CIFleet", &datums)
            .await
            .expect("publishes");
        assert_eq!((calls, rule.num_calls()), (3, 3));
        assert_eq!(
            batches(&datums).iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![1000, 1000, 1]
        );
    }

    #[test]
    fn batches_by_size_before_count_with_long_dimensions() {
        let long = "x".repeat(255);
        let datums: Vec<Datum> = (0..1000)
            .map(|i| {
                datum(i)
                    .with_dimension("Reason", long.clone())
                    .with_dimension("Extra", long.clone())
            })
            .collect();
        let sizes: Vec<usize> = batches(&datums).iter().map(|b| b.len()).collect();
        assert!(
            sizes.len() > 1 && sizes.iter().sum::<usize>() == 1000,
            "{sizes:?}"
        );
    }

    #[tokio::test]
    async fn names_the_operation_when_cloudwatch_fails() {
        let rule = mock!(aws_sdk_cloudwatch::Client::put_metric_data).then_error(|| {
            aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError::InvalidParameterValueException(
                aws_sdk_cloudwatch::types::error::InvalidParameterValueException::builder().message("bad dimension").build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule]);
        let error = CloudWatchMetrics::new(client)
            .publish("CIFleet", &[datum(0)])
            .await
            .expect_err("fails");
        let text = error.to_string();
        assert!(
            text.starts_with("AWS PutMetricData:") && text.contains("bad dimension"),
            "{text}"
        );
    }
}
