//! The AWS calls cross-account-copy makes, behind one small trait so the handler can be tested
//! without AWS: AWS Backup (describe, copy, list copies, update lifecycle) and KMS DescribeKey.

use async_trait::async_trait;
use aws_sdk_backup::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_backup::types::{CopyJobState, Lifecycle as SdkLifecycle, StorageClass};
use rearguard::accounts::AccountConfigs;
use rearguard::arn::{Arn, vault_name};
use std::collections::BTreeSet;

use crate::lifecycle::Lifecycle;
use crate::plan::{CopyOrder, PointFacts, RetentionBounds};
use crate::scan_wait::{CompletedBackup, ScanSummary};
use crate::vault_policy::VaultPolicy;

/// An AWS error, sorted into what a retry can fix and what it cannot.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct ApiError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub failure: Failure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Throttling, server-side and network errors: a later attempt can succeed.
    Transient,
    /// Access denied, invalid parameters, missing resources: the same call fails the same way.
    Permanent,
    /// The credentials for the call could not be had: AssumeRole into another account failed
    /// (the role is not deployed there, or does not trust this function).
    Credentials,
}

/// Errors a retry cannot fix. `DependencyFailureException` is not one: "a dependent Amazon Web
/// Services service or resource returned an error to the Backup service" (AWS Backup API
/// Reference, *DependencyFailureException*, HTTP 500), a server-side failure, so it is retried.
const PERMANENT_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "MissingParameterValueException",
    "ResourceNotFoundException",
    "ValidationException",
    "NotFoundException",
];

impl ApiError {
    pub fn from_sdk<E: ProvideErrorMetadata, R>(operation: &'static str, error: SdkError<E, R>) -> ApiError
    where
        SdkError<E, R>: std::error::Error + 'static,
    {
        if let Some(credentials) = rearguard::accounts::credentials_failure(&error) {
            return ApiError {
                operation,
                code: credentials.code,
                message: credentials.message,
                failure: Failure::Credentials,
            };
        }
        let code = error.code().unwrap_or("").to_string();
        let message = error
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| aws_sdk_backup::error::DisplayErrorContext(&error).to_string());
        ApiError {
            operation,
            failure: if PERMANENT_CODES.contains(&code.as_str()) {
                Failure::Permanent
            } else {
                Failure::Transient
            },
            code: if code.is_empty() { "Unknown".into() } else { code },
            message,
        }
    }

    /// Retrying cannot help. A credentials failure is not: for the function's own role it is
    /// the credentials endpoint, and callers that assume roles handle it before asking.
    pub fn permanent(&self) -> bool {
        self.failure == Failure::Permanent
    }

    fn not_found(&self) -> bool {
        self.code == "ResourceNotFoundException" || self.code == "NotFoundException"
    }
}

/// Whether a destination vault is there.
#[derive(Debug, Clone, PartialEq)]
pub enum VaultStatus {
    /// There, with its Vault Lock retention bounds (none when it is not locked).
    Exists(RetentionBounds),
    Missing(String),
    /// Another account, and no role to look with: StartCopyJob will tell.
    Unverified,
    /// Another account whose vault-check role could not be assumed: copied without the check.
    Unchecked {
        role_arn: String,
        reason: String,
    },
}

