//! Composite jobs ("AWS CloudFormation stack backups"): a stack's backup or copy is a parent job
//! with a child job per resource in it. AWS Backup sends an event for each, and none of them
//! says which is which, so a failed child and its PARTIAL parent would be two alerts. The job
//! APIs do say (`DescribeBackupJob` / `DescribeCopyJob`: `IsParent`, `ParentJobId`;
//! `ListBackupJobs` / `ListCopyJobs` by `ParentJobId`), so failed and partial jobs (rare) are
//! looked up: a child is folded into its parent, and the parent's alert names its failed children.

use async_trait::async_trait;
use aws_sdk_backup::types::{BackupJobState, CopyJobState};
use rearguard::backup_events::{JobEvent, JobKind};
use serde::Serialize;
use std::collections::HashMap;
use tokio::sync::Mutex;

use crate::classify::Verdict;
use crate::scans::CleanPoint;
use chrono::{DateTime, Utc};

/// What the job APIs say about one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFacts {
    pub is_parent: bool,
    pub parent_job_id: Option<String>,
}

/// A child job that did not complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildJob {
    pub job_id: String,
    pub resource_arn: String,
    pub resource_type: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

/// A job's place in a composite job.
#[derive(Debug, Clone, PartialEq)]
pub enum Role {
    /// Not part of a composite job.
    Standalone,
    /// A nested job: its parent's alert speaks for it.
    Child { parent_job_id: String },
    /// A composite job, with the children that did not complete.
    Parent { failed_children: Vec<ChildJob> },
}

/// The AWS Backup job APIs, in the Region of the event (the function's own account).
#[async_trait]
pub trait JobLookup: Send + Sync {
    async fn facts(&self, kind: JobKind, region: &str, job_id: &str) -> Result<JobFacts, String>;
    async fn failed_children(&self, kind: JobKind, region: &str, parent_job_id: &str) -> Result<Vec<ChildJob>, String>;
    /// The newest recovery point of a resource that a malware scan found clean.
    async fn last_clean_point(&self, region: &str, resource_arn: &str) -> Result<Option<CleanPoint>, String>;
    /// When a recovery point was created (`None` when it is gone).
    async fn point_created_at(
        &self,
        region: &str,
        vault_name: &str,
        recovery_point_arn: &str,
    ) -> Result<Option<DateTime<Utc>>, String>;
}

/// Only failed and partial backups and copies of this account are looked up: a completed child
/// alerts nobody, restores are not composite, and another account's jobs are not ours to read.
pub fn worth_a_lookup(event: &JobEvent, verdict: &Verdict, home_account: &str) -> bool {
    matches!(verdict, Verdict::Failed { .. })
        && matches!(event.kind(), JobKind::Backup | JobKind::Copy)
        && event.job_id().is_some()
        && event.account == home_account
}

pub async fn role_of(lookup: &dyn JobLookup, event: &JobEvent) -> Result<Role, String> {
    let job_id = event.job_id().unwrap_or_default();
    let facts = lookup.facts(event.kind(), &event.region, job_id).await?;
    if let Some(parent_job_id) = facts.parent_job_id.filter(|p| !p.is_empty()) {
        return Ok(Role::Child { parent_job_id });
    }
    if facts.is_parent {
        let failed_children = lookup.failed_children(event.kind(), &event.region, job_id).await?;
        return Ok(Role::Parent { failed_children });
    }
    Ok(Role::Standalone)
}

/// The AWS Backup job APIs, one client per Region (the function's own credentials).
pub struct BackupJobLookup {
    sdk: aws_config::SdkConfig,
    clients: Mutex<HashMap<String, aws_sdk_backup::Client>>,
}

