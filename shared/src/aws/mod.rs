//! AWS adapters behind small ports. Clients are built once per process from the SDK's
//! own environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`).

pub mod groups;
pub mod instances;
pub mod metrics;
pub mod secrets;
pub mod store;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

/// The SDK configuration every function uses: standard retries with backoff, which
/// cover throttling (docs/design.md#aws-calls-are-batched-filtered-and-retried).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}
