//! One place that loads the AWS SDK configuration, so every client in every function shares the
//! same retry policy. Endpoints come from the standard `AWS_ENDPOINT_URL[_<SERVICE>]` variables.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Standard retry mode (throttling, 5xx and transient network errors), with a few more attempts
/// than the default because an alert that fails here waits for the next SQS redelivery.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(100))
}

pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .load()
        .await
}