impl BackupJobLookup {
    pub fn new(sdk: &aws_config::SdkConfig) -> BackupJobLookup {
        BackupJobLookup {
            sdk: sdk.clone(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// A lookup whose client for `region` is this one (tests give a mocked client).
    #[cfg(test)]
    pub fn with_client(region: &str, client: aws_sdk_backup::Client) -> BackupJobLookup {
        BackupJobLookup {
            sdk: aws_config::SdkConfig::builder().build(),
            clients: Mutex::new(HashMap::from([(region.to_string(), client)])),
        }
    }

    pub(crate) async fn client(&self, region: &str) -> aws_sdk_backup::Client {
        let mut clients = self.clients.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_backup::config::Builder::from(&self.sdk)
                    .region(aws_config::Region::new(region.to_string()))
                    .build();
                aws_sdk_backup::Client::from_conf(config)
            })
            .clone()
    }
}

fn to_chrono(at: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

fn failed(state: &str) -> bool {
    !matches!(state, "COMPLETED" | "CREATED" | "PENDING" | "RUNNING" | "ABORTING")
}

/// A child job as the parent's alert names it, if it failed (backup and copy jobs alike).
fn failed_child(
    job_id: Option<&str>,
    resource_arn: Option<&str>,
    resource_type: Option<&str>,
    state: Option<&str>,
    status_message: Option<&str>,
) -> Option<ChildJob> {
    let state = state.unwrap_or_default();
    failed(state).then(|| ChildJob {
        job_id: job_id.unwrap_or_default().to_string(),
        resource_arn: resource_arn.unwrap_or_default().to_string(),
        resource_type: resource_type.unwrap_or_default().to_string(),
        state: state.to_string(),
        status_message: status_message.map(str::to_string),
    })
}

#[async_trait]
impl JobLookup for BackupJobLookup {
    async fn facts(&self, kind: JobKind, region: &str, job_id: &str) -> Result<JobFacts, String> {
        let client = self.client(region).await;
        let error = |e: aws_sdk_backup::Error| format!("{}", aws_sdk_backup::error::DisplayErrorContext(e));
        match kind {
            JobKind::Copy => {
                let out = client
                    .describe_copy_job()
                    .copy_job_id(job_id)
                    .send()
                    .await
                    .map_err(|e| error(e.into()))?;
                let job = out.copy_job();
                Ok(JobFacts {
                    is_parent: job.is_some_and(|j| j.is_parent()),
                    parent_job_id: job.and_then(|j| j.parent_job_id()).map(str::to_string),
                })
            }
            _ => {
                let out = client
                    .describe_backup_job()
                    .backup_job_id(job_id)
                    .send()
                    .await
                    .map_err(|e| error(e.into()))?;
                Ok(JobFacts {
                    is_parent: out.is_parent(),
                    parent_job_id: out.parent_job_id().map(str::to_string),
                })
            }
        }
    }

    async fn failed_children(&self, kind: JobKind, region: &str, parent_job_id: &str) -> Result<Vec<ChildJob>, String> {
        let client = self.client(region).await;
        let error = |e: aws_sdk_backup::Error| format!("{}", aws_sdk_backup::error::DisplayErrorContext(e));
        let mut children = Vec::new();
        match kind {
            JobKind::Copy => {
                let mut pages = client
                    .list_copy_jobs()
                    .by_parent_job_id(parent_job_id)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| error(e.into()))?;
                    children.extend(page.copy_jobs().iter().filter_map(|job| {
                        failed_child(
                            job.copy_job_id(),
                            job.resource_arn(),
                            job.resource_type(),
                            job.state().map(CopyJobState::as_str),
                            job.status_message(),
                        )
                    }));
                }
            }
            _ => {
                let mut pages = client
                    .list_backup_jobs()
                    .by_parent_job_id(parent_job_id)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| error(e.into()))?;
                    children.extend(page.backup_jobs().iter().filter_map(|job| {
                        failed_child(
                            job.backup_job_id(),
                            job.resource_arn(),
                            job.resource_type(),
                            job.state().map(BackupJobState::as_str),
                            job.status_message(),
                        )
                    }));
                }
            }
        }
        children.sort_by(|a, b| a.resource_arn.cmp(&b.resource_arn));
        Ok(children)
    }

    async fn last_clean_point(&self, region: &str, resource_arn: &str) -> Result<Option<CleanPoint>, String> {
        use aws_sdk_backup::types::{ScanResultStatus, ScanState};
        let client = self.client(region).await;
        let mut pages = client
            .list_scan_jobs()
            .by_resource_arn(resource_arn)
            .by_state(ScanState::Completed)
            .by_scan_result_status(ScanResultStatus::NoThreatsFound)
            .into_paginator()
            .send();
        let mut newest: Option<CleanPoint> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| format!("{}", aws_sdk_backup::error::DisplayErrorContext(e)))?;
            for job in page.scan_jobs() {
                let scanned_at = job.completion_date().or(Some(job.creation_date())).and_then(to_chrono);
                if newest.as_ref().is_none_or(|n| scanned_at > n.scanned_at) {
                    newest = Some(CleanPoint {
                        recovery_point_arn: job.recovery_point_arn().to_string(),
                        scanned_at,
                    });
                }
            }
        }
        Ok(newest)
    }

    async fn point_created_at(
        &self,
        region: &str,
        vault_name: &str,
        recovery_point_arn: &str,
    ) -> Result<Option<DateTime<Utc>>, String> {
        let client = self.client(region).await;
        match client
            .describe_recovery_point()
            .backup_vault_name(vault_name)
            .recovery_point_arn(recovery_point_arn)
            .send()
            .await
        {
            Ok(point) => Ok(point.creation_date().and_then(to_chrono)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("{}", aws_sdk_backup::error::DisplayErrorContext(e))),
        }
    }
}

