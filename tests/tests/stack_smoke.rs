//! The local stack answers, and the Rust aws-sdk-cloudwatch (smithy-rpc-v2-cbor)
//! round-trips metrics through ministack.

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
};
use ci_fleet_tests::LocalAws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_put_then_get_round_trips_through_ministack() {
    let aws = LocalAws::start();
    let sdk = aws.sdk_config().await;
    // Built from the SdkConfig alone, as the functions do: the stack's per-service
    // endpoint sends CloudWatch to ministack (moto, where every other service goes,
    // does not speak rpc-v2-cbor, so a wrong routing fails the PutMetricData below).
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);

    let pool = Dimension::builder()
        .name("Pool")
        .value("linux-smoke")
        .build();
    let now = std::time::SystemTime::now();
    cw.put_metric_data()
        .namespace("CIFleet")
        .metric_data(
            MetricDatum::builder()
                .metric_name("QueuedBuilds")
                .dimensions(pool.clone())
                .value(7.0)
                .unit(StandardUnit::Count)
                .timestamp(DateTime::from(now))
                .build(),
        )
        .metric_data(
            MetricDatum::builder()
                .metric_name("CiServerUp")
                .value(1.0)
                .timestamp(DateTime::from(now))
                .build(),
        )
        .send()
        .await
        .expect("PutMetricData through ministack");

    let out = cw
        .get_metric_data()
        .start_time(DateTime::from(now - Duration::from_secs(300)))
        .end_time(DateTime::from(now + Duration::from_secs(300)))
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("queued")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("CIFleet")
                                .metric_name("QueuedBuilds")
                                .dimensions(pool)
                                .build(),
                        )
                        .period(60)
                        .stat("Maximum")
                        .build(),
                )
                .build(),
        )
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("up")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("CIFleet")
                                .metric_name("CiServerUp")
                                .build(),
                        )
                        .period(60)
                        .stat("Minimum")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("GetMetricData through ministack");

    let results = out.metric_data_results();
    let values = |id: &str| {
        results
            .iter()
            .find(|r| r.id() == Some(id))
            .unwrap_or_else(|| panic!("no result {id} in {results:?}"))
            .values()
            .to_vec()
    };
    assert_eq!(values("queued"), vec![7.0], "{results:?}");
    assert_eq!(values("up"), vec![1.0], "{results:?}");
    let stamps = results[0].timestamps();
    assert_eq!(stamps.len(), 1, "one timestamp per value: {results:?}");

    // ListMetrics sees the dimensioned metric too.
    let listed = cw
        .list_metrics()
        .namespace("CIFleet")
        .metric_name("QueuedBuilds")
        .send()
        .await
        .expect("ListMetrics through ministack");
    assert_eq!(listed.metrics().len(), 1, "{listed:?}");
}

#[test]
fn local_aws_env_points_at_both_emulators() {
    let aws = LocalAws::start();
    let env: std::collections::HashMap<_, _> = aws.env().into_iter().collect();
    assert_eq!(env["AWS_ENDPOINT_URL"], aws.moto_url());
    assert_eq!(env["AWS_ENDPOINT_URL_CLOUDWATCH"], aws.cloudwatch_url());
    assert_eq!(env["AWS_EC2_METADATA_DISABLED"], "true");
    // Both answer and reset cleanly.
    aws.reset();
}
