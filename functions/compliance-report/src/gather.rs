//! Reading one account and region: the in-scope resources (every one, tagged or not, stopped
//! included), their tags, their last backups, recent copies and the required vaults' locks.
//! Every list call is paginated; the fewest calls are chosen: one ListProtectedResources listing
//! gives every resource's last backup, one ListCopyJobs listing the copies within the RPO window.

use aws_config::SdkConfig;
use aws_sdk_backup::types::CopyJobState;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

use crate::inventory::{BackupRecord, CopyRecord, Inventory, Resource, VaultLock};
use crate::policy::Policy;

#[derive(Debug, thiserror::Error)]
#[error("{account} {region}: {operation}: {message}")]
pub struct GatherError {
    pub account: String,
    pub region: String,
    pub operation: &'static str,
    pub message: String,
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
            "RDS" => vec!["rds:db"],
            "Aurora" => vec!["rds:cluster"],
            "DynamoDB" => vec!["dynamodb:table"],
            "EFS" => vec!["elasticfilesystem:file-system"],
            _ => vec![],
        });
    }
    filters.into_iter().map(String::from).collect()
}

pub struct Reader<'a> {
    pub config: &'a SdkConfig,
    pub account: &'a str,
    pub region: &'a str,
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
            resources,
            backups: self.last_backups().await?,
            copies: self.recent_copies(policy, now).await?,
            vaults: self.vault_locks(policy).await?,
            unreadable: Vec::new(),
        })
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
                    let id = volume.volume_id().unwrap_or_default();
                    found.push(self.resource(self.arn("ec2", &format!("volume/{id}")), "EBS"));
                }
            }
        }
        if wants("RDS") || wants("Aurora") {
            let rds = aws_sdk_rds::Client::new(self.config);
            if wants("RDS") {
                let mut pages = rds.describe_db_instances().into_paginator().send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| self.fail("DescribeDBInstances", aws_sdk_rds::error::DisplayErrorContext(e)))?;
                    // Aurora members are backed up through their cluster.
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
            if wants("Aurora") {
                let mut pages = rds.describe_db_clusters().into_paginator().send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| self.fail("DescribeDBClusters", aws_sdk_rds::error::DisplayErrorContext(e)))?;
                    for cluster in page.db_clusters() {
                        if let Some(arn) = cluster.db_cluster_arn() {
                            found.push(self.resource(arn.to_string(), "Aurora"));
                        }
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
        Ok(found)
    }

    async fn last_backups(&self) -> Result<Vec<BackupRecord>, GatherError> {
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut pages = backup.list_protected_resources().into_paginator().send();
        let mut records = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| self.fail("ListProtectedResources", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for protected in page.results() {
                if let (Some(arn), Some(at)) = (protected.resource_arn(), protected.last_backup_time()) {
                    records.push(BackupRecord {
                        resource_arn: arn.to_string(),
                        completed_at: to_chrono(at),
                    });
                }
            }
        }
        Ok(records)
    }

    async fn recent_copies(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Vec<CopyRecord>, GatherError> {
        let Some(window) = policy
            .plans
            .values()
            .filter_map(|p| p.copy.as_ref().map(|c| c.window_hours()))
            .max()
        else {
            return Ok(Vec::new());
        };
        let since = now - chrono::Duration::hours(window);
        let backup = aws_sdk_backup::Client::new(self.config);
        let mut pages = backup
            .list_copy_jobs()
            .by_state(CopyJobState::Completed)
            .by_created_after(aws_smithy_types::DateTime::from_secs(since.timestamp()))
            .into_paginator()
            .send();
        let mut records = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("ListCopyJobs", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for job in page.copy_jobs() {
                let at = job.completion_date().or(job.creation_date());
                if let (Some(resource), Some(vault), Some(at)) =
                    (job.resource_arn(), job.destination_backup_vault_arn(), at)
                {
                    records.push(CopyRecord {
                        resource_arn: resource.to_string(),
                        destination_vault_arn: vault.to_string(),
                        completed_at: to_chrono(at),
                    });
                }
            }
        }
        Ok(records)
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
                    })
                }
                Err(e) => return Err(self.fail("DescribeBackupVault", aws_sdk_backup::error::DisplayErrorContext(e))),
            }
        }
        Ok(locks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_types_map_to_tagging_filters() {
        let filters = type_filters(&["EC2".into(), "Aurora".into(), "EFS".into()]);
        assert_eq!(
            filters,
            ["ec2:instance", "rds:cluster", "elasticfilesystem:file-system"]
        );
    }
}
