//! KMS keys that encrypt backup vaults: which vaults a key encrypts (learned from AWS Backup,
//! cached), and the response to a vault key scheduled for deletion.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The vaults each KMS key encrypts.
#[async_trait]
pub trait VaultKeys: Send + Sync {
    /// The names of the vaults `key_id` (a key id) encrypts; empty when none.
    async fn vaults_of(&self, key_id: &str) -> Result<Vec<String>, String>;
}

/// A KMS event names the key only; the mapping to vaults comes from `ListBackupVaults`, whose
/// entries carry the vault's `EncryptionKeyArn` (AWS Backup API reference, "ListBackupVaults").
/// Cached for a few minutes; a key not in the cache reads the list again, so a vault created
/// since is found.
/// Key id → names of the vaults it encrypts.
type KeyVaults = BTreeMap<String, Vec<String>>;

pub struct BackupVaultKeys {
    client: aws_sdk_backup::Client,
    cache: Mutex<Option<(Instant, KeyVaults)>>,
}

const CACHE_FOR: Duration = Duration::from_secs(300);

impl BackupVaultKeys {
    pub fn new(client: aws_sdk_backup::Client) -> Self {
        BackupVaultKeys {
            client,
            cache: Mutex::new(None),
        }
    }

    async fn list(&self) -> Result<KeyVaults, String> {
        let mut keys = KeyVaults::new();
        let mut pages = self.client.list_backup_vaults().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_sdk_backup::error::DisplayErrorContext(e).to_string())?;
            for vault in page.backup_vault_list() {
                if let (Some(key), Some(name)) = (vault.encryption_key_arn(), vault.backup_vault_name()) {
                    keys.entry(key_id_of(key)).or_default().push(name.to_string());
                }
            }
        }
        Ok(keys)
    }

    fn cached(&self, key_id: &str) -> Option<Vec<String>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (at, keys) = cache.as_ref()?;
        (at.elapsed() < CACHE_FOR).then(|| keys.get(key_id).cloned()).flatten()
    }
}

/// `arn:…:key/<id>` or `<id>`: the key id.
pub fn key_id_of(key: &str) -> String {
    key.rsplit_once("key/").map(|(_, id)| id).unwrap_or(key).to_string()
}

#[async_trait]
impl VaultKeys for BackupVaultKeys {
    async fn vaults_of(&self, key_id: &str) -> Result<Vec<String>, String> {
        if let Some(vaults) = self.cached(key_id) {
            return Ok(vaults);
        }
        let keys = self.list().await?;
        let vaults = keys.get(key_id).cloned().unwrap_or_default();
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), keys));
        Ok(vaults)
    }
}

/// What was done about a vault key.
#[derive(Debug, Clone, PartialEq)]
pub enum Rescue {
    /// The deletion was cancelled and the key enabled again.
    Rescued,
    /// Dry run: the calls that would have been made.
    WouldCall(Vec<String>),
    Failed(String),
}

#[async_trait]
pub trait KeyRescue: Send + Sync {
    /// Cancels the key's scheduled deletion and enables it again.
    async fn rescue(&self, key_arn: &str) -> Rescue;
}

/// CancelKeyDeletion leaves the key `Disabled`, so EnableKey follows ("Cancel key deletion",
/// AWS KMS Developer Guide: "The KMS key status changes from Pending deletion to Disabled. To
/// use the KMS key, you must enable it.").
pub struct KmsRescue {
    pub client: aws_sdk_kms::Client,
}

#[async_trait]
impl KeyRescue for KmsRescue {
    async fn rescue(&self, key_arn: &str) -> Rescue {
        let error = |e: String| Rescue::Failed(e);
        if let Err(e) = self.client.cancel_key_deletion().key_id(key_arn).send().await {
            return error(format!(
                "CancelKeyDeletion: {}",
                aws_sdk_kms::error::DisplayErrorContext(e)
            ));
        }
        if let Err(e) = self.client.enable_key().key_id(key_arn).send().await {
            return error(format!("EnableKey: {}", aws_sdk_kms::error::DisplayErrorContext(e)));
        }
        Rescue::Rescued
    }
}

/// Dry-run mode: logs the exact calls instead of making them.
pub struct DryRunRescue;

#[async_trait]
impl KeyRescue for DryRunRescue {
    async fn rescue(&self, key_arn: &str) -> Rescue {
        let calls = vec![
            format!("kms:CancelKeyDeletion KeyId={key_arn}"),
            format!("kms:EnableKey KeyId={key_arn}"),
        ];
        tracing::info!(action = "would_rescue_key", key = key_arn, calls = ?calls, "dry run: not calling KMS");
        Rescue::WouldCall(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_backup::operation::list_backup_vaults::ListBackupVaultsOutput;
    use aws_sdk_backup::types::BackupVaultListMember;
    use aws_sdk_kms::operation::cancel_key_deletion::CancelKeyDeletionOutput;
    use aws_sdk_kms::operation::enable_key::EnableKeyOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

    #[tokio::test]
    async fn a_key_is_matched_to_the_vaults_it_encrypts_and_the_list_is_cached() {
        let rule = mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| {
            ListBackupVaultsOutput::builder()
                .backup_vault_list(
                    BackupVaultListMember::builder()
                        .backup_vault_name("production")
                        .encryption_key_arn(KEY)
                        .build(),
                )
                .build()
        });
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, [&rule]));

        assert_eq!(
            keys.vaults_of("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d").await.unwrap(),
            ["production"]
        );
        assert_eq!(
            keys.vaults_of("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d").await.unwrap(),
            ["production"]
        );
        assert_eq!(rule.num_calls(), 1, "the second look-up is served from the cache");
    }

    #[tokio::test]
    async fn a_key_not_in_the_cache_reads_the_vaults_again() {
        let first =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let second =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, RuleMode::Sequential, [&first, &second]));

        assert!(keys.vaults_of("other").await.unwrap().is_empty());
        assert!(keys.vaults_of("other").await.unwrap().is_empty());
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn rescue_cancels_the_deletion_then_enables_the_key() {
        let cancel = mock!(aws_sdk_kms::Client::cancel_key_deletion)
            .match_requests(|req| req.key_id() == Some(KEY))
            .then_output(|| CancelKeyDeletionOutput::builder().key_id(KEY).build());
        let enable = mock!(aws_sdk_kms::Client::enable_key)
            .match_requests(|req| req.key_id() == Some(KEY))
            .then_output(|| EnableKeyOutput::builder().build());
        let rescue = KmsRescue {
            client: mock_client!(aws_sdk_kms, RuleMode::Sequential, [&cancel, &enable]),
        };

        assert_eq!(rescue.rescue(KEY).await, Rescue::Rescued);
        assert_eq!((cancel.num_calls(), enable.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_dry_run_rescue_names_the_exact_calls() {
        let Rescue::WouldCall(calls) = DryRunRescue.rescue(KEY).await else {
            panic!()
        };
        assert_eq!(calls[0], format!("kms:CancelKeyDeletion KeyId={KEY}"));
        assert_eq!(calls[1], format!("kms:EnableKey KeyId={KEY}"));
    }
}
