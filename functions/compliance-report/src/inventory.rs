//! What the report is computed from: resources with their tags, backup and copy history, and
//! vault locks, as read from AWS (or built by a test or the benchmark).

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub arn: String,
    pub resource_type: String,
    pub account: String,
    pub region: String,
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
    /// A stopped instance still needs its backups (Audit Manager skips it; this report does not).
    pub stopped: bool,
    /// Why AWS Backup cannot back it up as it is (an S3 bucket without versioning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_back_up: Option<String>,
}

/// A resource's newest recovery point that still exists.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupRecord {
    pub resource_arn: String,
    pub completed_at: DateTime<Utc>,
    /// The vault it is in (`LastBackupVaultArn`), when known.
    pub vault_arn: Option<String>,
    /// Why a newer backup does not count: its recovery point is expired, being deleted or gone.
    pub newer_lost: Option<String>,
}

/// One completed copy of a resource's backup into a vault.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyRecord {
    pub resource_arn: String,
    pub destination_vault_arn: String,
    /// When the backup it copies was taken: a copy is as old as its source ("copies retain
    /// their source configuration, including creation dates"), not as old as the copy job.
    pub source_created_at: DateTime<Utc>,
}

/// A recovery point of a resource that a malware scan found clean, dated by its creation (the
/// age of the data the recovery day could start from).
#[derive(Debug, Clone, PartialEq)]
pub struct CleanRecord {
    pub resource_arn: String,
    pub point_created_at: DateTime<Utc>,
}

/// A restore test of a resource whose restored copy was validated SUCCESSFUL (restore-drill's
/// result), dated by the restore's completion.
#[derive(Debug, Clone, PartialEq)]
pub struct DrillRecord {
    pub resource_arn: String,
    pub validated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultLock {
    pub vault_arn: String,
    pub found: bool,
    pub locked: bool,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    /// When the lock becomes immutable (`LockDate`): absent for a governance-mode lock.
    pub lock_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub resources: Vec<Resource>,
    pub backups: Vec<BackupRecord>,
    pub copies: Vec<CopyRecord>,
    pub vaults: Vec<VaultLock>,
    /// Recovery points a malware scan found clean.
    pub clean: Vec<CleanRecord>,
    /// Successful restore tests.
    pub drills: Vec<DrillRecord>,
    /// Accounts and regions that could not be read, with the reason: the report says so.
    pub unreadable: Vec<String>,
}

impl Inventory {
    pub fn extend(&mut self, other: Inventory) {
        self.resources.extend(other.resources);
        self.backups.extend(other.backups);
        self.copies.extend(other.copies);
        self.vaults.extend(other.vaults);
        self.clean.extend(other.clean);
        self.drills.extend(other.drills);
        self.unreadable.extend(other.unreadable);
    }
}
