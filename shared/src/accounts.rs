//! SDK configurations per (account, region): the function's own account with its own role,
//! other accounts through `sts:AssumeRole` into a named role there. Credentials are cached by the
//! SDK until they expire; a configuration is built once per account and region.

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use std::collections::HashMap;
use std::sync::Mutex;

/// Why the credentials for a call could not be had: the STS error code (`AccessDenied` when the
/// role does not exist or does not trust the caller) and the whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsFailure {
    pub code: String,
    pub message: String,
}

/// The credentials failure behind `error`, if that is what failed it. An assumed role's
/// credentials are fetched when a client first signs a request; when AssumeRole fails, the SDK
/// reports a dispatch failure without an error code, and the STS error is only in its sources.
pub fn credentials_failure(error: &(dyn std::error::Error + 'static)) -> Option<CredentialsFailure> {
    let failure = chain(error).find_map(|e| e.downcast_ref::<CredentialsError>())?;
    let code = chain(failure)
        .find_map(|e| e.downcast_ref::<aws_sdk_sts::error::SdkError<AssumeRoleError>>())
        .and_then(|e| e.code())
        .unwrap_or("CredentialsUnavailable");
    Some(CredentialsFailure {
        code: code.to_string(),
        message: aws_sdk_sts::error::DisplayErrorContext(failure).to_string(),
    })
}

fn chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

#[derive(Debug, thiserror::Error)]
#[error("account {account}: {message}")]
pub struct AccountError {
    pub account: String,
    pub message: String,
}

pub struct AccountConfigs {
    sdk: SdkConfig,
    home_account: String,
    role_name: Option<String>,
    /// Names the assumed-role sessions in CloudTrail (`rearguard-<function>`).
    session_name: String,
    /// Which setting names the role, for the error when it is missing.
    role_setting: &'static str,
    configs: Mutex<HashMap<(String, String), SdkConfig>>,
}

impl AccountConfigs {
    pub fn new(
        sdk: SdkConfig,
        home_account: &str,
        role_name: Option<String>,
        role_setting: &'static str,
        session_name: &str,
    ) -> AccountConfigs {
        AccountConfigs {
            sdk,
            home_account: home_account.into(),
            role_name,
            session_name: session_name.into(),
            role_setting,
            configs: Mutex::new(HashMap::new()),
        }
    }

    /// The function's partition: roles it assumes are in the same one.
    fn partition(&self) -> &'static str {
        crate::aws::partition_of(self.sdk.region().map_or("", |r| r.as_ref()))
    }

    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    /// Whether `account` can be reached: the home account always, others when a role is named.
    pub fn reaches(&self, account: &str) -> bool {
        account == self.home_account || self.role_name.is_some()
    }

    /// The role assumed in `account`, or `None` for the home account.
    pub fn role_for(&self, account: &str) -> Result<Option<String>, AccountError> {
        if account == self.home_account {
            return Ok(None);
        }
        let name = self.role_name.as_ref().ok_or_else(|| AccountError {
            account: account.into(),
            message: format!("another account, and {} is not set", self.role_setting),
        })?;
        Ok(Some(format!("arn:{}:iam::{account}:role/{name}", self.partition())))
    }

    /// The configuration for clients acting in `account` and `region`.
    pub async fn config(&self, account: &str, region: &str) -> Result<SdkConfig, AccountError> {
        let key = (account.to_string(), region.to_string());
        if let Some(config) = self.configs.lock().expect("config cache").get(&key) {
            return Ok(config.clone());
        }
        let mut builder = self
            .sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_string()));
        if let Some(role_arn) = self.role_for(account)? {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name(&self.session_name)
                .configure(&self.sdk)
                .build()
                .await;
            builder = builder.credentials_provider(SharedCredentialsProvider::new(provider));
        }
        let config = builder.build();
        self.configs.lock().expect("config cache").insert(key, config.clone());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(role: Option<&str>) -> AccountConfigs {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        AccountConfigs::new(
            sdk,
            "111122223333",
            role.map(str::to_string),
            "MEMBER_ROLE_NAME",
            "rearguard-test",
        )
    }

    #[test]
    fn the_role_is_in_the_functions_own_partition() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("cn-north-1"))
            .build();
        let china = AccountConfigs::new(
            sdk,
            "111122223333",
            Some("rearguard-member".into()),
            "MEMBER_ROLE_NAME",
            "t",
        );
        assert_eq!(
            china.role_for("444455556666").unwrap().as_deref(),
            Some("arn:aws-cn:iam::444455556666:role/rearguard-member")
        );
    }

    #[test]
    fn other_accounts_need_the_named_role() {
        let with = configs(Some("rearguard-member"));
        assert_eq!(with.role_for("111122223333").unwrap(), None);
        assert_eq!(
            with.role_for("444455556666").unwrap().as_deref(),
            Some("arn:aws:iam::444455556666:role/rearguard-member")
        );
        let without = configs(None);
        assert!(!without.reaches("444455556666"));
        let e = without.role_for("444455556666").unwrap_err().to_string();
        assert!(e.contains("MEMBER_ROLE_NAME") && e.contains("444455556666"), "{e}");
    }

    #[test]
    fn a_refused_assume_role_is_found_with_its_code_behind_the_dispatch_failure() {
        use aws_sdk_sts::error::{ErrorMetadata, SdkError};
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let refused: SdkError<AssumeRoleError, HttpResponse> = SdkError::service_error(
            AssumeRoleError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/x")
                    .build(),
            ),
            HttpResponse::new(403u16.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty()),
        );
        // What a client's call returns when its credentials provider failed.
        let dispatch: SdkError<AssumeRoleError, HttpResponse> = SdkError::dispatch_failure(ConnectorError::other(
            CredentialsError::provider_error(refused).into(),
            None,
        ));

        let failure = credentials_failure(&dispatch).expect("a credentials failure");

        assert_eq!(failure.code, "AccessDenied");
        assert!(failure.message.contains("role/x"), "{}", failure.message);
        let unrelated: SdkError<AssumeRoleError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
        assert_eq!(credentials_failure(&unrelated), None);
    }

    #[tokio::test]
    async fn the_region_is_the_one_asked_for() {
        let config = configs(None).config("111122223333", "us-west-2").await.unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-west-2"));
    }
}
