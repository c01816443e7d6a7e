//! KMS keys that encrypt backup vaults: which vaults a key encrypts, learned from AWS Backup and
//! cached.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The vaults each KMS key encrypts.
#[async_trait]
pub trait VaultKeys: Send + Sync {
    /// The names of the vaults `key_id` (a key id) of `account` encrypts, empty when none;
    /// `None` when the vaults of that account are not known.
    async fn vaults_of(&self, account: &str, key_id: &str) -> Result<Option<Vec<String>>, String>;
}

/// A KMS event names the key only; the mapping to vaults comes from `ListBackupVaults`, whose
/// entries carry the vault's `EncryptionKeyArn` (AWS Backup API reference, "ListBackupVaults").
/// Cached for a few minutes; a key not in the cache reads the list again, so a vault created
/// since is found. Only the function's own account is listed: a member account's KMS event
/// (forwarded by templates/member-account.yaml) is not judged against the central account's
/// vaults.
/// Key id → names of the vaults it encrypts.
type KeyVaults = BTreeMap<String, Vec<String>>;

pub struct BackupVaultKeys {
    client: aws_sdk_backup::Client,
    home_account: String,
    cache: Mutex<Option<(Instant, KeyVaults)>>,
}

const CACHE_FOR: Duration = Duration::from_secs(300);

impl BackupVaultKeys {
    pub fn new(client: aws_sdk_backup::Client, home_account: &str) -> Self {
        BackupVaultKeys {
            client,
            home_account: home_account.to_string(),
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
    async fn vaults_of(&self, account: &str, key_id: &str) -> Result<Option<Vec<String>>, String> {
        if !account.is_empty() && account != self.home_account {
            return Ok(None);
        }
        if let Some(vaults) = self.cached(key_id) {
            return Ok(Some(vaults));
        }
        let keys = self.list().await?;
        let vaults = keys.get(key_id).cloned().unwrap_or_default();
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), keys));
        Ok(Some(vaults))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_backup::operation::list_backup_vaults::ListBackupVaultsOutput;
    use aws_sdk_backup::types::BackupVaultListMember;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const HOME: &str = "123456789012";
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
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, [&rule]), HOME);

        assert_eq!(
            keys.vaults_of(HOME, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
                .await
                .unwrap(),
            Some(vec!["production".to_string()])
        );
        assert_eq!(
            keys.vaults_of(HOME, "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
                .await
                .unwrap(),
            Some(vec!["production".to_string()])
        );
        assert_eq!(rule.num_calls(), 1, "the second look-up is served from the cache");
    }

    #[tokio::test]
    async fn a_key_not_in_the_cache_reads_the_vaults_again() {
        let first =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let second =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let keys = BackupVaultKeys::new(
            mock_client!(aws_sdk_backup, RuleMode::Sequential, [&first, &second]),
            HOME,
        );

        assert!(keys.vaults_of(HOME, "other").await.unwrap().unwrap().is_empty());
        assert!(keys.vaults_of(HOME, "other").await.unwrap().unwrap().is_empty());
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_key_of_another_account_is_not_known_and_lists_nothing() {
        let rule =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, [&rule]), HOME);

        assert_eq!(keys.vaults_of("444455556666", "k").await.unwrap(), None);
        assert_eq!(rule.num_calls(), 0);
    }
}
