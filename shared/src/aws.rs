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

/// The account the function runs in (STS GetCallerIdentity): it decides which events need an
/// assumed role. Logged and returned as an init error when it cannot be read.
pub async fn home_account(sdk: &SdkConfig) -> Result<String, aws_sdk_sts::Error> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .inspect_err(|e| {
            tracing::error!(error = %aws_sdk_sts::error::DisplayErrorContext(e), "cannot read the function's own account");
        })?;
    Ok(identity.account().unwrap_or_default().to_string())
}
