//! Reading one account and region: the in-scope resources (every one, tagged or not, stopped
//! included), their tags, their last backups, recent copies and the required vaults' locks.
//! Every list call is paginated; the fewest calls are chosen: one ListProtectedResources listing
//! gives every resource's last backup, one ListCopyJobs listing the copies within the RPO window.

use aws_config::SdkConfig;
use aws_sdk_backup::types::{BackupJobState, CopyJobState, RecoveryPointStatus};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

use crate::inventory::{BackupRecord, CleanRecord, CopyRecord, DrillRecord, Inventory, Resource, VaultLock};
use crate::policy::Policy;

#[derive(Debug, thiserror::Error)]
#[error("{account} {region}: {operation}: {message}")]
pub struct GatherError {
    pub account: String,
    pub region: String,
    pub operation: &'static str,
    pub message: String,
}

/// Recovery points confirmed at once per account and Region.
const CONFIRM_CONCURRENCY: usize = 8;

/// Whether a recovery point still protects its resource: not `EXPIRED` or `DELETING`
/// ("DescribeRecoveryPoint": Status).
fn counts(status: &RecoveryPointStatus) -> bool {
    !matches!(status, RecoveryPointStatus::Expired | RecoveryPointStatus::Deleting)
}

/// When the backup behind a recovery point was taken: its own backup job, or for a copy the
/// point it was copied from (a copy of a copy through a re-encrypting vault, a few hops at most).
fn origin(
    point: &str,
    created: &HashMap<String, DateTime<Utc>>,
    copied_from: &HashMap<&str, &str>,
) -> Option<DateTime<Utc>> {
    let mut point = point;
    for _ in 0..4 {
        if let Some(at) = created.get(point) {
            return Some(*at);
        }
        point = copied_from.get(point)?;
    }
    None
}

pub fn to_chrono(at: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos()).unwrap_or_default()
}

/// The tagging API's resource-type filters for the AWS Backup types in scope.
fn type_filters(types: &[String]) -> Vec<String> {
    let mut filters = Vec::new();
    for t in types {
        filters.extend(match t.as_str() {
            "EC2" => vec!["ec2:instance"],
            "EBS" => vec!["ec2:volume"],
            // Multi-AZ DB clusters are of type RDS, with a cluster ARN.
            "RDS" => vec!["rds:db", "rds:cluster"],
            "Aurora" | "DocumentDB" | "Neptune" => vec!["rds:cluster"],
            "DynamoDB" => vec!["dynamodb:table"],
            "EFS" => vec!["elasticfilesystem:file-system"],
            // Buckets' tags are read bucket by bucket (GetBucketTagging).
            _ => vec![],
        });
    }
    filters.sort_unstable();
    filters.dedup();
    filters.into_iter().map(String::from).collect()
}

pub struct Reader<'a> {
    pub config: &'a SdkConfig,
    pub account: &'a str,
    pub region: &'a str,
    /// Whether restore tests are read back from `ListRestoreJobs` here: not where the drill
    /// record was read instead ([`crate::handler`]).
    pub list_restore_jobs: bool,
}