#[async_trait]
pub trait CopyApi: Send + Sync {
    async fn describe_point(&self, region: &str, vault: &str, point_arn: &str) -> Result<PointFacts, ApiError>;
    async fn key_is_aws_managed(&self, key_arn: &str) -> Result<bool, ApiError>;
    /// The engine of an RDS DB cluster (`None` when RDS does not know it).
    async fn db_cluster_engine(&self, cluster_arn: &str) -> Result<Option<String>, ApiError>;
    async fn vault_status(&self, vault_arn: &str) -> Result<VaultStatus, ApiError>;
    /// A vault's access policy: in the home account directly, in another through the
    /// vault-check role (unreadable without one).
    async fn vault_access_policy(&self, vault_arn: &str) -> Result<VaultPolicy, ApiError>;
    /// A copy job of `order`'s recovery point into its destination vault, created after
    /// `created_after`, that has not failed: its id (the copy exists or is under way).
    async fn existing_copy(
        &self,
        order: &CopyOrder,
        resource_arn: &str,
        created_after: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<String>, ApiError>;
    /// Starts the copy; returns the copy job id (the same id again for the same token).
    async fn start_copy(&self, order: &CopyOrder) -> Result<String, ApiError>;
    /// Destination vault ARNs holding a completed copy of `point_arn`.
    async fn completed_copies(
        &self,
        region: &str,
        resource_arn: &str,
        point_arn: &str,
    ) -> Result<BTreeSet<String>, ApiError>;
    async fn update_lifecycle(
        &self,
        region: &str,
        vault: &str,
        point_arn: &str,
        lifecycle: &Lifecycle,
    ) -> Result<(), ApiError>;
    /// The malware scans of a recovery point in the home account.
    async fn scan_jobs(&self, region: &str, point_arn: &str) -> Result<Vec<ScanSummary>, ApiError>;
    /// The backups of the home account that completed between `after` and `before`, in one
    /// vault or (`None`) any.
    async fn completed_backups(
        &self,
        region: &str,
        vault: Option<&str>,
        after: chrono::DateTime<chrono::Utc>,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CompletedBackup>, ApiError>;
}

/// The real thing: clients in the home account per region, and in destination accounts through
/// the read-only vault-check role.
pub struct AwsBackup {
    pub accounts: AccountConfigs,
}

impl AwsBackup {
    async fn backup(&self, account: &str, region: &str) -> Result<aws_sdk_backup::Client, ApiError> {
        let config = self.accounts.config(account, region).await.map_err(|e| ApiError {
            operation: "AssumeRole",
            code: "NoRoleForAccount".into(),
            message: e.to_string(),
            failure: Failure::Permanent,
        })?;
        Ok(aws_sdk_backup::Client::new(&config))
    }

    async fn home(&self, region: &str) -> Result<aws_sdk_backup::Client, ApiError> {
        self.backup(self.accounts.home_account(), region).await
    }
}

fn to_sdk(lifecycle: &Lifecycle) -> SdkLifecycle {
    SdkLifecycle::builder()
        .set_move_to_cold_storage_after_days(lifecycle.move_to_cold_storage_after_days)
        .set_delete_after_days(lifecycle.delete_after_days)
        .set_opt_in_to_archive_for_supported_resources(lifecycle.opt_in_to_archive_for_supported_resources)
        .build()
}

fn from_sdk(lifecycle: Option<&SdkLifecycle>) -> Lifecycle {
    Lifecycle {
        move_to_cold_storage_after_days: lifecycle.and_then(|l| l.move_to_cold_storage_after_days()),
        delete_after_days: lifecycle.and_then(|l| l.delete_after_days()),
        opt_in_to_archive_for_supported_resources: lifecycle
            .and_then(|l| l.opt_in_to_archive_for_supported_resources()),
    }
}

#[async_trait]
impl CopyApi for AwsBackup {
    async fn describe_point(&self, region: &str, vault: &str, point_arn: &str) -> Result<PointFacts, ApiError> {
        describe_point(&self.home(region).await?, vault, point_arn).await
    }

    async fn key_is_aws_managed(&self, key_arn: &str) -> Result<bool, ApiError> {
        let region = Arn::parse(key_arn).map_or("", |a| a.region).to_string();
        let config = self
            .accounts
            .config(self.accounts.home_account(), &region)
            .await
            .map_err(|e| ApiError {
                operation: "DescribeKey",
                code: "NoRoleForAccount".into(),
                message: e.to_string(),
                failure: Failure::Permanent,
            })?;
        key_is_aws_managed(&aws_sdk_kms::Client::new(&config), key_arn).await
    }

    async fn db_cluster_engine(&self, cluster_arn: &str) -> Result<Option<String>, ApiError> {
        let region = Arn::parse(cluster_arn).map_or("", |a| a.region).to_string();
        let config = self
            .accounts
            .config(self.accounts.home_account(), &region)
            .await
            .map_err(|e| ApiError {
                operation: "DescribeDBClusters",
                code: "NoRoleForAccount".into(),
                message: e.to_string(),
                failure: Failure::Permanent,
            })?;
        db_cluster_engine(&aws_sdk_rds::Client::new(&config), cluster_arn).await
    }

    async fn vault_status(&self, vault_arn: &str) -> Result<VaultStatus, ApiError> {
        let Some(parsed) = Arn::parse(vault_arn) else {
            return Ok(VaultStatus::Missing(format!("{vault_arn} is not a vault ARN")));
        };
        if !self.accounts.reaches(parsed.account) {
            return Ok(VaultStatus::Unverified);
        }
        match vault_status(
            &self.backup(parsed.account, parsed.region).await?,
            vault_name(vault_arn),
        )
        .await
        {
            Err(e) if e.failure == Failure::Credentials => Ok(VaultStatus::Unchecked {
                role_arn: self
                    .accounts
                    .role_for(parsed.account)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                reason: e.to_string(),
            }),
            other => other,
        }
    }

    async fn vault_access_policy(&self, vault_arn: &str) -> Result<VaultPolicy, ApiError> {
        let Some(parsed) = Arn::parse(vault_arn) else {
            return Ok(VaultPolicy::Unreadable(format!("{vault_arn} is not a vault ARN")));
        };
        if !self.accounts.reaches(parsed.account) {
            return Ok(VaultPolicy::Unreadable("no vault-check role is configured".into()));
        }
        let client = match self.backup(parsed.account, parsed.region).await {
            Ok(client) => client,
            Err(e) => return Ok(VaultPolicy::Unreadable(e.to_string())),
        };
        match vault_access_policy(&client, vault_name(vault_arn)).await {
            Err(e) if e.failure == Failure::Credentials || (e.permanent() && !e.not_found()) => {
                Ok(VaultPolicy::Unreadable(e.to_string()))
            }
            other => other,
        }
    }

    async fn existing_copy(
        &self,
        order: &CopyOrder,
        resource_arn: &str,
        created_after: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Option<String>, ApiError> {
        existing_copy(&self.home(&order.region).await?, order, resource_arn, created_after).await
    }

    async fn start_copy(&self, order: &CopyOrder) -> Result<String, ApiError> {
        start_copy(&self.home(&order.region).await?, order).await
    }

    async fn completed_copies(
        &self,
        region: &str,
        resource_arn: &str,
        point_arn: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        completed_copies(&self.home(region).await?, resource_arn, point_arn).await
    }

    async fn update_lifecycle(
        &self,
        region: &str,
        vault: &str,
        point_arn: &str,
        lifecycle: &Lifecycle,
    ) -> Result<(), ApiError> {
        update_lifecycle(&self.home(region).await?, vault, point_arn, lifecycle).await
    }

    async fn scan_jobs(&self, region: &str, point_arn: &str) -> Result<Vec<ScanSummary>, ApiError> {
        scan_jobs(&self.home(region).await?, point_arn).await
    }

    async fn completed_backups(
        &self,
        region: &str,
        vault: Option<&str>,
        after: chrono::DateTime<chrono::Utc>,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CompletedBackup>, ApiError> {
        completed_backups(&self.home(region).await?, vault, after, before).await
    }
}

// One function per call, each taking its client: the SDK-level tests drive them with mocks.

pub async fn describe_point(
    client: &aws_sdk_backup::Client,
    vault: &str,
    point_arn: &str,
) -> Result<PointFacts, ApiError> {
    let output = client
        .describe_recovery_point()
        .backup_vault_name(vault)
        .recovery_point_arn(point_arn)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("DescribeRecoveryPoint", e))?;
    Ok(PointFacts {
        status: output.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        in_cold_storage: output.storage_class() == Some(&StorageClass::Cold),
        lifecycle: from_sdk(output.lifecycle()),
        key_arn: output.encryption_key_arn().map(str::to_string),
        created: output.creation_date().and_then(chrono_time),
        // DescribeRecoveryPoint: `CreatedBy` names the backup plan that made the point, and is
        // absent for an on-demand backup.
        on_demand: output.created_by().and_then(|c| c.backup_plan_arn()).is_none(),
        ..PointFacts::default()
    })
}

pub async fn key_is_aws_managed(client: &aws_sdk_kms::Client, key_arn: &str) -> Result<bool, ApiError> {
    let output = client
        .describe_key()
        .key_id(key_arn)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("DescribeKey", e))?;
    Ok(output
        .key_metadata()
        .and_then(|m| m.key_manager())
        .is_some_and(|m| *m == aws_sdk_kms::types::KeyManagerType::Aws))
}

pub async fn db_cluster_engine(client: &aws_sdk_rds::Client, cluster_arn: &str) -> Result<Option<String>, ApiError> {
    match client
        .describe_db_clusters()
        .db_cluster_identifier(cluster_arn)
        .send()
        .await
    {
        Ok(output) => Ok(output
            .db_clusters()
            .first()
            .and_then(|c| c.engine())
            .map(str::to_string)),
        Err(e) => match ApiError::from_sdk("DescribeDBClusters", e) {
            e if e.code == "DBClusterNotFoundFault" => Ok(None),
            e => Err(e),
        },
    }
}

pub async fn vault_status(client: &aws_sdk_backup::Client, name: &str) -> Result<VaultStatus, ApiError> {
    match client
        .describe_backup_vault()
        .backup_vault_name(name)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("DescribeBackupVault", e))
    {
        Ok(vault) => Ok(VaultStatus::Exists(RetentionBounds {
            min_days: vault.min_retention_days(),
            max_days: vault.max_retention_days(),
        })),
        Err(e) if e.not_found() => Ok(VaultStatus::Missing(e.message)),
        Err(e) => Err(e),
    }
}

/// GetBackupVaultAccessPolicy; a vault without a policy answers ResourceNotFoundException.
pub async fn vault_access_policy(client: &aws_sdk_backup::Client, name: &str) -> Result<VaultPolicy, ApiError> {
    match client
        .get_backup_vault_access_policy()
        .backup_vault_name(name)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("GetBackupVaultAccessPolicy", e))
    {
        Ok(output) => Ok(output
            .policy()
            .map_or(VaultPolicy::None, |p| VaultPolicy::Document(p.to_string()))),
        Err(e) if e.not_found() => Ok(VaultPolicy::None),
        Err(e) => Err(e),
    }
}

