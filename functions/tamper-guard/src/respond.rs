//! The response to an attack, when `RESPOND` is on: a vault key scheduled for deletion is
//! cancelled and enabled again; a vault access policy that lost its denies gets the last known
//! protective policy back. In dry-run mode the exact calls are logged instead.

use async_trait::async_trait;

/// What was done.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Done: the calls made.
    Done(Vec<String>),
    /// Dry run: the calls that would have been made.
    WouldCall(Vec<String>),
    Failed(String),
}

impl Response {
    pub fn status(&self) -> &'static str {
        match self {
            Response::Done(_) => "done",
            Response::WouldCall(_) => "dry_run",
            Response::Failed(_) => "failed",
        }
    }
}

#[async_trait]
pub trait Responder: Send + Sync {
    /// Cancels the key's scheduled deletion and enables it again.
    async fn rescue_key(&self, key_arn: &str) -> Response;
    /// Puts `policy` back as the vault's access policy.
    async fn restore_policy(&self, vault: &str, policy: &str) -> Response;
}

fn rescue_calls(key_arn: &str) -> Vec<String> {
    vec![
        format!("kms:CancelKeyDeletion KeyId={key_arn}"),
        format!("kms:EnableKey KeyId={key_arn}"),
    ]
}

fn restore_calls(vault: &str) -> Vec<String> {
    vec![format!(
        "backup:PutBackupVaultAccessPolicy BackupVaultName={vault} (the last known protective policy)"
    )]
}

pub struct AwsResponder {
    pub kms: aws_sdk_kms::Client,
    pub backup: aws_sdk_backup::Client,
}

#[async_trait]
impl Responder for AwsResponder {
    /// CancelKeyDeletion leaves the key `Disabled`, so EnableKey follows ("Cancel key deletion",
    /// AWS KMS Developer Guide: "The KMS key status changes from Pending deletion to Disabled.
    /// To use the KMS key, you must enable it.").
    async fn rescue_key(&self, key_arn: &str) -> Response {
        if let Err(e) = self.kms.cancel_key_deletion().key_id(key_arn).send().await {
            return Response::Failed(format!(
                "CancelKeyDeletion: {}",
                aws_sdk_kms::error::DisplayErrorContext(e)
            ));
        }
        if let Err(e) = self.kms.enable_key().key_id(key_arn).send().await {
            return Response::Failed(format!("EnableKey: {}", aws_sdk_kms::error::DisplayErrorContext(e)));
        }
        Response::Done(rescue_calls(key_arn))
    }

    async fn restore_policy(&self, vault: &str, policy: &str) -> Response {
        let put = self
            .backup
            .put_backup_vault_access_policy()
            .backup_vault_name(vault)
            .policy(policy)
            .send()
            .await;
        match put {
            Ok(_) => Response::Done(restore_calls(vault)),
            Err(e) => Response::Failed(format!(
                "PutBackupVaultAccessPolicy: {}",
                aws_sdk_backup::error::DisplayErrorContext(e)
            )),
        }
    }
}

/// Dry-run mode: logs the exact calls instead of making them.
pub struct DryRunResponder;

#[async_trait]
impl Responder for DryRunResponder {
    async fn rescue_key(&self, key_arn: &str) -> Response {
        let calls = rescue_calls(key_arn);
        tracing::info!(action = "would_rescue_key", key = key_arn, calls = ?calls, "dry run: not calling KMS");
        Response::WouldCall(calls)
    }

    async fn restore_policy(&self, vault: &str, policy: &str) -> Response {
        let calls = restore_calls(vault);
        tracing::info!(action = "would_restore_policy", vault, policy, calls = ?calls, "dry run: not calling AWS Backup");
        Response::WouldCall(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_backup::operation::put_backup_vault_access_policy::PutBackupVaultAccessPolicyOutput;
    use aws_sdk_kms::operation::cancel_key_deletion::CancelKeyDeletionOutput;
    use aws_sdk_kms::operation::enable_key::EnableKeyOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

    fn responder(kms: &[&aws_smithy_mocks::Rule], backup: &[&aws_smithy_mocks::Rule]) -> AwsResponder {
        AwsResponder {
            kms: mock_client!(aws_sdk_kms, RuleMode::Sequential, kms),
            backup: mock_client!(aws_sdk_backup, RuleMode::Sequential, backup),
        }
    }

    #[tokio::test]
    async fn rescue_cancels_the_deletion_then_enables_the_key() {
        let cancel = mock!(aws_sdk_kms::Client::cancel_key_deletion)
            .match_requests(|req| req.key_id() == Some(KEY))
            .then_output(|| CancelKeyDeletionOutput::builder().key_id(KEY).build());
        let enable = mock!(aws_sdk_kms::Client::enable_key)
            .match_requests(|req| req.key_id() == Some(KEY))
            .then_output(|| EnableKeyOutput::builder().build());

        let response = responder(&[&cancel, &enable], &[]).rescue_key(KEY).await;

        assert_eq!(response.status(), "done");
        assert_eq!((cancel.num_calls(), enable.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn the_last_protective_policy_is_put_back_on_its_vault() {
        let put = mock!(aws_sdk_backup::Client::put_backup_vault_access_policy)
            .match_requests(|req| req.backup_vault_name() == Some("production") && req.policy() == Some("{\"p\":1}"))
            .then_output(|| PutBackupVaultAccessPolicyOutput::builder().build());

        let response = responder(&[], &[&put]).restore_policy("production", "{\"p\":1}").await;

        assert_eq!(response.status(), "done");
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_dry_run_names_the_exact_calls() {
        let Response::WouldCall(calls) = DryRunResponder.rescue_key(KEY).await else {
            panic!()
        };
        assert_eq!(calls[0], format!("kms:CancelKeyDeletion KeyId={KEY}"));
        assert_eq!(calls[1], format!("kms:EnableKey KeyId={KEY}"));
        let Response::WouldCall(calls) = DryRunResponder.restore_policy("production", "{}").await else {
            panic!()
        };
        assert!(calls[0].starts_with("backup:PutBackupVaultAccessPolicy BackupVaultName=production"));
    }
}