impl Reader<'_> {
    fn fail(&self, operation: &'static str, error: impl std::fmt::Display) -> GatherError {
        GatherError {
            account: self.account.into(),
            region: self.region.into(),
            operation,
            message: error.to_string(),
        }
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        let partition = rearguard::aws::partition_of(self.region);
        format!("arn:{partition}:{service}:{}:{}:{resource}", self.region, self.account)
    }

    pub async fn inventory(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Inventory, GatherError> {
        let tags = self.tags(policy).await?;
        let mut resources = self.resources(policy).await?;
        for resource in &mut resources {
            if let Some(found) = tags.get(&resource.arn) {
                resource.tags.extend(found.clone());
            }
        }
        Ok(Inventory {
            backups: self.last_backups(policy, &resources, now).await?,
            resources,
            copies: self.recent_copies(policy, now).await?,
            vaults: self.vault_locks(policy).await?,
            clean: self.clean_points().await?,
            drills: if self.list_restore_jobs {
                self.successful_drills().await?
            } else {
                Vec::new()
            },
            unreadable: Vec::new(),
        })
    }

    /// The restore tests that restored and validated SUCCESSFUL (`ListRestoreJobs`, COMPLETED).
    async fn successful_drills(&self) -> Result<Vec<DrillRecord>, GatherError> {
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut pages = backup
            .list_restore_jobs()
            .by_status(aws_sdk_backup::types::RestoreJobStatus::Completed)
            .into_paginator()
            .send();
        let mut drills = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListRestoreJobs", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            drills.extend(page.restore_jobs().iter().filter_map(successful_drill));
        }
        Ok(drills)
    }

    /// Each resource's newest recovery point a malware scan found clean (`ListScanJobs`,
    /// COMPLETED with NO_THREATS_FOUND; "Malware scan job events": a COMPLETED scan may still
    /// have found threats, so the result decides), dated by the point's own creation
    /// (`DescribeRecoveryPoint`). Nothing when no scan ran here.
    async fn clean_points(&self) -> Result<Vec<CleanRecord>, GatherError> {
        use aws_sdk_backup::types::{ScanResultStatus, ScanState};
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut pages = backup
            .list_scan_jobs()
            .by_state(ScanState::Completed)
            .by_scan_result_status(ScanResultStatus::NoThreatsFound)
            .into_paginator()
            .send();
        // resource -> (scan time, point, vault) of its newest clean scan
        let mut newest: HashMap<String, (DateTime<Utc>, String, String)> = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListScanJobs", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for job in page.scan_jobs() {
                let scanned = to_chrono(job.creation_date());
                let entry = newest.entry(job.resource_arn().to_string());
                let candidate = (
                    scanned,
                    job.recovery_point_arn().to_string(),
                    job.backup_vault_name().to_string(),
                );
                match entry {
                    std::collections::hash_map::Entry::Occupied(mut seen) if seen.get().0 < scanned => {
                        seen.insert(candidate);
                    }
                    std::collections::hash_map::Entry::Vacant(free) => {
                        free.insert(candidate);
                    }
                    _ => {}
                }
            }
        }
        let found = futures::stream::iter(newest)
            .map(|(resource_arn, (_, point, vault))| {
                let backup = &backup;
                async move {
                    match backup
                        .describe_recovery_point()
                        .backup_vault_name(vault)
                        .recovery_point_arn(point)
                        .send()
                        .await
                    {
                        Ok(described) => Ok(described.creation_date().map(|at| CleanRecord {
                            resource_arn,
                            point_created_at: to_chrono(at),
                        })),
                        // The clean point is gone: it cannot be restored from.
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|s| s.is_resource_not_found_exception()) =>
                        {
                            Ok(None)
                        }
                        Err(e) => {
                            Err(self.fail("DescribeRecoveryPoint", aws_sdk_backup::error::DisplayErrorContext(e)))
                        }
                    }
                }
            })
            .buffer_unordered(CONFIRM_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        found.into_iter().filter_map(Result::transpose).collect()
    }

    async fn tags(&self, policy: &Policy) -> Result<HashMap<String, BTreeMap<String, String>>, GatherError> {
        let client = aws_sdk_resourcegroupstagging::Client::new(self.config);
        let mut pages = client
            .get_resources()
            .set_resource_type_filters(Some(type_filters(&policy.resource_types)))
            .into_paginator()
            .send();
        let mut tags = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                self.fail(
                    "GetResources",
                    aws_sdk_resourcegroupstagging::error::DisplayErrorContext(e),
                )
            })?;
            for mapping in page.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else { continue };
                let map = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                tags.insert(arn.to_string(), map);
            }
        }
        Ok(tags)
    }

    fn resource(&self, arn: String, resource_type: &str) -> Resource {
        Resource {
            arn,
            resource_type: resource_type.into(),
            account: self.account.into(),
            region: self.region.into(),
            tags: BTreeMap::new(),
            stopped: false,
            cannot_back_up: None,
        }
    }

    /// Every resource of the in-scope types, whether it carries tags or not.
    async fn resources(&self, policy: &Policy) -> Result<Vec<Resource>, GatherError> {
        let wants = |t: &str| policy.resource_types.iter().any(|w| w == t);
        let mut found = Vec::new();
        if wants("EC2") {
            let ec2 = aws_sdk_ec2::Client::new(self.config);
            let mut pages = ec2.describe_instances().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| self.fail("DescribeInstances", aws_sdk_ec2::error::DisplayErrorContext(e)))?;
                for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                    use aws_sdk_ec2::types::InstanceStateName as S;
                    let state = instance.state().and_then(|s| s.name());
                    if matches!(state, Some(S::Terminated | S::ShuttingDown)) {
                        continue;
                    }
                    let id = instance.instance_id().unwrap_or_default();
                    let mut resource = self.resource(self.arn("ec2", &format!("instance/{id}")), "EC2");
                    resource.stopped = matches!(state, Some(S::Stopped | S::Stopping));
                    resource.tags = instance
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                        .collect();
                    found.push(resource);
                }
            }
        }
        if wants("EBS") {
            let ec2 = aws_sdk_ec2::Client::new(self.config);
            let mut pages = ec2.describe_volumes().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| self.fail("DescribeVolumes", aws_sdk_ec2::error::DisplayErrorContext(e)))?;
                for volume in page.volumes() {
                    // An attached volume is backed up with its instance when EC2 is in scope
                    // (an EC2 backup is an AMI with a snapshot of every attached volume).
                    if wants("EC2") && !volume.attachments().is_empty() {
                        continue;
                    }
                    let id = volume.volume_id().unwrap_or_default();
                    found.push(self.resource(self.arn("ec2", &format!("volume/{id}")), "EBS"));
                }
            }
        }
        let cluster_types = ["RDS", "Aurora", "DocumentDB", "Neptune"];
        if cluster_types.iter().any(|t| wants(t)) {
            let rds = aws_sdk_rds::Client::new(self.config);
            if wants("RDS") {
                let mut pages = rds.describe_db_instances().into_paginator().send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| self.fail("DescribeDBInstances", aws_sdk_rds::error::DisplayErrorContext(e)))?;
                    // Cluster members (Aurora, DocumentDB, Neptune, Multi-AZ DB clusters) are
                    // backed up through their cluster.
                    for db in page
                        .db_instances()
                        .iter()
                        .filter(|d| d.db_cluster_identifier().is_none())
                    {
                        if let Some(arn) = db.db_instance_arn() {
                            found.push(self.resource(arn.to_string(), "RDS"));
                        }
                    }
                }
            }
            let mut pages = rds.describe_db_clusters().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| self.fail("DescribeDBClusters", aws_sdk_rds::error::DisplayErrorContext(e)))?;
                for cluster in page.db_clusters() {
                    let kind = rearguard::aws::cluster_backup_type(cluster.engine().unwrap_or_default());
                    if let (true, Some(arn)) = (wants(kind), cluster.db_cluster_arn()) {
                        found.push(self.resource(arn.to_string(), kind));
                    }
                }
            }
        }
        if wants("DynamoDB") {
            let dynamodb = aws_sdk_dynamodb::Client::new(self.config);
            let mut pages = dynamodb.list_tables().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| self.fail("ListTables", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                for table in page.table_names() {
                    found.push(self.resource(self.arn("dynamodb", &format!("table/{table}")), "DynamoDB"));
                }
            }
        }
        if wants("EFS") {
            let efs = aws_sdk_efs::Client::new(self.config);
            let mut pages = efs.describe_file_systems().into_paginator().send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| self.fail("DescribeFileSystems", aws_sdk_efs::error::DisplayErrorContext(e)))?;
                for fs in page.file_systems() {
                    let arn = fs.file_system_arn().map(str::to_string).unwrap_or_else(|| {
                        self.arn("elasticfilesystem", &format!("file-system/{}", fs.file_system_id()))
                    });
                    found.push(self.resource(arn, "EFS"));
                }
            }
        }
        if wants("S3") {
            found.extend(self.buckets().await?);
        }
        Ok(found)
    }

    /// This Region's buckets (`ListBuckets` by `BucketRegion`), with their tags and whether
    /// versioning is on: AWS Backup for S3 needs it ("Amazon S3 backups": versioning must be
    /// enabled on the bucket), so an unversioned bucket is reported as one that cannot be backed up.
    async fn buckets(&self) -> Result<Vec<Resource>, GatherError> {
        let s3 = aws_sdk_s3::Client::new(self.config);
        let mut found = Vec::new();
        let mut pages = s3.list_buckets().bucket_region(self.region).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListBuckets", aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for name in page.buckets().iter().filter_map(|b| b.name()) {
                let partition = rearguard::aws::partition_of(self.region);
                let mut bucket = self.resource(format!("arn:{partition}:s3:::{name}"), "S3");
                let versioning = s3
                    .get_bucket_versioning()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|e| self.fail("GetBucketVersioning", aws_sdk_s3::error::DisplayErrorContext(e)))?;
                if versioning.status() != Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled) {
                    bucket.cannot_back_up =
                        Some("versioning is not enabled: AWS Backup for S3 needs it on the bucket".into());
                }
                match s3.get_bucket_tagging().bucket(name).send().await {
                    Ok(tagging) => {
                        bucket.tags = tagging
                            .tag_set()
                            .iter()
                            .map(|t| (t.key().to_string(), t.value().to_string()))
                            .collect();
                    }
                    // A bucket without tags answers NoSuchTagSet.
                    Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NoSuchTagSet") => {}
                    Err(e) => return Err(self.fail("GetBucketTagging", aws_sdk_s3::error::DisplayErrorContext(e))),
                }
                found.push(bucket);
            }
        }
        Ok(found)
    }

    /// Each resource's newest backup that still exists. `ListProtectedResources` names the
    /// last backup "regardless of the recovery point's status", so for members within their
    /// RPO the point is confirmed (`DescribeRecoveryPoint`); an expired, deleting or deleted
    /// point gives way to the newest one left (`ListRecoveryPointsByResource`).
    async fn last_backups(
        &self,
        policy: &Policy,
        resources: &[Resource],
        now: DateTime<Utc>,
    ) -> Result<Vec<BackupRecord>, GatherError> {
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut pages = backup.list_protected_resources().into_paginator().send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| self.fail("ListProtectedResources", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for protected in page.results() {
                if let (Some(arn), Some(at)) = (protected.resource_arn(), protected.last_backup_time()) {
                    listed.push((
                        BackupRecord {
                            resource_arn: arn.to_string(),
                            completed_at: to_chrono(at),
                            vault_arn: protected.last_backup_vault_arn().map(str::to_string),
                            newer_lost: None,
                        },
                        protected.last_recovery_point_arn().map(str::to_string),
                    ));
                }
            }
        }
        // The RPO each resource is held to; a point already older than it needs no check.
        let rpo_of: HashMap<&str, i64> = resources
            .iter()
            .filter_map(|r| {
                let plan = policy.plans.get(r.tags.get(&policy.tag_key)?)?;
                Some((r.arn.as_str(), plan.rpo_hours))
            })
            .collect();
        let records = futures::stream::iter(listed)
            .map(|(record, point)| {
                let backup = &backup;
                let rpo = rpo_of.get(record.resource_arn.as_str()).copied();
                async move {
                    match (rpo, point) {
                        (Some(hours), Some(point)) if now - record.completed_at <= chrono::Duration::hours(hours) => {
                            self.confirmed(backup, record, &point).await
                        }
                        _ => Ok(Some(record)),
                    }
                }
            })
            .buffer_unordered(CONFIRM_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        records.into_iter().filter_map(Result::transpose).collect()
    }

    /// The record if its point still counts; otherwise the newest point that does, if any.
    async fn confirmed(
        &self,
        backup: &aws_sdk_backup::Client,
        record: BackupRecord,
        point: &str,
    ) -> Result<Option<BackupRecord>, GatherError> {
        let vault_name = record
            .vault_arn
            .as_deref()
            .and_then(|arn| arn.rsplit(':').next())
            .unwrap_or_default();
        let lost = match backup
            .describe_recovery_point()
            .backup_vault_name(vault_name)
            .recovery_point_arn(point)
            .send()
            .await
        {
            Ok(found) => match found.status() {
                Some(status) if !counts(status) => format!("its newest recovery point is {}", status.as_str()),
                _ => return Ok(Some(record)),
            },
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                "its newest recovery point was deleted".to_string()
            }
            Err(e) => return Err(self.fail("DescribeRecoveryPoint", aws_sdk_backup::error::DisplayErrorContext(e))),
        };
        let mut pages = backup
            .list_recovery_points_by_resource()
            .resource_arn(&record.resource_arn)
            .into_paginator()
            .send();
        let mut newest: Option<BackupRecord> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                self.fail(
                    "ListRecoveryPointsByResource",
                    aws_sdk_backup::error::DisplayErrorContext(e),
                )
            })?;
            for found in page.recovery_points() {
                let (Some(at), Some(status)) = (found.creation_date(), found.status()) else {
                    continue;
                };
                let at = to_chrono(at);
                if counts(status) && newest.as_ref().is_none_or(|n| at > n.completed_at) {
                    let vault = found
                        .backup_vault_name()
                        .map(|name| self.arn("backup", &format!("backup-vault:{name}")));
                    newest = Some(BackupRecord {
                        resource_arn: record.resource_arn.clone(),
                        completed_at: at,
                        vault_arn: vault,
                        newer_lost: Some(lost.clone()),
                    });
                }
            }
        }
        Ok(newest)
    }

    /// Completed copies within the longest copy RPO, each dated by the backup it copies: a copy
    /// keeps its source's creation date (*Copying a backup*), and the copy job listing does not
    /// carry it, so the source is traced through the backup jobs (and, for a copy of a copy,
    /// the copy jobs) of the same window. A source older than the window is older than every
    /// copy RPO, so an untraced copy is rightly counted as none.
    async fn recent_copies(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Vec<CopyRecord>, GatherError> {
        let Some(window) = policy
            .plans
            .values()
            .filter_map(|p| p.copy.as_ref().map(|c| c.window_hours()))
            .max()
        else {
            return Ok(Vec::new());
        };
        let since = aws_smithy_types::DateTime::from_secs((now - chrono::Duration::hours(window)).timestamp());
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut created: HashMap<String, DateTime<Utc>> = HashMap::new();
        let mut pages = backup
            .list_backup_jobs()
            .by_state(BackupJobState::Completed)
            .by_created_after(since)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListBackupJobs", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for job in page.backup_jobs() {
                if let (Some(point), Some(at)) = (job.recovery_point_arn(), job.creation_date()) {
                    created.insert(point.to_string(), to_chrono(at));
                }
            }
        }
        let mut jobs = Vec::new();
        let mut pages = backup
            .list_copy_jobs()
            .by_state(CopyJobState::Completed)
            .by_created_after(since)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListCopyJobs", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            jobs.extend(page.copy_jobs().iter().cloned());
        }
        let copied_from: HashMap<&str, &str> = jobs
            .iter()
            .filter_map(|j| Some((j.destination_recovery_point_arn()?, j.source_recovery_point_arn()?)))
            .collect();
        Ok(jobs
            .iter()
            .filter_map(|job| {
                let source_created_at = origin(job.source_recovery_point_arn()?, &created, &copied_from)?;
                Some(CopyRecord {
                    resource_arn: job.resource_arn()?.to_string(),
                    destination_vault_arn: job.destination_backup_vault_arn()?.to_string(),
                    source_created_at,
                })
            })
            .collect())
    }

    async fn vault_locks(&self, policy: &Policy) -> Result<Vec<VaultLock>, GatherError> {
        let partition = rearguard::aws::partition_of(self.region);
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut locks = Vec::new();
        for rule in policy.plans.values().filter_map(|p| p.locked_vault.as_ref()) {
            // The plan's vault as it is named in this account and Region; a vault pinned to
            // another account or Region is read there.
            let arn = rule.vault.arn_for(partition, self.account, self.region);
            if !rule.vault.is_at(&arn) || !arn.contains(&format!(":{}:{}:", self.region, self.account)) {
                continue;
            }
            let name = rule.vault.name();
            match backup.describe_backup_vault().backup_vault_name(name).send().await {
                Ok(vault) => locks.push(VaultLock {
                    vault_arn: arn,
                    found: true,
                    locked: vault.locked().unwrap_or(false),
                    min_retention_days: vault.min_retention_days(),
                    max_retention_days: vault.max_retention_days(),
                    lock_date: vault.lock_date().map(to_chrono),
                }),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    locks.push(VaultLock {
                        vault_arn: arn,
                        found: false,
                        locked: false,
                        min_retention_days: None,
                        max_retention_days: None,
                        lock_date: None,
                    })
                }
                Err(e) => return Err(self.fail("DescribeBackupVault", aws_sdk_backup::error::DisplayErrorContext(e))),
            }
        }
        Ok(locks)
    }
}