/// ListCopyJobs by resource, destination vault, source recovery point and creation time
/// ("ListCopyJobs": ByResourceArn, ByDestinationVaultArn, BySourceRecoveryPointArn,
/// ByCreatedAfter), then the first job that did not fail.
/// The ledger of handled events is kept 7 days and the idempotency token is AWS's to forget; a
/// redrive from the failure queue after that still finds the copy it started.
pub async fn existing_copy(
    client: &aws_sdk_backup::Client,
    order: &CopyOrder,
    resource_arn: &str,
    created_after: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<String>, ApiError> {
    let mut pages = client
        .list_copy_jobs()
        .by_resource_arn(resource_arn)
        .by_destination_vault_arn(&order.destination_vault_arn)
        .by_source_recovery_point_arn(&order.recovery_point_arn)
        .set_by_created_after(created_after.map(|t| aws_smithy_types::DateTime::from_millis(t.timestamp_millis())))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ApiError::from_sdk("ListCopyJobs", e))?;
        let found = page.copy_jobs().iter().find(|job| {
            job.source_recovery_point_arn() == Some(order.recovery_point_arn.as_str())
                && job.state() != Some(&CopyJobState::Failed)
        });
        if let Some(job) = found {
            return Ok(Some(job.copy_job_id().unwrap_or_default().to_string()));
        }
    }
    Ok(None)
}

