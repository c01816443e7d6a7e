//! One place that loads the AWS SDK configuration, so every client in every function shares the
//! same retry policy. Endpoints come from the standard `AWS_ENDPOINT_URL[_<SERVICE>]` variables.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::{RuntimeComponents, RuntimeComponentsBuilder};
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicBool, Ordering};
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
    SharedHttpClient::new(ValidatedOnce::new(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https(),
    ))
}

/// An HTTP client shared by every SDK client of a function, validated for the first of them only.
///
/// The SDK's HTTPS client builds a connector, and with it a trust store of every root
/// certificate the system has, each time an SDK client is created with it, so that the
/// certificates are read at start-up rather than on the first request (aws-smithy-http-client's
/// `validate_base_client_config`); the connector is then dropped. The certificates are read once
/// per process, but the trust store is parsed again for every client (twelve at restore-drill's
/// start). Once is enough for clients that share the one HTTP client: requests get their
/// connector from it, built once per timeout setting and cached.
#[derive(Debug)]
pub struct ValidatedOnce {
    inner: SharedHttpClient,
    validated: AtomicBool,
}

impl ValidatedOnce {
    pub fn new(inner: SharedHttpClient) -> ValidatedOnce {
        ValidatedOnce {
            inner,
            validated: AtomicBool::new(false),
        }
    }
}

impl HttpClient for ValidatedOnce {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if self.validated.load(Ordering::Acquire) {
            return Ok(());
        }
        self.inner.validate_base_client_config(components, cfg)?;
        self.validated.store(true, Ordering::Release);
        Ok(())
    }

    fn validate_final_config(&self, components: &RuntimeComponents, cfg: &ConfigBag) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
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
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    /// Counts the validations of the SDK clients built with it; it serves no request.
    #[derive(Debug, Default)]
    struct CountingClient(Arc<AtomicUsize>);

    impl HttpClient for CountingClient {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            unreachable!("no request is made")
        }

        fn validate_base_client_config(&self, _: &RuntimeComponentsBuilder, _: &ConfigBag) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn clients_sharing_the_http_client_validate_it_once() {
        let validations = Arc::new(AtomicUsize::new(0));
        let shared = SharedHttpClient::new(ValidatedOnce::new(SharedHttpClient::new(CountingClient(
            validations.clone(),
        ))));
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .http_client(shared)
            .build();

        let _sns = aws_sdk_sns::Client::new(&sdk);
        let _sts = aws_sdk_sts::Client::new(&sdk);
        let _dynamodb = aws_sdk_dynamodb::Client::new(&sdk);

        assert_eq!(validations.load(Ordering::SeqCst), 1);
    }

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
