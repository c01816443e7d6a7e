//! The AWS reads and the one write restore-drill makes, each behind a small trait so the
//! handler is tested without AWS: DescribeRestoreJob, DescribeRecoveryPoint and
//! PutRestoreValidationResult (AWS Backup); DescribeTable and Scan (DynamoDB); DescribeVolumes and
//! DescribeInstanceStatus (EC2); DescribeDBInstances and DescribeDBClusters (RDS);
//! DescribeFileSystems (EFS); ListObjectsV2 (S3). Retries of throttling and 5xx are the SDK's
//! ([`rearguard::aws::retry_config`]).

use async_trait::async_trait;
use aws_sdk_backup::error::{DisplayErrorContext, ProvideErrorMetadata};
use chrono::{DateTime, Utc};

use crate::checks::{Check, DbShape, Observation};
use crate::decide::Validation;
use crate::drill::RestoreJobFacts;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// Worth retrying: the next delivery may succeed.
    #[error("{operation}: {message}")]
    Transient { operation: &'static str, message: String },
    /// AWS refused the request as it is; retrying changes nothing.
    #[error("{operation} refused: {message}")]
    Refused { operation: &'static str, message: String },
    /// The restore job is not in this account and Region.
    #[error("restore job {0} not found")]
    NoSuchJob(String),
}

fn smithy_time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t?.to_millis().ok()?)
}

#[async_trait]
pub trait RestoreJobs: Send + Sync {
    async fn describe(&self, restore_job_id: &str) -> Result<RestoreJobFacts, AwsError>;
    /// The creation date of a recovery point, when DescribeRestoreJob did not give it.
    async fn point_created(&self, vault_arn: &str, point_arn: &str) -> Result<Option<DateTime<Utc>>, AwsError>;
    async fn put_validation(&self, restore_job_id: &str, validation: &Validation) -> Result<(), AwsError>;
}

#[async_trait]
pub trait ResourceReads: Send + Sync {
    async fn observe(&self, check: &Check) -> Result<Observation, AwsError>;
}

pub struct BackupApi {
    client: aws_sdk_backup::Client,
    dry_run: bool,
}

impl BackupApi {
    pub fn new(client: aws_sdk_backup::Client, dry_run: bool) -> BackupApi {
        BackupApi { client, dry_run }
    }
}

#[async_trait]
impl RestoreJobs for BackupApi {
    async fn describe(&self, restore_job_id: &str) -> Result<RestoreJobFacts, AwsError> {
        let out = match self
            .client
            .describe_restore_job()
            .restore_job_id(restore_job_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Err(AwsError::NoSuchJob(restore_job_id.to_string()));
            }
            Err(e) => {
                return Err(AwsError::Transient {
                    operation: "DescribeRestoreJob",
                    message: DisplayErrorContext(&e).to_string(),
                });
            }
        };
        Ok(RestoreJobFacts {
            restore_job_id: out.restore_job_id().unwrap_or(restore_job_id).to_string(),
            account: out.account_id().unwrap_or_default().to_string(),
            status: out.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            status_message: out.status_message().map(str::to_string),
            testing_plan_arn: out
                .created_by()
                .and_then(|c| c.restore_testing_plan_arn())
                .map(str::to_string),
            resource_type: out.resource_type().unwrap_or_default().to_string(),
            source_resource_arn: out.source_resource_arn().map(str::to_string),
            created_resource_arn: out.created_resource_arn().map(str::to_string),
            recovery_point_arn: out.recovery_point_arn().map(str::to_string),
            vault_arn: out.backup_vault_arn().map(str::to_string),
            created: smithy_time(out.creation_date()),
            completed: smithy_time(out.completion_date()),
            point_created: smithy_time(out.recovery_point_creation_date()),
            validation_status: out.validation_status().map(|s| s.as_str().to_string()),
            validation_message: out.validation_status_message().map(str::to_string),
        })
    }

    async fn point_created(&self, vault_arn: &str, point_arn: &str) -> Result<Option<DateTime<Utc>>, AwsError> {
        let out = self
            .client
            .describe_recovery_point()
            .backup_vault_name(rearguard::arn::vault_name(vault_arn))
            .recovery_point_arn(point_arn)
            .send()
            .await;
        match out {
            Ok(out) => Ok(smithy_time(out.creation_date())),
            // The point may be gone (its lifecycle ended): the figure is unknown, not an error.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeRecoveryPoint",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    async fn put_validation(&self, restore_job_id: &str, validation: &Validation) -> Result<(), AwsError> {
        if self.dry_run {
            tracing::info!(
                action = "would_put_validation",
                restore_job_id,
                validation_status = validation.status.as_str(),
                validation_status_message = %validation.message,
                "dry run: not calling PutRestoreValidationResult"
            );
            return Ok(());
        }
        let sent = self
            .client
            .put_restore_validation_result()
            .restore_job_id(restore_job_id)
            .validation_status(validation.status.as_str().into())
            .validation_status_message(&validation.message)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // "PutRestoreValidationResult" errors: the request is wrong, not worth a retry.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_invalid_request_exception()
                        || s.is_invalid_parameter_value_exception()
                        || s.is_missing_parameter_value_exception()
                }) =>
            {
                Err(AwsError::Refused {
                    operation: "PutRestoreValidationResult",
                    message: DisplayErrorContext(&e).to_string(),
                })
            }
            Err(e) => Err(AwsError::Transient {
                operation: "PutRestoreValidationResult",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }
}

