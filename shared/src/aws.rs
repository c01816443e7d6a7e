//! One place that loads the AWS SDK configuration, so every client in every function shares the
//! same retry policy. Endpoints come from the standard `AWS_ENDPOINT_URL[_<SERVICE>]` variables.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use std::time::Duration;

/// Standard retry mode (throttling, 5xx and transient network errors), with a few more attempts
/// than the default because an alert that fails here waits for the next SQS redelivery.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(100))
}

/// The HTTPS client every SDK client uses: hyper with rustls on `ring` and the system's root
/// certificates. Set here rather than by the SDK's `default-https-client` feature, which would
/// build aws-lc and, with the crates' other defaults, a second, legacy HTTPS stack.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
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

/// The partition of a Region (*AWS Regions and partitions*: China and GovCloud Regions are
/// partitions of their own), so ARNs are never written as `arn:aws:` where they are not.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else {
        "aws"
    }
}

/// The AWS Backup resource type of an RDS DB cluster, by its engine: DocumentDB, Neptune and
/// Multi-AZ DB clusters share Aurora's `rds:cluster` ARN form, but AWS Backup types them apart
/// (*GetSupportedResourceTypes*: Aurora, DocumentDB, Neptune, RDS).
pub fn cluster_backup_type(engine: &str) -> &'static str {
    match engine {
        e if e.starts_with("aurora") => "Aurora",
        "docdb" => "DocumentDB",
        "neptune" => "Neptune",
        _ => "RDS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_are_typed_by_engine() {
        let typed: Vec<_> = ["aurora-postgresql", "docdb", "neptune", "mysql"]
            .into_iter()
            .map(cluster_backup_type)
            .collect();
        assert_eq!(typed, ["Aurora", "DocumentDB", "Neptune", "RDS"]);
    }

    #[test]
    fn regions_belong_to_their_partition() {
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of("us-isob-east-1"), "aws-iso-b");
    }
}