/// A restore job that counts as a successful drill: started by a restore testing plan
/// ("DescribeRestoreJob": `CreatedBy.RestoreTestingPlanArn`), completed, and validated
/// SUCCESSFUL ("PutRestoreValidationResult"); an unvalidated or FAILED one proves nothing.
fn successful_drill(job: &aws_sdk_backup::types::RestoreJobsListMember) -> Option<DrillRecord> {
    use aws_sdk_backup::types::{RestoreJobStatus, RestoreValidationStatus};
    job.created_by()?.restore_testing_plan_arn()?;
    if job.status() != Some(&RestoreJobStatus::Completed)
        || job.validation_status() != Some(&RestoreValidationStatus::Successful)
    {
        return None;
    }
    Some(DrillRecord {
        resource_arn: job.source_resource_arn()?.to_string(),
        validated_at: to_chrono(job.completion_date().or(job.creation_date())?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_types_map_to_tagging_filters() {
        let filters = type_filters(&["EC2".into(), "Aurora".into(), "EFS".into()]);
        assert_eq!(
            filters,
            ["ec2:instance", "elasticfilesystem:file-system", "rds:cluster"]
        );
        let filters = type_filters(&["RDS".into(), "Aurora".into(), "Neptune".into()]);
        assert_eq!(filters, ["rds:cluster", "rds:db"], "one filter per tagging type");
    }

    #[test]
    fn only_a_completed_restore_test_validated_successful_is_a_drill() {
        use aws_sdk_backup::types::{
            RestoreJobCreator, RestoreJobStatus, RestoreJobsListMember, RestoreValidationStatus,
        };
        let job = |plan: Option<&str>, validation: Option<RestoreValidationStatus>| {
            RestoreJobsListMember::builder()
                .status(RestoreJobStatus::Completed)
                .source_resource_arn("arn:aws:dynamodb:eu-west-1:111122223333:table/orders")
                .creation_date(aws_smithy_types::DateTime::from_secs(1_800_000_000))
                .completion_date(aws_smithy_types::DateTime::from_secs(1_800_001_800))
                .set_created_by(plan.map(|p| RestoreJobCreator::builder().restore_testing_plan_arn(p).build()))
                .set_validation_status(validation)
                .build()
        };
        let drill = successful_drill(&job(Some("arn:plan"), Some(RestoreValidationStatus::Successful))).unwrap();
        assert_eq!(drill.validated_at.timestamp(), 1_800_001_800);
        assert!(successful_drill(&job(Some("arn:plan"), Some(RestoreValidationStatus::Failed))).is_none());
        assert!(
            successful_drill(&job(Some("arn:plan"), None)).is_none(),
            "not validated"
        );
        assert!(
            successful_drill(&job(None, Some(RestoreValidationStatus::Successful))).is_none(),
            "not a test"
        );
    }
}