pub async fn start_copy(client: &aws_sdk_backup::Client, order: &CopyOrder) -> Result<String, ApiError> {
    let output = client
        .start_copy_job()
        .recovery_point_arn(&order.recovery_point_arn)
        .source_backup_vault_name(&order.source_vault_name)
        .destination_backup_vault_arn(&order.destination_vault_arn)
        .iam_role_arn(&order.role_arn)
        .idempotency_token(&order.idempotency_token)
        .lifecycle(to_sdk(&order.lifecycle))
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("StartCopyJob", e))?;
    Ok(output.copy_job_id().unwrap_or_default().to_string())
}

pub async fn completed_copies(
    client: &aws_sdk_backup::Client,
    resource_arn: &str,
    point_arn: &str,
) -> Result<BTreeSet<String>, ApiError> {
    let mut pages = client
        .list_copy_jobs()
        .by_resource_arn(resource_arn)
        .by_state(CopyJobState::Completed)
        .into_paginator()
        .send();
    let mut done = BTreeSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ApiError::from_sdk("ListCopyJobs", e))?;
        for job in page.copy_jobs() {
            if job.source_recovery_point_arn() == Some(point_arn)
                && let Some(vault) = job.destination_backup_vault_arn()
            {
                done.insert(vault.to_string());
            }
        }
    }
    Ok(done)
}

pub async fn update_lifecycle(
    client: &aws_sdk_backup::Client,
    vault: &str,
    point_arn: &str,
    lifecycle: &Lifecycle,
) -> Result<(), ApiError> {
    client
        .update_recovery_point_lifecycle()
        .backup_vault_name(vault)
        .recovery_point_arn(point_arn)
        .lifecycle(to_sdk(lifecycle))
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("UpdateRecoveryPointLifecycle", e))?;
    Ok(())
}

fn smithy_time(t: chrono::DateTime<chrono::Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.timestamp_millis())
}

fn chrono_time(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?)
}

/// ListScanJobs ByRecoveryPointArn ("Returns only the scan jobs that are ran against the
/// specified recovery point"; the list covers the last 30 days).
pub async fn scan_jobs(client: &aws_sdk_backup::Client, point_arn: &str) -> Result<Vec<ScanSummary>, ApiError> {
    let mut pages = client
        .list_scan_jobs()
        .by_recovery_point_arn(point_arn)
        .into_paginator()
        .send();
    let mut scans = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ApiError::from_sdk("ListScanJobs", e))?;
        for job in page.scan_jobs() {
            // The filter is AWS's; a job of another point is not this point's scan either way.
            if job.recovery_point_arn() != point_arn {
                continue;
            }
            scans.push(ScanSummary {
                scan_job_id: job.scan_job_id().to_string(),
                state: job.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                result: job
                    .scan_result()
                    .map(|r| r.scan_result_status())
                    .map(|r| r.as_str().to_string()),
            });
        }
    }
    Ok(scans)
}

