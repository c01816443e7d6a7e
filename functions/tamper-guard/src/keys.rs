//! KMS keys that encrypt backup vaults: which vaults a key encrypts, learned from AWS Backup in
//! the key's account and cached.

use async_trait::async_trait;
use rearguard::accounts::{AccountConfigs, credentials_failure};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The vaults a key encrypts, or why that is not known.
#[derive(Debug, Clone, PartialEq)]
pub enum VaultsOfKey {
    /// The names of the vaults it encrypts in the function's own account; empty when none.
    Known(Vec<String>),
    /// The same, in a member account (read through the member role).
    InMember(Vec<String>),
    Unknown(String),
}

/// The vaults each KMS key encrypts.
#[async_trait]
pub trait VaultKeys: Send + Sync {
    /// The vaults `key_id` (a key id) of `account` encrypts in `region`.
    async fn vaults_of(&self, account: &str, region: &str, key_id: &str) -> Result<VaultsOfKey, String>;
}

/// Key id → names of the vaults it encrypts.
type KeyVaults = BTreeMap<String, Vec<String>>;

/// A KMS event names the key only; the mapping to vaults comes from `ListBackupVaults`, whose
/// entries carry the vault's `EncryptionKeyArn` (AWS Backup API reference, "ListBackupVaults").
/// Cached for a few minutes per account and Region; a key not in the cache reads the list again,
/// so a vault created since is found. A member account's KMS event (forwarded by
/// templates/member-account.yaml) is matched against that account's vaults, listed through the
/// member role (`MEMBER_ROLE_NAME`); without the role, or when the role cannot be assumed there,
/// its vaults are not known, and the judgement says so.
pub struct BackupVaultKeys {
    home: aws_sdk_backup::Client,
    home_account: String,
    /// Set when `MEMBER_ROLE_NAME` is.
    members: Option<AccountConfigs>,
    cache: Mutex<HashMap<(String, String), (Instant, KeyVaults)>>,
}

const CACHE_FOR: Duration = Duration::from_secs(300);

async fn list(client: &aws_sdk_backup::Client) -> Result<KeyVaults, String> {
    let mut keys = KeyVaults::new();
    let mut pages = client.list_backup_vaults().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                // The member role missing or not trusting this function: not transient.
                if let Some(failure) = credentials_failure(&e) {
                    return Err(format!("{NOT_ASSUMED}{}", failure.code));
                }
                return Err(aws_sdk_backup::error::DisplayErrorContext(e).to_string());
            }
        };
        for vault in page.backup_vault_list() {
            if let (Some(key), Some(name)) = (vault.encryption_key_arn(), vault.backup_vault_name()) {
                keys.entry(key_id_of(key)).or_default().push(name.to_string());
            }
        }
    }
    Ok(keys)
}

const NOT_ASSUMED: &str = "the member role could not be assumed there: ";

impl BackupVaultKeys {
    pub fn new(home: aws_sdk_backup::Client, home_account: &str, members: Option<AccountConfigs>) -> Self {
        BackupVaultKeys {
            home,
            home_account: home_account.to_string(),
            members,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, place: &(String, String), key_id: &str) -> Option<Vec<String>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (at, keys) = cache.get(place)?;
        (at.elapsed() < CACHE_FOR).then(|| keys.get(key_id).cloned()).flatten()
    }
}

/// `arn:…:key/<id>` or `<id>`: the key id.
pub fn key_id_of(key: &str) -> String {
    key.rsplit_once("key/").map(|(_, id)| id).unwrap_or(key).to_string()
}

#[async_trait]
impl VaultKeys for BackupVaultKeys {
    async fn vaults_of(&self, account: &str, region: &str, key_id: &str) -> Result<VaultsOfKey, String> {
        let home = account.is_empty() || account == self.home_account;
        let place = (
            account.to_string(),
            if home { String::new() } else { region.to_string() },
        );
        let found = |vaults| {
            if home {
                VaultsOfKey::Known(vaults)
            } else {
                VaultsOfKey::InMember(vaults)
            }
        };
        if let Some(vaults) = self.cached(&place, key_id) {
            return Ok(found(vaults));
        }
        let listed = if home {
            list(&self.home).await
        } else {
            let Some(members) = &self.members else {
                return Ok(VaultsOfKey::Unknown(
                    "MEMBER_ROLE_NAME is not set, so the vaults of member accounts are not read".into(),
                ));
            };
            let config = members.config(account, region).await.map_err(|e| e.to_string())?;
            list(&aws_sdk_backup::Client::new(&config)).await
        };
        let keys = match listed {
            Ok(keys) => keys,
            Err(reason) if reason.starts_with(NOT_ASSUMED) => return Ok(VaultsOfKey::Unknown(reason)),
            Err(e) => return Err(e),
        };
        let vaults = keys.get(key_id).cloned().unwrap_or_default();
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(place, (Instant::now(), keys));
        Ok(found(vaults))
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
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, [&rule]), HOME, None);

        assert_eq!(
            keys.vaults_of(HOME, "eu-west-1", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
                .await
                .unwrap(),
            VaultsOfKey::Known(vec!["production".to_string()])
        );
        assert_eq!(
            keys.vaults_of(HOME, "eu-west-1", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
                .await
                .unwrap(),
            VaultsOfKey::Known(vec!["production".to_string()])
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
            None,
        );

        assert!(keys.vaults_of(HOME, "eu-west-1", "other").await.unwrap() == VaultsOfKey::Known(Vec::new()));
        assert!(keys.vaults_of(HOME, "eu-west-1", "other").await.unwrap() == VaultsOfKey::Known(Vec::new()));
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_key_of_a_member_account_without_the_member_role_is_not_known_and_lists_nothing() {
        let rule =
            mock!(aws_sdk_backup::Client::list_backup_vaults).then_output(|| ListBackupVaultsOutput::builder().build());
        let keys = BackupVaultKeys::new(mock_client!(aws_sdk_backup, [&rule]), HOME, None);

        let VaultsOfKey::Unknown(reason) = keys.vaults_of("444455556666", "eu-west-1", "k").await.unwrap() else {
            panic!()
        };
        assert!(reason.contains("MEMBER_ROLE_NAME is not set"), "{reason}");
        assert_eq!(rule.num_calls(), 0);
    }
}
