//! AWS adapters behind small ports. Clients are built once per process from the SDK's
//! own environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`).

pub mod groups;
pub mod instances;
pub mod metrics;
pub mod secrets;
pub mod store;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// One attempt's limit: a stalled connection is abandoned and retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole call's limit, retries included: one stalled AWS call cannot eat a function's
/// run (protect-busy-agents' 50 s, handle-interruption's 30 s), and what comes after it
/// (the seal, the drains, the memory) still happens (reliability review R20).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The SDK configuration every function uses: standard retries with backoff, which
/// cover throttling (docs/design.md#aws-calls-are-batched-filtered-and-retried), each
/// attempt and each call bounded in time.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}