/// ListBackupJobs ByState COMPLETED, ByCompleteAfter, ByCompleteBefore and, for one vault,
/// ByBackupVaultName ("ListBackupJobs": the list covers the last 30 days).
pub async fn completed_backups(
    client: &aws_sdk_backup::Client,
    vault: Option<&str>,
    after: chrono::DateTime<chrono::Utc>,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<CompletedBackup>, ApiError> {
    let mut pages = client
        .list_backup_jobs()
        .by_state(aws_sdk_backup::types::BackupJobState::Completed)
        .by_complete_after(smithy_time(after))
        .by_complete_before(smithy_time(before))
        .set_by_backup_vault_name(vault.map(str::to_string))
        .into_paginator()
        .send();
    let mut backups = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ApiError::from_sdk("ListBackupJobs", e))?;
        for job in page.backup_jobs() {
            let (Some(point), Some(vault_arn), Some(resource_arn), Some(completed)) = (
                job.recovery_point_arn(),
                job.backup_vault_arn(),
                job.resource_arn(),
                job.completion_date().and_then(chrono_time),
            ) else {
                continue;
            };
            backups.push(CompletedBackup {
                job_id: job.backup_job_id().unwrap_or_default().to_string(),
                recovery_point_arn: point.to_string(),
                vault_arn: vault_arn.to_string(),
                resource_arn: resource_arn.to_string(),
                resource_type: job.resource_type().unwrap_or_default().to_string(),
                on_demand: job.created_by().and_then(|c| c.backup_plan_arn()).is_none(),
                created: job.creation_date().and_then(chrono_time),
                completed,
            });
        }
    }
    Ok(backups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::LifecycleSource;
    use aws_sdk_backup::operation::describe_backup_vault::DescribeBackupVaultOutput;
    use aws_sdk_backup::operation::describe_recovery_point::DescribeRecoveryPointOutput;
    use aws_sdk_backup::operation::list_copy_jobs::{ListCopyJobsError, ListCopyJobsOutput};
    use aws_sdk_backup::operation::start_copy_job::{StartCopyJobError, StartCopyJobOutput};
    use aws_sdk_backup::types::CopyJob;
    use aws_sdk_backup::types::error::{InvalidParameterValueException, ServiceUnavailableException};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    /// What the SDK's deserializer attaches to every service error.
    fn meta(code: &str, message: &str) -> aws_sdk_backup::error::ErrorMetadata {
        aws_sdk_backup::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build()
    }

    fn order() -> CopyOrder {
        CopyOrder {
            route: "offsite".into(),
            recovery_point_arn: "arn:aws:ec2:eu-west-1::snapshot/snap-1".into(),
            source_vault_name: "rearguard-production".into(),
            region: "eu-west-1".into(),
            destination_vault_arn: "arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated".into(),
            role_arn: "arn:aws:iam::111122223333:role/rearguard-copy".into(),
            lifecycle: Lifecycle {
                move_to_cold_storage_after_days: Some(30),
                delete_after_days: Some(365),
                opt_in_to_archive_for_supported_resources: Some(true),
            },
            lifecycle_source: LifecycleSource::Route,
            idempotency_token: "6f1c1a52-0f7c-5b43-9d7e-3f1f5e0c2a11".into(),
            hop: false,
            one_step: false,
            clamp_to_vault_lock: false,
        }
    }

    #[tokio::test]
    async fn start_copy_sends_the_token_lifecycle_role_and_vaults() {
        let rule = mock!(aws_sdk_backup::Client::start_copy_job)
            .match_requests(|req| {
                req.recovery_point_arn() == Some("arn:aws:ec2:eu-west-1::snapshot/snap-1")
                    && req.source_backup_vault_name() == Some("rearguard-production")
                    && req.destination_backup_vault_arn()
                        == Some("arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated")
                    && req.iam_role_arn() == Some("arn:aws:iam::111122223333:role/rearguard-copy")
                    && req.idempotency_token() == Some("6f1c1a52-0f7c-5b43-9d7e-3f1f5e0c2a11")
                    && req.lifecycle().and_then(|l| l.delete_after_days()) == Some(365)
                    && req.lifecycle().and_then(|l| l.move_to_cold_storage_after_days()) == Some(30)
                    && req
                        .lifecycle()
                        .and_then(|l| l.opt_in_to_archive_for_supported_resources())
                        == Some(true)
            })
            .then_output(|| StartCopyJobOutput::builder().copy_job_id("job-1").build());
        let client = mock_client!(aws_sdk_backup, [&rule]);

        assert_eq!(start_copy(&client, &order()).await.unwrap(), "job-1");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_throttled_copy_is_retried_then_succeeds() {
        let throttled = r#"{"__type": "ThrottlingException", "message": "Rate exceeded"}"#;
        let rule = mock!(aws_sdk_backup::Client::start_copy_job)
            .sequence()
            .http_status(429, Some(throttled.to_string()))
            .http_status(503, None)
            .output(|| StartCopyJobOutput::builder().copy_job_id("job-2").build())
            .build();
        let client = mock_client!(aws_sdk_backup, RuleMode::Sequential, [&rule], |b| b
            .retry_config(rearguard::aws::retry_config()));

        assert_eq!(start_copy(&client, &order()).await.unwrap(), "job-2");
        assert_eq!(rule.num_calls(), 3);
    }

    #[tokio::test]
    async fn a_dependency_failure_is_retried_and_transient_when_it_persists() {
        let failed = r#"{"__type": "DependencyFailureException", "message": "KMS returned an error"}"#;
        let rule = mock!(aws_sdk_backup::Client::start_copy_job)
            .sequence()
            .http_status(500, Some(failed.to_string()))
            .output(|| StartCopyJobOutput::builder().copy_job_id("job-3").build())
            .build();
        let client = mock_client!(aws_sdk_backup, RuleMode::Sequential, [&rule], |b| b
            .retry_config(rearguard::aws::retry_config()));

        assert_eq!(start_copy(&client, &order()).await.unwrap(), "job-3");
        assert_eq!(rule.num_calls(), 2);

        // StartCopyJob's model does not list it, so the SDK hands it over as a generic error.
        let persistent = mock!(aws_sdk_backup::Client::start_copy_job)
            .then_error(|| StartCopyJobError::generic(meta("DependencyFailureException", "KMS returned an error")));
        let client = mock_client!(aws_sdk_backup, [&persistent]);

        let e = start_copy(&client, &order()).await.unwrap_err();

        assert_eq!(
            (e.code.as_str(), e.failure),
            ("DependencyFailureException", Failure::Transient)
        );
    }

    #[tokio::test]
    async fn an_invalid_parameter_is_permanent_with_aws_message() {
        let rule = mock!(aws_sdk_backup::Client::start_copy_job).then_error(|| {
            StartCopyJobError::InvalidParameterValueException(
                InvalidParameterValueException::builder()
                    .message("Invalid lifecycle")
                    .meta(meta("InvalidParameterValueException", "Invalid lifecycle"))
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let e = start_copy(&client, &order()).await.unwrap_err();

        assert!(e.permanent(), "{e:?}");
        assert_eq!(e.code, "InvalidParameterValueException");
        assert_eq!(e.message, "Invalid lifecycle");
    }

    #[tokio::test]
    async fn service_unavailable_after_retries_is_transient() {
        let rule = mock!(aws_sdk_backup::Client::list_copy_jobs).then_error(|| {
            ListCopyJobsError::ServiceUnavailableException(
                ServiceUnavailableException::builder()
                    .meta(meta("ServiceUnavailableException", "try later"))
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let e = completed_copies(&client, "arn:r", "arn:p").await.unwrap_err();

        assert!(!e.permanent(), "{e:?}");
        assert_eq!(e.code, "ServiceUnavailableException");
    }

    #[tokio::test]
    async fn completed_copies_are_those_of_this_recovery_point() {
        let rule = mock!(aws_sdk_backup::Client::list_copy_jobs)
            .match_requests(move |req| {
                req.by_resource_arn() == Some("arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
                    && req.by_state() == Some(&CopyJobState::Completed)
            })
            .then_output(|| {
                let job = |point: &str, vault: &str| {
                    CopyJob::builder()
                        .source_recovery_point_arn(point)
                        .destination_backup_vault_arn(vault)
                        .build()
                };
                ListCopyJobsOutput::builder()
                    .copy_jobs(job("arn:p1", "arn:v:isolated"))
                    .copy_jobs(job("arn:p0", "arn:v:dr"))
                    .copy_jobs(job("arn:p1", "arn:v:dr"))
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let done = completed_copies(&client, "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1", "arn:p1")
            .await
            .unwrap();

        assert_eq!(
            done,
            BTreeSet::from(["arn:v:dr".to_string(), "arn:v:isolated".to_string()])
        );
    }

    #[tokio::test]
    async fn a_db_clusters_engine_is_read_by_its_arn_and_a_gone_cluster_is_unknown() {
        use aws_sdk_rds::operation::describe_db_clusters::{DescribeDBClustersError, DescribeDbClustersOutput};
        let arn = "arn:aws:rds:eu-west-1:111122223333:cluster:orders";
        let found = mock!(aws_sdk_rds::Client::describe_db_clusters)
            .match_requests(move |req| req.db_cluster_identifier() == Some(arn))
            .then_output(|| {
                DescribeDbClustersOutput::builder()
                    .db_clusters(aws_sdk_rds::types::DbCluster::builder().engine("postgres").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_rds, [&found]);
        assert_eq!(
            db_cluster_engine(&client, arn).await.unwrap().as_deref(),
            Some("postgres")
        );

        let gone = mock!(aws_sdk_rds::Client::describe_db_clusters).then_error(|| {
            DescribeDBClustersError::DbClusterNotFoundFault(
                aws_sdk_rds::types::error::DbClusterNotFoundFault::builder()
                    .meta(
                        aws_sdk_rds::error::ErrorMetadata::builder()
                            .code("DBClusterNotFoundFault")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_rds, [&gone]);
        assert_eq!(db_cluster_engine(&client, arn).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_existing_copy_is_found_by_resource_destination_and_time_and_a_failed_one_is_not() {
        let created = chrono::DateTime::parse_from_rfc3339("2026-11-21T03:00:02Z")
            .unwrap()
            .to_utc();
        let rule = mock!(aws_sdk_backup::Client::list_copy_jobs)
            .match_requests(move |req| {
                req.by_resource_arn() == Some("arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
                    && req.by_destination_vault_arn()
                        == Some("arn:aws:backup:eu-west-1:444455556666:backup-vault:isolated")
                    && req.by_source_recovery_point_arn() == Some("arn:aws:ec2:eu-west-1::snapshot/snap-1")
                    && req.by_created_after().map(|t| t.secs()) == Some(created.timestamp())
            })
            .then_output(|| {
                let job = |id: &str, point: &str, state: CopyJobState| {
                    CopyJob::builder()
                        .copy_job_id(id)
                        .source_recovery_point_arn(point)
                        .state(state)
                        .build()
                };
                ListCopyJobsOutput::builder()
                    .copy_jobs(job(
                        "failed",
                        "arn:aws:ec2:eu-west-1::snapshot/snap-1",
                        CopyJobState::Failed,
                    ))
                    .copy_jobs(job(
                        "other",
                        "arn:aws:ec2:eu-west-1::snapshot/snap-0",
                        CopyJobState::Completed,
                    ))
                    .copy_jobs(job(
                        "running",
                        "arn:aws:ec2:eu-west-1::snapshot/snap-1",
                        CopyJobState::Running,
                    ))
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let found = existing_copy(
            &client,
            &order(),
            "arn:aws:ec2:eu-west-1:111122223333:volume/vol-1",
            Some(created),
        )
        .await
        .unwrap();

        assert_eq!(found.as_deref(), Some("running"));
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_vault_access_policy_is_read_and_a_vault_without_one_has_none() {
        use aws_sdk_backup::operation::get_backup_vault_access_policy::{
            GetBackupVaultAccessPolicyError, GetBackupVaultAccessPolicyOutput,
        };
        let found = mock!(aws_sdk_backup::Client::get_backup_vault_access_policy)
            .match_requests(|req| req.backup_vault_name() == Some("rearguard-production"))
            .then_output(|| {
                GetBackupVaultAccessPolicyOutput::builder()
                    .policy(r#"{"Statement": []}"#)
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, [&found]);
        assert_eq!(
            vault_access_policy(&client, "rearguard-production").await.unwrap(),
            VaultPolicy::Document(r#"{"Statement": []}"#.into())
        );
        assert_eq!(found.num_calls(), 1);

        let none = mock!(aws_sdk_backup::Client::get_backup_vault_access_policy).then_error(|| {
            GetBackupVaultAccessPolicyError::ResourceNotFoundException(
                aws_sdk_backup::types::error::ResourceNotFoundException::builder()
                    .meta(meta("ResourceNotFoundException", "no policy"))
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_backup, [&none]);
        assert_eq!(
            vault_access_policy(&client, "rearguard-production").await.unwrap(),
            VaultPolicy::None
        );
    }

    #[tokio::test]
    async fn a_locked_vault_reports_its_retention_bounds() {
        let rule = mock!(aws_sdk_backup::Client::describe_backup_vault)
            .match_requests(|req| req.backup_vault_name() == Some("isolated"))
            .then_output(|| {
                DescribeBackupVaultOutput::builder()
                    .locked(true)
                    .min_retention_days(7)
                    .max_retention_days(35)
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        assert_eq!(
            vault_status(&client, "isolated").await.unwrap(),
            VaultStatus::Exists(RetentionBounds {
                min_days: Some(7),
                max_days: Some(35)
            })
        );
    }

    #[tokio::test]
    async fn a_described_point_reports_cold_storage_and_lifecycle() {
        let rule = mock!(aws_sdk_backup::Client::describe_recovery_point).then_output(|| {
            DescribeRecoveryPointOutput::builder()
                .status(aws_sdk_backup::types::RecoveryPointStatus::Completed)
                .storage_class(StorageClass::Cold)
                .lifecycle(
                    SdkLifecycle::builder()
                        .move_to_cold_storage_after_days(7)
                        .delete_after_days(97)
                        .opt_in_to_archive_for_supported_resources(true)
                        .build(),
                )
                .encryption_key_arn("arn:aws:kms:eu-west-1:111122223333:key/k")
                .build()
        });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let facts = describe_point(&client, "v", "arn:p").await.unwrap();

        assert!(facts.in_cold_storage);
        assert_eq!(facts.status, "COMPLETED");
        assert_eq!(facts.lifecycle.delete_after_days, Some(97));
        assert_eq!(facts.lifecycle.opt_in_to_archive_for_supported_resources, Some(true));
        assert_eq!(
            facts.key_arn.as_deref(),
            Some("arn:aws:kms:eu-west-1:111122223333:key/k")
        );
    }

    #[tokio::test]
    async fn a_points_scans_are_listed_by_its_arn_with_their_state_and_result() {
        use aws_sdk_backup::operation::list_scan_jobs::ListScanJobsOutput;
        use aws_sdk_backup::types::{ScanJob, ScanResultInfo, ScanResultStatus, ScanState};
        let point = "arn:aws:ec2:eu-west-1::snapshot/snap-1";
        let rule = mock!(aws_sdk_backup::Client::list_scan_jobs)
            .match_requests(move |req| req.by_recovery_point_arn() == Some(point))
            .then_output(move || {
                let job = |id: &str, arn: &str, state: ScanState, result: Option<ScanResultStatus>| {
                    let mut b = ScanJob::builder()
                        .account_id("111122223333")
                        .backup_vault_arn("arn:aws:backup:eu-west-1:111122223333:backup-vault:v")
                        .backup_vault_name("v")
                        .creation_date(aws_smithy_types::DateTime::from_secs(0))
                        .iam_role_arn("arn:aws:iam::111122223333:role/r")
                        .malware_scanner(aws_sdk_backup::types::MalwareScanner::Guardduty)
                        .recovery_point_arn(arn)
                        .resource_arn("arn:aws:ec2:eu-west-1:111122223333:volume/vol-1")
                        .resource_name("vol-1")
                        .resource_type(aws_sdk_backup::types::ScanResourceType::Ebs)
                        .scan_job_id(id)
                        .scan_mode(aws_sdk_backup::types::ScanMode::FullScan)
                        .scanner_role_arn("arn:aws:iam::111122223333:role/s")
                        .state(state);
                    if let Some(result) = result {
                        b = b.scan_result(ScanResultInfo::builder().scan_result_status(result).build().unwrap());
                    }
                    b.build().unwrap()
                };
                ListScanJobsOutput::builder()
                    .scan_jobs(job("failed", point, ScanState::Failed, None))
                    .scan_jobs(job(
                        "clean",
                        point,
                        ScanState::Completed,
                        Some(ScanResultStatus::NoThreatsFound),
                    ))
                    .scan_jobs(job("other", "arn:other", ScanState::Completed, None))
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let scans = scan_jobs(&client, point).await.unwrap();

        assert_eq!(rule.num_calls(), 1);
        assert_eq!(
            scans,
            [
                ScanSummary {
                    scan_job_id: "failed".into(),
                    state: "FAILED".into(),
                    result: None
                },
                ScanSummary {
                    scan_job_id: "clean".into(),
                    state: "COMPLETED".into(),
                    result: Some("NO_THREATS_FOUND".into())
                },
            ]
        );
    }

    #[tokio::test]
    async fn completed_backups_are_listed_by_state_vault_and_completion_window() {
        use aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsOutput;
        use aws_sdk_backup::types::{BackupJob, BackupJobState, RecoveryPointCreator};
        let after = chrono::DateTime::parse_from_rfc3339("2026-11-13T06:00:00Z")
            .unwrap()
            .to_utc();
        let before = chrono::DateTime::parse_from_rfc3339("2026-11-20T06:00:00Z")
            .unwrap()
            .to_utc();
        let rule = mock!(aws_sdk_backup::Client::list_backup_jobs)
            .match_requests(move |req| {
                req.by_state() == Some(&BackupJobState::Completed)
                    && req.by_backup_vault_name() == Some("production")
                    && req.by_complete_after().map(|t| t.secs()) == Some(after.timestamp())
                    && req.by_complete_before().map(|t| t.secs()) == Some(before.timestamp())
            })
            .then_output(|| {
                let job = |id: &str, plan: Option<&str>| {
                    BackupJob::builder()
                        .backup_job_id(id)
                        .recovery_point_arn(format!("arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:{id}"))
                        .backup_vault_arn("arn:aws:backup:eu-west-1:111122223333:backup-vault:production")
                        .resource_arn("arn:aws:rds:eu-west-1:111122223333:db:orders")
                        .resource_type("RDS")
                        .completion_date(aws_smithy_types::DateTime::from_secs(1_763_600_000))
                        .set_created_by(plan.map(|p| RecoveryPointCreator::builder().backup_plan_arn(p).build()))
                        .build()
                };
                ListBackupJobsOutput::builder()
                    .backup_jobs(job(
                        "job-plan",
                        Some("arn:aws:backup:eu-west-1:111122223333:backup-plan:p"),
                    ))
                    .backup_jobs(job("job-on-demand", None))
                    .build()
            });
        let client = mock_client!(aws_sdk_backup, [&rule]);

        let backups = completed_backups(&client, Some("production"), after, before)
            .await
            .unwrap();

        assert_eq!(rule.num_calls(), 1);
        assert_eq!(
            backups
                .iter()
                .map(|b| (b.job_id.as_str(), b.on_demand))
                .collect::<Vec<_>>(),
            [("job-plan", false), ("job-on-demand", true)]
        );
        assert_eq!(backups[0].completed.timestamp(), 1_763_600_000);
    }

    #[tokio::test]
    async fn a_described_point_says_when_it_was_taken_and_whether_a_plan_made_it() {
        let created = aws_smithy_types::DateTime::from_secs(1_763_600_000);
        let planned = mock!(aws_sdk_backup::Client::describe_recovery_point).then_output(move || {
            DescribeRecoveryPointOutput::builder()
                .creation_date(created)
                .created_by(
                    aws_sdk_backup::types::RecoveryPointCreator::builder()
                        .backup_plan_arn("arn:aws:backup:eu-west-1:111122223333:backup-plan:p")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_backup, [&planned]);
        let facts = describe_point(&client, "v", "arn:p").await.unwrap();
        assert_eq!(facts.created.map(|t| t.timestamp()), Some(1_763_600_000));
        assert!(!facts.on_demand);

        let on_demand = mock!(aws_sdk_backup::Client::describe_recovery_point)
            .then_output(|| DescribeRecoveryPointOutput::builder().build());
        let client = mock_client!(aws_sdk_backup, [&on_demand]);
        assert!(describe_point(&client, "v", "arn:p").await.unwrap().on_demand);
    }
}