/// The job APIs as tests want them: the jobs they know, and the failed children of any parent.
/// A job they do not know is a lookup that fails.
#[cfg(test)]
pub(crate) struct KnownJobs(pub HashMap<String, JobFacts>, pub Vec<ChildJob>);

#[cfg(test)]
#[async_trait]
impl JobLookup for KnownJobs {
    async fn facts(&self, _: JobKind, _: &str, job_id: &str) -> Result<JobFacts, String> {
        self.0.get(job_id).cloned().ok_or_else(|| format!("no job {job_id}"))
    }
    async fn failed_children(&self, _: JobKind, _: &str, _: &str) -> Result<Vec<ChildJob>, String> {
        Ok(self.1.clone())
    }
    async fn last_clean_point(&self, _: &str, _: &str) -> Result<Option<CleanPoint>, String> {
        Ok(None)
    }
    async fn point_created_at(&self, _: &str, _: &str, _: &str) -> Result<Option<DateTime<Utc>>, String> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(job_id: &str, state: &str, account: &str) -> JobEvent {
        JobEvent::decode(&json!({
            "id": "e", "detail-type": "Backup Job State Change", "source": "aws.backup", "account": account,
            "region": "eu-west-1", "time": "2026-11-26T01:00:00Z", "resources": [],
            "detail": {"backupJobId": job_id, "state": state, "resourceArn": "arn:aws:cloudformation:eu-west-1:111122223333:stack/shop/1",
                "resourceType": "CloudFormation"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn a_child_is_folded_and_a_parent_names_its_failed_children() {
        let child = ChildJob {
            job_id: "c1".into(),
            resource_arn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders".into(),
            resource_type: "DynamoDB".into(),
            state: "FAILED".into(),
            status_message: None,
        };
        let jobs = KnownJobs(
            HashMap::from([
                (
                    "p".to_string(),
                    JobFacts {
                        is_parent: true,
                        parent_job_id: None,
                    },
                ),
                (
                    "c1".to_string(),
                    JobFacts {
                        is_parent: false,
                        parent_job_id: Some("p".into()),
                    },
                ),
                ("s".to_string(), JobFacts::default()),
            ]),
            vec![child.clone()],
        );
        assert_eq!(
            role_of(&jobs, &event("c1", "FAILED", "111122223333")).await,
            Ok(Role::Child {
                parent_job_id: "p".into()
            })
        );
        assert_eq!(
            role_of(&jobs, &event("p", "PARTIAL", "111122223333")).await,
            Ok(Role::Parent {
                failed_children: vec![child]
            })
        );
        assert_eq!(
            role_of(&jobs, &event("s", "FAILED", "111122223333")).await,
            Ok(Role::Standalone)
        );
    }

    #[test]
    fn only_failed_backups_and_copies_of_this_account_are_looked_up() {
        let failed = crate::classify::classify(&event("p", "PARTIAL", "111122223333"));
        assert!(worth_a_lookup(
            &event("p", "PARTIAL", "111122223333"),
            &failed,
            "111122223333"
        ));
        assert!(!worth_a_lookup(
            &event("p", "PARTIAL", "444455556666"),
            &failed,
            "111122223333"
        ));
        let done = event("p", "COMPLETED", "111122223333");
        assert!(!worth_a_lookup(
            &done,
            &crate::classify::classify(&done),
            "111122223333"
        ));
    }
}