/// How many items one Scan page may read: enough to show the table is not empty.
const SCAN_LIMIT: i32 = 10;

pub struct ServiceReads {
    dynamodb: aws_sdk_dynamodb::Client,
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    efs: aws_sdk_efs::Client,
    s3: aws_sdk_s3::Client,
}

impl ServiceReads {
    pub fn new(sdk: &aws_config::SdkConfig) -> ServiceReads {
        ServiceReads {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            ec2: aws_sdk_ec2::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            s3: aws_sdk_s3::Client::new(sdk),
        }
    }

    async fn table(&self, table: &str) -> Result<Observation, AwsError> {
        let transient = |operation, e: String| AwsError::Transient { operation, message: e };
        let described = match self.dynamodb.describe_table().table_name(table).send().await {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Observation::Missing);
            }
            Err(e) => return Err(transient("DescribeTable", DisplayErrorContext(&e).to_string())),
        };
        let status = described
            .table()
            .and_then(|t| t.table_status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        // "Scan": Limit is "the maximum number of items to evaluate"; without a filter, a page of a
        // table with items is not empty.
        let page = self
            .dynamodb
            .scan()
            .table_name(table)
            .limit(SCAN_LIMIT)
            .send()
            .await
            .map_err(|e| transient("Scan", DisplayErrorContext(&e).to_string()))?;
        Ok(Observation::Table {
            status,
            items_in_first_page: page.items().len(),
        })
    }

    async fn volume_size(&self, volume_id: &str) -> Result<Option<(String, Option<i32>)>, AwsError> {
        match self.ec2.describe_volumes().volume_ids(volume_id).send().await {
            Ok(out) => Ok(out
                .volumes()
                .first()
                .map(|v| (v.state().map(|s| s.as_str().to_string()).unwrap_or_default(), v.size()))),
            // EC2's error code for an unknown volume id ("Error codes for the Amazon EC2 API").
            Err(e) if e.code() == Some("InvalidVolume.NotFound") => Ok(None),
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeVolumes",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    /// A DB instance's status and shape; None when it does not exist.
    async fn db_instance(&self, identifier: &str) -> Result<Option<(String, DbShape)>, AwsError> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().first().map(db_status_and_shape)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_instance_not_found_fault()) => Ok(None),
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeDBInstances",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    /// A DB cluster's status and engine; None when it does not exist.
    async fn db_cluster(&self, identifier: &str) -> Result<Option<(String, String)>, AwsError> {
        match self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(identifier)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_clusters().first().map(|c| {
                (
                    c.status().unwrap_or_default().to_string(),
                    c.engine().unwrap_or_default().to_string(),
                )
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_db_cluster_not_found_fault()) => Ok(None),
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeDBClusters",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    async fn ec2_instance(&self, instance_id: &str) -> Result<Observation, AwsError> {
        // "DescribeInstanceStatus": without IncludeAllInstances only running instances are listed.
        match self
            .ec2
            .describe_instance_status()
            .instance_ids(instance_id)
            .include_all_instances(true)
            .send()
            .await
        {
            Ok(out) => Ok(ec2_observation(&out)),
            // "Error codes for the Amazon EC2 API": an unknown instance id.
            Err(e) if e.code() == Some("InvalidInstanceID.NotFound") => Ok(Observation::Missing),
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeInstanceStatus",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    async fn file_system(&self, file_system_id: &str) -> Result<Observation, AwsError> {
        match self
            .efs
            .describe_file_systems()
            .file_system_id(file_system_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .file_systems()
                .first()
                .map(|f| Observation::FileSystem {
                    life_cycle_state: f.life_cycle_state().as_str().to_string(),
                })
                .unwrap_or(Observation::Missing)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_file_system_not_found()) => Ok(Observation::Missing),
            Err(e) => Err(AwsError::Transient {
                operation: "DescribeFileSystems",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    async fn bucket(&self, bucket: &str) -> Result<Observation, AwsError> {
        // "ListObjectsV2": MaxKeys 1 is enough to show the bucket is not empty.
        match self.s3.list_objects_v2().bucket(bucket).max_keys(1).send().await {
            Ok(out) => Ok(Observation::Bucket {
                has_objects: out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty(),
            }),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) || e.code() == Some("NoSuchBucket") =>
            {
                Ok(Observation::Missing)
            }
            Err(e) => Err(AwsError::Transient {
                operation: "ListObjectsV2",
                message: DisplayErrorContext(&e).to_string(),
            }),
        }
    }
}

fn db_status_and_shape(db: &aws_sdk_rds::types::DbInstance) -> (String, DbShape) {
    (
        db.db_instance_status().unwrap_or_default().to_string(),
        DbShape {
            engine: db.engine().unwrap_or_default().to_string(),
            allocated_gib: db.allocated_storage(),
            storage_type: db.storage_type().map(str::to_string),
        },
    )
}

/// The instance's state and its two status checks, or Missing when EC2 lists no such instance.
fn ec2_observation(
    out: &aws_sdk_ec2::operation::describe_instance_status::DescribeInstanceStatusOutput,
) -> Observation {
    let Some(status) = out.instance_statuses().first() else {
        return Observation::Missing;
    };
    Observation::Ec2 {
        state: status
            .instance_state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        instance_status: status
            .instance_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_string()),
        system_status: status
            .system_status()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_string()),
    }
}

#[async_trait]
impl ResourceReads for ServiceReads {
    async fn observe(&self, check: &Check) -> Result<Observation, AwsError> {
        match check {
            Check::DynamoDbTable { table } => self.table(table).await,
            Check::EbsVolume {
                volume_id,
                source_volume_id,
            } => {
                let Some((state, size_gib)) = self.volume_size(volume_id).await? else {
                    return Ok(Observation::Missing);
                };
                let source_size_gib = match source_volume_id {
                    Some(source) => self.volume_size(source).await?.and_then(|(_, size)| size),
                    None => None,
                };
                Ok(Observation::Volume {
                    state,
                    size_gib,
                    source_size_gib,
                })
            }
            Check::RdsInstance {
                identifier,
                source_identifier,
            } => {
                let Some((status, shape)) = self.db_instance(identifier).await? else {
                    return Ok(Observation::Missing);
                };
                let source = match source_identifier {
                    Some(source) => self.db_instance(source).await?.map(|(_, shape)| shape),
                    None => None,
                };
                Ok(Observation::Instance { status, shape, source })
            }
            Check::AuroraCluster {
                identifier,
                source_identifier,
            } => {
                let Some((status, engine)) = self.db_cluster(identifier).await? else {
                    return Ok(Observation::Missing);
                };
                let source_engine = match source_identifier {
                    Some(source) => self.db_cluster(source).await?.map(|(_, engine)| engine),
                    None => None,
                };
                Ok(Observation::Cluster {
                    status,
                    engine,
                    source_engine,
                })
            }
            Check::Ec2Instance { instance_id } => self.ec2_instance(instance_id).await,
            Check::EfsFileSystem { file_system_id } => self.file_system(file_system_id).await,
            Check::S3Bucket { bucket } => self.bucket(bucket).await,
            // Nothing to read.
            Check::Unsupported { .. } => Ok(Observation::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::ValidationStatus;
    use aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput;
    use aws_sdk_backup::operation::put_restore_validation_result::{
        PutRestoreValidationResultError, PutRestoreValidationResultOutput,
    };
    use aws_sdk_backup::types::error::InvalidRequestException;
    use aws_sdk_backup::types::{RestoreJobCreator, RestoreJobStatus, RestoreValidationStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn backup(rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_backup::Client {
        mock_client!(aws_sdk_backup, RuleMode::Sequential, rules, |b| b
            .retry_config(rearguard::aws::retry_config()))
    }

    #[tokio::test]
    async fn describe_reads_the_testing_plan_the_dates_and_the_validation() {
        let rule = mock!(aws_sdk_backup::Client::describe_restore_job)
            .match_requests(|req| req.restore_job_id() == Some("r-1"))
            .then_output(|| {
                DescribeRestoreJobOutput::builder()
                    .restore_job_id("r-1")
                    .account_id("111122223333")
                    .status(RestoreJobStatus::Failed)
                    .status_message("Access denied")
                    .resource_type("DynamoDB")
                    .created_by(
                        RestoreJobCreator::builder()
                            .restore_testing_plan_arn("arn:plan")
                            .build(),
                    )
                    .creation_date(aws_smithy_types::DateTime::from_secs(1_800_000_000))
                    .recovery_point_creation_date(aws_smithy_types::DateTime::from_secs(1_799_910_000))
                    .validation_status(RestoreValidationStatus::Validating)
                    .build()
            });
        let api = BackupApi::new(backup(&[&rule]), false);

        let facts = api.describe("r-1").await.unwrap();

        assert_eq!(facts.testing_plan_arn.as_deref(), Some("arn:plan"));
        assert_eq!(facts.status, "FAILED");
        assert_eq!(facts.validation_status.as_deref(), Some("VALIDATING"));
        assert_eq!((facts.created.unwrap() - facts.point_created.unwrap()).num_hours(), 25);
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn put_validation_sends_the_status_and_the_reason() {
        let rule = mock!(aws_sdk_backup::Client::put_restore_validation_result)
            .match_requests(|req| {
                req.restore_job_id() == Some("r-1")
                    && req.validation_status() == Some(&RestoreValidationStatus::Failed)
                    && req.validation_status_message() == Some("table t is ACTIVE but empty")
            })
            .then_output(|| PutRestoreValidationResultOutput::builder().build());
        let api = BackupApi::new(backup(&[&rule]), false);
        let validation = Validation {
            status: ValidationStatus::Failed,
            message: "table t is ACTIVE but empty".into(),
        };

        api.put_validation("r-1", &validation).await.unwrap();

        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_closed_validation_window_is_a_refusal_not_retried() {
        let rule = mock!(aws_sdk_backup::Client::put_restore_validation_result).then_error(|| {
            PutRestoreValidationResultError::InvalidRequestException(
                InvalidRequestException::builder().message("window closed").build(),
            )
        });
        let api = BackupApi::new(backup(&[&rule]), false);
        let validation = Validation {
            status: ValidationStatus::Successful,
            message: "ok".into(),
        };

        let err = api.put_validation("r-1", &validation).await.unwrap_err();

        assert!(matches!(err, AwsError::Refused { .. }), "{err}");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn dry_run_puts_nothing() {
        let rule = mock!(aws_sdk_backup::Client::put_restore_validation_result)
            .then_output(|| PutRestoreValidationResultOutput::builder().build());
        let api = BackupApi::new(backup(&[&rule]), true);
        let validation = Validation {
            status: ValidationStatus::Successful,
            message: "ok".into(),
        };

        api.put_validation("r-1", &validation).await.unwrap();

        assert_eq!(rule.num_calls(), 0);
    }

    fn offline() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build()
    }

    fn reads_with(rules: &[&aws_smithy_mocks::Rule]) -> ServiceReads {
        ServiceReads {
            dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules),
            ..ServiceReads::new(&offline())
        }
    }

    fn rds_reads_with(rules: &[&aws_smithy_mocks::Rule]) -> ServiceReads {
        ServiceReads {
            rds: mock_client!(aws_sdk_rds, RuleMode::MatchAny, rules),
            ..ServiceReads::new(&offline())
        }
    }

    #[tokio::test]
    async fn a_table_is_read_with_describe_table_and_one_limited_scan_page() {
        use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
        use aws_sdk_dynamodb::operation::scan::ScanOutput;
        use aws_sdk_dynamodb::types::{AttributeValue, TableDescription, TableStatus};
        let describe = mock!(aws_sdk_dynamodb::Client::describe_table)
            .match_requests(|req| req.table_name() == Some("awsbackup-restore-test-1"))
            .then_output(|| {
                DescribeTableOutput::builder()
                    .table(TableDescription::builder().table_status(TableStatus::Active).build())
                    .build()
            });
        let scan = mock!(aws_sdk_dynamodb::Client::scan)
            .match_requests(|req| {
                req.table_name() == Some("awsbackup-restore-test-1") && req.limit() == Some(SCAN_LIMIT)
            })
            .then_output(|| {
                let item = std::collections::HashMap::from([("pk".to_string(), AttributeValue::S("a".into()))]);
                ScanOutput::builder().items(item.clone()).items(item).build()
            });
        let reads = reads_with(&[&describe, &scan]);

        let observed = reads
            .observe(&Check::DynamoDbTable {
                table: "awsbackup-restore-test-1".into(),
            })
            .await
            .unwrap();

        assert_eq!(
            observed,
            Observation::Table {
                status: "ACTIVE".into(),
                items_in_first_page: 2
            }
        );
        assert_eq!((describe.num_calls(), scan.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_table_that_is_gone_is_missing_and_not_scanned() {
        use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
        use aws_sdk_dynamodb::types::error::ResourceNotFoundException;
        let describe = mock!(aws_sdk_dynamodb::Client::describe_table).then_error(|| {
            DescribeTableError::ResourceNotFoundException(ResourceNotFoundException::builder().message("gone").build())
        });
        let scan = mock!(aws_sdk_dynamodb::Client::scan)
            .then_output(|| aws_sdk_dynamodb::operation::scan::ScanOutput::builder().build());
        let reads = reads_with(&[&describe, &scan]);

        let observed = reads
            .observe(&Check::DynamoDbTable { table: "t".into() })
            .await
            .unwrap();

        assert_eq!(observed, Observation::Missing);
        assert_eq!(scan.num_calls(), 0);
    }

    fn db(identifier: &str, engine: &str, gib: i32, kind: &str) -> aws_sdk_rds::types::DbInstance {
        aws_sdk_rds::types::DbInstance::builder()
            .db_instance_identifier(identifier)
            .db_instance_status("available")
            .engine(engine)
            .allocated_storage(gib)
            .storage_type(kind)
            .build()
    }

    #[tokio::test]
    async fn a_restored_db_instance_is_read_with_its_sources_engine_and_storage() {
        use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
        let restored = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|req| req.db_instance_identifier() == Some("awsbackup-restore-test-1"))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(db("awsbackup-restore-test-1", "postgres", 20, "gp2"))
                    .build()
            });
        let source = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|req| req.db_instance_identifier() == Some("orders-db"))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(db("orders-db", "postgres", 50, "gp3"))
                    .build()
            });
        let reads = rds_reads_with(&[&restored, &source]);

        let observed = reads
            .observe(&Check::RdsInstance {
                identifier: "awsbackup-restore-test-1".into(),
                source_identifier: Some("orders-db".into()),
            })
            .await
            .unwrap();

        assert_eq!(
            observed,
            Observation::Instance {
                status: "available".into(),
                shape: DbShape {
                    engine: "postgres".into(),
                    allocated_gib: Some(20),
                    storage_type: Some("gp2".into()),
                },
                source: Some(DbShape {
                    engine: "postgres".into(),
                    allocated_gib: Some(50),
                    storage_type: Some("gp3".into()),
                }),
            }
        );
        assert_eq!((restored.num_calls(), source.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_source_instance_that_is_gone_leaves_nothing_to_compare() {
        use aws_sdk_rds::operation::describe_db_instances::{DescribeDBInstancesError, DescribeDbInstancesOutput};
        use aws_sdk_rds::types::error::DbInstanceNotFoundFault;
        let restored = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|req| req.db_instance_identifier() == Some("r-1"))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(db("r-1", "mysql", 20, "gp3"))
                    .build()
            });
        let gone = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|req| req.db_instance_identifier() == Some("deleted-db"))
            .then_error(|| {
                DescribeDBInstancesError::DbInstanceNotFoundFault(DbInstanceNotFoundFault::builder().build())
            });
        let reads = rds_reads_with(&[&restored, &gone]);

        let observed = reads
            .observe(&Check::RdsInstance {
                identifier: "r-1".into(),
                source_identifier: Some("deleted-db".into()),
            })
            .await
            .unwrap();

        assert!(
            matches!(&observed, Observation::Instance { source: None, shape, .. } if shape.engine == "mysql"),
            "{observed:?}"
        );
        assert_eq!(gone.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_restored_cluster_is_read_with_its_sources_engine() {
        use aws_sdk_rds::operation::describe_db_clusters::DescribeDbClustersOutput;
        use aws_sdk_rds::types::DbCluster;
        let cluster = |id: &'static str, engine: &'static str| {
            mock!(aws_sdk_rds::Client::describe_db_clusters)
                .match_requests(move |req| req.db_cluster_identifier() == Some(id))
                .then_output(move || {
                    DescribeDbClustersOutput::builder()
                        .db_clusters(
                            DbCluster::builder()
                                .db_cluster_identifier(id)
                                .status("available")
                                .engine(engine)
                                .build(),
                        )
                        .build()
                })
        };
        let restored = cluster("awsbackup-restore-test-2", "aurora-postgresql");
        let source = cluster("orders-cluster", "aurora-mysql");
        let reads = rds_reads_with(&[&restored, &source]);

        let observed = reads
            .observe(&Check::AuroraCluster {
                identifier: "awsbackup-restore-test-2".into(),
                source_identifier: Some("orders-cluster".into()),
            })
            .await
            .unwrap();

        assert_eq!(
            observed,
            Observation::Cluster {
                status: "available".into(),
                engine: "aurora-postgresql".into(),
                source_engine: Some("aurora-mysql".into()),
            }
        );
    }

    #[test]
    fn an_instance_status_reads_the_state_and_both_checks() {
        use aws_sdk_ec2::operation::describe_instance_status::DescribeInstanceStatusOutput;
        use aws_sdk_ec2::types::{
            InstanceState, InstanceStateName, InstanceStatus, InstanceStatusSummary, SummaryStatus,
        };
        let out = DescribeInstanceStatusOutput::builder()
            .instance_statuses(
                InstanceStatus::builder()
                    .instance_id("i-1")
                    .instance_state(InstanceState::builder().name(InstanceStateName::Running).build())
                    .instance_status(InstanceStatusSummary::builder().status(SummaryStatus::Ok).build())
                    .system_status(
                        InstanceStatusSummary::builder()
                            .status(SummaryStatus::Initializing)
                            .build(),
                    )
                    .build(),
            )
            .build();

        assert_eq!(
            ec2_observation(&out),
            Observation::Ec2 {
                state: "running".into(),
                instance_status: Some("ok".into()),
                system_status: Some("initializing".into()),
            }
        );
        assert_eq!(
            ec2_observation(&DescribeInstanceStatusOutput::builder().build()),
            Observation::Missing
        );
    }
}
